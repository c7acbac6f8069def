"""The Debian package, end to end: build it with dpkg-buildpackage from a copy
of the tree, install it with dpkg -i, check what it put where, enable its
pam-auth-update profile, sign in through the rendered common-auth with
pamtester against the emulator, then dpkg --purge it.

The machine's PAM configuration is never written: dpkg and pam-auth-update
run in a private mount namespace whose /etc/pam.d, /var/lib/pam and
/var/cache/debconf are copies made for the test (the package's files
themselves go to the real /usr and /etc, and dpkg --purge removes them). The
real /etc/pam.d/common-* and /var/lib/pam are also backed up and compared
(and restored) at the end, whatever happens.
"""
import fnmatch
import hashlib
import os
import re
import shutil
import stat
import subprocess

import pytest

import e2e
from e2e import DEMO_PASSWORD, DEMO_USER, LOCAL_PASSWORD

PACKAGE = "libpam-clerk"
PAM_STATE = ["/var/lib/pam", "/var/cache/debconf"]

pytestmark = [e2e.needs_root,
              e2e.needs_tools("dpkg-buildpackage", "dh", "dpkg-architecture", "pam-auth-update",
                              "pamtester", "unshare", "useradd"),
              pytest.mark.skipif(not os.path.isfile(os.path.join(e2e.SRCDIR, "debian",
                                                                 "control")),
                                 reason="no debian/ in this tree (make dist leaves it out)")]


def multiarch():
    return subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], check=True,
                          capture_output=True, text=True).stdout.strip()


# ---- a clean copy of the sources -----------------------------------------------------------
# Build products of an in-tree build, never copied (dpkg-buildpackage builds afresh).
SKIP_DIRS = {".git", "autom4te.cache", ".libs", ".deps", "__pycache__", ".pytest_cache",
             "_build"}
SKIP_FILES = ["Makefile", "*.o", "*.lo", "*.la", "*.log", "*.trs", "*~", ".dirstamp",
              "config.status", "config.h", "libtool", "stamp-h1", "pam_clerk-*.tar.*"]
# What an earlier package build leaves in debian/.
SKIP_IN_DEBIAN = {".debhelper", "tmp", PACKAGE, "files", "debhelper-build-stamp",
                  "%s.substvars" % PACKAGE}


def copy_sources(src, dst):
    def ignore(d, names):
        out = set()
        rel = os.path.relpath(d, src)
        for n in names:
            p = os.path.join(d, n)
            if rel == "debian" and n in SKIP_IN_DEBIAN:
                out.add(n)
            elif os.path.isdir(p) and not os.path.islink(p):
                if n in SKIP_DIRS or fnmatch.fnmatch(n, "pam_clerk-*") or (
                        rel == "bench" and n == "out"):
                    out.add(n)
            elif any(fnmatch.fnmatch(n, pat) for pat in SKIP_FILES):
                out.add(n)
            elif os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as f:
                    if f.read(4) == b"\x7fELF":
                        out.add(n)       # built programs (tests/unit/test_*)
        return out
    shutil.copytree(src, dst, ignore=ignore, symlinks=True)


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    """Build the package once for this module; the path of the .deb."""
    if dpkg_status() not in ("", "unknown ok not-installed"):
        pytest.skip("%s is installed on this machine (%s); not touching it"
                    % (PACKAGE, dpkg_status()))
    for path in ("/usr/lib/%s/security/pam_clerk.so" % multiarch(),
                 "/etc/security/pam_clerk.conf", "/usr/share/pam-configs/clerk"):
        if os.path.lexists(path):
            pytest.skip("%s exists on this machine (make install?); installing and purging "
                        "the package would replace it" % path)
    top = str(tmp_path_factory.mktemp("debbuild"))
    src = os.path.join(top, "%s-0" % PACKAGE)
    copy_sources(e2e.SRCDIR, src)
    # As CI and a developer run it: debian/rules runs only the unit tests.
    env = e2e.clean_env()
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(k, None)
    p = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env,
                       capture_output=True, text=True, timeout=600)
    failed = re.findall(r"^(?:FAIL|ERROR): (\S+)", p.stdout, re.M)
    assert p.returncode == 0, "dpkg-buildpackage failed%s:\n%s" % (
        " in dh_auto_test (unit tests %s)" % ", ".join(failed) if failed else "",
        (p.stdout + p.stderr)[-6000:])
    ran = re.findall(r"^(?:PASS|FAIL|SKIP|ERROR): (\S+)", p.stdout, re.M)
    assert ran and all(t.startswith("tests/unit/") for t in ran), \
        "dh_auto_test should run the unit tests only: %r" % ran
    debs = [f for f in os.listdir(top) if f.startswith(PACKAGE + "_") and f.endswith(".deb")]
    assert len(debs) == 1, os.listdir(top)
    return os.path.join(top, debs[0])


