// SPDX-License-Identifier: GPL-2.0
/*
 * mdevguard run: the service. Loads and pins the BPF side (bpfobj), keeps its maps in step with
 * sysfs and the policy (devmap), follows uevents, runs the release passes the kernel side asks
 * for, prints its decisions (events) and metrics. Pinned state outlives the service, so that
 * enforcement has no gap across a restart; a new instance adopts the pins it finds.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <systemd/sd-daemon.h>

#include "attr.h"
#include "bpfobj.h"
#include "cli.h"
#include "events.h"
#include "kstate.h"
#include "log.h"
#include "mdevguard.skel.h"
#include "metrics.h"
#include "procinfo.h"
#include "service.h"
#include "sysfs.h"
#include "uevent.h"
#include "vgpufn.h"

#define MDG_METRICS_INTERVAL_S 5
#define MDG_PASS_INTERVAL_MS 2000	/* release passes while uncounted holdings remain */
#define MDG_PASS_SOON_MS 100		/* after the kernel side asked for one */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void say_ready(struct service *s, const char *what)
{
	const struct mdg_strlist *c = &s->o->policy.compatible;
	size_t i;

	for (i = 0; i < c->n; i++)
		mdg_info("compatibility class %zu: %s", i + 1, c->v[i]);
	mdg_info("%s: %zu mdev devices (%zu restricted), mode %s%s, errno %s, pinned under %s",
		 what, s->scan.nr_devs, mdg_service_restricted(s), mdg_mode_name(s->o->policy.mode),
		 s->o->policy.audit ? " (audit)" : "", mdg_errno_name(s->o->policy.deny_errno),
		 s->o->pin_dir);
	sd_notifyf(0, "READY=1\nSTATUS=enforcing on %zu mdev devices", s->scan.nr_devs);
}

static int reload(struct service *s)
{
	int ret;

	sd_notify(0, "RELOADING=1");
	ret = mdg_opts_load_policy(s->o);
	if (ret) {
		mdg_err("configuration not reloaded; the previous one stays in force");
		sd_notify(0, "READY=1");
		return ret;
	}
	mdg_service_apply_config(s);
	s->selectors_reset = true;
	ret = mdg_service_sync(s);
	say_ready(s, "reloaded");
	return ret;
}

/* The memory of the maps that are pinned, under their pin names as status shows them. */
static void map_memory(struct service *s, struct mdg_metrics *m)
{
	const struct bpf_map *map;
	size_t i;

	for (i = 0; i < mdg_nr_pins && mdg_pins[i].kind == MDG_PIN_MAP; i++) {
		if (m->nr_maps == MDG_METRICS_MAX_MAPS)
			break;
		if (!strcmp(mdg_pins[i].obj, ".bss"))
			map = s->bpf.skel->maps.bss;
		else
			map = bpf_object__find_map_by_name(s->bpf.skel->obj, mdg_pins[i].obj);
		if (!map || bpf_map__fd(map) < 0)
			continue;
		m->maps[m->nr_maps].name = mdg_pins[i].name;
		m->maps[m->nr_maps++].bytes = mdg_map_memory(bpf_map__fd(map));
	}
}

static void write_metrics(struct service *s)
{
	struct mdg_metrics m = {};
	size_t i;
	int ret;

	if (!s->o->metrics_file)
		return;
	ret = mdg_stats_read(bpf_map__fd(s->bpf.skel->maps.mdg_stats), &m.stats);
	if (!ret) {
		m.devices = s->scan.nr_devs;
		for (i = 0; i < s->scan.nr_fns; i++) {
			if (s->scan.fns[i].source != MDG_FN_NONE)
				m.functions++;
			else
				m.untyped++;
		}
		m.restricted = mdg_service_restricted(s);
		m.holders = mdg_map_count(bpf_map__fd(s->bpf.skel->maps.mdg_holders),
					  sizeof(struct mdg_holder_key));
		m.mode = s->o->policy.mode;
		m.audit = s->o->policy.audit;
		m.version = MDG_VERSION;
		m.ready = s->bpf.skel->bss->cfg.ready;
		map_memory(s, &m);
		ret = mdg_metrics_write(s->o->metrics_file, &m);
	}
	/* Said once per kind of failure, not every few seconds. */
	if (ret && ret != s->metrics_err)
		mdg_warn("cannot write metrics to %s: %s", s->o->metrics_file, strerror(-ret));
	s->metrics_err = ret;
}

/*
 * Whether this service's pid namespace is the host's: /proc/self/status names one pid in
 * NSpid. The holders map is keyed by the kernel's own (initial namespace) pids.
 */
static bool sees_host_pids(void)
{
	char buf[4096];
	ssize_t n = mdg_read_small("/proc/self/status", buf, sizeof(buf));

	return n >= 0 && mdg_status_pid_levels(buf, (size_t)n) == 1;
}

/* Proof that the process a holder record names is gone: its pid is free, or another's. */
static bool holder_gone(const struct mdg_holder_key *k, __u64 tick)
{
	__u64 began;

	if (kill((pid_t)k->tgid, 0) && errno == ESRCH)
		return true;
	if (mdg_proc_start_ns(k->tgid, &began))
		return false;	/* not known: kept */
	return began != k->start_time / tick * tick;
}

