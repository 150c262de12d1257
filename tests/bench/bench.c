// SPDX-License-Identifier: GPL-2.0
/*
 * mdg-bench: SPEC §7's cost, measured in one process. It loads mdevguard's BPF object and the
 * empty baselines itself and, round after round, attaches one arm, times every workload, and
 * detaches it, with the arms in a new random order each round:
 *
 *   none       no program
 *   empty      empty programs on every hook mdevguard attaches to
 *   empty2     the same again: empty2/empty is the A/A noise band
 *   empty-fentry  empty programs on file_open and by fentry on VFIO's two release functions:
 *              the floor of following releases there instead of on file_free_security, which
 *              mdevguard gave up because the kernel may skip a tracing program
 *   mdevguard  mdevguard's programs, its maps filled from sysfs as the service fills them
 *
 * Each workload's result is the paired ratio of one round's time to the same round's empty
 * arm, summarised as median and p10-p90 over the rounds. A second pass, with the kernel's BPF
 * run-time statistics on, gives ns per program run and runs per operation. Reported, never
 * asserted: run by the VM suite's bench scenario, see tests/bench/README.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include <linux/vfio.h>

#include "config.h"
#include "devmap.h"
#include "mdevguard.h"
#include "sysfs.h"

#include "empty_lsm.skel.h"
#include "mdevguard.skel.h"

enum arm { ARM_NONE, ARM_EMPTY, ARM_EMPTY2, ARM_EMPTY_FENTRY, ARM_MDG, NR_ARMS };
static const char *const arm_name[NR_ARMS] = { "none", "empty", "empty2", "empty-fentry",
					       "mdevguard" };

/* The map states mdev opens are timed in; the other workloads run in the first only. */
enum state { ST_SMALL, ST_DEVICES_4096, ST_HOLDERS_FULL, NR_STATES };
static const char *const state_name[NR_STATES] = { "", " (devices map 4096)",
						   " (holders map full)" };

enum wl { WL_TMPFS, WL_DEVNULL, WL_VFIO_MAJOR, WL_ENOENT, WL_EVENTFD, WL_MDEV_ALLOWED,
	  WL_MDEV_DENIED, NR_WL };
static const char *const wl_name[NR_WL] = {
	"open+close tmpfs file", "open+close /dev/null", "open+close VFIO group not in the map",
	"open ENOENT", "eventfd+close", "open+close mdev group, allowed",
	"open mdev group while holding another, denied",
};
static const char *const wl_key[NR_WL] = { "tmpfs", "devnull", "vfio_major", "enoent", "eventfd",
					   "mdev_allowed", "mdev_denied" };

#define MAX_ROUNDS 200
#define NR_ROWS (NR_WL + 2 * (NR_STATES - 1))

struct row {
	enum wl wl;
	enum state st;
	double ns[NR_ARMS][MAX_ROUNDS];
};

static struct {
	int rounds, warmup, cpu;
	long ops;
	const char *out_dir, *dir;
	const char *held_uuid, *other_uuid, *unmapped_uuid;
	char held_node[64], other_node[64], unmapped_node[64];
	__u32 unmapped_rdev;
	char tmpfs_file[256], enoent_file[256];
	struct mdevguard *mdg;
	struct empty_lsm *empty;
	struct bpf_link *links[64];
	int nr_links;
	__u32 group_major;
	int nr_mapped, holders_max;
	struct row rows[NR_ROWS];
	int nr_rows;
} b = { .rounds = 12, .warmup = 2, .cpu = 0, .ops = 5000, .out_dir = ".", .dir = "/dev/shm" };

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("mdg-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ---- workloads ------------------------------------------------------------------------- */

static void open_close(const char *path, int want_errno, long n)
{
	long i;
	int fd;

	for (i = 0; i < n; i++) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			if (want_errno)
				die("open %s succeeded, expected %s", path, strerror(want_errno));
		} else if (!want_errno || (errno != want_errno && want_errno != -1)) {
			die("open %s: %s", path, strerror(errno));
		}
	}
}

