// SPDX-License-Identifier: GPL-2.0
/*
 * The service's view of sysfs and the policy, kept in the kernel side's maps (devmap): a scan
 * of the mdevs and vGPU functions, the selectors, the device map and the configuration in .bss;
 * and the fault points of the VM suite. run.c runs it at start, on a reload and on a rescan.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "devmap.h"
#include "log.h"
#include "mdevguard.skel.h"
#include "pin.h"
#include "service.h"
#include "vgpufn.h"

/*
 * For the VM suite's fault matrix: MDG_FAULT=STAGE kills the service with SIGKILL when it gets
 * there (loaded, filled, release-attached, adopted, decide-attached, rescan), as a crash or an
 * OOM kill would. Nothing else reads it.
 */
void mdg_fault_point(const char *stage)
{
	const char *want = getenv("MDG_FAULT");

	if (!want || strcmp(want, stage) != 0)
		return;
	mdg_warn("MDG_FAULT=%s: killing this process", stage);
	(void)fflush(NULL);
	(void)raise(SIGKILL);
}

static void warn_collect(void *ctx, const char *fmt, ...)
{
	struct service *s = ctx;
	char line[1024];
	size_t n;
	va_list ap;
	char *p;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	p = realloc(s->warnings, s->warnings_len + n + 2);
	if (!p)
		return;
	s->warnings = p;
	memcpy(p + s->warnings_len, line, n);
	p[s->warnings_len + n] = '\n';
	p[s->warnings_len + n + 1] = '\0';
	s->warnings_len += n + 1;
	/* A sysfs problem is logged when it appears, not on every rescan. */
	if (!s->warned || !strstr(s->warned, line))
		mdg_warn("%s", line);
}

/* The kernel side's count of writes to a function's type (mdg_fn_seq_fn). */
static void fn_seq(void *ctx, const struct mdg_dev_id *id, __u64 *started, __u64 *ended)
{
	struct service *s = ctx;
	struct mdg_fn_writes w;

	if (bpf_map_lookup_elem(bpf_map__fd(s->bpf.skel->maps.mdg_fn_writes), id, &w))
		return;
	*started = w.started;
	*ended = w.ended;
}

static bool add_selector(struct mdg_config *cfg, size_t *n, const struct mdg_selector *sel)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		if (!memcmp(&cfg->selectors[i], sel, sizeof(*sel)))
			return true;
	}
	if (*n == MDG_MAX_SELECTORS)
		return false;
	cfg->selectors[(*n)++] = *sel;
	return true;
}

static void add_driver(struct mdg_config *cfg, size_t *n, const char *driver)
{
	struct mdg_selector sel = { .kind = MDG_SEL_DRIVER };

	if (strlen(driver) >= sizeof(sel.driver))
		return;
	memcpy(sel.driver, driver, strlen(driver));
	if (!add_selector(cfg, n, &sel))
		mdg_warn("driver %s gives its functions vGPU types, and the kernel side's table of %d selectors is full: a function of it typed an instant before its use may be taken for a physical one until the next scan",
			 driver, MDG_MAX_SELECTORS);
}

/*
 * The selectors the kernel side matches at the use of a function it has no current entry for:
 * the operator's, the vendors' drivers, and the drivers seen giving functions a vendor's type.
 * Written in place (a decision reads them as they are): a table that only grows until the
 * policy changes.
 */
static void write_selectors(struct service *s, const struct mdg_selector *sel, size_t nr_sel,
			    const struct mdg_sysfs *scan, bool reset)
{
	struct mdg_config *cfg = &s->bpf.skel->bss->cfg;
	size_t i, n = 0;

	if (!reset) {
		while (n < MDG_MAX_SELECTORS && cfg->selectors[n].kind != MDG_SEL_NONE)
			n++;
	}
	for (i = 0; i < nr_sel; i++)
		add_selector(cfg, &n, &sel[i]);	/* room: the policy takes at most its share */
	for (i = 0; i < mdg_nr_vgpu_drivers; i++)
		add_driver(cfg, &n, mdg_vgpu_drivers[i]);
	for (i = 0; i < scan->nr_fns; i++) {
		if (scan->fns[i].layout && scan->fns[i].driver[0])
			add_driver(cfg, &n, scan->fns[i].driver);
	}
	for (i = n; reset && i < MDG_MAX_SELECTORS; i++)
		memset(&cfg->selectors[i], 0, sizeof(cfg->selectors[i]));
}

