/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counters and gauges in the Prometheus text format, for node_exporter's textfile collector.
 * Names follow Prometheus's conventions: the mdevguard_ prefix, counters ending in _total, base
 * units (bytes), dimensions as labels, and a HELP and a TYPE line before every metric.
 */
#ifndef MDG_METRICS_H
#define MDG_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "mdevguard.h"

#define MDG_METRICS_MAX_MAPS 24

/* One pinned map's memory, as the kernel accounts it. */
struct mdg_map_memory {
	const char *name;		/* its pin name: the label's value */
	unsigned long long bytes;
};

struct mdg_metrics {
	const char *version;		/* of the service writing the file */
	bool ready;			/* device map filled, the service follows sysfs */
	struct mdg_stats stats;
	size_t devices;			/* mdevs and vGPU functions known to the kernel side */
	size_t functions;		/* vGPU functions under the rule (typed, or selected) */
	size_t untyped;			/* functions of a vendor's layout with no type now */
	size_t restricted;		/* of which restricted */
	size_t holders;			/* processes holding at least one device */
	unsigned int mode;		/* enum mdg_mode */
	unsigned int audit;
	size_t nr_maps;
	struct mdg_map_memory maps[MDG_METRICS_MAX_MAPS];
};

/*
 * Writes the metrics to path atomically: a temporary file beside it, then rename(), so that
 * the collector never reads half a file. Returns 0 or a negative errno.
 */
int mdg_metrics_write(const char *path, const struct mdg_metrics *m);

#endif
