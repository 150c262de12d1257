# SPDX-License-Identifier: GPL-2.0
# SPEC §7: what mdevguard's programs cost, against empty programs on the same hooks, with the
# A/A noise band, measured by tests/bench/mdg-bench in one process (tests/bench/README.md).
# Reported, never asserted: the tables go to the console as "bench.md| " and "bench.json| "
# lines, which tests/vm/run.sh writes to BUILD_DIR/vm/SERIES/bench.{md,json}. The suite runs a
# short pass (MDG_BENCH_ROUNDS, MDG_BENCH_OPS); tests/bench/run.sh runs the full one. Sourced by
# run-scenarios.sh.

SCENARIOS+=(
	bench
)

sc_bench() {
	local bench=$MDG_BUILD_DIR/tests/bench/mdg-bench out=$WORK/bench
	[ -x "$bench" ] || fail "$bench missing"
	need_pool
	# no service may run while the arms are timed (its programs would be timed too)
	! pgrep -x mdevguard >/dev/null || fail "mdevguard is running: $(pgrep -ax mdevguard)"
	[ ! -e /sys/fs/bpf/mdevguard ] || fail "mdevguard's programs are pinned: unload them first"
	mkdir -p "$out"
	# the guest's /tmp is a tmpfs
	mountpoint -q /dev/shm || mount -t tmpfs tmpfs /dev/shm
	log "mdg-bench: ${MDG_BENCH_ROUNDS:-2} rounds of ${MDG_BENCH_OPS:-500} operations"
	MDG_ACCEL=${MDG_ACCEL:-tcg} "$bench" --rounds "${MDG_BENCH_ROUNDS:-2}" \
		--warmup "${MDG_BENCH_WARMUP:-0}" --ops "${MDG_BENCH_OPS:-500}" --cpu 1 \
		--dir /dev/shm --out "$out" "${S[1]}" "${S[2]}" "${S[3]}" || fail "mdg-bench failed"
	sed 's/^/bench.md| /' "$out/bench.md" "$out/bench-stats.md" >>"$INFO_FILE"
	sed 's/^/bench.json| /' "$out/bench.json" >>"$INFO_FILE"
	cat "$out/bench.md"
	# every row has a ratio for every arm: a bench that measured nothing fails here
	jq -e '(.rows | length) == 24 and all(.rows[]; .mdevguard_vs_empty.median > 0 and
		.aa_band.median > 0)' "$out/bench.json" >/dev/null || fail "bench.json incomplete"
	pass
}
