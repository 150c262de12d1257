#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Prints tests/vm/scenario-times from a VM suite run: SERIES SCENARIO SECONDS for each scenario
# each guest under BUILD_DIR/vm timed (a shard's times are its kernel series'; the longest of a
# scenario every shard runs). Usage: tests/vm/scenario-times.sh BUILD_DIR > tests/vm/scenario-times
set -euo pipefail
if [ $# -ne 1 ] || [ ! -d "$1/vm" ]; then
	echo "usage: $0 BUILD_DIR (with a run under BUILD_DIR/vm)" >&2
	exit 2
fi
cat <<'HEAD'
# SERIES SCENARIO SECONDS: how long each scenario took in a run of the VM suite on a 2-core
# machine of the CI's kind. tests/vm/run.sh deals scenarios out to shards longest first by
# these, unless the guests' own console logs under BUILD_DIR/vm hold newer times. Renewed with
# tests/vm/scenario-times.sh BUILD_DIR > tests/vm/scenario-times.
HEAD
for dir in "$1"/vm/*/; do
	guest=$(basename "$dir")
	[ -f "$dir/console.log" ] || continue
	awk -v s="${guest%-[0-9]}" '$1 == "MDG-TIME" { printf "%s %s %d\n", s, $2, $3 + 0.5 }' \
		"$dir/console.log"
done | sort -k1,1 -k2,2 -k3,3nr | awk '!seen[$1 " " $2]++'
