/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rule's application: a decision under the holder's lock, its count and its event, the
 * checks and acquisitions (mdg_check_req, mdg_acquire_req), the routine path of a file already
 * held (mdg_routine), and what the LSM hooks call to reach them. Part of mdevguard.bpf.c.
 */
#ifndef MDG_DECIDE_BPF_H
#define MDG_DECIDE_BPF_H

#include "policy.h"
#include "identify.bpf.h"
#include "naming.bpf.h"

enum mdg_how {
	MDG_HOW_CHECK = 0,		/* the rule only: an open, the receipt of an unused node */
	MDG_HOW_ACQUIRE,		/* the rule, and on consent the holding */
	MDG_HOW_ADOPT,			/* the holding, whatever the rule: the use already happened */
	MDG_HOW_BINDER,			/* no holding can follow this route: refused */
};

/* The outcome of the locked part, read back through the record: see outcome_locked(). */
struct mdg_decision {
	__u32 rule;
	__u32 action;
	__u32 recorded;			/* the process holds the device after the decision */
	__u32 slot;			/* where, when it does */
};

/* Under h->lock: a new holding of req in slot i. */
static __always_inline void held_fill(struct mdg_held *e, const struct mdg_req *req, __u64 epoch,
				      __u64 gen)
{
	e->id = req->id;
	e->type_hash = req->type_hash;
	e->epoch = epoch;
	e->acq_gen = gen;
	e->seen_gen = 0;
	e->restricted = req->restricted;
	e->uncounted = 0;
	e->mapped = 0;
	e->files = 0;
	e->compat = req->compat;
	__builtin_memcpy(e->uuid, req->uuid, sizeof(e->uuid));
}

/*
 * Under h->lock: what the file of this decision adds to the holding e. The file is counted in
 * the holding when its record names this process and was not counted yet (epoch 0, claimed by
 * compare-and-swap so that two threads using a new file at once count it once); otherwise the
 * holding may rest on files its count does not see. Every flag here is read from map memory:
 * the verifier follows no constant through it.
 */
static __always_inline void held_note_file(struct mdg_held *e, struct mdg_file *rec,
					   const struct mdg_holder_key *key, __u32 mapped,
					   __u32 *recorded)
{
	/* Tested here, late, so that the verifier walks the rule once for both (see the caller). */
	barrier_var(rec);
	if (!rec)
		e->uncounted = 1;	/* no record to be had: the pass ends it */
	else if (!same_holder(&rec->owner, key))
		e->uncounted = 1;	/* another's file */
	else if (rec->epoch == e->epoch)
		;			/* counted already */
	else if (e->files < MDG_MAX_FILES &&
		 __sync_val_compare_and_swap(&rec->epoch, 0, e->epoch) == 0)
		e->files++;
	else
		e->uncounted = 1;	/* counted in an earlier holding, or too many */
	if (mapped)
		e->mapped = 1;
	/* 2: held, and only a release pass can end it: the loader is to run them */
	*recorded = e->uncounted ? 2 : 1;
}

/* Under h->lock: the rule for the process of h and req, left in h->last_rule and last_action. */
static __always_inline int rule_locked(struct mdg_holder *h, const struct mdg_req *req,
				       struct mdg_snapshot *snap)
{
	struct mdg_request *r = &snap->request;
	__u32 n, i;

	r->id = req->id;
	r->type_hash = req->type_hash;
	r->compat = req->compat;
	r->restricted = req->restricted;
	h->last_rule = MDG_RULE_NO_MEMORY;
	h->last_action = mdg_action(MDG_RULE_NO_MEMORY, cfg.audit);
	h->last_recorded = 0;
	h->last_hook = req->hook;
	if (!holder_valid(h, &req->key))
		return -1;
	n = h->nr_held;
	for (i = 0; i < MDG_MAX_HELD; i++)
		snap->held[i] = h->held[i].id;
	snap->nr_held = n;
	mdg_tally(h->held, n, r, &h->tally);
	/*
	 * nr_held read afresh: the loop's exits each taught the verifier a different bound on n,
	 * and carrying those into the rule's clauses would walk them once per exit.
	 */
	h->last_rule = mdg_rule_of(&h->tally, *(volatile __u32 *)&h->nr_held, r, cfg.mode);
	h->last_action = mdg_action(h->last_rule, cfg.audit);
	return 0;
}