/* The legacy flow up to the device fd: the use that makes this process hold the device. */
static int hold(const char *node, const char *uuid, int *group, int *container)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int dev;

	*group = open(node, O_RDWR | O_CLOEXEC);
	if (*group < 0)
		die("open %s: %s", node, strerror(errno));
	*container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (*container < 0)
		die("open /dev/vfio/vfio: %s", strerror(errno));
	if (ioctl(*group, VFIO_GROUP_GET_STATUS, &status) ||
	    ioctl(*group, VFIO_GROUP_SET_CONTAINER, container))
		die("%s: cannot join a container: %s", node, strerror(errno));
	if (ioctl(*container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) &&
	    ioctl(*container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU))
		die("%s: cannot set an IOMMU: %s", node, strerror(errno));
	dev = ioctl(*group, VFIO_GROUP_GET_DEVICE_FD, uuid);
	if (dev < 0)
		die("%s: cannot get the device fd of %s: %s", node, uuid, strerror(errno));
	return dev;
}

/* Times n operations of w; the denied workload's setup and teardown are not timed. */
static double run_wl(enum wl w, enum arm a, long n)
{
	int group = -1, container = -1, dev = -1, fd;
	double t0, t;
	long i;

	if (w == WL_MDEV_DENIED)
		dev = hold(b.held_node, b.held_uuid, &group, &container);
	t0 = now_ns();
	switch (w) {
	case WL_TMPFS:
		open_close(b.tmpfs_file, 0, n);
		break;
	case WL_DEVNULL:
		open_close("/dev/null", 0, n);
		break;
	case WL_VFIO_MAJOR:
		open_close(b.unmapped_node, 0, n);
		break;
	case WL_ENOENT:
		open_close(b.enoent_file, ENOENT, n);
		break;
	case WL_EVENTFD:
		for (i = 0; i < n; i++) {
			fd = eventfd(0, EFD_CLOEXEC);
			if (fd < 0)
				die("eventfd: %s", strerror(errno));
			close(fd);
		}
		break;
	case WL_MDEV_ALLOWED:
		open_close(b.other_node, 0, n);
		break;
	case WL_MDEV_DENIED:
		/* Denied by mdevguard; the other arms open and close it. */
		open_close(b.other_node, a == ARM_MDG ? EPERM : 0, n);
		break;
	default:
		break;
	}
	t = (now_ns() - t0) / n;
	if (dev >= 0) {
		close(dev);
		close(group);
		close(container);
	}
	return t;
}

/* ---- arms ------------------------------------------------------------------------------ */

static void attach(struct bpf_program *p)
{
	struct bpf_link *l = bpf_program__attach(p);

	if (!l)
		die("cannot attach %s: %s", bpf_program__name(p), strerror(errno));
	b.links[b.nr_links++] = l;
}

static void arm_attach(enum arm a)
{
	struct bpf_program *p;

	switch (a) {
	case ARM_EMPTY:
	case ARM_EMPTY2:
		bpf_object__for_each_program(p, b.empty->obj) {
			if (p != b.empty->progs.empty_group_release &&
			    p != b.empty->progs.empty_device_release)
				attach(p);
		}
		break;
	case ARM_EMPTY_FENTRY:
		attach(b.empty->progs.empty_file_open);
		attach(b.empty->progs.empty_group_release);
		attach(b.empty->progs.empty_device_release);
		break;
	case ARM_MDG:
		bpf_object__for_each_program(p, b.mdg->obj) {
			if (bpf_program__autoload(p) &&
			    bpf_program__expected_attach_type(p) != BPF_TRACE_ITER)
				attach(p);
		}
		break;
	default:
		break;
	}
}

static void arm_detach(void)
{
	while (b.nr_links)
		bpf_link__destroy(b.links[--b.nr_links]);
}

/* ---- mdevguard's maps ------------------------------------------------------------------ */

