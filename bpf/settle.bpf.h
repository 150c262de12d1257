/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An unsettled child settled by the fork tracepoint (tp_btf/sched_process_fork): what its
 * parent mapped since lsm/task_alloc read the holdings, added to its inheritance. Part of
 * mdevguard.bpf.c, included after that hook (see fork.bpf.h).
 */
#ifndef MDG_SETTLE_BPF_H
#define MDG_SETTLE_BPF_H

#include "fork.bpf.h"

/*
 * Whether the child's inheritance has the device hi:lo already. A global function: the
 * verifier checks its walk once, not once in each turn of fork_settle's.
 */
__noinline int mdg_pending_has(const struct mdg_pending *pend, __u64 hi, __u64 lo)
{
	__u32 n, j;

	if (!pend)
		return 1;
	n = pend->nr_held;
	for (j = 0; j < MDG_MAX_HELD; j++) {
		if (j >= n)
			break;
		if (pend->held[j].id.hi == hi && pend->held[j].id.lo == lo)
			return 1;
	}
	return 0;
}

/*
 * Settles a child marked unsettled by fork_pending. The kernel has copied the memory by now,
 * under the parent's mmap lock; a device mapped in it had its mmap decided before that lock
 * was taken (security_mmap_file comes first), so a device the parent mapped since task_alloc
 * read its holdings is among them now, marked mapped. Those the inheritance lacks are added to
 * it, and the mark is cleared. The tracepoint cannot vouch for the copy, and leaves the mark
 * to a release pass, when the parent's own holdings are unsettled, when its memory is shared
 * with the process that made it (whose holdings these are not), when a release pass may have
 * ended one of them since task_alloc (a holding begun after that read ends two passes later at
 * the earliest), and when the inheritance has no room left.
 */
static __always_inline void fork_settle(struct mdg_pending *pend)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct mdg_holder_bytes *buf;
	struct mdg_holder_key pkey;
	struct mdg_holder *p, *copy;
	struct mdg_held *e;
	__u32 n = 0, m, i, unsettled = 0;
	__u64 epoch;

	if (cfg.pass_gen > pend->gen + 1 || in_shared_memory())
		return;
	buf = bpf_task_storage_get(&mdg_scratch, cur, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!buf)
		return;
	copy = (struct mdg_holder *)buf;
	holder_key_of(cur, &pkey);
	p = bpf_map_lookup_elem(&mdg_holders, &pkey);
	if (p) {
		bpf_spin_lock(&p->lock);
		if (holder_valid(p, &pkey)) {
			n = p->nr_held;
			unsettled = p->unsettled;
		}
		for (i = 0; i < MDG_MAX_HELD; i++) {
			if (i >= n)
				break;
			copy->held[i] = p->held[i];
		}
		bpf_spin_unlock(&p->lock);
	}
	if (unsettled)
		return;
	epoch = bpf_ktime_get_boot_ns();
	for (i = 0; i < MDG_MAX_HELD; i++) {
		if (i >= n)
			break;
		if (!copy->held[i].mapped ||
		    mdg_pending_has(pend, copy->held[i].id.hi, copy->held[i].id.lo))
			continue;
		/* read from memory each time: one state per turn for the verifier, not one per m */
		m = *(volatile __u32 *)&pend->nr_held;
		if (m >= MDG_MAX_HELD)
			return;
		e = &pend->held[held_slot(m)];
		*e = copy->held[i];
		e->epoch = epoch;
		e->acq_gen = pend->gen;
		e->seen_gen = 0;
		e->files = 0;
		e->uncounted = 1;
		pend->nr_held = m + 1;
	}
	/* After every holding added: inherit_of reads the mark first (full barriers both). */
	__sync_lock_test_and_set(&pend->unsettled, 0);
}

#endif /* MDG_SETTLE_BPF_H */
