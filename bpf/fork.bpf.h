/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a fork leaves its child, inside fork (lsm/task_alloc): the mark of shared memory (struct
 * mdg_vmshare) and the inheritance (struct mdg_pending), which the fork tracepoint settles
 * (settle.bpf.h). Part of mdevguard.bpf.c.
 */
#ifndef MDG_FORK_BPF_H
#define MDG_FORK_BPF_H

#include "decide.bpf.h"

#define CLONE_VM	0x00000100
#define CLONE_THREAD	0x00010000

/*
 * A child that shares its parent's memory (CLONE_VM without CLONE_THREAD), and every thread a
 * process so marked starts, carries the memory it shares (struct mdg_vmshare). Every clone on
 * the host looks up the current task's mark when it makes a thread (absent: one load); a
 * vfork or posix_spawn allocates the child's.
 */
static __always_inline int vmshare_mark(struct task_struct *child, __u64 clone_flags)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct mdg_vmshare *v;
	__u64 mm;

	if (clone_flags & CLONE_THREAD) {
		v = bpf_task_storage_get(&mdg_vmshare, cur, 0, 0);
		if (!v)
			return 0;
		mm = v->mm;
	} else if (clone_flags & CLONE_VM) {
		mm = (__u64)cur->mm;
	} else {
		return 0;
	}
	if (!mm)
		return 0;	/* a kernel thread's user-mode helper: it has no memory to share yet */
	v = bpf_task_storage_get(&mdg_vmshare, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!v)
		return -1;
	v->mm = mm;
	return 0;
}

/*
 * A new process (fork, or clone with CLONE_FILES and without CLONE_THREAD) has every file its
 * parent had, and its mappings: it holds what its parent held. Its holdings are uncounted, as
 * it shares the parent's files; the release pass ends them once the child has none left (exec
 * closes the close-on-exec VFIO fds). Set on the child here, inside fork, on an LSM hook that
 * is never skipped (struct mdg_pending). Only a new process's first task carries it: before
 * that task clones anything, thread or process, it takes its inheritance. Without the memory
 * for it, the fork or clone fails (ENOMEM): a child that held nothing could take a second
 * device while it still maps its parent's.
 *
 * The holdings are read here, before the kernel copies the memory. When another task can map
 * a device into that memory meanwhile (another thread of the parent; or, for a parent that
 * shares its memory with the process that made it, that process), the child is marked
 * unsettled: the fork tracepoint settles it, or a release pass that reads its mappings does.
 */
static __noinline int fork_pending(struct task_struct *child, __u64 clone_flags)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct mdg_holder_key pkey;
	struct mdg_pending *dst;
	struct mdg_holder *p;
	__u32 n = 0, i, racy;
	__u64 epoch, gen;

	if (mdg_inherit())
		return -1;
	if (clone_flags & CLONE_THREAD)
		return 0;
	/* A CLONE_VM child shares the memory rather than a copy of it: struct mdg_vmshare. */
	racy = !(clone_flags & CLONE_VM) &&
	       (BPF_CORE_READ(cur, signal, nr_threads) > 1 || in_shared_memory());
	holder_key_of(cur, &pkey);
	p = bpf_map_lookup_elem(&mdg_holders, &pkey);
	if (!p && !racy)
		return 0;
	dst = bpf_task_storage_get(&mdg_pending, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!dst)
		return -1;
	epoch = bpf_ktime_get_boot_ns();
	gen = cfg.pass_gen;
	if (p) {
		bpf_spin_lock(&p->lock);
		if (holder_valid(p, &pkey)) {
			n = p->nr_held;
			/* a copy of memory whose mappings were not read is not read either */
			racy |= p->unsettled;
		}
		for (i = 0; i < MDG_MAX_HELD; i++) {
			if (i >= n)
				break;
			dst->held[i] = p->held[i];
		}
		bpf_spin_unlock(&p->lock);
	}
	if (n > MDG_MAX_HELD)
		n = 0;
	if (n == 0 && !racy) {
		bpf_task_storage_delete(&mdg_pending, child);
		return 0;
	}
	for (i = 0; i < MDG_MAX_HELD; i++) {
		if (i >= n)
			break;
		dst->held[i].epoch = epoch;
		dst->held[i].acq_gen = gen;
		dst->held[i].seen_gen = 0;
		dst->held[i].files = 0;
		dst->held[i].uncounted = 1;
	}
	dst->nr_held = n;
	dst->gen = gen;
	dst->unsettled = racy;
	return 0;
}

#endif /* MDG_FORK_BPF_H */
