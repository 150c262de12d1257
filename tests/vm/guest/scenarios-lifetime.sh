# SPDX-License-Identifier: GPL-2.0
# Scenarios of SPEC §3 "Across processes" and SPEC §4 (the service's lifetime). Sourced by
# run-scenarios.sh.

SCENARIOS+=(
	+open-is-not-use
	+closegroup-keeps-holding
	+io-and-mmap
	+fork-inherit
	fork-skipped-inherits
	exit-skipped-pruned
	+dup-keeps-holding
	+scm-rights-hand-off
	+device-fd-passing
	+scm-rights-refused
	+releases-under-load
	+pidfd-getfd-transfer
	+pidfd-getfd-refused
	+io-uring-msg-ring
	+pid-reuse
	+thread-exit-keeps-holding
	adoption
	adoption-churn
	restart-sigkill
	stop-keeps-enforcing
	upgrade-replaces-programs
	version-skew
	hotplug-remove
	sighup-reload
	unload
)

# wait_file FILE [SEC]: a client's signal.
wait_file() {
	local i n=$((${2:-60} * 10))
	for ((i = 0; i < n; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	fail "no $1 after ${2:-60} s"
}

# bg_child VAR FILE: a background client that forked, its child's pid (from FILE) in VAR;
# the child joins the EXIT trap's kill list (not from a subshell, where the list would be lost).
bg_child() {
	local pid
	wait_file "$2"
	pid=$(<"$2")
	BG_PIDS+=("$pid")
	printf -v "$1" '%s' "$pid"
}

wait_gone() {
	local i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	fail "process $1 still there after 10 s"
}

# Every line a client printed, background children included, ended as expected.
expect_bg_clean() {
	local f
	for f in "$@"; do
		! grep -q UNEXPECTED "$WORK/bg.$f.out" ||
			fail "client $f: $(grep -m 2 UNEXPECTED "$WORK/bg.$f.out" | tr '\n' ';')"
	done
}

status_json() {
	"$MDG_BIN" status --json >"$WORK/status.json" 2>"$WORK/status.err" ||
		[ -s "$WORK/status.json" ] ||
		fail "mdevguard status --json: $(head -c 300 "$WORK/status.err")"
}

# jq_status FILTER: the filter holds on `mdevguard status --json` within 3 s.
jq_status() {
	local i
	for ((i = 0; i < 30; i++)); do
		status_json
		jq -e "$1" "$WORK/status.json" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "status --json does not satisfy $1: $(jq -c .holders "$WORK/status.json" |
		head -c 600)"
}

# holds TGID UUID: the holders list shows the holding.
holds() {
	jq_status "any(.holders[]; .tgid == $1 and any(.devices[]; .uuid == \"$2\"))"
}

holds_not() {
	jq_status "all(.holders[]; .tgid != $1 or all(.devices[]; .uuid != \"$2\"))"
}

no_holder() {
	jq_status "all(.holders[]; .tgid != $1)"
}

# released_within SEC TGID UUID: the release pass ends the holding within SEC seconds (SPEC §3:
# a process that closed its last fd while others keep the file); the delay goes to the console.
released_within() {
	local limit=$1 t0=$SECONDS i
	for ((i = 0; i < limit * 10; i++)); do
		status_json
		if jq -e "all(.holders[]; .tgid != $2 or all(.devices[]; .uuid != \"$3\"))" \
			"$WORK/status.json" >/dev/null; then
			info "holding of $3 by $2 ended after about $((SECONDS - t0)) s"
			return 0
		fi
		sleep 0.1
	done
	fail "process $2 still holds $3 after $limit s: $(jq -c .holders "$WORK/status.json" |
		head -c 400)"
}

# ---- SPEC §3, every route by which a process comes to have a usable file ---------------------

