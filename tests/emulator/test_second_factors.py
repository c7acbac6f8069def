"""Second factors, Device Trust, session clean-up, client revocation and the attempt rate
limit, over real HTTPS."""
import json
import os
import time

import pytest

from control import Emulator, EmulatorError, totp
from test_emulator import SIGN_INS, err, session_of, verify_jwt

TOTP_SECRET = "JBSWY3DPEHPK3PXP"            # totp-user
MFA_SECRET = "OBQW2X3DNRSXE2ZANVTGCLLVONSXEII"   # mfa-user
BACKUP_CODES = ["a1b2c3d4", "e5f6g7h8", "j9k8m7n6"]


def steady_now():
    """Now, at least 2 s away from the end of a TOTP period (no drift between the code
    computed here and the server's check)."""
    t = time.time()
    if t % 30 > 28:
        time.sleep(30 - t % 30 + 0.05)
        t = time.time()
    return t


def password_step(emu, ident, password, status="needs_second_factor", token=""):
    r = emu.sign_in(ident, password, token=token)
    assert r.status == 200, r
    si = r.json()["response"]
    assert si["status"] == status
    assert si["created_session_id"] is None
    if not token:
        assert r.json()["client"]["sessions"] == []
    return si, r.token


def attempt(emu, sid, strategy, code, token):
    return emu.attempt_second_factor(sid, strategy, code, token)


def assert_complete(emu, r, user_id, strategy):
    assert r.status == 200, r
    body = r.json()
    si = body["response"]
    assert si["status"] == "complete" and si["client_trust_state"] == "known"
    assert si["second_factor_verification"]["status"] == "verified"
    assert si["second_factor_verification"]["strategy"] == strategy
    sess = session_of(body)
    assert sess["status"] == "active" and sess["user"]["id"] == user_id
    assert body["client"]["sign_in"] is None
    _, claims = verify_jwt(emu, sess["last_active_token"]["jwt"])
    assert claims["sub"] == user_id and claims["fva"] == [0, 0]
    return body


# ---- TOTP helper --------------------------------------------------------------------------------
def test_totp_helper_matches_rfc6238():
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"          # RFC 6238 SHA-1 seed, base32
    assert totp(secret, at=59) == "287082"                # 94287082, last 6 digits
    assert totp(secret, at=1111111109) == "081804"
    assert totp(secret, at=1111111109, step=1) == totp(secret, at=1111111139)
    assert totp(secret.lower(), at=59) == "287082"


# ---- MFA users: factors offered -----------------------------------------------------------------
def test_totp_user_offers_totp_and_backup_code(emu):
    si, _ = password_step(emu, "totp-user", "totp password")
    assert si["supported_second_factors"] == [{"strategy": "totp", "default": True},
                                              {"strategy": "backup_code", "default": False}]
    assert si["client_trust_state"] is None  # no Device Trust on this instance
    assert si["second_factor_verification"] is None


def test_sms_and_email_users_offer_masked_addresses(emu):
    si, _ = password_step(emu, "sms-user", "sms password")
    assert si["supported_second_factors"] == [{
        "strategy": "phone_code", "safe_identifier": "+1*******0102",
        "phone_number_id": "idn_sms_user_phone", "primary": True, "default": True}]
    si, _ = password_step(emu, "email2fa-user@way.cloud", "email2fa password")
    assert si["supported_second_factors"] == [{
        "strategy": "email_code", "safe_identifier": "e***@way.cloud",
        "email_address_id": "idn_email2fa_user_email", "primary": True, "default": True}]


def test_mfa_user_defaults_to_totp(emu):
    si, _ = password_step(emu, "mfa-user", "mfa password")
    f = si["supported_second_factors"]
    assert [(x["strategy"], x["default"]) for x in f] == [("totp", True), ("phone_code", False)]
    assert f[1]["safe_identifier"] == "+1*******0101"


