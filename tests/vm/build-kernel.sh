#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the VM suite's third kernel from Debian's linux-source-* with IOMMUFD and the VFIO device
# cdev, which no Debian kernel has. A lean kernel: allnoconfig with kernel/iommufd.config as
# KCONFIG_ALLCONFIG, so that only what the suite's guest needs is built (the fragment says why
# each option is there), every option of the fragment checked once olddefconfig has run.
#
#   build-kernel.sh               build (or find) it; print "KVER ROOT BUILD" on the last line
#
# MDG_KERNEL_SOURCE names the source package (default linux-source-6.12, which bookworm's apt
# lists offer). MDG_KERNEL_SUITE=SUITE takes it from another suite of the same archive (sid,
# say, for linux-source-7.2): the archive is the one apt already uses, its SUITE's InRelease is
# checked with gpgv against debian-archive-keyring, Packages.xz and the .deb against the SHA256
# sums that signed file gives; apt-helper downloads, so apt's own configuration applies.
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
suite=${MDG_KERNEL_SUITE-sid}
pkg=${MDG_KERNEL_SOURCE:-newest}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
localversion=-mdg-iommufd

say() {
	echo "[kernel] $*" >&2
}

die() {
	echo "[kernel] error: $*" >&2
	exit 2
}

[[ $pkg =~ ^(linux-source-[0-9]+\.[0-9]+|newest)$ ]] ||
	die "MDG_KERNEL_SOURCE=$pkg is neither linux-source-X.Y nor newest"
[[ $suite =~ ^[a-z-]*$ ]] || die "MDG_KERNEL_SUITE=$suite is not a suite name"
[ "$pkg" != newest ] || [ -n "$suite" ] || die "MDG_KERNEL_SOURCE=newest needs MDG_KERNEL_SUITE"

# The archive apt uses for the distribution itself (not its security archive).
archive() {
	local uri
	uri=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		tr ' ' '\n' | grep -v -- '-security' | grep -m1 . || true)
	[ -n "$uri" ] || uri=$(awk '$1 == "deb" && $2 !~ /^\[/ && $2 !~ /-security/ { print $2; exit }' \
		/etc/apt/sources.list 2>/dev/null || true)
	[ -n "$uri" ] || die "no archive in apt's sources to take $suite's $pkg from"
	echo "${uri%/}"
}

# pool_lookup DIR: downloads and checks SUITE's index into DIR; prints "PACKAGE VERSION FILENAME
# SHA256" of the newest pkg there (pkg "newest": of the newest linux-source-X.Y).
pool_lookup() {
	local dl=$1 base sum
	base=$(archive)
	/usr/lib/apt/apt-helper download-file "$base/dists/$suite/InRelease" "$dl/InRelease" \
		>/dev/null 2>&1 || die "cannot download $suite's InRelease from apt's archive"
	gpgv --keyring "$keyring" --output "$dl/Release" "$dl/InRelease" >/dev/null 2>&1 ||
		die "$suite's InRelease does not verify against $keyring"
	sum=$(awk '/^SHA256:/ { s = 1; next } /^[^ ]/ { s = 0 }
		s && $3 == "main/binary-all/Packages.xz" { print $1; exit }' "$dl/Release")
	[ -n "$sum" ] || die "$suite's Release lists no main/binary-all/Packages.xz"
	/usr/lib/apt/apt-helper download-file "$base/dists/$suite/main/binary-all/Packages.xz" \
		"$dl/Packages.xz" "SHA256:$sum" >/dev/null 2>&1 ||
		die "cannot download $suite's Packages.xz, or its SHA256 is not the signed one"
	xz -dc "$dl/Packages.xz" | awk -v p="$pkg" '
		/^Package: / {
			keep = p == "newest" ? $2 ~ /^linux-source-[0-9]+\.[0-9]+$/ : $2 == p
			n = $2; v = f = h = ""
		}
		keep && /^Version: / { v = $2 }
		keep && /^Filename: / { f = $2 }
		keep && /^SHA256: / { h = $2 }
		keep && /^$/ && v != "" { print n, v, f, h; keep = 0 }
		END { if (keep && v != "") print n, v, f, h }' | sort -V -k2,2 | tail -n 1
}

pool=
if [ -n "$suite" ]; then
	mkdir -p "$cache_root"
	pool=$(mktemp -d "$cache_root/.index.XXXXXX")
	trap 'rm -rf "$pool"' EXIT
	# on failure (said on stderr) ver stays empty: what was built before serves, if anything
	ver=
	read -r pool_pkg ver pool_file pool_sum < <(pool_lookup "$pool") || true
	[ -z "$ver" ] || pkg=$pool_pkg
else
	ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^  Candidate: //p' | grep -v '^(none)$' || true)
fi
frag_hash=$(sha256sum "$fragment" | cut -c1-12)
if [ -z "$ver" ]; then
	# no apt lists: the newest one built before, from this fragment if any was
	glob=$pkg
	[ "$pkg" != newest ] || glob=linux-source-*
	ready=$(ls -d "$cache_root"/${glob}_*-"$frag_hash"/.ready 2>/dev/null | sort -V | tail -n 1 ||
		true)
	[ -n "$ready" ] ||
		ready=$(ls -d "$cache_root"/${glob}_*/.ready 2>/dev/null | sort -V | tail -n 1 || true)
	hint=": apt-get update"
	[ -z "$suite" ] || hint=" (see above)"
	[ -n "$ready" ] || die "no $pkg ${suite:+in $suite }to be had and nothing cached under $cache_root$hint"
	dir=$(dirname "$ready")
	say "no $pkg ${suite:+in $suite }to be had; using $dir"
	cat "$dir/.ready"
	exit 0
fi
key=${pkg}_${ver//:/%3a}-$frag_hash
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
	if [ -n "$suite" ]; then
		/usr/lib/apt/apt-helper download-file "$(archive)/$pool_file" "$dir/dl/$pkg.deb" \
			"SHA256:$pool_sum" >/dev/null 2>&1 ||
			die "cannot download $pool_file, or its SHA256 is not the signed one"
	else
		(cd "$dir/dl" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1) ||
			die "apt-get download $pkg=$ver failed"
	fi
	dpkg-deb -x "$dir"/dl/*.deb "$dir/dl/x"
	say "unpacking"
	tar -xJf "$dir"/dl/x/usr/src/"$pkg".tar.xz -C "$dir/src" --strip-components=1
	rm -rf "$dir/dl"
fi

cd "$dir/src"
say "configuring: allnoconfig + $(basename "$fragment")"
make -s KCONFIG_ALLCONFIG="$fragment" allnoconfig >/dev/null
./scripts/config --set-str LOCALVERSION "$localversion" --disable LOCALVERSION_AUTO
make -s olddefconfig >/dev/null
# every option the fragment asks for must have survived olddefconfig
missing=$(grep -E '^CONFIG_[A-Z0-9_]+=' "$fragment" | while IFS= read -r want; do
	grep -qxF "$want" .config || echo "$want"
done)
[ -z "$missing" ] || die "the configuration does not resolve with: $(echo $missing)"

jobs=$(nproc)
say "building with -j$jobs (on 2 idle cores: about 11 minutes, longer beside the VM suite)"
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
