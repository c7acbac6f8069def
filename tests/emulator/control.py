"""Drive the FAPI emulator from Python tests.

    from control import Emulator
    with Emulator.start(tmp_path) as emu:          # or: with Emulator(tmp_path) as emu:
        emu.fault("hang", count=1)
        r = emu.fapi("POST", "/v1/client/sign_ins",
                     form={"strategy": "password", "identifier": "alice",
                           "password": "correct horse"})
        assert r.status == 200 and r.token

The emulator runs as a subprocess of /usr/bin/python3; the control API is reached over HTTPS
verified against the emulator's CA. Stdlib only (and otp.py beside it).
"""
import http.client
import json
import os
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.parse

try:                                    # imported as emulator.control
    from . import otp as _otp
except ImportError:                     # imported as control (tests/emulator on sys.path)
    import otp as _otp

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(HERE, "fapi_emulator.py")
PYTHON = "/usr/bin/python3"
DEFAULT_API_VERSION = "2026-05-12"
DEFAULT_SECRET_KEY = "sk_test_emulator_secret"
_DEFAULT = object()


class EmulatorError(RuntimeError):
    pass


def totp(secret_b32, at=None, step=0):
    """RFC 6238 code (SHA-1, 30 s, 6 digits) of a base32 secret at `at` (epoch seconds,
    default now), `step` periods later (or earlier when negative)."""
    return _otp.totp(secret_b32, at, step)


class FapiResponse:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers          # http.client.HTTPMessage (case-insensitive get)
        self.body = body
        self.elapsed = elapsed

    @property
    def token(self):
        """The client token in the Authorization response header (None if absent)."""
        return self.headers.get("Authorization")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def error_code(self):
        try:
            return self.json()["errors"][0]["code"]
        except (ValueError, KeyError, IndexError, TypeError):
            return None

    def __repr__(self):
        return "<FapiResponse %d %s>" % (self.status, self.body[:120])


class _hybrid:
    """`Emulator.start(dir, ...)` builds and starts one; `emu.start()` starts an instance."""

    def __init__(self, func):
        self.func = func

    def __get__(self, obj, cls):
        if obj is None:
            return lambda *a, **kw: cls(*a, **kw).start()
        return self.func.__get__(obj, cls)


