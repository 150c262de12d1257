#!/usr/bin/env bash
# Every test of mdevguard: host unit tests under ctest, then the VM suite on Debian's 6.1 and
# 6.12 kernels (BPF LSM enforcement is proven there). Ends with "N passed, N failed".
# Usage: tests/run.sh [BUILD_DIR]        MDG_VM=0 skips the VM suite (say so loudly).
set -uo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
passed=0
failed=0

"$src/scripts/setup.sh" "$build" || { echo "setup or build failed"; echo "0 passed, 1 failed"; exit 1; }

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

if [ "${MDG_VM:-1}" = "0" ]; then
	echo "[tests] MDG_VM=0: VM suite SKIPPED; enforcement is not tested by this run"
else
	echo "[tests] VM suite"
	vm_log=$build/vm-suite.log
	bash "$src/tests/vm/run.sh" "$build" 2>&1 | tee "$vm_log"
	vm_rc=${PIPESTATUS[0]}
	if line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$vm_log" | tail -n1); then
		passed=$((passed + $(cut -d' ' -f1 <<<"$line")))
		failed=$((failed + $(cut -d' ' -f3 <<<"$line")))
		[ "$vm_rc" -ne 0 ] && [ "$(cut -d' ' -f3 <<<"$line")" -eq 0 ] && failed=$((failed + 1))
	else
		echo "[tests] VM suite printed no summary (exit $vm_rc)"
		failed=$((failed + 1))
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