/*
 * The outcome goes through the record and is read back: the verifier then sees unknown values
 * instead of one constant per path through the held-set loop and the rule's clauses, and can
 * prune those paths instead of walking each to the end of the program.
 */
static __always_inline void outcome_locked(struct mdg_holder *h, struct mdg_decision *d)
{
	d->rule = *(volatile __u32 *)&h->last_rule;
	d->action = *(volatile __u32 *)&h->last_action;
	d->recorded = *(volatile __u32 *)&h->last_recorded;
}

/* The rule alone. */
static __always_inline void check_locked(struct mdg_holder *h, const struct mdg_req *req,
					 struct mdg_snapshot *snap, struct mdg_decision *d)
{
	bpf_spin_lock(&h->lock);
	rule_locked(h, req, snap);
	outcome_locked(h, d);
	bpf_spin_unlock(&h->lock);
}

/* The rule, and on consent (or for an adoption, always) the holding through rec. */
static __always_inline void acquire_locked(struct mdg_holder *h, const struct mdg_req *req,
					   struct mdg_file *rec, struct mdg_snapshot *snap,
					   __u64 epoch, __u64 gen, struct mdg_decision *d)
{
	__u32 n, i, rule, act;

	bpf_spin_lock(&h->lock);
	if (rule_locked(h, req, snap))
		goto out;
	n = h->nr_held;
	rule = *(volatile __u32 *)&h->last_rule;
	act = *(volatile __u32 *)&h->last_action;
	if (rule == MDG_RULE_REOPEN) {
		for (i = 0; i < MDG_MAX_HELD; i++) {
			if (i >= n)
				break;
			if (mdg_same_dev(&h->held[i].id, &req->id)) {
				held_note_file(&h->held[i], rec, &req->key, req->mapped,
					       &h->last_recorded);
				break;
			}
		}
	} else if ((act != MDG_ACT_DENY || req->how == MDG_HOW_ADOPT) && n < MDG_MAX_HELD) {
		i = held_slot(n);
		held_fill(&h->held[i], req, epoch, gen);
		held_note_file(&h->held[i], rec, &req->key, req->mapped, &h->last_recorded);
		h->nr_held = n + 1;
	}
out:
	outcome_locked(h, d);
	bpf_spin_unlock(&h->lock);
}

static __always_inline void count(struct mdg_stats *st, const struct mdg_decision *d)
{
	if (!st)
		return;
	if (d->action == MDG_ACT_DENY)
		st->denied++;
	else if (d->action == MDG_ACT_AUDIT)
		st->audit_denied++;
	else
		st->allowed++;
	if (d->rule == MDG_RULE_NO_MEMORY || d->rule == MDG_RULE_TOO_MANY)
		st->errors++;
}

/* Denials, would-be denials and, when asked, allows go to user space. */
static __always_inline void report(struct mdg_stats *st, const struct mdg_decision *d,
				   const struct mdg_req *req, const struct mdg_snapshot *snap)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct mdg_event *e;

	e = bpf_ringbuf_reserve(&mdg_events, sizeof(*e), 0);
	if (!e) {
		if (st)
			st->lost_events++;
		return;
	}
	e->kind = MDG_EV_DECISION;
	e->boot_ns = bpf_ktime_get_boot_ns();
	e->pid = (__u32)id;
	e->tgid = id >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->rdev = req->rdev;
	e->dev = req->id;
	e->rule = d->rule;
	e->action = d->action;
	e->hook = req->hook;
	e->compat = req->compat;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	__builtin_memcpy(e->type, req->type, sizeof(e->type));
	e->nr_held = snap->nr_held;
	__builtin_memcpy(e->held, snap->held, sizeof(e->held));
	mdg_event_names(e);
	bpf_ringbuf_submit(e, 0);
}

/* Counting, reporting and the answer of a decision that has been made: 1 for a denial. */
static __always_inline int conclude(const struct mdg_req *req, const struct mdg_decision *d,
				    const struct mdg_snapshot *snap)
{
	struct mdg_stats *st = stats_get();

	count(st, d);
	if (st && d->recorded && d->action != MDG_ACT_DENY)
		st->acquired++;
	if (d->action != MDG_ACT_ALLOW || cfg.log_allow)
		report(st, d, req, snap);
	return d->action == MDG_ACT_DENY;
}

