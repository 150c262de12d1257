# SPDX-License-Identifier: GPL-2.0
# vGPU functions that are not mdevs: the mdg_vgpu fixture (fixture/mdg_vgpu.c), a vfio-pci
# variant driver that behaves like NVIDIA's vGPU 17+ driver, bound to QEMU's pci-testdev
# functions (guest/lib.sh: need_vgpu, vgpu_type). Kernel side only: no mdevguard runs here.
# Sourced by run-scenarios.sh.
#
# The scenario leaves mdg_vgpu loaded, its functions bound and every type 0 (also when it
# fails: scenario_cleanup clears the types), so that a later scenario's need_vgpu finds them.

SCENARIOS+=(
	vgpu-fixture
)

# wait_file FILE: FILE exists within 60 s (a background client's signal).
wait_file() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	fail "$1 did not appear within 60 s"
}

# expect_creatable ADDR: the function offers every type, in the RFC's format.
expect_creatable() {
	local f=$PCI_DEVICES/$1/nvidia/creatable_vgpu_types got want
	want='ID    : vGPU Name'$'\n''11    : MDG FX1-4C'$'\n''12    : MDG FX1-8C'$'\n'
	want+='13    : MDG FX2-8C'$'\n''14    : MDG FX1-2Q'$'\n'
	got=$(attr "$f"; echo .)
	[ "$got" = "$want." ] || fail "$f reads '${got%.}', expected '$want'"
}

# expect_typed ADDR ID: current_vgpu_type reads "ID\n"; creatable_vgpu_types is empty when
# ID is not 0.
expect_typed() {
	local f=$PCI_DEVICES/$1/nvidia got
	got=$(attr "$f/current_vgpu_type"; echo .)
	[ "$got" = "$2"$'\n'. ] ||
		fail "$f/current_vgpu_type reads '${got%.}', expected '$2\\n'"
	if [ "$2" = 0 ]; then
		expect_creatable "$1"
	else
		got=$(attr "$f/creatable_vgpu_types"; echo .)
		[ "$got" = . ] || fail "$f/creatable_vgpu_types of a typed function reads '${got%.}'"
	fi
}

