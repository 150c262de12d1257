#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# mdevguard in one command, for newcomers: installs what it needs, builds, boots Debian's 6.12
# kernel under QEMU with a fixture mdev driver, and tells what happens when one process tries
# to take two restricted vGPU-like devices.
#
# Usage: scripts/demo.sh [BUILD_DIR]        (default: build/ in the source tree)
#
# The first run downloads the kernel (a few tens of MB, cached under BUILD_DIR/vm/cache) and
# takes a few minutes: QEMU emulates the CPU, no /dev/kvm is needed.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}

step() {
	printf '\n### %s\n' "$*"
}

step "1/3 Installing build dependencies (Debian packages) and building mdevguard into $build"
bash "$src/scripts/setup.sh" "$build"

step "2/3 Preparing the test VM and running the demo in it"
echo "    Debian's 6.12 kernel (downloaded once), the fixture mdev driver, an initramfs; then"
echo "    QEMU boots it and runs the VM suite's 'demo' scenario. This takes a few minutes."
echo

# run.sh's lines: "[vm] ..." progress, "[vm] 6.12:   ..." what the scenario tells (MDG-INFO),
# and a summary. The story is shown as it is; progress is shortened; the rest is the verdict.
rc=0
bash "$src/tests/vm/run.sh" "$build" --kernel 6.12 --scenario demo 2>&1 |
	while IFS= read -r line; do
		case $line in
		"[vm] 6.12:   "*)
			story=${line#"[vm] 6.12:   "}
			case $story in
			"== "*) printf '\n%s\n' "${story#== }" ;;
			*) printf '%s\n' "$story" ;;
			esac
			;;
		"[vm] 6.12: scenario "*) ;;
		"[vm] 6.12: PASS demo"* | "[vm] 6.12: FAIL demo"*)
			printf '\n[demo] %s\n' "${line#"[vm] 6.12: "}"
			;;
		"[vm] "*) printf '[demo] %s\n' "${line#"[vm] "}" ;;
		"PASS 6.12 demo" | "FAIL 6.12 demo"* | *" passed, "*" failed") ;;
		*) printf '%s\n' "$line" ;;
		esac
	done || rc=$?
# rc is run.sh's status (pipefail); its results file says which scenario passed
results=$build/vm/6.12/results
if [ "$rc" -eq 0 ] && [ -f "$results" ] && grep -q '^PASS demo$' "$results"; then
	step "3/3 Done: the second open in process A was denied, process B got the other device."
	echo "    Whole console of the VM: $build/vm/6.12/console.log"
	echo "    On a real host: sudo $build/mdevguard run   (see README.md)"
	exit 0
fi
step "3/3 The demo did not complete: see $build/vm/6.12/console.log"
exit 1
