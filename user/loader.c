// SPDX-License-Identifier: GPL-2.0
/*
 * mdevguard run: load and pin the BPF side, keep its device map in step with sysfs, and print
 * its decisions. Pinned state outlives the service so that enforcement has no gap across a
 * restart; a new instance adopts the pins it finds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <systemd/sd-daemon.h>

#include "events.h"
#include "log.h"
#include "metrics.h"
#include "mdevguard.skel.h"
#include "mdevguard_cli.h"

#define LSM_FILE "/sys/kernel/security/lsm"
#define MDG_METRICS_INTERVAL_S 5

struct link_pin {
	const char *name;
	struct bpf_program *(*prog)(struct mdevguard *skel);
};

static struct bpf_program *prog_open(struct mdevguard *s) { return s->progs.mdg_file_open; }
static struct bpf_program *prog_free(struct mdevguard *s) { return s->progs.mdg_file_free; }
static struct bpf_program *prog_recv(struct mdevguard *s) { return s->progs.mdg_file_receive; }
static struct bpf_program *prog_exit(struct mdevguard *s) { return s->progs.mdg_process_exit; }

/*
 * Release and exit first: a holding recorded by file_open must always find its way back. The
 * first MDG_RELEASE_LINKS are attached before the first adoption pass, whose holdings need them
 * just as much (a file adopted and closed before file_free is attached would be held forever).
 */
#define MDG_RELEASE_LINKS 2
static const struct link_pin link_pins[] = {
	{ "link_file_free", prog_free },
	{ "link_process_exit", prog_exit },
	{ "link_file_receive", prog_recv },
	{ "link_file_open", prog_open },
};

struct loader {
	struct mdg_opts *o;
	struct mdevguard *skel;
	struct ring_buffer *rb;
	struct mdg_events ev;
	struct mdg_sysfs scan;
	char *warned;		/* warnings of the previous scan, not repeated */
	char *warnings;
	size_t warnings_len;
	int sig_fd, uevent_fd, ep_fd;
	int metrics_err;
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	fputs("mdevguard: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

static int check_lsm(void)
{
	char buf[512], copy[512], *tok, *save;
	ssize_t n;
	int fd;

	fd = open(LSM_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		mdg_err("cannot read %s (%s): mount securityfs (mount -t securityfs securityfs /sys/kernel/security) so that the active LSMs can be checked",
			LSM_FILE, strerror(errno));
		return -errno;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	memcpy(copy, buf, sizeof(buf));
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "bpf"))
			return 0;
	}
	mdg_err("BPF LSM is not active (active LSMs: %s): boot the kernel with lsm=%s%sbpf on its command line",
		buf[0] ? buf : "none", buf, buf[0] ? "," : "");
	return -EOPNOTSUPP;
}

static int check_bpffs(const char *pin_dir)
{
	char parent[PATH_MAX], *slash;
	struct statfs st;

	snprintf(parent, sizeof(parent), "%s", pin_dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (statfs(parent, &st) || st.f_type != BPF_FS_MAGIC) {
		mdg_err("bpffs is not mounted at %s: mount it (mount -t bpf bpf %s) or choose another --pin-dir",
			parent, parent);
		return -ENOENT;
	}
	if (mkdir(pin_dir, 0700) && errno != EEXIST) {
		mdg_err("cannot create pin dir %s: %s", pin_dir, strerror(errno));
		return -errno;
	}
	return 0;
}

static void pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static bool pinned(const char *dir, const char *name)
{
	char path[PATH_MAX];

	pin_path(path, sizeof(path), dir, name);
	return access(path, F_OK) == 0;
}

int mdg_unpin_all(const char *dir)
{
	struct dirent *de;
	char path[PATH_MAX];
	DIR *d;
	int ret = 0;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		pin_path(path, sizeof(path), dir, de->d_name);
		if (unlink(path) && errno != ENOENT) {
			mdg_err("cannot remove %s: %s", path, strerror(errno));
			ret = -errno;
		}
	}
	closedir(d);
	if (rmdir(dir) && errno != ENOENT) {
		mdg_err("cannot remove %s: %s", dir, strerror(errno));
		ret = -errno;
	}
	return ret;
}

