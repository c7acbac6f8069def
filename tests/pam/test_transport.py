"""The HTTPS transport: certificate checks, time bounds, and a caller's
environment that must not steer the traffic (PAM-NOTES pitfalls 3, 4, 10)."""
import os
import socket
import threading

import pytest

DEMO = "ileap-demo@way.cloud"
DEMO_PASSWORD = "HelloPrimaryData"


def args_for(pam, url, cafile):
    return ["conf=%s" % pam.conf, "frontend_api=%s" % url] + (
        ["cafile=%s" % cafile] if cafile else [])


def test_unknown_ca_is_refused(pam, emu):
    pam.service(auth_args=args_for(pam, emu.url, None))  # system CAs only
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_AUTHINFO_UNAVAIL")
    assert r.outcome() == "tls_error"
    assert emu.requests() == []


def test_wrong_host_certificate_is_refused(pam, emu):
    pam.service(auth_args=args_for(pam, emu.wrong_host_url, emu.ca_file))
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_AUTHINFO_UNAVAIL")
    assert r.outcome() == "tls_error"
    assert emu.requests() == []


def test_self_signed_certificate_is_refused(pam, emu):
    pam.service(auth_args=args_for(pam, emu.self_signed_url, emu.ca_file))
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_AUTHINFO_UNAVAIL")
    assert r.outcome() == "tls_error"
    assert emu.requests() == []


def test_capath_is_honoured(pam, emu, tmp_path):
    import subprocess
    capath = tmp_path / "certs"
    capath.mkdir()
    (capath / "test-ca.pem").write_bytes(open(emu.ca_file, "rb").read())
    subprocess.run(["openssl", "rehash", str(capath)], check=True, capture_output=True)
    pam.service(auth_args=["conf=%s" % pam.conf, "frontend_api=%s" % emu.url,
                           "capath=%s" % capath])
    pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_connection_refused_is_an_outage(pam, emu):
    pam.service(auth_args=args_for(pam, "https://127.0.0.1:%d" % closed_port(), emu.ca_file))
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_AUTHINFO_UNAVAIL")
    assert r.outcome() == "network_error"


def test_unresolvable_host_is_an_outage(pam, emu):
    pam.service(auth_args=args_for(pam, "https://clerk.does-not-exist.invalid", emu.ca_file))
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_AUTHINFO_UNAVAIL", timeout=60)
    assert r.outcome() in ("network_error", "timeout")


# Time bounds: generous margins, since they check that a hang ends, not speed.
@pytest.mark.parametrize("fault", ["hang", "hang_tls", "hang_after_headers", "drip"])
def test_hangs_end_at_the_timeout(pam, emu, fault):
    pam.service(extra_args=["timeout=2", "connect_timeout=1"])
    emu.fault(fault, **({"interval": 0.5} if fault == "drip" else {}))
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_AUTHINFO_UNAVAIL")
    assert r.outcome() == "timeout"
    assert r.elapsed < 2 + 6, "took %.1fs with timeout=2" % r.elapsed


def test_slow_but_in_time_answer_succeeds(pam, emu):
    pam.service(extra_args=["timeout=5"])
    emu.fault("delay", seconds=1)
    pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")


class Listener:
    """A TCP socket that records whether anyone connected (a would-be proxy)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                pass

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


def test_hostile_environment_cannot_redirect_or_log_secrets(pam, emu, tmp_path):
    proxy = Listener()
    keylog = tmp_path / "keys.log"
    proxy_url = "http://127.0.0.1:%d" % proxy.port
    env = {name: proxy_url for name in
           ("http_proxy", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy")}
    # An OpenSSL config of the caller's that, if read, would cap TLS at 1.1
    # (the module needs 1.2): under su it could as well load a provider.
    evil_cnf = tmp_path / "evil.cnf"
    evil_cnf.write_text("openssl_conf = conf\n[conf]\nssl_conf = ssl\n[ssl]\n"
                        "system_default = sys\n[sys]\nMaxProtocol = TLSv1.1\n")
    env.update({"NO_PROXY": "", "SSLKEYLOGFILE": str(keylog), "CURL_HOME": str(tmp_path),
                "HOME": str(tmp_path), "CURL_CA_BUNDLE": "/dev/null",
                "SSL_CERT_FILE": "/dev/null", "OPENSSL_CONF": str(evil_cnf)})
    (tmp_path / ".netrc").write_text("default login evil password evil\n")
    try:
        pam.service()
        pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS", env=env)
    finally:
        proxy.close()
    assert proxy.connections == 0, "the environment's proxy was used"
    assert not keylog.exists(), "SSLKEYLOGFILE made the module write TLS secrets"
    # The sign-in and (end_session=auth, the default) the session's end.
    assert [q["path"].rsplit("/", 1)[-1] for q in emu.requests()] == ["sign_ins", "end"]


def test_configured_proxy_is_used(pam, emu):
    proxy = Listener()  # accepts and closes: the sign-in fails, but went there
    try:
        pam.service(extra_args=["proxy=http://127.0.0.1:%d" % proxy.port])
        # A caller's NO_PROXY must not take the traffic around the configured proxy.
        r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_AUTHINFO_UNAVAIL",
                       env={"NO_PROXY": "*", "no_proxy": "127.0.0.1"})
    finally:
        proxy.close()
    assert proxy.connections >= 1
    assert emu.requests() == []
    assert r.outcome() in ("network_error", "bad_response")


def test_no_secret_reaches_the_log(pam, emu):
    pam.service(extra_args=["debug"])
    ok = pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
    bad = pam.expect(DEMO, "Wrong-Secret-Password", "PAM_AUTH_ERR")
    for r in (ok, bad):
        # What the module logged, and anything else it printed; pam_wrapper's
        # own TRACE lines (which print PAM items) are not the module's.
        text = "\n".join(r.log + [l for l in r.stderr.splitlines()
                                  if not l.startswith("PWRAP_")])
        assert DEMO_PASSWORD not in text and "Wrong-Secret-Password" not in text
        assert "eyJ" not in text, "a JWT or client token reached the log"
        assert "authorization" not in text.lower()
        assert any(line.startswith("debug: ") for line in r.log), r.log


def test_hostile_server_strings_are_sanitised(pam, emu):
    pam.service(extra_args=["debug"])
    emu.fault("error_code", code="form_password_incorrect",
              long_message="evil\n\x1b[31mFAKE LOG LINE\r\x07", trace_id="t\nx\x1b")
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_AUTH_ERR")
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr
    # A raw newline would start a forged line that is not pam_wrapper's.
    forged = [l for l in r.stderr.splitlines()
              if "FAKE LOG LINE" in l and not l.startswith("PWRAP_")]
    assert forged == [], forged
    assert any("FAKE LOG LINE" in l for l in r.log), "the detail should still be logged"


def test_caller_cannot_choose_the_ca_store(pam, emu, tmp_path):
    """Without cafile/capath the store compiled into OpenSSL is used: a caller's
    SSL_CERT_FILE / SSL_CERT_DIR naming the emulator's CA must not make it trusted."""
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "ca.pem").write_bytes(open(emu.ca_file, "rb").read())
    import subprocess
    subprocess.run(["openssl", "rehash", str(certs)], check=True, capture_output=True)
    pam.service(auth_args=args_for(pam, emu.url, None))
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_AUTHINFO_UNAVAIL",
                   env={"SSL_CERT_FILE": emu.ca_file, "SSL_CERT_DIR": str(certs)})
    assert r.outcome() == "tls_error"
    assert emu.requests() == []


