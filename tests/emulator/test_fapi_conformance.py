"""Conformance: emulator answers validated against the response schemas of Clerk's FAPI
OpenAPI spec (../shared/clerk/frontend-api.yml). OpenAPI 3.0 `nullable: true` becomes
`anyOf: [{type: null}, <schema>]`; $ref into components is resolved by jsonschema."""
import pytest

from fapi_shared import shared_file

yaml = pytest.importorskip("yaml", reason="python3-yaml not installed")
jsonschema = pytest.importorskip("jsonschema", reason="python3-jsonschema not installed")

SCHEMA_LIST_KEYS = ("allOf", "anyOf", "oneOf")
SCHEMA_MAP_KEYS = ("properties", "patternProperties", "definitions", "$defs")
SCHEMA_KEYS = ("items", "additionalProperties", "not", "additionalItems", "contains",
               "propertyNames", "if", "then", "else")
OPENAPI_ONLY = ("nullable", "example", "examples", "discriminator", "xml", "externalDocs",
                "deprecated", "readOnly", "writeOnly")


def to_json_schema(node):
    """Translate one OpenAPI 3.0 schema object (recursively) into JSON Schema."""
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in OPENAPI_ONLY:
            continue
        if key in SCHEMA_LIST_KEYS:
            out[key] = [to_json_schema(v) for v in value]
        elif key in SCHEMA_MAP_KEYS:
            out[key] = {k: to_json_schema(v) for k, v in value.items()}
        elif key in SCHEMA_KEYS and isinstance(value, dict):
            out[key] = to_json_schema(value)
        else:
            out[key] = value
    if node.get("nullable") is True:
        return {"anyOf": [{"type": "null"}, out]}
    return out


class Spec:
    def __init__(self, path):
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        with open(path, encoding="utf-8") as f:
            self.raw = yaml.load(f, Loader=loader)
        schemas = {k: to_json_schema(v) for k, v in self.raw["components"]["schemas"].items()}
        self.doc = {"components": {"schemas": schemas}}

    def response_schema(self, path, method, status):
        resp = self.raw["paths"][path][method]["responses"][str(status)]
        if "$ref" in resp:
            name = resp["$ref"].rsplit("/", 1)[1]
            resp = self.raw["components"]["responses"][name]
        return to_json_schema(resp["content"]["application/json"]["schema"])

    def validate(self, instance, path, method, status):
        schema = self.response_schema(path, method, status)
        resolver = jsonschema.RefResolver(base_uri="", referrer=self.doc)
        validator = jsonschema.Draft7Validator(schema, resolver=resolver)
        problems = list(validator.iter_errors(instance))
        assert not problems, "%s %s %s does not conform:\n%s" % (
            method.upper(), path, status, "\n".join(sorted(set(_leaves(problems)))[:20]))


def _leaves(errs):
    """Innermost messages (anyOf/oneOf keep theirs in .context), with the JSON path."""
    for e in errs:
        if e.context:
            yield from _leaves(e.context)
        else:
            yield "- /%s: %s" % ("/".join(map(str, e.absolute_path)), e.message[:200])


@pytest.fixture(scope="module")
def spec():
    return Spec(shared_file("clerk", "frontend-api.yml"))


SIGN_INS = "/v1/client/sign_ins"


def test_translation_handles_nullable_refs():
    s = to_json_schema({"type": "object", "nullable": True,
                        "allOf": [{"$ref": "#/components/schemas/X"}],
                        "properties": {"nullable": {"type": "string", "nullable": True}}})
    assert s["anyOf"][0] == {"type": "null"}
    assert s["anyOf"][1]["properties"]["nullable"] == {"anyOf": [{"type": "null"},
                                                                  {"type": "string"}]}


def test_validator_catches_a_bad_answer(spec, emu):
    body = emu.sign_in("alice", "correct horse").json()
    body["response"]["status"] = "signed_in"          # not in the spec's enum
    del body["client"]["sessions"][0]["expire_at"]     # required
    with pytest.raises(AssertionError) as ei:
        spec.validate(body, SIGN_INS, "post", 200)
    text = str(ei.value)
    assert "/response/status: 'signed_in' is not one of" in text
    assert "'expire_at' is a required property" in text