/* The pinned config map's ABI: -1 when there is none or it cannot be read. */
static int pinned_abi(const char *dir)
{
	struct mdg_config cfg;
	char path[PATH_MAX];
	__u32 zero = 0;
	int fd, ret;

	pin_path(path, sizeof(path), dir, MDG_PIN_CONFIG);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	ret = bpf_map_lookup_elem(fd, &zero, &cfg);
	close(fd);
	return ret ? -1 : (int)cfg.abi;
}

static int set_pin_paths(struct loader *l)
{
	struct bpf_map *map;
	char path[PATH_MAX];
	int ret;

	bpf_object__for_each_map(map, l->skel->obj) {
		const char *name = bpf_map__name(map);

		if (map == l->skel->maps.bss)
			name = MDG_PIN_CONFIG;
		else if (bpf_map__is_internal(map))
			continue;
		pin_path(path, sizeof(path), l->o->pin_dir, name);
		ret = bpf_map__set_pin_path(map, path);
		if (ret)
			return ret;
	}
	return 0;
}

static int open_and_load(struct loader *l)
{
	const char *dir = l->o->pin_dir;
	bool had_pins = pinned(dir, MDG_PIN_CONFIG);
	int abi, ret, attempt;

	abi = pinned_abi(dir);
	if (had_pins && abi != MDG_ABI_VERSION) {
		mdg_warn("pinned state under %s was made by an incompatible mdevguard (ABI %d, this is %d): replacing it; the holdings it recorded are dropped",
			 dir, abi, MDG_ABI_VERSION);
		mdg_unpin_all(dir);
		had_pins = false;
		ret = check_bpffs(dir);
		if (ret)
			return ret;
	}

	for (attempt = 0; attempt < 2; attempt++) {
		l->skel = mdevguard__open();
		if (!l->skel) {
			mdg_err("cannot open the BPF object: %s", strerror(errno));
			return -errno;
		}
		ret = set_pin_paths(l);
		if (!ret)
			ret = mdevguard__load(l->skel);
		if (!ret)
			return 0;
		mdevguard__destroy(l->skel);
		l->skel = NULL;
		if (!had_pins || attempt)
			break;
		/* A layout change under the same ABI number; start over rather than fail. */
		mdg_warn("pinned maps under %s do not match this build: replacing them", dir);
		mdg_unpin_all(dir);
		had_pins = false;
		if (check_bpffs(dir))
			break;
	}
	if (ret == -EPERM || ret == -EACCES)
		mdg_err("the kernel refused to load the BPF programs (%s): run as root with CAP_BPF, CAP_SYS_ADMIN and CAP_MAC_ADMIN on a kernel booted with bpf in lsm=",
			strerror(-ret));
	else
		mdg_err("cannot load the BPF programs: %s", strerror(-ret));
	return ret;
}

/* Attaches programs [from, to) unless a previous instance's links are still pinned. */
static int attach_links(struct loader *l, size_t from, size_t to)
{
	char path[PATH_MAX];
	struct bpf_link *link;
	size_t i;
	int ret;

	for (i = from; i < to; i++) {
		if (pinned(l->o->pin_dir, link_pins[i].name))
			continue;
		link = bpf_program__attach(link_pins[i].prog(l->skel));
		if (!link) {
			ret = -errno;
			mdg_err("cannot attach %s: %s", bpf_program__name(link_pins[i].prog(l->skel)),
				strerror(-ret));
			return ret;
		}
		pin_path(path, sizeof(path), l->o->pin_dir, link_pins[i].name);
		ret = bpf_link__pin(link, path);
		if (ret) {
			mdg_err("cannot pin %s: %s", path, strerror(-ret));
			bpf_link__destroy(link);
			return ret;
		}
		/* The pin keeps it attached; our reference is not needed. */
		bpf_link__destroy(link);
	}
	return 0;
}

