"""README's sudo recipe (etc/sudo.pam) in Debian's own /etc/pam.d/sudo, in
place of "@include common-auth": the test account runs sudo in a terminal
(pexpect) and types its Clerk password. sudo uses a test /etc/sudoers
(the account may run anything) bound over the real one in the sandbox.

sudo hands the PAM environment to the command it runs as root, which is
why export_env belongs on sshd's line and never in sudo's stack or in the
shared configuration file: one test shows what would happen.
"""
import os

import pytest

import e2e
import recipes
from e2e import DEMO_PASSWORD, DEMO_USER, LOCAL_PASSWORD

pytestmark = [e2e.needs_root, e2e.needs_tools("/usr/bin/sudo", "setpriv", "unshare",
                                              "useradd"),
              e2e.needs_python_module("pexpect", "python3-pexpect"),
              pytest.mark.skipif(not os.path.isfile("/etc/pam.d/sudo"),
                                 reason="no /etc/pam.d/sudo (apt-get install sudo)")]

SUDOERS = """Defaults env_reset
Defaults !lecture
Defaults timestamp_timeout=0
Defaults passwd_tries=1
root ALL=(ALL:ALL) ALL
%s ALL=(ALL:ALL) ALL
""" % DEMO_USER


@pytest.fixture
def demo():
    with e2e.Account(DEMO_USER, local_password=LOCAL_PASSWORD) as a:
        yield a


@pytest.fixture
def sudo_sandbox(tmp_path, syslog, emu, conf):
    def make(conf_file=None, frontend_api=None, extra=()):
        sb = e2e.Sandbox(tmp_path / "sandbox", syslog)
        args = e2e.module_args(emu, conf_file or conf, frontend_api=frontend_api,
                               extra=e2e.state_args(tmp_path) + list(extra))
        sb.stack = recipes.splice(sb, "sudo", "sudo.pam", e2e.MODULE, args)
        sudoers = e2e.write_root_file(str(tmp_path / "sudoers"), SUDOERS, mode=0o440)
        sb.bind(sudoers, "/etc/sudoers")
        return sb
    return make


def sudo_dialogue(sb, account, password, syslog):
    """The account runs "sudo -k env" in a terminal: (root's env dict or None, transcript)."""
    import pexpect
    cmd = ["setpriv", "--reuid=%d" % account.uid, "--regid=%d" % account.gid,
           "--init-groups", "--", "/usr/bin/sudo", "-k", "-p", "SUDO-PW: ", "--",
           "/bin/sh", "-c", "echo SUDO-UID=$(id -u); env; echo SUDO-''END"]
    argv = sb.argv(cmd)
    child = pexpect.spawn(argv[0], argv[1:], env=e2e.clean_env({"USER": DEMO_USER}),
                          encoding="utf-8", timeout=30, cwd="/")
    try:
        child.expect(r"SUDO-PW: ")
        child.sendline(password)
        i = child.expect([r"SUDO-UID=(\d+)\r?\n", pexpect.EOF])
        if i == 1:
            return None, child.before
        uid = int(child.match.group(1))
        child.expect(r"SUDO-END")
        env = dict(ln.split("=", 1) for ln in child.before.splitlines() if "=" in ln)
        env["<uid>"] = uid
        child.expect(pexpect.EOF)
        return env, child.before
    except pexpect.ExceptionPexpect as e:
        raise AssertionError("sudo dialogue: %r\nbefore: %r\n--- syslog:\n%s"
                             % (type(e).__name__, child.before, syslog.text()))
    finally:
        child.close(force=True)


def test_clerk_password_runs_the_command_as_root(demo, sudo_sandbox, syslog, emu):
    env, out = sudo_dialogue(sudo_sandbox(), demo, DEMO_PASSWORD, syslog)
    assert env is not None, "%s\n--- syslog:\n%s" % (out, syslog.text())
    assert env["<uid>"] == 0
    assert syslog.wait_for(r"pam_clerk\(sudo:auth\).*user=ileap-demo.* outcome=success")
    # The recipe exports nothing: root's environment has no Clerk token.
    assert not [k for k in env if k.startswith("CLERK_")], env


def test_wrong_and_local_passwords_are_refused(demo, sudo_sandbox, syslog, emu):
    sb = sudo_sandbox()
    for pw in ("not the password", LOCAL_PASSWORD):
        env, out = sudo_dialogue(sb, demo, pw, syslog)
        assert env is None, env
    assert [a.split(" outcome=")[1].split()[0] for a in syslog.attempts()] == [
        "bad_credentials", "bad_credentials"], syslog.text()


def test_configuration_error_lets_the_local_password_decide(demo, sudo_sandbox, syslog, emu,
                                                             tmp_path):
    sb = sudo_sandbox(conf_file=recipes.typo_conf(str(tmp_path / "typo.conf")))
    env, out = sudo_dialogue(sb, demo, LOCAL_PASSWORD, syslog)
    assert env is not None and env["<uid>"] == 0, "%s\n--- syslog:\n%s" % (out, syslog.text())
    line = syslog.wait_for(r"pam_clerk\(sudo:auth\).*outcome=config_error")
    assert line and "publishable_kye" in line, syslog.text()
    assert emu.requests() == []


def test_export_env_in_sudo_would_hand_root_the_users_token(demo, sudo_sandbox, syslog, emu):
    """Why the recipe never sets export_env for sudo: sudo merges the PAM
    environment into the command's, so root's environment gets the token."""
    if not e2e.ModuleProbe.accepts("export_env"):
        pytest.skip("the module does not accept export_env")
    env, out = sudo_dialogue(sudo_sandbox(extra=["export_env"]), demo, DEMO_PASSWORD, syslog)
    assert env is not None, "%s\n--- syslog:\n%s" % (out, syslog.text())
    assert env["<uid>"] == 0
    assert env.get("CLERK_SESSION_ID", "").startswith("sess_"), env
