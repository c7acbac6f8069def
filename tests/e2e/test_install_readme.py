"""README's install, as a new user runs it: the commands of its "Install"
section, verbatim, in a clean copy of the tree, then make install into a
DESTDIR. The module must land where libpam loads modules from (the directory
of pam_unix.so), with no libtool .la beside it; the state directory compiled
in must be /var/lib/pam_clerk and the configuration /etc/security.

Also without root: every program README's shell blocks run comes from a
package that README lists (or that every Debian system has).
"""
import os
import re
import shutil
import subprocess

import pytest

import e2e

README = os.path.join(e2e.SRCDIR, "README.md")


def readme_section(title):
    with open(README, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^## %s\n(.*?)(?=^## )" % re.escape(title), text, re.M | re.S)
    assert m, "README has no section %r" % title
    return m.group(1)


def shell_blocks(section):
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def commands(block):
    """The command lines of a shell block (continuations joined, comments cut)."""
    text = re.sub(r"\\\n\s*", " ", block)
    out = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            out += [c.strip() for c in re.split(r"&&|;", line) if c.strip()]
    return out


def programs(cmd):
    """The programs a command line runs: its first word (after sudo) and those of $(...)."""
    progs = []
    for part in [cmd] + re.findall(r"\$\(([^)]*)\)", cmd):
        words = part.split()
        while words and (words[0] in ("sudo", "env") or "=" in words[0]):
            words = words[1:]
        if words:
            progs.append(words[0])
    return progs


def listed_packages():
    pkgs = set()
    for block in shell_blocks(readme_section("Try it: two commands")):
        for cmd in commands(block):
            if cmd.split()[:3] == ["sudo", "apt-get", "install"]:
                pkgs |= {w for w in cmd.split()[3:] if not w.startswith("-")}
    assert pkgs, "README lists no packages to install"
    return pkgs


def package_of(path):
    real = os.path.realpath(path)
    for p in (path, real, real.replace("/usr/", "/", 1)):
        r = subprocess.run(["dpkg-query", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":", 1)[0].strip()
    return None


def essential(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Essential} ${Priority}", pkg],
                       capture_output=True, text=True)
    return r.stdout.split()[:1] == ["yes"] or "required" in r.stdout.split()


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="not a Debian system "
                    "(dpkg-query missing)")
@pytest.mark.parametrize("section", ["Try it: two commands", "Install"])
def test_readme_commands_need_only_listed_packages(section):
    listed = listed_packages()
    unknown, unlisted = [], []
    for block in shell_blocks(readme_section(section)):
        for cmd in commands(block):
            for prog in programs(cmd):
                if prog.startswith(("./", "tests/")) or prog in ("sudo", "apt-get"):
                    continue
                path = shutil.which(prog, path=e2e.SYSTEM_PATH)
                if path is None:
                    unknown.append(prog)
                    continue
                pkg = package_of(path)
                if pkg is None:
                    unknown.append(prog)
                elif ":" not in pkg and pkg not in listed and not essential(pkg):
                    unlisted.append("%s (%s)" % (prog, pkg))
    assert not unlisted, "README %r runs programs from packages it does not list: %s" % (
        section, ", ".join(unlisted))
    assert not unknown, "README %r runs programs not on this machine: %s" % (section, unknown)


# ---- README's commands, run -------------------------------------------------------------------
def pam_module_dir():
    """Where libpam loads modules from: the directory of pam_unix.so (pam.pc's libdir)."""
    libdir = subprocess.run(["pkg-config", "--variable=libdir", "pam"], capture_output=True,
                            text=True).stdout.strip()
    d = os.path.join(libdir, "security")
    return d if os.path.isfile(os.path.join(d, "pam_unix.so")) else None


def clean_env_for_make():
    env = e2e.clean_env()
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(k, None)
    return env


