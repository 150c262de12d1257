#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The VM suite: proves enforcement in Debian's own kernels, since a host may refuse BPF LSM.
# Boots each kernel under QEMU (TCG) with the host's root shared read-only over virtio-9p,
# runs tests/vm/guest/run-scenarios.sh in it, and reports one line per scenario per kernel.
# What it fetches or builds is cached: Debian's kernels and the cdev kernel per machine
# (MDG_KERNEL_CACHE), the rest under BUILD_DIR/vm.
set -euo pipefail

src_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
vm_src=$src_dir/tests/vm

usage() {
	cat <<EOF
usage: $0 BUILD_DIR [--kernel 6.1|6.12|cdev]... [--scenario NAME|GLOB]... [--timeout SEC]
                 [--shards N] [--quick]
       $0 --list

Boots Debian's newest 6.1 and 6.12 kernels and the suite's own kernel with IOMMUFD and the VFIO
device cdev (or the ones named with --kernel) under QEMU and runs the VM scenarios against
BUILD_DIR/mdevguard and BUILD_DIR/tests/vm/mdg-vfio-client.

  --kernel SERIES     6.1, 6.12 or cdev (built by build-kernel.sh from the newest Debian
                      kernel source, see MDG_KERNEL_SOURCE in README.md; cached under
                      MDG_KERNEL_CACHE); repeatable; default all three
  --scenario NAME     run only these scenarios (names or globs); repeatable; default all
  --timeout SEC       host-side limit per kernel boot (default 120 s + 45 s per scenario,
                      env MDG_VM_TIMEOUT)
  --shards N          split each kernel's scenarios over N guests (not systemd's; env
                      MDG_VM_SHARDS, default the number of cores, at most 9); as many
                      guests run at once as there are cores (MDG_VM_JOBS), the longest first
  --quick             the inner loop: 6.12's kernel-side scenarios (not those of user space
                      alone, the fault matrix or the bench) over two guests
  --list              print the scenario names and exit

Console logs: BUILD_DIR/vm/<guest>/console.log, a guest being a kernel series, or SERIES-K
for its K-th shard. Exit status 0 only if every scenario passed.
EOF
}

say() {
	echo "[vm] $*"
}

die() {
	echo "[vm] error: $*" >&2
	exit 2
}

