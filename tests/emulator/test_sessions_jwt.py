"""Organizations, session tokens (v1/v2 claims, templates, clock offset), JWT faults, JWKS
rotation and session bookkeeping, over real HTTPS; JWTs are verified with
python3-cryptography against the JWKS."""
import hashlib
import hmac
import json
import os
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

import jwtcheck
from control import EmulatorError
from jwtcheck import JwtError, decode

SESSIONS = "/v1/client/sessions/"
SESSION_CAT, TEMPLATE_CAT = "cl_B7d4PD111AAA", "cl_B7d4PD222AAA"


# ---- helpers ---------------------------------------------------------------------------------
def jwks(emu):
    r = emu.fapi("GET", "/.well-known/jwks.json", token=None, native=False, api_version=None)
    assert r.status == 200
    return r.json()


def check(emu, jwt, **kw):
    return jwtcheck.verify(jwt, jwks(emu), emu.url, **kw)


def signed_in(emu, ident="alice", password="correct horse"):
    """(client token, session id, the sign-in's JWT)."""
    r = emu.sign_in(ident, password)
    assert r.status == 200, r
    body = r.json()
    sid = body["response"]["created_session_id"]
    sess = next(s for s in body["client"]["sessions"] if s["id"] == sid)
    return r.token, sid, sess["last_active_token"]["jwt"]


def token(emu, tok, sid, **kw):
    r = emu.session_token(sid, tok, **kw)
    assert r.status == 200, r
    assert set(r.json()) == {"object", "jwt"} and r.json()["object"] == "token"
    return r.json()["jwt"]


def error_code(r):
    body = r.json()
    assert body["clerk_trace_id"] == r.headers["X-Clerk-Trace-Id"]
    return body["errors"][0]["code"]


# ---- organizations ---------------------------------------------------------------------------
def test_user_organizations_in_fapi_answers(emu):
    r = emu.sign_in("alice", "correct horse")
    sess = r.json()["client"]["sessions"][0]
    assert sess["last_active_organization_id"] == "org_way"      # the first membership
    mems = sess["user"]["organization_memberships"]
    assert [(m["organization"]["id"], m["organization"]["slug"], m["role"]) for m in mems] == [
        ("org_way", "way", "org:admin"), ("org_ops", "ops", "org:admin"),
        ("org_dev", "dev", "org:member")]
    assert mems[2]["organization"]["name"] == "Dev"
    assert mems[2]["organization"]["members_count"] == 2         # alice and auditor-user
    # a member whose sessions start on the personal account (default_organization null)
    r = emu.sign_in("ileap-demo@way.cloud", "HelloPrimaryData")
    sess = r.json()["client"]["sessions"][0]
    assert sess["last_active_organization_id"] is None
    assert [m["organization"]["id"] for m in sess["user"]["organization_memberships"]] == \
        ["org_ileap"]
    r = emu.sign_in("bob", "battery staple")
    sess = r.json()["client"]["sessions"][0]
    assert sess["last_active_organization_id"] is None
    assert sess["user"]["organization_memberships"] == []


def test_tokens_organization_id_by_id_slug_absent_empty(emu):
    tok, sid, jwt = signed_in(emu)
    assert check(emu, jwt, sid=sid)[1]["o"] == {"id": "org_way", "slg": "way", "rol": "admin"}
    _, c = check(emu, token(emu, tok, sid, organization_id="ops"))
    assert c["o"] == {"id": "org_ops", "slg": "ops", "rol": "admin"}
    _, c = check(emu, token(emu, tok, sid, organization_id="org_dev"))
    assert c["o"] == {"id": "org_dev", "slg": "dev", "rol": "member"}
    _, c = check(emu, token(emu, tok, sid, organization_id=""))
    assert "o" not in c and c["v"] == 2
    # the parameter does not switch the session: absent is still the active org
    _, c = check(emu, token(emu, tok, sid))
    assert c["o"]["id"] == "org_way"
    assert emu.sessions(user_id="user_alice")[0]["active_organization_id"] == "org_way"


@pytest.mark.parametrize("org", ["org_ileap", "ileap", "org_nope", "ORG_OPS"])
def test_tokens_for_a_non_member_org_not_found(emu, org):
    tok, sid, _ = signed_in(emu)
    r = emu.session_token(sid, tok, organization_id=org)
    assert r.status == 404 and error_code(r) == "resource_not_found"
    assert org in r.json()["errors"][0]["long_message"]


