// SPDX-License-Identifier: GPL-2.0
/*
 * Enforcement of mdev single_usage_restriction (SPEC §3). A process holds a device while it has
 * a file through which the device can be used, and every way of coming to have one is a
 * decision against the rule of include/policy.h:
 *   - its own use: VFIO_GROUP_GET_DEVICE_FD on a group, or any ioctl, read, write or mmap of a
 *     device file or device cdev (so a file that arrived by a route no hook saw, io_uring's
 *     MSG_RING say, is still judged before it is used);
 *   - fork and CLONE_FILES: the child holds what its parent held, its mappings with it.
 * An open of a node and the receipt of any VFIO file (SCM_RIGHTS, pidfd_getfd, seccomp's addfd,
 * io_uring's fixed fd install) are checked without holding anything, so that a process that
 * could not hold the device is told so at the node it named or the fd it was given; a receiver
 * holds the device from its first use. A process running in memory another process made
 * (CLONE_VM without CLONE_THREAD) uses no VFIO device at all: its mappings would be the other's.
 * Holdings end with their counted files (file_free_security), with the process
 * (task_free), or by the loader's release pass (the iterators at the end, which read file
 * tables and mappings), never by moving them: giving an fd away adds the receiver at its use.
 *
 * Devices are identified from VFIO's own structures at use (vfio.bpf.h), so a device is under
 * the rule from its first use however soon after its creation that comes; the device map only
 * serves opens, and is kept exact by the register and unregister hooks.
 *
 * Fields of the pointers the verifier trusts (a hook's file, an iterator's task) are read
 * directly where one load is all it takes; chains through other pointers, and the structures
 * of the vfio and mdev modules, with BPF_CORE_READ.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "mdevguard.h"
#include "policy.h"
#include "vfio.bpf.h"

_Static_assert((MDG_MAX_HELD & (MDG_MAX_HELD - 1)) == 0, "MDG_MAX_HELD must be a power of two");

/*
 * An index into held[] that the verifier can see is in bounds. clang drops a mask it can prove
 * redundant after a compare, and 6.1's verifier does not always carry that compare's bound to
 * the register used for the access: the empty asm hides the value from clang, so the mask stays.
 */
#ifndef barrier_var
#define barrier_var(var)	asm volatile("" : "+r"(var))
#endif
static __always_inline __u32 held_slot(__u32 i)
{
	barrier_var(i);
	return i & (MDG_MAX_HELD - 1);
}

char LICENSE[] SEC("license") = "GPL";

/* Written by the loader through the skeleton's mmap of .bss; read on every decision. */
struct mdg_config cfg;
/* A release pass or a type rescan was asked for and the loader has not yet run it. */
__u32 recheck_asked;
__u32 rescan_asked;
/* A type write could not be counted (fn_writes full): no function's entry is current again. */
__u32 fn_writes_lost;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);		/* a group node and a cdev for each of 4,096 mdevs */
	__type(key, __u32);			/* rdev, kernel encoding */
	__type(value, struct mdg_device);
} mdg_devices SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);			/* mdg_type_hash(type name) */
	__type(value, struct mdg_type);
} mdg_types SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct mdg_dev_id);
	__type(value, struct mdg_override);
} mdg_overrides SEC(".maps");

/*
 * vGPU functions. The loader rewrites an entry as a whole while decisions read it: no
 * preallocation, so that an element a decision reads is freed only after an RCU grace period
 * and never reused under it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mdg_dev_id);
	__type(value, struct mdg_function);
} mdg_functions SEC(".maps");

/*
 * Only root writes a type: one entry per function that ever had one written (a host has a few
 * hundred vGPU functions at most: 32 per GPU).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct mdg_dev_id);
	__type(value, struct mdg_fn_writes);
} mdg_fn_writes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mdg_holder_key);
	__type(value, struct mdg_holder);
} mdg_holders SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);			/* struct file address */
	__type(value, struct mdg_file);
} mdg_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mdg_stats);
} mdg_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} mdg_events SEC(".maps");