def test_user_fields_reflect_second_factors(emu):
    r = emu.sign_in("sms-user", "sms password")
    sid = r.json()["response"]["id"]
    emu.fix_codes("123456")
    emu.prepare_second_factor(sid, "phone_code", r.token)
    body = emu.attempt_second_factor(sid, "phone_code", "123456", r.token).json()
    user = session_of(body)["user"]
    assert user["two_factor_enabled"] and not user["totp_enabled"]
    assert user["primary_phone_number_id"] == "idn_sms_user_phone"
    assert user["phone_numbers"][0]["default_second_factor"] is True


# ---- TOTP ---------------------------------------------------------------------------------------
def test_totp_completes_with_a_session(emu):
    si, tok = password_step(emu, "totp-user", "totp password")
    r = attempt(emu, si["id"], "totp", totp(TOTP_SECRET, steady_now()), tok)
    body = assert_complete(emu, r, "user_totp", "totp")
    assert body["response"]["second_factor_verification"]["object"] == "verification_totp"
    assert r.token != tok                                # rotated like the password path
    again = emu.fapi("GET", "/v1/client", token=r.token)
    assert [s["id"] for s in again.json()["response"]["sessions"]] == \
        [body["response"]["created_session_id"]]


@pytest.mark.parametrize("step,ok", [(-1, True), (1, True), (-3, False), (3, False)])
def test_totp_accepts_one_step_either_side(emu, step, ok):
    si, tok = password_step(emu, "totp-user", "totp password")
    r = attempt(emu, si["id"], "totp", totp(TOTP_SECRET, steady_now(), step), tok)
    if ok:
        assert_complete(emu, r, "user_totp", "totp")
    else:
        assert r.status == 422 and err(r)["code"] == "form_code_incorrect"
        assert err(r)["meta"]["param_name"] == "code"


def test_totp_wrong_then_right_on_the_same_sign_in(emu):
    si, tok = password_step(emu, "mfa-user", "mfa password")
    bad = attempt(emu, si["id"], "totp", "12345", tok)
    assert bad.status == 422 and err(bad)["code"] == "form_code_incorrect"
    good = attempt(emu, si["id"], "totp", totp(MFA_SECRET, steady_now()), bad.token)
    body = assert_complete(emu, good, "user_mfa", "totp")
    assert body["response"]["second_factor_verification"]["attempts"] == 2


# ---- backup codes -------------------------------------------------------------------------------
def test_backup_code_is_single_use(emu):
    si, tok = password_step(emu, "totp-user", "totp password")
    body = assert_complete(emu, attempt(emu, si["id"], "backup_code", BACKUP_CODES[0], tok),
                           "user_totp", "backup_code")
    assert body["response"]["second_factor_verification"]["object"] == "verification_backup_code"
    si, tok = password_step(emu, "totp-user", "totp password")          # a fresh client
    used = attempt(emu, si["id"], "backup_code", BACKUP_CODES[0], tok)
    assert used.status == 422 and err(used)["code"] == "form_code_incorrect"
    assert_complete(emu, attempt(emu, si["id"], "backup_code", BACKUP_CODES[1], used.token),
                    "user_totp", "backup_code")
    emu.reset()                                   # the fixture's codes are unused again
    si, tok = password_step(emu, "totp-user", "totp password")
    assert attempt(emu, si["id"], "backup_code", BACKUP_CODES[0], tok).status == 200


