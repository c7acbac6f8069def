"""Symbol hygiene: the module works inside a host that already carries functions named like
those it (or its libraries) use. Dovecot's libdovecot.so.0 exports its own http_parser_init,
json_* and more; with the module's old hand-written transport, an IMAP login through
`passdb pam` bound the module's http_parser_init to Dovecot's and aborted the auth process.
Here pamtester runs with libdovecot.so.0 preloaded (LD_PRELOAD puts its symbols first in
the global scope, as a host binary's own would be), and a login that makes two requests
(sign-in, then the session ended at authentication) must succeed on one connection."""
import os
import shutil
import subprocess

import pytest

DEMO = "ileap-demo@way.cloud"
DEMO_PASSWORD = "HelloPrimaryData"
DOVECOT_LIB = "/usr/lib/dovecot/libdovecot.so.0"
MODULE = os.path.join(os.environ.get("BUILDDIR", ".."), "src", ".libs", "pam_clerk.so")

pytestmark = [
    pytest.mark.skipif(not os.path.exists(DOVECOT_LIB),
                       reason="%s missing (apt-get install dovecot-core)" % DOVECOT_LIB),
    pytest.mark.skipif(shutil.which("pamtester") is None,
                       reason="pamtester not installed (apt-get install pamtester)"),
]


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}


def test_dovecot_exports_names_that_collided():
    """The premise: libdovecot carries http_parser's entry points (the crash of issue 13)."""
    names = exported(DOVECOT_LIB)
    assert {"http_parser_init", "http_response_parser_init"} & names, sorted(names)[:20]


def test_module_imports_nothing_dovecot_defines():
    """No name the module imports (libcurl, OpenSSL, json-c, libc, libpam) is one of
    Dovecot's, and no http_parser entry point is left."""
    out = subprocess.run(["nm", "-D", "--undefined-only", MODULE], capture_output=True,
                         text=True, check=True).stdout
    imports = {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}
    assert "curl_easy_perform" in imports
    assert not [n for n in imports if n.startswith("http_parser")]
    assert imports & exported(DOVECOT_LIB) == set()


def test_login_with_libdovecot_preloaded(pam, emu):
    pam.service(extra_args=["end_session=auth", "state_dir=none"])
    env = pam.env({"LD_PRELOAD": "libpam_wrapper.so libnss_wrapper.so %s" % DOVECOT_LIB},
                  user=DEMO)
    p = subprocess.run(["pamtester", "-v", "clerktest", DEMO, "authenticate"],
                       input=DEMO_PASSWORD + "\n", text=True, capture_output=True, env=env,
                       timeout=60)
    assert p.returncode == 0, (p.returncode, p.stderr[-2000:])
    assert "successfully authenticated" in p.stdout + p.stderr
    reqs = emu.requests()
    assert [(q["method"], q["status"]) for q in reqs] == [("POST", 200), ("POST", 200)], reqs
    assert len({q["connection"] for q in reqs}) == 1


def test_libdovecot_really_was_loaded(pam, emu):
    """The preload took: a process started the same way maps libdovecot.so.0."""
    env = dict(os.environ, LD_PRELOAD=DOVECOT_LIB)
    p = subprocess.run(["cat", "/proc/self/maps"], capture_output=True, text=True, env=env)
    assert "libdovecot.so.0" in p.stdout