sc_vgpu_fixture() {
	local i a id node t0 ms first
	local -A groups=()
	need_vgpu 4
	for ((i = 1; i <= 4; i++)); do
		a=${VF[i]}
		[ -z "${groups[${VG[i]}]:-}" ] ||
			fail "$a shares IOMMU group ${VG[i]} with ${groups[${VG[i]}]}"
		groups[${VG[i]}]=$a
		[ "$(<"$PCI_DEVICES/$a/driver_override")" = mdg_vgpu ] ||
			fail "$a: driver_override is $(<"$PCI_DEVICES/$a/driver_override")"
		id=$(<"$PCI_DEVICES/$a/vendor"):$(<"$PCI_DEVICES/$a/device")
		info "vGPU function $a ($id): /dev/vfio/${VG[i]}" \
			"($(stat -c '%t:%T' "/dev/vfio/${VG[i]}"))"
		[ "$(stat -c %a "$PCI_DEVICES/$a/nvidia/creatable_vgpu_types")" = 444 ] ||
			fail "creatable_vgpu_types of $a is not 0444"
		[ "$(stat -c %a "$PCI_DEVICES/$a/nvidia/current_vgpu_type")" = 644 ] ||
			fail "current_vgpu_type of $a is not 0644"
		expect_typed "$a" 0
	done
	first="${VF[*]}"
	need_vgpu 4
	[ "${VF[*]}" = "$first" ] || fail "need_vgpu 4 again gave ${VF[*]}, not $first"

	# a type, read back; the function offers nothing more; retyped while closed; cleared
	vgpu_type "${VF[1]}" 11
	expect_typed "${VF[1]}" 11
	vgpu_type "${VF[1]}" 13
	expect_typed "${VF[1]}" 13
	vgpu_type "${VF[2]}" 14
	expect_typed "${VF[2]}" 14
	vgpu_type "${VF[2]}" 0
	expect_typed "${VF[2]}" 0
	# ids that are not offered, and what is not a decimal id
	vgpu_type "${VF[4]}" 15 ENODEV
	vgpu_type "${VF[4]}" 1 ENODEV
	vgpu_type "${VF[4]}" abc EINVAL
	vgpu_type "${VF[4]}" 0x0b EINVAL
	expect_typed "${VF[4]}" 0
	vgpu_type "${VF[1]}" 99 ENODEV
	expect_typed "${VF[1]}" 13

	# while a process holds the function open, its type cannot change (nor be cleared); another
	# function's can
	vgpu_type "${VF[1]}" 11
	rm -f "$WORK/held" "$WORK/release"
	client_bg held "open:${VF[1]}@/dev/vfio/${VG[1]}" "info:${VF[1]}" "read:${VF[1]}" \
		"mmap:${VF[1]}" "touch:$WORK/held" "wait:$WORK/release"
	wait_file "$WORK/held"
	vgpu_type "${VF[1]}" 12 EBUSY
	vgpu_type "${VF[1]}" 0 EBUSY
	vgpu_type "${VF[1]}" 15 EBUSY
	expect_typed "${VF[1]}" 11
	vgpu_type "${VF[2]}" 12
	expect_typed "${VF[2]}" 12
	touch "$WORK/release"
	client_wait held
	# closed: 0 clears it
	vgpu_type "${VF[1]}" 0
	expect_typed "${VF[1]}" 0

	# regions: BAR 0 (memory, a page) maps; BAR 1 (I/O ports) is refused before any mmap
	expect_client "regions of a vGPU function" "open:${VF[2]}" "mmap:${VF[2]}:1=ENXIO" \
		"mmap:${VF[2]}:0" "mmap:${VF[2]}:5=ENXIO" "close:${VF[2]}"
	grep -q "step=region " "$WORK/client.$nclient.out" ||
		fail "mmap of BAR 1 not refused at the region check"

	if [ "${MDG_KERNEL_CDEV:-0}" = 1 ]; then
		node=$(cd "$PCI_DEVICES/${VF[3]}/vfio-dev" 2>/dev/null && echo vfio*) ||
			fail "no $PCI_DEVICES/${VF[3]}/vfio-dev: the kernel has no VFIO device cdev"
		[ -c "/dev/vfio/devices/$node" ] || fail "no /dev/vfio/devices/$node"
		info "${VF[3]}: /dev/vfio/${VG[3]} and /dev/vfio/devices/$node"
		vgpu_type "${VF[3]}" 13
		rm -f "$WORK/held" "$WORK/release"
		client_bg cdev "open-cdev:${VF[3]}" "read:${VF[3]}" "mmap:${VF[3]}" \
			"touch:$WORK/held" "wait:$WORK/release"
		wait_file "$WORK/held"
		grep -q "^open-cdev ${VF[3]} ok devid=" "$WORK/bg.cdev.out" ||
			fail "open-cdev: $(head -n 1 "$WORK/bg.cdev.out")"
		vgpu_type "${VF[3]}" 14 EBUSY
		vgpu_type "${VF[3]}" 0 EBUSY
		touch "$WORK/release"
		client_wait cdev
		vgpu_type "${VF[3]}" 0
	fi

	# write_delay_ms: the write takes that long, and holds the function while it does
	echo 300 >/sys/module/mdg_vgpu/parameters/write_delay_ms || fail "cannot set write_delay_ms"
	t0=${EPOCHREALTIME/./}
	vgpu_type "${VF[4]}" 12
	ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
	echo 0 >/sys/module/mdg_vgpu/parameters/write_delay_ms
	[ "$ms" -ge 300 ] || fail "a write with write_delay_ms=300 took $ms ms"
	info "write with write_delay_ms=300: $ms ms"
	expect_typed "${VF[4]}" 12

	# no mdevguard: one process may hold every vGPU function (the baseline mdevguard changes)
	expect_client "four vGPU functions in one process" "open:${VF[1]}@/dev/vfio/${VG[1]}" \
		"open:${VF[2]}@/dev/vfio/${VG[2]}" "open:${VF[3]}@/dev/vfio/${VG[3]}" \
		"open:${VF[4]}@/dev/vfio/${VG[4]}" "open:${VF[1]}@/dev/vfio/${VG[1]}=EBUSY"

	for ((i = 1; i <= 4; i++)); do
		vgpu_type "${VF[i]}" 0
		expect_typed "${VF[i]}" 0
	done
	pass
}

