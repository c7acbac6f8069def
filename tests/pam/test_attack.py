"""Issue 14: an sshd on the internet within Clerk's limits, at the PAM level, against the
emulator playing real Clerk (5 sign-in creates and 3 factor attempts per 10 s per IP,
lockout after 10 failures). Accounts come from nss_wrapper (conftest.py): each test names
the local accounts it has."""
import concurrent.futures
import os
import time

from emulator.control import totp

ALICE, ALICE_PW = "alice", "correct horse"
BOB, BOB_PW = "bob", "battery staple"
TOTP_SECRET = "JBSWY3DPEHPK3PXP"  # totp-user's, tests/emulator/users.json
DECOY = ("\b\n\r\177INCORRECT" * 3)[:14]
HOST_RECORDS = {"failures", "failures.lock", "pacing", "pacing.lock", "refusal_times",
                "refusal_times.lock"}


def creates(emu):
    return [q for q in emu.requests()
            if q["method"] == "POST" and q["path"] == "/v1/client/sign_ins"]


def statuses(emu):
    return [q["status"] for q in emu.requests()]


def identifier_files(pam):
    d = str(pam.state_dir)
    return sorted(f for f in os.listdir(d) if f not in HOST_RECORDS) if os.path.isdir(d) else []


def not_locked_at_clerk(emu, identifier, password):
    """Clerk's own answer to the right password (rate limits lifted for the check)."""
    emu.set(rate_limit=0, attempt_rate_limit=0)
    r = emu.sign_in(identifier, password)
    assert r.status == 200, (r.status, r.error_code())


# --- item 1: only local accounts, never sshd's decoy ----------------------------------

def test_no_local_account_sends_no_request(real_pam, real_emu):
    real_pam.local_users = {ALICE}
    real_pam.service()
    wrong = real_pam.expect(ALICE, "a wrong password", "PAM_AUTH_ERR")
    assert len(creates(real_emu)) == 1
    real_emu.reset_log()
    # bob is a Clerk user with no account here: refused like a wrong password, unasked
    r = real_pam.expect(BOB, BOB_PW, "PAM_AUTH_ERR")
    assert r.outcome() == "bad_credentials" == wrong.outcome()
    assert real_emu.requests() == []
    # as long as the refusal by Clerk this host just saw (learnt), not at once
    assert r.elapsed >= 0.6 * wrong.elapsed, (r.elapsed, wrong.elapsed)
    assert identifier_files(real_pam) == []


def test_sshd_decoy_password_is_never_sent(real_pam, real_emu):
    real_pam.local_users = {ALICE}
    real_pam.service()
    r = real_pam.expect(ALICE, DECOY, "PAM_AUTH_ERR")
    assert r.outcome() == "bad_credentials"
    assert real_emu.requests() == []


def test_local_accounts_only_off_for_web_services(real_pam, real_emu):
    real_pam.local_users = set()
    real_pam.service(extra_args=["local_accounts_only=no"])
    real_pam.expect(BOB, BOB_PW, "PAM_SUCCESS")
    assert len(creates(real_emu)) == 1


# --- item 2: the local failure budget --------------------------------------------------

def test_guesses_stop_below_clerks_lockout(real_pam, real_emu):
    real_pam.local_users = {ALICE}
    real_pam.service()
    guesses = [real_pam.expect(ALICE, "guess %d" % i, "PAM_AUTH_ERR") for i in range(5)]
    assert [r.outcome() for r in guesses] == ["bad_credentials"] * 5
    # logged once, by the failure that reached the limit
    assert ["too many failed sign-ins" in r.log_text() for r in guesses] == [False] * 4 + [True]
    r = real_pam.expect(ALICE, "guess 5", "PAM_MAXTRIES")
    assert r.outcome() == "too_many_failures"
    assert any("refused on this host" in i for i in r.info + r.errors), r
    # the right password too waits out the refusal, and nothing more reached Clerk
    assert real_pam.expect(ALICE, ALICE_PW, "PAM_MAXTRIES").outcome() == "too_many_failures"
    assert len(creates(real_emu)) == 5
    assert 429 not in statuses(real_emu)
    not_locked_at_clerk(real_emu, ALICE, ALICE_PW)


def test_success_resets_the_count(real_pam, real_emu):
    real_pam.local_users = {ALICE}
    real_pam.service(extra_args=["fail_limit=3", "timeout=30"])  # 7 sign-ins: paced
    for i in range(2):
        real_pam.expect(ALICE, "guess %d" % i, "PAM_AUTH_ERR")
    real_pam.expect(ALICE, ALICE_PW, "PAM_SUCCESS")
    for i in range(2):
        assert real_pam.expect(ALICE, "again %d" % i, "PAM_AUTH_ERR").outcome() == \
            "bad_credentials"
    assert real_pam.expect(ALICE, "third", "PAM_AUTH_ERR").outcome() == "bad_credentials"
    assert real_pam.expect(ALICE, ALICE_PW, "PAM_MAXTRIES").outcome() == "too_many_failures"