static void warn_collect(void *ctx, const char *fmt, ...)
{
	struct loader *l = ctx;
	char line[1024];
	size_t n;
	va_list ap;
	char *p;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	p = realloc(l->warnings, l->warnings_len + n + 2);
	if (!p)
		return;
	l->warnings = p;
	memcpy(p + l->warnings_len, line, n);
	p[l->warnings_len + n] = '\n';
	p[l->warnings_len + n + 1] = '\0';
	l->warnings_len += n + 1;
	/* A sysfs problem is logged when it appears, not on every rescan. */
	if (!l->warned || !strstr(l->warned, line))
		mdg_warn("%s", line);
}

struct dev_entry {
	__u32 rdev;
	struct mdg_device v;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct dev_entry *x = a, *y = b;

	return x->rdev < y->rdev ? -1 : x->rdev > y->rdev;
}

static void fill_entry(const struct mdg_policy *p, const struct mdg_sysfs_dev *d,
		       struct mdg_device *v)
{
	enum mdg_reason reason;

	memset(v, 0, sizeof(*v));
	mdg_uuid_parse(d->uuid, &v->id);
	v->type_hash = mdg_type_hash(d->type);
	snprintf(v->type, sizeof(v->type), "%s", d->type);
	snprintf(v->uuid, sizeof(v->uuid), "%s", d->uuid);
	v->restricted = mdg_policy_restricted(p, d, &reason);
	v->reason = reason;
}

static void add_major(__u32 *majors, __u32 major)
{
	int i;

	for (i = 0; i < MDG_MAX_MAJORS; i++) {
		if (majors[i] == major)
			return;
		if (!majors[i]) {
			majors[i] = major;
			return;
		}
	}
	mdg_warn("more than %d character device majors carry mdev nodes; major %u is not enforced",
		 MDG_MAX_MAJORS, major);
}

/*
 * Brings the devices map in line with sysfs: majors first (a superset filter is harmless),
 * then new and changed entries, then stale ones out.
 */
static int sync_devices(struct loader *l)
{
	struct mdg_config *cfg = &l->skel->bss->cfg;
	int fd = bpf_map__fd(l->skel->maps.devices);
	struct dev_entry *ents, key_ent;
	struct mdg_sysfs scan = {};
	__u32 majors[MDG_MAX_MAJORS];
	__u32 key, next, *prev = NULL;
	size_t i, n = 0;
	int ret;

	free(l->warned);
	l->warned = l->warnings;
	l->warnings = NULL;
	l->warnings_len = 0;
	ret = mdg_sysfs_scan(l->o->sysfs, &scan, warn_collect, l);
	if (ret) {
		mdg_err("cannot scan %s: %s", l->o->sysfs, strerror(-ret));
		return ret;
	}
	ents = calloc(scan.nr_devs * 2 + 1, sizeof(*ents));
	if (!ents) {
		mdg_sysfs_free(&scan);
		return -ENOMEM;
	}
	memcpy(majors, cfg->majors, sizeof(majors));
	for (i = 0; i < scan.nr_devs; i++) {
		const struct mdg_sysfs_dev *d = &scan.devs[i];

		if (d->has_group) {
			ents[n].rdev = MDG_MKDEV(d->group_major, d->group_minor);
			fill_entry(&l->o->policy, d, &ents[n].v);
			ents[n].v.node = MDG_NODE_GROUP;
			ents[n].v.node_index = d->group;
			add_major(majors, d->group_major);
			n++;
		}
		if (d->has_cdev) {
			ents[n].rdev = MDG_MKDEV(d->cdev_major, d->cdev_minor);
			fill_entry(&l->o->policy, d, &ents[n].v);
			ents[n].v.node = MDG_NODE_CDEV;
			ents[n].v.node_index = strtoul(d->cdev_name + 4, NULL, 10);
			add_major(majors, d->cdev_major);
			n++;
		}
	}
	memcpy(cfg->majors, majors, sizeof(majors));
	__sync_synchronize();

	for (i = 0; i < n; i++) {
		if (bpf_map_update_elem(fd, &ents[i].rdev, &ents[i].v, BPF_ANY)) {
			ret = -errno;
			mdg_err("cannot add device %s (%u:%u) to the device map: %s",
				ents[i].v.uuid, MDG_MAJOR(ents[i].rdev), MDG_MINOR(ents[i].rdev),
				strerror(errno));
		}
	}

	qsort(ents, n, sizeof(*ents), cmp_entry);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key_ent.rdev = next;
		if (!bsearch(&key_ent, ents, n, sizeof(*ents), cmp_entry)) {
			key = next;
			bpf_map_delete_elem(fd, &key);
			/* Deleting the current key would restart the walk; continue from before. */
			continue;
		}
		key = next;
		prev = &key;
	}

	free(ents);
	mdg_sysfs_free(&l->scan);
	l->scan = scan;
	mdg_events_set_scan(&l->ev, &l->scan);
	return ret;
}