# ---- mdevguard on vGPU functions ------------------------------------------------------------
#
# The functions' types (fixture/mdg_vgpu.c): 11 FX1-4C, 12 FX1-8C, 13 FX2-8C, 14 FX1-2Q, as
# mdevguard names them nvidia-11 ... nvidia-14. None carries single_usage_restriction: the
# scenarios restrict nvidia-12 and nvidia-13 by policy, the others stay unrestricted (--absent's
# default).
SCENARIOS+=(
	vgpu-two-denied
	vgpu-with-mdev-denied
	vgpu-untyped-never-denied
	vgpu-typed-at-once
	vgpu-retyped-followed
	vgpu-compatible-classes
	vgpu-qemu-refused
	vgpu-adopted-and-restarted
	vgpu-selector
)

VGPU_POLICY=(--restrict-type nvidia-12 --restrict-type nvidia-13)

# vgpu_node I: the group node of VF[I], as the client's open: takes it.
vgpu_node() {
	echo "${VF[$1]}@/dev/vfio/${VG[$1]}"
}

# eventually_client WHAT OP...: the client succeeds within 5 s (the service reads a type write
# at its own pace; until it has, the function fails closed).
eventually_client() {
	local what=$1 i
	shift
	for ((i = 0; i < 50; i++)); do
		"$MDG_CLIENT" "$@" >"$WORK/eventually.out" 2>&1 && return 0
		sleep 0.1
	done
	fail "$what: $(grep -m 2 -e UNEXPECTED -e 'mdg-vfio-client:' "$WORK/eventually.out" | tr '\n' ';')"
}

# expect_fn_status ADDR TYPE: the service's device map shows the function with that type.
expect_fn_status() {
	local i
	for ((i = 0; i < 50; i++)); do
		"$MDG_BIN" status --json 2>/dev/null |
			jq -e --arg a "$1" --arg t "$2" 'any(.devices[]; .uuid == $a and .type == $t)' \
				>/dev/null && return 0
		sleep 0.1
	done
	fail "status does not show $1 with type $2: $("$MDG_BIN" status --json 2>&1 | head -c 600)"
}

