"""Conformance of the real-Clerk profile's new answers against ../shared/clerk/frontend-api.yml
(the translation and validator of test_fapi_conformance.py)."""
import pytest

from fapi_shared import shared_file

pytest.importorskip("yaml", reason="python3-yaml not installed")
pytest.importorskip("jsonschema", reason="python3-jsonschema not installed")

from test_fapi_conformance import Spec  # noqa: E402

SIGN_INS = "/v1/client/sign_ins"
SESSION = "/v1/client/sessions/{session_id}"


@pytest.fixture(scope="module")
def spec():
    return Spec(shared_file("clerk", "frontend-api.yml"))


@pytest.mark.parametrize("settings", [{}, {"native_api": False, "single_session": False,
                                           "enumeration_protection": True, "require_mfa": True,
                                           "lockout_enabled": False, "password_enabled": False}])
def test_environment_conforms(spec, real_emu, settings):
    real_emu.set(**settings)
    r = real_emu.fapi("GET", "/v1/environment", token=None)
    assert r.status == 200
    spec.validate(r.json(), "/v1/environment", "get", 200)


def test_validator_catches_a_bad_environment(spec, real_emu):
    body = real_emu.fapi("GET", "/v1/environment", token=None).json()
    body["auth_config"]["single_session_mode"] = "yes"
    with pytest.raises(AssertionError):
        spec.validate(body, "/v1/environment", "get", 200)


@pytest.mark.parametrize("ident", ["resetpw-user", "setupmfa-user", "chooseorg-user"])
def test_pending_session_answers_conform(spec, real_emu, ident):
    r = real_emu.sign_in(ident, ident.split("-")[0] + " password")
    body = r.json()
    assert body["client"]["sessions"][0]["status"] == "pending"
    spec.validate(body, SIGN_INS, "post", 200)
    sid = body["response"]["created_session_id"]
    t = real_emu.session_token(sid, r.token)
    spec.validate(t.json(), SESSION + "/tokens", "post", 200)
    t = real_emu.session_token(sid, r.token, template="pam")
    spec.validate(t.json(), SESSION + "/tokens/{template_name}", "post", 200)
    g = real_emu.fapi("GET", "/v1/client/sessions/%s" % sid, token=r.token)
    spec.validate(g.json(), SESSION, "get", 200)


def test_chosen_organization_touch_conforms(spec, real_emu):
    r = real_emu.sign_in("chooseorg-user", "chooseorg password")
    sid = r.json()["response"]["created_session_id"]
    t = real_emu.fapi("POST", "/v1/client/sessions/%s/touch" % sid,
                      form={"active_organization_id": "team"}, token=r.token)
    assert t.json()["response"]["status"] == "active"
    spec.validate(t.json(), SESSION + "/touch", "post", 200)


def test_device_trust_with_email_link_conforms(spec, real_emu):
    r = real_emu.sign_in("trust-user", "trust password")
    spec.validate(r.json(), SIGN_INS, "post", 200)
    si = r.json()["response"]["id"]
    p = real_emu.prepare_second_factor(si, "email_link", r.token)
    spec.validate(p.json(), SIGN_INS + "/{sign_in_id}/prepare_second_factor", "post", 200)


def _error(spec, r, path, status):
    """An error answer against the spec's envelope for that path and status."""
    assert r.status == status, r
    spec.validate(r.json(), path, "post", status)


ATTEMPT = SIGN_INS + "/{sign_in_id}/attempt_first_factor"   # lists 401 and 429 errors


def test_new_sign_in_errors_conform(spec, real_emu):
    real_emu.set(rate_limit=0)              # more sign-ins than real Clerk allows in 10 s
    _error(spec, real_emu.sign_in("nopwset-user", "x"), SIGN_INS, 400)
    _error(spec, real_emu.sign_in("mustreset-user", "x"), SIGN_INS, 422)
    _error(spec, real_emu.sign_in("pwfail-user", "x"), SIGN_INS, 422)
    tok = real_emu.sign_in("bob", "battery staple").token
    _error(spec, real_emu.sign_in("alice", "correct horse", token=tok), SIGN_INS, 400)
    real_emu.set(enumeration_protection=True, device_attestation=False)
    _error(spec, real_emu.sign_in("nobody", "x"), SIGN_INS, 422)
    real_emu.set(device_attestation=True)
    _error(spec, real_emu.sign_in("bob", "battery staple"), ATTEMPT, 401)
    real_emu.set(native_api=False)
    _error(spec, real_emu.sign_in("bob", "battery staple"), SIGN_INS, 400)


def test_forgotten_client_answer_conforms(spec, real_emu):
    tok = real_emu.sign_in("bob", "battery staple").token
    real_emu.forget_clients()
    _error(spec, real_emu.sign_in("bob", "battery staple", token=tok), SIGN_INS, 404)


def test_rate_limit_answer_conforms(spec, real_emu):
    for _ in range(5):
        real_emu.sign_in("bob", "wrong")
    _error(spec, real_emu.sign_in("bob", "wrong"), ATTEMPT, 429)
