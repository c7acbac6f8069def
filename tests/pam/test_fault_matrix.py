"""The fault matrix: every fault the FAPI emulator can produce, and those of the network
around it, through the built module under real libpam. Each row asserts the PAM code, the
outcome in the log line, and that the time spent stays within the bound the configuration
promises: connect_timeout for what happens before a connection stands (refused, DNS, TLS),
timeout for the whole run of requests of one login (every request: the sign-in and its
steps, the token and session requests), plus the documented extras (a
Retry-After wait on a code, the state_dir lock, the JWKS fetch).

Times are measured around the whole driver process, so each row's bound is checked against
the time the same driver takes for a plain successful login here (the baseline) plus a
margin. At the end the measured table is written to $FAULT_MATRIX_TABLE (default: the
pytest tmp dir, printed with -s): fault, PAM code, worst time measured, bound.
"""
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import time

import pytest

import conftest
from emulator.control import Emulator, totp

DEMO = "ileap-demo@way.cloud"
DEMO_PASSWORD = "HelloPrimaryData"
# Under valgrind (tests/valgrind/run-valgrind.sh) the rows run for their memory checks:
# codes and outcomes are asserted, times (valgrind's, not the module's) are not, and the
# budgets are wider so that a slowed-down module still gets its answers in time.
TIMED = os.environ.get("PAM_WRAP") != "valgrind"
T = 3 if TIMED else 15  # timeout= for every row
C = 1 if TIMED else 8   # connect_timeout=
MARGIN = 1.5   # scheduling, a loaded CI machine
TIMES = ["timeout=%d" % T, "connect_timeout=%d" % C]

_baseline = []
RESULTS = {}   # row id -> (fault, pam code, outcome, elapsed - baseline, bound text)


def baseline(pam):
    """Seconds a plain successful login takes through the driver (median of three)."""
    if not _baseline:
        pam.service(extra_args=TIMES)
        runs = []
        for _ in range(3):
            r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
            runs.append(r.elapsed)
        _baseline.append(statistics.median(runs))
    return _baseline[0]


@pytest.fixture(autouse=True)
def _measure_baseline_first(pam):
    """The baseline is taken before a row sets up its faults (once per module)."""
    baseline(pam)
    pam.emu.reset()


def check(pam, r, row, code, outcomes, bound, fault, bound_text, at_least=None):
    """Assert the code, the outcome and the time; remember the row for the table."""
    base = baseline(pam)
    assert r.ok, "%s: expected %s: %r" % (row, code, r)
    outcome = r.outcome()
    assert outcome in outcomes, "%s: outcome %s, expected %s" % (row, outcome, outcomes)
    extra = r.elapsed - base
    if not TIMED:
        return r
    assert extra <= bound + MARGIN, "%s: %.2f s beyond a normal login (bound %s = %.1f s)" % (
        row, extra, bound_text, bound)
    if at_least is not None:
        assert r.elapsed >= at_least, "%s: ended after %.2f s, before the %.1f s it must wait" \
            % (row, r.elapsed, at_least)
    RESULTS[row] = (fault, code, outcome, max(extra, 0.0), bound_text)
    return r


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def url_service(pam, url, cafile, extra=()):
    args = ["conf=%s" % pam.conf, "frontend_api=%s" % url] + (
        ["cafile=%s" % cafile] if cafile else []) + TIMES + list(extra)
    return pam.service(auth_args=args)


# ---- before a connection stands: bounded by connect_timeout --------------------------------

def test_connection_refused(pam, emu):
    url_service(pam, "https://127.0.0.1:%d" % closed_port(), emu.ca_file)
    r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_AUTHINFO_UNAVAIL")])
    check(pam, r, "connection_refused", "PAM_AUTHINFO_UNAVAIL", {"network_error"}, C,
          "connection refused", "connect_timeout")


def test_dns_failure(pam, emu):
    url_service(pam, "https://clerk.does-not-exist.invalid", emu.ca_file)
    r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_AUTHINFO_UNAVAIL")])
    check(pam, r, "dns_failure", "PAM_AUTHINFO_UNAVAIL", {"network_error", "timeout"}, C,
          "DNS failure (no such host)", "connect_timeout")


