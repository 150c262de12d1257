# SPDX-License-Identifier: GPL-2.0
# The operator's real stack under systemd: Debian's mdevctl defining and starting the fixture's
# devices, Debian's libvirt starting domains that hold them (QEMU under TCG, no disk), with the
# hook the package installed, without it, across restarts. Part of the systemd series: sourced
# by scenarios-systemd.sh, run in its order after the package is installed.
#
# What libvirt needs here and an operator's host does not, set below and nowhere in mdevguard's
# shipped files: no KVM (type='qemu'), so QEMU emulates; the guest's root is an overlay over a
# 9p mount, where QEMU's private /dev (namespaces) and its relabelling (security drivers) are
# of no use; QEMU runs as root.

LIBVIRT_SCENARIOS=(
	systemd-mdevctl
	systemd-libvirt-domains
	systemd-libvirt-unhooked
	systemd-libvirt-restart
)

export LIBVIRT_DEFAULT_URI=qemu:///system
LV_HOOK=/etc/libvirt/hooks/qemu.d/mdevguard
# the devices of these scenarios: S20..S27, and L1..L3 that mdevctl defines
LV_ONE=20 LV_TWO_A=21 LV_TWO_B=22 LV_THREE=23 LV_EXTRA=24

lv_log() {
	journalctl -u libvirtd --no-pager -o cat -n "${1:-20}" | sed 's/^/    libvirtd| /'
}

# need_libvirt: libvirt's daemon running with the suite's settings, the hook read at its start.
need_libvirt() {
	local conf=/etc/libvirt/qemu.conf i
	command -v virsh >/dev/null && command -v libvirtd >/dev/null ||
		fail "libvirt is not installed in the guest's root (scripts/setup.sh installs it)"
	if ! grep -q '^# mdevguard suite' "$conf"; then
		cat >>"$conf" <<-'EOF'
		# mdevguard suite: a guest with no KVM, an overlay root, no security modules for QEMU
		user = "root"
		group = "root"
		security_driver = "none"
		namespaces = [ ]
		EOF
	fi
	systemctl is-active -q libvirtd && return 0
	systemctl start libvirtd || { lv_log; fail "systemctl start libvirtd failed"; }
	for ((i = 0; i < 100; i++)); do
		virsh -q version >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	lv_log
	fail "libvirtd does not answer"
}

# lv_define NAME UUID...: a domain of that name with these mdev hostdevs, defined.
lv_define() {
	local name=$1 u
	shift
	{
		echo "<domain type='qemu'><name>$name</name><memory unit='MiB'>32</memory>"
		# ACPI: the pc machine's PCI hotplug (attach-device) goes through it
		echo "<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os>"
		echo "<features><acpi/></features>"
		echo "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
		echo "<controller type='usb' model='none'/><memballoon model='none'/>"
		for u in "$@"; do
			lv_hostdev "$u"
		done
		echo "</devices></domain>"
	} >"$WORK/$name.xml"
	# what an earlier scenario that failed may have left
	virsh -q destroy "$name" >/dev/null 2>&1 || true
	virsh -q undefine "$name" >/dev/null 2>&1 || true
	virsh -q define "$WORK/$name.xml" >"$WORK/define.out" 2>&1 ||
		fail "virsh define $name: $(cat "$WORK/define.out")"
}

lv_hostdev() {
	echo "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='$1'/></source></hostdev>"
}

# lv_start NAME: virsh start, its output in $WORK/start.out, its exit code echoed.
lv_start() {
	local rc=0 t0=$SECONDS
	timeout 120 virsh start "$1" >"$WORK/start.out" 2>&1 || rc=$?
	log "virsh start $1: exit $rc after $((SECONDS - t0)) s" >&2
	sed 's/^/    virsh| /' "$WORK/start.out" >&2
	echo "$rc"
}

lv_state() {
	virsh -q domstate "$1" 2>/dev/null | head -n 1
}

# The status of the installed service as JSON.
lv_status_json() {
	timeout 20 "$SYS_BIN" status --json >"$WORK/status.json" 2>"$WORK/status.err" ||
		fail "mdevguard status --json failed: $(cat "$WORK/status.err")"
}

