"""Every way Clerk can say no, and every way it can fail, ends in the PAM
code of the outcome table, with one log line, and never in PAM_SUCCESS."""
import pytest

DEMO = "ileap-demo@way.cloud"
DEMO_PASSWORD = "HelloPrimaryData"


def test_wrong_password_and_unknown_user_look_the_same(pam, emu):
    pam.service()
    wrong = pam.expect(DEMO, "not-the-password", "PAM_AUTH_ERR")
    unknown = pam.expect("nobody@way.cloud", "whatever", "PAM_AUTH_ERR")
    assert wrong.outcome() == unknown.outcome() == "bad_credentials"
    assert wrong.errors == unknown.errors == []
    assert wrong.info == unknown.info == []
    codes = [r["clerk_error"] for r in emu.requests()]
    assert codes == ["form_password_incorrect", "form_identifier_not_found"]


def test_locked_user(pam, emu):
    pam.service()
    r = pam.expect("locked-user", "whatever", "PAM_MAXTRIES")
    assert r.outcome() == "locked"
    assert "clerk_error=user_locked" in r.attempt_line()


def test_lockout_after_repeated_failures(pam, emu):
    pam.service()
    emu.add_user({"id": "user_lockme", "identifiers": ["lockme"], "password": "right"})
    codes = []
    for _ in range(12):
        r = pam.run("lockme", "wrong", ops=[("authenticate", "PAM_AUTH_ERR")])
        codes.append("PAM_AUTH_ERR" if r.ok else r.actual)
    assert codes[0] == "PAM_AUTH_ERR"
    assert 11 in codes, codes  # PAM_MAXTRIES once Clerk locks the account
    # Locked means locked: even the right password is refused now.
    pam.expect("lockme", "right", "PAM_MAXTRIES")


@pytest.mark.parametrize("user,code,outcome", [
    ("banned-user", "PAM_PERM_DENIED", "banned"),
])
def test_banned(pam, emu, user, code, outcome):
    pam.service()
    assert pam.expect(user, "whatever", code).outcome() == outcome


@pytest.mark.parametrize("clerk_code,pam_code,outcome", [
    ("user_deactivated", "PAM_PERM_DENIED", "banned"),
    ("form_password_pwned", "PAM_AUTH_ERR", "password_compromised"),
    ("strategy_for_user_invalid", "PAM_AUTH_ERR", "bad_credentials"),
    ("session_exists", "PAM_AUTH_ERR", "session_exists"),
    ("identifier_already_signed_in", "PAM_AUTH_ERR", "session_exists"),
    ("native_api_disabled", "PAM_SERVICE_ERR", "misconfigured"),
    ("host_invalid", "PAM_SERVICE_ERR", "misconfigured"),
    ("api_version_invalid", "PAM_SERVICE_ERR", "misconfigured"),
    ("origin_authorization_headers_conflict", "PAM_SERVICE_ERR", "misconfigured"),
    ("captcha_invalid", "PAM_AUTH_ERR", "rejected"),
])
def test_clerk_error_codes(pam, emu, clerk_code, pam_code, outcome):
    pam.service()
    emu.fault("error_code", code=clerk_code)
    r = pam.expect(DEMO, DEMO_PASSWORD, pam_code)
    assert r.outcome() == outcome
    assert "clerk_error=%s" % clerk_code in r.attempt_line()
    if outcome == "misconfigured":
        assert 'fix="' in r.attempt_line()


def test_api_version_refused_by_clerk_tells_the_admin(pam, emu):
    pam.service(extra_args=["api_version=1999-01-01"])
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_SERVICE_ERR")
    assert "clerk_error=api_version_invalid" in r.attempt_line()
    assert "set api_version" in r.attempt_line()


@pytest.mark.parametrize("status,code,outcome", [
    ("needs_first_factor", "PAM_CRED_INSUFFICIENT", "needs_more_factors"),
    ("needs_new_password", "PAM_CRED_INSUFFICIENT", "needs_more_factors"),
    ("needs_protect_check", "PAM_CRED_INSUFFICIENT", "needs_more_factors"),
    ("needs_identifier", "PAM_CRED_INSUFFICIENT", "needs_more_factors"),
    ("abandoned", "PAM_AUTH_ERR", "rejected"),
    ("some_status_from_the_future", "PAM_AUTH_ERR", "unknown_status"),
])
def test_incomplete_statuses_fail_closed(pam, emu, status, code, outcome):
    pam.service()
    emu.fault("sign_in_status", status=status)
    assert pam.expect(DEMO, DEMO_PASSWORD, code).outcome() == outcome


