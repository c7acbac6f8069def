"""README's login recipe (etc/login.pam) in Debian's own /etc/pam.d/login,
in place of "@include common-auth": login(1) in a terminal (pexpect), as
from a console. Debian's login file has "auth optional pam_group.so" after
the include; pam_group grants its groups in setcred, so a recipe that ends
the auth stack at pam_clerk (success=done) loses them. The test grants a
throwaway group through a test /etc/security/group.conf and looks for it in
the shell. /var/log/wtmp, btmp and lastlog are the test's own copies.
"""
import grp
import os
import re
import subprocess

import pytest

import e2e
import recipes
from e2e import DEMO_PASSWORD, DEMO_USER, LOCAL_PASSWORD

GROUP = "clerk-e2e-grp"

pytestmark = [e2e.needs_root, e2e.needs_tools("/bin/login", "unshare", "useradd", "groupadd"),
              e2e.needs_python_module("pexpect", "python3-pexpect"),
              pytest.mark.skipif(not os.path.isfile("/etc/pam.d/login"),
                                 reason="no /etc/pam.d/login (apt-get install login)")]

# The recipe before issue 15: Clerk's success ended the auth stack.
OLD_RECIPE = ["auth [success=done authinfo_unavail=ignore default=die] pam_clerk.so",
              "auth required pam_unix.so try_first_pass"]


@pytest.fixture
def group():
    try:
        grp.getgrnam(GROUP)
        subprocess.run(["groupdel", GROUP], capture_output=True)
    except KeyError:
        pass
    subprocess.run(["groupadd", GROUP], check=True, capture_output=True, env=e2e.clean_env())
    yield GROUP
    subprocess.run(["groupdel", GROUP], capture_output=True, env=e2e.clean_env())


@pytest.fixture
def demo(group):
    with e2e.Account(DEMO_USER, local_password=LOCAL_PASSWORD) as a:
        yield a


def profile_lines(field):
    """The lines of a field of debian/pam-configs/clerk."""
    lines, on = [], False
    with open(os.path.join(e2e.SRCDIR, "debian", "pam-configs", "clerk")) as f:
        for line in f:
            if re.match(r"^\S", line):
                on = line.split(":", 1)[0] == field
            elif on and line.strip():
                lines.append(re.sub(r"\s+", " ", line.strip()))
    return lines


def render_profile(sb, module, args):
    """common-auth as pam-auth-update --enable clerk renders it (pam_clerk.8 shows the
    result): the profile's Auth-Initial lines first in the primary block, "end" a jump
    to pam_permit, pam_unix then with try_first_pass (its profile's Auth field)."""
    with open("/etc/pam.d/common-auth") as f:
        lines = f.read().splitlines()
    i_unix = next(i for i, ln in enumerate(lines) if re.match(r"^auth\s.*pam_unix\.so", ln))
    i_permit = next(i for i, ln in enumerate(lines) if re.match(r"^auth\s.*pam_permit\.so", ln))
    clerk = [recipes.with_module("auth " + ln, module, args) for ln in
             profile_lines("Auth-Initial")]
    # From the profile's last line past pam_unix .. pam_deny: live lines only.
    jump = sum(1 for ln in lines[i_unix:i_permit] if re.match(r"^auth\s", ln))
    clerk = [ln.replace("success=end", "success=%d" % jump) for ln in clerk]
    unix = lines[i_unix] if "try_first_pass" in lines[i_unix] else \
        lines[i_unix] + " try_first_pass"
    new = lines[:i_unix] + clerk + [unix] + lines[i_unix + 1:]
    sb.service("common-auth", new)
    return new


@pytest.fixture
def login_sandbox(tmp_path, syslog, emu, conf):
    def make(conf_file=None, frontend_api=None, sample="login.pam"):
        sb = e2e.Sandbox(tmp_path / "sandbox", syslog)
        args = e2e.module_args(emu, conf_file or conf, frontend_api=frontend_api,
                               extra=e2e.state_args(tmp_path))
        if sample == "profile":
            if not os.path.isfile(os.path.join(e2e.SRCDIR, "debian", "pam-configs", "clerk")):
                pytest.skip("no debian/ in this tree")
            sb.stack = render_profile(sb, e2e.MODULE, args)    # login itself unchanged
            sample = None
        elif sample == "old":
            path = tmp_path / "old.pam"
            path.write_text("\n".join(OLD_RECIPE) + "\n")
            sample = str(path)
        if sample:
            sb.stack = recipes.splice(sb, "login", sample, e2e.MODULE, args)
        group_conf = tmp_path / "group.conf"
        group_conf.write_text("login;*;%s;Al0000-2400;%s\n" % (DEMO_USER, GROUP))
        sb.bind(str(group_conf), "/etc/security/group.conf")
        for log in ("/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog"):
            if os.path.exists(log):
                copy = tmp_path / os.path.basename(log)
                copy.write_bytes(b"")
                sb.bind(str(copy), log)
        return sb
    return make


