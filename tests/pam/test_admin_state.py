"""pam-clerk status and forget (issue 16): what the module keeps in state_dir after a
trusted-host login, an offline login and refused logins, shown without a secret and
removed under the module's locks."""
import hashlib
import os
import threading
import time

import pytest

from admin_cmd import pam_clerk
from conftest import hold_state_lock
from emulator.control import Emulator

DEMO = "ileap-demo@way.cloud"
DEMO_PASSWORD = "HelloPrimaryData"


def files(pam, suffix):
    if not os.path.exists(pam.state_dir):
        return []
    return [f for f in os.listdir(pam.state_dir) if f.endswith(suffix)]


def secrets_in(pam):
    """Every secret state_dir holds: the stored client tokens and the offline hashes."""
    out = []
    for f in files(pam, ".token"):
        out.append(open(os.path.join(pam.state_dir, f)).read().splitlines()[1])
    for f in files(pam, ".offline"):
        text = open(os.path.join(pam.state_dir, f)).read()
        out.append(text.split("hash=")[1].splitlines()[0])
    return out


@pytest.fixture(scope="module")
def trust_emulator(tmp_path_factory):
    emu = Emulator(str(tmp_path_factory.mktemp("trust-emulator")), device_trust=True,
                   profile="kind").start()
    yield emu
    emu.stop()


@pytest.fixture
def trust(pam, trust_emulator):
    trust_emulator.reset()
    pam.emu = trust_emulator
    return trust_emulator


def test_status_and_forget_after_a_trusted_host_login(pam, trust):
    pam.service(extra_args=["offline_cache=24", "export_env"])
    trust.next_code("135790")
    r = pam.run(DEMO, DEMO_PASSWORD, echo_on=["135790"], ops=[("authenticate", "PAM_SUCCESS")])
    assert r.ok, r
    # A sign-in that needed a Device Trust code keeps no offline record (issue 14) ...
    assert len(files(pam, ".token")) == 1 and files(pam, ".offline") == []
    # ... the known device's next sign-in, with the password alone, does.
    assert pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_SUCCESS")]).ok
    assert len(files(pam, ".token")) == 1 and len(files(pam, ".offline")) == 1
    s = pam_clerk("status", DEMO, *pam.base_args())
    assert s.rc == 0, s
    assert "identifier %s" % DEMO in s.lines
    assert any(line.startswith("  stored client: yes, last used ") for line in s.lines), s
    assert any("offline record: stored" in line and "valid; 0 wrong offline passwords" in line
               for line in s.lines), s
    assert any(line.startswith("JWKS cache: ") and "s old" in line for line in s.lines), s
    for secret in secrets_in(pam):
        assert secret not in s.out + s.err
    assert DEMO_PASSWORD not in s.out + s.err

    summary = pam_clerk("status", *pam.base_args())
    assert summary.rc == 0 and "stored clients: 1" in summary.lines
    assert "offline records: 1" in summary.lines

    f = pam_clerk("forget", DEMO, *pam.base_args())
    assert f.rc == 0, f
    assert "removed 1 stored client, 1 offline record" in f.out
    assert files(pam, ".token") == [] and files(pam, ".offline") == []
    # forgotten: the next login is a new device again and asks the code
    trust.reset_log()
    trust.next_code("246801")
    again = pam.run(DEMO, DEMO_PASSWORD, echo_on=["246801"], ops=[("authenticate", "PAM_SUCCESS")])
    assert again.ok and "client=new" in again.attempt_line(), again


def test_forget_waits_for_the_login_holding_the_lock(pam, trust):
    pam.service()
    trust.next_code("135790")
    assert pam.run(DEMO, DEMO_PASSWORD, echo_on=["135790"],
                   ops=[("authenticate", "PAM_SUCCESS")]).ok
    fd = hold_state_lock(pam.state_dir, DEMO)
    threading.Timer(1.0, os.close, args=(fd,)).start()
    start = time.monotonic()
    f = pam_clerk("forget", DEMO, *pam.base_args())
    assert f.rc == 0 and time.monotonic() - start >= 0.9, f
    assert files(pam, ".token") == []


