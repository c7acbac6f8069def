"""bench/run --quick, as root: the benchmark of issue 13 still runs, and its correctness
checks hold (every login succeeds with the requests its configuration needs, over one
connection). Timing is reported by the harness, never asserted here."""
import json
import os
import subprocess

import e2e

pytestmark = [e2e.needs_root, e2e.needs_tools("pamtester", "curl", "jq", "gcc", "openssl")]

BENCH = os.path.join(e2e.SRCDIR, "bench", "run")


def test_bench_quick_makes_exactly_the_requests_each_login_needs(tmp_path):
    e2e.need_module()
    out = tmp_path / "bench"
    # Bursts of 8, not 64: the other test suites may be running beside this one.
    p = subprocess.run(["/usr/bin/python3", BENCH, "--quick", "--concurrency", "8",
                        "--module", e2e.MODULE, "--out", str(out)],
                       env=e2e.clean_env(), capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    r = json.loads((out / "results.json").read_text())
    assert r["problems"] == []
    rows = r["round_trips"]["rows"]
    assert {x["key"] for x in rows} >= {"plain", "env_cold", "env_warm", "org_id", "org_slug",
                                        "jwt_template", "trusted", "end_auth", "mfa"}
    for x in rows:
        assert x["bad"] == [] and x["minimum"] == 2 + x["requests"], x
    assert set(r["cpu"]) >= {"clerk", "clerk_cafile", "curl", "script", "ratios"}
    assert r["memory"]["exit"] == 0
    assert r["concurrency"]["failures"] == 0
    assert r["concurrency"]["fapi_requests"] == 8
    # The run leaves nothing behind: no service files.
    assert not [f for f in os.listdir("/etc/pam.d") if f.startswith("pam-clerk-bench")]
