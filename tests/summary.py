#!/usr/bin/python3
"""Add up the test results of one run of the suite into its closing line.

    summary.py [--run NAME=TREE:STAMP]... [--step NAME=STATUS]...

Each --run is one "make check" in build tree TREE, started after the file
STAMP was touched: its automake test logs (tests/**/*.trs, cmocka and pytest
print their own counts) are added up and printed as "NAME: N passed, N
failed, N skipped". Each --step is a step of the run (a build, distcheck)
whose non-zero exit status counts as one failure. The last line adds up
everything: "N passed, N failed, N skipped". Exits 1 when anything failed.

Only this run counts, and a run that tested nothing is a failure:
- a log older than STAMP is a failure (left from an earlier run: its test
  was not run this time, as when the build failed);
- a run with no log at all is a failure;
- a test runner that ran nothing (pytest "no tests ran", cmocka "0 test(s)
  run") is a failure;
- a test that exited with a failure while its own counts show none (a
  crash after the counts, a cmocka group teardown) is one failure more.
"""
import glob
import os
import re
import sys


def count_log(text):
    """(passed, failed, skipped, counted, empty) from one test log."""
    passed = failed = skipped = 0
    counted = empty = False
    # pytest: "== 12 passed, 1 failed, 3 skipped in 4.2s ==", "== no tests ran in 0.1s =="
    m = re.findall(r"^=+ (.*?) in [\d.]+s", text, re.M)
    if m:
        counted = True
        if "no tests ran" in m[-1]:
            empty = True
        for n, kind in re.findall(r"(\d+) (passed|failed|skipped|error|errors)", m[-1]):
            n = int(n)
            if kind == "passed":
                passed += n
            elif kind == "skipped":
                skipped += n
            else:
                failed += n
    # cmocka: "[==========] 3 test(s) run." "[  PASSED  ] 12 test(s)." "[  FAILED  ] 1 test(s)..."
    for n in re.findall(r"^\[=+\] (\d+) test\(s\) run\.", text, re.M):
        counted = True
        if int(n) == 0:
            empty = True
    for kind, n in re.findall(r"\[  (PASSED|FAILED|SKIPPED) +\] (\d+) test", text):
        counted = True
        if kind == "PASSED":
            passed += int(n)
        elif kind == "FAILED":
            failed += int(n)
        else:
            skipped += int(n)
    return passed, failed, skipped, counted, empty


def count_run(name, tree, stamp):
    """(passed, failed, skipped, reasons) of one make check."""
    passed = failed = skipped = 0
    reasons = []
    since = os.path.getmtime(stamp) if stamp and os.path.exists(stamp) else None
    if stamp and since is None:
        reasons.append("failed: %s: no stamp %s: cannot tell this run's logs" % (name, stamp))
        failed += 1
    trs_files = sorted(glob.glob(os.path.join(tree, "tests", "**", "*.trs"), recursive=True))
    for trs in trs_files:
        test = os.path.relpath(trs[:-4], tree)
        log = trs[:-4] + ".log"
        if since is not None and os.path.getmtime(trs) < since:
            reasons.append("failed: %s: %s: stale log from an earlier run" % (name, test))
            failed += 1
            continue
        text = open(log, errors="replace").read() if os.path.exists(log) else ""
        result = re.search(r":test-result: (\w+)", open(trs).read())
        result = result.group(1) if result else "ERROR"
        reasons += ["skipped: %s" % r for r in re.findall(r"^SKIPPED \[\d+\] (.*)$", text, re.M)]
        p, f, s, counted, empty = count_log(text)
        passed, failed, skipped = passed + p, failed + f, skipped + s
        if empty:
            reasons.append("failed: %s: %s: the test runner ran no test" % (name, test))
            failed += 1
        elif result in ("FAIL", "ERROR", "XPASS") and f == 0:
            # died before reporting (crash, missing interpreter), or exited
            # with a failure its own counts do not show
            why = "exited with a failure" if counted else "died without a count"
            reasons.append("failed: %s: %s: %s" % (name, test, why))
            failed += 1
        elif result == "SKIP" and not counted:
            skipped += 1
        elif result == "PASS" and not counted:
            passed += 1  # a test program that reports no count of its own
    if not trs_files:
        reasons.append("failed: %s: no test log at all (the build failed?)" % name)
        failed += 1
    return passed, failed, skipped, reasons


def main(argv):
    runs, steps = [], []
    args = iter(argv)
    for a in args:
        if a in ("--run", "--step"):
            value = next(args, None)
            if value is None or "=" not in value:
                sys.exit("summary.py: %s NAME=..." % a)
            name, value = value.split("=", 1)
            if a == "--run":
                tree, _, stamp = value.partition(":")
                runs.append((name, tree, stamp))
            else:
                steps.append((name, int(value)))
        else:
            sys.exit(__doc__)
    if not runs:
        sys.exit(__doc__)
    total = [0, 0, 0]
    lines = []
    for name, tree, stamp in runs:
        p, f, s, reasons = count_run(name, tree, stamp)
        lines += reasons
        lines.append("%s: %d passed, %d failed, %d skipped" % (name, p, f, s))
        total = [total[0] + p, total[1] + f, total[2] + s]
    for name, status in steps:
        if status != 0:
            lines.append("failed: step %s (exit status %d)" % (name, status))
            total[1] += 1
    for line in lines:
        print(line)
    print("%d passed, %d failed, %d skipped" % tuple(total))
    return 1 if total[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
