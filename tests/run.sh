#!/usr/bin/env bash
# Every test of mdevguard: host unit tests under ctest, the same under ASan/UBSan, static
# analysis, the Debian package (tests/package.sh), the Kubernetes manifest (tests/deploy.sh), a
# short fuzzing run of each parser, then the
# VM suite on Debian's 6.1 and 6.12 kernels and the newest Debian kernel source built with the
# VFIO cdev and IOMMUFD (BPF LSM enforcement is proven there).
# Ends with "N passed, N failed".
# Usage: tests/run.sh [BUILD_DIR]        MDG_VM=0 skips the VM suite (say so loudly).
#        tests/run.sh --quick [BUILD_DIR]  the inner loop: the build, the unit tests and 6.12's
#                                        kernel-side scenarios over two guests (tests/vm/run.sh
#                                        --quick); not what CI runs
#        MDG_FUZZ_SECONDS=N: seconds per fuzz harness (default 15; tests/fuzz/run.sh for longer)
set -uo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
quick=0
if [ "${1:-}" = --quick ]; then
	quick=1
	shift
fi
build=${1:-$src/build}
passed=0
failed=0
stages=()

# timed NAME: the wall time since the previous stage ended, for the table at the end.
t_last=$SECONDS
timed() {
	stages+=("$(printf '%-10s %6d' "$1" $((SECONDS - t_last)))")
	t_last=$SECONDS
}

"$src/scripts/setup.sh" "$build" || { echo "setup or build failed"; echo "0 passed, 1 failed"; exit 1; }
timed build

# The VM suite's own kernel (tests/vm/build-kernel.sh) is the longest step of a cold run: it
# starts now, beside the host tests, and the VM suite finds it built or waits for it (a lock).
if [ "${MDG_VM:-1}" != "0" ] && [ "$quick" = 0 ]; then
	mkdir -p "$build/vm"
	echo "[tests] building the cdev kernel in the background (log: $build/vm/build-kernel-early.log)"
	nice -n 10 bash "$src/tests/vm/build-kernel.sh" >"$build/vm/build-kernel-early.log" 2>&1 &
fi

echo "[tests] unit tests (ctest)"
ctest_log=$build/ctest.log
ctest --test-dir "$build" -L unit --output-on-failure 2>&1 | tee "$ctest_log"
# "100% tests passed, 0 tests failed out of 3"
if line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$ctest_log" | tail -n1); then
	total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
	nfail=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
	passed=$((passed + total - nfail))
	failed=$((failed + nfail))
else
	echo "[tests] ctest printed no summary"
	failed=$((failed + 1))
fi
timed unit

# count NAME RC PASSED FAILED: one part's result into the totals.
count() {
	echo "[tests] $1: $3 passed, $4 failed (exit $2)"
	passed=$((passed + $3))
	failed=$((failed + $4))
	[ "$2" -ne 0 ] && [ "$4" -eq 0 ] && failed=$((failed + 1))
	return 0
}

# count_log NAME RC LOG: a part whose log ends with "N passed, N failed" into the totals; a log
# without that line is one failure.
count_log() {
	local line
	if line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$3" | tail -n1); then
		count "$1" "$2" "$(cut -d' ' -f1 <<<"$line")" "$(cut -d' ' -f3 <<<"$line")"
	else
		count "$1" "$2" 0 1
	fi
}

# The inner loop (--quick) goes from the unit tests to its part of the VM suite.
if [ "$quick" = 0 ]; then
	echo "[tests] unit tests under ASan and UBSan"
	san_log=$build/sanitize.log
	bash "$src/tests/sanitize.sh" "$build" >"$san_log" 2>&1
	san_rc=$?
	sed 's/^/  /' "$san_log" | tail -n 20
	count_log sanitize "$san_rc" "$san_log"
	timed sanitize

	echo "[tests] static analysis (clang-tidy, cppcheck)"
	static_log=$build/static.log
	bash "$src/tests/static.sh" "$build" >"$static_log" 2>&1
	static_rc=$?
	grep -E '^(\[static\]|/|user/|include/)' "$static_log" | sed 's/^/  /' | tail -n 40
	if [ "$static_rc" -eq 0 ]; then count static 0 1 0; else count static "$static_rc" 0 1; fi
	timed static

	echo "[tests] Debian package (build, lintian, contents, man pages, completion, unit)"
	package_log=$build/package.log
	bash "$src/tests/package.sh" "$build" >"$package_log" 2>&1
	package_rc=$?
	grep -E '^\[package\] (FAIL|[0-9]+ s)|^  [EW]: ' "$package_log" | sed 's/^/  /'
	count_log package "$package_rc" "$package_log"
	timed package

	echo "[tests] Kubernetes deployment (deploy/kubernetes)"
	deploy_log=$build/deploy.log
	bash "$src/tests/deploy.sh" "$build" >"$deploy_log" 2>&1
	deploy_rc=$?
	grep -E '^\[deploy\] FAIL' "$deploy_log" | sed 's/^/  /'
	count_log deploy "$deploy_rc" "$deploy_log"
	timed deploy

	echo "[tests] fuzzing, ${MDG_FUZZ_SECONDS:-15} s per harness"
	fuzz_log=$build/fuzz.log
	bash "$src/tests/fuzz/run.sh" "$build" "${MDG_FUZZ_SECONDS:-15}" >"$fuzz_log" 2>&1
	fuzz_rc=$?
	sed 's/^/  /' "$fuzz_log" | grep -v '^  \[fuzz\] \(configuring\|building\)'
	# "[fuzz] 5 harnesses, 0 crashed"
	if line=$(grep -E '^\[fuzz\] [0-9]+ harnesses, [0-9]+ crashed$' "$fuzz_log" | tail -n1); then
		n=$(cut -d' ' -f2 <<<"$line")
		c=$(cut -d' ' -f4 <<<"$line")
		count fuzz "$fuzz_rc" $((n - c)) "$c"
	else
		count fuzz "$fuzz_rc" 0 1
	fi
	timed fuzz
fi

vm_args=()
[ "$quick" = 0 ] || vm_args=(--quick)
if [ "${MDG_VM:-1}" = "0" ]; then
	echo "[tests] MDG_VM=0: VM suite SKIPPED; enforcement is not tested by this run"
else
	echo "[tests] VM suite$([ "$quick" = 0 ] || echo ", 6.12's kernel-side scenarios (--quick)")"
	vm_log=$build/vm-suite.log
	bash "$src/tests/vm/run.sh" "$build" "${vm_args[@]}" 2>&1 | tee "$vm_log"
	vm_rc=${PIPESTATUS[0]}
	count_log vm "$vm_rc" "$vm_log"
	timed vm
fi

echo "[tests] wall time of each stage (s), $SECONDS in all:"
printf '  %s\n' "${stages[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
