// SPDX-License-Identifier: GPL-2.0
/*
 * The devices' part of the sysfs scan (sysfs.c): ROOT/bus/mdev/devices/<uuid>, each device's
 * type link and its type's attribute (read once per type), its group node and device cdev.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "sysfs.h"
#include "sysfswalk.h"
#include "uuid.h"

/* The attribute of the type directory a device's mdev_type resolves to, read once per type. */
static int type_attr(struct scan *s, const char *type_real, struct mdg_sysfs_dev *d)
{
	const struct type_ref *r = mdg_scan_find_ref(s, type_real);
	char path[PATH_MAX];

	if (!r) {
		if (mdg_scan_path(path, sizeof(path), "%s/" ATTR_FILE, type_real)) {
			d->attr = MDG_ATTR_MALFORMED;
			snprintf(d->attr_raw, sizeof(d->attr_raw), "<ENAMETOOLONG>");
			return 0;
		}
		d->attr = mdg_scan_read_attr(s, path, d->attr_raw);
		return mdg_scan_add_ref(s, type_real, d->attr, d->attr_raw);
	}
	d->attr = r->attr;
	snprintf(d->attr_raw, sizeof(d->attr_raw), "%s", r->raw);
	return 0;
}

/*
 * A dev attribute: 1 with the numbers, 0 when absent (ENOENT), negative errno when it cannot be
 * used; *enoent records an ENOENT for the removed-mid-scan check.
 */
static int read_devnum(const struct scan *s, const char *path, unsigned int *maj,
		       unsigned int *min, bool *enoent)
{
	char buf[32] = { 0 }, raw[RAW_LEN];
	ssize_t len;

	len = mdg_read_small(path, buf, sizeof(buf));
	if (len == -ENOENT) {
		*enoent = true;
		return 0;
	}
	if (len < 0) {
		mdg_scan_say(s, "%s: cannot read: %s; node ignored", path, strerror((int)-len));
		return (int)len;
	}
	if (mdg_devnum_parse(buf, (size_t)len, maj, min)) {
		mdg_escape_bytes(raw, sizeof(raw), buf, (size_t)len, (size_t)len == sizeof(buf));
		mdg_scan_say(s, "%s: \"%s\" is not a device number (MAJ:MIN); node ignored", path,
			     raw);
		return -EINVAL;
	}
	return 1;
}

void mdg_scan_group(const struct scan *s, const char *dev, struct mdg_sysfs_dev *d, bool *enoent)
{
	char path[PATH_MAX], link[PATH_MAX];
	const char *name;
	int ret;

	if (mdg_scan_path(path, sizeof(path), "%s/iommu_group", dev))
		return;
	ret = mdg_scan_read_link(path, link, sizeof(link));
	if (ret == -ENOENT) {
		*enoent = true;
		return;
	}
	if (ret) {
		mdg_scan_say(s, "%s: %s; no group node", path, mdg_scan_link_error(ret));
		return;
	}
	name = mdg_scan_base_name(link);
	if (mdg_parse_uint(name, strlen(name), UINT_MAX, &d->group)) {
		mdg_scan_say(s, "%s: link to \"%s\" does not name a group number; no group node",
			     path, link);
		return;
	}
	if (mdg_scan_path(path, sizeof(path), "%s/class/vfio/%u/dev", s->root, d->group))
		return;
	ret = read_devnum(s, path, &d->group_major, &d->group_minor, enoent);
	d->has_group = ret > 0;
}

static bool is_vfio_name(const char *name)
{
	unsigned int x;

	return !strncmp(name, "vfio", 4) &&
	       !mdg_parse_uint(name + 4, strlen(name + 4), UINT_MAX, &x);
}

void mdg_scan_cdev(const struct scan *s, const char *dev, struct mdg_sysfs_dev *d, bool *enoent)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *e;
	DIR *dp;

	if (mdg_scan_path(dir, sizeof(dir), "%s/vfio-dev", dev))
		return;
	dp = opendir(dir);
	if (!dp) {
		if (errno == ENOENT)
			*enoent = true;
		else
			mdg_scan_say(s, "%s: cannot list: %s; no device cdev", dir,
				     strerror(errno));
		return;
	}
	while ((e = readdir(dp))) {
		if (!is_vfio_name(e->d_name) || strlen(e->d_name) >= sizeof(d->cdev_name))
			continue;
		if (mdg_scan_path(path, sizeof(path), "%s/%s/dev", dir, e->d_name))
			continue;
		if (read_devnum(s, path, &d->cdev_major, &d->cdev_minor, enoent) <= 0)
			continue;
		/* the length is checked above */
		mdg_scan_copy_name(d->cdev_name, sizeof(d->cdev_name), e->d_name);
		d->has_cdev = true;
		break;
	}
	closedir(dp);
}

