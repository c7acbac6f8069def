"""pam-clerk sync (issue 17): the instance's users written for libnss-extrausers into a
sync_dir of the test's own (the end-to-end test with NSS is tests/e2e/test_sync.py)."""
import os
import pwd
import stat

import pytest

from admin_cmd import pam_clerk


@pytest.fixture
def sync(pam, emu, tmp_path):
    key = tmp_path / "sk"
    key.write_text(emu.secret_key + "\n")
    os.chmod(key, 0o600)
    out = tmp_path / "extrausers"

    def run(*extra):
        return pam_clerk("sync", *(pam.base_args() + [
            "secret_key_file=%s" % key, "backend_api=%s" % emu.bapi_url,
            "sync_dir=%s" % out] + list(extra)), timeout=300)
    run.dir = out
    return run


def passwd(d):
    """{name: (uid, gid, gecos, home, shell)} of a written passwd file."""
    out = {}
    for line in (d / "passwd").read_text().splitlines():
        f = line.split(":")
        assert len(f) == 7 and f[1] == "x", line
        out[f[0]] = (int(f[2]), int(f[3]), f[4], f[5], f[6])
    return out


def group(d):
    out = {}
    for line in (d / "group").read_text().splitlines():
        f = line.split(":")
        assert len(f) == 4 and f[1] == "x", line
        out[f[0]] = (int(f[2]), [m for m in f[3].split(",") if m])
    return out


def summary(r):
    last = r.out.splitlines()[-1]
    assert last.startswith(("sync: ", "dry run")), r
    words = last.split(": ")[-1].split(" (")[0].split(", ")
    return {w.split()[1]: int(w.split()[0]) for w in words}


def test_active_users_with_names_ids_home_and_shell(sync):
    r = sync()
    assert r.rc == 0, r
    pw = passwd(sync.dir)
    for name in ("alice", "bob", "auditor-user"):
        assert name in pw, (name, r)
    # banned and locked users never appear
    assert "banned-user" not in pw and "locked-user" not in pw
    uid, gid, gecos, home, shell = pw["alice"]
    assert uid == gid and 200000 <= uid <= 299999
    assert gecos == "Alice Example" and home == "/home/alice" and shell == "/bin/bash"
    gr = group(sync.dir)
    assert gr["alice"] == (uid, [])
    assert len({u for u, *_ in pw.values()}) == len(pw)          # no uid twice
    for f in ("passwd", "group"):
        st = os.stat(sync.dir / f)
        assert stat.S_IMODE(st.st_mode) == 0o644
    assert stat.S_IMODE(os.stat(sync.dir).st_mode) == 0o755
    # shadow: no password, no aging (pam_unix's account stage needs the entry), never
    # readable by others; root:shadow 0640 as Debian's, else 0600
    sh = (sync.dir / "shadow").read_text().splitlines()
    assert sh == ["%s:*:::::::" % n for n in pw], sh
    st = os.stat(sync.dir / "shadow")
    assert stat.S_IMODE(st.st_mode) in (0o640, 0o600) and not st.st_mode & 0o007
    assert summary(r)["added"] == len(pw)
    assert "warning:" in r.err            # users without a username are skipped, said so


def test_a_second_run_changes_nothing_and_writes_nothing(sync):
    assert sync().rc == 0
    before = os.stat(sync.dir / "passwd")
    r = sync()
    assert r.rc == 0, r
    s = summary(r)
    assert s["added"] == s["changed"] == s["removed"] == 0, r
    after = os.stat(sync.dir / "passwd")
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def test_ids_never_move_and_are_never_reused(sync, emu):
    emu.add_user({"id": "user_carol", "identifiers": ["carol"], "password": "carol pass"})
    assert sync().rc == 0
    first = passwd(sync.dir)
    emu.delete_user("user_carol")
    r = sync()
    assert r.rc == 0 and "carol" not in passwd(sync.dir) and summary(r)["removed"] == 1, r
    # a new user never gets the removed one's uid
    emu.add_user({"id": "user_dave", "identifiers": ["dave"], "password": "dave pass"})
    assert sync().rc == 0
    assert passwd(sync.dir)["dave"][0] not in {u for u, *_ in first.values()}
    # carol back: her uid again; everyone else kept theirs
    emu.add_user({"id": "user_carol", "identifiers": ["carol"], "password": "carol pass"})
    assert sync().rc == 0
    now = passwd(sync.dir)
    for name, entry in first.items():
        assert now[name][0] == entry[0], name


