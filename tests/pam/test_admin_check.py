"""pam-clerk check (issue 16): the configuration read as the module reads it, then tested
against the live instance (the emulator), without ever sending a password."""
import os
import sys

import pytest

from admin_cmd import pam_clerk

EMULATOR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "emulator")


def args(pam, *extra):
    return pam.base_args() + list(extra)


def assert_no_password_sent(emu):
    reqs = emu.requests()
    assert reqs, "check made no request"
    for r in reqs:
        assert r["method"] == "GET", r
        assert not r.get("form"), r
        assert r["path"] in ("/v1/environment", "/.well-known/jwks.json"), r


def test_a_working_configuration(pam, emu):
    emu.reset_log()
    r = pam_clerk("check", *args(pam))
    assert r.rc == 0, r
    assert r.kind("problem") == [], r
    assert "the Native API is on" in r.kind("ok")
    assert "password sign-in is on" in r.kind("ok")
    assert any("JWKS" in line and "1 key" in line for line in r.kind("ok")), r
    assert any("locks a user after 10 failed attempts for 60 minutes" in line
               for line in r.kind("info")), r
    assert r.lines[-1] == "result: a login can work"
    assert_no_password_sent(emu)
    # the same settings a login would use: the emulator's CA, no other
    assert {q["listener"] for q in emu.requests()} == {"main"}


def test_the_file_is_read_as_the_module_reads_it(pam, emu):
    pam.write_conf("frontend_api = %s\ncafile = %s\ntimeout = 5\n" % (emu.url, emu.ca_file))
    r = pam_clerk("check", "conf=%s" % pam.conf, "state_dir=%s" % pam.state_dir)
    assert r.rc == 0, r
    assert r.lines[0] == "ok: configuration %s: valid" % pam.conf


def test_a_typo_key_in_the_file_names_file_line_and_key(pam, emu):
    pam.write_conf("frontend_api = %s\ncafile = %s\ntimout = 5\n" % (emu.url, emu.ca_file))
    r = pam_clerk("check", "conf=%s" % pam.conf)
    assert r.rc == 2, r
    assert len(r.lines) == 1 and r.lines[0].startswith("problem: configuration error:"), r
    assert "%s:3" % pam.conf in r.out and "timout" in r.out, r
    assert emu.requests() == [] or all(q["path"] != "/v1/environment" for q in emu.requests())


def test_a_typo_key_as_an_argument(pam, emu):
    r = pam_clerk("check", *args(pam, "identifer=%u"))
    assert r.rc == 2 and "identifer" in r.out and "unknown key" in r.out, r


def test_an_unreachable_instance(pam, emu, tmp_path):
    r = pam_clerk("check", "conf=%s" % pam.conf, "frontend_api=https://127.0.0.1:9",
                  "cafile=%s" % emu.ca_file, "state_dir=%s" % pam.state_dir, "timeout=3")
    assert r.rc == 1, r
    assert len(r.kind("problem")) == 1, r
    assert "cannot be reached" in r.kind("problem")[0]
    assert r.lines[-1].startswith("result: 1 problem")


def test_a_certificate_for_another_host_is_a_problem(pam, emu):
    r = pam_clerk("check", "conf=%s" % pam.conf, "frontend_api=%s" % emu.wrong_host_url,
                  "cafile=%s" % emu.ca_file, "state_dir=%s" % pam.state_dir)
    assert r.rc == 1 and "cannot be reached" in r.kind("problem")[0], r


def test_native_api_switched_off(pam, emu):
    emu.set(native_api=False)
    emu.reset_log()
    r = pam_clerk("check", *args(pam))
    assert r.rc == 1, r
    problems = r.kind("problem")
    assert len(problems) == 1 and "Native API is off" in problems[0], r
    assert "Native applications" in problems[0]
    assert_no_password_sent(emu)
    # what a login then meets: the module's own answer
    pam.service()
    login = pam.run("alice", "correct horse", ops=(("authenticate", "PAM_AUTHINFO_UNAVAIL"),))
    assert "native_api_disabled" in login.log_text(), login


def test_the_answers_check_reads_conform_to_the_spec(pam, emu):
    """What check reads and what a login then meets, from the emulator, validated against
    ../shared/clerk/frontend-api.yml: the settings check reports are the spec's."""
    pytest.importorskip("yaml")
    pytest.importorskip("jsonschema")
    sys.path.insert(0, EMULATOR)
    from fapi_shared import shared_file
    from test_fapi_conformance import Spec
    spec = Spec(shared_file("clerk", "frontend-api.yml"))
    for native in (True, False):
        emu.set(native_api=native, lockout_threshold=7)
        body = emu.fapi("GET", "/v1/environment", token=None)
        assert body.status == 200
        spec.validate(body.json(), "/v1/environment", "get", 200)
        r = pam_clerk("check", *args(pam))
        assert ("the Native API is on" in r.kind("ok")) is native, r
        assert any("after 7 failed attempts" in line for line in r.kind("info")), r
    answer = emu.sign_in("bob", "battery staple")
    assert (answer.status, answer.error_code) == (400, "native_api_disabled")
    spec.validate(answer.json(), "/v1/client/sign_ins", "post", 400)