def test_status_after_offline_logins(pam, emu):
    pam.service(extra_args=["offline_cache=24", "offline_max_failures=2"])
    pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
    emu.fault("status", http_status=503)
    ok = pam.expect(DEMO, DEMO_PASSWORD, "PAM_SUCCESS")
    assert ok.outcome() == "offline"
    pam.expect(DEMO, "wrong one", "PAM_AUTH_ERR")
    args = pam.base_args() + ["offline_cache=24", "offline_max_failures=2"]
    s = pam_clerk("status", DEMO, *args)
    assert any("valid; 1 wrong offline password" in line and "refusing" not in line
               for line in s.lines), s
    pam.expect(DEMO, "wrong again", "PAM_AUTH_ERR")
    s = pam_clerk("status", DEMO, *args)
    assert any("2 wrong offline passwords, refusing offline logins" in line
               for line in s.lines), s
    for secret in secrets_in(pam):
        assert secret not in s.out
    assert pam_clerk("forget", DEMO, *args).rc == 0
    s = pam_clerk("status", DEMO, *args)
    assert "  offline record: none" in s.lines, s


def write_failures(pam, entries):
    """The local failure budget's record (src/fail_budget.c's format), as a refusing login
    leaves it: "i <sha256 hex> <count> <first> <last> <until>"."""
    os.makedirs(str(pam.state_dir), mode=0o700, exist_ok=True)
    lines = ["pam_clerk failures v1"]
    for ident, count, until in entries:
        now = int(time.time())
        key = hashlib.sha256(ident.encode()).hexdigest()
        lines.append("i %s %d %d %d %d" % (key, count, now - 30, now - 5, until))
    path = os.path.join(str(pam.state_dir), "failures")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)


def test_status_and_forget_of_the_local_failure_budget(pam, emu):
    pam.service()
    assert pam.run("alice", "wrong", ops=(("authenticate", "PAM_AUTH_ERR"),)).ok
    write_failures(pam, [("alice", 5, int(time.time()) + 600), ("bob", 2, 0)])
    s = pam_clerk("status", "alice", *pam.base_args())
    assert any("local failure budget: 5 failures" in line and "refusing logins now" in line
               for line in s.lines), s
    assert any(line.startswith("  refusing for ") for line in s.lines), s
    summary = pam_clerk("status", *pam.base_args())
    assert "local failure budget: 2 entries, 1 refusing now" in summary.lines, summary
    assert pam_clerk("forget", "alice", *pam.base_args()).rc == 0
    s = pam_clerk("status", "alice", *pam.base_args())
    assert "  local failure budget: no failures counted" in s.lines, s
    s = pam_clerk("status", "bob", *pam.base_args())
    assert any("2 failures" in line and "not refusing" in line for line in s.lines), s


def test_forget_all(pam, trust):
    pam.service(extra_args=["offline_cache=24", "export_env"])
    trust.next_code("135790")
    assert pam.run(DEMO, DEMO_PASSWORD, echo_on=["135790"],
                   ops=[("authenticate", "PAM_SUCCESS")]).ok
    assert pam.run(DEMO, DEMO_PASSWORD, ops=[("authenticate", "PAM_SUCCESS")]).ok
    write_failures(pam, [("alice", 3, 0)])
    f = pam_clerk("forget", "--all", *pam.base_args())
    assert f.rc == 0 and "all: removed 1 stored client, 1 offline record" in f.out, f
    # Only the host's sign-in pacing stays: it belongs to no identifier, and forgetting it
    # could let the host exceed Clerk's per-IP limits.
    left = [n for n in os.listdir(pam.state_dir) if not n.endswith(".lock")]
    assert left in ([], ["pacing"]), left


def test_identifier_format_applies_to_the_user(pam, emu):
    pam.service(extra_args=["identifier=%u@way.cloud", "offline_cache=24"])
    pam.expect("ileap-demo", DEMO_PASSWORD, "PAM_SUCCESS")
    args = pam.base_args() + ["identifier=%u@way.cloud"]
    s = pam_clerk("status", "ileap-demo", *args)
    assert "identifier %s" % DEMO in s.lines and any("offline record: stored" in line
                                                      for line in s.lines), s


def test_nothing_kept(pam, tmp_path):
    s = pam_clerk("status", "alice", *pam.base_args())
    assert s.rc == 0 and "does not exist: nothing kept" in s.out, s
    assert not os.path.exists(pam.state_dir), "status must not create state_dir"


def test_bad_usage(pam):
    for argv, want in ((["forget"], "forget needs a USER or --all"),
                       (["forget", "alice", "--all"], "not both"),
                       (["status", "--all"], "unknown option"),
                       (["status", "alice", "bob"], "unexpected argument")):
        r = pam_clerk(*argv, *pam.base_args())
        assert r.rc == 2 and want in r.err, (argv, r)
    r = pam_clerk("status", "bad\nname", *pam.base_args())
    assert r.rc == 2 and "user name not usable" in r.err, r
