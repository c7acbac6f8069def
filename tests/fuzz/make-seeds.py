#!/usr/bin/python3
"""Regenerate the seed corpora of the fuzz targets in tests/fuzz/corpus/.

Most seeds are real answers of the bundled FAPI emulator (sign-ins in every
status, errors, pending sessions, tokens, JWKS, faults), re-encoded in
each target's input format; the rest are written here by hand. Run it with
Debian's Python from the top of the checkout:

    /usr/bin/python3 tests/fuzz/make-seeds.py [--clean] [TARGET ...]

Seeds are named seed-<what>; --clean removes the old ones first. With target
names (clerk, sign_in, ...), only their seeds are written. Inputs the
fuzzer found and that were kept (named by their SHA-1) and crash reproducers
(repro-<what>) are never touched.
"""
import base64
import hashlib
import http.client
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
sys.path.insert(0, os.path.join(TOP, "tests"))

from emulator.control import Emulator, totp  # noqa: E402

DEMO, DEMO_PW = "ileap-demo@way.cloud", "HelloPrimaryData"

# Status tables, as in fuzz_sign_in.c and fuzz_clerk.c.
SIGN_IN_STATUSES = [200, 201, 204, 299, 300, 302, 400, 401, 403, 404, 409, 415, 422, 429, 500,
                    502, 503, 100, 0, -1]
CLERK_STATUSES = [200, 200, 200, 200, 422, 422, 400, 401, 403, 404, 429, 429, 500, 502, 503,
                  201, 204, 302, 301, 307, 418, 409, 410, 415, 499, 504, 100, 0, 299, 300, 399,
                  600]

written = {}
ONLY = [a for a in sys.argv[1:] if not a.startswith("--")]


def put(target, name, data):
    if ONLY and target not in ONLY:
        return
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)
    written[target] = written.get(target, 0) + 1


class Capture:
    def __init__(self, r):
        self.status = r.status
        self.headers = list(r.headers.items())
        self.body = r.body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body.decode())


# ---- fuzz_clerk records ------------------------------------------------------------------
def clerk_answer(status, body=b"", authorization=None, retry_after=None, trace_id=None,
                 db_jwt=None):
    if status in CLERK_STATUSES:
        s = CLERK_STATUSES.index(status)
    else:
        assert status % 5 == 0 and 32 + status // 5 < 0xf0, status
        s = 32 + status // 5
    out = bytes([s])
    mask = 0
    parts = b""
    for bit, v in enumerate((authorization, retry_after, trace_id, db_jwt)):
        if v is not None:
            v = v.encode()[:255]
            mask |= 1 << bit
            parts += bytes([len(v)]) + v
    if isinstance(body, str):
        body = body.encode()
    body = body[:65535]
    return out + bytes([mask]) + parts + bytes([len(body) >> 8, len(body) & 255]) + body


def clerk_from(c, **over):
    kw = dict(authorization=c.header("Authorization"), trace_id=c.header("X-Clerk-Trace-Id"),
              retry_after=c.header("Retry-After"), db_jwt=c.header("Clerk-Db-Jwt"))
    kw.update(over)
    return clerk_answer(c.status, c.body, **kw)


def typed(code):
    code = code.encode()
    return bytes([len(code)]) + code


CANNOT_ASK = b"\xff"


def transport_failure(kind):
    return bytes([0xf0 + kind])


# setup byte 0: stored(1) keep(2) ask(4) factor<<3 (0 none,1 totp,2 phone,3 email,4 backup)
# want_token(64) end_now(128); byte 1: max_tries-1 (bits 0-3), org<<4 (1 id, 2 slug), template(64)
def clerk_seed(name, setup, more, *records):
    put("clerk", name, bytes([setup, more]) + b"".join(records))


def b64url_json(part):
    pad = "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(part + pad))


def main():
    if "--clean" in sys.argv and os.path.isdir(CORPUS):
        for d in os.listdir(CORPUS):
            if ONLY and d not in ONLY:
                continue
            for f in os.listdir(os.path.join(CORPUS, d)):
                if f.startswith("seed-"):
                    os.unlink(os.path.join(CORPUS, d, f))
    tmp = tempfile.mkdtemp(prefix="fuzz-seeds-")
    try:
        # the kind world: the seeds capture the answers the corpus was made from
        with Emulator(os.path.join(tmp, "main"), profile="kind") as emu:
            capture_main(emu)
        with Emulator(os.path.join(tmp, "dev"), dev_instance=True, profile="kind") as dev:
            capture_dev(dev)
        with Emulator(os.path.join(tmp, "trust"), device_trust=True, profile="kind") as trust:
            capture_trust(trust)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    hand_written()
    for t in sorted(written):
        print("%-12s %3d seeds" % (t, written[t]))


