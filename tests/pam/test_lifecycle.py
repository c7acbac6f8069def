"""The module inside a long-lived host: loaded, used and unloaded many times
in one process, leaving the host's signal set-up as it found it."""

DEMO = "ileap-demo@way.cloud"
DEMO_PASSWORD = "HelloPrimaryData"


def test_many_transactions_in_one_process(pam, emu):
    pam.service()
    rounds = 40
    r = pam.run(DEMO, passwords=[DEMO_PASSWORD], repeat=rounds,
                ops=[("authenticate", "PAM_SUCCESS"), ("acct_mgmt", "PAM_SUCCESS")])
    assert r.ok, r
    assert r.rounds == rounds
    # Each round: the sign-in and (end_session=auth, the default) the session's end.
    assert len(emu.requests()) == 2 * rounds
    assert emu.sessions(status="active") == []
    assert len([l for l in r.log if "outcome=success" in l]) == rounds


def test_failures_and_successes_interleave_in_one_process(pam, emu):
    pam.service()
    # A wrong password then a right one, ten times, in one handle each.
    for _ in range(2):
        r = pam.run(DEMO, passwords=["wrong"], repeat=5,
                    ops=[("authenticate", "PAM_AUTH_ERR")])
        assert r.ok and r.rounds == 5, r
        r = pam.run(DEMO, passwords=[DEMO_PASSWORD], repeat=5,
                    ops=[("authenticate", "PAM_SUCCESS")])
        assert r.ok and r.rounds == 5, r


def test_signal_mask_and_sigpipe_handler_are_restored(pam, emu):
    pam.service()
    for fault in (None, "reset", "reset_mid_body"):
        emu.clear_faults()
        if fault:
            emu.fault(fault)
        r = pam.run(DEMO, DEMO_PASSWORD,
                    ops=[("authenticate", "PAM_SUCCESS" if fault is None
                          else "PAM_AUTHINFO_UNAVAIL")])
        assert r.ok, r
        assert r.signals_after == r.signals_before, (fault, r.signals_before,
                                                     r.signals_after)
