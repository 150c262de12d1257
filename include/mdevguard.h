/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Records shared by the BPF side and user space. Everything a map holds is declared here with
 * fixed-size types so that bpftool can print it through BTF: UUIDs and type names are kept as
 * NUL-terminated strings next to the compact forms the hot path compares.
 */
#ifndef MDEVGUARD_H
#define MDEVGUARD_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#include <linux/bpf.h>
#endif

#define MDG_UUID_LEN	37	/* 36 characters and NUL */
#define MDG_TYPE_LEN	64
#define MDG_COMM_LEN	16
#define MDG_MAX_HELD	16	/* distinct devices one process can hold at once */
#define MDG_MAX_MAJORS	4	/* VFIO group and device cdev majors the open filter passes */
#define MDG_MAX_SELECTORS 8	/* PCI function selectors the kernel side matches at use */
/* Compatibility classes a policy may name, 1..MDG_MAX_CLASSES: a decision carries one in a byte. */
#define MDG_MAX_CLASSES 64
#define MDG_MAX_FILES	64	/* files of one device counted for one process; more are
				   covered by the release pass instead */
/* What names a process in an event once /proc cannot (bpf/naming.bpf.h): a machine scope's
   name (libvirt's escapes may quadruple a 64-byte domain name) and the start of argv. */
#define MDG_SCOPE_LEN	256
#define MDG_SCOPE_DEPTH	6	/* cgroup levels searched upward for it */
#define MDG_ARGS_LEN	256

/* Device numbers in the kernel's internal encoding, as inode->i_rdev holds them. */
#define MDG_MINORBITS	20
#define MDG_MKDEV(ma, mi)	(((__u32)(ma) << MDG_MINORBITS) | (__u32)(mi))
#define MDG_MAJOR(dev)		((__u32)(dev) >> MDG_MINORBITS)
#define MDG_MINOR(dev)		((__u32)(dev) & ((1U << MDG_MINORBITS) - 1))

/* Bumped whenever a map layout or a program's meaning changes. */
#define MDG_ABI_VERSION	7

enum mdg_mode {
	MDG_MODE_EXCLUSIVE = 0,
	MDG_MODE_PER_TYPE = 1,
};

/* Where a device's restricted flag came from; shown by status. */
enum mdg_reason {
	MDG_REASON_SYSFS_Y = 0,
	MDG_REASON_SYSFS_N,
	MDG_REASON_ABSENT,		/* attribute absent, configured default applied */
	MDG_REASON_MALFORMED,		/* attribute unreadable or odd bytes: fail closed */
	MDG_REASON_TYPE_OVERRIDE,	/* --restrict-type / --allow-type */
	MDG_REASON_DEVICE_OVERRIDE,	/* --restrict-device / --allow-device */
	MDG_REASON_UNKNOWN_TYPE,	/* type not scanned yet when the device was used: fail closed */
};


enum mdg_node {
	MDG_NODE_GROUP = 0,	/* /dev/vfio/<group> */
	MDG_NODE_CDEV = 1,	/* /dev/vfio/devices/vfio<X> */
};

/* An mdev device: its UUID as 16 bytes, in text order. */
struct mdg_dev_id {
	__u64 hi;
	__u64 lo;
};

/*
 * vGPU functions: PCI functions under the rule (include/pciaddr.h names them). A function is a
 * vGPU when its driver gives it a vendor vGPU type (NVIDIA's layout: a non-zero
 * nvidia/current_vgpu_type, the type "nvidia-<id>") or when an operator's selector matches it
 * (the type "<vendor>:<device>"). Every other VFIO device is physical and never decided.
 */
enum mdg_fn_source {
	MDG_FN_NONE = 0,		/* the vendor's layout, and no type now: not under the rule */
	MDG_FN_VENDOR,			/* the vendor's vGPU type */
	MDG_FN_SELECTOR,		/* an operator's selector */
};

enum mdg_sel_kind {
	MDG_SEL_NONE = 0,
	MDG_SEL_ID,			/* vendor:device */
	MDG_SEL_ADDR,			/* one PCI address */
	MDG_SEL_DRIVER,			/* the bound driver's name */
};

/*
 * What the kernel side matches, at the use, for a function the loader has not read since its
 * type last changed: a match is a vGPU of a type not known yet, restricted until the rescan it
 * asks for. The loader's own selectors, the vendors' drivers and every driver it saw with the
 * vendor's layout, come first.
 */
