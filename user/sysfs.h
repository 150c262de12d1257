/* SPDX-License-Identifier: GPL-2.0 */
/* Discovery of mdev devices, their types and VFIO nodes from sysfs (SPEC §2). */
#ifndef MDG_SYSFS_H
#define MDG_SYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "attr.h"
#include "mdevguard.h"

struct mdg_sysfs_dev {
	char uuid[MDG_UUID_LEN];
	char type[MDG_TYPE_LEN];	/* basename of the mdev_type link */
	char parent[256];		/* basename of the parent device, for list */
	enum mdg_attr attr;
	char attr_raw[32];		/* bytes seen when malformed, escaped for printing */
	bool has_group;			/* group node's number known (class/vfio/<group>/dev) */
	unsigned int group;		/* iommu group number: /dev/vfio/<group>; set whenever the
					   iommu_group link names one, even without the node */
	unsigned int group_major, group_minor;
	bool has_cdev;
	char cdev_name[32];		/* "vfio3": /dev/vfio/devices/vfio3 */
	unsigned int cdev_major, cdev_minor;
	bool function;			/* a vGPU function (vgpufn.h): uuid holds its PCI address,
					   parent its physical function or driver */
	char name[128];			/* the vendor's name of a function's type, may be empty */
};

struct mdg_sysfs_type {
	char type[MDG_TYPE_LEN];	/* type name, e.g. nvidia-63 */
	char parent[256];
	char name[128];			/* the type's "name" attribute, may be empty */
	enum mdg_attr attr;
	char attr_raw[32];
	int available;			/* available_instances, -1 when unreadable */
};

struct mdg_sysfs_fn;
struct mdg_vgpu_name;

struct mdg_sysfs {
	struct mdg_sysfs_dev *devs;	/* mdevs and the vGPU functions under the rule */
	size_t nr_devs;
	struct mdg_sysfs_type *types;
	size_t nr_types;
	struct mdg_sysfs_fn *fns;	/* every vGPU function seen, typed or not (vgpufn.h) */
	size_t nr_fns;
	struct mdg_vgpu_name *vnames;	/* the vendor's names of its type ids, seen so far */
	size_t nr_vnames;
};

/*
 * Scans <root>/bus/mdev/devices and <root>/class/mdev_bus/<parent>/mdev_supported_types.
 * Problems with one device (dangling or missing link, device removed mid-scan, malformed
 * attribute) are reported through warn() with the path and what was wrong, and the device is
 * kept if it can still be named (malformed attribute -> MDG_ATTR_MALFORMED) or skipped.
 * A missing bus directory is an empty result, not an error (no mdev module loaded).
 * Returns 0 or a negative errno for failures of the scan as a whole (out of memory, root not a
 * directory, a top directory that exists but cannot be listed), reported through warn() too.
 * Devices are sorted by UUID, types by (type, parent). warn may be NULL.
 */
typedef void (*mdg_warn_fn)(void *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int mdg_sysfs_scan(const char *root, struct mdg_sysfs *out, mdg_warn_fn warn, void *ctx);
void mdg_sysfs_free(struct mdg_sysfs *s);
const struct mdg_sysfs_dev *mdg_sysfs_find(const struct mdg_sysfs *s, const char *uuid);
/* The type named type of parent (class/mdev_bus/<parent>), or NULL. */
const struct mdg_sysfs_type *mdg_sysfs_find_type(const struct mdg_sysfs *s, const char *parent,
						 const char *type);

/* The group node and device cdev of the device whose sysfs directory is dir, into d. */
void mdg_sysfs_nodes(const char *root, const char *dir, struct mdg_sysfs_dev *d,
		     mdg_warn_fn warn, void *ctx);
/* Appends d to s->devs; 0 or -ENOMEM. Sorted again by mdg_sysfs_sort(). */
int mdg_sysfs_add_dev(struct mdg_sysfs *s, const struct mdg_sysfs_dev *d);
void mdg_sysfs_sort(struct mdg_sysfs *s);

#endif
