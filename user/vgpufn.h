/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vGPU functions from sysfs: PCI functions with a vendor's vGPU type (NVIDIA's vendor-specific
 * VFIO layout, <function>/nvidia/{current_vgpu_type,creatable_vgpu_types}) or named by an
 * operator's selector (vendor:device, an address, driver=NAME). Names and types in
 * include/mdevguard.h (enum mdg_fn_source), addresses in include/pciaddr.h.
 */
#ifndef MDG_VGPUFN_H
#define MDG_VGPUFN_H

#include <stdbool.h>
#include <stddef.h>

#include "mdevguard.h"
#include "pciaddr.h"
#include "sysfs.h"

/* The vendors' drivers whose functions carry their layout: selected before any scan. */
extern const char *const mdg_vgpu_drivers[];
extern const size_t mdg_nr_vgpu_drivers;

struct mdg_vgpu_name {
	unsigned long id;
	char name[128];
};

struct mdg_sysfs_fn {
	char addr[MDG_PCI_NAME_LEN];
	struct mdg_dev_id id;
	char driver[64];		/* bound driver, "" when none */
	unsigned int vendor, device;
	enum mdg_fn_source source;
	bool layout;			/* the vendor's files are there */
	unsigned long vtype;		/* the vendor's type id, 0 for none */
	char type[MDG_TYPE_LEN];	/* "nvidia-<id>" or "<vendor>:<device>"; "" for none */
	char name[128];			/* the vendor's name of the type, when known */
	bool current;			/* read while no type write was under way */
	__u64 seq;			/* fn_writes' "started" at that read */
};

/*
 * The kernel side's count of type writes to a function (struct mdg_fn_writes), 0s when it has
 * none; NULL reads 0s everywhere (no kernel side: list, check).
 */
typedef void (*mdg_fn_seq_fn)(void *ctx, const struct mdg_dev_id *id, __u64 *started,
			      __u64 *ended);

struct mdg_fn_opts {
	const struct mdg_selector *sel;	/* the operator's selectors */
	size_t nr_sel;
	mdg_fn_seq_fn seq;
	void *seq_ctx;
	const struct mdg_sysfs *prev;	/* the previous scan: names of types no function offers
					   now (a typed function offers none) */
};

/*
 * Scans <root>/bus/pci/devices into out->fns, and adds each function under the rule with a type
 * read while no write was under way to out->devs (function set, attr absent), sorted again.
 * Problems with one function are reported through warn with the path and skipped (a malformed
 * type: the function is left not current, so the kernel side fails closed on it).
 * Returns 0 or -ENOMEM. A missing bus/pci is no function.
 */
int mdg_fn_scan(const char *root, const struct mdg_fn_opts *o, struct mdg_sysfs *out,
		mdg_warn_fn warn, void *ctx);

/*
 * One selector: "VVVV:DDDD" or "VVVV:*" (hex IDs), a PCI address ("DDDD:BB:SS.F" or "BB:SS.F"),
 * or "driver=NAME". 0, or -EINVAL with one sentence in err.
 */
int mdg_selector_parse(const char *s, struct mdg_selector *sel, char *err, size_t errlen);
/* Whether sel names a function of these numbers, address and driver. */
bool mdg_selector_match(const struct mdg_selector *sel, const struct mdg_sysfs_fn *f);

#endif