struct mdg_selector {
	__u32 kind;			/* enum mdg_sel_kind */
	__u16 vendor;
	__u16 device;			/* 0xffff: any device of the vendor */
	struct mdg_dev_id addr;
	char driver[32];		/* NUL-padded: compared as four words */
};

/* Map "functions": key is the function's struct mdg_dev_id. Written by the loader. */
struct mdg_function {
	__u64 type_hash;		/* 0: no vGPU type, not under the rule */
	__u64 seq;			/* its fn_writes "started" when the type was read: the entry
					   is current only while that count has not moved */
	char type[MDG_TYPE_LEN];
	__u8 source;			/* enum mdg_fn_source */
	__u8 pad[7];
};

/*
 * Map "fn_writes": key as above. Writes to the function's nvidia/current_vgpu_type, counted by
 * the kernel side as they begin and as they end: a type read while none is under way and
 * before the next begins is the type until then.
 */
struct mdg_fn_writes {
	__u64 started;
	__u64 ended;
};

/*
 * Map "devices": key is a node's device number (__u32, kernel encoding). What an open of that
 * node names; decisions at use identify the device from VFIO's own structures instead.
 */
struct mdg_device {
	struct mdg_dev_id id;
	__u64 type_hash;		/* mdg_type_hash(type) */
	char type[MDG_TYPE_LEN];	/* strings kept 8-byte aligned: BPF copies them */
	char uuid[MDG_UUID_LEN];
	__u8 restricted;		/* as the loader computed it, for display; decisions look
					   the flag up in "overrides" and "types" */
	__u8 reason;			/* enum mdg_reason */
	__u8 node;			/* enum mdg_node */
	__u32 node_index;		/* N of /dev/vfio/N, or X of /dev/vfio/devices/vfioX */
	__u32 rdev;			/* the key, again */
};

/* Map "types": key is mdg_type_hash(type name). The policy of each known mdev type. */
struct mdg_type {
	char type[MDG_TYPE_LEN];
	__u8 restricted;
	__u8 reason;			/* enum mdg_reason */
	__u8 pad[2];
	__u32 compat;			/* the compatibility class the policy puts it in, 1..255;
					   0 none */
};

/* Map "overrides": key is a struct mdg_dev_id. --restrict-device and --allow-device. */
struct mdg_override {
	char uuid[MDG_UUID_LEN];
	__u8 restricted;
	__u8 reason;			/* MDG_REASON_DEVICE_OVERRIDE */
	__u8 pad;
};

/*
 * One device a process holds. A holding begins when the process gets a file through which the
 * device can be used (SPEC §3) and ends when it has none left: at once when the last counted
 * file is freed and nothing uncounted remains, otherwise by a release pass that finds no file
 * of the device in any of the process's file tables.
 */
struct mdg_held {
	struct mdg_dev_id id;
	__u64 type_hash;
	__u64 epoch;			/* names this holding in file records: see struct mdg_file */
	__u64 acq_gen;			/* release pass generation when the holding began */
	__u64 seen_gen;			/* the last release pass that found a file of the device */
	char uuid[MDG_UUID_LEN];
	__u8 restricted;		/* as it was when the holding began */
	__u8 uncounted;			/* the process may have files of it not counted in files */
	__u8 mapped;			/* the process mapped a region of it (shown by status; release
					   passes look at the mappings themselves) */
	__u32 files;			/* files of the device counted for this process */
	__u32 compat;			/* its type's compatibility class when the holding began */
};

/*
 * Map "holders" is keyed by the thread group and its start time, so that a reused pid never
 * inherits an exited process's holdings. A record exists only for processes that hold, or
 * held, a device, and is removed when the thread group exits.
 */
struct mdg_holder_key {
	__u32 tgid;
	__u32 pad;
	__u64 start_time;		/* group leader's start_boottime, ns */
};

/* What a decision's pass over the held set found (include/policy.h). */
struct mdg_tally {
	__u32 found;
	__u32 holds_restricted;
	__u32 same_type;
	__u32 other_class;		/* a held device outside the request's class (or none) */
};

