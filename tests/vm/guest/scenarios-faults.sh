# SPDX-License-Identifier: GPL-2.0
# The fault matrix (SPEC §6): each scenario does one bad thing to the service or its inputs and
# checks what an operator sees and that nothing is lost or left open. Each prints
# "fault: WHAT | SEEN | AFTER" lines, the rows of the matrix. Sourced by run-scenarios.sh.

# On Debian's own 6.1 and 6.12. The kernel the suite builds runs last, after its build, where
# time is shortest: it gets the one that differs there (files on the cdev flow).
SCENARIOS+=(fault-files-full)
if [ "${MDG_SERIES:-}" != cdev ] || [ "${MDG_LIST_ALL:-0}" = 1 ]; then
	SCENARIOS+=(
		fault-kill-at-rescan
		fault-bpffs-missing
		fault-lsm-missing
		fault-pin-dir-foreign
		fault-holders-full
		fault-devices-full
		fault-events-overflow
		fault-remove-held
		fault-malformed-at-hotplug
		fault-vgpu-maps-full
	)
fi
# On 6.12 only, to keep a cold run of the whole suite within its hour: thousands of mdevs take
# minutes under TCG, one kernel is enough to prove the scale; one run of the service under the
# sanitizers; and the ten starts of fault-kill-at-start (two minutes), whose subject is the
# order of the service's own start steps, the same on every kernel.
if [ "${MDG_SERIES:-}" = 6.12 ] || [ "${MDG_LIST_ALL:-0}" = 1 ]; then
	SCENARIOS+=(fault-kill-at-start fault-devices-4096 asan-service)
fi

matrix() {
	info "fault: $*"
}

# status_seen: "exit N: first line" of mdevguard status, in $SEEN_RC and $SEEN.
status_seen() {
	SEEN_RC=0
	"$MDG_BIN" status >"$WORK/status.out" 2>&1 || SEEN_RC=$?
	SEEN="status exit $SEEN_RC: $(head -n 1 "$WORK/status.out")"
}

no_temp_pins() {
	! ls "$PIN_DIR" 2>/dev/null | grep -q '^link_.*_swap$' || fail "temporary pins left: $(ls "$PIN_DIR")"
}

# run_killed STAGE: a start that SIGKILLs itself at STAGE (MDG_FAULT).
run_killed() {
	local rc=0
	MDG_FAULT=$1 "$MDG_BIN" run --log-format text >"$WORK/killed.$1.log" 2>&1 || rc=$?
	[ "$rc" -eq 137 ] ||
		fail "MDG_FAULT=$1: exit $rc, not 137: $(tail -n 2 "$WORK/killed.$1.log" | tr '\n' ' ')"
	grep -q "MDG_FAULT=$1: killing" "$WORK/killed.$1.log" || fail "MDG_FAULT=$1 not reached"
}

# A start killed at each of its stages, first with nothing pinned, then as a restart over a
# running service's pins. A VM that used S1 before any start must be held once a start
# completes; a restart's death must leave the decisions in force.
sc_fault_kill_at_start() {
	local stage a want
	need_pool
	rm -f "$WORK"/{a,b}
	# ten starts under TCG take longer than a wait's default 60 s
	client_bg a "open:${S[1]}" "touch:$WORK/a" "wait:$WORK/b:600"
	a=$BG_PID_a
	wait_file "$WORK/a"
	for stage in loaded filled release-attached adopted decide-attached; do
		run_killed "$stage"
		status_seen
		# only once the decisions are attached does status call it enforcing
		want=3
		[ "$stage" = decide-attached ] && want=4
		[ "$SEEN_RC" -eq "$want" ] || fail "killed at $stage (fresh): $SEEN, want exit $want"
		svc_start
		holds "$a" "${S[1]}"
		expect_client "enforced after a start that followed a kill at $stage" \
			"open:${S[2]}" "group:${S[3]}=EPERM"
		no_temp_pins
		matrix "SIGKILL at start stage $stage, nothing pinned before | $SEEN |" \
			"next start ready, S1's earlier user held, rule enforced"
		# the same death as a restart: the pins of the running service stay in force
		kill -KILL "$SVC_PID"
		wait "$SVC_PID" 2>/dev/null || true
		SVC_PID=
		run_killed "$stage"
		status_seen
		[ "$SEEN_RC" -eq 4 ] || fail "killed at $stage (restart): $SEEN, want exit 4"
		expect_client "no gap while the restart at $stage is dead" "open:${S[2]}" \
			"group:${S[3]}=EPERM"
		svc_start
		holds "$a" "${S[1]}"
		no_temp_pins
		matrix "SIGKILL at start stage $stage, over a killed service's pins | $SEEN |" \
			"decisions never stopped, next start ready, holdings kept"
		svc_finish
	done
	touch "$WORK/b"
	client_wait a
	pass
}

