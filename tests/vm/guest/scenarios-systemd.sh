# SPDX-License-Identifier: GPL-2.0
# mdevguard as an operator runs it: installed from its Debian package, under systemd as PID 1
# (the guest of the "systemd" series: tests/vm/guest/init with MDG_INIT=systemd), its unit's
# sandbox and all. They run in order in one boot: each starts where the one before left the
# host. Sourced by run-scenarios.sh; planned for the systemd series only.

# shellcheck source=scenarios-libvirt.sh
source "$(dirname "${BASH_SOURCE[0]}")/scenarios-libvirt.sh"

SYSTEMD_SCENARIOS=(
	systemd-install
	systemd-start-ready
	systemd-journal-denial
	systemd-reload
	systemd-restart-no-gap
	systemd-metrics
	systemd-libvirt-hook
	"${LIBVIRT_SCENARIOS[@]}"
	systemd-security
	systemd-no-syslog-refused
	systemd-remove
)

SYS_BIN=/usr/sbin/mdevguard
SYS_CONF=/etc/mdevguard/mdevguard.conf

need_systemd() {
	[ "$(ps -p 1 -o comm=)" = systemd ] || fail "PID 1 is $(ps -p 1 -o comm=), not systemd"
}

# sys_status: `mdevguard status` of the installed binary, its exit code echoed.
sys_status() {
	local rc=0
	timeout 20 "$SYS_BIN" status >"$WORK/status.out" 2>&1 || rc=$?
	echo "$rc"
}

unit_log() {
	journalctl -u mdevguard --no-pager -o short-precise -n "${1:-40}" | sed 's/^/    journal| /'
}

sc_systemd_install() {
	local rc=0 t0
	need_systemd
	[ -n "${MDG_DEB:-}" ] && [ -f "$MDG_DEB" ] ||
		fail "no package to install (MDG_DEB=${MDG_DEB:-}): tests/package.sh builds it"
	# the devices exist before the package: its postinst starts the service
	need_pool
	t0=$SECONDS
	DEBIAN_FRONTEND=noninteractive dpkg -i "$MDG_DEB" >"$WORK/dpkg.out" 2>&1 || rc=$?
	sed 's/^/    dpkg| /' "$WORK/dpkg.out"
	[ "$rc" -eq 0 ] || fail "dpkg -i $MDG_DEB exited with $rc"
	info "systemd: dpkg -i took $((SECONDS - t0)) s (the postinst starts the service)"
	[ "$(systemctl is-enabled mdevguard)" = enabled ] || fail "mdevguard.service not enabled"
	[ "$(systemctl is-active mdevguard)" = active ] || { unit_log; fail "not active after install"; }
	rc=$(sys_status)
	[ "$rc" -eq 0 ] || { cat "$WORK/status.out"; unit_log; fail "status exit $rc after install"; }
	[ -f "$SYS_CONF" ] || fail "$SYS_CONF not installed"
	[ -x /etc/libvirt/hooks/qemu.d/mdevguard ] || fail "the libvirt hook is not installed"
	pass
}

# Type=notify: `systemctl start` returns once the service is ready, and it is enforcing then.
sc_systemd_start_ready() {
	local rc t0
	need_systemd
	need_pool
	systemctl stop mdevguard || fail "systemctl stop failed"
	# the pins outlive the process: enforcing, not following hotplug
	rc=$(sys_status)
	[ "$rc" -eq 4 ] || { cat "$WORK/status.out"; fail "status exit $rc after stop, expected 4"; }
	t0=${EPOCHREALTIME/./}
	systemctl start mdevguard || { unit_log; fail "systemctl start failed"; }
	info "systemd: systemctl start returned after $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms"
	rc=$(sys_status)
	[ "$rc" -eq 0 ] || { cat "$WORK/status.out"; fail "status exit $rc right after start"; }
	expect_client "denied right after start" "open:${S[1]}" "open:${S[2]}=EPERM"
	pass
}