class ConnectProxy:
    """An HTTP proxy that answers CONNECT: it records the request head, then
    relays bytes both ways (answer=None), or refuses with the given status line."""

    def __init__(self, answer=None):
        self.answer = answer
        self.heads = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(conn,), daemon=True).start()

    def _tunnel(self, conn):
        head = b""
        while b"\r\n\r\n" not in head:
            data = conn.recv(1)
            if not data:
                conn.close()
                return
            head += data
        self.heads.append(head.decode("latin-1"))
        if self.answer is not None:
            conn.sendall(self.answer)
            conn.close()
            return
        target = head.split(b" ")[1].decode()
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

        def pump(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        threading.Thread(target=pump, args=(upstream, conn), daemon=True).start()
        pump(conn, upstream)

    def close(self):
        self.sock.close()


def test_login_through_a_connect_proxy_with_credentials(pam, emu):
    proxy = ConnectProxy()
    try:
        # A password only in a file that only root can read (conftest: 0600).
        pam.write_conf("proxy = http://svc%%2Dpam:p%%40ss:w@127.0.0.1:%d\n" % proxy.port)
        pam.service()
        pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
    finally:
        proxy.close()
    port = emu.url.rsplit(":", 1)[1].rstrip("/")
    assert proxy.heads, "the proxy saw no CONNECT"
    head = proxy.heads[0]
    assert head.startswith("CONNECT 127.0.0.1:%s HTTP/1.1\r\n" % port), head
    import base64
    assert "Proxy-Authorization: Basic %s\r\n" % base64.b64encode(
        b"svc-pam:p@ss:w").decode() in head, head
    # The sign-in (and the session's end, end_session=auth) went through the tunnel.
    assert len(emu.requests()) == 2, "the sign-in went through the tunnel"


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",  # no tunnel: TLS sees junk
    b"SOCKS? no\r\n\r\n",
])
def test_proxy_refusal_is_an_outage(pam, emu, answer):
    proxy = ConnectProxy(answer)
    try:
        pam.service(extra_args=["proxy=http://127.0.0.1:%d" % proxy.port])
        r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_AUTHINFO_UNAVAIL")
    finally:
        proxy.close()
    assert r.outcome() in ("network_error", "tls_error")
    assert emu.requests() == []


# One connection per authentication (issue 13): every request of one PAM call goes over
# the same TCP+TLS connection; the emulator's log names each request's connection.
@pytest.mark.parametrize("args,paths", [
    (["end_session=auth"], ["sign_ins", "sessions"]),
    (["export_env"], ["sign_ins", "jwks"]),
    (["organization=org_ileap", "export_env"], ["sign_ins", "jwks", "tokens"]),
])
def test_one_connection_per_login(pam, emu, args, paths):
    pam.service(extra_args=args)
    pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
    first = emu.requests()
    seen = " ".join(q["path"] for q in first)
    for p in paths:
        assert p in seen, (p, seen)
    assert len(first) >= 2
    assert len({q["connection"] for q in first}) == 1, [q["connection"] for q in first]
    # The next authentication is a new PAM call: its own handle, its own connection.
    pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
    second = emu.requests()[len(first):]
    assert second and len({q["connection"] for q in second}) == 1
    assert {q["connection"] for q in second}.isdisjoint({q["connection"] for q in first})