/*
 * A holder record is built in a buffer and inserted whole: its key must be in it from the
 * start (see struct mdg_holder). Plain bytes: a value with a typed bpf_spin_lock in it may not
 * be passed to a helper as memory. mdg_holder_zero stays zero and wipes the buffer. The buffer
 * is the running task's own (task storage), not the CPU's: a preemptible kernel (7.2's
 * PREEMPT_LAZY) can preempt a program between building and inserting, and another task's
 * program on that CPU would build its record in a per-CPU buffer meanwhile.
 */
struct mdg_holder_bytes {
	__u8 bytes[sizeof(struct mdg_holder)];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mdg_holder_bytes);
} mdg_holder_zero SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mdg_holder_bytes);
} mdg_scratch SEC(".maps");

/*
 * What a new process inherits, set on it by lsm/task_alloc while its parent forks, so that no
 * fork is missed: the kernel may skip sched_process_fork's program (a tracing program already
 * running on that CPU is not entered again), and LSM programs are never skipped. The tracepoint
 * moves it into the holders map before the child runs; when it was skipped, the child's first
 * decision does (mdg_inherit). Each thread the child starts before that gets a copy.
 */
struct mdg_pending {
	__u32 nr_held;
	__u32 pad;
	__u64 unsettled;		/* becomes mdg_holder.unsettled: see mdg_process_fork (64
					   bits: the atomics that order it have no 32-bit form here) */
	__u64 gen;			/* cfg.pass_gen when the fork read its parent's holdings */
	struct mdg_held held[MDG_MAX_HELD];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mdg_pending);
} mdg_pending SEC(".maps");

/*
 * The memory a process was born into when it shares it with its parent (CLONE_VM without
 * CLONE_THREAD: vfork, posix_spawn, a CLONE_VM sibling), set by lsm/task_alloc on the child and
 * on every thread it starts. A mapping is usable by every process that can reach the memory, so
 * while such a process still runs in that memory (until its exec) it may use no VFIO device:
 * what it mapped would be its parent's to use, and what its parent maps its own. The parent,
 * which made the memory, decides for both; the child inherited its holdings.
 */
struct mdg_vmshare {
	__u64 mm;			/* the struct mm_struct shared at birth */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mdg_vmshare);
} mdg_vmshare SEC(".maps");

/*
 * The held set as a decision saw it, for its event, and the holdings a release pass ended:
 * too large for the stack. A preemptible kernel may preempt a decision and run another on the
 * same CPU meanwhile: then the held list of a log line can be wrong, and "created" can be
 * another decision's, which at worst keeps or drops a record no holding counts (epoch 0).
 */
struct mdg_snapshot {
	__u32 nr_held;
	__u32 created;			/* the decision made its file's record (kept in memory,
					   not a register, for the verifier) */
	struct mdg_dev_id held[MDG_MAX_HELD];
	/*
	 * The rule's question and a new file record, here rather than on a stack that the pass
	 * chain (iterator, acquisition, inheritance) fills to the verifier's 512 bytes.
	 */
	struct mdg_request request;
	struct mdg_file file;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mdg_snapshot);
} mdg_snapshot SEC(".maps");

#define EPERM		1
#define ENOMEM		12
#define EACCES		13
#define EBUSY		16
#define EEXIST		17
#define MAX_ERRNO	4095

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

	return bpf_map_lookup_elem(&mdg_stats, &zero);
}

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

/*
 * The restricted flag of a device, from the loader's policy maps: a device override first, then
 * the type's flag. A type the loader has not scanned yet fails closed and asks for a rescan.
 */
static __always_inline void restricted_of(struct mdg_req *req)
{
	/* Keys from the stack: 6.1 takes no other memory as a key. */
	struct mdg_dev_id id = req->id;
	__u64 type_hash = req->type_hash;
	struct mdg_override *o = bpf_map_lookup_elem(&mdg_overrides, &id);
	struct mdg_type *t = bpf_map_lookup_elem(&mdg_types, &type_hash);

	/* the class is the type's, whatever overrides the flag */
	req->compat = t ? t->compat : 0;
	if (o) {
		req->restricted = o->restricted;
		req->reason = o->reason;
		return;
	}
	if (t) {
		req->restricted = t->restricted;
		req->reason = t->reason;
		return;
	}
	req->restricted = 1;
	req->reason = MDG_REASON_UNKNOWN_TYPE;
	ask_loader(&rescan_asked, MDG_EV_UNKNOWN_TYPE);
}

