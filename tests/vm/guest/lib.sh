# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Helpers for the guest scenarios, sourced by run-scenarios.sh. A scenario runs in its own
# bash process: fail() ends that process, and the EXIT trap cleans up whatever it started.

MDG_BIN=${MDG_BUILD_DIR}/mdevguard
MDG_CLIENT=${MDG_BUILD_DIR}/tests/vm/mdg-vfio-client
BPFTOOL=${BPFTOOL:-/usr/sbin/bpftool}
PIN_DIR=/sys/fs/bpf/mdevguard
PARENT=mdg_fixture
PARENT_DIR=/sys/class/mdev_bus/$PARENT
TYPES_DIR=$PARENT_DIR/mdev_supported_types
MDEV_DEVICES=/sys/bus/mdev/devices

# The fixture's types, by the index that uuid() puts in a device's first field.
declare -A TYPE_INDEX=([single]=1 [single-b]=2 [multi]=3 [plain]=4 [odd]=5)

# Set by the runner for each scenario.
WORK=${WORK:-/tmp/mdg/scratch}
RESULT_FILE=${RESULT_FILE:-$WORK/result}
INFO_FILE=${INFO_FILE:-$WORK/info}

SVC_PID=
SVC_LOG=
BG_PIDS=()
TRANSIENT_MDEVS=()
nclient=0

# Every fork and exec costs ~0.1 s under TCG: helpers stay with bash builtins where they can.
log() {
	printf '[%(%T)T] %s\n' -1 "$*"
}

# Lines for the console (the runner prints them as MDG-INFO): facts worth a report.
info() {
	echo "$*" >>"$INFO_FILE"
}

fail() {
	local line
	# the service's last words, when this scenario started it
	if [ -n "${SVC_LOG:-}" ] && [ -s "$SVC_LOG" ]; then
		tail -n 12 "$SVC_LOG" | while IFS= read -r line; do log "  service: $line"; done
	fi
	log "FAIL: $*"
	printf 'FAIL %s\n' "$*" >"$RESULT_FILE"
	exit 1
}

pass() {
	log "PASS"
	echo PASS >"$RESULT_FILE"
	exit 0
}

# Fixed UUIDs make console logs readable: type index first, instance number last.
uuid() {
	printf '%08x-0000-4000-8000-%012x' "${TYPE_INDEX[$1]}" "$2"
}

type_dir() {
	echo "$TYPES_DIR/$PARENT-$1"
}

modprobe_k() {
	modprobe -d "$MDG_MODROOT" -S "$MDG_KVER" "$@"
}

# The fixture with enough instances per type for the fault matrix's 4,096 devices: every load,
# the first and those after a scenario unloaded it, so that no scenario depends on the order.
fixture_insmod() {
	insmod "$MDG_FIXTURE_KO" instances=4200
}

need_fixture() {
	[ -d "$PARENT_DIR" ] && return 0
	local m
	for m in vfio vfio_iommu_type1 mdev; do
		modprobe_k "$m" || fail "modprobe $m failed (modules root $MDG_MODROOT)"
	done
	# vfio_mdev was folded into mdev and vfio in 5.19; load it where it still exists.
	modprobe_k -q vfio_mdev 2>/dev/null || true
	[ -f "$MDG_FIXTURE_KO" ] || fail "fixture module not built: $MDG_FIXTURE_KO"
	fixture_insmod || fail "insmod $MDG_FIXTURE_KO failed"
	[ -d "$TYPES_DIR" ] || fail "no $TYPES_DIR after loading the fixture"
}

mdev_create() {
	local type=$1 u=$2
	echo "$u" >"$(type_dir "$type")/create" || fail "create $type device $u failed"
	[ -d "$MDEV_DEVICES/$u" ] || fail "created $u but $MDEV_DEVICES/$u is missing"
}

mdev_remove() {
	echo 1 >"$MDEV_DEVICES/$1/remove" || fail "remove $1 failed"
}

