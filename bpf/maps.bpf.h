/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel side's state: the loader's configuration and the requests to it in .bss, the maps
 * (pinned ABI, include/mdevguard.h), and the small helpers every part uses (held[]'s index,
 * the LSM return value, the denial's errno, the statistics). Part of mdevguard.bpf.c, as is
 * every bpf/NAME.bpf.h but vfio.bpf.h: each is included there once.
 */
#ifndef MDG_MAPS_BPF_H
#define MDG_MAPS_BPF_H

#include "mdevguard.h"

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

/*
 * Decisions and the loader's requests. One process's denials can fill it, and then others'
 * records are lost (counted, and a lost request is asked again): 512 KiB holds about 560
 * decision records of 920 bytes (with the names of naming.bpf.h), as 256 KiB held 640 of 400.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 512 * 1024);
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

#endif /* MDG_MAPS_BPF_H */