/*
 * The decisions below are global functions: the verifier checks each once, on its own, rather
 * than once for every path that leads to it through the hooks (which multiplied past its limit).
 * They return 1 for a denial and 0 otherwise; the hooks turn that into an errno the verifier can
 * see is in range.
 */

/*
 * Whether one of the loader's selectors names the function. Global: checked once, on its own,
 * with each iteration's compares ending in a return or in the same state as the next one's.
 */
__noinline int mdg_selected(struct mdg_fnmatch *m)
{
	__u32 i;

	if (!m)
		return 0;
	for (i = 0; i < MDG_MAX_SELECTORS; i++) {
		const struct mdg_selector *sel = &cfg.selectors[i];
		const __u64 *d = (const __u64 *)sel->driver;

		if (sel->kind == MDG_SEL_ID && sel->vendor == m->vendor &&
		    (sel->device == 0xffff || sel->device == m->device))
			return 1;
		if (sel->kind == MDG_SEL_ADDR && sel->addr.hi == m->id.hi &&
		    sel->addr.lo == m->id.lo)
			return 1;
		if (sel->kind == MDG_SEL_DRIVER && m->driver[0] && d[0] == m->driver[0] &&
		    d[1] == m->driver[1] && d[2] == m->driver[2] && d[3] == m->driver[3])
			return 1;
	}
	return 0;
}

/* The function's numbers and driver, for mdg_selected(). */
static __always_inline int selected(struct pci_dev *pdev, struct mdg_fnmatch *m)
{
	const char *s;

	m->vendor = BPF_CORE_READ(pdev, vendor);
	m->device = BPF_CORE_READ(pdev, device);
	__builtin_memset(m->driver, 0, sizeof(m->driver));
	s = BPF_CORE_READ(pdev, dev.driver, name);
	/* a name the table cannot hold matches none of its entries (the loader keeps none) */
	if (s && bpf_probe_read_kernel_str(m->driver, sizeof(m->driver), s) <= 0)
		m->driver[0] = 0;
	return mdg_selected(m);
}

/*
 * A PCI function's vGPU type, from the loader's entry while it is current: no type write has
 * begun since the loader read it, and none is under way. Otherwise a function the loader knows,
 * one whose type was written, or one a selector names is a vGPU of a type not known yet: it is
 * restricted (restricted_of finds no such type) until the rescan this asks for. 0 when the
 * function is under the rule, -1 when it is physical.
 */
static __always_inline int function_identify(struct mdg_req *req)
{
	struct mdg_fnmatch m;
	struct mdg_function *f;
	struct mdg_fn_writes *w;
	struct pci_dev *pdev;
	__u64 started = 0, ended = 0;
	__u32 known;

	pdev = pci_function_of((struct vfio_device___mdg *)req->vdev, &m);
	if (!pdev)
		return -1;
	req->id = m.id;
	f = bpf_map_lookup_elem(&mdg_functions, &m.id);
	w = bpf_map_lookup_elem(&mdg_fn_writes, &m.id);
	if (w) {
		/*
		 * ended first: a write seen ended is seen started, whatever came between (loads
		 * are not reordered with each other on the JITs' x86; the barrier keeps clang's
		 * order, which has no acquire load for BPF)
		 */
		ended = *(volatile __u64 *)&w->ended;
		asm volatile("" ::: "memory");
		started = *(volatile __u64 *)&w->started;
	}
	if (f && !fn_writes_lost && f->seq == started && started == ended) {
		if (!f->type_hash)
			return -1;
		req->type_hash = f->type_hash;
		__builtin_memcpy(req->type, f->type, sizeof(req->type));
		req->type[sizeof(req->type) - 1] = '\0';
		return 0;
	}
	/*
	 * A scalar set apart in each branch: clang would otherwise test (f | w), and the verifier
	 * refuses arithmetic on pointers.
	 */
	known = 0;
	if (f)
		known = 1;
	barrier_var(known);
	if (w)
		known = 1;
	barrier_var(known);
	if (!known && !selected(pdev, &m))
		return -1;
	req->type[0] = '\0';
	req->type_hash = mdg_type_hash(req->type);
	ask_loader(&rescan_asked, MDG_EV_UNKNOWN_TYPE);
	return 0;
}