# Two functions of restricted types: one process may use one, in either node kind.
sc_vgpu_two_denied() {
	need_vgpu 4
	vgpu_type "${VF[1]}" 12
	vgpu_type "${VF[2]}" 12
	vgpu_type "${VF[3]}" 13
	svc_start "${VGPU_POLICY[@]}"
	expect_fn_status "${VF[1]}" nvidia-12
	# status: the function beside mdevs, with its node and the vendor's id and name (an
	# untyped sibling, VF[4], offers the names)
	"$MDG_BIN" status --json | jq -e --arg a "${VF[1]}" 'any(.devices[]; .uuid == $a and
		.function and .vendor_type_id == 12 and .name == "MDG FX1-8C" and .restricted and
		(.node_kind == "group" or .node_kind == "cdev"))' >/dev/null ||
		fail "status --json does not show ${VF[1]} with its id and name: $("$MDG_BIN" status --json | jq -c --arg a "${VF[1]}" '.devices[] | select(.uuid == $a)')"
	"$MDG_BIN" status | grep -E "^  ${VF[1]} +nvidia-12 +yes +[a-z-]+ +/dev/vfio/${VG[1]} \([0-9]+:[0-9]+\)  MDG FX1-8C$" \
		>/dev/null || fail "status does not show ${VF[1]}'s line: $("$MDG_BIN" status | grep -F "${VF[1]}")"
	expect_client "two functions of one restricted type" "open:$(vgpu_node 1)" \
		"open:$(vgpu_node 2)=EPERM" "mmap:${VF[1]}"
	expect_logged action=deny "device=${VF[2]}" rule=restricted-device type=nvidia-12
	expect_client "functions of two restricted types" "open:$(vgpu_node 3)" \
		"open:$(vgpu_node 1)=EPERM"
	expect_logged action=deny "device=${VF[1]}" rule=restricted-device
	expect_client "one function, twice" "open:$(vgpu_node 1)" "close:${VF[1]}" \
		"open:$(vgpu_node 1)"
	if [ "${MDG_KERNEL_CDEV:-0}" = 1 ]; then
		expect_client "a function's cdev after another's group" "open:$(vgpu_node 1)" \
			"open-cdev:${VF[2]}=EPERM"
		expect_client "two functions' cdevs" "open-cdev:${VF[3]}" "open-cdev:${VF[2]}=EPERM"
	fi
	expect_count "$([ "${MDG_KERNEL_CDEV:-0}" = 1 ] && echo 4 || echo 2)" deny
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# A vGPU function and an mdev, both restricted: the rule combines them, in either order.
sc_vgpu_with_mdev_denied() {
	need_pool
	need_vgpu 4
	vgpu_type "${VF[1]}" 13
	svc_start "${VGPU_POLICY[@]}"
	expect_fn_status "${VF[1]}" nvidia-13
	expect_client "a restricted mdev, then a restricted function" "open:${S[1]}" \
		"open:$(vgpu_node 1)=EPERM"
	expect_logged action=deny "device=${VF[1]}" rule=restricted-device type=nvidia-13
	expect_client "a restricted function, then a restricted mdev" "open:$(vgpu_node 1)" \
		"open:${S[1]}=EPERM"
	expect_logged action=deny "device=${S[1]}" rule=restricted-device
	if [ "${MDG_KERNEL_CDEV:-0}" = 1 ]; then
		expect_client "a restricted mdev, then a restricted function's cdev" "open:${S[1]}" \
			"open-cdev:${VF[1]}=EPERM"
		expect_client "a restricted function's cdev, then a restricted mdev" \
			"open-cdev:${VF[1]}" "open:${S[1]}=EPERM"
		expect_count 4 deny
	fi
	svc_finish
	pass
}

# A function with no type, and a plain vfio-pci function (edu), are physical: never decided,
# never held, whatever else the process holds.
sc_vgpu_untyped_never_denied() {
	local edu denials=1
	need_pool
	need_vgpu 4
	edu=$(vgpu_edu)
	vgpu_bind_edu
	vgpu_type "${VF[2]}" 12
	svc_start "${VGPU_POLICY[@]}" --log-allow
	expect_fn_status "${VF[2]}" nvidia-12
	expect_client "a restricted function, an untyped one and a vfio-pci one" \
		"open:$(vgpu_node 2)" "open:$(vgpu_node 1)" "open:$edu@/dev/vfio/$EDU_GROUP" \
		"open:$(vgpu_node 3)" "read:${VF[1]}" "mmap:${VF[3]}"
	expect_client "the untyped ones first" "open:$(vgpu_node 1)" "open:$edu@/dev/vfio/$EDU_GROUP" \
		"open:$(vgpu_node 2)" "open:${S[1]}=EPERM"
	if [ "${MDG_KERNEL_CDEV:-0}" = 1 ]; then
		expect_client "untyped functions' cdevs beside a restricted one" \
			"open-cdev:${VF[2]}" "open-cdev:${VF[1]}" "open-cdev:$edu" "open-cdev:${VF[3]}" \
			"mmap:${VF[3]}" "open:${S[1]}=EPERM"
		denials=2
	fi
	expect_count "$denials" deny
	! grep -qE "device=(${VF[1]}|${VF[3]}|$edu) " "$SVC_LOG" ||
		fail "a decision about a physical function: $(grep -m1 -E "device=(${VF[1]}|${VF[3]}|$edu) " "$SVC_LOG")"
	expect_map_empty holders
	svc_finish
	pass
}

