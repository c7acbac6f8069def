#!/usr/bin/python3
"""Add up the test results of "make check" into the closing summary line.

Reads every automake test log (cmocka and pytest print their own counts),
counts a test program that died without a count as one failure, and a
failed build step as one failure. Exits non-zero when anything failed.
"""
import glob
import os
import re
import sys

root, check_status, overall_status = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
passed = failed = skipped = 0
reasons = []
for trs in sorted(glob.glob(os.path.join(root, "tests", "**", "*.trs"), recursive=True)):
    log = trs[:-4] + ".log"
    text = open(log, errors="replace").read() if os.path.exists(log) else ""
    result = re.search(r":test-result: (\w+)", open(trs).read())
    result = result.group(1) if result else "ERROR"
    counted = False
    # pytest: "== 12 passed, 1 failed, 3 skipped in 4.2s =="
    reasons += re.findall(r"^SKIPPED \[\d+\] (.*)$", text, re.M)
    m = re.findall(r"^=+ (.*?) in [\d.]+s", text, re.M)
    if m:
        for n, kind in re.findall(r"(\d+) (passed|failed|skipped|error|errors)", m[-1]):
            n = int(n)
            if kind == "passed":
                passed += n
            elif kind == "skipped":
                skipped += n
            else:
                failed += n
        counted = True
    # cmocka: "[  PASSED  ] 12 test(s)." / "[  FAILED  ] 1 test(s), listed below:"
    for kind, n in re.findall(r"\[  (PASSED|FAILED|SKIPPED) +\] (\d+) test", text):
        if kind == "PASSED":
            passed += int(n)
        elif kind == "FAILED":
            failed += int(n)
        else:
            skipped += int(n)
        counted = True
    if result in ("FAIL", "ERROR", "XPASS") and not counted:
        failed += 1  # died before reporting (crash, missing interpreter)
    elif result == "SKIP" and not counted:
        skipped += 1
    elif result == "PASS" and not counted:
        passed += 1  # a test program that reports no count of its own
if check_status != 0 and passed + failed == 0:
    failed += 1  # the build itself failed
if overall_status != 0 and check_status == 0:
    failed += 1  # make distcheck failed
for reason in reasons:
    print("skipped: %s" % reason)
print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
sys.exit(1 if failed or overall_status or check_status else 0)
