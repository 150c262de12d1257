#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The benchmark of SPEC §7 (tests/bench/README.md): mdg-bench in the VM on each kernel, with
# enough rounds for a noise band, its tables written to BUILD_DIR/vm/SERIES/bench.{md,json}
# and printed. Reported, never asserted.
# Usage: tests/bench/run.sh [BUILD_DIR] [--kernel 6.1|6.12|cdev]...
#        MDG_BENCH_ROUNDS (default 12), MDG_BENCH_WARMUP (2), MDG_BENCH_OPS (2000)
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build=$src/build
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
	build=$1
	shift
fi
"$src/scripts/setup.sh" "$build"
rc=0
MDG_BENCH_ROUNDS=${MDG_BENCH_ROUNDS:-12} MDG_BENCH_WARMUP=${MDG_BENCH_WARMUP:-2} \
	MDG_BENCH_OPS=${MDG_BENCH_OPS:-2000} MDG_SCENARIO_TIMEOUT=${MDG_SCENARIO_TIMEOUT:-3600} \
	"$src/tests/vm/run.sh" "$build" --scenario bench --timeout 4000 "$@" || rc=$?
for md in "$build"/vm/*/bench.md; do
	[ -f "$md" ] || continue
	echo
	echo "== $md"
	cat "$md"
done
exit "$rc"
