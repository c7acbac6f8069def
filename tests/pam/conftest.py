"""Fixtures for driving the built pam_clerk.so through real libpam.

Each transaction runs in a child process under pam_wrapper (pam_driver.py),
against the bundled FAPI emulator over HTTPS with the emulator's test CA.
"""
import fcntl
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, TESTS)

from emulator.control import Emulator  # noqa: E402

PYTHON = "/usr/bin/python3"
DRIVER = os.path.join(HERE, "pam_driver.py")
MODULE = os.environ.get("PAM_CLERK_MODULE") or os.path.join(
    os.environ.get("BUILDDIR", os.path.dirname(TESTS)), "src", ".libs", "pam_clerk.so")
PAM_WRAPPER_DIR = "/usr/lib/x86_64-linux-gnu/pam_wrapper"


def _pam_codes():
    """PAM return codes by name, read from the installed header."""
    codes = {}
    with open("/usr/include/security/_pam_types.h") as f:
        for m in re.finditer(r"^#define (PAM_[A-Z_]+)\s+(\d+)\b", f.read(), re.M):
            codes.setdefault(m.group(1), int(m.group(2)))
    return codes


PAM = _pam_codes()


class PamResult:
    def __init__(self, out, stderr, elapsed):
        self.ok = out["ok"]
        self.actual = out.get("actual")
        self.error = out.get("error")
        self.info = out.get("info", [])
        self.errors = out.get("errors", [])
        self.rounds = out.get("rounds", 0)
        self.env = out.get("env", {})
        self.signals_before = out.get("signals_before")
        self.signals_after = out.get("signals_after")
        self.stderr = stderr
        self.elapsed = elapsed
        # pam_syslog lines as pam_wrapper prints them: "... SYSLOG(prio): text"
        self.log = [m.group(1) for m in re.finditer(r"SYSLOG\(\d+\): (.*)", stderr)]

    def log_text(self):
        return "\n".join(self.log)

    def attempt_line(self):
        lines = [line for line in self.log if " outcome=" in line]
        assert len(lines) == 1, "expected exactly one attempt line, got %r" % self.log
        return lines[0]

    def outcome(self):
        return re.search(r"outcome=(\S+)", self.attempt_line()).group(1)

    def __repr__(self):
        return "PamResult(ok=%r actual=%r error=%r log=%r)" % (
            self.ok, self.actual, self.error, self.log)