static void fill_from_sysfs(void)
{
	__u32 majors[MDG_MAX_MAJORS] = {};
	struct mdg_sysfs scan = {};
	struct mdg_policy policy;
	struct mdg_devmap_fds fds;
	struct mdg_devmap m;
	size_t i;

	mdg_policy_init(&policy);
	if (mdg_sysfs_scan("/sys", &scan, NULL, NULL))
		die("cannot scan /sys");
	mdg_vfio_majors("/proc/devices", majors);
	if (mdg_devmap_build(&scan, &policy, majors, &m))
		die("cannot build the device map");
	memcpy(b.mdg->bss->cfg.majors, m.majors, sizeof(m.majors));
	fds.devices = bpf_map__fd(b.mdg->maps.mdg_devices);
	fds.types = bpf_map__fd(b.mdg->maps.mdg_types);
	fds.overrides = bpf_map__fd(b.mdg->maps.mdg_overrides);
	fds.functions = bpf_map__fd(b.mdg->maps.mdg_functions);
	if (mdg_devmap_write(&m, &fds, NULL, NULL))
		die("cannot fill mdevguard's maps");
	for (i = 0; i < scan.nr_devs; i++) {
		const struct mdg_sysfs_dev *d = &scan.devs[i];

		if (!d->has_group)
			continue;
		if (!strcmp(d->uuid, b.held_uuid))
			snprintf(b.held_node, sizeof(b.held_node), "/dev/vfio/%u", d->group);
		if (!strcmp(d->uuid, b.other_uuid))
			snprintf(b.other_node, sizeof(b.other_node), "/dev/vfio/%u", d->group);
		if (!strcmp(d->uuid, b.unmapped_uuid)) {
			snprintf(b.unmapped_node, sizeof(b.unmapped_node), "/dev/vfio/%u", d->group);
			b.unmapped_rdev = MDG_MKDEV(d->group_major, d->group_minor);
		}
		b.group_major = d->group_major;
	}
	b.nr_mapped = (int)m.nr_devs;
	mdg_devmap_free(&m);
	mdg_sysfs_free(&scan);
	mdg_policy_free(&policy);
	if (!b.held_node[0] || !b.other_node[0] || !b.unmapped_node[0])
		die("%s, %s or %s is not an mdev with a group node in sysfs", b.held_uuid,
		    b.other_uuid, b.unmapped_uuid);
	/* A VFIO group the map does not know: the filter passes, the lookup misses (SPEC §7). */
	if (bpf_map_delete_elem(bpf_map__fd(b.mdg->maps.mdg_devices), &b.unmapped_rdev))
		die("cannot remove %s from the devices map: %s", b.unmapped_node, strerror(errno));
}

/* Pads the devices map to 4096 entries of nodes that do not exist, or removes the padding. */
static void pad_devices(int on)
{
	int fd = bpf_map__fd(b.mdg->maps.mdg_devices);
	struct mdg_device d = {};
	__u32 key;
	int i;

	for (i = 0; i < 4096 - b.nr_mapped; i++) {
		key = MDG_MKDEV(b.group_major, 0x80000 + i);
		if (!on) {
			bpf_map_delete_elem(fd, &key);
			continue;
		}
		d.rdev = key;
		d.id.lo = i + 1;
		snprintf(d.type, sizeof(d.type), "bench-padding");
		if (bpf_map_update_elem(fd, &key, &d, BPF_ANY))
			die("cannot pad the devices map: %s", strerror(errno));
	}
}

/* Fills the holders map to one short of full with holders no process is, or empties it again. */
static void pad_holders(int on)
{
	int fd = bpf_map__fd(b.mdg->maps.mdg_holders);
	struct mdg_holder_key k = {};
	struct mdg_holder *h = calloc(1, sizeof(*h));
	int i;

	if (!h)
		die("out of memory");
	for (i = 0; i < b.holders_max - 1; i++) {
		k.tgid = 0x7ff00000 + i;	/* beyond any pid */
		k.start_time = 1;
		if (!on) {
			bpf_map_delete_elem(fd, &k);
			continue;
		}
		h->key = k;
		if (bpf_map_update_elem(fd, &k, h, BPF_ANY))
			die("cannot fill the holders map (%d of %d): %s", i, b.holders_max,
			    strerror(errno));
	}
	free(h);
}

static void set_state(enum state st)
{
	pad_devices(st == ST_DEVICES_4096);
	pad_holders(st == ST_HOLDERS_FULL);
}

