"""README's su recipe (etc/su.pam) in Debian's own /etc/pam.d/su (su-l
includes it), in place of "@include common-auth", after pam_rootok: the
unprivileged "nobody" runs su in a terminal and types the target's password.
"""
import os

import pytest

import e2e
import recipes
from e2e import DEMO_PASSWORD, DEMO_USER, LOCAL_PASSWORD
from test_su import su_dialogue

pytestmark = [e2e.needs_root, e2e.needs_tools("su", "setpriv", "unshare", "useradd"),
              e2e.needs_python_module("pexpect", "python3-pexpect"),
              pytest.mark.skipif(not os.path.isfile("/etc/pam.d/su"),
                                 reason="no /etc/pam.d/su (apt-get install util-linux)")]


@pytest.fixture
def demo():
    with e2e.Account(DEMO_USER, local_password=LOCAL_PASSWORD) as a:
        yield a


@pytest.fixture
def su_recipe(tmp_path, syslog, emu, conf):
    def make(conf_file=None):
        sb = e2e.Sandbox(tmp_path / "sandbox", syslog)
        args = e2e.module_args(emu, conf_file or conf, extra=e2e.state_args(tmp_path))
        sb.stack = recipes.splice(sb, "su", "su.pam", e2e.MODULE, args)
        return sb
    return make


def test_su_dash_with_the_clerk_password(demo, su_recipe, syslog, emu):
    sb = su_recipe()
    live = [ln.split() for ln in sb.stack if ln.strip() and not ln.startswith("#")]
    assert live[0][:3] == ["auth", "sufficient", "pam_rootok.so"], sb.stack
    status, out = su_dialogue(sb, DEMO_PASSWORD)
    assert status == 0, "%s\n--- syslog:\n%s" % (out, syslog.text())
    assert "su-ok-%s-%s" % (DEMO_USER, demo.home) in out
    # su-l includes su: the recipe in su covers "su -" as well.
    assert syslog.wait_for(r"pam_clerk\(su-l:auth\).*user=ileap-demo.* outcome=success")


def test_su_refuses_wrong_and_local_passwords(demo, su_recipe, syslog, emu):
    sb = su_recipe()
    for pw in ("not the password", LOCAL_PASSWORD):
        status, out = su_dialogue(sb, pw, login=False)
        assert status != 0 and "su-ok" not in out, out
    assert len(syslog.attempts()) == 2, syslog.text()


def test_su_configuration_error_lets_the_local_password_decide(demo, su_recipe, syslog, emu,
                                                                tmp_path):
    sb = su_recipe(conf_file=recipes.typo_conf(str(tmp_path / "typo.conf")))
    status, out = su_dialogue(sb, LOCAL_PASSWORD, login=False)
    assert status == 0, "%s\n--- syslog:\n%s" % (out, syslog.text())
    line = syslog.wait_for(r"pam_clerk\(su:auth\).*outcome=config_error")
    assert line and "publishable_kye" in line, syslog.text()
