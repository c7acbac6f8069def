"""pamtester, as administrators and scripts run it (password on stdin)."""
import shutil
import subprocess

import pytest

DEMO = "ileap-demo@way.cloud"
DEMO_PASSWORD = "HelloPrimaryData"

pytestmark = pytest.mark.skipif(shutil.which("pamtester") is None,
                                reason="pamtester not installed (apt-get install pamtester)")


def pamtester(pam, user, password, *ops):
    return subprocess.run(["pamtester", "-v", "clerktest", user] + list(ops),
                          input=password + "\n", text=True, capture_output=True,
                          env=pam.env(user=user), timeout=60)


def test_pamtester_success(pam, emu):
    pam.service()
    p = pamtester(pam, DEMO, DEMO_PASSWORD, "authenticate", "acct_mgmt")
    assert p.returncode == 0, p.stderr
    assert "successfully authenticated" in p.stdout + p.stderr
    # The sign-in and (end_session=auth, the default) the session's end.
    assert [q["path"].rsplit("/", 1)[-1] for q in emu.requests()] == ["sign_ins", "end"]


def test_pamtester_refusal(pam, emu):
    pam.service()
    p = pamtester(pam, DEMO, "wrong password", "authenticate")
    assert p.returncode != 0
    assert "Authentication failure" in p.stdout + p.stderr


def test_pamtester_outage(pam, emu):
    pam.service()
    emu.fault("status", http_status=503)
    p = pamtester(pam, DEMO, DEMO_PASSWORD, "authenticate")
    assert p.returncode != 0
    assert "Authentication service cannot retrieve authentication info" in p.stdout + p.stderr
