#!/bin/sh
# Valgrind memcheck over pam_clerk's code, as it runs in the tests:
#   1. the PAM-level tests (tests/pam), every pam_driver.py host under
#      valgrind (tests/valgrind/pam_wrap.py patches the runner; the tests
#      are unchanged; those that measure time are left out, valgrind being
#      20-50 times slower);
#   2. the C stress program on real libpam (tests/stress/pam_stress), a
#      host without Python's noise: load/authenticate/unload cycles and a
#      few threads;
#   3. the fuzz corpora through the replay programs (tests/fuzz).
# Then tests/valgrind/summarize.py over every log: exit 1 when the module's
# code has any error or any definitely lost byte.
#
# Build first (./configure && make && make check, or at least make and
# make tests/stress/pam_stress and the tests/fuzz/replay_* programs).
# Environment: SRCDIR, BUILDDIR, TEST_PYTHON as for make check;
#   VALGRIND_LOGDIR   where the logs go (default $BUILDDIR/tests/valgrind/logs)
#   VALGRIND_PARTS    which parts to run (default "pam stress fuzz")
#   VALGRIND_TESTS    what part 1 runs (default: pam, i.e. all of tests/pam)
#   VALGRIND_PYTEST   extra pytest arguments for part 1 (e.g. -k signin)
set -u
: "${SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${BUILDDIR:=$SRCDIR}"
: "${TEST_PYTHON:=/usr/bin/python3}"
: "${VALGRIND_LOGDIR:=$BUILDDIR/tests/valgrind/logs}"
: "${VALGRIND_PARTS:=pam stress fuzz}"
: "${VALGRIND_PYTEST:=}"
: "${VALGRIND_TESTS:=pam}"
export SRCDIR BUILDDIR TEST_PYTHON

command -v valgrind >/dev/null || { echo "SKIP: valgrind not installed (apt-get install valgrind)"; exit 77; }
here=$SRCDIR/tests/valgrind
rm -rf "$VALGRIND_LOGDIR"
mkdir -p "$VALGRIND_LOGDIR"
supps=
for s in "$here"/*.supp; do [ -f "$s" ] && supps="$supps --suppressions=$s"; done
vg="valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,possible
	--errors-for-leak-kinds=definite --num-callers=40 $supps"
status=0

# Tests that assert on elapsed time; under valgrind they only measure valgrind.
# (The fault matrix stays: under PAM_WRAP=valgrind it checks codes, not times.)
timing="not test_hangs_end_at_the_timeout and not test_slow_but_in_time_answer_succeeds"

for part in $VALGRIND_PARTS; do
	case $part in
	pam)
		echo "== valgrind: PAM-level tests (tests/pam), one log per host process"
		mkdir -p "$VALGRIND_LOGDIR/pam"
		(cd "$SRCDIR/tests" &&
			PAM_WRAP=valgrind PAM_WRAP_LOGDIR="$VALGRIND_LOGDIR/pam" \
			PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" \
			"$TEST_PYTHON" -m pytest -p no:cacheprovider -p pam_wrap -q -rs \
			-k "$(echo $timing)" $VALGRIND_PYTEST $VALGRIND_TESTS) || {
			echo "== some PAM-level tests failed under valgrind (see above)"
			status=1
		}
		;;
	stress)
		echo "== valgrind: tests/stress/pam_stress on real libpam"
		STRESS_THREADS=4 STRESS_ITERATIONS=5 STRESS_CYCLES=60 STRESS_RSS_GROWTH_KB=100000 \
			STRESS_WRAPPER="$vg --log-file=$VALGRIND_LOGDIR/stress.%p.log" \
			sh "$SRCDIR/tests/stress/run-stress.sh" || status=1
		;;
	fuzz)
		echo "== valgrind: fuzz corpora through tests/fuzz/replay_*"
		for p in "$BUILDDIR"/tests/fuzz/replay_*; do
			[ -x "$p" ] || continue
			# shellcheck disable=SC2086
			$vg --log-file="$VALGRIND_LOGDIR/fuzz-$(basename "$p").%p.log" "$p" >/dev/null ||
				{ echo "$(basename "$p") failed under valgrind"; status=1; }
		done
		;;
	*) echo "unknown part $part"; exit 2 ;;
	esac
done

mkdir -p "$VALGRIND_LOGDIR/pam"
"$TEST_PYTHON" "$here/summarize.py" --src "$SRCDIR/src" "$VALGRIND_LOGDIR" \
	"$VALGRIND_LOGDIR/pam" || status=1
exit $status
