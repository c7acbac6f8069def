"""Tests of the FAPI emulator through real HTTPS with its generated CA."""
import base64
import hashlib
import json
import os
import re
import socket
import ssl
import threading
import time

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import errors
import faults
from fapi_shared import shared_file
from control import Emulator, EmulatorError

SIGN_INS = "/v1/client/sign_ins"
REQUEST_TEMPLATE = ("GET /v1/client?_is_native=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Authorization: \r\nClerk-API-Version: 2026-05-12\r\n"
                    "Connection: close\r\n\r\n")  # the emulator keeps connections otherwise


# ---- helpers -------------------------------------------------------------------------------
def port(url):
    return int(url.rsplit(":", 1)[1])


def b64d(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_jwt(jwt):
    h, c, s = jwt.split(".")
    return json.loads(b64d(h)), json.loads(b64d(c)), (h + "." + c).encode(), b64d(s)


def jwks_key(emu, kid):
    r = emu.fapi("GET", "/.well-known/jwks.json", token=None, native=False, api_version=None)
    assert r.status == 200
    keys = {k["kid"]: k for k in r.json()["keys"]}
    k = keys[kid]
    assert (k["kty"], k["alg"], k["use"]) == ("RSA", "RS256", "sig")
    n = int.from_bytes(b64d(k["n"]), "big")
    e = int.from_bytes(b64d(k["e"]), "big")
    return rsa.RSAPublicNumbers(e, n).public_key()


def verify_jwt(emu, jwt):
    header, claims, signing_input, sig = decode_jwt(jwt)
    assert header["alg"] == "RS256" and header["typ"] == "JWT"
    jwks_key(emu, header["kid"]).verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA256())
    return header, claims


def session_of(body):
    sid = body["response"]["created_session_id"]
    return next(s for s in body["client"]["sessions"] if s["id"] == sid)


def err(r):
    body = r.json()
    assert body["clerk_trace_id"] == r.headers["X-Clerk-Trace-Id"]
    e = body["errors"][0]
    assert e["message"] and e["long_message"]
    return e


def tls_connect(url, timeout=2.0, context=None, ca=None):
    ctx = context or ssl.create_default_context(cafile=ca)
    raw = socket.create_connection(("127.0.0.1", port(url)), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    except BaseException:
        raw.close()
        raise


def read_all(sock, limit=None):
    """Read until EOF; returns (data, exception or None)."""
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data, None
            data += chunk
            if limit and len(data) >= limit:
                return data, None
    except (OSError, ssl.SSLError) as e:
        return data, e


def tls_exchange(emu, request, timeout=3.0):
    """TLS over a plain TCP socket through MemoryBIO, so TCP-level events stay visible:
    returns (plaintext answer, exception from the TCP socket or None on a clean EOF)."""
    ctx = ssl.create_default_context(cafile=emu.ca_file)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname="127.0.0.1")
    raw = socket.create_connection(("127.0.0.1", port(emu.url)), timeout=timeout)
    try:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                if out.pending:
                    raw.sendall(out.read())
                data = raw.recv(65536)
                assert data, "EOF during handshake"
                inc.write(data)
        tls.write(request)
        raw.sendall(out.read())
        plain = b""
        while True:
            try:
                data = raw.recv(65536)
            except OSError as e:
                return plain, e
            if not data:
                return plain, None
            inc.write(data)
            while True:
                try:
                    piece = tls.read(65536)
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                    break
                if not piece:              # close_notify came: answer it, then the TCP close
                    try:
                        tls.unwrap()
                    except ssl.SSLError:
                        pass
                    raw.sendall(out.read())
                    break
                plain += piece
    finally:
        raw.close()


