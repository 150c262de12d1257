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
