#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The VM suite's scenarios, run inside the guest (the host's root, read-only over 9p).
#
#   run-scenarios.sh            run the selected scenarios, print MDG-* lines on the console
#   run-scenarios.sh --list     print the selected scenario names (also used by the host)
#   run-scenarios.sh --one NAME run one scenario (the runner's child; writes $RESULT_FILE)
#
# Environment: MDG_SERIES, MDG_KVER, MDG_MODROOT (root for modprobe -d), MDG_BUILD_DIR,
# MDG_SRC_DIR, MDG_FIXTURE_KO, MDG_VGPU_KO, MDG_SCENARIOS (names or globs, space or comma
# separated; empty for all), MDG_ONCE (0: leave out the user-space-only scenarios, ONCE; default 1),
# MDG_QUICK (1: the inner loop's plan), MDG_SCENARIO_TIMEOUT (seconds per scenario, default
# 180), MDG_READY_TIMEOUT (seconds for mdevguard status to succeed, default 120), MDG_SHARE (0:
# a service per scenario, lib.sh).
#
# Console protocol: MDG-PLAN n names..., MDG-PROGRESS i n name, MDG-RESULT PASS|FAIL name
# [reason], MDG-TIME name seconds, MDG-INFO text, MDG-LOG name | line (log of a failed
# scenario), MDG-DONE passed=N failed=N.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${MDG_SRC_DIR:=$(cd "$here/../../.." && pwd)}"
: "${MDG_BUILD_DIR:=$MDG_SRC_DIR/build}"
: "${MDG_SERIES:=}" "${MDG_KVER:=$(uname -r)}" "${MDG_MODROOT:=/}" "${MDG_FIXTURE_KO:=}"
: "${MDG_SCENARIOS:=}" "${MDG_SCENARIO_TIMEOUT:=180}"

SCENARIOS=(
	# infrastructure: no mdevguard involved
	boot
	fixture-types
	fixture-create
	fixture-remove
	# enforcement: SPEC §3 through mdevguard run
	bpf-programs
	+one-restricted-allowed
	+two-restricted-denied
	+restricted-unrestricted-denied
	+restricted-unrestricted-per-type-allowed
	+per-type-different-types-allowed
	+per-type-same-type-denied
	+two-unrestricted-allowed
	absent-unrestricted-allowed
	absent-restricted-denied
	malformed-fail-closed
	+two-processes-allowed
	+close-then-open-allowed
	+reopen-ebusy-not-denied
	audit-would-deny
	errno-ebusy
	+non-mdev-unaffected
	+hotplug-create-denied
	hotplug-window-200
	reload-failure-keeps-policy
	physical-vfio-pci
	+race-32x500
)
# Scenarios of the service's lifetime and of the operator's view live in their own files; each
# defines its sc_* functions and appends its names to SCENARIOS. A name written +NAME is that
# of a scenario about a decision, not about the service: it shares the boot's service (lib.sh,
# "one service per boot").
# shellcheck source=scenarios-lifetime.sh
source "$here/scenarios-lifetime.sh"
# shellcheck source=scenarios-memory.sh
source "$here/scenarios-memory.sh"
# shellcheck source=scenarios-cdev.sh
source "$here/scenarios-cdev.sh"
# shellcheck source=scenarios-operator.sh
source "$here/scenarios-operator.sh"
# shellcheck source=scenarios-faults.sh
source "$here/scenarios-faults.sh"
# shellcheck source=scenarios-bench.sh
source "$here/scenarios-bench.sh"
# shellcheck source=scenarios-vgpu.sh
source "$here/scenarios-vgpu.sh"
SCENARIOS+=(
	+maps-empty
	# last, so that it sees everything the others did to the kernel
	kernel-log-clean
)
SHARED_SERVICE=()
for i in "${!SCENARIOS[@]}"; do
	if [[ ${SCENARIOS[i]} == +* ]]; then
		SCENARIOS[i]=${SCENARIOS[i]#+}
		SHARED_SERVICE+=("${SCENARIOS[i]}")
	fi
done
# Scenarios whose subject is user space alone (configuration and its reload, the pins' ABI,
# the log's formats, the tools' output): the kernel under them changes nothing they check. A
# full run gives them one kernel (MDG_ONCE=1, chosen by tests/vm/run.sh); every other scenario
# runs on every kernel.
ONCE=(
	reload-failure-keeps-policy
	sighup-reload
	version-skew
	events-text
	events-json
	denial-names-vm
	status-human
	status-json
	metrics
	list-check
	bad-input
	demo
)
# The inner loop (tests/run.sh --quick) leaves out the fault matrix and the bench too: their
# subject is the service under faults, and the cost; and the service's own life (an upgrade, a
# restart, a stop, an unload: the pins' handling, 80 s of a 6.12 guest's time); and the checks
# of the test fixtures themselves (fixture-*, vgpu-fixture), whose modules did not change.
# It runs the scenarios whose length is their load with less of it (the same steps): the churn
# of releases-under-load for 8 s instead of 20, adoption-churn's 2 rounds instead of 5.
if [ "${MDG_QUICK:-0}" = 1 ]; then
	: "${MDG_LOAD_SEC:=8}" "${MDG_CHURN_ROUNDS:=2}"
fi
: "${MDG_LOAD_SEC:=20}" "${MDG_CHURN_ROUNDS:=5}"
if [ "${MDG_QUICK:-0}" = 1 ] && [ "${MDG_LIST_ALL:-0}" != 1 ]; then
	mapfile -t SCENARIOS < <(printf '%s\n' "${SCENARIOS[@]}" |
		grep -vE '^(fault-.*|asan-service|bench|upgrade-replaces-programs|restart-sigkill|stop-keeps-enforcing|unload|fixture-.*|vgpu-fixture)$')
fi
if [ "${MDG_ONCE:-1}" != 1 ] && [ "${MDG_LIST_ALL:-0}" != 1 ]; then
	mapfile -t SCENARIOS < <(printf '%s\n' "${SCENARIOS[@]}" |
		grep -vxF -f <(printf '%s\n' "${ONCE[@]}"))
fi
# shellcheck source=scenarios-systemd.sh
source "$here/scenarios-systemd.sh"
# The systemd series (systemd as PID 1, the package installed) runs its own scenarios only.
if [ "${MDG_LIST_ALL:-0}" = 1 ]; then
	SCENARIOS+=("${SYSTEMD_SCENARIOS[@]}")
elif [ "${MDG_SERIES:-}" = systemd ]; then
	SCENARIOS=(boot "${SYSTEMD_SCENARIOS[@]}" kernel-log-clean)
fi

scenario_timeout() {
	case $1 in
	race-* | fault-kill-at-start | fault-devices-4096) echo $((MDG_SCENARIO_TIMEOUT * 3)) ;;
	*) echo "$MDG_SCENARIO_TIMEOUT" ;;
	esac
}