# Killed while a rescan writes the maps: the device it was adding is still decided at use.
sc_fault_kill_at_rescan() {
	local t a rc=0
	need_pool
	t=$(uuid single 300)
	MDG_FAULT=rescan svc_start
	rm -f "$WORK"/{a,b,c,d}
	client_bg a "open:${S[1]}" "touch:$WORK/a" "wait:$WORK/b" "open:$t=EPERM" \
		"touch:$WORK/c" "wait:$WORK/d"
	a=$BG_PID_a
	wait_file "$WORK/a"
	mdev_create_transient single "$t"
	wait "$SVC_PID" || rc=$?
	SVC_PID=
	[ "$rc" -eq 137 ] || fail "the service exited $rc, not 137, when the rescan should kill it"
	status_seen
	[ "$SEEN_RC" -eq 4 ] || fail "after a kill in a rescan: $SEEN"
	touch "$WORK/b"
	wait_file "$WORK/c"
	grep -q "open $t errno=1 EPERM" "$WORK/bg.a.out" ||
		fail "the new device was not denied with no loader: $(tail -n 1 "$WORK/bg.a.out")"
	svc_start
	has_device "$t" yes
	holds "$a" "${S[1]}"
	matrix "SIGKILL during a rescan (new device being added) | $SEEN |" \
		"new device denied at use meanwhile; next start maps it"
	touch "$WORK/d"
	client_wait a
	svc_finish
	pass
}

# expect_one_line FILE PATTERN: the command's whole output is one line matching PATTERN.
expect_one_line() {
	sed 's/^/    | /' "$1"
	[ "$(wc -l <"$1")" -eq 1 ] || fail "expected one line, got $(wc -l <"$1"): $(head -c 400 "$1")"
	grep -qE "$2" "$1" || fail "unexpected message: $(cat "$1")"
}

sc_fault_bpffs_missing() {
	local rc=0
	need_fixture
	# shellcheck disable=SC2016
	unshare -m sh -c 'umount /sys/fs/bpf && exec "$0" run' "$MDG_BIN" >"$WORK/out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || fail "run started with bpffs unmounted"
	expect_one_line "$WORK/out" \
		'bpffs is not mounted at /sys/fs/bpf: mount it \(mount -t bpf bpf /sys/fs/bpf\)'
	[ ! -e "$PIN_DIR" ] || fail "$PIN_DIR exists after the refused start"
	matrix "bpffs not mounted | exit $rc: $(cat "$WORK/out") | nothing created"
	pass
}

sc_fault_lsm_missing() {
	local rc=0
	need_fixture
	echo "lockdown,capability,landlock,yama" >"$WORK/lsm"
	# shellcheck disable=SC2016
	unshare -m sh -c 'mount --bind "$0" /sys/kernel/security/lsm && exec "$1" run' \
		"$WORK/lsm" "$MDG_BIN" >"$WORK/out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || fail "run started with bpf not among the active LSMs"
	expect_one_line "$WORK/out" \
		'BPF LSM is not active \(active LSMs: lockdown,capability,landlock,yama\): boot the kernel with lsm=lockdown,capability,landlock,yama,bpf on its command line'
	[ ! -e "$PIN_DIR" ] || fail "$PIN_DIR exists after the refused start"
	matrix "bpf missing from the active LSMs | exit $rc: $(cat "$WORK/out") | nothing loaded"
	pass
}

# A pin dir with someone else's pins: run, status and unload refuse it and touch nothing.
# refused DIR WHAT AFTER ERE KEEP CMD...: each command, given --pin-dir DIR, exits non-zero
# with one line matching ERE and leaves every path of KEEP (space-separated) in place.
refused() {
	local dir=$1 what=$2 after=$3 ere=$4 keep=$5 cmd rc p
	shift 5
	for cmd in "$@"; do
		rc=0
		timeout 60 "$MDG_BIN" "$cmd" --pin-dir "$dir" >"$WORK/out" 2>&1 || rc=$?
		[ "$rc" -ne 0 ] || fail "$cmd accepted $what"
		expect_one_line "$WORK/out" "$ere"
		for p in $keep; do
			[ -e "$p" ] || fail "$cmd removed $p"
		done
		matrix "$what, $cmd | exit $rc: $(cat "$WORK/out") | $after"
	done
}