# parse_args ARG...: sets build_dir, kernels, scenarios, boot_timeout, accel, boot_watchdog.
parse_args() {
	build_dir=
	kernels=()
	scenarios=()
	boot_timeout=${MDG_VM_TIMEOUT:-}
	# One host thread for both vCPUs: multi-threaded TCG was slower on this 2-core machine and
	# once died at boot on an int3 left by the kernel's cross-CPU code patching (a TCG hazard).
	accel=${MDG_VM_ACCEL:-tcg,thread=single}
	boot_watchdog=${MDG_VM_BOOT_WATCHDOG:-90}
	shards=${MDG_VM_SHARDS:-$(nproc)}
	[ "$shards" -le 9 ] 2>/dev/null || shards=9
	quick=0
	while [ $# -gt 0 ]; do
		case $1 in
		--shards)
			if [ $# -lt 2 ] || ! [[ $2 =~ ^[1-9]$ ]]; then
				die "--shards needs a number from 1 to 9"
			fi
			shards=$2
			shift 2
			;;
		--quick)
			quick=1
			shift
			;;
		--kernel)
			[ $# -ge 2 ] || die "--kernel needs 6.1, 6.12, systemd or cdev"
			case $2 in
			6.1 | 6.12 | systemd | cdev) kernels+=("$2") ;;
			*) die "--kernel $2: only 6.1, 6.12, systemd and cdev are known" ;;
			esac
			shift 2
			;;
		--scenario)
			[ $# -ge 2 ] || die "--scenario needs a name"
			scenarios+=("$2")
			shift 2
			;;
		--timeout)
			if [ $# -lt 2 ] || ! [[ $2 =~ ^[0-9]+$ ]]; then
				die "--timeout needs seconds"
			fi
			boot_timeout=$2
			shift 2
			;;
		--list)
			MDG_KERNEL_CDEV=1 MDG_LIST_ALL=1 bash "$vm_src/guest/run-scenarios.sh" --list-all
			exit 0
			;;
		-h | --help)
			usage
			exit 0
			;;
		-*)
			usage >&2
			die "unknown option $1"
			;;
		*)
			[ -z "$build_dir" ] || die "one BUILD_DIR only (got $build_dir and $1)"
			build_dir=$1
			shift
			;;
		esac
	done
	[ -n "$build_dir" ] || { usage >&2; exit 2; }
	[ -d "$build_dir" ] || die "BUILD_DIR $build_dir does not exist: run cmake --build first"
	build_dir=$(cd "$build_dir" && pwd)
	[[ $shards =~ ^[1-9]$ ]] || die "MDG_VM_SHARDS=$shards: a number from 1 to 9"
	if [ "$quick" = 1 ]; then
		[ ${#kernels[@]} -eq 0 ] || die "--quick chooses its kernel (6.12)"
		kernels=(6.12)
		[ -n "${MDG_VM_SHARDS:-}" ] || shards=2
	fi
	[ ${#kernels[@]} -gt 0 ] || kernels=(6.1 6.12 systemd cdev)
	case $build_dir in
	/proc/* | /sys/* | /dev/*) die "BUILD_DIR must be on a disk the guest can see over 9p" ;;
	esac

}

# preflight: tools, build products, the scenario plan, the cache directory.
preflight() {
	for tool in qemu-system-x86_64 busybox dpkg-deb depmod modprobe cpio make apt-get apt-cache \
		timeout; do
		command -v "$tool" >/dev/null ||
			die "$tool not found (Debian: qemu-system-x86 busybox-static kmod cpio make apt)"
	done
	# the initramfs has no libc: busybox must be the static build
	if ldd "$(command -v busybox)" >/dev/null 2>&1; then
		die "$(command -v busybox) is dynamically linked: install busybox-static"
	fi

	client=$build_dir/tests/vm/mdg-vfio-client
	[ -x "$client" ] || die "$client missing: run cmake --build $build_dir first"
	[ -x "$build_dir/mdevguard" ] ||
		say "warning: $build_dir/mdevguard missing: the enforcement scenarios will fail"

	scenario_filter=$(IFS=,; echo "${scenarios[*]:-}")
	known=$(MDG_KERNEL_CDEV=1 MDG_LIST_ALL=1 bash "$vm_src/guest/run-scenarios.sh" --list-all)
	for pat in "${scenarios[@]}"; do
		matched=0
		while read -r name; do
			# shellcheck disable=SC2053
			[[ $name == $pat ]] && matched=1
		done <<<"$known"
		[ "$matched" -eq 1 ] || die "--scenario $pat matches no scenario (see --list)"
	done
	# the user-space-only scenarios on one kernel: 6.1, whose plan is the shortest, if it boots
	once_series=
	[ "$quick" = 1 ] ||
		for series in 6.1 6.12 cdev; do
			[[ " ${kernels[*]} " == *" $series "* ]] && { once_series=$series; break; }
		done
	# the cdev scenarios are planned for the kernel that has the cdev only
	declare -gA plans
	for series in "${kernels[@]}"; do
		plans[$series]=$(MDG_SERIES=$series MDG_KERNEL_CDEV=$(has_cdev "$series") \
			MDG_ONCE=$(is_once "$series") MDG_QUICK=$quick MDG_SCENARIOS=$scenario_filter \
			bash "$vm_src/guest/run-scenarios.sh" --list)
	done
	load_secs
	split_guests
	# the service built with the sanitizers, for the scenario that runs it
	if printf '%s\n' "${plans[@]}" | grep -qx asan-service; then
		bash "$src_dir/tests/sanitize.sh" --build-only "$build_dir" ||
			die "cannot build the ASan service (tests/sanitize.sh --build-only $build_dir)"
	fi
	# the Debian package, for the scenarios under systemd that install it
	deb=
	if [ -n "${plans[systemd]:-}" ]; then
		deb=$(ls "$build_dir"/pkg/mdevguard_*_amd64.deb 2>/dev/null | tail -n 1 || true)
		# none yet, or older than the binary, the unit, the hook or the packaging
		if [ -z "$deb" ] || [ -n "$(find "$build_dir/mdevguard" "$src_dir/dist" \
			"$src_dir/debian" "$src_dir/man" -newer "$deb" 2>/dev/null | head -n 1)" ]; then
			say "building the Debian package for the systemd scenarios (tests/package.sh)"
			bash "$src_dir/tests/package.sh" "$build_dir" >"$build_dir/package.log" 2>&1 ||
				say "tests/package.sh failed (see $build_dir/package.log)"
			deb=$(ls "$build_dir"/pkg/mdevguard_*_amd64.deb 2>/dev/null | tail -n 1 || true)
		fi
	fi
	# only a guest whose kernel hangs should meet this: scenarios have their own limits
	if [ -z "$boot_timeout" ]; then
		boot_timeout=0
		for guest in "${guests[@]}"; do
			n=$((120 + 45 * $(wc -l <<<"${gplans[$guest]}")))
			[ "$n" -le "$boot_timeout" ] || boot_timeout=$n
		done
	fi

	vm_dir=$build_dir/vm
	# Debian's kernels, downloaded and unpacked once per machine (every clone's run shares
	# them, as it shares the cdev kernel), or per build directory where that cannot be written.
	cache=${MDG_KERNEL_CACHE:-/var/cache/mdevguard-vm}/debian
	mkdir -p "$cache/debs" 2>/dev/null && [ -w "$cache" ] || cache=$vm_dir/cache
	mkdir -p "$cache/debs"
}

# ---- kernels --------------------------------------------------------------------------------

has_cdev() {
	[ "$1" = cdev ] && echo 1 || echo 0
}

# The kernel series a guest boots: SERIES, or SERIES-K for its K-th shard.
series_of() {
	echo "${1%-[0-9]}"
}

# split_guests: the guests of the run (guests, in the kernels' order) and the plan of each
# (gplans). A kernel split in shards deals its scenarios out longest first, each to the shard
# with the least so far (their lengths from the last run's console logs, 10 s for one never
# timed); every shard boots (boot) and checks the kernel it leaves behind (maps-empty,
# kernel-log-clean). Each shard keeps the plan's order.
split_guests() {
	local series n k name t best
	local -a plan load
	local -A shard_of
	declare -gA gplans
	guests=()
	for series in "${kernels[@]}"; do
		n=$shards
		[ "$series" != systemd ] || n=1
		mapfile -t plan <<<"${plans[$series]}"
		if [ "$n" -eq 1 ] || [ ${#plan[@]} -lt $((2 * n)) ]; then
			guests+=("$series")
			gplans[$series]=${plans[$series]}
			continue
		fi
		for ((k = 1; k <= n; k++)); do
			guests+=("$series$([ "$k" -eq 1 ] || echo "-$k")")
			load[k]=0
		done
		shard_of=()
		while read -r t name; do
			best=1
			for ((k = 2; k <= n; k++)); do
				[ "${load[k]}" -lt "${load[best]}" ] && best=$k
			done
			shard_of[$name]=$best
			load[best]=$((load[best] + t))
		done < <(for name in "${plan[@]}"; do
			case $name in
			boot | maps-empty | kernel-log-clean) ;;
			*) echo "$(secs_of "$series" "$name") $name" ;;
			esac
		done | sort -k1,1nr -k2,2)
		for name in "${plan[@]}"; do
			case $name in
			boot | maps-empty | kernel-log-clean)
				for ((k = 1; k <= n; k++)); do
					shard_add "$series" "$k" "$name"
				done
				;;
			*) shard_add "$series" "${shard_of[$name]}" "$name" ;;
			esac
		done
	done
}

shard_add() {
	local guest=$1
	[ "$2" -eq 1 ] || guest=$1-$2
	gplans[$guest]+=${gplans[$guest]:+$'\n'}$3
}

# How long a scenario takes on a series, in seconds: as in its last run here (the guests'
# console logs), else as measured on a machine of the CI's kind (tests/vm/scenario-times),
# else 10.
declare -A known_secs
load_secs() {
	local series name t
	for series in "${kernels[@]}"; do
		while read -r name t; do
			known_secs[$series/$name]=$t
		done < <(awk -v s="$series" '$1 == s { print $2, $3 }' "$vm_src/scenario-times" \
				2>/dev/null
			cat "$build_dir/vm/$series"{,-[0-9]}/console.log 2>/dev/null |
				awk '$1 == "MDG-TIME" { printf "%s %d\n", $2, $3 + 0.5 }')
	done
}

secs_of() {
	echo "${known_secs[$1/$2]:-10}"
}

# The guest's expected length in seconds.
estimate() {
	local name t=0
	while read -r name; do
		t=$((t + $(secs_of "$(series_of "$1")" "$name")))
	done <<<"${gplans[$1]}"
	echo "$t"
}

is_once() {
	[ "$1" = "$once_series" ] && echo 1 || echo 0
}

# The cdev kernel is built, not downloaded: started in the background at once (it takes about
# ten minutes cold), waited for when its turn to boot comes.
start_kernel_build() {
	mkdir -p "$vm_dir/cdev"
	say "kernel cdev: building (or finding cached) with build-kernel.sh, in the background"
	nice -n 10 bash "$vm_src/build-kernel.sh" >"$vm_dir/cdev/build-kernel.log" 2>&1 &
	kernel_build_pid=$!
}

# wait_kernel_build: sets kver, kroot, kbuild of the built kernel; fails if the build did.
wait_kernel_build() {
	local rc=0 t0=$SECONDS
	wait "$kernel_build_pid" || rc=$?
	sed 's/^/[vm]   /' "$vm_dir/cdev/build-kernel.log" | grep -v '^\[vm\]   [0-9]' >&2 || true
	[ "$rc" -eq 0 ] || { say "kernel cdev: build failed (exit $rc)"; return 1; }
	read -r kver kroot kbuild < <(tail -n 1 "$vm_dir/cdev/build-kernel.log")
	[ -f "$kroot/boot/vmlinuz-$kver" ] || { say "kernel cdev: no vmlinuz in $kroot"; return 1; }
	say "kernel cdev: $kver ($kroot; waited $((SECONDS - t0)) s)"
}

image_pattern() {
	case $1 in
	6.1) echo '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' ;;
	# systemd: Debian's 6.12 again, booted with systemd as PID 1
	6.12 | systemd) echo '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' ;;
	esac
}

candidate_version() {
	apt-cache policy "$1" 2>/dev/null | sed -n 's/^  Candidate: //p' | grep -v '^(none)$' || true
}

# The newest image package of the series that the archive offers.
newest_image() {
	local pkg
	apt-cache search --names-only "$(image_pattern "$1")" 2>/dev/null | cut -d' ' -f1 |
		sort -rV | while read -r pkg; do
		if [ -n "$(candidate_version "$pkg")" ]; then
			echo "$pkg"
			break
		fi
	done
}

# The newest kernel of the series already unpacked in the cache: for a machine whose apt
# lists are missing or stale, or that has lost the network.
newest_cached() {
	local dir kver
	for dir in "$cache"/*/.ready; do
		[ -e "$dir" ] || continue
		kver=$(basename "$(dirname "$dir")")
		[[ linux-image-$kver-unsigned =~ $(image_pattern "$1") ]] && echo "$kver"
	done | sort -V | tail -n 1
}

deb_file() {
	local pkg=$1 ver=$2
	echo "$cache/debs/${pkg}_${ver//:/%3a}_$(dpkg --print-architecture).deb"
}

cached_deb() {
	local pkg=$1 ver=$2 f
	for f in "$(deb_file "$pkg" "$ver")" "$cache/debs/${pkg}_${ver//:/%3a}_all.deb"; do
		[ -f "$f" ] && { echo "$f"; return 0; }
	done
	return 1
}

# fetch_debs PKG...: every package's candidate .deb in the cache; prints their paths.
fetch_debs() {
	local pkg ver f tmp
	local -a missing=() files=()
	for pkg in "$@"; do
		ver=$(candidate_version "$pkg")
		[ -n "$ver" ] || die "apt knows no package $pkg: run apt-get update"
		if f=$(cached_deb "$pkg" "$ver"); then
			files+=("$f")
		else
			missing+=("$pkg=$ver")
		fi
	done
	if [ ${#missing[@]} -gt 0 ]; then
		tmp=$(mktemp -d "$cache/debs/.dl.XXXXXX")
		if ! (cd "$tmp" && apt-get download -q "${missing[@]}") >"$tmp.log" 2>&1; then
			cat "$tmp.log" >&2
			rm -rf "$tmp" "$tmp.log"
			die "apt-get download ${missing[*]} failed"
		fi
		mv "$tmp"/*.deb "$cache/debs/"
		rm -rf "$tmp" "$tmp.log"
		for pkg in "${missing[@]}"; do
			f=$(cached_deb "${pkg%%=*}" "${pkg#*=}") ||
				die "apt-get download left no .deb for $pkg"
			files+=("$f")
		done
	fi
	printf '%s\n' "${files[@]}"
}

# Depends of the headers package: its -common sibling and the kbuild package.
header_deps() {
	apt-cache show --no-all-versions "$1" | sed -n 's/^Depends: //p' | tr ',' '\n' |
		sed 's/^ *//; s/ .*//' | grep -E '^linux-(headers-.*-common|kbuild-.*)$'
}

# prepare_kernel SERIES INDEX COUNT: sets kver and kroot (unpacked, depmod'ed root); one run
# at a time prepares the shared cache.
prepare_kernel() {
	local lock rc=0
	exec {lock}>"$cache/.lock"
	flock "$lock"
	prepare_kernel_locked "$@" || rc=$?
	exec {lock}>&-
	return "$rc"
}

prepare_kernel_locked() {
	local series=$1 idx=$2 count=$3 image hdr root f
	local -a pkgs debs
	image=$(newest_image "$series")
	if [ -z "$image" ] && [ -z "$(newest_cached "$series")" ] && [ "$(id -u)" -eq 0 ] &&
		[ "$apt_updated" -eq 0 ]; then
		say "apt knows no $series kernel: apt-get update"
		apt-get update -q >/dev/null || true
		apt_updated=1
		image=$(newest_image "$series")
	fi
	if [ -z "$image" ]; then
		kver=$(newest_cached "$series")
		[ -n "$kver" ] ||
			die "apt offers no $(image_pattern "$series") and none is cached: run apt-get update"
		say "kernel $idx of $count: apt offers no $series image; using cached $kver"
		kroot=$cache/$kver/root
		return
	fi
	kver=${image#linux-image-}
	kver=${kver%-unsigned}
	kroot=$cache/$kver/root
	if [ -f "$cache/$kver/.ready" ]; then
		say "kernel $idx of $count: $kver (cached)"
		return
	fi

	hdr=linux-headers-$kver
	mapfile -t pkgs < <(echo "$image"; echo "$hdr"; header_deps "$hdr")
	[ ${#pkgs[@]} -eq 4 ] || die "unexpected dependencies of $hdr: ${pkgs[*]}"
	say "downloading kernel $idx of $count: ${pkgs[*]}"
	mapfile -t debs < <(fetch_debs "${pkgs[@]}")
	[ ${#debs[@]} -eq 4 ] || die "download of $kver incomplete"

	say "unpacking $kver"
	root=$cache/$kver
	rm -rf "$root"
	mkdir -p "$root/root"
	for f in "${debs[@]}"; do
		dpkg-deb -x "$f" "$root/root"
	done
	# Debian's headers Makefile includes the -common tree by its installed, absolute path.
	sed -i "s|^include /usr/src/|include $root/root/usr/src/|" \
		"$root/root/usr/src/linux-headers-$kver/Makefile"
	depmod -b "$root/root" "$kver"
	printf '%s\n' "${debs[@]##*/}" >"$root/.ready"
}

# ---- fixture and initramfs ------------------------------------------------------------------

build_fixture() {
	local series=$1 kver=$2 kroot=$3 kbuild=${4:-} out f
	out=$vm_dir/$series/fixture
	mkdir -p "$out"
	# sources copied (not symlinked): 6.1's kbuild writes its objects next to them
	for f in Kbuild Makefile mdg_fixture.c mdg_vgpu.c; do
		cmp -s "$vm_src/fixture/$f" "$out/$f" || cp "$vm_src/fixture/$f" "$out/$f"
	done
	say "building fixture for $kver"
	[ -n "$kbuild" ] || kbuild=$kroot/usr/src/linux-headers-$kver
	if ! make -C "$kbuild" M="$out" modules >"$out/build.log" 2>&1
	then
		tail -n 20 "$out/build.log" | sed 's/^/[vm]   /'
		say "fixture build failed for $kver (log: $out/build.log)"
		rm -f "$out/mdg_fixture.ko" "$out/mdg_vgpu.ko"
		return 1
	fi
	grep -E 'warning|error' "$out/build.log" | grep -v 'Skipping BTF' | sed 's/^/[vm]   /' || true
}

# Modules /init needs before the root exists, in load order.
initramfs_modules() {
	local kver=$1 kroot=$2 series=${3:-} m extra=
	# under systemd the root is an overlay over the 9p root
	[ "$series" = systemd ] && extra=overlay
	for m in virtio_pci 9pnet_virtio 9p $extra; do
		modprobe -d "$kroot" -S "$kver" --show-depends "$m"
	done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }'
}

build_initramfs() {
	local guest=$1 kver=$2 kroot=$3 stage ko name series filter
	series=$(series_of "$guest")
	filter=$scenario_filter
	# a shard runs its own part of the plan
	[ "$guest" = "$series" ] && [ "${plans[$series]}" = "${gplans[$guest]}" ] ||
		filter=$(tr '\n' , <<<"${gplans[$guest]}")
	stage=$vm_dir/$guest/initramfs
	rm -rf "$stage"
	mkdir -p "$stage/bin" "$stage/modules"
	cp "$(command -v busybox)" "$stage/bin/busybox"
	ln -s busybox "$stage/bin/sh"
	cp "$vm_src/guest/init" "$stage/init"
	chmod 0755 "$stage/init"
	: >"$stage/modules/order"
	while read -r ko; do
		name=$(basename "$ko")
		# busybox insmod takes plain ELF: unpack what kmod would have unpacked
		case $name in
		*.ko.xz) busybox xzcat "$ko" >"$stage/modules/${name%.xz}"; name=${name%.xz} ;;
		*.ko.zst) zstd -qdc "$ko" >"$stage/modules/${name%.zst}"; name=${name%.zst} ;;
		*.ko) cp "$ko" "$stage/modules/$name" ;;
		*) die "unexpected module file $ko" ;;
		esac
		echo "$name" >>"$stage/modules/order"
	done < <(initramfs_modules "$kver" "$kroot" "$series")
	cat >"$stage/mdg.env" <<EOF
MDG_SERIES='$series'
MDG_KVER='$kver'
MDG_MODROOT='$kroot'
MDG_BUILD_DIR='$build_dir'
MDG_SRC_DIR='$src_dir'
MDG_FIXTURE_KO='$vm_dir/$series/fixture/mdg_fixture.ko'
MDG_VGPU_KO='$vm_dir/$series/fixture/mdg_vgpu.ko'
MDG_SCENARIOS='$filter'
MDG_SCENARIO_TIMEOUT='${MDG_SCENARIO_TIMEOUT:-180}'
MDG_READY_TIMEOUT='${MDG_READY_TIMEOUT:-120}'
MDG_KERNEL_CDEV='$(has_cdev "$series")'
MDG_ONCE='$(is_once "$series")'
MDG_QUICK='$quick'
MDG_VERIFIER_LOG='${MDG_VERIFIER_LOG:-}'
MDG_VERIFIER_GREP='${MDG_VERIFIER_GREP:-}'
MDG_BENCH_ROUNDS='${MDG_BENCH_ROUNDS:-2}'
MDG_BENCH_WARMUP='${MDG_BENCH_WARMUP:-0}'
MDG_BENCH_OPS='${MDG_BENCH_OPS:-500}'
MDG_ACCEL='$accel'
MDG_INIT='$([ "$series" = systemd ] && echo systemd)'
MDG_DEB='$deb'
EOF
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) \
		>"$vm_dir/$guest/initramfs.cpio"
}

# The kernel's built-in LSM order, with bpf guaranteed: our lsm= replaces the default.
lsm_list() {
	local kroot=$1 kver=$2 def
	def=$(sed -n 's/^CONFIG_LSM="\(.*\)"$/\1/p' "$kroot/boot/config-$kver")
	case ,$def, in
	*,bpf,*) ;;
	*) say "note: CONFIG_LSM of $kver ($def) lacks bpf; lsm= adds it" ;;
	esac
	echo "lockdown,capability,landlock,yama,apparmor,bpf"
}

# ---- boot and collect -----------------------------------------------------------------------

# follow_console SERIES SCRATCH: the guest's MDG-* lines become progress on the terminal.
follow_console() {
	local series=$1 results=$2 line l
	local -a w logbuf=()
	while IFS= read -r line; do
		read -r -a w <<<"$line" || true
		case $line in
		MDG-PROGRESS\ *)
			say "$series: scenario ${w[1]} of ${w[2]}: ${w[3]}"
			;;
		MDG-TIME\ *)
			echo "${w[1]} ${w[2]}" >>"$results.time"
			;;
		MDG-RESULT\ *)
			for l in "${logbuf[@]}"; do
				echo "[vm] $series:   $l"
			done
			logbuf=()
			say "$series: ${w[1]} ${w[2]}$(awk -v n="${w[2]}" \
				'$1 == n { printf " (%s s)", $2; exit }' "$results.time" 2>/dev/null)"
			;;
		MDG-INFO\ *)
			say "$series:   ${line#MDG-INFO }"
			;;
		MDG-FATAL\ *)
			say "$series: guest: ${line#MDG-FATAL }"
			;;
		MDG-LOG\ *)
			# the whole log is in console.log; the terminal gets its end
			logbuf+=("${line#MDG-LOG }")
			[ ${#logbuf[@]} -le 6 ] || logbuf=("${logbuf[@]:1}")
			;;
		esac
	done
}

# qemu_once SERIES KVER KROOT CONSOLE: one boot, its status returned. A watchdog kills a guest
# that has not reached stage2 within $boot_watchdog s, so that a stalled boot is retried
# instead of eating the whole time limit. QEMU writes the console to a regular file, which
# never pushes back: the one stall seen here was with the console on a pipe.
qemu_once() {
	local series=$1 kver=$2 kroot=$3 console=$4 out lsm rc=0 wd qpid
	out=$vm_dir/$series
	# a shard boots its series' kernel
	series=$(series_of "$series")
	lsm=$(lsm_list "$kroot" "$kver")
	rm -f "$out/qemu.pid" "$out/watchdog.fired"
	: >"$console"
	# q35 with an emulated IOMMU gives the guest IOMMU groups, so that a real PCI device (QEMU's
	# edu) can be bound to vfio-pci next to the mdevs; iommu=pt keeps the guest's own devices
	# (virtio-9p) out of translation. Four pci-testdev functions (1b36:0005), each in a group
	# of its own, are the vGPU functions the mdg_vgpu fixture is bound to (guest/lib.sh).
	timeout -k 10 "$boot_timeout" qemu-system-x86_64 \
		-accel "$accel" -cpu max -smp 2 -m 2048 -nographic -no-reboot \
		-machine q35,kernel-irqchip=split -device intel-iommu,intremap=on -device edu \
		-device pci-testdev -device pci-testdev -device pci-testdev -device pci-testdev \
		-pidfile "$out/qemu.pid" \
		-kernel "$kroot/boot/vmlinuz-$kver" \
		-initrd "$out/initramfs.cpio" \
		-append "console=ttyS0 lsm=$lsm panic=-1 mitigations=off intel_iommu=on iommu=pt no_timer_check rcupdate.rcu_cpu_stall_timeout=300$([ "$series" = systemd ] && echo " systemd.show_status=false")" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-nic none </dev/null >"$console" 2>&1 &
	qpid=$!
	(
		for ((t = 0; t < boot_watchdog; t++)); do
			sleep 1
			grep -q '^MDG-VM stage2' "$console" && exit 0
		done
		touch "$out/watchdog.fired"
		[ -s "$out/qemu.pid" ] && kill "$(cat "$out/qemu.pid")" 2>/dev/null
		exit 0
	) &
	wd=$!
	tail -n +1 -s 0.2 -f --pid="$qpid" "$console" | tr -d '\r' |
		follow_console "${out##*/}" "$out/results.live"
	wait "$qpid" || rc=$?
	kill "$wd" 2>/dev/null || true
	wait "$wd" 2>/dev/null || true
	sed -i 's/\r$//' "$console"
	# the console file, not what tail happened to pass on, is the record
	sed -n 's/^MDG-RESULT //p' "$console" >"$out/results"
	# the bench scenario's tables (tests/bench/README.md)
	if grep -q '^MDG-INFO bench\.md| ' "$console"; then
		sed -n 's/^MDG-INFO bench\.md| //p' "$console" >"$out/bench.md"
		sed -n 's/^MDG-INFO bench\.json| //p' "$console" >"$out/bench.json"
	fi
	rm -f "$out/results.live" "$out/results.live.time"
	return "$rc"
}

# boot SERIES KVER KROOT: runs the guest, records results in $vm_dir/SERIES/results.
boot() {
	local series=$1 kver=$2 kroot=$3 out console rc t0 attempt
	out=$vm_dir/$series
	console=$out/console.log
	rm -f "$out"/console.attempt*.log
	for attempt in 1 2 3; do
		say "booting $series ($kver), console: $console"
		t0=$SECONDS
		rc=0
		qemu_once "$series" "$kver" "$kroot" "$console" || rc=$?
		if [ -e "$out/watchdog.fired" ]; then
			cp "$console" "$out/console.attempt$attempt.log"
			say "$series: no stage2 after ${boot_watchdog} s: guest hung at boot" \
				"(console.attempt$attempt.log), attempt $attempt of 3"
			rc=125
			continue
		fi
		break
	done
	case $rc in
	0) say "$series: guest powered off after $((SECONDS - t0)) s" ;;
	124 | 137) say "$series: guest killed after the ${boot_timeout} s limit" ;;
	125) say "$series: guest never booted" ;;
	*) say "$series: qemu exited with $rc after $((SECONDS - t0)) s" ;;
	esac
	echo "$rc" >"$out/qemu.rc"
}

