#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The libvirt qemu hook as libvirt runs it (DOMAIN OPERATION SUB-OPERATION EXTRA, the domain
# XML on stdin), with the built mdevguard against a fake sysfs tree and mdevctl directory.
# Usage: tests/unit/test_hook.sh HOOK MDEVGUARD
set -uo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 HOOK MDEVGUARD" >&2
	exit 2
fi
hook=$1
export MDEVGUARD=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mdg-hook.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
sys=$tmp/sys
ctl=$tmp/mdevctl.d
export MDEVGUARD_CHECK_ARGS="--sysfs $sys --mdevctl-dir $ctl --config /dev/null"

P=0000:00:02.0
A=00000000-0000-4000-8000-00000000000a	# restricted
B=00000000-0000-4000-8000-00000000000b	# restricted
C=00000000-0000-4000-8000-00000000000c	# unrestricted
D=00000000-0000-4000-8000-00000000000d	# unrestricted
E=00000000-0000-4000-8000-00000000000e	# restricted, defined by mdevctl, not started

# sysfs as the kernel lays it out (tests/unit/test_sysfs.c)
pd=$sys/devices/pci0000:00/$P
mkdir -p "$sys/class/mdev_bus" "$sys/bus/mdev/devices" "$ctl/$P"
ln -s "../../devices/pci0000:00/$P" "$sys/class/mdev_bus/$P"
for t in single:Y multi:N; do
	mkdir -p "$pd/mdev_supported_types/fake-${t%%:*}"
	echo "${t#*:}" >"$pd/mdev_supported_types/fake-${t%%:*}/single_usage_restriction"
done
for d in $A:single $B:single $C:multi $D:multi; do
	u=${d%%:*}
	mkdir -p "$pd/$u"
	ln -s "../mdev_supported_types/fake-${d#*:}" "$pd/$u/mdev_type"
	ln -s "../../../devices/pci0000:00/$P/$u" "$sys/bus/mdev/devices/$u"
done
echo '{"mdev_type":"fake-single","start":"manual","attrs":[]}' >"$ctl/$P/$E"

# domain NAME UUID...: a domain XML as libvirt writes it, one mdev hostdev per UUID
domain() {
	local name=$1 u
	shift
	printf "<domain type='kvm'>\n  <name>%s</name>\n  <devices>\n" "$name"
	printf "    <disk type='file' device='disk'><source file='/x.img'/></disk>\n"
	for u in "$@"; do
		printf "    <hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci'>\n"
		printf "      <source>\n        <address uuid='%s'/>\n      </source>\n" "$u"
		printf "    </hostdev>\n"
	done
	printf "  </devices>\n</domain>\n"
}

failed=0
passed=0
# run NAME WANT_RC STDIN_FILE ARGS...: the hook's exit status and its stderr in $tmp/err
run() {
	local name=$1 want=$2 in=$3 rc=0
	shift 3
	"$hook" "$@" <"$in" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL $name: exit $rc, want $want; stderr: $(cat "$tmp/err")"
		failed=$((failed + 1))
		return 1
	fi
	if [ -s "$tmp/out" ]; then
		echo "FAIL $name: wrote on stdout: $(cat "$tmp/out")"
		failed=$((failed + 1))
		return 1
	fi
	return 0
}