/*
 * The decisions are global functions: the verifier checks each once, on its own, rather than
 * once for every path that leads to it through a hook. Each is about a process (req->key) and a
 * device (req->id, type, flag) through a file (req->file). They return 1 for a denial and 0
 * otherwise; the hooks turn that into an errno the verifier can see is in range.
 */

/*
 * Whether h's process is unsettled (struct mdg_holder): then every use and open fails closed,
 * and asks for the pass that reads its mappings. Read without the lock: the mark is set only
 * when the record is made, and a use that meets it being cleared is denied needlessly, once.
 */
static __always_inline int unsettled(struct mdg_holder *h)
{
	if (!*(volatile __u32 *)&h->unsettled)
		return 0;
	ask_loader(&recheck_asked, MDG_EV_RECHECK);
	return 1;
}

/* The rule alone, for an open or the receipt of a node nobody used; or binder's refusal. */
__noinline int mdg_check_req(struct mdg_req *req)
{
	struct mdg_decision dec = {}, *d = &dec;
	struct mdg_holder_key key;
	struct mdg_snapshot *snap;
	struct mdg_holder *h;
	__u32 zero = 0;

	if (!req)
		return 0;
	snap = bpf_map_lookup_elem(&mdg_snapshot, &zero);
	if (!snap)
		return 0;
	snap->nr_held = 0;
	key = req->key;		/* a key from the stack: 6.1 takes no other memory as a key */
	if (req->how == MDG_HOW_BINDER) {
		d->rule = MDG_RULE_BINDER;
		d->action = mdg_action(MDG_RULE_BINDER, cfg.audit);
	} else if (mdg_inherit()) {
		d->rule = MDG_RULE_NO_MEMORY;
		d->action = mdg_action(MDG_RULE_NO_MEMORY, cfg.audit);
	} else if (!(h = bpf_map_lookup_elem(&mdg_holders, &key))) {
		/* A process with no record holds nothing: its first device is always allowed. */
		d->rule = MDG_RULE_FIRST;
		d->action = MDG_ACT_ALLOW;
	} else if (unsettled(h)) {
		d->rule = MDG_RULE_UNSETTLED;
		d->action = mdg_action(MDG_RULE_UNSETTLED, cfg.audit);
	} else {
		check_locked(h, req, snap, d);
	}
	return conclude(req, d, snap);
}

/* Whether the current task still runs in memory it shares with the process that made it. */
static __always_inline int in_shared_memory(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mdg_vmshare *v = bpf_task_storage_get(&mdg_vmshare, task, 0, 0);

	return v && v->mm == (__u64)task->mm;
}

/*
 * The rule, and on consent the holding (for an adoption, the holding whatever the rule). The
 * file's record is made first, so that a holding is counted from its start. The files map only
 * hastens the end of a holding: when it is full, the decision stands on the holder's record and
 * the holding is left to the release pass (uncounted), so that nobody who fills it denies
 * anyone anything; without a holder record the decision fails closed. A use that merely finds its holding
 * in place (reopen) is neither counted nor reported: reads and writes of a device file would
 * drown everything else. An adoption returns 2 when it began a holding.
 */