class Emulator:
    OPTIONS = ("users", "dev_instance", "lockout_threshold", "rate_limit", "device_trust",
               "device_trust_legacy", "attempt_rate_limit", "attempt_rate_window", "code_ttl",
               "ready_timeout", "jwt_claims", "clock_offset", "secret_key", "profile",
               "settings")

    def __init__(self, state_dir=None, users=None, dev_instance=False, lockout_threshold=None,
                 rate_limit=None, ready_timeout=20.0, device_trust=False,
                 device_trust_legacy=False, attempt_rate_limit=None, attempt_rate_window=None,
                 code_ttl=None, jwt_claims=None, clock_offset=None, secret_key=None,
                 profile="real", settings=None):
        self.state_dir = os.path.abspath(str(state_dir)) if state_dir else \
            tempfile.mkdtemp(prefix="fapi-emulator-")
        self.users = users
        self.dev_instance = dev_instance
        self.lockout_threshold = lockout_threshold
        self.rate_limit = rate_limit
        self.device_trust = device_trust
        self.device_trust_legacy = device_trust_legacy
        self.attempt_rate_limit = attempt_rate_limit
        self.attempt_rate_window = attempt_rate_window
        self.code_ttl = code_ttl
        self.jwt_claims = jwt_claims            # None (= "v2"), "v1" or "v2"
        self.clock_offset = clock_offset        # seconds added to JWT times
        self.secret_key = secret_key or DEFAULT_SECRET_KEY
        self.profile = profile                  # "real" (default) or "kind"
        self.settings = dict(settings or {})    # instance settings over the profile's
        self.ready_timeout = ready_timeout
        self.proc = None
        self.ready = None
        self.url = self.ca_file = self.wrong_host_url = self.self_signed_url = None
        self.control_url = self.bapi_url = self.jwks_url = None
        self.jwt_public_key_pem = self.jwt_public_key_line = self.jwt_kid = None
        self.returncode = None
        self._ctx = None

    # ---- lifecycle -------------------------------------------------------------------
    @_hybrid
    def start(self, state_dir=None, **options):
        """Start the subprocess and wait for ready.json; returns self. Arguments, if any,
        override those given to the constructor (same names)."""
        if self.proc is not None:
            return self
        if state_dir is not None:
            self.state_dir = os.path.abspath(str(state_dir))
        for key, value in options.items():
            if key not in self.OPTIONS:
                raise TypeError("unknown option %r" % key)
            setattr(self, key, value)
        os.makedirs(self.state_dir, exist_ok=True)
        ready = os.path.join(self.state_dir, "ready.json")
        if os.path.exists(ready):
            os.unlink(ready)
        cmd = [PYTHON, EMULATOR, "--state-dir", self.state_dir, "--exit-with-parent",
               "--profile", str(self.profile)]
        for key, value in sorted((self.settings or {}).items()):
            cmd += ["--set", "%s=%s" % (key, json.dumps(value))]
        if self.users is not None:
            if isinstance(self.users, (list, tuple)):
                path = os.path.join(self.state_dir, "users.fixture.json")
                with open(path, "w", encoding="utf-8") as f:
                    json.dump(list(self.users), f)
            else:
                path = os.path.abspath(str(self.users))
            cmd += ["--users", path]
        if self.dev_instance:
            cmd.append("--dev-instance")
        if self.lockout_threshold is not None:
            cmd += ["--lockout-threshold", str(int(self.lockout_threshold))]
        if self.rate_limit is not None:
            cmd += ["--rate-limit", str(int(self.rate_limit))]
        if self.device_trust:
            cmd.append("--device-trust")
        if self.device_trust_legacy:
            cmd.append("--device-trust-legacy")
        if self.attempt_rate_limit is not None:
            cmd += ["--attempt-rate-limit", str(int(self.attempt_rate_limit))]
        if self.attempt_rate_window is not None:
            cmd += ["--attempt-rate-window", repr(float(self.attempt_rate_window))]
        if self.code_ttl is not None:
            cmd += ["--code-ttl", repr(float(self.code_ttl))]
        if self.jwt_claims is not None:
            cmd += ["--jwt-claims", str(self.jwt_claims)]
        if self.clock_offset is not None:
            cmd += ["--clock-offset", repr(float(self.clock_offset))]
        if self.secret_key != DEFAULT_SECRET_KEY:
            cmd += ["--secret-key", self.secret_key]
        self.stderr_path = os.path.join(self.state_dir, "emulator.stderr.log")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._stderr,
                                     stderr=self._stderr, close_fds=True)
        deadline = time.monotonic() + self.ready_timeout
        while True:
            if os.path.exists(ready):
                try:
                    with open(ready, encoding="utf-8") as f:
                        info = json.load(f)
                    if info.get("pid") == self.proc.pid:
                        break
                except ValueError:
                    pass
            if self.proc.poll() is not None:
                err = self._stderr_text()
                self._cleanup_proc()
                raise EmulatorError("FAPI emulator exited with %s before it was ready:\n%s"
                                    % (self.proc.returncode, err))
            if time.monotonic() > deadline:
                err = self._stderr_text()
                self.stop()
                raise EmulatorError("FAPI emulator not ready after %.0f s:\n%s"
                                    % (self.ready_timeout, err))
            time.sleep(0.05)
        self.ready = info
        self.url = info["url"]
        self.ca_file = info["ca_file"]
        self.wrong_host_url = info["wrong_host_url"]
        self.self_signed_url = info["self_signed_url"]
        self.control_url = info.get("control_url", info["url"])
        self.bapi_url = info.get("bapi_url")
        self.jwks_url = info.get("jwks_url")
        self.secret_key = info.get("secret_key", self.secret_key)
        self._key_info(info)
        self.pid = info["pid"]
        self.start_settings = info.get("settings")
        self._ctx = ssl.create_default_context(cafile=self.ca_file)
        return self

    def _stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def _cleanup_proc(self):
        try:
            self._stderr.close()
        except (OSError, AttributeError):
            pass

    def stop(self):
        """SIGTERM, then SIGKILL after 5 s. Returns the exit code (0 = clean)."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.returncode = self.proc.returncode
        self._cleanup_proc()
        self.proc = None
        return self.returncode

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- control API -----------------------------------------------------------------
    def control(self, method, path, body=None, timeout=10):
        u = urllib.parse.urlsplit(self.control_url)
        conn = http.client.HTTPSConnection(u.hostname, u.port, context=self._ctx, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            headers = {"Content-Type": "application/json"} if data is not None else {}
            conn.request(method, "/__emulator/" + path.lstrip("/"), body=data, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
        finally:
            conn.close()
        obj = json.loads(payload.decode("utf-8")) if payload else None
        if resp.status != 200:
            raise EmulatorError("control %s %s -> %d: %s" % (method, path, resp.status,
                                                             (obj or {}).get("error")))
        return obj

    def reset(self):
        """Back to the start state (also: the start JWT key, the default templates)."""
        out = self.control("POST", "reset")
        self._key_info(out)
        return out

    def _key_info(self, info):
        if info and info.get("jwt_public_key_pem"):
            self.jwt_public_key_pem = info["jwt_public_key_pem"]
            self.jwt_public_key_line = info["jwt_public_key_line"]
            self.jwt_kid = info.get("kid") or info.get("jwt_kid")

    # ---- JWT keys, templates, sessions ------------------------------------------------
    def rotate_jwks(self, keep_old=True):
        """A new signing key with a new kid signs from now on; the JWKS serves it first, and
        the old key(s) too unless keep_old is False. Updates jwt_public_key_pem/_line/kid
        and returns {kid, kids, jwt_public_key_pem, jwt_public_key_line}."""
        out = self.control("POST", "jwks/rotate", {"keep_old": bool(keep_old)})
        self._key_info(out)
        return out

    def jwks_info(self):
        """{kid, kids, jwt_public_key_pem, jwt_public_key_line, jwks} (not logged)."""
        return self.control("GET", "jwks")

    def sessions(self, user_id=None, status=None):
        """Every session (oldest first): [{id, status, user_id, client_id,
        active_organization_id, active_organization_slug, created_at, updated_at,
        last_active_at, ended_at, client_revoked}], optionally filtered."""
        return [s for s in self.control("GET", "sessions")
                if (user_id is None or s["user_id"] == user_id) and
                (status is None or s["status"] == status)]

    def templates(self):
        """JWT templates: {name: {claims, lifetime, allowed_clock_skew}}."""
        return self.control("GET", "templates")

    def add_template(self, name, claims=None, lifetime=60, allowed_clock_skew=10):
        """Add or replace a JWT template (claims values may be shortcodes such as
        "{{user.primary_email_address}}"); reset() restores the defaults."""
        return self.control("POST", "templates", {"name": name, "claims": claims or {},
                                                  "lifetime": lifetime,
                                                  "allowed_clock_skew": allowed_clock_skew})

    def get_settings(self):
        """The instance settings in force (see README "Profiles and settings")."""
        return self.control("GET", "settings")

    def set(self, **settings):
        """Change instance settings until the next reset(); returns them all."""
        return self.control("POST", "settings", settings)["settings"]

    def forget_clients(self, user_id=None):
        """Clerk forgets these clients (all when None): their tokens get 404
        resource_not_found "Client not found". Returns how many."""
        body = {"forgotten": True}
        if user_id is not None:
            body["user_id"] = user_id
        return self.control("POST", "clients/revoke", body)["revoked"]

    def add_user(self, user):
        return self.control("POST", "users", user)

    def add_users(self, n, prefix="bulk"):
        """n plain users user_<prefix>000000... with usernames <prefix>000000..."""
        return self.control("POST", "users/bulk", {"n": n, "prefix": prefix})

    def bapi_rate_limit(self, per_10s=None):
        """The Backend API's requests per 10 s (None: 1000, 100 on a dev instance)."""
        return self.control("POST", "bapi/rate_limit", {"per_10s": per_10s})["per_10s"]

    def delete_user(self, user_id):
        return self.control("DELETE", "users/" + user_id)

    def fault(self, name, count=None, path=None, **params):
        body = dict(params, fault=name, count=count, path=path)
        return self.control("POST", "faults", body)

    def clear_faults(self):
        return self.control("DELETE", "faults")

    def faults(self):
        return self.control("GET", "faults")

    def requests(self):
        return self.control("GET", "requests")

    def outbox(self):
        """Codes "sent" so far: [{t, strategy, to, code, sign_in_id, user_id}], oldest first."""
        return self.control("GET", "outbox")

    def last_code(self, to=None, strategy=None, sign_in_id=None):
        """The newest code sent (to this email/phone, by this strategy, for this sign-in),
        or None."""
        want = to.strip().lower() if to else None
        for item in reversed(self.outbox()):
            if want is not None and (item.get("to") or "").lower() != want:
                continue
            if strategy is not None and item.get("strategy") != strategy:
                continue
            if sign_in_id is not None and item.get("sign_in_id") != sign_in_id:
                continue
            return item["code"]
        return None

    def revoke_clients(self, user_id=None, signed_out=False):
        """Tokens of the user's clients (all clients when None) now get 401
        authentication_invalid, or signed_out. Returns how many clients."""
        body = {} if user_id is None else {"user_id": user_id}
        if signed_out:
            body["signed_out"] = True
        return self.control("POST", "clients/revoke", body)["revoked"]

    def expire_codes(self, sign_in_id=None):
        """Prepared email/SMS codes (of one sign-in, or all) are expired now."""
        body = {} if sign_in_id is None else {"sign_in_id": sign_in_id}
        return self.control("POST", "codes/expire", body)["expired"]

    def next_code(self, code):
        """The next prepared code is `code` (6 digits); calls queue up, one code per prepare.
        For drivers that must give the answers up front. reset() clears the queue."""
        return self.control("POST", "codes/next", {"code": code})

    def fix_codes(self, code):
        """Every code prepared from now on (after any queued next_code) is `code`;
        None = random again. reset() clears it."""
        return self.control("POST", "codes/fixed", {"code": code})

    def reset_log(self):
        """Clear the request log only (memory and file); state stays."""
        return self.control("DELETE", "requests")

    # ---- a small FAPI client for tests -----------------------------------------------
    def ssl_context(self):
        return ssl.create_default_context(cafile=self.ca_file)

    def fapi(self, method, path, form=None, token="", headers=None, native=True,
             api_version=DEFAULT_API_VERSION, query=None, url=None, timeout=10, body=None,
             context=None):
        """One FAPI request. token: None = no Authorization header, "" = empty header.
        api_version: sent as Clerk-API-Version header (None = not sent)."""
        u = urllib.parse.urlsplit(url or self.url)
        q = dict(query or {})
        if native:
            q.setdefault("_is_native", "1")
        target = path + ("?" + urllib.parse.urlencode(q) if q else "")
        hdrs = {"User-Agent": "pam_clerk-emulator-tests"}
        if api_version is not None:
            hdrs["Clerk-API-Version"] = api_version
        if token is not None:
            hdrs["Authorization"] = token
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        hdrs.update(headers or {})
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout,
                                           context=context or self._ctx)
        t0 = time.monotonic()
        try:
            conn.request(method, target, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        return FapiResponse(resp.status, resp.headers, data, time.monotonic() - t0)

    def bapi(self, method, path, query=None, secret_key=_DEFAULT, headers=None, timeout=10,
             body=None):
        """One Backend API request on bapi_url. secret_key: default = the emulator's;
        None = no Authorization header; any other string is sent as `Bearer <it>`.
        query values may be lists (sent as repeated parameters)."""
        u = urllib.parse.urlsplit(self.bapi_url)
        target = path + ("?" + urllib.parse.urlencode(query, doseq=True) if query else "")
        hdrs = {"User-Agent": "pam_clerk-emulator-tests"}
        key = self.secret_key if secret_key is _DEFAULT else secret_key
        if key is not None:
            hdrs["Authorization"] = "Bearer " + key
        hdrs.update(headers or {})
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout,
                                           context=self._ctx)
        t0 = time.monotonic()
        try:
            conn.request(method, target, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        return FapiResponse(resp.status, resp.headers, data, time.monotonic() - t0)

    def session_token(self, session_id, token, organization_id=_DEFAULT, template=None):
        """POST /v1/client/sessions/{id}/tokens[/{template}]; organization_id: default =
        not sent (the active org), "" = personal, else an org id or slug."""
        path = "/v1/client/sessions/%s/tokens" % session_id
        if template is not None:
            path += "/" + template
        form = {} if organization_id is _DEFAULT else {"organization_id": organization_id}
        return self.fapi("POST", path, form=form, token=token)

    def sign_in(self, identifier, password, token="", **kw):
        form = {"strategy": "password", "identifier": identifier}
        if password is not None:
            form["password"] = password
        return self.fapi("POST", "/v1/client/sign_ins", form=form, token=token, **kw)

    def prepare_second_factor(self, sign_in_id, strategy, token, **ids):
        """POST .../prepare_second_factor; ids: phone_number_id= or email_address_id=."""
        form = dict(ids, strategy=strategy)
        return self.fapi("POST", "/v1/client/sign_ins/%s/prepare_second_factor" % sign_in_id,
                         form=form, token=token)

    def attempt_second_factor(self, sign_in_id, strategy, code, token):
        return self.fapi("POST", "/v1/client/sign_ins/%s/attempt_second_factor" % sign_in_id,
                         form={"strategy": strategy, "code": code}, token=token)