def test_mfa_user_is_not_let_in_without_a_code(pam, emu):
    pam.service()
    assert pam.expect("mfa-user", "mfa password", "PAM_CRED_INSUFFICIENT") \
              .outcome() == "cannot_prompt"


def test_rate_limited_with_retry_after(pam, emu):
    pam.service()
    emu.fault("rate_limit", retry_after=90)
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_MAXTRIES")
    assert r.outcome() == "rate_limited"
    assert len(emu.requests()) == 1  # not retried


def test_rate_limited_without_retry_after(pam, emu):
    pam.service()
    emu.fault("rate_limit", retry_after=None)
    assert pam.expect(DEMO, DEMO_PASSWORD, "PAM_MAXTRIES").outcome() == "rate_limited"


def test_rate_limit_message_reaches_the_user(pam, emu):
    # pypamtest reports messages only for a passing stack: make it pass.
    pam.service(lines=["auth optional %s %s" % (module(), " ".join(pam.base_args())),
                       "auth required pam_permit.so"])
    emu.fault("rate_limit", retry_after=90)
    r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_SUCCESS")])
    assert r.ok, r
    assert any("Try again in 2 minutes" in m for m in r.errors), r.errors


@pytest.mark.parametrize("http_status", [500, 502, 503])
def test_server_errors_are_an_outage(pam, emu, http_status):
    pam.service()
    emu.fault("status", http_status=http_status)
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_AUTHINFO_UNAVAIL")
    assert r.outcome() == "server_error"
    assert len(emu.requests()) == 1  # a password POST is never replayed


@pytest.mark.parametrize("fault,params", [
    ("truncated_json", {}),
    ("malformed_json", {}),
    ("wrong_types", {}),
    ("oversized", {}),
    ("unexpected_status", {"http_status": 418}),
    ("unexpected_status", {"http_status": 204}),
    ("empty_body_200", {}),
    ("redirect", {}),
], ids=["truncated", "malformed", "wrong-types", "oversized", "418", "204",
        "empty-200", "redirect"])
def test_unusable_answers(pam, emu, fault, params):
    pam.service()
    emu.fault(fault, **params)
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_AUTHINFO_UNAVAIL")
    assert r.outcome() == "bad_response"
    assert len(emu.requests()) == 1, "redirects and bad answers are not followed or retried"


def test_answer_without_client_token_still_signs_in(pam, emu):
    pam.service()
    emu.fault("no_client_token")
    pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")


def test_reset_before_answer_is_a_network_error(pam, emu):
    pam.service()
    emu.fault("reset")
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_AUTHINFO_UNAVAIL")
    assert r.outcome() in ("network_error", "bad_response")


def test_reset_mid_body(pam, emu):
    pam.service()
    emu.fault("reset_mid_body")
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_AUTHINFO_UNAVAIL")
    assert r.outcome() in ("network_error", "bad_response")


def test_dev_instance_handshake_then_retry(pam, emu, tmp_path_factory):
    from emulator.control import Emulator
    dev = Emulator(str(tmp_path_factory.mktemp("dev-emulator")), dev_instance=True,
                   profile="kind").start()
    try:
        pam.service(auth_args=["conf=%s" % pam.conf, "frontend_api=%s" % dev.url,
                               "cafile=%s" % dev.ca_file])
        r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
        paths = [(q["path"], q["status"]) for q in dev.requests()]
        # ... and (end_session=auth, the default) the session's end.
        assert paths[:3] == [("/v1/client/sign_ins", 401), ("/v1/dev_browser", 200),
                             ("/v1/client/sign_ins", 200)]
        assert len(paths) == 4 and paths[3][0].endswith("/end") and paths[3][1] == 200
        assert "requests=4" in r.attempt_line()
        # A wrong password on a dev instance is still just a wrong password.
        dev.reset()
        pam.expect(DEMO, "wrong", "PAM_AUTH_ERR")
        assert len(dev.requests()) == 3
    finally:
        dev.stop()


def test_dev_browser_error_on_production_is_not_looped(pam, emu):
    pam.service()
    emu.fault("error_code", code="dev_browser_unauthenticated")
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_SERVICE_ERR")
    # One sign-in, one handshake, one retry at most: never a loop.
    assert len(emu.requests()) <= 3


def test_user_messages_for_lockout(pam, emu):
    pam.service(lines=["auth optional %s %s" % (module(), " ".join(pam.base_args())),
                       "auth required pam_permit.so"])
    r = pam.run("locked-user", "whatever", ops=[("authenticate", "PAM_SUCCESS")])
    assert r.ok, r
    assert any("locked" in m for m in r.errors), r.errors


def module():
    from conftest import MODULE
    return MODULE
