#!/usr/bin/env bash
# Installs what mdevguard needs from Debian's packages (idempotent) and builds it into build/.
# Usage: scripts/setup.sh [--deps-only] [BUILD_DIR]
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
deps_only=0
if [ "${1:-}" = "--deps-only" ]; then
	deps_only=1
	shift
fi
build=${1:-$src/build}

# Build: compiler, BPF toolchain, libraries. Tests: cmocka; clang-tidy and cppcheck; libFuzzer
# (bookworm's clang is 14, its runtimes are a package of their own); for the VM suite QEMU, a
# static busybox for the initramfs, kmod and cpio to assemble it, pahole for module BTF, jq and
# procps for the scenarios, systemd for the boot that runs it as PID 1, Debian's libvirt
# (daemon, virsh, systemd-machined) and mdevctl for the operator's stack in that boot, and
# what building a kernel from Debian's sources takes. (The build host refuses service starts
# from package scripts: libvirt's daemon starts only in the guest.) The Debian package (tests/package.sh):
# dpkg-buildpackage with debhelper, lintian, groff and man-db to render the man pages,
# bash-completion to try the completion. The Kubernetes manifest (tests/deploy.sh): python3-yaml.
pkgs=(
	build-essential cmake pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
	libjson-c-dev libsystemd-dev libxml2-dev libcmocka-dev
	clang-tidy cppcheck libclang-rt-14-dev
	qemu-system-x86 busybox-static kmod cpio dwarves jq procps systemd
	libvirt-daemon-system libvirt-clients systemd-container mdevctl
	flex bison bc libssl-dev
	dpkg-dev debhelper lintian groff-base man-db bash-completion
	python3-yaml
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "[setup] installing: ${missing[*]}"
	sudo_cmd=()
	[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
	"${sudo_cmd[@]}" apt-get update -q
	DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q \
		--no-install-recommends "${missing[@]}"
else
	echo "[setup] all packages present"
fi
[ "$deps_only" -eq 1 ] && exit 0

echo "[setup] building into $build"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
echo "[setup] built $build/mdevguard"