# A type written an instant before the use: the kernel side counts the write, so the entry the
# service read before it is not current, and the function is restricted until the service has
# read the new type. Every round: type it, use it at once, from a process holding another
# restricted function.
sc_vgpu_typed_at_once() {
	local r
	need_vgpu 4
	vgpu_type "${VF[1]}" 12
	svc_start "${VGPU_POLICY[@]}"
	expect_fn_status "${VF[1]}" nvidia-12
	rm -f "$WORK/held" "$WORK/release"
	for ((r = 1; r <= 10; r++)); do
		vgpu_type "${VF[2]}" 0
		# untyped and read by the service (until then it is restricted): physical, allowed
		eventually_client "round $r: untyped" "open:$(vgpu_node 1)" "open:$(vgpu_node 2)"
		vgpu_type "${VF[2]}" $((r % 2 ? 12 : 11)) &&
			"$MDG_CLIENT" "open:$(vgpu_node 1)" "open:$(vgpu_node 2)=EPERM" \
				>"$WORK/at-once.$r.out" 2>&1 ||
			fail "round $r: typed $((r % 2 ? 12 : 11)) and used at once:" \
				"$(grep -m1 UNEXPECTED "$WORK/at-once.$r.out")"
	done
	# once the service has read it, the unrestricted type is what it is
	vgpu_type "${VF[2]}" 0
	vgpu_type "${VF[2]}" 14
	expect_fn_status "${VF[2]}" nvidia-14
	expect_client "unrestricted, once read" "open:$(vgpu_node 2)" "open:$(vgpu_node 3)"
	grep -q "device=${VF[2]} .*rule=restricted-device\|device=${VF[2]} .*rule=holds-restricted" \
		"$SVC_LOG" || fail "no denial of the function typed an instant before its use logged"
	expect_map_empty holders
	svc_finish
	pass
}

# A function retyped while closed is followed: the sysfs write sends no uevent; the kernel side
# sees it pass and asks the service for a rescan.
sc_vgpu_retyped_followed() {
	need_vgpu 4
	vgpu_type "${VF[1]}" 14
	vgpu_type "${VF[2]}" 11
	svc_start "${VGPU_POLICY[@]}"
	expect_fn_status "${VF[2]}" nvidia-11
	expect_client "two unrestricted types" "open:$(vgpu_node 1)" "open:$(vgpu_node 2)"
	vgpu_type "${VF[2]}" 0
	vgpu_type "${VF[2]}" 12
	expect_fn_status "${VF[2]}" nvidia-12
	expect_client "retyped to a restricted type" "open:$(vgpu_node 1)" \
		"open:$(vgpu_node 2)=EPERM"
	expect_logged action=deny "device=${VF[2]}" rule=restricted-device type=nvidia-12
	vgpu_type "${VF[2]}" 0
	vgpu_type "${VF[2]}" 14
	expect_fn_status "${VF[2]}" nvidia-14
	expect_client "and back" "open:$(vgpu_node 1)" "open:$(vgpu_node 2)"
	"$MDG_BIN" list | grep -E "^  ${VF[2]} +1b36:0005 +mdg_vgpu +vendor +nvidia-14 +MDG FX1-2Q$" \
		>/dev/null || fail "list does not show ${VF[2]} as nvidia-14 (MDG FX1-2Q): $("$MDG_BIN" list | tail -n 6)"
	svc_finish
	pass
}

# vgpu_edu: the address of QEMU's edu device (a physical function).
vgpu_edu() {
	local d
	for d in "$PCI_DEVICES"/*; do
		[ "$(<"$d/vendor")" = 0x1234 ] && [ "$(<"$d/device")" = 0x11e8 ] && echo "${d##*/}"
	done
	return 0
}

