"""The Backend API listener: secret-key auth, user look-ups, organization memberships, JWKS,
the request log and faults, over real HTTPS."""
import json
import os

import pytest

from control import DEFAULT_SECRET_KEY


def code(r):
    body = r.json()
    assert body["clerk_trace_id"] == r.headers["X-Clerk-Trace-Id"]
    e = body["errors"][0]
    assert e["message"] and e["long_message"]
    return e["code"]


def ids(r):
    assert r.status == 200, r
    return [u["id"] for u in r.json()]


# ---- listener and auth -----------------------------------------------------------------------
def test_ready_json_and_attributes(emu):
    with open(os.path.join(emu.state_dir, "ready.json")) as f:
        info = json.load(f)
    assert info["bapi_url"] == emu.bapi_url and emu.bapi_url.startswith("https://127.0.0.1:")
    assert emu.bapi_url not in (emu.url, emu.control_url)
    assert info["secret_key"] == emu.secret_key == DEFAULT_SECRET_KEY == "sk_test_emulator_secret"


@pytest.mark.parametrize("key,headers,expected", [
    (None, None, "authorization_header_format_invalid"),                    # no header
    ("sk_test_wrong", None, "clerk_key_invalid"),
    (None, {"Authorization": "sk_test_emulator_secret"}, "authorization_header_format_invalid"),
    (None, {"Authorization": "Basic c2tfdGVzdA=="}, "authorization_header_format_invalid"),
    ("", None, "authorization_header_format_invalid"),                      # "Bearer "
])
def test_secret_key_required(emu, key, headers, expected):
    r = emu.bapi("GET", "/v1/users", secret_key=key, headers=headers)
    assert r.status == 401 and code(r) == expected
    assert r.headers["Content-Type"] == "application/json"


def test_custom_secret_key(v1_emu):
    emu = v1_emu
    assert emu.secret_key == "sk_test_other_key_123"
    assert emu.bapi("GET", "/v1/users/user_alice").status == 200
    r = emu.bapi("GET", "/v1/users/user_alice", secret_key=DEFAULT_SECRET_KEY)
    assert r.status == 401 and code(r) == "clerk_key_invalid"


def test_requests_logged_as_bapi_without_the_key(emu):
    emu.bapi("GET", "/v1/users", query={"username": "alice"})
    emu.bapi("GET", "/v1/users", secret_key="sk_test_wrong_one")
    emu.fapi("GET", "/v1/client")
    recs = emu.requests()
    assert [(r["api"], r["listener"], r["status"]) for r in recs] == [
        ("bapi", "bapi", 200), ("bapi", "bapi", 401), ("fapi", "main", 200)]
    assert recs[0]["query"] == {"username": "alice"} and recs[0]["path"] == "/v1/users"
    assert recs[1]["clerk_error"] == "clerk_key_invalid"
    assert recs[0]["authorization"]["present"] and "authorization" not in recs[0]["headers"]
    with open(os.path.join(emu.state_dir, "requests.jsonl")) as f:
        text = f.read()
    text += json.dumps(recs)
    for secret in (emu.secret_key, "sk_test_wrong_one"):
        assert secret not in text


def test_unknown_route_and_method(emu):
    r = emu.bapi("GET", "/v1/nothing")
    assert r.status == 404 and code(r) == "resource_not_found"
    r = emu.bapi("POST", "/v1/users", body=b"{}", headers={"Content-Type": "application/json"})
    assert r.status == 404


def test_fapi_faults_leave_bapi_alone_and_bapi_faults_fapi(emu):
    emu.fault("status", http_status=503)
    assert emu.bapi("GET", "/v1/users/user_alice").status == 200
    assert emu.fapi("GET", "/v1/client").status == 503
    emu.clear_faults()
    emu.fault("status", count=1, http_status=503, api="bapi")
    emu.fault("error_code", count=1, code="too_many_requests", api="bapi")
    assert emu.fapi("GET", "/v1/client").status == 200
    assert emu.bapi("GET", "/v1/users/user_alice").status == 503
    r = emu.bapi("GET", "/v1/users/user_alice")
    assert r.status == 429 and code(r) == "too_many_requests"
    assert emu.bapi("GET", "/v1/users/user_alice").status == 200
    assert [r["fault"] for r in emu.requests() if r["api"] == "bapi"] == \
        [None, "status", "error_code", None]