def test_sign_in_complete_conforms(spec, emu):
    r = emu.sign_in("alice", "correct horse")
    assert r.json()["response"]["status"] == "complete"
    spec.validate(r.json(), SIGN_INS, "post", 200)


@pytest.mark.parametrize("ident,password,status", [
    ("mfa-user", "mfa password", "needs_second_factor"),
    ("trust-user", "trust password", "needs_client_trust"),
])
def test_sign_in_needs_more_conforms(spec, emu, ident, password, status):
    r = emu.sign_in(ident, password)
    assert r.json()["response"]["status"] == status
    spec.validate(r.json(), SIGN_INS, "post", 200)


def test_first_factor_flow_conforms(spec, emu):
    r = emu.fapi("POST", SIGN_INS, form={"identifier": "bob"})
    spec.validate(r.json(), SIGN_INS, "post", 200)
    sid = r.json()["response"]["id"]
    path = SIGN_INS + "/{sign_in_id}/attempt_first_factor"
    ok = emu.fapi("POST", "%s/%s/attempt_first_factor" % (SIGN_INS, sid),
                  form={"strategy": "password", "password": "battery staple"}, token=r.token)
    spec.validate(ok.json(), path, "post", 200)


@pytest.mark.parametrize("ident,password,status", [
    ("alice", "wrong", 422), ("nobody", "x", 422), ("banned-user", "banned password", 403),
    ("nopass-user", "x", 400)])
def test_error_envelope_conforms(spec, emu, ident, password, status):
    r = emu.sign_in(ident, password)
    assert r.status == status
    spec.validate(r.json(), SIGN_INS, "post", status)


def test_sessions_tokens_touch_conform(spec, emu):
    r = emu.sign_in("alice", "correct horse")
    tok, sid = r.token, r.json()["response"]["created_session_id"]
    base = "/v1/client/sessions/" + sid
    t = emu.fapi("POST", base + "/tokens", token=tok)
    spec.validate(t.json(), "/v1/client/sessions/{session_id}/tokens", "post", 200)
    assert isinstance(t.json()["jwt"], str)
    t = emu.fapi("POST", base + "/tokens/pam", token=tok)
    spec.validate(t.json(), "/v1/client/sessions/{session_id}/tokens/{template_name}", "post", 200)
    touch = emu.fapi("POST", base + "/touch", form={"active_organization_id": "org_way",
                                                    "intent": "select_org"}, token=tok)
    spec.validate(touch.json(), "/v1/client/sessions/{session_id}/touch", "post", 200)
    got = emu.fapi("GET", base, token=tok)
    spec.validate(got.json(), "/v1/client/sessions/{session_id}", "get", 200)
    client = emu.fapi("GET", "/v1/client", token=tok)
    spec.validate(client.json(), "/v1/client", "get", 200)
    ended = emu.fapi("POST", base + "/end", token=tok)
    spec.validate(ended.json(), "/v1/client/sessions/{session_id}/end", "post", 200)
    signed_out = emu.fapi("POST", base + "/tokens", token=tok)
    spec.validate(signed_out.json(), "/v1/client/sessions/{session_id}/tokens", "post", 401)
    removed = emu.fapi("POST", base + "/remove", token=tok)
    spec.validate(removed.json(), "/v1/client/sessions/{session_id}/remove", "post", 200)
    emu.sign_in("bob", "battery staple", token=tok)
    deleted = emu.fapi("DELETE", "/v1/client/sessions", token=tok)
    spec.validate(deleted.json(), "/v1/client/sessions", "delete", 200)


def test_jwks_conforms(spec, emu):
    r = emu.fapi("GET", "/.well-known/jwks.json", token=None, native=False, api_version=None)
    spec.validate(r.json(), "/.well-known/jwks.json", "get", 200)


# ---- second factors, Device Trust ---------------------------------------------------------------
PREPARE_2FA = SIGN_INS + "/{sign_in_id}/prepare_second_factor"
ATTEMPT_2FA = SIGN_INS + "/{sign_in_id}/attempt_second_factor"