# ---- SMS and email codes ------------------------------------------------------------------------
def test_phone_code_read_from_outbox(emu):
    si, tok = password_step(emu, "sms-user", "sms password")
    early = attempt(emu, si["id"], "phone_code", "000000", tok)
    assert early.status == 400 and err(early)["code"] == "verification_missing"
    t0 = time.time()
    p = emu.prepare_second_factor(si["id"], "phone_code", tok,
                                  phone_number_id="idn_sms_user_phone")
    assert p.status == 200
    v = p.json()["response"]["second_factor_verification"]
    assert v["object"] == "verification_otp" and v["status"] == "unverified"
    assert v["strategy"] == "phone_code" and v["attempts"] == 0
    assert abs(v["expire_at"] / 1000 - (t0 + 600)) < 30
    assert p.json()["response"]["status"] == "needs_second_factor"
    box = emu.outbox()
    assert len(box) == 1
    item = box[0]
    assert {k: item[k] for k in ("strategy", "to", "sign_in_id", "user_id")} == {
        "strategy": "phone_code", "to": "+15555550102", "sign_in_id": si["id"],
        "user_id": "user_sms"}
    assert len(item["code"]) == 6 and item["code"].isdigit() and abs(item["t"] - t0) < 30
    assert emu.last_code(to="+15555550102") == item["code"]
    assert emu.last_code(strategy="email_code") is None
    wrong = "%06d" % ((int(item["code"]) + 1) % 1000000)
    bad = attempt(emu, si["id"], "phone_code", wrong, p.token)
    assert bad.status == 422 and err(bad)["code"] == "form_code_incorrect"
    ok = attempt(emu, si["id"], "phone_code", item["code"], bad.token)
    body = assert_complete(emu, ok, "user_sms", "phone_code")
    assert body["response"]["second_factor_verification"]["attempts"] == 2


def test_email_code_with_default_address(emu):
    si, tok = password_step(emu, "email2fa-user", "email2fa password")
    p = emu.prepare_second_factor(si["id"], "email_code", tok)        # no id: the default one
    assert p.status == 200
    code = emu.last_code(to="EMAIL2FA-user@way.cloud", strategy="email_code",
                         sign_in_id=si["id"])
    assert code and emu.outbox()[-1]["to"] == "email2fa-user@way.cloud"
    assert_complete(emu, attempt(emu, si["id"], "email_code", code, p.token),
                    "user_email2fa", "email_code")


def test_mfa_user_by_sms(emu):
    si, tok = password_step(emu, "mfa-user", "mfa password")
    phone_id = si["supported_second_factors"][1]["phone_number_id"]
    p = emu.prepare_second_factor(si["id"], "phone_code", tok, phone_number_id=phone_id)
    assert p.status == 200
    assert_complete(emu, attempt(emu, si["id"], "phone_code",
                                 emu.last_code(to="+15555550101"), p.token),
                    "user_mfa", "phone_code")


def test_prepare_rejects_what_the_sign_in_does_not_offer(emu):
    si, tok = password_step(emu, "email2fa-user", "email2fa password")
    path = "%s/%s/prepare_second_factor" % (SIGN_INS, si["id"])
    cases = [({}, 422, "form_param_missing"),
             ({"strategy": "totp"}, 422, "form_param_value_invalid"),
             ({"strategy": "phone_code"}, 400, "no_second_factors"),
             ({"strategy": "email_code", "email_address_id": "idn_nope"}, 422,
              "form_param_value_invalid")]
    for form, status, code in cases:
        r = emu.fapi("POST", path, form=form, token=tok)
        assert (r.status, err(r)["code"]) == (status, code), form
    assert emu.outbox() == []
    done = emu.sign_in("alice", "correct horse")
    r = emu.fapi("POST", "%s/%s/prepare_second_factor" % (SIGN_INS, done.json()["response"]["id"]),
                 form={"strategy": "email_code"}, token=done.token)
    assert r.status == 400 and err(r)["code"] == "verification_already_verified"


