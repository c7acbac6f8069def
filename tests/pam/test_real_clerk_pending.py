"""Issue 12 item 1: a pending session (status "pending" with tasks) is not a signed-in
user, whatever the settings; a session token with `sts: "pending"` is refused wherever it
is verified; the pending session the login created is ended."""
import pytest

from real_clerk import jwt_claims, refused



def live_sessions(emu, user_id):
    return [s for s in emu.sessions(user_id=user_id) if s["status"] in ("active", "pending")]


@pytest.mark.parametrize("args", [[], ["export_env", "end_session=never"]],
                         ids=["plain", "export_env"])
def test_reset_password_task_is_password_compromised(real_pam, real_emu, args):
    real_pam.service(extra_args=args)
    r = real_pam.run("resetpw-user", "resetpw password",
                     ops=[("authenticate", "PAM_AUTH_ERR")])
    assert r.ok, r
    assert r.outcome() == "password_compromised"
    assert any("breach" in m or "reset" in m.lower() for m in r.errors + r.info), r
    assert live_sessions(real_emu, "user_resetpw") == []


def test_setup_mfa_task_is_refused(real_pam, real_emu):
    real_pam.service()
    # the expected code is named: pypamtest keeps the messages only when every op
    # returns what was expected, so refused() alone could never see them
    r = real_pam.run("setupmfa-user", "setupmfa password",
                     ops=[("authenticate", "PAM_CRED_INSUFFICIENT")])
    assert r.ok, r
    assert r.outcome() == "mfa_setup_required"
    assert any("MFA" in m or "two-step" in m or "second factor" in m
               for m in r.errors + r.info), r
    assert live_sessions(real_emu, "user_setupmfa") == []


def test_required_mfa_for_the_instance_is_refused(real_pam, real_emu):
    # bob has no second factor; the instance requires one: setup-mfa task
    real_emu.set(require_mfa=True)
    real_pam.service(extra_args=["export_env", "end_session=never"])
    r = real_pam.run("bob", "battery staple", ops=[("authenticate", "PAM_SUCCESS")])
    assert refused(r), r
    assert live_sessions(real_emu, "user_bob") == []


def test_choose_organization_without_organization_is_refused(real_pam, real_emu):
    real_pam.service()
    r = real_pam.run("chooseorg-user", "chooseorg password",
                     ops=[("authenticate", "PAM_SUCCESS")])
    assert refused(r), r
    assert live_sessions(real_emu, "user_chooseorg") == []


def test_choose_organization_with_organization_activates_it(real_pam, real_emu):
    # organization= is set: the module chooses it, the session is then active (not marked:
    # today's module already touches the session with the slug, which resolves the task)
    real_pam.service(extra_args=["export_env", "end_session=never", "organization=team"])
    r = real_pam.run("chooseorg-user", "chooseorg password",
                     ops=[("authenticate", "PAM_SUCCESS"), ("getenvlist", "PAM_SUCCESS")])
    assert r.ok, r
    assert r.env["CLERK_ORG_ID"] == "org_team"
    assert "sts" not in jwt_claims(r.env["CLERK_SESSION_TOKEN"])
    s = real_emu.sessions(user_id="user_chooseorg")
    assert [x["status"] for x in s] == ["active"]


def test_force_organization_without_organization_is_refused(real_pam, real_emu):
    real_emu.set(force_organization=True)
    real_pam.service(extra_args=["end_session=never"])
    r = real_pam.run("bob", "battery staple", ops=[("authenticate", "PAM_SUCCESS")])
    assert refused(r), r
    assert live_sessions(real_emu, "user_bob") == []


@pytest.mark.parametrize("args", [["export_env"], ["organization=org_ops"]],
                         ids=["sign-in-token", "org-token"])
def test_sts_pending_token_is_refused(real_pam, real_emu, args):
    # the session answers "active" but its token says pending: the token decides
    real_pam.service(extra_args=args + ["end_session=never"])
    real_emu.fault("jwt", kind="sts_pending")
    r = real_pam.run("alice", "correct horse", ops=[("authenticate", "PAM_SUCCESS")])
    assert refused(r), r
    assert r.outcome() in ("jwt_invalid", "not_authorized", "needs_more_factors"), r