# ---- the package file ----------------------------------------------------------------------
def contents(deb):
    out = subprocess.run(["dpkg-deb", "-c", deb], check=True, capture_output=True,
                         text=True).stdout
    files = {}
    for line in out.splitlines():
        mode, owner, _size, _date, _time, path = line.split(None, 5)
        files[path.split(" -> ")[0].lstrip(".")] = (mode, owner)
    return files


def test_package_contents(deb):
    files = contents(deb)
    ma = multiarch()
    expect = {
        "/usr/lib/%s/security/pam_clerk.so" % ma: "-rw-r--r--",
        "/etc/security/pam_clerk.conf": "-rw-r--r--",
        "/usr/share/pam-configs/clerk": "-rw-r--r--",
        "/usr/share/man/man8/pam_clerk.8.gz": "-rw-r--r--",
        "/usr/sbin/pam-clerk": "-rwxr-xr-x",
        "/usr/share/man/man8/pam-clerk.8.gz": "-rw-r--r--",
        "/usr/share/man/man5/pam_clerk.conf.5.gz": "-rw-r--r--",
        "/usr/share/doc/%s/copyright" % PACKAGE: "-rw-r--r--",
    }
    # issue 17: pam-clerk sync's units (in /lib on bookworm's debhelper, /usr/lib later)
    unitdir = "/usr/lib/systemd/system" if any(p.startswith("/usr/lib/systemd/") for p in files) \
        else "/lib/systemd/system"
    for unit in ("pam-clerk-sync.service", "pam-clerk-sync.timer"):
        expect["%s/%s" % (unitdir, unit)] = "-rw-r--r--"
    for path, mode in expect.items():
        assert path in files, "%s not in the package: %s" % (path, sorted(files))
        assert files[path] == (mode, "root/root"), (path, files[path])
    assert not any(p.endswith(".la") for p in files), "libtool archive shipped"
    assert not [p for p in files if "/security/" in p and not p.endswith("/") and
                not p.startswith("/usr/lib/%s/security/" % ma)
                and not p.startswith("/etc/security/")]
    info = subprocess.run(["dpkg-deb", "-f", deb, "Depends"], check=True, capture_output=True,
                          text=True).stdout
    for dep in ("libpam-runtime", "libssl3", "libcurl4", "libjson-c5", "libpam0g", "libc6"):
        assert dep in info, info
    conf = subprocess.run(["dpkg-deb", "--info", deb, "conffiles"], check=True,
                          capture_output=True, text=True).stdout.split()
    assert conf == ["/etc/security/pam_clerk.conf"]
    for script, needed in (("postinst", "pam-auth-update --package"),
                           ("prerm", "pam-auth-update --package --remove clerk"),
                           ("postrm", "/var/lib/pam_clerk")):
        text = subprocess.run(["dpkg-deb", "--info", deb, script], check=True,
                              capture_output=True, text=True).stdout
        assert needed in text, (script, text)
        # the sync timer ships off: no maintainer script enables or starts it
        assert "deb-systemd-invoke start" not in text, (script, text)
        if script == "postinst":   # enabled only if the administrator had enabled it before
            assert "was-enabled 'pam-clerk-sync.timer'" in text or \
                "pam-clerk-sync" not in text, text


def parse_profile(text):
    fields, key = {}, None
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key].append(line.strip())
        elif ":" in line:
            key, value = line.split(":", 1)
            fields[key] = [value.strip()] if value.strip() else []
    return fields


def test_pam_configs_profile():
    with open(os.path.join(e2e.SRCDIR, "debian", "pam-configs", "clerk")) as f:
        prof = parse_profile(f.read())
    with open("/usr/share/pam-configs/unix") as f:
        unix = parse_profile(f.read())
    assert prof["Default"] == ["no"]
    assert int(prof["Priority"][0]) > int(unix["Priority"][0])   # before pam_unix
    assert prof["Auth-Type"] == ["Primary"]
    for field in ("Auth", "Auth-Initial"):
        clerk = [ln for ln in prof[field] if "pam_clerk.so" in ln]
        assert len(clerk) == 1, prof[field]
        control = re.match(r"\[([^]]*)\]", clerk[0]).group(1).split()
        assert "authinfo_unavail=ignore" in control and "success=end" in control, control
        assert "default=ignore" in control, control
    assert "try_first_pass" in [ln for ln in prof["Auth"] if "pam_clerk.so" in ln][0]


