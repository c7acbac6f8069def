"""The real-Clerk profile (the default) and the instance settings: every answer FAPI-NOTES
section 11 says real Clerk gives, and the kind world's older answers where they differ."""
import subprocess

import pytest

import instance
from control import EmulatorError, PYTHON, EMULATOR
from jwtcheck import decode

SIGN_INS = "/v1/client/sign_ins"


def claims(jwt):
    return decode(jwt)[1]


def complete(emu, ident, password, token=""):
    r = emu.sign_in(ident, password, token=token)
    assert r.status == 200, r
    body = r.json()
    assert body["response"]["status"] == "complete"
    sid = body["response"]["created_session_id"]
    sess = [s for s in body["client"]["sessions"] if s["id"] == sid][0]
    return r, sess


# ---- profiles and settings -------------------------------------------------------------
def test_profiles_differ_where_real_clerk_does():
    real, kind = instance.defaults("real"), instance.defaults("kind")
    assert real["rate_limit"] == 5 and real["attempt_rate_limit"] == 3
    assert real["attempt_rate_window"] == 10.0
    assert real["lockout_threshold"] == 10 and real["lockout_minutes"] == 60
    assert real["single_session"] and real["auth_header_optional"] and real["accept_bearer"]
    assert not real["template_sid"] and real["trust_email_link"]
    assert not real["dev_browser_native"]
    assert kind["rate_limit"] is None and kind["attempt_rate_limit"] is None
    assert not kind["single_session"] and not kind["auth_header_optional"]
    assert kind["template_sid"] and kind["dev_browser_native"] and not kind["trust_email_link"]
    for switch in ("enumeration_protection", "bearer_tokens", "device_attestation",
                   "require_mfa", "force_organization"):
        assert real[switch] is False and kind[switch] is False
    with pytest.raises(instance.SettingsError):
        instance.defaults("harsh")


def test_settings_change_at_run_time_and_reset_restores(real_emu):
    assert real_emu.get_settings() == instance.defaults("real")
    assert real_emu.start_settings == instance.defaults("real")
    assert real_emu.set(enumeration_protection=True, rate_limit=0)["rate_limit"] is None
    assert real_emu.get_settings()["enumeration_protection"] is True
    real_emu.reset()
    assert real_emu.get_settings() == instance.defaults("real")


@pytest.mark.parametrize("bad", [{"no_such": True}, {"single_session": "yes"},
                                 {"lockout_threshold": 0}, {"proxy_path": "__clerk"},
                                 {"issuer": "http://x"}, {"session_tasks": ["nap"]}])
def test_bad_settings_are_refused(real_emu, bad):
    with pytest.raises(EmulatorError) as ei:
        real_emu.set(**bad)
    assert "-> 400" in str(ei.value)
    assert real_emu.get_settings() == instance.defaults("real")