/* Parent device name: the directory holding the device's real directory. */
static void parent_name(const char *real, char *out, size_t size)
{
	const char *end = strrchr(real, '/'), *start;

	out[0] = '\0';
	if (!end || end == real)
		return;
	start = end - 1;
	while (start > real && *start != '/')
		start--;
	if (*start == '/')
		start++;
	mdg_scan_parent_copy(out, size, start, (size_t)(end - start));
}

/* Fills d from the device's type link; 0 and a filled d, 1 when skipped, negative on ENOMEM. */
static int scan_type_link(struct scan *s, const char *dev, struct mdg_sysfs_dev *d)
{
	char path[PATH_MAX], link[PATH_MAX], real[PATH_MAX];
	bool long_name;
	int ret;

	if (mdg_scan_path(path, sizeof(path), "%s/mdev_type", dev))
		return 1;
	ret = mdg_scan_read_link(path, link, sizeof(link));
	if (ret == -ENOENT && mdg_scan_gone(dev)) {
		mdg_scan_removed(s, dev);
		return 1;
	}
	if (ret) {
		mdg_scan_say(s, "%s: %s; device skipped", path,
		    ret == -ENOENT ? "no mdev_type link" : mdg_scan_link_error(ret));
		return 1;
	}
	if (!*mdg_scan_base_name(link)) {
		mdg_scan_say(s, "%s: link to \"%s\" names no type; device skipped", path, link);
		return 1;
	}
	long_name = mdg_scan_type_name(d->type, mdg_scan_base_name(link));
	if (!realpath(path, real)) {
		ret = errno;
		if (ret == ENOENT && mdg_scan_gone(dev))
			mdg_scan_removed(s, dev);
		else if (ret == ENOENT)
			mdg_scan_say(s, "%s: dangling link to \"%s\"; device skipped", path, link);
		else
			mdg_scan_say(s, "%s: cannot resolve link to \"%s\": %s; device skipped",
				     path, link, strerror(ret));
		return 1;
	}
	ret = type_attr(s, real, d);
	if (ret < 0)
		return ret;
	if (long_name) {
		mdg_scan_say(s, "%s: type name over %d characters, restricted whatever it says",
			     path, MDG_TYPE_LEN - 1);
		d->attr = MDG_ATTR_MALFORMED;
		snprintf(d->attr_raw, sizeof(d->attr_raw), LONG_NAME_RAW);
	}
	return 0;
}

/* One entry of bus/mdev/devices; 0 whether kept or skipped, negative errno on ENOMEM. */
static int scan_device(struct scan *s, const char *bus, const char *name)
{
	char dev[PATH_MAX], real[PATH_MAX];
	struct mdg_sysfs_dev d, *devs;
	struct mdg_dev_id id;
	bool enoent = false;
	int ret;

	memset(&d, 0, sizeof(d));
	if (mdg_uuid_parse(name, &id)) {
		mdg_scan_say(s, "%s/%s: name is not a UUID, skipped", bus, name);
		return 0;
	}
	mdg_uuid_format(&id, d.uuid);
	if (mdg_scan_path(dev, sizeof(dev), "%s/%s", bus, name)) {
		mdg_scan_say(s, "%s/%s: path too long, skipped", bus, name);
		return 0;
	}
	if (!realpath(dev, real)) {
		if (errno == ENOENT)
			mdg_scan_removed(s, dev);
		else
			mdg_scan_say(s, "%s: cannot resolve: %s; device skipped", dev,
				     strerror(errno));
		return 0;
	}
	parent_name(real, d.parent, sizeof(d.parent));
	ret = scan_type_link(s, dev, &d);
	if (ret)
		return ret < 0 ? ret : 0;
	mdg_scan_group(s, dev, &d, &enoent);
	mdg_scan_cdev(s, dev, &d, &enoent);
	if (enoent && mdg_scan_gone(dev)) {
		mdg_scan_removed(s, dev);
		return 0;
	}

	devs = mdg_scan_grow(s->out->devs, &s->devs_cap, s->out->nr_devs, sizeof(d));
	if (!devs)
		return -ENOMEM;
	s->out->devs = devs;
	devs[s->out->nr_devs++] = d;
	return 0;
}

int mdg_scan_devices(struct scan *s)
{
	char bus[PATH_MAX];
	struct dirent *e;
	DIR *dp;
	int ret;

	if (mdg_scan_path(bus, sizeof(bus), "%s/bus/mdev/devices", s->root)) {
		mdg_scan_say(s, "%s/bus/mdev/devices: path too long", s->root);
		return -ENAMETOOLONG;
	}
	dp = mdg_scan_open_top(s, bus, &ret);
	if (!dp)
		return ret;
	for (errno = 0; (e = readdir(dp)); errno = 0) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		ret = scan_device(s, bus, e->d_name);
		if (ret)
			goto out;
	}
	if (errno) {
		ret = -errno;
		mdg_scan_say(s, "%s: cannot list: %s", bus, strerror(errno));
	}
out:
	closedir(dp);
	return ret;
}
