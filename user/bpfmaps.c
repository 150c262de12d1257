// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF object's maps before it is loaded: their pin paths, the holders map sized to the
 * host's limits on processes (or to the pinned one), and the VM suite's smaller sizes.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "attr.h"
#include "bpfobj.h"
#include "log.h"
#include "mdevguard.h"
#include "mdevguard.skel.h"
#include "pin.h"

/* Every map pinned under its name from the pin table; the .bss as the config. */
int mdg_bpf_pin_paths(struct mdg_bpf *b)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	size_t i;
	int ret;

	for (i = 0; i < mdg_nr_pins && mdg_pins[i].kind == MDG_PIN_MAP; i++) {
		if (!strcmp(mdg_pins[i].obj, ".bss"))
			map = b->skel->maps.bss;
		else
			map = bpf_object__find_map_by_name(b->skel->obj, mdg_pins[i].obj);
		if (!map)
			return -ENOENT;
		ret = mdg_pin_path(path, sizeof(path), b->pin_dir, mdg_pins[i].name);
		if (!ret)
			ret = bpf_map__set_pin_path(map, path);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The holders map has a record for each process that holds, or is about to hold, a device, and
 * each goes with its process (lsm/task_free). Sized to the kernel's limits on processes (the
 * lower of threads-max and pid_max), it cannot be filled by anyone's processes: the kernel
 * refuses the fork first. The hash's records are allocated as they are made
 * (BPF_F_NO_PREALLOC); only its buckets are allocated up front (16 bytes each, a power of two of
 * them). A pinned map keeps the size it was made with, so that a
 * restart keeps the holdings; a limit raised since is warned about.
 */
#define MDG_HOLDERS_MIN	4096U
#define MDG_HOLDERS_SLACK 4096U		/* records of tasks reaped but not yet freed (RCU) */
#define MDG_PID_MAX_LIMIT (4U << 20)	/* the kernel's PID_MAX_LIMIT on 64-bit */

/* A positive number from a /proc/sys file, or 0. */
static unsigned long sysctl_ulong(const char *path)
{
	char buf[32];
	unsigned long n;
	ssize_t len;
	char *end;

	len = mdg_read_small(path, buf, sizeof(buf) - 1);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	errno = 0;
	n = strtoul(buf, &end, 10);
	return errno || end == buf ? 0 : n;
}

unsigned int mdg_holders_wanted(void)
{
	unsigned long n = sysctl_ulong("/proc/sys/kernel/threads-max");
	unsigned long pids = sysctl_ulong("/proc/sys/kernel/pid_max");

	if (!n || (pids && pids < n))
		n = pids;
	if (!n || n > MDG_PID_MAX_LIMIT)
		n = MDG_PID_MAX_LIMIT;
	n += MDG_HOLDERS_SLACK;
	return n < MDG_HOLDERS_MIN ? MDG_HOLDERS_MIN : (unsigned int)n;
}

/* The size of the pinned holders map, or 0 when there is none to reuse. */
static unsigned int pinned_holders_size(const char *pin_dir)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	if (mdg_pin_path(path, sizeof(path), pin_dir, MDG_PIN_HOLDERS))
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.max_entries = 0;
	close(fd);
	return info.max_entries;
}

void mdg_bpf_size_holders(struct mdg_bpf *b)
{
	unsigned int want = mdg_holders_wanted(), have = pinned_holders_size(b->pin_dir);

	if (have && have < want)
		mdg_warn("the pinned holders map has %u entries, fewer than threads-max and pid_max ask for (%u): mdevguard unload and a start make it anew",
			 have, want);
	bpf_map__set_max_entries(b->skel->maps.mdg_holders, have ? have : want);
}

/*
 * For the VM suite's fault matrix: MDG_MAP_ENTRIES=devices:8,holders:4,... sizes those maps
 * (their pin names) down, so that a test can fill them. Nothing else reads it.
 */
void mdg_bpf_map_entries_from_env(struct mdg_bpf *b)
{
	const char *spec = getenv("MDG_MAP_ENTRIES");
	struct bpf_map *map;
	char name[32];
	unsigned int n;
	size_t i;
	int used;

	/* NOLINTNEXTLINE(cert-err34-c): a test's knob; what does not parse ends the list */
	while (spec && sscanf(spec, "%31[a-z_]:%u%n", name, &n, &used) == 2) {
		for (i = 0; i < mdg_nr_pins; i++) {
			if (mdg_pins[i].kind != MDG_PIN_MAP || strcmp(mdg_pins[i].name, name) != 0)
				continue;
			map = bpf_object__find_map_by_name(b->skel->obj, mdg_pins[i].obj);
			if (map && !bpf_map__set_max_entries(map, n))
				mdg_warn("MDG_MAP_ENTRIES: map %s sized to %u entries", name, n);
		}
		spec += used;
		spec += *spec == ',';
	}
}
