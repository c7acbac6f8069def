"""Issue 14 end to end: Debian's sshd on the internet's terms, against the emulator playing
real Clerk (5 sign-in creates and 3 factor attempts per 10 s per IP, lockout after 10
failures). The stack is README's (pam_clerk before pam_unix), as in test_sshd.py; the
numbers measured are printed (pytest -s) for the report."""
import concurrent.futures
import os
import re
import time

import pytest

import e2e
from e2e import DEMO_PASSWORD, DEMO_USER, MFA_PASSWORD, MFA_USER

pytestmark = [e2e.needs_root,
              e2e.needs_tools("/usr/sbin/sshd", "ssh", "ssh-keygen", "sshpass", "unshare",
                              "useradd")]

# Local accounts of the burst, with their Clerk passwords (tests/emulator/users.json;
# identifier = %u@way.cloud).
BURST_USERS = [(DEMO_USER, DEMO_PASSWORD), ("alice", "correct horse"), ("bob", "battery staple"),
               ("auditor-user", "auditor password")]


@pytest.fixture(scope="module")
def real_emulator(tmp_path_factory):
    if not e2e.is_root():
        pytest.skip("end-to-end tests run as root")
    e2e.need_module()
    emu = e2e.Emulator(str(tmp_path_factory.mktemp("real-emulator")), profile="real").start()
    yield emu
    emu.stop()


@pytest.fixture
def real_emu(real_emulator):
    real_emulator.reset()
    yield real_emulator
    real_emulator.clear_faults()


@pytest.fixture
def sshd_factory(tmp_path, syslog, real_emu, conf):
    started = []

    def make(users, extra=(), **kw):
        args = e2e.module_args(real_emu, conf, extra=e2e.state_args(tmp_path) + list(extra))
        s = e2e.Sshd(tmp_path / ("sshd%d" % len(started)), syslog,
                     e2e.clerk_then_unix(e2e.MODULE, args, **kw.pop("stack", {})), users,
                     **kw).start()
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


def creates(emu):
    return [r for r in emu.requests()
            if r["method"] == "POST" and r["path"] == "/v1/client/sign_ins"]


def statuses(emu):
    return [r["status"] for r in emu.requests()]


def not_locked_at_clerk(emu, identifier, password):
    """Clerk's own answer to the right password (rate limits lifted for the check)."""
    emu.set(rate_limit=0, attempt_rate_limit=0)
    r = emu.sign_in(identifier, password)
    assert r.status == 200, (r.status, r.error_code())


def test_invalid_users_send_no_request(sshd_factory, syslog, real_emu):
    """A name with no local account (sshd's decoy password) and root under
    PermitRootLogin no: refused like a wrong password, and Clerk hears nothing."""
    with e2e.Account(DEMO_USER):
        sshd = sshd_factory([DEMO_USER, "bob", "root"])
        for user, password in [("clerk-e2e-invalid", "anything"), ("bob", "battery staple"),
                               ("root", "whatever")]:
            p = sshd.sshpass(user, password, "echo clerk-e2e-ok")
            assert p.returncode != 0 and "clerk-e2e-ok" not in p.stdout
        assert syslog.wait_for(r"user=root .*outcome=bad_credentials"), syslog.text()
        assert real_emu.requests() == [], real_emu.requests()
        lines = syslog.attempts()
        assert len(lines) == 3 and all("outcome=bad_credentials" in ln for ln in lines), lines
        print("\ninvalid users: %d requests at Clerk" % len(real_emu.requests()))


def test_thirty_guesses_leave_the_clerk_account_unlocked(sshd_factory, syslog, real_emu):
    with e2e.Account(DEMO_USER):
        sshd = sshd_factory([DEMO_USER])
        start = time.monotonic()
        for i in range(30):
            p = sshd.sshpass(DEMO_USER, "guess %d" % i, "echo clerk-e2e-ok")
            assert p.returncode != 0 and "clerk-e2e-ok" not in p.stdout
        took = time.monotonic() - start
        assert syslog.wait_for(r"outcome=too_many_failures"), syslog.text()
        seen = len(creates(real_emu))
        assert seen <= 5, seen  # fail_limit's default
        assert 429 not in statuses(real_emu)
        assert "too many failed sign-ins" in syslog.text()
        # The right password is refused here too until fail_lock ends ...
        p = sshd.sshpass(DEMO_USER, DEMO_PASSWORD, "echo clerk-e2e-ok")
        assert p.returncode != 0
        assert len(creates(real_emu)) == seen
        # ... but Clerk never locked the account: every other app still works.
        not_locked_at_clerk(real_emu, "ileap-demo@way.cloud", DEMO_PASSWORD)
        print("\n30 guesses in %.1f s: %d sign-ins reached Clerk, account not locked"
              % (took, seen))


