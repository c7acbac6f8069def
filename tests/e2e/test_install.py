"""make install into a DESTDIR: the files land where configure said, and the
installed module loads with pamtester through real libpam (in a private
mount namespace whose /etc/pam.d has the test's service) and signs the demo
user in against the emulator; make uninstall takes it all away again."""
import os
import stat
import subprocess

import pytest

import e2e
from e2e import DEMO_PASSWORD, DEMO_USER

pytestmark = [e2e.needs_root, e2e.needs_tools("make", "pamtester", "unshare")]


def make(*args):
    env = e2e.clean_env()
    # Not the jobserver of a "make check" that may be running this test.
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(k, None)
    return subprocess.run(["make", "-s", "-C", e2e.BUILDDIR] + list(args), env=env,
                          capture_output=True, text=True, timeout=300)


def installed(dest):
    found = {}
    for root, _dirs, files in os.walk(dest):
        for f in files:
            found.setdefault(f, []).append(os.path.join(root, f))
    return found


@pytest.fixture(scope="module")
def dest(tmp_path_factory):
    if not os.path.exists(os.path.join(e2e.BUILDDIR, "Makefile")):
        pytest.skip("no configured build in %s" % e2e.BUILDDIR)
    d = str(tmp_path_factory.mktemp("destdir"))
    p = make("install", "DESTDIR=%s" % d)
    assert p.returncode == 0, p.stdout + p.stderr
    return d


def test_make_install_puts_every_file_in_place(dest):
    files = installed(dest)
    for name in ("pam_clerk.so", "pam_clerk.8", "pam_clerk.conf.5", "pam_clerk.conf",
                 "pam-clerk", "pam-clerk.8"):
        assert len(files.get(name, [])) == 1, "%s installed %r times: %r" % (
            name, len(files.get(name, [])), files)
    assert files["pam_clerk.so"][0].endswith("/security/pam_clerk.so")
    # libpam never reads libtool's archive: none in the module directory.
    assert "pam_clerk.la" not in files, files["pam_clerk.la"]
    assert files["pam_clerk.8"][0].endswith("/man/man8/pam_clerk.8")
    assert files["pam_clerk.conf.5"][0].endswith("/man/man5/pam_clerk.conf.5")
    # the administrator's command (issue 16), in sbin, runnable
    assert files["pam-clerk"][0].endswith("/sbin/pam-clerk")
    assert os.access(files["pam-clerk"][0], os.X_OK)
    conf = files["pam_clerk.conf"][0]
    assert conf.endswith("/security/pam_clerk.conf")
    st = os.stat(conf)
    assert st.st_uid == 0 and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH), oct(st.st_mode)
    # The man pages are the ones in the tree.
    for page, sect in (("pam_clerk.8", "man8"), ("pam_clerk.conf.5", "man5"),
                       ("pam-clerk.8", "man8")):
        with open(files[page][0]) as a, open(os.path.join(e2e.SRCDIR, "man", page)) as b:
            assert a.read() == b.read()


def pamtester(sb, service, user, password, *ops):
    return sb.run(["pamtester", "-v", service, user] + list(ops), input=password + "\n")


def test_installed_module_loads_with_pamtester(dest, tmp_path, syslog, emu):
    files = installed(dest)
    module = files["pam_clerk.so"][0]
    sample = files["pam_clerk.conf"][0]   # the shipped sample, as the conf= file
    sb = e2e.Sandbox(tmp_path / "sandbox", syslog)
    # ileap-demo is no account of this host here
    args = e2e.module_args(emu, sample, extra=e2e.state_args(tmp_path, module=module)
                           + ["local_accounts_only=no"])
    sb.service("clerk-e2e", ["auth required %s %s" % (module, " ".join(args)),
                             "account required %s %s" % (module, " ".join(args))])
    p = pamtester(sb, "clerk-e2e", DEMO_USER,
                  DEMO_PASSWORD, "authenticate", "acct_mgmt")
    assert p.returncode == 0, p.stdout + p.stderr + syslog.text()
    assert "successfully authenticated" in p.stdout + p.stderr
    assert syslog.wait_for(r"pam_clerk\(clerk-e2e:auth\).* outcome=success")

    p = pamtester(sb, "clerk-e2e", DEMO_USER, "wrong password", "authenticate")
    assert p.returncode != 0
    assert "Authentication failure" in p.stdout + p.stderr
    assert len([r for r in emu.requests() if r["path"] == "/v1/client/sign_ins"]) == 2


def test_make_uninstall_removes_it(dest):
    p = make("uninstall", "DESTDIR=%s" % dest)
    assert p.returncode == 0, p.stdout + p.stderr
    left = {f for f in installed(dest) if f.startswith("pam_clerk")}
    assert left == set(), left
