"""Sessions, organizations and verified JWTs: what later PAM stages get,
and that they can trust it (issue 4)."""
import os

import pytest

from conftest import MODULE

PASSWORD = "org password"


def org_user(emu, uid, name, orgs):
    emu.add_user({"id": uid, "identifiers": [name], "password": PASSWORD,
                  "organizations": [{"id": i, "slug": s, "role": r, "name": s.title()}
                                    for i, s, r in orgs]})
    return name


def paths(emu):
    return [r["path"] for r in emu.requests()]


AUTH_ENV = [("authenticate", "PAM_SUCCESS"), ("getenvlist", "PAM_SUCCESS")]


def test_export_env_plain_session(pam, emu):
    name = org_user(emu, "user_s1", "sess1", [])
    pam.service(extra_args=["export_env", "end_session=never"])
    r = pam.run(name, PASSWORD, ops=AUTH_ENV)
    assert r.ok, r
    s = emu.sessions(user_id="user_s1")[0]
    assert r.env["CLERK_SESSION_ID"] == s["id"]
    assert r.env["CLERK_USER_ID"] == "user_s1"
    assert r.env["CLERK_SESSION_TOKEN"].count(".") == 2
    assert not any(k.startswith("CLERK_ORG_") for k in r.env)
    # The JWT came with the sign-in; only the JWKS was fetched to verify it.
    assert paths(emu) == ["/v1/client/sign_ins", "/.well-known/jwks.json"]


def test_jwks_is_cached_across_logins(pam, emu):
    name = org_user(emu, "user_s2", "sess2", [])
    pam.service(extra_args=["export_env", "end_session=never"])
    for _ in range(3):
        assert pam.run(name, PASSWORD, ops=AUTH_ENV).ok
    assert paths(emu).count("/.well-known/jwks.json") == 1
    assert paths(emu).count("/v1/client/sign_ins") == 3


def test_rotated_key_is_fetched_once(pam, emu):
    name = org_user(emu, "user_s3", "sess3", [])
    pam.service(extra_args=["export_env", "end_session=never"])
    assert pam.run(name, PASSWORD, ops=AUTH_ENV).ok
    emu.rotate_jwks(keep_old=False)
    r = pam.run(name, PASSWORD, ops=AUTH_ENV)
    assert r.ok, r
    assert paths(emu).count("/.well-known/jwks.json") == 2


@pytest.mark.parametrize("kind", ["bad_signature", "wrong_iss", "expired", "not_yet_valid",
                                  "alg_none", "hs256", "unknown_kid", "wrong_sid", "wrong_sub",
                                  "rs512", "no_exp"])
def test_tampered_tokens_are_refused(pam, emu, kind):
    name = org_user(emu, "user_t_" + kind, "tamper-" + kind, [])
    pam.service(extra_args=["export_env", "end_session=never"])
    assert pam.run(name, PASSWORD, ops=[("authenticate", "PAM_SUCCESS")]).ok  # JWKS cached
    emu.reset_log()
    emu.fault("jwt", kind=kind)
    r = pam.run(name, PASSWORD, ops=[("authenticate", "PAM_AUTH_ERR")])
    assert r.ok, r
    assert r.outcome() == "jwt_invalid"
    assert any("session JWT REFUSED" in line for line in r.log), r.log
    # An unknown kid refetches the cached JWKS once, never in a loop.
    assert paths(emu).count("/.well-known/jwks.json") == (1 if kind == "unknown_kid" else 0)


def test_pinned_key_from_a_file_and_from_one_line(pam, emu, tmp_path):
    name = org_user(emu, "user_s4", "sess4", [])
    pem = tmp_path / "jwt.pem"
    pem.write_text(emu.jwt_public_key_pem)
    for key in (str(pem), emu.jwt_public_key_line):
        emu.reset_log()
        pam.service(extra_args=["export_env", "end_session=never", "jwt_key=%s" % key])
        r = pam.run(name, PASSWORD, ops=AUTH_ENV)
        assert r.ok, r
        assert "/.well-known/jwks.json" not in paths(emu)
    # A pinned key that is not the instance's refuses every token.
    emu.rotate_jwks(keep_old=False)
    pam.service(extra_args=["export_env", "end_session=never", "jwt_key=%s" % pem])
    assert pam.run(name, PASSWORD, ops=[("authenticate", "PAM_AUTH_ERR")]).ok


