"""pam-clerk token (issue 16): a script's session token, got by signing in exactly as the
module does (the same requests), with organization=, jwt_template=, a second factor typed
on a terminal, and the session ended as end_session says."""
import json
import os
import sys

import pexpect
import pytest

from admin_cmd import CMD, pam_clerk
from emulator.control import totp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "emulator"))
from jwtcheck import verify  # noqa: E402

DEMO = "ileap-demo@way.cloud"
DEMO_PASSWORD = "HelloPrimaryData"


def token(pam, user, password, *extra, json_out=False):
    argv = ["token", user, "--password-stdin"] + (["--json"] if json_out else [])
    return pam_clerk(*argv, *pam.base_args(), *extra, stdin=password)


def claims_of(emu, jwt, **kw):
    return verify(jwt, emu.jwks_info()["jwks"], issuer=emu.url, **kw)[1]


def test_plain_token(pam, emu):
    r = token(pam, "alice", "correct horse", "end_session=close")
    assert r.rc == 0, r
    jwt = r.out.strip()
    assert len(r.lines) == 1 and jwt.count(".") == 2
    c = claims_of(emu, jwt, sub="user_alice")
    live = emu.sessions(user_id="user_alice", status="active")
    assert [s["id"] for s in live] == [c["sid"]], "the session stays for the script's calls"
    assert "correct horse" not in r.out + r.err


def test_the_seed_workflow_json_with_organization(pam, emu):
    r = token(pam, DEMO, DEMO_PASSWORD, "organization=org_ileap", json_out=True)
    assert r.rc == 0, r
    out = json.loads(r.out)
    assert set(out) == {"session_id", "user_id", "organization", "token"}
    assert out["user_id"] == "user_ileapdemo" and out["organization"] == "org_ileap"
    c = claims_of(emu, out["token"], sid=out["session_id"], sub="user_ileapdemo")
    assert c.get("o", {}).get("id", c.get("org_id")) == "org_ileap", c


def test_json_without_organization_says_null(pam, emu):
    r = token(pam, "bob", "battery staple", json_out=True)
    assert r.rc == 0 and json.loads(r.out)["organization"] is None, r


def test_template_token(pam, emu):
    emu.add_template("ileap", claims={"aud": "ileap-api", "role": "demo"}, lifetime=120)
    r = token(pam, DEMO, DEMO_PASSWORD, "organization=org_ileap", "jwt_template=ileap",
              json_out=True)
    assert r.rc == 0, r
    out = json.loads(r.out)
    c = claims_of(emu, out["token"], sub="user_ileapdemo")
    assert c["aud"] == "ileap-api" and c["role"] == "demo", c
    assert any(q["path"].endswith("/tokens/ileap") for q in emu.requests())


def test_seed_workflow_against_real_clerk(real_pam, real_emu):
    """The iLEAP seed workflow in the real-Clerk world: the template token has no sid and
    only its template's claims, and is still what the script gets."""
    real_emu.add_template("ileap", claims={"aud": "ileap-api"}, lifetime=120)
    r = token(real_pam, DEMO, DEMO_PASSWORD, "organization=org_ileap", "jwt_template=ileap",
              json_out=True)
    assert r.rc == 0, r
    out = json.loads(r.out)
    c = claims_of(real_emu, out["token"], sub="user_ileapdemo")
    assert c["aud"] == "ileap-api" and "sid" not in c, c
    assert out["organization"] == "org_ileap"


def test_the_same_requests_as_the_module(pam, emu):
    extra = ["export_env", "organization=org_ileap"]
    pam.service(extra_args=extra)
    emu.reset_log()
    assert pam.run(DEMO, DEMO_PASSWORD, ops=(("authenticate", "PAM_SUCCESS"),)).ok
    module = [(q["method"], q["path"].split("/")[-1], q["status"], sorted(q["form"] or {}))
              for q in emu.requests()]
    # the same start: nothing kept (the JWKS cache would spare one request)
    assert pam_clerk("forget", "--all", *pam.base_args()).rc == 0
    emu.reset_log()
    assert token(pam, DEMO, DEMO_PASSWORD, *extra).rc == 0
    command = [(q["method"], q["path"].split("/")[-1], q["status"], sorted(q["form"] or {}))
               for q in emu.requests()]
    assert command == module and len(module) >= 2, (command, module)


