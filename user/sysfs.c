// SPDX-License-Identifier: GPL-2.0
/*
 * Discovery of mdev devices, their types and VFIO nodes from sysfs (SPEC §2).
 *
 * The tree is read as the kernel lays it out:
 *
 *   ROOT/bus/mdev/devices/<uuid>             -> the device directory, under its parent
 *   <dev>/mdev_type                          -> ../mdev_supported_types/<type>
 *   <dev>/iommu_group                        -> .../kernel/iommu_groups/<N>
 *   <dev>/vfio-dev/vfio<X>/dev               "MAJ:MIN\n" of /dev/vfio/devices/vfio<X>
 *   ROOT/class/vfio/<N>/dev                  "MAJ:MIN\n" of /dev/vfio/<N>
 *   ROOT/class/mdev_bus/<parent>/mdev_supported_types/<type>/{name,available_instances,
 *                                                             single_usage_restriction}
 *
 * Devices come and go while we look: ENOENT met after a device was listed means it was removed
 * and it is dropped with a note; every other oddity is a warning naming the path.
 *
 * Here the scan as a whole and what its parts share (sysfswalk.h); the devices in sysfsdev.c,
 * the types in sysfstype.c.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attr.h"
#include "sysfs.h"
#include "sysfswalk.h"
#include "uuid.h"

_Static_assert(sizeof(((struct mdg_sysfs_dev *)0)->attr_raw) == RAW_LEN, "attr_raw size");
_Static_assert(sizeof(((struct mdg_sysfs_type *)0)->attr_raw) == RAW_LEN, "attr_raw size");


void mdg_scan_say(const struct scan *s, const char *fmt, ...)
{
	char msg[2 * PATH_MAX];
	va_list ap;

	if (!s->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->warn(s->ctx, "%s", msg);
}


int mdg_scan_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* Copies a string that must fit; -ENAMETOOLONG (and nothing copied) when it does not. */
int mdg_scan_copy_name(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(dst, src, len + 1);
	return 0;
}

/*
 * A type's name as the kernel side sees it: the first MDG_TYPE_LEN - 1 characters (it reads the
 * kobject's name into a buffer of that size). Returns whether the name was longer: such a type
 * may share its visible name with another, so it is taken as malformed, hence restricted.
 */
bool mdg_scan_type_name(char dst[MDG_TYPE_LEN], const char *src)
{
	size_t len = strnlen(src, MDG_TYPE_LEN);

	if (len == MDG_TYPE_LEN)
		len = MDG_TYPE_LEN - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return src[len] != '\0';
}

/* A parent's name is only shown: a longer one is cut, with "..." saying so. */
void mdg_scan_parent_copy(char *dst, size_t size, const char *src, size_t len)
{
	if (len < size) {
		memcpy(dst, src, len);
		dst[len] = '\0';
		return;
	}
	snprintf(dst, size, "%.*s...", (int)(size - 4), src);
}

const char *mdg_scan_base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* True when path no longer exists: the device or type went away while we looked. */
bool mdg_scan_gone(const char *path)
{
	struct stat st;

	return stat(path, &st) && errno == ENOENT;
}