# A node opened and never used makes nobody a holder; its use does.
sc_open_is_not_use() {
	need_pool
	svc_start
	expect_client "open without use" "group:${S[1]}" "group:${S[2]}" "group:${B[1]}" \
		"use:${S[1]}" "use:${S[2]}=EPERM" "close:${S[2]}" "group:${S[3]}=EPERM"
	expect_logged "device=${S[2]}" hook=ioctl rule=restricted-device action=deny
	expect_logged "device=${S[3]}" hook=open rule=restricted-device action=deny
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# The device fd is used without its group fd: closing the group fd ends the holding counted on
# it, and the device fd's next use decides again (the device file is counted from its first use).
sc_closegroup_keeps_holding() {
	need_pool
	svc_start
	expect_client "device fd without its group fd" "open:${S[1]}" "closegroup:${S[1]}" \
		"info:${S[1]}" "open:${S[2]}=EPERM" "closedev:${S[1]}" "open:${S[2]}"
	expect_logged "device=${S[2]}" hook=open action=deny
	expect_count 1 deny
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# Reads, writes and a mapping are uses; a mapping keeps its holding after every fd is closed.
sc_io_and_mmap() {
	need_pool
	svc_start
	expect_client "region 0 through read, write and mmap" "open:${S[1]}" "write:${S[1]}" \
		"read:${S[1]}" "mmap:${S[1]}" "closedev:${S[1]}" "closegroup:${S[1]}" \
		"open:${S[2]}=EPERM" "munmap:${S[1]}" "open:${S[2]}"
	expect_logged "device=${S[2]}" hook=open action=deny
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

sc_fork_inherit() {
	local p c
	need_pool
	svc_start --log-allow
	rm -f "$WORK"/{child,go,closed,end}
	client_bg p "open:${S[1]}" "fork:$WORK/child" "wait:$WORK/go" "open:${S[2]}=EPERM" \
		"read:${S[1]}" "close:${S[1]}" "touch:$WORK/closed" "wait:$WORK/end" "open:${S[2]}"
	p=$BG_PID_p
	bg_child c "$WORK/child"
	client_wait p
	# The parent has exited; the child has the files it inherited, and so the holding.
	no_holder "$p"
	holds "$c" "${S[1]}"
	touch "$WORK/go"
	wait_file "$WORK/closed"
	expect_logged "tgid=$c" "device=${S[2]}" hook=open rule=restricted-device action=deny
	# the child closed the last reference: its holding ends
	released_within 5 "$c" "${S[1]}"
	touch "$WORK/end"
	wait_gone "$c"
	expect_bg_clean p
	expect_count 1 deny
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# What the kernel skipping sched_process_fork's program looks like: the tracepoint's link is
# gone (its pin removed). The parent maps a region of S1 and closes every fd of it (the mapping
# keeps the holding), then forks and exits; the child has only the mapping. It must still hold
# S1: lsm/task_alloc left the inheritance on it, and its first decision takes it.
sc_fork_skipped_inherits() {
	local p c
	need_pool
	svc_start
	unpin_link link_process_fork
	rm -f "$WORK"/{child,done,end}
	client_bg p "open:${S[1]}" "mmap:${S[1]}" "closedev:${S[1]}" "closegroup:${S[1]}" \
		"fork:$WORK/child" "open:${S[2]}=EPERM" "touch:$WORK/done" "wait:$WORK/end"
	p=$BG_PID_p
	bg_child c "$WORK/child"
	client_wait p
	wait_file "$WORK/done"
	expect_logged "tgid=$c" "device=${S[2]}" hook=open rule=restricted-device action=deny
	holds "$c" "${S[1]}"
	touch "$WORK/end"
	wait_gone "$c"
	expect_bg_clean p
	expect_map_empty holders
	svc_finish
	pass
}

# unpin_link NAME: the pinned link NAME removed, and gone from the kernel (what a skipped run
# of its program looks like, every time).
unpin_link() {
	local id i
	id=$("$BPFTOOL" -j link show pinned "$PIN_DIR/$1" | jq '.id') || fail "no link at $1"
	rm "$PIN_DIR/$1" || fail "cannot remove $PIN_DIR/$1"
	for ((i = 0; i < 50; i++)); do
		"$BPFTOOL" -j link show | jq -e --argjson l "$id" 'any(.[]; .id == $l)' >/dev/null ||
			return 0
		sleep 0.1
	done
	fail "link $1 (id $id) still attached 5 s after its pin was removed"
}

# The end of a process missed (task_free's link removed; earlier builds followed it on a tracing
# program the kernel could skip): the record of a process that is gone stays in the holders map,
# and the service removes it on proof (its pid is free); a live holder's record stays.
sc_exit_skipped_pruned() {
	local a b
	need_pool
	svc_start --rescan-interval 1
	unpin_link link_task_free
	rm -f "$WORK"/{a,end}
	client_bg b "open:${S[2]}" "wait:$WORK/end"
	b=$BG_PID_b
	client_bg a "open:${S[1]}" "touch:$WORK/a"
	a=$BG_PID_a
	client_wait a
	wait_logged "removed 1 holder record\\(s\\) of processes that are gone"
	no_holder "$a"
	holds "$b" "${S[2]}"
	touch "$WORK/end"
	client_wait b
	svc_finish
	pass
}

sc_dup_keeps_holding() {
	need_pool
	svc_start
	expect_client "dup the device fd, close the original" "open:${S[1]}" \
		"dup:${S[1]}/dev:copy/dev" "close:${S[1]}" "open:${S[2]}=EPERM" "info:copy" \
		"close:copy" "open:${S[2]}"
	expect_logged "device=${S[2]}" action=deny
	expect_count 1 deny
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# Issue 7, route 1: the sender of a used group fd keeps the device it still has; the receiver,
# which never uses it, holds nothing (receiving is not using).
sc_scm_rights_hand_off() {
	local r s
	need_pool
	svc_start --log-allow
	rm -f "$WORK"/{sock,received,s2,closed,closed2,end}
	client_bg r "recvfd:$WORK/sock:got" "touch:$WORK/received" "wait:$WORK/end" "close:got"
	client_bg s "open:${S[1]}" "sendfd:$WORK/sock:${S[1]}" "wait:$WORK/received" \
		"open:${S[2]}=EPERM" "info:${S[1]}" "touch:$WORK/s2" "wait:$WORK/closed" \
		"close:${S[1]}" "touch:$WORK/closed2" "wait:$WORK/end" "open:${S[2]}"
	r=$BG_PID_r
	s=$BG_PID_s
	wait_file "$WORK/s2"
	expect_logged "tgid=$r" "device=${S[1]}" hook=receive rule=first action=allow
	expect_logged "tgid=$s" "device=${S[2]}" hook=open rule=restricted-device action=deny
	no_holder "$r"
	holds "$s" "${S[1]}"
	# the sender lets its copies go; the receiver keeps the file it never used: the sender's
	# holding ends, and nobody holds the device
	touch "$WORK/closed"
	wait_file "$WORK/closed2"
	released_within 5 "$s" "${S[1]}"
	no_holder "$r"
	touch "$WORK/end"
	client_wait r
	client_wait s
	expect_count 1 deny
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# Issue 7, route 2: a device fd passed on by a helper that then exits.
sc_device_fd_passing() {
	local r h
	need_pool
	svc_start --log-allow
	rm -f "$WORK"/{sock,received,end}
	client_bg r "recvfd:$WORK/sock:got/dev" "touch:$WORK/received" "info:got" "read:got" \
		"open:${S[2]}=EPERM" "mmap:got" "wait:$WORK/end"
	client_bg h "open:${S[1]}" "sendfd:$WORK/sock:${S[1]}/dev"
	r=$BG_PID_r
	h=$BG_PID_h
	client_wait h
	wait_file "$WORK/received"
	expect_logged "tgid=$r" "device=${S[1]}" hook=receive rule=first action=allow
	expect_logged "tgid=$r" "device=${S[2]}" hook=open rule=restricted-device action=deny
	no_holder "$h"
	holds "$r" "${S[1]}"
	touch "$WORK/end"
	client_wait r
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

sc_scm_rights_refused() {
	local r s
	need_pool
	svc_start
	rm -f "$WORK"/{sock,done,end}
	client_bg r "open:${S[1]}" "recvfd:$WORK/sock:got/dev=CTRUNC" "touch:$WORK/done" \
		"wait:$WORK/end"
	client_bg s "open:${S[2]}" "sendfd:$WORK/sock:${S[2]}/dev" "wait:$WORK/end"
	r=$BG_PID_r
	s=$BG_PID_s
	wait_file "$WORK/done"
	grep -q "recvfd $WORK/sock:got/dev refused CTRUNC bytes=1 ctrunc=1" "$WORK/bg.r.out" ||
		fail "recvmsg did not report MSG_CTRUNC without an fd: $(cat "$WORK/bg.r.out")"
	expect_logged "tgid=$r" "device=${S[2]}" hook=receive action=deny
	holds "$s" "${S[2]}"
	holds "$r" "${S[1]}"
	holds_not "$r" "${S[2]}"
	touch "$WORK/end"
	client_wait r
	client_wait s
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# Six processes open and close a device each as fast as they can, three to a CPU, two of them
# mapping it each time and two of those forking a child that writes to the mapping and exits:
# on a preemptible kernel a tracing program is preempted often enough that the kernel skips it
# for the next task on that CPU (bpftool shows recursion_misses). Every release must still end
# its holding, and every child's record go: releases, forks and ends are followed on LSM hooks,
# which are never skipped.
sc_releases_under_load() {
	local i line
	need_pool
	svc_start
	local how=([1]= [2]= [3]=:0:map [4]=:0:map [5]=:0:mapfork [6]=:0:mapfork)
	for i in 1 2 3 4 5 6; do
		# EBUSY: a group's last close can still be in progress at the next open
		client_bg "c$i" "churn:${S[i]}:${MDG_LOAD_SEC}${how[i]}=any"
	done
	for i in 1 2 3 4 5 6; do
		client_wait "c$i"
	done
	"$BPFTOOL" -j prog show >"$WORK/progs.json" || fail "bpftool prog show failed"
	while read -r line; do
		info "$line"
	done < <(jq -r '.[] | select(.name | startswith("mdg_")) | select(.recursion_misses) |
		"skipped by the kernel: \(.name) (\(.type)) \(.recursion_misses) times"' "$WORK/progs.json")
	jq -e 'any(.[]; (.name | startswith("mdg_")) and .type == "lsm" and .recursion_misses)' \
		"$WORK/progs.json" >/dev/null && fail "an LSM program was skipped"
	expect_no_denial_logged
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

sc_pidfd_getfd_transfer() {
	local h t
	need_pool
	svc_start --log-allow
	rm -f "$WORK"/{pub,taken,h2,end}
	client_bg h "open:${S[1]}" "publish:${S[1]}/dev:$WORK/pub" "wait:$WORK/taken" \
		"open:${S[2]}=EPERM" "touch:$WORK/h2" "wait:$WORK/end"
	client_bg t "wait:$WORK/pub" "getfd:$WORK/pub:got/dev" "info:got" "touch:$WORK/taken" \
		"open:${S[3]}=EPERM" "wait:$WORK/end"
	h=$BG_PID_h
	t=$BG_PID_t
	wait_file "$WORK/h2"
	expect_logged "tgid=$t" "device=${S[1]}" hook=receive rule=first action=allow
	holds "$t" "${S[1]}"
	holds "$h" "${S[1]}"
	touch "$WORK/end"
	client_wait h
	client_wait t
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

sc_pidfd_getfd_refused() {
	local h t
	need_pool
	# the receiver sees the configured deny errno, from pidfd_getfd itself
	svc_start --errno EACCES
	rm -f "$WORK"/{pub,done,end}
	client_bg h "open:${S[1]}" "publish:${S[1]}/dev:$WORK/pub" "wait:$WORK/end"
	client_bg t "open:${S[2]}" "wait:$WORK/pub" "getfd:$WORK/pub:got/dev=EACCES" \
		"touch:$WORK/done" "wait:$WORK/end"
	h=$BG_PID_h
	t=$BG_PID_t
	wait_file "$WORK/done"
	grep -q "step=pidfd_getfd" "$WORK/bg.t.out" ||
		fail "pidfd_getfd did not fail itself: $(cat "$WORK/bg.t.out")"
	expect_logged "tgid=$t" "device=${S[1]}" hook=receive action=deny
	holds "$h" "${S[1]}"
	holds "$t" "${S[2]}"
	holds_not "$t" "${S[1]}"
	touch "$WORK/end"
	client_wait h
	client_wait t
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# Issue 7, route 4: a management daemon pre-opens nodes and hands them to the VMs it starts
# (fork, exec, inherited fd), with no configuration. It never uses them, so it holds nothing;
# the VM that uses one holds it. --broker is still accepted, and ignored.
sc_daemon_model() {
	local d v1 v2
	need_pool
	svc_start --log-allow --broker /usr/sbin/libvirtd
	expect_logged "broker" "/usr/sbin/libvirtd:" "ignored;"
	rm -f "$WORK"/{v1.pid,v2.pid,u1,u2,d1,end}
	echo "use:${S[6]} read:${S[6]} touch:$WORK/u1 wait:$WORK/d1 open:${S[2]}=EPERM" \
		"touch:$WORK/u2 wait:$WORK/end" >"$WORK/vm1.args"
	echo "use:${S[7]} info:${S[7]} touch:$WORK/u3 wait:$WORK/end" >"$WORK/vm2.args"
	client_bg d "group:${S[6]}" "spawn:${S[6]}:$WORK/vm1.args:$WORK/v1.pid" \
		"wait:$WORK/u1" "close:${S[6]}" "group:${S[7]}" \
		"spawn:${S[7]}:$WORK/vm2.args:$WORK/v2.pid" "wait:$WORK/u3" "close:${S[7]}" \
		"group:${B[1]}" "close:${B[1]}" "touch:$WORK/d1" "wait:$WORK/end"
	d=$BG_PID_d
	bg_child v1 "$WORK/v1.pid"
	bg_child v2 "$WORK/v2.pid"
	wait_file "$WORK/u2"
	no_holder "$d"
	holds "$v1" "${S[6]}"
	holds "$v2" "${S[7]}"
	expect_logged "tgid=$v1" "device=${S[6]}" hook=ioctl rule=first action=allow
	expect_logged "tgid=$v2" "device=${S[7]}" hook=ioctl rule=first action=allow
	expect_logged "tgid=$v1" "device=${S[2]}" hook=open rule=restricted-device action=deny
	! log_has "tgid=$d" action=deny || fail "the daemon was denied: $(grep "tgid=$d" "$SVC_LOG")"
	expect_count 1 deny
	touch "$WORK/end"
	client_wait d
	wait_gone "$v1"
	wait_gone "$v2"
	expect_bg_clean d
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# A device file sent into another process's io_uring with IORING_OP_MSG_RING: no fd changes
# hands and no receive hook runs, but the receiver's first use of it is a decision.
sc_io_uring_msg_ring() {
	local a b c install=EPERM
	need_pool
	# IORING_OP_FIXED_FD_INSTALL came with 6.8
	[[ $(uname -r) == 6.1.* ]] && install=EINVAL
	svc_start --log-allow
	rm -f "$WORK"/{ring1,ring2,b,c,end}
	client_bg b "open:${S[2]}" "uring-take:ring:$WORK/ring1" "uring-read:ring=EPERM" \
		"uring-install:ring=$install" "touch:$WORK/b" "wait:$WORK/end"
	client_bg c "uring-take:ring:$WORK/ring2" "uring-read:ring" "open:${S[3]}=EPERM" \
		"touch:$WORK/c" "wait:$WORK/end"
	client_bg a "open:${S[1]}" "uring-give:${S[1]}:$WORK/ring1" \
		"uring-give:${S[1]}:$WORK/ring2" "wait:$WORK/end"
	a=$BG_PID_a
	b=$BG_PID_b
	c=$BG_PID_c
	wait_file "$WORK/b"
	wait_file "$WORK/c"
	sed 's/^/    [b] | /' "$WORK/bg.b.out"
	sed 's/^/    [c] | /' "$WORK/bg.c.out"
	expect_bg_clean b c
	expect_logged "tgid=$b" "device=${S[1]}" hook=io rule=restricted-device action=deny
	[ "$install" = EINVAL ] ||
		expect_logged "tgid=$b" "device=${S[1]}" hook=receive action=deny
	holds_not "$b" "${S[1]}"
	# a process that holds nothing reads through its ring: it holds the device now
	expect_logged "tgid=$c" "device=${S[1]}" hook=io rule=first action=allow
	holds "$c" "${S[1]}"
	expect_logged "tgid=$c" "device=${S[3]}" hook=open action=deny
	touch "$WORK/end"
	client_wait a
	client_wait b
	client_wait c
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

sc_pid_reuse() {
	local old p c rc=0
	need_pool
	old=$(</proc/sys/kernel/pid_max)
	# the floor is RESERVED_PIDS + 1
	echo 300 >/proc/sys/kernel/pid_max 2>/dev/null && rc=0 || rc=$?
	info "pid_max: was $old; 300 $([ "$rc" -eq 0 ] && echo accepted || echo refused)" \
		"(the kernel's floor is RESERVED_PIDS + 1 = 301)"
	echo 512 >/proc/sys/kernel/pid_max || fail "cannot lower pid_max"
	trap 'echo '"$old"' >/proc/sys/kernel/pid_max; scenario_cleanup' EXIT
	svc_start --log-allow
	rm -f "$WORK"/{child,n,end,end2}
	# Pids below RESERVED_PIDS are never handed out again after a wrap: start P above them,
	# whatever ran before this scenario.
	echo 400 >/proc/sys/kernel/ns_last_pid || fail "cannot set ns_last_pid"
	client_bg p "open:${S[1]}" "pid:$WORK/ppid" "fork:$WORK/child" "wait:$WORK/end"
	p=$BG_PID_p
	bg_child c "$WORK/child"
	client_wait p
	[ "$p" -lt 512 ] || fail "P got pid $p with pid_max 512"
	no_holder "$p"
	holds "$c" "${S[1]}"
	# a new process with P's pid holds nothing of P's
	client_bg n "becomepid:$WORK/ppid" "open:${S[2]}" "touch:$WORK/n" "wait:$WORK/end2" \
		"open:${S[3]}=EPERM"
	wait_file "$WORK/n" 120
	grep -m 1 "becomepid" "$WORK/bg.n.out" | sed 's/^/    | /' || true
	expect_logged "tgid=$p" "device=${S[2]}" rule=first action=allow
	holds "$p" "${S[2]}"
	holds_not "$p" "${S[1]}"
	touch "$WORK/end2"
	client_wait n
	expect_logged "tgid=$p" "device=${S[3]}" action=deny
	touch "$WORK/end"
	wait_gone "$c"
	expect_bg_clean p
	expect_map_empty holders
	expect_map_empty files
	echo "$old" >/proc/sys/kernel/pid_max
	svc_finish
	pass
}

sc_thread_exit_keeps_holding() {
	need_pool
	svc_start
	expect_client "a thread uses a device and exits" "thread-open:${S[1]}" \
		"open:${S[2]}=EPERM" "close:${S[1]}" "open:${S[2]}"
	expect_logged "device=${S[2]}" action=deny
	expect_count 1 deny
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# ---- SPEC §4, the service's lifetime --------------------------------------------------------

sc_adoption() {
	local a
	need_pool
	rm -f "$WORK"/{a,b,c,d}
	[ ! -e "$PIN_DIR" ] || fail "$PIN_DIR left over by an earlier scenario"
	client_bg a "open:${S[1]}" "touch:$WORK/a" "wait:$WORK/b" "open:${S[2]}=EPERM" \
		"touch:$WORK/c" "wait:$WORK/d"
	a=$BG_PID_a
	wait_file "$WORK/a"
	svc_start
	expect_logged "adopted:" process "$a" "${S[1]}"
	holds "$a" "${S[1]}"
	touch "$WORK/b"
	wait_file "$WORK/c"
	expect_logged "tgid=$a" "device=${S[2]}" action=deny
	touch "$WORK/d"
	client_wait a
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# Adoption while files come and go: a file adopted before the service attaches must still be
# given back when it is closed, whenever that happens.
sc_adoption_churn() {
	local a round
	need_pool
	[ ! -e "$PIN_DIR" ] || fail "$PIN_DIR left over by an earlier scenario"
	# two rounds in the inner loop (tests/run.sh --quick)
	for ((round = 1; round <= ${MDG_CHURN_ROUNDS}; round++)); do
		rm -f "$WORK/bg.a.out"
		client_bg a "churn:${S[1]}:120:2"
		a=$BG_PID_a
		sleep 0.3
		svc_start
		sleep 0.5
		kill -0 "$a" 2>/dev/null ||
			fail "the churning client ended early: $(cat "$WORK/bg.a.out")"
		kill -TERM "$a" || true
		wait "$a" 2>/dev/null || true
		info "adoption-churn round $round:" \
			"$(grep -c 'adopted:' "$SVC_LOG") adoption line(s)"
		expect_map_empty holders
		expect_map_empty files
		expect_client "S1 free again" "open:${S[1]}" "open:${S[2]}=EPERM"
		svc_finish
	done
	pass
}

sc_restart_sigkill() {
	local a
	need_pool
	svc_start
	rm -f "$WORK"/{a,b,c,d,e,f}
	client_bg a "open:${S[1]}" "touch:$WORK/a" "wait:$WORK/b" "open:${S[2]}=EPERM" \
		"touch:$WORK/c" "wait:$WORK/d" "open:${S[3]}=EPERM" "touch:$WORK/e" "wait:$WORK/f"
	a=$BG_PID_a
	wait_file "$WORK/a"
	kill -KILL "$SVC_PID"
	wait "$SVC_PID" 2>/dev/null || true
	SVC_PID=
	cp "$SVC_LOG" "$WORK/mdevguard.first.log"
	[ -d "$PIN_DIR" ] || fail "$PIN_DIR gone after SIGKILL"
	info "pinned after SIGKILL: $(cd "$PIN_DIR" && echo *)"
	expect_status_no_loader
	# no service runs: the kernel side still enforces
	touch "$WORK/b"
	wait_file "$WORK/c"
	grep -q "open ${S[2]} errno=1 EPERM" "$WORK/bg.a.out" ||
		fail "second open without a service: $(tail -n 1 "$WORK/bg.a.out")"
	svc_start
	holds "$a" "${S[1]}"
	! log_has "adopted:" process "$a" "${S[1]}" ||
		fail "the restarted service adopted a holding its pinned maps already had"
	touch "$WORK/d"
	wait_file "$WORK/e"
	expect_logged "tgid=$a" "device=${S[3]}" action=deny
	touch "$WORK/f"
	client_wait a
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# status with decisions attached and no loader: exit 4 and one sentence saying so.
expect_status_no_loader() {
	local rc=0
	"$MDG_BIN" status >"$WORK/status.out" 2>&1 || rc=$?
	head -n 1 "$WORK/status.out" | sed 's/^/    | /'
	[ "$rc" -eq 4 ] || fail "status with no loader exited $rc, not 4: $(head -n 1 "$WORK/status.out")"
	grep -q '^mdevguard: enforcing, not following hotplug (no loader running),' \
		"$WORK/status.out" || fail "status with no loader: $(head -n 1 "$WORK/status.out")"
	rc=0
	"$MDG_BIN" status --json >"$WORK/status.json" 2>&1 || rc=$?
	[ "$rc" -eq 4 ] || fail "status --json with no loader exited $rc, not 4"
	jq -e '.loaded == true and .loader_running == false' "$WORK/status.json" >/dev/null ||
		fail "status --json with no loader: $(head -c 300 "$WORK/status.json")"
}

# SIGTERM ends the loader, not enforcement: the pins stay, decisions go on, status says that
# nobody follows sysfs (exit 4), and a new start takes over with its holdings.
sc_stop_keeps_enforcing() {
	local a rc=0
	need_pool
	svc_start
	rm -f "$WORK"/{a,b,c,d}
	client_bg a "open:${S[1]}" "touch:$WORK/a" "wait:$WORK/b" "open:${S[2]}=EPERM" \
		"touch:$WORK/c" "wait:$WORK/d"
	a=$BG_PID_a
	wait_file "$WORK/a"
	kill -TERM "$SVC_PID"
	wait "$SVC_PID" || rc=$?
	SVC_PID=
	[ "$rc" -eq 0 ] || fail "mdevguard exited with $rc on SIGTERM"
	[ -e "$PIN_DIR/config" ] || fail "SIGTERM removed the pins"
	expect_status_no_loader
	jq -e '.ready == false' "$WORK/status.json" >/dev/null ||
		fail "ready still set after a clean stop: $(head -c 300 "$WORK/status.json")"
	touch "$WORK/b"
	wait_file "$WORK/c"
	grep -q "open ${S[2]} errno=1 EPERM" "$WORK/bg.a.out" ||
		fail "second open without a service: $(tail -n 1 "$WORK/bg.a.out")"
	svc_start
	holds "$a" "${S[1]}"
	touch "$WORK/d"
	client_wait a
	expect_map_empty holders
	svc_finish
	pass
}

# id and program name of a pinned link
link_prog() {
	local lid pid
	lid=$("$BPFTOOL" -j link show pinned "$1" | jq -r '.id') || return 1
	pid=$("$BPFTOOL" -j link show pinned "$1" | jq -r '.prog_id') || return 1
	echo "$lid $("$BPFTOOL" -j prog show id "$pid" | jq -r '.name')"
}

# A start over links another build left (same ABI) puts its own programs in their place, with
# no moment where neither decides; links that already run its programs are kept.
sc_upgrade_replaces_programs() {
	local a rc=0 old new recv_before recv_after
	need_pool
	svc_start
	rm -f "$WORK"/{a,b}
	client_bg a "open:${S[1]}" "touch:$WORK/a" "wait:$WORK/b"
	a=$BG_PID_a
	wait_file "$WORK/a"
	kill -TERM "$SVC_PID"
	wait "$SVC_PID" || rc=$?
	SVC_PID=
	[ "$rc" -eq 0 ] || fail "mdevguard exited with $rc on SIGTERM"
	# the stand-in for an older build: a file_open program that decides nothing
	"$MDG_BUILD_DIR/tests/bench/mdg-pin-link" "$PIN_DIR/link_file_open" ||
		fail "cannot pin the stand-in link"
	# and a release link earlier builds pinned on VFIO's release function, which this one retires
	"$MDG_BUILD_DIR/tests/bench/mdg-pin-link" "$PIN_DIR/link_device_release" release ||
		fail "cannot pin the retired link's stand-in"
	old=$(link_prog "$PIN_DIR/link_file_open") || fail "no link pinned at link_file_open"
	[ "${old#* }" = empty_file_open ] || fail "stand-in not pinned: $old"
	recv_before=$(link_prog "$PIN_DIR/link_file_receive")
	expect_client "the stand-in checks no open" "open:${S[2]}" "group:${S[3]}"
	svc_start
	wait_logged "link_file_open runs another build's program"
	wait_logged "removed $PIN_DIR/link_device_release, an earlier build's pin"
	[ ! -e "$PIN_DIR/link_device_release" ] || fail "the retired link_device_release is still pinned"
	[ "$(link_prog "$PIN_DIR/link_file_free" | cut -d' ' -f2)" = mdg_file_free ] ||
		fail "no mdg_file_free at link_file_free after the upgrade"
	new=$(link_prog "$PIN_DIR/link_file_open") || fail "no link at link_file_open"
	info "link_file_open: $old -> $new"
	[ "${new#* }" = mdg_file_open ] || fail "link_file_open runs ${new#* } after the start"
	recv_after=$(link_prog "$PIN_DIR/link_file_receive")
	[ "$recv_before" = "$recv_after" ] ||
		fail "link_file_receive replaced although it ran this build: $recv_before -> $recv_after"
	for ((rc = 0; rc < 100; rc++)); do
		"$BPFTOOL" -j prog show 2>/dev/null | jq -e 'any(.[]; .name == "empty_file_open")' \
			>/dev/null || break
		sleep 0.1
	done
	[ "$rc" -lt 100 ] || fail "the replaced program is still loaded 10 s later"
	ls "$PIN_DIR" | grep -q '^link_.*_swap$' && fail "a temporary pin was left: $(ls "$PIN_DIR")"
	holds "$a" "${S[1]}"
	expect_client "open checked again" "open:${S[2]}" "group:${S[3]}=EPERM"
	expect_logged "device=${S[3]}" hook=open action=deny
	touch "$WORK/b"
	client_wait a
	svc_finish
	pass
}

sc_version_skew() {
	local a vals abi
	need_pool
	svc_start
	rm -f "$WORK"/{a,b,c,d}
	client_bg a "open:${S[1]}" "touch:$WORK/a" "wait:$WORK/b" "open:${S[2]}=EPERM" \
		"touch:$WORK/c" "wait:$WORK/d"
	a=$BG_PID_a
	wait_file "$WORK/a"
	kill -KILL "$SVC_PID"
	wait "$SVC_PID" 2>/dev/null || true
	SVC_PID=
	cp "$SVC_LOG" "$WORK/mdevguard.first.log"
	# An older mdevguard's state: the config map's first field, abi, says another version.
	vals=$("$BPFTOOL" -j map lookup pinned "$PIN_DIR/config" key 0 0 0 0 |
		jq -r '.value | .[4:] | join(" ")') || fail "cannot read $PIN_DIR/config"
	[ -n "$vals" ] || fail "empty value in $PIN_DIR/config"
	"$BPFTOOL" map update pinned "$PIN_DIR/config" key 0 0 0 0 value 0x63 0 0 0 $vals ||
		fail "cannot write $PIN_DIR/config"
	abi=$("$BPFTOOL" -j map lookup pinned "$PIN_DIR/config" key 0 0 0 0 | jq -r '.value[0]')
	[ "$abi" = 0x63 ] || fail "abi byte is $abi after the update"
	svc_start
	expect_logged "pinned" "incompatible" "mdevguard"
	expect_logged "adopted:" process "$a" "${S[1]}"
	holds "$a" "${S[1]}"
	abi=$("$BPFTOOL" -j map lookup pinned "$PIN_DIR/config" key 0 0 0 0 | jq -r '.value[0]')
	[ "$abi" != 0x63 ] || fail "the pinned config still has the old abi"
	touch "$WORK/b"
	wait_file "$WORK/c"
	expect_logged "tgid=$a" "device=${S[2]}" action=deny
	touch "$WORK/d"
	client_wait a
	expect_client "enforcement after the replacement" "open:${S[3]}" "open:${S[4]}=EPERM"
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# has_device UUID yes|no [SINCE]: the device is (not) in status's device list within 1 s of
# SINCE (an $EPOCHREALTIME, default now); the latency goes to the console.
has_device() {
	local want=true since=${3:-$EPOCHREALTIME} ms
	[ "$2" = no ] && want=false
	while :; do
		status_json
		ms=$(((${EPOCHREALTIME/./} - ${since/./}) / 1000))
		if [ "$(jq -r "any(.devices[]; .uuid == \"$1\")" "$WORK/status.json")" = "$want" ]
		then
			info "device map: $1 $([ "$2" = no ] && echo out || echo in) after $ms ms"
			return 0
		fi
		[ "$ms" -le 1000 ] || fail "device $1 $([ "$2" = no ] && echo still || echo not)" \
			"in the device map after $ms ms"
		sleep 0.05
	done
}

sc_hotplug_remove() {
	local t1 t2 a t0
	need_pool
	t1=$(uuid single 200)
	t2=$(uuid single 201)
	mdev_create_transient single "$t1"
	mdev_create_transient single "$t2"
	svc_start
	has_device "$t1" yes
	has_device "$t2" yes
	t0=$EPOCHREALTIME
	mdev_remove "$t1"
	has_device "$t1" no "$t0"
	# A device in use cannot be removed (VFIO waits for its files): use it, let go, remove it.
	rm -f "$WORK"/{a,b,c}
	client_bg a "open:$t2" "touch:$WORK/a" "wait:$WORK/b" "open:${S[1]}=EPERM" \
		"close:$t2" "touch:$WORK/c" "wait:$WORK/d" "open:${S[1]}"
	a=$BG_PID_a
	wait_file "$WORK/a"
	holds "$a" "$t2"
	touch "$WORK/b"
	wait_file "$WORK/c"
	holds_not "$a" "$t2"
	t0=$EPOCHREALTIME
	mdev_remove "$t2"
	has_device "$t2" no "$t0"
	touch "$WORK/d"
	client_wait a
	expect_logged "tgid=$a" "device=${S[1]}" action=deny
	kill -0 "$SVC_PID" 2>/dev/null || fail "the service died"
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

sc_sighup_reload() {
	local conf=$WORK/mdevguard.conf a m3
	need_pool
	m3=$(uuid multi 200)
	mdev_create_transient multi "$m3"
	echo "# empty at first" >"$conf"
	svc_start --config "$conf"
	expect_client "multi unrestricted" "open:${M[1]}" "open:${M[2]}"
	rm -f "$WORK"/{a,b,c}
	client_bg a "open:${M[1]}" "touch:$WORK/a" "wait:$WORK/b" "open:${M[2]}=EPERM" \
		"touch:$WORK/c"
	a=$BG_PID_a
	wait_file "$WORK/a"
	echo "restrict-type = $PARENT-multi" >>"$conf"
	kill -HUP "$SVC_PID"
	expect_logged "reloaded:"
	jq_status "any(.devices[]; .uuid == \"${M[1]}\" and .restricted == true)"
	# A holding keeps the restricted flag it was taken with.
	jq_status "any(.holders[]; .tgid == $a and
		any(.devices[]; .uuid == \"${M[1]}\" and .restricted == false))"
	expect_client "multi restricted after SIGHUP" "open:$m3" "open:${M[2]}=EPERM"
	expect_logged "device=${M[2]}" action=deny rule=restricted-device
	# the earlier holder of M1 (unrestricted when taken) may not add M2, now restricted
	touch "$WORK/b"
	client_wait a
	expect_logged "tgid=$a" "device=${M[2]}" action=deny
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

sc_unload() {
	local rc=0 left
	need_pool
	svc_start
	expect_client "enforced" "open:${S[1]}" "open:${S[2]}=EPERM"
	timeout 20 "$MDG_BIN" unload >"$WORK/unload.out" 2>&1 || rc=$?
	sed 's/^/    | /' "$WORK/unload.out"
	[ "$rc" -eq 0 ] || fail "mdevguard unload exited with $rc"
	[ ! -e "$PIN_DIR" ] || fail "$PIN_DIR still there after unload: $(ls "$PIN_DIR")"
	expect_client "not enforced after unload" "open:${S[1]}" "open:${S[2]}"
	svc_finish
	[ ! -e "$PIN_DIR" ] || fail "$PIN_DIR came back"

	svc_start --unload-on-exit
	expect_client "enforced again" "open:${S[1]}" "open:${S[2]}=EPERM"
	kill -TERM "$SVC_PID"
	wait "$SVC_PID" || rc=$?
	SVC_PID=
	[ "$rc" -eq 0 ] || fail "mdevguard run --unload-on-exit exited with $rc on SIGTERM"
	left=$(ls -A /sys/fs/bpf)
	[ -z "$left" ] || fail "/sys/fs/bpf not empty after --unload-on-exit: $left"
	expect_client "not enforced after --unload-on-exit" "open:${S[1]}" "open:${S[2]}"
	pass
}
