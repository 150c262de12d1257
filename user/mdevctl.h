/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Devices mdevctl has defined but not started: DIR/<parent>/<uuid> (DIR /etc/mdevctl.d) is a
 * JSON object whose "mdev_type" names a type of <parent>, e.g.
 *
 *   {"mdev_type":"nvidia-63","start":"manual","attrs":[]}
 *
 * Once started, the device will be of <parent>'s mdev_supported_types/<mdev_type> in sysfs,
 * whose single_usage_restriction decides for it as for a started one.
 */
#ifndef MDG_MDEVCTL_H
#define MDG_MDEVCTL_H

#include <limits.h>
#include <stddef.h>

#include "sysfs.h"

#define MDG_DEFAULT_MDEVCTL_DIR	"/etc/mdevctl.d"
#define MDG_MDEVCTL_MAX_SIZE	(64U << 10)	/* bytes of one definition */
#define MDG_MDEVCTL_PARENT_LEN	256

struct mdg_mdevctl_def {
	char parent[MDG_MDEVCTL_PARENT_LEN];	/* the directory's name: a parent device in class/mdev_bus */
	char type[MDG_TYPE_LEN];	/* "mdev_type" */
	char path[PATH_MAX];		/* the definition file, for messages */
};

/*
 * Looks for uuid's definition under dir. Returns 1 with def filled; 0 when no parent directory
 * of dir defines it (also when dir does not exist); a negative errno with one line in err
 * naming the file when a definition cannot be read, is not a JSON object, has no "mdev_type"
 * string naming a type, or when two parents define the UUID.
 */
int mdg_mdevctl_find(const char *dir, const char *uuid, struct mdg_mdevctl_def *def, char *err,
		     size_t errlen);

/* What mdg_mdevctl_each() calls for each definition: 0 to go on. */
typedef int (*mdg_mdevctl_fn)(void *ctx, const char *uuid, const struct mdg_mdevctl_def *def);

/*
 * Calls fn for every definition under dir (DIR/<parent>/<uuid>; a name that is not a UUID is
 * not mdevctl's and is passed over), in directory order. A definition that cannot be read or
 * parsed is skipped with one line to warn naming the file. Returns 0, also when dir does not
 * exist; a negative errno with one line in err when dir cannot be listed; or fn's non-zero.
 */
int mdg_mdevctl_each(const char *dir, mdg_mdevctl_fn fn, void *ctx, mdg_warn_fn warn,
		     void *wctx, char *err, size_t errlen);

/*
 * uuid, defined by def, as sysfs will show it once started: type and parent from def, the
 * attribute of that type of that parent in s (scanned from sysfs_root). Returns 0, or -ENOENT
 * with one line in err when s has no such type.
 */
int mdg_mdevctl_resolve(const struct mdg_sysfs *s, const char *sysfs_root,
			const struct mdg_mdevctl_def *def, const char *uuid,
			struct mdg_sysfs_dev *out, char *err, size_t errlen);

#endif