# A device that only this scenario uses; removed again by the EXIT trap.
mdev_create_transient() {
	mdev_create "$1" "$2"
	TRANSIENT_MDEVS+=("$2")
}

group_of() {
	local link
	link=$(readlink "$MDEV_DEVICES/$1/iommu_group") || return 1
	echo "${link##*/}"
}

# attr FILE: a sysfs file's content, exactly, trailing newline included.
attr() {
	local val=
	IFS= read -r -d '' val <"$1" || true
	printf '%s' "$val"
}

# The devices the enforcement scenarios share: S1..S32 restricted (single), B1..B2
# restricted of a second type (single-b), M1..M2 unrestricted (multi), P1..P2 without the
# attribute (plain), O1 malformed (odd). Created once, kept across scenarios.
declare -a S B M P
O1=$(uuid odd 1)
for ((i = 1; i <= 32; i++)); do
	S[i]=$(uuid single "$i")
done
for i in 1 2; do
	B[i]=$(uuid single-b "$i")
	M[i]=$(uuid multi "$i")
	P[i]=$(uuid plain "$i")
done

need_pool() {
	local i
	need_fixture
	for ((i = 1; i <= 32; i++)); do
		[ -d "$MDEV_DEVICES/${S[i]}" ] || mdev_create single "${S[i]}"
	done
	for i in 1 2; do
		[ -d "$MDEV_DEVICES/${B[i]}" ] || mdev_create single-b "${B[i]}"
		[ -d "$MDEV_DEVICES/${M[i]}" ] || mdev_create multi "${M[i]}"
		[ -d "$MDEV_DEVICES/${P[i]}" ] || mdev_create plain "${P[i]}"
	done
	[ -d "$MDEV_DEVICES/$O1" ] || mdev_create odd "$O1"
}

# ---- vGPU functions: the mdg_vgpu fixture (fixture/mdg_vgpu.c) -----------------------------
# QEMU's pci-testdev functions (1b36:0005, four per guest, each in an IOMMU group of its own)
# bound to mdg_vgpu, a vfio-pci variant driver with NVIDIA's vGPU sysfs group "nvidia":
# VF[i] is a function's PCI address, VG[i] its IOMMU group (/dev/vfio/${VG[i]}).
PCI_DEVICES=/sys/bus/pci/devices
VGPU_DRIVER=/sys/bus/pci/drivers/mdg_vgpu
declare -a VF VG

vgpu_insmod() {
	[ -d "$VGPU_DRIVER" ] && return 0
	local m
	for m in vfio vfio_iommu_type1 vfio_pci_core; do
		modprobe_k "$m" || fail "modprobe $m failed (modules root $MDG_MODROOT)"
	done
	[ -n "${MDG_VGPU_KO:-}" ] && [ -f "$MDG_VGPU_KO" ] ||
		fail "vGPU fixture module not built: ${MDG_VGPU_KO:-MDG_VGPU_KO unset}"
	insmod "$MDG_VGPU_KO" || fail "insmod $MDG_VGPU_KO failed"
	[ -d "$VGPU_DRIVER" ] || fail "no $VGPU_DRIVER after loading $MDG_VGPU_KO"
}