/*
 * Records of processes that are gone, which no task_free run removed: its link was missing
 * for a while, or an earlier build followed exits on a tracing program the kernel could skip.
 * No live process has such a key, so the record decides nothing, but it takes a slot of the
 * map. Removed only on proof, and never when this service does not see the host's pids.
 */
static void prune_holders(struct service *s)
{
	int fd = bpf_map__fd(s->bpf.skel->maps.mdg_holders);
	struct mdg_holder_key key, last, *prev = NULL, *dead = NULL, *grown;
	size_t nr = 0, cap = 0, removed = 0, i;
	__u64 tick = mdg_proc_tick_ns();

	if (!s->host_pids)
		return;
	/* Keys first, removals after: a removal would restart the walk. */
	while (!bpf_map_get_next_key(fd, prev, &key)) {
		if (holder_gone(&key, tick)) {
			if (nr == cap) {
				cap = cap ? cap * 2 : 16;
				grown = reallocarray(dead, cap, sizeof(*dead));
				if (!grown)
					break;
				dead = grown;
			}
			dead[nr++] = key;
		}
		last = key;
		prev = &last;
	}
	for (i = 0; i < nr; i++)
		removed += !bpf_map_delete_elem(fd, &dead[i]);
	free(dead);
	if (removed)
		mdg_info("removed %zu holder record(s) of processes that are gone: their exit was not followed",
			 removed);
}

static void run_pass(struct service *s)
{
	mdg_bpf_pass(&s->bpf);
	prune_holders(s);
	s->pass_due_ms = s->bpf.uncounted ? now_ms() + MDG_PASS_INTERVAL_MS : 0;
}

/* Ring buffer records: decisions to print, and the kernel side's requests. */
static int on_event(void *ctx, void *data, size_t len)
{
	const struct mdg_event *e = data;
	struct service *s = ctx;
	long long soon = now_ms() + MDG_PASS_SOON_MS;

	if (len < sizeof(e->kind))
		return 0;
	switch (e->kind) {
	case MDG_EV_RECHECK:
		if (!s->pass_due_ms || s->pass_due_ms > soon)
			s->pass_due_ms = soon;
		return 0;
	case MDG_EV_UNKNOWN_TYPE:
		s->rescan_due = true;
		return 0;
	default:
		return mdg_events_handle(&s->ev, data, len);
	}
}

static int ep_add(int ep, int fd)
{
	struct epoll_event e = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) ? -errno : 0;
}

static int setup_fds(struct service *s)
{
	sigset_t mask;
	int ret;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return mdg_err_errno(errno, "cannot block signals");
	s->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sig_fd < 0)
		return mdg_err_errno(errno, "cannot open a signalfd");
	s->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->ep_fd < 0)
		return mdg_err_errno(errno, "cannot open an epoll fd");
	ret = ep_add(s->ep_fd, s->sig_fd);
	if (ret)
		return mdg_err_errno(ret, "epoll_ctl");
	s->uevent_fd = mdg_uevent_open();
	if (s->uevent_fd < 0) {
		mdg_warn("cannot listen to kernel uevents (%s): hotplug is seen by the periodic rescan only",
			 strerror(-s->uevent_fd));
	} else {
		ret = ep_add(s->ep_fd, s->uevent_fd);
		if (ret)
			return mdg_err_errno(ret, "epoll_ctl");
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->bpf.skel->maps.mdg_events), on_event, s, NULL);
	if (!s->rb)
		return mdg_err_errno(errno, "cannot open the event ring buffer");
	ret = ep_add(s->ep_fd, ring_buffer__epoll_fd(s->rb));
	return ret ? mdg_err_errno(ret, "epoll_ctl") : 0;
}

/* Decision records the ring buffer had no room for, as the kernel side counted them. */
static __u64 lost_events(struct service *s)
{
	struct mdg_stats st;

	return mdg_stats_read(bpf_map__fd(s->bpf.skel->maps.mdg_stats), &st) ? s->lost_said :
									       st.lost_events;
}

static void say_lost(struct service *s)
{
	__u64 lost = lost_events(s);

	if (lost <= s->lost_said)
		return;
	mdg_warn("%llu decision event(s) lost since the last report: the ring buffer was full; status and the metrics count every decision",
		 (unsigned long long)(lost - s->lost_said));
	s->lost_said = lost;
}