/* readlink() into a NUL-terminated buffer; negative errno on failure or truncation. */
int mdg_scan_read_link(const char *path, char *buf, size_t size)
{
	ssize_t n = readlink(path, buf, size);

	if (n < 0)
		return -errno;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

const char *mdg_scan_link_error(int err)
{
	return err == -EINVAL ? "not a symbolic link" : strerror(-err);
}

/* Reads and judges a single_usage_restriction file, warning about anything odd. */
enum mdg_attr mdg_scan_read_attr(const struct scan *s, const char *path, char raw[RAW_LEN])
{
	char buf[ATTR_READ_MAX], seen[ATTR_READ_MAX * 4 + 4];
	enum mdg_attr a;
	ssize_t len;

	raw[0] = '\0';
	len = mdg_read_small(path, buf, sizeof(buf));
	if (len == -ENOENT)
		return MDG_ATTR_ABSENT;
	if (len < 0) {
		const char *name = strerrorname_np((int)-len);

		snprintf(raw, RAW_LEN, "<%s>", name ? name : "read error");
		mdg_scan_say(s, "%s: cannot read: %s: malformed, restricted unless overridden",
			     path, strerror((int)-len));
		return MDG_ATTR_MALFORMED;
	}
	a = mdg_attr_parse(buf, (size_t)len);
	if (a != MDG_ATTR_MALFORMED)
		return a;
	/* The record keeps what fits; the warning shows everything that was read. */
	mdg_escape_bytes(raw, RAW_LEN, buf, (size_t)len, (size_t)len == sizeof(buf));
	mdg_escape_bytes(seen, sizeof(seen), buf, (size_t)len, (size_t)len == sizeof(buf));
	mdg_scan_say(s, "%s: \"%s\" is not Y or N: malformed, restricted unless overridden", path,
		     seen);
	return MDG_ATTR_MALFORMED;
}

/* v, grown geometrically to hold n + 1 elements; NULL when out of memory (v left as it was). */
void *mdg_scan_grow(void *v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;

	if (n < *cap)
		return v;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / size)
		return NULL;
	v = realloc(v, ncap * size);
	if (v)
		*cap = ncap;
	return v;
}

int mdg_scan_add_ref(struct scan *s, const char *real, enum mdg_attr attr, const char *raw)
{
	struct type_ref *r;

	r = mdg_scan_grow(s->refs, &s->refs_cap, s->nr_refs, sizeof(*s->refs));
	if (!r)
		return -ENOMEM;
	s->refs = r;
	r += s->nr_refs;
	r->real = strdup(real);
	if (!r->real)
		return -ENOMEM;
	r->attr = attr;
	snprintf(r->raw, sizeof(r->raw), "%s", raw);
	s->nr_refs++;
	return 0;
}

static int cmp_ref(const void *a, const void *b)
{
	return strcmp(((const struct type_ref *)a)->real, ((const struct type_ref *)b)->real);
}

const struct type_ref *mdg_scan_find_ref(const struct scan *s, const char *real)
{
	struct type_ref key = { .real = (char *)real };
	const struct type_ref *r;
	size_t i;

	if (s->nr_sorted_refs) {
		r = bsearch(&key, s->refs, s->nr_sorted_refs, sizeof(*s->refs), cmp_ref);
		if (r)
			return r;
	}
	for (i = s->nr_sorted_refs; i < s->nr_refs; i++) {
		if (!strcmp(s->refs[i].real, real))
			return &s->refs[i];
	}
	return NULL;
}

void mdg_scan_removed(const struct scan *s, const char *path)
{
	mdg_scan_say(s, "note: %s: removed during the scan, skipped", path);
}

/* A top directory; NULL without error when it does not exist (the module is not loaded). */
DIR *mdg_scan_open_top(const struct scan *s, const char *path, int *err)
{
	DIR *dp = opendir(path);

	*err = 0;
	if (dp || errno == ENOENT)
		return dp;
	*err = -errno;
	mdg_scan_say(s, "%s: cannot list: %s", path, strerror(errno));
	return NULL;
}

static int cmp_dev(const void *a, const void *b)
{
	return strcmp(((const struct mdg_sysfs_dev *)a)->uuid,
		      ((const struct mdg_sysfs_dev *)b)->uuid);
}

static int cmp_type(const void *a, const void *b)
{
	const struct mdg_sysfs_type *x = a, *y = b;
	int c = strcmp(x->type, y->type);

	return c ? c : strcmp(x->parent, y->parent);
}

/* Sorted by UUID; the same UUID twice (names differing in case only) is kept once. */
static void sort_devices(const struct scan *s)
{
	struct mdg_sysfs *o = s->out;
	size_t i, n = 0;

	if (!o->nr_devs)
		return;
	qsort(o->devs, o->nr_devs, sizeof(*o->devs), cmp_dev);
	for (i = 1; i < o->nr_devs; i++) {
		if (!strcmp(o->devs[i].uuid, o->devs[n].uuid)) {
			mdg_scan_say(s, "%s/bus/mdev/devices: device %s listed twice, kept once",
				     s->root, o->devs[i].uuid);
			continue;
		}
		o->devs[++n] = o->devs[i];
	}
	o->nr_devs = n + 1;
}