class BlackholeDNS:
    """A name server on 127.0.0.77:53 that never answers (UDP and TCP)."""

    ADDR = "127.0.0.77"

    def __init__(self):
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((self.ADDR, 53))
        self.tcp = socket.socket()
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((self.ADDR, 53))
        self.tcp.listen(16)

    def close(self):
        self.udp.close()
        self.tcp.close()


def can_unshare():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not can_unshare(), reason="needs root and unshare -m (a private "
                    "/etc/resolv.conf for the driver)")
def test_dns_server_never_answers(pam, emu, tmp_path, monkeypatch):
    """The resolver hangs (its own timeout here: 8 s): the login must still end after
    connect_timeout, not when glibc gives up."""
    try:
        dns = BlackholeDNS()
    except OSError as e:
        pytest.skip("cannot listen on %s:53: %s" % (BlackholeDNS.ADDR, e))
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver %s\noptions timeout:8 attempts:1\n" % BlackholeDNS.ADDR)
    wrapper = tmp_path / "python-private-resolv"
    wrapper.write_text("#!/bin/sh\nexec unshare -m sh -c 'mount --bind \"$0\" "
                       "/etc/resolv.conf && exec /usr/bin/python3 \"$@\"' %s \"$@\"\n" % resolv)
    wrapper.chmod(0o755)
    monkeypatch.setattr(conftest, "PYTHON", str(wrapper))
    try:
        url_service(pam, "https://clerk.example.com", emu.ca_file)
        r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_AUTHINFO_UNAVAIL")])
    finally:
        dns.close()
    check(pam, r, "dns_hang", "PAM_AUTHINFO_UNAVAIL", {"timeout", "network_error"}, C,
          "DNS server never answers", "connect_timeout")


@pytest.mark.parametrize("which", ["unknown_ca", "wrong_host", "self_signed"])
def test_tls_failures(pam, emu, which):
    url, cafile = {"unknown_ca": (emu.url, None), "wrong_host": (emu.wrong_host_url, emu.ca_file),
                   "self_signed": (emu.self_signed_url, emu.ca_file)}[which]
    url_service(pam, url, cafile)
    r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_AUTHINFO_UNAVAIL")])
    check(pam, r, "tls_" + which, "PAM_AUTHINFO_UNAVAIL", {"tls_error"}, C,
          "TLS: %s" % which.replace("_", " "), "connect_timeout")
    assert emu.requests() == []


def test_tls_handshake_hangs(pam, emu):
    pam.service(extra_args=TIMES)
    emu.fault("hang_tls", count=1, timeout=30)
    r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_AUTHINFO_UNAVAIL")])
    check(pam, r, "hang_tls", "PAM_AUTHINFO_UNAVAIL", {"timeout"}, C,
          "TLS handshake hangs", "connect_timeout", at_least=C * 0.9)


# ---- a connection stands, the answer does not come: bounded by timeout ---------------------

@pytest.mark.parametrize("fault,params,what", [
    ("hang", {"timeout": 30}, "hang before the headers"),
    ("hang_after_headers", {"timeout": 30}, "hang after the headers"),
    ("drip", {"interval": 0.5}, "slow drip of bytes (one per 0.5 s)"),
])
def test_hangs(pam, emu, fault, params, what):
    pam.service(extra_args=TIMES)
    emu.fault(fault, count=1, **params)
    r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_AUTHINFO_UNAVAIL")])
    check(pam, r, fault, "PAM_AUTHINFO_UNAVAIL", {"timeout"}, T, what, "timeout",
          at_least=T * 0.9)
    assert len(emu.requests()) == 1, "never retried after a timeout"


def test_slow_but_in_time(pam, emu):
    pam.service(extra_args=TIMES)
    emu.fault("delay", count=1, seconds=1.5)
    r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_SUCCESS")])
    check(pam, r, "delay", "PAM_SUCCESS", {"success"}, 1.5, "answer 1.5 s late (in time)",
          "the delay")


# ---- an answer arrives, and is wrong: at once ----------------------------------------------