sc_fault_pin_dir_foreign() {
	local d=/sys/fs/bpf/mdg-foreign
	need_fixture
	rm -rf "$d"
	mkdir "$d"
	"$BPFTOOL" map create "$d/theirs" type hash key 4 value 4 entries 1 name theirs ||
		fail "cannot pin a foreign map"
	refused "$d" "a pin dir with a foreign pin" "foreign pin kept" \
		"not mdevguard's|no mdevguard pins" "$d/theirs" run status unload
	# someone else's map pinned under our config's name
	"$BPFTOOL" map create "$d/config" type array key 4 value 8 entries 1 name config ||
		fail "cannot pin a foreign config"
	refused "$d" "a foreign map pinned as config" kept \
		"not mdevguard's|not a map of this mdevguard" "$d/theirs $d/config" run status unload
	refused /sys/fs/bpf/ "--pin-dir /sys/fs/bpf/" "nothing touched" \
		"is the root of a bpffs mount" "" run unload
	[ -e "$d/theirs" ] || fail "a foreign pin went"
	rm -rf "$d"
	pass
}

# counter KEY: a counter from status --json.
counter() {
	"$MDG_BIN" status --json 2>/dev/null | jq -r ".counters.$1"
}

# The holders map full: a process new to it is denied (no-memory), counted and reported; the
# processes in it go on, and the room an exit makes is used.
sc_fault_holders_full() {
	local i
	need_pool
	MDG_MAP_ENTRIES=holders:4 svc_start
	expect_logged "MDG_MAP_ENTRIES:" holders
	rm -f "$WORK"/{h1,h2,h3,h4,end1,end2,end3,end4,end}
	for i in 1 2 3 4; do
		client_bg "h$i" "open:${S[i]}" "touch:$WORK/h$i" "wait:$WORK/end$i" \
			"open:${S[i + 10]}=EPERM" "wait:$WORK/end"
		wait_file "$WORK/h$i"
	done
	expect_client "a fifth process while the map is full" "open:${M[1]}=EPERM"
	expect_logged "device=${M[1]}" rule=no-memory action=deny
	[ "$(counter errors)" -ge 1 ] || fail "errors counter is $(counter errors)"
	# those in the map are decided by the rule as before
	touch "$WORK/end1"
	sleep 1
	expect_logged "device=${S[11]}" rule=restricted-device action=deny
	touch "$WORK"/{end2,end3,end4,end}
	for i in 1 2 3 4; do
		client_wait "h$i"
	done
	expect_client "room again once they exited" "open:${M[1]}"
	matrix "holders map full (4 entries) | the 5th process denied, rule=no-memory, errors counted |" \
		"holders in it unaffected; room reused after exits"
	svc_finish
	pass
}

# The files map full: a new file's use is denied (no-memory); files already recorded keep
# working and their holders' rule holds.
sc_fault_files_full() {
	local c
	need_pool
	MDG_MAP_ENTRIES=files:4 svc_start
	rm -f "$WORK"/{a,b,c,c1,c2,c3,d}
	# the legacy flow records two files each: the group file and the device file
	client_bg a "open:${S[1]}" "touch:$WORK/a" "wait:$WORK/c" "read:${S[1]}" "write:${S[1]}" \
		"group:${S[2]}=EPERM"
	client_bg b "open:${M[1]}" "touch:$WORK/b" "wait:$WORK/c"
	wait_file "$WORK/a"
	wait_file "$WORK/b"
	# a full files map denies nobody: the decision stands on the holder's record, and the
	# holding it cannot count is left to the release pass
	client_bg c "open:${S[3]}" "open:${S[4]}=EPERM" "touch:$WORK/c1" "wait:$WORK/c2" \
		"close:${S[3]}" "touch:$WORK/c3" "wait:$WORK/d" "open:${S[4]}"
	c=$BG_PID_c
	wait_file "$WORK/c1"
	expect_logged "tgid=$c" "device=${S[4]}" hook=open rule=restricted-device action=deny
	holds "$c" "${S[3]}"
	touch "$WORK/c2"
	wait_file "$WORK/c3"
	released_within 8 "$c" "${S[3]}"
	touch "$WORK/d"
	client_wait c
	touch "$WORK/c"
	client_wait a
	client_wait b
	expect_logged "device=${S[2]}" hook=open rule=restricted-device action=deny
	expect_count 2 deny
	! grep -q 'rule=no-memory' "$SVC_LOG" || fail "a decision failed closed: $(grep -m1 rule=no-memory "$SVC_LOG")"
	expect_map_empty files
	matrix "files map full (4 entries) | a new holding stands uncounted, the rule holds |" \
		"released by the pass after its close; recorded files keep working"
	svc_finish
	pass
}