def test_member_with_personal_default_gets_org_token_on_request(emu):
    tok, sid, jwt = signed_in(emu, "ileap-demo@way.cloud", "HelloPrimaryData")
    assert "o" not in check(emu, jwt)[1]
    _, c = check(emu, token(emu, tok, sid, organization_id="ileap"))
    assert c["o"] == {"id": "org_ileap", "slg": "ileap", "rol": "member"}


def test_custom_role(emu):
    tok, sid, jwt = signed_in(emu, "auditor-user", "auditor password")
    assert check(emu, jwt)[1]["o"] == {"id": "org_dev", "slg": "dev", "rol": "auditor"}


def test_touch_switches_the_active_org(emu):
    tok, sid, _ = signed_in(emu)
    t = emu.fapi("POST", SESSIONS + sid + "/touch",
                 form={"active_organization_id": "dev", "intent": "select_org"}, token=tok)
    assert t.status == 200
    body = t.json()
    assert body["response"]["id"] == sid and body["client"]["id"]
    assert body["response"]["last_active_organization_id"] == "org_dev"
    _, c = check(emu, body["response"]["last_active_token"]["jwt"], sid=sid)
    assert c["o"] == {"id": "org_dev", "slg": "dev", "rol": "member"}
    assert check(emu, token(emu, tok, sid))[1]["o"]["id"] == "org_dev"   # absent = active
    assert emu.sessions()[0]["active_organization_id"] == "org_dev"
    assert emu.sessions()[0]["active_organization_slug"] == "dev"
    # not a member: 404, the active org is unchanged
    bad = emu.fapi("POST", SESSIONS + sid + "/touch",
                   form={"active_organization_id": "org_ileap"}, token=tok)
    assert bad.status == 404 and error_code(bad) == "resource_not_found"
    assert emu.sessions()[0]["active_organization_id"] == "org_dev"
    # empty = personal account
    t = emu.fapi("POST", SESSIONS + sid + "/touch", form={"active_organization_id": ""},
                 token=tok)
    assert t.json()["response"]["last_active_organization_id"] is None
    assert "o" not in check(emu, token(emu, tok, sid))[1]


def test_single_organization_field_and_default_organization(emu):
    emu.add_user({"id": "user_legacy", "identifiers": ["legacy-user"], "password": "pw",
                  "organization": {"id": "org_x", "slug": "x", "role": "org:admin"}})
    _, _, jwt = signed_in(emu, "legacy-user", "pw")
    assert check(emu, jwt)[1]["o"] == {"id": "org_x", "slg": "x", "rol": "admin"}
    emu.add_user({"id": "user_multi", "identifiers": ["multi-user"], "password": "pw",
                  "organizations": [{"id": "org_a", "slug": "a", "role": "member"},
                                    {"id": "org_b", "slug": "b", "role": "admin"}],
                  "default_organization": "b"})
    _, _, jwt = signed_in(emu, "multi-user", "pw")
    assert check(emu, jwt)[1]["o"] == {"id": "org_b", "slg": "b", "rol": "admin"}


@pytest.mark.parametrize("bad", [
    {"organizations": [{"id": "org_a", "slug": "a"}]},                       # no role
    {"organizations": {"id": "org_a", "slug": "a", "role": "member"}},       # not a list
    {"organizations": [{"id": "org_a", "slug": "a", "role": "member"},
                       {"id": "org_b", "slug": "a", "role": "member"}]},     # same slug
    {"organizations": [{"id": "org_a", "slug": "a", "role": "member"}],
     "default_organization": "org_b"},                                       # not a member
])
def test_bad_organizations_rejected(emu, bad):
    with pytest.raises(EmulatorError):
        emu.add_user(dict(bad, id="user_bad", identifiers=["bad-user"], password="pw"))


# ---- claims: v2 default, v1 option, clock offset ---------------------------------------------
def test_v2_claims_and_header(emu):
    tok, sid, _ = signed_in(emu)
    before = int(time.time())
    header, c = check(emu, token(emu, tok, sid), sid=sid, sub="user_alice")
    assert header == {"alg": "RS256", "cat": SESSION_CAT, "kid": emu.jwt_kid, "typ": "JWT"}
    assert set(c) == {"iss", "sub", "sid", "iat", "nbf", "exp", "jti", "v", "fva", "o"}
    assert c["iss"] == emu.url and c["v"] == 2 and c["fva"] == [0, -1]
    assert c["nbf"] == c["iat"] - 10 and c["exp"] == c["iat"] + 60
    assert before - 1 <= c["iat"] <= time.time() + 1
    assert c["jti"] != check(emu, token(emu, tok, sid))[1]["jti"]