/* Brokers are known to the kernel by the inode of their executable. */
static void sync_brokers(struct loader *l)
{
	int fd = bpf_map__fd(l->skel->maps.brokers);
	const struct mdg_strlist *b = &l->o->policy.brokers;
	struct mdg_inode_key key, next;
	struct mdg_broker val;
	struct stat st;
	size_t i;

	while (bpf_map_get_next_key(fd, NULL, &next) == 0)
		bpf_map_delete_elem(fd, &next);
	for (i = 0; i < b->n; i++) {
		if (stat(b->v[i], &st)) {
			mdg_warn("broker %s: %s; not exempted", b->v[i], strerror(errno));
			continue;
		}
		memset(&key, 0, sizeof(key));
		memset(&val, 0, sizeof(val));
		key.dev = MDG_MKDEV(major(st.st_dev), minor(st.st_dev));
		key.ino = st.st_ino;
		snprintf(val.path, sizeof(val.path), "%s", b->v[i]);
		if (bpf_map_update_elem(fd, &key, &val, BPF_ANY))
			mdg_warn("broker %s: cannot add to the broker map: %s", b->v[i],
				 strerror(errno));
	}
}

/*
 * Counts what happened before we were watching: every open mdev file on the host that no
 * record accounts for becomes a holding of the process that has it open.
 */
static int adopt(struct loader *l)
{
	struct bpf_link *link;
	char buf[4096];
	int fd, n, adopted = 0;
	char *p, *line;

	link = bpf_program__attach_iter(l->skel->progs.mdg_adopt, NULL);
	if (!link) {
		mdg_err("cannot create the adoption iterator: %s", strerror(errno));
		return -errno;
	}
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		mdg_err("cannot run the adoption iterator: %s", strerror(errno));
		bpf_link__destroy(link);
		return -errno;
	}
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		for (line = strtok_r(buf, "\n", &p); line; line = strtok_r(NULL, "\n", &p)) {
			mdg_info("adopted: process %s", line);
			adopted++;
		}
	}
	if (n < 0)
		mdg_warn("adoption iterator: %s", strerror(errno));
	close(fd);
	bpf_link__destroy(link);
	if (adopted)
		mdg_info("adopted %d open mdev file(s) opened before this start", adopted);
	return 0;
}

static void apply_config(struct loader *l)
{
	struct mdg_config *cfg = &l->skel->bss->cfg;

	cfg->mode = l->o->policy.mode;
	cfg->audit = l->o->policy.audit;
	cfg->deny_errno = l->o->policy.deny_errno;
	cfg->log_allow = l->o->log_allow;
	cfg->loader_pid = getpid();
	if (!cfg->loaded_at)
		cfg->loaded_at = time(NULL);
	cfg->abi = MDG_ABI_VERSION;
	sync_brokers(l);
}

