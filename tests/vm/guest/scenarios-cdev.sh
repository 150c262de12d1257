# SPDX-License-Identifier: GPL-2.0
# The rule on the VFIO device cdev (/dev/vfio/devices/vfioX) and on groups attached to an iommufd:
# only for kernels with IOMMUFD and VFIO_DEVICE_CDEV (the suite's own build, tests/vm/kernel).
# Sourced by run-scenarios.sh, which lists them only when MDG_KERNEL_CDEV=1.

if [ "${MDG_KERNEL_CDEV:-0}" = 1 ]; then
	SCENARIOS+=(
		+cdev-nodes
		+cdev-one-allowed
		+cdev-two-denied
		+cdev-group-mix-denied
		+cdev-and-group-same-device
		+cdev-received-then-bound
		+cdev-daemon-model
		+iommufd-group-device-outlives-group
	)
fi

# Every fixture device has its cdev, and the kernel side knows both of its nodes.
sc_cdev_nodes() {
	local node
	need_pool
	node=$(cd "$MDEV_DEVICES/${S[1]}/vfio-dev" 2>/dev/null && echo vfio*) ||
		fail "no $MDEV_DEVICES/${S[1]}/vfio-dev: the kernel has no VFIO device cdev"
	[ -c "/dev/vfio/devices/$node" ] || fail "no /dev/vfio/devices/$node"
	[ -c /dev/iommu ] || fail "no /dev/iommu: the kernel has no IOMMUFD"
	info "${S[1]}: /dev/vfio/$(group_of "${S[1]}") and /dev/vfio/devices/$node"
	svc_start
	"$MDG_BIN" status --json >"$WORK/status.json" || fail "status --json failed"
	jq -e "[.devices[] | select(.uuid == \"${S[1]}\") | .node] |
		(any(startswith(\"/dev/vfio/devices/vfio\")) and any(test(\"^/dev/vfio/[0-9]+$\")))" \
		"$WORK/status.json" >/dev/null ||
		fail "status does not show both nodes of ${S[1]}: $(jq -c ".devices[] |
			select(.uuid == \"${S[1]}\")" "$WORK/status.json")"
	svc_finish
	pass
}

sc_cdev_one_allowed() {
	need_pool
	svc_start --log-allow
	expect_client "one restricted device through its cdev" "open-cdev:${S[1]}" "read:${S[1]}" \
		"mmap:${S[1]}"
	expect_logged "device=${S[1]}" hook=ioctl rule=first action=allow
	expect_no_denial_logged
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

sc_cdev_two_denied() {
	need_pool
	svc_start
	expect_client "a second restricted device through its cdev" "open-cdev:${S[1]}" \
		"open-cdev:${S[2]}=EPERM" "cdev:${S[3]}=EPERM"
	grep -q "open-cdev ${S[2]} errno=1 EPERM step=cdev" "$WORK/client.$nclient.out" ||
		fail "not denied at the cdev's open: $(grep "open-cdev ${S[2]}" "$WORK/client.$nclient.out")"
	expect_logged "device=${S[2]}" hook=open rule=restricted-device action=deny
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# Group node of one device and cdev of another, either way round.
sc_cdev_group_mix_denied() {
	need_pool
	svc_start
	expect_client "group, then cdev" "open:${S[1]}" "open-cdev:${S[2]}=EPERM"
	expect_client "cdev, then group" "open-cdev:${S[3]}" "open:${S[4]}=EPERM"
	expect_logged "device=${S[2]}" action=deny
	expect_logged "device=${S[4]}" action=deny
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# The group node and the cdev of one device are the same device for the rule: a reopen, which
# mdevguard allows (VFIO itself then refuses the second way in while the first is in use).
sc_cdev_and_group_same_device() {
	need_pool
	svc_start
	expect_client "group, then the cdev of the same device" "open:${S[1]}" "cdev:${S[1]}" \
		"bind:${S[1]}=any" "cdev:${S[2]}=EPERM"
	expect_client "cdev, then the group node of the same device" "open-cdev:${S[3]}" \
		"group:${S[3]}=EBUSY" "group:${S[4]}=EPERM"
	expect_logged "device=${S[2]}" hook=open action=deny
	expect_logged "device=${S[4]}" hook=open action=deny
	expect_count 2 deny
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# A cdev opened by one process and bound by another that received it: the binder holds it.
sc_cdev_received_then_bound() {
	local a b
	need_pool
	svc_start --log-allow
	rm -f "$WORK"/{sock,bound,end}
	client_bg b "recvfd:$WORK/sock:${S[1]}/dev" "bind:${S[1]}" "touch:$WORK/bound" \
		"open-cdev:${S[3]}=EPERM" "wait:$WORK/end"
	client_bg a "cdev:${S[1]}" "sendfd:$WORK/sock:${S[1]}/dev" "wait:$WORK/bound" \
		"close:${S[1]}" "open-cdev:${S[2]}" "wait:$WORK/end"
	a=$BG_PID_a
	b=$BG_PID_b
	wait_file "$WORK/bound"
	expect_logged "tgid=$b" "device=${S[1]}" rule=first action=allow
	holds "$b" "${S[1]}"
	holds_not "$a" "${S[1]}"
	expect_logged "tgid=$b" "device=${S[3]}" action=deny
	! log_has "tgid=$a" action=deny || fail "the opener was denied: $(grep "tgid=$a" "$SVC_LOG")"
	touch "$WORK/end"
	client_wait a
	client_wait b
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}

# libvirt's iommufd model: the daemon pre-opens cdevs and starts VMs that inherit and bind them.
sc_cdev_daemon_model() {
	local d v1 v2
	need_pool
	svc_start --log-allow
	rm -f "$WORK"/{v1.pid,v2.pid,u1,u2,u3,d1,end}
	echo "bind:${S[6]} touch:$WORK/u1 wait:$WORK/d1 open-cdev:${S[2]}=EPERM touch:$WORK/u2" \
		"wait:$WORK/end" >"$WORK/vm1.args"
	echo "bind:${S[7]} info:${S[7]} touch:$WORK/u3 wait:$WORK/end" >"$WORK/vm2.args"
	client_bg d "cdev:${S[6]}" "spawn:${S[6]}:$WORK/vm1.args:$WORK/v1.pid" "wait:$WORK/u1" \
		"close:${S[6]}" "cdev:${S[7]}" "spawn:${S[7]}:$WORK/vm2.args:$WORK/v2.pid" \
		"wait:$WORK/u3" "close:${S[7]}" "touch:$WORK/d1" "wait:$WORK/end"
	d=$BG_PID_d
	bg_child v1 "$WORK/v1.pid"
	bg_child v2 "$WORK/v2.pid"
	wait_file "$WORK/u2"
	no_holder "$d"
	holds "$v1" "${S[6]}"
	holds "$v2" "${S[7]}"
	expect_logged "tgid=$v1" "device=${S[2]}" hook=open rule=restricted-device action=deny
	! log_has "tgid=$d" action=deny || fail "the daemon was denied: $(grep "tgid=$d" "$SVC_LOG")"
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

# A group attached to an iommufd: its device file does not pin the group file, and the holding
# lives with the device file.
sc_iommufd_group_device_outlives_group() {
	need_pool
	svc_start
	expect_client "group on an iommufd, group fd closed" "open-ifd:${S[1]}" \
		"closegroup:${S[1]}" "info:${S[1]}" "open:${S[2]}=EPERM" "open-cdev:${S[3]}=EPERM" \
		"closedev:${S[1]}" "open-cdev:${S[2]}"
	expect_logged "device=${S[2]}" action=deny
	expect_map_empty holders
	expect_map_empty files
	svc_finish
	pass
}