# ---- installing it -------------------------------------------------------------------------
def digest_tree(paths):
    out = {}
    for top in paths:
        if os.path.isfile(top):
            walk = [(os.path.dirname(top), [], [os.path.basename(top)])]
        else:
            walk = os.walk(top)
        for root, _dirs, files in walk:
            for f in files:
                p = os.path.join(root, f)
                try:
                    with open(p, "rb") as fh:
                        out[p] = hashlib.sha256(fh.read()).hexdigest()
                except OSError:
                    out[p] = None
    return out


class HostPamGuard:
    """Back up the host's common-* and pam-auth-update state; put it back if
    anything changed (nothing should: the test writes only to copies)."""

    def __init__(self, where):
        self.where = where
        self.paths = sorted("/etc/pam.d/" + f for f in os.listdir("/etc/pam.d")
                            if f.startswith("common-")) + ["/var/lib/pam"]
        os.makedirs(where)
        for p in self.paths:
            if os.path.exists(p):
                dst = where + p
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                if os.path.isdir(p):
                    shutil.copytree(p, dst, symlinks=True)
                else:
                    shutil.copy2(p, dst)
        self.before = digest_tree(self.paths)

    def restore(self):
        changed = digest_tree(self.paths) != self.before
        if changed:
            for p in self.paths:
                src = self.where + p
                if os.path.isdir(src):
                    shutil.rmtree(p, ignore_errors=True)
                    shutil.copytree(src, p, symlinks=True)
                elif os.path.exists(src):
                    shutil.copy2(src, p)
        return changed


@pytest.fixture
def demo():
    with e2e.Account(DEMO_USER, local_password=LOCAL_PASSWORD) as a:
        yield a


def dpkg_status():
    return subprocess.run(["dpkg-query", "-W", "-f=${Status}", PACKAGE], capture_output=True,
                          text=True).stdout.strip()


