"""A real OpenSSH server (Debian's /usr/sbin/sshd) with PAM service "sshd" =
pam_clerk before pam_unix, as README gives it:

    auth [success=done authinfo_unavail=ignore default=die] pam_clerk.so ...
    auth required pam_unix.so try_first_pass

sshd listens on 127.0.0.1:<free port> with its own sshd_config and host key,
in a private mount namespace whose /etc/pam.d is the test's (the host's sshd
configuration and PAM files are not touched). Logins are by sshpass ssh
(PasswordAuthentication) and by pexpect (keyboard-interactive).
"""
import re

import pytest

import e2e
from e2e import DEMO_PASSWORD, DEMO_USER, LOCAL_PASSWORD, MFA_PASSWORD, MFA_USER, \
    NOBODY_IN_CLERK

pytestmark = [e2e.needs_root,
              e2e.needs_tools("/usr/sbin/sshd", "ssh", "ssh-keygen", "sshpass", "unshare",
                              "pamtester", "useradd")]


@pytest.fixture
def demo():
    """Local account ileap-demo (Clerk: ileap-demo@way.cloud), with a local
    password that is not the Clerk one."""
    with e2e.Account(DEMO_USER, local_password=LOCAL_PASSWORD) as a:
        yield a


@pytest.fixture
def stranger():
    """A local account whose identifier Clerk does not know; it has a local password."""
    with e2e.Account(NOBODY_IN_CLERK, local_password=LOCAL_PASSWORD) as a:
        yield a


def start_sshd(tmp_path, syslog, emu, conf, users, frontend_api=None, extra=(),
               control=e2e.CLERK_FIRST, **kw):
    args = e2e.module_args(emu, conf, frontend_api=frontend_api,
                           extra=e2e.state_args(tmp_path) + list(extra))
    sshd = e2e.Sshd(tmp_path / "sshd", syslog,
                    e2e.clerk_then_unix(e2e.MODULE, args, control=control), users, **kw)
    return sshd.start()


@pytest.fixture
def sshd_factory(tmp_path, syslog, emu, conf):
    started = []

    def make(users, **kw):
        s = start_sshd(tmp_path, syslog, emu, conf, users, **kw)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


def sign_ins(emu):
    return [r for r in emu.requests() if r["method"] == "POST"
            and r["path"] == "/v1/client/sign_ins"]


@pytest.mark.parametrize("control", [e2e.CLERK_FIRST, e2e.CLERK_FIRST_KBDINT],
                         ids=["readme-stack", "ignore=ignore"])
def test_password_login_runs_a_command(control, demo, sshd_factory, syslog, emu):
    sshd = sshd_factory([DEMO_USER], control=control)
    p = sshd.sshpass(DEMO_USER, DEMO_PASSWORD, "id -un; echo home=$HOME; echo clerk-e2e-ok")
    assert p.returncode == 0, "ssh failed (%d): %s\n--- sshd:\n%s\n--- syslog:\n%s" % (
        p.returncode, p.stderr, sshd.log(), syslog.text())
    assert p.stdout.splitlines() == [DEMO_USER, "home=%s" % demo.home, "clerk-e2e-ok"]
    # One sign-in, for the mapped identifier, and pam_clerk's log line says so.
    reqs = sign_ins(emu)
    assert len(reqs) == 1, reqs
    assert reqs[0]["form"]["identifier"] == "ileap-demo@way.cloud"
    assert reqs[0]["form"]["password"].startswith("<redacted")
    line = syslog.wait_for(r"pam_clerk\(sshd:auth\).* outcome=success")
    assert line and "user=ileap-demo" in line and "pam=PAM_SUCCESS" in line, syslog.text()


def test_wrong_password_is_refused(demo, sshd_factory, syslog, emu):
    sshd = sshd_factory([DEMO_USER])
    p = sshd.sshpass(DEMO_USER, "not the password", "echo clerk-e2e-ok")
    assert p.returncode != 0 and "clerk-e2e-ok" not in p.stdout
    assert "Permission denied" in p.stderr, p.stderr
    assert syslog.wait_for(r"pam_clerk\(sshd:auth\).* outcome=bad_credentials "
                           r"pam=PAM_AUTH_ERR"), syslog.text()
    assert [r["clerk_error"] for r in sign_ins(emu)] == ["form_password_incorrect"]


def test_local_password_does_not_count_while_clerk_answers(demo, sshd_factory, syslog, emu):
    """default=die: Clerk's "wrong password" ends the stack; pam_unix never runs."""
    sshd = sshd_factory([DEMO_USER])
    p = sshd.sshpass(DEMO_USER, LOCAL_PASSWORD, "echo clerk-e2e-ok")
    assert p.returncode != 0 and "clerk-e2e-ok" not in p.stdout
    assert syslog.wait_for(r"outcome=bad_credentials"), syslog.text()
    assert not syslog.wait_for(r"pam_unix\(sshd:auth\).*(success|authentication failure)",
                               timeout=0.5), syslog.text()


