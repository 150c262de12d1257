// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kstate.h"
#include "log.h"
#include "pin.h"

/* What each map read here must be. */
struct expect {
	const char *pin;
	enum bpf_map_type type;
	__u32 key_size;
	__u32 value_size;	/* the .bss holds more than cfg: at least */
	bool at_least;
};

static const struct expect expects[] = {
	{ MDG_PIN_CONFIG, BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(struct mdg_config), true },
	{ MDG_PIN_DEVICES, BPF_MAP_TYPE_HASH, sizeof(__u32), sizeof(struct mdg_device) },
	{ MDG_PIN_HOLDERS, BPF_MAP_TYPE_HASH, sizeof(struct mdg_holder_key),
	  sizeof(struct mdg_holder) },
	{ MDG_PIN_STATS, BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(struct mdg_stats) },
};

/* An fd for a pin of ours, or -ENOENT, or an error logged and returned. */
static int open_checked(const char *dir, const struct expect *e)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, err;

	if (mdg_pin_path(path, sizeof(path), dir, e->pin))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : mdg_err_errno(errno, "cannot open %s", path);
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = mdg_err_errno(errno, "%s: not a BPF map", path);
		close(fd);
		return err;
	}
	if (info.type != e->type || info.key_size != e->key_size ||
	    (e->at_least ? info.value_size < e->value_size : info.value_size != e->value_size)) {
		mdg_err("%s is not a map of this mdevguard (type %u, key %u, value %u bytes; expected type %u, key %u, value %s%u)",
			path, info.type, info.key_size, info.value_size, e->type, e->key_size,
			e->at_least ? "at least " : "", e->value_size);
		close(fd);
		return -EPROTO;
	}
	return fd;
}

static int read_config(int fd, struct mdg_config *cfg)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0;
	void *buf;
	int ret;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	buf = calloc(1, info.value_size);
	if (!buf)
		return -ENOMEM;
	ret = bpf_map_lookup_elem(fd, &zero, buf) ? -errno : 0;
	if (!ret)
		memcpy(cfg, buf, sizeof(*cfg));
	free(buf);
	return ret;
}

/*
 * libbpf names an object's .bss map after the object, cut to fit: "mdevguar.bss" with libbpf
 * 1.1, longer with later ones.
 */
static bool config_map_name(const char *name)
{
	size_t n = strlen(name);

	return !strncmp(name, "mdevgua", 7) && n > 4 && !strcmp(name + n - 4, ".bss");
}

int mdg_kstate_pinned_abi(const char *dir)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0, abi = 0;
	char path[PATH_MAX];
	void *buf;
	int fd, ret;

	if (mdg_pin_path(path, sizeof(path), dir, MDG_PIN_CONFIG))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -EPROTO;
	ret = bpf_obj_get_info_by_fd(fd, &info, &len) ? -EPROTO : 0;
	if (!ret && (info.type != BPF_MAP_TYPE_ARRAY || info.key_size != sizeof(__u32) ||
		     info.value_size < sizeof(abi) || !config_map_name(info.name)))
		ret = -EPROTO;
	buf = ret ? NULL : calloc(1, info.value_size);
	if (!ret && (!buf || bpf_map_lookup_elem(fd, &zero, buf)))
		ret = -EPROTO;
	if (!ret)
		memcpy(&abi, buf, sizeof(abi));
	free(buf);
	close(fd);
	return ret ? ret : (int)(abi & INT_MAX);
}

int mdg_kstate_disable(const char *dir)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0;
	int fd = open_checked(dir, &expects[0]), ret;
	struct mdg_config *cfg;
	void *buf = NULL;

	if (fd < 0)
		return fd;
	ret = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;
	if (!ret && !(buf = calloc(1, info.value_size)))
		ret = -ENOMEM;
	if (!ret && bpf_map_lookup_elem(fd, &zero, buf))
		ret = -errno;
	if (!ret) {
		cfg = buf;
		cfg->disabled = 1;
		ret = bpf_map_update_elem(fd, &zero, buf, BPF_ANY) ? -errno : 0;
	}
	free(buf);
	close(fd);
	return ret;
}

