// SPDX-License-Identifier: GPL-2.0
/*
 * Enforcement of mdev single_usage_restriction: file_open decides whether the opening process
 * may hold one more mdev device, file_free_security gives the holding back when the opened
 * file's last reference goes, and sched_process_exit lets a finished process's record die.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "mdevguard.h"
#include "policy.h"

_Static_assert((MDG_MAX_HELD & (MDG_MAX_HELD - 1)) == 0, "MDG_MAX_HELD must be a power of two");

#define S_IFMT	00170000
#define S_IFCHR	0020000

char LICENSE[] SEC("license") = "GPL";

/* Written by the loader through the skeleton's mmap of .bss; read on every open. */
struct mdg_config cfg;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);			/* rdev, kernel encoding */
	__type(value, struct mdg_device);
} devices SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mdg_holder_key);
	__type(value, struct mdg_holder);
} holders SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);			/* struct file address */
	__type(value, struct mdg_file);
} files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mdg_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct mdg_inode_key);
	__type(value, struct mdg_broker);
} brokers SEC(".maps");

/*
 * A zeroed holder record, too large for the stack, to create entries from. Plain bytes: a
 * value with a typed bpf_spin_lock in it may not be passed to a helper as memory.
 */
struct mdg_holder_bytes {
	__u8 bytes[sizeof(struct mdg_holder)];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mdg_holder_bytes);
} empty_holder SEC(".maps");

/*
 * The held set as a decision saw it, for its event: too large for the stack next to the rest.
 * Debian's kernels do not preempt a BPF program; were one preempted here by an open on the
 * same CPU, only the held list of a log line could be wrong, never a decision.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mdg_snapshot);
} snapshot SEC(".maps");

struct mdg_snapshot {
	__u32 nr_held;
	__u32 pad;
	struct mdg_dev_id held[MDG_MAX_HELD];
};

struct mdg_decision {
	__u32 rule;
	__u32 action;
	__u32 recorded;
	struct mdg_snapshot *snap;
};


struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

#define EPERM 1
#define EBUSY 16
#define EACCES 13
#define MAX_ERRNO 4095

/*
 * What an LSM program returns must provably lie in [-MAX_ERRNO, 0]: a decision of a program
 * before us is passed on, and our own errno comes from the loader and is checked here.
 */
static __always_inline int lsm_ret(int ret)
{
	if (ret < -MAX_ERRNO || ret > 0)
		return -EPERM;
	return ret;
}

/* Constants only: the verifier cannot bound a negated variable; the loader offers just these. */
static __always_inline int deny_ret(void)
{
	switch (cfg.deny_errno) {
	case EACCES:
		return -EACCES;
	case EBUSY:
		return -EBUSY;
	default:
		return -EPERM;
	}
}

static __always_inline struct mdg_stats *stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stats, &zero);
}

/*
 * The cheap test every open and every file free on the host pays: a character device whose
 * major is one the loader has seen on an mdev node. No map lookup before this passes.
 */
static __always_inline int mdev_candidate(struct file *file, __u32 *rdev)
{
	struct inode *inode = file->f_inode;
	__u32 major, i;

	if (!inode || (inode->i_mode & S_IFMT) != S_IFCHR)
		return 0;
	*rdev = inode->i_rdev;
	major = MDG_MAJOR(*rdev);
	for (i = 0; i < MDG_MAX_MAJORS; i++) {
		if (cfg.majors[i] && cfg.majors[i] == major)
			return 1;
	}
	return 0;
}

static __always_inline void file_record(struct mdg_file *rec, const struct mdg_holder_key *key,
					const struct mdg_device *dev, __u32 rdev)
{
	rec->holder = *key;
	rec->id = dev->id;
	rec->rdev = rdev;
}

/* The mdev device a file is a node of, or NULL: the filter first, the map only past it. */
static __always_inline struct mdg_device *mdev_device_of(struct file *file, __u32 *rdev)
{
	if (!mdev_candidate(file, rdev))
		return NULL;
	return bpf_map_lookup_elem(&devices, rdev);
}

