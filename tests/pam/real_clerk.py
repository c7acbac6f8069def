"""Helpers of the test_real_clerk_* files: PAM logins against the emulator playing real
Clerk (profile "real", the `real_pam` / `real_emu` fixtures of conftest.py).

Tests the module does not pass yet carry `xfail(strict=True, reason=ISSUE % n)` for item n
of issue 12; once the module is fixed each must pass, and its mark must go. The unmarked
ones pass today and guard what must stay true."""
import base64
import json
import os

from conftest import PAM

ISSUE = "issue 12 item %d: module not fixed yet"
TRUST_USER = "trust-user@way.cloud"
TRUST_PASSWORD = "trust password"


def paths(emu):
    return [(q["method"], q["path"], q["status"]) for q in emu.requests()]


def jwt_claims(jwt):
    """The claims of a JWT, unverified (the emulator signed it)."""
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def jwt_header(jwt):
    part = jwt.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def token_files(pam):
    if not os.path.isdir(str(pam.state_dir)):
        return []
    return [f for f in os.listdir(str(pam.state_dir)) if f.endswith(".token")]


def trust_this_host(pam, emu, code="135790"):
    """A Device Trust login of trust-user (one emailed code); the module keeps the client."""
    emu.next_code(code)
    r = pam.run(TRUST_USER, TRUST_PASSWORD, echo_on=[code],
                ops=[("authenticate", "PAM_SUCCESS")])
    assert r.ok, r
    assert len(token_files(pam)) == 1, r
    return r


def refused(r):
    """authenticate did not succeed (whatever the code), and the driver saw it."""
    return r.actual is not None and r.actual != PAM["PAM_SUCCESS"]
