"""pam-clerk sync end to end (issue 17), as root: with libnss-extrausers and, in a private
mount namespace, an nsswitch.conf that names it, a Clerk user written by `pam-clerk sync`
is an account of the host (getent), and logs in over ssh with the Clerk password, with no
useradd. The host's /etc/nsswitch.conf and /var/lib/extrausers are never written: both
are bind mounts of the test's own files inside the namespace."""
import os
import pwd
import subprocess

import pytest

import e2e

EXTRAUSERS_LIB = "/usr/lib/libnss_extrausers.so.2"
USER = "synctest"
PASSWORD = "sync test password"

pytestmark = [e2e.needs_root,
              e2e.needs_tools("/usr/sbin/sshd", "ssh", "ssh-keygen", "sshpass", "unshare",
                              "getent"),
              pytest.mark.skipif(not os.path.exists(EXTRAUSERS_LIB) or
                                 not os.path.isdir("/var/lib/extrausers"),
                                 reason="libnss-extrausers is not installed (.ci/run installs "
                                        "it)")]

CMD = os.path.join(e2e.BUILDDIR, "src", "pam-clerk")


def nsswitch(path):
    """The host's nsswitch.conf with extrausers added to passwd, group and shadow (README)."""
    out = []
    with open("/etc/nsswitch.conf") as f:
        for line in f:
            key = line.split(":", 1)[0].strip()
            if key in ("passwd", "group", "shadow") and ":" in line:
                line = line.rstrip("\n") + " extrausers\n"
            out.append(line)
    e2e.write_root_file(path, "".join(out), mode=0o644)


@pytest.fixture
def synced(tmp_path, emu, conf):
    """USER in Clerk, not on the host; `pam-clerk sync` run into the test's own dir."""
    try:
        pwd.getpwnam(USER)
        pytest.skip("%s is a local account on this machine" % USER)
    except KeyError:
        pass
    emu.add_user({"id": "user_synctest", "identifiers": [USER, USER + "@way.cloud"],
                  "password": PASSWORD, "first_name": "Sync", "last_name": "Test"})
    key = e2e.write_root_file(tmp_path / "sk", emu.secret_key + "\n")
    out = tmp_path / "extrausers"
    p = subprocess.run(
        [CMD, "sync"] + e2e.module_args(emu, conf) +
        ["secret_key_file=%s" % key, "backend_api=%s" % emu.bapi_url,
         "state_dir=%s" % (tmp_path / "state"), "sync_dir=%s" % out,
         "sync_home=%s/home/%%u" % tmp_path],
        capture_output=True, text=True, timeout=120, env=e2e.clean_env())
    assert p.returncode == 0, p
    nss = tmp_path / "nsswitch.conf"
    nsswitch(str(nss))
    return [(str(nss), "/etc/nsswitch.conf"), (str(out), "/var/lib/extrausers")]


def test_getent_finds_the_synced_user(synced, tmp_path, syslog):
    sb = e2e.Sandbox(tmp_path / "sandbox", syslog)
    for src, dst in synced:
        sb.bind(src, dst)
    p = sb.run(["getent", "passwd", USER])
    assert p.returncode == 0, p
    f = p.stdout.strip().split(":")
    assert f[0] == USER and 200000 <= int(f[2]) <= 299999 and f[4] == "Sync Test", p
    assert f[5] == "%s/home/%s" % (tmp_path, USER) and f[6] == "/bin/bash"
    g = sb.run(["getent", "group", USER])
    assert g.returncode == 0 and g.stdout.split(":")[2] == f[2], g
    # outside the namespace, the host knows nothing of it
    assert subprocess.run(["getent", "passwd", USER]).returncode == 2


def test_ssh_login_with_the_clerk_password_and_no_useradd(synced, tmp_path, syslog, emu,
                                                         conf):
    args = e2e.module_args(emu, conf, extra=e2e.state_args(tmp_path))
    sshd = e2e.Sshd(tmp_path / "sshd", syslog, e2e.clerk_then_unix(e2e.MODULE, args), [USER])
    for src, dst in synced:
        sshd.sandbox.bind(src, dst)
    sshd.start()
    try:
        p = sshd.sshpass(USER, PASSWORD, "id -un; echo clerk-sync-ok")
        assert p.returncode == 0, "ssh failed (%d): %s\n--- sshd:\n%s\n--- syslog:\n%s" % (
            p.returncode, p.stderr, sshd.log(), syslog.text())
        assert p.stdout.splitlines()[-2:] == [USER, "clerk-sync-ok"], p
        bad = sshd.sshpass(USER, "not the password", "true")
        assert bad.returncode != 0
    finally:
        sshd.stop()