/*
 * The identity and policy flag of a VFIO device, if it is an mdev or a vGPU function: 0, or -1
 * for any other.
 */
__noinline int mdg_identify(struct mdg_req *req)
{
	struct vfio_device___mdg *vdev;

	if (!req || !req->vdev)
		return -1;
	vdev = (struct vfio_device___mdg *)req->vdev;
	if (mdev_identify(vdev, req) && function_identify(req))
		return -1;
	restricted_of(req);
	uuid_format(&req->id, req->uuid);
	return 0;
}

/* The device behind a VFIO file, if it is an mdev: identity, node and flag filled in req. */
static __always_inline int vfio_req(const struct mdg_vfile *vf, struct mdg_req *req)
{
	struct vfio_device___mdg *vdev = vfio_device_of(vf);

	req->vdev = (__u64)vdev;
	if (mdg_identify(req))
		return -1;
	req->kind = vf->kind;
	req->rdev = vfio_rdev(vf, vdev);
	return 0;
}

/* ---- decisions ---------------------------------------------------------------------------- */

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

/* ---- LSM hooks ---------------------------------------------------------------------------- */

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
 * An open is checked, not held: the process may open a node of a device it could hold. A node
 * the device map does not know yet (a device created an instant ago) opens, and its use decides.
 */
