#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The Debian package: builds it from a scratch copy of the source tree (dpkg-buildpackage
# writes into the parent directory), then checks what is in it: lintian without errors; the
# binary, the unit, the conffile, the man pages, the completion and the docs; the man pages
# render without a warning; the completion offers every command and option the built binary's
# --help names; the shipped configuration loads and changes nothing; the unit verifies.
# Ends with "N passed, N failed".
# Usage: tests/package.sh BUILD_DIR     (the package is left in BUILD_DIR/pkg/)
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(mkdir -p "$1" && cd "$1" && pwd)
passed=0
failed=0
start=$SECONDS

pass() { echo "[package] ok: $*"; passed=$((passed + 1)); }
fail() { echo "[package] FAIL: $*"; failed=$((failed + 1)); }
finish() {
	echo "[package] $((SECONDS - start)) s"
	echo "$passed passed, $failed failed"
	exit $((failed > 0))
}

version=$(sed -nE 's/^project\(mdevguard VERSION ([0-9.]+).*/\1/p' "$src/CMakeLists.txt")
arch=$(dpkg --print-architecture)
work=$build/pkg
rm -rf "$work"
tree=$work/mdevguard-$version
mkdir -p "$tree"

# The tree as it is, uncommitted changes included, without build directories.
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$src" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 cp -a --parents -t "$tree")
else
	tar -C "$src" --exclude='./build*' --exclude=./.git --exclude=./obj-* -cf - . |
		tar -C "$tree" -xf -
fi

echo "[package] dpkg-buildpackage (log: $work/build.log)"
if (cd "$tree" && nice -n 10 dpkg-buildpackage -b -us -uc -j2) >"$work/build.log" 2>&1; then
	pass "dpkg-buildpackage -b -us -uc"
else
	tail -n 30 "$work/build.log"
	fail "dpkg-buildpackage -b -us -uc"
	finish
fi
deb=$work/mdevguard_${version}_${arch}.deb
if [ -f "$deb" ]; then pass "built $(basename "$deb")"; else fail "no $deb"; finish; fi

# lintian: any E: fails; warnings are printed, the known ones are listed in the README.
lintian --no-tag-display-limit "$deb" >"$work/lintian.log" 2>&1 || true
sed 's/^/  /' "$work/lintian.log"
if grep -q '^E:' "$work/lintian.log"; then fail "lintian errors"; else pass "lintian: no errors"; fi

contents=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|')
for f in /usr/sbin/mdevguard /lib/systemd/system/mdevguard.service \
	/etc/mdevguard/mdevguard.conf /usr/share/man/man8/mdevguard.8.gz \
	/usr/share/man/man5/mdevguard.conf.5.gz /usr/share/bash-completion/completions/mdevguard \
	/usr/share/doc/mdevguard/README.md /usr/share/doc/mdevguard/copyright \
	/usr/share/doc/mdevguard/changelog.gz /etc/libvirt/hooks/qemu.d/mdevguard; do
	if grep -qx -- "$f" <<<"$contents"; then pass "contains $f"; else fail "missing $f"; fi
done
for f in /etc/mdevguard/mdevguard.conf /etc/libvirt/hooks/qemu.d/mdevguard; do
	if dpkg-deb -I "$deb" conffiles 2>/dev/null | grep -qx "$f"; then
		pass "conffile $f"
	else
		fail "$f is not a conffile"
	fi
done

root=$work/root
dpkg-deb -x "$deb" "$root"
bin=$root/usr/sbin/mdevguard

for page in man8/mdevguard.8.gz man5/mdevguard.conf.5.gz; do
	warn=$(zcat "$root/usr/share/man/$page" | groff -man -ww -z 2>&1 || echo "groff failed")
	if [ -z "$warn" ]; then pass "$page renders without warnings"; else
		echo "$warn" | sed 's/^/  /'
		fail "$page: groff warnings"
	fi
done