def test_sms_second_factor_flow_conforms(spec, emu):
    r = emu.sign_in("sms-user", "sms password")
    si = r.json()["response"]
    assert si["status"] == "needs_second_factor" and si["supported_second_factors"]
    spec.validate(r.json(), SIGN_INS, "post", 200)
    p = emu.prepare_second_factor(si["id"], "phone_code", r.token)
    assert p.json()["response"]["second_factor_verification"]["status"] == "unverified"
    spec.validate(p.json(), PREPARE_2FA, "post", 200)
    code = emu.last_code(sign_in_id=si["id"])
    bad = emu.attempt_second_factor(si["id"], "phone_code", "x" + code[1:], p.token)
    assert bad.status == 422
    spec.validate(bad.json(), ATTEMPT_2FA, "post", 422)
    ok = emu.attempt_second_factor(si["id"], "phone_code", code, p.token)
    assert ok.json()["response"]["status"] == "complete"
    spec.validate(ok.json(), ATTEMPT_2FA, "post", 200)
    deleted = emu.fapi("DELETE", "/v1/client/sessions", token=ok.token)
    assert deleted.json()["response"]["sessions"] == []
    spec.validate(deleted.json(), "/v1/client/sessions", "delete", 200)


@pytest.mark.parametrize("strategy", ["totp", "backup_code"])
def test_totp_and_backup_code_answers_conform(spec, emu, strategy):
    from control import totp
    r = emu.sign_in("totp-user", "totp password")
    spec.validate(r.json(), SIGN_INS, "post", 200)
    sid = r.json()["response"]["id"]
    code = totp("JBSWY3DPEHPK3PXP") if strategy == "totp" else "j9k8m7n6"
    ok = emu.attempt_second_factor(sid, strategy, code, r.token)     # +-1 step: no race
    assert ok.json()["response"]["second_factor_verification"]["strategy"] == strategy
    spec.validate(ok.json(), ATTEMPT_2FA, "post", 200)


def test_expired_code_error_conforms(spec, emu):
    r = emu.sign_in("email2fa-user", "email2fa password")
    sid = r.json()["response"]["id"]
    emu.prepare_second_factor(sid, "email_code", r.token)
    emu.expire_codes()
    bad = emu.attempt_second_factor(sid, "email_code", emu.last_code(), r.token)
    assert bad.status == 400
    spec.validate(bad.json(), ATTEMPT_2FA, "post", 400)


@pytest.mark.parametrize("mode,status", [("trust_emu", "needs_client_trust"),
                                         ("legacy_emu", "needs_second_factor")])
def test_device_trust_answers_conform(spec, request, mode, status):
    emu = request.getfixturevalue(mode)
    r = emu.sign_in("bob", "battery staple")
    si = r.json()["response"]
    assert (si["status"], si["client_trust_state"]) == (status, "new")
    spec.validate(r.json(), SIGN_INS, "post", 200)
    p = emu.prepare_second_factor(si["id"], "email_code", r.token)
    spec.validate(p.json(), PREPARE_2FA, "post", 200)
    ok = emu.attempt_second_factor(si["id"], "email_code", emu.last_code(), p.token)
    assert ok.json()["response"]["client_trust_state"] == "known"
    spec.validate(ok.json(), ATTEMPT_2FA, "post", 200)


# ---- organizations, tokens, templates -----------------------------------------------------------
TOKENS = "/v1/client/sessions/{session_id}/tokens"
TEMPLATE_TOKENS = TOKENS + "/{template_name}"
TOUCH = "/v1/client/sessions/{session_id}/touch"


