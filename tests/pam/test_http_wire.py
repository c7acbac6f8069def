"""HTTP framing on the wire, through the built module (libcurl reads the answers) under
real libpam: the emulator's `wire` fault runs the real sign-in (a session and a client token
are issued) and writes the answer in another framing (tests/emulator/README.md, "Wire
framings").

Valid HTTP (chunked with extensions and a trailer, close-delimited, 1xx interim answers,
tiny TLS records, odd header case and whitespace, many headers, junk after the answer) must
give the same login as the plain answer. Broken or hostile HTTP (conflicting lengths, bad or
overflowing chunk sizes, truncation, bad status lines, HTTP/0.9, NUL/CR/LF inside the client
token's header (a bare LF injects a second Authorization line: a kept header twice is
refused), obsolete line folding, 101, headers or body over the module's caps) must fail
closed, PAM_AUTHINFO_UNAVAIL at once (outcome bad_response; libcurl reports a broken chunk
as a receive error, so network_error there): never a hang, never a success with a mangled
client token.

Every row ends the Clerk session at authentication (end_session=auth), so a login that
succeeds makes a second request with the client token and the session id it read: that
request answering 200 proves both came through intact (a wrong token is a 401 there).
The fault takes only the sign-in POST (path /v1/client/sign_ins, count=1).
"""
import pytest

DEMO = "ileap-demo@way.cloud"
DEMO_PASSWORD = "HelloPrimaryData"
T = 3
ARGS = ["timeout=%d" % T, "connect_timeout=1", "end_session=auth", "state_dir=none"]
SIGN_INS = "/v1/client/sign_ins"

WORKS = ["chunked", "close_delimited", "continue_first", "tiny_writes", "header_variants",
         "garbage_after_answer",
         "content_length_and_chunked"]  # both: read as chunked (RFC 9112 6.3)
FAILS = ["duplicate_content_length", "bad_chunk_size", "huge_chunk_size", "truncated_chunked",
         "short_content_length_close", "bad_status_line", "bad_protocol_name", "http09",
         "nul_in_header", "bare_lf_in_header_value", "cr_in_header_value",
         "switching_protocols", "headers_too_big", "body_too_big_chunked"]


def login(pam, emu, kind, code):
    pam.service(extra_args=ARGS)
    emu.fault("wire", count=1, path=SIGN_INS, kind=kind)
    r = pam.expect(DEMO, DEMO_PASSWORD, code)
    assert emu.faults() == [], "the fault was not taken"
    return r, emu.requests()


def assert_signed_in(r, reqs):
    """One sign-in (the faulted one), then the session ended with the token it carried."""
    assert r.outcome() == "success"
    assert r.elapsed < T, "took %.1f s: the end of the answer was missed" % r.elapsed
    assert [(q["method"], q["path"], q["fault"]) for q in reqs[:1]] == [
        ("POST", SIGN_INS, "wire")]
    assert reqs[0]["status"] == 200 and reqs[0]["sign_in_status"] == "complete"
    rest = [(q["method"], q["status"]) for q in reqs[1:]]
    assert rest == [("POST", 200)], "session end with the token read: %r" % reqs[1:]
    assert reqs[1]["path"].startswith("/v1/client/sessions/")
    assert reqs[1]["authorization"]["present"] and not reqs[1]["authorization"]["empty"]
    # The faulted answer closed its connection: the session end opened a new one.
    assert reqs[0]["connection"] != reqs[1]["connection"]


# libcurl's CURLE_RECV_ERROR for a bad chunk is also what a reset gives.
CHUNK_ERRORS = ("bad_chunk_size", "huge_chunk_size")


def assert_failed_closed(r, reqs, kind=None):
    assert r.outcome() in (("bad_response", "network_error") if kind in CHUNK_ERRORS
                           else ("bad_response",))
    assert r.elapsed < T, "took %.1f s: a hostile framing must not hold the login" % r.elapsed
    assert [(q["method"], q["path"], q["fault"]) for q in reqs] == [("POST", SIGN_INS, "wire")]


@pytest.mark.parametrize("kind", WORKS)
def test_valid_framing_works(pam, emu, kind):
    r, reqs = login(pam, emu, kind, "PAM_SUCCESS")
    assert_signed_in(r, reqs)


@pytest.mark.parametrize("kind", FAILS)
def test_broken_framing_fails_closed(pam, emu, kind):
    r, reqs = login(pam, emu, kind, "PAM_AUTHINFO_UNAVAIL")
    assert_failed_closed(r, reqs, kind)


def test_folded_client_token_is_refused(pam, emu):
    """The client token folded over two lines (obs-fold). libcurl hands the continuation
    over as a line of its own, so the token kept would be half of the one issued: the
    transport refuses any folded line, so no other token is ever sent."""
    r, reqs = login(pam, emu, "obs_fold", "PAM_AUTHINFO_UNAVAIL")
    assert_failed_closed(r, reqs)
