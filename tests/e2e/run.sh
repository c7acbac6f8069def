#!/bin/sh
# make check: the end-to-end suite (sshd, su, make install, the .deb, the
# docs). As root it runs everything; otherwise the root-only tests are
# skipped with the reason shown, and the documentation tests still run.
exec "$(dirname "$0")/../run-pytest.sh" e2e