def split_response(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


# ---- start-up, TLS ---------------------------------------------------------------------------
def test_ready_json_describes_listeners(emu):
    with open(os.path.join(emu.state_dir, "ready.json")) as f:
        info = json.load(f)
    assert info["pid"] == emu.proc.pid
    assert info["ca_file"] == os.path.join(emu.state_dir, "ca.pem") and os.path.isfile(info["ca_file"])
    ports = {port(info[k]) for k in ("url", "wrong_host_url", "self_signed_url", "control_url")}
    assert len(ports) == 4
    assert all(info[k].startswith("https://127.0.0.1:") for k in ("url", "wrong_host_url",
                                                                   "self_signed_url"))


def test_server_cert_verifies_for_ip_and_localhost(emu):
    for host in ("127.0.0.1", "localhost"):
        ctx = ssl.create_default_context(cafile=emu.ca_file)
        raw = socket.create_connection(("127.0.0.1", port(emu.url)), timeout=3)
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            assert s.version() in ("TLSv1.2", "TLSv1.3")


def test_wrong_host_cert_fails_hostname_verification(emu):
    with pytest.raises(ssl.SSLCertVerificationError) as ei:
        tls_connect(emu.wrong_host_url, ca=emu.ca_file)
    assert ei.value.verify_code == 64          # X509_V_ERR_IP_ADDRESS_MISMATCH
    ctx = ssl.create_default_context(cafile=emu.ca_file)
    raw = socket.create_connection(("127.0.0.1", port(emu.wrong_host_url)), timeout=3)
    with pytest.raises(ssl.SSLCertVerificationError) as ei:
        ctx.wrap_socket(raw, server_hostname="localhost")
    raw.close()
    assert ei.value.verify_code == 62          # X509_V_ERR_HOSTNAME_MISMATCH
    # same CA: without the hostname check it verifies and serves the same FAPI
    ctx = ssl.create_default_context(cafile=emu.ca_file)
    ctx.check_hostname = False
    r = emu.fapi("GET", "/v1/client", url=emu.wrong_host_url, context=ctx)
    assert r.status == 200 and r.token
    assert emu.requests()[-1]["listener"] == "wrong_host"


def test_self_signed_cert_fails_ca_verification(emu):
    with pytest.raises(ssl.SSLCertVerificationError) as ei:
        tls_connect(emu.self_signed_url, ca=emu.ca_file)
    assert ei.value.verify_code in (18, 19, 20) or "self" in str(ei.value).lower()
    ctx = ssl.create_default_context(cafile=os.path.join(emu.state_dir, "self_signed.pem"))
    r = emu.fapi("GET", "/v1/client", url=emu.self_signed_url, context=ctx)
    assert r.status == 200
    assert emu.requests()[-1]["listener"] == "self_signed"


def test_start_failure_reports_stderr(tmp_path):
    bad = tmp_path / "users.json"
    bad.write_text('[{"id": "nope"}]')
    with pytest.raises(EmulatorError) as ei:
        Emulator.start(tmp_path / "state", users=str(bad))
    assert "user id must be" in str(ei.value)


def test_sigterm_stops_cleanly(tmp_path):
    emu = Emulator(tmp_path, users=[{"id": "user_x", "identifiers": ["x@y.z"], "password": "pw"}],
                   profile="kind")
    with emu:
        assert emu.sign_in("x@y.z", "pw").status == 200
        pid = emu.pid
    assert emu.returncode == 0
    assert not os.path.exists(tmp_path / "ready.json")
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


# ---- sign-in ------------------------------------------------------------------------------
def test_sign_in_success_shape_and_headers(emu):
    r = emu.sign_in("alice@way.cloud", "correct horse")
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert int(r.headers["Content-Length"]) == len(r.body)
    assert len(r.headers["X-Clerk-Trace-Id"]) >= 16
    assert r.token and r.token.count(".") == 2
    body = r.json()
    si = body["response"]
    assert si["object"] == "sign_in_attempt" and si["id"].startswith("sia_")
    assert si["status"] == "complete"
    assert si["identifier"] == "alice@way.cloud"
    assert si["first_factor_verification"]["status"] == "verified"
    assert si["first_factor_verification"]["strategy"] == "password"
    assert si["second_factor_verification"] is None
    assert {"strategy": "password"} in si["supported_first_factors"]
    client = body["client"]
    assert client["object"] == "client" and client["sign_in"] is None
    assert client["last_active_session_id"] == si["created_session_id"]
    sess = session_of(body)
    assert sess["status"] == "active" and sess["user"]["id"] == "user_alice"
    assert sess["last_active_token"]["object"] == "token"
    assert sess["last_active_organization_id"] == "org_way"


def test_demo_user_signs_in(emu):
    r = emu.sign_in("ileap-demo@way.cloud", "HelloPrimaryData")
    assert r.status == 200 and r.json()["response"]["status"] == "complete"


def test_identifier_lookup_ignores_email_case(emu):
    assert emu.sign_in("ALICE@Way.Cloud", "correct horse").status == 200


def test_session_jwt_verifies_against_jwks(emu):
    r = emu.sign_in("alice", "correct horse")
    body = r.json()
    header, claims = verify_jwt(emu, session_of(body)["last_active_token"]["jwt"])
    assert header["kid"].startswith("ins_")
    assert claims["iss"] == emu.url
    assert claims["sub"] == "user_alice"
    assert claims["sid"] == body["response"]["created_session_id"]
    assert claims["exp"] - claims["iat"] == 60 and claims["nbf"] <= claims["iat"]
    assert abs(claims["iat"] - time.time()) < 30
    assert claims["v"] == 2 and claims["fva"] == [0, -1]
    assert claims["o"] == {"id": "org_way", "slg": "way", "rol": "admin"}
    # a user without an organization has no "o"
    r2 = emu.sign_in("ileap-demo@way.cloud", "HelloPrimaryData")
    _, c2 = verify_jwt(emu, session_of(r2.json())["last_active_token"]["jwt"])
    assert "o" not in c2 and c2["sub"] == "user_ileapdemo"


def test_tampered_jwt_fails_verification(emu):
    jwt = session_of(emu.sign_in("alice", "correct horse").json())["last_active_token"]["jwt"]
    h, c, s = jwt.split(".")
    claims = json.loads(b64d(c))
    claims["sub"] = "user_mallory"
    forged = h + "." + base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode() \
        + "." + s
    with pytest.raises(InvalidSignature):
        verify_jwt(emu, forged)


def test_wrong_password(emu):
    r = emu.sign_in("alice", "wrong horse")
    assert r.status == 422
    e = err(r)
    assert e["code"] == "form_password_incorrect" and e["meta"]["param_name"] == "password"
    assert r.token  # the client token comes back on errors too


def test_unknown_identifier(emu):
    r = emu.sign_in("nobody@way.cloud", "whatever")
    assert r.status == 422 and err(r)["code"] == "form_identifier_not_found"


@pytest.mark.parametrize("form,param", [
    ({"strategy": "password", "identifier": "alice"}, "password"),
    ({"strategy": "password", "identifier": "alice", "password": ""}, "password"),
    ({"strategy": "password", "password": "correct horse"}, "identifier"),
])
def test_missing_fields(emu, form, param):
    r = emu.fapi("POST", SIGN_INS, form=form)
    assert r.status == 422
    e = err(r)
    assert e["code"] == "form_param_missing" and e["meta"]["param_name"] == param


def test_lockout_after_threshold(limited_emu):
    emu = limited_emu                      # --lockout-threshold 3
    for _ in range(3):
        r = emu.sign_in("bob", "bad")
        assert r.status == 422 and err(r)["code"] == "form_password_incorrect"
    r = emu.sign_in("bob", "battery staple")       # right password, but locked now
    assert r.status == 403
    e = err(r)
    assert e["code"] == "user_locked"
    assert 3500 < e["meta"]["lockout_expires_in_seconds"] <= 3600
    emu.reset()
    assert emu.sign_in("bob", "battery staple").status == 200


def test_success_resets_failure_count(emu):
    for _ in range(9):
        assert emu.sign_in("bob", "bad").status == 422
    assert emu.sign_in("bob", "battery staple").status == 200
    for _ in range(9):
        assert emu.sign_in("bob", "bad").status == 422   # counter started again: not locked
    assert emu.sign_in("bob", "battery staple").status == 200


def test_default_lockout_threshold_is_ten(emu):
    for _ in range(10):
        assert err(emu.sign_in("bob", "bad"))["code"] == "form_password_incorrect"
    assert err(emu.sign_in("bob", "battery staple"))["code"] == "user_locked"


@pytest.mark.parametrize("ident,password,code", [
    ("locked-user", "locked password", "user_locked"),
    ("banned-user@way.cloud", "banned password", "user_banned"),
    ("deactivated-user", "deactivated password", "user_deactivated"),
])
def test_user_states(emu, ident, password, code):
    r = emu.sign_in(ident, password)
    assert r.status == 403 and err(r)["code"] == code


def test_pwned_password(emu):
    r = emu.sign_in("pwned-user", "password123")
    assert r.status == 422 and err(r)["code"] == "form_password_pwned"
    assert err(emu.sign_in("pwned-user", "nope"))["code"] == "form_password_incorrect"


def test_strategy_for_user_invalid(emu):
    r = emu.sign_in("nopass-user", "anything")
    assert r.status == 400 and err(r)["code"] == "strategy_for_user_invalid"


def test_needs_second_factor(emu):
    r = emu.sign_in("mfa-user", "mfa password")
    assert r.status == 200
    body = r.json()
    si = body["response"]
    assert si["status"] == "needs_second_factor"
    assert si["created_session_id"] is None
    assert si["first_factor_verification"]["status"] == "verified"
    strategies = [f["strategy"] for f in si["supported_second_factors"]]
    assert strategies == ["totp", "phone_code"]
    assert body["client"]["sessions"] == []
    assert body["client"]["sign_in"]["id"] == si["id"]


@pytest.mark.parametrize("ident,password,status", [
    ("trust-user", "trust password", "needs_client_trust"),
    ("newpw-user", "newpw password", "needs_new_password"),
    ("weird-user", "weird password", "needs_something_new"),
])
def test_after_password_statuses(emu, ident, password, status):
    body = emu.sign_in(ident, password).json()
    assert body["response"]["status"] == status
    assert body["response"]["created_session_id"] is None
    assert body["client"]["sessions"] == []


def test_needs_first_factor_then_password(emu):
    r = emu.fapi("POST", SIGN_INS, form={"identifier": "alice"})
    si = r.json()["response"]
    assert si["status"] == "needs_first_factor" and si["created_session_id"] is None
    assert {"strategy": "password"} in si["supported_first_factors"]
    tok = r.token
    path = "%s/%s/attempt_first_factor" % (SIGN_INS, si["id"])
    bad = emu.fapi("POST", path, form={"strategy": "password", "password": "nope"}, token=tok)
    assert bad.status == 422 and err(bad)["code"] == "form_password_incorrect"
    ok = emu.fapi("POST", path, form={"strategy": "password", "password": "correct horse"},
                  token=tok)
    assert ok.status == 200
    assert ok.json()["response"]["status"] == "complete"
    assert session_of(ok.json())["user"]["id"] == "user_alice"
    # a sign-in of another client is not found
    other = emu.fapi("POST", path, form={"strategy": "password", "password": "correct horse"})
    assert other.status == 404 and err(other)["code"] == "resource_not_found"


def test_needs_identifier(emu):
    r = emu.fapi("POST", SIGN_INS, form={})
    assert r.status == 200 and r.json()["response"]["status"] == "needs_identifier"


def test_other_strategies_rejected(emu):
    r = emu.fapi("POST", SIGN_INS, form={"strategy": "email_code", "identifier": "alice"})
    assert r.status == 422 and err(r)["code"] == "form_param_value_invalid"


def test_json_body_rejected(emu):
    r = emu.fapi("POST", SIGN_INS, body=b'{"strategy":"password"}',
                 headers={"Content-Type": "application/json"})
    assert r.status == 415 and err(r)["code"] == "unsupported_content_type"


def test_unknown_route_is_not_found(emu):
    r = emu.fapi("GET", "/v1/nothing/here")
    assert r.status == 404 and err(r)["code"] == "resource_not_found"


# ---- native mode, client token, API version -------------------------------------------------
def test_without_is_native_or_origin(emu):
    r = emu.fapi("GET", "/v1/client", native=False)
    assert r.status == 400 and err(r)["code"] == "request_header_missing"
    assert r.token is None


@pytest.mark.parametrize("native", [True, False])
def test_origin_with_authorization_conflicts(emu, native):
    r = emu.fapi("GET", "/v1/client", native=native, headers={"Origin": "https://example.com"})
    assert r.status == 400 and err(r)["code"] == "origin_authorization_headers_conflict"


def test_native_without_authorization_header(emu):
    r = emu.fapi("GET", "/v1/client", token=None)
    assert r.status == 400 and err(r)["code"] == "request_header_missing"
    assert "Authorization" in err(r)["long_message"]


def test_is_native_true_accepted(emu):
    r = emu.fapi("GET", "/v1/client", native=False, query={"_is_native": "true"})
    assert r.status == 200 and r.token


def test_client_token_issued_and_accepted_back(emu):
    first = emu.fapi("GET", "/v1/client")
    assert first.status == 200 and first.token
    cid = first.json()["response"]["id"]
    signed = emu.sign_in("alice", "correct horse", token=first.token)
    assert signed.status == 200 and signed.json()["client"]["id"] == cid
    tok = signed.token                  # may have rotated: always keep the newest
    again = emu.fapi("GET", "/v1/client", token=tok)
    assert again.status == 200
    c = again.json()["response"]
    assert c["id"] == cid
    assert [s["id"] for s in c["sessions"]] == [signed.json()["response"]["created_session_id"]]
    assert again.token == tok
    # a fresh empty token makes a different client
    assert emu.fapi("GET", "/v1/client").json()["response"]["id"] != cid


def test_unknown_token_rejected(emu):
    r = emu.fapi("GET", "/v1/client", token="eyJhbGciOiJIUzI1NiJ9.eyJpZCI6ImNsaWVudF94In0.AAAA")
    assert r.status == 401 and err(r)["code"] == "authentication_invalid"
    tok = emu.fapi("GET", "/v1/client").token
    emu.reset()                         # clients are gone after a reset
    r = emu.fapi("GET", "/v1/client", token=tok)
    assert r.status == 401 and err(r)["code"] == "authentication_invalid"


def test_identifier_already_signed_in(emu):
    r = emu.sign_in("alice", "correct horse")
    sid = r.json()["response"]["created_session_id"]
    tok = r.token
    for password in ("correct horse", "wrong password"):
        again = emu.sign_in("alice@way.cloud", password, token=tok)
        assert again.status == 400
        e = err(again)
        assert e["code"] == "identifier_already_signed_in" and e["meta"]["session_id"] == sid
    # another user on the same client is fine; after removing sessions alice can sign in again
    assert emu.sign_in("bob", "battery staple", token=tok).status == 200
    assert emu.fapi("DELETE", "/v1/client/sessions", token=tok).status == 200
    assert emu.sign_in("alice", "correct horse", token=tok).status == 200


@pytest.mark.parametrize("how", ["header", "query"])
def test_api_version_known_values_accepted(emu, how):
    from fapi import API_VERSIONS
    assert "2026-05-12" in API_VERSIONS and len(API_VERSIONS) == 5
    for v in API_VERSIONS:
        if how == "header":
            r = emu.fapi("GET", "/v1/client", api_version=v)
        else:
            r = emu.fapi("GET", "/v1/client", api_version=None, query={"__clerk_api_version": v})
        assert r.status == 200, v


def test_api_version_unknown_rejected(emu):
    r = emu.fapi("GET", "/v1/client", api_version="2099-01-01")
    assert r.status == 400 and err(r)["code"] == "api_version_invalid"
    r = emu.fapi("GET", "/v1/client", api_version=None, query={"__clerk_api_version": "latest"})
    assert r.status == 400 and err(r)["code"] == "api_version_invalid"


def test_api_version_header_and_query_together_rejected(emu):
    r = emu.fapi("GET", "/v1/client", api_version="2026-05-12",
                 query={"__clerk_api_version": "2026-05-12"})
    assert r.status == 400 and err(r)["code"] == "api_version_invalid"


def test_api_version_may_be_omitted(emu):
    assert emu.fapi("GET", "/v1/client", api_version=None).status == 200


# ---- sessions and tokens --------------------------------------------------------------------
def test_tokens_touch_end_remove(emu):
    r = emu.sign_in("alice", "correct horse")
    tok, sid = r.token, r.json()["response"]["created_session_id"]
    base = "/v1/client/sessions/" + sid
    t = emu.fapi("POST", base + "/tokens", form={}, token=tok)
    assert t.status == 200 and t.json()["object"] == "token"
    _, claims = verify_jwt(emu, t.json()["jwt"])
    assert claims["sid"] == sid and claims["o"]["id"] == "org_way"
    personal = emu.fapi("POST", base + "/tokens", form={"organization_id": ""}, token=tok)
    assert "o" not in verify_jwt(emu, personal.json()["jwt"])[1]
    bad_org = emu.fapi("POST", base + "/tokens", form={"organization_id": "org_other"}, token=tok)
    assert bad_org.status == 404
    tmpl = emu.fapi("POST", base + "/tokens/pam", token=tok)
    header, _ = verify_jwt(emu, tmpl.json()["jwt"])
    assert header["cat"] == "cl_B7d4PD222AAA"

    touched = emu.fapi("POST", base + "/touch", form={"active_organization_id": ""}, token=tok)
    assert touched.status == 200
    assert touched.json()["response"]["last_active_organization_id"] is None
    assert "o" not in verify_jwt(emu, touched.json()["response"]["last_active_token"]["jwt"])[1]
    touched = emu.fapi("POST", base + "/touch",
                       form={"active_organization_id": "way", "intent": "select_org"}, token=tok)
    assert touched.json()["response"]["last_active_organization_id"] == "org_way"
    bad_intent = emu.fapi("POST", base + "/touch", form={"intent": "nap"}, token=tok)
    assert bad_intent.status == 422

    got = emu.fapi("GET", base, token=tok)
    assert got.status == 200 and got.json()["response"]["id"] == sid

    ended = emu.fapi("POST", base + "/end", token=tok)
    assert ended.status == 200 and ended.json()["response"]["status"] == "ended"
    assert ended.json()["client"]["sessions"] == []
    assert ended.json()["client"]["last_active_session_id"] is None
    after = emu.fapi("POST", base + "/tokens", token=tok)
    assert after.status == 401 and err(after)["code"] == "signed_out"
    removed = emu.fapi("POST", base + "/remove", token=tok)
    assert removed.status == 200 and removed.json()["response"]["status"] == "removed"
    gone = emu.fapi("POST", base + "/tokens", token=tok)
    assert gone.status == 404 and err(gone)["code"] == "resource_not_found"


def test_sessions_of_other_clients_not_found(emu):
    sid = emu.sign_in("alice", "correct horse").json()["response"]["created_session_id"]
    r = emu.fapi("POST", "/v1/client/sessions/%s/tokens" % sid)   # fresh client
    assert r.status == 404 and err(r)["code"] == "resource_not_found"


def test_delete_sessions_keeps_client(emu):
    r = emu.sign_in("alice", "correct horse")
    tok = r.token
    d = emu.fapi("DELETE", "/v1/client/sessions", token=tok)
    assert d.status == 200
    assert d.json()["response"]["sessions"] == []
    assert d.json()["response"]["id"] == r.json()["client"]["id"]
    assert emu.fapi("GET", "/v1/client", token=tok).json()["response"]["sessions"] == []


# ---- rate limit, dev instance ---------------------------------------------------------------
def test_rate_limit_with_retry_after(limited_emu):
    emu = limited_emu                                     # --rate-limit 4
    for _ in range(4):
        assert emu.sign_in("nobody", "nope").status == 422
    r = emu.sign_in("alice", "correct horse")
    assert r.status == 429 and err(r)["code"] == "too_many_requests"
    assert 1 <= int(r.headers["Retry-After"]) <= 10
    # other endpoints are not limited
    assert emu.fapi("GET", "/v1/client").status == 200


def test_dev_instance_handshake(dev_emu):
    emu = dev_emu
    r = emu.fapi("GET", "/v1/client")
    assert r.status == 401 and err(r)["code"] == "dev_browser_unauthenticated"
    db = emu.fapi("POST", "/v1/dev_browser", token=None, native=False)
    assert db.status == 200
    body = db.json()
    assert body["object"] == "dev_browser" and body["id"]
    assert db.headers["Clerk-Db-Jwt"] == body["id"]
    q = {"__clerk_db_jwt": body["id"]}
    ok = emu.sign_in("alice", "correct horse", query=q)
    assert ok.status == 200 and ok.json()["response"]["status"] == "complete"
    bad = emu.sign_in("alice", "correct horse", query={"__clerk_db_jwt": "forged"})
    assert bad.status == 401 and err(bad)["code"] == "dev_browser_unauthenticated"
    # JWKS stays public
    assert emu.fapi("GET", "/.well-known/jwks.json", token=None, native=False).status == 200
    recs = emu.requests()
    assert body["id"] not in json.dumps(recs)
    assert recs[-3]["query"]["__clerk_db_jwt"] == "<redacted:%d>" % len(body["id"])


def test_dev_browser_absent_on_production_instance(emu):
    assert emu.fapi("POST", "/v1/dev_browser", token=None, native=False).status == 404


# ---- request log ----------------------------------------------------------------------------
def test_request_log_redacts_secrets(emu):
    r = emu.sign_in("alice", "correct horse")
    tok = r.token
    jwt = session_of(r.json())["last_active_token"]["jwt"]
    emu.fapi("GET", "/v1/client", token=tok)
    emu.sign_in("bob", "battery staple", token=tok)
    emu.fault("delay", count=1, seconds=0)   # control requests are not recorded
    recs = emu.requests()
    assert len(recs) == 3
    with open(os.path.join(emu.state_dir, "requests.jsonl")) as f:
        lines = [json.loads(line) for line in f]
    assert lines == recs
    text = json.dumps(recs)
    with open(os.path.join(emu.state_dir, "emulator.stderr.log")) as f:
        text += f.read()
    for secret in ("correct horse", "battery staple", tok, jwt, jwt.split(".")[2]):
        assert secret not in text
    first = recs[0]
    assert first["method"] == "POST" and first["path"] == SIGN_INS
    assert first["form"] == {"strategy": "password", "identifier": "alice",
                             "password": "<redacted:13>"}
    assert first["authorization"] == {"present": True, "empty": True, "sha256_12": None}
    assert "authorization" not in first["headers"]
    assert first["headers"]["clerk-api-version"] == "2026-05-12"
    assert first["query"] == {"_is_native": "1"}
    assert first["status"] == 200 and first["sign_in_status"] == "complete"
    assert first["clerk_error"] is None and first["listener"] == "main"
    second = recs[1]
    assert second["authorization"]["present"] and not second["authorization"]["empty"]
    assert second["authorization"]["sha256_12"] == hashlib.sha256(tok.encode()).hexdigest()[:12]
    emu.sign_in("alice", "nope")
    assert emu.requests()[-1]["clerk_error"] == "form_password_incorrect"
    emu.reset()
    assert emu.requests() == []
    assert os.path.getsize(os.path.join(emu.state_dir, "requests.jsonl")) == 0


# ---- control API ----------------------------------------------------------------------------
def test_add_and_replace_user(emu):
    u = {"id": "user_carol", "identifiers": ["carol@way.cloud"], "password": "pw one"}
    emu.add_user(u)
    assert emu.sign_in("carol@way.cloud", "pw one").status == 200
    emu.add_user(dict(u, password="pw two", after_password="needs_second_factor"))
    r = emu.sign_in("carol@way.cloud", "pw two")
    assert r.json()["response"]["status"] == "needs_second_factor"
    emu.reset()
    assert err(emu.sign_in("carol@way.cloud", "pw two"))["code"] == "form_identifier_not_found"


def test_control_rejects_bad_input(emu):
    with pytest.raises(EmulatorError):
        emu.fault("no_such_fault")
    with pytest.raises(EmulatorError):
        emu.fault("error_code")                 # needs code
    with pytest.raises(EmulatorError):
        emu.fault("delay", count=0)
    with pytest.raises(EmulatorError):
        emu.add_user({"id": "bad"})
    with pytest.raises(EmulatorError):          # identifier already used by alice
        emu.add_user({"id": "user_dup", "identifiers": ["alice"], "password": "x"})
    assert emu.faults() == []


def test_control_api_also_on_main_port(emu):
    import http.client
    conn = http.client.HTTPSConnection("127.0.0.1", port(emu.url), context=emu.ssl_context(),
                                       timeout=5)
    conn.request("GET", "/__emulator/requests")
    resp = conn.getresponse()
    assert resp.status == 200 and json.loads(resp.read()) == []
    conn.close()


# ---- faults ---------------------------------------------------------------------------------
def test_fault_count_path_and_clear(emu):
    emu.fault("status", count=2, path="/v1/client/sessions", http_status=503)
    assert emu.fapi("GET", "/v1/client").status == 200          # other path: untouched
    assert emu.fapi("DELETE", "/v1/client/sessions").status == 503
    assert emu.fapi("DELETE", "/v1/client/sessions").status == 503
    assert emu.fapi("DELETE", "/v1/client/sessions").status == 200  # count used up
    emu.fault("status", http_status=502)                           # until cleared
    for _ in range(3):
        assert emu.fapi("GET", "/v1/client").status == 502
    emu.clear_faults()
    assert emu.fapi("GET", "/v1/client").status == 200
    assert [r["fault"] for r in emu.requests()] == [None, "status", "status", None,
                                                   "status", "status", "status", None]


def test_fault_first_match_wins(emu):
    emu.fault("unexpected_status", count=1, http_status=409)
    emu.fault("unexpected_status", count=1)
    assert emu.fapi("GET", "/v1/client").status == 409
    assert emu.fapi("GET", "/v1/client").status == 418
    assert emu.fapi("GET", "/v1/client").status == 200


def test_fault_delay(emu):
    emu.fault("delay", count=1, seconds=0.4)
    r = emu.sign_in("alice", "correct horse")
    assert r.status == 200 and r.elapsed >= 0.4
    assert emu.faults() == [] and emu.requests()[-1]["fault"] == "delay"


def test_fault_hang(emu):
    emu.fault("hang", count=1)
    with pytest.raises((socket.timeout, TimeoutError)):
        emu.sign_in("alice", "correct horse", timeout=0.5)
    rec = emu.requests()[-1]
    assert rec["fault"] == "hang" and rec["status"] is None
    assert emu.sign_in("alice", "correct horse").status == 200   # nothing was processed


def test_fault_hang_tls_keeps_control_reachable(emu):
    emu.fault("hang_tls")                                    # until cleared
    t0 = time.monotonic()
    with pytest.raises((socket.timeout, TimeoutError)):
        tls_connect(emu.url, timeout=0.5, ca=emu.ca_file)
    assert time.monotonic() - t0 < 3
    assert emu.faults()[0]["fault"] == "hang_tls"            # control listener still answers
    emu.clear_faults()
    assert emu.fapi("GET", "/v1/client").status == 200
    assert emu.requests()[-1]["fault"] is None


def test_fault_hang_after_headers(emu):
    emu.fault("hang_after_headers", count=1)
    s = tls_connect(emu.url, timeout=0.7, ca=emu.ca_file)
    s.sendall(REQUEST_TEMPLATE.encode())
    data, exc = read_all(s)
    s.close()
    assert isinstance(exc, (socket.timeout, TimeoutError))
    status, headers, body = split_response(data)
    assert status == 200 and int(headers["content-length"]) > 100 and body == b""


def test_fault_drip(emu):
    emu.fault("drip", count=1, interval=0.002)
    s = tls_connect(emu.url, timeout=5, ca=emu.ca_file)
    s.sendall(REQUEST_TEMPLATE.replace("/v1/client?_is_native=1", "/.well-known/jwks.json")
              .encode())
    t0 = time.monotonic()
    chunks = []
    while True:
        c = s.recv(65536)
        if not c:
            break
        chunks.append(c)
    elapsed = time.monotonic() - t0
    s.close()
    data = b"".join(chunks)
    status, headers, body = split_response(data)
    assert status == 200 and len(body) == int(headers["content-length"])
    assert json.loads(body)["keys"]
    assert len(chunks) > len(data) // 4          # arrived in many tiny pieces
    assert elapsed >= len(data) * 0.002 * 0.9


def test_fault_reset(emu):
    data, exc = tls_exchange(emu, REQUEST_TEMPLATE.encode())
    assert exc is None and split_response(data)[0] == 200     # a normal answer ends cleanly
    emu.fault("reset", count=1)
    data, exc = tls_exchange(emu, REQUEST_TEMPLATE.encode())
    assert data == b"" and isinstance(exc, ConnectionResetError)
    assert emu.requests()[-1]["fault"] == "reset"


def test_fault_reset_mid_body(emu):
    emu.fault("reset_mid_body", count=1)
    data, exc = tls_exchange(emu, REQUEST_TEMPLATE.encode())
    status, headers, body = split_response(data)
    assert status == 200
    assert 0 < len(body) < int(headers["content-length"])
    assert isinstance(exc, ConnectionResetError)


def test_fault_status(emu):
    emu.fault("status", count=1, http_status=503, body="maintenance")
    r = emu.fapi("GET", "/v1/client")
    assert r.status == 503 and r.body == b"maintenance" and r.token is None
    emu.fault("status", count=1)                             # default 500: Clerk envelope
    r = emu.fapi("GET", "/v1/client")
    assert r.status == 500 and err(r)["code"] == "internal_clerk_error"


def test_fault_rate_limit(emu):
    emu.fault("rate_limit", count=1, retry_after=7)
    r = emu.sign_in("alice", "correct horse")
    assert r.status == 429 and err(r)["code"] == "too_many_requests"
    assert r.headers["Retry-After"] == "7"
    emu.fault("rate_limit", count=1)
    r = emu.sign_in("alice", "correct horse")
    assert r.status == 429 and r.headers.get("Retry-After") is None
    assert emu.sign_in("alice", "correct horse").status == 200


def test_fault_truncated_json(emu):
    emu.fault("truncated_json", count=1)
    r = emu.sign_in("alice", "correct horse")
    assert r.status == 200 and int(r.headers["Content-Length"]) == len(r.body)
    assert r.body.startswith(b'{"response":')
    with pytest.raises(ValueError):
        json.loads(r.body)


def test_fault_malformed_json(emu):
    emu.fault("malformed_json", count=1)
    r = emu.sign_in("alice", "correct horse")
    assert r.status == 200 and r.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        json.loads(r.body)


def test_fault_wrong_types(emu):
    emu.fault("wrong_types", count=1)
    r = emu.sign_in("alice", "correct horse")
    body = r.json()
    assert r.status == 200 and body["client"] == "x" and body["response"]["status"] == 7


def test_fault_oversized(emu):
    emu.fault("oversized", count=1, bytes=300000)
    r = emu.sign_in("alice", "correct horse")
    assert r.status == 200 and len(r.body) == 300000 == int(r.headers["Content-Length"])
    assert r.body.startswith(b'{"response":')
    emu.fault("oversized", count=1)                        # default 8 MiB: read the head only
    s = tls_connect(emu.url, timeout=3, ca=emu.ca_file)
    s.sendall(REQUEST_TEMPLATE.encode())
    data, _ = read_all(s, limit=4096)
    s.close()
    assert split_response(data)[1]["content-length"] == str(8 * 1024 * 1024)


def test_fault_redirect(emu):
    emu.fault("redirect", count=1)
    r = emu.fapi("GET", "/v1/client")
    assert r.status == 302
    assert r.headers["Location"] == emu.url + "/v1/client?_is_native=1"
    emu.fault("redirect", count=1, location="https://evil.invalid/x", status=307)
    r = emu.fapi("GET", "/v1/client")
    assert r.status == 307 and r.headers["Location"] == "https://evil.invalid/x"


def test_fault_unexpected_status(emu):
    emu.fault("unexpected_status", count=1)
    r = emu.fapi("GET", "/v1/client")
    assert r.status == 418 and r.body and r.token is None
    emu.fault("unexpected_status", count=1, http_status=204)    # no body, no Content-Length
    data, exc = tls_exchange(emu, REQUEST_TEMPLATE.encode())
    status, headers, body = split_response(data)
    assert exc is None and status == 204 and body == b"" and "content-length" not in headers


@pytest.mark.parametrize("code,status", [("native_api_disabled", 400), ("host_invalid", 400),
                                         ("user_banned", 403), ("session_exists", 400)])
def test_fault_error_code(emu, code, status):
    emu.fault("error_code", count=1, code=code)
    r = emu.sign_in("alice", "correct horse")
    assert r.status == status and err(r)["code"] == code


def test_fault_error_code_with_hostile_strings(emu):
    emu.fault("error_code", count=1, code="form_password_incorrect", message="m\x07",
              long_message="evil\n\x1b[31mFAKE", trace_id="t\nx", meta={"param_name": "p"})
    r = emu.sign_in("alice", "correct horse")
    body = r.json()
    assert r.status == 422
    assert body["errors"][0] == {"code": "form_password_incorrect", "message": "m\x07",
                                 "long_message": "evil\n\x1b[31mFAKE",
                                 "meta": {"param_name": "p"}}
    assert body["clerk_trace_id"] == "t\nx"
    assert "\n" not in r.headers["X-Clerk-Trace-Id"]


def test_fault_error_code_from_catalogue(emu):
    shared_file("clerk", "api_errors.json")
    emu.fault("error_code", count=1, code="verification_code_too_many_requests")
    r = emu.sign_in("alice", "correct horse")
    assert r.status == 429 and err(r)["code"] == "verification_code_too_many_requests"
    emu.fault("error_code", count=1, code="passkey_quota_exceeded_whatever", http_status=409)
    assert emu.sign_in("alice", "correct horse").status == 409


def test_fault_sign_in_status(emu):
    emu.fault("sign_in_status", count=1, status="needs_second_factor")
    assert emu.fapi("GET", "/v1/client").status == 200        # not a sign-in: not consumed
    r = emu.sign_in("alice", "correct horse")
    si = r.json()["response"]
    assert si["status"] == "needs_second_factor"
    assert si["created_session_id"]                            # complete semantics otherwise
    assert emu.requests()[-1]["sign_in_status"] == "needs_second_factor"
    assert emu.sign_in("bob", "battery staple").json()["response"]["status"] == "complete"


def test_fault_no_client_token(emu):
    emu.fault("no_client_token", count=1)
    r = emu.sign_in("alice", "correct horse")
    assert r.status == 200 and r.token is None and r.json()["response"]["status"] == "complete"


def test_fault_empty_body_200(emu):
    emu.fault("empty_body_200", count=1)
    r = emu.sign_in("alice", "wrong")
    assert r.status == 200 and r.body == b"" and r.headers["Content-Length"] == "0"


WIRE_FORM = "strategy=password&identifier=alice&password=correct+horse"
SIGN_IN_REQUEST = ("POST /v1/client/sign_ins?_is_native=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Authorization: \r\nContent-Type: application/x-www-form-urlencoded\r\n"
                   "Content-Length: %d\r\n\r\n%s" % (len(WIRE_FORM), WIRE_FORM)).encode()


def decode_wire(data):
    """A plain reference reader: skips 1xx heads, then reads by chunked, Content-Length or
    to the close. Returns (status, headers, body, what follows the body)."""
    status = 100
    while status < 200:
        head, _, data = data.partition(b"\r\n\r\n")
        status, headers, _ = split_response(head)
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            line, _, data = data.partition(b"\r\n")
            n = int(line.split(b";")[0], 16)
            if n == 0:
                return status, headers, body, data
            body, data = body + data[:n], data[n + 2:]
    n = int(headers.get("content-length", len(data)))
    return status, headers, data[:n], data[n:]


def wire_exchange(emu, kind):
    """A real sign-in answered in the framing `kind`: the raw answer, after a clean close."""
    emu.fault("wire", count=1, path=SIGN_INS, kind=kind)
    data, exc = tls_exchange(emu, SIGN_IN_REQUEST)
    assert exc is None and emu.faults() == []
    rec = emu.requests()[-1]
    assert (rec["fault"], rec["status"], rec["sign_in_status"]) == ("wire", 200, "complete")
    return data


def test_fault_wire_kind_is_checked(emu):
    with pytest.raises(EmulatorError, match="needs parameter 'kind'"):
        emu.fault("wire")
    with pytest.raises(EmulatorError, match="kind must be one of chunked, close_delimited"):
        emu.fault("wire", kind="spdy")
    assert set(WIRE_MARKS) | set(WIRE_CHECKS) == set(faults.WIRE_KINDS)


WIRE_MARKS = {"chunked": b"\r\n11;foo=bar\r\n", "close_delimited": b"",
              "continue_first": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n",
              "tiny_writes": b"", "header_variants": b"\r\naUtHoRiZaTiOn:  \t ey",
              "garbage_after_answer": b"}HTTP/1.1 200 OK\r\nAuthorization: injected\r\n"}


@pytest.mark.parametrize("kind", list(WIRE_MARKS))
def test_fault_wire_valid_framings(emu, kind):
    data = wire_exchange(emu, kind)
    status, headers, body, rest = decode_wire(data)
    assert WIRE_MARKS[kind] in data and status == 200
    assert json.loads(body)["response"]["status"] == "complete"
    assert emu.fapi("GET", "/v1/client", token=headers["authorization"]).status == 200
    if kind == "chunked":
        assert "content-length" not in headers and rest == b"X-Emu-Trailer: done\r\n\r\n"
    if kind == "close_delimited":
        assert "content-length" not in headers and "transfer-encoding" not in headers
    if kind == "header_variants":
        assert len(headers) > 200 and len(headers["x-emu-long"]) == 4096


def last_chunk_short(data):
    head, tail = data.rsplit(b"\r\n", 1)
    return int(head.rsplit(b"\r\n", 1)[1], 16) > len(tail)


def head_of(data):
    return data.partition(b"\r\n\r\n")[0]


WIRE_CHECKS = {
    "duplicate_content_length": lambda d: len(set(re.findall(rb"\r\nContent-Length: (\d+)",
                                                             head_of(d)))) == 2,
    "content_length_and_chunked": lambda d: b"\r\nContent-Length: " in head_of(d)
    and b"\r\nTransfer-Encoding: chunked" in head_of(d),
    "bad_chunk_size": lambda d: b"\r\nzz\r\n" in d,
    "huge_chunk_size": lambda d: b"\r\n\r\nffffffffffffffffff\r\n{" in d,
    "truncated_chunked": last_chunk_short,
    "short_content_length_close": lambda d: int(split_response(d)[1]["content-length"])
    == len(split_response(d)[2]) + 100,
    "bad_status_line": lambda d: d.startswith(b"HTTP/1.1 2OO OK\r\n"),
    "bad_protocol_name": lambda d: d.startswith(b"HTTZ/1.1 200 OK\r\n"),
    "http09": lambda d: d.startswith(b'{"response":') and d.endswith(b"}"),
    "nul_in_header": lambda d: re.search(rb"\r\nAuthorization: ey[^\r\n]+\x00", d),
    "bare_lf_in_header_value": lambda d: re.search(rb"ey[^\r\n]+\nAuthorization: injected-", d),
    "cr_in_header_value": lambda d: re.search(rb"ey[^\r\n]+\rAuthorization: injected-", d),
    "obs_fold": lambda d: re.search(rb"\r\nAuthorization: ey\S+\r\n \S+\r\n", d),
    "switching_protocols": lambda d: d.startswith(b"HTTP/1.1 101 Switching Protocols\r\n"),
    "headers_too_big": lambda d: len(head_of(d)) > 70000,
    "body_too_big_chunked": lambda d: len(decode_wire(d)[2]) == 24 + 2 * 1024 * 1024,
}


@pytest.mark.parametrize("kind", list(WIRE_CHECKS))
def test_fault_wire_broken_framings(emu, kind):
    assert WIRE_CHECKS[kind](wire_exchange(emu, kind))


# ---- load -----------------------------------------------------------------------------------
def test_concurrent_logins(emu):
    results = []

    def one(i):
        r = emu.sign_in("alice", "correct horse")
        results.append((r.status, verify_jwt(emu, session_of(r.json())["last_active_token"]
                                             ["jwt"])[1]["sub"]))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [(200, "user_alice")] * 32


# ---- error table against the catalogue ------------------------------------------------------
def test_error_table_matches_catalogue():
    catalogue = json.loads(shared_file("clerk", "api_errors.json").read_text())
    by_name = {e["name"]: e for e in catalogue}
    for code, (name, status, message, long_message) in errors.TABLE.items():
        assert name in by_name, "%s: no catalogue entry named %s" % (code, name)
        entry = by_name[name]
        assert entry["code"] == code, name
        assert int(entry["status"]) == status, (code, entry["status"], status)
        assert message and long_message