# lv_holder UUID: the holder of UUID in the last lv_status_json, as JSON ("" for none).
lv_holder() {
	jq -c --arg u "$1" '.holders[] | select(any(.devices[]; .uuid == $u))' "$WORK/status.json"
}

# lv_wait_free UUID...: within 10 s nobody holds any of them.
lv_wait_free() {
	local i u held
	for ((i = 0; i < 50; i++)); do
		lv_status_json
		held=
		for u in "$@"; do
			[ -n "$(lv_holder "$u")" ] && held="$held $u"
		done
		[ -z "$held" ] && return 0
		sleep 0.2
	done
	fail "still held 10 s later:$held"
}

# lv_journal_deny SINCE DEVICE: the first denial of DEVICE in the journal since SINCE, as JSON,
# within 10 s; "" when none came.
lv_journal_deny() {
	local i entry
	for ((i = 0; i < 50; i++)); do
		entry=$(journalctl -u mdevguard --since "$1" -o json --no-pager |
			jq -c --arg d "$2" 'select(.MDG_DEVICE == $d and .MDG_ACTION == "deny")' |
			head -n 1)
		[ -n "$entry" ] && break
		sleep 0.2
	done
	echo "$entry"
}

# lv_qemu_of NAME: the pid of the domain's QEMU.
lv_qemu_of() {
	cat "/run/libvirt/qemu/$1.pid" 2>/dev/null
}

