"""use_first_pass / try_first_pass behave as with pam_unix, from module
arguments and from the configuration file alike."""
import pytest

from conftest import MODULE, PAM_WRAPPER_DIR

DEMO = "ileap-demo@way.cloud"
DEMO_PASSWORD = "HelloPrimaryData"


@pytest.fixture
def passdb(tmp_path):
    p = tmp_path / "passdb"
    p.write_text("%s:%s:clerktest\n" % (DEMO, DEMO_PASSWORD))
    return p


def sign_ins(emu):
    return [q for q in emu.requests() if q["path"] == "/v1/client/sign_ins"]


def stack(pam, clerk_args):
    # pam_set_items, an earlier module, caches $PAM_AUTHTOK as PAM_AUTHTOK.
    return pam.service(lines=[
        "auth optional %s/pam_set_items.so" % PAM_WRAPPER_DIR,
        "auth required %s %s" % (MODULE, " ".join(pam.base_args() + clerk_args))])


@pytest.mark.parametrize("flag", ["use_first_pass", "try_first_pass"])
def test_first_pass_uses_the_cached_password(pam, emu, flag):
    stack(pam, [flag])
    # No answer to give: a prompt would find none and fail.
    r = pam.run(DEMO, passwords=[], ops=[("authenticate", "PAM_SUCCESS")],
                env={"PAM_AUTHTOK": DEMO_PASSWORD})
    assert r.ok, r
    assert len(sign_ins(emu)) == 1  # one sign-in (then the session's end)


@pytest.mark.parametrize("flag", ["use_first_pass", "try_first_pass"])
def test_first_pass_from_the_config_file(pam, emu, flag):
    pam.write_conf("%s\n" % flag)
    stack(pam, [])
    r = pam.run(DEMO, passwords=[], ops=[("authenticate", "PAM_SUCCESS")],
                env={"PAM_AUTHTOK": DEMO_PASSWORD})
    assert r.ok, r


def test_use_first_pass_without_a_cached_password_does_not_prompt(pam, emu):
    pam.service(extra_args=["use_first_pass"])
    r = pam.run(DEMO, passwords=[DEMO_PASSWORD],
                ops=[("authenticate", "PAM_AUTHTOK_RECOVERY_ERR")])
    assert r.ok, r
    assert emu.requests() == []


def test_try_first_pass_without_a_cached_password_prompts(pam, emu):
    pam.service(extra_args=["try_first_pass"])
    r = pam.run(DEMO, passwords=[DEMO_PASSWORD], ops=[("authenticate", "PAM_SUCCESS")])
    assert r.ok, r


def test_wrong_cached_password_is_not_retried_by_prompting(pam, emu):
    stack(pam, ["use_first_pass"])
    r = pam.run(DEMO, passwords=[DEMO_PASSWORD], ops=[("authenticate", "PAM_AUTH_ERR")],
                env={"PAM_AUTHTOK": "local-only-password"})
    assert r.ok, r
    assert len(emu.requests()) == 1


def test_outage_falls_through_to_the_next_module(pam, emu, passdb):
    # The stack an administrator writes: Clerk first, local passwords on outage.
    pam.service(lines=[
        "auth [success=done authinfo_unavail=ignore default=die] %s %s timeout=2" % (
            MODULE, " ".join(pam.base_args())),
        "auth required %s/pam_matrix.so passdb=%s" % (PAM_WRAPPER_DIR, passdb)])
    emu.fault("status", http_status=503)
    # pam_matrix always asks again (pam_unix try_first_pass would not).
    r = pam.run(DEMO, passwords=[DEMO_PASSWORD, DEMO_PASSWORD],
                ops=[("authenticate", "PAM_SUCCESS")])
    assert r.ok, r
    # ...but a wrong Clerk password is final, not a fall-through.
    emu.clear_faults()
    r = pam.run(DEMO, passwords=["wrong"], ops=[("authenticate", "PAM_AUTH_ERR")])
    assert r.ok, r