def test_attempt_rejects_bad_requests(emu):
    si, tok = password_step(emu, "totp-user", "totp password")
    path = "%s/%s/attempt_second_factor" % (SIGN_INS, si["id"])
    cases = [({"code": "123456"}, 422, "form_param_missing"),
             ({"strategy": "totp"}, 422, "form_param_missing"),
             ({"strategy": "password", "code": "x"}, 422, "form_param_value_invalid"),
             ({"strategy": "phone_code", "code": "123456"}, 400, "no_second_factors")]
    for form, status, code in cases:
        r = emu.fapi("POST", path, form=form, token=tok)
        assert (r.status, err(r)["code"]) == (status, code), form
    other = emu.fapi("POST", path, form={"strategy": "totp", "code": "123456"})   # other client
    assert other.status == 404 and err(other)["code"] == "resource_not_found"
    # a sign-in that needs no second factor
    first = emu.fapi("POST", SIGN_INS, form={"identifier": "totp-user"})
    r = emu.fapi("POST", "%s/%s/attempt_second_factor" % (SIGN_INS, first.json()["response"]["id"]),
                 form={"strategy": "totp", "code": "123456"}, token=first.token)
    assert r.status == 400 and err(r)["code"] == "verification_strategy_invalid"


def test_latest_prepared_code_wins(emu):
    si, tok = password_step(emu, "sms-user", "sms password")
    emu.fix_codes("111111")
    emu.prepare_second_factor(si["id"], "phone_code", tok)
    emu.fix_codes("222222")
    emu.prepare_second_factor(si["id"], "phone_code", tok)
    assert [i["code"] for i in emu.outbox()] == ["111111", "222222"]
    old = attempt(emu, si["id"], "phone_code", "111111", tok)
    assert old.status == 422 and err(old)["code"] == "form_code_incorrect"
    assert_complete(emu, attempt(emu, si["id"], "phone_code", "222222", tok),
                    "user_sms", "phone_code")
    emu.fix_codes(None)
    with pytest.raises(EmulatorError):
        emu.fix_codes("12345")
    emu.fix_codes("333333")
    emu.reset()                                           # reset drops the fixed code
    si, tok = password_step(emu, "sms-user", "sms password")
    emu.prepare_second_factor(si["id"], "phone_code", tok)
    emu.prepare_second_factor(si["id"], "phone_code", tok)
    assert [i["code"] for i in emu.outbox()] != ["333333", "333333"]


def test_expired_code(emu):
    si, tok = password_step(emu, "email2fa-user", "email2fa password")
    emu.prepare_second_factor(si["id"], "email_code", tok)
    code = emu.last_code(sign_in_id=si["id"])
    assert emu.expire_codes(si["id"]) == 1
    r = attempt(emu, si["id"], "email_code", code, tok)
    assert r.status == 400 and err(r)["code"] == "verification_expired"
    got = emu.fapi("GET", "%s/%s" % (SIGN_INS, si["id"]), token=tok).json()["response"]
    assert got["second_factor_verification"]["status"] == "expired"
    emu.prepare_second_factor(si["id"], "email_code", tok)              # a new code works
    assert_complete(emu, attempt(emu, si["id"], "email_code",
                                 emu.last_code(sign_in_id=si["id"]), tok),
                    "user_email2fa", "email_code")


def test_code_ttl_option(tmp_path):
    user = {"id": "user_t", "identifiers": ["t@x.y"], "password": "pw",
            "second_factors": ["email_code"]}
    with Emulator(tmp_path, users=[user], code_ttl=0.3, profile="kind") as emu:
        si, tok = password_step(emu, "t@x.y", "pw")
        p = emu.prepare_second_factor(si["id"], "email_code", tok)
        v = p.json()["response"]["second_factor_verification"]
        assert 0 < v["expire_at"] / 1000 - time.time() < 1
        time.sleep(0.4)
        r = attempt(emu, si["id"], "email_code", emu.last_code(), tok)
        assert r.status == 400 and err(r)["code"] == "verification_expired"