def test_burst_of_twelve_logins_all_succeed(sshd_factory, syslog, real_emu):
    accounts = [e2e.Account(u) for u, _ in BURST_USERS]
    for a in accounts:
        a.__enter__()
    try:
        # paced logins stay unauthenticated for up to 20 s: more than sshd's default
        # MaxStartups (10) at once would be dropped before PAM
        sshd = sshd_factory([u for u, _ in BURST_USERS], extra=["timeout=40"],
                            options=["MaxStartups 30:30:60"])
        logins = BURST_USERS * 3
        start = time.monotonic()

        def login(up):
            p = sshd.sshpass(up[0], up[1], "echo ok-$(id -un)", timeout=90)
            return p, time.monotonic() - start

        with concurrent.futures.ThreadPoolExecutor(len(logins)) as pool:
            results = list(pool.map(login, logins))
        for (user, _), (p, _) in zip(logins, results):
            assert p.returncode == 0 and p.stdout.strip() == "ok-%s" % user, \
                (user, p.returncode, p.stderr, syslog.text()[-3000:])
        last = max(t for _, t in results)
        n429 = statuses(real_emu).count(429)
        assert n429 == 0, statuses(real_emu)
        assert len(creates(real_emu)) == len(logins)
        print("\nburst of %d logins of %d users: last success after %.1f s, %d requests at "
              "Clerk, %d 429s" % (len(logins), len(BURST_USERS), last, len(real_emu.requests()),
                                   n429))
    finally:
        for a in accounts:
            a.__exit__(None, None, None)


@e2e.needs_python_module("pexpect", "python3-pexpect")
def test_totp_user_is_not_let_in_on_the_password_alone_offline(sshd_factory, syslog,
                                                               real_emu):
    import pexpect
    secret = e2e.emulator_user(identifier=MFA_USER)["totp_secret"]
    with e2e.Account(MFA_USER):
        sshd = sshd_factory([MFA_USER], extra=["offline_cache=24"], password=False,
                            kbdint=True, stack={"control": e2e.CLERK_FIRST_KBDINT})
        argv = sshd.ssh_argv(MFA_USER, "echo mfa-ok-$(id -un)", auth="keyboard-interactive")
        child = pexpect.spawn(argv[0], argv[1:], env=e2e.clean_env(), encoding="utf-8",
                              timeout=30)
        try:
            child.expect(r"(?i)password[^\n]*: ?")
            child.sendline(MFA_PASSWORD)
            child.expect(r"(?i)\bcode\b[^\n]*: ")
            child.sendline(e2e.totp(secret))
            child.expect("mfa-ok-%s" % MFA_USER)
            child.expect(pexpect.EOF)
        finally:
            child.close()
        assert child.exitstatus == 0, syslog.text()
        state = os.path.join(str(sshd.dir), "..", "clerk-state")
        assert not [f for f in os.listdir(state) if f.endswith(".offline")]
        # Clerk unreachable: the password alone is not enough
        real_emu.fault("status", http_status=503)
        syslog.clear()
        child = pexpect.spawn(argv[0], argv[1:], env=e2e.clean_env(), encoding="utf-8",
                              timeout=30)
        try:
            child.expect(r"(?i)password[^\n]*: ?")
            child.sendline(MFA_PASSWORD)
            i = child.expect([r"(?i)password[^\n]*: ?", "mfa-ok-", pexpect.EOF])
            assert i != 1, "let in on the password alone"
        finally:
            child.close(force=True)
        line = syslog.wait_for(r"pam_clerk\(sshd:auth\).*user=mfa-user.* outcome=")
        assert line and re.search(r"outcome=server_error pam=PAM_AUTHINFO_UNAVAIL", line), \
            syslog.text()
