"""The Frontend API itself: native-mode rules, API version, dev browser, sign-ins, second
factors, JWTs, JWKS (the session routes are in fapi_sessions.py). Transport-independent: takes a Request, returns a Response."""
import copy
import hmac
import re
import threading
import time

import environment
import fapi_sessions
import instance
import otp
import resources
import tokens
from store import CODE_MAX_ATTEMPTS, normalise_identifier, now_ms

# Request and Response are imported from here by server.py
from fapi_http import (FORM_TYPE, ClerkError, Request, Response,  # noqa: F401
                       _minutes, _param_missing, error_response, json_response)

API_VERSIONS = ("2021-02-05", "2024-10-01", "2025-04-10", "2025-11-10", "2026-05-12")

SECOND_FACTOR_STATUSES = ("needs_second_factor", "needs_client_trust")
PREPARE_STRATEGIES = ("phone_code", "email_code", "email_link")
ATTEMPT_STRATEGIES = ("email_code", "phone_code", "totp", "backup_code")
DEVICE_TRUST_MODES = (None, "on", "legacy")

SESSION_RE = re.compile(r"^/v1/client/sessions/([^/]+)(?:/(tokens|touch|end|remove)(?:/([^/]+))?)?$")
SIGN_IN_RE = re.compile(r"^/v1/client/sign_ins/([^/]+)(?:/([a-z_]+))?$")