def test_unknown_clerk_user_is_refused(stranger, sshd_factory, syslog, emu):
    sshd = sshd_factory([NOBODY_IN_CLERK])
    p = sshd.sshpass(NOBODY_IN_CLERK, LOCAL_PASSWORD, "echo clerk-e2e-ok")
    assert p.returncode != 0 and "clerk-e2e-ok" not in p.stdout
    assert "Permission denied" in p.stderr, p.stderr
    reqs = sign_ins(emu)
    assert [(r["form"]["identifier"], r["clerk_error"]) for r in reqs] == [
        ("clerk-e2e-nobody@way.cloud", "form_identifier_not_found")]
    # Unknown user and wrong password look the same, in the log too.
    assert syslog.wait_for(r"user=clerk-e2e-nobody .*outcome=bad_credentials "
                           r"pam=PAM_AUTH_ERR"), syslog.text()


def test_outage_falls_back_to_the_local_password(demo, sshd_factory, syslog, emu):
    """Clerk unreachable (nothing listens on the port): authinfo_unavail=ignore
    lets pam_unix check the password already typed; the outage is logged."""
    sshd = sshd_factory([DEMO_USER], frontend_api=e2e.dead_url())
    p = sshd.sshpass(DEMO_USER, LOCAL_PASSWORD, "id -un")
    assert p.returncode == 0, "ssh failed (%d): %s\n--- sshd:\n%s\n--- syslog:\n%s" % (
        p.returncode, p.stderr, sshd.log(), syslog.text())
    assert p.stdout.strip() == DEMO_USER
    line = syslog.wait_for(r"pam_clerk\(sshd:auth\).* outcome=network_error")
    assert line and "pam=PAM_AUTHINFO_UNAVAIL" in line and "user=ileap-demo" in line, \
        syslog.text()
    # The Clerk password is no key to the local account during an outage.
    syslog.clear()
    p = sshd.sshpass(DEMO_USER, DEMO_PASSWORD, "id -un")
    assert p.returncode != 0, p.stdout
    assert syslog.wait_for(r"outcome=network_error"), syslog.text()
    assert emu.requests() == []


@pytest.fixture
def demo_without_local_password():
    with e2e.Account(DEMO_USER) as a:
        yield a


def test_outage_without_local_password_is_refused(demo_without_local_password, sshd_factory,
                                                   syslog, emu):
    """An account with no local password has nothing to fall back to."""
    sshd = sshd_factory([DEMO_USER], frontend_api=e2e.dead_url())
    p = sshd.sshpass(DEMO_USER, DEMO_PASSWORD, "id -un")
    assert p.returncode != 0, p.stdout
    assert syslog.wait_for(r"outcome=network_error"), syslog.text()


# ---- the session token in the shell, and second factors -----------------------------------
# Both exist: a probe that finds them missing is a regression, and fails.
def test_export_env_is_visible_in_the_shell(demo, sshd_factory, syslog, emu):
    assert e2e.ModuleProbe.accepts("export_env"), "the module no longer accepts export_env"
    sshd = sshd_factory([DEMO_USER], extra=["export_env"])
    p = sshd.sshpass(DEMO_USER, DEMO_PASSWORD, "env")
    assert p.returncode == 0, "%s\n%s\n%s" % (p.stderr, sshd.log(), syslog.text())
    env = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
    clerk = {k: v for k, v in env.items() if k.startswith("CLERK_")}
    assert clerk.get("CLERK_SESSION_ID", "").startswith("sess_"), clerk
    assert clerk.get("CLERK_USER_ID") == "user_ileapdemo", clerk
    token = clerk.get("CLERK_SESSION_TOKEN")
    if token is not None:
        # The session JWT of this very sign-in, with Clerk's 60 s lifetime.
        claims = jwt_claims(token)
        assert claims["sid"] == clerk["CLERK_SESSION_ID"], claims
        assert claims["sub"] == clerk["CLERK_USER_ID"], claims
        assert claims["exp"] - claims["iat"] == 60, claims
    # Nothing else of the login leaks into the shell.
    assert DEMO_PASSWORD not in p.stdout


def test_without_export_env_nothing_is_exported(demo, sshd_factory, syslog, emu):
    sshd = sshd_factory([DEMO_USER])
    p = sshd.sshpass(DEMO_USER, DEMO_PASSWORD, "env")
    assert p.returncode == 0, "%s\n%s\n%s" % (p.stderr, sshd.log(), syslog.text())
    assert not [ln for ln in p.stdout.splitlines() if ln.startswith("CLERK_")], p.stdout


def jwt_claims(token):
    import base64
    import json
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def second_factor_ready():
    """(ok, reason): the emulator has a TOTP secret for mfa-user and the module
    asks for a code after the password."""
    user = e2e.emulator_user(identifier=MFA_USER)
    if not user or not user.get("totp_secret"):
        return False, "no TOTP secret for mfa-user in tests/emulator/users.json"
    return True, ""


