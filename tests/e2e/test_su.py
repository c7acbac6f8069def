"""su to a test account through a PAM stack that uses pam_clerk, typed at a
terminal (pexpect).

su always uses PAM service "su" (or "su-l" for "su -"), so the test runs it
in a private mount namespace whose /etc/pam.d holds a throwaway stack under
those names; the host's /etc/pam.d/su is not touched. The caller is the
unprivileged "nobody" (setpriv), so su asks for the target's password.
"""
import pwd

import pytest

import e2e
from e2e import DEMO_PASSWORD, DEMO_USER, LOCAL_PASSWORD

pytestmark = [e2e.needs_root, e2e.needs_tools("su", "setpriv", "unshare", "useradd"),
              e2e.needs_python_module("pexpect", "python3-pexpect")]


@pytest.fixture
def demo():
    with e2e.Account(DEMO_USER, local_password=LOCAL_PASSWORD) as a:
        yield a


@pytest.fixture
def su_sandbox(tmp_path, syslog, emu, conf):
    def make(frontend_api=None):
        sb = e2e.Sandbox(tmp_path / "sandbox", syslog)
        args = e2e.module_args(emu, conf, frontend_api=frontend_api,
                               extra=e2e.state_args(tmp_path))
        stack = e2e.clerk_then_unix(e2e.MODULE, args)
        sb.service("su", stack)
        sb.service("su-l", stack)
        return sb
    return make


def su_dialogue(sb, password, login=True):
    """Run su as nobody in a terminal; returns (exit status, transcript)."""
    import pexpect
    nobody = pwd.getpwnam("nobody")
    cmd = ["setpriv", "--reuid=%d" % nobody.pw_uid, "--regid=%d" % nobody.pw_gid,
           "--clear-groups", "--", "su"] + (["-"] if login else []) + [
        DEMO_USER, "-c", "echo su-ok-$(id -un)-$PWD"]
    argv = sb.argv(cmd)
    child = pexpect.spawn(argv[0], argv[1:], env=e2e.clean_env(), encoding="utf-8",
                          timeout=30, cwd="/")
    try:
        child.expect(r"Password: ")
        child.sendline(password)
        child.expect(pexpect.EOF)
    except pexpect.ExceptionPexpect as e:
        raise AssertionError("su dialogue: %r, before: %r" % (type(e).__name__, child.before))
    finally:
        child.close()
    return child.exitstatus, child.before


def test_su_with_the_clerk_password(demo, su_sandbox, syslog, emu):
    status, out = su_dialogue(su_sandbox(), DEMO_PASSWORD)
    assert status == 0, "%s\n--- syslog:\n%s" % (out, syslog.text())
    assert "su-ok-%s-%s" % (DEMO_USER, demo.home) in out
    line = syslog.wait_for(r"pam_clerk\(su-l:auth\).* outcome=success")
    assert line and "user=ileap-demo" in line, syslog.text()
    sign_ins = [r for r in emu.requests() if r["path"] == "/v1/client/sign_ins"]
    assert [r["form"]["identifier"] for r in sign_ins] == ["ileap-demo@way.cloud"]


def test_su_without_dash(demo, su_sandbox, syslog, emu):
    status, out = su_dialogue(su_sandbox(), DEMO_PASSWORD, login=False)
    assert status == 0, "%s\n--- syslog:\n%s" % (out, syslog.text())
    assert "su-ok-%s-/" % DEMO_USER in out
    assert syslog.wait_for(r"pam_clerk\(su:auth\).* outcome=success"), syslog.text()


def test_su_wrong_password(demo, su_sandbox, syslog, emu):
    status, out = su_dialogue(su_sandbox(), "not the password")
    assert status != 0 and "su-ok" not in out
    assert "Authentication failure" in out, out
    assert syslog.wait_for(r"pam_clerk\(su-l:auth\).* outcome=bad_credentials"), syslog.text()


def test_su_during_an_outage_takes_the_local_password(demo, su_sandbox, syslog, emu):
    status, out = su_dialogue(su_sandbox(frontend_api=e2e.dead_url()), LOCAL_PASSWORD)
    assert status == 0, "%s\n--- syslog:\n%s" % (out, syslog.text())
    assert "su-ok-%s" % DEMO_USER in out
    assert syslog.wait_for(r"pam_clerk\(su-l:auth\).* outcome=network_error "
                           r"pam=PAM_AUTHINFO_UNAVAIL"), syslog.text()