def test_banned_user_disappears_at_the_next_sync(sync, emu):
    emu.add_user({"id": "user_erin", "identifiers": ["erin"], "password": "erin pass"})
    assert sync().rc == 0 and "erin" in passwd(sync.dir)
    emu.add_user({"id": "user_erin", "identifiers": ["erin"], "password": "erin pass",
                  "state": "banned"})
    r = sync()
    assert r.rc == 0 and "erin" not in passwd(sync.dir) and "erin" not in group(sync.dir), r


def test_local_accounts_are_never_shadowed(sync, emu):
    local = pwd.getpwuid(0).pw_name                   # root
    emu.add_user({"id": "user_fakeroot", "identifiers": [local], "password": "x pass"})
    emu.add_user({"id": "user_fakedaemon", "identifiers": ["daemon"], "password": "x pass"})
    r = sync()
    assert r.rc == 0, r
    pw = passwd(sync.dir)
    assert local not in pw and "daemon" not in pw
    assert "a local account" in r.err and summary(r)["skipped"] >= 2
    assert all(uid >= 200000 and gid >= 200000 for uid, gid, *_ in pw.values())


def test_names_from_email_or_a_template(sync, emu):
    emu.add_user({"id": "user_zed", "identifiers": ["zed.sync-test@way.cloud"],
                  "password": "zed password"})
    r = sync("sync_name=email")
    assert r.rc == 0, r
    pw = passwd(sync.dir)
    assert "alice" in pw and "zed.sync-test" in pw, r.err   # the address's local part
    r = sync("sync_name=c-%u", "sync_home=/srv/%u", "sync_shell=/bin/sh")
    assert r.rc == 0, r
    pw = passwd(sync.dir)
    assert pw["c-alice"][3:] == ("/srv/c-alice", "/bin/sh")
    assert "alice" not in pw


def test_organization_members_and_role_groups(sync):
    r = sync("organization=dev")
    assert r.rc == 0, r
    pw, gr = passwd(sync.dir), group(sync.dir)
    assert set(pw) == {"alice", "auditor-user"}, r
    assert gr["clerk-member"][1] == ["alice"]
    assert gr["clerk-auditor"][1] == ["auditor-user"]
    assert gr["clerk-member"][0] >= 200000
    r = sync("organization=dev", "sync_role_group=dev_%r")
    assert r.rc == 0 and "dev_member" in group(sync.dir) and "clerk-member" not in group(sync.dir)


def test_dry_run_prints_changes_and_writes_nothing(sync):
    r = sync("--dry-run")
    assert r.rc == 0, r
    assert "add user alice" in r.out and r.out.splitlines()[-1].startswith("dry run")
    assert not (sync.dir / "passwd").exists()


def test_an_error_mid_paging_leaves_the_files_as_they_were(sync, emu):
    emu.add_users(600, prefix="page")                   # two pages of 500
    assert sync().rc == 0
    before = (sync.dir / "passwd").read_bytes()
    assert len(passwd(sync.dir)) > 600
    emu.delete_user("user_page000000")
    emu.fault("status", path="/v1/users", api="bapi", skip=1, http_status=500)
    r = sync()
    assert r.rc == 3 and "as they were" in r.err, r
    assert (sync.dir / "passwd").read_bytes() == before


def test_a_429_is_waited_out(sync, emu):
    emu.fault("rate_limit", count=1, path="/v1/users", api="bapi", retry_after=1)
    r = sync()
    assert r.rc == 0 and "1 waits for the rate limit" in r.out, r
    assert "alice" in passwd(sync.dir)


def test_the_instance_rate_limit_is_waited_out(sync, emu):
    emu.add_users(600, prefix="rate")                   # two pages of 500
    emu.bapi_rate_limit(1)                              # the second page waits for the window
    r = sync()
    assert r.rc == 0 and "1 waits for the rate limit" in r.out, r
    assert "rate000599" in passwd(sync.dir)


def test_bad_options_and_missing_keys(sync, pam):
    for extra, want in ((["sync_uid_min=0"], "sync_uid_min"),
                        (["sync_uid_min=500", "sync_uid_max=900"], "sync_uid_min"),
                        (["sync_home=relative/%u"], "sync_home"),
                        (["sync_role_group=clerk"], "sync_role_group"),
                        (["sync_colour=red"], "unknown option")):
        r = sync(*extra)
        assert r.rc == 2 and want in r.err, (extra, r)
    r = pam_clerk("sync", *pam.base_args())
    assert r.rc == 2 and "secret_key_file" in r.err, r


def test_a_wrong_secret_key_changes_nothing(sync, emu, tmp_path):
    assert sync().rc == 0
    before = (sync.dir / "passwd").read_bytes()
    (tmp_path / "sk").write_text("sk_test_wrong\n")
    r = sync()
    assert r.rc == 3 and (sync.dir / "passwd").read_bytes() == before, r
    assert emu.secret_key not in r.out + r.err