def test_v1_claims(v1_emu):
    emu = v1_emu
    assert emu.ready["jwt_claims"] == "v1"
    tok, sid, jwt = signed_in(emu)
    _, c = check(emu, jwt, sid=sid, sub="user_alice")
    assert "o" not in c and "v" not in c
    assert (c["org_id"], c["org_slug"], c["org_role"]) == ("org_way", "way", "org:admin")
    assert "org:sys_memberships:manage" in c["org_permissions"]
    _, c = check(emu, token(emu, tok, sid, organization_id="dev"))
    assert (c["org_id"], c["org_slug"], c["org_role"]) == ("org_dev", "dev", "org:member")
    assert c["org_permissions"] == ["org:sys_memberships:read"]
    _, c = check(emu, token(emu, tok, sid, organization_id=""))
    assert not any(k.startswith("org_") for k in c)
    _, _, jwt = signed_in(emu, "auditor-user", "auditor password")
    c = check(emu, jwt)[1]
    assert c["org_role"] == "org:auditor" and c["org_permissions"] == []


def test_clock_offset_shifts_token_times(skew_emu):
    emu = skew_emu                                    # --clock-offset -120
    tok, sid, jwt = signed_in(emu)
    with pytest.raises(JwtError) as ei:
        check(emu, jwt)
    assert ei.value.kind == "expired"
    _, c = check(emu, token(emu, tok, sid), now=time.time() - 120)
    assert abs(c["iat"] - (time.time() - 120)) < 5 and c["exp"] == c["iat"] + 60


# ---- JWT templates ---------------------------------------------------------------------------
def test_pam_template_token(emu):
    tok, sid, _ = signed_in(emu)
    header, c = check(emu, token(emu, tok, sid, template="pam"), sid=sid, sub="user_alice")
    assert header["cat"] == TEMPLATE_CAT and header["kid"] == emu.jwt_kid
    assert c["email"] == "alice@way.cloud"
    assert c["exp"] - c["iat"] == 300 and c["nbf"] == c["iat"] - 10 and c["iss"] == emu.url
    assert "o" not in c and "v" not in c
    assert emu.templates()["pam"]["lifetime"] == 300


def test_unknown_template_not_found(emu):
    tok, sid, _ = signed_in(emu)
    r = emu.session_token(sid, tok, template="nope")
    assert r.status == 404 and error_code(r) == "resource_not_found"
    assert "nope" in r.json()["errors"][0]["long_message"]


def test_added_template_with_shortcodes_then_reset(emu):
    emu.add_template("orgs", {"org": "{{org.slug}}", "role": "{{org.role}}",
                              "uname": "{{user.username}}", "static": {"a": [1, "x"]}},
                     lifetime=120)
    tok, sid, _ = signed_in(emu)
    _, c = check(emu, token(emu, tok, sid, template="orgs"))
    assert (c["org"], c["role"], c["uname"], c["static"]) == ("way", "org:admin", "alice",
                                                              {"a": [1, "x"]})
    assert c["exp"] - c["iat"] == 120
    with pytest.raises(EmulatorError):
        emu.add_template("bad", {"sub": "x"})                # reserved claim
    with pytest.raises(EmulatorError):
        emu.add_template("bad", {}, lifetime=5)
    emu.reset()
    assert set(emu.templates()) == {"pam"}
    tok, sid, _ = signed_in(emu)
    assert emu.session_token(sid, tok, template="orgs").status == 404


# ---- JWT faults ------------------------------------------------------------------------------
def _valid_signature(emu, jwt, alg="RS256"):
    header, _, si, sig = decode(jwt)
    keys = {k["kid"]: k for k in jwks(emu)["keys"]}
    digest = hashes.SHA512() if alg == "RS512" else hashes.SHA256()
    jwtcheck.jwk_key(keys[header["kid"]]).verify(sig, si, padding.PKCS1v15(), digest)