def test_too_many_wrong_codes_fail_the_verification(emu):
    si, tok = password_step(emu, "sms-user", "sms password")
    emu.fix_codes("654321")
    emu.prepare_second_factor(si["id"], "phone_code", tok)
    for _ in range(5):
        r = attempt(emu, si["id"], "phone_code", "000000", tok)
        assert r.status == 422 and err(r)["code"] == "form_code_incorrect"
    r = attempt(emu, si["id"], "phone_code", "654321", tok)          # right, but too late
    assert r.status == 400 and err(r)["code"] == "verification_failed"
    got = emu.fapi("GET", "%s/%s" % (SIGN_INS, si["id"]), token=tok).json()["response"]
    assert got["second_factor_verification"]["status"] == "failed"
    assert got["second_factor_verification"]["attempts"] == 5
    emu.prepare_second_factor(si["id"], "phone_code", tok)           # start again
    assert_complete(emu, attempt(emu, si["id"], "phone_code", "654321", tok),
                    "user_sms", "phone_code")


def test_wrong_codes_count_toward_lockout(limited_emu):
    emu = limited_emu                     # --lockout-threshold 3 --attempt-rate-limit 3
    si, tok = password_step(emu, "totp-user", "totp password")
    for _ in range(3):
        r = attempt(emu, si["id"], "totp", "000000", tok)
        assert r.status == 422 and err(r)["code"] == "form_code_incorrect"
    r = attempt(emu, si["id"], "totp", totp(TOTP_SECRET), tok)        # 4th in 10 s
    assert r.status == 429 and err(r)["code"] == "too_many_requests"
    assert 1 <= int(r.headers["Retry-After"]) <= 10
    locked = emu.sign_in("totp-user", "totp password")
    assert locked.status == 403 and err(locked)["code"] == "user_locked"
    assert err(locked)["meta"]["lockout_expires_in_seconds"] > 3500


def test_codes_are_never_logged(emu):
    si, tok = password_step(emu, "sms-user", "sms password")
    emu.prepare_second_factor(si["id"], "phone_code", tok)
    code = emu.last_code()
    attempt(emu, si["id"], "phone_code", code, tok)
    recs = emu.requests()
    assert recs[-1]["form"] == {"strategy": "phone_code", "code": "<redacted:6>"}
    assert recs[-1]["sign_in_status"] == "complete"
    with open(os.path.join(emu.state_dir, "requests.jsonl")) as f:
        text = f.read()
    with open(os.path.join(emu.state_dir, "emulator.stderr.log")) as f:
        text += f.read()
    assert code not in text and code not in json.dumps(recs)


def test_first_factor_then_second_factor(emu):
    r = emu.fapi("POST", SIGN_INS, form={"identifier": "totp-user"})
    si = r.json()["response"]
    assert si["status"] == "needs_first_factor" and si["client_trust_state"] == "new"
    p = emu.fapi("POST", "%s/%s/attempt_first_factor" % (SIGN_INS, si["id"]),
                 form={"strategy": "password", "password": "totp password"}, token=r.token)
    assert p.json()["response"]["status"] == "needs_second_factor"
    assert_complete(emu, attempt(emu, si["id"], "totp", totp(TOTP_SECRET, steady_now()), p.token),
                    "user_totp", "totp")


# ---- Device Trust -------------------------------------------------------------------------------
def test_device_trust_new_verified_then_known(trust_emu):
    emu = trust_emu
    si, tok = password_step(emu, "alice", "correct horse", status="needs_client_trust")
    assert si["client_trust_state"] == "new"
    [factor] = si["supported_second_factors"]
    assert factor["strategy"] == "email_code" and factor["safe_identifier"] == "a***@way.cloud"
    assert factor["default"] is True and factor["email_address_id"].startswith("idn_")
    p = emu.prepare_second_factor(si["id"], "email_code", tok,
                                  email_address_id=factor["email_address_id"])
    assert p.json()["response"]["status"] == "needs_client_trust"
    ok = attempt(emu, si["id"], "email_code", emu.last_code(to="alice@way.cloud"), p.token)
    body = assert_complete(emu, ok, "user_alice", "email_code")
    client_id, tok = body["client"]["id"], ok.token
    # sign out but keep the client, then the password alone completes, in one request
    d = emu.fapi("DELETE", "/v1/client/sessions", token=tok)
    assert d.status == 200 and d.json()["response"]["sessions"] == []
    n = len(emu.requests())
    again = emu.sign_in("alice", "correct horse", token=d.token)
    assert again.status == 200
    si2 = again.json()["response"]
    assert (si2["status"], si2["client_trust_state"]) == ("complete", "known")
    assert again.json()["client"]["id"] == client_id
    assert session_of(again.json())["user"]["id"] == "user_alice"
    assert len(emu.requests()) == n + 1
    # a fresh client is always new
    password_step(emu, "alice", "correct horse", status="needs_client_trust")


