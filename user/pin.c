// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "log.h"
#include "pin.h"

const struct mdg_pin mdg_pins[] = {
	{ MDG_PIN_DEVICES, "mdg_devices", MDG_PIN_MAP },
	{ MDG_PIN_TYPES, "mdg_types", MDG_PIN_MAP },
	{ MDG_PIN_OVERRIDES, "mdg_overrides", MDG_PIN_MAP },
	{ MDG_PIN_FUNCTIONS, "mdg_functions", MDG_PIN_MAP },
	{ MDG_PIN_FN_WRITES, "mdg_fn_writes", MDG_PIN_MAP },
	{ MDG_PIN_HOLDERS, "mdg_holders", MDG_PIN_MAP },
	{ MDG_PIN_FILES, "mdg_files", MDG_PIN_MAP },
	{ MDG_PIN_STATS, "mdg_stats", MDG_PIN_MAP },
	{ MDG_PIN_EVENTS, "mdg_events", MDG_PIN_MAP },
	{ "holder_zero", "mdg_holder_zero", MDG_PIN_MAP },
	{ "scratch", "mdg_scratch", MDG_PIN_MAP },
	{ "pending", "mdg_pending", MDG_PIN_MAP },
	{ "vmshare", "mdg_vmshare", MDG_PIN_MAP },
	{ "snapshot", "mdg_snapshot", MDG_PIN_MAP },
	{ "sweep", "mdg_sweep", MDG_PIN_MAP },
	{ MDG_PIN_CONFIG, ".bss", MDG_PIN_MAP },
	/* Type writes are counted before the first scan reads a type. */
	{ "link_type_write_begin", "mdg_type_write_begin", MDG_PIN_LINK_WATCH },
	{ "link_type_write_end", "mdg_type_write_end", MDG_PIN_LINK_WATCH },
	/* What ends holdings, the device map's hooks and the device file's count come first. */
	{ "link_file_free", "mdg_file_free", MDG_PIN_LINK_RELEASE },
	{ "link_task_free", "mdg_task_free", MDG_PIN_LINK_RELEASE },
	{ "link_task_alloc", "mdg_task_alloc", MDG_PIN_LINK_RELEASE },
	{ "link_process_fork", "mdg_process_fork", MDG_PIN_LINK_RELEASE },
	{ "link_exec", "mdg_exec", MDG_PIN_LINK_RELEASE },
	{ "link_register", "mdg_register", MDG_PIN_LINK_RELEASE },
	{ "link_unregister", "mdg_unregister", MDG_PIN_LINK_RELEASE },
	{ "link_file_receive", "mdg_file_receive", MDG_PIN_LINK_DECIDE },
	{ "link_binder_transfer", "mdg_binder_transfer", MDG_PIN_LINK_DECIDE },
	{ "link_mmap_file", "mdg_mmap_file", MDG_PIN_LINK_DECIDE },
	{ "link_file_permission", "mdg_file_permission", MDG_PIN_LINK_DECIDE },
	{ "link_file_ioctl_compat", "mdg_file_ioctl_compat", MDG_PIN_LINK_DECIDE, true },
	{ "link_file_ioctl", "mdg_file_ioctl", MDG_PIN_LINK_DECIDE },
	{ MDG_PIN_LINK_OPEN, "mdg_file_open", MDG_PIN_LINK_DECIDE },
	/*
	 * Builds of 2026-11-26 followed releases by fentry on VFIO's release functions, which the
	 * kernel skips when the program is already running on the CPU: file_free_security does.
	 */
	{ "link_group_release", NULL, MDG_PIN_RETIRED },
	{ "link_device_release", NULL, MDG_PIN_RETIRED },
	{ "link_process_exec", NULL, MDG_PIN_RETIRED },	/* tp_btf: now lsm/bprm_committed_creds */
	{ "link_process_exit", NULL, MDG_PIN_RETIRED },	/* tp_btf: now lsm/task_free */
	{ "holder_new", NULL, MDG_PIN_RETIRED_MAP },	/* per-CPU: now the task's mdg_scratch */
	/* fexit: read a file by its fd with no reference; a device file is counted at its use */
	{ "link_group_ioctl_exit", NULL, MDG_PIN_RETIRED },
};

const size_t mdg_nr_pins = sizeof(mdg_pins) / sizeof(mdg_pins[0]);

int mdg_pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool mdg_pinned(const char *dir, const char *name)
{
	char path[PATH_MAX];

	return !mdg_pin_path(path, sizeof(path), dir, name) && access(path, F_OK) == 0;
}

static bool on_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

/*
 * A bpffs mount's root is not a pin dir: it holds everyone's pins. Compared by device and
 * inode after resolving the path, so that "/sys/fs/bpf/" and "/sys/fs/bpf/." are the root too.
 */
