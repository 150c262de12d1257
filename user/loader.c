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
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <systemd/sd-daemon.h>

#include "events.h"
#include "log.h"
#include "metrics.h"
#include "mdevguard.skel.h"
#include "mdevguard_cli.h"

#define LSM_FILE "/sys/kernel/security/lsm"
#define MDG_METRICS_INTERVAL_S 5
#define MDG_PASS_INTERVAL_MS 2000	/* release passes while uncounted holdings remain */
#define MDG_PASS_SOON_MS 100		/* after the kernel side asked for one */

struct link_pin {
	const char *name;
	size_t prog;		/* offset of the program in the skeleton's progs */
};

#define PROG(name) offsetof(struct mdevguard, progs.name)

/*
 * Releases, forks, the device map's own hooks and the device file count first: a holding must
 * always find its way back. The first MDG_RELEASE_LINKS are attached before the first adoption
 * pass, whose holdings need them just as much (a file adopted and closed before file_free is
 * attached would be held forever); the decisions come after it.
 */
#define MDG_RELEASE_LINKS 7
static const struct link_pin link_pins[] = {
	{ "link_file_free", PROG(mdg_file_free) },
	{ "link_process_exit", PROG(mdg_process_exit) },
	{ "link_process_fork", PROG(mdg_process_fork) },
	{ "link_process_exec", PROG(mdg_process_exec) },
	{ "link_group_ioctl_exit", PROG(mdg_group_ioctl_exit) },
	{ "link_register", PROG(mdg_register) },
	{ "link_unregister", PROG(mdg_unregister) },
	{ "link_file_receive", PROG(mdg_file_receive) },
	{ "link_binder_transfer", PROG(mdg_binder_transfer) },
	{ "link_mmap_file", PROG(mdg_mmap_file) },
	{ "link_file_permission", PROG(mdg_file_permission) },
	{ "link_file_ioctl_compat", PROG(mdg_file_ioctl_compat) },
	{ "link_file_ioctl", PROG(mdg_file_ioctl) },
	{ "link_file_open", PROG(mdg_file_open) },
};

static struct bpf_program *link_prog(struct mdevguard *skel, const struct link_pin *p)
{
	return *(struct bpf_program **)((char *)skel + p->prog);
}

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
	long long pass_due_ms;	/* when the next release pass runs; 0: none planned */
	bool rescan_due;	/* the kernel side met a type it does not know */
	bool uncounted;		/* the last pass kept holdings only a pass can end */
	int adopted;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

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

/*
 * The programs read VFIO's and the mdev core's structures through the BTF of those modules and
 * trace two of VFIO's functions: both must be loaded first. Loading them is the host's business
 * (the unit does it before starting us); saying so is ours.
 */
static int check_vfio(void)
{
	static const char *const mods[] = { "vfio", "mdev" };
	char path[64];
	size_t i;

	for (i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
		snprintf(path, sizeof(path), "/sys/module/%s", mods[i]);
		if (access(path, F_OK))
			return mdg_err("the %s kernel module is not loaded: load VFIO and the mdev core first (modprobe -a vfio mdev); mdevguard recognises device files by their structures",
				       mods[i]), -ENOENT;
	}
	return 0;
}

/* Whether the running kernel has a function (an LSM hook's BPF attach point, say). */
static bool kernel_has(const char *func)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool has;

	if (!btf)
		return false;
	has = btf__find_by_name_kind(btf, func, BTF_KIND_FUNC) >= 0;
	btf__free(btf);
	return has;
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

static char *vlog_buf;
static const char *vlog_file;

static void verifier_log_setup(struct bpf_object *obj)
{
	const char *spec = getenv("MDG_VERIFIER_LOG");
	struct bpf_program *prog;
	char name[128];
	const char *colon;
	size_t size = 256 << 20;

	if (!spec || !(colon = strchr(spec, ':')))
		return;
	snprintf(name, sizeof(name), "%.*s", (int)(colon - spec), spec);
	prog = bpf_object__find_program_by_name(obj, name);
	if (!prog || (!vlog_buf && !(vlog_buf = calloc(1, size))))
		return;
	vlog_file = colon + 1;
	bpf_program__set_log_buf(prog, vlog_buf, size);
	bpf_program__set_log_level(prog, 2);
}

static void verifier_log_write(void)
{
	FILE *f;

	if (!vlog_buf || !vlog_file || !(f = fopen(vlog_file, "we")))
		return;
	fputs(vlog_buf, f);
	fclose(f);
}

