// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "metrics.h"

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metric(FILE *f, const char *name, const char *type, const char *help,
		   unsigned long long v)
{
	header(f, name, type, help);
	fprintf(f, "%s %llu\n", name, v);
}

/* A label value as the text format wants it: backslash, double quote and newline escaped. */
static void label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void emit(FILE *f, const struct mdg_metrics *m)
{
	const struct mdg_stats *s = &m->stats;
	size_t i;

	/* An info metric: the value is always 1, what it says is in the labels. */
	header(f, "mdevguard_build_info", "gauge",
	       "Version of the mdevguard service that wrote this file, and its map ABI.");
	fputs("mdevguard_build_info{version=\"", f);
	label_value(f, m->version ? m->version : "unknown");
	fprintf(f, "\",abi=\"%d\"} 1\n", MDG_ABI_VERSION);
	/*
	 * 0 in the last file a service writes as it exits: the file stays where the collector
	 * reads it, and enforcement may go on from the pins, but nobody follows sysfs any more.
	 */
	metric(f, "mdevguard_ready", "gauge",
	       "1 while the service has filled the device map and follows sysfs and hotplug.",
	       m->ready);
	header(f, "mdevguard_policy_info", "gauge", "Mode of enforcement and whether audit is on.");
	fputs("mdevguard_policy_info{mode=\"", f);
	label_value(f, mdg_mode_name(m->mode));
	fprintf(f, "\",audit=\"%s\"} 1\n", m->audit ? "true" : "false");

	metric(f, "mdevguard_opens_total", "counter",
	       "Opens and receipts of mdev device nodes seen by the BPF LSM program.",
	       s->opens_seen);
	/*
	 * By action only: the stats map counts per action, not per rule. Which rule decided is
	 * in each decision's log line.
	 */
	header(f, "mdevguard_decisions_total", "counter",
	       "Decisions on opens and uses of mdev devices, by action (audit_deny: a deny that audit mode let through).");
	fprintf(f, "mdevguard_decisions_total{action=\"allow\"} %llu\n"
		   "mdevguard_decisions_total{action=\"deny\"} %llu\n"
		   "mdevguard_decisions_total{action=\"audit_deny\"} %llu\n",
		(unsigned long long)s->allowed, (unsigned long long)s->denied,
		(unsigned long long)s->audit_denied);
	metric(f, "mdevguard_errors_total", "counter",
	       "Decisions that failed closed because a map or the held table was full.",
	       s->errors);
	metric(f, "mdevguard_events_lost_total", "counter",
	       "Decision events dropped because the ring buffer was full; mdevguard_decisions_total still counts them.",
	       s->lost_events);
	metric(f, "mdevguard_holdings_acquired_total", "counter",
	       "Holdings of an mdev device that began.", s->acquired);
	header(f, "mdevguard_holdings_released_total", "counter",
	       "Holdings that ended: when their last file went (last_file), or found by a release pass (release_pass).");
	fprintf(f, "mdevguard_holdings_released_total{by=\"last_file\"} %llu\n"
		   "mdevguard_holdings_released_total{by=\"release_pass\"} %llu\n",
		(unsigned long long)s->released, (unsigned long long)s->pass_released);

	header(f, "mdevguard_devices", "gauge",
	       "mdev devices and vGPU functions known to the kernel side.");
	fprintf(f, "mdevguard_devices{restricted=\"true\"} %zu\n"
		   "mdevguard_devices{restricted=\"false\"} %zu\n",
		m->restricted, m->devices - m->restricted);
	header(f, "mdevguard_vgpu_functions", "gauge",
	       "PCI functions seen as vGPUs: typed by their vendor's driver or selected (under_rule), or of a vendor's layout with no type now.");
	fprintf(f, "mdevguard_vgpu_functions{under_rule=\"true\"} %zu\n"
		   "mdevguard_vgpu_functions{under_rule=\"false\"} %zu\n",
		m->functions, m->untyped);
	metric(f, "mdevguard_holders", "gauge", "Processes holding at least one mdev device.",
	       m->holders);
	/* No sample for the sum: sum() over the label gives it, and a sum among them would count twice. */
	if (m->nr_maps)
		header(f, "mdevguard_map_memory_bytes", "gauge",
		       "Memory of each pinned BPF map, as the kernel accounts it.");
	for (i = 0; i < m->nr_maps && i < MDG_METRICS_MAX_MAPS; i++) {
		fputs("mdevguard_map_memory_bytes{map=\"", f);
		label_value(f, m->maps[i].name);
		fprintf(f, "\"} %llu\n", m->maps[i].bytes);
	}
}

int mdg_metrics_write(const char *path, const struct mdg_metrics *m)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd, ret = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		ret = -errno;
		close(fd);
		unlink(tmp);
		return ret;
	}
	emit(f, m);
	if (fflush(f) || fsync(fd))
		ret = -errno;
	if (fchmod(fd, 0644) && !ret)
		ret = -errno;
	if (fclose(f) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}