# expect NAME TEXT...: every TEXT is in the stderr of the last run, which is one line
expect() {
	local name=$1 t
	shift
	if [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
		echo "FAIL $name: stderr is not one line: $(cat "$tmp/err")"
		failed=$((failed + 1))
		return
	fi
	for t in "$@"; do
		if ! grep -qF -- "$t" "$tmp/err"; then
			echo "FAIL $name: stderr lacks '$t': $(cat "$tmp/err")"
			failed=$((failed + 1))
			return
		fi
	done
	echo "ok $name: $(cat "$tmp/err")"
	passed=$((passed + 1))
}

quiet() {
	if [ -s "$tmp/err" ]; then
		echo "FAIL $1: stderr: $(cat "$tmp/err")"
		failed=$((failed + 1))
		return
	fi
	echo "ok $1"
	passed=$((passed + 1))
}

domain vm-deny "$A" "$B" "$C" >"$tmp/deny.xml"
domain vm-ok "$A" >"$tmp/ok.xml"
domain vm-multi "$C" "$D" >"$tmp/multi.xml"
domain vm-defined "$C" "$E" >"$tmp/defined.xml"
domain vm-defined-ok "$E" >"$tmp/defined-ok.xml"
domain vm-plain >"$tmp/plain.xml"
domain vm-unknown "$A" 00000000-0000-4000-8000-0000000000ff >"$tmp/unknown.xml"
printf 'not <xml' >"$tmp/garbage"

run deny 1 "$tmp/deny.xml" vm-deny prepare begin - &&
	expect deny "domain 'vm-deny' not started" "single_usage_restriction" \
		"rule restricted-device" "$A" "$B"
run allowed 0 "$tmp/ok.xml" vm-ok prepare begin - && quiet allowed
run unrestricted 0 "$tmp/multi.xml" vm-multi prepare begin - && quiet unrestricted
run no-mdev 0 "$tmp/plain.xml" vm-plain prepare begin - && quiet no-mdev
run mdevctl-defined 1 "$tmp/defined.xml" vm-defined prepare begin - &&
	expect mdevctl-defined "domain 'vm-defined' not started" "$E" \
		"defined by mdevctl, not started"
run mdevctl-defined-alone 0 "$tmp/defined-ok.xml" vm-defined-ok prepare begin - &&
	quiet mdevctl-defined-alone

# only prepare begin checks: the others exit 0 whatever stdin holds
for op in "start begin" "started begin" "stopped end" "release end" "prepare end" \
	"migrate begin" "restore begin" "reconnect begin" "attach begin"; do
	# shellcheck disable=SC2086
	run "op $op" 0 "$tmp/deny.xml" vm-deny $op - && quiet "op $op (deny domain)"
done

# fail closed when the check cannot decide
run bad-xml 1 "$tmp/garbage" vm-bad prepare begin - &&
	expect bad-xml "domain 'vm-bad' not started" "could not be checked" "exited 2" \
		"not well-formed XML"
run unknown-device 1 "$tmp/unknown.xml" vm-unknown prepare begin - &&
	expect unknown-device "could not be checked" "00000000-0000-4000-8000-0000000000ff"
echo 'mode = sometimes' >"$tmp/bad.conf"
MDEVGUARD_CHECK_ARGS="$MDEVGUARD_CHECK_ARGS --config $tmp/bad.conf" \
	run bad-config 1 "$tmp/ok.xml" vm-ok prepare begin - &&
	expect bad-config "could not be checked" "bad.conf:1"
# ... but a domain without mdev hostdevs is not refused for a broken configuration
MDEVGUARD_CHECK_ARGS="$MDEVGUARD_CHECK_ARGS --config $tmp/bad.conf" \
	run bad-config-no-mdev 0 "$tmp/plain.xml" vm-plain prepare begin - &&
	quiet bad-config-no-mdev

# a malformed attribute of another type: the refusal stays one sentence, the warning follows
mkdir -p "$pd/mdev_supported_types/fake-odd"
echo maybe >"$pd/mdev_supported_types/fake-odd/single_usage_restriction"
if run deny-with-warning 1 "$tmp/deny.xml" vm-deny prepare begin -; then
	if head -n 1 "$tmp/err" | grep -q "domain 'vm-deny' not started" &&
		! head -n 1 "$tmp/err" | grep -q warning &&
		tail -n +2 "$tmp/err" | grep -q '^mdevguard: warning: .*fake-odd'; then
		echo "ok deny-with-warning: $(cat "$tmp/err")"
		passed=$((passed + 1))
	else
		echo "FAIL deny-with-warning: $(cat "$tmp/err")"
		failed=$((failed + 1))
	fi
fi
rm -rf "$pd/mdev_supported_types/fake-odd"

# fail open when mdevguard is not installed
MDEVGUARD=$tmp/no-such-mdevguard run missing-binary 0 "$tmp/deny.xml" vm-deny prepare begin - &&
	expect missing-binary "warning" "not found" "vm-deny"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