__noinline int mdg_acquire_req(struct mdg_req *req)
{
	struct mdg_decision dec = {}, *d = &dec;
	struct mdg_file *rec;
	struct mdg_holder_key key;
	struct mdg_snapshot *snap;
	struct mdg_holder *h = NULL;
	__u32 zero = 0;
	__u64 fkey;

	if (!req)
		return 0;
	snap = bpf_map_lookup_elem(&mdg_snapshot, &zero);
	if (!snap)
		return 0;
	snap->nr_held = 0;
	snap->created = 0;
	fkey = req->file;	/* keys from the stack: 6.1 takes no other memory as a key */
	key = req->key;
	/* What a process in shared memory maps would be the other process's: struct mdg_vmshare. */
	if (req->how == MDG_HOW_ACQUIRE && in_shared_memory()) {
		d->rule = MDG_RULE_SHARED_MEMORY;
		d->action = mdg_action(MDG_RULE_SHARED_MEMORY, cfg.audit);
		goto done;
	}
	/* An adoption is the loader's, about another process: its inheritance waits for it. */
	if (req->how != MDG_HOW_ADOPT && mdg_inherit()) {
		d->rule = MDG_RULE_NO_MEMORY;
		d->action = mdg_action(MDG_RULE_NO_MEMORY, cfg.audit);
		goto done;
	}
	if (!bpf_map_lookup_elem(&mdg_files, &fkey)) {
		__builtin_memset(&snap->file, 0, sizeof(snap->file));
		snap->file.owner = key;
		snap->file.id = req->id;
		snap->file.kind = req->kind;
		snap->created = !bpf_map_update_elem(&mdg_files, &fkey, &snap->file, BPF_NOEXIST);
	}
	/*
	 * Looked up once more whichever way it came, and NULL when the map is full: one state for
	 * the verifier to carry through the rule, rather than one per way.
	 */
	rec = bpf_map_lookup_elem(&mdg_files, &fkey);
	h = holder_get(&key, req->task);
	if (!h) {
		d->rule = MDG_RULE_NO_MEMORY;
		d->action = mdg_action(MDG_RULE_NO_MEMORY, cfg.audit);
		if (rec && snap->created)
			bpf_map_delete_elem(&mdg_files, &fkey);
		goto done;
	}
	if (req->how != MDG_HOW_ADOPT && unsettled(h)) {
		d->rule = MDG_RULE_UNSETTLED;
		d->action = mdg_action(MDG_RULE_UNSETTLED, cfg.audit);
		if (rec && snap->created)
			bpf_map_delete_elem(&mdg_files, &fkey);
		goto done;
	}
	acquire_locked(h, req, rec, snap, bpf_ktime_get_boot_ns(), cfg.pass_gen, d);
	/* Another process now holds the device through this file: its end must be looked at. */
	if (rec && d->recorded && !same_holder(&rec->owner, &key))
		rec->shared = 1;
	if (rec && snap->created && rec->epoch == 0)
		bpf_map_delete_elem(&mdg_files, &fkey);	/* made for a holding that was not taken */
	if (d->recorded == 2)
		ask_loader(&recheck_asked, MDG_EV_RECHECK);
done:
	if (req->how == MDG_HOW_ADOPT)
		return d->recorded && d->rule != MDG_RULE_REOPEN ? 2 : 0;
	if (d->rule == MDG_RULE_REOPEN)
		return 0;
	return conclude(req, d, snap);
}

/* A decision by the current process, through file. */
static __always_inline int decide(struct mdg_req *req, struct file *file, enum mdg_how how,
				  enum mdg_hook hook)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (cfg.disabled)
		return 0;
	holder_key_of(task, &req->key);
	req->task = (__u64)task;
	req->file = (__u64)file;
	req->how = how;
	req->hook = hook;
	if (how == MDG_HOW_ACQUIRE)
		return mdg_acquire_req(req) ? deny_ret() : 0;
	return mdg_check_req(req) ? deny_ret() : 0;
}

/* Under h->lock: the holding rec was counted in, if h (valid for key) still has it. */
static __always_inline struct mdg_held *held_of_file(struct mdg_holder *h,
						     const struct mdg_holder_key *key,
						     const struct mdg_file *rec)
{
	__u32 n = holder_valid(h, key) ? h->nr_held : 0, i;

	for (i = 0; i < MDG_MAX_HELD; i++) {
		if (i >= n)
			break;
		if (mdg_same_dev(&h->held[i].id, &rec->id) && h->held[i].epoch == rec->epoch)
			return &h->held[i];
	}
	return NULL;
}

/*
 * The path every read, write and ioctl of a device file takes once its process holds the
 * device through it: the file's record names the process, and the holding of that epoch is in
 * place. No VFIO structure is read.
 */
__noinline int mdg_routine(struct mdg_req *req)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mdg_holder_key key;
	struct mdg_file *r;
	struct mdg_holder *h;
	__u32 found;
	__u64 fkey;

	if (!req)
		return 0;
	fkey = req->file;
	r = bpf_map_lookup_elem(&mdg_files, &fkey);
	if (!r)
		return 0;
	holder_key_of(task, &key);
	if (!same_holder(&r->owner, &key))
		return 0;
	h = bpf_map_lookup_elem(&mdg_holders, &key);
	if (!h)
		return 0;
	bpf_spin_lock(&h->lock);
	found = held_of_file(h, &key, r) != NULL;
	bpf_spin_unlock(&h->lock);
	return found;
}

