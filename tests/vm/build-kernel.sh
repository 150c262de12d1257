#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the VM suite's third kernel: Debian's linux-source-6.12 with IOMMUFD and the VFIO device
# cdev, which no Debian kernel has. defconfig + kvm_guest.config + kernel/iommufd.config.
#
#   build-kernel.sh [--print]     build (or find) it; print "KVER ROOT BUILD" on the last line
#
# The result is cached outside any source tree, keyed by the source package's version and the
# fragment's hash, so that every clone on this machine shares it: MDG_KERNEL_CACHE, default
# /var/cache/mdevguard-vm. ROOT holds boot/vmlinuz-KVER, boot/config-KVER and lib/modules/KVER
# (depmod'ed); BUILD is the built tree, for out-of-tree modules (make -C BUILD M=...).
# Needs Debian's flex bison bc libssl-dev libelf-dev dwarves, and apt lists for the source.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fragment=$here/kernel/iommufd.config
cache_root=${MDG_KERNEL_CACHE:-/var/cache/mdevguard-vm}
pkg=linux-source-6.12
localversion=-mdg-iommufd

say() {
	echo "[kernel] $*" >&2
}

die() {
	echo "[kernel] error: $*" >&2
	exit 2
}

ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^  Candidate: //p' | grep -v '^(none)$' || true)
if [ -z "$ver" ]; then
	# no apt lists: the newest one built before, if any
	ready=$(ls -d "$cache_root"/"$pkg"_*/.ready 2>/dev/null | sort -V | tail -n 1 || true)
	[ -n "$ready" ] || die "apt knows no $pkg and nothing is cached under $cache_root: apt-get update"
	dir=$(dirname "$ready")
	say "apt offers no $pkg; using $dir"
	cat "$dir/.ready"
	exit 0
fi
key=${pkg}_${ver//:/%3a}-$(sha256sum "$fragment" | cut -c1-12)
dir=$cache_root/$key
if [ -f "$dir/.ready" ]; then
	say "cached: $dir"
	cat "$dir/.ready"
	exit 0
fi

for tool in flex bison bc pahole make gcc; do
	command -v "$tool" >/dev/null ||
		die "$tool not found (Debian: flex bison bc dwarves build-essential libssl-dev libelf-dev)"
done
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
[ -f "$dir/.ready" ] && { cat "$dir/.ready"; exit 0; }

t0=$SECONDS
if [ ! -f "$dir/src/Makefile" ]; then
	say "downloading $pkg $ver"
	rm -rf "$dir/dl" "$dir/src"
	mkdir -p "$dir/dl" "$dir/src"
	(cd "$dir/dl" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1) ||
		die "apt-get download $pkg=$ver failed"
	dpkg-deb -x "$dir"/dl/*.deb "$dir/dl/x"
	say "unpacking"
	tar -xJf "$dir"/dl/x/usr/src/"$pkg".tar.xz -C "$dir/src" --strip-components=1
	rm -rf "$dir/dl"
fi

cd "$dir/src"
say "configuring: defconfig + kvm_guest.config + $(basename "$fragment")"
make -s defconfig >/dev/null
scripts/kconfig/merge_config.sh -m .config kernel/configs/kvm_guest.config "$fragment" >/dev/null
make -s olddefconfig >/dev/null
./scripts/config --set-str LOCALVERSION "$localversion" --disable LOCALVERSION_AUTO
make -s olddefconfig >/dev/null
# every option the fragment asks for must have survived olddefconfig
missing=$(grep -E '^CONFIG_[A-Z0-9_]+=' "$fragment" | while IFS= read -r want; do
	grep -qxF "$want" .config || echo "$want"
done)
[ -z "$missing" ] || die "the configuration does not resolve with: $(echo $missing)"

jobs=$(nproc)
say "building with -j$jobs (about 10 minutes on 2 cores)"
make -s -j"$jobs" bzImage modules >"$dir/build.log" 2>&1 || {
	tail -n 30 "$dir/build.log" >&2
	die "build failed (log: $dir/build.log)"
}
kver=$(make -s kernelrelease)
rm -rf "$dir/root"
mkdir -p "$dir/root/boot"
cp arch/x86/boot/bzImage "$dir/root/boot/vmlinuz-$kver"
cp .config "$dir/root/boot/config-$kver"
make -s INSTALL_MOD_PATH="$dir/root" INSTALL_MOD_STRIP=1 modules_install >/dev/null
depmod -b "$dir/root" "$kver"
say "built $kver in $((SECONDS - t0)) s"
echo "$kver $dir/root $dir/src" >"$dir/.ready"
cat "$dir/.ready"