# vgpu_unbind_edu: edu bound to no driver; vgpu_bind_edu: to vfio-pci, its group in EDU_GROUP.
vgpu_unbind_edu() {
	local edu
	edu=$(vgpu_edu)
	[ -n "$edu" ] || fail "no edu PCI device (1234:11e8)"
	if [ -e "$PCI_DEVICES/$edu/driver" ]; then
		echo "$edu" >"$PCI_DEVICES/$edu/driver/unbind" || fail "cannot unbind $edu"
	fi
}

vgpu_bind_edu() {
	local edu i
	edu=$(vgpu_edu)
	modprobe_k vfio-pci || fail "modprobe vfio-pci failed"
	echo vfio-pci >"$PCI_DEVICES/$edu/driver_override"
	echo "$edu" >/sys/bus/pci/drivers_probe 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		[ -e "/sys/bus/pci/drivers/vfio-pci/$edu" ] && break
		sleep 0.1
	done
	[ -e "/sys/bus/pci/drivers/vfio-pci/$edu" ] || fail "$edu not bound to vfio-pci"
	EDU_GROUP=$(basename "$(readlink "$PCI_DEVICES/$edu/iommu_group")")
}

# vgpu_domain FILE ADDR...: a libvirt domain XML with these PCI functions as hostdevs.
vgpu_domain() {
	local file=$1 a
	shift
	{
		echo "<domain type='qemu'><name>vgpu-vm</name><devices>"
		for a in "$@"; do
			echo "<hostdev mode='subsystem' type='pci' managed='no'><source><address" \
				"domain='0x${a:0:4}' bus='0x${a:5:2}' slot='0x${a:8:2}'" \
				"function='0x${a:11:1}'/></source></hostdev>"
		done
		echo "</devices></domain>"
	} >"$file"
}

# Compatibility classes: FX1-4C (11) with FX1-8C (12), one board and series, may go together,
# restricted; FX2-8C (13) with neither; a restricted mdev of no class with none of them. check
# says the same before any VM starts.
sc_vgpu_compatible_classes() {
	local out
	need_pool
	need_vgpu 4
	vgpu_type "${VF[1]}" 11
	vgpu_type "${VF[2]}" 12
	vgpu_type "${VF[3]}" 13
	vgpu_type "${VF[4]}" 12
	svc_start --restrict-type nvidia-11 "${VGPU_POLICY[@]}" --compatible nvidia-11,nvidia-12 \
		--log-allow
	expect_fn_status "${VF[4]}" nvidia-12
	expect_logged "compatibility class 1: nvidia-11,nvidia-12"
	expect_client "one class: FX1-4C, FX1-8C and another FX1-8C" "open:$(vgpu_node 1)" \
		"open:$(vgpu_node 2)" "open:$(vgpu_node 4)" "mmap:${VF[2]}"
	expect_logged action=allow "device=${VF[2]}" rule=compatible class=1
	expect_logged action=allow "device=${VF[4]}" rule=compatible class=1
	expect_client "another class" "open:$(vgpu_node 1)" "open:$(vgpu_node 3)=EPERM"
	expect_logged action=deny "device=${VF[3]}" rule=restricted-device
	expect_client "a restricted mdev of no class" "open:$(vgpu_node 2)" "open:${S[1]}=EPERM"
	expect_client "the class after an mdev" "open:${S[1]}" "open:$(vgpu_node 2)=EPERM"
	if [ "${MDG_KERNEL_CDEV:-0}" = 1 ]; then
		expect_client "one class through cdevs" "open-cdev:${VF[1]}" "open-cdev:${VF[2]}" \
			"open-cdev:${VF[4]}"
		expect_client "two classes through cdevs" "open-cdev:${VF[2]}" \
			"open-cdev:${VF[3]}=EPERM"
		expect_count 4 deny
	else
		expect_count 3 deny
	fi
	out=$("$MDG_BIN" check --restrict-type nvidia-11 "${VGPU_POLICY[@]}" \
		--compatible nvidia-11,nvidia-12 "${VF[1]}" "${VF[2]}" 2>&1) ||
		fail "check of one class: $out"
	grep -q "compatible with nvidia-11,nvidia-12" <<<"$out" || fail "check names no class: $out"
	out=$("$MDG_BIN" check --restrict-type nvidia-11 "${VGPU_POLICY[@]}" \
		--compatible nvidia-11,nvidia-12 "${VF[1]}" "${VF[3]}" 2>&1) &&
		fail "check allowed two classes: $out"
	grep -q "^denied (rule restricted-device" <<<"$out" || fail "check of two classes: $out"
	# a libvirt domain with PCI hostdevs: vGPU functions judged with its mdevs, the rest
	# physical (the libvirt hook runs this very check)
	vgpu_domain "$WORK/one-class.xml" "${VF[1]}" "${VF[2]}" "$(vgpu_edu)"
	out=$("$MDG_BIN" check --restrict-type nvidia-11 "${VGPU_POLICY[@]}" \
		--compatible nvidia-11,nvidia-12 --domain-xml "$WORK/one-class.xml" 2>&1) ||
		fail "check --domain-xml of one class and a physical function: $out"
	grep -q "these 2 device(s)" <<<"$out" || fail "the physical function was judged: $out"
	vgpu_domain "$WORK/two-classes.xml" "${VF[1]}" "${VF[3]}"
	out=$("$MDG_BIN" check --restrict-type nvidia-11 "${VGPU_POLICY[@]}" \
		--compatible nvidia-11,nvidia-12 --domain-xml "$WORK/two-classes.xml" 2>&1) &&
		fail "check --domain-xml allowed two classes: $out"
	grep -q "domain 'vgpu-vm': ${VF[3]}" <<<"$out" || fail "the denial names no function: $out"
	expect_map_empty holders
	svc_finish
	pass
}