# A denial reaches the journal as a warning, with its fields, naming the VM: the client runs in
# a transient scope of the name libvirt gives a domain's QEMU (machine-qemu-7-vm-journal).
sc_systemd_journal_denial() {
	local since entry rc=0
	need_systemd
	need_pool
	since=$(date '+%Y-%m-%d %H:%M:%S')
	sleep 1
	log "client in machine-qemu\\x2d7\\x2dvm\\x2djournal.scope: open:${S[3]} open:${S[4]}=EPERM"
	systemd-run --quiet --scope --slice=machine.slice \
		--unit='machine-qemu\x2d7\x2dvm\x2djournal' \
		"$MDG_CLIENT" "open:${S[3]}" "open:${S[4]}=EPERM" "sleep:1" >"$WORK/scope.out" 2>&1 ||
		rc=$?
	sed 's/^/    | /' "$WORK/scope.out"
	[ "$rc" -eq 0 ] || fail "the client in the machine scope: exit $rc"
	for _ in $(seq 50); do
		journalctl -u mdevguard --since "$since" -o json --no-pager >"$WORK/journal.json"
		entry=$(jq -c --arg d "${S[4]}" 'select(.MDG_DEVICE == $d)' "$WORK/journal.json" |
			head -n 1)
		[ -n "$entry" ] && break
		sleep 0.2
	done
	[ -n "$entry" ] || { unit_log; fail "no journal entry with MDG_DEVICE=${S[4]}"; }
	info "systemd: journal entry of the denial: $(jq -c '{PRIORITY, MDG_ACTION, MDG_RULE, MDG_DEVICE, MDG_HELD, MDG_VM, MDG_UNIT, MDG_COMM, MDG_HOOK, SYSLOG_IDENTIFIER, MESSAGE}' <<<"$entry")"
	info "systemd: journalctl -u mdevguard MDG_VM=vm-journal: $(journalctl -u mdevguard MDG_VM=vm-journal --no-pager -o short-iso | tail -n 1)"
	[ "$(jq -r .MDG_VM <<<"$entry")" = vm-journal ] ||
		fail "MDG_VM is $(jq -r .MDG_VM <<<"$entry"), not vm-journal"
	[ "$(jq -r .PRIORITY <<<"$entry")" = 4 ] || fail "priority $(jq -r .PRIORITY <<<"$entry"), not 4 (warning)"
	[ "$(jq -r .MDG_ACTION <<<"$entry")" = deny ] || fail "MDG_ACTION is not deny"
	[ "$(jq -r .MDG_RULE <<<"$entry")" = restricted-device ] || fail "MDG_RULE wrong"
	[ "$(jq -r .MDG_HELD <<<"$entry")" = "${S[3]}" ] || fail "MDG_HELD wrong"
	[[ $(jq -r .MESSAGE <<<"$entry") == *"device=${S[4]}"*"action=deny"* ]] ||
		fail "MESSAGE is not the decision line"
	pass
}

# `systemctl reload` rereads the configuration file.
sc_systemd_reload() {
	local i
	need_systemd
	need_pool
	cp "$SYS_CONF" "$WORK/conf.orig"
	printf 'errno = EBUSY\n' >>"$SYS_CONF"
	systemctl reload mdevguard || { unit_log; fail "systemctl reload failed"; }
	for i in $(seq 50); do
		"$SYS_BIN" status >"$WORK/status.out" 2>&1 || true
		grep -q 'errno EBUSY' "$WORK/status.out" && break
		sleep 0.2
	done
	grep -q 'errno EBUSY' "$WORK/status.out" || { cat "$WORK/status.out"; fail "reload did not apply errno = EBUSY"; }
	expect_client "denied with the reloaded errno" "open:${S[5]}" "open:${S[6]}=EBUSY"
	cp "$WORK/conf.orig" "$SYS_CONF"
	systemctl reload mdevguard || fail "systemctl reload (restore) failed"
	for i in $(seq 50); do
		"$SYS_BIN" status >"$WORK/status.out" 2>&1 || true
		grep -q 'errno EPERM' "$WORK/status.out" && break
		sleep 0.2
	done
	grep -q 'errno EPERM' "$WORK/status.out" || fail "the restored configuration did not apply"
	pass
}

