"""tests/summary.py, the closing line of the suite, on made-up build trees: it
counts only this run, and a run that tested nothing is a failure."""
import os
import subprocess
import sys
import time

import pytest

SUMMARY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "summary.py")

CMOCKA_5 = "[==========] 5 test(s) run.\n[  PASSED  ] 5 test(s).\n"
PYTEST_3 = "==== 3 passed, 1 skipped in 0.50s ====\n"


def write_test(tree, name, result, log, age=0):
    """A test's .trs and .log as automake writes them; age: seconds in the past."""
    base = os.path.join(str(tree), "tests", name)
    os.makedirs(os.path.dirname(base), exist_ok=True)
    with open(base + ".trs", "w") as f:
        f.write(":test-result: %s\n:global-test-result: %s\n" % (result, result))
    with open(base + ".log", "w") as f:
        f.write(log)
    if age:
        t = time.time() - age
        os.utime(base + ".trs", (t, t))
        os.utime(base + ".log", (t, t))


def stamp(tree):
    path = os.path.join(str(tree), "tests", ".run-stamp")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w"):
        pass
    t = time.time() - 10
    os.utime(path, (t, t))
    return path


def summary(*args):
    p = subprocess.run([sys.executable, SUMMARY] + list(args), capture_output=True,
                       text=True, timeout=30)
    print(p.stdout, p.stderr)
    return p.returncode, p.stdout.splitlines()


def run_of(tree, name="make-check"):
    return "--run", "%s=%s:%s" % (name, tree, stamp(tree))


def test_a_clean_run_passes(tmp_path):
    args = run_of(tmp_path)
    write_test(tmp_path, "unit/test_a", "PASS", CMOCKA_5)
    write_test(tmp_path, "pam", "PASS", PYTEST_3)
    rc, out = summary(*args, "--step", "build=0")
    assert rc == 0
    assert out[-2:] == ["make-check: 8 passed, 0 failed, 1 skipped",
                        "8 passed, 0 failed, 1 skipped"]


def test_stale_log_of_an_earlier_run_is_a_failure(tmp_path):
    """Logs of an earlier run plus a build that fails now: once '5 passed, 0 failed'."""
    args = run_of(tmp_path)
    write_test(tmp_path, "unit/test_a", "PASS", CMOCKA_5, age=3600)
    rc, out = summary(*args, "--step", "build=2")
    assert rc == 1
    assert "failed: make-check: tests/unit/test_a: stale log from an earlier run" in out
    assert "failed: step build (exit status 2)" in out
    assert out[-1] == "0 passed, 2 failed, 0 skipped"


def test_no_log_at_all_is_a_failure(tmp_path):
    rc, out = summary(*run_of(tmp_path))
    assert rc == 1
    assert out[-1] == "0 passed, 1 failed, 0 skipped"


@pytest.mark.parametrize("result", ["PASS", "FAIL"])
def test_a_pytest_run_that_collected_nothing_is_a_failure(tmp_path, result):
    args = run_of(tmp_path)
    write_test(tmp_path, "emulator", result, "collected 0 items\n\n==== no tests ran in 0.01s ====\n")
    rc, out = summary(*args)
    assert rc == 1
    assert "failed: make-check: tests/emulator: the test runner ran no test" in out
    assert out[-1] == "0 passed, 1 failed, 0 skipped"


def test_a_cmocka_program_that_ran_nothing_is_a_failure(tmp_path):
    args = run_of(tmp_path)
    write_test(tmp_path, "unit/test_empty", "PASS",
               "[==========] 0 test(s) run.\n[  PASSED  ] 0 test(s).\n")
    rc, out = summary(*args)
    assert rc == 1
    assert out[-1] == "0 passed, 1 failed, 0 skipped"


def test_a_failing_exit_with_clean_counts_is_a_failure(tmp_path):
    """A cmocka group teardown that failed: every test passed, the exit status did not."""
    args = run_of(tmp_path)
    write_test(tmp_path, "unit/test_conf", "FAIL", CMOCKA_5)
    rc, out = summary(*args)
    assert rc == 1
    assert "failed: make-check: tests/unit/test_conf: exited with a failure" in out
    assert out[-1] == "5 passed, 1 failed, 0 skipped"


def test_a_crash_before_any_count_is_a_failure(tmp_path):
    args = run_of(tmp_path)
    write_test(tmp_path, "unit/test_b", "ERROR", "Segmentation fault\n")
    rc, out = summary(*args)
    assert rc == 1
    assert "failed: make-check: tests/unit/test_b: died without a count" in out


def test_the_asan_run_has_its_own_counts_under_its_own_name(tmp_path):
    """Once counted as one failure labelled distcheck, or as nothing when make check
    failed too."""
    regular, asan = tmp_path / "regular", tmp_path / "asan"
    args = run_of(regular) + run_of(asan, "asan")
    write_test(regular, "unit/test_a", "FAIL",
               "[==========] 5 test(s) run.\n[  PASSED  ] 4 test(s).\n"
               "[  FAILED  ] 1 test(s), listed below:\n")
    write_test(asan, "unit/test_a", "FAIL",
               "[==========] 5 test(s) run.\n[  PASSED  ] 3 test(s).\n"
               "[  FAILED  ] 2 test(s), listed below:\n")
    write_test(asan, "pam", "PASS", PYTEST_3)
    rc, out = summary(*args, "--step", "distcheck=0")
    assert rc == 1
    assert "make-check: 4 passed, 1 failed, 0 skipped" in out
    assert "asan: 6 passed, 2 failed, 1 skipped" in out
    assert out[-1] == "10 passed, 3 failed, 1 skipped"
    assert not any("distcheck" in line for line in out)
