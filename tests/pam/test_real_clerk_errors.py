"""Issue 12 item 6: every error code real FAPI uses for a sign-in has its outcome.
Through libpam against the real-Clerk emulator, then a walk of Clerk's error catalogue
(../shared/clerk/api_errors.json) against the codes the module's source names."""
import json
import os
import re

import pytest



HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.environ.get("SRCDIR", os.path.dirname(os.path.dirname(HERE))), "src")
CATALOGUE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(HERE))), "shared",
                         "clerk", "api_errors.json")


@pytest.mark.parametrize("ident,password", [("bob", "wrong"), ("nobody@way.cloud", "x")],
                         ids=["wrong-password", "unknown-account"])
def test_enumeration_protection_is_bad_credentials(real_pam, real_emu, ident, password):
    real_emu.set(enumeration_protection=True)
    real_pam.service()
    r = real_pam.expect(ident, password, "PAM_AUTH_ERR")
    assert r.outcome() == "bad_credentials"
    assert "clerk_error=form_password_or_identifier_incorrect" in r.attempt_line()


@pytest.mark.parametrize("ident,code", [("nopwset-user", "no_password_set"),
                                        ("pwfail-user", "form_password_validation_failed")])
def test_password_errors_are_bad_credentials(real_pam, real_emu, ident, code):
    real_pam.service()
    r = real_pam.expect(ident, "some password", "PAM_AUTH_ERR")
    assert r.outcome() == "bad_credentials"
    assert "clerk_error=%s" % code in r.attempt_line()


def test_password_reset_required_is_password_compromised(real_pam, real_emu):
    real_pam.service()
    r = real_pam.expect("mustreset-user", "mustreset password", "PAM_AUTH_ERR")
    assert r.outcome() == "password_compromised"
    assert r.errors or r.info, "the user is told to reset the password"


def test_requires_device_attestation_is_misconfigured(real_pam, real_emu):
    real_emu.set(device_attestation=True)
    real_pam.service()
    r = real_pam.expect("bob", "battery staple", "PAM_SERVICE_ERR")
    assert r.outcome() == "misconfigured"
    assert any("attestation" in l.lower() for l in r.log), r.log


def test_missing_expired_token_on_tokens_is_handled(real_pam, real_emu):
    """An org token is minted with POST .../tokens; Clerk answers missing_expired_token.
    With require_organization the login must fail closed with a deliberate outcome.
    Not marked: today's module falls back to the sign-in's token (org `way`) and refuses
    as not_authorized, which is deliberate; the catalogue walk below marks the code."""
    real_pam.service(extra_args=["organization=org_ops", "require_organization",
                                 "end_session=never", "authorize=auth"])
    real_emu.fault("error_code", code="missing_expired_token", http_status=422,
                   path="/v1/client/sessions/")
    r = real_pam.run("alice", "correct horse", ops=[("authenticate", "PAM_SUCCESS")])
    assert not r.ok and r.actual != 0, r
    assert "clerk_error=missing_expired_token" in r.attempt_line()
    assert r.outcome() not in ("rejected", "unknown_status", "bad_response"), r


# ---- the catalogue walk ---------------------------------------------------------------------
# Catalogue files of the endpoints a password sign-in, its session and its tokens use.
SIGN_IN_FILES = ("sign_in.go", "sessions.go", "clients.go", "user_lockout.go")
# Codes of other files that those endpoints answer with (FAPI-NOTES sections 2, 6 and 11).
SIGN_IN_CODES = (
    "form_password_incorrect", "form_identifier_not_found",
    "form_password_or_identifier_incorrect", "no_password_set",
    "form_password_validation_failed", "password_reset_required",
    "requires_device_attestation", "form_password_pwned", "form_password_compromised",
    "user_banned", "user_deactivated", "too_many_requests", "native_api_disabled",
    "origin_authorization_headers_conflict", "request_header_missing",
    "authorization_header_format_invalid", "origin_invalid", "origin_missing",
    "authentication_invalid", "signed_out", "host_invalid", "dev_browser_unauthenticated",
    "api_version_invalid", "requires_captcha", "captcha_invalid", "requires_protect_check",
    "action_blocked", "device_blocked", "form_code_incorrect", "verification_failed",
    "verification_expired", "resource_locked")
