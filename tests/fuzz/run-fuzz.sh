#!/bin/sh
# "make fuzz": build every libFuzzer target (tests/fuzz/fuzz_*.c) with
# clang -fsanitize=fuzzer,address,undefined against the module's library
# sources, then run each for FUZZ_SECONDS on its committed corpus. New
# inputs go to a scratch directory, never into the repository; crashes
# stop the run with the reproducer's path.
#
#   tests/fuzz/run-fuzz.sh [target ...]      (default: all; "clerk", "jwt", ...)
#
# Environment (make fuzz sets the first five):
#   SRCDIR, BUILDDIR       source and build trees (default: this checkout)
#   FUZZ_LIB_SOURCES       the library's sources (src_libpamclerk_la_SOURCES)
#   FUZZ_DEP_CFLAGS/LIBS   flags of libssl, libcurl, json-c, libcrypto, pam, libxcrypt
#   FUZZ_SECONDS           seconds per target (default 60; 0 = replay the corpus once)
#   FUZZ_CC                clang (default clang)
#   FUZZ_SANITIZERS        default address,undefined
#   FUZZ_WORK              scratch dir (default $BUILDDIR/tests/fuzz/work)
#   FUZZ_JOBS              targets run side by side (default 1)
#   FUZZ_MERGE=1           afterwards, merge the new inputs into a minimal
#                          set in $FUZZ_WORK/merged/<target> (to review and
#                          copy into tests/fuzz/corpus/<target>)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${SRCDIR:=$(cd "$here/../.." && pwd)}"
: "${BUILDDIR:=$SRCDIR}"
: "${FUZZ_SECONDS:=60}"
: "${FUZZ_CC:=clang}"
: "${FUZZ_SANITIZERS:=address,undefined}"
: "${FUZZ_WORK:=$BUILDDIR/tests/fuzz/work}"
: "${FUZZ_JOBS:=1}"
: "${FUZZ_MERGE:=}"
if [ -z "${FUZZ_LIB_SOURCES:-}" ]; then
	FUZZ_LIB_SOURCES=$(cd "$SRCDIR" && ls src/*.c | grep -v '^src/pam_clerk\.c$')
fi
if [ -z "${FUZZ_DEP_CFLAGS:-}" ]; then
	FUZZ_DEP_CFLAGS=$(pkg-config --cflags libssl libcurl json-c libcrypto pam libxcrypt)
	FUZZ_DEP_LIBS=$(pkg-config --libs libssl libcurl json-c libcrypto pam libxcrypt)
fi

if ! command -v "$FUZZ_CC" >/dev/null 2>&1; then
	echo "make fuzz needs clang with libFuzzer: apt-get install clang libclang-rt-14-dev" >&2
	exit 77
fi
[ -f "$BUILDDIR/config.h" ] || { echo "run configure first ($BUILDDIR/config.h missing)" >&2; exit 1; }

if [ $# -gt 0 ]; then
	targets="$*"
else
	targets=$(cd "$here" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
fi

bin=$FUZZ_WORK/bin
obj=$FUZZ_WORK/obj
mkdir -p "$bin" "$obj" "$FUZZ_WORK/new" "$FUZZ_WORK/crashes" "$FUZZ_WORK/logs"
cflags="-g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all -std=c11 -pthread
	-I$BUILDDIR -I$SRCDIR/src -DPAM_CLERK_DEFAULT_CONF=\"/etc/security/pam_clerk.conf\"
	-DPAM_CLERK_STATE_DIR=\"/var/lib/pam_clerk\" $FUZZ_DEP_CFLAGS"

# The library, instrumented for coverage but without libFuzzer's main().
echo "==> building the library for fuzzing ($FUZZ_CC, $FUZZ_SANITIZERS)"
objs=
for src in $FUZZ_LIB_SOURCES; do
	case $src in *.c) ;; *) continue ;; esac
	o=$obj/$(basename "$src" .c).o
	# shellcheck disable=SC2086
	$FUZZ_CC $cflags -fsanitize=fuzzer-no-link,$FUZZ_SANITIZERS -c "$SRCDIR/$src" -o "$o"
	objs="$objs $o"
done
rm -f "$obj/libfuzzsrc.a"
# shellcheck disable=SC2086
ar rcs "$obj/libfuzzsrc.a" $objs

dict_for() {
	case $1 in
	sign_in | fapi_token | clerk | bapi) echo "$here/dict/fapi.dict" ;;
	conf_file | conf_args) echo "$here/dict/conf.dict" ;;
	jwt | jwks) echo "$here/dict/jwt.dict" ;;
	*) echo "" ;;
	esac
}

for t in $targets; do
	echo "==> building fuzz_$t"
	# An archive, not a list of objects: a target that brings its own
	# transport (fuzz_clerk, fuzz_bapi) takes only what it lacks from the
	# library.
	# shellcheck disable=SC2086
	$FUZZ_CC $cflags -fsanitize=fuzzer,$FUZZ_SANITIZERS "$here/fuzz_$t.c" \
		"$obj/libfuzzsrc.a" $FUZZ_DEP_LIBS -o "$bin/fuzz_$t"
done

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

run_one() {
	t=$1
	corpus=$SRCDIR/tests/fuzz/corpus/$t
	new=$FUZZ_WORK/new/$t
	log=$FUZZ_WORK/logs/$t.log
	mkdir -p "$new" "$corpus"
	d=$(dict_for "$t")
	set -- -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$FUZZ_WORK/crashes/$t-"
	[ -n "$d" ] && [ -f "$d" ] && set -- "$@" -dict="$d"
	if [ "$FUZZ_SECONDS" = 0 ]; then
		set -- "$@" -runs=0 "$corpus"
	else
		set -- "$@" -max_total_time="$FUZZ_SECONDS" "$new" "$corpus"
	fi
	if "$bin/fuzz_$t" "$@" >"$log" 2>&1; then
		status=ok
	else
		status="FAILED (see $log; reproducer in $FUZZ_WORK/crashes/)"
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	echo "fuzz_$t: ${runs:-?} executions in ${FUZZ_SECONDS}s, ${cov:-cov: ?}, $(ls "$new" | wc -l) new inputs, $status"
	case $status in ok) ;; *) return 1 ;; esac
}

failed=0
# FUZZ_JOBS targets at a time, in batches.
set -- $targets
while [ $# -gt 0 ]; do
	pids=
	i=0
	while [ $# -gt 0 ] && [ "$i" -lt "$FUZZ_JOBS" ]; do
		run_one "$1" &
		pids="$pids $!"
		i=$((i + 1))
		shift
	done
	for p in $pids; do wait "$p" || failed=1; done
done

if [ -n "$FUZZ_MERGE" ]; then
	for t in $targets; do
		m=$FUZZ_WORK/merged/$t
		rm -rf "$m" && mkdir -p "$m"
		"$bin/fuzz_$t" -merge=1 "$m" "$SRCDIR/tests/fuzz/corpus/$t" "$FUZZ_WORK/new/$t" \
			>"$FUZZ_WORK/logs/$t.merge.log" 2>&1 || failed=1
		echo "fuzz_$t: minimal corpus of $(ls "$m" | wc -l) inputs in $m"
	done
fi
exit $failed
