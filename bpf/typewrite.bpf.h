/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vGPU type writes: which write of kernfs_fop_write_iter is one to a function's
 * current_vgpu_type, for the counts in mdg_fn_writes. Part of mdevguard.bpf.c.
 */
#ifndef MDG_TYPEWRITE_BPF_H
#define MDG_TYPEWRITE_BPF_H

#include "pciaddr.h"
#include "maps.bpf.h"

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

#endif /* MDG_TYPEWRITE_BPF_H */
