#!/bin/sh
# The whole "make check" once under AddressSanitizer + UndefinedBehaviorSanitizer, in a tree
# configured with --enable-sanitizers=address,undefined (CI: .ci/run). Run from the top of
# that build tree:  tests/valgrind/run-asan-check.sh [make arguments]
#
# A sanitized pam_clerk.so loads only into a process whose first library is the ASan
# runtime. The C programs of the suite are built with it; every other host (pytest and the
# emulator's Python, the demo's pamtester) gets it through LD_PRELOAD here, and the PAM
# test driver, whose environment tests/pam/conftest.py builds from scratch, through the
# pytest plugin tests/valgrind/pam_wrap.py (PAM_WRAP=asan). Not run here: tests/e2e (sshd,
# and su, which is setuid, take no preloaded runtime) and the demo test (demo.sh sets its
# own LD_PRELOAD): both run in the regular build.
#
# Leak detection is off in the preloaded hosts (Python's own allocations would drown the
# module's); the sanitized C programs (unit tests, fuzz replays, tests/stress/pam_stress)
# turn it back on for themselves: a C host has no such noise.
set -eu
top=$(pwd)
[ -f "$top/config.status" ] || { echo "run from a configured build tree"; exit 2; }
grep -q -- '-fsanitize=[a-z,]*address' "$top/config.status" ||
	{ echo "this tree is not configured with --enable-sanitizers=address,undefined"; exit 2; }
CC=$(sed -n "s/^S\[\"CC\"\]=\"\(.*\)\"$/\1/p" "$top/config.status")
runtime=$(${CC:-gcc} -print-file-name=libasan.so)
runtime=$(readlink -f "$runtime")
[ -f "$runtime" ] || { echo "no ASan runtime for ${CC:-gcc}"; exit 2; }
srcdir=$(sed -n 's/^ac_pwd=.\(.*\).$/\1/p' "$top/config.status")
: "${srcdir:=$top}"
[ -f "$srcdir/tests/valgrind/pam_wrap.py" ] || srcdir=$top

# Only this run's logs count (tests/summary.py): clear an earlier run's.
find "$top/tests" \( -name '*.trs' -o -name '*.log' \) -type f -delete 2>/dev/null || true
touch "$top/tests/.run-stamp"

# Build everything first, without the preload.
make "$@" all
make "$@" check TESTS=

# Every test but the end-to-end ones: sshd and su (setuid) cannot take a
# preloaded runtime, so they run in the regular build only.
tests=$(printf '_pam_clerk_print_tests:\n\t@echo $(TESTS)\n' |
	make -s --no-print-directory -f Makefile -f - _pam_clerk_print_tests)
tests=$(for t in $tests; do case $t in tests/e2e/*) ;; *) printf '%s ' "$t" ;; esac; done)

# tests/demo.sh sets its own LD_PRELOAD for pamtester: the demo runs in the
# regular build only.
deselect="--deselect pam/test_demo.py::test_demo_accepts_then_refuses"

echo "== make check under ASan+UBSan (runtime $runtime); not run: tests/e2e, the demo"
LD_PRELOAD="$runtime${LD_PRELOAD:+:$LD_PRELOAD}" \
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:exitcode=86}" \
UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}" \
PAM_WRAP=asan PAM_WRAP_PRELOAD="$runtime" \
PYTEST_ADDOPTS="${PYTEST_ADDOPTS:+$PYTEST_ADDOPTS }-p pam_wrap $deselect" \
PYTHONPATH="$srcdir/tests/valgrind${PYTHONPATH:+:$PYTHONPATH}" \
	make "$@" check TESTS="$tests" || true

# The counts of this run, under its own name.
exec "${TEST_PYTHON:-/usr/bin/python3}" "$srcdir/tests/summary.py" \
	--run asan="$top:$top/tests/.run-stamp"