def test_device_trust_offers_email_and_phone(trust_emu):
    emu = trust_emu
    si, tok = password_step(emu, "bob", "battery staple", status="needs_client_trust")
    f = si["supported_second_factors"]
    assert [(x["strategy"], x["safe_identifier"], x["default"]) for x in f] == [
        ("email_code", "b***@way.cloud", True), ("phone_code", "+1*******0100", False)]
    emu.prepare_second_factor(si["id"], "phone_code", tok, phone_number_id=f[1]["phone_number_id"])
    assert emu.outbox()[-1]["to"] == "+15555550100"
    bad = attempt(emu, si["id"], "phone_code", "00000", tok)
    assert bad.status == 422 and err(bad)["code"] == "form_code_incorrect"
    assert_complete(emu, attempt(emu, si["id"], "phone_code", emu.last_code(), tok),
                    "user_bob", "phone_code")


def test_device_trust_does_not_skip_mfa(trust_emu):
    emu = trust_emu
    si, tok = password_step(emu, "totp-user", "totp password")
    assert si["client_trust_state"] == "new"
    assert [f["strategy"] for f in si["supported_second_factors"]] == ["totp", "backup_code"]
    ok = attempt(emu, si["id"], "totp", totp(TOTP_SECRET, steady_now()), tok)
    assert_complete(emu, ok, "user_totp", "totp")
    d = emu.fapi("DELETE", "/v1/client/sessions", token=ok.token)
    si, _ = password_step(emu, "totp-user", "totp password", token=d.token)
    assert si["client_trust_state"] == "known"


def test_device_trust_is_per_user_on_a_client(trust_emu):
    emu = trust_emu
    si, tok = password_step(emu, "alice", "correct horse", status="needs_client_trust")
    emu.prepare_second_factor(si["id"], "email_code", tok)
    ok = attempt(emu, si["id"], "email_code", emu.last_code(), tok)
    assert ok.status == 200
    other, _ = password_step(emu, "bob", "battery staple", status="needs_client_trust",
                             token=ok.token)
    assert other["client_trust_state"] == "new"


def test_device_trust_stale_token_then_tokenless(trust_emu):
    emu = trust_emu
    si, tok = password_step(emu, "alice", "correct horse", status="needs_client_trust")
    emu.prepare_second_factor(si["id"], "email_code", tok)
    tok = attempt(emu, si["id"], "email_code", emu.last_code(), tok).token
    tok = emu.fapi("DELETE", "/v1/client/sessions", token=tok).token
    assert emu.revoke_clients("user_alice") == 1
    stale = emu.sign_in("alice", "correct horse", token=tok)
    assert stale.status == 401 and err(stale)["code"] == "authentication_invalid"
    assert stale.token is None
    password_step(emu, "alice", "correct horse", status="needs_client_trust")


def test_device_trust_legacy_answers_needs_second_factor(legacy_emu):
    emu = legacy_emu
    si, tok = password_step(emu, "alice", "correct horse", status="needs_second_factor")
    assert si["client_trust_state"] == "new"
    assert [f["strategy"] for f in si["supported_second_factors"]] == ["email_code"]
    emu.prepare_second_factor(si["id"], "email_code", tok)
    ok = attempt(emu, si["id"], "email_code", emu.last_code(), tok)
    assert_complete(emu, ok, "user_alice", "email_code")
    d = emu.fapi("DELETE", "/v1/client/sessions", token=ok.token)
    again = emu.sign_in("alice", "correct horse", token=d.token).json()["response"]
    assert (again["status"], again["client_trust_state"]) == ("complete", "known")
    # MFA users are unchanged in legacy mode
    mfa, _ = password_step(emu, "totp-user", "totp password")
    assert mfa["supported_second_factors"][0]["strategy"] == "totp"


