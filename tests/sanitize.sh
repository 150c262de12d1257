#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The unit tests under AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer:
# configures and builds BUILD_DIR/asan with gcc and MDG_SANITIZE=ON, runs `ctest -L unit` there.
# Any failed test, and any sanitizer report even in a test that passed, is a failure.
# Ends with "N passed, N failed"; exits non-zero on any failure.
# Usage: tests/sanitize.sh [--build-only] BUILD_DIR
#        --build-only: configure and build only (the VM suite runs the service built here)
set -uo pipefail

build_only=0
if [ "${1:-}" = --build-only ]; then
	build_only=1
	shift
fi
if [ $# -ne 1 ]; then
	echo "usage: $0 [--build-only] BUILD_DIR" >&2
	exit 2
fi
src=$(cd "$(dirname "$0")/.." && pwd)
build=$1/asan

fail() {
	echo "[sanitize] $1"
	echo "0 passed, 1 failed"
	exit 1
}

echo "[sanitize] configuring $build (gcc, MDG_SANITIZE=ON)"
mkdir -p "$build" || fail "cannot create $build"
# valgrind cannot run ASan's executables: its tests stay out of this build.
cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug \
	-DMDG_SANITIZE=ON -DMDG_VALGRIND_TESTS=OFF >"$build/configure.log" 2>&1 ||
	{ cat "$build/configure.log"; fail "configure failed"; }
echo "[sanitize] building (-j1: the machine has 2 cores, and ASan's compiles are heavy)"
cmake --build "$build" -j1 >"$build/build.log" 2>&1 ||
	{ cat "$build/build.log"; fail "build failed"; }
[ "$build_only" -eq 0 ] || exit 0

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "[sanitize] ASAN_OPTIONS=$ASAN_OPTIONS UBSAN_OPTIONS=$UBSAN_OPTIONS"
ctest_log=$build/ctest.log
ctest --test-dir "$build" -L unit --output-on-failure 2>&1 | tee "$ctest_log"

# "100% tests passed, 0 tests failed out of 6"
line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$ctest_log" | tail -n1) ||
	fail "ctest printed no summary"
total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
failed=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
passed=$((total - failed))

# A report that did not end its test (one in a child process, say) still counts: LastTest.log
# holds the output of every test, the passed ones included.
reports=$(grep -cE '^(==[0-9]+==ERROR: (Address|Leak)Sanitizer|.*: runtime error: )' \
	"$build/Testing/Temporary/LastTest.log" 2>/dev/null)
if [ "${reports:-0}" -gt 0 ]; then
	echo "[sanitize] $reports sanitizer report(s) in $build/Testing/Temporary/LastTest.log:"
	grep -E -A30 '^(==[0-9]+==ERROR: (Address|Leak)Sanitizer|.*: runtime error: )' \
		"$build/Testing/Temporary/LastTest.log"
	failed=$((failed + 1))
fi

echo "[sanitize] asan+ubsan unit tests in $build: $passed passed, $failed failed"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
