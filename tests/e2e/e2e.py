"""Helpers for the end-to-end tests: pam_clerk in the programs that load it.

Everything here runs as root and changes the machine only in ways it undoes:
  - Sandbox: commands in a private mount namespace whose /etc/pam.d is a copy
    made for the test (sandbox.sh), whose /dev/log is a socket the test reads
    (SyslogSink), and whose /run is empty; the host's files are never written.
  - Account: a local account created for the test and removed afterwards
    (userdel -r), also when the test fails.
  - Sshd: Debian's /usr/sbin/sshd on a loopback port, with its own
    sshd_config and host key, run in a Sandbox (so PAM service "sshd" is the
    test's stack); stopped by its pid.
"""
import base64
import grp
import hashlib
import hmac
import json
import os
import pwd
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
SRCDIR = os.environ.get("SRCDIR") or os.path.dirname(TESTS)
BUILDDIR = os.environ.get("BUILDDIR") or SRCDIR
MODULE = os.environ.get("PAM_CLERK_MODULE") or os.path.join(BUILDDIR, "src", ".libs",
                                                            "pam_clerk.so")
SANDBOX = os.path.join(HERE, "sandbox.sh")
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

DEMO_USER = "ileap-demo"              # local account; Clerk identifier ileap-demo@way.cloud
DEMO_PASSWORD = "HelloPrimaryData"
MFA_USER = "mfa-user"
MFA_PASSWORD = "mfa password"
NOBODY_IN_CLERK = "clerk-e2e-nobody"  # local account whose identifier Clerk does not know
IDENTIFIER = "%u@way.cloud"
ACCOUNT_MARK = "pam_clerk e2e test account"
LOCAL_PASSWORD = "Local-only-pw-42"   # a local (pam_unix) password, never Clerk's

sys.path.insert(0, TESTS)
from emulator.control import Emulator  # noqa: E402,F401 (used as e2e.Emulator)


# ---- skipping ----------------------------------------------------------------------------
def is_root():
    return os.geteuid() == 0


needs_root = pytest.mark.skipif(not is_root(), reason="end-to-end tests run as root "
                                "(they create accounts and run sshd/su); run as root in CI")


def needs_tools(*tools):
    path = os.environ.get("PATH", "") + ":" + SYSTEM_PATH
    missing = [t for t in tools if shutil.which(t, path=path) is None and not os.path.exists(t)]
    return pytest.mark.skipif(bool(missing), reason="missing tool%s: %s (apt-get install %s)" % (
        "s" if len(missing) > 1 else "", ", ".join(missing),
        " ".join(sorted({PACKAGE_OF.get(t, t) for t in missing}))))


def needs_python_module(name, package):
    try:
        __import__(name)
        missing = False
    except ImportError:
        missing = True
    return pytest.mark.skipif(missing, reason="%s not importable by %s (apt-get install %s)"
                              % (name, sys.executable, package))


PACKAGE_OF = {
    "/usr/sbin/sshd": "openssh-server", "sshd": "openssh-server", "ssh": "openssh-client",
    "ssh-keygen": "openssh-client", "sshpass": "sshpass", "unshare": "util-linux",
    "setpriv": "util-linux", "su": "util-linux", "pamtester": "pamtester",
    "useradd": "passwd", "userdel": "passwd", "chpasswd": "passwd",
    "dpkg-buildpackage": "dpkg-dev", "dh": "debhelper", "pam-auth-update": "libpam-runtime",
    "make": "make",
}


def need_module():
    if not os.path.exists(MODULE):
        pytest.fail("build the module first: %s missing" % MODULE)


# ---- syslog ------------------------------------------------------------------------------
class SyslogSink:
    """A datagram socket that a Sandbox links to /dev/log: what pam_syslog writes."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="clerk-e2e-log-")
        os.chmod(self.dir, 0o755)
        self.path = os.path.join(self.dir, "log.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)
        self.sock.settimeout(0.2)
        self._lines = []
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            # "<pri>Mmm dd hh:mm:ss ident[pid]: message"
            text = data.decode("utf-8", "replace").rstrip("\n\0")
            with self._lock:
                self._lines.append(re.sub(r"^<\d+>", "", text))

    def lines(self):
        with self._lock:
            return list(self._lines)

    def text(self):
        return "\n".join(self.lines())

    def clear(self):
        with self._lock:
            self._lines.clear()

    def wait_for(self, pattern, timeout=5.0):
        """The first line matching pattern (regex), waiting up to timeout; None if none."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines():
                if re.search(pattern, line):
                    return line
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    def attempts(self):
        """pam_clerk's attempt lines (one per sign-in)."""
        return [line for line in self.lines() if "pam_clerk(" in line and " outcome=" in line]

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- the mount-namespace sandbox ---------------------------------------------------------
class Sandbox:
    """Commands in a private mount namespace with the test's own /etc/pam.d."""

    def __init__(self, workdir, syslog):
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.syslog = syslog
        self.pamd = os.path.join(self.dir, "pam.d")
        shutil.copytree("/etc/pam.d", self.pamd, symlinks=True)
        self.binds = []

    def service(self, name, lines):
        path = os.path.join(self.pamd, name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(path, 0o644)
        return name

    def bind(self, src, dst):
        self.binds.append((str(src), str(dst)))

    def argv(self, cmd):
        argv = ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", SANDBOX,
                "--work", self.dir, "--log", self.syslog.path, "--pamd", self.pamd]
        for src, dst in self.binds:
            argv += ["--bind", src, dst]
        return argv + ["--"] + list(cmd)

    def run(self, cmd, input=None, timeout=60, env=None, check=False):
        return subprocess.run(self.argv(cmd), input=input, text=True, capture_output=True,
                              timeout=timeout, env=env or clean_env(), check=check)

    def popen(self, cmd, **kw):
        return subprocess.Popen(self.argv(cmd), **kw)