/* How much the verifier walked for each program: its cost, which the start pays (SPEC §7). */
static void say_verified(struct loader *l, double seconds)
{
	char line[2048];
	struct bpf_program *prog;
	size_t off = 0;

	bpf_object__for_each_program(prog, l->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		off += snprintf(line + off, off < sizeof(line) ? sizeof(line) - off : 0, " %s=%u",
				bpf_program__name(prog) + 4, info.verified_insns);
	}
	mdg_info("BPF object loaded in %.1f s; instructions verified:%s", seconds, line);
}

static int open_and_load(struct loader *l)
{
	const char *dir = l->o->pin_dir;
	bool had_pins = pinned(dir, MDG_PIN_CONFIG);
	int abi, ret, attempt;
	long long t0;

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
		/*
		 * For developers: MDG_VERIFIER_LOG=PROG:FILE writes the verifier's full log of one
		 * program to FILE, to see where its walk spends itself.
		 */
		verifier_log_setup(l->skel->obj);
		/* 32-bit ioctls have a hook of their own since 6.8 and 6.1.y: judged there too. */
		bpf_program__set_autoload(l->skel->progs.mdg_file_ioctl_compat,
					  kernel_has("bpf_lsm_file_ioctl_compat"));
		ret = set_pin_paths(l);
		t0 = now_ms();
		if (!ret)
			ret = mdevguard__load(l->skel);
		verifier_log_write();
		if (!ret) {
			say_verified(l, (now_ms() - t0) / 1000.0);
			return 0;
		}
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
		struct bpf_program *prog = link_prog(l->skel, &link_pins[i]);

		if (!bpf_program__autoload(prog) || pinned(l->o->pin_dir, link_pins[i].name))
			continue;
		link = bpf_program__attach(prog);
		if (!link) {
			ret = -errno;
			mdg_err("cannot attach %s: %s", bpf_program__name(prog), strerror(-ret));
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

static void fill_entry(const struct mdg_policy *p, const struct mdg_sysfs_dev *d, __u32 rdev,
		       enum mdg_node node, __u32 index, struct mdg_device *v)
{
	enum mdg_reason reason;

	memset(v, 0, sizeof(*v));
	mdg_uuid_parse(d->uuid, &v->id);
	v->type_hash = mdg_type_hash(d->type);
	snprintf(v->type, sizeof(v->type), "%s", d->type);
	snprintf(v->uuid, sizeof(v->uuid), "%s", d->uuid);
	v->restricted = mdg_policy_restricted(p, d, &reason);
	v->reason = reason;
	v->node = node;
	v->node_index = index;
	v->rdev = rdev;
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
	mdg_warn("more than %d character device majors carry VFIO nodes; opens of major %u are decided at use only",
		 MDG_MAX_MAJORS, major);
}

/* VFIO's own majors, the group nodes' ("vfio") and the device cdevs' ("vfio-dev"). */
static void vfio_majors(__u32 *majors)
{
	char line[128], name[64];
	unsigned int major;
	bool chars = false;
	FILE *f;

	f = fopen("/proc/devices", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Character devices:", 18))
			chars = true;
		else if (!strncmp(line, "Block devices:", 14))
			chars = false;
		else if (chars && sscanf(line, "%u %63s", &major, name) == 2 &&
			 (!strcmp(name, "vfio") || !strcmp(name, "vfio-dev")))
			add_major(majors, major);
	}
	fclose(f);
}

/* Writes key -> value unless the map already holds exactly that: decisions read these. */
static int map_put(int fd, const void *key, const void *value, size_t size)
{
	char cur[sizeof(struct mdg_device)];

	if (size <= sizeof(cur) && !bpf_map_lookup_elem(fd, key, cur) && !memcmp(cur, value, size))
		return 0;
	return bpf_map_update_elem(fd, key, value, BPF_ANY) ? -errno : 0;
}

/* Removes the keys of a map that keep() does not want. */
static void map_prune(int fd, size_t key_size, bool (*keep)(const void *key, void *ctx), void *ctx)
{
	char key[32], next[32];
	bool first = true;

	while (!bpf_map_get_next_key(fd, first ? NULL : key, next)) {
		if (!keep(next, ctx)) {
			/* Deleting the current key would restart the walk; continue from before. */
			bpf_map_delete_elem(fd, next);
			continue;
		}
		memcpy(key, next, key_size);
		first = false;
	}
}

struct want {
	struct dev_entry *ents;
	size_t n;
	const struct mdg_policy *p;
	const struct mdg_sysfs *scan;
};

static bool keep_device(const void *key, void *ctx)
{
	const struct want *w = ctx;
	struct dev_entry k = { .rdev = *(const __u32 *)key };

	return bsearch(&k, w->ents, w->n, sizeof(*w->ents), cmp_entry) != NULL;
}

static bool type_wanted(const struct want *w, __u64 hash)
{
	size_t i;

	for (i = 0; i < w->scan->nr_types; i++)
		if (mdg_type_hash(w->scan->types[i].type) == hash)
			return true;
	for (i = 0; i < w->scan->nr_devs; i++)
		if (mdg_type_hash(w->scan->devs[i].type) == hash)
			return true;
	for (i = 0; i < w->p->restrict_types.n; i++)
		if (mdg_type_hash(w->p->restrict_types.v[i]) == hash)
			return true;
	for (i = 0; i < w->p->allow_types.n; i++)
		if (mdg_type_hash(w->p->allow_types.v[i]) == hash)
			return true;
	return false;
}

static bool keep_type(const void *key, void *ctx)
{
	return type_wanted(ctx, *(const __u64 *)key);
}

static bool keep_override(const void *key, void *ctx)
{
	const struct want *w = ctx;
	const struct mdg_strlist *lists[] = { &w->p->restrict_devices, &w->p->allow_devices };
	struct mdg_dev_id id;
	size_t i, j;

	for (i = 0; i < 2; i++)
		for (j = 0; j < lists[i]->n; j++)
			if (!mdg_uuid_parse(lists[i]->v[j], &id) && !memcmp(&id, key, sizeof(id)))
				return true;
	return false;
}

static void put_type(int fd, const struct mdg_policy *p, const char *type, enum mdg_attr attr)
{
	struct mdg_type v = {};
	enum mdg_reason reason;
	__u64 key = mdg_type_hash(type);

	snprintf(v.type, sizeof(v.type), "%s", type);
	v.restricted = mdg_policy_type_restricted(p, type, attr, &reason);
	v.reason = reason;
	if (map_put(fd, &key, &v, sizeof(v)))
		mdg_err("cannot add type %s to the type map: %s", type, strerror(errno));
}

/*
 * The policy as the kernel side reads it at each decision: every type sysfs offers (a device of
 * one it does not know fails closed), the types the operator named, and the device overrides.
 */
static void sync_policy(struct loader *l, const struct mdg_sysfs *scan, struct want *w)
{
	const struct mdg_policy *p = &l->o->policy;
	int tfd = bpf_map__fd(l->skel->maps.types), ofd = bpf_map__fd(l->skel->maps.overrides);
	const struct mdg_strlist *lists[] = { &p->restrict_devices, &p->allow_devices };
	struct mdg_override ov;
	struct mdg_dev_id id;
	size_t i, j;

	for (i = 0; i < scan->nr_types; i++)
		put_type(tfd, p, scan->types[i].type, scan->types[i].attr);
	for (i = 0; i < scan->nr_devs; i++)
		put_type(tfd, p, scan->devs[i].type, scan->devs[i].attr);
	/* A named type not offered yet: its attribute is unknown, the operator's word is not. */
	for (i = 0; i < p->restrict_types.n; i++)
		put_type(tfd, p, p->restrict_types.v[i], MDG_ATTR_MALFORMED);
	for (i = 0; i < p->allow_types.n; i++)
		put_type(tfd, p, p->allow_types.v[i], MDG_ATTR_MALFORMED);
	map_prune(tfd, sizeof(__u64), keep_type, w);

	for (i = 0; i < 2; i++) {
		for (j = 0; j < lists[i]->n; j++) {
			if (mdg_uuid_parse(lists[i]->v[j], &id))
				continue;
			memset(&ov, 0, sizeof(ov));
			mdg_uuid_format(&id, ov.uuid);
			ov.restricted = lists[i] == &p->restrict_devices;
			ov.reason = MDG_REASON_DEVICE_OVERRIDE;
			if (map_put(ofd, &id, &ov, sizeof(ov)))
				mdg_err("cannot add device override %s: %s", ov.uuid, strerror(errno));
		}
	}
	map_prune(ofd, sizeof(id), keep_override, w);
}

/*
 * Brings the kernel side in line with sysfs: majors first (a superset filter is harmless), then
 * the policy maps, then new and changed device entries, then stale ones out. Entries already
 * right are not rewritten: an open may be reading them.
 */
static int sync_devices(struct loader *l)
{
	struct mdg_config *cfg = &l->skel->bss->cfg;
	int fd = bpf_map__fd(l->skel->maps.devices);
	__u32 majors[MDG_MAX_MAJORS];
	struct mdg_sysfs scan = {};
	struct want w = {};
	size_t i, n = 0;
	int ret;

	free(l->warned);
	l->warned = l->warnings;
	l->warnings = NULL;
	l->warnings_len = 0;
	l->rescan_due = false;
	l->skel->bss->rescan_asked = 0;
	ret = mdg_sysfs_scan(l->o->sysfs, &scan, warn_collect, l);
	if (ret) {
		mdg_err("cannot scan %s: %s", l->o->sysfs, strerror(-ret));
		return ret;
	}
	w.ents = calloc(scan.nr_devs * 2 + 1, sizeof(*w.ents));
	if (!w.ents) {
		mdg_sysfs_free(&scan);
		return -ENOMEM;
	}
	w.p = &l->o->policy;
	w.scan = &scan;
	memcpy(majors, cfg->majors, sizeof(majors));
	vfio_majors(majors);
	for (i = 0; i < scan.nr_devs; i++) {
		const struct mdg_sysfs_dev *d = &scan.devs[i];

		if (d->has_group) {
			w.ents[n].rdev = MDG_MKDEV(d->group_major, d->group_minor);
			fill_entry(w.p, d, w.ents[n].rdev, MDG_NODE_GROUP, d->group, &w.ents[n].v);
			add_major(majors, d->group_major);
			n++;
		}
		if (d->has_cdev) {
			w.ents[n].rdev = MDG_MKDEV(d->cdev_major, d->cdev_minor);
			fill_entry(w.p, d, w.ents[n].rdev, MDG_NODE_CDEV,
				   strtoul(d->cdev_name + 4, NULL, 10), &w.ents[n].v);
			add_major(majors, d->cdev_major);
			n++;
		}
	}
	memcpy(cfg->majors, majors, sizeof(majors));
	__sync_synchronize();

	sync_policy(l, &scan, &w);
	for (i = 0; i < n; i++) {
		if (map_put(fd, &w.ents[i].rdev, &w.ents[i].v, sizeof(w.ents[i].v))) {
			ret = -errno;
			mdg_err("cannot add device %s (%u:%u) to the device map: %s",
				w.ents[i].v.uuid, MDG_MAJOR(w.ents[i].rdev), MDG_MINOR(w.ents[i].rdev),
				strerror(errno));
		}
	}
	qsort(w.ents, n, sizeof(*w.ents), cmp_entry);
	w.n = n;
	map_prune(fd, sizeof(__u32), keep_device, &w);

	free(w.ents);
	mdg_sysfs_free(&l->scan);
	l->scan = scan;
	mdg_events_set_scan(&l->ev, &l->scan);
	return ret;
}

/* --broker is kept so that old configurations still start; it has nothing left to exempt. */
static void warn_brokers(struct loader *l)
{
	const struct mdg_strlist *b = &l->o->policy.brokers;
	size_t i;

	for (i = 0; i < b->n; i++)
		mdg_warn("broker %s: ignored; holdings follow use, so a process that only opens devices to pass them on holds nothing and needs no exemption",
			 b->v[i]);
}

/* Runs an iterator to its end and hands each line it printed to fn; 0 or -errno. */
static int iter_lines(struct loader *l, struct bpf_program *prog, union bpf_iter_link_info *info,
		      void (*fn)(struct loader *l, const char *line))
{
	LIBBPF_OPTS(bpf_iter_attach_opts, opts);
	char buf[4096], *p, *line;
	struct bpf_link *link;
	size_t have = 0;
	ssize_t n;
	int fd, ret = 0;

	if (info) {
		opts.link_info = info;
		opts.link_info_len = sizeof(*info);
	}
	link = bpf_program__attach_iter(prog, info ? &opts : NULL);
	if (!link)
		return mdg_err("cannot create iterator %s: %s", bpf_program__name(prog),
			       strerror(errno)), -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		ret = -errno;
		mdg_err("cannot run iterator %s: %s", bpf_program__name(prog), strerror(-ret));
		bpf_link__destroy(link);
		return ret;
	}
	/* Lines may straddle reads: keep the unfinished tail for the next one. */
	while ((n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
		have += n;
		buf[have] = '\0';
		for (line = buf; (p = strchr(line, '\n')); line = p + 1) {
			*p = '\0';
			fn(l, line);
		}
		have = strlen(line);
		memmove(buf, line, have);
		if (have == sizeof(buf) - 1)
			have = 0;	/* no line is this long: drop it */
	}
	if (n < 0) {
		ret = -errno;
		mdg_warn("iterator %s: %s", bpf_program__name(prog), strerror(-ret));
	}
	close(fd);
	bpf_link__destroy(link);
	return ret;
}

static void adopt_line(struct loader *l, const char *line)
{
	mdg_info("adopted: process %s", line);
	l->adopted++;
}

/*
 * Counts what happened before we were watching: every device file or bound cdev open on the
 * host that no record accounts for makes its process a holder.
 */
static int adopt(struct loader *l)
{
	int ret;

	l->adopted = 0;
	ret = iter_lines(l, l->skel->progs.mdg_adopt, NULL, adopt_line);
	if (l->adopted)
		mdg_info("adopted %d VFIO device file(s) in use before this start", l->adopted);
	return ret;
}

static void pass_line(struct loader *l, const char *line)
{
	unsigned long long hi, lo;
	char uuid[MDG_UUID_LEN];
	struct mdg_dev_id id;
	unsigned int tgid;

	if (!strcmp(line, "U")) {
		l->uncounted = true;
	} else if (sscanf(line, "%u %llx %llx", &tgid, &hi, &lo) == 3) {
		id.hi = hi;
		id.lo = lo;
		mdg_uuid_format(&id, uuid);
		mdg_info("released: process %u has no file of %s left", tgid, uuid);
	}
}

/*
 * The release pass (SPEC §3: a holding ends within a bounded delay once its process has no
 * file of the device left, while others keep the file). Runs while holdings exist that their
 * files' count alone cannot end, and soon after the kernel side asks; see the iterators at the
 * end of mdevguard.bpf.c.
 */
static void run_pass(struct loader *l)
{
	union bpf_iter_link_info info = {};

	l->skel->bss->recheck_asked = 0;
	__atomic_add_fetch(&l->skel->bss->cfg.pass_gen, 1, __ATOMIC_SEQ_CST);
	l->uncounted = false;
	if (iter_lines(l, l->skel->progs.mdg_pass_uring, NULL, pass_line) ||
	    iter_lines(l, l->skel->progs.mdg_pass_files, NULL, pass_line))
		goto out;
	info.map.map_fd = bpf_map__fd(l->skel->maps.holders);
	iter_lines(l, l->skel->progs.mdg_pass_sweep, &info, pass_line);
out:
	l->pass_due_ms = l->uncounted ? now_ms() + MDG_PASS_INTERVAL_MS : 0;
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
	warn_brokers(l);
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

/*
 * Kernel uevents of the mdev bus or the vfio class mean the device map may be stale; so does an
 * overrun socket (ENOBUFS), which lost some.
 */
static bool uevent_relevant(int fd)
{
	char buf[8192];
	bool hit = false;
	ssize_t n;
	char *p;

	for (;;) {
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0 && errno == ENOBUFS) {
			hit = true;
			continue;
		}
		if (n <= 0)
			break;
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
		if (l->pass_due_ms && l->pass_due_ms - now_ms() < timeout)
			timeout = (int)(l->pass_due_ms - now_ms());
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
		if (l->rescan_due || time(NULL) >= next_scan) {
			sync_devices(l);
			next_scan = time(NULL) + l->o->rescan_s;
		}
		if (l->pass_due_ms && now_ms() >= l->pass_due_ms)
			run_pass(l);
	}
}

/* Ring buffer records: decisions to print, and the kernel side's requests. */
static int on_event(void *ctx, void *data, size_t len)
{
	const struct mdg_event *e = data;
	struct loader *l = ctx;
	long long soon = now_ms() + MDG_PASS_SOON_MS;

	if (len < sizeof(e->kind))
		return 0;
	switch (e->kind) {
	case MDG_EV_RECHECK:
		if (!l->pass_due_ms || l->pass_due_ms > soon)
			l->pass_due_ms = soon;
		return 0;
	case MDG_EV_UNKNOWN_TYPE:
		l->rescan_due = true;
		return 0;
	default:
		return mdg_events_handle(&l->ev, data, len);
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
	l->rb = ring_buffer__new(bpf_map__fd(l->skel->maps.events), on_event, l, NULL);
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
		ret = check_vfio();
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
	/* Holdings only a pass can end may be pinned from before; and no request is pending. */
	run_pass(&l);

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
