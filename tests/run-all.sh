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

"$TEST_PYTHON" tests/summary.py . "$check_status" "$status"
