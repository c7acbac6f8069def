#!/bin/sh
# The whole test suite, as README gives it and CI runs it: build with
# warnings as errors, "make check" (unit tests, emulator, module through
# libpam, pamtester), "make distcheck", and "make check" once more under
# ASan+UBSan; ends with one summary line (tests/summary.py) that counts only
# this run: the logs of an earlier one are removed first.
set -u
cd "$(dirname "$0")/.." || exit 1
: "${TEST_PYTHON:=/usr/bin/python3}"
export TEST_PYTHON
jobs=$(nproc 2>/dev/null || echo 2)

step() {
	echo "==> $*"
	"$@" || { echo "==> FAILED: $*"; return 1; }
}

# Only this run's logs count: a stale one would pass for a test that did
# not run (summary.py counts any log older than the stamp as a failure).
clear_logs() {
	find "$1/tests" \( -name '*.trs' -o -name '*.log' \) -type f -delete 2>/dev/null
	mkdir -p "$1/tests" && touch "$1/tests/.run-stamp"
}

clear_logs .
build=0
step autoreconf -fi && step ./configure --enable-werror && step make -j"$jobs" || build=1
step make -j"$jobs" check
distcheck=0
step make -j"$jobs" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror || distcheck=1

# The whole suite once more under ASan+UBSan, in a clone of its own (the
# end-to-end tests run in the regular build only: sshd and su are setuid).
# Its counts are its own line in the summary.
asan=$(mktemp -d "${TMPDIR:-/tmp}/pam_clerk-asan.XXXXXX")
runs="--run make-check=.:tests/.run-stamp"
if git clone -q . "$asan/src" 2>/dev/null; then
	clear_logs "$asan/src"
	(cd "$asan/src" && step autoreconf -fi &&
		step ./configure --enable-werror --enable-sanitizers=address,undefined &&
		step sh tests/valgrind/run-asan-check.sh -j"$jobs")
	runs="$runs --run asan=$asan/src:$asan/src/tests/.run-stamp"
else
	echo "==> ASan run skipped: not a git checkout"
fi

# shellcheck disable=SC2086 # $runs is a list of arguments
"$TEST_PYTHON" tests/summary.py $runs --step build="$build" --step distcheck="$distcheck"
status=$?
rm -rf "$asan"
exit $status