class Fapi(fapi_sessions.SessionRoutes):
    def __init__(self, store, signing_key, dev_instance=False, device_trust=None, faults=None,
                 jwt_claims="v2", clock_offset=0.0, settings=None):
        if device_trust not in DEVICE_TRUST_MODES:
            raise ValueError("device_trust must be one of %r" % (DEVICE_TRUST_MODES,))
        if jwt_claims not in tokens.CLAIMS_VERSIONS:
            raise ValueError("jwt_claims must be one of %r" % (tokens.CLAIMS_VERSIONS,))
        self.store = store
        self.key = signing_key              # tokens.Keyring
        self.dev_instance = dev_instance
        self.device_trust = device_trust    # None, "on" or "legacy"
        self.faults = faults                # faults.FaultQueue (jwt faults), or None
        self.jwt_claims = jwt_claims        # "v2" (default) or "v1"
        self.clock_offset = float(clock_offset or 0)
        self.opaque = tokens.OpaqueTokens()
        self.issuer = None          # set once the main URL is known
        # instance settings (instance.py): the start ones, and the ones in force
        self.start_settings = dict(settings or instance.defaults("real"))
        self.settings = dict(self.start_settings)
        instance.apply_to_store(self.settings, self.store)
        self.templates_lock = threading.Lock()
        self.reset_templates()
        self._local = threading.local()     # the request being handled (jwt faults)

    # ---- JWT templates (control API) ----------------------------------------------------
    def reset_templates(self):
        with self.templates_lock:
            self.templates = copy.deepcopy(tokens.DEFAULT_TEMPLATES)

    def put_template(self, name, body):
        t = tokens.check_template(name, body)
        with self.templates_lock:
            self.templates[name] = t
        return t

    def list_templates(self):
        with self.templates_lock:
            return copy.deepcopy(self.templates)

    # ---- instance settings (control API) ------------------------------------------------
    def update_settings(self, changes):
        new = instance.merge(self.settings, changes)
        self.settings = new
        instance.apply_to_store(new, self.store)
        return dict(new)

    def reset_settings(self):
        self.settings = dict(self.start_settings)
        instance.apply_to_store(self.settings, self.store)

    @property
    def iss(self):
        return self.settings.get("issuer") or self.issuer

    # ---- entry -----------------------------------------------------------------------
    def handle(self, req, fault=None):
        prefix = self.settings.get("proxy_path")
        if prefix and (req.path == prefix or req.path.startswith(prefix + "/")):
            req.path = req.path[len(prefix):] or "/"      # a Clerk proxy's path
        self._local.path = req.path
        self._local.jwt_faults = []
        try:
            resp = self._handle(req, fault)
        finally:
            used, self._local.jwt_faults = self._local.jwt_faults, []
        resp.jwt_faults = used
        tok = resp.header("Authorization")
        if tok and self.settings["bearer_tokens"]:
            resp.drop_header("Authorization")
            resp.headers.append(("Authorization", "Bearer " + tok))
        if fault is not None and fault.name == "client_token":
            resp.drop_header("Authorization")
            resp.headers.append(("Authorization", fault.params["value"]))
        return resp

    def _handle(self, req, fault=None):
        client = None
        try:
            if fault is not None and fault.name in ("rate_limit", "error_code"):
                return self._fault_answer(req, fault)
            if req.path == "/.well-known/jwks.json" and req.method == "GET":
                return json_response(200, self.key.jwks(),
                                     headers=[("Cache-Control", "public, max-age=300")])
            if not req.path.startswith("/v1/"):
                raise ClerkError("resource_not_found")
            self._check_api_version(req)
            if req.path == "/v1/dev_browser" and req.method == "POST":
                return self._dev_browser()
            native = req.query.get("_is_native", "").lower() in ("1", "true")
            if self.dev_instance and (self.settings["dev_browser_native"] or not native) and \
                    req.query.get("__clerk_db_jwt") not in self.store.dev_browsers:
                raise ClerkError("dev_browser_unauthenticated")
            if req.path.rstrip("/") == "/v1/environment" and req.method == "GET":
                return json_response(200, environment.environment_json(
                    self.settings, self.dev_instance))
            client = self._resolve_client(req)
            if not req.form_ok:
                raise ClerkError("unsupported_content_type", long_message=(
                    "Content-Type %s is unsupported. You should use %s instead."
                    % (req.headers.get("content-type", ""), FORM_TYPE)))
            resp = self._route(req, client, fault)
        except ClerkError as e:
            resp = error_response(e, client.token if client else None)
        if fault is not None and fault.name == "no_client_token":
            resp.drop_header("Authorization")
        return resp

    def _fault_answer(self, req, fault):
        token = req.headers.get("authorization")
        client = self.store.client_for_token(token) if token else None
        tok = client.token if client and not client.revoked else None
        if fault.name == "rate_limit":
            hdrs = []
            if fault.params.get("retry_after") is not None:
                hdrs.append(("Retry-After", str(int(fault.params["retry_after"]))))
            return error_response(ClerkError("too_many_requests", headers=hdrs), tok)
        p = fault.params
        return error_response(ClerkError(p["code"], meta=p.get("meta") or {},
                                         status=p.get("http_status"), message=p.get("message"),
                                         long_message=p.get("long_message"),
                                         trace_id=p.get("trace_id")), tok)

    # ---- rules -----------------------------------------------------------------------
    def _check_api_version(self, req):
        h = req.headers.get("clerk-api-version")
        q = req.query.get("__clerk_api_version")
        if h is not None and q is not None:
            raise ClerkError("api_version_invalid", long_message=(
                "Invalid Clerk API version: set either the Clerk-API-Version header or the "
                "__clerk_api_version query parameter, not both"))
        v = h if h is not None else q
        if v is not None and v.strip() not in API_VERSIONS:
            raise ClerkError("api_version_invalid", long_message=(
                "Invalid Clerk API version: unknown version %r; known versions: %s"
                % (v[:40], ", ".join(API_VERSIONS))))

    def _resolve_client(self, req):
        origin = req.headers.get("origin")
        has_auth = "authorization" in req.headers
        native = req.query.get("_is_native", "").lower() in ("1", "true")
        if origin is not None and has_auth:
            raise ClerkError("origin_authorization_headers_conflict")
        if not native:
            if origin is None:
                raise ClerkError("request_header_missing", long_message=(
                    "Your Clerk Frontend API is accessible from browsers and native applications. "
                    "To protect against standard web attacks, the HTTP Origin header is required in "
                    "browser requests. Native applications must add _is_native=1 and send the "
                    "HTTP Authorization header."))
            raise ClerkError("origin_invalid", long_message=(
                "Browser (cookie) mode is not emulated: use native mode (_is_native=1 and the "
                "Authorization header)."))
        if not self.settings["native_api"]:
            raise ClerkError("native_api_disabled")
        if not has_auth and not self.settings["auth_header_optional"]:
            raise ClerkError("request_header_missing")
        token = req.headers.get("authorization", "").strip()
        if self.settings["accept_bearer"] and token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if token == "":
            return self.store.new_client(self.opaque.mint)
        client = self.store.client_for_token(token)
        if client is None:
            raise ClerkError("authentication_invalid")
        if client.revoked == "client_not_found":
            # catalogue ClientNotFound: a client FAPI no longer has (FAPI-NOTES section 11)
            raise ClerkError("resource_not_found", message="Client not found",
                             long_message="No client was found with id %s" % client.id)
        if client.revoked:
            raise ClerkError(client.revoked)
        return client

    def _dev_browser(self):
        if not self.dev_instance:
            raise ClerkError("resource_not_found", long_message=(
                "Dev browsers exist only on development instances (start with --dev-instance)."))
        tok = self.opaque.mint({"dev": True})
        with self.store.lock:
            self.store.dev_browsers.add(tok)
        return json_response(200, {"object": "dev_browser", "id": tok},
                             headers=[("Clerk-Db-Jwt", tok)])

    # ---- routing ---------------------------------------------------------------------
    def _route(self, req, client, fault):
        method = req.method
        if method == "POST" and req.query.get("_method"):
            method = req.query["_method"].upper()
        path = req.path.rstrip("/") or "/"
        if path == "/v1/client":
            if method == "GET":
                return self._client_answer(client)
        elif path == "/v1/client/sign_ins":
            if method == "POST":
                return self._create_sign_in(req, client, fault)
        elif path == "/v1/client/sessions":
            if method == "DELETE":
                return self._remove_all_sessions(client)
        else:
            m = SIGN_IN_RE.match(path)
            if m:
                return self._sign_in_action(req, client, method, m.group(1), m.group(2), fault)
            m = SESSION_RE.match(path)
            if m:
                return self._session_action(req, client, method, m.group(1), m.group(2),
                                            m.group(3))
        raise ClerkError("resource_not_found", long_message="No route for %s %s" % (
            method, path[:100]))

    def _wrap(self, client, response_obj, status_for_log=None):
        with self.store.lock:
            body = {"response": response_obj, "client": resources.client_json(client, self.store)}
        r = json_response(200, body, client.token)
        r.sign_in_status = status_for_log
        return r

    def _client_answer(self, client):
        with self.store.lock:
            c = resources.client_json(client, self.store)
        return json_response(200, {"response": c, "client": c}, client.token)

    # ---- sign-ins --------------------------------------------------------------------
    def _check_user_state(self, user):
        if user.state == "banned":
            raise ClerkError("user_banned")
        if user.state == "deactivated":
            raise ClerkError("user_deactivated")
        if user.state == "locked":
            raise ClerkError("user_locked", long_message=(
                "Your account is locked. For more information, please contact support."))
        left = self.store.lockout_remaining(user)
        if left:
            raise ClerkError("user_locked", {"lockout_expires_in_seconds": left}, (
                "Your account is locked. You will be able to try again in %s. For more "
                "information, please contact support." % _minutes(left)))

    def _create_sign_in(self, req, client, fault):
        retry = self.store.rate_check()
        if retry is not None:
            raise ClerkError("too_many_requests", headers=[("Retry-After", str(retry))])
        if self.settings["device_attestation"]:
            raise ClerkError("requires_device_attestation")
        form = req.form
        strategy = form.get("strategy") or None
        identifier = (form.get("identifier") or "").strip()
        if strategy not in (None, "password"):
            raise ClerkError("form_param_value_invalid", {"param_name": "strategy"}, (
                "%s does not match one of the allowed values for parameter strategy "
                "(the emulator implements password only)" % strategy[:40]))
        if not identifier:
            if strategy == "password":
                raise _param_missing("identifier")
            si = self.store.new_sign_in(client, None, None)
            with self.store.lock:
                return self._wrap(client, resources.sign_in_json(si, self.store), si.status)
        user = self.store.find_user(identifier)
        if user is None:
            if self.settings["enumeration_protection"] and strategy == "password":
                raise ClerkError("form_password_or_identifier_incorrect",
                                 {"param_name": "password"})
            raise ClerkError("form_identifier_not_found", {"param_name": "identifier"})
        self._check_user_state(user)
        if self.settings["single_session"]:
            if self.store.any_active_session(client) is not None:
                raise ClerkError("session_exists")
        else:
            existing = self.store.active_session_for(client, user)
            if existing is not None:
                raise ClerkError("identifier_already_signed_in", {"session_id": existing.id})
        if strategy is None:
            si = self.store.new_sign_in(client, normalise_identifier(identifier), user)
            si.status = "needs_first_factor"
            si.client_trust_state = "known" if self.store.is_trusted(client, user) else "new"
            with self.store.lock:
                return self._wrap(client, resources.sign_in_json(si, self.store), si.status)
        if user.password_error is None and user.password is None:
            raise ClerkError("strategy_for_user_invalid", {"param_name": "strategy"})
        password = form.get("password") or ""
        if not password:
            raise _param_missing("password")
        self._verify_password(user, password)
        si = self.store.new_sign_in(client, normalise_identifier(identifier), user)
        return self._after_password(client, si, user, fault)

    def _verify_password(self, user, password):
        if user.password_error is not None:
            # the fixture's answer to any password of this user (no_password_set, ...)
            raise ClerkError(user.password_error, {"param_name": "password"})
        if password != user.password:
            self.store.record_failure(user)
            raise ClerkError("form_password_or_identifier_incorrect"
                             if self.settings["enumeration_protection"]
                             else "form_password_incorrect", {"param_name": "password"})
        self.store.record_success(user)
        if user.pwned:
            raise ClerkError("form_password_pwned", {"param_name": "password"})

    def _after_password(self, client, si, user, fault):
        si.first_factor = resources.password_verification("verified")
        status = user.after_password
        forced = fault.params["status"] if fault is not None and fault.name == "sign_in_status" \
            else None
        trusted = self.store.is_trusted(client, user)
        # Device Trust applies to users without MFA: on the instance (--device-trust), or for a
        # user whose after_password is needs_client_trust (the trust-user fixture)
        trust_check = forced is None and not trusted and (
            status == "needs_client_trust" or
            (status == "complete" and self.device_trust is not None and
             bool(resources.trust_factors(user))))
        if forced is not None or (status == "complete" and not trust_check) or \
                (status == "needs_client_trust" and trusted):
            self._complete(client, si, user)
            if forced is not None:
                si.status = forced
        else:
            if trust_check:
                legacy = self.device_trust == "legacy" and status == "complete"
                si.status = "needs_second_factor" if legacy else "needs_client_trust"
                si.trust_challenge = True
                si.factors = resources.trust_factors(
                    user, email_link=self.settings["trust_email_link"])
                si.client_trust_state = "new"
            else:
                si.status = status
                if status == "needs_second_factor":
                    si.factors = resources.mfa_factors(user)
                    # Only an instance with Device Trust reports a client's trust state.
                    if self.device_trust is not None:
                        si.client_trust_state = "known" if trusted else "new"
            with self.store.lock:
                client.sign_in = si
        with self.store.lock:
            return self._wrap(client, resources.sign_in_json(si, self.store), si.status)

    def _complete(self, client, si, user, second_factor=False):
        session = self.store.new_session(client, user)
        if second_factor:
            session.factor_verification_age = [0, 0]
        tasks = self._tasks(user, session)
        if tasks:
            session.status = "pending"
            session.tasks = [{"key": k} for k in tasks]
        session.last_jwt = self._session_jwt(session, user)
        with self.store.lock:
            si.status = "complete"
            si.created_session_id = session.id
            si.client_trust_state = "known"
            client.sign_in = None
            client.last_authentication_strategy = "password"
        # Device Trust: this user has now had a session on this client
        self.store.trust(client, user)
        self.store.rotate_token(client, self.opaque.mint)

    def _tasks(self, user, session):
        """Session task keys of a new session (FAPI-NOTES section 11): the user's own, the
        instance's, setup-mfa when MFA is required and the user has none, and
        choose-organization when an organization is forced and none is active."""
        keys = list(user.session_tasks or []) + list(self.settings["session_tasks"] or [])
        if self.settings["require_mfa"] and not user.mfa_strategies:
            keys.append("setup-mfa")
        if self.settings["force_organization"] and session.active_org is None:
            keys.append("choose-organization")
        return list(dict.fromkeys(keys))

    def now(self):
        """Seconds for JWT times: the clock shifted by --clock-offset."""
        return time.time() + self.clock_offset

    def _jwt_fault(self):
        """The kind of the jwt fault that damages the JWT being minted now, or None."""
        if self.faults is None:
            return None
        f = self.faults.take("jwt", None, getattr(self._local, "path", None) or "/")
        if f is None:
            return None
        kind = f.params["kind"]
        used = getattr(self._local, "jwt_faults", None)
        if used is not None:
            used.append(kind)
        return kind

    def _session_jwt(self, session, user, org="active", template=None):
        """A session token (template None) or a JWT-template token (template = its
        definition) for this session; every JWT handed out is minted here."""
        org = session.active_org if org == "active" else org
        if template is not None:
            claims = tokens.template_claims(template, self.iss, user, session.id, org,
                                            now=self.now(), sid=self.settings["template_sid"])
            category = tokens.TEMPLATE_CATEGORY
        else:
            claims = tokens.session_claims(self.iss, user.id, session.id, org,
                                           now=self.now(), fva=session.factor_verification_age,
                                           version=self.jwt_claims)
            if session.status == "pending":
                claims["sts"] = "pending"
            category = tokens.SESSION_CATEGORY
        return self.key.sign(claims, category, fault=self._jwt_fault())

    def _sign_in_action(self, req, client, method, sid, action, fault):
        if method == "POST" and action in ("attempt_first_factor", "attempt_second_factor"):
            retry = self.store.attempt_rate_check()
            if retry is not None:
                raise ClerkError("too_many_requests", headers=[("Retry-After", str(retry))])
        with self.store.lock:
            si = self.store.sign_ins.get(sid)
        if si is None or si.client_id != client.id:
            raise ClerkError("resource_not_found", long_message="No sign in was found with id %s"
                             % sid[:60])
        if action is None and method == "GET":
            with self.store.lock:
                return self._wrap(client, resources.sign_in_json(si, self.store), si.status)
        if action == "attempt_first_factor" and method == "POST":
            return self._attempt_first_factor(req, client, si, fault)
        if action == "prepare_second_factor" and method == "POST":
            return self._prepare_second_factor(req, client, si)
        if action == "attempt_second_factor" and method == "POST":
            return self._attempt_second_factor(req, client, si, fault)
        if action in ("prepare_first_factor", "reset_password") and method == "POST":
            raise ClerkError("verification_strategy_invalid", long_message=(
                "%s is not implemented by the emulator." % action))
        raise ClerkError("resource_not_found")

    # ---- second factors --------------------------------------------------------------
    def _second_factor_user(self, si):
        """The user of a sign-in waiting for a second factor (or Device Trust check)."""
        if si.status == "complete":
            raise ClerkError("verification_already_verified")
        if si.status not in SECOND_FACTOR_STATUSES or si.user_id is None:
            raise ClerkError("verification_strategy_invalid", long_message=(
                "The sign in is in status %s; it does not accept a second factor." % si.status))
        user = self.store.users.get(si.user_id)
        if user is None:
            raise ClerkError("sign_in_identification_or_user_deleted")
        self._check_user_state(user)
        return user

    def _offered(self, si, user, strategy):
        factors = si.factors if si.factors is not None else \
            resources.second_factors(user, si.status)
        offered = [f for f in factors if f["strategy"] == strategy]
        if not offered:
            raise ClerkError("no_second_factors", long_message=(
                "No second factors were found for strategy %s." % strategy))
        return offered

    def _prepare_second_factor(self, req, client, si):
        user = self._second_factor_user(si)
        strategy = req.form.get("strategy")
        if not strategy:
            raise _param_missing("strategy")
        if strategy not in PREPARE_STRATEGIES:
            raise ClerkError("form_param_value_invalid", {"param_name": "strategy"}, (
                "%s does not match one of the allowed values for parameter strategy"
                % strategy[:40]))
        offered = self._offered(si, user, strategy)
        key = "phone_number_id" if strategy == "phone_code" else "email_address_id"
        wanted = req.form.get(key)
        if wanted:
            chosen = [f for f in offered if f.get(key) == wanted]
            if not chosen:
                raise ClerkError("form_param_value_invalid", {"param_name": key}, (
                    "%s is not one of this sign in's %s factors" % (wanted[:60], strategy)))
            factor = chosen[0]
        else:
            factor = ([f for f in offered if f.get("default")] or offered)[0]
        addrs = dict(user.phones if strategy == "phone_code" else user.emails)
        to = addrs.get(factor[key])
        code = self.store.new_code()
        expire_at = now_ms() + int(self.store.code_ttl * 1000)
        with self.store.lock:
            si.pending = {"strategy": strategy, "code": code, "to": to, "target_id": factor[key],
                          "expire_at": expire_at, "attempts": 0, "status": "unverified"}
            si.second_factor = resources.otp_verification(strategy, "unverified", 0, expire_at)
            self.store.outbox.add(strategy=strategy, to=to, code=code, sign_in_id=si.id,
                                  user_id=user.id)
            return self._wrap(client, resources.sign_in_json(si, self.store), si.status)

    def _attempt_second_factor(self, req, client, si, fault):
        user = self._second_factor_user(si)
        strategy = req.form.get("strategy")
        if not strategy:
            raise _param_missing("strategy")
        if strategy not in ATTEMPT_STRATEGIES:
            raise ClerkError("form_param_value_invalid", {"param_name": "strategy"}, (
                "%s does not match one of the allowed values for parameter strategy"
                % strategy[:40]))
        self._offered(si, user, strategy)
        code = (req.form.get("code") or "").strip()
        if not code:
            raise _param_missing("code")
        with self.store.lock:
            n = si.attempts[strategy] = si.attempts.get(strategy, 0) + 1
            if strategy in ("totp", "backup_code"):
                ok = otp.totp_ok(user.totp_secret, code) if strategy == "totp" else \
                    self.store.use_backup_code(user, code)
                si.second_factor = resources.code_verification(
                    strategy, "verified" if ok else "unverified", n)
            else:
                p = si.pending
                if p is None or p["strategy"] != strategy:
                    raise ClerkError("verification_missing")
                if p["status"] == "failed":
                    raise ClerkError("verification_failed")
                if now_ms() > p["expire_at"]:
                    p["status"] = "expired"
                    si.second_factor = resources.otp_verification(
                        strategy, "expired", p["attempts"], p["expire_at"])
                    raise ClerkError("verification_expired")
                p["attempts"] += 1
                ok = hmac.compare_digest(code.encode(), p["code"].encode())
                if ok:
                    p["status"] = "verified"
                elif p["attempts"] >= CODE_MAX_ATTEMPTS:
                    p["status"] = "failed"
                si.second_factor = resources.otp_verification(
                    strategy, p["status"], p["attempts"], p["expire_at"])
        if not ok:
            self.store.record_failure(user)      # wrong codes count toward the lockout
            raise ClerkError("form_code_incorrect", {"param_name": "code"})
        self.store.record_success(user)
        forced = fault.params["status"] if fault is not None and fault.name == "sign_in_status" \
            else None
        self._complete(client, si, user, second_factor=True)
        if forced is not None:
            si.status = forced
        with self.store.lock:
            return self._wrap(client, resources.sign_in_json(si, self.store), si.status)

    def _attempt_first_factor(self, req, client, si, fault):
        strategy = req.form.get("strategy")
        if not strategy:
            raise _param_missing("strategy")
        if strategy != "password":
            raise ClerkError("verification_strategy_invalid", {"param_name": "strategy"})
        if si.status != "needs_first_factor" or si.user_id is None:
            raise ClerkError("verification_strategy_invalid", long_message=(
                "The sign in is in status %s; it does not accept a first factor." % si.status))
        user = self.store.users.get(si.user_id)
        if user is None:
            raise ClerkError("form_identifier_not_found", {"param_name": "identifier"})
        self._check_user_state(user)
        if user.password_error is None and user.password is None:
            raise ClerkError("strategy_for_user_invalid", {"param_name": "strategy"})
        password = req.form.get("password") or ""
        if not password:
            raise _param_missing("password")
        self._verify_password(user, password)
        return self._after_password(client, si, user, fault)
