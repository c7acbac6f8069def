"""The opt-in offline cache: only an unreachable Clerk lets a cached
password decide (issue 5)."""
import os
import stat

DEMO = "ileap-demo@way.cloud"
DEMO_PASSWORD = "HelloPrimaryData"


def outage(emu):
    emu.fault("status", http_status=503)


def offline_files(pam):
    if not os.path.exists(pam.state_dir):
        return []
    return [f for f in os.listdir(pam.state_dir) if f.endswith(".offline")]


def test_cached_user_gets_in_during_an_outage(pam, emu):
    pam.service(extra_args=["offline_cache=24"])
    pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
    files = offline_files(pam)
    assert len(files) == 1
    path = os.path.join(str(pam.state_dir), files[0])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = open(path).read()
    assert DEMO_PASSWORD not in text and "$y$" in text
    outage(emu)
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
    assert r.outcome() == "offline"
    assert any("offline cache: ok" in line for line in r.log), r.log


def test_uncached_user_is_unavailable(pam, emu):
    pam.service(extra_args=["offline_cache=24"])
    outage(emu)
    r = pam.expect("alice@way.cloud", "correct horse", "PAM_AUTHINFO_UNAVAIL")
    assert r.outcome() == "server_error"


def test_cache_off_means_outage(pam, emu):
    pam.service()
    pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
    assert offline_files(pam) == []
    outage(emu)
    pam.expect(DEMO, DEMO_PASSWORD, "PAM_AUTHINFO_UNAVAIL")


def test_network_failure_and_timeout_also_use_the_cache(pam, emu):
    pam.service(extra_args=["offline_cache=24", "timeout=2"])
    pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
    emu.fault("hang")
    assert pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS").outcome() == "offline"
    emu.clear_faults()
    emu.fault("reset")
    assert pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS").outcome() == "offline"


def test_a_4xx_answer_never_uses_the_cache(pam, emu):
    pam.service(extra_args=["offline_cache=24"])
    pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
    emu.fault("error_code", code="user_banned")
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_PERM_DENIED")
    assert r.outcome() == "banned"
    assert offline_files(pam) == [], "a banned account loses its cached password"


def test_wrong_online_password_keeps_the_entry(pam, emu):
    # issue 12 item 7: a stranger's wrong guess cannot wipe the user's offline access;
    # only the password the record holds is forgotten when Clerk refuses it
    pam.service(extra_args=["offline_cache=24"])
    pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
    pam.expect(DEMO, "wrong", "PAM_AUTH_ERR")
    assert len(offline_files(pam)) == 1
    outage(emu)
    assert pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS").outcome() == "offline"


def test_wrong_offline_passwords_lock_until_online(pam, emu):
    pam.service(extra_args=["offline_cache=24", "offline_max_failures=2"])
    pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
    outage(emu)
    assert pam.expect(DEMO, "guess1", "PAM_AUTH_ERR").outcome() == "offline_bad_password"
    assert pam.expect(DEMO, "guess2", "PAM_AUTH_ERR").outcome() == "offline_bad_password"
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_MAXTRIES")
    assert r.outcome() == "offline_locked"
    emu.clear_faults()
    pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")  # online again: unlocked
    outage(emu)
    pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")


def test_password_changed_in_clerk(pam, emu):
    emu.add_user({"id": "user_chg", "identifiers": ["changer"], "password": "old password"})
    pam.service(extra_args=["offline_cache=24"])
    pam.expect("changer", "old password", "PAM_SUCCESS")
    emu.add_user({"id": "user_chg", "identifiers": ["changer"], "password": "new password"})
    # Clerk is back: the old password is refused and forgotten.
    pam.expect("changer", "old password", "PAM_AUTH_ERR")
    outage(emu)
    pam.expect("changer", "old password", "PAM_AUTHINFO_UNAVAIL")


def test_expired_entry_is_refused(pam, emu):
    pam.service(extra_args=["offline_cache=1"])
    pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
    path = os.path.join(str(pam.state_dir), offline_files(pam)[0])
    text = open(path).read()
    import re
    created = int(re.search(r"^created=(\d+)$", text, re.M).group(1))
    expires = int(re.search(r"^expires=(\d+)$", text, re.M).group(1))
    # Move the record two hours into the past, as if stored then.
    text = text.replace("created=%d" % created, "created=%d" % (created - 7200))
    text = text.replace("expires=%d" % expires, "expires=%d" % (expires - 7200))
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    outage(emu)
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_AUTHINFO_UNAVAIL")
    assert any("offline cache: expired" in line for line in r.log), r.log


def test_corrupt_entry_is_never_trusted(pam, emu):
    pam.service(extra_args=["offline_cache=24"])
    pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
    path = os.path.join(str(pam.state_dir), offline_files(pam)[0])
    with open(path, "w") as f:
        f.write("pam_clerk offline v1\nhash=plain\ncreated=1\nexpires=9999999999\nfailures=0\n")
    outage(emu)
    r = pam.expect(DEMO, DEMO_PASSWORD, "PAM_AUTHINFO_UNAVAIL")
    assert any("offline cache: corrupt" in line for line in r.log), r.log
    assert offline_files(pam) == []