@pytest.fixture(scope="module")
def readme_build(tmp_path_factory):
    if not e2e.is_root():
        pytest.skip("end-to-end tests run as root (README's install is run as root)")
    if not os.path.isfile(os.path.join(e2e.SRCDIR, "configure.ac")):
        pytest.skip("no configure.ac in %s" % e2e.SRCDIR)
    from test_deb import copy_sources
    top = str(tmp_path_factory.mktemp("readme-install"))
    src = os.path.join(top, "src")
    copy_sources(e2e.SRCDIR, src)
    for junk in ("configure", "aclocal.m4", "config.h.in", "Makefile.in"):
        if os.path.exists(os.path.join(src, junk)):
            os.unlink(os.path.join(src, junk))
    dest = os.path.join(top, "dest")
    cmds = [c for b in shell_blocks(readme_section("Install")) for c in commands(b)]
    assert cmds[:2] == ["autoreconf -fi", cmds[1]] and cmds[1].startswith("./configure"), cmds
    assert cmds[2:] == ["make", "sudo make install"], cmds
    log = []
    for cmd in cmds:
        if cmd == "make":
            cmd = "make -j2"                   # the machine's two cores
        if cmd == "sudo make install":
            cmd = "make install DESTDIR=%s" % dest   # as root already; not the real /
        p = subprocess.run(cmd, shell=True, cwd=src, env=clean_env_for_make(),
                           capture_output=True, text=True, timeout=900)
        log.append((cmd, p.stdout + p.stderr))
        assert p.returncode == 0, "%s failed:\n%s" % (cmd, (p.stdout + p.stderr)[-4000:])
    return {"src": src, "dest": dest, "log": dict(log), "configure": cmds[1]}


def test_readme_install_puts_the_module_where_libpam_looks(readme_build):
    moddir = pam_module_dir()
    if moddir is None:
        pytest.skip("no pam_unix.so in pam.pc's libdir/security on this machine")
    dest = readme_build["dest"]
    found = [os.path.join(r, f) for r, _d, fs in os.walk(dest) for f in fs]
    so = [f for f in found if f.endswith("/pam_clerk.so")]
    assert len(so) == 1, found
    assert os.path.dirname(so[0]) == dest + moddir, (so, moddir)
    assert not [f for f in found if f.endswith(".la")], found
    assert dest + "/etc/security/pam_clerk.conf" in found, found
    out = readme_build["log"][readme_build["configure"]]
    assert "WARNING" not in out, out[-3000:]
    assert re.search(r"module directory:\s+%s\s*$" % re.escape(moddir), out, re.M), out[-800:]
    assert re.search(r"state directory:\s+/var/lib/pam_clerk\s*$", out, re.M), out[-800:]
    assert re.search(r"configuration:\s+/etc/security/pam_clerk.conf\s*$", out, re.M)


def test_readme_install_keeps_state_in_var_lib(readme_build):
    with open(os.path.join(readme_build["src"], "src", ".libs", "pam_clerk.so"), "rb") as f:
        blob = f.read()
    assert b"/var/lib/pam_clerk\0" in blob
    assert b"/usr/var/lib" not in blob
    assert b"/etc/security/pam_clerk.conf\0" in blob


def test_configure_without_usr_prefix_says_where_libpam_looks(readme_build):
    """Another prefix: $libdir/security, a warning naming libpam's directory, and the
    state directory still /var/lib/pam_clerk."""
    moddir = pam_module_dir()
    if moddir is None:
        pytest.skip("no pam_unix.so in pam.pc's libdir/security on this machine")
    src = readme_build["src"]    # configured in the tree already: configure again there
    p = subprocess.run(["./configure", "--prefix=/opt/clerk"], cwd=src, capture_output=True,
                       text=True, env=clean_env_for_make(), timeout=300)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    out = p.stdout + p.stderr
    assert re.search(r"WARNING: pam_clerk.so will be installed in /opt/clerk/lib/security, "
                     r"but libpam loads\s+modules from %s" % re.escape(moddir), out), out[-3000:]
    assert re.search(r"state directory:\s+/var/lib/pam_clerk\s*$", out, re.M), out[-800:]
    p = subprocess.run(["./configure", "--prefix=/opt/clerk", "--localstatedir=/srv/state"],
                       cwd=src, capture_output=True,
                       text=True, env=clean_env_for_make(), timeout=300)
    assert re.search(r"state directory:\s+/srv/state/lib/pam_clerk\s*$", p.stdout, re.M), \
        p.stdout[-800:]