static void free_refs(struct scan *s)
{
	size_t i;

	for (i = 0; i < s->nr_refs; i++)
		free(s->refs[i].real);
	free(s->refs);
	s->refs = NULL;
	s->nr_refs = 0;
}

int mdg_sysfs_scan(const char *root, struct mdg_sysfs *out, mdg_warn_fn warn, void *ctx)
{
	struct scan s = { .root = root, .warn = warn, .ctx = ctx, .out = out };
	struct stat st;
	int ret;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!root || !*root)
		return -EINVAL;
	if (stat(root, &st)) {
		ret = -errno;
		mdg_scan_say(&s, "%s: %s", root, strerror(errno));
		return ret;
	}
	if (!S_ISDIR(st.st_mode)) {
		mdg_scan_say(&s, "%s: not a directory", root);
		return -ENOTDIR;
	}

	ret = mdg_scan_types(&s);
	if (!ret) {
		if (s.nr_refs)
			qsort(s.refs, s.nr_refs, sizeof(*s.refs), cmp_ref);
		s.nr_sorted_refs = s.nr_refs;
		ret = mdg_scan_devices(&s);
	}
	free_refs(&s);
	if (ret) {
		mdg_sysfs_free(out);
		return ret;
	}
	sort_devices(&s);
	if (out->nr_types)
		qsort(out->types, out->nr_types, sizeof(*out->types), cmp_type);
	return 0;
}

void mdg_sysfs_nodes(const char *root, const char *dir, struct mdg_sysfs_dev *d,
		     mdg_warn_fn warn, void *ctx)
{
	struct scan s = { .root = root, .warn = warn, .ctx = ctx };
	bool enoent = false;

	mdg_scan_group(&s, dir, d, &enoent);
	mdg_scan_cdev(&s, dir, d, &enoent);
}

int mdg_sysfs_add_dev(struct mdg_sysfs *s, const struct mdg_sysfs_dev *d)
{
	struct mdg_sysfs_dev *devs = realloc(s->devs, (s->nr_devs + 1) * sizeof(*devs));

	if (!devs)
		return -ENOMEM;
	s->devs = devs;
	devs[s->nr_devs++] = *d;
	return 0;
}

void mdg_sysfs_sort(struct mdg_sysfs *s)
{
	if (s->nr_devs)
		qsort(s->devs, s->nr_devs, sizeof(*s->devs), cmp_dev);
}

void mdg_sysfs_free(struct mdg_sysfs *s)
{
	if (!s)
		return;
	free(s->devs);
	free(s->types);
	free(s->fns);
	free(s->vnames);
	memset(s, 0, sizeof(*s));
}

const struct mdg_sysfs_dev *mdg_sysfs_find(const struct mdg_sysfs *s, const char *uuid)
{
	struct mdg_sysfs_dev key = { 0 };
	struct mdg_dev_id id;

	if (!s || !s->nr_devs || mdg_devid_parse(uuid, &id))
		return NULL;
	mdg_uuid_format(&id, key.uuid);
	return bsearch(&key, s->devs, s->nr_devs, sizeof(*s->devs), cmp_dev);
}

const struct mdg_sysfs_type *mdg_sysfs_find_type(const struct mdg_sysfs *s, const char *parent,
						 const char *type)
{
	struct mdg_sysfs_type key = { 0 };

	if (!s || !s->nr_types || !parent || !type || strlen(type) >= sizeof(key.type) ||
	    strlen(parent) >= sizeof(key.parent))
		return NULL;
	memcpy(key.type, type, strlen(type) + 1);
	memcpy(key.parent, parent, strlen(parent) + 1);
	return bsearch(&key, s->types, s->nr_types, sizeof(*s->types), cmp_type);
}
