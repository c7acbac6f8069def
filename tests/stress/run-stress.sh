#!/bin/sh
# Concurrency and lifecycle of the built pam_clerk.so through real libpam
# (tests/stress/pam_stress.c) against the bundled FAPI emulator:
#   1. NTHREADS threads x ITERATIONS logins, each result checked;
#   2. NCYCLES load/authenticate/unload cycles in one process, with VmRSS,
#      threads and descriptors compared between cycle 50 and the last.
#
# make check runs it with the issue's numbers (16 x 50, 500 cycles) when
# they fit in its time budget: STRESS_THREADS, STRESS_ITERATIONS and
# STRESS_CYCLES override them. STRESS_WRAPPER runs pam_stress under a tool,
# e.g. STRESS_WRAPPER="valgrind --tool=helgrind" (with smaller numbers).
# A TSan build (configure --enable-sanitizers=thread) needs nothing special: the
# program and the module are both instrumented; TSAN_OPTIONS gets the
# suppressions in tests/stress/tsan.supp.
set -eu
: "${SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${BUILDDIR:=$SRCDIR}"
: "${TEST_PYTHON:=/usr/bin/python3}"
: "${STRESS_THREADS:=16}"
: "${STRESS_ITERATIONS:=50}"
: "${STRESS_CYCLES:=500}"
: "${STRESS_RSS_GROWTH_KB:=}"
: "${STRESS_WRAPPER:=}"
: "${STRESS_TIMEOUT:=10}"

prog=$BUILDDIR/tests/stress/pam_stress
module=${PAM_CLERK_MODULE:-$BUILDDIR/src/.libs/pam_clerk.so}
for f in "$prog" "$module"; do
	[ -e "$f" ] || { echo "missing $f: build first"; exit 99; }
done
"$TEST_PYTHON" -c 'import cryptography' 2>/dev/null ||
	{ echo "SKIP: $TEST_PYTHON lacks python3-cryptography (the emulator needs it)"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pam-stress.XXXXXX")
emu_pid=
cleanup() {
	if [ -n "$emu_pid" ]; then
		kill "$emu_pid" 2>/dev/null || true
		wait "$emu_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# The emulator in its kind world (no per-IP rate limits: every login here comes from one
# address), with a lockout threshold no wrong password here reaches.
"$TEST_PYTHON" "$SRCDIR/tests/emulator/fapi_emulator.py" --state-dir "$tmp/emu" \
	--profile kind --lockout-threshold 1000000 --exit-with-parent >"$tmp/emulator.log" 2>&1 &
emu_pid=$!
i=0
while [ ! -s "$tmp/emu/ready.json" ]; do
	i=$((i + 1))
	if [ $i -gt 400 ] || ! kill -0 "$emu_pid" 2>/dev/null; then
		echo "the emulator did not start:"; cat "$tmp/emulator.log"; exit 99
	fi
	sleep 0.05
done
eval "$("$TEST_PYTHON" -c 'import json,sys
d = json.load(open(sys.argv[1]))
print("url=%s ca=%s" % (d["url"], d["ca_file"]))' "$tmp/emu/ready.json")"

# The service, in a directory of our own (pam_start_confdir), with an
# empty configuration file so that the host's /etc/security is not read.
mkdir -p "$tmp/pam.d"
: >"$tmp/pam_clerk.conf"
chmod 600 "$tmp/pam_clerk.conf"
# state_dir as deployed (the module's default is /var/lib/pam_clerk): threads
# logging in the same identifier serialise on its lock file.
args="conf=$tmp/pam_clerk.conf frontend_api=$url cafile=$ca state_dir=$tmp/state"
args="$args timeout=$STRESS_TIMEOUT"
# The kind world, and the module set for it: its users are no accounts of this
# host, and issue 14's pacing and failure budget are not what this measures.
args="$args local_accounts_only=no signin_rate=off attempt_rate=off fail_limit=1000"
args="$args fail_rhost_limit=0"
for stage in auth account session password; do
	echo "$stage required $module $args"
done >"$tmp/pam.d/clerkstress"

if [ -f "$SRCDIR/tests/stress/tsan.supp" ]; then
	TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1} suppressions=$SRCDIR/tests/stress/tsan.supp"
	export TSAN_OPTIONS
fi

# VmRSS means little under a sanitizer (shadow memory, ASan's quarantine of
# freed blocks, TSan's history): the growth limit then only guards against
# runaway growth, and ASan's quarantine is kept small so that it fills up
# before cycle 50. LeakSanitizer checks every exit (a C host: no noise).
sanitized=
prog_env=
if ldd "$prog" 2>/dev/null | grep -q 'lib[at]san'; then
	sanitized=yes
	prog_env="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8:detect_leaks=1"
fi
if [ -z "$STRESS_RSS_GROWTH_KB" ]; then
	STRESS_RSS_GROWTH_KB=${sanitized:+65536}
	: "${STRESS_RSS_GROWTH_KB:=2048}"
fi

status=0
start=$(date +%s)
echo "== $STRESS_THREADS threads x $STRESS_ITERATIONS logins"
# shellcheck disable=SC2086
env $prog_env $STRESS_WRAPPER "$prog" threads "$tmp/pam.d" clerkstress "$STRESS_THREADS" \
	"$STRESS_ITERATIONS" || status=1
echo "== $STRESS_CYCLES load/authenticate/unload cycles"
# shellcheck disable=SC2086
env $prog_env $STRESS_WRAPPER "$prog" cycles "$tmp/pam.d" clerkstress "$STRESS_CYCLES" \
	"$STRESS_RSS_GROWTH_KB" || status=1
echo "== done in $(($(date +%s) - start)) s: $([ $status = 0 ] && echo ok || echo FAILED)"
exit $status