def login_dialogue(sb, password, syslog):
    """login DEMO_USER in a terminal: (shell output or None, transcript)."""
    import pexpect
    argv = sb.argv(["/bin/login", DEMO_USER])
    child = pexpect.spawn(argv[0], argv[1:], env=e2e.clean_env(), encoding="utf-8",
                          timeout=30)
    try:
        child.expect(r"Password: ")
        child.sendline(password)
        i = child.expect([r"Login incorrect", r"\$ "])
        if i == 0:
            return None, child.before
        child.sendline("echo LOGIN''-OK-$(id -un)-$(id -Gn | tr ' ' ,)-END; exit")
        child.expect(r"LOGIN-OK-([^\r\n]*)-END")
        shell = child.match.group(1)
        child.expect(pexpect.EOF)
        return shell, child.before
    except pexpect.ExceptionPexpect as e:
        raise AssertionError("login dialogue: %r\nbefore: %r\n--- syslog:\n%s"
                             % (type(e).__name__, child.before, syslog.text()))
    finally:
        child.close(force=True)


def test_clerk_password_logs_in_and_keeps_pam_group(demo, login_sandbox, syslog, emu):
    sb = login_sandbox()
    shell, out = login_dialogue(sb, DEMO_PASSWORD, syslog)
    assert shell is not None, "%s\n--- syslog:\n%s" % (out, syslog.text())
    user, groups = shell[:len(DEMO_USER)], shell[len(DEMO_USER) + 1:]
    assert user == DEMO_USER, shell
    assert GROUP in groups.split(","), "pam_group's group missing: %r" % groups
    assert syslog.wait_for(r"pam_clerk\(login:auth\).*user=ileap-demo.* outcome=success")


def test_the_old_recipe_loses_pam_group(demo, login_sandbox, syslog, emu):
    """Why the recipe changed: success=done skips pam_group's setcred."""
    shell, out = login_dialogue(login_sandbox(sample="old"), DEMO_PASSWORD, syslog)
    assert shell is not None, "%s\n--- syslog:\n%s" % (out, syslog.text())
    assert GROUP not in shell[len(DEMO_USER) + 1:].split(","), shell


def test_wrong_password_is_refused(demo, login_sandbox, syslog, emu):
    shell, out = login_dialogue(login_sandbox(), "not the password", syslog)
    assert shell is None, shell
    assert syslog.wait_for(r"pam_clerk\(login:auth\).* outcome=bad_credentials"), syslog.text()


def test_local_password_is_refused_while_clerk_answers(demo, login_sandbox, syslog, emu):
    shell, out = login_dialogue(login_sandbox(), LOCAL_PASSWORD, syslog)
    assert shell is None, shell


def test_configuration_error_lets_the_local_password_log_in(demo, login_sandbox, syslog, emu,
                                                             tmp_path):
    """A typo in pam_clerk.conf: the console still takes the local password (the
    administrator is not locked out), groups included, and the log names the key."""
    sb = login_sandbox(conf_file=recipes.typo_conf(str(tmp_path / "typo.conf")))
    shell, out = login_dialogue(sb, LOCAL_PASSWORD, syslog)
    assert shell is not None, "%s\n--- syslog:\n%s" % (out, syslog.text())
    assert GROUP in shell[len(DEMO_USER) + 1:].split(","), shell
    line = syslog.wait_for(r"pam_clerk\(login:auth\).*outcome=config_error")
    assert line and "publishable_kye" in line, syslog.text()
    assert emu.requests() == []


def test_outage_lets_the_local_password_log_in(demo, login_sandbox, syslog, emu):
    shell, out = login_dialogue(login_sandbox(frontend_api=e2e.dead_url()), LOCAL_PASSWORD,
                                syslog)
    assert shell is not None, "%s\n--- syslog:\n%s" % (out, syslog.text())
    assert syslog.wait_for(r"pam_clerk\(login:auth\).* outcome=network_error"), syslog.text()


# ---- the Debian package's pam-auth-update profile, in common-auth -------------------------
@pytest.mark.parametrize("password,typo", [(DEMO_PASSWORD, False), (LOCAL_PASSWORD, False),
                                           (LOCAL_PASSWORD, True)],
                         ids=["clerk-password", "local-password", "config-typo"])
def test_profile_in_common_auth_keeps_pam_group(password, typo, demo, login_sandbox, syslog,
                                                emu, tmp_path):
    """pam-auth-update --enable clerk: Debian's login file as it is, common-auth with the
    profile. Either password logs in with pam_group's group; a typo in the configuration
    leaves the local password working, and the log names the key."""
    conf_file = recipes.typo_conf(str(tmp_path / "typo.conf")) if typo else None
    sb = login_sandbox(conf_file=conf_file, sample="profile")
    assert sum("pam_clerk" in ln for ln in sb.stack) == 1, sb.stack
    shell, out = login_dialogue(sb, password, syslog)
    assert shell is not None, "%s\n--- common-auth:\n%s\n--- syslog:\n%s" % (
        out, "\n".join(sb.stack), syslog.text())
    assert GROUP in shell[len(DEMO_USER) + 1:].split(","), shell
    if typo:
        line = syslog.wait_for(r"pam_clerk\(login:auth\).*outcome=config_error")
        assert line and "publishable_kye" in line, syslog.text()
    else:
        want = "success" if password == DEMO_PASSWORD else "bad_credentials"
        assert syslog.wait_for(r"pam_clerk\(login:auth\).* outcome=%s" % want), syslog.text()
