"""Web and mail hosts (issue 15): no Clerk session outlives a login whose
caller never ends it, a process that keeps the module loaded caches the JWKS
in memory, a caller without a usable state_dir goes without it quietly, and
the opt-in success cache (cached_auth_timeout) answers repeated logins.

`repeat` runs whole PAM transactions in one process, as a web server's
worker does: the module stays loaded (-z nodelete) between them."""
import os

import pytest

from conftest import MODULE

PASSWORD = "host password"
AUTH = [("authenticate", "PAM_SUCCESS")]
AUTH_ENV = [("authenticate", "PAM_SUCCESS"), ("getenvlist", "PAM_SUCCESS")]


def user(emu, uid, name, **extra):
    emu.add_user(dict({"id": uid, "identifiers": [name], "password": PASSWORD}, **extra))
    return name


def count(emu, path):
    return sum(1 for r in emu.requests() if r["path"] == path)


def attempts(r):
    return [ln for ln in r.log if " outcome=" in ln]


# ---- item 1: no Clerk session outlives its use ---------------------------------------------

def test_authenticate_only_logins_leave_no_live_session(pam, emu):
    """The default stack of a web server: auth only, no session stage."""
    name = user(emu, "user_h1", "host1")
    pam.service(lines=["auth required %s %s" % (MODULE, " ".join(pam.base_args()))])
    r = pam.run(name, PASSWORD, ops=AUTH, repeat=5)
    assert r.ok and r.rounds == 5, r
    assert count(emu, "/v1/client/sign_ins") == 5
    assert len(emu.sessions(user_id="user_h1")) == 5
    assert emu.sessions(user_id="user_h1", status="active") == []


def test_keyboard_interactive_style_other_process_leaves_none(pam, emu):
    """sshd's keyboard-interactive mode: authentication in one process, the
    session stage in another that never saw the login."""
    name = user(emu, "user_h2", "host2")
    pam.service()
    assert pam.run(name, PASSWORD, ops=AUTH).ok
    assert pam.run(name, None, ops=[("open_session", "PAM_SUCCESS"),
                                    ("close_session", "PAM_SUCCESS")]).ok
    assert emu.sessions(user_id="user_h2", status="active") == []
    assert [s["status"] for s in emu.sessions(user_id="user_h2")] == ["ended"]


def test_close_keeps_the_session_for_the_session_stage(pam, emu):
    """end_session=close, when the administrator asks and the stack has the line."""
    name = user(emu, "user_h3", "host3")
    pam.service(extra_args=["end_session=close"])
    r = pam.run(name, PASSWORD, ops=AUTH + [("open_session", "PAM_SUCCESS")])
    assert r.ok, r
    assert len(emu.sessions(user_id="user_h3", status="active")) == 1
    assert pam.run(name, PASSWORD, ops=AUTH + [("open_session", "PAM_SUCCESS"),
                                               ("close_session", "PAM_SUCCESS")]).ok
    assert len(emu.sessions(user_id="user_h3", status="active")) == 1  # the first one


# ---- item 2: long-lived and non-root hosts -------------------------------------------------

def test_jwks_fetched_once_per_process_without_state_dir(pam, emu):
    name = user(emu, "user_h4", "host4")
    pam.service(extra_args=["export_env", "state_dir=none"])
    r = pam.run(name, PASSWORD, ops=AUTH_ENV, repeat=6)
    assert r.ok and r.rounds == 6, r
    assert r.env["CLERK_USER_ID"] == "user_h4"
    assert count(emu, "/v1/client/sign_ins") == 6
    assert count(emu, "/.well-known/jwks.json") == 1
    # Another process has its own copy (and no state_dir to share one).
    assert pam.run(name, PASSWORD, ops=AUTH_ENV).ok
    assert count(emu, "/.well-known/jwks.json") == 2


def test_jwks_in_memory_follows_a_rotated_key(pam, emu):
    name = user(emu, "user_h5", "host5")
    pam.service(extra_args=["export_env", "state_dir=none"])
    assert pam.run(name, PASSWORD, ops=AUTH_ENV, repeat=2).ok
    emu.rotate_jwks(keep_old=False)
    r = pam.run(name, PASSWORD, ops=AUTH_ENV, repeat=3)
    assert r.ok, r
    # One fetch for the first process, one for the second (its own memory);
    # the new key is then known for the second process's other logins.
    assert count(emu, "/.well-known/jwks.json") == 2


