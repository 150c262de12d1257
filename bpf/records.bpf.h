/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Holder records (struct mdg_holder): a process's key, its record made whole in scratch and
 * inserted, the UUID text of a record, the loader asked for a pass or a rescan, and the
 * inheritance a fork left made a record (mdg_inherit). Part of mdevguard.bpf.c.
 */
#ifndef MDG_RECORDS_BPF_H
#define MDG_RECORDS_BPF_H

#include "pciaddr.h"
#include "maps.bpf.h"

static __always_inline void holder_key_of(struct task_struct *task, struct mdg_holder_key *key)
{
	key->tgid = BPF_CORE_READ(task, tgid);
	key->pad = 0;
	key->start_time = BPF_CORE_READ(task, group_leader, start_boottime);
}

static __always_inline int same_holder(const struct mdg_holder_key *a,
				       const struct mdg_holder_key *b)
{
	return a->tgid == b->tgid && a->start_time == b->start_time;
}

/*
 * Under h->lock: whether h still is the record of key. A record is removed when its process
 * exits; a decision that looked it up just before may meet its memory reused for another.
 */
static __always_inline int holder_valid(struct mdg_holder *h, const struct mdg_holder_key *key)
{
	return !h->dead && same_holder(&h->key, key);
}

/*
 * A new, empty record for key, built whole in the current task's mdg_scratch; NULL when the map
 * is full (or the scratch cannot be had).
 */
static __always_inline struct mdg_holder *holder_create(const struct mdg_holder_key *key,
						       __u64 task_addr)
{
	struct task_struct *task = (struct task_struct *)task_addr;
	struct mdg_holder_bytes *empty, *buf;
	struct mdg_holder *tmpl;
	__u32 zero = 0;

	empty = bpf_map_lookup_elem(&mdg_holder_zero, &zero);
	buf = bpf_task_storage_get(&mdg_scratch, bpf_get_current_task_btf(), 0,
				   BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!empty || !buf)
		return NULL;
	bpf_probe_read_kernel(buf, sizeof(*buf), empty);
	tmpl = (struct mdg_holder *)buf;
	tmpl->key = *key;
	BPF_CORE_READ_STR_INTO(&tmpl->comm, task, group_leader, comm);
	/* Threads of one process may race here: NOEXIST lets exactly one create the record. */
	bpf_map_update_elem(&mdg_holders, key, buf, BPF_NOEXIST);
	return bpf_map_lookup_elem(&mdg_holders, key);
}

static __always_inline struct mdg_holder *holder_get(const struct mdg_holder_key *key,
						    __u64 task_addr)
{
	struct mdg_holder *h = bpf_map_lookup_elem(&mdg_holders, key);

	return h ? h : holder_create(key, task_addr);
}

/* 36 characters of UUID text from its 16 bytes, for the records bpftool shows. */
static __always_inline void uuid_format(const struct mdg_dev_id *id, char *out)
{
	__u32 i, pos, nib;
	__u64 half;

	if (mdg_id_is_pci(id)) {
		mdg_pci_format(id, out);
		return;
	}
	for (i = 0; i < 32; i++) {
		/* digit i goes after the dashes before it, at 8, 13, 18 and 23 */
		pos = i + (i >= 8) + (i >= 12) + (i >= 16) + (i >= 20);
		half = i < 16 ? id->hi : id->lo;
		nib = (half >> (60 - 4 * (i & 15))) & 0xf;
		out[pos] = nib < 10 ? '0' + nib : 'a' + nib - 10;
	}
	out[8] = out[13] = out[18] = out[23] = '-';
	out[36] = '\0';
}

/* Asks the loader, once until it has acted, for a release pass or a rescan of the types. */
static __always_inline void ask_loader(__u32 *asked, enum mdg_event_kind kind)
{
	struct mdg_event *e;

	if (*asked)
		return;
	*asked = 1;
	e = bpf_ringbuf_reserve(&mdg_events, sizeof(*e), 0);
	if (!e) {
		/* Not asked after all: the next request tries again (and the periodic pass runs). */
		*asked = 0;
		return;
	}
	e->kind = kind;
	bpf_ringbuf_submit(e, 0);
}

/*
 * The inheritance a fork left on task (struct mdg_pending), made its process's record. Nothing
 * makes a record for such a process before this: its decisions, the loader's adoption and the
 * fork tracepoint all take the inheritance first, and its threads come after it. Two of them at
 * once make the same record, and NOEXIST keeps one. Returns 0, or -1 when the map is full:
 * the inheritance stays, and the caller fails closed.
 */
static __always_inline int inherit_of(struct task_struct *task)
{
	struct mdg_holder_bytes *buf, *empty;
	struct mdg_holder_key key;
	struct mdg_pending *pend;
	struct mdg_holder *c;
	__u32 zero = 0, n, i;
	long err;

	pend = bpf_task_storage_get(&mdg_pending, task, 0, 0);
	if (!pend)
		return 0;
	empty = bpf_map_lookup_elem(&mdg_holder_zero, &zero);
	buf = bpf_task_storage_get(&mdg_scratch, bpf_get_current_task_btf(), 0,
				   BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!empty || !buf)
		return -1;
	bpf_probe_read_kernel(buf, sizeof(*buf), empty);
	c = (struct mdg_holder *)buf;
	/*
	 * Read first, with a full barrier: the fork tracepoint may be settling this inheritance
	 * now, and clears the mark only after every holding it adds is in place. Into the
	 * record rather than a local: the stack of the adoption's call chain is at its limit.
	 */
	c->unsettled = __sync_fetch_and_or(&pend->unsettled, 0);
	n = pend->nr_held;
	if (!n && !c->unsettled) {
		bpf_task_storage_delete(&mdg_pending, task);
		return 0;
	}
	for (i = 0; i < MDG_MAX_HELD; i++) {
		if (i >= n)
			break;
		c->held[i] = pend->held[i];
	}
	c->nr_held = i;
	holder_key_of(task, &key);
	c->key = key;
	c->last_rule = MDG_RULE_NONE;
	c->last_action = MDG_ACT_ALLOW;
	c->last_hook = MDG_HOOK_FORK;
	c->last_recorded = 1;
	BPF_CORE_READ_STR_INTO(&c->comm, task, group_leader, comm);
	err = bpf_map_update_elem(&mdg_holders, &key, buf, BPF_NOEXIST);
	if (err && err != -EEXIST)
		return -1;
	bpf_task_storage_delete(&mdg_pending, task);
	/* The holdings are uncounted: only release passes can end them. */
	ask_loader(&recheck_asked, MDG_EV_RECHECK);
	return 0;
}

/* The current process's inheritance, if a fork left one and nothing has taken it yet. */
__noinline int mdg_inherit(void)
{
	return inherit_of(bpf_get_current_task_btf());
}

#endif /* MDG_RECORDS_BPF_H */