/* ---- summary --------------------------------------------------------------------------- */

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, c = *(const double *)y;

	return a < c ? -1 : a > c;
}

/* p-th percentile (0-100) of v[0..n), nearest rank on a sorted copy. */
static double pct(const double *v, int n, double p)
{
	double s[MAX_ROUNDS];
	int i = (int)(p / 100.0 * (n - 1) + 0.5);

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return s[i];
}

struct ratio {
	double med, p10, p90;
};

static struct ratio ratio_of(const struct row *r, enum arm num, enum arm den)
{
	double v[MAX_ROUNDS];
	int i;

	for (i = 0; i < b.rounds; i++)
		v[i] = r->ns[num][i] / r->ns[den][i];
	return (struct ratio){ pct(v, b.rounds, 50), pct(v, b.rounds, 10), pct(v, b.rounds, 90) };
}

static struct json_object *ratio_json(struct ratio r)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "median", json_object_new_double(r.med));
	json_object_object_add(o, "p10", json_object_new_double(r.p10));
	json_object_object_add(o, "p90", json_object_new_double(r.p90));
	return o;
}

static void fmt_ratio(char *buf, size_t len, struct ratio r)
{
	snprintf(buf, len, "%.3f [%.3f-%.3f]", r.med, r.p10, r.p90);
}

static FILE *out_file(const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", b.out_dir, name);
	f = fopen(path, "w");
	if (!f)
		die("cannot write %s: %s", path, strerror(errno));
	return f;
}