def test_org_tokens_touch_and_errors_conform(spec, emu):
    r = emu.sign_in("alice", "correct horse")
    tok, sid = r.token, r.json()["response"]["created_session_id"]
    for org in ("ops", "org_dev", ""):
        t = emu.session_token(sid, tok, organization_id=org)
        assert t.status == 200
        spec.validate(t.json(), TOKENS, "post", 200)
    t = emu.session_token(sid, tok, template="pam")
    spec.validate(t.json(), TEMPLATE_TOKENS, "post", 200)
    bad = emu.session_token(sid, tok, organization_id="org_ileap")
    assert bad.status == 404
    spec.validate(bad.json(), TOKENS, "post", 404)
    missing = emu.session_token(sid, tok, template="no_such_template")
    assert missing.status == 404
    spec.validate(missing.json(), TEMPLATE_TOKENS, "post", 404)
    emu.fault("jwt", kind="alg_none", count=1)
    spec.validate(emu.session_token(sid, tok).json(), TOKENS, "post", 200)
    for org in ("dev", "org_ops", ""):
        touch = emu.fapi("POST", "/v1/client/sessions/%s/touch" % sid,
                         form={"active_organization_id": org, "intent": "select_org"}, token=tok)
        assert touch.status == 200
        spec.validate(touch.json(), TOUCH, "post", 200)
    bad = emu.fapi("POST", "/v1/client/sessions/%s/touch" % sid,
                   form={"active_organization_id": "ileap"}, token=tok)
    assert bad.status == 404
    spec.validate(bad.json(), TOUCH, "post", 404)
    emu.fapi("POST", "/v1/client/sessions/%s/end" % sid, token=tok)
    ended = emu.session_token(sid, tok, template="pam")
    assert ended.status == 401
    spec.validate(ended.json(), TEMPLATE_TOKENS, "post", 401)


def test_member_sessions_conform(spec, emu):
    for ident, pw in (("ileap-demo@way.cloud", "HelloPrimaryData"),
                      ("auditor-user", "auditor password")):
        r = emu.sign_in(ident, pw)
        spec.validate(r.json(), SIGN_INS, "post", 200)


# ---- Backend API --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bapi_spec():
    return Spec(shared_file("clerk", "backend-api.yml"))


def test_bapi_users_conform(bapi_spec, emu):
    emu.sign_in("alice", "correct horse")
    r = emu.bapi("GET", "/v1/users", query={"limit": 100})
    assert r.status == 200 and len(r.json()) == 22
    bapi_spec.validate(r.json(), "/users", "get", 200)
    for uid in ("user_alice", "user_mfa", "user_totp", "user_email2fa", "user_banned",
                "user_nopass"):
        one = emu.bapi("GET", "/v1/users/" + uid)
        bapi_spec.validate(one.json(), "/users/{user_id}", "get", 200)
    missing = emu.bapi("GET", "/v1/users/user_nobody")
    bapi_spec.validate(missing.json(), "/users/{user_id}", "get", 404)
    for key in (None, "sk_test_wrong"):
        denied = emu.bapi("GET", "/v1/users", secret_key=key)
        assert denied.status == 401
        bapi_spec.validate(denied.json(), "/users", "get", 401)
    bad = emu.bapi("GET", "/v1/users", query={"limit": "x"})
    bapi_spec.validate(bad.json(), "/users", "get", 422)


def test_bapi_locked_user_conforms(bapi_spec, limited_emu):
    for _ in range(3):
        limited_emu.sign_in("alice", "wrong")
    r = limited_emu.bapi("GET", "/v1/users/user_alice")
    assert r.json()["locked"] is True
    bapi_spec.validate(r.json(), "/users/{user_id}", "get", 200)


def test_bapi_memberships_conform(bapi_spec, emu):
    for uid in ("user_alice", "user_auditor", "user_bob"):
        r = emu.bapi("GET", "/v1/users/%s/organization_memberships" % uid)
        bapi_spec.validate(r.json(), "/users/{user_id}/organization_memberships", "get", 200)
    for org in ("org_dev", "ops", "org_ileap"):
        r = emu.bapi("GET", "/v1/organizations/%s/memberships" % org)
        assert r.json()["total_count"] >= 1
        bapi_spec.validate(r.json(), "/organizations/{organization_id}/memberships", "get", 200)
    denied = emu.bapi("GET", "/v1/organizations/org_dev/memberships", secret_key=None)
    bapi_spec.validate(denied.json(), "/organizations/{organization_id}/memberships", "get", 401)


def test_bapi_jwks_conforms(bapi_spec, emu):
    emu.rotate_jwks()
    r = emu.bapi("GET", "/v1/jwks")
    assert len(r.json()["keys"]) == 2
    bapi_spec.validate(r.json(), "/jwks", "get", 200)
