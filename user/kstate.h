/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel side's state as the pins show it, for status, metrics and the service: opened
 * only after each map's type and record sizes were checked against ours, so that a foreign or
 * older pin is reported, never read into our buffers.
 */
#ifndef MDG_KSTATE_H
#define MDG_KSTATE_H

#include <stdbool.h>
#include <stddef.h>

#include "mdevguard.h"

struct mdg_kstate {
	int config, devices, holders, stats;	/* -1 when not open */
	struct mdg_config cfg;
	bool links;				/* the decisions are attached */
};

/*
 * Opens the pins under dir: 0, -ENOENT when nothing (or not all) of ours is pinned there, or
 * another negative errno after one error line naming the pin and what is wrong with it.
 */
int mdg_kstate_open(const char *dir, struct mdg_kstate *k);
void mdg_kstate_close(struct mdg_kstate *k);

/*
 * The ABI version in the config pinned under dir by any build of mdevguard, without logging:
 * -ENOENT when there is none, -EPROTO when the pin there is not mdevguard's.
 */
int mdg_kstate_pinned_abi(const char *dir);

/* Stops every decision of the kernel side under dir at once (unload's first step); 0 or -errno. */
int mdg_kstate_disable(const char *dir);

/*
 * Whether the loader that cfg names still runs: its pid holds the pinned config map open (a
 * pid alone may have been reused by another process).
 */
bool mdg_kstate_loader_running(const struct mdg_kstate *k);

/* Sum of the per-CPU counters of the stats map; 0 or -errno. */
int mdg_stats_read(int fd, struct mdg_stats *sum);
/* Entries of a hash map, by walking its keys (at most 64-byte keys). */
size_t mdg_map_count(int fd, size_t key_size);
/* Memory of one map, as the kernel accounts it (ring buffers: their size). */
unsigned long long mdg_map_memory(int fd);

#endif