SEC("lsm/file_open")
int BPF_PROG(mdg_file_open, struct file *file, int ret)
{
	__u32 rdev;

	if (ret)
		return lsm_ret(ret);
	if (!vfio_node(file, &rdev))
		return 0;
	return open_decide(file, rdev);
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
 * A file arriving by SCM_RIGHTS, pidfd_getfd, seccomp's addfd or io_uring's fixed fd install is
 * checked like an open: refused when its receiver could not hold the device, and otherwise
 * held from the receiver's first use, which is decided again. Receiving is not using: a daemon
 * that accepts fds from its peers (and every process it forks) holds nothing it does not use.
 */
SEC("lsm/file_receive")
int BPF_PROG(mdg_file_receive, struct file *file, int ret)
{
	struct mdg_vfile vf = {};
	struct mdg_req req = {};

	if (ret)
		return lsm_ret(ret);
	if (vfio_file_of(file, &vf) < 0 || vfio_req(&vf, &req))
		return 0;
	ret = decide(&req, file, MDG_HOW_CHECK, MDG_HOOK_RECEIVE);
	if (!ret)
		file_given(file);
	return ret;
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

SEC("lsm/file_ioctl")
int BPF_PROG(mdg_file_ioctl, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	if (ret)
		return lsm_ret(ret);
	return on_ioctl(file, cmd);
}

/* 32-bit callers: a hook of its own since 6.8 and in 6.1.y; the loader loads it where it is. */
SEC("?lsm/file_ioctl_compat")
int BPF_PROG(mdg_file_ioctl_compat, struct file *file, unsigned int cmd, unsigned long arg,
	     int ret)
{
	if (ret)
		return lsm_ret(ret);
	return on_ioctl(file, cmd);
}

/* read, write, their vector and io_uring forms, splice and copy_file_range of a device file. */
SEC("lsm/file_permission")
int BPF_PROG(mdg_file_permission, struct file *file, int mask, int ret)
{
	struct mdg_vfile vf = {};
	int kind;

	if (ret)
		return lsm_ret(ret);
	kind = vfio_file_of(file, &vf);
	if (kind != MDG_FILE_DEVICE && kind != MDG_FILE_CDEV)
		return 0;
	return use(file, &vf, MDG_HOOK_IO, 0);
}

/* A mapping keeps a region usable after every fd is gone: the holding stays with it. */
SEC("lsm/mmap_file")
int BPF_PROG(mdg_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	struct mdg_vfile vf = {};
	int kind;

	if (ret)
		return lsm_ret(ret);
	if (!file)
		return 0;
	kind = vfio_file_of(file, &vf);
	if (kind != MDG_FILE_DEVICE && kind != MDG_FILE_CDEV)
		return 0;
	return use(file, &vf, MDG_HOOK_MMAP, 1);
}

/*
 * binder installs a passed fd in its target without file_receive, and names the target only by
 * its credentials: no holding could be checked or recorded, so VFIO files do not go that way.
 */
SEC("lsm/binder_transfer_file")
int BPF_PROG(mdg_binder_transfer, const struct cred *from, const struct cred *to,
	     struct file *file, int ret)
{
	struct mdg_vfile vf = {};
	struct mdg_req req = {};

	if (ret)
		return lsm_ret(ret);
	if (vfio_file_of(file, &vf) < 0 || vfio_req(&vf, &req))
		return 0;
	return decide(&req, file, MDG_HOW_BINDER, MDG_HOOK_BINDER);
}

/* ---- releases ----------------------------------------------------------------------------- */

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

/*
 * Followed on an LSM hook, not by fentry on VFIO's release functions: the kernel skips a
 * tracing program that is already running on the CPU (a preemptible kernel can preempt it
 * there), and a release it missed would keep a holding no file backs any more. LSM programs
 * are never skipped. Every other file freed on the host pays two compares of its f_op (checked
 * with mdg_file_open's against tests/vm/hot-path-budget); a file that never opened has none.
 */
SEC("lsm/file_free_security")
int BPF_PROG(mdg_file_free, struct file *file)
{
	const void *op = file->f_op;

	if (op != &vfio_group_fops && op != &vfio_device_fops)
		return 0;
	return file_released(file);
}

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

SEC("lsm/task_alloc")
int BPF_PROG(mdg_task_alloc, struct task_struct *task, unsigned long clone_flags, int ret)
{
	if (ret)
		return lsm_ret(ret);
	if (vmshare_mark(task, clone_flags))
		return -ENOMEM;
	return fork_pending(task, clone_flags) ? -ENOMEM : 0;
}

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

/*
 * The child's inheritance into the holders map before it runs, so that it shows as a holder
 * from its first instant, settled when the fork raced a mapping (fork_settle). The kernel may
 * skip this program; then the child's first decision takes the inheritance (mdg_inherit), and
 * nothing is lost: an unsettled child's decisions fail closed until a release pass has read its
 * mappings. A move that fails (6.1's allocator runs dry in a burst of thousands of forks) leaves
 * it pending, and is not counted as an error: the child's first decision tries again, and only
 * if that fails too does a decision fail closed (counted there).
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(mdg_process_fork, struct task_struct *parent, struct task_struct *child)
{
	struct mdg_pending *pend;

	if (BPF_CORE_READ(child, tgid) == BPF_CORE_READ(parent, tgid))
		return 0;
	pend = bpf_task_storage_get(&mdg_pending, child, 0, 0);
	if (!pend)
		return 0;
	if (pend->unsettled)
		fork_settle(pend);
	inherit_of(child);
	return 0;
}

/*
 * A new program: the old one's mappings are gone with its mm. On the LSM hook exec calls once
 * the new mm and name are in place (after de_thread, so current leads its group): a tracing
 * program could be skipped, and the holding would stay mapped until the process exits.
 */
SEC("lsm/bprm_committed_creds")
int BPF_PROG(mdg_exec, struct linux_binprm *bprm)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mdg_holder_key key;
	struct mdg_holder *h;
	__u32 i;

	/* Its own memory now: the mark of shared memory goes with the old. */
	bpf_task_storage_delete(&mdg_vmshare, task);
	/* An inheritance not taken yet carries the old mappings too: taken, then cleared. */
	mdg_inherit();
	holder_key_of(task, &key);
	h = bpf_map_lookup_elem(&mdg_holders, &key);
	if (!h)
		return 0;
	bpf_spin_lock(&h->lock);
	for (i = 0; i < MDG_MAX_HELD; i++)
		h->held[i].mapped = 0;
	h->unsettled = 0;	/* nothing of the copied memory is left to read */
	bpf_spin_unlock(&h->lock);
	BPF_CORE_READ_STR_INTO(&h->comm, task, comm);
	return 0;
}

/*
 * The thread group is gone, and with it every file it had: its record goes when its leader's
 * task is freed, which is after the whole group has exited and been reaped (a thread that
 * execs becomes the leader; the one it replaced no longer leads, and is passed over). On an
 * LSM hook, not sched_process_exit: the kernel may skip a tracing program. Files the process
 * owned that live on elsewhere find no record when they are freed, and ask for nothing.
 */
SEC("lsm/task_free")
int BPF_PROG(mdg_task_free, struct task_struct *task)
{
	struct mdg_holder_key key;
	struct mdg_holder *h;

	if (BPF_CORE_READ(task, group_leader) != task)
		return 0;
	holder_key_of(task, &key);
	h = bpf_map_lookup_elem(&mdg_holders, &key);
	if (!h)
		return 0;
	bpf_spin_lock(&h->lock);
	h->dead = 1;
	bpf_spin_unlock(&h->lock);
	bpf_map_delete_elem(&mdg_holders, &key);
	return 0;
}

/* ---- the device map at the kernel's pace -------------------------------------------------- */

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

/*
 * An mdev registered with VFIO: its nodes exist now, and opens of them are checked from here on
 * rather than from the loader's next scan.
 */
SEC("fexit/vfio_register_emulated_iommu_dev")
int BPF_PROG(mdg_register, struct vfio_device___mdg *vdev, int ret)
{
	struct mdg_req req = {};

	req.vdev = (__u64)vdev;
	if (ret || mdg_identify(&req))
		return 0;
	if (bpf_core_field_exists(vdev->group))
		device_put(BPF_CORE_READ(vdev, group, dev.devt), &req, MDG_NODE_GROUP,
			   BPF_CORE_READ(vdev, group, iommu_group, id));
	/* The vfio-dev class device exists only with the device cdev. */
	if (bpf_core_field_exists(vdev->device) && BPF_CORE_READ(vdev, device.devt))
		device_put(BPF_CORE_READ(vdev, device.devt), &req, MDG_NODE_CDEV,
			   BPF_CORE_READ(vdev, index));
	return 0;
}

/*
 * Its numbers may be handed to the next device at once: they must not name this one, an mdev
 * or a vGPU function (whose entries the loader wrote).
 */
SEC("fentry/vfio_unregister_group_dev")
int BPF_PROG(mdg_unregister, struct vfio_device___mdg *vdev)
{
	struct mdg_req req = {};
	struct mdg_fnmatch m;

	if (mdev_identify(vdev, &req)) {
		if (!pci_function_of(vdev, &m))
			return 0;
		req.id = m.id;
	}
	if (bpf_core_field_exists(vdev->group))
		device_forget(BPF_CORE_READ(vdev, group, dev.devt), &req.id);
	if (bpf_core_field_exists(vdev->device))
		device_forget(BPF_CORE_READ(vdev, device.devt), &req.id);
	return 0;
}

/* ---- vGPU types as they are written -------------------------------------------------------- */

/*
 * A write to <function>/nvidia/current_vgpu_type: the function named by the grandparent
 * directory, as sysfs names a PCI device's directory. Every write to a sysfs or other kernfs
 * file passes kernfs_fop_write_iter (write, pwrite, writev, splice and io_uring alike), which
 * calls the attribute's store() in between: so its entry and its exit bracket the change.
 */
static __always_inline int vgpu_type_write(struct kiocb *iocb, struct mdg_dev_id *id)
{
	static const char file[] = "current_vgpu_type", dir[] = "nvidia";
	char buf[MDG_PCI_NAME_LEN] = {};
	struct dentry *d, *parent;
	const unsigned char *s;
	__u32 i;

	d = BPF_CORE_READ(iocb, ki_filp, f_path.dentry);
	if (!d || BPF_CORE_READ(d, d_name.len) != sizeof(file) - 1)
		return 0;
	s = BPF_CORE_READ(d, d_name.name);
	if (!s || bpf_probe_read_kernel_str(buf, sizeof(buf), s) != sizeof(file))
		return 0;
	for (i = 0; i < sizeof(file); i++) {
		if (buf[i] != file[i])
			return 0;
	}
	parent = BPF_CORE_READ(d, d_parent);
	s = BPF_CORE_READ(parent, d_name.name);
	if (!s || bpf_probe_read_kernel_str(buf, sizeof(buf), s) != sizeof(dir))
		return 0;
	for (i = 0; i < sizeof(dir); i++) {
		if (buf[i] != dir[i])
			return 0;
	}
	s = BPF_CORE_READ(parent, d_parent, d_name.name);
	__builtin_memset(buf, 0, sizeof(buf));
	if (!s || bpf_probe_read_kernel_str(buf, sizeof(buf), s) <= 0)
		return 0;
	return mdg_pci_parse(buf, id) == 0;
}

SEC("fentry/kernfs_fop_write_iter")
int BPF_PROG(mdg_type_write_begin, struct kiocb *iocb, struct iov_iter *iter)
{
	struct mdg_fn_writes zero = {}, *w;
	struct mdg_dev_id id;

	if (!vgpu_type_write(iocb, &id))
		return 0;
	bpf_map_update_elem(&mdg_fn_writes, &id, &zero, BPF_NOEXIST);
	w = bpf_map_lookup_elem(&mdg_fn_writes, &id);
	if (!w) {
		/* uncounted: no entry can be trusted from here on, each use asks the loader */
		fn_writes_lost = 1;
		return 0;
	}
	__sync_fetch_and_add(&w->started, 1);
	return 0;
}

/* The type may have changed: the loader reads it again (and until then it is not current). */
SEC("fexit/kernfs_fop_write_iter")
int BPF_PROG(mdg_type_write_end, struct kiocb *iocb, struct iov_iter *iter, long ret)
{
	struct mdg_fn_writes *w;
	struct mdg_dev_id id;

	if (!vgpu_type_write(iocb, &id))
		return 0;
	w = bpf_map_lookup_elem(&mdg_fn_writes, &id);
	if (w)
		__sync_fetch_and_add(&w->ended, 1);
	ask_loader(&rescan_asked, MDG_EV_UNKNOWN_TYPE);
	return 0;
}

/* ---- iterators the loader runs ------------------------------------------------------------ */

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
 * Adoption: run by a starting service over every open file and every mapping on the host,
 * before the decision hooks are attached. A device file, or a cdev that is bound, makes its
 * process a holder; so does a mapping of one, which outlives every fd the process had. Group
 * files are left alone: a management daemon keeps those it opened for others, and it never
 * used them.
 */
SEC("iter/task_file")
int mdg_adopt(struct bpf_iter__task_file *ctx)
{
	struct mdg_req req = {};

	if (adopt_file(ctx->task, ctx->file, 0, &req) == 2)
		BPF_SEQ_PRINTF(ctx->meta->seq, "%d %s\n", req.key.tgid, req.uuid);
	return 0;
}

SEC("iter/task_vma")
int mdg_adopt_maps(struct bpf_iter__task_vma *ctx)
{
	struct vm_area_struct *vma = ctx->vma;
	struct mdg_req req = {};

	if (vma && adopt_file(ctx->task, vma->vm_file, 1, &req) == 2)
		BPF_SEQ_PRINTF(ctx->meta->seq, "%d %s\n", req.key.tgid, req.uuid);
	return 0;
}

/*
 * The release pass, in four iterators run in this order by the loader after it has moved
 * cfg.pass_gen on. A holding ends when the pass finds no VFIO file of the device in any file
 * table of its process and no mapping of it in its memory, it began at least one whole pass
 * earlier (a receive installs the fd only after file_receive decided), and the process has no
 * io_uring (whose fixed files no iterator can see). A process that races the pass by moving
 * fds between slots can at worst lose a holding whose files it keeps: every use of them is then
 * decided again; a mapping is never decided again, and is read as it is.
 */
SEC("iter/task")
int mdg_pass_uring(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct mdg_holder_key key;
	struct mdg_holder *h;

	if (!task || !bpf_core_field_exists(task->io_uring) || !BPF_CORE_READ(task, io_uring))
		return 0;
	holder_key_of(task, &key);
	h = bpf_map_lookup_elem(&mdg_holders, &key);
	if (h)
		h->uring_gen = cfg.pass_gen;
	return 0;
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

SEC("iter/task_file")
int mdg_pass_files(struct bpf_iter__task_file *ctx)
{
	struct mdg_req req = {};

	pass_seen(ctx->task, ctx->file, &req);
	return 0;
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

/*
 * Mappings keep their holdings. A mapping of a device its process does not hold is adopted
 * here: a fork can race its parent's first mapping of a device (the inheritance is read
 * before the memory is copied), and that child must hold what it can reach.
 */
SEC("iter/task_vma")
int mdg_pass_maps(struct bpf_iter__task_vma *ctx)
{
	struct vm_area_struct *vma = ctx->vma;
	struct mdg_req req = {};

	if (ctx->meta->seq_num == 0)
		pass_maps_task = 0;	/* a new pass */
	if (!vma)
		return 0;
	pass_maps_read(ctx->task);
	if (pass_seen(ctx->task, vma->vm_file, &req))
		return 0;
	if (adopt_file(ctx->task, vma->vm_file, 1, &req) == 2)
		BPF_SEQ_PRINTF(ctx->meta->seq, "A %d %s\n", req.key.tgid, req.uuid);
	return 0;
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

SEC("iter/bpf_map_elem")
int mdg_pass_sweep(struct bpf_iter__bpf_map_elem *ctx)
{
	struct mdg_holder_key key;
	struct mdg_snapshot *gone;
	volatile struct mdg_sweep *c;
	struct mdg_holder *h;
	struct mdg_stats *st;
	__u64 gen = cfg.pass_gen;
	__u32 zero = 0, n, i, uring;
	void *k0 = ctx->key;

	if (!k0 || !ctx->value)
		return 0;
	gone = bpf_map_lookup_elem(&mdg_snapshot, &zero);
	c = bpf_map_lookup_elem(&mdg_sweep, &zero);
	if (!gone || !c)
		return 0;
	__builtin_memcpy(&key, k0, sizeof(key));
	h = bpf_map_lookup_elem(&mdg_holders, &key);
	if (!h)
		return 0;
	c->kept = c->gone = c->uncounted = 0;
	bpf_spin_lock(&h->lock);
	n = holder_valid(h, &key) ? h->nr_held : 0;
	uring = h->uring_gen == gen;
	/* Its mappings were read by this pass, and what they hold adopted: settled. */
	if (h->unsettled && h->maps_gen == gen)
		h->unsettled = 0;
	if (h->unsettled)
		c->uncounted = 1;	/* another pass soon */
	for (i = 0; i < MDG_MAX_HELD; i++) {
		if (i >= n)
			break;
		if (h->held[i].seen_gen == gen || h->held[i].acq_gen + 1 >= gen || uring) {
			if (h->held[i].uncounted)
				c->uncounted = 1;
			h->held[held_slot(c->kept)] = h->held[i];
			c->kept++;
		} else {
			gone->held[held_slot(c->gone)] = h->held[i].id;
			c->gone++;
		}
	}
	if (n)
		h->nr_held = c->kept;
	bpf_spin_unlock(&h->lock);
	st = stats_get();
	if (st)
		st->pass_released += c->gone;
	for (i = 0; i < MDG_MAX_HELD; i++) {
		if (i >= c->gone)
			break;
		BPF_SEQ_PRINTF(ctx->meta->seq, "%u %llx %llx\n", key.tgid, gone->held[i].hi,
			       gone->held[i].lo);
	}
	/* Holdings their files' count cannot end: the loader keeps passing while there are any. */
	if (c->uncounted)
		BPF_SEQ_PRINTF(ctx->meta->seq, "U\n");
	return 0;
}