# need_vgpu N: N functions bound to mdg_vgpu, in VF[1..N] and VG[1..N]; those bound before
# (by an earlier scenario of the boot) first, then spare ones (no driver) bound through
# driver_override and drivers_probe. Idempotent: a second call binds nothing new.
need_vgpu() {
	local n=$1 d a i link
	local -a bound=() spare=()
	vgpu_insmod
	for d in "$PCI_DEVICES"/*; do
		[ "$(<"$d/vendor")" = 0x1b36 ] && [ "$(<"$d/device")" = 0x0005 ] || continue
		a=${d##*/}
		if [ -e "$VGPU_DRIVER/$a" ]; then
			bound+=("$a")
		elif [ ! -e "$d/driver" ]; then
			spare+=("$a")
		fi
	done
	VF=() VG=()
	for a in "${bound[@]}" "${spare[@]}"; do
		[ ${#VF[@]} -lt "$n" ] || break
		if [ ! -e "$VGPU_DRIVER/$a" ]; then
			echo mdg_vgpu >"$PCI_DEVICES/$a/driver_override" ||
				fail "driver_override of $a failed"
			echo "$a" >/sys/bus/pci/drivers_probe 2>/dev/null || true
			[ -e "$VGPU_DRIVER/$a" ] || fail "$a not bound to mdg_vgpu:" \
				"$(dmesg | grep -F "$a" | tail -n 2 | tr '\n' ' ')"
		fi
		link=$(readlink "$PCI_DEVICES/$a/iommu_group") ||
			fail "$a has no IOMMU group: the VM needs intel-iommu and intel_iommu=on"
		VF[${#VF[@]} + 1]=$a
		VG[${#VG[@]} + 1]=${link##*/}
	done
	[ ${#VF[@]} -eq "$n" ] || fail "$n vGPU functions wanted, ${#VF[@]} found" \
		"(bound: ${bound[*]}; spare: ${spare[*]})"
	for ((i = 1; i <= n; i++)); do
		[ -c "/dev/vfio/${VG[i]}" ] || fail "no /dev/vfio/${VG[i]} for ${VF[i]}"
		[ -d "$PCI_DEVICES/${VF[i]}/nvidia" ] || fail "no $PCI_DEVICES/${VF[i]}/nvidia"
	done
}

# The text bash prints for a failed write, by errno name.
declare -A ERRNO_TEXT=([EBUSY]="Device or resource busy" [ENODEV]="No such device"
	[EINVAL]="Invalid argument" [ERANGE]="Numerical result out of range"
	[EINTR]="Interrupted system call" [EPERM]="Operation not permitted")

# vgpu_type ADDR ID [EXPECT]: write ID to the function's current_vgpu_type; EXPECT is ok (the
# default) or the errno name the write must fail with (EBUSY, ENODEV, EINVAL...).
vgpu_type() {
	local addr=$1 id=$2 want=${3:-ok} f err got=ok e
	f=$PCI_DEVICES/$addr/nvidia/current_vgpu_type
	[ -e "$f" ] || fail "no $f: $addr is not bound to mdg_vgpu"
	if ! err=$( { printf '%s\n' "$id" >"$f"; } 2>&1); then
		got="? ($err)"
		for e in "${!ERRNO_TEXT[@]}"; do
			[[ $err == *"${ERRNO_TEXT[$e]}"* ]] && got=$e
		done
	fi
	log "vgpu_type $addr $id: $got"
	[ "$got" = "$want" ] || fail "writing $id to $f: $got, expected $want"
}

# vgpu_current ADDR: the function's type id (0: none).
vgpu_current() {
	local v
	v=$(attr "$PCI_DEVICES/$1/nvidia/current_vgpu_type")
	printf '%s' "${v%$'\n'}"
}

# client OUT OP...: runs the client with its lines in OUT and in the scenario log.
client() {
	local out=$1 rc=0
	shift
	[ -x "$MDG_CLIENT" ] || fail "client not built: $MDG_CLIENT is missing"
	log "client $*"
	"$MDG_CLIENT" "$@" >"$out" 2>&1 || rc=$?
	sed 's/^/    | /' "$out"
	return "$rc"
}

# expect_client WHAT OP[=EXPECT]...: every operation ends as expected.
expect_client() {
	local what=$1 out rc=0
	shift
	nclient=$((nclient + 1))
	out=$WORK/client.$nclient.out
	client "$out" "$@" || rc=$?
	[ "$rc" -eq 0 ] && return 0
	fail "$what: $(grep -m 2 -e UNEXPECTED -e 'mdg-vfio-client:' "$out" | tr '\n' ';') (exit $rc)"
}

# client_bg NAME OP...: a client in the background; client_wait NAME checks it.
client_bg() {
	local name=$1
	shift
	[ -x "$MDG_CLIENT" ] || fail "client not built: $MDG_CLIENT is missing"
	log "client[$name] $*"
	"$MDG_CLIENT" "$@" >"$WORK/bg.$name.out" 2>&1 &
	eval "BG_PID_$name=\$!"
	BG_PIDS+=("$!")
}

client_wait() {
	local name=$1 pid rc=0
	eval "pid=\$BG_PID_$name"
	wait "$pid" || rc=$?
	sed "s/^/    [$name] | /" "$WORK/bg.$name.out"
	[ "$rc" -eq 0 ] && return 0
	fail "client $name: $(grep -m 2 UNEXPECTED "$WORK/bg.$name.out" | tr '\n' ';') (exit $rc)"
}

# svc_ready PID LOG: the service PID, writing to LOG, is ready when status says so.
svc_ready() {
	local pid=$1 out=$2 deadline rc ready_timeout=${MDG_READY_TIMEOUT:-120}
	# loading means verifying the program under TCG: allow for it (MDG_READY_TIMEOUT)
	deadline=$((SECONDS + ready_timeout))
	until timeout 10 "$MDG_BIN" status >"$WORK/status.out" 2>&1; do
		if ! kill -0 "$pid" 2>/dev/null; then
			rc=0
			wait "$pid" || rc=$?
			SVC_PID=
			sed 's/^/MDG-SVC /' "$out" | tail -n 200
			fail "mdevguard run exited with $rc before it was ready:" \
				"$(tail -n 3 "$out" | tr '\n' ' ')"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			sed 's/^/MDG-SVC /' "$out" | tail -n 200
			sed 's/^/MDG-STATUS /' "$WORK/status.out"
		fi
		[ "$SECONDS" -lt "$deadline" ] ||
			fail "mdevguard status did not exit 0 within $ready_timeout s:" \
				"$(tail -n 2 "$WORK/status.out" | tr '\n' ' ')"
		sleep 0.2
	done
	log "mdevguard ready (pid $pid)"
}

# svc_start [POLICY OPTION]...: mdevguard run in the background, ready when status says so; or
# the boot's shared service, for a scenario that may share it (shared_start).
svc_start() {
	[ -x "$MDG_BIN" ] || fail "mdevguard not built: $MDG_BIN is missing"
	# mdevguard reads VFIO's and the mdev core's structures: those modules come first
	need_fixture
	if shares_service; then
		shared_start "$@"
		return
	fi
	SVC_LOG=$WORK/mdevguard.log
	log "mdevguard run $* --log-format text"
	"$MDG_BIN" run "$@" --log-format text >"$SVC_LOG" 2>&1 &
	SVC_PID=$!
	svc_ready "$SVC_PID" "$SVC_LOG"
}

# ---- one service per boot -------------------------------------------------------------------
# A scenario whose subject is a decision, a hook, an inheritance or a release, not the service,
# is written +NAME in its file's list (SHARED_SERVICE): it shares one service with those before it
# that have the same options. The first starts it, in the background of the boot; the runner
# stops it before a scenario that is not listed, and at the end. Its log is the service's own
# from the scenario's start on. A scenario ends with both maps empty once its processes are
# gone (shared_clean), or fails: no scenario can leave a leak for the next one to hide behind.
# MDG_SHARE=0 gives every scenario a service of its own.
SHARED_DIR=/tmp/mdg/shared
SHARED=0
SHARED_PID=
SHARED_TAIL=

shares_service() {
	[ "${MDG_SHARE:-1}" = 1 ] && [ -z "${MDG_MAP_ENTRIES:-}${MDG_FAULT:-}" ] &&
		[[ " ${SHARED_SERVICE[*]} " == *" ${MDG_SCENARIO:-} "* ]]
}

# The shared service's pid, when it runs.
shared_pid() {
	local pid
	pid=$(cat "$SHARED_DIR/pid" 2>/dev/null) || return 1
	kill -0 "$pid" 2>/dev/null && echo "$pid"
}

shared_start() {
	local pid key="$*" from=0
	if pid=$(shared_pid) && [ "$(cat "$SHARED_DIR/args")" = "$key" ]; then
		log "mdevguard run $* (shared, pid $pid)"
		from=$(stat -c %s "$SHARED_DIR/log")
	else
		shared_stop
		mkdir -p "$SHARED_DIR"
		log "mdevguard run $* --log-format text (shared)"
		"$MDG_BIN" run "$@" --log-format text >"$SHARED_DIR/log" 2>&1 </dev/null &
		pid=$!
		echo "$pid" >"$SHARED_DIR/pid"
		printf '%s' "$key" >"$SHARED_DIR/args"
		svc_ready "$pid" "$SHARED_DIR/log"
	fi
	SHARED=1
	SHARED_PID=$pid
	# what the service writes from now on (from its start, when this scenario started it)
	SVC_LOG=$WORK/mdevguard.log
	: >"$SVC_LOG"
	tail -c "+$((from + 1))" -F "$SHARED_DIR/log" >>"$SVC_LOG" \
		2>"$WORK/tail.err" &
	SHARED_TAIL=$!
}

# Stops the shared service, if it runs; its pins go with it.
shared_stop() {
	local pid i
	pid=$(shared_pid) || { rm -rf "$SHARED_DIR"; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -rf "$SHARED_DIR"
	timeout 20 "$MDG_BIN" unload >/dev/null 2>&1 || true
}

# map_empty NAME: the pinned map NAME is empty within 5 s.
map_empty() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$("$BPFTOOL" -j map dump pinned "$PIN_DIR/$1" 2>/dev/null | tr -d ' \n')" = "[]" ] &&
			return 0
		sleep 0.1
	done
	return 1
}

# The end of a scenario on the shared service: its processes are gone, and with them every
# record they made. Otherwise the scenario fails, and the service goes with it.
shared_clean() {
	local m left=
	[ "$SHARED" = 1 ] || return 0
	for m in holders files; do
		map_empty "$m" || left+=" the $m map is not empty;"
	done
	if ! kill -0 "$SHARED_PID" 2>/dev/null; then
		left+=" the shared service is gone;"
	fi
	if ! kill -0 "$SHARED_TAIL" 2>/dev/null; then
		left+=" its log's follower died ($(head -c 200 "$WORK/tail.err"));"
	fi
	kill "$SHARED_TAIL" 2>/dev/null
	if [ -n "$left" ] || [ "$(head -c 4 "$RESULT_FILE" 2>/dev/null)" != PASS ]; then
		shared_stop
	fi
	[ -z "$left" ] && return 0
	if [ "$(head -c 4 "$RESULT_FILE" 2>/dev/null)" = PASS ]; then
		printf 'FAIL at its end:%s\n' "$left" >"$RESULT_FILE"
	fi
}

# Stops the service; returns its exit status (SIGTERM must end it cleanly). The shared service
# is the runner's to stop.
svc_stop() {
	local rc=0 i
	[ "$SHARED" = 1 ] && return 0
	[ -n "$SVC_PID" ] || return 0
	kill -TERM "$SVC_PID" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$SVC_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SVC_PID" 2>/dev/null; then
		kill -KILL "$SVC_PID" 2>/dev/null || true
		log "mdevguard ignored SIGTERM for 10 s: killed"
	fi
	wait "$SVC_PID" || rc=$?
	SVC_PID=
	timeout 20 "$MDG_BIN" unload >/dev/null 2>&1 || true
	return "$rc"
}

# The end of a scenario that started the service: SIGTERM must stop it with status 0. The
# shared service must still be running.
svc_finish() {
	local rc=0
	if [ "$SHARED" = 1 ]; then
		kill -0 "$SHARED_PID" 2>/dev/null || fail "the shared service exited during the scenario"
		return 0
	fi
	svc_stop || rc=$?
	[ "$rc" -eq 0 ] || fail "mdevguard exited with $rc on SIGTERM"
}

# log_has TOKEN...: one line of the service's log holds all these whitespace-separated
# tokens (field=value), each exactly.
log_has() {
	awk -v want="$*" '
		BEGIN { n = split(want, w, " "); hit = 0 }
		{
			ok = 1
			for (i = 1; i <= n; i++) {
				f = 0
				for (j = 1; j <= NF; j++)
					if ($j == w[i]) { f = 1; break }
				if (!f) { ok = 0; break }
			}
			if (ok) { hit = 1; exit }
		}
		END { exit !hit }' "$SVC_LOG"
}

# wait_logged PATTERN: an extended regex appears in the service's standard output within 5 s.
wait_logged() {
	local i
	for ((i = 0; i < 50; i++)); do
		grep -qE "$1" "$SVC_LOG" && return 0
		sleep 0.1
	done
	fail "nothing matching '$1' logged: $(head -c 400 "$SVC_LOG")"
}

# expect_logged TOKEN...: the service reports it within 5 s (events go through a ring buffer).
expect_logged() {
	local i
	for ((i = 0; i < 50; i++)); do
		log_has "$@" && return 0
		sleep 0.1
	done
	fail "no log line with: $* (log: $(grep -m 2 -E 'action=' "$SVC_LOG" | tr '\n' ' '))"
}

# expect_no_denial_logged [UUID...]: no deny or would-deny at all, or none for these UUIDs.
expect_no_denial_logged() {
	local u
	sleep 1
	[ -f "$SVC_LOG" ] || fail "no service log at $SVC_LOG"
	if [ "$#" -eq 0 ]; then
		if grep -qE '(^| )action=(deny|would-deny)( |$)' "$SVC_LOG"; then
			fail "unexpected denial logged: $(grep -m 1 -E 'action=' "$SVC_LOG")"
		fi
		return 0
	fi
	for u in "$@"; do
		if log_has "device=$u" "action=deny" || log_has "device=$u" "action=would-deny"; then
			fail "unexpected denial logged for $u: $(grep -m 1 -F "device=$u" "$SVC_LOG")"
		fi
	done
}

count_logged() {
	grep -cE "(^| )action=$1( |$)" "$SVC_LOG" || true
}

# expect_count N ACTION: exactly N lines with action=ACTION. Events reach the log through a ring
# buffer after the client has seen its errno, so wait (as expect_logged does) for the N-th
# before counting; the service logs in event order, so none that came before is still missing.
expect_count() {
	local i n
	for ((i = 0; i < 50; i++)); do
		n=$(count_logged "$2")
		[ "$n" -ge "$1" ] && break
		sleep 0.1
	done
	[ "$n" -eq "$1" ] || fail "expected $1 lines with action=$2, got $n"
}

# A pinned per-process map must be empty once every client has exited (SPEC §3).
expect_map_empty() {
	map_empty "$1" ||
		fail "$PIN_DIR/$1 not empty after every client exited:" \
			"$("$BPFTOOL" -j map dump pinned "$PIN_DIR/$1" 2>&1 | head -c 300)"
}

scenario_cleanup() {
	local pid u
	for pid in "${BG_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	# reaped, so that their records go (those of this shell; init reaps the others)
	for pid in "${BG_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	svc_stop >/dev/null 2>&1 || true
	# vGPU functions go back untyped (their users are gone), as a passing scenario leaves them
	for u in "${VF[@]}"; do
		[ -e "$PCI_DEVICES/$u/nvidia/current_vgpu_type" ] &&
			echo 0 >"$PCI_DEVICES/$u/nvidia/current_vgpu_type" 2>/dev/null
	done
	for u in "${TRANSIENT_MDEVS[@]}"; do
		[ -d "$MDEV_DEVICES/$u" ] && echo 1 >"$MDEV_DEVICES/$u/remove" 2>/dev/null
	done
	shared_clean
	return 0
}