static __always_inline void holder_key_of(struct task_struct *task, struct mdg_holder_key *key)
{
	key->tgid = BPF_CORE_READ(task, tgid);
	key->pad = 0;
	key->start_time = BPF_CORE_READ(task, group_leader, start_boottime);
}

static __always_inline struct mdg_holder *holder_get(const struct mdg_holder_key *key,
						    struct task_struct *task)
{
	struct mdg_holder_bytes *empty;
	struct mdg_holder *h;
	__u32 zero = 0;

	h = bpf_map_lookup_elem(&holders, key);
	if (h)
		return h;
	empty = bpf_map_lookup_elem(&empty_holder, &zero);
	if (!empty)
		return NULL;
	/* Threads of one process may race here: NOEXIST lets exactly one create the record. */
	bpf_map_update_elem(&holders, key, empty, BPF_NOEXIST);
	h = bpf_map_lookup_elem(&holders, key);
	if (h && !h->comm[0])
		BPF_CORE_READ_STR_INTO(&h->comm, task, group_leader, comm);
	return h;
}

static __always_inline void event_fill(struct mdg_event *e, const struct mdg_device *dev,
				       __u32 rdev)
{
	__u64 id = bpf_get_current_pid_tgid();

	e->boot_ns = bpf_ktime_get_boot_ns();
	e->pid = (__u32)id;
	e->tgid = id >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->rdev = rdev;
	e->dev = dev->id;
	e->nr_held = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	__builtin_memcpy(e->type, dev->type, sizeof(e->type));
}

/* Under h->lock: record one more open file of the requested device. */
static __always_inline int holding_add(struct mdg_holder *h, const struct mdg_device *dev)
{
	__u32 n = h->nr_held;
	int i;

	for (i = 0; i < MDG_MAX_HELD; i++) {
		if ((__u32)i >= n)
			break;
		if (mdg_same_dev(&h->held[i].id, &dev->id)) {
			h->held[i].files++;
			return 0;
		}
	}
	if (n >= MDG_MAX_HELD)
		return -1;
	h->held[n].id = dev->id;
	h->held[n].type_hash = dev->type_hash;
	h->held[n].files = 1;
	h->held[n].restricted = dev->restricted;
	__builtin_memcpy(h->held[n].uuid, dev->uuid, sizeof(dev->uuid));
	h->nr_held = n + 1;
	return 0;
}

/* Under h->lock: one open file of the device is gone; the last one ends the holding. */
static __always_inline void holding_drop(struct mdg_holder *h, const struct mdg_dev_id *id)
{
	__u32 n = h->nr_held;
	int i;

	if (n == 0 || n > MDG_MAX_HELD)
		return;
	for (i = 0; i < MDG_MAX_HELD; i++) {
		if ((__u32)i >= n)
			break;
		if (!mdg_same_dev(&h->held[i].id, id))
			continue;
		if (--h->held[i].files)
			return;
		/* The mask is a no-op for n in [1, MDG_MAX_HELD]; it is there for the verifier. */
		h->held[i] = h->held[(n - 1) & (MDG_MAX_HELD - 1)];
		h->nr_held = n - 1;
		return;
	}
}

/* Whether the current task runs an executable the operator named as a broker. */
static __always_inline int current_is_broker(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mdg_inode_key k = {};
	struct inode *exe;

	exe = BPF_CORE_READ(task, mm, exe_file, f_inode);
	if (!exe)
		return 0;
	k.dev = BPF_CORE_READ(exe, i_sb, s_dev);
	k.ino = BPF_CORE_READ(exe, i_ino);
	return bpf_map_lookup_elem(&brokers, &k) != NULL;
}

