#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# user/ in layers (README, Layout): a file includes headers of its own layer or below only, and
# the modules' include graph has no circle (tsort reports loops).
set -uo pipefail

dir=${1:-$(cd "$(dirname "$0")/../../user" && pwd)}
declare -A layer=(
	[log]=1 [names]=1 [procinfo]=1 [uuid]=1 [attr]=1 [config]=1 [configkey]=1 [configfile]=1
	[sysfs]=1 [sysfswalk]=1 [sysfsdev]=1 [sysfstype]=1 [vgpufn]=1 [domxml]=1 [mdevctl]=1
	[pin]=2 [kstate]=2 [devmap]=2 [uevent]=2 [events]=2 [metrics]=2 [bpfobj]=2
	[bpfmaps]=2 [bpfiter]=2
	[cli]=3 [service]=3 [run]=3 [runsync]=3 [status]=3 [unload]=3 [list]=3 [check]=3
	[main]=4
)
edges=
bad=0
for f in "$dir"/*.c "$dir"/*.h; do
	m=$(basename "$f")
	m=${m%.*}
	if [ -z "${layer[$m]:-}" ]; then
		echo "$f: module $m has no layer in $0"
		bad=1
		continue
	fi
	while read -r inc; do
		i=${inc%.h}
		# include/ and the generated skeleton are below everything
		[ -n "${layer[$i]:-}" ] && [ "$i" != "$m" ] || continue
		if [ "${layer[$i]}" -gt "${layer[$m]}" ]; then
			echo "$f (layer ${layer[$m]}) includes $inc (layer ${layer[$i]})"
			bad=1
		fi
		edges+="$m $i"$'\n'
	done < <(sed -n 's/^#include "\([^"]*\)"$/\1/p' "$f")
done
if ! printf '%s' "$edges" | tsort >/dev/null 2>"${TMPDIR:-/tmp}/mdg-tsort.$$"; then
	cat "${TMPDIR:-/tmp}/mdg-tsort.$$"
	bad=1
fi
rm -f "${TMPDIR:-/tmp}/mdg-tsort.$$"
[ "$bad" -eq 0 ] && echo "user/: $(printf '%s' "$edges" | wc -l) includes, no circle, no include from above"
exit "$bad"