@pytest.mark.parametrize("fault,params,code,outcomes,what", [
    ("reset", {}, "PAM_AUTHINFO_UNAVAIL", {"network_error", "bad_response"},
     "reset before the answer"),
    ("reset_mid_body", {}, "PAM_AUTHINFO_UNAVAIL", {"network_error", "bad_response"},
     "reset mid-body"),
    ("status", {"http_status": 500}, "PAM_AUTHINFO_UNAVAIL", {"server_error"}, "HTTP 500"),
    ("status", {"http_status": 502}, "PAM_AUTHINFO_UNAVAIL", {"server_error"}, "HTTP 502"),
    ("status", {"http_status": 503}, "PAM_AUTHINFO_UNAVAIL", {"server_error"}, "HTTP 503"),
    ("status", {"http_status": 504}, "PAM_AUTHINFO_UNAVAIL", {"server_error"}, "HTTP 504"),
    ("rate_limit", {"retry_after": 90}, "PAM_MAXTRIES", {"rate_limited"},
     "429 with Retry-After"),
    # issue 14: a 429 (Clerk refused before looking at the password) is waited out and
    # sent again while the budget allows; without Retry-After the wait is 1 s
    ("rate_limit", {}, "PAM_SUCCESS", {"success"}, "429 without Retry-After"),
    ("truncated_json", {}, "PAM_AUTHINFO_UNAVAIL", {"bad_response"}, "truncated JSON"),
    ("malformed_json", {}, "PAM_AUTHINFO_UNAVAIL", {"bad_response"}, "malformed JSON"),
    ("wrong_types", {}, "PAM_AUTHINFO_UNAVAIL", {"bad_response"}, "wrong-typed JSON"),
    ("empty_body_200", {}, "PAM_AUTHINFO_UNAVAIL", {"bad_response"}, "empty 200 body"),
    ("oversized", {}, "PAM_AUTHINFO_UNAVAIL", {"bad_response"}, "oversized body (8 MiB)"),
    ("redirect", {"status": 301}, "PAM_AUTHINFO_UNAVAIL", {"bad_response"}, "redirect 301"),
    ("redirect", {"status": 302}, "PAM_AUTHINFO_UNAVAIL", {"bad_response"}, "redirect 302"),
    ("redirect", {"status": 307}, "PAM_AUTHINFO_UNAVAIL", {"bad_response"}, "redirect 307"),
    ("redirect", {"status": 308}, "PAM_AUTHINFO_UNAVAIL", {"bad_response"}, "redirect 308"),
    ("unexpected_status", {"http_status": 418}, "PAM_AUTHINFO_UNAVAIL", {"bad_response"},
     "unexpected status 418"),
    ("unexpected_status", {"http_status": 204}, "PAM_AUTHINFO_UNAVAIL", {"bad_response"},
     "unexpected status 204"),
    ("unexpected_status", {"http_status": 201}, "PAM_AUTHINFO_UNAVAIL", {"bad_response"},
     "unexpected status 201"),
], ids=lambda v: None)
def test_bad_answers(pam, emu, fault, params, code, outcomes, what):
    pam.service(extra_args=TIMES)
    emu.fault(fault, count=1, **params)
    r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", code)])
    row = fault + "".join("_%s" % v for v in params.values())
    check(pam, r, row, code, outcomes, T, what, "timeout")
    # a password POST is never replayed, but after a 429 Clerk never looked at it
    creates = [q for q in emu.requests() if q["path"] == "/v1/client/sign_ins"]
    assert len(creates) == (2 if code == "PAM_SUCCESS" else 1)


# ---- later requests of the same login share its budget -------------------------------------

def test_every_request_slow_shares_one_budget(pam, emu):
    """Sign-in, an organization's token, the JWKS: three requests, each 0.4 x timeout late.
    Together they do not fit in timeout: the login ends at the budget, not at 1.2 x timeout."""
    pam.service(extra_args=TIMES + ["organization=org_none", "state_dir=none"])
    emu.fault("delay", count=3, seconds=0.4 * T)
    r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_AUTHINFO_UNAVAIL")])
    check(pam, r, "three_slow_requests", "PAM_AUTHINFO_UNAVAIL", {"timeout"}, T,
          "every request of a login 0.4 x timeout late", "timeout (shared)")
    emu.clear_faults()