# mdevctl defines three devices of the restricted type: two it starts (one of them at boot,
# --auto), one it keeps defined and stopped. mdevguard sees them as mdevctl does.
sc_systemd_mdevctl() {
	local l1 l2 l3 type=$PARENT-single rc=0 u
	need_systemd
	need_fixture
	command -v mdevctl >/dev/null || fail "mdevctl is not installed in the guest's root"
	l1=$(uuid single 301) l2=$(uuid single 302) l3=$(uuid single 303)
	for u in "$l1" "$l2" "$l3"; do
		mdevctl stop -u "$u" >/dev/null 2>&1 || true
		mdevctl undefine -u "$u" >/dev/null 2>&1 || true
	done
	mdevctl define --auto -u "$l1" -p "$PARENT" -t "$type" || fail "mdevctl define $l1"
	mdevctl define -u "$l2" -p "$PARENT" -t "$type" || fail "mdevctl define $l2"
	mdevctl define -u "$l3" -p "$PARENT" -t "$type" || fail "mdevctl define $l3"
	mdevctl start -u "$l1" || fail "mdevctl start $l1"
	mdevctl start -u "$l2" || fail "mdevctl start $l2"
	mdevctl list --defined >"$WORK/defined.out" 2>&1 || fail "mdevctl list --defined failed"
	mdevctl list >"$WORK/active.out" 2>&1 || fail "mdevctl list failed"
	sed 's/^/    mdevctl list --defined| /' "$WORK/defined.out"
	sed 's/^/    mdevctl list| /' "$WORK/active.out"
	info "systemd: mdevctl $(mdevctl --version 2>&1 | head -n 1): $(grep -c . "$WORK/defined.out") defined, $(grep -c . "$WORK/active.out") active"
	for u in "$l1" "$l2" "$l3"; do
		grep -q "^$u $PARENT $type" "$WORK/defined.out" || fail "mdevctl does not list $u as defined"
	done
	"$SYS_BIN" list --json >"$WORK/list.json" 2>"$WORK/list.err" ||
		fail "mdevguard list failed: $(cat "$WORK/list.err")"
	for u in "$l1" "$l2"; do
		grep -q "^$u " "$WORK/active.out" || fail "mdevctl does not list $u as active"
		[ "$(jq -r --arg u "$u" '.devices[] | select(.uuid == $u) |
			"\(.type) \(.single_usage_restriction)"' "$WORK/list.json")" = "$type Y" ] ||
			fail "mdevguard list does not show $u, started by mdevctl, as a restricted $type"
	done
	[ "$(jq -r --arg u "$l3" '.defined[] | select(.uuid == $u) |
		"\(.parent) \(.type) \(.single_usage_restriction)"' "$WORK/list.json")" = "$PARENT $type Y" ] ||
		fail "mdevguard list does not show $l3 as defined by mdevctl, of a type with Y"
	# check: the two started ones may not be held together, nor with the one not started
	"$SYS_BIN" check "$l1" "$l2" >"$WORK/check.out" 2>&1 || rc=$?
	sed 's/^/    check| /' "$WORK/check.out"
	[ "$rc" -eq 1 ] || fail "check of two restricted devices started by mdevctl: exit $rc, not 1"
	rc=0
	"$SYS_BIN" check "$l1" "$l3" >"$WORK/check.out" 2>&1 || rc=$?
	sed 's/^/    check| /' "$WORK/check.out"
	[ "$rc" -eq 1 ] || fail "check with the defined, stopped device: exit $rc, not 1"
	grep -q "$l3.*defined by mdevctl" "$WORK/check.out" ||
		fail "check does not say $l3 is defined by mdevctl and not started"
	info "systemd: check of a device mdevctl defined: $(grep -m1 "$l3" "$WORK/check.out")"
	# and the kernel side agrees with check
	expect_client "the devices mdevctl started: the second denied" "open:$l1" "open:$l2=EPERM"
	mdevctl stop -u "$l2" || fail "mdevctl stop $l2"
	for u in "$l1" "$l2" "$l3"; do
		mdevctl stop -u "$u" >/dev/null 2>&1 || true
		mdevctl undefine -u "$u" || fail "mdevctl undefine $u"
	done
	pass
}

# libvirt starts domains: one restricted device runs, two are refused by the hook, a second
# one attached to a running domain is refused by the kernel side, two domains of one device
# each run side by side, a restart of libvirt changes nothing, destroy releases.
sc_systemd_libvirt_domains() {
	local rc since pid pid3 held i entry
	need_systemd
	need_pool
	need_libvirt
	info "systemd: $(virsh -q version 2>&1 | tr '\n' ' ' | sed 's/  */ /g')"
	lv_define vm-one "${S[LV_ONE]}"
	lv_define vm-two "${S[LV_TWO_A]}" "${S[LV_TWO_B]}"
	lv_define vm-three "${S[LV_THREE]}"

	rc=$(lv_start vm-one)
	[ "$rc" -eq 0 ] || { lv_log; fail "virsh start vm-one (one restricted device): exit $rc"; }
	pid=$(lv_qemu_of vm-one)
	lv_status_json
	held=$(lv_holder "${S[LV_ONE]}")
	info "systemd: status of vm-one's QEMU: $held"
	[ "$(jq -r .tgid <<<"$held")" = "$pid" ] || fail "${S[LV_ONE]} is not held by vm-one's QEMU ($pid): $held"
	[ "$(jq -r .vm <<<"$held")" = vm-one ] || fail "status names no vm=vm-one: $held"
	[[ $(jq -r .unit <<<"$held") == machine-qemu*vm*one.scope ]] ||
		fail "status names no machine scope as the unit: $held"

	since=$(date '+%Y-%m-%d %H:%M:%S')
	rc=$(lv_start vm-two)
	[ "$rc" -ne 0 ] || fail "virsh start vm-two (two restricted devices) succeeded"
	grep -q "mdevguard: domain 'vm-two' not started" "$WORK/start.out" &&
		grep -q "${S[LV_TWO_B]}" "$WORK/start.out" ||
		fail "virsh's error does not carry the hook's sentence naming vm-two and ${S[LV_TWO_B]}"
	info "systemd: virsh start vm-two (the hook): $(grep . "$WORK/start.out" | tr '\n' ' ')"
	[ "$(lv_state vm-two)" = "shut off" ] || fail "vm-two is $(lv_state vm-two)"

	# a second restricted device for the running domain: QEMU's open is denied
	lv_hostdev "${S[LV_EXTRA]}" >"$WORK/extra.xml"
	since=$(date '+%Y-%m-%d %H:%M:%S')
	sleep 1
	rc=0
	timeout 60 virsh attach-device vm-one "$WORK/extra.xml" --live >"$WORK/attach.out" 2>&1 ||
		rc=$?
	sed 's/^/    virsh attach-device| /' "$WORK/attach.out"
	[ "$rc" -ne 0 ] || fail "virsh attach-device of a second restricted device succeeded"
	grep -q "Operation not permitted" "$WORK/attach.out" ||
		fail "attach-device's error does not say EPERM"
	[ "$(lv_state vm-one)" = running ] || fail "vm-one is $(lv_state vm-one) after the refused attach"
	virsh dumpxml vm-one | grep -q "${S[LV_EXTRA]}" && fail "${S[LV_EXTRA]} is in vm-one's live XML"
	entry=$(lv_journal_deny "$since" "${S[LV_EXTRA]}")
	[ "$(jq -r .MDG_VM <<<"$entry")" = vm-one ] ||
		fail "the denial of ${S[LV_EXTRA]} in the journal does not name vm-one: $entry"
	info "systemd: attach-device refused: $(jq -r .MESSAGE <<<"$entry")"
	lv_status_json
	[ -z "$(lv_holder "${S[LV_EXTRA]}")" ] || fail "${S[LV_EXTRA]} held after the refused attach"

	# two domains of one restricted device each, side by side
	rc=$(lv_start vm-three)
	[ "$rc" -eq 0 ] || { lv_log; fail "virsh start vm-three beside vm-one: exit $rc"; }
	pid3=$(lv_qemu_of vm-three)
	lv_status_json
	[ "$(lv_holder "${S[LV_THREE]}" | jq -r .vm)" = vm-three ] ||
		fail "${S[LV_THREE]} not held by vm-three: $(lv_holder "${S[LV_THREE]}")"

	# libvirt's daemon restarts: the domains, their QEMUs and their holdings stay
	systemctl restart libvirtd || { lv_log; fail "systemctl restart libvirtd failed"; }
	for ((i = 0; i < 50; i++)); do
		virsh -q version >/dev/null 2>&1 && break
		sleep 0.2
	done
	[ "$(lv_state vm-one)" = running ] && [ "$(lv_state vm-three)" = running ] ||
		fail "after libvirtd's restart: vm-one $(lv_state vm-one), vm-three $(lv_state vm-three)"
	lv_status_json
	[ "$(lv_holder "${S[LV_ONE]}" | jq -r .tgid)" = "$pid" ] &&
		[ "$(lv_holder "${S[LV_THREE]}" | jq -r .tgid)" = "$pid3" ] ||
		fail "the holdings changed across libvirtd's restart"

	# destroy ends the holding
	virsh -q destroy vm-one >/dev/null || fail "virsh destroy vm-one failed"
	virsh -q destroy vm-three >/dev/null || fail "virsh destroy vm-three failed"
	lv_wait_free "${S[LV_ONE]}" "${S[LV_THREE]}"
	pass
}

# Without the hook the kernel side refuses the same domain: QEMU's open of the second device is
# denied, virsh start fails with the errno, the decision names the domain every time although
# QEMU exits at once, and nothing stays held.
sc_systemd_libvirt_unhooked() {
	local rounds=${MDG_LIBVIRT_ROUNDS:-20} r rc since lines named
	need_systemd
	need_pool
	need_libvirt
	[ -x "$LV_HOOK" ] || fail "the package's hook is not installed"
	mv "$LV_HOOK" "$WORK/hook.saved"
	# shellcheck disable=SC2317 # the EXIT trap runs it
	restore_hook() {
		[ -e "$WORK/hook.saved" ] && mv "$WORK/hook.saved" "$LV_HOOK"
		systemctl restart libvirtd
	}
	trap 'restore_hook; scenario_cleanup' EXIT
	systemctl restart libvirtd || fail "systemctl restart libvirtd failed"
	lv_define vm-two "${S[LV_TWO_A]}" "${S[LV_TWO_B]}"
	since=$(date '+%Y-%m-%d %H:%M:%S')
	sleep 1
	for ((r = 1; r <= rounds; r++)); do
		rc=$(lv_start vm-two 2>/dev/null)
		[ "$rc" -ne 0 ] || fail "round $r: virsh start vm-two succeeded without the hook"
		grep -q "Operation not permitted" "$WORK/start.out" ||
			fail "round $r: virsh's error does not carry EPERM: $(cat "$WORK/start.out")"
		[ "$r" -gt 1 ] || info "systemd: virsh start vm-two (the kernel side): $(grep . "$WORK/start.out" | tr '\n' ' ')"
		[ "$(lv_state vm-two)" = "shut off" ] || fail "round $r: vm-two is $(lv_state vm-two)"
	done
	lv_wait_free "${S[LV_TWO_A]}" "${S[LV_TWO_B]}"
	# every refusal is in the journal, named
	for ((r = 0; r < 50; r++)); do
		journalctl -u mdevguard --since "$since" -o json --no-pager |
			jq -c --arg d "${S[LV_TWO_B]}" 'select(.MDG_DEVICE == $d and .MDG_ACTION == "deny")' \
				>"$WORK/denials.json"
		[ "$(wc -l <"$WORK/denials.json")" -ge "$rounds" ] && break
		sleep 0.2
	done
	lines=$(wc -l <"$WORK/denials.json")
	named=$(jq -r 'select(.MDG_VM == "vm-two") | .MDG_VM' "$WORK/denials.json" | wc -l)
	info "systemd: $rounds refusals of vm-two by the kernel side: $lines decision lines, $named with vm=vm-two; the first: $(head -n 1 "$WORK/denials.json" | jq -r .MESSAGE)"
	[ "$lines" -ge "$rounds" ] || fail "$lines denials of ${S[LV_TWO_B]} in the journal for $rounds refusals"
	[ "$named" -eq "$lines" ] || {
		jq -c 'select(.MDG_VM != "vm-two") | .MESSAGE' "$WORK/denials.json" | head -n 3
		fail "$((lines - named)) of $lines denials do not name vm-two"
	}
	pass
}

# systemctl restart mdevguard while a domain runs: its holding stays and its second device
# stays refused; and the unit is ordered before libvirt's daemon with the real units present.
sc_systemd_libvirt_restart() {
	local rc pid i attempts=0 refused=0 t0
	need_systemd
	need_pool
	need_libvirt
	systemctl show -p After --value libvirtd.service | tr ' ' '\n' | grep -qx mdevguard.service ||
		fail "libvirtd.service is not ordered after mdevguard.service"
	systemctl show -p Before --value mdevguard.service | tr ' ' '\n' | grep -qx libvirtd.service ||
		fail "mdevguard.service is not ordered before libvirtd.service"
	lv_define vm-one "${S[LV_ONE]}"
	rc=$(lv_start vm-one)
	[ "$rc" -eq 0 ] || { lv_log; fail "virsh start vm-one: exit $rc"; }
	pid=$(lv_qemu_of vm-one)
	lv_hostdev "${S[LV_EXTRA]}" >"$WORK/extra.xml"
	systemctl restart mdevguard --no-block || fail "systemctl restart mdevguard failed"
	t0=$SECONDS
	# attach attempts while the service restarts and after: each refused
	while [ $((SECONDS - t0)) -lt 15 ] || [ "$(systemctl is-active mdevguard)" != active ]; do
		[ $((SECONDS - t0)) -lt 90 ] || fail "mdevguard not active 90 s after its restart"
		attempts=$((attempts + 1))
		if timeout 60 virsh attach-device vm-one "$WORK/extra.xml" --live \
			>"$WORK/attach.out" 2>&1; then
			fail "attach-device of a second restricted device succeeded during the restart (attempt $attempts)"
		fi
		grep -q "Operation not permitted" "$WORK/attach.out" && refused=$((refused + 1))
	done
	info "systemd: during and after systemctl restart mdevguard: $refused of $attempts attach-device attempts refused with EPERM"
	[ "$refused" -eq "$attempts" ] || fail "only $refused of $attempts attempts were refused with EPERM"
	[ "$(lv_state vm-one)" = running ] || fail "vm-one is $(lv_state vm-one)"
	lv_status_json
	[ "$(lv_holder "${S[LV_ONE]}" | jq -r .tgid)" = "$pid" ] ||
		fail "vm-one's holding did not survive the restart: $(lv_holder "${S[LV_ONE]}")"
	[ "$(jq -r .loader_pid "$WORK/status.json")" = "$(systemctl show -p MainPID --value mdevguard)" ] ||
		fail "status shows another loader than the restarted service"
	virsh -q destroy vm-one >/dev/null || fail "virsh destroy vm-one failed"
	lv_wait_free "${S[LV_ONE]}"
	for i in vm-one vm-two vm-three; do
		virsh -q undefine "$i" >/dev/null 2>&1 || true
	done
	pass
}