static void report(struct json_object *stats)
{
	static const struct {
		const char *title, *key;
		enum arm num, den;
	} cols[] = {
		{ "mdevguard / empty", "mdevguard_vs_empty", ARM_MDG, ARM_EMPTY },
		{ "A/A: empty2 / empty", "aa_band", ARM_EMPTY2, ARM_EMPTY },
		{ "mdevguard / none", "mdevguard_vs_none", ARM_MDG, ARM_NONE },
		{ "empty / none", "empty_vs_none", ARM_EMPTY, ARM_NONE },
		{ "empty-fentry / empty", "empty_fentry_vs_empty", ARM_EMPTY_FENTRY, ARM_EMPTY },
	};
	struct json_object *root = json_object_new_object(), *rows = json_object_new_array();
	char hdr[256], cell[64];
	struct utsname u;
	size_t c;
	FILE *md;
	int i, a;

	uname(&u);
	snprintf(hdr, sizeof(hdr), "kernel %s, accelerator %s, %d rounds of %ld operations after %d warm-up, CPU %d",
		 u.release, getenv("MDG_ACCEL") ?: "unknown", b.rounds, b.ops, b.warmup, b.cpu);
	md = out_file("bench.md");
	fprintf(md, "%s\n\n| workload | ns/op none | ns/op empty |", hdr);
	for (c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
		fprintf(md, " %s |", cols[c].title);
	fprintf(md, "\n|---|---:|---:|");
	for (c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
		fprintf(md, "---:|");
	fputc('\n', md);
	for (i = 0; i < b.nr_rows; i++) {
		const struct row *r = &b.rows[i];
		struct json_object *o = json_object_new_object(), *ns = json_object_new_object();

		fprintf(md, "| %s%s | %.0f | %.0f |", wl_name[r->wl], state_name[r->st],
			pct(r->ns[ARM_NONE], b.rounds, 50), pct(r->ns[ARM_EMPTY], b.rounds, 50));
		json_object_object_add(o, "workload", json_object_new_string(wl_key[r->wl]));
		json_object_object_add(o, "state", json_object_new_string(
			r->st == ST_SMALL ? "small" : r->st == ST_DEVICES_4096 ? "devices_4096" :
			"holders_full"));
		for (a = 0; a < NR_ARMS; a++)
			json_object_object_add(ns, arm_name[a],
					       json_object_new_double(pct(r->ns[a], b.rounds, 50)));
		json_object_object_add(o, "median_ns_per_op", ns);
		for (c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
			struct ratio x = ratio_of(r, cols[c].num, cols[c].den);

			fmt_ratio(cell, sizeof(cell), x);
			fprintf(md, " %s |", cell);
			json_object_object_add(o, cols[c].key, ratio_json(x));
		}
		fputc('\n', md);
		json_object_array_add(rows, o);
	}
	fprintf(md, "\nRatios: median [p10-p90] over rounds of the paired per-round ratio.\n");
	fclose(md);
	json_object_object_add(root, "header", json_object_new_string(hdr));
	json_object_object_add(root, "kernel", json_object_new_string(u.release));
	json_object_object_add(root, "rounds", json_object_new_int(b.rounds));
	json_object_object_add(root, "ops", json_object_new_int64(b.ops));
	json_object_object_add(root, "rows", rows);
	json_object_object_add(root, "bpf_stats", stats);
	md = out_file("bench.json");
	fprintf(md, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	fclose(md);
	json_object_put(root);
}

/* ---- the kernel's run-time statistics -------------------------------------------------- */

struct prog_stat {
	__u64 ns, cnt;
};

static void prog_stats(struct bpf_object *obj, struct prog_stat *s)
{
	struct bpf_prog_info info;
	struct bpf_program *p;
	__u32 len;
	int i = 0;

	bpf_object__for_each_program(p, obj) {
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_program__fd(p) >= 0 &&
		    !bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len)) {
			s[i].ns = info.run_time_ns;
			s[i].cnt = info.run_cnt;
		}
		i++;
	}
}

/* ns per run and runs per operation of each program of an arm that ran, per workload. */
static struct json_object *stats_pass(FILE *md)
{
	static const enum arm arms[] = { ARM_EMPTY, ARM_EMPTY_FENTRY, ARM_MDG };
	struct json_object *all = json_object_new_array();
	struct prog_stat s0[64], s1[64];
	struct bpf_program *p;
	struct bpf_object *obj;
	size_t a;
	int fd, w, i;

	fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0) {
		fprintf(md, "\nbpf_stats_enabled: not available (%s)\n", strerror(errno));
		return all;
	}
	fprintf(md, "\nWith bpf_stats_enabled, %ld operations each:\n\n| arm | workload | program | ns per run | runs per op |\n|---|---|---|---:|---:|\n",
		b.ops);
	for (a = 0; a < sizeof(arms) / sizeof(arms[0]); a++) {
		obj = arms[a] == ARM_MDG ? b.mdg->obj : b.empty->obj;
		arm_attach(arms[a]);
		for (w = 0; w < NR_WL; w++) {
			memset(s0, 0, sizeof(s0));
			memset(s1, 0, sizeof(s1));
			prog_stats(obj, s0);
			run_wl(w, arms[a], b.ops);
			prog_stats(obj, s1);
			i = 0;
			bpf_object__for_each_program(p, obj) {
				__u64 dn = s1[i].ns - s0[i].ns, dc = s1[i].cnt - s0[i].cnt;
				struct json_object *o;

				i++;
				if (!dc)
					continue;
				fprintf(md, "| %s | %s | %s | %.1f | %.3f |\n", arm_name[arms[a]],
					wl_key[w], bpf_program__name(p), (double)dn / dc,
					(double)dc / b.ops);
				o = json_object_new_object();
				json_object_object_add(o, "arm", json_object_new_string(arm_name[arms[a]]));
				json_object_object_add(o, "workload", json_object_new_string(wl_key[w]));
				json_object_object_add(o, "program",
						       json_object_new_string(bpf_program__name(p)));
				json_object_object_add(o, "ns_per_run",
						       json_object_new_double((double)dn / dc));
				json_object_object_add(o, "runs_per_op",
						       json_object_new_double((double)dc / b.ops));
				json_object_array_add(all, o);
			}
		}
		arm_detach();
	}
	close(fd);
	return all;
}

/* ---- main ------------------------------------------------------------------------------ */