struct mdg_holder {
	struct bpf_spin_lock lock;
	__u32 nr_held;
	struct mdg_holder_key key;	/* the map key, checked under the lock: a record removed and
					   its memory reused for another process is recognised */
	__u64 uring_gen;		/* the last release pass that found io_uring in the process */
	__u64 maps_gen;			/* the last release pass that read its mappings */
	__u32 unsettled;		/* its memory was copied by a fork while another task could
					   map a device into it, and nothing has read it since: its
					   decisions fail closed until a release pass does */
	__u32 pad;
	__u32 last_rule;		/* the latest decision for this process (enum mdg_rule) */
	__u32 last_action;		/* enum mdg_action */
	__u32 last_hook;		/* enum mdg_hook */
	__u32 last_recorded;		/* whether it left the process holding the device */
	__u32 dead;			/* thread group gone; record being removed */
	struct mdg_tally tally;		/* the latest decision's, kept here for the verifier */
	char comm[MDG_COMM_LEN];
	struct mdg_held held[MDG_MAX_HELD];
};

/* What kind of VFIO file a file record or an event is about. */
enum mdg_file_kind {
	MDG_FILE_GROUP = 0,		/* /dev/vfio/<group> */
	MDG_FILE_DEVICE,		/* the [vfio-device] file of VFIO_GROUP_GET_DEVICE_FD */
	MDG_FILE_CDEV,			/* /dev/vfio/devices/vfio<X> */
};

/*
 * Map "files": key is the struct file address of a file through which a device was used. Its
 * owner is the process that first held the device through it; the file is counted in the
 * owner's holding of that epoch. Other processes that came to hold the device through the same
 * file are "uncounted" holders, released by the pass.
 */
struct mdg_file {
	struct mdg_holder_key owner;
	struct mdg_dev_id id;
	__u64 epoch;
	__u32 kind;			/* enum mdg_file_kind */
	__u32 shared;			/* another process holds the device through this file */
};

/* Which hook reported an event. */
enum mdg_hook {
	MDG_HOOK_OPEN = 0,		/* open of a node */
	MDG_HOOK_RECEIVE,		/* SCM_RIGHTS, pidfd_getfd, seccomp or io_uring fd install */
	MDG_HOOK_IOCTL,			/* VFIO_GROUP_GET_DEVICE_FD, or any ioctl on a device file */
	MDG_HOOK_IO,			/* read or write of a device file */
	MDG_HOOK_MMAP,			/* mmap of a device file */
	MDG_HOOK_BINDER,		/* a VFIO file passed over binder */
	MDG_HOOK_FORK,			/* a child inherits its parent's holdings */
	MDG_HOOK_MAX,
};

/* Rules, as reported in events: which clause of the policy decided. */
enum mdg_rule {
	MDG_RULE_NONE = 0,
	MDG_RULE_REOPEN,		/* allow: the process already holds this device */
	MDG_RULE_FIRST,			/* allow: the process holds no mdev */
	MDG_RULE_UNRESTRICTED,		/* allow (exclusive): nothing restricted involved */
	MDG_RULE_TYPE_FREE,		/* allow (per-type): no other restricted device of the type */
	MDG_RULE_RESTRICTED_DEVICE,	/* deny (exclusive): device restricted, another one held */
	MDG_RULE_HOLDS_RESTRICTED,	/* deny (exclusive): a restricted device is already held */
	MDG_RULE_SAME_TYPE,		/* deny (per-type): a restricted device of the type held */
	MDG_RULE_TOO_MANY,		/* deny: MDG_MAX_HELD distinct devices already held */
	MDG_RULE_NO_MEMORY,		/* deny: a map is full, fail closed */
	MDG_RULE_BINDER,		/* deny: VFIO files do not travel over binder */
	MDG_RULE_SHARED_MEMORY,		/* deny: the process runs in memory another process made
					   (CLONE_VM without CLONE_THREAD: vfork, posix_spawn) */
	MDG_RULE_UNSETTLED,		/* deny: a fork copied memory that could be changing, and its
					   mappings have not been read yet (mdg_holder.unsettled) */
	MDG_RULE_COMPATIBLE,		/* allow: every device held and asked for is of one
					   compatibility class */
	MDG_RULE_MAX,
};

enum mdg_action {
	MDG_ACT_ALLOW = 0,
	MDG_ACT_DENY,
	MDG_ACT_AUDIT,			/* audit mode: would have denied, allowed */
};

