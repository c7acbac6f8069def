"""bench/run --quick, as root: the benchmark of issue 7 still runs, and its correctness
checks hold. Timing is reported by the harness, never asserted here."""
import json
import os
import subprocess

import e2e

pytestmark = [e2e.needs_root, e2e.needs_tools("pamtester", "curl", "jq", "gcc", "useradd")]

BENCH = os.path.join(e2e.SRCDIR, "bench", "run")


def test_bench_quick_makes_exactly_the_requests_each_login_needs(tmp_path):
    e2e.need_module()
    out = tmp_path / "bench"
    # Bursts of 8, not 64: the other test suites may be running beside this one.
    p = subprocess.run(["/usr/bin/python3", BENCH, "--quick", "--concurrency", "8",
                        "--module", e2e.MODULE, "--out", str(out)],
                       env=e2e.clean_env(), capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    r = json.loads((out / "results.json").read_text())
    assert r["hard_failures"] == [] and r["problems"] == []
    for key, v in r["variants"].items():
        assert v["failures"] == 0, (key, v)
        assert v["fapi_requests_per_login"] == v["expected_per_login"], (key, v)
        assert v["unexpected_logins"] == 0, (key, v)
    assert r["variants"]["clerk"]["fapi_requests_per_login"] == 1
    assert all(c["failures"] == 0 for c in r["concurrency"].values())
    assert r["memory"]["exit"] == 0 and r["memory"]["complete"] == r["memory"]["rounds"]
    assert all(f["authinfo_unavail"] for f in r["time_to_fail"].values())
    # The run leaves nothing behind: no service files, no throwaway user.
    assert not [f for f in os.listdir("/etc/pam.d") if f.startswith("pam-clerk-bench")]
    assert not e2e.user_exists("pam-clerk-bench")