class PamRunner:
    """Writes a PAM service file and runs transactions against it."""

    # The kind world has no rate limits or lockout, and its tests sign in many times in a
    # row: the module is set for that world (issue 14's budgets stay out of the way).
    KIND_WORLD_ARGS = ["signin_rate=64/1", "attempt_rate=64/1", "fail_limit=1000",
                       "fail_rhost_limit=0"]

    def __init__(self, tmp_path, emulator, kind=False):
        self.tmp = tmp_path
        self.kind = kind
        self.emu = emulator
        self.service_dir = tmp_path / "pam.d"
        self.service_dir.mkdir()
        self.conf = tmp_path / "pam_clerk.conf"
        self.state_dir = tmp_path / "state"
        # NSS through nss_wrapper: pam_clerk asks Clerk only about local accounts
        # (local_accounts_only, issue 14). None: every user a test signs in as is
        # given an account; a set: only these are accounts.
        self.local_users = None
        self._seen_users = set()
        self.passwd = tmp_path / "passwd"
        self.group = tmp_path / "group"
        self.group.write_text("users:x:100:\n")
        self.write_conf("")

    def write_conf(self, text, mode=0o600):
        self.conf.write_text(text)
        os.chmod(self.conf, mode)

    def base_args(self):
        # A state_dir of the test's own: never the build's default.
        return ["conf=%s" % self.conf, "frontend_api=%s" % self.emu.url,
                "cafile=%s" % self.emu.ca_file, "state_dir=%s" % self.state_dir] + (
                    self.KIND_WORLD_ARGS if self.kind else [])

    def service(self, auth_args=None, name="clerktest", lines=None, extra_args=()):
        """A service with pam_clerk in every stage (or the given lines)."""
        args = (self.base_args() if auth_args is None else list(auth_args)) + list(extra_args)
        if not any(a.startswith("state_dir=") for a in args):
            args.append("state_dir=%s" % self.state_dir)
        args = " ".join(args)
        if lines is None:
            lines = ["%s required %s %s" % (stage, MODULE, args)
                     for stage in ("auth", "account", "session", "password")]
        (self.service_dir / name).write_text("\n".join(lines) + "\n")
        return name

    def write_passwd(self, user=None):
        """The accounts NSS knows (nss_wrapper's passwd file)."""
        if self.local_users is None:
            if isinstance(user, str):
                self._seen_users.add(user)
            names = self._seen_users
        else:
            names = self.local_users
        lines = ["%s:x:%d:100::/nonexistent:/bin/false" % (n, 20000 + i)
                 for i, n in enumerate(sorted(names))
                 if n and not any(c in n for c in ":\n\r\0") and n.isprintable()]
        text = "".join(line + "\n" for line in lines)
        if not self.passwd.exists() or self.passwd.read_text() != text:
            # replaced whole: concurrent logins never read a half-written file
            tmp = self.tmp / ("passwd.%d.%d" % (os.getpid(), threading.get_ident()))
            tmp.write_text(text)
            os.replace(str(tmp), str(self.passwd))

    def env(self, extra=None, user=None):
        self.write_passwd(user)
        env = {
            "PATH": "/usr/bin:/bin",
            "LD_PRELOAD": "libpam_wrapper.so:libnss_wrapper.so",
            "NSS_WRAPPER_PASSWD": str(self.passwd),
            "NSS_WRAPPER_GROUP": str(self.group),
            "PAM_WRAPPER": "1",
            "PAM_WRAPPER_SERVICE_DIR": str(self.service_dir),
            "PAM_WRAPPER_DEBUGLEVEL": "3",
        }
        env.update(extra or {})
        return env

    def run(self, user, password=None, ops=(("authenticate", "PAM_SUCCESS"),),
            service="clerktest", passwords=None, env=None, timeout=60, flags=0, repeat=1,
            echo_on=()):
        echo_off = passwords if passwords is not None else (
            [] if password is None else [password])
        req = {"service": service, "user": user, "echo_off": echo_off, "repeat": repeat,
               "echo_on": list(echo_on),
               "ops": [[op, PAM[rv] if isinstance(rv, str) else rv, flags]
                       for op, rv in ops]}
        start = time.monotonic()
        proc = subprocess.run([PYTHON, DRIVER], input=json.dumps(req), text=True,
                              capture_output=True, env=self.env(env, user), timeout=timeout)
        elapsed = time.monotonic() - start
        assert proc.returncode == 0, "driver crashed (%d): %s" % (
            proc.returncode, proc.stderr[-3000:])
        return PamResult(json.loads(proc.stdout), proc.stderr, elapsed)

    def expect(self, user, password, code, **kw):
        """Authenticate and assert the PAM code; return the result."""
        r = self.run(user, password, ops=(("authenticate", code),), **kw)
        assert r.ok, "expected %s: %r" % (code, r)
        return r


def hold_state_lock(state_dir, identifier):
    """Take an identifier's state_dir lock as a concurrent login would; returns the
    descriptor (close it to let go)."""
    os.makedirs(str(state_dir), mode=0o700, exist_ok=True)
    name = hashlib.sha256(identifier.encode()).hexdigest() + ".lock"
    fd = os.open(os.path.join(str(state_dir), name), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    assert os.path.exists(MODULE), "build the module first: %s missing" % MODULE
    # the tests written before the real-Clerk defaults ask for the kind world by name
    emu = Emulator(str(tmp_path_factory.mktemp("emulator")), profile="kind").start()
    yield emu
    emu.stop()


@pytest.fixture
def emu(emulator):
    emulator.reset()
    yield emulator
    emulator.clear_faults()


@pytest.fixture
def pam(tmp_path, emu):
    return PamRunner(tmp_path, emu, kind=True)


@pytest.fixture(scope="session")
def real_emulator(tmp_path_factory):
    """The emulator playing real Clerk (profile "real": rate limits, lockout, single-session
    mode, template tokens without sid, ...); reset before each test."""
    assert os.path.exists(MODULE), "build the module first: %s missing" % MODULE
    emu = Emulator(str(tmp_path_factory.mktemp("real-emulator")), profile="real").start()
    yield emu
    emu.stop()


@pytest.fixture
def real_emu(real_emulator):
    real_emulator.reset()
    yield real_emulator
    real_emulator.clear_faults()


@pytest.fixture
def real_pam(tmp_path, real_emu):
    return PamRunner(tmp_path, real_emu)
