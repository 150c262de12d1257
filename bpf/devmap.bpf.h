/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The device map's kernel side: entries written and removed as VFIO registers and unregisters
 * a device (fexit/fentry in mdevguard.bpf.c), between the loader's scans. Part of
 * mdevguard.bpf.c.
 */
#ifndef MDG_DEVMAP_BPF_H
#define MDG_DEVMAP_BPF_H

#include "maps.bpf.h"

static __always_inline void device_put(__u32 rdev, const struct mdg_req *req, __u8 node,
				       __u32 index)
{
	struct mdg_device v = {};

	if (!rdev)
		return;
	v.id = req->id;
	v.type_hash = req->type_hash;
	__builtin_memcpy(v.type, req->type, sizeof(v.type));
	__builtin_memcpy(v.uuid, req->uuid, sizeof(v.uuid));
	v.restricted = req->restricted;
	v.reason = req->reason;
	v.node = node;
	v.node_index = index;
	v.rdev = rdev;
	bpf_map_update_elem(&mdg_devices, &rdev, &v, BPF_ANY);
}

static __always_inline void device_forget(__u32 rdev, const struct mdg_dev_id *id)
{
	struct mdg_device *v = bpf_map_lookup_elem(&mdg_devices, &rdev);

	if (v && mdg_same_dev(&v->id, id))
		bpf_map_delete_elem(&mdg_devices, &rdev);
}

#endif /* MDG_DEVMAP_BPF_H */
