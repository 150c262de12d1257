# SPDX-License-Identifier: GPL-2.0
# Scenarios of SPEC §3 on mappings, receipts and the kernel side's tables: no process gets
# around the rule through memory it shares or a mapping nobody counted, and no process can fill
# a table or flood the events so that another is denied or never released. Sourced by
# run-scenarios.sh, after scenarios-lifetime.sh (whose helpers they use).

SCENARIOS+=(
	+vm-child-uses-nothing
	adoption-of-mappings
	fork-raced-mapping-adopted
	+fork-racing-first-mapping
	fork-unsettled-until-read
	+receipt-is-not-use
	+holders-fork-flood
	lost-request-released
	+device-fd-closed-at-once
)

# A child that shares its parent's memory (vfork, as posix_spawn makes it, or a long-lived
# CLONE_VM sibling) would map a device into the parent's memory and leave it there: it may use
# no VFIO device at all. The parent decides for the memory it made, and holds nothing here.
sc_vm_child_uses_nothing() {
	need_pool
	svc_start
	expect_client "CLONE_VM children" "vmchild:vfork:${S[1]}=EPERM" "vmchild:vm:${S[2]}=EPERM" \
		"open:${S[3]}" "mmap:${S[3]}" "open:${S[4]}=EPERM"
	expect_logged "device=${S[1]}" hook=ioctl rule=shared-memory action=deny
	expect_logged "device=${S[2]}" hook=ioctl rule=shared-memory action=deny
	expect_logged "device=${S[4]}" hook=open rule=restricted-device action=deny
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# A process that mapped S1 and closed every fd of it before the service started holds S1: the
# start adopts mappings as it adopts files.
sc_adoption_of_mappings() {
	local m
	need_pool
	rm -f "$WORK"/{mapped,go,done,end}
	client_bg m "open:${S[1]}" "mmap:${S[1]}" "closedev:${S[1]}" "closegroup:${S[1]}" \
		"touch:$WORK/mapped" "wait:$WORK/go" "open:${S[2]}=EPERM" "touch:$WORK/done" \
		"wait:$WORK/end"
	m=$BG_PID_m
	wait_file "$WORK/mapped"
	svc_start
	wait_logged "adopted: process $m ${S[1]}"
	holds "$m" "${S[1]}"
	touch "$WORK/go"
	wait_file "$WORK/done"
	expect_logged "tgid=$m" "device=${S[2]}" hook=open rule=restricted-device action=deny
	touch "$WORK/end"
	client_wait m
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# A mapping no fork handed on is adopted by the release pass. task_alloc's link is removed, so
# that the child inherits nothing from a parent that holds S1 only by a mapping: the child has
# S1's mapping and no fd of it; the next pass adopts the mapping, and the child is denied S2.
sc_fork_raced_mapping_adopted() {
	local p c
	need_pool
	svc_start --rescan-interval 2
	unpin_link link_task_alloc
	rm -f "$WORK"/{child,go,done,end}
	client_bg p "open:${S[1]}" "mmap:${S[1]}" "closedev:${S[1]}" "closegroup:${S[1]}" \
		"fork:$WORK/child" "wait:$WORK/go" "open:${S[2]}=EPERM" "touch:$WORK/done" \
		"wait:$WORK/end"
	p=$BG_PID_p
	bg_child c "$WORK/child"
	client_wait p
	wait_logged "adopted: process $c ${S[1]} maps it"
	holds "$c" "${S[1]}"
	touch "$WORK/go"
	wait_file "$WORK/done"
	expect_logged "tgid=$c" "device=${S[2]}" hook=open rule=restricted-device action=deny
	touch "$WORK/end"
	wait_gone "$c"
	expect_bg_clean p
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# Receiving is not using: a holder pushes its device fd to a daemon that takes fds from its
# peers. The daemon holds nothing, and a VM it forks afterwards takes its own first device.
sc_receipt_is_not_use() {
	local d h v
	need_pool
	svc_start --log-allow
	rm -f "$WORK"/{sock,received,vm,vmdone,end}
	client_bg d "recvfd:$WORK/sock:got/dev" "touch:$WORK/received" "fork:$WORK/vm" \
		"open:${S[2]}" "touch:$WORK/vmdone" "wait:$WORK/end"
	client_bg h "open:${S[1]}" "sendfd:$WORK/sock:${S[1]}/dev" "wait:$WORK/end"
	d=$BG_PID_d
	h=$BG_PID_h
	wait_file "$WORK/received"
	expect_logged "tgid=$d" "device=${S[1]}" hook=receive rule=first action=allow
	no_holder "$d"
	holds "$h" "${S[1]}"
	bg_child v "$WORK/vm"
	wait_file "$WORK/vmdone"
	holds "$v" "${S[2]}"
	holds_not "$v" "${S[1]}"
	[ "$(count_logged deny)" -eq 0 ] || fail "unexpected denial: $(grep -m1 action=deny "$SVC_LOG")"
	touch "$WORK/end"
	wait_gone "$v"
	client_wait h
	expect_bg_clean d
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# One holder forks more sleeping children than 4,096, the holders map's old size: each inherits
# a record. Another process's first device is still allowed: the map is sized to the kernel's
# limits on processes, which refuse a fork before the map could fill.
sc_holders_fork_flood() {
	local h n=${MDG_FLOOD_FORKS:-4200} errors0
	need_pool
	svc_start
	errors0=$(counter errors)
	info "holders map: $("$BPFTOOL" -j map show pinned "$PIN_DIR/holders" |
		jq -r '"\(.max_entries) entries, \(.bytes_memlock) bytes before any record"'), threads-max $(</proc/sys/kernel/threads-max), pid_max $(</proc/sys/kernel/pid_max)"
	rm -f "$WORK"/{forked,end}
	client_bg h "open:${S[1]}" "forks:$n" "touch:$WORK/forked" "wait:$WORK/end:600"
	h=$BG_PID_h
	wait_file "$WORK/forked" 600
	expect_client "another process's first device" "open:${S[2]}" "open:${S[3]}=EPERM"
	[ "$(counter errors)" -eq "$errors0" ] ||
		fail "$(($(counter errors) - errors0)) decision(s) failed closed"
	touch "$WORK/end"
	client_wait h
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# A release request lost to a full ring buffer (the service stopped while a flood of denials
# fills it) must not stall every later pass: the next request is heard.
sc_lost_request_released() {
	local i ops=() p c
	need_pool
	svc_start
	for ((i = 2; i <= 32; i++)); do
		ops+=("group:${S[i]}=EPERM")
	done
	rm -f "$WORK"/{child,cont,closed,end}
	kill -STOP "$SVC_PID"
	for ((i = 0; i < 25; i++)); do
		client "$WORK/flood.out" "open:${S[1]}" "${ops[@]}" >/dev/null ||
			{ kill -CONT "$SVC_PID"; fail "flood client: $(grep -m1 UNEXPECTED "$WORK/flood.out")"; }
	done
	# the child's inheritance asks for a release pass: the ring buffer has no room for it
	client_bg p "open:${S[1]}" "fork:$WORK/child" "wait:$WORK/cont" "close:${S[1]}" \
		"forks:1" "touch:$WORK/closed" "wait:$WORK/end"
	p=$BG_PID_p
	bg_child c "$WORK/child"
	client_wait p
	kill -CONT "$SVC_PID"
	[ "$(counter lost_events)" -gt 0 ] || fail "no lost events counted"
	holds "$c" "${S[1]}"
	# the child lets its copies go; its own child's inheritance asks again
	touch "$WORK/cont"
	wait_file "$WORK/closed"
	released_within 8 "$c" "${S[1]}"
	touch "$WORK/end"
	wait_gone "$c"
	expect_map_empty holders
	svc_finish
	pass
}

# A device fd closed by another thread the moment VFIO_GROUP_GET_DEVICE_FD installs it: no
# record of a file that is gone may stay (earlier builds read the new file from the fd table in
# an fexit, with no reference to it, and could record it after its release).
sc_device_fd_closed_at_once() {
	need_pool
	svc_start
	expect_client "device fds closed at once" "closerace:${S[1]}:${MDG_CLOSE_ROUNDS:-3000}"
	expect_map_empty files
	expect_map_empty holders
	svc_finish
	pass
}

# value KEY FILE: the value of KEY=VALUE on the client's lines in FILE.
value() {
	sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$2" | head -n 1
}

# A fork reads its parent's holdings before the kernel copies the parent's memory: a first
# mapping by another thread in between reaches the child while the inheritance lacks it. The
# client sweeps the mapping's moment across the fork (made long by 65,536 open fds), and every
# child the mapping reached must be denied S2. The sweep must have hit the race (a mapping
# after the fork began that reached the child) and its far side (no mapping, S2 allowed): the
# forking thread and the mapper run on CPUs of their own (a run where they shared one never
# raced).
sc_fork_racing_first_mapping() {
	local out
	need_pool
	svc_start
	expect_client "fork racing a first mapping" "forkmap:${S[1]}:${S[2]}:96:65536"
	out=$WORK/client.$nclient.out
	info "fork-racing-first-mapping: $(grep -o 'rounds=.*' "$out")"
	[ "$(value raced "$out")" -gt 0 ] || fail "no round mapped the device during the fork"
	[ "$(value unmapped_allowed "$out")" -gt 0 ] || fail "no round mapped after the fork"
	expect_logged "device=${S[2]}" rule=restricted-device action=deny
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# When the fork tracepoint is skipped, nothing vouches for a copy made while another thread
# could map a device: the child of a parent with two threads is unsettled, its uses fail
# closed (rule=unsettled) until a release pass has read its mappings, and are decided after.
# Then the race itself, with no tracepoint: no child the mapping reached gets S2.
sc_fork_unsettled_until_read() {
	local c
	need_pool
	svc_start
	unpin_link link_process_fork
	rm -f "$WORK"/{child,denied,go,done,end}
	client_bg p "thread:" "fork:$WORK/child" "open:${S[2]}=EPERM" "touch:$WORK/denied" \
		"wait:$WORK/go" "open:${S[2]}" "touch:$WORK/done" "wait:$WORK/end"
	bg_child c "$WORK/child"
	client_wait p
	wait_file "$WORK/denied"
	expect_logged "tgid=$c" "device=${S[2]}" rule=unsettled action=deny
	jq_status "any(.holders[]; .tgid == $c and .unsettled == false)"
	touch "$WORK/go"
	wait_file "$WORK/done"
	holds "$c" "${S[2]}"
	touch "$WORK/end"
	wait_gone "$c"
	expect_bg_clean p
	expect_client "fork racing a first mapping, no tracepoint" \
		"forkmap:${S[1]}:${S[2]}:24:65536"
	expect_logged "device=${S[2]}" rule=unsettled action=deny
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}