# Real QEMU, as libvirt starts it: one restricted function starts (paused, -S), two are refused
# at the second, and the decision line names it and QEMU.
sc_vgpu_qemu_refused() {
	local qemu pid i out rc=0
	need_vgpu 4
	qemu=$(command -v qemu-system-x86_64) || fail "no qemu-system-x86_64 in the guest's root"
	vgpu_type "${VF[1]}" 12
	vgpu_type "${VF[2]}" 12
	svc_start "${VGPU_POLICY[@]}"
	expect_fn_status "${VF[2]}" nvidia-12
	set -- -machine q35 -accel tcg -m 64 -nodefaults -display none -S -monitor none \
		-serial none
	"$qemu" "$@" -device "vfio-pci,host=${VF[1]}" >"$WORK/qemu-one.out" 2>&1 &
	pid=$!
	BG_PIDS+=("$pid")
	for ((i = 0; i < 300; i++)); do
		"$MDG_BIN" status --json 2>/dev/null | jq -e --arg a "${VF[1]}" \
			'any(.holders[]; any(.devices[]; .uuid == $a))' >/dev/null && break
		kill -0 "$pid" 2>/dev/null || fail "QEMU with one function exited:" \
			"$(tr '\n' ' ' <"$WORK/qemu-one.out")"
		sleep 0.2
	done
	[ "$i" -lt 300 ] || fail "QEMU with one function holds nothing after 60 s"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	timeout 120 "$qemu" "$@" -device "vfio-pci,host=${VF[1]}" \
		-device "vfio-pci,host=${VF[2]}" >"$WORK/qemu-two.out" 2>&1 || rc=$?
	out=$(tr '\n' ' ' <"$WORK/qemu-two.out")
	info "QEMU with two functions: exit $rc: ${out:0:300}"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "QEMU with two functions did not fail: $rc"
	grep -q "${VF[2]}" <<<"$out" && grep -q "Operation not permitted" <<<"$out" ||
		fail "QEMU's error names not the second function and EPERM: $out"
	expect_logged action=deny "device=${VF[2]}" comm=qemu-system-x86 type=nvidia-12
	svc_finish
	pass
}