def test_cli_refuses_a_bad_setting(tmp_path):
    p = subprocess.run([PYTHON, EMULATOR, "--state-dir", str(tmp_path), "--set",
                        "single_session=3"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "single_session must be true or false" in p.stderr


def test_kind_profile_keeps_the_older_world(emu):
    assert emu.get_settings() == instance.defaults("kind")
    r = emu.sign_in("alice", "correct horse", token=None)
    assert (r.status, r.error_code) == (400, "request_header_missing")


# ---- native rules ----------------------------------------------------------------------
def test_first_native_call_may_omit_authorization(real_emu):
    r = real_emu.sign_in("bob", "battery staple", token=None)
    assert r.status == 200 and r.token
    rec = [x for x in real_emu.requests() if x["path"] == SIGN_INS][-1]
    assert rec["authorization"]["present"] is False


def test_native_api_disabled(real_emu):
    real_emu.set(native_api=False)
    r = real_emu.sign_in("bob", "battery staple")
    assert (r.status, r.error_code) == (400, "native_api_disabled")
    assert r.token is None
    env = real_emu.fapi("GET", "/v1/environment", token=None)
    assert env.status == 200
    assert env.json()["auth_config"]["native_settings"]["api_enabled"] is False


def test_dev_instance_wants_no_dev_browser_in_native_mode(real_dev_emu):
    r = real_dev_emu.sign_in("bob", "battery staple")
    assert r.status == 200 and r.json()["response"]["status"] == "complete"
    assert r.headers.get("Clerk-Db-Jwt") is None
    assert not [x for x in real_dev_emu.requests() if x["path"] == "/v1/dev_browser"]
    real_dev_emu.set(dev_browser_native=True)
    r = real_dev_emu.sign_in("bob", "battery staple")
    assert (r.status, r.error_code) == (401, "dev_browser_unauthenticated")


# ---- client tokens ---------------------------------------------------------------------
def test_bearer_prefixed_tokens(real_emu):
    real_emu.set(bearer_tokens=True)
    r = real_emu.sign_in("bob", "battery staple")
    assert r.token.startswith("Bearer ") and len(r.token) > 20
    raw = r.token[len("Bearer "):]
    # both forms are accepted back, and the answer keeps the prefix
    for sent in (r.token, raw):
        g = real_emu.fapi("GET", "/v1/client", token=sent)
        assert g.status == 200 and g.token.startswith("Bearer ")
    real_emu.set(bearer_tokens=False)
    g = real_emu.fapi("GET", "/v1/client", token=r.token)
    assert g.status == 200 and not g.token.startswith("Bearer ")


def test_kind_profile_refuses_a_bearer_prefix(emu):
    tok = emu.sign_in("bob", "battery staple").token
    r = emu.fapi("GET", "/v1/client", token="Bearer " + tok)
    assert (r.status, r.error_code) == (401, "authentication_invalid")


@pytest.mark.parametrize("value", ["", "Bearer"])
def test_client_token_fault_clears_the_client(real_emu, value):
    real_emu.fault("client_token", count=1, value=value, path=SIGN_INS)
    r = real_emu.sign_in("bob", "battery staple")
    assert r.status == 200 and r.headers.get("Authorization") == value
    assert real_emu.faults() == []


def test_forgotten_client_is_404(real_emu):
    tok = real_emu.sign_in("bob", "battery staple").token
    assert real_emu.forget_clients("user_bob") == 1
    r = real_emu.sign_in("bob", "battery staple", token=tok)
    assert (r.status, r.error_code) == (404, "resource_not_found")
    err = r.json()["errors"][0]
    assert err["message"] == "Client not found" and err["long_message"].startswith(
        "No client was found with id client_")
    assert r.token is None
    # a token never issued stays 401
    r = real_emu.sign_in("bob", "battery staple", token="garbage.token.value")
    assert (r.status, r.error_code) == (401, "authentication_invalid")


# ---- sign-in errors --------------------------------------------------------------------
def test_single_session_mode(real_emu):
    tok = real_emu.sign_in("bob", "battery staple").token
    for ident, pw in (("bob", "battery staple"), ("alice", "correct horse")):
        r = real_emu.sign_in(ident, pw, token=tok)
        assert (r.status, r.error_code) == (400, "session_exists")
        assert r.token == tok                 # the client is kept
    real_emu.set(single_session=False)
    r = real_emu.sign_in("bob", "battery staple", token=tok)
    assert (r.status, r.error_code) == (400, "identifier_already_signed_in")
    assert real_emu.sign_in("alice", "correct horse", token=tok).status == 200


def test_enumeration_protection(real_emu):
    assert real_emu.sign_in("nobody@way.cloud", "x").error_code == "form_identifier_not_found"
    assert real_emu.sign_in("bob", "wrong").error_code == "form_password_incorrect"
    real_emu.set(enumeration_protection=True)
    for ident, pw in (("nobody@way.cloud", "x"), ("bob", "wrong")):
        r = real_emu.sign_in(ident, pw)
        assert (r.status, r.error_code) == (422, "form_password_or_identifier_incorrect")
    assert real_emu.sign_in("bob", "battery staple").status == 200


@pytest.mark.parametrize("ident,status,code", [
    ("nopwset-user", 400, "no_password_set"),
    ("mustreset-user", 422, "password_reset_required"),
    ("pwfail-user", 422, "form_password_validation_failed"),
])
def test_password_error_users(real_emu, ident, status, code):
    for pw in ("%s password" % ident.split("-")[0], "anything else"):
        r = real_emu.sign_in(ident, pw)
        assert (r.status, r.error_code) == (status, code), r


def test_device_attestation_switch(real_emu):
    real_emu.set(device_attestation=True)
    r = real_emu.sign_in("bob", "battery staple")
    assert (r.status, r.error_code) == (401, "requires_device_attestation")


def test_missing_expired_token_is_producible(real_emu):
    r, sess = complete(real_emu, "bob", "battery staple")
    real_emu.fault("error_code", count=1, code="missing_expired_token", http_status=422,
                   path="/v1/client/sessions/")
    t = real_emu.session_token(sess["id"], r.token)
    assert (t.status, t.error_code) == (422, "missing_expired_token")


def test_rate_limits_and_retry_after(real_emu):
    for _ in range(5):
        assert real_emu.sign_in("bob", "wrong").status == 422
    r = real_emu.sign_in("bob", "battery staple")
    assert (r.status, r.error_code) == (429, "too_many_requests")
    assert 1 <= int(r.headers["Retry-After"]) <= 10


def test_attempt_rate_limit(real_emu):
    r = real_emu.sign_in("totp-user", "totp password")
    si, tok = r.json()["response"]["id"], r.token
    for _ in range(3):
        assert real_emu.attempt_second_factor(si, "totp", "000000", tok).status == 422
    r = real_emu.attempt_second_factor(si, "totp", "000000", tok)
    assert (r.status, r.error_code) == (429, "too_many_requests")
    assert int(r.headers["Retry-After"]) >= 1


def test_lockout_after_ten_failures_for_an_hour(real_emu):
    real_emu.set(rate_limit=0)
    for _ in range(10):
        assert real_emu.sign_in("bob", "wrong").error_code == "form_password_incorrect"
    r = real_emu.sign_in("bob", "battery staple")
    assert (r.status, r.error_code) == (403, "user_locked")
    assert 3500 < r.json()["errors"][0]["meta"]["lockout_expires_in_seconds"] <= 3600


# ---- pending sessions ------------------------------------------------------------------
@pytest.mark.parametrize("ident,task", [("resetpw-user", "reset-password"),
                                        ("setupmfa-user", "setup-mfa"),
                                        ("chooseorg-user", "choose-organization")])
def test_pending_session_with_task(real_emu, ident, task):
    r, sess = complete(real_emu, ident, ident.split("-")[0] + " password")
    assert sess["status"] == "pending" and sess["tasks"] == [{"key": task}]
    assert claims(sess["last_active_token"]["jwt"])["sts"] == "pending"
    t = real_emu.session_token(sess["id"], r.token)
    assert t.status == 200 and claims(t.json()["jwt"])["sts"] == "pending"
    assert real_emu.sessions(status="pending")[0]["id"] == sess["id"]


def test_choosing_the_organization_activates_the_session(real_emu):
    r, sess = complete(real_emu, "chooseorg-user", "chooseorg password")
    t = real_emu.fapi("POST", "/v1/client/sessions/%s/touch" % sess["id"],
                      form={"active_organization_id": "team", "intent": "select_org"},
                      token=r.token)
    s = t.json()["response"]
    assert s["status"] == "active" and s["tasks"] == []
    c = claims(s["last_active_token"]["jwt"])
    assert "sts" not in c and c["o"]["slg"] == "team"


def test_instance_wide_tasks(real_emu):
    real_emu.set(require_mfa=True, force_organization=True)
    _, bob = complete(real_emu, "bob", "battery staple")
    assert bob["status"] == "pending"
    assert bob["tasks"] == [{"key": "setup-mfa"}, {"key": "choose-organization"}]
    _, alice = complete(real_emu, "alice", "correct horse")   # no MFA, but an active org
    assert alice["tasks"] == [{"key": "setup-mfa"}]
    real_emu.set(require_mfa=False, force_organization=False, session_tasks=["reset-password"])
    _, auditor = complete(real_emu, "auditor-user", "auditor password")
    assert auditor["tasks"] == [{"key": "reset-password"}]


# ---- JWTs ------------------------------------------------------------------------------
def test_template_tokens_have_no_sid(real_emu):
    r, sess = complete(real_emu, "alice", "correct horse")
    t = real_emu.session_token(sess["id"], r.token, template="pam")
    c = claims(t.json()["jwt"])
    assert "sid" not in c and "o" not in c and "org_id" not in c
    assert c["sub"] == "user_alice" and c["email"] == "alice@way.cloud"
    real_emu.set(template_sid=True)
    assert claims(real_emu.session_token(sess["id"], r.token, template="pam")
                  .json()["jwt"])["sid"] == sess["id"]


def test_proxy_path_and_issuer(real_emu):
    real_emu.set(proxy_path="/__clerk", issuer="https://clerk.example.test")
    r = real_emu.fapi("POST", "/__clerk" + SIGN_INS,
                      form={"strategy": "password", "identifier": "bob",
                            "password": "battery staple"}, token="")
    assert r.status == 200
    sess = r.json()["client"]["sessions"][0]
    assert claims(sess["last_active_token"]["jwt"])["iss"] == "https://clerk.example.test"
    env = real_emu.fapi("GET", "/__clerk/v1/environment", token=None)
    assert env.status == 200
    assert real_emu.fapi("GET", "/__clerk/.well-known/jwks.json", token=None).status == 200


# ---- Device Trust ----------------------------------------------------------------------
def test_device_trust_offers_email_link_beside_email_code(real_emu, emu):
    r = real_emu.sign_in("trust-user", "trust password")
    body = r.json()["response"]
    assert body["status"] == "needs_client_trust"
    assert [f["strategy"] for f in body["supported_second_factors"]] == ["email_code",
                                                                         "email_link"]
    link = body["supported_second_factors"][1]
    assert link["email_address_id"] and link["safe_identifier"] == "t***@way.cloud"
    p = real_emu.prepare_second_factor(body["id"], "email_link", r.token)
    assert p.status == 200
    kind = emu.sign_in("trust-user", "trust password").json()["response"]
    assert [f["strategy"] for f in kind["supported_second_factors"]] == ["email_code"]


# ---- environment -----------------------------------------------------------------------
def test_environment_reports_the_settings(real_emu):
    real_emu.set(enumeration_protection=True, require_mfa=True, lockout_threshold=7)
    env = real_emu.fapi("GET", "/v1/environment", token=None).json()
    ac, us = env["auth_config"], env["user_settings"]
    assert ac["single_session_mode"] is True
    assert ac["native_settings"]["api_enabled"] is True
    assert us["attack_protection"]["user_lockout"] == {"enabled": True, "max_attempts": 7,
                                                       "duration_in_minutes": 60}
    assert us["attack_protection"]["enumeration_protection"]["enabled"] is True
    assert us["sign_in"]["second_factor"]["required"] is True
    assert us["attributes"]["password"]["enabled"] is True
    real_emu.set(single_session=False, password_enabled=False)
    env = real_emu.fapi("GET", "/v1/environment", token=None).json()
    assert env["auth_config"]["single_session_mode"] is False
    assert env["user_settings"]["attributes"]["password"]["enabled"] is False


def test_ready_json_names_the_profile(real_emu, emu):
    assert real_emu.ready["profile"] == "real" and emu.ready["profile"] == "kind"
    assert real_emu.ready["settings"] == instance.defaults("real")


def test_sts_pending_jwt_fault(real_emu):
    r, sess = complete(real_emu, "bob", "battery staple")
    assert sess["status"] == "active" and "sts" not in claims(sess["last_active_token"]["jwt"])
    real_emu.fault("jwt", kind="sts_pending", count=1)
    c = claims(real_emu.session_token(sess["id"], r.token).json()["jwt"])
    assert c["sts"] == "pending" and c["sid"] == sess["id"]
    assert "sts" not in claims(real_emu.session_token(sess["id"], r.token).json()["jwt"])


def test_readme_documents_every_setting_and_switch():
    import fapi_emulator
    import os
    text = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.md")).read()
    for name in instance.SPECS:
        assert "`%s`" % name in text, name
    for flag, _, _, _ in fapi_emulator.SWITCHES:
        assert "`%s`" % flag in text, flag
    for flag in ("--profile real|kind", "--proxy-path /PATH", "--issuer URL", "--set KEY=JSON"):
        assert flag in text, flag
