#!/bin/sh
# Sets up everything the tests need, builds, and runs the whole suite
# (C unit tests and the end-to-end pytest suite against the real daemons).
# Ends with one line "N passed, N failed"; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."

./scripts/setup.sh || exit 1
if [ ! -f build/build.ninja ]; then
	meson setup build || exit 1
fi
meson compile -C build || exit 1
rm -f build/e2e-junit.xml
meson test -C build --print-errorlogs --num-processes 2
status=$?
/usr/bin/python3 tests/summary.py build || status=1
exit $status
