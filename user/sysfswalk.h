/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of the sysfs scan share: its state, its warnings and the path, link and
 * attribute helpers (sysfs.c), and each part's entry (sysfsdev.c, sysfstype.c). Not for other
 * modules: they call sysfs.h. Declared without sysfs.h, which sysfs.c implements, so that the
 * modules' include graph keeps no circle (tests/unit/check_layers.sh).
 */
#ifndef MDG_SYSFSWALK_H
#define MDG_SYSFSWALK_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>

#include "attr.h"
#include "mdevguard.h"

#define ATTR_FILE	"single_usage_restriction"
#define ATTR_READ_MAX	64	/* far more than any valid content, enough to show what was seen */
#define RAW_LEN		32	/* sizeof(attr_raw) in both records */

/* A type directory by its real path, so that a device's attribute is read and reported once. */
struct type_ref {
	char *real;
	enum mdg_attr attr;
	char raw[RAW_LEN];
};

struct mdg_sysfs;
struct mdg_sysfs_dev;

struct scan {
	const char *root;
	void (*warn)(void *ctx, const char *fmt, ...);	/* mdg_warn_fn */
	void *ctx;
	struct mdg_sysfs *out;
	size_t devs_cap, types_cap;
	struct type_ref *refs;
	size_t nr_refs, refs_cap;
	size_t nr_sorted_refs;		/* refs[0..nr_sorted_refs) are sorted by real path */
};

#define LONG_NAME_RAW "<name over 63 chars>"
_Static_assert(MDG_TYPE_LEN == 64, "LONG_NAME_RAW names the limit");

/* sysfs.c */
void mdg_scan_say(const struct scan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int mdg_scan_path(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int mdg_scan_copy_name(char *dst, size_t size, const char *src);
bool mdg_scan_type_name(char dst[MDG_TYPE_LEN], const char *src);
void mdg_scan_parent_copy(char *dst, size_t size, const char *src, size_t len);
const char *mdg_scan_base_name(const char *path);
bool mdg_scan_gone(const char *path);
int mdg_scan_read_link(const char *path, char *buf, size_t size);
const char *mdg_scan_link_error(int err);
enum mdg_attr mdg_scan_read_attr(const struct scan *s, const char *path, char raw[RAW_LEN]);
void *mdg_scan_grow(void *v, size_t *cap, size_t n, size_t size);
int mdg_scan_add_ref(struct scan *s, const char *real, enum mdg_attr attr, const char *raw);
const struct type_ref *mdg_scan_find_ref(const struct scan *s, const char *real);
void mdg_scan_removed(const struct scan *s, const char *path);
DIR *mdg_scan_open_top(const struct scan *s, const char *path, int *err);

/* sysfsdev.c: bus/mdev/devices, and one device's group node and device cdev */
int mdg_scan_devices(struct scan *s);
void mdg_scan_group(const struct scan *s, const char *dev, struct mdg_sysfs_dev *d,
		    bool *enoent);
void mdg_scan_cdev(const struct scan *s, const char *dev, struct mdg_sysfs_dev *d, bool *enoent);

/* sysfstype.c: class/mdev_bus/<parent>/mdev_supported_types */
int mdg_scan_types(struct scan *s);

#endif
