#!/bin/sh
exec "$(dirname "$0")/run-pytest.sh" meta
