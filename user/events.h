/* SPDX-License-Identifier: GPL-2.0 */
/* Decision events from the BPF ring buffer, printed as text or JSON lines. */
#ifndef MDG_EVENTS_H
#define MDG_EVENTS_H

#include <stddef.h>

#include "mdevguard.h"
#include "sysfs.h"

enum mdg_log_format {
	MDG_LOG_TEXT = 0,
	MDG_LOG_JSON,
};

struct mdg_events {
	enum mdg_log_format fmt;
	const struct mdg_sysfs *scan;	/* to name the node of a device number */
};

void mdg_events_init(struct mdg_events *ev, enum mdg_log_format fmt);
void mdg_events_set_scan(struct mdg_events *ev, const struct mdg_sysfs *scan);

/* ring_buffer_sample_fn */
int mdg_events_handle(void *ctx, void *data, size_t len);

/* One event as a line (no newline), for tests and for the printer. */
int mdg_event_format(const struct mdg_event *e, const char *exe, const char *node,
		     enum mdg_log_format fmt, char *buf, size_t len);

#endif
