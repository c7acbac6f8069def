"""Issue 12 item 7: a password Clerk refused is never accepted offline. When Clerk refuses
a password that matches the offline record, the record is deleted; a refused password that
does not match it leaves it alone."""
import os

import pytest

USER = {"id": "user_off", "identifiers": ["offline-user"], "password": "offline password"}


def offline_files(pam):
    d = str(pam.state_dir)
    return [f for f in os.listdir(d) if f.endswith(".offline")] if os.path.isdir(d) else []


def cached(pam, emu):
    emu.add_user(dict(USER))
    pam.service(extra_args=["offline_cache=24"])
    pam.expect("offline-user", "offline password", "PAM_SUCCESS")
    assert len(offline_files(pam)) == 1


def outage(emu):
    emu.fault("status", http_status=503)


@pytest.mark.parametrize("refusal", [
    {"password_error": "password_reset_required"},
    {"password_error": "form_password_validation_failed"},
    {"password_error": "no_password_set", "password": None},
], ids=["password_reset_required", "form_password_validation_failed", "no_password_set"])
def test_refused_matching_password_deletes_the_record(real_pam, real_emu, refusal):
    cached(real_pam, real_emu)
    real_emu.add_user(dict(USER, **refusal))
    r = real_pam.run("offline-user", "offline password", ops=[("authenticate", "PAM_SUCCESS")])
    assert not r.ok and r.actual != 0, r
    assert offline_files(real_pam) == []
    outage(real_emu)
    real_pam.expect("offline-user", "offline password", "PAM_AUTHINFO_UNAVAIL")


def test_enumeration_protected_refusal_deletes_the_record(real_pam, real_emu):
    # the password was changed in Clerk; with enumeration protection on, Clerk's answer to
    # the old one is form_password_or_identifier_incorrect
    cached(real_pam, real_emu)
    real_emu.set(enumeration_protection=True)
    real_emu.add_user(dict(USER, password="a new password"))
    r = real_pam.run("offline-user", "offline password", ops=[("authenticate", "PAM_AUTH_ERR")])
    assert r.ok, r
    assert offline_files(real_pam) == []
    outage(real_emu)
    real_pam.expect("offline-user", "offline password", "PAM_AUTHINFO_UNAVAIL")


@pytest.mark.parametrize("enumeration_protection", [
    pytest.param(False, id="form_password_incorrect"),
    pytest.param(True, id="enumeration-protected"),
])
def test_refused_other_password_leaves_the_record(real_pam, real_emu,
                                                  enumeration_protection):
    cached(real_pam, real_emu)
    real_emu.set(enumeration_protection=enumeration_protection)
    real_pam.expect("offline-user", "a typo", "PAM_AUTH_ERR")
    assert len(offline_files(real_pam)) == 1
    outage(real_emu)
    r = real_pam.expect("offline-user", "offline password", "PAM_SUCCESS")
    assert r.outcome() == "offline"

