"""A real Dovecot IMAP login through `passdb { driver = pam }` with pam_clerk (issue 13).

Dovecot's auth worker is a long-lived process that has libdovecot.so.0 loaded, which
exports functions named like those of other libraries (http_parser_init, json_*, ...). The
module's old hand-written transport bound its http_parser calls to Dovecot's and aborted the
auth process on every login. Here Debian's /usr/sbin/dovecot runs with a configuration of
the test's own (IMAP on 127.0.0.1:<free port>, no TLS, PAM service "dovecot-clerk" =
pam_clerk before pam_unix) in a Sandbox (private /etc/pam.d, /dev/log, /run); the test talks
IMAP over a plain socket: LOGIN with the Clerk password, twice (the second login runs in the
same auth worker, the module already loaded), and once with a wrong password.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

import e2e
from e2e import DEMO_PASSWORD, DEMO_USER, LOCAL_PASSWORD

DOVECOT = "/usr/sbin/dovecot"
e2e.PACKAGE_OF.setdefault(DOVECOT, "dovecot-imapd")
pytestmark = [e2e.needs_root, e2e.needs_tools(DOVECOT, "unshare", "setpriv", "useradd"),
              pytest.mark.skipif(not os.path.exists("/usr/lib/dovecot/imap"),
                                 reason="no IMAP server (apt-get install dovecot-imapd)")]
SERVICE = "dovecot-clerk"


@pytest.fixture
def demo():
    with e2e.Account(DEMO_USER, local_password=LOCAL_PASSWORD) as a:
        yield a


class Dovecot:
    def __init__(self, syslog, stack):
        # Short: Dovecot's UNIX sockets live under base_dir (108-byte sun_path).
        self.dir = tempfile.mkdtemp(prefix="dc-e2e.", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.sandbox = e2e.Sandbox(os.path.join(self.dir, "sandbox"), syslog)
        self.sandbox.service(SERVICE, stack)
        self.port = e2e.free_port()
        self.log_path = os.path.join(self.dir, "dovecot.log")
        self.config = e2e.write_root_file(os.path.join(self.dir, "dovecot.conf"), "\n".join([
            "base_dir = %s/run" % self.dir,
            "state_dir = %s/state" % self.dir,
            "log_path = %s" % self.log_path,
            "protocols = imap",
            "listen = 127.0.0.1",
            "ssl = no",
            "disable_plaintext_auth = no",
            "auth_mechanisms = plain login",
            "auth_verbose = yes",
            "auth_failure_delay = 0",
            "mail_location = maildir:~/Maildir",
            "default_login_user = dovenull",
            "default_internal_user = dovecot",
            "service imap-login {",
            "  inet_listener imap {",
            "    address = 127.0.0.1",
            "    port = %d" % self.port,
            "  }",
            "  inet_listener imaps {",
            "    port = 0",
            "  }",
            "}",
            "passdb {",
            "  driver = pam",
            "  args = %s" % SERVICE,
            "}",
            "userdb {",
            "  driver = passwd",
            "}",
        ]) + "\n", mode=0o644)
        self.proc = None

    def start(self):
        self.proc = self.sandbox.popen(["setpriv", "--pdeathsig", "TERM", "--", DOVECOT, "-F",
                                        "-c", self.config], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                       env=e2e.clean_env())
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("dovecot exited (%s): %s %s" % (
                    self.proc.returncode, self.proc.stderr.read(), self.log()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(256).startswith(b"* OK"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError("dovecot not listening: %s" % self.log())
            time.sleep(0.1)
        return self

    def login(self, user, password):
        """IMAP LOGIN (then LOGOUT); the server's tagged answer to LOGIN."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as s:
            f = s.makefile("rwb")
            assert f.readline().startswith(b"* OK")
            f.write(b'a1 LOGIN "%s" "%s"\r\n' % (user.encode(), password.encode()))
            f.flush()
            while True:
                line = f.readline()
                if not line or line.startswith(b"a1 "):
                    break
            f.write(b"a2 LOGOUT\r\n")
            f.flush()
            return line.decode("utf-8", "replace").strip()

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-5000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def dovecot(tmp_path, syslog, emu, conf):
    args = e2e.module_args(emu, conf, extra=e2e.state_args(tmp_path) + ["end_session=auth"])
    d = Dovecot(syslog, e2e.clerk_then_unix(e2e.MODULE, args))
    try:
        yield d.start()
    finally:
        d.stop()


def test_imap_login_with_the_clerk_password(demo, dovecot, syslog, emu):
    for attempt in (1, 2):   # the second in the same auth worker: the module stays loaded
        answer = dovecot.login(DEMO_USER, DEMO_PASSWORD)
        assert answer.startswith("a1 OK"), "%s\n--- dovecot:\n%s\n--- syslog:\n%s" % (
            answer, dovecot.log(), syslog.text())
    log = dovecot.log()
    assert "signal" not in log and "Assertion" not in log, log
    assert syslog.wait_for(r"pam_clerk\(%s:auth\).* outcome=success" % SERVICE), syslog.text()
    sign_ins = [r for r in emu.requests() if r["path"] == "/v1/client/sign_ins"]
    assert [r["form"]["identifier"] for r in sign_ins] == ["ileap-demo@way.cloud"] * 2
    # end_session=auth: sign-in and session end of one login share one connection.
    by_conn = {}
    for r in emu.requests():
        by_conn.setdefault(r["connection"], []).append(r["path"])
    assert len(by_conn) == 2 and all(len(p) == 2 for p in by_conn.values()), by_conn


def test_imap_login_with_a_wrong_password(demo, dovecot, syslog, emu):
    answer = dovecot.login(DEMO_USER, "not the password")
    assert answer.startswith("a1 NO"), answer
    assert "signal" not in dovecot.log(), dovecot.log()
    assert syslog.wait_for(r"pam_clerk\(%s:auth\).* outcome=wrong_password" % SERVICE) or \
        syslog.wait_for(r"pam_clerk\(%s:auth\).* pam=PAM_AUTH_ERR" % SERVICE), syslog.text()