static __always_inline void count(struct mdg_stats *st, enum mdg_action act, int error)
{
	if (!st)
		return;
	if (act == MDG_ACT_ALLOW)
		st->allowed++;
	else if (act == MDG_ACT_DENY)
		st->denied++;
	else
		st->audit_denied++;
	if (error)
		st->errors++;
}

/* Denials, would-be denials and, when asked, allows go to user space. */
static __always_inline void report(struct mdg_stats *st, const struct mdg_decision *d,
				   const struct mdg_device *dev, __u32 rdev, enum mdg_hook hook)
{
	struct mdg_event *e;

	if (d->action == MDG_ACT_ALLOW && !cfg.log_allow)
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		if (st)
			st->lost_events++;
		return;
	}
	event_fill(e, dev, rdev);
	e->rule = d->rule;
	e->action = d->action;
	e->hook = hook;
	e->nr_held = 0;
	if (d->snap) {
		e->nr_held = d->snap->nr_held;
		__builtin_memcpy(e->held, d->snap->held, sizeof(e->held));
	}
	bpf_ringbuf_submit(e, 0);
}

/* Under the holder's lock: the rule, and on consent one more file of the device for it. */
/*
 * Under the holder's lock: the rule, and on consent one more file of the device for it.
 * The outcome is read back from the record rather than kept in registers: the verifier then
 * sees one unknown value instead of one constant per path through the held-set loop, and can
 * prune those paths instead of walking each to the end of the program.
 */
static __always_inline void decide_locked(struct mdg_holder *h, const struct mdg_device *dev,
					  struct mdg_decision *d)
{
	struct mdg_snapshot *snap = d->snap;
	struct mdg_request req;
	enum mdg_action act;
	enum mdg_rule rule;
	__u32 n, i;

	req.id = dev->id;
	req.type_hash = dev->type_hash;
	req.restricted = dev->restricted;

	bpf_spin_lock(&h->lock);
	n = h->nr_held;
	rule = mdg_decide(h->held, n, &req, cfg.mode);
	act = mdg_action(rule, cfg.audit);
	if (snap) {
		/* Slots past nr_held are stale but harmless: user space reads nr_held of them. */
		for (i = 0; i < MDG_MAX_HELD; i++)
			snap->held[i] = h->held[i].id;
		snap->nr_held = n;
	}
	h->last_rule = rule;
	h->last_action = act;
	h->last_recorded = act != MDG_ACT_DENY && holding_add(h, dev) == 0;
	d->rule = *(volatile __u32 *)&h->last_rule;
	d->action = *(volatile __u32 *)&h->last_action;
	d->recorded = *(volatile __u32 *)&h->last_recorded;
	bpf_spin_unlock(&h->lock);
}

static __always_inline void decision_set(struct mdg_decision *d, enum mdg_rule rule,
					 enum mdg_action act)
{
	d->rule = rule;
	d->action = act;
	d->recorded = 0;
	if (d->snap)
		d->snap->nr_held = 0;
}

/* Gives a holding back to its holder's record; the record goes once it can gain no more. */
static __always_inline void release_holding(struct mdg_holder_key *holder, struct mdg_dev_id *id)
{
	struct mdg_holder *h;
	int dead;

	h = bpf_map_lookup_elem(&holders, holder);
	if (!h)
		return;
	bpf_spin_lock(&h->lock);
	holding_drop(h, id);
	dead = h->exited == 1 && h->nr_held == 0;
	if (dead)
		h->exited = 2;	/* only one releaser deletes */
	bpf_spin_unlock(&h->lock);
	if (dead)
		bpf_map_delete_elem(&holders, holder);
}

/* Counting, reporting and the return value of a decision that has been made. */
static __always_inline int conclude(struct mdg_decision *d, struct mdg_stats *st,
				    const struct mdg_device *dev, __u32 rdev, enum mdg_hook hook)
{
	__u32 rule = d->rule, act = d->action;
	int error;

	error = rule == MDG_RULE_NO_MEMORY || rule == MDG_RULE_TOO_MANY ||
		(act != MDG_ACT_DENY && !d->recorded && rule != MDG_RULE_BROKER);
	count(st, act, error);
	report(st, d, dev, rdev, hook);
	return act == MDG_ACT_DENY ? deny_ret() : 0;
}