static bool is_mount_root(const char *real)
{
	char parent[PATH_MAX + 4];
	struct stat a, b;

	if (!strcmp(real, "/"))
		return true;
	snprintf(parent, sizeof(parent), "%s/..", real);
	if (stat(real, &a) || stat(parent, &b))
		return false;
	return a.st_dev != b.st_dev || a.st_ino == b.st_ino;
}

int mdg_pin_dir_check(const char *dir)
{
	char real[PATH_MAX];

	if (!realpath(dir, real)) {
		if (errno == ENOENT)
			return -ENOENT;
		return mdg_err_errno(errno, "cannot use pin dir %s", dir);
	}
	if (!on_bpffs(real)) {
		mdg_err("pin dir %s is not on bpffs: name a directory under the bpffs mount (default %s) with --pin-dir",
			dir, MDG_DEFAULT_PIN_DIR);
		return -EINVAL;
	}
	if (is_mount_root(real)) {
		mdg_err("pin dir %s is the root of a bpffs mount, which holds others' pins too: name a directory under it (default %s)",
			dir, MDG_DEFAULT_PIN_DIR);
		return -EINVAL;
	}
	return 0;
}

int mdg_pin_dir_make(const char *dir)
{
	char parent[PATH_MAX], *slash;
	int ret = mdg_pin_dir_check(dir);

	if (ret != -ENOENT)
		return ret;
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (!on_bpffs(parent)) {
		mdg_err("bpffs is not mounted at %s: mount it (mount -t bpf bpf %s) or choose another --pin-dir",
			parent, parent);
		return -ENOENT;
	}
	if (mkdir(dir, 0700) && errno != EEXIST)
		return mdg_err_errno(errno, "cannot create pin dir %s", dir);
	return mdg_pin_dir_check(dir);
}

bool mdg_pin_dir_ours(const char *dir)
{
	struct dirent *de;
	bool empty = true;
	DIR *d;

	if (mdg_pinned(dir, MDG_PIN_CONFIG))
		return true;
	d = opendir(dir);
	if (!d)
		return false;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = false;
			break;
		}
	}
	closedir(d);
	return empty;
}

/*
 * A link whose last pin goes is freed only after an RCU grace period and a trampoline update:
 * enforcement outlives the unlink by a moment. Waits, up to 10 s, until the links are gone, so
 * that once unload (or --unload-on-exit) returns nothing is enforced.
 */
static void wait_links_gone(const __u32 *ids, size_t n)
{
	size_t i, left;
	int fd, tries;

	for (tries = 0; tries < 500; tries++) {
		for (i = 0, left = 0; i < n; i++) {
			fd = bpf_link_get_fd_by_id(ids[i]);
			if (fd >= 0) {
				close(fd);
				left++;
			}
		}
		if (!left)
			return;
		usleep(20000);
	}
	mdg_warn("%zu link(s) still attached 10 s after their pins were removed", left);
}

int mdg_unpin_all(const char *dir)
{
	struct bpf_link_info info;
	__u32 ids[64], len;
	char path[PATH_MAX];
	size_t i, nr_ids = 0;
	int fd, ret = 0;

	for (i = 0; i < mdg_nr_pins; i++) {
		if (mdg_pins[i].kind == MDG_PIN_MAP || mdg_pins[i].kind == MDG_PIN_RETIRED_MAP ||
		    nr_ids == sizeof(ids) / sizeof(ids[0]) ||
		    mdg_pin_path(path, sizeof(path), dir, mdg_pins[i].name))
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len))
			ids[nr_ids++] = info.id;
		close(fd);
	}
	for (i = 0; i < mdg_nr_pins; i++) {
		if (mdg_pin_path(path, sizeof(path), dir, mdg_pins[i].name))
			continue;
		if (unlink(path) && errno != ENOENT)
			ret = mdg_err_errno(errno, "cannot remove %s", path);
		/* a link's temporary name, had a start died between pinning and renaming it */
		if (mdg_pins[i].kind != MDG_PIN_MAP && mdg_pins[i].kind != MDG_PIN_RETIRED_MAP &&
		    strlen(path) + strlen(MDG_PIN_NEW_SUFFIX) < sizeof(path)) {
			/* the test above leaves room for the suffix */
			/* NOLINTNEXTLINE(clang-analyzer-security.insecureAPI.strcpy) */
			strcat(path, MDG_PIN_NEW_SUFFIX);
			unlink(path);
		}
	}
	if (rmdir(dir) && errno != ENOENT) {
		if (errno == ENOTEMPTY)
			mdg_warn("%s still holds files that are not mdevguard's: left in place", dir);
		else
			ret = mdg_err_errno(errno, "cannot remove %s", dir);
	}
	wait_links_gone(ids, nr_ids);
	return ret;
}
