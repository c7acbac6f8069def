"""A password sign-in through real libpam: success, what goes on the wire,
and passwords that need escaping."""
import pytest

DEMO = "ileap-demo@way.cloud"
DEMO_PASSWORD = "HelloPrimaryData"


def sign_in_requests(emu):
    return [r for r in emu.requests() if r["path"] == "/v1/client/sign_ins"]


def test_success_is_one_native_request(pam, emu):
    pam.service()
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
    reqs = emu.requests()
    # One sign-in request; then (end_session=auth, the default) the session's end.
    assert len(reqs) == 2 and reqs[1]["path"].endswith("/end"), reqs
    req = reqs[0]
    assert req["method"] == "POST" and req["path"] == "/v1/client/sign_ins"
    assert req["query"].get("_is_native") == "1"
    assert req["headers"].get("clerk-api-version") == "2026-05-12"
    assert "__clerk_api_version" not in req["query"]
    assert req["authorization"]["present"] and req["authorization"]["empty"]
    assert "origin" not in req["headers"]
    assert req["headers"].get("user-agent", "").startswith("pam_clerk/")
    assert req["headers"].get("content-type") == "application/x-www-form-urlencoded"
    assert req["form"]["strategy"] == "password"
    assert req["form"]["identifier"] == DEMO
    assert req["form"]["password"] == "<redacted:%d>" % len(DEMO_PASSWORD)
    assert req["status"] == 200 and req["sign_in_status"] == "complete"
    line = r.attempt_line()
    assert "outcome=success" in line and "pam=PAM_SUCCESS" in line
    assert "requests=2" in line and "user=%s" % DEMO in line  # the sign-in, the end


def test_identifier_format_maps_the_pam_user(pam, emu):
    pam.service(extra_args=["identifier=%u@way.cloud"])
    pam.expect("ileap-demo", DEMO_PASSWORD, "PAM_SUCCESS")
    assert sign_in_requests(emu)[0]["form"]["identifier"] == DEMO


def test_api_version_is_configurable(pam, emu):
    pam.service(extra_args=["api_version=2025-11-10"])
    pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
    assert emu.requests()[0]["headers"]["clerk-api-version"] == "2025-11-10"


@pytest.mark.parametrize("password", [
    "a&b=c+d%e",
    "quote\"single'back\\slash",
    "spaces  and\ttab",
    "ünïcödé-密码-🔑",
    "%00%26%3D",
    "x" * 1000,
    "&" * 300 + "=" * 300 + "%" * 300,
], ids=["form-specials", "quotes-backslash", "whitespace", "utf8", "pre-escaped",
        "1000-chars", "1000-specials"])
def test_passwords_survive_form_encoding(pam, emu, password):
    emu.add_user({"id": "user_escape", "identifiers": ["escape@way.cloud"],
                  "password": password})
    pam.service()
    pam.expect("escape@way.cloud", password, "PAM_SUCCESS")
    # One character more or less must fail: the emulator compares exactly.
    pam.expect("escape@way.cloud", password + "x", "PAM_AUTH_ERR")
    pam.expect("escape@way.cloud", password[:-1], "PAM_AUTH_ERR")


def test_empty_password_is_refused_without_a_request(pam, emu):
    pam.service()
    r = pam.expect(DEMO, "", "PAM_AUTH_ERR")
    assert emu.requests() == []
    assert r.outcome() == "empty_password"


def test_setcred_and_acct_mgmt_follow_a_success(pam, emu):
    pam.service()
    r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_SUCCESS"),
                                          ("setcred", "PAM_SUCCESS"),
                                          ("acct_mgmt", "PAM_SUCCESS"),
                                          ("open_session", "PAM_SUCCESS"),
                                          ("close_session", "PAM_SUCCESS")])
    assert r.ok, r
    # The sign-in, then (end_session=close) the session ends with the PAM session.
    assert [q["path"] for q in emu.requests()] == [
        "/v1/client/sign_ins", "/v1/client/sessions/%s/end" % sessions(emu)[0]["id"]]
    assert sessions(emu)[0]["status"] == "ended"


def sessions(emu):
    return emu.control("GET", "sessions")


def test_setcred_replays_a_failure(pam, emu):
    pam.service()
    r = pam.run(DEMO, "wrong", ops=[("authenticate", "PAM_AUTH_ERR"),
                                    ("setcred", "PAM_AUTH_ERR")])
    assert r.ok, r


def test_acct_mgmt_without_authentication_is_not_ours(pam, emu):
    # pam_clerk returns PAM_IGNORE; pam_permit then decides the stack.
    pam.service(lines=[
        "account required %s %s" % (pam_module(), " ".join(pam.base_args())),
        "account required pam_permit.so"])
    r = pam.run(DEMO, ops=[("acct_mgmt", "PAM_SUCCESS")])
    assert r.ok, r
    assert emu.requests() == []
    # Alone in the stack, an ignoring module cannot grant access.
    pam.service(lines=["account required %s %s" % (pam_module(), " ".join(pam.base_args()))])
    r = pam.run(DEMO, ops=[("acct_mgmt", "PAM_SUCCESS")])
    assert not r.ok and r.actual != 0, r


def pam_module():
    from conftest import MODULE
    return MODULE