SEC("lsm/file_open")
int BPF_PROG(mdg_file_open, struct file *file, int ret)
{
	struct task_struct *task;
	struct mdg_holder_key key;
	struct mdg_file rec = {};
	struct mdg_decision dec = {}, *d = &dec;
	struct mdg_device *dev;
	__u32 zero = 0;
	struct mdg_holder *h;
	struct mdg_stats *st;
	__u64 fkey = (__u64)file;
	__u32 rdev;

	if (ret)
		return lsm_ret(ret);
	dev = mdev_device_of(file, &rdev);
	if (!dev)
		return 0;

	st = stats_get();
	if (st)
		st->opens_seen++;
	d->snap = bpf_map_lookup_elem(&snapshot, &zero);

	if (current_is_broker()) {
		decision_set(d, MDG_RULE_BROKER, MDG_ACT_ALLOW);
		return conclude(d, st, dev, rdev, MDG_HOOK_OPEN);
	}

	task = bpf_get_current_task_btf();
	holder_key_of(task, &key);
	file_record(&rec, &key, dev, rdev);
	h = holder_get(&key, task);
	if (!h || bpf_map_update_elem(&files, &fkey, &rec, BPF_ANY)) {
		/* Cannot account for the holding: fail closed, for mdev nodes only. */
		decision_set(d, MDG_RULE_NO_MEMORY, mdg_action(MDG_RULE_NO_MEMORY, cfg.audit));
		return conclude(d, st, dev, rdev, MDG_HOOK_OPEN);
	}
	decide_locked(h, dev, d);
	if (!d->recorded)
		bpf_map_delete_elem(&files, &fkey);
	return conclude(d, st, dev, rdev, MDG_HOOK_OPEN);
}

/*
 * An mdev file arriving over SCM_RIGHTS or pidfd_getfd is judged against the receiver as if it
 * opened it; on consent the receiver takes the holding over from the previous holder.
 */
SEC("lsm/file_receive")
int BPF_PROG(mdg_file_receive, struct file *file, int ret)
{
	struct task_struct *task;
	struct mdg_holder_key key, old = {};
	struct mdg_file rec = {}, *f;
	struct mdg_decision dec = {}, *d = &dec;
	struct mdg_device *dev;
	__u32 zero = 0;
	struct mdg_holder *h;
	struct mdg_stats *st;
	__u64 fkey = (__u64)file;
	__u32 rdev;
	int had_holder = 0;

	if (ret)
		return lsm_ret(ret);
	dev = mdev_device_of(file, &rdev);
	if (!dev)
		return 0;
	if (current_is_broker())
		return 0;

	task = bpf_get_current_task_btf();
	holder_key_of(task, &key);
	f = bpf_map_lookup_elem(&files, &fkey);
	if (f) {
		old = f->holder;
		had_holder = 1;
		if (old.tgid == key.tgid && old.start_time == key.start_time)
			return 0;
	}

	st = stats_get();
	if (st)
		st->opens_seen++;
	d->snap = bpf_map_lookup_elem(&snapshot, &zero);
	h = holder_get(&key, task);
	if (!h) {
		decision_set(d, MDG_RULE_NO_MEMORY, mdg_action(MDG_RULE_NO_MEMORY, cfg.audit));
		return conclude(d, st, dev, rdev, MDG_HOOK_RECEIVE);
	}
	decide_locked(h, dev, d);
	if (!d->recorded)
		return conclude(d, st, dev, rdev, MDG_HOOK_RECEIVE);
	file_record(&rec, &key, dev, rdev);
	if (bpf_map_update_elem(&files, &fkey, &rec, BPF_ANY)) {
		/* Without a file record the holding could never be given back: undo it. */
		release_holding(&key, &rec.id);
		decision_set(d, MDG_RULE_NO_MEMORY, mdg_action(MDG_RULE_NO_MEMORY, cfg.audit));
		return conclude(d, st, dev, rdev, MDG_HOOK_RECEIVE);
	}
	if (had_holder)
		release_holding(&old, &rec.id);
	return conclude(d, st, dev, rdev, MDG_HOOK_RECEIVE);
}