@pytest.mark.parametrize("setting", [(), ("end_session=auth",)], ids=["default", "auth"])
def test_end_session_auth_ends_it_before_printing(pam, emu, setting):
    r = token(pam, "alice", "correct horse", *setting, json_out=True)
    assert r.rc == 0, r
    sid = json.loads(r.out)["session_id"]
    assert [s["status"] for s in emu.sessions(user_id="user_alice") if s["id"] == sid] == \
        ["ended"]


def test_wrong_password_is_refused(pam, emu):
    r = token(pam, "alice", "not it")
    assert r.rc == 1 and r.out == "", r
    assert "outcome=bad_credentials" in r.err and "not it" not in r.err


def test_unreachable_instance_fails(pam, emu):
    r = pam_clerk("token", "alice", "--password-stdin", "conf=%s" % pam.conf,
                  "frontend_api=https://127.0.0.1:9", "cafile=%s" % emu.ca_file,
                  "state_dir=%s" % pam.state_dir, stdin="correct horse")
    assert r.rc == 3 and r.out == "", r


def test_no_password_is_a_usage_error(pam, emu):
    r = token(pam, "alice", "")
    assert r.rc == 2 and "no password" in r.err, r
    emu_paths = [q["path"] for q in emu.requests()]
    assert emu_paths == [], "nothing asked without a password"
    r = pam_clerk("token", *pam.base_args())
    assert r.rc == 2 and "token needs a USER" in r.err


def test_no_terminal_without_password_stdin(pam, emu):
    r = pam_clerk("token", "alice", *pam.base_args())
    assert r.rc == 2 and "no terminal to ask the password on" in r.err, r
    assert emu.requests() == []


def test_second_factor_typed_on_a_terminal(pam, emu):
    child = pexpect.spawn(CMD, ["token", "totp-user", "--json"] + pam.base_args(),
                          env={"PATH": "/usr/bin:/bin"}, encoding="utf-8", timeout=30)
    child.expect("Password: ")
    child.sendline("totp password")
    child.expect(r"(?i)code[^\n]*: ")
    child.sendline(totp("JBSWY3DPEHPK3PXP"))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    text = child.before
    assert "totp password" not in text, "the password is not echoed"
    out = json.loads(text[text.index("{"):])
    assert out["user_id"] == "user_totp"
    claims_of(emu, out["token"], sid=out["session_id"], sub="user_totp")
    assert [q["path"].split("/")[-1] for q in emu.requests()][:2] == [
        "sign_ins", "attempt_second_factor"]


def test_device_trust_host_code_on_a_terminal_then_token(pam, tmp_path_factory):
    """With Device Trust and a state_dir the module ends the session to keep the stored
    client reusable; token does the same, and the token it printed still verifies."""
    from emulator.control import Emulator
    emu = Emulator(str(tmp_path_factory.mktemp("trust")), device_trust=True,
                   profile="kind").start()
    try:
        pam.emu = emu
        emu.next_code("135790")
        child = pexpect.spawn(CMD, ["token", DEMO, "--json"] + pam.base_args(),
                              env={"PATH": "/usr/bin:/bin"}, encoding="utf-8", timeout=30)
        child.expect("Password: ")
        child.sendline(DEMO_PASSWORD)
        child.expect(r"(?i)code[^\n]*: ")
        child.sendline("135790")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before
        out = json.loads(child.before[child.before.index("{"):])
        claims_of(emu, out["token"], sid=out["session_id"], sub="user_ileapdemo")
        # the host is now a known device: the next token needs no code, no terminal
        r = token(pam, DEMO, DEMO_PASSWORD)
        assert r.rc == 0, r
        claims_of(emu, r.out.strip(), sub="user_ileapdemo")
    finally:
        emu.stop()