def test_device_trust_off_by_default(emu):
    r = emu.sign_in("alice", "correct horse").json()["response"]
    assert (r["status"], r["client_trust_state"]) == ("complete", "known")
    with open(os.path.join(emu.state_dir, "ready.json")) as f:
        assert json.load(f)["device_trust"] is None


def test_trust_user_fixture_has_device_trust_on_any_instance(emu):
    si, tok = password_step(emu, "trust-user", "trust password", status="needs_client_trust")
    emu.prepare_second_factor(si["id"], "email_code", tok)
    ok = attempt(emu, si["id"], "email_code", emu.last_code(to="trust-user@way.cloud"), tok)
    assert_complete(emu, ok, "user_trust", "email_code")
    d = emu.fapi("DELETE", "/v1/client/sessions", token=ok.token)
    assert emu.sign_in("trust-user", "trust password", token=d.token).json()["response"][
        "status"] == "complete"


# ---- sessions, revocation -----------------------------------------------------------------------
@pytest.mark.parametrize("how", ["end", "remove", "delete_all"])
def test_ending_sessions_stops_identifier_already_signed_in(emu, how):
    r = emu.sign_in("alice", "correct horse")
    tok, sid = r.token, r.json()["response"]["created_session_id"]
    blocked = emu.sign_in("alice", "correct horse", token=tok)
    assert blocked.status == 400 and err(blocked)["code"] == "identifier_already_signed_in"
    if how == "delete_all":
        done = emu.fapi("DELETE", "/v1/client/sessions", token=tok)
        assert done.json()["response"]["id"] == r.json()["client"]["id"]
    else:
        done = emu.fapi("POST", "/v1/client/sessions/%s/%s" % (sid, how), token=tok)
    assert done.status == 200 and done.json()["client"]["sessions"] == []
    again = emu.sign_in("alice", "correct horse", token=tok)
    assert again.status == 200 and again.json()["response"]["status"] == "complete"


def test_revoke_clients(emu):
    a = emu.sign_in("alice", "correct horse").token
    b = emu.sign_in("bob", "battery staple").token
    assert emu.revoke_clients(user_id="user_alice") == 1
    r = emu.fapi("GET", "/v1/client", token=a)
    assert r.status == 401 and err(r)["code"] == "authentication_invalid" and r.token is None
    assert emu.fapi("GET", "/v1/client", token=b).status == 200
    assert emu.revoke_clients(signed_out=True) >= 2                # all clients
    r = emu.fapi("GET", "/v1/client", token=b)
    assert r.status == 401 and err(r)["code"] == "signed_out"
    assert emu.sign_in("alice", "correct horse").status == 200     # tokenless still works
    with pytest.raises(EmulatorError):
        emu.revoke_clients(user_id="user_nobody")


# ---- attempt rate limit -------------------------------------------------------------------------
def test_attempt_rate_limit_with_retry_after(attempt_limited_emu):
    emu = attempt_limited_emu                  # --attempt-rate-limit 2 --attempt-rate-window 1
    good = totp(TOTP_SECRET, steady_now())     # before: steady_now() may sleep
    si, tok = password_step(emu, "totp-user", "totp password")
    for _ in range(2):
        assert attempt(emu, si["id"], "totp", "000000", tok).status == 422
    r = attempt(emu, si["id"], "totp", good, tok)
    assert r.status == 429 and err(r)["code"] == "too_many_requests"
    assert r.headers["Retry-After"] == "1" and r.token
    ff = emu.fapi("POST", "%s/%s/attempt_first_factor" % (SIGN_INS, si["id"]),
                  form={"strategy": "password", "password": "x"}, token=tok)
    assert ff.status == 429                    # first factor attempts share the limit
    assert emu.sign_in("bob", "battery staple").status == 200   # creation is not limited
    time.sleep(1.05)
    assert_complete(emu, attempt(emu, si["id"], "totp", totp(TOTP_SECRET, steady_now()), tok),
                    "user_totp", "totp")