SEC("lsm/file_free_security")
int BPF_PROG(mdg_file_free, struct file *file)
{
	struct mdg_stats *st;
	struct mdg_file *f, rec;
	__u64 fkey = (__u64)file;
	__u32 rdev;

	/*
	 * A file whose open failed after we allowed it (VFIO's own EBUSY, say) comes here with
	 * f_inode already cleared, so it cannot be recognised by its device: look those up too.
	 * Every other file pays the device filter only.
	 */
	if (file->f_inode && !mdev_candidate(file, &rdev))
		return 0;
	f = bpf_map_lookup_elem(&files, &fkey);
	if (!f)
		return 0;
	rec = *f;
	bpf_map_delete_elem(&files, &fkey);
	/* Runs in whichever task drops the last reference: the holder comes from the record. */
	release_holding(&rec.holder, &rec.id);
	st = stats_get();
	if (st)
		st->released++;
	return 0;
}

/*
 * The record of a process outlives it while children keep inherited files open; once the
 * thread group is gone and nothing is held, nothing can add to it any more and it is removed.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(mdg_process_exit, struct task_struct *task)
{
	struct mdg_holder_key key;
	struct mdg_holder *h;
	int dead;

	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	holder_key_of(task, &key);
	h = bpf_map_lookup_elem(&holders, &key);
	if (!h)
		return 0;
	bpf_spin_lock(&h->lock);
	dead = h->exited == 0 && h->nr_held == 0;
	h->exited = dead ? 2 : 1;
	bpf_spin_unlock(&h->lock);
	if (dead)
		bpf_map_delete_elem(&holders, &key);
	return 0;
}

/*
 * Adoption: run once by a starting service, before its links are attached, over every open
 * file on the host. A file already in the files map is accounted for (a previous instance saw
 * its open, or another fd of the same file came first); any other open mdev node becomes a
 * holding of the process whose table holds it, whatever the rule would say, because the open
 * has already happened. Brokers are skipped as on open.
 */
SEC("iter/task_file")
int mdg_adopt(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct mdg_holder_key key;
	struct mdg_file rec = {};
	struct mdg_inode_key k = {};
	struct mdg_device *dev;
	struct mdg_holder *h;
	struct inode *exe;
	__u64 fkey;
	__u32 rdev;
	int added;

	if (!task || !file)
		return 0;
	dev = mdev_device_of(file, &rdev);
	if (!dev)
		return 0;
	fkey = (__u64)file;
	if (bpf_map_lookup_elem(&files, &fkey))
		return 0;
	exe = BPF_CORE_READ(task, mm, exe_file, f_inode);
	if (exe) {
		k.dev = BPF_CORE_READ(exe, i_sb, s_dev);
		k.ino = BPF_CORE_READ(exe, i_ino);
		if (bpf_map_lookup_elem(&brokers, &k))
			return 0;
	}
	holder_key_of(task, &key);
	h = holder_get(&key, task);
	if (!h)
		return 0;
	file_record(&rec, &key, dev, rdev);
	if (bpf_map_update_elem(&files, &fkey, &rec, BPF_NOEXIST))
		return 0;
	bpf_spin_lock(&h->lock);
	added = holding_add(h, dev) == 0;
	bpf_spin_unlock(&h->lock);
	if (!added)
		bpf_map_delete_elem(&files, &fkey);
	else
		BPF_SEQ_PRINTF(ctx->meta->seq, "%d %s\n", key.tgid, dev->uuid);
	return 0;
}
