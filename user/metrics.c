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

static void metric(FILE *f, const char *name, const char *type, const char *help,
		   unsigned long long v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, v);
}

static void emit(FILE *f, const struct mdg_metrics *m)
{
	const struct mdg_stats *s = &m->stats;

	metric(f, "mdevguard_opens_total", "counter",
	       "Opens and receipts of mdev device nodes seen by the BPF LSM program.",
	       s->opens_seen);
	fprintf(f, "# HELP mdevguard_decisions_total Decisions on mdev opens, by action.\n"
		   "# TYPE mdevguard_decisions_total counter\n"
		   "mdevguard_decisions_total{action=\"allow\"} %llu\n"
		   "mdevguard_decisions_total{action=\"deny\"} %llu\n"
		   "mdevguard_decisions_total{action=\"would_deny\"} %llu\n",
		(unsigned long long)s->allowed, (unsigned long long)s->denied,
		(unsigned long long)s->audit_denied);
	metric(f, "mdevguard_errors_total", "counter",
	       "Decisions that failed closed because a map or the held table was full.",
	       s->errors);
	metric(f, "mdevguard_lost_events_total", "counter",
	       "Decision events dropped because the ring buffer was full.", s->lost_events);
	metric(f, "mdevguard_released_total", "counter",
	       "Holdings given back when their file's last reference went.", s->released);
	fprintf(f, "# HELP mdevguard_devices mdev devices known to the kernel side.\n"
		   "# TYPE mdevguard_devices gauge\n"
		   "mdevguard_devices{restricted=\"true\"} %zu\n"
		   "mdevguard_devices{restricted=\"false\"} %zu\n",
		m->restricted, m->devices - m->restricted);
	metric(f, "mdevguard_holders", "gauge", "Processes holding at least one mdev device.",
	       m->holders);
	fprintf(f, "# HELP mdevguard_info Mode of enforcement.\n"
		   "# TYPE mdevguard_info gauge\n"
		   "mdevguard_info{mode=\"%s\",audit=\"%s\"} 1\n",
		mdg_mode_name(m->mode), m->audit ? "true" : "false");
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
