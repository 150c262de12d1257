#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Second stage of the guest, run by /init chrooted into the host's root (read-only 9p): the
# mounts a service host has, then the scenarios, then the kernel log. /init powers off.
set -euo pipefail

fatal() {
	echo "MDG-FATAL $*"
	exit 1
}

# /tmp and /run become tmpfs; the build or source tree may live under them on the host, so
# carry those directories across: bound first to mountpoints on devtmpfs (the one writable
# place yet), moved back on top of the new tmpfs.
keep_dirs=()
for d in "$MDG_BUILD_DIR" "$MDG_SRC_DIR"; do
	case $d in
	/tmp/* | /run/*) ;;
	*) continue ;;
	esac
	# a tree inside the other comes along with it
	for o in "$MDG_BUILD_DIR" "$MDG_SRC_DIR"; do
		[[ $o != "$d" && $d == "$o"/* ]] && continue 2
	done
	keep_dirs+=("$d")
done
for i in "${!keep_dirs[@]}"; do
	mkdir -p "/dev/.mdg-keep/$i"
	mount --bind "${keep_dirs[$i]}" "/dev/.mdg-keep/$i" || fatal "bind ${keep_dirs[$i]}"
done
mount -t tmpfs -o mode=0755,size=64m tmpfs /run || fatal "mount tmpfs /run"
mount -t tmpfs -o mode=1777,size=512m tmpfs /tmp || fatal "mount tmpfs /tmp"
for i in "${!keep_dirs[@]}"; do
	mkdir -p "${keep_dirs[$i]}"
	mount --move "/dev/.mdg-keep/$i" "${keep_dirs[$i]}" || fatal "restore ${keep_dirs[$i]}"
done
rm -rf /dev/.mdg-keep

# devtmpfs has only device nodes; bash's process substitution needs /dev/fd
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=000 devpts /dev/pts || fatal "mount devpts"
mount -t tmpfs -o mode=1777 tmpfs /dev/shm || fatal "mount /dev/shm"
mount -t securityfs securityfs /sys/kernel/security || fatal "mount securityfs"
mount -t bpf -o mode=0700 bpffs /sys/fs/bpf || fatal "mount bpffs"
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug || true

dmesg_start=$(dmesg | wc -l)
echo "MDG-VM stage2: $(uname -r), lsm=$(cat /sys/kernel/security/lsm)"

rc=0
bash "$MDG_SRC_DIR/tests/vm/guest/run-scenarios.sh" || rc=$?

echo "MDG-DMESG-BEGIN (kernel messages since stage2 started)"
dmesg | tail -n +"$((dmesg_start + 1))" | sed 's/^/MDG-DMESG /'
echo "MDG-DMESG-END"
exit "$rc"
