/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The end of a holding with the last file counted in it (lsm/file_free_security calls
 * file_released). Part of mdevguard.bpf.c.
 */
#ifndef MDG_RELEASE_BPF_H
#define MDG_RELEASE_BPF_H

#include "records.bpf.h"

/*
 * Under h->lock: one counted file of the holding of that epoch is gone. The last one ends the
 * holding unless files it did not count may remain; then it is left to the release pass.
 * Returns 1 if the holding ended, -1 if a pass should look, 0 otherwise.
 */
static __always_inline int held_drop_file(struct mdg_holder *h, const struct mdg_file *rec)
{
	__u32 n = h->nr_held, i;

	if (n == 0 || n > MDG_MAX_HELD)
		return 0;
	for (i = 0; i < MDG_MAX_HELD; i++) {
		if (i >= n)
			break;
		if (!mdg_same_dev(&h->held[i].id, &rec->id) || h->held[i].epoch != rec->epoch)
			continue;
		if (h->held[i].files)
			h->held[i].files--;
		if (h->held[i].files)
			return 0;
		if (h->held[i].uncounted)
			return -1;
		h->held[i] = h->held[held_slot(n - 1)];
		h->nr_held = n - 1;
		return 1;
	}
	return 0;
}

/*
 * The last reference to a VFIO file is gone, in whichever task dropped it: the holding it was
 * counted in comes from its record, never from current.
 */
static __noinline int file_released(struct file *file)
{
	struct mdg_file *r, rec;
	struct mdg_holder *h;
	struct mdg_stats *st;
	__u64 fkey = (__u64)file;
	int ended = 0;

	r = bpf_map_lookup_elem(&mdg_files, &fkey);
	if (!r)
		return 0;
	rec = *r;
	bpf_map_delete_elem(&mdg_files, &fkey);
	h = bpf_map_lookup_elem(&mdg_holders, &rec.owner);
	if (h) {
		bpf_spin_lock(&h->lock);
		if (holder_valid(h, &rec.owner))
			ended = held_drop_file(h, &rec);
		bpf_spin_unlock(&h->lock);
	}
	st = stats_get();
	if (ended > 0 && st)
		st->released++;
	/* Others that held the device through this file, or files the owner did not count. */
	if (ended < 0 || rec.shared)
		ask_loader(&recheck_asked, MDG_EV_RECHECK);
	return 0;
}

#endif /* MDG_RELEASE_BPF_H */
