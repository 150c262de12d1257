# shellcheck shell=bash
# shellcheck disable=SC2154 # BG_PID_<name> are set by client_bg (lib.sh) through eval
# SPDX-License-Identifier: GPL-2.0
# Scenarios of what operators see (SPEC §4 logging, §5 tools, §6 bad input), and the demo.
# Sourced by run-scenarios.sh.

SCENARIOS+=(
	events-text
	events-json
	denial-names-vm
	denial-names-gone-vm
	status-human
	status-json
	+bpftool-dump
	metrics
	+list-check
	bad-input
	demo
)

PY=${PY:-/usr/bin/python3}

# op_svc_start FORMAT [OPTION]...: like svc_start, with the log format chosen and standard
# error kept apart, so that standard output holds decision lines only.
op_svc_start() {
	local fmt=$1
	shift
	[ -x "$MDG_BIN" ] || fail "mdevguard not built: $MDG_BIN is missing"
	SVC_LOG=$WORK/mdevguard.log
	SVC_ERR=$WORK/mdevguard.err
	log "mdevguard run $* --log-format $fmt"
	"$MDG_BIN" run "$@" --log-format "$fmt" >"$SVC_LOG" 2>"$SVC_ERR" &
	SVC_PID=$!
	svc_ready "$SVC_PID" "$SVC_ERR"
}