/* Runtime configuration, a global of the BPF object written by the loader. */
struct mdg_config {
	__u32 abi;			/* MDG_ABI_VERSION of the loader that wrote it */
	__u32 mode;			/* enum mdg_mode */
	__u32 audit;
	__u32 deny_errno;		/* positive errno returned on deny */
	__u32 log_allow;		/* report allows too */
	__u32 majors[MDG_MAX_MAJORS];	/* char majors of VFIO nodes; 0 = unused slot */
	__u32 ready;			/* device map filled by a loader */
	__u32 loader_pid;
	__u32 disabled;			/* set by unload before it unpins: decisions stop at once,
					   while the links go in their own time */
	__u64 loaded_at;		/* CLOCK_REALTIME seconds of the first load */
	__u64 pass_gen;			/* generation of the current release pass */
	__u64 epoch;			/* last holding epoch handed out */
	struct mdg_selector selectors[MDG_MAX_SELECTORS];
};

/* Map "stats": per-CPU counters. */
struct mdg_stats {
	__u64 opens_seen;		/* opens of known mdev nodes */
	__u64 allowed;			/* decisions that allowed, opens and new holdings */
	__u64 denied;
	__u64 audit_denied;
	__u64 errors;			/* map full, held table full: failed closed */
	__u64 lost_events;		/* ring buffer full */
	__u64 released;			/* holdings ended with their last file */
	__u64 acquired;			/* holdings that began */
	__u64 pass_released;		/* holdings ended by a release pass */
};

/* What a ring buffer record is. */
enum mdg_event_kind {
	MDG_EV_DECISION = 0,		/* a decision to report */
	MDG_EV_RECHECK,			/* a release pass is wanted soon */
	MDG_EV_UNKNOWN_TYPE,		/* a device of a type not in "types" was used: rescan */
};

/* Ring buffer record, one per reported decision. */
struct mdg_event {
	__u32 kind;			/* enum mdg_event_kind */
	__u32 compat;			/* the device's compatibility class, 0 for none */
	__u64 boot_ns;
	__u32 pid;
	__u32 tgid;
	__u32 uid;
	__u32 rdev;
	__u32 rule;			/* enum mdg_rule */
	__u32 action;			/* enum mdg_action */
	__u32 nr_held;
	__u32 hook;			/* enum mdg_hook */
	char comm[MDG_COMM_LEN];
	struct mdg_dev_id dev;
	char type[MDG_TYPE_LEN];
	struct mdg_dev_id held[MDG_MAX_HELD];
	/* what names the process once it is gone (bpf/naming.bpf.h), read at the decision */
	__u32 args_len;			/* bytes of args, 0 when unread */
	__u32 pad;
	char scope[MDG_SCOPE_LEN];	/* its systemd machine scope's name, "" for none */
	char args[MDG_ARGS_LEN];	/* the start of its command line, not terminated */
};

/*
 * The records above are pinned ABI, read by one build from maps another build made, and by
 * bpftool: their sizes are checked here, on both sides, and any change bumps MDG_ABI_VERSION.
 */
#define MDG_ABI_SIZE(type, size) \
	_Static_assert(sizeof(struct type) == (size), #type " changed: bump MDG_ABI_VERSION")
MDG_ABI_SIZE(mdg_dev_id, 16);
MDG_ABI_SIZE(mdg_device, 136);
MDG_ABI_SIZE(mdg_type, 72);
MDG_ABI_SIZE(mdg_override, 40);
MDG_ABI_SIZE(mdg_held, 96);
MDG_ABI_SIZE(mdg_holder_key, 16);
MDG_ABI_SIZE(mdg_tally, 16);
MDG_ABI_SIZE(mdg_holder, 1640);
MDG_ABI_SIZE(mdg_file, 48);
MDG_ABI_SIZE(mdg_config, 520);
MDG_ABI_SIZE(mdg_selector, 56);
MDG_ABI_SIZE(mdg_function, 88);
MDG_ABI_SIZE(mdg_fn_writes, 16);
MDG_ABI_SIZE(mdg_stats, 72);
MDG_ABI_SIZE(mdg_event, 920);
_Static_assert(__builtin_offsetof(struct mdg_holder, held) % 8 == 0, "held[] 8-byte aligned");
_Static_assert(__builtin_offsetof(struct mdg_config, loaded_at) == 48, "mdg_config layout");
_Static_assert(MDG_MAX_CLASSES <= 255, "a class must fit the byte mdg_req.compat carries");

/* FNV-1a, 64 bit: a stable name for a type across restarts. */
static inline __u64 mdg_type_hash(const char *s)
{
	__u64 h = 0xcbf29ce484222325ULL;
	int i;

	for (i = 0; i < MDG_TYPE_LEN && s[i]; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#endif /* MDEVGUARD_H */
