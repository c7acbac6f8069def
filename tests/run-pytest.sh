#!/bin/sh
# Run one pytest suite of the project with Debian's Python (which has
# pypamtest, cryptography and pytest), verbose, with skips explained.
set -eu
suite=$1
: "${TEST_PYTHON:=/usr/bin/python3}"
: "${SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
cd "$SRCDIR/tests"
# A temp root of this run's own: concurrent runs never share or prune it.
base=$(mktemp -d "${TMPDIR:-/tmp}/pam_clerk-$suite.XXXXXX")
trap 'rm -rf "$base"' EXIT
"$TEST_PYTHON" -m pytest -p no:cacheprovider -v -rs --basetemp="$base/pytest" "$suite"
