// SPDX-License-Identifier: GPL-2.0
/*
 * The baselines of SPEC §7: programs that do nothing, on every hook mdevguard attaches to (the
 * "empty" arm of mdg-bench: the LSM hooks, the fork tracepoint, VFIO's register and unregister,
 * kernfs writes), and by fentry on VFIO's release functions, where a design that
 * trusted tracing programs could follow releases (the "empty-fentry" arm, with empty_file_open).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("lsm/file_open")
int BPF_PROG(empty_file_open, struct file *file, int ret)
{
	return 0;
}

SEC("lsm/file_free_security")
int BPF_PROG(empty_file_free, struct file *file)
{
	return 0;
}

SEC("lsm/file_receive")
int BPF_PROG(empty_file_receive, struct file *file, int ret)
{
	return 0;
}

SEC("lsm/file_ioctl")
int BPF_PROG(empty_file_ioctl, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	return 0;
}

SEC("lsm/file_permission")
int BPF_PROG(empty_file_permission, struct file *file, int mask, int ret)
{
	return 0;
}

SEC("lsm/mmap_file")
int BPF_PROG(empty_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	return 0;
}

SEC("lsm/binder_transfer_file")
int BPF_PROG(empty_binder_transfer, const struct cred *from, const struct cred *to,
	     const struct file *file, int ret)
{
	return 0;
}

SEC("fentry/vfio_group_fops_release")
int BPF_PROG(empty_group_release, struct inode *inode, struct file *file)
{
	return 0;
}

SEC("fentry/vfio_device_fops_release")
int BPF_PROG(empty_device_release, struct inode *inode, struct file *file)
{
	return 0;
}

SEC("lsm/task_alloc")
int BPF_PROG(empty_task_alloc, struct task_struct *task, unsigned long clone_flags, int ret)
{
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(empty_process_fork, struct task_struct *parent, struct task_struct *child)
{
	return 0;
}

SEC("lsm/bprm_committed_creds")
int BPF_PROG(empty_exec, struct linux_binprm *bprm)
{
	return 0;
}

SEC("lsm/task_free")
int BPF_PROG(empty_task_free, struct task_struct *task)
{
	return 0;
}

SEC("fexit/vfio_register_emulated_iommu_dev")
int BPF_PROG(empty_register, void *vdev, int ret)
{
	return 0;
}

SEC("fentry/vfio_unregister_group_dev")
int BPF_PROG(empty_unregister, void *vdev)
{
	return 0;
}

/* Every write to sysfs, cgroupfs and the other kernfs files on the host. */
SEC("fentry/kernfs_fop_write_iter")
int BPF_PROG(empty_type_write_begin, struct kiocb *iocb, struct iov_iter *iter)
{
	return 0;
}

SEC("fexit/kernfs_fop_write_iter")
int BPF_PROG(empty_type_write_end, struct kiocb *iocb, struct iov_iter *iter, long ret)
{
	return 0;
}
