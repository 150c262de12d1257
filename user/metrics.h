/* SPDX-License-Identifier: GPL-2.0 */
/* Counters in the Prometheus text format, for node_exporter's textfile collector. */
#ifndef MDG_METRICS_H
#define MDG_METRICS_H

#include <stddef.h>

#include "mdevguard.h"

struct mdg_metrics {
	struct mdg_stats stats;
	size_t devices;			/* mdev devices known to the kernel side */
	size_t restricted;		/* of which restricted */
	size_t holders;			/* processes holding at least one device */
	unsigned int mode;		/* enum mdg_mode */
	unsigned int audit;
};

/*
 * Writes the metrics to path atomically: a temporary file beside it, then rename(), so that
 * the collector never reads half a file. Returns 0 or a negative errno.
 */
int mdg_metrics_write(const char *path, const struct mdg_metrics *m);

#endif
