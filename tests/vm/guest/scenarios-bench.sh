# SPDX-License-Identifier: GPL-2.0
# SPEC §7: what the file_open hook costs an open that is not of an mdev node, against an empty
# BPF LSM program on the same hook, measured in one run. Reported (MDG-INFO), never asserted:
# a timed assertion would fail on a busy CI machine and prove nothing. Sourced by
# run-scenarios.sh.

SCENARIOS+=(
	bench-open
)

BENCH=$MDG_BUILD_DIR/tests/bench/mdg-bench-open
BENCH_N=20000

bench_ns() {
	local out
	out=$("$BENCH" "$@" "$BENCH_N") || fail "mdg-bench-open $*: $out"
	echo "${out#ns_per_open=}"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'
}

sc_bench_open() {
	local path base empty guard
	[ -x "$BENCH" ] || fail "$BENCH missing"
	# A device makes the VFIO major part of the filter, as on a real host.
	need_pool
	: >"$WORK/regular"
	for path in /dev/null "$WORK/regular"; do
		base=$(bench_ns "$path")
		empty=$(bench_ns --empty-lsm "$path")
		svc_start
		guard=$(bench_ns "$path")
		svc_finish
		info "bench-open $path: no LSM program ${base} ns, empty LSM program ${empty} ns, mdevguard ${guard} ns; mdevguard/empty = $(ratio "$guard" "$empty"), empty/none = $(ratio "$empty" "$base")"
	done
	pass
}