def test_budget_is_per_identifier(real_pam, real_emu):
    real_pam.local_users = {ALICE, BOB}
    real_pam.service(extra_args=["fail_limit=2"])
    for i in range(2):
        real_pam.expect(ALICE, "guess %d" % i, "PAM_AUTH_ERR")
    real_pam.expect(ALICE, ALICE_PW, "PAM_MAXTRIES")
    real_pam.expect(BOB, BOB_PW, "PAM_SUCCESS")


# --- item 3: the host's sign-in budget ---------------------------------------------------

def test_burst_of_logins_waits_its_turn(real_pam, real_emu):
    users = [(ALICE, ALICE_PW), (BOB, BOB_PW), ("auditor-user", "auditor password"),
             ("ileap-demo@way.cloud", "HelloPrimaryData")]
    real_pam.local_users = {u for u, _ in users}
    real_pam.service(extra_args=["timeout=40"])
    logins = users * 2  # 8 logins of 4 users at once; Clerk allows 5 creates per 10 s
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(len(logins)) as pool:
        results = list(pool.map(lambda up: real_pam.run(up[0], up[1], timeout=90), logins))
    took = time.monotonic() - start
    for r in results:
        assert r.ok, r
    assert 429 not in statuses(real_emu)
    assert len(creates(real_emu)) == len(logins)
    assert took >= 10, took  # paced: the fifth create after the first waits a window
    assert any("sign-in pacing: waited" in r.log_text() for r in results)


def fill_clerks_window(emu):
    """Sign-ins this host's record does not know of (another process, an admin's
    curl): Clerk's window is full, and its 429 is the only sign."""
    for _ in range(5):
        assert emu.sign_in("bob", "battery staple").status == 200


def test_a_429_is_waited_out(real_pam, real_emu):
    real_pam.local_users = {ALICE}
    real_pam.service(extra_args=["timeout=30"])
    fill_clerks_window(real_emu)
    r = real_pam.expect(ALICE, ALICE_PW, "PAM_SUCCESS")
    assert 429 in statuses(real_emu)
    assert "429 answers" in r.log_text()


def test_rate_limited_only_when_the_budget_runs_out(real_pam, real_emu):
    real_pam.local_users = {ALICE}
    real_pam.service(extra_args=["timeout=2"])
    fill_clerks_window(real_emu)
    r = real_pam.expect(ALICE, ALICE_PW, "PAM_MAXTRIES")
    assert r.outcome() == "rate_limited"
    assert any("Try again in" in i for i in r.info + r.errors), r
    # the next login of the host does not even ask while Clerk said to wait
    real_emu.reset_log()
    r = real_pam.expect(ALICE, ALICE_PW, "PAM_MAXTRIES")
    assert r.outcome() == "rate_limited"
    assert creates(real_emu) == []


# --- item 4: the offline cache stands in for a password only ----------------------------

def outage(emu):
    emu.fault("status", http_status=503)


def test_totp_user_is_not_let_in_offline(real_pam, real_emu):
    real_pam.local_users = {"totp-user"}
    real_pam.service(extra_args=["offline_cache=24"])
    secret = TOTP_SECRET
    r = real_pam.run("totp-user", "totp password", echo_on=[totp(secret)],
                     ops=[("authenticate", "PAM_SUCCESS")])
    assert r.ok, r
    assert [f for f in identifier_files(real_pam) if f.endswith(".offline")] == []
    outage(real_emu)
    real_pam.expect("totp-user", "totp password", "PAM_AUTHINFO_UNAVAIL")


def test_rules_apply_offline_from_the_last_claims(real_pam, real_emu):
    real_pam.local_users = {ALICE}
    rules = ["organization=way", "require_organization", "offline_cache=24"]
    real_pam.service(extra_args=rules)
    real_pam.expect(ALICE, ALICE_PW, "PAM_SUCCESS")
    outage(real_emu)
    assert real_pam.expect(ALICE, ALICE_PW, "PAM_SUCCESS").outcome() == "offline"
    # the account stage (authorize=account, the default) judges the same claims
    r = real_pam.run(ALICE, ALICE_PW, ops=[("authenticate", "PAM_SUCCESS"),
                                           ("acct_mgmt", "PAM_SUCCESS")])
    assert r.ok, r
    real_pam.service(extra_args=rules + ["allowed_roles=org:member"])  # alice is admin
    r = real_pam.expect(ALICE, ALICE_PW, "PAM_AUTH_ERR")
    assert r.outcome() == "not_authorized"


def test_a_record_without_claims_does_not_pass_rules(real_pam, real_emu):
    real_pam.local_users = {ALICE}
    real_pam.service(extra_args=["offline_cache=24"])
    real_pam.expect(ALICE, ALICE_PW, "PAM_SUCCESS")
    outage(real_emu)
    real_pam.service(extra_args=["offline_cache=24", "organization=way",
                                 "require_organization"])
    assert real_pam.expect(ALICE, ALICE_PW, "PAM_AUTH_ERR").outcome() == "not_authorized"


def test_no_file_for_an_identifier_that_never_signed_in(real_pam, real_emu):
    real_pam.local_users = {"nobody-at-clerk"}
    for cache in ("0", "24"):
        real_pam.service(extra_args=["offline_cache=" + cache])
        real_pam.expect("nobody-at-clerk", "whatever", "PAM_AUTH_ERR")
        assert identifier_files(real_pam) == []
