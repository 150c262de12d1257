// SPDX-License-Identifier: GPL-2.0
/*
 * The types' part of the sysfs scan (sysfs.c): ROOT/class/mdev_bus/<parent>/
 * mdev_supported_types/<type>, each type's name, available instances and attribute.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attr.h"
#include "sysfs.h"
#include "sysfswalk.h"

static void read_type_name(const char *dir, char *out, size_t size)
{
	char path[PATH_MAX];
	ssize_t len;
	size_t i;

	out[0] = '\0';
	if (mdg_scan_path(path, sizeof(path), "%s/name", dir))
		return;
	len = mdg_read_small(path, out, size - 1);
	if (len < 0)
		len = 0;
	out[len] = '\0';
	if (len && out[len - 1] == '\n')
		out[--len] = '\0';
	for (i = 0; i < (size_t)len; i++) {
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
	}
}

static int read_available(const char *dir, bool *enoent)
{
	char path[PATH_MAX], buf[32];
	unsigned int v;
	ssize_t len;

	if (mdg_scan_path(path, sizeof(path), "%s/available_instances", dir))
		return -1;
	len = mdg_read_small(path, buf, sizeof(buf));
	if (len == -ENOENT)
		*enoent = true;
	if (len <= 0)
		return -1;
	if (buf[len - 1] == '\n')
		len--;
	if (mdg_parse_uint(buf, (size_t)len, INT_MAX, &v))
		return -1;
	return (int)v;
}

static int scan_type(struct scan *s, const char *types, const char *parent, const char *name)
{
	char dir[PATH_MAX], path[PATH_MAX], real[PATH_MAX];
	struct mdg_sysfs_type t, *all;
	bool enoent = false, long_name;
	int ret;

	memset(&t, 0, sizeof(t));
	if (mdg_scan_path(dir, sizeof(dir), "%s/%s", types, name))
		return 0;
	long_name = mdg_scan_type_name(t.type, name);
	mdg_scan_parent_copy(t.parent, sizeof(t.parent), parent, strlen(parent));
	if (!realpath(dir, real)) {
		if (errno == ENOENT)
			mdg_scan_removed(s, dir);
		else
			mdg_scan_say(s, "%s: cannot resolve: %s; type skipped", dir,
				     strerror(errno));
		return 0;
	}
	if (mdg_scan_path(path, sizeof(path), "%s/" ATTR_FILE, real))
		return 0;
	read_type_name(real, t.name, sizeof(t.name));
	t.available = read_available(real, &enoent);
	t.attr = mdg_scan_read_attr(s, path, t.attr_raw);
	if ((enoent || t.attr == MDG_ATTR_ABSENT) && mdg_scan_gone(real)) {
		mdg_scan_removed(s, dir);
		return 0;
	}
	ret = mdg_scan_add_ref(s, real, t.attr, t.attr_raw);
	if (ret)
		return ret;
	if (long_name) {
		mdg_scan_say(s, "%s: type name over %d characters, restricted whatever it says",
			     dir, MDG_TYPE_LEN - 1);
		t.attr = MDG_ATTR_MALFORMED;
		snprintf(t.attr_raw, sizeof(t.attr_raw), LONG_NAME_RAW);
	}
	all = mdg_scan_grow(s->out->types, &s->types_cap, s->out->nr_types, sizeof(t));
	if (!all)
		return -ENOMEM;
	s->out->types = all;
	all[s->out->nr_types++] = t;
	return 0;
}

static bool is_dir(const char *parent, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (mdg_scan_path(path, sizeof(path), "%s/%s", parent, name))
		return false;
	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static int scan_parent(struct scan *s, const char *bus, const char *parent)
{
	char types[PATH_MAX];
	struct dirent *e;
	DIR *dp;
	int ret = 0;

	if (mdg_scan_path(types, sizeof(types), "%s/%s/mdev_supported_types", bus, parent))
		return 0;
	dp = opendir(types);
	if (!dp) {
		if (errno != ENOENT)
			mdg_scan_say(s, "%s: cannot list: %s; its types are not shown", types,
			    strerror(errno));
		return 0;
	}
	while ((e = readdir(dp))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (e->d_type != DT_DIR && !is_dir(types, e->d_name))
			continue;
		ret = scan_type(s, types, parent, e->d_name);
		if (ret)
			break;
	}
	closedir(dp);
	return ret;
}

int mdg_scan_types(struct scan *s)
{
	char bus[PATH_MAX];
	struct dirent *e;
	DIR *dp;
	int ret;

	if (mdg_scan_path(bus, sizeof(bus), "%s/class/mdev_bus", s->root)) {
		mdg_scan_say(s, "%s/class/mdev_bus: path too long", s->root);
		return -ENAMETOOLONG;
	}
	dp = mdg_scan_open_top(s, bus, &ret);
	if (!dp)
		return ret;
	while ((e = readdir(dp))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		ret = scan_parent(s, bus, e->d_name);
		if (ret)
			break;
	}
	closedir(dp);
	return ret;
}