def test_session_end_hangs(pam, emu):
    """end_session=auth ends the Clerk session at once; that request hanging costs only what
    is left of the budget, and the login stands."""
    pam.service(extra_args=TIMES + ["end_session=auth", "state_dir=none"])
    emu.fault("hang", count=1, path="/v1/client/sessions", timeout=30)
    r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_SUCCESS")])
    check(pam, r, "session_end_hang", "PAM_SUCCESS", {"success"}, T,
          "hang when ending the session (end_session=auth)", "timeout (shared)")


def test_code_429_waits_retry_after_once(pam, emu):
    """A 429 on a code with a short Retry-After is waited out once, then the code is sent
    again; the wait is part of the login's one network budget."""
    emu.add_user({"id": "user_fm_totp", "identifiers": ["fm-totp"], "password": "fm password",
                  "second_factors": ["totp"], "totp_secret": "JBSWY3DPEHPK3PXP"})
    pam.service(extra_args=TIMES)
    emu.fault("rate_limit", count=1, path="/v1/client/sign_ins/", retry_after=2)
    r = pam.run("fm-totp", "fm password", echo_on=[totp("JBSWY3DPEHPK3PXP")],
                ops=[("authenticate", "PAM_SUCCESS")])
    check(pam, r, "code_429_retry_after_2", "PAM_SUCCESS", {"success"}, T,
          "429 with Retry-After: 2 on a code", "timeout (the wait counts against it)",
          at_least=2)


def test_code_429_retry_after_past_the_budget_is_not_waited(pam, emu):
    """A Retry-After that does not fit in what is left of the budget is not waited for:
    rate_limited at once, not a wait that ends in a timeout."""
    emu.add_user({"id": "user_fm_totp3", "identifiers": ["fm-totp3"],
                  "password": "fm password", "second_factors": ["totp"],
                  "totp_secret": "JBSWY3DPEHPK3PXP"})
    pam.service(extra_args=TIMES)
    emu.fault("rate_limit", count=1, path="/v1/client/sign_ins/", retry_after=T + 1)
    r = pam.run("fm-totp3", "fm password", echo_on=[totp("JBSWY3DPEHPK3PXP")],
                ops=[("authenticate", "PAM_MAXTRIES")])
    check(pam, r, "code_429_retry_after_past_budget", "PAM_MAXTRIES", {"rate_limited"}, 0.5,
          "429 on a code, Retry-After longer than what is left of timeout", "at once")
    assert len(emu.requests()) == 2


def test_code_429_long_retry_after_is_not_waited(pam, emu):
    emu.add_user({"id": "user_fm_totp2", "identifiers": ["fm-totp2"],
                  "password": "fm password", "second_factors": ["totp"],
                  "totp_secret": "JBSWY3DPEHPK3PXP"})
    pam.service(extra_args=TIMES)
    emu.fault("rate_limit", count=1, path="/v1/client/sign_ins/", retry_after=3600)
    r = pam.run("fm-totp2", "fm password", echo_on=[totp("JBSWY3DPEHPK3PXP")],
                ops=[("authenticate", "PAM_MAXTRIES")])
    check(pam, r, "code_429_retry_after_3600", "PAM_MAXTRIES", {"rate_limited"}, T,
          "429 with Retry-After: 3600 on a code", "timeout")


def locked_stored_client(state):
    """A stored client in state, its lock held as a concurrent login holds it (with nothing
    stored a login takes no lock). Returns the lock's descriptor."""
    state.mkdir(mode=0o700)
    name = hashlib.sha256(DEMO.encode()).hexdigest()
    fd = os.open(str(state / (name + ".token")), os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"pam_clerk client v1\nclient_held_by_another_login\n")
    os.close(fd)
    return conftest.hold_state_lock(state, DEMO)