# ---- users -----------------------------------------------------------------------------------
def test_list_users_by_identifier(emu):
    assert ids(emu.bapi("GET", "/v1/users", query={"email_address": "ALICE@way.cloud"})) == \
        ["user_alice"]
    assert ids(emu.bapi("GET", "/v1/users", query={"username": "Bob"})) == ["user_bob"]
    assert ids(emu.bapi("GET", "/v1/users", query={"phone_number": "+15555550100"})) == \
        ["user_bob"]
    assert ids(emu.bapi("GET", "/v1/users",
                        query={"user_id": ["user_alice", "user_bob", "user_nobody"]})) == \
        ["user_alice", "user_bob"]
    # different parameters must all match; values of one parameter are alternatives
    assert ids(emu.bapi("GET", "/v1/users", query={"username": "alice",
                                                   "email_address": "bob@way.cloud"})) == []
    assert ids(emu.bapi("GET", "/v1/users",
                        query={"email_address": ["bob@way.cloud", "alice@way.cloud"]})) == \
        ["user_alice", "user_bob"]
    assert ids(emu.bapi("GET", "/v1/users", query={"email_address": "nobody@way.cloud"})) == []
    assert ids(emu.bapi("GET", "/v1/users", query={"organization_id": "org_dev"})) == \
        ["user_alice", "user_auditor"]
    # the email addresses that get codes count too (user_email2fa lists its own)
    assert ids(emu.bapi("GET", "/v1/users",
                        query={"email_address": "email2fa-user@way.cloud"})) == ["user_email2fa"]


def test_list_users_paging(emu):
    everyone = ids(emu.bapi("GET", "/v1/users", query={"limit": 100}))
    assert len(everyone) == 22 and "user_alice" in everyone
    assert len(ids(emu.bapi("GET", "/v1/users"))) == 10                  # default limit
    assert ids(emu.bapi("GET", "/v1/users", query={"limit": 2, "offset": 1})) == everyone[1:3]
    r = emu.bapi("GET", "/v1/users", query={"limit": 0})
    assert r.status == 422 and code(r) == "form_param_value_invalid"
    assert ids(emu.bapi("GET", "/v1/users", query={"banned": "true"})) == ["user_banned"]


def test_user_object(emu):
    r = emu.bapi("GET", "/v1/users/user_bob")
    assert r.status == 200
    u = r.json()
    assert u["object"] == "user" and u["id"] == "user_bob" and u["username"] == "bob"
    assert [e["email_address"] for e in u["email_addresses"]] == ["bob@way.cloud"]
    assert u["primary_email_address_id"] == u["email_addresses"][0]["id"]
    assert [p["phone_number"] for p in u["phone_numbers"]] == ["+15555550100"]
    assert (u["banned"], u["locked"], u["lockout_expires_in_seconds"]) == (False, False, None)
    assert u["verification_attempts_remaining"] == 10
    assert u["first_name"] == "Bob" and u["private_metadata"] == {}
    assert u["last_sign_in_at"] is None
    emu.sign_in("bob", "battery staple")
    assert isinstance(emu.bapi("GET", "/v1/users/user_bob").json()["last_sign_in_at"], int)
    r = emu.bapi("GET", "/v1/users/user_nobody")
    assert r.status == 404 and code(r) == "resource_not_found"
    assert "user_nobody" in r.json()["errors"][0]["long_message"]


def test_user_states_match_fapi(limited_emu):
    emu = limited_emu                # lockout after 3 failures; at most 4 sign-ins per 10 s
    banned = emu.bapi("GET", "/v1/users/user_banned").json()
    assert banned["banned"] is True and banned["locked"] is False
    locked = emu.bapi("GET", "/v1/users/user_locked").json()
    assert locked["locked"] is True and locked["lockout_expires_in_seconds"] is None
    for _ in range(2):
        emu.sign_in("alice", "wrong")
    alice = emu.bapi("GET", "/v1/users/user_alice").json()
    assert alice["locked"] is False and alice["verification_attempts_remaining"] == 1
    emu.sign_in("alice", "wrong")
    alice = emu.bapi("GET", "/v1/users", query={"username": "alice"}).json()[0]
    assert alice["locked"] is True and 3500 < alice["lockout_expires_in_seconds"] <= 3600
    assert alice["verification_attempts_remaining"] == 0
    r = emu.sign_in("alice", "correct horse")
    assert r.status == 403 and r.json()["errors"][0]["code"] == "user_locked"


# ---- organization memberships ----------------------------------------------------------------
def test_user_organization_memberships(emu):
    r = emu.bapi("GET", "/v1/users/user_alice/organization_memberships")
    assert r.status == 200
    body = r.json()
    assert body["total_count"] == 3
    got = [(m["organization"]["id"], m["organization"]["slug"], m["organization"]["name"],
            m["role"]) for m in body["data"]]
    assert got == [("org_way", "way", "Way", "org:admin"), ("org_ops", "ops", "Ops", "org:admin"),
                   ("org_dev", "dev", "Dev", "org:member")]
    m = body["data"][0]
    assert m["object"] == "organization_membership" and m["id"].startswith("orgmem_")
    assert m["public_user_data"]["user_id"] == "user_alice"
    assert m["organization"]["object"] == "organization"
    page = emu.bapi("GET", "/v1/users/user_alice/organization_memberships",
                    query={"limit": 1, "offset": 2}).json()
    assert page["total_count"] == 3 and [m["organization"]["id"] for m in page["data"]] == \
        ["org_dev"]
    bob = emu.bapi("GET", "/v1/users/user_bob/organization_memberships").json()
    assert bob == {"data": [], "total_count": 0}
    aud = emu.bapi("GET", "/v1/users/user_auditor/organization_memberships").json()
    assert [m["role"] for m in aud["data"]] == ["org:auditor"]