# More device nodes than the device map holds: one error line; opens of the nodes left out
# are not checked, their use is.
sc_fault_devices_full() {
	local u="" i
	need_pool
	MDG_MAP_ENTRIES=devices:4 svc_start
	wait_logged 'cannot add [0-9]+ of [0-9]+ device nodes to the device map'
	[ "$(grep -c 'device nodes to the device map' "$SVC_LOG")" -eq 1 ] ||
		fail "the device map's overflow was reported more than once"
	for ((i = 2; i <= 32; i++)); do
		if ! "$MDG_BIN" status --json | jq -e "any(.devices[]; .uuid == \"${S[i]}\")" \
			>/dev/null; then
			u=${S[i]}
			break
		fi
	done
	[ -n "$u" ] || fail "every device is in a 4-entry map"
	expect_client "a device left out of the map" "open:${S[1]}" "group:$u" "use:$u=EPERM"
	expect_logged "device=$u" hook=ioctl action=deny
	matrix "device map full (4 entries) | $(grep -m 1 'device nodes to the device map' \
		"$SVC_LOG" | sed 's/^.*cannot/cannot/') | uses of unmapped devices still denied"
	svc_finish
	pass
}

# The ring buffer full while the service is stopped: decisions are made and counted, the lost
# records are counted and said once the service runs again.
sc_fault_events_overflow() {
	local i ops=() denied0 lost
	need_pool
	svc_start
	denied0=$(counter denied)
	for ((i = 2; i <= 32; i++)); do
		ops+=("group:${S[i]}=EPERM")
	done
	kill -STOP "$SVC_PID"
	# 25 x 31 denials, more than 512 KiB of 920-byte records (bpf/maps.bpf.h)
	for ((i = 0; i < 25; i++)); do
		client "$WORK/flood.out" "open:${S[1]}" "${ops[@]}" >/dev/null ||
			{ kill -CONT "$SVC_PID"; fail "flood client: $(grep -m1 UNEXPECTED "$WORK/flood.out")"; }
	done
	kill -CONT "$SVC_PID"
	[ $(($(counter denied) - denied0)) -eq 775 ] ||
		fail "denied counter moved by $(($(counter denied) - denied0)), not 775"
	lost=$(counter lost_events)
	[ "$lost" -gt 0 ] || fail "no lost events counted"
	expect_logged "decision" "event(s)" "lost"
	kill -0 "$SVC_PID" || fail "the service died"
	matrix "ring buffer full (service stopped, 775 denials) | $lost lost, counted and logged |" \
		"every denial enforced and counted"
	svc_finish
	pass
}

# A held device removed: VFIO waits for its files; the holding ends with them, then the device
# leaves the map.
sc_fault_remove_held() {
	local t a rm_pid
	need_pool
	t=$(uuid single 310)
	mdev_create_transient single "$t"
	svc_start
	rm -f "$WORK"/{a,b,c,d}
	client_bg a "open:$t" "touch:$WORK/a" "wait:$WORK/b" "open:${S[1]}=EPERM" "close:$t" \
		"touch:$WORK/c" "wait:$WORK/d" "open:${S[1]}"
	a=$BG_PID_a
	wait_file "$WORK/a"
	(echo 1 >"$MDEV_DEVICES/$t/remove") 2>/dev/null &
	rm_pid=$!
	sleep 2
	kill -0 "$rm_pid" 2>/dev/null || fail "the removal of a device in use did not wait"
	holds "$a" "$t"
	touch "$WORK/b"
	wait_file "$WORK/c"
	wait "$rm_pid" || true
	has_device "$t" no
	touch "$WORK/d"
	client_wait a
	expect_logged "tgid=$a" "device=${S[1]}" action=deny
	matrix "held device removed | removal waits for the holder's files | holding kept until" \
		"they close, then the device leaves the map"
	svc_finish
	pass
}