def module_asks_for_a_code(sandbox_dir, syslog, emu, conf, state):
    sb = e2e.Sandbox(sandbox_dir, syslog)
    # mfa-user has no local account yet: the probe asks Clerk about any name
    sb.service("clerk-mfa-probe", ["auth required %s %s" % (
        e2e.MODULE, " ".join(e2e.module_args(emu, conf,
                                             extra=state + ["local_accounts_only=no"])))])
    p = sb.run(["pamtester", "-v", "clerk-mfa-probe", MFA_USER, "authenticate"],
               input=MFA_PASSWORD + "\n000000\n", timeout=60)
    return re.search(r"(?i)\bcode\b[^\n]*: ", p.stdout + p.stderr) is not None


@pytest.fixture
def mfa(tmp_path, syslog, emu, conf):
    ok, why = second_factor_ready()
    assert ok, why
    assert module_asks_for_a_code(tmp_path / "probe", syslog, emu, conf,
                                  e2e.state_args(tmp_path)), \
        "the module no longer prompts for a verification code"
    emu.reset()
    syslog.clear()
    with e2e.Account(MFA_USER) as a:
        a.totp_secret = e2e.emulator_user(identifier=MFA_USER)["totp_secret"]
        yield a


@e2e.needs_python_module("pexpect", "python3-pexpect")
def test_keyboard_interactive_with_a_totp_code(mfa, sshd_factory, syslog, emu):
    import pexpect
    sshd = sshd_factory([MFA_USER], password=False, kbdint=True,
                        control=e2e.CLERK_FIRST_KBDINT)
    argv = sshd.ssh_argv(MFA_USER, "echo mfa-ok-$(id -un)", auth="keyboard-interactive")
    child = pexpect.spawn(argv[0], argv[1:], env=e2e.clean_env(), encoding="utf-8",
                          timeout=30)
    try:
        child.expect(r"(?i)password[^\n]*: ?")
        child.sendline(MFA_PASSWORD)
        child.expect(r"(?i)\bcode\b[^\n]*: ")
        child.sendline(e2e.totp(mfa.totp_secret))
        child.expect("mfa-ok-%s" % MFA_USER)
        child.expect(pexpect.EOF)
    except pexpect.ExceptionPexpect as e:
        raise AssertionError("ssh dialogue: %r\nbefore: %r\n--- sshd:\n%s\n--- syslog:\n%s"
                             % (type(e).__name__, child.before, sshd.log(), syslog.text()))
    finally:
        child.close()
    assert child.exitstatus == 0, "%s\n%s" % (sshd.log(), syslog.text())
    assert syslog.wait_for(r"pam_clerk\(sshd:auth\).*user=mfa-user.* outcome=success"), \
        syslog.text()


def test_password_authentication_cannot_take_a_second_factor(mfa, sshd_factory, syslog,
                                                             emu):
    """PasswordAuthentication answers one prompt only (PAM-NOTES 14): refused."""
    sshd = sshd_factory([MFA_USER], password=True, kbdint=False)
    p = sshd.sshpass(MFA_USER, MFA_PASSWORD, "echo mfa-ok")
    assert p.returncode != 0 and "mfa-ok" not in p.stdout
    assert syslog.wait_for(r"pam_clerk\(sshd:auth\).*user=mfa-user.* outcome=(?!success)"), \
        syslog.text()


@e2e.needs_python_module("pexpect", "python3-pexpect")
@pytest.mark.parametrize("control", [
    e2e.CLERK_FIRST_KBDINT,
    # README's stack: setcred answers PAM_SUCCESS when sshd authenticated in
    # another process, so default=die does not end the login there.
    e2e.CLERK_FIRST,
], ids=["ignore=ignore", "readme-stack"])
def test_keyboard_interactive_password(control, demo, sshd_factory, syslog, emu):
    """KbdInteractiveAuthentication, typed at the prompt in a terminal."""
    import pexpect
    sshd = sshd_factory([DEMO_USER], password=False, kbdint=True, control=control)
    argv = sshd.ssh_argv(DEMO_USER, "echo kbd-ok-$(id -un)", auth="keyboard-interactive")
    child = pexpect.spawn(argv[0], argv[1:], env=e2e.clean_env(), encoding="utf-8",
                          timeout=30)
    try:
        child.expect(r"(?i)password[^\n]*: ?")
        child.sendline(DEMO_PASSWORD)
        child.expect("kbd-ok-%s" % DEMO_USER)
        child.expect(pexpect.EOF)
    except pexpect.ExceptionPexpect as e:
        raise AssertionError("ssh dialogue: %r\nbefore: %r\n--- sshd:\n%s\n--- syslog:\n%s"
                             % (type(e).__name__, child.before, sshd.log(), syslog.text()))
    finally:
        child.close()
    assert child.exitstatus == 0
    assert syslog.wait_for(r"pam_clerk\(sshd:auth\).*user=ileap-demo.* outcome=success")