def sign_in_seed(name, c):
    st = c.status
    b = bytes([SIGN_IN_STATUSES.index(st)]) if st in SIGN_IN_STATUSES else bytes([(st + 1) // 4])
    put("sign_in", name, b + c.body)


def capture_main(emu):
    S = {}
    emu.reset()
    S["complete"] = Capture(emu.sign_in(DEMO, DEMO_PW))
    S["wrong"] = Capture(emu.sign_in(DEMO, "nope"))
    S["unknown"] = Capture(emu.sign_in("nobody@way.cloud", "x"))
    for user, pw in (("locked-user", "locked password"), ("banned-user", "banned password"),
                     ("deactivated-user", "deactivated password"),
                     ("pwned-user", "password123"), ("newpw-user", "newpw password"),
                     ("nopass-user", "x"), ("weird-user", "weird password")):
        S[user] = Capture(emu.sign_in(user, pw))
    # Second factors: TOTP, SMS, e-mail.
    r = emu.sign_in("totp-user", "totp password")
    S["needs_totp"] = Capture(r)
    tok, sia = r.token, r.json()["response"]["id"]
    S["code_wrong"] = Capture(emu.attempt_second_factor(sia, "totp", "000000", tok))
    tok = S["code_wrong"].header("Authorization") or tok
    S["code_ok"] = Capture(emu.attempt_second_factor(
        sia, "totp", totp("JBSWY3DPEHPK3PXP"), tok))
    r = emu.sign_in("sms-user", "sms password")
    S["needs_sms"] = Capture(r)
    tok, sia = r.token, r.json()["response"]["id"]
    S["sms_prepared"] = Capture(emu.prepare_second_factor(
        sia, "phone_code", tok, phone_number_id="idn_sms_user_phone"))
    code = emu.last_code(sign_in_id=sia)
    S["sms_ok"] = Capture(emu.attempt_second_factor(sia, "phone_code", code, tok))
    r = emu.sign_in("email2fa-user", "email2fa password")
    S["needs_email"] = Capture(r)
    # Tokens, organizations, sessions.
    r = emu.sign_in("alice", "correct horse")
    tok, done = r.token, r.json()
    sid = done["response"]["created_session_id"]
    S["token"] = Capture(emu.fapi("POST", "/v1/client/sessions/%s/tokens" % sid, form={},
                                  token=tok))
    S["token_org"] = Capture(emu.fapi("POST", "/v1/client/sessions/%s/tokens" % sid,
                                      form={"organization_id": "org_ops"}, token=tok))
    S["token_badorg"] = Capture(emu.fapi("POST", "/v1/client/sessions/%s/tokens" % sid,
                                         form={"organization_id": "org_nope"}, token=tok))
    S["touch"] = Capture(emu.fapi("POST", "/v1/client/sessions/%s/touch" % sid,
                                  form={"active_organization_id": "ops",
                                        "intent": "select_org"}, token=tok))
    S["end"] = Capture(emu.fapi("POST", "/v1/client/sessions/%s/end" % sid, form={},
                                token=tok))
    S["remove_all"] = Capture(emu.fapi("DELETE", "/v1/client/sessions", token=tok))
    S["stale"] = Capture(emu.sign_in(DEMO, DEMO_PW, token="not-a-token-we-know"))
    S["jwks"] = Capture(emu.fapi("GET", "/.well-known/jwks.json", token=None, native=False))
    # Faults.
    for name, fault, params in (
            ("rate_limited", "rate_limit", {"retry_after": 5}),
            ("rate_limited_bare", "rate_limit", {}),
            ("server_error", "status", {"http_status": 503}),
            ("truncated", "truncated_json", {}), ("malformed", "malformed_json", {}),
            ("wrong_types", "wrong_types", {}), ("empty_200", "empty_body_200", {}),
            ("redirect", "redirect", {}), ("teapot", "unexpected_status", {"http_status": 418}),
            ("needs_first_factor", "sign_in_status", {"status": "needs_first_factor"}),
            ("needs_protect", "sign_in_status", {"status": "needs_protect_check"}),
            ("future_status", "sign_in_status", {"status": "some_status_from_the_future"}),
            ("session_exists", "error_code", {"code": "session_exists"}),
            ("native_disabled", "error_code", {"code": "native_api_disabled"}),
            ("lockout_meta", "error_code", {"code": "user_locked",
                                            "meta": {"lockout_expires_in_seconds": 1800}}),
            ("hostile_text", "error_code", {"code": "form_password_incorrect",
                                            "long_message": "evil\n\x1b[31mFAKE\r\x07",
                                            "trace_id": "t\nx\x1b"}),
            ("no_client_token", "no_client_token", {})):
        emu.clear_faults()
        emu.fault(fault, count=1, **params)
        S[name] = Capture(emu.sign_in(DEMO, DEMO_PW))
    emu.clear_faults()

    # fuzz_sign_in
    for name, c in S.items():
        if name in ("jwks",):
            continue
        if name not in ("token", "token_org", "end", "remove_all", "touch", "redirect",
                        "empty_200"):
            sign_in_seed(name, c)
    # fuzz_fapi_token
    for name in ("token", "token_org", "token_badorg"):
        put("fapi_token", name, b"\x01" + S[name].body)
    # fuzz_jwt: the emulator's real session JWTs, as received (their key
    # is not the target's), and their parts re-signed by the target.
    jwts = [S[n].json()["jwt"] for n in ("token", "token_org")]
    sess = S["complete"].json()["client"]["sessions"][0]
    jwts.append(sess["last_active_token"]["jwt"])
    for i, jwt in enumerate(jwts):
        put("jwt", "emulator_%d" % i, b"\x00" + jwt.encode())
        h, p, _ = jwt.split(".")
        header, payload = b64url_json(h), b64url_json(p)
        header["kid"] = "k1"
        payload.update(iss="https://clerk.example.com", sub="user_1", sid="sess_1",
                       iat=1700000000 - 10, nbf=1700000000 - 10, exp=1700000000 + 60)
        put("jwt", "resigned_%d" % i, b"\x11" + json.dumps(header).encode() + b"\x00" +
            json.dumps(payload).encode())
    # fuzz_jwks
    put("jwks", "emulator", b"\x00" + S["jwks"].body)
    pem = open(emu.ready["jwt_public_key"]).read()
    put("jwks", "pem_armoured", b"\x01" + pem.replace("\n", "\\n").encode())
    put("jwks", "pem_bare", b"\x01" + "".join(
        l for l in pem.splitlines() if not l.startswith("-----")).encode())

    # fuzz_clerk scenarios
    complete = clerk_from(S["complete"])
    clerk_seed("success", 0, 2, complete)
    clerk_seed("wrong_password", 0, 2, clerk_from(S["wrong"]))
    clerk_seed("locked", 0, 2, clerk_from(S["locked-user"]))
    clerk_seed("rate_limited", 0, 2, clerk_from(S["rate_limited"]))
    clerk_seed("server_error", 0, 2, clerk_from(S["server_error"]))
    clerk_seed("redirect", 0, 2, clerk_from(S["redirect"]))
    clerk_seed("timeout", 0, 2, transport_failure(1))
    clerk_seed("totp_ok", 4 | 8, 2, clerk_from(S["needs_totp"]), typed("123 456"),
               clerk_from(S["code_ok"]))
    clerk_seed("totp_wrong_then_ok", 4, 2, clerk_from(S["needs_totp"]), typed("000000"),
               clerk_from(S["code_wrong"]), typed("123456"), clerk_from(S["code_ok"]))
    clerk_seed("totp_cannot_ask", 0, 2, clerk_from(S["needs_totp"]))
    clerk_seed("totp_password_typed", 4, 2, clerk_from(S["needs_totp"]), typed(DEMO_PW))
    clerk_seed("totp_429_retry", 4, 2, clerk_from(S["needs_totp"]), typed("123456"),
               clerk_answer(429, S["rate_limited"].body, retry_after="1"),
               clerk_from(S["code_ok"]))
    clerk_seed("totp_429_long", 4, 2, clerk_from(S["needs_totp"]), typed("123456"),
               clerk_answer(429, S["rate_limited"].body, retry_after="3600"))
    clerk_seed("sms_ok", 4 | 16, 2, clerk_from(S["needs_sms"]), clerk_from(S["sms_prepared"]),
               typed("123456"), clerk_from(S["sms_ok"]))
    clerk_seed("email_prepare", 4 | 24, 2, clerk_from(S["needs_email"]),
               clerk_from(S["sms_prepared"]), CANNOT_ASK)
    clerk_seed("first_factor", 0, 2, clerk_from(S["needs_first_factor"]), complete)
    clerk_seed("stale_client", 1, 2, clerk_from(S["stale"]), complete)
    clerk_seed("stored_keep", 1 | 2, 2, complete, clerk_from(S["remove_all"]))
    clerk_seed("session_exists", 1, 2, clerk_from(S["session_exists"]),
               clerk_from(S["remove_all"]))
    clerk_seed("want_token", 64, 2, complete)
    clerk_seed("want_token_org_id", 64, 2 | 16, complete, clerk_from(S["token_org"]))
    clerk_seed("want_token_org_slug", 64, 2 | 32, complete, clerk_from(S["touch"]),
               clerk_from(S["token"]))
    clerk_seed("want_token_badorg", 64, 2 | 16, complete, clerk_from(S["token_badorg"]))
    clerk_seed("want_token_template", 64, 2 | 64, complete, clerk_from(S["token"]))
    clerk_seed("end_now", 128, 2, complete, clerk_from(S["end"]))


def capture_dev(dev):
    # A development instance asks native clients for no dev browser; when it
    # refuses one anyway, the module stops there (no handshake).
    r = Capture(dev.sign_in(DEMO, DEMO_PW))
    sign_in_seed("dev_browser_unauthenticated", r)
    clerk_seed("dev_refused", 0, 2, clerk_from(r))


def capture_trust(trust):
    r = Capture(trust.sign_in("trust-user", "trust password"))
    sign_in_seed("needs_client_trust", r)
    body = r.json()
    sia = body["response"]["id"]
    tok = r.header("Authorization")
    factors = body["response"].get("supported_second_factors") or []
    if factors:
        f = factors[0]
        ids = {k: f[k] for k in ("phone_number_id", "email_address_id") if f.get(k)}
        p = Capture(trust.prepare_second_factor(sia, f["strategy"], tok, **ids))
        code = trust.last_code(sign_in_id=sia) or "000000"
        ok = Capture(trust.attempt_second_factor(sia, f["strategy"], code, tok))
        rm = Capture(trust.fapi("DELETE", "/v1/client/sessions",
                                token=ok.header("Authorization") or tok))
        clerk_seed("device_trust", 2 | 4, 2, clerk_from(r), clerk_from(p), typed("123456"),
                   clerk_from(ok), clerk_from(rm))


def hand_written():
    # fuzz_conf_file: the sample configuration and a full one.
    sample = open(os.path.join(TOP, "etc", "pam_clerk.conf"), "rb").read()
    put("conf_file", "sample", sample + b"\npublishable_key = pk_test_Y2xlcmsuZXhhbXBsZS5jb20k\n")
    put("conf_file", "full", "\n".join([
        "# every key", "frontend_api = https://clerk.example.com:8443/",
        "publishable_key = pk_live_Y2xlcmsuZXhhbXBsZS5jb20k", "identifier = %u@example.com",
        "cafile = /etc/ssl/certs/ca-certificates.crt", "capath = /etc/ssl/certs",
        "timeout = 7", "connect_timeout = 3", "proxy = http://127.0.0.1:3128",
        "api_version = 2026-05-12", "factor = totp", "max_tries = 5", "state_dir = none",
        "debug", "use_first_pass = no", "try_first_pass = yes", "export_env = yes",
        "jwt_template = pam", "organization = org_1", "require_organization",
        "allowed_roles = admin,org:member", "authorize = auth", "end_session = never",
        "\tjwt_key = MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA \r", ""]))
    put("conf_file", "errors", "frontend_api = http://clerk.example.com\n")
    put("conf_file", "unknown_key", "frontend_api = https://a.b\nbogus = 1\n")
    put("conf_file", "crlf", "frontend_api = https://a.b\r\nidentifier=%%%u\r\n")
    # fuzz_conf_args: NUL-separated module arguments.
    put("conf_args", "minimal", b"frontend_api=https://clerk.example.com")
    put("conf_args", "many", b"\0".join([
        b"publishable_key=pk_test_Y2xlcmsuZXhhbXBsZS5jb20k", b"identifier=%u", b"debug",
        b"timeout=60", b"connect_timeout=60", b"max_tries=10", b"state_dir=/var/lib/x",
        b"factor=backup_code", b"use_first_pass", b"end_session=auth", b"authorize=account"]))
    put("conf_args", "bad_timeout", b"frontend_api=https://a.b\0timeout=0")
    put("conf_args", "conf_missing", b"conf=/nonexistent/pam_clerk.conf\0frontend_api=https://a.b")
    put("conf_args", "relative_conf", b"conf=relative.conf")
    # fuzz_identifier: size byte, format NUL user.
    put("identifier", "plain", b"\x00%u\0alice")
    put("identifier", "domain", b"\x00%u@example.com\0bob")
    put("identifier", "percent", b"\x10%%%u%%\0x")
    put("identifier", "control", b"\x00%u\0a\x01b")
    put("identifier", "bad_escape", b"\x00%x\0a")
    # fuzz_fapi_url: mode byte, size byte, text.
    key = base64.b64encode(b"clerk.example.com$").decode()
    for i, (mode, text) in enumerate([
            (0, "pk_test_" + key), (0, "pk_live_" + key.rstrip("=")), (0, "pk_test_===="),
            (1, "https://clerk.example.com"), (1, "https://clerk.example.com:443/"),
            (1, "http://clerk.example.com"), (1, "https://user@host.com"),
            (2, "clerk.example.com$"), (3, "accounts.dev$"), (4, key),
            (5, "clerk.example.com:65536"), (5, "-bad.example.com")]):
        put("fapi_url", "case_%d" % i, bytes([mode, 0]) + text.encode())
    # fuzz_b64: mode byte, then text or bytes.
    for i, (mode, data) in enumerate([
            (0, b"Y2xlcmsuZXhhbXBsZS5jb20k"), (0, b"YQ=="), (0, b"YQ"), (0, b"YQ="),
            (0, b"Y"), (0, b"YQ==="), (0, b"Y Q=="), (1, b"-_-_"), (1, b"eyJhbGciOiJSUzI1NiJ9"),
            (2, bytes(range(256))), (3, b"\x00\xff\xfe")]):
        put("b64", "case_%d" % i, bytes([mode]) + data)
    # fuzz_form: cap (2 bytes), prefill, key NUL value.
    put("form", "password", b"\x10\x00\x01password\0p@ss w0rd&=+%\xc3\xa9")
    put("form", "tight", b"\x00\x0c\x00strategy\0password")
    put("form", "empty", b"\x01\x00\x00\0")
    # fuzz_sanitize: size byte, text.
    put("sanitize", "plain", b"\x40user=alice")
    put("sanitize", "controls", b"\xffevil\n\x1b[31m\\\r\x07\x7f\xc3\xa9")
    put("sanitize", "cut", b"\x05\x01\x02\x03\x04\x05")
    put("sanitize", "null", b"\xff")
    # fuzz_fapi_token: odd = tokens answer, even = a session answer (touch's).
    put("fapi_token", "token_empty", b'\x01{"object":"token","jwt":""}')
    put("fapi_token", "token_nul", b'\x01{"object":"token","jwt":"a\\u0000b"}')
    for name, sess in [
            ("session_active", {"id": "sess_1", "status": "active", "tasks": []}),
            ("session_pending", {"id": "sess_1", "status": "pending",
                                 "tasks": [{"key": "choose-organization"}]}),
            ("session_tasks", {"id": "sess_1", "status": "pending",
                               "tasks": [{"key": "reset-password"}, {"key": "setup-mfa"},
                                         {"key": "other"}]}),
            ("session_bad_task", {"id": "sess_1", "status": "pending", "tasks": [{"key": 1}]}),
            ("session_other", {"id": "sess_2", "status": "active"})]:
        put("fapi_token", name, b"\x00" + json.dumps({"response": sess}).encode())
    # fuzz_jwt by hand: algorithm confusion, none, crit, v1 organization claims.
    base = {"iss": "https://clerk.example.com", "sub": "user_1", "sid": "sess_1",
            "exp": 1700000060, "iat": 1699999990}
    for i, (header, payload) in enumerate([
            ({"alg": "RS256", "kid": "k1", "typ": "JWT"}, dict(base, v=2, o={
                "id": "org_1", "slg": "team", "rol": "admin"})),
            ({"alg": "RS256", "kid": "k1"}, dict(base, org_id="org_1", org_slug="team",
                                                  org_role="org:member")),
            ({"alg": "RS256", "kid": "k1", "crit": ["exp"]}, base),
            ({"alg": "HS256", "kid": "k1"}, base), ({"alg": "none"}, base),
            ({"alg": "RS256", "kid": "k1"}, dict(base, exp=9223372036854775807)),
            ({"alg": "RS256", "kid": "k1"}, dict(base, nbf=-9223372036854775807 - 1))]):
        put("jwt", "signed_%d" % i, b"\x11" + json.dumps(header).encode() + b"\x00" +
            json.dumps(payload).encode())
    put("jwt", "unsigned_none", b"\x00eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyXzEifQ.")
    # fuzz_sign_in by hand: a complete sign-in whose session list is odd.
    put("sign_in", "complete_no_session", b'\x00{"response":{"id":"sia_1","status":"complete",'
        b'"created_session_id":"sess_1"},"client":{"sessions":[]}}')
    put("sign_in", "factors_max", b'\x00{"response":{"id":"sia_1","status":"needs_second_factor"'
        b',"supported_second_factors":[' + b",".join(
            b'{"strategy":"phone_code","safe_identifier":"+1***%d","phone_number_id":"idn_%d",'
            b'"default":%s}' % (i, i, b"true" if i == 3 else b"false") for i in range(10)) +
        b"]}}")
    # fuzz_bapi: byte 0 (bit 0: an organization is asked about; bits 2-3: the
    # identifier), then answers: status index (0 = 200, 3 = 404, 4 = 401,
    # 6 = 429), 16-bit body length, body.
    def bapi(status_index, body):
        return bytes([status_index, len(body) >> 8, len(body) & 255]) + body
    users = b'[{"id":"user_1","banned":false,"locked":false,"username":"alice"}]'
    members = (b'{"data":[{"role":"org:admin","organization":{"id":"org_abc123",'
               b'"slug":"team-slug"}}],"total_count":1}')
    put("bapi", "found", b"\x08" + bapi(0, users))
    put("bapi", "found_in_org", b"\x01" + bapi(0, users) + bapi(0, members))
    put("bapi", "found_by_slug", b"\x03" + bapi(0, users) + bapi(0, members))
    put("bapi", "banned", b"\x04" + bapi(0, b'[{"id":"user_2","banned":true,"locked":true}]'))
    put("bapi", "none", b"\x00" + bapi(0, b"[]"))
    put("bapi", "two_users", b"\x00" + bapi(0, b'[{"id":"user_1"},{"id":"user_2"}]'))
    put("bapi", "refused", b"\x00" + bapi(4, b'{"errors":[{"code":"authentication_invalid"}]}'))
    put("bapi", "rate_limited", b"\x01" + bapi(0, users) + bapi(6, b"{}"))
    put("bapi", "no_data", b"\x01" + bapi(0, users) + bapi(0, b'{"total_count":0}'))
    # fuzz_clerk by hand: a 429 (Retry-After: 1) on a code, a wrong code, then
    # a 400 too_many_requests without Retry-After: no wait may follow that one.
    need = (b'{"response":{"id":"sia_1","status":"needs_second_factor",'
            b'"supported_second_factors":[{"strategy":"totp"}]}}')
    too_many = b'{"errors":[{"code":"too_many_requests"}]}'
    clerk_seed("stale_retry_after", 4 | 8, 2, clerk_answer(200, need), typed("111111"),
               clerk_answer(429, too_many, retry_after="1"),
               clerk_answer(422, b'{"errors":[{"code":"form_code_incorrect"}]}'),
               typed("222222"), clerk_answer(400, too_many))
    # fuzz_clerk by hand: a header that tries to smuggle a second header
    # line into the next request through the client token.
    clerk_seed("token_with_cr", 4 | 8, 2,
               clerk_answer(200, b'{"response":{"id":"sia_1","status":"needs_second_factor",'
                            b'"supported_second_factors":[{"strategy":"totp"}]}}',
                            authorization="tok\rX-Evil: 1"),
               typed("123456"), clerk_answer(422, b'{"errors":[{"code":"form_code_incorrect"}]}'))


if __name__ == "__main__":
    main()