static int open_uevents(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int fd;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    NETLINK_KOBJECT_UEVENT);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Kernel uevents of the mdev bus or the vfio class mean the device map may be stale. */
static bool uevent_relevant(int fd)
{
	char buf[8192];
	bool hit = false;
	ssize_t n;
	char *p;

	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		for (p = buf; p < buf + n; p += strlen(p) + 1) {
			if (!strcmp(p, "SUBSYSTEM=mdev") || !strcmp(p, "SUBSYSTEM=vfio") ||
			    !strcmp(p, "SUBSYSTEM=vfio-dev") || !strcmp(p, "SUBSYSTEM=mdev_bus"))
				hit = true;
		}
	}
	return hit;
}

static int ep_add(int ep, int fd)
{
	struct epoll_event e = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) ? -errno : 0;
}

static void say_ready(struct loader *l, const char *what)
{
	size_t restricted = 0, i;

	for (i = 0; i < l->scan.nr_devs; i++) {
		enum mdg_reason r;

		restricted += mdg_policy_restricted(&l->o->policy, &l->scan.devs[i], &r);
	}
	mdg_info("%s: %zu mdev devices (%zu restricted), mode %s%s, errno %s, pinned under %s",
		 what, l->scan.nr_devs, restricted, mdg_mode_name(l->o->policy.mode),
		 l->o->policy.audit ? " (audit)" : "", mdg_errno_name(l->o->policy.deny_errno),
		 l->o->pin_dir);
	sd_notifyf(0, "READY=1\nSTATUS=enforcing on %zu mdev devices", l->scan.nr_devs);
}

static int reload(struct loader *l)
{
	int ret;

	sd_notify(0, "RELOADING=1");
	ret = mdg_opts_load_policy(l->o);
	if (ret) {
		mdg_err("configuration not reloaded; the previous one stays in force");
		sd_notify(0, "READY=1");
		return ret;
	}
	apply_config(l);
	ret = sync_devices(l);
	say_ready(l, "reloaded");
	return ret;
}

static void write_metrics(struct loader *l)
{
	struct mdg_metrics m = {};
	size_t i;
	int ret;

	if (!l->o->metrics_file)
		return;
	ret = mdg_stats_read(bpf_map__fd(l->skel->maps.stats), &m.stats);
	if (!ret) {
		for (i = 0; i < l->scan.nr_devs; i++) {
			enum mdg_reason r;

			m.devices++;
			m.restricted += mdg_policy_restricted(&l->o->policy, &l->scan.devs[i], &r);
		}
		m.holders = mdg_map_count(bpf_map__fd(l->skel->maps.holders),
					  sizeof(struct mdg_holder_key));
		m.mode = l->o->policy.mode;
		m.audit = l->o->policy.audit;
		ret = mdg_metrics_write(l->o->metrics_file, &m);
	}
	/* Said once per kind of failure, not every few seconds. */
	if (ret && ret != l->metrics_err)
		mdg_warn("cannot write metrics to %s: %s", l->o->metrics_file, strerror(-ret));
	l->metrics_err = ret;
}

