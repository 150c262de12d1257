#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the libFuzzer harnesses in BUILD_DIR/fuzz (clang, MDG_FUZZ=ON) and runs each for
# SECONDS_PER_HARNESS (default 20) on a fresh copy of its seed corpus, one line per harness.
# Exits 0 only if none crashed (a sanitizer report, a leak, a timeout, a failed check); a crash
# keeps its reproducer in BUILD_DIR/fuzz/crashes/ and prints how to rerun it.
# Usage: tests/fuzz/run.sh BUILD_DIR [SECONDS_PER_HARNESS]
set -uo pipefail

harnesses=(fuzz_config fuzz_attr fuzz_uevent fuzz_scan fuzz_event fuzz_domxml)

if [ $# -lt 1 ] || [ $# -gt 2 ] || ! [[ ${2:-20} =~ ^[1-9][0-9]*$ ]]; then
	echo "usage: $0 BUILD_DIR [SECONDS_PER_HARNESS]" >&2
	exit 2
fi
src=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$1/fuzz" || exit 1
build=$(cd "$1/fuzz" && pwd)
secs=${2:-20}

fail() {
	echo "[fuzz] $1"
	exit 1
}

# A build directory of its own: the normal one stays gcc and uninstrumented.
cache=$build/CMakeCache.txt
if ! grep -q '^MDG_FUZZ:BOOL=ON$' "$cache" 2>/dev/null ||
	! grep -q '^CMAKE_C_COMPILER:[A-Z]*=.*clang[^/]*$' "$cache" 2>/dev/null; then
	echo "[fuzz] configuring $build (clang, MDG_FUZZ=ON)"
	cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang -DMDG_FUZZ=ON \
		>"$build/configure.log" 2>&1 ||
		{ cat "$build/configure.log"; fail "configure failed"; }
fi
# Every core: the kernel build that may run beside it is niced.
echo "[fuzz] building the harnesses"
cmake --build "$build" -j"$(nproc)" --target "${harnesses[@]}" >"$build/build.log" 2>&1 ||
	{ cat "$build/build.log"; fail "build failed"; }

# The scan harness makes a tree per input: tmpfs is many times faster than a disk. A directory
# of this run's own, so that what a crash leaves behind goes with it.
for base in /dev/shm "${TMPDIR:-/tmp}"; do
	scratch=$(mktemp -d "$base/mdg-fuzz-run.XXXXXX" 2>/dev/null) && break
done
[ -n "${scratch:-}" ] || fail "cannot make a scratch directory"
trap 'rm -rf "$scratch"' EXIT

export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$build/crashes" "$build/logs" "$build/corpus"
crashed=0

# fuzz H: one harness for $secs seconds; its exit status and time go to logs/H.rc.
fuzz() {
	local h=$1 corpus=$build/corpus/$1 log=$build/logs/$1.log start=$SECONDS rc=0
	# A copy: the fuzzer adds what it finds to its corpus, never to the source tree's.
	rm -rf "$corpus"
	mkdir -p "$corpus"
	cp "$src/tests/fuzz/corpus/$h/"* "$corpus/" || { echo "seed 0" >"$build/logs/$h.rc"; return; }
	TMPDIR=$scratch "$build/tests/fuzz/$h" -max_total_time="$secs" -rss_limit_mb=2048 \
		-timeout=10 -detect_leaks=1 -print_final_stats=1 \
		-artifact_prefix="$build/crashes/$h-" "$corpus" >"$log" 2>&1 || rc=$?
	echo "$rc $((SECONDS - start))" >"$build/logs/$h.rc"
}

# As many harnesses at once as there are cores, each on its own; reported in their order.
running=0
for h in "${harnesses[@]}"; do
	rm -f "$build/logs/$h.rc"
	if [ "$running" -ge "$(nproc)" ]; then
		wait -n
		running=$((running - 1))
	fi
	fuzz "$h" &
	running=$((running + 1))
done
wait

for h in "${harnesses[@]}"; do
	log=$build/logs/$h.log
	[ -s "$build/logs/$h.rc" ] || fail "$h: the harness did not run"
	read -r rc took <"$build/logs/$h.rc"
	[ "$rc" != seed ] || fail "$h: no seed corpus"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	if [ -z "$execs" ]; then
		# No final stats after a crash: the last status line counts the runs.
		execs=$(grep -oE '^#[0-9]+' "$log" | tail -n1 | tr -d '#')
	fi
	artifact=$(sed -n 's/.*Test unit written to //p' "$log" | grep -v -- -slow-unit- | tail -n1)
	if [ "$rc" -eq 0 ] && [ -z "$artifact" ] && [ -n "$execs" ]; then
		echo "[fuzz] $h: $execs executions in $took s, no crash"
		continue
	fi
	crashed=$((crashed + 1))
	reason=$(grep -m1 -E '^==[0-9]+==ERROR|runtime error:|^fuzz_[a-z]+: ' "$log" |
		sed -E 's/^==[0-9]+==//')
	echo "[fuzz] $h: CRASH after ${execs:-?} executions in $took s (exit $rc): ${reason:-see log}"
	if [ -n "$artifact" ]; then
		echo "[fuzz]   reproducer: $artifact"
		echo "[fuzz]   rerun: $build/tests/fuzz/$h $artifact"
	fi
	echo "[fuzz]   log: $log"
done

echo "[fuzz] ${#harnesses[@]} harnesses, $crashed crashed"
[ "$crashed" -eq 0 ]
