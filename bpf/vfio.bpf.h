/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VFIO's and the mdev core's structures, as far as mdevguard reads them, and how a file is
 * recognised as a VFIO file and traced back to its mdev. These types live in the vfio and mdev
 * modules, not in vmlinux.h: CO-RE relocates the ___mdg definitions below against the modules'
 * BTF, so both modules must be loaded when the object is (the loader checks).
 *
 * Read in the sources of Debian's 6.1 and 6.12 (drivers/vfio, include/linux/{vfio,mdev}.h):
 * - a group node's file has f_op == &vfio_group_fops and private_data = its struct vfio_group;
 *   an emulated-IOMMU group (every mdev's) holds exactly one device on group->device_list;
 * - VFIO_GROUP_GET_DEVICE_FD returns an anonymous "[vfio-device]" file with
 *   f_op == &vfio_device_fops. Its private_data is the struct vfio_device on 6.1 and a
 *   struct vfio_device_file on 6.2+ (device_cdev rework), whose ->device is the vfio_device;
 * - a device cdev /dev/vfio/devices/vfioX (6.6+, VFIO_DEVICE_CDEV) also gets vfio_device_fops
 *   and a struct vfio_device_file; it can be used once bound (df->access_granted);
 * - vfio_device->dev is the mdev's own struct device, embedded first in struct mdev_device,
 *   whose bus is the mdev bus, named "mdev"; physical (vfio-pci) devices sit on other buses;
 * - the mdev's uuid is a guid_t parsed by guid_parse() from the text written to "create", so
 *   its first three fields are little-endian; the type's sysfs name is its kobject's name.
 * - any other VFIO device of a PCI function (vfio-pci and its variant drivers, a vendor's own
 *   driver) has vfio_device->dev = &pci_dev->dev, on the bus named "pci", named by
 *   pci_setup_device() as include/pciaddr.h parses it.
 */
#ifndef MDG_VFIO_BPF_H
#define MDG_VFIO_BPF_H

#include "mdevguard.h"
#include "pciaddr.h"

#define S_IFMT	00170000
#define S_IFCHR	0020000

/* include/uapi/linux/vfio.h: _IO(VFIO_TYPE, VFIO_BASE + 6), ';' and 100. */
#define VFIO_GROUP_GET_DEVICE_FD	((';' << 8) | (100 + 6))

/* Both are static in 6.1's vfio.ko; libbpf finds them in kallsyms (CONFIG_KALLSYMS_ALL). */
extern const void vfio_group_fops __ksym;
extern const void vfio_device_fops __ksym;

struct vfio_group___mdg;

struct vfio_device___mdg {
	struct device *dev;
	struct vfio_group___mdg *group;
	struct list_head group_next;
	struct device device;		/* 6.1+: the vfio-dev class device, the cdev's number */
	unsigned int index;		/* X of /dev/vfio/devices/vfioX */
} __attribute__((preserve_access_index));

struct vfio_device_file___mdg {
	struct vfio_device___mdg *device;
	__u8 access_granted;
} __attribute__((preserve_access_index));

struct vfio_group___mdg {
	struct device dev;
	struct iommu_group *iommu_group;
	struct list_head device_list;
} __attribute__((preserve_access_index));

struct mdev_type___mdg {
	struct kobject kobj;
} __attribute__((preserve_access_index));

struct mdev_device___mdg {
	struct device dev;
	guid_t uuid;
	struct mdev_type___mdg *type;
} __attribute__((preserve_access_index));

/*
 * A decision's question: who (key, task), about which device (identity from the kernel or the
 * device map, flag from policy), through which file, and how (enum mdg_how, mdevguard.bpf.c).
 */
struct mdg_req {
	__u64 file;			/* the struct file at hand, a map key (and a scalar for the
					   verifier once read back from here) */
	__u64 task;			/* the deciding task, for a new holder record's comm */
	__u64 vdev;			/* the struct vfio_device, while it is identified */
	struct mdg_holder_key key;
	struct mdg_dev_id id;
	__u64 type_hash;
	__u32 rdev;			/* the node an event names */
	__u32 kind;			/* enum mdg_file_kind of the file at hand */
	__u32 hook;			/* enum mdg_hook */
	__u32 how;			/* enum mdg_how */
	__u8 restricted;
	__u8 reason;
	__u8 mapped;			/* the use is a mapping */
	__u8 compat;			/* the type's compatibility class (at most MDG_MAX_CLASSES): a
					   byte, as the pass chain's stack has no room for more */
	char type[MDG_TYPE_LEN];
	char uuid[40];
};

/* A VFIO file as the helpers below see it. */
struct mdg_vfile {
	int kind;			/* enum mdg_file_kind, or -1: not a VFIO file */
	void *priv;			/* file->private_data */
	__u32 rdev;			/* a cdev's own device number */
};

/*
 * Whether a file is VFIO's (a group node, a device fd or a device cdev): two compares of its
 * f_op, the whole filter of the hooks every read, write, mapping and ioctl on the host runs.
 */
static __always_inline int vfio_fops(const struct file *file)
{
	const void *op = file->f_op;

	return op == &vfio_group_fops || op == &vfio_device_fops;
}

/*
 * The kind of a file every hook on the host asks about first: two compares of its f_op, and the
 * inode only for VFIO's device files. Direct reads: file is a pointer the verifier trusts.
 */
static __always_inline int vfio_file_of(struct file *file, struct mdg_vfile *vf)
{
	const void *op = file->f_op;
	struct inode *inode;

	vf->kind = -1;
	if (op == &vfio_group_fops) {
		vf->kind = MDG_FILE_GROUP;
	} else if (op == &vfio_device_fops) {
		inode = file->f_inode;
		vf->kind = MDG_FILE_DEVICE;
		if (inode && (inode->i_mode & S_IFMT) == S_IFCHR) {
			vf->kind = MDG_FILE_CDEV;
			vf->rdev = inode->i_rdev;
		}
	} else {
		return -1;
	}
	vf->priv = file->private_data;
	return vf->kind;
}

static __always_inline struct vfio_device___mdg *vfio_device_of(const struct mdg_vfile *vf)
{
	struct vfio_device_file___mdg *df;
	struct vfio_group___mdg *group;
	struct list_head *first;

	if (!vf->priv)
		return NULL;
	if (vf->kind == MDG_FILE_GROUP) {
		group = vf->priv;
		first = BPF_CORE_READ(group, device_list.next);
		if (!first || first == &group->device_list)
			return NULL;
		return (void *)first - bpf_core_field_offset(struct vfio_device___mdg, group_next);
	}
	if (!bpf_core_type_exists(struct vfio_device_file___mdg))
		return vf->priv;
	df = vf->priv;
	return BPF_CORE_READ(df, device);
}

/* Whether a device file or cdev can be used already: always before 6.2, once bound after. */
static __always_inline int vfio_access_granted(const struct mdg_vfile *vf)
{
	struct vfio_device_file___mdg *df = vf->priv;

	if (!bpf_core_type_exists(struct vfio_device_file___mdg))
		return 1;
	return df && BPF_CORE_READ(df, access_granted);
}

/* The device number events name for a VFIO file: its group node's, or the cdev's own. */
static __always_inline __u32 vfio_rdev(const struct mdg_vfile *vf, struct vfio_device___mdg *vdev)
{
	if (vf->kind == MDG_FILE_CDEV)
		return vf->rdev;
	if (vf->kind == MDG_FILE_GROUP) {
		/* Not inside BPF_CORE_READ: vf is ours, it has no relocation to make. */
		struct vfio_group___mdg *group = vf->priv;

		return BPF_CORE_READ(group, dev.devt);
	}
	if (!bpf_core_field_exists(vdev->group))
		return 0;
	return BPF_CORE_READ(vdev, group, dev.devt);
}

/*
 * Fills req's identity if vdev is an mdev: 0, or -1 for any other VFIO device (a physical one,
 * which the rule never concerns).
 */
static __always_inline int mdev_identify(struct vfio_device___mdg *vdev, struct mdg_req *req)
{
	struct mdev_device___mdg *mdev;
	struct device *dev;
	const char *name;
	char bus[8] = {};
	__u8 g[16];

	dev = BPF_CORE_READ(vdev, dev);
	if (!dev)
		return -1;
	name = BPF_CORE_READ(dev, bus, name);
	if (!name || bpf_probe_read_kernel_str(bus, sizeof(bus), name) != 5 ||
	    bus[0] != 'm' || bus[1] != 'd' || bus[2] != 'e' || bus[3] != 'v')
		return -1;
	mdev = (void *)dev - bpf_core_field_offset(struct mdev_device___mdg, dev);
	if (bpf_core_read(g, sizeof(g), &mdev->uuid))
		return -1;
	/* guid_parse() order: the first three fields are little-endian, the rest as written. */
	req->id.hi = (__u64)g[3] << 56 | (__u64)g[2] << 48 | (__u64)g[1] << 40 |
		     (__u64)g[0] << 32 | (__u64)g[5] << 24 | (__u64)g[4] << 16 |
		     (__u64)g[7] << 8 | g[6];
	req->id.lo = (__u64)g[8] << 56 | (__u64)g[9] << 48 | (__u64)g[10] << 40 |
		     (__u64)g[11] << 32 | (__u64)g[12] << 24 | (__u64)g[13] << 16 |
		     (__u64)g[14] << 8 | g[15];
	name = BPF_CORE_READ(mdev, type, kobj.name);
	if (!name || bpf_probe_read_kernel_str(req->type, sizeof(req->type), name) <= 0)
		req->type[0] = '\0';
	req->type_hash = mdg_type_hash(req->type);
	return 0;
}

/* A PCI function as a selector sees it: its driver's name, address and numbers. */
struct mdg_fnmatch {
	__u64 driver[4];		/* the bound driver's name, NUL-padded; first the bus's
					   and the device's own name, read here on the way */
	struct mdg_dev_id id;
	__u32 vendor;
	__u32 device;
};

/*
 * The PCI function behind vdev, if it is one: its identity in m->id and its pci_dev, or NULL
 * (an mdev's vdev never gets here, nor anything on another bus). One buffer for every name
 * read: the decisions' stack is nearly full on 6.1.
 */
static __always_inline struct pci_dev *pci_function_of(struct vfio_device___mdg *vdev,
						       struct mdg_fnmatch *m)
{
	char *name = (char *)m->driver;
	struct device *dev;
	const char *s;

	dev = BPF_CORE_READ(vdev, dev);
	if (!dev)
		return NULL;
	s = BPF_CORE_READ(dev, bus, name);
	if (!s || bpf_probe_read_kernel_str(name, 8, s) != 4 || name[0] != 'p' ||
	    name[1] != 'c' || name[2] != 'i')
		return NULL;
	__builtin_memset(m->driver, 0, sizeof(m->driver));
	s = BPF_CORE_READ(dev, kobj.name);
	if (!s || bpf_probe_read_kernel_str(name, sizeof(m->driver), s) <= 0 ||
	    mdg_pci_parse(name, &m->id))
		return NULL;
	return (void *)dev - bpf_core_field_offset(struct pci_dev, dev);
}

#endif /* MDG_VFIO_BPF_H */