def test_install_enable_sign_in_purge(deb, demo, tmp_path, syslog, emu):
    ma = multiarch()
    module = "/usr/lib/%s/security/pam_clerk.so" % ma
    state_existed = os.path.exists("/var/lib/pam_clerk")
    guard = HostPamGuard(str(tmp_path / "host-backup"))
    sb = e2e.Sandbox(tmp_path / "sandbox", syslog)
    for p in PAM_STATE:
        copy = str(tmp_path / "state") + p
        shutil.copytree(p, copy, symlinks=True)
        sb.bind(copy, p)
    common_auth = os.path.join(sb.pamd, "common-auth")
    env = e2e.clean_env({"DEBIAN_FRONTEND": "noninteractive"})

    def run(*cmd, input="", **kw):
        return sb.run(list(cmd), env=env, timeout=120, input=input, **kw)

    installed = False
    try:
        p = run("dpkg", "-i", deb)
        installed = True
        assert p.returncode == 0, p.stdout + p.stderr
        assert dpkg_status() == "install ok installed"

        # Files and modes on the machine.
        for path, mode in ((module, 0o644), ("/etc/security/pam_clerk.conf", 0o644),
                           ("/usr/share/pam-configs/clerk", 0o644)):
            st = os.lstat(path)
            assert stat.S_ISREG(st.st_mode) and st.st_uid == 0 and st.st_gid == 0, path
            assert stat.S_IMODE(st.st_mode) == mode, (path, oct(st.st_mode))
        assert not os.stat("/etc/security/pam_clerk.conf").st_mode & (stat.S_IWGRP |
                                                                      stat.S_IWOTH)

        # Default: no, so installing changed no stack.
        with open(common_auth) as f:
            assert "pam_clerk" not in f.read()

        # pam-auth-update --enable clerk, in the copies.
        p = run("pam-auth-update", "--enable", "clerk")
        assert p.returncode == 0, p.stdout + p.stderr
        with open(common_auth) as f:
            rendered = f.read()
        auth = [ln for ln in rendered.splitlines() if ln.startswith("auth")]
        i_clerk = next(i for i, ln in enumerate(auth) if "pam_clerk.so" in ln)
        i_unix = next(i for i, ln in enumerate(auth) if "pam_unix.so" in ln)
        assert i_clerk < i_unix, rendered
        assert "authinfo_unavail=ignore" in auth[i_clerk], auth[i_clerk]
        # "end" became a jump past pam_unix and pam_deny to the success block.
        jump = int(re.search(r"success=(\d+)", auth[i_clerk]).group(1))
        assert "pam_permit.so" in auth[i_clerk + jump + 1], (jump, auth)
        assert "pam_deny.so" in auth[i_clerk + jump], (jump, auth)

        # The installed module, by its bare name, through the rendered stack.
        conf = tmp_path / "pam_clerk.conf"

        # The default state_dir (/var/lib/pam_clerk) when it is not there yet,
        # so that dpkg --purge can be seen to remove it; else one of our own.
        state = [] if not state_existed else e2e.state_args(tmp_path, module)

        def configure(frontend_api):
            e2e.write_root_file(str(conf), "\n".join([
                "frontend_api = %s" % frontend_api, "cafile = %s" % emu.ca_file,
                "identifier = %u@way.cloud"] + [
                " = ".join(a.split("=", 1)) for a in state]) + "\n")

        configure(emu.url)
        sb.bind(str(conf), "/etc/security/pam_clerk.conf")
        sb.service("clerk-e2e", ["auth required pam_clerk.so",
                                 "account required pam_clerk.so"])
        sb.service("clerk-e2e-common", ["@include common-auth"])

        def pamtester(service, user, password, *ops):
            return run("pamtester", "-v", service, user, *(ops or ("authenticate",)),
                       input=password + "\n")

        p = pamtester("clerk-e2e", DEMO_USER, DEMO_PASSWORD, "authenticate", "acct_mgmt")
        assert p.returncode == 0, p.stdout + p.stderr + syslog.text()
        assert syslog.wait_for(r"pam_clerk\(clerk-e2e:auth\).* outcome=success"), syslog.text()

        # The rendered common-auth: Clerk first ...
        syslog.clear()
        p = pamtester("clerk-e2e-common", DEMO_USER, DEMO_PASSWORD)
        assert p.returncode == 0, p.stdout + p.stderr + syslog.text()
        assert syslog.wait_for(r"pam_clerk\(clerk-e2e-common:auth\).* outcome=success")
        # ... a wrong password fails both ...
        p = pamtester("clerk-e2e-common", DEMO_USER, "not a password")
        assert p.returncode != 0 and "Authentication failure" in p.stdout + p.stderr
        # ... the local password still works (a Primary module's failure falls
        # through to the next one in common-auth) ...
        p = pamtester("clerk-e2e-common", DEMO_USER, LOCAL_PASSWORD)
        assert p.returncode == 0, p.stdout + p.stderr + syslog.text()
        # ... root and system accounts never reach Clerk.
        n = len(emu.requests())
        syslog.clear()
        pamtester("clerk-e2e-common", "root", "not root's password")
        assert len(emu.requests()) == n and not syslog.attempts(), syslog.text()

        # Clerk unreachable: the local password works, the outage is logged.
        configure(e2e.dead_url())
        syslog.clear()
        p = pamtester("clerk-e2e-common", DEMO_USER, LOCAL_PASSWORD)
        assert p.returncode == 0, p.stdout + p.stderr + syslog.text()
        assert syslog.wait_for(r"pam_clerk\(clerk-e2e-common:auth\).* outcome=network_error "
                               r"pam=PAM_AUTHINFO_UNAVAIL"), syslog.text()
        p = pamtester("clerk-e2e-common", DEMO_USER, DEMO_PASSWORD)
        assert p.returncode != 0
        sb.binds = [b for b in sb.binds if b[1] != "/etc/security/pam_clerk.conf"]
        if not state_existed and e2e.state_args(tmp_path, module):
            st = os.stat("/var/lib/pam_clerk")   # the module made its state_dir
            assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == 0, oct(st.st_mode)

        # dpkg --purge: prerm takes the module out of the stack, files go.
        p = run("dpkg", "--purge", PACKAGE)
        installed = p.returncode != 0
        assert p.returncode == 0, p.stdout + p.stderr
        with open(common_auth) as f:
            assert "pam_clerk" not in f.read()
        for path in (module, "/etc/security/pam_clerk.conf", "/usr/share/pam-configs/clerk"):
            assert not os.path.exists(path), path
        assert dpkg_status() in ("", "unknown ok not-installed")
        if not state_existed:
            assert not os.path.exists("/var/lib/pam_clerk")
    finally:
        sb.binds = [b for b in sb.binds if b[1] != "/etc/security/pam_clerk.conf"]
        if installed:
            run("dpkg", "--purge", PACKAGE)
        if not state_existed:
            shutil.rmtree("/var/lib/pam_clerk", ignore_errors=True)
        changed = guard.restore()
    assert not changed, "the host's PAM configuration changed (restored from backup)"
