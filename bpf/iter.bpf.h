/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the loader's iterators share: the adoption of a file, a holding seen by a release pass,
 * the reading of a process's mappings and the sweep's counters. Part of mdevguard.bpf.c.
 */
#ifndef MDG_ITER_BPF_H
#define MDG_ITER_BPF_H

#include "decide.bpf.h"

/*
 * Adoption of one file a task's process can use a device through, whatever the rule would say:
 * the use has already happened. Returns 2 when it began a holding (req->uuid names the device).
 */
static __always_inline int adopt_file(struct task_struct *task, struct file *file, __u8 mapped,
				      struct mdg_req *req)
{
	struct mdg_vfile vf = {};
	int kind;

	if (!task || !file)
		return 0;
	kind = vfio_file_of(file, &vf);
	if (kind != MDG_FILE_DEVICE && kind != MDG_FILE_CDEV)
		return 0;
	if (!vfio_access_granted(&vf) || vfio_req(&vf, req))
		return 0;
	/* A child whose fork the tracepoint missed: its inheritance first (inherit_of). */
	if (inherit_of(task))
		return 0;
	holder_key_of(task, &req->key);
	req->task = (__u64)task;
	req->file = (__u64)file;
	req->how = MDG_HOW_ADOPT;
	req->hook = mapped ? MDG_HOOK_MMAP : MDG_HOOK_OPEN;
	req->mapped = mapped;
	return mdg_acquire_req(req);
}

/*
 * Marks the holding of the device behind file, in task's process, as seen by this pass.
 * Returns 0 when file is of an mdev that the process does not hold, 1 otherwise. req is
 * scratch, the caller's, for the stack's sake.
 */
static __always_inline int pass_seen(struct task_struct *task, struct file *file,
				     struct mdg_req *req)
{
	struct vfio_device___mdg *vdev;
	struct mdg_holder_key key;
	struct mdg_vfile vf = {};
	struct mdg_holder *h;
	__u64 gen = cfg.pass_gen;
	__u32 n, i, found = 0;

	if (!task || !file)
		return 1;
	if (vfio_file_of(file, &vf) < 0)
		return 1;
	vdev = vfio_device_of(&vf);
	if (!vdev)
		return 1;
	/* an mdev or a vGPU function: the same identity its holding was recorded under */
	req->vdev = (__u64)vdev;
	if (mdg_identify(req))
		return 1;
	holder_key_of(task, &key);
	h = bpf_map_lookup_elem(&mdg_holders, &key);
	if (!h)
		return 0;
	bpf_spin_lock(&h->lock);
	n = h->nr_held;
	for (i = 0; i < MDG_MAX_HELD; i++) {
		if (i >= n)
			break;
		if (mdg_same_dev(&h->held[i].id, &req->id)) {
			h->held[i].seen_gen = gen;
			found = 1;
			break;
		}
	}
	bpf_spin_unlock(&h->lock);
	return found;
}

/* The task whose mappings mdg_pass_maps reads: one loader runs one pass at a time. */
__u64 pass_maps_task;

/*
 * The pass reads a process's mappings: its record, if unsettled, may be settled by this pass's
 * sweep (every mapping is read before the sweep runs). The inheritance of a child whose fork
 * tracepoint was skipped is taken first, so that its mark is on the record. A function of its
 * own: its frame and the adoption's are not on the stack at once.
 */
static __noinline void pass_maps_read(struct task_struct *task)
{
	struct mdg_holder_key key;
	struct mdg_holder *h;

	if (!task || pass_maps_task == (__u64)task)
		return;
	pass_maps_task = (__u64)task;
	if (inherit_of(task))
		return;
	holder_key_of(task, &key);
	h = bpf_map_lookup_elem(&mdg_holders, &key);
	if (h && h->unsettled)
		h->maps_gen = cfg.pass_gen;
}

/* The sweep's counters: in map memory, so that the verifier does not walk each count apart. */
struct mdg_sweep {
	__u32 kept;
	__u32 gone;
	__u32 uncounted;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mdg_sweep);
} mdg_sweep SEC(".maps");

#endif /* MDG_ITER_BPF_H */
