#!/bin/sh
# The whole test suite, as README gives it and CI runs it: build with
# warnings as errors, "make check" (unit tests, emulator, module through
# libpam, pamtester), then "make distcheck"; ends with one summary line.
set -u
cd "$(dirname "$0")/.."
: "${TEST_PYTHON:=/usr/bin/python3}"
export TEST_PYTHON
jobs=$(nproc 2>/dev/null || echo 2)
status=0

step() {
	echo "==> $*"
	"$@" || { echo "==> FAILED: $*"; status=1; return 1; }
}

step autoreconf -fi &&
	step ./configure --enable-werror &&
	step make -j"$jobs" &&
	step make -j"$jobs" check
check_status=$status
step make -j"$jobs" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror || true

# The whole suite once more under ASan+UBSan, in a clone of its own (the
# end-to-end tests run in the regular build only: sshd and su are setuid).
asan=$(mktemp -d "${TMPDIR:-/tmp}/pam_clerk-asan.XXXXXX")
if git clone -q . "$asan/src" 2>/dev/null; then
	(cd "$asan/src" && step autoreconf -fi &&
		step ./configure --enable-werror --enable-sanitizers=address,undefined &&
		step sh tests/valgrind/run-asan-check.sh -j"$jobs") || status=1
else
	echo "==> ASan run skipped: not a git checkout"
fi
rm -rf "$asan"

"$TEST_PYTHON" tests/summary.py . "$check_status" "$status"