static int event_loop(struct service *s)
{
	time_t next_scan = time(NULL) + s->o->rescan_s, next_tick = time(NULL);
	struct signalfd_siginfo si;
	struct epoll_event evs[4];
	int n, i, timeout;

	for (;;) {
		if (time(NULL) >= next_tick) {
			write_metrics(s);
			say_lost(s);
			next_tick = time(NULL) + MDG_METRICS_INTERVAL_S;
		}
		timeout = (int)(next_scan - time(NULL)) * 1000;
		if ((next_tick - time(NULL)) * 1000 < timeout)
			timeout = (int)(next_tick - time(NULL)) * 1000;
		if (s->pass_due_ms && s->pass_due_ms - now_ms() < timeout)
			timeout = (int)(s->pass_due_ms - now_ms());
		if (timeout < 0)
			timeout = 0;
		n = epoll_wait(s->ep_fd, evs, 4, timeout);
		if (n < 0 && errno != EINTR)
			return mdg_err_errno(errno, "epoll_wait");
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == s->sig_fd) {
				if (read(fd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP) {
					reload(s);
					continue;
				}
				mdg_info("stopping on signal %d", si.ssi_signo);
				return 0;
			}
			if (fd == s->uevent_fd) {
				if (mdg_uevent_drain(fd))
					mdg_service_sync(s);
				continue;
			}
			ring_buffer__consume(s->rb);
		}
		if (s->rescan_due || time(NULL) >= next_scan) {
			mdg_service_sync(s);
			/* The safety net for passes the kernel side asked for and could not say so. */
			run_pass(s);
			next_scan = time(NULL) + s->o->rescan_s;
		}
		if (s->pass_due_ms && now_ms() >= s->pass_due_ms)
			run_pass(s);
	}
}

/* Loads, fills, adopts, attaches in the order that leaves no holding without its end. */
static int start(struct service *s)
{
	int ret;

	ret = mdg_bpf_load(&s->bpf, s->o->pin_dir);
	if (ret)
		return ret;
	mdg_fault_point("loaded");
	/* Pinned counters outlive a start: what an earlier one lost is not reported again. */
	s->lost_said = lost_events(s);
	mdg_events_init(&s->ev, s->o->log_format);
	mdg_service_apply_config(s);
	/* an earlier instance's selectors, its policy's, are not this one's */
	s->selectors_reset = true;
	ret = setup_fds(s);
	/* A type written from here on is counted: the scan cannot read one as current unseen. */
	if (!ret)
		ret = mdg_bpf_attach(&s->bpf, MDG_PIN_LINK_WATCH);
	/* Uevents are already queued on the socket: nothing created from here on is missed. */
	if (!ret)
		ret = mdg_service_sync(s);
	if (ret)
		return ret;
	mdg_fault_point("filled");
	ret = mdg_bpf_attach(&s->bpf, MDG_PIN_LINK_RELEASE);
	if (ret)
		return ret;
	mdg_fault_point("release-attached");
	ret = mdg_bpf_adopt(&s->bpf);
	if (ret)
		return ret;
	mdg_fault_point("adopted");
	ret = mdg_bpf_attach(&s->bpf, MDG_PIN_LINK_DECIDE);
	if (ret)
		return ret;
	mdg_fault_point("decide-attached");
	/* Uses that slipped in between the first pass and the attach. */
	return mdg_bpf_adopt(&s->bpf);
}

int mdg_cmd_run(struct mdg_opts *o, int argc, char **argv)
{
	struct service s = { .o = o, .sig_fd = -1, .uevent_fd = -1, .ep_fd = -1 };
	int ret;

	mdg_bpf_log_libbpf();
	if (geteuid() != 0) {
		mdg_err("run needs root (CAP_BPF, CAP_SYS_ADMIN, CAP_MAC_ADMIN)");
		return 1;
	}
	ret = mdg_bpf_check_kernel();
	if (!ret)
		ret = mdg_pin_dir_make(o->pin_dir);
	if (ret)
		return 1;
	if (!mdg_pin_dir_ours(o->pin_dir)) {
		mdg_err("pin dir %s holds pins that are not mdevguard's (no %s): they are left alone; name another pin dir with --pin-dir",
			o->pin_dir, MDG_PIN_CONFIG);
		return 1;
	}
	s.host_pids = sees_host_pids();
	if (!s.host_pids)
		mdg_warn("this service's pid namespace is not the host's: records of processes whose exit was missed are not removed");
	ret = start(&s);
	if (!ret) {
		s.bpf.skel->bss->cfg.ready = 1;
		say_ready(&s, "ready");
		/* Holdings only a pass can end may be pinned from before; and no request is pending. */
		run_pass(&s);
		ret = event_loop(&s);
		/* Not ready from here on, and the last metrics file says so. */
		s.bpf.skel->bss->cfg.ready = 0;
		ring_buffer__consume(s.rb);
		write_metrics(&s);
	}
	sd_notify(0, "STOPPING=1");
	/* Decisions go on without us; status says that nobody follows sysfs any more. */
	if (s.bpf.skel)
		s.bpf.skel->bss->cfg.ready = 0;
	ring_buffer__free(s.rb);
	if (o->unload_on_exit && s.bpf.skel) {
		mdg_info("unloading: removing %s", o->pin_dir);
		s.bpf.skel->bss->cfg.disabled = 1;
		mdg_unpin_all(o->pin_dir);
	}
	mdg_bpf_close(&s.bpf);
	mdg_events_free(&s.ev);
	mdg_sysfs_free(&s.scan);
	free(s.warned);
	free(s.warnings);
	if (s.uevent_fd >= 0)
		close(s.uevent_fd);
	if (s.sig_fd >= 0)
		close(s.sig_fd);
	if (s.ep_fd >= 0)
		close(s.ep_fd);
	return ret ? 1 : 0;
}