/* A use of a VFIO file by the current process: it holds the device, or the use is denied. */
static __always_inline int use(struct file *file, const struct mdg_vfile *vf, enum mdg_hook hook,
			       int mapped)
{
	struct mdg_req req = {};

	req.file = (__u64)file;
	/* Shared memory is refused in mdg_acquire_req: one path here keeps the verifier's walk. */
	if (!mapped && !in_shared_memory() && mdg_routine(&req))
		return 0;
	if (vfio_req(vf, &req))
		return 0;
	req.mapped = mapped;
	return decide(&req, file, MDG_HOW_ACQUIRE, hook);
}

/* ---- what the LSM hooks call -------------------------------------------------------------- */

/*
 * The cheap test every open on the host pays: a character device whose major is one of
 * VFIO's. One compare per slot: an empty slot holds 0, and a character node with major 0 (none
 * is registered) would only cost a device map miss.
 */
static __always_inline int vfio_node(struct file *file, __u32 *rdev)
{
	struct inode *inode = file->f_inode;
	__u32 major, i;

	if (!inode || (inode->i_mode & S_IFMT) != S_IFCHR)
		return 0;
	*rdev = inode->i_rdev;
	major = MDG_MAJOR(*rdev);
	for (i = 0; i < MDG_MAX_MAJORS; i++) {
		if (cfg.majors[i] == major)
			return 1;
	}
	return 0;
}

/*
 * Out of line, so that the request's stack is set up (zeroed) only for the opens of VFIO nodes
 * that reach it: mdg_file_open's own body is the filter alone, with no helper call in it
 * (checked by the VM suite's bpf-programs scenario against tests/vm/hot-path-budget).
 */
static __noinline int open_decide(struct file *file, __u32 rdev)
{
	struct mdg_device *dev;
	struct mdg_req req = {};
	struct mdg_stats *st;

	dev = bpf_map_lookup_elem(&mdg_devices, &rdev);
	if (!dev)
		return 0;
	req.id = dev->id;
	req.type_hash = dev->type_hash;
	__builtin_memcpy(req.type, dev->type, sizeof(req.type));
	/* The loader may be rewriting this entry: an entry for another node is not used. */
	if (dev->rdev != rdev)
		return 0;
	req.rdev = rdev;
	req.kind = dev->node == MDG_NODE_CDEV ? MDG_FILE_CDEV : MDG_FILE_GROUP;
	restricted_of(&req);
	st = stats_get();
	if (st)
		st->opens_seen++;
	return decide(&req, file, MDG_HOW_CHECK, MDG_HOOK_OPEN);
}

/*
 * A used file now has a copy in another process: the holding it is counted in can no longer end
 * with it alone (its giver may close every fd of it while the receiver keeps the file), so that
 * holding is marked uncounted, and release passes look until it ends.
 */
static __always_inline void file_given(struct file *file)
{
	struct mdg_holder_key owner;
	__u64 fkey = (__u64)file;
	struct mdg_holder *h;
	struct mdg_held *e;
	struct mdg_file *r;

	r = bpf_map_lookup_elem(&mdg_files, &fkey);
	if (!r)
		return;
	r->shared = 1;
	owner = r->owner;	/* a key from the stack: 6.1 takes no other memory as a key */
	h = bpf_map_lookup_elem(&mdg_holders, &owner);
	if (h) {
		bpf_spin_lock(&h->lock);
		e = held_of_file(h, &owner, r);
		if (e)
			e->uncounted = 1;
		bpf_spin_unlock(&h->lock);
	}
	ask_loader(&recheck_asked, MDG_EV_RECHECK);
}

/*
 * Use through ioctl: VFIO_GROUP_GET_DEVICE_FD on a group (its other ioctls set up a container
 * and give no access to the device), any ioctl on a device file or cdev, binding included.
 */
static __always_inline int on_ioctl(struct file *file, unsigned int cmd)
{
	struct mdg_vfile vf = {};
	int kind = vfio_file_of(file, &vf);

	if (kind < 0 || (kind == MDG_FILE_GROUP && cmd != VFIO_GROUP_GET_DEVICE_FD))
		return 0;
	return use(file, &vf, MDG_HOOK_IOCTL, 0);
}

#endif /* MDG_DECIDE_BPF_H */