def test_organization_by_id_costs_one_request(pam, emu):
    name = org_user(emu, "user_o1", "org1", [("org_a1", "alpha", "admin"),
                                             ("org_b1", "beta", "member")])
    pam.service(extra_args=["export_env", "end_session=never", "organization=org_b1"])
    r = pam.run(name, PASSWORD, ops=AUTH_ENV)
    assert r.ok, r
    assert (r.env["CLERK_ORG_ID"], r.env["CLERK_ORG_SLUG"], r.env["CLERK_ORG_ROLE"]) == \
        ("org_b1", "beta", "member")
    sid = r.env["CLERK_SESSION_ID"]
    assert paths(emu) == ["/v1/client/sign_ins", "/v1/client/sessions/%s/tokens" % sid,
                          "/.well-known/jwks.json"]


def test_organization_by_slug_uses_touch(pam, emu):
    name = org_user(emu, "user_o2", "org2", [("org_a2", "alpha", "admin"),
                                             ("org_b2", "beta", "member")])
    pam.service(extra_args=["export_env", "end_session=never", "organization=beta"])
    r = pam.run(name, PASSWORD, ops=AUTH_ENV)
    assert r.ok, r
    assert r.env["CLERK_ORG_ID"] == "org_b2"
    assert [p.rsplit("/", 1)[-1] for p in paths(emu)] == ["sign_ins", "touch", "tokens",
                                                          "jwks.json"]


def test_v1_claims_are_read_too(pam, tmp_path_factory):
    from emulator.control import Emulator
    v1 = Emulator(str(tmp_path_factory.mktemp("v1-emulator")), jwt_claims="v1",
                  profile="kind").start()
    try:
        pam.emu = v1
        name = org_user(v1, "user_v1", "v1user", [("org_v1", "vee", "admin")])
        pam.service(extra_args=["export_env", "end_session=never", "organization=org_v1",
                                "require_organization", "allowed_roles=admin"])
        r = pam.run(name, PASSWORD, ops=AUTH_ENV + [("acct_mgmt", "PAM_SUCCESS")])
        assert r.ok, r
        assert (r.env["CLERK_ORG_ID"], r.env["CLERK_ORG_ROLE"]) == ("org_v1", "admin")
    finally:
        v1.stop()


@pytest.mark.parametrize("rules,orgs,acct", [
    (["require_organization"], [("org_r1", "ops", "member")], "PAM_SUCCESS"),
    (["require_organization"], [("org_x1", "other", "admin")], "PAM_PERM_DENIED"),
    (["require_organization"], [], "PAM_PERM_DENIED"),
    (["allowed_roles=admin"], [("org_r1", "ops", "member")], "PAM_PERM_DENIED"),
    (["allowed_roles=admin,member"], [("org_r1", "ops", "member")], "PAM_SUCCESS"),
    (["allowed_roles=org:admin"], [("org_r1", "ops", "admin")], "PAM_SUCCESS"),
], ids=["member", "other-org", "no-org", "wrong-role", "role-listed", "org-prefix"])
def test_account_rules(pam, emu, rules, orgs, acct):
    name = org_user(emu, "user_rule", "rule-user", orgs)
    pam.service(extra_args=["organization=ops", "end_session=never"] + rules)
    r = pam.run(name, PASSWORD, ops=[("authenticate", "PAM_SUCCESS"), ("acct_mgmt", acct)])
    assert r.ok, r
    if acct != "PAM_SUCCESS":
        assert any("account refused" in line for line in r.log), r.log


def test_authorize_at_auth(pam, emu):
    name = org_user(emu, "user_aa", "authz-user", [("org_r2", "ops", "member")])
    pam.service(extra_args=["organization=ops", "allowed_roles=admin", "authorize=auth"])
    r = pam.run(name, PASSWORD, ops=[("authenticate", "PAM_AUTH_ERR")])
    assert r.ok, r
    assert r.outcome() == "not_authorized"


def test_end_session_at_close(pam, emu):
    name = org_user(emu, "user_e1", "end1", [])
    pam.service(extra_args=["end_session=close"])  # asked for, with a session line
    r = pam.run(name, PASSWORD, ops=[("authenticate", "PAM_SUCCESS"),
                                     ("open_session", "PAM_SUCCESS"),
                                     ("close_session", "PAM_SUCCESS")])
    assert r.ok, r
    assert [s["status"] for s in emu.sessions(user_id="user_e1")] == ["ended"]
    assert any("ended" in line for line in r.log)