/* Brings the kernel side in line with sysfs and the policy: majors first, then the maps. */
int mdg_service_sync(struct service *s)
{
	struct mdg_config *cfg = &s->bpf.skel->bss->cfg;
	struct mdevguard *skel = s->bpf.skel;
	struct mdg_fn_opts fo = { .seq = fn_seq, .seq_ctx = s, .prev = &s->scan };
	struct mdg_selector sel[MDG_MAX_POLICY_SELECTORS];
	struct mdg_devmap_fds fds;
	struct mdg_sysfs scan = {};
	__u32 majors[MDG_MAX_MAJORS];
	struct mdg_devmap m;
	int ret;

	free(s->warned);
	s->warned = s->warnings;
	s->warnings = NULL;
	s->warnings_len = 0;
	s->rescan_due = false;
	skel->bss->rescan_asked = 0;
	ret = mdg_sysfs_scan(s->o->sysfs, &scan, warn_collect, s);
	if (ret)
		return mdg_err_errno(ret, "cannot scan %s", s->o->sysfs);
	fo.nr_sel = mdg_policy_selectors(&s->o->policy, sel);
	fo.sel = sel;
	ret = mdg_fn_scan(s->o->sysfs, &fo, &scan, warn_collect, s);
	if (ret) {
		mdg_sysfs_free(&scan);
		return mdg_err_errno(ret, "cannot scan %s for vGPU functions", s->o->sysfs);
	}
	/* Said with the scan's warnings: once, however many scans find it. */
	if (skel->bss->fn_writes_lost)
		warn_collect(s, "a write to a vGPU function's type could not be counted (the %s map is full): every vGPU function is restricted from now on, whatever its type, until mdevguard unload and a start",
			     MDG_PIN_FN_WRITES);
	write_selectors(s, sel, fo.nr_sel, &scan, s->selectors_reset);
	s->selectors_reset = false;
	memcpy(majors, cfg->majors, sizeof(majors));
	mdg_vfio_majors("/proc/devices", majors);
	ret = mdg_devmap_build(&scan, &s->o->policy, majors, &m);
	if (ret) {
		mdg_sysfs_free(&scan);
		return mdg_err_errno(ret, "cannot build the device map");
	}
	if (m.majors_dropped)
		mdg_warn("more than %d character device majors carry VFIO nodes; opens of %u of them are decided at use only",
			 MDG_MAX_MAJORS, m.majors_dropped);
	/* A superset filter is harmless: majors before the entries they let through. */
	memcpy(cfg->majors, m.majors, sizeof(m.majors));
	__sync_synchronize();
	if (s->scans++)
		mdg_fault_point("rescan");
	fds.devices = bpf_map__fd(skel->maps.mdg_devices);
	fds.types = bpf_map__fd(skel->maps.mdg_types);
	fds.overrides = bpf_map__fd(skel->maps.mdg_overrides);
	fds.functions = bpf_map__fd(skel->maps.mdg_functions);
	ret = mdg_devmap_write(&m, &fds, warn_collect, s);
	mdg_devmap_free(&m);
	mdg_sysfs_free(&s->scan);
	s->scan = scan;
	mdg_events_set_scan(&s->ev, &s->scan);
	return ret;
}

/* --broker is kept so that old configurations still start; it has nothing left to exempt. */
static void warn_brokers(struct service *s)
{
	const struct mdg_strlist *b = &s->o->policy.brokers;
	size_t i;

	for (i = 0; i < b->n; i++)
		mdg_warn("broker %s: ignored; holdings follow use, so a process that only opens devices to pass them on holds nothing and needs no exemption",
			 b->v[i]);
}

void mdg_service_apply_config(struct service *s)
{
	struct mdg_config *cfg = &s->bpf.skel->bss->cfg;

	cfg->mode = s->o->policy.mode;
	cfg->audit = s->o->policy.audit;
	cfg->deny_errno = s->o->policy.deny_errno;
	cfg->log_allow = s->o->log_allow;
	cfg->loader_pid = getpid();
	if (!cfg->loaded_at)
		cfg->loaded_at = time(NULL);
	cfg->abi = MDG_ABI_VERSION;
	cfg->disabled = 0;
	warn_brokers(s);
}

size_t mdg_service_restricted(struct service *s)
{
	enum mdg_reason r;
	size_t n = 0, i;

	for (i = 0; i < s->scan.nr_devs; i++)
		n += mdg_policy_restricted(&s->o->policy, &s->scan.devs[i], &r);
	return n;
}
