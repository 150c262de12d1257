/* SPDX-License-Identifier: GPL-2.0 */
/* Decision events from the BPF ring buffer, printed as text or JSON lines. */
#ifndef MDG_EVENTS_H
#define MDG_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "mdevguard.h"
#include "procinfo.h"
#include "sysfs.h"

enum mdg_log_format {
	MDG_LOG_TEXT = 0,
	MDG_LOG_JSON,
};

/* What names the VM of a process (user/procinfo.h); an empty string where nothing does. */
struct mdg_proc_names {
	char vm[MDG_NAME_MAX];		/* libvirt domain: machine scope, else QEMU's -name */
	char unit[MDG_NAME_MAX];	/* systemd unit: the user manager's, else the system's */
	char pod[MDG_POD_LEN];		/* Kubernetes pod UID */
};

/*
 * What was read of a process, kept for events that come after it exited. Keyed by the thread
 * group and its start time, so that a reused pid is another entry.
 */
struct mdg_proc_entry {
	__u32 tgid;
	__u64 start_ns;			/* since boot, to the clock tick */
	__u64 used;			/* for the least recently used to go first */
	char *exe;
	struct mdg_proc_names *names;
};

#define MDG_PROC_CACHE 1024		/* processes remembered */

struct mdg_events {
	enum mdg_log_format fmt;
	const struct mdg_sysfs *scan;	/* to name the node of a device number */
	struct mdg_proc_entry *cache;	/* MDG_PROC_CACHE entries, allocated at the first event */
	__u64 clock;
};

void mdg_events_init(struct mdg_events *ev, enum mdg_log_format fmt);
void mdg_events_set_scan(struct mdg_events *ev, const struct mdg_sysfs *scan);
void mdg_events_free(struct mdg_events *ev);

/* The start time of a live process in ns since boot, to the clock tick; -errno if gone. */
int mdg_proc_start_ns(__u32 tgid, __u64 *ns);
/* The clock tick of /proc/PID/stat in ns. */
__u64 mdg_proc_tick_ns(void);

/*
 * Reads what names the VM of a live process into n (fields empty where nothing does). With warn,
 * a cgroup or command line that names it in a malformed way is said in one line.
 */
void mdg_proc_names_read(__u32 tgid, struct mdg_proc_names *n, bool warn);

/*
 * A name as one printable token, as decision lines print them: at most max bytes of s, spaces,
 * control bytes, backslashes and bytes above 0x7e as \xNN. len at least 4 * max + 1 for all of
 * it.
 */
void mdg_event_token(const char *s, size_t max, char *out, size_t len);

/* ring_buffer_sample_fn */
int mdg_events_handle(void *ctx, void *data, size_t len);

/*
 * The longest line an event makes: a path of PATH_MAX - 1 control bytes is six times as long in
 * JSON (\u00XX), and the names add as much again in their share.
 */
#define MDG_EVENT_LINE_MAX (40 * 1024)

/* One event as a line (no newline), for tests and for the printer; names may be NULL. */
int mdg_event_format(const struct mdg_event *e, const char *exe, const char *node,
		     const struct mdg_proc_names *names, enum mdg_log_format fmt, char *buf,
		     size_t len);

#endif
