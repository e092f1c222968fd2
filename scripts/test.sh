#!/usr/bin/env bash
# Build meterline and run every test: a normal build, then the same suite
# under AddressSanitizer + UndefinedBehaviorSanitizer (the Debian package is
# built and installed once, in the first), then a short fuzz run of every target.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
deps_install
deps_peers

jobs=$(nproc)

echo "== normal build =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
# package.deb builds the Debian package and installs it with dpkg -i; here it
# must run, not skip (docs/packaging.md).
(cd build && MLINE_PACKAGE_TEST=required ctest --output-on-failure -j "$jobs")

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMLINE_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs"
(cd build-asan &&
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --output-on-failure -j "$jobs" -LE package)

if [ -x scripts/fuzz.sh ] && command -v clang >/dev/null; then
	echo "== fuzz smoke (every target 6 s) =="
	scripts/fuzz.sh --time 6
fi
