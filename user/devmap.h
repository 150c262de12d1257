/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel side's view of devices and policy, computed from a sysfs scan and the policy (a
 * pure step, unit-tested), then written into its maps changing only what differs.
 */
#ifndef MDG_DEVMAP_H
#define MDG_DEVMAP_H

#include <stddef.h>

#include "config.h"
#include "mdevguard.h"
#include "sysfs.h"

struct mdg_devmap_dev {
	__u32 rdev;
	struct mdg_device v;
};

struct mdg_devmap_type {
	__u64 hash;
	struct mdg_type v;
};

struct mdg_devmap_override {
	struct mdg_dev_id id;
	struct mdg_override v;
};

struct mdg_devmap_fn {
	struct mdg_dev_id id;
	struct mdg_function v;
};

struct mdg_devmap {
	struct mdg_devmap_dev *devs;		/* sorted by rdev */
	size_t nr_devs;
	struct mdg_devmap_type *types;		/* sorted by hash, no duplicates */
	size_t nr_types;
	struct mdg_devmap_override *overrides;
	size_t nr_overrides;
	struct mdg_devmap_fn *fns;		/* the functions read while current */
	size_t nr_fns;
	__u32 majors[MDG_MAX_MAJORS];		/* VFIO's, then those the nodes have */
	unsigned int majors_dropped;		/* majors that did not fit */
};

/*
 * Builds m from scan and policy, starting from majors (VFIO's own: vfio_majors()); 0 or
 * -ENOMEM. Every type sysfs offers and every type the policy names gets a type entry; every
 * device node a device entry; every --restrict-device/--allow-device an override.
 */
int mdg_devmap_build(const struct mdg_sysfs *scan, const struct mdg_policy *p,
		     const __u32 *majors, struct mdg_devmap *m);
void mdg_devmap_free(struct mdg_devmap *m);

/* VFIO's majors from a /proc/devices-format file: "vfio" and "vfio-dev". */
void mdg_vfio_majors(const char *proc_devices, __u32 *majors);

/*
 * Writes m into the four maps: entries that differ, then the removal of entries m does not
 * have. Returns 0, or the first -errno of a type or override that could not be written (one
 * error line each). Device nodes that do not fit are reported in one error line and do not
 * fail the write: an open of such a node is let through, but the use of the device through it
 * is decided from the kernel's own record of the device (SPEC §6), so the start goes on.
 * Functions that do not fit are said through warn (may be NULL) and do not fail it either: the
 * kernel side restricts a function it has no entry for.
 */
struct mdg_devmap_fds {
	int devices, types, overrides, functions;
};

int mdg_devmap_write(const struct mdg_devmap *m, const struct mdg_devmap_fds *fds,
		     mdg_warn_fn warn, void *ctx);

#endif
