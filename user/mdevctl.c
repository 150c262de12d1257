// SPDX-License-Identifier: GPL-2.0
/* Devices mdevctl has defined but not started (mdevctl.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "attr.h"
#include "log.h"
#include "mdevctl.h"
#include "uuid.h"

/*
 * The whole of a definition file, NUL-terminated, at most MDG_MDEVCTL_MAX_SIZE bytes; a regular
 * file only, opened without blocking. Returns the length or a negative errno.
 */
static ssize_t read_def(const char *path, char *buf, size_t size)
{
	ssize_t len = mdg_read_small(path, buf, size - 1);

	if (len < 0)
		return len;
	buf[len] = '\0';
	return (size_t)len == size - 1 ? -EFBIG : len;
}

/* A type name that can be a directory of mdev_supported_types. */
static bool type_ok(const char *t, size_t len)
{
	return len && len < MDG_TYPE_LEN && !memchr(t, '/', len) && strcmp(t, ".") != 0 &&
	       strcmp(t, "..") != 0;
}

/* "mdev_type" of the JSON object in buf. */
static int parse_def(const char *path, const char *buf, size_t len, char type[MDG_TYPE_LEN],
		     char *err, size_t errlen)
{
	struct json_tokener *tok = json_tokener_new();
	enum json_tokener_error jerr;
	struct json_object *root, *t;
	const char *s;
	size_t i;
	int ret = -EINVAL;

	if (!tok) {
		mdg_set_err(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	if (strlen(buf) != len) {
		mdg_set_err(err, errlen, "%s: not JSON: a NUL byte", path);
		json_tokener_free(tok);
		return -EINVAL;
	}
	root = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	if (!root || jerr != json_tokener_success) {
		if (jerr == json_tokener_continue)
			mdg_set_err(err, errlen, "%s: not JSON: unexpected end of file", path);
		else
			mdg_set_err(err, errlen, "%s: not JSON: %s", path,
				json_tokener_error_desc(jerr));
		goto out;
	}
	for (i = json_tokener_get_parse_end(tok); i < len; i++) {
		if (!strchr(" \t\r\n", buf[i])) {
			mdg_set_err(err, errlen, "%s: not JSON: bytes after the object", path);
			goto out;
		}
	}
	if (!json_object_is_type(root, json_type_object)) {
		mdg_set_err(err, errlen, "%s: not a JSON object", path);
		goto out;
	}
	if (!json_object_object_get_ex(root, "mdev_type", &t) ||
	    !json_object_is_type(t, json_type_string)) {
		mdg_set_err(err, errlen, "%s: no \"mdev_type\" string", path);
		goto out;
	}
	s = json_object_get_string(t);
	if (!type_ok(s, (size_t)json_object_get_string_len(t)) ||
	    strlen(s) != (size_t)json_object_get_string_len(t)) {
		mdg_set_err(err, errlen, "%s: \"mdev_type\" does not name a type (empty, over %d "
			"characters, or a path)", path, MDG_TYPE_LEN - 1);
		goto out;
	}
	memcpy(type, s, strlen(s) + 1);
	ret = 0;
out:
	json_object_put(root);
	json_tokener_free(tok);
	return ret;
}

static int load_def(const char *path, const char *parent, struct mdg_mdevctl_def *def,
		    char *err, size_t errlen)
{
	char *buf = malloc(MDG_MDEVCTL_MAX_SIZE);
	ssize_t len;
	int ret;

	if (!buf) {
		mdg_set_err(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	len = read_def(path, buf, MDG_MDEVCTL_MAX_SIZE);
	if (len < 0) {
		if (len == -EFBIG)
			mdg_set_err(err, errlen, "%s: larger than %u KiB: not a mdevctl definition",
				path, MDG_MDEVCTL_MAX_SIZE >> 10);
		else if (len == -EINVAL)
			mdg_set_err(err, errlen, "%s: not a regular file", path);
		else
			mdg_set_err(err, errlen, "%s: cannot read: %s", path, strerror((int)-len));
		free(buf);
		return (int)len;
	}
	ret = parse_def(path, buf, (size_t)len, def->type, err, errlen);
	free(buf);
	if (ret)
		return ret;
	snprintf(def->parent, sizeof(def->parent), "%s", parent);
	snprintf(def->path, sizeof(def->path), "%s", path);
	return 0;
}

/* mdevctl's directory opened: 1, 0 when it does not exist (nothing defined), or -errno. */
static int open_dir(const char *dir, DIR **dp, char *err, size_t errlen)
{
	int ret;

	*dp = opendir(dir);
	if (*dp)
		return 1;
	if (errno == ENOENT)
		return 0;
	ret = -errno;
	mdg_set_err(err, errlen, "%s: cannot list: %s", dir, strerror(errno));
	return ret;
}

int mdg_mdevctl_find(const char *dir, const char *uuid, struct mdg_mdevctl_def *def, char *err,
		     size_t errlen)
{
	char path[PATH_MAX], first[PATH_MAX] = "";
	struct dirent *e;
	struct stat st;
	DIR *dp;
	int ret = 0, n;

	memset(def, 0, sizeof(*def));
	ret = open_dir(dir, &dp, err, errlen);
	if (ret <= 0)
		return ret;
	ret = 0;
	while ((e = readdir(dp))) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(def->parent))
			continue;
		n = snprintf(path, sizeof(path), "%s/%s/%s", dir, e->d_name, uuid);
		if (n < 0 || (size_t)n >= sizeof(path) || lstat(path, &st))
			continue;
		if (*first) {
			mdg_set_err(err, errlen, "%s and %s: %s is defined under two parents", first,
				path, uuid);
			ret = -EINVAL;
			break;
		}
		ret = load_def(path, e->d_name, def, err, errlen);
		if (ret)
			break;
		snprintf(first, sizeof(first), "%s", path);
		ret = 1;
	}
	closedir(dp);
	if (ret < 0)
		memset(def, 0, sizeof(*def));
	return ret;
}

/* The definitions in one parent directory, dir/parent. */
static int each_in_parent(const char *dir, const char *parent, mdg_mdevctl_fn fn, void *ctx,
			  mdg_warn_fn warn, void *wctx)
{
	char path[PATH_MAX], err[PATH_MAX + 256];
	struct mdg_mdevctl_def def;
	struct mdg_dev_id id;
	struct dirent *e;
	DIR *dp;
	int ret = 0, n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, parent);
	if (n < 0 || (size_t)n >= sizeof(path))
		return 0;
	dp = opendir(path);
	if (!dp) {
		/* a file beside the parents' directories is none of them */
		if (errno != ENOTDIR && errno != ENOENT)
			warn(wctx, "%s: cannot list: %s", path, strerror(errno));
		return 0;
	}
	while (!ret && (e = readdir(dp))) {
		if (mdg_uuid_parse(e->d_name, &id))
			continue;
		n = snprintf(path, sizeof(path), "%s/%s/%s", dir, parent, e->d_name);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		if (load_def(path, parent, &def, err, sizeof(err))) {
			warn(wctx, "%s", err);
			continue;
		}
		ret = fn(ctx, e->d_name, &def);
	}
	closedir(dp);
	return ret;
}

int mdg_mdevctl_each(const char *dir, mdg_mdevctl_fn fn, void *ctx, mdg_warn_fn warn,
		     void *wctx, char *err, size_t errlen)
{
	struct dirent *e;
	DIR *dp;
	int ret = 0;

	ret = open_dir(dir, &dp, err, errlen);
	if (ret <= 0)
		return ret;
	ret = 0;
	while (!ret && (e = readdir(dp))) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= MDG_MDEVCTL_PARENT_LEN)
			continue;
		ret = each_in_parent(dir, e->d_name, fn, ctx, warn, wctx);
	}
	closedir(dp);
	return ret;
}

int mdg_mdevctl_resolve(const struct mdg_sysfs *s, const char *sysfs_root,
			const struct mdg_mdevctl_def *def, const char *uuid,
			struct mdg_sysfs_dev *out, char *err, size_t errlen)
{
	const struct mdg_sysfs_type *t = mdg_sysfs_find_type(s, def->parent, def->type);

	memset(out, 0, sizeof(*out));
	if (!t) {
		mdg_set_err(err, errlen, "%s: %s is defined as type %s of %s, which %s/class/mdev_bus/"
			"%s/mdev_supported_types does not offer", def->path, uuid, def->type,
			def->parent, sysfs_root, def->parent);
		return -ENOENT;
	}
	snprintf(out->uuid, sizeof(out->uuid), "%s", uuid);
	snprintf(out->type, sizeof(out->type), "%s", t->type);
	snprintf(out->parent, sizeof(out->parent), "%s", t->parent);
	out->attr = t->attr;
	snprintf(out->attr_raw, sizeof(out->attr_raw), "%s", t->attr_raw);
	return 0;
}
