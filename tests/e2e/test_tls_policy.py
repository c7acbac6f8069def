"""The system's TLS policy stays in force: libcurl lowers a new connection's minimum to what
CURLOPT_SSLVERSION says (TLS 1.2), so the transport puts back a stricter MinProtocol from
the system's openssl.cnf. In a Sandbox whose openssl.cnf (bind-mounted over OpenSSL's own,
read by path) sets MinProtocol = TLSv1.3, pamtester signs in against the emulator (TLS 1.3)
but not against a server that offers TLS 1.2 at most."""
import os
import socket
import ssl
import threading

import pytest

import e2e
from e2e import DEMO_PASSWORD

pytestmark = [e2e.needs_root, e2e.needs_tools("pamtester", "unshare")]
OPENSSL_CNF = "/usr/lib/ssl/openssl.cnf"   # X509_get_default_cert_area() on Debian


class Tls12Server:
    """Answers every request with the emulator's certificate over TLS 1.2 at most."""

    def __init__(self, emu):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        self.ctx.load_cert_chain(os.path.join(emu.state_dir, "server.pem"),
                                 os.path.join(emu.state_dir, "server.key"))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = "https://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.handshakes = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as t:
                    self.handshakes += 1
                    t.recv(65536)
            except (OSError, ssl.SSLError):
                pass

    def close(self):
        self.sock.close()


@pytest.fixture
def strict_cnf(tmp_path):
    if not os.path.exists(OPENSSL_CNF):
        pytest.skip("%s missing" % OPENSSL_CNF)
    text = open(OPENSSL_CNF).read()
    if "\n[openssl_init]\n" not in text or "\nssl_conf" in text:
        pytest.skip("%s is not Debian's stock file" % OPENSSL_CNF)
    text = text.replace("\n[openssl_init]\n", "\n[openssl_init]\nssl_conf = ssl_sect\n", 1)
    text += "\n[ssl_sect]\nsystem_default = strict\n[strict]\nMinProtocol = TLSv1.3\n"
    return e2e.write_root_file(tmp_path / "openssl.cnf", text, mode=0o644)


def login(tmp_path, syslog, emu, conf, cnf, url):
    sb = e2e.Sandbox(tmp_path / "sandbox", syslog)
    # ileap-demo is no account of this host here
    args = e2e.module_args(emu, conf, frontend_api=url,
                           extra=["state_dir=none", "local_accounts_only=no"])
    sb.service("clerk-tls", ["auth required %s %s" % (e2e.MODULE, " ".join(args))])
    sb.bind(cnf, OPENSSL_CNF)
    return sb.run(["pamtester", "clerk-tls", "ileap-demo", "authenticate"],
                  input=DEMO_PASSWORD + "\n")


def test_system_minimum_tls13_is_kept(tmp_path, syslog, emu, conf, strict_cnf):
    ok = login(tmp_path / "a", syslog, emu, conf, strict_cnf, emu.url)
    assert ok.returncode == 0, ok.stdout + ok.stderr + syslog.text()
    old = Tls12Server(emu)
    try:
        p = login(tmp_path / "b", syslog, emu, conf, strict_cnf, old.url)
    finally:
        old.close()
    assert p.returncode != 0
    assert "cannot retrieve authentication info" in p.stdout + p.stderr
    assert syslog.wait_for(r"pam_clerk\(clerk-tls:auth\).* outcome=tls_error"), syslog.text()
    assert old.handshakes == 0


def test_tls12_server_works_under_the_stock_policy(tmp_path, syslog, emu, conf):
    """The control: without the stricter policy the same TLS 1.2 server is accepted (TLS
    1.2 is the module's own minimum), so the refusal above is the policy's doing."""
    old = Tls12Server(emu)
    try:
        sb = e2e.Sandbox(tmp_path / "sandbox", syslog)
        args = e2e.module_args(emu, conf, frontend_api=old.url,
                               extra=["state_dir=none", "local_accounts_only=no"])
        sb.service("clerk-tls", ["auth required %s %s" % (e2e.MODULE, " ".join(args))])
        sb.run(["pamtester", "clerk-tls", "ileap-demo", "authenticate"],
               input=DEMO_PASSWORD + "\n")
    finally:
        old.close()
    assert old.handshakes == 1