static void shuffle(int *v, int n)
{
	int i, j, t;

	for (i = n - 1; i > 0; i--) {
		j = rand() % (i + 1);
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

static void measure(void)
{
	int order[NR_ARMS], r, i, a, first[NR_STATES];
	enum state st;
	enum wl w;

	for (st = 0; st < NR_STATES; st++) {
		first[st] = b.nr_rows;
		for (w = st == ST_SMALL ? 0 : WL_MDEV_ALLOWED; w < NR_WL; w++) {
			b.rows[b.nr_rows].wl = w;
			b.rows[b.nr_rows++].st = st;
		}
	}
	for (st = 0; st < NR_STATES; st++) {
		set_state(st);
		for (r = -b.warmup; r < b.rounds; r++) {
			for (a = 0; a < NR_ARMS; a++)
				order[a] = a;
			shuffle(order, NR_ARMS);
			for (a = 0; a < NR_ARMS; a++) {
				arm_attach(order[a]);
				for (i = first[st]; i < (st + 1 < NR_STATES ? first[st + 1] : b.nr_rows);
				     i++) {
					double t = run_wl(b.rows[i].wl, order[a], b.ops);

					if (r >= 0)
						b.rows[i].ns[order[a]][r] = t;
				}
				arm_detach();
			}
		}
		fprintf(stderr, "mdg-bench: state %d of %d measured\n", st + 1, NR_STATES);
	}
	set_state(ST_SMALL);
}

static void setup_files(void)
{
	int fd;

	snprintf(b.tmpfs_file, sizeof(b.tmpfs_file), "%s/mdg-bench-file", b.dir);
	snprintf(b.enoent_file, sizeof(b.enoent_file), "%s/mdg-bench-absent", b.dir);
	fd = open(b.tmpfs_file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		die("cannot create %s: %s", b.tmpfs_file, strerror(errno));
	close(fd);
	unlink(b.enoent_file);
}

static void usage(void)
{
	fputs("usage: mdg-bench [--rounds N] [--warmup N] [--ops N] [--cpu N] [--dir TMPFS_DIR]\n"
	      "                 [--out DIR] HELD_UUID OTHER_UUID UNMAPPED_UUID\n"
	      "  Three restricted mdevs with group nodes: the denied workload holds the first and\n"
	      "  opens the second; the third is left out of the devices map, standing for a VFIO\n"
	      "  group that is not an mdev. The service must not be running.\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	struct json_object *stats;
	cpu_set_t set;
	FILE *md;
	int i;

	for (i = 1; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (!strcmp(argv[i], "--rounds"))
			b.rounds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--warmup"))
			b.warmup = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--ops"))
			b.ops = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--cpu"))
			b.cpu = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--dir"))
			b.dir = argv[i + 1];
		else if (!strcmp(argv[i], "--out"))
			b.out_dir = argv[i + 1];
		else
			usage();
	}
	if (argc - i != 3 || b.rounds < 2 || b.rounds > MAX_ROUNDS || b.warmup < 0 || b.ops < 1)
		usage();
	b.held_uuid = argv[i];
	b.other_uuid = argv[i + 1];
	b.unmapped_uuid = argv[i + 2];
	srand(time(NULL));

	CPU_ZERO(&set);
	CPU_SET(b.cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("cannot pin to CPU %d: %s", b.cpu, strerror(errno));

	b.mdg = mdevguard__open();
	b.empty = empty_lsm__open();
	if (!b.mdg || !b.empty)
		die("cannot open the BPF objects");
	/* 32-bit ioctls only: no workload here reaches it, and older kernels lack the hook. */
	bpf_program__set_autoload(b.mdg->progs.mdg_file_ioctl_compat, false);
	b.mdg->bss->cfg.abi = MDG_ABI_VERSION;
	b.mdg->bss->cfg.deny_errno = EPERM;
	b.holders_max = (int)bpf_map__max_entries(b.mdg->maps.mdg_holders);
	if (mdevguard__load(b.mdg) || empty_lsm__load(b.empty))
		die("cannot load the BPF objects: %s", strerror(errno));
	fill_from_sysfs();
	b.mdg->bss->cfg.ready = 1;
	setup_files();

	measure();
	md = out_file("bench-stats.md");
	stats = stats_pass(md);
	fclose(md);
	report(stats);
	unlink(b.tmpfs_file);
	mdevguard__destroy(b.mdg);
	empty_lsm__destroy(b.empty);
	return 0;
}