def test_state_dir_locked_by_a_concurrent_login(pam, emu, tmp_path):
    """Another login of the same identifier uses the stored client and holds its lock: this
    one waits for it at most min(timeout, 5 s), then goes on without the stored client."""
    state = tmp_path / "locked-state"
    lock = locked_stored_client(state)
    try:
        pam.service(extra_args=TIMES + ["state_dir=%s" % state])
        r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_SUCCESS")])
    finally:
        os.close(lock)
    wait = min(T, 5)
    check(pam, r, "state_dir_locked", "PAM_SUCCESS", {"success"}, wait,
          "state_dir lock held by a concurrent login", "min(timeout, 5 s) (lock wait)",
          at_least=wait * 0.9)


def test_worst_case_of_a_password_login(pam, emu, tmp_path):
    """Everything at once for a login that wants the session JWT: the state_dir lock held by
    a concurrent login (waited out: min(timeout, 5 s)), a sign-in that takes most of the
    login's network budget, then a JWKS fetch that hangs (what is left of that budget). The
    documented worst case is min(timeout, 5) + timeout."""
    state = tmp_path / "worst-state"
    lock = locked_stored_client(state)
    try:
        pam.service(extra_args=TIMES + ["export_env", "end_session=never",
                                        "state_dir=%s" % state])
        emu.fault("delay", count=1, path="/v1/client/sign_ins", seconds=T - 0.5)
        emu.fault("hang", count=1, path="/.well-known/jwks.json", timeout=30)
        r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_AUTHINFO_UNAVAIL")])
    finally:
        os.close(lock)
    check(pam, r, "worst_case_password_login", "PAM_AUTHINFO_UNAVAIL", {"timeout"},
          min(T, 5) + T, "lock held + slow sign-in + JWKS hang (export_env)",
          "min(timeout, 5 s) + timeout", at_least=min(T, 5) + T * 0.9)


# ---- the session JWT (export_env and organization rules) ---------------------------------

def test_jwks_fetch_hangs(pam, emu):
    pam.service(extra_args=TIMES + ["export_env", "end_session=never", "state_dir=none"])
    emu.fault("hang", count=1, path="/.well-known/jwks.json", timeout=30)
    r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_AUTHINFO_UNAVAIL")])
    check(pam, r, "jwks_hang", "PAM_AUTHINFO_UNAVAIL", {"timeout"}, T,
          "hang fetching the JWKS (export_env)", "timeout (JWKS fetch)", at_least=T * 0.9)


def jwt_kinds():
    try:
        from emulator import faults
        kinds = list(getattr(faults, "JWT_KINDS", ()))
    except ImportError:
        return []
    return kinds


@pytest.mark.parametrize("kind", jwt_kinds())
def test_bad_session_jwt(pam, emu, kind):
    pam.service(extra_args=TIMES + ["export_env", "end_session=never", "state_dir=none"])
    emu.fault("jwt", count=None, kind=kind)
    r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_AUTH_ERR")])
    check(pam, r, "jwt_" + kind, "PAM_AUTH_ERR", {"jwt_invalid"}, T,
          "session JWT: %s" % kind.replace("_", " "), "timeout")
    emu.clear_faults()


# ---- the table --------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def table(tmp_path_factory):
    yield
    if not RESULTS:
        return
    lines = ["| fault | PAM code | outcome | measured | bound |", "| --- | --- | --- | --- | --- |"]
    for row in sorted(RESULTS, key=lambda k: list(RESULTS).index(k)):
        fault, code, outcome, extra, bound = RESULTS[row]
        lines.append("| %s | `%s` | `%s` | %.1f s | %s |" % (fault, code, outcome, extra, bound))
    text = "\n".join(lines) + "\n\n(timeout=%d, connect_timeout=%d; measured = time beyond a " \
        "normal login, baseline %.2f s)\n" % (T, C, _baseline[0] if _baseline else 0)
    path = os.environ.get("FAULT_MATRIX_TABLE") or str(
        tmp_path_factory.getbasetemp() / "fault_matrix.md")
    with open(path, "w") as f:
        f.write(text)
    print("\nfault matrix (%s):\n%s" % (path, text))
