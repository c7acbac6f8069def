"""README's sshd recipe (etc/sshd.pam) in Debian's own /etc/pam.d/sshd, in
place of "@include common-auth", with Debian's sshd on a loopback port:
password logins (sshpass) and keyboard-interactive ones typed in a terminal
(pexpect). Clerk decides; an outage, a configuration error or a missing
module lets the local password decide, and the log says why.
"""
import os
import re

import pytest

import e2e
import recipes
from e2e import DEMO_PASSWORD, DEMO_USER, LOCAL_PASSWORD

pytestmark = [e2e.needs_root,
              e2e.needs_tools("/usr/sbin/sshd", "ssh", "ssh-keygen", "sshpass", "unshare",
                              "setpriv", "useradd"),
              e2e.needs_python_module("pexpect", "python3-pexpect"),
              pytest.mark.skipif(not os.path.isfile("/etc/pam.d/sshd"),
                                 reason="no /etc/pam.d/sshd (apt-get install openssh-server)")]


@pytest.fixture
def demo():
    with e2e.Account(DEMO_USER, local_password=LOCAL_PASSWORD) as a:
        yield a


@pytest.fixture
def recipe_sshd(tmp_path, syslog, emu, conf):
    started = []

    def make(kbdint=False, conf_file=None, frontend_api=None, module=None):
        args = e2e.module_args(emu, conf_file or conf, frontend_api=frontend_api,
                               extra=e2e.state_args(tmp_path))
        sshd = e2e.Sshd(tmp_path / ("sshd%d" % len(started)), syslog, ["# replaced below"],
                        [DEMO_USER], password=not kbdint, kbdint=kbdint)
        stack = recipes.splice(sshd.sandbox, "sshd", "sshd.pam", module or e2e.MODULE, args)
        sshd.stack = stack
        started.append(sshd)
        return sshd.start()

    yield make
    for s in started:
        s.stop()


def kbdint_login(sshd, password, syslog):
    """(exit status, transcript) of ssh -o PreferredAuthentications=keyboard-interactive."""
    import pexpect
    argv = sshd.ssh_argv(DEMO_USER, "echo kbd-ok-$(id -un)", auth="keyboard-interactive")
    child = pexpect.spawn(argv[0], argv[1:], env=e2e.clean_env(), encoding="utf-8",
                          timeout=30)
    try:
        child.expect(r"(?i)password[^\n]*: ?")
        child.sendline(password)
        child.expect(pexpect.EOF)
    except pexpect.ExceptionPexpect as e:
        raise AssertionError("ssh dialogue: %r\nbefore: %r\n--- sshd:\n%s\n--- syslog:\n%s"
                             % (type(e).__name__, child.before, sshd.log(), syslog.text()))
    finally:
        child.close()
    return child.exitstatus, child.before


def login(sshd, mode, password, syslog):
    """(ok, output) of one login in mode "password" or "kbdint"."""
    if mode == "password":
        p = sshd.sshpass(DEMO_USER, password, "echo kbd-ok-$(id -un)")
        return p.returncode == 0 and "kbd-ok-%s" % DEMO_USER in p.stdout, p.stdout + p.stderr
    status, out = kbdint_login(sshd, password, syslog)
    return status == 0 and "kbd-ok-%s" % DEMO_USER in out, out


MODES = ["password", "kbdint"]


def test_the_sample_replaces_only_common_auth(demo, recipe_sshd):
    sshd = recipe_sshd()
    with open("/etc/pam.d/sshd") as f:
        debian = [ln for ln in f.read().splitlines() if "common-auth" not in ln]
    # Everything of Debian's file but the include is still there, in order.
    assert [ln for ln in sshd.stack if ln in debian] == debian
    assert sum("pam_clerk" in ln for ln in sshd.stack) == 1


@pytest.mark.parametrize("mode", MODES)
def test_clerk_password_signs_in(mode, demo, recipe_sshd, syslog, emu):
    sshd = recipe_sshd(kbdint=mode == "kbdint")
    ok, out = login(sshd, mode, DEMO_PASSWORD, syslog)
    assert ok, "%s\n--- sshd:\n%s\n--- syslog:\n%s" % (out, sshd.log(), syslog.text())
    assert syslog.wait_for(r"pam_clerk\(sshd:auth\).*user=ileap-demo.* outcome=success")
    assert len([r for r in emu.requests() if r["path"] == "/v1/client/sign_ins"]) == 1


@pytest.mark.parametrize("mode", MODES)
def test_wrong_and_local_passwords_are_refused_while_clerk_answers(mode, demo, recipe_sshd,
                                                                  syslog, emu):
    sshd = recipe_sshd(kbdint=mode == "kbdint")
    for pw in ("not the password", LOCAL_PASSWORD):
        ok, out = login(sshd, mode, pw, syslog)
        assert not ok, out
    assert len(syslog.attempts()) == 2 and all(
        "outcome=bad_credentials" in a for a in syslog.attempts()), syslog.text()
    # default=die: pam_unix never saw the local password.
    assert not syslog.wait_for(r"pam_unix\(sshd:auth\).*(session opened|authentication "
                               r"failure)", timeout=0.3), syslog.text()


@pytest.mark.parametrize("mode", MODES)
def test_configuration_error_lets_the_local_password_decide(mode, demo, recipe_sshd, syslog,
                                                             emu, tmp_path):
    """A typo in pam_clerk.conf is an outage, not a lock-out; the log names the key."""
    bad = recipes.typo_conf(str(tmp_path / "typo.conf"))
    sshd = recipe_sshd(kbdint=mode == "kbdint", conf_file=bad)
    ok, out = login(sshd, mode, LOCAL_PASSWORD, syslog)
    assert ok, "%s\n--- sshd:\n%s\n--- syslog:\n%s" % (out, sshd.log(), syslog.text())
    line = syslog.wait_for(r"pam_clerk\(sshd:auth\).*outcome=config_error")
    # PAM_SERVICE_ERR today; PAM_AUTHINFO_UNAVAIL would meet the stack the same way.
    assert line and "publishable_kye" in line and re.search(
        r"pam=PAM_(SERVICE_ERR|AUTHINFO_UNAVAIL)", line), syslog.text()
    # The Clerk password is no key to the local account; Clerk was never asked.
    ok, out = login(sshd, mode, DEMO_PASSWORD, syslog)
    assert not ok, out
    assert emu.requests() == []


def test_outage_lets_the_local_password_decide(demo, recipe_sshd, syslog, emu):
    sshd = recipe_sshd(frontend_api=e2e.dead_url())
    ok, out = login(sshd, "password", LOCAL_PASSWORD, syslog)
    assert ok, "%s\n--- sshd:\n%s\n--- syslog:\n%s" % (out, sshd.log(), syslog.text())
    assert syslog.wait_for(r"pam_clerk\(sshd:auth\).* outcome=network_error "
                           r"pam=PAM_AUTHINFO_UNAVAIL"), syslog.text()


def test_missing_module_lets_the_local_password_decide(demo, recipe_sshd, syslog, emu,
                                                        tmp_path):
    """The module file gone (package removed, stack left behind): libpam's
    PAM_MODULE_UNKNOWN meets module_unknown=ignore."""
    sshd = recipe_sshd(module=str(tmp_path / "no-such" / "pam_clerk.so"))
    ok, out = login(sshd, "password", LOCAL_PASSWORD, syslog)
    assert ok, "%s\n--- sshd:\n%s\n--- syslog:\n%s" % (out, sshd.log(), syslog.text())
    ok, out = login(sshd, "password", DEMO_PASSWORD, syslog)
    assert not ok, out