@pytest.mark.parametrize("kind,defect", [
    ("bad_signature", "signature"), ("wrong_iss", "iss"), ("expired", "expired"),
    ("not_yet_valid", "not_yet_valid"), ("alg_none", "alg"), ("hs256", "alg"),
    ("unknown_kid", "kid"), ("wrong_sid", "sid"), ("wrong_sub", "sub"), ("rs512", "alg"),
    ("no_exp", "exp_missing")])
def test_jwt_fault_kinds(emu, kind, defect):
    tok, sid, good = signed_in(emu)
    emu.fault("jwt", kind=kind, count=1)
    bad = token(emu, tok, sid)
    with pytest.raises(JwtError) as ei:
        check(emu, bad, sid=sid, sub="user_alice")
    assert ei.value.kind == defect
    header, claims, si, sig = decode(bad)
    good_claims = decode(good)[1]
    now = time.time()
    if kind == "bad_signature":
        assert header["alg"] == "RS256" and len(sig) == 256
    elif kind == "wrong_iss":
        _valid_signature(emu, bad)
        assert claims["iss"] != emu.url and claims["iss"].startswith("https://")
    elif kind == "expired":
        _valid_signature(emu, bad)
        assert claims["exp"] < now - 600 and claims["exp"] - claims["iat"] == 60
    elif kind == "not_yet_valid":
        _valid_signature(emu, bad)
        assert claims["nbf"] > now + 600 and claims["exp"] > claims["nbf"]
    elif kind == "alg_none":
        assert header["alg"] == "none" and bad.endswith(".") and sig == b""
    elif kind == "hs256":
        assert header["alg"] == "HS256" and header["kid"] == emu.jwt_kid
        mac = hmac.new(emu.jwt_public_key_pem.encode(), si, hashlib.sha256).digest()
        assert sig == mac
    elif kind == "unknown_kid":
        assert header["kid"] not in {k["kid"] for k in jwks(emu)["keys"]}
        assert header["alg"] == "RS256" and len(sig) == 256
    elif kind == "wrong_sid":
        _valid_signature(emu, bad)
        assert claims["sid"].startswith("sess_") and claims["sid"] != sid
    elif kind == "wrong_sub":
        _valid_signature(emu, bad)
        assert claims["sub"].startswith("user_") and claims["sub"] != "user_alice"
    elif kind == "rs512":
        _valid_signature(emu, bad, "RS512")
        assert check(emu, bad, algs=("RS512",))[1]["sid"] == sid
    elif kind == "no_exp":
        _valid_signature(emu, bad)
        assert "exp" not in claims and claims["iat"] >= good_claims["iat"]
    # count=1: the next token is fine, and the log says which request carried the defect
    check(emu, token(emu, tok, sid), sid=sid)
    recs = [r for r in emu.requests() if r["path"].endswith("/tokens")]
    assert [r["jwt_faults"] for r in recs] == [[kind], []]


def test_jwt_fault_applies_to_every_jwt_handed_out(emu):
    emu.fault("jwt", kind="wrong_sub")                     # until cleared
    tok, sid, jwt = signed_in(emu)                         # the sign-in's last_active_token
    for j in (jwt, token(emu, tok, sid), token(emu, tok, sid, template="pam"),
              emu.fapi("POST", SESSIONS + sid + "/touch", token=tok)
              .json()["response"]["last_active_token"]["jwt"]):
        with pytest.raises(JwtError) as ei:
            check(emu, j, sub="user_alice")
        assert ei.value.kind == "sub"
    assert emu.faults()[0]["fault"] == "jwt"
    emu.clear_faults()
    check(emu, token(emu, tok, sid), sub="user_alice")


def test_jwt_fault_path_and_count(emu):
    emu.fault("jwt", kind="expired", count=2, path="/v1/client/sessions")
    tok, sid, jwt = signed_in(emu)                         # sign-in path: untouched
    check(emu, jwt)
    for _ in range(2):
        with pytest.raises(JwtError):
            check(emu, token(emu, tok, sid))
    check(emu, token(emu, tok, sid))
    assert emu.faults() == []


def test_jwt_fault_bad_parameters(emu):
    with pytest.raises(EmulatorError):
        emu.fault("jwt")                                   # needs kind
    with pytest.raises(EmulatorError):
        emu.fault("jwt", kind="rot13")
    with pytest.raises(EmulatorError):
        emu.fault("jwt", kind="expired", api="bapi")