# `systemctl restart` leaves no moment without enforcement: a holder that keeps opening a second
# restricted device through the whole restart is denied every time.
sc_systemd_restart_no_gap() {
	local node ops=() i a out n_ok n_denied
	need_systemd
	need_pool
	node=/dev/vfio/$(group_of "${S[8]}") || fail "no group of ${S[8]}"
	for ((i = 0; i < 300; i++)); do
		ops+=("openpath:$node=EPERM" "sleep:0.05")
	done
	rm -f "$WORK/started"
	client_bg a "open:${S[7]}" "touch:$WORK/started" "${ops[@]}"
	a=$BG_PID_a
	wait_file "$WORK/started"
	systemctl restart mdevguard || { unit_log; fail "systemctl restart failed"; }
	kill -0 "$a" 2>/dev/null || fail "the restart outlasted the holder's 300 opens: nothing proven"
	[ "$(sys_status)" -eq 0 ] || fail "not ready after the restart"
	client_wait a
	out=$WORK/bg.a.out
	n_ok=$(grep -c "^openpath $node ok" "$out" || true)
	n_denied=$(grep -c "^openpath $node errno=" "$out" || true)
	info "systemd: restart under a holder's 300 opens of a second restricted device: $n_denied denied, $n_ok opened"
	[ "$n_ok" -eq 0 ] || fail "$n_ok opens got through during the restart"
	[ "$n_denied" -eq 300 ] || fail "$n_denied of 300 opens denied"
	pass
}

# The metrics file where the README says it can be, under the unit's sandbox.
sc_systemd_metrics() {
	local dir=/var/lib/prometheus/node-exporter f i
	need_systemd
	need_pool
	f=$dir/mdevguard.prom
	mkdir -p "$dir" /etc/systemd/system/mdevguard.service.d
	printf '[Service]\nExecStart=\nExecStart=%s run --metrics-file %s\n' "$SYS_BIN" "$f" \
		>/etc/systemd/system/mdevguard.service.d/metrics.conf
	systemctl daemon-reload
	systemctl restart mdevguard || { unit_log; fail "restart with --metrics-file failed"; }
	for i in $(seq 50); do
		[ -s "$f" ] && break
		sleep 0.2
	done
	[ -s "$f" ] || { unit_log; fail "$f not written"; }
	info "systemd: $f: $(grep -vc '^#' "$f") samples, e.g. $(grep -v '^#' "$f" | head -n 3 | tr '\n' ' ')"
	grep -q '^mdevguard_' "$f" || fail "$f has no mdevguard_ samples"
	rm -f /etc/systemd/system/mdevguard.service.d/metrics.conf
	systemctl daemon-reload
	systemctl restart mdevguard || fail "restart without the drop-in failed"
	pass
}

# The libvirt hook the package installs, fed domain XMLs as libvirt feeds them.
sc_systemd_libvirt_hook() {
	local hook=/etc/libvirt/hooks/qemu.d/mdevguard rc=0
	need_systemd
	need_pool
	domain_xml() {
		local name=$1 u
		shift
		echo "<domain type='kvm'><name>$name</name><devices>"
		for u in "$@"; do
			echo "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='$u'/></source></hostdev>"
		done
		echo "</devices></domain>"
	}
	domain_xml vm-two "${S[9]}" "${S[10]}" >"$WORK/two.xml"
	"$hook" vm-two prepare begin - <"$WORK/two.xml" >"$WORK/hook.out" 2>&1 || rc=$?
	sed 's/^/    hook| /' "$WORK/hook.out"
	[ "$rc" -eq 1 ] || fail "the hook let vm-two (two restricted devices) start: exit $rc"
	grep -q "vm-two" "$WORK/hook.out" && grep -q "${S[10]}" "$WORK/hook.out" ||
		fail "the refusal names neither the domain nor the device"
	info "systemd: libvirt hook refusal: $(head -n 1 "$WORK/hook.out")"
	domain_xml vm-one "${S[9]}" >"$WORK/one.xml"
	"$hook" vm-one prepare begin - <"$WORK/one.xml" >"$WORK/hook.out" 2>&1 ||
		fail "the hook refused vm-one (one restricted device): $(cat "$WORK/hook.out")"
	"$hook" vm-two started begin - <"$WORK/two.xml" >/dev/null 2>&1 ||
		fail "the hook judged an operation other than prepare"
	pass
}