static void close_slot(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void mdg_kstate_close(struct mdg_kstate *k)
{
	close_slot(&k->config);
	close_slot(&k->devices);
	close_slot(&k->holders);
	close_slot(&k->stats);
}

int mdg_kstate_open(const char *dir, struct mdg_kstate *k)
{
	int *fds[] = { &k->config, &k->devices, &k->holders, &k->stats };
	size_t i;
	int ret = 0;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		*fds[i] = -1;
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		*fds[i] = open_checked(dir, &expects[i]);
		if (*fds[i] < 0 && !ret)
			ret = *fds[i];
	}
	if (!ret)
		ret = read_config(k->config, &k->cfg);
	if (ret) {
		mdg_kstate_close(k);
		return ret;
	}
	k->links = mdg_pinned(dir, MDG_PIN_LINK_OPEN);
	return 0;
}

int mdg_stats_read(int fd, struct mdg_stats *sum)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	struct mdg_stats *per;
	__u32 zero = 0;

	memset(sum, 0, sizeof(*sum));
	if (ncpu <= 0)
		return ncpu;
	per = calloc(ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &zero, per)) {
		free(per);
		return -errno;
	}
	for (i = 0; i < ncpu; i++) {
		sum->opens_seen += per[i].opens_seen;
		sum->allowed += per[i].allowed;
		sum->denied += per[i].denied;
		sum->audit_denied += per[i].audit_denied;
		sum->errors += per[i].errors;
		sum->lost_events += per[i].lost_events;
		sum->released += per[i].released;
		sum->acquired += per[i].acquired;
		sum->pass_released += per[i].pass_released;
	}
	free(per);
	return 0;
}

size_t mdg_map_count(int fd, size_t key_size)
{
	char key[64], next[64];
	size_t n = 0;

	if (key_size > sizeof(key))
		return 0;
	if (bpf_map_get_next_key(fd, NULL, next))
		return 0;
	do {
		n++;
		memcpy(key, next, key_size);
	} while (bpf_map_get_next_key(fd, key, next) == 0);
	return n;
}

/* 6.1 reports no memlock for a ring buffer: its data area and two pages of positions. */
unsigned long long mdg_map_memory(int fd)
{
	struct bpf_map_info info = {};
	unsigned long long v = 0;
	__u32 len = sizeof(info);
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			/* NOLINTNEXTLINE(cert-err34-c): the kernel's text */
			if (sscanf(line, "memlock: %llu", &v) == 1)
				break;
		}
		(void)fclose(f); /* read only */
	}
	if (!v && !bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_MAP_TYPE_RINGBUF)
		v = info.max_entries + 2ULL * sysconf(_SC_PAGESIZE);
	return v;
}

/* Whether one fd of /proc/PID/fdinfo is a BPF map with this id. */
static bool fdinfo_has_map(int dirfd, const char *name, __u32 id)
{
	char line[128];
	bool found = false;
	unsigned int v;
	FILE *f;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return false;
	}
	while (!found && fgets(line, sizeof(line), f))
		/* NOLINTNEXTLINE(cert-err34-c): the kernel's text */
		found = sscanf(line, "map_id: %u", &v) == 1 && v == id;
	(void)fclose(f); /* read only */
	return found;
}

bool mdg_kstate_loader_running(const struct mdg_kstate *k)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[64];
	struct dirent *e;
	bool found = false;
	DIR *dp;

	if (!k->cfg.loader_pid || k->config < 0 || bpf_obj_get_info_by_fd(k->config, &info, &len))
		return false;
	snprintf(path, sizeof(path), "/proc/%u/fdinfo", k->cfg.loader_pid);
	dp = opendir(path);
	if (!dp)
		return false;
	while (!found && (e = readdir(dp)))
		found = e->d_name[0] != '.' && fdinfo_has_map(dirfd(dp), e->d_name, info.id);
	closedir(dp);
	return found;
}