# ---- JWKS ------------------------------------------------------------------------------------
def test_public_key_pem_and_line(emu):
    with open(os.path.join(emu.state_dir, "ready.json")) as f:
        info = json.load(f)
    assert info["jwt_public_key_pem"] == emu.jwt_public_key_pem
    with open(info["jwt_public_key"]) as f:
        assert f.read() == emu.jwt_public_key_pem
    pem = emu.jwt_public_key_pem
    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    line = emu.jwt_public_key_line
    assert "\n" not in line and "-" not in line
    assert line == "".join(pem.strip().splitlines()[1:-1])
    der = serialization.load_pem_public_key(pem.encode()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert b64d_std(line) == der
    # the PEM verifies the tokens, like the Dashboard's key does for networkless checks
    tok, sid, jwt = signed_in(emu)
    _, _, si, sig = decode(jwt)
    jwtcheck.pem_key(pem).verify(sig, si, padding.PKCS1v15(), hashes.SHA256())
    assert decode(jwt)[0]["kid"] == emu.jwt_kid == jwks(emu)["keys"][0]["kid"]


def b64d_std(text):
    import base64
    return base64.b64decode(text)


def test_rotate_jwks_keep_old_then_drop(emu):
    first_kid, first_pem = emu.jwt_kid, emu.jwt_public_key_pem
    tok, sid, old_jwt = signed_in(emu)
    out = emu.rotate_jwks()
    assert out["kid"] == emu.jwt_kid != first_kid
    assert emu.jwt_public_key_pem != first_pem
    assert [k["kid"] for k in jwks(emu)["keys"]] == [emu.jwt_kid, first_kid]   # new first
    check(emu, old_jwt)                                    # still verifies
    header, _ = check(emu, token(emu, tok, sid))
    assert header["kid"] == emu.jwt_kid
    with open(os.path.join(emu.state_dir, "jwt_public_key.pem")) as f:
        assert f.read() == emu.jwt_public_key_pem
    second = emu.jwt_kid
    emu.rotate_jwks(keep_old=False)
    assert [k["kid"] for k in jwks(emu)["keys"]] == [emu.jwt_kid]
    assert emu.jwt_kid not in (first_kid, second)
    with pytest.raises(JwtError) as ei:
        check(emu, old_jwt)
    assert ei.value.kind == "kid"
    check(emu, token(emu, tok, sid))
    emu.reset()                                            # back to the start key
    assert emu.jwt_kid == first_kid and emu.jwt_public_key_pem == first_pem
    assert [k["kid"] for k in jwks(emu)["keys"]] == [first_kid]


def test_jwks_requests_are_logged(emu):
    for _ in range(3):
        jwks(emu)
    recs = [r for r in emu.requests() if r["path"] == "/.well-known/jwks.json"]
    assert len(recs) == 3 and all(r["status"] == 200 and r["api"] == "fapi" for r in recs)


# ---- sessions --------------------------------------------------------------------------------
def test_end_marks_ended_and_tokens_refused(emu):
    tok, sid, _ = signed_in(emu)
    listed = emu.sessions()
    assert len(listed) == 1 and listed[0]["id"] == sid and listed[0]["status"] == "active"
    assert listed[0]["user_id"] == "user_alice" and listed[0]["client_id"].startswith("client_")
    assert listed[0]["ended_at"] is None
    r = emu.fapi("POST", SESSIONS + sid + "/end", token=tok)
    assert r.status == 200 and r.json()["response"]["status"] == "ended"
    s = emu.sessions()[0]
    assert s["status"] == "ended" and s["ended_at"] >= s["created_at"]
    for template in (None, "pam"):
        t = emu.session_token(sid, tok, template=template)
        assert t.status == 401 and error_code(t) == "signed_out"
    touch = emu.fapi("POST", SESSIONS + sid + "/touch", token=tok)
    assert touch.status == 400 and error_code(touch) == "invalid_action_for_session"
    again = emu.fapi("POST", SESSIONS + sid + "/end", token=tok)
    assert again.status == 400
    # DELETE /v1/client/sessions removes; other users' sessions are listed apart
    tok2, sid2, _ = signed_in(emu, "bob", "battery staple")
    emu.fapi("DELETE", "/v1/client/sessions", token=tok2)
    assert emu.sessions(user_id="user_bob")[0]["status"] == "removed"
    assert emu.sessions(status="ended")[0]["id"] == sid
    gone = emu.session_token(sid2, tok2)
    assert gone.status == 404 and error_code(gone) == "resource_not_found"
    emu.reset()
    assert emu.sessions() == []