def test_end_session_at_auth_and_never(pam, emu):
    name = org_user(emu, "user_e2", "end2", [])
    pam.service(extra_args=["end_session=auth"])
    assert pam.run(name, PASSWORD, ops=[("authenticate", "PAM_SUCCESS")]).ok
    assert [s["status"] for s in emu.sessions(user_id="user_e2")] == ["ended"]
    pam.service(extra_args=["end_session=never"])
    assert pam.run(name, PASSWORD, ops=[("authenticate", "PAM_SUCCESS"),
                                        ("close_session", "PAM_SUCCESS")]).ok
    assert sorted(s["status"] for s in emu.sessions(user_id="user_e2")) == ["active", "ended"]


def test_template_token(pam, emu):
    name = org_user(emu, "user_tp", "tmpl1", [])
    emu.add_template("pam", claims={"aud": "pam"}, lifetime=300)
    pam.service(extra_args=["export_env", "end_session=never", "jwt_template=pam"])
    r = pam.run(name, PASSWORD, ops=AUTH_ENV)
    assert r.ok, r
    assert paths(emu)[1].endswith("/tokens/pam")


# ---- acct_mgmt for users who logged in another way (an ssh key) ----

@pytest.fixture
def backend(pam, emu, tmp_path):
    key = tmp_path / "clerk-secret-key"
    key.write_text(emu.secret_key + "\n")
    os.chmod(key, 0o600)

    def service(*extra, key_file=key):
        args = pam.base_args() + ["secret_key_file=%s" % key_file,
                                  "backend_api=%s" % emu.bapi_url] + list(extra)
        pam.service(lines=["account required %s %s" % (MODULE, " ".join(args))])
    return service


def bapi_paths(emu):
    return [r["path"] for r in emu.requests() if r.get("api") == "bapi"]


@pytest.mark.parametrize("user,code", [
    ("alice@way.cloud", "PAM_SUCCESS"),
    ("banned-user", "PAM_PERM_DENIED"),
    ("locked-user", "PAM_PERM_DENIED"),
    ("nobody-here@way.cloud", "PAM_USER_UNKNOWN"),
])
def test_backend_lookup_for_other_logins(pam, emu, backend, user, code):
    backend()
    r = pam.run(user, ops=[("acct_mgmt", code)])
    assert r.ok, r
    assert any("account (Backend API)" in line for line in r.log), r.log
    assert emu.requests() == [] or all(q.get("api") == "bapi" for q in emu.requests())
    assert bapi_paths(emu)[0] == "/v1/users"
    assert emu.secret_key not in r.stderr


@pytest.mark.parametrize("user,rules,code", [
    ("alice@way.cloud", ["organization=ops", "require_organization"], "PAM_SUCCESS"),
    ("alice@way.cloud", ["organization=ops", "allowed_roles=admin"], "PAM_SUCCESS"),
    ("alice@way.cloud", ["organization=dev", "allowed_roles=admin"], "PAM_PERM_DENIED"),
    ("alice@way.cloud", ["organization=nowhere", "require_organization"], "PAM_PERM_DENIED"),
])
def test_backend_membership_rules(pam, emu, backend, user, rules, code):
    backend(*rules)
    r = pam.run(user, ops=[("acct_mgmt", code)])
    assert r.ok, r
    assert bapi_paths(emu)[-1].endswith("/organization_memberships")


def test_backend_wrong_secret_key(pam, emu, backend, tmp_path):
    bad = tmp_path / "wrong-key"
    bad.write_text("sk_test_not_the_key\n")
    os.chmod(bad, 0o600)
    backend(key_file=bad)
    assert pam.run("alice@way.cloud", ops=[("acct_mgmt", "PAM_SERVICE_ERR")]).ok


def test_backend_secret_key_file_must_be_private(pam, emu, backend, tmp_path):
    loose = tmp_path / "loose-key"
    loose.write_text(emu.secret_key)
    os.chmod(loose, 0o644)
    backend(key_file=loose)
    r = pam.run("alice@way.cloud", ops=[("acct_mgmt", "PAM_SERVICE_ERR")])
    assert r.ok, r
    assert bapi_paths(emu) == []
