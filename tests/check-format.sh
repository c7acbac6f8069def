#!/bin/sh
# make check: every C file of the project follows .clang-format (Debian's
# clang-format). Exit 77 (skip) where clang-format is not installed.
: "${SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
command -v clang-format >/dev/null 2>&1 || {
	echo "SKIP: clang-format not installed (apt-get install clang-format)"
	exit 77
}
cd "$SRCDIR" || exit 1
files=$(find src tests bench -name '*.[ch]' | sort)
bad=0
for f in $files; do
	clang-format --style=file "$f" | cmp -s - "$f" || {
		echo "not formatted: $f (clang-format -i $f)"
		bad=1
	}
done
[ "$bad" = 0 ] && echo "$(echo "$files" | wc -l) files follow .clang-format"
exit $bad
