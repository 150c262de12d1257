/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The state of mdevguard run (struct service), shared by the daemon loop (run.c) and the
 * keeping of sysfs and the policy in the kernel side's maps (runsync.c).
 */
#ifndef MDG_SERVICE_H
#define MDG_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "bpfobj.h"
#include "cli.h"
#include "events.h"
#include "sysfs.h"

struct ring_buffer;

struct service {
	struct mdg_opts *o;
	struct mdg_bpf bpf;
	struct ring_buffer *rb;
	struct mdg_events ev;
	struct mdg_sysfs scan;
	char *warned;		/* warnings of the previous scan, not repeated */
	char *warnings;
	size_t warnings_len;
	int sig_fd, uevent_fd, ep_fd;
	int metrics_err;
	long long pass_due_ms;	/* when the next release pass runs; 0: none planned */
	bool rescan_due;	/* the kernel side met a type it does not know */
	bool selectors_reset;	/* the policy changed: the kernel side's selectors are rebuilt */
	unsigned long scans;
	__u64 lost_said;	/* lost events already reported */
	bool host_pids;		/* this service sees the pids the holders map is keyed by */
};

/*
 * For the VM suite's fault matrix: MDG_FAULT=STAGE kills the service when it gets there
 * (runsync.c).
 */
void mdg_fault_point(const char *stage);
/* A scan of sysfs into the kernel side's maps; 0, or a negative errno already logged. */
int mdg_service_sync(struct service *s);
/* The policy's settings into .bss. */
void mdg_service_apply_config(struct service *s);
/* How many of the scanned devices the policy restricts. */
size_t mdg_service_restricted(struct service *s);

#endif
