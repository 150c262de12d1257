/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What names a process in a decision event when /proc no longer can: a QEMU refused at its
 * first open exits at once, often before the loader reads the event. Read at the decision, in
 * the process's own context: the name of the systemd machine scope its cgroup is in (libvirt's
 * "machine-qemu\x2dID\x2dNAME.scope") and the start of its command line (libvirt's
 * "-name guest=NAME,..." comes right after the binary). Both are labels for the operator, never
 * inputs to the rule. Part of mdevguard.bpf.c.
 */
#ifndef MDG_NAMING_BPF_H
#define MDG_NAMING_BPF_H

/* 6.15 made kernfs_node's parent RCU-protected and renamed it __parent. */
struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	struct kernfs_node___old *old = (void *)kn;

	if (bpf_core_field_exists(old->parent))
		return BPF_CORE_READ(old, parent);
	return BPF_CORE_READ(kn, __parent);
}

/* "machine-" as the first eight bytes of a name, read as one little-endian word */
#define MDG_MACHINE_PREFIX	0x2d656e696863616dULL

/*
 * The nearest cgroup of the task's unified hierarchy (itself or an ancestor) whose name begins
 * "machine-": libvirt puts QEMU's threads in "libvirt/emulator" or "libvirt/vcpuN" below the
 * scope, and a user manager's scopes sit deeper than the system's; MDG_SCOPE_DEPTH levels
 * reach both. Left empty when there is none, or on cgroup v1 (dfl_cgrp is then the root).
 */
static __always_inline void event_scope(struct mdg_event *e)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct kernfs_node *kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);
	const char *name;
	__u64 head;
	int i;

	e->scope[0] = '\0';
	for (i = 0; i < MDG_SCOPE_DEPTH && kn; i++) {
		name = BPF_CORE_READ(kn, name);
		head = 0;
		if (name && !bpf_probe_read_kernel(&head, sizeof(head), name) &&
		    head == MDG_MACHINE_PREFIX) {
			if (bpf_probe_read_kernel_str(e->scope, sizeof(e->scope), name) < 0)
				e->scope[0] = '\0';
			return;
		}
		kn = kn_parent(kn);
	}
}

/*
 * The first MDG_ARGS_LEN bytes of the command line, NUL-separated as in /proc/PID/cmdline, and
 * their length. Read without faulting (the program may not sleep): the pages of argv were
 * written at exec and are resident unless swapped out, and then args_len is 0.
 */
static __always_inline void event_args(struct mdg_event *e)
{
	struct task_struct *task = bpf_get_current_task_btf();
	unsigned long start, end;
	__u64 n;

	e->args_len = 0;
	start = BPF_CORE_READ(task, mm, arg_start);
	end = BPF_CORE_READ(task, mm, arg_end);
	if (!start || end <= start)
		return;
	n = end - start;
	if (n > MDG_ARGS_LEN)
		n = MDG_ARGS_LEN;
	if (!bpf_probe_read_user(e->args, n, (const void *)start))
		e->args_len = n;
}

/*
 * Both, for report(). Global, so that the verifier walks its loop once, on its own, rather than
 * at every decision's report in every program (it took 6.1's file_open from 9.6k to 17.7k
 * instructions walked as a static function). A global function may take a pointer to a struct of
 * scalars: the event, reserved and non-NULL at every call.
 */
__noinline int mdg_event_names(struct mdg_event *e)
{
	if (!e)
		return 0;
	event_scope(e);
	event_args(e);
	return 0;
}

#endif /* MDG_NAMING_BPF_H */