# ---- control API and fixture validation ---------------------------------------------------------
@pytest.mark.parametrize("bad", [
    {"second_factors": ["sms"]},
    {"second_factors": ["totp"], "default_second_factor": "phone_code"},
    {"totp_secret": "not base32!"},
    {"backup_codes": "abc"},
    {"email_addresses": [{"id": "x", "email": "a@b.c"}]},
    {"phone_numbers": [{"id": "idn_1", "phone": "5550100"}]},
])
def test_bad_second_factor_fields_rejected(emu, bad):
    with pytest.raises(EmulatorError):
        emu.add_user(dict({"id": "user_bad", "identifiers": ["bad-user"], "password": "x"}, **bad))


def test_added_user_with_explicit_addresses(emu):
    emu.add_user({"id": "user_dan", "identifiers": ["dan"], "password": "pw",
                  "second_factors": ["email_code", "totp"], "default_second_factor": "totp",
                  "totp_secret": TOTP_SECRET,
                  "email_addresses": [{"id": "idn_dan_1", "email": "dan@way.cloud"},
                                      {"id": "idn_dan_2", "email": "daniel@way.cloud"}]})
    # listed addresses are for codes, not sign-in identifiers
    assert err(emu.sign_in("daniel@way.cloud", "pw"))["code"] == "form_identifier_not_found"
    si, tok = password_step(emu, "dan", "pw")
    f = si["supported_second_factors"]
    assert [(x["strategy"], x.get("email_address_id"), x["default"]) for x in f] == [
        ("email_code", "idn_dan_1", False), ("email_code", "idn_dan_2", False),
        ("totp", None, True)]
    emu.prepare_second_factor(si["id"], "email_code", tok, email_address_id="idn_dan_2")
    assert emu.outbox()[-1]["to"] == "daniel@way.cloud"


def test_shared_second_factor_phone_is_not_an_identifier(emu):
    for uid in ("user_p1", "user_p2"):
        emu.add_user({"id": uid, "identifiers": [uid + "-name"], "password": "pw",
                      "second_factors": ["phone_code"],
                      "phone_numbers": [{"id": "idn_" + uid, "phone": "+15555550123"}]})
    si, tok = password_step(emu, "user_p2-name", "pw")
    assert si["supported_second_factors"][0]["phone_number_id"] == "idn_user_p2"


def test_next_code_queue_and_reset_log(emu):
    emu.next_code("100001")
    emu.next_code("100002")
    emu.fix_codes("777777")
    si, tok = password_step(emu, "sms-user", "sms password")
    for _ in range(3):
        emu.prepare_second_factor(si["id"], "phone_code", tok)
    assert [i["code"] for i in emu.outbox()] == ["100001", "100002", "777777"]
    with pytest.raises(EmulatorError):
        emu.next_code(None)
    assert len(emu.requests()) == 4
    emu.reset_log()
    assert emu.requests() == []
    assert os.path.getsize(os.path.join(emu.state_dir, "requests.jsonl")) == 0
    assert attempt(emu, si["id"], "phone_code", "777777", tok).status == 200   # state kept
    emu.next_code("100003")
    emu.next_code("100003")
    emu.reset()                                           # reset drops the queue
    si, tok = password_step(emu, "sms-user", "sms password")
    emu.prepare_second_factor(si["id"], "phone_code", tok)
    emu.prepare_second_factor(si["id"], "phone_code", tok)
    assert [i["code"] for i in emu.outbox()] != ["100003", "100003"]
