"""Issue 12 items 3 and 4: the client token in the forms real Clerk sends it (with or
without `Bearer `, sent back the way it came; empty or a lone `Bearer` = Clerk cleared the
client), and a stored client Clerk no longer knows is replaced, never stuck."""
import hashlib

import pytest

from real_clerk import (TRUST_PASSWORD, TRUST_USER, paths, token_files,
                        trust_this_host)

SIGN_INS = "/v1/client/sign_ins"


def sha12(value):
    return hashlib.sha256(value.encode()).hexdigest()[:12]


# ---- item 3 -----------------------------------------------------------------------------
def test_bearer_token_login(real_pam, real_emu):
    real_emu.set(bearer_tokens=True)
    real_pam.service()
    r = real_pam.expect("bob", "battery staple", "PAM_SUCCESS")
    assert r.outcome() == "success"


def test_bearer_token_is_stored_and_sent_back_as_it_came(real_pam, real_emu):
    real_emu.set(bearer_tokens=True)
    real_pam.service()
    trust_this_host(real_pam, real_emu)
    first = [q for q in real_emu.requests() if q["path"] == SIGN_INS][0]
    real_emu.reset_log()
    r = real_pam.run(TRUST_USER, TRUST_PASSWORD, echo_on=[],
                     ops=[("authenticate", "PAM_SUCCESS")])
    assert r.ok, r
    assert "client=stored" in r.attempt_line()
    req = real_emu.requests()[0]
    assert req["path"] == SIGN_INS and req["status"] == 200
    assert req["authorization"]["present"] and not req["authorization"]["empty"]
    assert req["authorization"]["sha256_12"] != first["authorization"]["sha256_12"]
    # the stored value is the answer's, verbatim: `Bearer ` and all
    stored = open(str(real_pam.state_dir / token_files(real_pam)[0])).read()
    assert "Bearer " in stored or stored.startswith("Bearer")


@pytest.mark.parametrize("value", [
    # today the empty value is taken as "no new token" and the old one is kept
    pytest.param("", id="empty"),
    # today a lone `Bearer` is kept as a token and sent back (then refused with a 401)
    pytest.param("Bearer", id="lone-Bearer"),
])
def test_cleared_client_drops_what_is_stored(real_pam, real_emu, value):
    real_pam.service()
    trust_this_host(real_pam, real_emu)
    # the next sign-in's answer clears the client
    real_emu.fault("client_token", count=1, value=value, path=SIGN_INS)
    r = real_pam.run(TRUST_USER, TRUST_PASSWORD, echo_on=[],
                     ops=[("authenticate", "PAM_SUCCESS")])
    assert r.ok, r
    assert token_files(real_pam) == []
    # the cleared value is never sent back as if it were a token
    assert sha12("Bearer") not in [q["authorization"]["sha256_12"] for q in real_emu.requests()]
    real_emu.reset_log()
    real_emu.next_code("111222")
    r = real_pam.run(TRUST_USER, TRUST_PASSWORD, echo_on=["111222"],
                     ops=[("authenticate", "PAM_SUCCESS")])
    assert r.ok, r
    first = real_emu.requests()[0]
    assert first["path"] == SIGN_INS
    assert not first["authorization"]["present"] or first["authorization"]["empty"]


# ---- item 4 -----------------------------------------------------------------------------
def test_forgotten_client_404_is_replaced_once(real_pam, real_emu):
    real_pam.service()
    trust_this_host(real_pam, real_emu)
    real_emu.forget_clients()
    real_emu.reset_log()
    real_emu.next_code("246802")
    r = real_pam.run(TRUST_USER, TRUST_PASSWORD, echo_on=["246802"],
                     ops=[("authenticate", "PAM_SUCCESS")])
    assert r.ok, r
    statuses = [p[2] for p in paths(real_emu)]
    assert statuses[0] == 404 and 404 not in statuses[1:]
    assert real_emu.requests()[1]["authorization"]["empty"] or \
        not real_emu.requests()[1]["authorization"]["present"]
    assert len(token_files(real_pam)) == 1
    # and the new client is the one kept: the next login needs no code
    real_emu.reset_log()
    r = real_pam.run(TRUST_USER, TRUST_PASSWORD, echo_on=[],
                     ops=[("authenticate", "PAM_SUCCESS")])
    assert r.ok, r
    assert [p[2] for p in paths(real_emu)][0] == 200


@pytest.mark.parametrize("signed_out", [False, True], ids=["authentication_invalid",
                                                           "signed_out"])
def test_revoked_client_401_is_replaced_once(real_pam, real_emu, signed_out):
    """Any 401 on a stored client drops it and starts again once. Not marked: today's
    module already does this for both 401 codes (test_factors covers the kind world)."""
    real_pam.service()
    trust_this_host(real_pam, real_emu)
    real_emu.revoke_clients(signed_out=signed_out)
    real_emu.reset_log()
    real_emu.next_code("246802")
    r = real_pam.run(TRUST_USER, TRUST_PASSWORD, echo_on=["246802"],
                     ops=[("authenticate", "PAM_SUCCESS")])
    assert r.ok, r
    statuses = [p[2] for p in paths(real_emu)]
    assert statuses[0] == 401 and 401 not in statuses[1:]


def test_forgotten_client_is_not_retried_forever(real_pam, real_emu):
    # Clerk forgets every client at once, twice: the login starts again once, no more
    real_pam.service()
    trust_this_host(real_pam, real_emu)
    real_emu.forget_clients()
    real_emu.reset_log()
    real_emu.fault("error_code", code="resource_not_found", http_status=404,
                   message="Client not found", path=SIGN_INS)
    r = real_pam.run(TRUST_USER, TRUST_PASSWORD, ops=[("authenticate", "PAM_SUCCESS")])
    assert not r.ok and r.actual != 0, r
    assert [p[1] for p in paths(real_emu)].count(SIGN_INS) == 2
    assert token_files(real_pam) == []