# A device whose type's attribute is malformed, created while the service runs: restricted.
sc_fault_malformed_at_hotplug() {
	local u
	need_pool
	svc_start
	u=$(uuid odd 320)
	mdev_create_transient odd "$u"
	has_device "$u" yes
	"$MDG_BIN" status --json |
		jq -e "any(.devices[]; .uuid == \"$u\" and .restricted == true and .why == \"malformed\")" \
		>/dev/null || fail "$u is not restricted as malformed"
	expect_client "malformed counts as restricted" "open:${S[1]}" "open:$u=EPERM"
	expect_logged "device=$u" rule=restricted-device action=deny
	matrix "mdev of a malformed type created at run time | restricted (why=malformed) |" \
		"denied next to another restricted device"
	svc_finish
	pass
}

# denied_fns: DENIED, how many of the vGPU functions VF[1..] a holder of the unrestricted mdev
# M1 is denied: those restricted, whatever their type (--mode exclusive), each denial found in
# the log.
denied_fns() {
	local i
	DENIED=0
	for ((i = 1; i <= ${#VF[@]}; i++)); do
		"$MDG_CLIENT" "open:${M[1]}" "open:$(vgpu_node "$i")" >"$WORK/fn.$i.out" 2>&1 &&
			continue
		expect_logged action=deny "device=${VF[i]}" rule=restricted-device
		DENIED=$((DENIED + 1))
	done
}

# The vGPU function maps full. A function left out of the function map, and every function
# once a write to a type could not be counted, is restricted whatever its type (the kernel side
# cannot know it): fail closed, and said once.
sc_fault_vgpu_maps_full() {
	local i n=0 d
	need_pool
	for d in "$PCI_DEVICES"/*; do
		[ "$(<"$d/vendor")" = 0x1b36 ] && [ "$(<"$d/device")" = 0x0005 ] && n=$((n + 1))
	done
	need_vgpu "$n"
	for ((i = 1; i <= n; i++)); do
		vgpu_type "${VF[i]}" 14
	done
	MDG_MAP_ENTRIES=functions:2 svc_start "${VGPU_POLICY[@]}"
	wait_logged "cannot add $((n - 2)) of $n vGPU functions to the function map"
	denied_fns
	[ "$DENIED" -eq $((n - 2)) ] ||
		fail "$DENIED of $n unrestricted functions denied, not the $((n - 2)) left out of a 2-entry map"
	[ "$(grep -c "vGPU functions to the function map" "$SVC_LOG")" -eq 1 ] ||
		fail "the full function map was said $(grep -c "to the function map" "$SVC_LOG") times"
	matrix "vGPU function map full (2 entries, $n functions) | said once | the $((n - 2))" \
		"left out restricted whatever their type, the 2 in it decided by their type"
	svc_finish
	MDG_MAP_ENTRIES=fn_writes:1 svc_start "${VGPU_POLICY[@]}"
	expect_fn_status "${VF[1]}" nvidia-14
	denied_fns
	[ "$DENIED" -eq 0 ] || fail "$DENIED unrestricted functions denied before any type write"
	# two functions retyped: the second function's writes find no room to be counted
	vgpu_type "${VF[1]}" 0
	vgpu_type "${VF[1]}" 14
	vgpu_type "${VF[2]}" 0
	vgpu_type "${VF[2]}" 14
	wait_logged "a write to a vGPU function's type could not be counted"
	denied_fns
	[ "$DENIED" -eq "$n" ] || fail "$DENIED of $n functions denied once a type write was lost, not all"
	[ "$(grep -c "could not be counted" "$SVC_LOG")" -eq 1 ] ||
		fail "the lost type write was said $(grep -c "could not be counted" "$SVC_LOG") times"
	matrix "vGPU type-write map full (1 entry) | said once | every function restricted" \
		"whatever its type, until unload"
	svc_finish
	pass
}

# 4,096 mdevs: all in the map, the start's time and the map's memory reported.
sc_fault_devices_4096() {
	local i n t0 us=() created
	need_pool
	n=$(find "$MDEV_DEVICES" -mindepth 1 -maxdepth 1 | wc -l)
	t0=$SECONDS
	for ((i = 1; n + i - 1 < 4096; i++)); do
		us+=("$(uuid multi $((1000 + i)))")
		echo "${us[-1]}" >"$(type_dir multi)/create" || fail "create number $((n + i)) failed"
	done
	TRANSIENT_MDEVS+=("${us[@]}")
	created=$((SECONDS - t0))
	n=$(find "$MDEV_DEVICES" -mindepth 1 -maxdepth 1 | wc -l)
	[ "$n" -ge 4096 ] || fail "only $n mdevs"
	t0=$SECONDS
	svc_start
	info "4096 devices: created in $created s; service ready in $((SECONDS - t0)) s"
	"$MDG_BIN" status --json >"$WORK/st.json"
	[ "$(jq '[.devices[].uuid] | unique | length' "$WORK/st.json")" -ge 4096 ] ||
		fail "status lists $(jq '[.devices[].uuid] | unique | length' "$WORK/st.json") devices"
	! grep -q 'device nodes to the device map' "$SVC_LOG" || fail "the map overflowed"
	expect_client "the last of 4096 decided at open" "open:${us[-1]}" "group:${S[1]}=EPERM"
	expect_logged "device=${S[1]}" hook=open action=deny
	info "4096 devices: service RSS $(awk '/^VmRSS/ { print $2, $3 }' "/proc/$SVC_PID/status"), maps $(jq '.memory_bytes.total' "$WORK/st.json") bytes in all ($(jq -c '.memory_bytes' "$WORK/st.json"))"
	matrix "4096 mdevs | ready in $((SECONDS - t0)) s, devices map" \
		"$(jq '.memory_bytes.devices' "$WORK/st.json") bytes | all mapped, decided at open"
	svc_finish
	t0=$SECONDS
	for u in "${us[@]}"; do
		echo 1 >"$MDEV_DEVICES/$u/remove" 2>/dev/null || true
	done
	TRANSIENT_MDEVS=()
	info "4096 devices: removed in $((SECONDS - t0)) s"
	pass
}

# The service built with ASan and UBSan (BUILD_DIR/asan, tests/sanitize.sh --build-only; the VM
# suite builds it) through what it does in a day: start and adoption, decisions, a hotplug and a
# removal, a reload, status in both forms, a stop and an unload. Any sanitizer report fails.
sc_asan_service() {
	local bin=$MDG_BUILD_DIR/asan/mdevguard t a reports
	[ -x "$bin" ] || fail "$bin missing: tests/sanitize.sh --build-only BUILD_DIR builds it"
	need_pool
	export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	MDG_BIN=$bin
	rm -f "$WORK"/{a,b}
	client_bg a "open:${S[1]}" "touch:$WORK/a" "wait:$WORK/b"
	a=$BG_PID_a
	wait_file "$WORK/a"
	svc_start
	holds "$a" "${S[1]}"
	expect_client "decided by the ASan build" "open:${S[2]}" "group:${S[3]}=EPERM"
	expect_logged "device=${S[3]}" hook=open action=deny
	t=$(uuid single 302)
	mdev_create_transient single "$t"
	has_device "$t" yes
	expect_client "a hotplugged device" "open:$t" "group:${S[3]}=EPERM"
	mdev_remove "$t"
	has_device "$t" no
	kill -HUP "$SVC_PID"
	wait_logged 'reloaded'
	"$bin" status >"$WORK/st.txt" 2>&1 || fail "status: $(tail -n 3 "$WORK/st.txt")"
	"$bin" status --json >"$WORK/st.json" 2>"$WORK/st.err" || fail "status --json: $(cat "$WORK/st.err")"
	"$bin" list >/dev/null 2>"$WORK/list.err" || fail "list: $(cat "$WORK/list.err")"
	touch "$WORK/b"
	client_wait a
	svc_finish
	cat "$WORK/st.txt" "$WORK/st.err" "$WORK/list.err" >>"$SVC_LOG"
	reports=$(grep -cE '^==[0-9]+==ERROR: (Address|Leak)Sanitizer|runtime error: ' "$SVC_LOG" || true)
	[ "$reports" -eq 0 ] || fail "$reports sanitizer report(s): $(grep -m1 -A8 -E \
		'^==[0-9]+==ERROR|runtime error: ' "$SVC_LOG" | tr '\n' ' ')"
	info "ASan+UBSan build: start, decisions, hotplug, removal, reload, status, stop: no report"
	pass
}