sc_systemd_security() {
	local score
	need_systemd
	systemd-analyze security mdevguard --no-pager >"$WORK/security.out" 2>&1 ||
		fail "systemd-analyze security failed: $(tail -n 3 "$WORK/security.out")"
	score=$(grep -o 'Overall exposure level for mdevguard.service: .*' "$WORK/security.out")
	info "systemd: $score"
	# ordered before what hands mdev devices to VMs
	systemctl show -p Before --value mdevguard | grep -q virtqemud.service ||
		fail "not ordered before virtqemud.service"
	[ "$(systemctl is-active mdevguard)" = active ] || fail "the service is no longer active"
	[ "$(systemctl show -p NRestarts --value mdevguard)" = 0 ] ||
		fail "the service restarted on its own $(systemctl show -p NRestarts --value mdevguard) times"
	pass
}

# A unit that takes CAP_SYSLOG away hides kernel addresses from /proc/kallsyms: VFIO's files
# could not be recognised, so the start is refused, and the pins of the running enforcement stay.
sc_systemd_no_syslog_refused() {
	local d=/etc/systemd/system/mdevguard.service.d i rc
	need_systemd
	need_pool
	mkdir -p "$d"
	printf '[Service]\nCapabilityBoundingSet=~CAP_SYSLOG\nRestart=no\n' >"$d/nosyslog.conf"
	systemctl daemon-reload
	if systemctl restart mdevguard; then
		rm -f "$d/nosyslog.conf"
		systemctl daemon-reload
		fail "the service started without CAP_SYSLOG"
	fi
	for i in $(seq 50); do
		journalctl -u mdevguard --no-pager -n 30 >"$WORK/journal.out"
		grep -q 'at address 0' "$WORK/journal.out" && break
		sleep 0.2
	done
	sed 's/^/    journal| /' "$WORK/journal.out" | tail -n 8
	grep -q 'kallsyms shows vfio_.*_fops at address 0' "$WORK/journal.out" ||
		fail "no error naming kallsyms in the journal"
	info "systemd: without CAP_SYSLOG: $(grep -m1 -o 'mdevguard: error: .*' "$WORK/journal.out")"
	rc=$(sys_status)
	[ "$rc" -eq 4 ] || { cat "$WORK/status.out"; fail "status exit $rc, expected 4 (enforcing, no loader)"; }
	expect_client "still enforced by the pins" "open:${S[13]}" "open:${S[14]}=EPERM"
	rm -f "$d/nosyslog.conf"
	systemctl daemon-reload
	systemctl restart mdevguard || { unit_log; fail "restart with CAP_SYSLOG back failed"; }
	pass
}

# Removing the package unloads enforcement and keeps the operator's configuration.
sc_systemd_remove() {
	local rc=0
	need_systemd
	dpkg -r mdevguard >"$WORK/dpkg.out" 2>&1 || rc=$?
	sed 's/^/    dpkg| /' "$WORK/dpkg.out"
	[ "$rc" -eq 0 ] || fail "dpkg -r exited with $rc"
	[ ! -e /sys/fs/bpf/mdevguard ] || fail "pins left after removal: $(ls /sys/fs/bpf/mdevguard)"
	[ -f "$SYS_CONF" ] || fail "the configuration went with a remove (not a purge)"
	expect_client "nothing enforced after removal" "open:${S[11]}" "open:${S[12]}"
	pass
}