static int event_loop(struct loader *l)
{
	struct epoll_event evs[4];
	struct signalfd_siginfo si;
	time_t next_scan = time(NULL) + l->o->rescan_s;
	time_t next_metrics = time(NULL);
	int n, i, timeout;

	for (;;) {
		if (l->o->metrics_file && time(NULL) >= next_metrics) {
			write_metrics(l);
			next_metrics = time(NULL) + MDG_METRICS_INTERVAL_S;
		}
		timeout = (int)(next_scan - time(NULL)) * 1000;
		if (l->o->metrics_file && (next_metrics - time(NULL)) * 1000 < timeout)
			timeout = (int)(next_metrics - time(NULL)) * 1000;
		if (timeout < 0)
			timeout = 0;
		n = epoll_wait(l->ep_fd, evs, 4, timeout);
		if (n < 0 && errno != EINTR) {
			mdg_err("epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == l->sig_fd) {
				if (read(fd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP) {
					reload(l);
					continue;
				}
				mdg_info("stopping on signal %d", si.ssi_signo);
				return 0;
			}
			if (fd == l->uevent_fd) {
				if (uevent_relevant(fd))
					sync_devices(l);
				continue;
			}
			ring_buffer__consume(l->rb);
		}
		if (time(NULL) >= next_scan) {
			sync_devices(l);
			next_scan = time(NULL) + l->o->rescan_s;
		}
	}
}

static int setup_fds(struct loader *l)
{
	sigset_t mask;
	int ret;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	l->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (l->sig_fd < 0)
		return -errno;
	l->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep_fd < 0)
		return -errno;
	ret = ep_add(l->ep_fd, l->sig_fd);
	if (ret)
		return ret;
	l->uevent_fd = open_uevents();
	if (l->uevent_fd < 0) {
		mdg_warn("cannot listen to kernel uevents (%s): hotplug is seen by the periodic rescan only",
			 strerror(-l->uevent_fd));
	} else {
		ret = ep_add(l->ep_fd, l->uevent_fd);
		if (ret)
			return ret;
	}
	l->rb = ring_buffer__new(bpf_map__fd(l->skel->maps.events), mdg_events_handle, &l->ev,
				 NULL);
	if (!l->rb) {
		mdg_err("cannot open the event ring buffer: %s", strerror(errno));
		return -errno;
	}
	return ep_add(l->ep_fd, ring_buffer__epoll_fd(l->rb));
}

int mdg_cmd_run(struct mdg_opts *o)
{
	struct loader l = { .o = o, .sig_fd = -1, .uevent_fd = -1, .ep_fd = -1 };
	int ret;

	libbpf_set_print(libbpf_print);
	if (geteuid() != 0) {
		mdg_err("run needs root (CAP_BPF, CAP_SYS_ADMIN, CAP_MAC_ADMIN)");
		return 1;
	}
	ret = check_lsm();
	if (!ret)
		ret = check_bpffs(o->pin_dir);
	if (!ret)
		ret = open_and_load(&l);
	if (ret)
		return 1;
	mdg_info("BPF object loaded");

	mdg_events_init(&l.ev, o->log_format);
	apply_config(&l);
	ret = setup_fds(&l);
	if (ret) {
		mdg_err("cannot set up the event loop: %s", strerror(-ret));
		goto out;
	}
	/* Uevents are already queued on the socket: nothing created from here on is missed. */
	ret = sync_devices(&l);
	if (ret)
		goto out;
	ret = attach_links(&l, 0, MDG_RELEASE_LINKS);
	if (ret)
		goto out;
	ret = adopt(&l);
	if (ret)
		goto out;
	ret = attach_links(&l, MDG_RELEASE_LINKS, sizeof(link_pins) / sizeof(link_pins[0]));
	if (ret)
		goto out;
	/* Opens that slipped in between the first pass and the attach. */
	ret = adopt(&l);
	if (ret)
		goto out;
	l.skel->bss->cfg.ready = 1;
	say_ready(&l, "ready");

	ret = event_loop(&l);
	ring_buffer__consume(l.rb);
	write_metrics(&l);
out:
	sd_notify(0, "STOPPING=1");
	ring_buffer__free(l.rb);
	if (o->unload_on_exit) {
		mdg_info("unloading: removing %s", o->pin_dir);
		mdg_unpin_all(o->pin_dir);
	}
	mdevguard__destroy(l.skel);
	mdg_sysfs_free(&l.scan);
	free(l.warned);
	free(l.warnings);
	if (l.uevent_fd >= 0)
		close(l.uevent_fd);
	if (l.sig_fd >= 0)
		close(l.sig_fd);
	if (l.ep_fd >= 0)
		close(l.ep_fd);
	return ret ? 1 : 0;
}
