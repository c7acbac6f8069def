"""Configuration errors through libpam: PAM_SERVICE_ERR and a log line with
file, line and key; arguments win over the file."""
import os

import pytest

DEMO = "ileap-demo@way.cloud"
DEMO_PASSWORD = "HelloPrimaryData"


def file_only_service(pam):
    return pam.service(auth_args=["conf=%s" % pam.conf])


def test_everything_from_the_file(pam, emu):
    pam.write_conf("# pam_clerk test\nfrontend_api = %s\ncafile = %s\n"
                   "identifier = %%u@way.cloud\ntimeout = 5\n" % (emu.url, emu.ca_file))
    file_only_service(pam)
    pam.expect("ileap-demo", DEMO_PASSWORD, "PAM_SUCCESS")


def test_arguments_win_over_the_file(pam, emu):
    pam.write_conf("frontend_api = https://clerk.wrong.invalid\ncafile = %s\n"
                   "identifier = %%u@elsewhere.invalid\n" % emu.ca_file)
    pam.service(auth_args=["conf=%s" % pam.conf, "frontend_api=%s" % emu.url,
                           "identifier=%u@way.cloud"])
    pam.expect("ileap-demo", DEMO_PASSWORD, "PAM_SUCCESS")


@pytest.mark.parametrize("text,fragment", [
    ("frontend_api = URL\nbogus_key = 1\n", ":2: key 'bogus_key': unknown key"),
    ("frontend_api = URL\n\n\ntimeout = ten\n", ":4: key 'timeout': expected whole seconds"),
    ("frontend_api = http://127.0.0.1:1\n", ":1: key 'frontend_api'"),
    ("publishable_key = pk_nope_abc\n", ":1: key 'publishable_key'"),
    ("frontend_api = URL\nconf = /etc/passwd\n", ":2: key 'conf': only allowed as a module argument"),
    ("frontend_api = URL\ndebug = maybe\n", ":2: key 'debug': expected yes or no"),
    ("# nothing configured\n", "set publishable_key or frontend_api"),
])
def test_bad_config_file(pam, emu, text, fragment):
    pam.write_conf(text.replace("URL", emu.url))
    file_only_service(pam)
    r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_SERVICE_ERR")])
    assert r.ok, r
    assert any("configuration error" in l and fragment in l for l in r.log), r.log
    assert emu.requests() == []


def test_bad_module_argument(pam, emu):
    pam.service(extra_args=["timeout=0"])
    r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_SERVICE_ERR")])
    assert r.ok, r
    assert any("module argument 'timeout'" in l for l in r.log), r.log


def test_missing_explicit_conf_file(pam, emu):
    pam.service(auth_args=["conf=%s" % (pam.tmp / "missing.conf"), "frontend_api=%s" % emu.url])
    r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_SERVICE_ERR")])
    assert r.ok, r
    assert any("missing.conf: file not found" in l for l in r.log), r.log


def test_writable_conf_file_is_refused(pam, emu):
    pam.write_conf("frontend_api = %s\ncafile = %s\n" % (emu.url, emu.ca_file), mode=0o666)
    file_only_service(pam)
    r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_SERVICE_ERR")])
    assert r.ok, r
    assert any("writable by group or others" in l for l in r.log), r.log


def test_symlinked_conf_file_is_refused(pam, emu):
    pam.write_conf("frontend_api = %s\ncafile = %s\n" % (emu.url, emu.ca_file))
    link = pam.tmp / "link.conf"
    os.symlink(pam.conf, link)
    pam.service(auth_args=["conf=%s" % link])
    r = pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_SERVICE_ERR")])
    assert r.ok, r
    assert any("symbolic link" in l for l in r.log), r.log


def test_publishable_key_points_at_the_instance(pam, emu):
    import base64
    host = emu.url[len("https://"):]
    key = "pk_test_" + base64.b64encode((host + "$").encode()).decode().rstrip("=")
    pam.service(auth_args=["conf=%s" % pam.conf, "publishable_key=%s" % key,
                           "cafile=%s" % emu.ca_file])
    pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