# wait_file FILE: a background client's signal that it got where it was going.
wait_file() {
	local i
	for ((i = 0; i < 300; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	fail "timed out waiting for $1"
}

rdev_of() {
	printf '%d:%d' "0x$(stat -c %t "$1")" "0x$(stat -c %T "$1")"
}


# ---- decision lines -------------------------------------------------------------------------

sc_events_text() {
	local exe n node rdev line pid
	need_pool
	exe=$(readlink -f "$MDG_CLIENT")
	n=$(group_of "${S[2]}") || fail "${S[2]} has no group"
	node=/dev/vfio/$n
	rdev=$(rdev_of "$node")
	op_svc_start text --log-allow
	rm -f "$WORK/a" "$WORK/b"
	# the client stays alive until the line is checked: its exe is read from /proc
	client_bg a "open:${S[1]}" "open:${S[2]}=EPERM" "touch:$WORK/a" "wait:$WORK/b"
	pid=$BG_PID_a
	wait_file "$WORK/a"
	expect_logged action=deny "pid=$pid" "tgid=$pid" uid=0 comm=mdg-vfio-client "exe=$exe" \
		"device=${S[2]}" type=mdg_fixture-single "node=$node" "($rdev)" "held=${S[1]}" \
		hook=open rule=restricted-device
	line=$(grep -m 1 -F "device=${S[2]}" "$SVC_LOG")
	[[ $line =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\ deny\  ]] ||
		fail "deny line does not start with a UTC time and the action: $line"
	info "deny line: $line"
	expect_logged action=allow "tgid=$pid" "device=${S[1]}" rule=first held=- hook=open
	info "allow line: $(grep -m 1 -F "device=${S[1]}" "$SVC_LOG")"
	touch "$WORK/b"
	client_wait a
	svc_finish
	pass
}

sc_events_json() {
	local exe n node rdev pid
	need_pool
	[ -x "$PY" ] || fail "no $PY to parse JSON"
	exe=$(readlink -f "$MDG_CLIENT")
	n=$(group_of "${S[2]}") || fail "${S[2]} has no group"
	node=/dev/vfio/$n
	rdev=$(rdev_of "$node")
	op_svc_start json --log-allow
	rm -f "$WORK/a" "$WORK/b"
	client_bg a "open:${S[1]}" "open:${S[2]}=EPERM" "touch:$WORK/a" "wait:$WORK/b"
	pid=$BG_PID_a
	wait_file "$WORK/a"
	wait_logged "\"device\":\"${S[2]}\""
	"$PY" - "$SVC_LOG" "$pid" "$exe" "${S[1]}" "${S[2]}" "$node" "$rdev" >"$WORK/py.out" 2>&1 <<'EOF' ||
import json, re, sys
path, pid, exe, s1, s2, node, rdev = sys.argv[1:]
pid = int(pid)
keys = {"time", "action", "rule", "pid", "tgid", "uid", "comm", "exe", "device", "type", "node",
        "rdev", "held", "hook"}
lines = open(path).read().splitlines()
if not lines:
    sys.exit("no lines")
recs = []
for i, l in enumerate(lines, 1):
    try:
        r = json.loads(l)
    except ValueError as e:
        sys.exit("line %d is not JSON (%s): %r" % (i, e, l))
    if set(r) != keys:
        sys.exit("line %d: fields %s, want %s" % (i, sorted(r), sorted(keys)))
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", r["time"]):
        sys.exit("line %d: time %r" % (i, r["time"]))
    recs.append(r)
want_deny = {"action": "deny", "rule": "restricted-device", "pid": pid, "tgid": pid, "uid": 0,
             "comm": "mdg-vfio-client", "exe": exe, "device": s2, "type": "mdg_fixture-single",
             "node": node, "rdev": rdev, "held": [s1], "hook": "open"}
want_allow = {"action": "allow", "rule": "first", "tgid": pid, "device": s1, "held": [],
              "hook": "open"}
for want in (want_deny, want_allow):
    if not any(all(r[k] == v for k, v in want.items()) for r in recs):
        sys.exit("no record with %s in %s" % (want, recs))
print(json.dumps([r for r in recs if r["device"] == s2][0]))
EOF
		fail "JSON log: $(tail -n 2 "$WORK/py.out" | tr '\n' ' ')"
	info "deny record: $(tail -n 1 "$WORK/py.out")"
	touch "$WORK/b"
	client_wait a
	svc_finish
	pass
}

# ---- names of the VM ------------------------------------------------------------------------

# The guest has no systemd: the cgroups libvirt's machine scope and the kubelet's pod slice make
# are made by hand, on cgroup2 mounted here if nothing is, and removed again at the end.
NAMES_CG=/sys/fs/cgroup
NAMES_VM_CG="$NAMES_CG/machine.slice/machine-qemu\\x2d7\\x2dvm\\x2dtest.scope"
NAMES_POD=5f7a2c1e-0b3d-4c8e-9a6f-1d2e3f4a5b6c
NAMES_POD_CG=$NAMES_CG/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${NAMES_POD//-/_}.slice
NAMES_MOUNTED=0

names_cgroups() {
	if ! mountpoint -q "$NAMES_CG"; then
		mount -t cgroup2 cgroup2 "$NAMES_CG" || fail "cannot mount cgroup2 on $NAMES_CG"
		NAMES_MOUNTED=1
	fi
	mkdir -p "$NAMES_VM_CG" "$NAMES_POD_CG" || fail "cannot make the test cgroups"
}

names_cgroups_remove() {
	local d
	for d in "$NAMES_VM_CG" "$NAMES_CG/machine.slice" "$NAMES_POD_CG" \
		"${NAMES_POD_CG%/*}" "$NAMES_CG/kubepods.slice"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	[ "$NAMES_MOUNTED" -eq 0 ] || umount "$NAMES_CG" 2>/dev/null || true
	return 0
}

# cg_client_bg NAME CGROUP OP...: client_bg, its process moved into CGROUP before it execs.
cg_client_bg() {
	local name=$1 cg=$2
	shift 2
	[ -x "$MDG_CLIENT" ] || fail "client not built: $MDG_CLIENT is missing"
	log "client[$name] in ${cg#"$NAMES_CG"}: $*"
	# shellcheck disable=SC2016 # $$ and $0 are the inner shell's
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$MDG_CLIENT" "$@" \
		>"$WORK/bg.$name.out" 2>&1 &
	eval "BG_PID_$name=\$!"
	BG_PIDS+=("$!")
}

# names_clients: a client in the VM's scope and one in the pod's slice, each holding a device
# and denied a second; both wait for $WORK/b.
names_clients() {
	rm -f "$WORK/a" "$WORK/p" "$WORK/b"
	cg_client_bg vm "$NAMES_VM_CG" "open:${S[1]}" "open:${S[2]}=EPERM" "touch:$WORK/a" \
		"wait:$WORK/b"
	cg_client_bg pod "$NAMES_POD_CG" "open:${S[3]}" "open:${S[4]}=EPERM" "touch:$WORK/p" \
		"wait:$WORK/b"
	wait_file "$WORK/a"
	wait_file "$WORK/p"
}

names_clients_end() {
	touch "$WORK/b"
	client_wait vm
	client_wait pod
}

# A process gone before the service reads its event (a QEMU refused at its first open exits at
# once) is named by what the event carries: the kernel side read its machine scope at the
# decision. The service is stopped meanwhile, and the scope removed before it goes on, so that
# /proc and the cgroup tree can tell it nothing. The client sits two levels below the scope, as
# libvirt's QEMU does (libvirt/emulator).
sc_denial_names_gone_vm() {
	local scope="$NAMES_CG/machine.slice/machine-qemu\\x2d9\\x2dvm\\x2dgone.scope" line
	need_pool
	# shellcheck disable=SC2064 # the paths are fixed now
	trap "scenario_cleanup; rmdir '$scope/libvirt/emulator' '$scope/libvirt' '$scope' 2>/dev/null; names_cgroups_remove" EXIT
	names_cgroups
	mkdir -p "$scope/libvirt/emulator" || fail "cannot make $scope/libvirt/emulator"
	op_svc_start text
	kill -STOP "$SVC_PID"
	cg_client_bg gone "$scope/libvirt/emulator" "open:${S[5]}" "open:${S[6]}=EPERM"
	client_wait gone
	rmdir "$scope/libvirt/emulator" "$scope/libvirt" "$scope" ||
		{ kill -CONT "$SVC_PID"; fail "cannot remove the scope the client was in"; }
	kill -CONT "$SVC_PID"
	expect_logged action=deny "device=${S[6]}" rule=restricted-device vm=vm-gone
	line=$(grep -m 1 -F "device=${S[6]}" "$SVC_LOG")
	[[ $line == *" exe=? "* ]] || fail "the process was still there when its event was read: $line"
	[[ $line == *" vm=vm-gone unit=machine-qemu"*"vm"*"gone.scope" ]] ||
		fail "the unit is not the scope read at the decision: $line"
	info "deny line of a process gone before it was read: $line"
	svc_finish
	pass
}

sc_denial_names_vm() {
	local vm pod line unit='machine-qemu\x5cx2d7\x5cx2dvm\x5cx2dtest.scope' out=$WORK/status.txt
	need_pool
	[ -x "$PY" ] || fail "no $PY to parse JSON"
	trap 'scenario_cleanup; names_cgroups_remove' EXIT
	names_cgroups

	op_svc_start text
	names_clients
	vm=$BG_PID_vm
	pod=$BG_PID_pod
	grep -qx "0::/machine.slice/machine-qemu\\\\x2d7\\\\x2dvm\\\\x2dtest.scope" "/proc/$vm/cgroup" ||
		fail "client not in the VM's scope: $(cat "/proc/$vm/cgroup")"
	# (the unit's backslashes stay out of log_has: awk -v would read them as escapes)
	expect_logged action=deny "tgid=$vm" "device=${S[2]}" rule=restricted-device vm=vm-test
	line=$(grep -m 1 -F "device=${S[2]}" "$SVC_LOG")
	[[ $line == *" action=deny vm=vm-test unit=$unit" ]] ||
		fail "names not at the end of the deny line, in order: $line"
	info "deny line in a VM's scope: $line"
	expect_logged action=deny "tgid=$pod" "device=${S[4]}" rule=restricted-device "pod=$NAMES_POD"
	line=$(grep -m 1 -F "device=${S[4]}" "$SVC_LOG")
	[[ $line == *" action=deny pod=$NAMES_POD" ]] ||
		fail "pod not at the end of the deny line: $line"
	info "deny line in a pod's slice: $line"
	# status names the holders too
	"$MDG_BIN" status >"$out" 2>&1 || fail "status exited non-zero: $(tail -n 2 "$out")"
	grep -qE "^  $vm +mdg-vfio-client +${S[1]}\(restricted\) vm=vm-test unit=machine-qemu" \
		"$out" || fail "status holder $vm without its VM: $(grep -A4 '^holders' "$out")"
	grep -qE "^  $pod +mdg-vfio-client +${S[3]}\(restricted\) pod=$NAMES_POD\$" "$out" ||
		fail "status holder $pod without its pod: $(grep -A4 '^holders' "$out")"
	grep -A4 '^holders' "$out" | sed 's/^/status| /' >>"$INFO_FILE"
	names_clients_end
	svc_finish

	op_svc_start json
	names_clients
	vm=$BG_PID_vm
	pod=$BG_PID_pod
	wait_logged "\"device\":\"${S[2]}\""
	wait_logged "\"device\":\"${S[4]}\""
	"$MDG_BIN" status --json >"$WORK/status.json" 2>&1 || fail "status --json exited non-zero"
	"$PY" - "$SVC_LOG" "$WORK/status.json" "$vm" "$pod" "${S[2]}" "${S[4]}" "$NAMES_POD" \
		>"$WORK/py.out" 2>&1 <<'EOF2' ||
import json, sys
path, status, vm, pod, s2, s4, uid = sys.argv[1:]
recs = [json.loads(l) for l in open(path).read().splitlines()]
unit = "machine-qemu\\x2d7\\x2dvm\\x2dtest.scope"
d = [r for r in recs if r["device"] == s2]
if not d or d[0]["tgid"] != int(vm) or d[0].get("vm") != "vm-test" or \
   d[0].get("unit") != unit or "pod" in d[0]:
    sys.exit("VM deny record %r" % d)
p = [r for r in recs if r["device"] == s4]
if not p or p[0]["tgid"] != int(pod) or p[0].get("pod") != uid or "vm" in p[0] or \
   "unit" in p[0]:
    sys.exit("pod deny record %r" % p)
h = {x["tgid"]: x for x in json.load(open(status))["holders"]}
if h.get(int(vm), {}).get("vm") != "vm-test" or h[int(vm)].get("unit") != unit:
    sys.exit("status holder %s: %r" % (vm, h.get(int(vm))))
if h.get(int(pod), {}).get("pod") != uid or "vm" in h[int(pod)]:
    sys.exit("status holder %s: %r" % (pod, h.get(int(pod))))
print(json.dumps(d[0]))
print(json.dumps(p[0]))
EOF2
		fail "JSON: $(tail -n 2 "$WORK/py.out" | tr '\n' ' ')"
	info "deny records: $(tr '\n' ' ' <"$WORK/py.out")"
	names_clients_end
	svc_finish
	names_cgroups_remove
	pass
}

# ---- status ---------------------------------------------------------------------------------

# A policy and clients that give status something to show: every kind of "why", one holder
# still running, one deny counted.
status_setup() {
	need_pool
	svc_start --restrict-type mdg_fixture-single-b --allow-device "${P[2]}"
	rm -f "$WORK/a" "$WORK/b"
	client_bg a "open:${S[1]}" "touch:$WORK/a" "wait:$WORK/b"
	wait_file "$WORK/a"
	expect_client "a deny for the counters" "open:${S[3]}" "open:${S[4]}=EPERM"
	expect_logged action=deny "device=${S[4]}"
}

sc_status_human() {
	local out=$WORK/status.txt rc=0 u why pid
	status_setup
	pid=$BG_PID_a
	"$MDG_BIN" status >"$out" 2>&1 || rc=$?
	sed 's/^/    | /' "$out"
	[ "$rc" -eq 0 ] || fail "status exited $rc with a holder present"
	grep -q '^mdevguard: enforcing, mode exclusive, audit off, errno EPERM$' "$out" ||
		fail "no mode/audit/errno line: $(head -n 1 "$out")"
	for u in "${S[1]}:yes:sysfs-Y" "${M[1]}:no:sysfs-N" "${P[1]}:no:absent-default" \
		"$O1:yes:malformed" "${B[1]}:yes:type-override" "${P[2]}:no:device-override"; do
		IFS=: read -r u r why <<<"$u"
		grep -qE "^  $u  mdg_fixture-[a-z-]+ +$r +$why +/dev/vfio/[0-9]+ \([0-9]+:[0-9]+\)$" \
			"$out" || fail "no device line '$u ... $r $why': $(grep -F "$u" "$out")"
	done
	grep -qE "^  $pid +mdg-vfio-client +${S[1]}\(restricted\)$" "$out" ||
		fail "holder $pid with ${S[1]} not shown: $(grep -A3 '^holders' "$out" | tr '\n' ' ')"
	grep -qE '^counters: opens [0-9]+, allowed [0-9]+, denied [1-9][0-9]*, audit-denied 0, errors 0, lost events 0, acquired [0-9]+, released [0-9]+ \(\+[0-9]+ by passes\)$' \
		"$out" || fail "counters line: $(grep '^counters' "$out")"
	grep -qE '^memory: +[0-9.]+ (B|KiB|MiB) in maps: devices [0-9.]+ (B|KiB|MiB), types [0-9.]+ (B|KiB|MiB), overrides [0-9.]+ (B|KiB|MiB), functions [0-9.]+ (B|KiB|MiB), fn_writes [0-9.]+ (B|KiB|MiB), holders [0-9.]+ (B|KiB|MiB), files [0-9.]+ (B|KiB|MiB), stats' \
		"$out" || fail "memory line: $(grep '^memory' "$out")"
	# devices sorted by UUID
	grep -oE '^  [0-9a-f]{8}-[0-9a-f-]{27}  ' "$out" >"$WORK/uuids"
	sort -c "$WORK/uuids" || fail "devices are not listed in UUID order"
	sed 's/^/status| /' "$out" >>"$INFO_FILE"
	touch "$WORK/b"
	client_wait a
	svc_finish
	# after unload: 3 and one clear line
	rc=0
	"$MDG_BIN" status >"$out" 2>&1 || rc=$?
	[ "$rc" -eq 3 ] || fail "status after unload exited $rc, not 3: $(cat "$out")"
	[ "$(wc -l <"$out")" -eq 1 ] || fail "status after unload printed: $(cat "$out")"
	grep -q 'not loaded' "$out" || fail "status after unload: $(cat "$out")"
	info "after unload (exit 3): $(cat "$out")"
	pass
}

sc_status_json() {
	local out=$WORK/status.json rc=0 pid
	status_setup
	pid=$BG_PID_a
	"$MDG_BIN" status --json >"$out" 2>"$WORK/status.err" || rc=$?
	[ "$rc" -eq 0 ] || fail "status --json exited $rc: $(cat "$WORK/status.err")"
	"$PY" - "$out" "$pid" "${S[1]}" "${M[1]}" "${P[1]}" "$O1" "${B[1]}" "${P[2]}" \
		>"$WORK/py.out" 2>&1 <<'EOF' ||
import json, sys
path, pid, s1, m1, p1, o1, b1, p2 = sys.argv[1:]
st = json.load(open(path))
for k, v in (("loaded", True), ("ready", True), ("mode", "exclusive"), ("audit", False),
             ("errno", "EPERM")):
    if st.get(k) != v:
        sys.exit("%s is %r, want %r" % (k, st.get(k), v))
devs = {d["uuid"]: d for d in st["devices"]}
for u, r, why in ((s1, True, "sysfs-Y"), (m1, False, "sysfs-N"), (p1, False, "absent-default"),
                  (o1, True, "malformed"), (b1, True, "type-override"),
                  (p2, False, "device-override")):
    d = devs.get(u)
    if not d or d["restricted"] != r or d["why"] != why or not d["type"] \
       or not d["node"].startswith("/dev/vfio/") or ":" not in d["rdev"]:
        sys.exit("device %s: %r, want restricted=%r why=%s" % (u, d, r, why))
h = [x for x in st["holders"] if x["tgid"] == int(pid)]
if len(h) != 1 or h[0]["comm"] != "mdg-vfio-client" or \
   [d["uuid"] for d in h[0]["devices"]] != [s1] or not h[0]["devices"][0]["restricted"]:
    sys.exit("holder %s: %r" % (pid, st["holders"]))
c = st["counters"]
for k in ("opens_seen", "allowed", "denied", "audit_denied", "errors", "lost_events"):
    if not isinstance(c.get(k), int):
        sys.exit("counter %s: %r" % (k, c.get(k)))
if c["denied"] < 1 or c["errors"] or c["lost_events"]:
    sys.exit("counters %r" % c)
m = st["memory_bytes"]
if not all(isinstance(m.get(k), int) and m[k] > 0
           for k in ("devices", "holders", "files", "stats", "events", "total")):
    sys.exit("memory %r" % m)
print("holders %r counters %r memory %r" % (st["holders"], c, m))
EOF
		fail "status --json: $(tail -n 2 "$WORK/py.out" | tr '\n' ' ')"
	info "status --json: $(tail -n 1 "$WORK/py.out")"
	touch "$WORK/b"
	client_wait a
	svc_finish
	rc=0
	"$MDG_BIN" status --json >"$out" 2>&1 || rc=$?
	[ "$rc" -eq 3 ] || fail "status --json after unload exited $rc, not 3"
	"$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(s["loaded"] is not False)' \
		"$out" || fail "status --json after unload: $(cat "$out")"
	pass
}

# ---- bpftool --------------------------------------------------------------------------------

sc_bpftool_dump() {
	local map out pid
	need_pool
	svc_start
	rm -f "$WORK/a" "$WORK/b"
	client_bg a "open:${S[1]}" "touch:$WORK/a" "wait:$WORK/b"
	pid=$BG_PID_a
	wait_file "$WORK/a"
	for map in devices holders files stats config; do
		out=$WORK/dump.$map
		"$BPFTOOL" map dump pinned "$PIN_DIR/$map" >"$out" 2>&1 ||
			fail "bpftool map dump pinned $PIN_DIR/$map: $(head -n 2 "$out")"
		"$BPFTOOL" -j map dump pinned "$PIN_DIR/$map" >"$out.json" 2>&1 ||
			fail "bpftool -j map dump pinned $PIN_DIR/$map: $(head -n 2 "$out.json")"
		# plain output is BTF-typed records, not "key: 00 01 ..." byte rows
		! grep -qE '^key: ' "$out" || fail "$map dump is raw bytes: $(head -n 3 "$out")"
		"$PY" -c 'import json,sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d and all("formatted" in e for e in d) else 1)' "$out.json" ||
			fail "$map: bpftool -j records without a BTF 'formatted' part"
	done
	grep -qF "\"uuid\": \"${S[1]}\"" "$WORK/dump.devices" ||
		fail "devices dump lacks the UUID as a string: $(head -c 600 "$WORK/dump.devices")"
	grep -qF '"type": "mdg_fixture-single"' "$WORK/dump.devices" ||
		fail "devices dump lacks the type as a string"
	grep -qF "\"uuid\": \"${S[1]}\"" "$WORK/dump.holders" ||
		fail "holders dump lacks the held UUID as a string: $(head -c 600 "$WORK/dump.holders")"
	grep -qF '"comm": "mdg-vfio-client"' "$WORK/dump.holders" ||
		fail "holders dump lacks comm as a string"
	grep -qE "\"tgid\": $pid\b" "$WORK/dump.holders" || fail "holders dump lacks tgid $pid"
	grep -qE '"mode": 0\b' "$WORK/dump.config" || fail "config dump lacks the mode"
	grep -qE '"opens_seen": [1-9]' "$WORK/dump.stats" || fail "stats dump lacks opens_seen"
	# the same, through -j and jq-style selection of the formatted part
	"$PY" - "$WORK/dump.holders.json" "$pid" "${S[1]}" <<'EOF' || fail "holders -j formatted part"
import json, sys
d = json.load(open(sys.argv[1]))
f = [e["formatted"] for e in d if e["formatted"]["key"]["tgid"] == int(sys.argv[2])]
sys.exit(not (f and f[0]["value"]["held"][0]["uuid"] == sys.argv[3]))
EOF
	{
		echo "bpftool map dump pinned $PIN_DIR/devices | head -n 20:"
		head -n 20 "$WORK/dump.devices"
		echo "bpftool -j map dump pinned $PIN_DIR/devices, the record of ${S[1]}, formatted part:"
		"$PY" - "$WORK/dump.devices.json" "${S[1]}" <<'EOF'
import json, sys
for e in json.load(open(sys.argv[1])):
    if e["formatted"]["value"]["uuid"] == sys.argv[2]:
        print(json.dumps(e["formatted"], indent=4))
EOF
		echo "bpftool map dump pinned $PIN_DIR/holders (unused held[] slots elided):"
		holders_elided "$WORK/dump.holders"
	} | sed 's/^/MDG-DUMP /' >>"$INFO_FILE"
	touch "$WORK/b"
	client_wait a
	svc_finish
	pass
}

# holders_elided FILE: a plain holders dump with the unused slots of each held[] left out.
holders_elided() {
	"$PY" - "$1" <<'EOF'
import json, sys
recs = json.load(open(sys.argv[1]))
for r in recs:
    r["value"]["held"] = [h for h in r["value"]["held"] if h["uuid"]]
print(json.dumps(recs, indent=4))
EOF
}

# ---- metrics --------------------------------------------------------------------------------

# prom_value FILE SAMPLE: the value of one sample line ("name{labels}").
prom_value() {
	awk -v s="$2" '$1 == s { print $2; f = 1 } END { exit !f }' "$1"
}

sc_metrics() {
	local prom=$WORK/x.prom i d0 d1
	need_pool
	svc_start --metrics-file "$prom"
	for ((i = 0; i < 50; i++)); do
		[ -s "$prom" ] && break
		sleep 0.1
	done
	[ -s "$prom" ] || fail "$prom not written within 5 s"
	# The format and the naming conventions, as the unit test checks them on made-up numbers.
	"$PY" - "$prom" >"$WORK/py.out" 2>&1 <<'EOF' || fail "metrics: $(tail -n 1 "$WORK/py.out")"
import re, sys
helps, types, series, families = set(), {}, set(), []
for l in open(sys.argv[1]).read().splitlines():
    m = re.match(r"^# HELP (\S+) \S.*$", l)
    if m:
        helps.add(m.group(1)); continue
    m = re.match(r"^# TYPE (\S+) (counter|gauge)$", l)
    if m:
        types[m.group(1)] = m.group(2); continue
    m = re.match(r'^(mdevguard_[a-z0-9_]*[a-z0-9])(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9]+$', l)
    if not m:
        sys.exit("not a metric line: %r" % l)
    name = m.group(1)
    if name not in helps or name not in types:
        sys.exit("%s: no HELP or TYPE before it" % name)
    if (types[name] == "counter") != name.endswith("_total"):
        sys.exit("%s: counters and only counters end in _total" % name)
    if families and families[-1] != name and name in families:
        sys.exit("%s: its samples are not together" % name)
    if not families or families[-1] != name:
        families.append(name)
    if (name, m.group(2)) in series:
        sys.exit("series twice: %r" % l)
    series.add((name, m.group(2)))
want = {"mdevguard_build_info", "mdevguard_ready", "mdevguard_policy_info",
        "mdevguard_opens_total", "mdevguard_decisions_total", "mdevguard_errors_total",
        "mdevguard_events_lost_total", "mdevguard_holdings_acquired_total",
        "mdevguard_holdings_released_total", "mdevguard_devices", "mdevguard_vgpu_functions",
        "mdevguard_holders",
        "mdevguard_map_memory_bytes"}
if want - set(families):
    sys.exit("missing: %s" % " ".join(sorted(want - set(families))))
print("ok", len(series), "samples")
EOF
	[ "$(prom_value "$prom" mdevguard_ready)" = 1 ] || fail "mdevguard_ready is not 1 in $prom"
	prom_value "$prom" 'mdevguard_map_memory_bytes{map="holders"}' >/dev/null ||
		fail "no memory of the holders map in $prom"
	d0=$(prom_value "$prom" 'mdevguard_decisions_total{action="deny"}') ||
		fail "no deny counter in $prom"
	expect_client "a deny" "open:${S[1]}" "open:${S[2]}=EPERM"
	for ((i = 0; i < 80; i++)); do
		d1=$(prom_value "$prom" 'mdevguard_decisions_total{action="deny"}') || true
		[ "${d1:-0}" -gt "$d0" ] && break
		sleep 0.1
	done
	[ "${d1:-0}" -gt "$d0" ] || fail "deny counter stayed at $d0 in $prom"
	info "metrics: deny counter $d0 -> $d1 after a deny"
	svc_finish
	# The file outlives the service, and the collector goes on reading it: it must not
	# claim a service that is gone.
	[ "$(prom_value "$prom" mdevguard_ready)" = 0 ] ||
		fail "mdevguard_ready is not 0 in $prom after the service exited"
	pass
}

# ---- list and check -------------------------------------------------------------------------

sc_list_check() {
	local bin=$WORK/mdevguard out rc pair a b want i got
	local -a as_nobody
	need_pool
	# an ordinary user: nobody, with the binary where nobody can run it
	cp "$MDG_BIN" "$bin"
	chmod 755 "$WORK" "$bin"
	as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
	"${as_nobody[@]}" "$bin" list >"$WORK/list.txt" 2>"$WORK/list.err" ||
		fail "list as nobody: $(cat "$WORK/list.err")"
	"${as_nobody[@]}" "$bin" list --json >"$WORK/list.json" 2>"$WORK/list.err" ||
		fail "list --json as nobody: $(cat "$WORK/list.err")"
	head -n 12 "$WORK/list.txt" | sed 's/^/    | /'
	for t in single:Y single-b:Y multi:N plain:absent; do
		grep -qE "^  mdg_fixture-${t%%:*} +mdg_fixture +${t#*:} +[0-9]+$" "$WORK/list.txt" ||
			fail "list: no line for type ${t%%:*} with ${t#*:}"
	done
	grep -qE '^  mdg_fixture-odd +mdg_fixture +.*maybe' "$WORK/list.txt" ||
		fail "list: the malformed type's bytes are not shown: $(grep odd "$WORK/list.txt")"
	for u in "${S[1]}" "${M[1]}" "${P[1]}" "$O1" "${B[1]}"; do
		grep -qE "^  $u  mdg_fixture-" "$WORK/list.txt" || fail "list: device $u missing"
	done
	"$PY" - "$WORK/list.json" "${S[1]}" "$O1" >"$WORK/py.out" 2>&1 <<'EOF' ||
import json, sys
d = json.load(open(sys.argv[1]))
t = {x["type"]: x for x in d["types"]}
want = {"mdg_fixture-single": "Y", "mdg_fixture-single-b": "Y", "mdg_fixture-multi": "N",
        "mdg_fixture-plain": None, "mdg_fixture-odd": "malformed"}
for k, v in want.items():
    if k not in t or t[k]["single_usage_restriction"] != v:
        sys.exit("type %s: %r" % (k, t.get(k)))
if "maybe" not in t["mdg_fixture-odd"].get("raw", ""):
    sys.exit("odd raw: %r" % t["mdg_fixture-odd"])
devs = {x["uuid"]: x for x in d["devices"]}
if devs.get(sys.argv[2], {}).get("type") != "mdg_fixture-single" or sys.argv[3] not in devs:
    sys.exit("devices: %r" % list(devs)[:5])
print("odd type:", json.dumps(t["mdg_fixture-odd"]))
EOF
		fail "list --json: $(tail -n 1 "$WORK/py.out")"
	info "list --json as nobody: $(tail -n 1 "$WORK/py.out")"
	info "list as nobody: $(grep -E '^  mdg_fixture-odd' "$WORK/list.txt")"

	# check: bad input is 2
	rc=0
	"$MDG_BIN" check "${S[1]}" not-a-uuid >"$WORK/check.out" 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || fail "check with a bad UUID exited $rc: $(cat "$WORK/check.out")"
	grep -q 'not-a-uuid' "$WORK/check.out" || fail "check does not name the bad UUID"
	info "check bad UUID (exit 2): $(grep -m 1 error: "$WORK/check.out")"
	rc=0
	"$MDG_BIN" check "${S[1]}" 0000ffff-0000-4000-8000-000000000001 >"$WORK/check.out" 2>&1 ||
		rc=$?
	[ "$rc" -eq 2 ] || fail "check with an unknown device exited $rc: $(cat "$WORK/check.out")"
	grep -q 0000ffff-0000-4000-8000-000000000001 "$WORK/check.out" ||
		fail "check does not name the unknown device"
	info "check unknown device (exit 2): $(grep -m 1 error: "$WORK/check.out")"

	# check's verdicts, then the kernel's for the same pairs
	svc_start
	i=0
	for pair in "${S[1]} ${S[2]} 1" "${M[1]} ${M[2]} 0" "${S[3]} ${M[1]} 1" \
		"${P[1]} ${P[2]} 0" "$O1 ${M[2]} 1" "${B[1]} ${M[1]} 1"; do
		read -r a b want <<<"$pair"
		rc=0
		"$MDG_BIN" check "$a" "$b" >"$WORK/check.$i.out" 2>"$WORK/check.$i.err" || rc=$?
		[ "$rc" -eq "$want" ] ||
			fail "check $a $b exited $rc, want $want: $(cat "$WORK/check.$i.out")"
		[ -s "$WORK/check.$i.out" ] || fail "check $a $b printed no reason"
		if [ "$want" -eq 0 ]; then
			got=ok
		else
			got=EPERM
		fi
		expect_client "kernel agrees with check on $a $b" "open:$a" "open:$b=$got"
		info "check $a $b: exit $rc, kernel $got: $(head -n 1 "$WORK/check.$i.out")"
		i=$((i + 1))
	done
	svc_finish
	pass
}

# ---- bad input ------------------------------------------------------------------------------

# one_line_err WHAT WANT_RC CMD...: exits with WANT_RC (or any non-zero for "nz") and prints
# exactly one line on standard error, nothing on standard output.
one_line_err() {
	local what=$1 want=$2 rc=0
	shift 2
	"$@" >"$WORK/o.out" 2>"$WORK/o.err" || rc=$?
	log "$what: exit $rc: $(cat "$WORK/o.err")"
	if [ "$want" = nz ]; then
		[ "$rc" -ne 0 ] || fail "$what: exited 0"
	else
		[ "$rc" -eq "$want" ] || fail "$what: exited $rc, want $want: $(cat "$WORK/o.err")"
	fi
	[ "$rc" -lt 128 ] || fail "$what: died on a signal ($rc)"
	[ "$(wc -l <"$WORK/o.err")" -eq 1 ] || fail "$what: stderr is not one line: $(cat "$WORK/o.err")"
	[ ! -s "$WORK/o.out" ] || fail "$what: printed on stdout: $(cat "$WORK/o.out")"
	info "$what (exit $rc): $(cat "$WORK/o.err")"
}

sc_bad_input() {
	local conf=$WORK/bad.conf dir=$WORK/notbpffs
	need_pool
	one_line_err "run --bogus" 2 "$MDG_BIN" run --bogus
	grep -q -- "'--bogus'" "$WORK/o.err" || fail "the unknown option is not named"
	one_line_err "status --mode" 2 "$MDG_BIN" status --mode per-type
	grep -q -- "'--mode' does not apply" "$WORK/o.err" || fail "the misplaced option is not named"
	printf '# test\nmode = exclusive\nfrobnicate = 1\n' >"$conf"
	one_line_err "run --config (bad key)" nz "$MDG_BIN" run --config "$conf"
	grep -q "^mdevguard: .*$conf:3: " "$WORK/o.err" || fail "no FILE:LINE: $(cat "$WORK/o.err")"
	printf 'mode = exclusive\nerrno = ENOENT\n' >"$conf"
	one_line_err "check --config (bad value)" 2 "$MDG_BIN" check --config "$conf" "${S[1]}"
	grep -q "$conf:2: " "$WORK/o.err" || fail "no FILE:LINE: $(cat "$WORK/o.err")"
	one_line_err "run --config (missing file)" nz "$MDG_BIN" run --config "$WORK/none.conf"
	grep -qF "$WORK/none.conf" "$WORK/o.err" || fail "missing config not named"

	# a pin dir that is not on bpffs: refused, and nothing in it touched
	mkdir -p "$dir/mdevguard"
	echo keep >"$dir/mdevguard/precious"
	echo keep >"$dir/precious"
	one_line_err "run --pin-dir (not bpffs)" nz "$MDG_BIN" run --pin-dir "$dir/mdevguard"
	grep -q 'bpffs' "$WORK/o.err" || fail "the error does not say bpffs"
	one_line_err "unload --pin-dir (not bpffs)" nz "$MDG_BIN" unload --pin-dir "$dir"
	[ -f "$dir/precious" ] || fail "unload --pin-dir $dir deleted files in it"
	one_line_err "unload --pin-dir (not bpffs, sub)" nz "$MDG_BIN" unload --pin-dir \
		"$dir/mdevguard"
	[ -f "$dir/mdevguard/precious" ] || fail "unload deleted files in $dir/mdevguard"
	one_line_err "status --pin-dir (not bpffs)" 1 "$MDG_BIN" status --pin-dir "$dir"
	grep -q 'bpffs' "$WORK/o.err" || fail "status does not say bpffs"
	# a pin dir that does not exist at all is simply "not loaded"
	rc=0
	"$MDG_BIN" status --pin-dir /sys/fs/bpf/none >"$WORK/o.out" 2>&1 || rc=$?
	[ "$rc" -eq 3 ] || fail "status on an empty pin dir exited $rc"
	pass
}

# ---- demo -----------------------------------------------------------------------------------

# The story scripts/demo.sh tells: every info line reaches the terminal.
sc_demo() {
	local va vb na nb pa pb line
	need_fixture
	va=$(uuid single 300)
	vb=$(uuid single 301)
	info "== Two vGPU-like mdev devices of type mdg_fixture-single, whose driver says"
	info "   single_usage_restriction = $(<"$(type_dir single)/single_usage_restriction")" \
		"(one VM may hold only one of them):"
	mdev_create_transient single "$va"
	mdev_create_transient single "$vb"
	na=/dev/vfio/$(group_of "$va")
	nb=/dev/vfio/$(group_of "$vb")
	info "   vGPU 1: $va -> $na"
	info "   vGPU 2: $vb -> $nb"
	info "== Starting the service: mdevguard run (loading the BPF LSM program takes a while)"
	svc_start
	st=$("$MDG_BIN" status) || true
	info "   ready: ${st%%$'\n'*}"
	rm -f "$WORK/a" "$WORK/b" "$WORK/done"
	info "== Process A (a VM) opens vGPU 1, then tries vGPU 2 as well"
	client_bg a "open:$va" "open:$vb=EPERM" "touch:$WORK/a" "wait:$WORK/done"
	pa=$BG_PID_a
	wait_file "$WORK/a"
	expect_logged action=deny "tgid=$pa" "device=$vb" "held=$va" rule=restricted-device
	while IFS= read -r line; do
		info "   process A (pid $pa): $line"
	done <"$WORK/bg.a.out"
	info "   the service's log line for the denied open:"
	info "   $(grep -m 1 -F "device=$vb" "$SVC_LOG")"
	info "== Process B (another VM) opens vGPU 2: allowed, it holds nothing else"
	client_bg b "open:$vb" "touch:$WORK/b" "wait:$WORK/done"
	pb=$BG_PID_b
	wait_file "$WORK/b"
	while IFS= read -r line; do
		info "   process B (pid $pb): $line"
	done <"$WORK/bg.b.out"
	grep -q "^open $vb ok" "$WORK/bg.b.out" || fail "process B could not open vGPU 2"
	info "== mdevguard status"
	"$MDG_BIN" status >"$WORK/status.txt" 2>&1 || fail "status: $(cat "$WORK/status.txt")"
	grep -qE "^  $pa +mdg-vfio-client +$va\(restricted\)$" "$WORK/status.txt" ||
		fail "status does not show A holding vGPU 1"
	grep -qE "^  $pb +mdg-vfio-client +$vb\(restricted\)$" "$WORK/status.txt" ||
		fail "status does not show B holding vGPU 2"
	while IFS= read -r line; do
		info "   $line"
	done <"$WORK/status.txt"
	info "== bpftool map dump pinned $PIN_DIR/holders"
	"$BPFTOOL" map dump pinned "$PIN_DIR/holders" >"$WORK/holders.txt" 2>&1 ||
		fail "bpftool: $(cat "$WORK/holders.txt")"
	grep -qF "\"uuid\": \"$va\"" "$WORK/holders.txt" || fail "holders dump lacks A's device"
	info "   (each record has 16 held[] slots; the unused ones are left out here)"
	while IFS= read -r line; do
		info "   $line"
	done < <(holders_elided "$WORK/holders.txt")
	touch "$WORK/done"
	client_wait a
	client_wait b
	svc_finish
	info "== Both processes exited; the service stopped and was unloaded."
	pass
}