def clean_env(extra=None):
    env = {"PATH": SYSTEM_PATH, "LANG": "C", "LC_ALL": "C",
           "HOME": os.environ.get("HOME", "/root"), "TERM": "dumb"}
    env.update(extra or {})
    return env


# ---- module configuration ----------------------------------------------------------------
def write_root_file(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chown(path, 0, 0)
    os.chmod(path, mode)
    return str(path)


def module_args(emu, conf, frontend_api=None, extra=()):
    """Arguments that point the module at the emulator (or frontend_api)."""
    args = ["conf=%s" % conf, "frontend_api=%s" % (frontend_api or emu.url),
            "cafile=%s" % emu.ca_file, "identifier=%s" % IDENTIFIER]
    return args + list(extra)


# README's control field for pam_clerk before pam_unix: Clerk decides; only an
# outage (PAM_AUTHINFO_UNAVAIL) lets pam_unix have a say.
CLERK_FIRST = "[success=done authinfo_unavail=ignore default=die]"
# The same, for sshd with KbdInteractiveAuthentication: sshd runs
# pam_authenticate in a child process there, so pam_clerk's setcred (in sshd's
# monitor) does not see the result and answers PAM_IGNORE, which default=die
# would turn into "PAM: pam_setcred(): Permission denied".
CLERK_FIRST_KBDINT = "[success=done authinfo_unavail=ignore ignore=ignore default=die]"


def clerk_then_unix(module, args, control=CLERK_FIRST):
    """pam_clerk, then pam_unix for outages only (pam_clerk.8, EXAMPLES)."""
    return [
        "auth %s %s %s" % (control, module, " ".join(args)),
        "auth required pam_unix.so try_first_pass",
        "account required pam_unix.so",
        "session required pam_unix.so",
        "password required pam_deny.so",
    ]


def dead_url():
    """https:// URL of a loopback port nobody listens on (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "https://127.0.0.1:%d" % port


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ModuleProbe:
    """What the module under test accepts, found by running it (pamtester in a
    Sandbox against a dead port, so nothing is sent anywhere)."""

    _cache = {}

    @classmethod
    def accepts(cls, key, value=None, module=None):
        module = module or MODULE
        arg = key if value is None else "%s=%s" % (key, value)
        ck = (module, arg)
        if ck not in cls._cache:
            cls._cache[ck] = cls._probe(module, arg)
        return cls._cache[ck]

    @staticmethod
    def _probe(module, arg):
        work = tempfile.mkdtemp(prefix="clerk-e2e-probe-")
        sink = SyslogSink()
        try:
            conf = write_root_file(os.path.join(work, "pam_clerk.conf"), "")
            sb = Sandbox(os.path.join(work, "sb"), sink)
            sb.service("clerk-probe", ["auth required %s conf=%s frontend_api=%s %s"
                                       % (module, conf, dead_url(), arg)])
            p = sb.run(["pamtester", "clerk-probe", "probe-user", "authenticate"],
                       input="x\n", timeout=30)
            sink.wait_for(r"pam_clerk\(", timeout=2)
            text = sink.text() + p.stdout + p.stderr
            if re.search(r"unknown key|module argument '%s'" % re.escape(arg.split("=")[0]),
                         text):
                return False
            return "outcome=" in text
        finally:
            sink.close()
            shutil.rmtree(work, ignore_errors=True)


def state_args(workdir, module=None):
    """state_dir=<test dir> when the module keeps state (so nothing lands in
    /var/lib/pam_clerk), nothing when it does not know the key."""
    d = os.path.join(str(workdir), "clerk-state")
    if ModuleProbe.accepts("state_dir", d, module=module):
        return ["state_dir=%s" % d]
    return []


# ---- local accounts ----------------------------------------------------------------------
def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def pids_of_uid(uid):
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.stat("/proc/" + d).st_uid == uid:
                pids.append(int(d))
        except OSError:
            pass
    return pids


class Account:
    """A local account for one test: useradd -m, userdel -r afterwards."""

    def __init__(self, name, local_password=None):
        self.name = name
        self.local_password = local_password
        self.created = False

    def __enter__(self):
        if user_exists(self.name):
            gecos = pwd.getpwnam(self.name).pw_gecos
            if gecos != ACCOUNT_MARK:
                pytest.skip("local account %r exists and was not made by these tests; "
                            "not touching it" % self.name)
            self._remove()  # left over from an interrupted run of these tests
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", "-c", ACCOUNT_MARK, self.name],
                       check=True, capture_output=True, text=True, env=clean_env())
        self.created = True
        if self.local_password is not None:
            subprocess.run(["chpasswd"], input="%s:%s\n" % (self.name, self.local_password),
                           check=True, capture_output=True, text=True, env=clean_env())
        pw = pwd.getpwnam(self.name)
        self.uid, self.gid, self.home = pw.pw_uid, pw.pw_gid, pw.pw_dir
        return self

    def _remove(self):
        uid = pwd.getpwnam(self.name).pw_uid
        # Processes still running as the account were started by this test
        # (an ssh or su session); end them by pid so userdel can work.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = pids_of_uid(uid)
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            if pids:
                time.sleep(0.3)
        subprocess.run(["userdel", "-r", "-f", self.name], capture_output=True, text=True,
                       env=clean_env())
        try:
            grp.getgrnam(self.name)
            subprocess.run(["groupdel", self.name], capture_output=True, text=True,
                           env=clean_env())
        except KeyError:
            pass

    def __exit__(self, *exc):
        if self.created and user_exists(self.name):
            self._remove()
        assert not user_exists(self.name), "could not remove test account %s" % self.name


# ---- sshd --------------------------------------------------------------------------------
class Sshd:
    """Debian's sshd on 127.0.0.1:<free port>, PAM service "sshd" = the given stack."""

    def __init__(self, workdir, syslog, stack, users, password=True, kbdint=False, options=()):
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.sandbox = Sandbox(os.path.join(self.dir, "sandbox"), syslog)
        self.sandbox.service("sshd", stack)
        self.hostkey = os.path.join(self.dir, "ssh_host_ed25519_key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "clerk-e2e",
                        "-f", self.hostkey], check=True, capture_output=True)
        self.port = free_port()
        self.config = os.path.join(self.dir, "sshd_config")
        write_root_file(self.config, "\n".join([
            "Port %d" % self.port,
            "ListenAddress 127.0.0.1",
            "HostKey %s" % self.hostkey,
            "PidFile %s" % os.path.join(self.dir, "sshd.pid"),
            "UsePAM yes",
            "PasswordAuthentication %s" % ("yes" if password else "no"),
            "KbdInteractiveAuthentication %s" % ("yes" if kbdint else "no"),
            "PubkeyAuthentication no",
            "HostbasedAuthentication no",
            "AuthorizedKeysFile none",
            "PermitRootLogin no",
            "PermitEmptyPasswords no",
            "AllowUsers %s" % " ".join(users),
            "MaxAuthTries 3",
            "LoginGraceTime 60",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            "X11Forwarding no",
            "AllowTcpForwarding no",
            "AllowAgentForwarding no",
            "PermitTunnel no",
            "LogLevel VERBOSE",
        ] + list(options)) + "\n", mode=0o644)
        self.log_path = os.path.join(self.dir, "sshd.stderr.log")
        self.proc = None

    def start(self):
        check = self.sandbox.run(["/usr/sbin/sshd", "-t", "-f", self.config])
        assert check.returncode == 0, "sshd -t: %s" % check.stderr
        self._log = open(self.log_path, "wb")
        # --pdeathsig: sshd goes away with this test process, even if it is killed.
        self.proc = self.sandbox.popen(["setpriv", "--pdeathsig", "TERM", "--",
                                        "/usr/sbin/sshd", "-D", "-e", "-f", self.config],
                                       stdin=subprocess.DEVNULL, stdout=self._log,
                                       stderr=self._log, env=clean_env())
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("sshd exited (%s): %s" % (self.proc.returncode,
                                                               self.log()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.recv(64)  # the server's version line
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError("sshd not listening: %s" % self.log())
                time.sleep(0.05)
        return self

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-5000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)   # sshd itself: unshare and sh exec'd
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None:
            self._log.close()
        self.proc = None

    def ssh_argv(self, user, *command, auth="password"):
        return ["ssh", "-F", "/dev/null", "-p", str(self.port),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o", "PreferredAuthentications=%s" % auth, "-o", "PubkeyAuthentication=no",
                "-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=10",
                "-o", "BatchMode=no", "%s@127.0.0.1" % user] + list(command)

    def sshpass(self, user, password, *command, timeout=60):
        """sshpass ssh user@127.0.0.1 command (PasswordAuthentication)."""
        return subprocess.run(["sshpass", "-e"] + self.ssh_argv(user, *command),
                              capture_output=True, text=True, timeout=timeout,
                              env=clean_env({"SSHPASS": password}))


# ---- TOTP (RFC 6238, SHA-1, 30 s, 6 digits), for the second-factor tests ------------------
def totp(secret_b32, at=None):
    s = "".join(secret_b32.split()).upper().rstrip("=")
    key = base64.b32decode(s + "=" * (-len(s) % 8))
    counter = int((time.time() if at is None else at) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


def emulator_user(user_id=None, identifier=None):
    with open(os.path.join(TESTS, "emulator", "users.json")) as f:
        for u in json.load(f):
            if u.get("id") == user_id or identifier in u.get("identifiers", []):
                return u
    return None