# The plan, for sharing (lib.sh): the scenarios that share the service run together, after the
# others that come before the first of them, grouped by the options they start it with (so
# that it starts once per group); the rest follow in their order.
sharing_order() {
	local name key seen=0
	local -a before=() after=() shared=()
	while read -r name; do
		if [[ " ${SHARED_SERVICE[*]} " == *" $name "* ]] && [ "${MDG_SHARE:-1}" = 1 ]; then
			seen=1
			key=$(declare -f "sc_${name//-/_}" | grep -m 1 -o 'svc_start.*' || true)
			shared+=("$key|$name")
		elif [ "$seen" = 0 ]; then
			before+=("$name")
		else
			after+=("$name")
		fi
	done
	printf '%s\n' "${before[@]}"
	[ ${#shared[@]} -eq 0 ] || printf '%s\n' "${shared[@]}" | sort -s -t '|' -k1,1 | cut -d '|' -f 2
	printf '%s\n' "${after[@]}"
}

selected() {
	selected_names | sharing_order | grep .
}

selected_names() {
	local name pat
	if [ -z "$MDG_SCENARIOS" ]; then
		printf '%s\n' "${SCENARIOS[@]}"
		return
	fi
	for name in "${SCENARIOS[@]}"; do
		for pat in ${MDG_SCENARIOS//,/ }; do
			# shellcheck disable=SC2053
			if [[ $name == $pat ]]; then
				echo "$name"
				break
			fi
		done
	done
}

# ---- infrastructure -------------------------------------------------------------------------

sc_boot() {
	local lsm
	[ "$(uname -r)" = "$MDG_KVER" ] || fail "running $(uname -r), expected $MDG_KVER"
	[ -r /sys/kernel/security/lsm ] || fail "no /sys/kernel/security/lsm"
	lsm=$(</sys/kernel/security/lsm)
	info "kernel $(uname -r) lsm=$lsm"
	[[ ,$lsm, == *,bpf,* ]] || fail "bpf not in the active LSMs: $lsm"
	[ -r /sys/kernel/btf/vmlinux ] || fail "no /sys/kernel/btf/vmlinux"
	mountpoint -q /sys/fs/bpf || fail "bpffs not mounted on /sys/fs/bpf"
	[ -x "$BPFTOOL" ] || fail "no $BPFTOOL"
	pass
}

sc_fixture_types() {
	local t dir val found
	need_fixture
	found=$(cd "$TYPES_DIR" && echo *)
	info "types in $TYPES_DIR: $found"
	for t in single single-b multi plain odd; do
		dir=$(type_dir "$t")
		[ -d "$dir" ] || fail "missing type directory $dir (have: $found)"
		val=$(<"$dir/available_instances")
		[ "$val" -ge 1 ] || fail "$dir/available_instances is $val"
		val=$(<"$dir/device_api")
		[ "$val" = vfio-pci ] || fail "$dir/device_api is $val"
	done
	[ "$(echo "$found" | wc -w)" -eq 5 ] || fail "expected 5 types, found: $found"
	for t in single:Y single-b:Y multi:N odd:maybe; do
		dir=$(type_dir "${t%%:*}")
		[ -r "$dir/single_usage_restriction" ] ||
			fail "no readable $dir/single_usage_restriction"
		val=$(attr "$dir/single_usage_restriction"; echo .)
		# exactly one trailing newline, as a sysfs attribute has
		[ "$val" = "${t#*:}"$'\n'. ] ||
			fail "$dir/single_usage_restriction reads '${val%.}', not '${t#*:}\\n'"
	done
	[ ! -e "$(type_dir plain)/single_usage_restriction" ] ||
		fail "plain type has a single_usage_restriction file"
	pass
}

sc_fixture_create() {
	local t u n node dev avail0 avail1 out majmin accepted val
	local -a devs=()
	need_fixture
	for t in single single-b multi plain; do
		u=$(uuid "$t" 100)
		avail0=$(<"$(type_dir "$t")/available_instances")
		mdev_create_transient "$t" "$u"
		avail1=$(<"$(type_dir "$t")/available_instances")
		[ "$avail1" -eq $((avail0 - 1)) ] ||
			fail "$t available_instances went from $avail0 to $avail1"
		val=$(readlink "$MDEV_DEVICES/$u/mdev_type")
		[ "${val##*/}" = "$PARENT-$t" ] || fail "$u: mdev_type link is $val"
		n=$(group_of "$u") || fail "$u has no iommu_group link"
		node=/dev/vfio/$n
		[ -c "$node" ] || fail "$u: group node $node missing"
		dev=
		[ -r "/sys/class/vfio/$n/dev" ] && dev=$(<"/sys/class/vfio/$n/dev")
		majmin=$(printf '%d:%d' "0x$(stat -c %t "$node")" "0x$(stat -c %T "$node")")
		[ -z "$dev" ] || [ "$dev" = "$majmin" ] || fail "$node is $majmin, sysfs says $dev"
		devs+=("$u")
		info "$t device $u: $MDEV_DEVICES/$u -> group $node ($majmin)"
	done
	[ "$(<"$MDEV_DEVICES/${devs[0]}/mdev_type/single_usage_restriction")" = Y ] ||
		fail "single_usage_restriction not reachable through $MDEV_DEVICES/${devs[0]}/mdev_type"

	# The full legacy flow, and which IOMMU models the emulated group takes.
	expect_client "legacy open" "open:${devs[0]}"
	accepted=
	for t in type1v2 type1; do
		out=$WORK/iommu.$t.out
		if client "$out" --iommu "$t" "open:${devs[1]}"; then
			info "VFIO_SET_IOMMU $t: accepted"
			accepted+=" $t"
		else
			info "VFIO_SET_IOMMU $t: $(head -n 1 "$out")"
		fi
	done
	[ -n "$accepted" ] || fail "no IOMMU model accepted: $(cat "$WORK"/iommu.*.out)"
	# Without mdevguard, nothing stops one process from holding two devices, and a second
	# open of a group node fails in VFIO itself: the baselines the enforcement tests beat.
	expect_client "two devices, no mdevguard" "open:${devs[0]}" "open:${devs[1]}" \
		"open:${devs[2]}" "open:${devs[3]}"
	expect_client "reopen, no mdevguard" "open:${devs[0]}" "open:${devs[0]}=EBUSY"
	pass
}

sc_fixture_remove() {
	local u n avail0 avail1
	need_fixture
	u=$(uuid single 101)
	avail0=$(<"$(type_dir single)/available_instances")
	mdev_create single "$u"
	n=$(group_of "$u") || fail "$u has no iommu_group link"
	[ -c "/dev/vfio/$n" ] || fail "group node /dev/vfio/$n missing"
	mdev_remove "$u"
	[ ! -e "$MDEV_DEVICES/$u" ] || fail "$MDEV_DEVICES/$u still there after remove"
	for ((i = 0; i < 20; i++)); do
		[ -e "/dev/vfio/$n" ] || break
		sleep 0.1
	done
	[ ! -e "/dev/vfio/$n" ] || fail "/dev/vfio/$n still there after remove"
	avail1=$(<"$(type_dir single)/available_instances")
	[ "$avail1" -eq "$avail0" ] || fail "available_instances $avail0 before, $avail1 after"

	# rmmod with a device still present: unregistering the parent removes it.
	u=$(uuid multi 101)
	mdev_create multi "$u"
	expect_client "open before rmmod" "open:$u"
	rmmod mdg_fixture || fail "rmmod mdg_fixture failed"
	[ ! -e "$PARENT_DIR" ] || fail "$PARENT_DIR still there after rmmod"
	[ ! -e "$MDEV_DEVICES/$u" ] || fail "$u still there after rmmod"
	fixture_insmod || fail "insmod after rmmod failed"
	[ -d "$(type_dir single)" ] || fail "types missing after reloading the fixture"
	pass
}

# ---- enforcement ----------------------------------------------------------------------------

# What the verifier made of each program: its instruction count, reported, and how long the
# service took to become ready (verification dominates under TCG).
sc_bpf_programs() {
	local t0 line
	need_pool
	t0=$SECONDS
	# MDG_VERIFIER_LOG=PROG:FILE (tests/vm/run.sh passes it on): one program's verifier log
	MDG_VERIFIER_LOG=${MDG_VERIFIER_LOG:+${MDG_VERIFIER_LOG}:$WORK/verifier.log} svc_start
	info "service ready after $((SECONDS - t0)) s"
	if [ -s "$WORK/verifier.log" ]; then
		# the instructions the verifier walked most often, with the source line before each
		info "verifier log of $MDG_VERIFIER_LOG: $(wc -l <"$WORK/verifier.log") lines"
		awk '/^; / { src = $0; next } /^[0-9]+: \(/ { n = $1; sub(":", "", n); c[n]++;
			if (!(n in s)) s[n] = src } END { for (n in c) print c[n], n, s[n] }' \
			"$WORK/verifier.log" | sort -rn | head -n 40 | while read -r line; do
			info "  $line"
		done
		if [ -n "${MDG_VERIFIER_GREP:-}" ]; then
			grep -n -m 40 -- "$MDG_VERIFIER_GREP" "$WORK/verifier.log" | cut -c1-400 |
				while read -r line; do info "  | $line"; done
		fi
	fi
	info "$(grep -m1 "instructions verified" "$SVC_LOG")"
	"$BPFTOOL" -j prog show >"$WORK/progs.json" || fail "bpftool prog show failed"
	while read -r line; do
		info "prog $line"
	done < <(jq -r '.[] | select(.name | startswith("mdg_")) |
		"\(.name) type=\(.type) verified_insns=\(.verified_insns // "?") xlated=\(.bytes_xlated)"' \
		"$WORK/progs.json")
	grep -q '"mdg_file_open"' "$WORK/progs.json" || fail "no mdg_file_open program loaded"
	check_verifier_budget
	check_hot_path
	svc_finish
	pass
}

# tests/vm/hot-path-budget: the body of each program every file or task on the host runs, as
# the kernel translated it, up to its first subprogram (the slow path, out of line): no more
# instructions than the budget, and no more helper calls than its third column (none if absent).
check_hot_path() {
	local budget=$MDG_SRC_DIR/tests/vm/hot-path-budget prog max helpers id body n calls nc
	while read -r prog max helpers; do
		case $prog in '#'* | '') continue ;; esac
		id=$(jq -r --arg p "$prog" '[.[] | select(.name == $p)][0].id // empty' \
			"$WORK/progs.json")
		[ -n "$id" ] || fail "hot path: no program $prog loaded"
		"$BPFTOOL" prog dump xlated id "$id" >"$WORK/$prog.xlated" ||
			fail "bpftool prog dump xlated id $id failed"
		# "  12: (85) call pc+40#..." is a subprogram call, "call bpf_map_lookup_elem#1" a
		# helper: the body ends where the first subprogram starts.
		body=$(awk '/^ *[0-9]+: \(/ { i = $1; sub(":", "", i); i += 0
				if ($0 ~ /\(85\) call pc[+-]/) { t = $0; sub(/.*call pc/, "", t)
					t = i + 1 + (t + 0); if (!e || t < e) e = t } }
			END { print e + 0 }' "$WORK/$prog.xlated")
		[ "$body" -gt 0 ] || fail "hot path: $prog calls no subprogram: its slow path is inline"
		calls=$(awk -v e="$body" '/^ *[0-9]+: \(85\) call / { i = $1; sub(":", "", i)
				if (i + 0 < e && $0 !~ /call pc[+-]/) { sub(/.*call /, ""); print } }' \
			"$WORK/$prog.xlated" | tr '\n' ' ')
		nc=$(wc -w <<<"$calls")
		n=$body
		info "hot path: $prog body $n instructions (budget $max), helper calls in it: $nc (budget ${helpers:-0}) ${calls:-}"
		[ "$nc" -le "${helpers:-0}" ] ||
			fail "hot path: $prog calls $nc helpers in its body (budget ${helpers:-0}): $calls"
		[ "$n" -le "$max" ] || fail "hot path: $prog body has $n instructions, budget $max"
	done <"$budget"
}

# tests/vm/verifier-budget: "SERIES PROGRAM INSTRUCTIONS", what the verifier walked for each
# program when the budget was last set. A change that makes one grow by more than 20% fails
# here: verification is what every start of the service pays, and it grows by paths multiplying.
check_verifier_budget() {
	local budget=$MDG_SRC_DIR/tests/vm/verifier-budget line tok prog n max over=
	line=$(grep -m1 "instructions verified:" "$SVC_LOG") || fail "no verifier counts in the log"
	for tok in ${line#*instructions verified:}; do
		prog=mdg_${tok%%=*}
		n=${tok#*=}
		max=$(awk -v s="$MDG_SERIES" -v p="$prog" '$1 == s && $2 == p { print $3 }' "$budget")
		info "verifier: $prog $n (budget ${max:-none})"
		if [ -z "$max" ]; then
			# a kernel series with a budget must have one for every program
			awk -v s="$MDG_SERIES" '$1 == s { f = 1 } END { exit !f }' "$budget" &&
				over+=" $prog=$n(no budget)"
		elif [ "$n" -gt $((max * 12 / 10)) ]; then
			over+=" $prog=$n(budget $max)"
		fi
	done
	[ -z "$over" ] || fail "verifier walked more than 120% of the budget:$over"
}

sc_one_restricted_allowed() {
	need_pool
	svc_start
	expect_client "one restricted device" "open:${S[1]}"
	expect_no_denial_logged
	svc_finish
	pass
}

sc_two_restricted_denied() {
	need_pool
	svc_start
	expect_client "second restricted device" "open:${S[1]}" "open:${S[2]}=EPERM"
	expect_logged action=deny "device=${S[2]}" type=mdg_fixture-single \
		rule=restricted-device "held=${S[1]}"
	svc_finish
	pass
}

sc_restricted_unrestricted_denied() {
	need_pool
	svc_start
	expect_client "restricted, then unrestricted" "open:${S[1]}" "open:${M[1]}=EPERM"
	expect_logged action=deny "device=${M[1]}" rule=holds-restricted
	expect_client "unrestricted, then restricted" "open:${M[2]}" "open:${S[2]}=EPERM"
	expect_logged action=deny "device=${S[2]}" rule=restricted-device
	svc_finish
	pass
}

sc_restricted_unrestricted_per_type_allowed() {
	need_pool
	svc_start --mode per-type
	expect_client "per-type: restricted + unrestricted" "open:${S[1]}" "open:${M[1]}" \
		"open:${M[2]}"
	expect_no_denial_logged
	svc_finish
	pass
}

sc_per_type_different_types_allowed() {
	need_pool
	svc_start --mode per-type
	expect_client "per-type: two restricted types" "open:${S[1]}" "open:${B[1]}"
	expect_no_denial_logged
	svc_finish
	pass
}

sc_per_type_same_type_denied() {
	need_pool
	svc_start --mode per-type
	expect_client "per-type: same restricted type twice" "open:${S[1]}" "open:${B[1]}" \
		"open:${S[2]}=EPERM"
	expect_logged action=deny "device=${S[2]}" rule=same-type
	svc_finish
	pass
}

sc_two_unrestricted_allowed() {
	need_pool
	svc_start
	expect_client "two unrestricted devices" "open:${M[1]}" "open:${M[2]}"
	expect_no_denial_logged
	svc_finish
	pass
}

sc_absent_unrestricted_allowed() {
	need_pool
	svc_start --absent unrestricted
	expect_client "two devices without the attribute" "open:${P[1]}" "open:${P[2]}"
	expect_no_denial_logged
	svc_finish
	pass
}

sc_absent_restricted_denied() {
	need_pool
	svc_start --absent restricted
	expect_client "two devices without the attribute, strict" "open:${P[1]}" \
		"open:${P[2]}=EPERM"
	expect_logged action=deny "device=${P[2]}" rule=restricted-device
	svc_finish
	pass
}

sc_malformed_fail_closed() {
	need_pool
	svc_start
	expect_client "malformed attribute" "open:$O1" "open:${M[1]}=EPERM"
	expect_logged action=deny "device=${M[1]}" rule=holds-restricted
	# SPEC §2: the odd bytes are reported with the attribute's path
	if ! grep -q "mdg_fixture-odd" "$SVC_LOG" || ! grep -q "maybe" "$SVC_LOG"; then
		fail "malformed attribute not reported with its path and content"
	fi
	svc_finish
	pass
}

sc_two_processes_allowed() {
	need_pool
	svc_start
	rm -f "$WORK/a" "$WORK/b"
	client_bg a "open:${S[1]}" "touch:$WORK/a" "wait:$WORK/b"
	client_bg b "wait:$WORK/a" "open:${S[2]}" "touch:$WORK/b"
	client_wait a
	client_wait b
	expect_no_denial_logged
	svc_finish
	pass
}

sc_close_then_open_allowed() {
	need_pool
	svc_start
	expect_client "close, then another" "open:${S[1]}" "close:${S[1]}" "open:${S[2]}" \
		"close:${S[2]}" "open:${B[1]}"
	expect_no_denial_logged
	svc_finish
	pass
}

sc_reopen_ebusy_not_denied() {
	need_pool
	svc_start
	expect_client "reopen of the same group" "open:${S[1]}" "open:${S[1]}=EBUSY" \
		"group:${S[1]}=EBUSY"
	grep -q "errno=16 EBUSY step=group" "$WORK/client.$nclient.out" ||
		fail "the reopen did not fail at the group open"
	expect_no_denial_logged
	svc_finish
	pass
}

sc_audit_would_deny() {
	need_pool
	svc_start --audit
	expect_client "audit: second restricted device" "open:${S[1]}" "open:${S[2]}"
	expect_logged action=would-deny "device=${S[2]}" rule=restricted-device
	[ "$(count_logged deny)" -eq 0 ] || fail "audit mode logged action=deny"
	svc_finish
	pass
}

sc_errno_ebusy() {
	need_pool
	svc_start --errno EBUSY
	expect_client "deny with EBUSY" "open:${S[1]}" "open:${S[2]}=EBUSY"
	expect_logged action=deny "device=${S[2]}" rule=restricted-device
	svc_finish
	pass
}

sc_non_mdev_unaffected() {
	need_pool
	echo data >"$WORK/regular"
	svc_start
	expect_client "other files next to a restricted device" "open:${S[1]}" \
		openpath:/dev/null openpath:/dev/zero openpath:/dev/urandom \
		openpath:/etc/os-release "openpath:$WORK/regular" "open:${S[2]}=EPERM" \
		closepath:/dev/null openpath:/dev/null openpath:/dev/full
	expect_count 1 deny
	expect_logged action=deny "device=${S[2]}"
	svc_finish
	pass
}

sc_hotplug_create_denied() {
	local u out
	need_pool
	svc_start
	# Hotplug to enforced (SPEC §4, reported): from the write to mdev_type/create until an
	# open of the new device by a holder of another restricted device is denied.
	expect_client "hotplug to enforced, 10 devices" "open:${S[1]}" \
		"mapped:$(type_dir single):10:00000001-0000-4000-8000-:0x9800"
	out=$(grep '^mapped ' "$WORK/client.$nclient.out")
	info "hotplug to enforced: ${out#* ok }"
	u=$(uuid single 200)
	mdev_create_transient single "$u"
	# SPEC §4: in the kernel's map within 1 s
	sleep 1.5
	expect_client "device created while running" "open:${S[1]}" "open:$u=EPERM"
	expect_logged action=deny "device=$u" rule=restricted-device
	svc_finish
	pass
}

# Issue 7, route 5: a device used the moment its node exists, by a process that already holds
# a restricted one, before any uevent could reach the service: never an escape.
sc_hotplug_window_200() {
	local out
	need_pool
	svc_start
	expect_client "create, then open and use at once, 200 times" "open:${S[1]}" \
		"hotplug:$(type_dir single):200:00000001-0000-4000-8000-:0x9000"
	out=$(grep '^hotplug ' "$WORK/client.$nclient.out")
	info "hotplug: ${out#* ok }"
	[[ $out == *" escapes=0 "* ]] || fail "escapes: $out"
	kill -0 "$SVC_PID" 2>/dev/null || fail "the service died"
	expect_map_empty files
	svc_finish
	pass
}

# Issue 7, route 6: a configuration that fails to parse changes nothing, command line included,
# not even at the next rescan.
sc_reload_failure_keeps_policy() {
	local conf=$WORK/mdevguard.conf
	need_pool
	echo "absent = restricted" >"$conf"
	svc_start --config "$conf" --restrict-type "$PARENT-multi" --rescan-interval 1
	echo "this line = is not a setting" >>"$conf"
	kill -HUP "$SVC_PID"
	expect_logged "configuration" "not" "reloaded;"
	sleep 2.5
	kill -0 "$SVC_PID" 2>/dev/null || fail "the service died on a bad reload"
	jq_restricted() {
		"$MDG_BIN" status --json | jq -e "any(.devices[]; .uuid == \"$1\" and .restricted == true)" \
			>/dev/null || fail "$1 not restricted after the failed reload and a rescan"
	}
	jq_restricted "${M[1]}"
	jq_restricted "${P[1]}"
	expect_client "command line type still restricted" "open:${M[1]}" "open:${M[2]}=EPERM"
	expect_client "file's absent default still restricted" "open:${P[1]}" "open:${P[2]}=EPERM"
	expect_logged "device=${M[2]}" action=deny rule=restricted-device
	expect_logged "device=${P[2]}" action=deny rule=restricted-device
	svc_finish
	pass
}

# A physical PCI device (QEMU's edu) bound to vfio-pci: its group node has the VFIO major of
# the mdevs' nodes, and it is used the same way; it is never denied and never held.
sc_physical_vfio_pci() {
	local dev="" d grp i
	need_pool
	for d in /sys/bus/pci/devices/*; do
		[ "$(<"$d/vendor")" = 0x1234 ] && [ "$(<"$d/device")" = 0x11e8 ] && dev=${d##*/}
	done
	[ -n "$dev" ] || fail "no edu PCI device (1234:11e8): the VM is started with -device edu"
	[ -e "/sys/bus/pci/devices/$dev/iommu_group" ] ||
		fail "$dev has no IOMMU group: the VM needs intel-iommu and intel_iommu=on"
	modprobe_k vfio-pci || fail "modprobe vfio-pci failed"
	if [ ! -e "/sys/bus/pci/drivers/vfio-pci/$dev" ]; then
		echo 1234 11e8 >/sys/bus/pci/drivers/vfio-pci/new_id 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			[ -e "/sys/bus/pci/drivers/vfio-pci/$dev" ] && break
			sleep 0.1
		done
	fi
	[ -e "/sys/bus/pci/drivers/vfio-pci/$dev" ] || fail "$dev not bound to vfio-pci"
	grp=$(basename "$(readlink "/sys/bus/pci/devices/$dev/iommu_group")")
	[ -c "/dev/vfio/$grp" ] || fail "no /dev/vfio/$grp for $dev"
	info "physical device $dev in IOMMU group $grp: /dev/vfio/$grp ($(stat -c '%t:%T' "/dev/vfio/$grp"))"
	svc_start --log-allow
	expect_client "restricted mdev, then the physical device" "open:${S[1]}" \
		"open:$dev@/dev/vfio/$grp" "info:$dev" "open:${S[2]}=EPERM"
	expect_client "the physical device, then a restricted mdev" "open:$dev@/dev/vfio/$grp" \
		"open:${S[1]}" "close:$dev" "close:${S[1]}"
	expect_count 1 deny
	! grep -q "device=$dev\|node=/dev/vfio/$grp " "$SVC_LOG" ||
		fail "a decision about the physical device: $(grep -m1 "/dev/vfio/$grp " "$SVC_LOG")"
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

sc_race_32x500() {
	local list i
	need_pool
	list=${S[1]}
	for ((i = 2; i <= 32; i++)); do
		list+=",${S[i]}"
	done
	svc_start
	# each round 32 threads ask for 32 restricted devices' fds at once: one may have one
	expect_client "32 threads racing at the use, 500 rounds" "race:32:500:${M[1]}:$list"
	info "race: $(grep '^race ' "$WORK/client.$nclient.out")"
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

sc_maps_empty() {
	local list i
	need_pool
	list=${S[1]}
	for ((i = 2; i <= 8; i++)); do
		list+=",${S[i]}"
	done
	svc_start
	expect_client "allowed and denied" "open:${S[1]}" "open:${S[2]}=EPERM" "open:${M[1]}=EPERM"
	expect_client "reopen" "open:${S[3]}" "open:${S[3]}=EBUSY" "close:${S[3]}"
	rm -f "$WORK/a" "$WORK/b"
	client_bg a "open:${S[4]}" "touch:$WORK/a" "wait:$WORK/b"
	client_bg b "wait:$WORK/a" "open:${S[5]}" "open:${B[1]}=EPERM" "touch:$WORK/b"
	client_wait a
	client_wait b
	expect_client "short race" "race:8:50:${M[1]}:$list"
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

sc_kernel_log_clean() {
	local bad
	bad=$(dmesg | grep -E 'BUG:|WARNING:|Oops|general protection|Call Trace|refcount_t:' |
		head -n 3 || true)
	[ -z "$bad" ] || fail "kernel log: $(echo "$bad" | tr '\n' ' ')"
	pass
}

# ---- runner ---------------------------------------------------------------------------------

run_one() {
	local name=$1 fn
	MDG_SCENARIO=$name
	fn=sc_${name//-/_}
	declare -F "$fn" >/dev/null || fail "no such scenario: $name"
	trap scenario_cleanup EXIT
	trap 'exit 143' TERM
	"$fn"
	fail "scenario returned without a verdict"
}

run_all() {
	local -a names
	local n i=0 failed=0 name dir rc result t0 secs
	mapfile -t names < <(selected)
	n=${#names[@]}
	echo "MDG-PLAN $n ${names[*]}"
	for name in "${names[@]}"; do
		i=$((i + 1))
		echo "MDG-PROGRESS $i $n $name"
		# the shared service, for the scenarios listed in SHARED_SERVICE only
		MDG_SCENARIO=$name shares_service || shared_stop
		dir=/tmp/mdg/$name
		rm -rf "$dir"
		mkdir -p "$dir"
		t0=${EPOCHREALTIME/./}
		rc=0
		WORK=$dir RESULT_FILE=$dir/result INFO_FILE=$dir/info \
			timeout -k 5 "$(scenario_timeout "$name")" \
			bash "${BASH_SOURCE[0]}" --one "$name" >"$dir/log" 2>&1 </dev/null || rc=$?
		secs=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
		result=$(cat "$dir/result" 2>/dev/null || true)
		if [ -z "$result" ]; then
			case $rc in
			124 | 137) result="FAIL timed out after $(scenario_timeout "$name") s" ;;
			*) result="FAIL scenario died (exit $rc) without a verdict" ;;
			esac
		fi
		[ -f "$dir/info" ] && sed 's/^/MDG-INFO /' "$dir/info"
		if [ "${result%% *}" != PASS ]; then
			failed=$((failed + 1))
			tail -n 40 "$dir/log" | sed "s/^/MDG-LOG $name | /"
		fi
		echo "MDG-TIME $name $((secs / 1000)).$(printf '%03d' $((secs % 1000)))"
		if [ "$result" = PASS ]; then
			echo "MDG-RESULT PASS $name"
		else
			echo "MDG-RESULT FAIL $name ${result#FAIL }"
		fi
		# a scenario killed by its timeout may leave the service's pins behind (under systemd
		# the installed service owns them, and the next scenario goes on from there)
		if [ "${MDG_SERIES:-}" != systemd ] && [ -d /sys/fs/bpf/mdevguard ] &&
			[ -x "$MDG_BUILD_DIR/mdevguard" ] && ! shared_pid >/dev/null; then
			timeout 20 "$MDG_BUILD_DIR/mdevguard" unload >/dev/null 2>&1 || true
		fi
	done
	shared_stop
	echo "MDG-DONE passed=$((n - failed)) failed=$failed"
	[ "$failed" -eq 0 ]
}

case ${1:-} in
--list)
	selected
	;;
--list-all)
	printf '%s\n' "${SCENARIOS[@]}"
	;;
--one)
	[ $# -eq 2 ] || { echo "usage: $0 --one NAME" >&2; exit 2; }
	# shellcheck source=lib.sh
	source "$here/lib.sh"
	run_one "$2"
	;;
"")
	# shellcheck source=lib.sh
	source "$here/lib.sh"
	run_all
	;;
*)
	echo "usage: $0 [--list | --list-all | --one NAME]" >&2
	exit 2
	;;
esac