# boot_slot: returns once fewer guests run than may. Each guest is one host thread (TCG,
# single-threaded), so as many run at once as there are cores (MDG_VM_JOBS), but only one while
# the cdev kernel is being built: a second guest at normal priority would starve the build
# (nice 10), which is the longest step of a cold run. Results are reported in the kernels'
# order whatever order the guests end in.
boot_slot() {
	local max pid live
	while :; do
		max=${MDG_VM_JOBS:-$(nproc)}
		[ -n "${kernel_build_pid:-}" ] && kill -0 "$kernel_build_pid" 2>/dev/null && max=1
		live=()
		for pid in "${booting[@]}"; do
			kill -0 "$pid" 2>/dev/null && live+=("$pid")
		done
		booting=("${live[@]}")
		[ "${#booting[@]}" -lt "$max" ] && return 0
		wait -n "${booting[@]}" 2>/dev/null || true
	done
}

# A function read whole before it runs: editing this file during a run cannot derail it.
main() {
	parse_args "$@"
	preflight
	apt_updated=0
	count=${#kernels[@]}
	declare -A kvers kroots kbuilds
	i=0
	for series in "${kernels[@]}"; do
		[ "$series" = cdev ] && start_kernel_build
	done
	for series in "${kernels[@]}"; do
		i=$((i + 1))
		mkdir -p "$vm_dir/$series"
		rm -f "$vm_dir/$series/kernel" "$vm_dir/$series/qemu.rc" "$vm_dir/$series/results"
		[ "$series" = cdev ] && continue
		# A kernel that cannot be had fails its scenarios; the other one still runs. In the
		# background so that set -e holds inside (a condition would switch it off).
		(
			prepare_kernel "$series" "$i" "$count"
			echo "$kver $kroot" >"$vm_dir/$series/kernel"
		) &
		if wait $!; then
			read -r kvers["$series"] kroots["$series"] <"$vm_dir/$series/kernel"
		else
			say "$series: no kernel to boot"
			echo unavailable >"$vm_dir/$series/qemu.rc"
		fi
	done

	start=$SECONDS
	booting=()
	# The longest guests first, so that the two slots end together; the cdev kernel's last, as
	# they may wait for its build.
	mapfile -t order < <(for guest in "${guests[@]}"; do
		printf '%d %d %s\n' "$([ "$(series_of "$guest")" = cdev ] && echo 1 || echo 0)" \
			"$(estimate "$guest")" "$guest"
	done | sort -k1,1n -k2,2nr | cut -d' ' -f3)
	declare -A fixture_built
	for guest in "${order[@]}"; do
		series=$(series_of "$guest")
		mkdir -p "$vm_dir/$guest"
		# a series' own guest keeps what the kernels' preparation said of it
		[ "$guest" = "$series" ] || rm -f "$vm_dir/$guest/qemu.rc" "$vm_dir/$guest/results"
		if [ "$series" = cdev ] && [ -z "${kvers[cdev]:-}" ] &&
			[ "$(cat "$vm_dir/cdev/qemu.rc" 2>/dev/null)" != unavailable ]; then
			if wait_kernel_build; then
				kvers[cdev]=$kver
				kroots[cdev]=$kroot
				kbuilds[cdev]=$kbuild
			else
				echo unavailable >"$vm_dir/cdev/qemu.rc"
			fi
		fi
		if [ -z "${kvers[$series]:-}" ]; then
			echo unavailable >"$vm_dir/$guest/qemu.rc"
			continue
		fi
		[ -n "${gplans[$guest]}" ] || continue
		if [ -z "${fixture_built[$series]:-}" ]; then
			build_fixture "$series" "${kvers[$series]}" "${kroots[$series]}" \
				"${kbuilds[$series]:-}" || true
			fixture_built[$series]=1
		fi
		build_initramfs "$guest" "${kvers[$series]}" "${kroots[$series]}"
		boot_slot
		boot "$guest" "${kvers[$series]}" "${kroots[$series]}" &
		booting+=($!)
	done
	wait "${booting[@]}" 2>/dev/null || true

	# Every planned scenario gets a line; one the guest never reported is a failure.
	passed=0
	failed=0
	summary=()
	for guest in "${guests[@]}"; do
		[ -n "${gplans[$guest]}" ] || continue
		qrc=$(cat "$vm_dir/$guest/qemu.rc" 2>/dev/null || echo unavailable)
		mapfile -t plan <<<"${gplans[$guest]}"
		for name in "${plan[@]}"; do
			line=
			[ -f "$vm_dir/$guest/results" ] &&
				line=$(awk -v n="$name" '$2 == n { print; exit }' "$vm_dir/$guest/results")
			if [ -z "$line" ]; then
				case $qrc in
				unavailable)
					why="no $(series_of "$guest") kernel: download or unpacking failed (see above)"
					;;
				124 | 137) why="guest timed out (${boot_timeout} s) before it" ;;
				125) why="kernel hung at boot 3 times (see $vm_dir/$guest/console.attempt*.log)" ;;
				*) why="guest stopped before it (qemu exit $qrc; see $vm_dir/$guest/console.log)" ;;
				esac
				if [ "$qrc" != 125 ] && [ "$qrc" != unavailable ] &&
					! grep -q '^MDG-PLAN' "$vm_dir/$guest/console.log"; then
					why="kernel did not boot to the scenarios (see $vm_dir/$guest/console.log)"
				fi
				line="FAIL $name $why"
			fi
			if [ "${line%% *}" = PASS ]; then
				passed=$((passed + 1))
				summary+=("PASS $guest $name")
			else
				failed=$((failed + 1))
				summary+=("FAIL $guest $name ${line#FAIL "$name" }")
			fi
		done
	done
	say "done in $((SECONDS - start)) s of booting"
	printf '%s\n' "${summary[@]}"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

main "$@"