def test_unusable_state_dir_is_mentioned_once_per_process(pam, emu, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can use any state_dir")
    name = user(emu, "user_h6", "host6")
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o500)
    pam.service(extra_args=["state_dir=%s/inner" % closed])
    r = pam.run(name, PASSWORD, ops=AUTH, repeat=4)
    assert r.ok, r
    noise = [ln for ln in r.log if "state_dir" in ln]
    assert len(noise) == 1, r.log
    assert "goes on without it" in noise[0]
    assert len(attempts(r)) == 4


# ---- item 3: the success cache -------------------------------------------------------------

def test_success_cache_in_memory(pam, emu):
    name = user(emu, "user_h7", "host7")
    pam.service(extra_args=["state_dir=none", "cached_auth_timeout=60"])
    r = pam.run(name, PASSWORD, ops=AUTH, repeat=5)
    assert r.ok, r
    assert count(emu, "/v1/client/sign_ins") == 1
    lines = attempts(r)
    assert len(lines) == 5 and "outcome=success" in lines[0]
    assert all("outcome=cached pam=PAM_SUCCESS" in ln and "requests=0" in ln
               for ln in lines[1:]), lines
    assert PASSWORD not in r.log_text()
    assert emu.sessions(user_id="user_h7", status="active") == []


def test_success_cache_in_state_dir_across_processes(pam, emu):
    name = user(emu, "user_h8", "host8")
    pam.service(extra_args=["cached_auth_timeout=60"])
    for _ in range(3):
        assert pam.run(name, PASSWORD, ops=AUTH).ok
    assert count(emu, "/v1/client/sign_ins") == 1
    files = [f for f in os.listdir(pam.state_dir) if f.endswith(".success")]
    assert len(files) == 1
    st = os.stat(os.path.join(pam.state_dir, files[0]))
    assert st.st_mode & 0o777 == 0o600
    text = open(os.path.join(pam.state_dir, files[0])).read()
    assert PASSWORD not in text and "$y$" in text


def test_success_cache_wrong_password_asks_clerk_and_forgets(pam, emu):
    name = user(emu, "user_h9", "host9")
    pam.service(extra_args=["cached_auth_timeout=60"])
    assert pam.run(name, PASSWORD, ops=AUTH).ok
    pam.expect(name, "not the password", "PAM_AUTH_ERR")
    assert count(emu, "/v1/client/sign_ins") == 2
    assert [f for f in os.listdir(pam.state_dir) if f.endswith(".success")] == []
    # Refused since: the right password asks Clerk again.
    r = pam.run(name, PASSWORD, ops=AUTH)
    assert r.ok and "outcome=success" in r.attempt_line(), r
    assert count(emu, "/v1/client/sign_ins") == 3


def test_success_cache_never_after_a_second_factor(pam, emu):
    name = user(emu, "user_h10", "host10", second_factors=["email_code"],
                email_addresses=[{"id": "idn_mail_h10", "email": "host10@way.cloud"}])
    emu.fix_codes("424242")
    pam.service(extra_args=["cached_auth_timeout=60", "state_dir=none"])
    r = pam.run(name, PASSWORD, ops=AUTH, echo_on=["424242"], repeat=2)
    assert r.ok, r
    assert count(emu, "/v1/client/sign_ins") == 2
    assert not any("outcome=cached" in ln for ln in r.log)


def test_success_cache_off_by_default_and_not_with_a_token(pam, emu):
    name = user(emu, "user_h11", "host11")
    pam.service(extra_args=["state_dir=none"])
    assert pam.run(name, PASSWORD, ops=AUTH, repeat=3).ok
    assert count(emu, "/v1/client/sign_ins") == 3
    # A token for later stages needs a sign-in each time.
    pam.service(extra_args=["state_dir=none", "cached_auth_timeout=60", "export_env"])
    assert pam.run(name, PASSWORD, ops=AUTH_ENV, repeat=2).ok
    assert count(emu, "/v1/client/sign_ins") == 5
