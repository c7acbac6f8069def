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
    env.update({"NO_PROXY": "", "SSLKEYLOGFILE": str(keylog), "CURL_HOME": str(tmp_path),
                "HOME": str(tmp_path), "CURL_CA_BUNDLE": "/dev/null",
                "SSL_CERT_FILE": "/dev/null"})
    (tmp_path / ".netrc").write_text("default login evil password evil\n")
    try:
        pam.service()
        pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS", env=env)
    finally:
        proxy.close()
    assert proxy.connections == 0, "the environment's proxy was used"
    assert not keylog.exists(), "SSLKEYLOGFILE made the module write TLS secrets"
    assert len(emu.requests()) == 1


def test_configured_proxy_is_used(pam, emu):
    proxy = Listener()  # accepts and closes: the sign-in fails, but went there
    try:
        pam.service(extra_args=["proxy=http://127.0.0.1:%d" % proxy.port])
        r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_AUTHINFO_UNAVAIL")
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