# item 6's codes and the outcome each must have
REQUIRED = {
    "form_password_or_identifier_incorrect": "BAD_CREDENTIALS",
    "no_password_set": "BAD_CREDENTIALS",
    "form_password_validation_failed": "BAD_CREDENTIALS",
    "password_reset_required": "PASSWORD_COMPROMISED",
    "requires_device_attestation": "MISCONFIGURED",
}
# Codes left to the `rejected` outcome on purpose, each with its reason.
LEFT_TO_REJECTED = {
    "account_transfer_invalid": "sign-up transfer of an OAuth sign-in; never in a password flow",
    "client_state_invalid": "an action the client's state does not allow: a refusal, nothing "
                            "the user can fix",
    "identification_claimed": "the identifier moved to another account: a plain refusal",
    "no_second_factors": "the module only attempts factors Clerk offered; a refusal",
    "resource_forbidden": "a sign-in of another user or an older attempt: refuse",
    "sign_in_email_link_not_same_client": "email links are never used by the module",
    "sign_in_identification_or_user_deleted": "the user was deleted mid-sign-in: refuse",
    "sign_in_must_use_enterprise_connection_identifier": "enterprise SSO needs a browser",
    "sign_in_no_identification_for_user": "no identifier for that user: refuse",
    "sign_up_if_missing_not_allowed": "sign-up-if-missing is never requested",
    "sign_up_if_missing_strategy_not_supported": "sign-up-if-missing is never requested",
    "sign_up_if_missing_transfer": "sign-up-if-missing is never requested",
    "action_for_session_not_authorized": "acting on a session the client does not own: refuse",
    "deprovisioned": "the user is deprovisioned: refuse",
    "invalid_action_for_session": "ending an already ended session: nothing to do, refuse",
    "invalid_action_for_session_reverification": "reverification is never requested",
    "session_creation_not_allowed": "impersonation in progress: refuse",
    "session_reverification_missing": "reverification is never requested",
    "session_reverification_required": "reverification needs a browser flow: refuse",
    "client_not_found": "a request without a client, which the module never makes",
    "requires_captcha": "the native API is exempt from CAPTCHA; if asked anyway, refuse",
    "captcha_invalid": "the native API is exempt from CAPTCHA; refuse",
    "requires_protect_check": "Clerk Protect needs its browser SDK: refuse",
    "action_blocked": "Clerk's fraud protection blocked the attempt: refuse",
    "device_blocked": "Clerk's fraud protection blocked the device: refuse",
    "verification_expired": "an expired code: the user tries again with a new one",
    "resource_locked": "a concurrent change on Clerk's side: refuse, the user retries",
}


def _catalogue():
    if not os.path.exists(CATALOGUE):
        pytest.skip("../shared/clerk/api_errors.json is absent")
    with open(CATALOGUE, encoding="utf-8") as f:
        return json.load(f)


def _source():
    text = ""
    for name in sorted(os.listdir(SRC)):
        if name.endswith(".c"):
            with open(os.path.join(SRC, name), encoding="utf-8") as f:
                text += f.read() + "\n"
    return text


def selected_codes(catalogue):
    codes = {e["code"] for e in catalogue if (e.get("usage") or {}).get("fapi") and
             e.get("file") in SIGN_IN_FILES}
    known = {e["code"] for e in catalogue}
    codes |= {c for c in SIGN_IN_CODES if c in known}
    codes.add("missing_expired_token")      # /tokens (JS missingExpiredTokenError.ts)
    return codes


def test_walk_parses_what_it_reads():
    """The walk's own parts: the catalogue and the source give it something to compare."""
    codes = selected_codes(_catalogue())
    assert {"session_exists", "resource_not_found", "user_locked",
            "form_password_or_identifier_incorrect"} <= codes
    literals = set(re.findall(r'"([a-z][a-z0-9_]+)"', _source()))
    assert {"form_password_incorrect", "user_locked"} <= literals
    assert set(LEFT_TO_REJECTED) <= codes, set(LEFT_TO_REJECTED) - codes


def test_every_sign_in_code_has_a_deliberate_outcome():
    """A code is deliberate when the module's source names it (its outcome table, or a
    special case such as a stale client), or when LEFT_TO_REJECTED says why `rejected`
    is right for it. The source is read as text, loosely, so that the outcome table may
    change shape: any "code" literal counts."""
    source = _source()
    literals = set(re.findall(r'"([a-z][a-z0-9_]+)"', source))
    missing = sorted(c for c in selected_codes(_catalogue())
                     if c not in literals and c not in LEFT_TO_REJECTED)
    assert not missing, "codes with no deliberate outcome: %s" % ", ".join(missing)
    for code, outcome in REQUIRED.items():
        m = re.search(r'"%s"[^;{}]{0,200}?OUTCOME_([A-Z_]+)' % re.escape(code), source)
        assert m and m.group(1) == outcome, "%s must map to OUTCOME_%s (found %s)" % (
            code, outcome, m.group(1) if m else "nothing")