# complete LINE: what the completion offers for a command line typed up to its end.
complete_line() {
	bash -c 'source "$1"; read -ra COMP_WORDS <<<"$2"
		[[ $2 == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE=$2; COMP_POINT=${#2}
		_mdevguard mdevguard "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ \
		"$root/usr/share/bash-completion/completions/mdevguard" "$1"
}
commands=$("$bin" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF > 1 { print $1 }')
offered=$(complete_line "mdevguard ")
missing=$(comm -23 <(sort <<<"$commands") <(sort <<<"$offered"))
if [ -n "$commands" ] && [ -z "$missing" ]; then
	pass "completion offers every command: $(echo $commands)"
else
	fail "completion misses commands: ${missing:-(none found in --help)}"
fi
for cmd in $commands; do
	opts=$("$bin" "$cmd" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u)
	offered=$(complete_line "mdevguard $cmd --")
	missing=$(comm -23 <(echo "$opts") <(sort <<<"$offered"))
	if [ -z "$missing" ]; then pass "completion offers $cmd's options"; else
		fail "completion misses $cmd options: $(echo $missing)"
	fi
done

# The shipped configuration: the file the binary reads by default, and it changes nothing.
conf=$root/etc/mdevguard/mdevguard.conf
default=$("$bin" check --help | grep -oE -- '--config FILE +default [^ ]+' | awk '{ print $4 }')
if [ "$default" = /etc/mdevguard/mdevguard.conf ]; then
	pass "the binary reads $default, where the package puts it"
else
	fail "the binary reads '$default', the package ships /etc/mdevguard/mdevguard.conf"
fi
# A sysfs with a restricted, an unrestricted and an attribute-less type, two devices of each.
sys=$work/sysfs
parent=devices/pci0000:00/0000:00:02.0
mkdir -p "$sys/bus/mdev/devices"
n=0
for t in t-yes:Y t-no:N t-absent:; do
	type=${t%%:*}
	mkdir -p "$sys/$parent/mdev_supported_types/$type/devices"
	[ -n "${t#*:}" ] && echo "${t#*:}" >"$sys/$parent/mdev_supported_types/$type/single_usage_restriction"
	for _ in 1 2; do
		n=$((n + 1))
		uuid=$(printf '00000000-0000-4000-8000-%012d' "$n")
		mkdir -p "$sys/$parent/$uuid"
		ln -s "../mdev_supported_types/$type" "$sys/$parent/$uuid/mdev_type"
		ln -s "../../../$parent/$uuid" "$sys/bus/mdev/devices/$uuid"
	done
done
: >"$work/empty.conf"
same=1
for pair in "1 2" "1 3" "3 4" "3 5" "5 6" "1 5"; do
	set -- $pair
	u1=$(printf '00000000-0000-4000-8000-%012d' "$1")
	u2=$(printf '00000000-0000-4000-8000-%012d' "$2")
	for c in "$conf" "$work/empty.conf"; do
		rc=0
		"$bin" check --config "$c" --sysfs "$sys" --json "$u1" "$u2" >"$c.out" 2>&1 || rc=$?
		echo "exit $rc" >>"$c.out"
	done
	grep -q '^exit [01]$' "$conf.out" || { cat "$conf.out"; same=0; }
	cmp -s "$conf.out" "$work/empty.conf.out" || { diff "$work/empty.conf.out" "$conf.out"; same=0; }
done
if [ "$same" -eq 1 ]; then
	pass "the shipped configuration loads and decides as no configuration does"
else
	fail "the shipped configuration differs from none"
fi
# Every setting in it, uncommented, is valid.
sed -E 's/^#([a-z-]+ = )/\1/' "$conf" >"$work/uncommented.conf"
if "$bin" check --config "$work/uncommented.conf" --sysfs "$sys" \
	00000000-0000-4000-8000-000000000001 >"$work/uncommented.out" 2>&1; then
	pass "the shipped configuration's settings, uncommented, load"
else
	cat "$work/uncommented.out"
	fail "the shipped configuration's settings, uncommented, do not load"
fi

# The unit: systemd-analyze verify needs its ExecStart= to exist on this host, so the copy
# verified runs the extracted binary; everything else is the unit as packaged.
unit=$root/lib/systemd/system/mdevguard.service
mkdir -p "$work/unit"
sed "s|^ExecStart=/usr/sbin/mdevguard|ExecStart=$bin|" "$unit" >"$work/unit/mdevguard.service"
if out=$(systemd-analyze verify --man=no "$work/unit/mdevguard.service" 2>&1) && [ -z "$out" ]; then
	pass "systemd-analyze verify mdevguard.service"
else
	echo "$out" | sed 's/^/  /'
	fail "systemd-analyze verify mdevguard.service"
fi
systemd-analyze security --offline=true "$unit" 2>/dev/null | grep -F 'Overall exposure' |
	sed 's/^/[package] /' || true

finish