def test_organization_memberships(emu):
    for org in ("org_dev", "dev"):
        body = emu.bapi("GET", "/v1/organizations/%s/memberships" % org).json()
        assert body["total_count"] == 2
        assert [(m["public_user_data"]["user_id"], m["role"]) for m in body["data"]] == [
            ("user_alice", "org:member"), ("user_auditor", "org:auditor")]
    body = emu.bapi("GET", "/v1/organizations/org_dev/memberships",
                    query={"role": "org:auditor"}).json()
    assert [m["public_user_data"]["user_id"] for m in body["data"]] == ["user_auditor"]
    body = emu.bapi("GET", "/v1/organizations/org_dev/memberships",
                    query={"user_id": "user_alice"}).json()
    assert body["total_count"] == 1
    r = emu.bapi("GET", "/v1/organizations/org_nope/memberships")
    assert r.status == 404 and code(r) == "resource_not_found"


def test_bapi_jwks_is_the_fapi_jwks(emu):
    fapi = emu.fapi("GET", "/.well-known/jwks.json", token=None, native=False, api_version=None)
    b = emu.bapi("GET", "/v1/jwks")
    assert b.status == 200 and b.json() == fapi.json()
    emu.rotate_jwks()
    assert [k["kid"] for k in emu.bapi("GET", "/v1/jwks").json()["keys"]][0] == emu.jwt_kid
    assert emu.bapi("GET", "/v1/jwks", secret_key=None).status == 401


# ---- what pam-clerk sync needs (issue 17) ----------------------------------------------------
def test_bulk_users_page_through_the_list(emu):
    emu.add_users(1200, prefix="bench")
    seen = []
    for offset in (0, 500, 1000):
        page = ids(emu.bapi("GET", "/v1/users", {"limit": "500", "offset": str(offset),
                                                 "order_by": "+created_at"}))
        assert len(page) == (500 if offset < 1000 else 1200 - 1000 + len(fixture_ids(emu)))
        seen += page
    assert len(seen) == len(set(seen)) == 1200 + len(fixture_ids(emu))
    assert "user_bench000000" in seen and "user_bench001199" in seen
    r = emu.bapi("GET", "/v1/users", {"username": "bench000042"})
    assert ids(r) == ["user_bench000042"]


def fixture_ids(emu):
    return [i for i in emu.control("GET", "users") if not i.startswith("user_bench")]


def test_a_deleted_user_is_gone(emu):
    assert emu.delete_user("user_bob")["deleted"] is True
    assert emu.delete_user("user_bob")["deleted"] is False
    assert ids(emu.bapi("GET", "/v1/users", {"username": "bob"})) == []
    assert emu.bapi("GET", "/v1/users/user_bob").status == 404


def test_a_fault_after_skipped_requests_hits_mid_paging(emu):
    emu.fault("status", path="/v1/users", api="bapi", skip=2, count=1, http_status=503)
    q = {"limit": "1"}
    assert emu.bapi("GET", "/v1/users", q).status == 200
    assert emu.bapi("GET", "/v1/users", dict(q, offset="1")).status == 200
    assert emu.bapi("GET", "/v1/users", dict(q, offset="2")).status == 503
    assert emu.bapi("GET", "/v1/users", dict(q, offset="3")).status == 200
    with pytest.raises(Exception):
        emu.fault("status", skip=-1)


def test_rate_limit_answer_says_when_to_retry(emu):
    emu.fault("rate_limit", count=1, api="bapi", retry_after=2)
    r = emu.bapi("GET", "/v1/users")
    assert r.status == 429 and r.headers["Retry-After"] == "2"
    assert code(r) == "too_many_requests"
    assert emu.bapi("GET", "/v1/users").status == 200


def test_the_instance_rate_limit(emu):
    """backend-api.yml: 1000 requests per 10 s (100 on a dev instance); over it, 429 with
    Retry-After; reset restores the default."""
    assert emu.bapi_rate_limit(3) == 3
    for _ in range(3):
        assert emu.bapi("GET", "/v1/users").status == 200
    r = emu.bapi("GET", "/v1/users")
    assert r.status == 429 and code(r) == "too_many_requests"
    assert 1 <= int(r.headers["Retry-After"]) <= 10
    assert emu.bapi_rate_limit(None) == 1000
    assert emu.bapi("GET", "/v1/users").status == 200
