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

char LICENSE[] SEC("license") = "GPL";

/*
 * The parts, bpf/NAME.bpf.h, each included once: below, those every section uses; the others at
 * the head of the section whose hooks they serve. Definitions keep the order they had in one
 * file, hooks between them: clang numbers functions in that order, and a global function moved
 * ahead of a hook (mdg_pending_has) renames the object's labels, though no instruction changes.
 */
#include "maps.bpf.h"
#include "records.bpf.h"
#include "identify.bpf.h"
#include "decide.bpf.h"

/* ---- LSM hooks ---------------------------------------------------------------------------- */

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
 * The hooks below run on every ioctl, read, write and mapping on the host: their bodies are the
 * f_op filter alone, and a VFIO file goes on out of line (checked against
 * tests/vm/hot-path-budget, as mdg_file_open's).
 */
static __noinline int ioctl_use(struct file *file, unsigned int cmd)
{
	return on_ioctl(file, cmd);
}

SEC("lsm/file_ioctl")
int BPF_PROG(mdg_file_ioctl, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	if (ret)
		return lsm_ret(ret);
	if (!vfio_fops(file))
		return 0;
	return ioctl_use(file, cmd);
}

/* 32-bit callers: a hook of its own since 6.8 and in 6.1.y; the loader loads it where it is. */
SEC("?lsm/file_ioctl_compat")
int BPF_PROG(mdg_file_ioctl_compat, struct file *file, unsigned int cmd, unsigned long arg,
	     int ret)
{
	if (ret)
		return lsm_ret(ret);
	if (!vfio_fops(file))
		return 0;
	return ioctl_use(file, cmd);
}

/* A device file or cdev read or written (mapped 0), or mapped (mapped 1). */
static __noinline int io_use(struct file *file, int mapped)
{
	struct mdg_vfile vf = {};
	int kind;

	kind = vfio_file_of(file, &vf);
	if (kind != MDG_FILE_DEVICE && kind != MDG_FILE_CDEV)
		return 0;
	if (mapped)
		return use(file, &vf, MDG_HOOK_MMAP, 1);
	return use(file, &vf, MDG_HOOK_IO, 0);
}

/* read, write, their vector and io_uring forms, splice and copy_file_range of a device file. */
SEC("lsm/file_permission")
int BPF_PROG(mdg_file_permission, struct file *file, int mask, int ret)
{
	if (ret)
		return lsm_ret(ret);
	if (!vfio_fops(file))
		return 0;
	return io_use(file, 0);
}

/* A mapping keeps a region usable after every fd is gone: the holding stays with it. */
SEC("lsm/mmap_file")
int BPF_PROG(mdg_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	if (ret)
		return lsm_ret(ret);
	if (!file || !vfio_fops(file))
		return 0;
	return io_use(file, 1);
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

#include "release.bpf.h"

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

#include "fork.bpf.h"

SEC("lsm/task_alloc")
int BPF_PROG(mdg_task_alloc, struct task_struct *task, unsigned long clone_flags, int ret)
{
	if (ret)
		return lsm_ret(ret);
	if (vmshare_mark(task, clone_flags))
		return -ENOMEM;
	return fork_pending(task, clone_flags) ? -ENOMEM : 0;
}

#include "settle.bpf.h"

/*
 * The child's inheritance into the holders map before it runs, so that it shows as a holder
 * from its first instant, settled when the fork raced a mapping (fork_settle). The kernel may
 * skip this program; then the child's first decision takes the inheritance (mdg_inherit), and
 * nothing is lost: an unsettled child's decisions fail closed until a release pass has read its
 * mappings. A move that fails (6.1's allocator runs dry in a burst of thousands of forks) leaves
 * it pending, and is not counted as an error: the child's first decision tries again, and only
 * if that fails too does a decision fail closed (counted there).
 */
static __noinline int fork_inherit(struct task_struct *child, struct mdg_pending *pend)
{
	if (pend->unsettled)
		fork_settle(pend);
	inherit_of(child);
	return 0;
}

/* Every fork on the host: a compare, and the child's inheritance looked up (absent: one load). */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(mdg_process_fork, struct task_struct *parent, struct task_struct *child)
{
	struct mdg_pending *pend;

	/* a thread: direct loads, the arguments are pointers the verifier trusts */
	if (child->tgid == parent->tgid)
		return 0;
	pend = bpf_task_storage_get(&mdg_pending, child, 0, 0);
	if (!pend)
		return 0;
	return fork_inherit(child, pend);
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
static __noinline int holder_gone(struct task_struct *task)
{
	struct mdg_holder_key key;
	struct mdg_holder *h;

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

/* A thread that does not lead its group: one load and a compare, the lookup out of line. */
SEC("lsm/task_free")
int BPF_PROG(mdg_task_free, struct task_struct *task)
{
	if (task->group_leader != task)
		return 0;
	return holder_gone(task);
}

/* ---- the device map at the kernel's pace -------------------------------------------------- */

#include "devmap.bpf.h"

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

#include "typewrite.bpf.h"

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

#include "iter.bpf.h"

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

SEC("iter/task_file")
int mdg_pass_files(struct bpf_iter__task_file *ctx)
{
	struct mdg_req req = {};

	pass_seen(ctx->task, ctx->file, &req);
	return 0;
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
