"""Issue 12 item 8: no dev browser in native mode. Real Clerk's development instances
answer native requests without one, so the module neither makes the handshake nor keeps a
`Clerk-Db-Jwt`."""
import pytest

from emulator.control import Emulator


SIGN_INS = "/v1/client/sign_ins"


@pytest.fixture(scope="module")
def real_dev_emulator(tmp_path_factory):
    emu = Emulator(str(tmp_path_factory.mktemp("real-dev")), profile="real",
                   dev_instance=True).start()
    yield emu
    emu.stop()


@pytest.fixture
def dev(real_pam, real_dev_emulator):
    real_dev_emulator.reset()
    real_pam.emu = real_dev_emulator
    real_pam.service()
    return real_dev_emulator


def test_dev_instance_login_needs_no_dev_browser(real_pam, dev):
    """Not marked: today's module makes the handshake only when asked, and real Clerk
    never asks a native client."""
    r = real_pam.expect("bob", "battery staple", "PAM_SUCCESS")
    # The sign-in, then (end_session=auth, the default) the session's end.
    assert [q["path"] for q in dev.requests()][:1] == [SIGN_INS]
    assert len(dev.requests()) == 2 and dev.requests()[1]["path"].endswith("/end")
    assert "__clerk_db_jwt" not in dev.requests()[0]["query"]
    assert r.outcome() == "success"


def test_dev_browser_unauthenticated_is_misconfigured_without_a_handshake(real_pam, dev):
    dev.fault("error_code", count=1, code="dev_browser_unauthenticated", path=SIGN_INS)
    r = real_pam.expect("bob", "battery staple", "PAM_SERVICE_ERR")
    assert r.outcome() == "misconfigured"
    assert "/v1/dev_browser" not in [q["path"] for q in dev.requests()]


def test_a_clerk_db_jwt_answer_header_is_not_sent_back(real_pam, dev):
    # even if an answer carries Clerk-Db-Jwt (a dev browser the module never asked for),
    # no later request sends __clerk_db_jwt
    dev.fault("error_code", count=1, code="dev_browser_unauthenticated", path=SIGN_INS)
    real_pam.run("bob", "battery staple", ops=[("authenticate", "PAM_SUCCESS")])
    assert not [q for q in dev.requests() if "__clerk_db_jwt" in q["query"]]