def test_lockout_the_local_budget_would_reach(pam, emu):
    emu.set(lockout_threshold=3)
    r = pam_clerk("check", *args(pam, "max_tries=3"))
    assert r.rc == 0, r  # a warning, not a problem: logins work
    warnings = r.kind("warning")
    assert any("enough for Clerk to lock the user (threshold 3)" in w for w in warnings), r
    # The local failure budget against the same threshold (issue 14's keys).
    r = pam_clerk("check", *args(pam, "max_tries=1", "fail_limit=5"))
    assert any("set fail_limit to at most" in w for w in r.kind("warning")), r
    r = pam_clerk("check", *args(pam, "max_tries=1", "fail_limit=2"))
    assert not any("enough for Clerk to lock" in w for w in r.kind("warning")), r
    assert any("local failure budget refuses an identifier here after 2" in o
               for o in r.kind("ok")), r


def test_instance_settings_in_plain_words(pam, emu):
    emu.set(require_mfa=True, enumeration_protection=True, single_session=True,
            password_enabled=False)
    r = pam_clerk("check", *args(pam))
    assert r.rc == 1, r
    assert any("password sign-in is off" in p for p in r.kind("problem")), r
    info = "\n".join(r.kind("info"))
    assert "a second factor is required" in info
    assert "enumeration protection" in info and "): on" in info
    assert "single-session mode: on" in info


def test_pinned_jwt_key(pam, emu, tmp_path):
    r = pam_clerk("check", *args(pam, "jwt_key=%s" % emu.jwt_public_key_line))
    assert r.rc == 0 and "jwt_key matches a key of the instance's JWKS" in r.kind("ok"), r
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = tmp_path / "other.pem"
    pem.write_bytes(other.public_bytes(serialization.Encoding.PEM,
                                       serialization.PublicFormat.SubjectPublicKeyInfo))
    r = pam_clerk("check", *args(pam, "jwt_key=%s" % pem))
    assert r.rc == 1 and any("jwt_key is none of" in p for p in r.kind("problem")), r


def test_backend_api_with_the_secret_key(pam, emu, tmp_path):
    key = tmp_path / "sk"
    key.write_text(emu.secret_key + "\n")
    os.chmod(key, 0o600)
    base = args(pam, "secret_key_file=%s" % key, "backend_api=%s" % emu.bapi_url)
    r = pam_clerk("check", *base)
    assert r.rc == 0 and any("Backend API" in line for line in r.kind("ok")), r
    key.write_text("sk_test_wrong\n")
    r = pam_clerk("check", *base)
    assert r.rc == 1 and any("refuses the secret key" in p for p in r.kind("problem")), r
    assert emu.secret_key not in r.out + r.err


def test_bad_usage(pam):
    for argv, want in ((["frobnicate"], "unknown subcommand"), ([], "a subcommand"),
                       (["check", "--json"], "unknown option"),
                       (["check", "alice"], "unexpected argument")):
        r = pam_clerk(*argv)
        assert r.rc == 2 and want in r.err, (argv, r)
    r = pam_clerk("--help")
    assert r.rc == 0
    for sub in ("check", "status", "forget", "token"):
        assert "\n  %s" % sub in r.out


def test_readme_configure_starts_with_check_and_its_transcript_is_real(pam, emu):
    readme = open(os.path.join(os.path.dirname(EMULATOR), "..", "README.md")).read()
    configure = readme.split("\n## Configure\n", 1)[1].split("\n## ", 1)[0]
    first_block = configure.split("```")[1]
    assert "pam-clerk check" in first_block.splitlines()[1]
    transcript = configure.split("$ pam-clerk check\n", 1)[1].split("```")[0].splitlines()
    emu.set(native_api=False)
    pam.write_conf("frontend_api = %s\ncafile = %s\n" % (emu.url, emu.ca_file))
    r = pam_clerk("check", "conf=%s" % pam.conf, "state_dir=%s" % pam.state_dir)
    got = [line.replace(str(pam.conf), "/etc/security/pam_clerk.conf")
           .replace(emu.url, "https://clerk.example.com") for line in r.lines]
    for line in transcript:
        assert line in got, (line, got)