# A process that mapped a restricted function before the service started is adopted (from its
# mapping: it closed its group fd), denied a second function; a service killed and started
# again keeps it held, with no gap, and a retype written while no service ran is caught.
sc_vgpu_adopted_and_restarted() {
	local a
	need_vgpu 4
	vgpu_type "${VF[1]}" 12
	vgpu_type "${VF[2]}" 12
	vgpu_type "${VF[3]}" 14
	[ ! -e "$PIN_DIR" ] || fail "$PIN_DIR left over by an earlier scenario"
	rm -f "$WORK"/{a,b,c,d,e,f}
	client_bg a "open:$(vgpu_node 1)" "mmap:${VF[1]}" "closegroup:${VF[1]}" "touch:$WORK/a" \
		"wait:$WORK/b" "open:$(vgpu_node 2)=EPERM" "touch:$WORK/c" "wait:$WORK/d" \
		"open:$(vgpu_node 3)=EPERM" "touch:$WORK/e" "wait:$WORK/f"
	a=$BG_PID_a
	wait_file "$WORK/a"
	svc_start "${VGPU_POLICY[@]}"
	expect_logged "adopted:" process "$a" "${VF[1]}"
	holds "$a" "${VF[1]}"
	touch "$WORK/b"
	wait_file "$WORK/c"
	expect_logged "tgid=$a" "device=${VF[2]}" action=deny
	kill -KILL "$SVC_PID"
	wait "$SVC_PID" 2>/dev/null || true
	SVC_PID=
	# no service: nvidia-14 (unrestricted when the service read it) becomes nvidia-12; the
	# kernel side counts the write, and no entry read before it is current
	vgpu_type "${VF[3]}" 0
	vgpu_type "${VF[3]}" 12
	svc_start "${VGPU_POLICY[@]}"
	holds "$a" "${VF[1]}"
	expect_fn_status "${VF[3]}" nvidia-12
	touch "$WORK/d"
	wait_file "$WORK/e"
	expect_logged "tgid=$a" "device=${VF[3]}" action=deny type=nvidia-12
	touch "$WORK/f"
	client_wait a
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# An operator's selector puts a plain vfio-pci function (edu, 1234:11e8) under the rule, of
# type 1234:11e8; one by driver matches a function bound after the service started, at its
# first use.
sc_vgpu_selector() {
	local edu
	need_vgpu 4
	vgpu_type "${VF[1]}" 12
	edu=$(vgpu_edu)
	vgpu_bind_edu
	svc_start "${VGPU_POLICY[@]}" --vgpu-function 1234:11e8 --restrict-type 1234:11e8
	expect_fn_status "$edu" 1234:11e8
	"$MDG_BIN" list --vgpu-function 1234:11e8 |
		grep -E "^  $edu +1234:11e8 +vfio-pci +selector +1234:11e8 " >/dev/null ||
		fail "list does not show $edu as selected: $("$MDG_BIN" list --vgpu-function 1234:11e8 | tail -n 6)"
	expect_client "a restricted function, then the selected one" "open:$(vgpu_node 1)" \
		"open:$edu@/dev/vfio/$EDU_GROUP=EPERM"
	expect_logged action=deny "device=$edu" type=1234:11e8 rule=restricted-device
	svc_finish
	vgpu_unbind_edu
	svc_start "${VGPU_POLICY[@]}" --vgpu-function driver=vfio-pci --restrict-type 1234:11e8
	# bound now, used at once: the kernel side's selector names it before any scan has
	vgpu_bind_edu
	expect_client "a restricted function, then one bound an instant ago" "open:$(vgpu_node 1)" \
		"open:$edu@/dev/vfio/$EDU_GROUP=EPERM"
	expect_logged action=deny "device=$edu"
	svc_finish
	pass
}
