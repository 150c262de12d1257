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
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
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

/*
 * The map states mdev opens are timed in; the other workloads run in the first only. The
 * devices map as sysfs fills it (the fixture's mdevs, a group node and a cdev each), cut down
 * to the two entries the mdev workloads open and to 16, padded to 4,096 entries, and 1,000
 * holder records of no process (in the others, the denied workload's child is the one holder).
 */
enum state { ST_SMALL, ST_DEVICES_2, ST_DEVICES_16, ST_DEVICES_4096, ST_HOLDERS_1000, NR_STATES };
static const char *const state_name[NR_STATES] = { "", " (devices map 2)", " (devices map 16)",
						   " (devices map 4096)", " (1,000 holders)" };
static const char *const state_key[NR_STATES] = { "small", "devices_2", "devices_16",
						  "devices_4096", "holders_1000" };

/*
 * Every hook's common path for a file or task that is not VFIO's, then the mdev decisions (the
 * last two, which the other map states repeat).
 */
enum wl { WL_TMPFS, WL_DEVNULL, WL_VFIO_MAJOR, WL_ENOENT, WL_EVENTFD, WL_READ, WL_WRITE,
	  WL_PIPE, WL_MMAP_FILE, WL_MMAP_ANON, WL_IOCTL, WL_FORK, WL_THREAD, WL_SPAWN,
	  WL_MDEV_ALLOWED, WL_MDEV_DENIED, NR_WL };
static const char *const wl_name[NR_WL] = {
	"open+close tmpfs file", "open+close /dev/null", "open+close VFIO group not in the map",
	"open ENOENT", "eventfd+close", "read 4 KiB tmpfs file", "write 4 KiB tmpfs file",
	"write+read 4 KiB pipe", "mmap+munmap 4 KiB tmpfs file", "mmap+munmap 4 KiB anonymous",
	"ioctl FIONREAD pipe", "fork+_exit+waitpid", "pthread_create+join",
	"posix_spawn static no-op+waitpid", "open+close mdev group, allowed",
	"open mdev group while holding another, denied",
};
static const char *const wl_key[NR_WL] = { "tmpfs", "devnull", "vfio_major", "enoent", "eventfd",
					   "read_tmpfs", "write_tmpfs", "pipe_rw", "mmap_tmpfs",
					   "mmap_anon", "ioctl_pipe", "fork", "thread", "spawn",
					   "mdev_allowed", "mdev_denied" };

/*
 * Operations per measurement, as a divisor of --ops: a process or a thread costs a hundred
 * times an open under TCG, and a round must stay short.
 */
static long wl_ops(enum wl w, long ops)
{
	long n = ops;

	if (w == WL_FORK || w == WL_SPAWN)
		n = ops / 20;
	else if (w == WL_THREAD)
		n = ops / 5;
	return n > 0 ? n : 1;
}

#define MAX_ROUNDS 200
#define NR_ROWS (NR_WL + 2 * (NR_STATES - 1))
#define IO_SIZE 4096

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
	__u32 unmapped_rdev, held_rdev, other_rdev;
	char tmpfs_file[256], enoent_file[256], noop[PATH_MAX];
	int io_fd, pipe_fd[2];
	char io_buf[IO_SIZE];
	struct mdevguard *mdg;
	struct empty_lsm *empty;
	struct bpf_link *links[64];
	int nr_links;
	__u32 group_major;
	int nr_mapped;
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

static void *thread_noop(void *arg)
{
	return arg;
}

/* One operation of the workloads that make a task: fork, thread, exec. */
static void task_op(enum wl w)
{
	static char *const argv[] = { "mdg-bench-noop", NULL };
	pthread_t th;
	pid_t pid;
	int st;

	switch (w) {
	case WL_FORK:
		pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (!pid)
			_exit(0);
		break;
	case WL_THREAD:
		errno = pthread_create(&th, NULL, thread_noop, NULL);
		if (errno || pthread_join(th, NULL))
			die("pthread_create: %s", strerror(errno));
		return;
	default:
		errno = posix_spawn(&pid, b.noop, NULL, NULL, argv, NULL);
		if (errno)
			die("posix_spawn %s: %s", b.noop, strerror(errno));
		break;
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		die("child %d: waitpid failed or it did not exit 0", pid);
}

/* One read, write or mapping of the other workloads of a hook that is not open's. */
static void io_op(enum wl w)
{
	void *m;
	int n;

	switch (w) {
	case WL_READ:
		if (pread(b.io_fd, b.io_buf, IO_SIZE, 0) != IO_SIZE)
			die("pread: %s", strerror(errno));
		break;
	case WL_WRITE:
		if (pwrite(b.io_fd, b.io_buf, IO_SIZE, 0) != IO_SIZE)
			die("pwrite: %s", strerror(errno));
		break;
	case WL_PIPE:
		if (write(b.pipe_fd[1], b.io_buf, IO_SIZE) != IO_SIZE ||
		    read(b.pipe_fd[0], b.io_buf, IO_SIZE) != IO_SIZE)
			die("pipe write+read: %s", strerror(errno));
		break;
	case WL_MMAP_FILE:
	case WL_MMAP_ANON:
		m = w == WL_MMAP_FILE ?
			mmap(NULL, IO_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, b.io_fd, 0) :
			mmap(NULL, IO_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED || munmap(m, IO_SIZE))
			die("mmap: %s", strerror(errno));
		break;
	default:
		if (ioctl(b.pipe_fd[0], FIONREAD, &n) || n)
			die("ioctl FIONREAD: %s", strerror(errno));
		break;
	}
}

/*
 * The denied workload, in a child of its own: the device it holds leaves a holder record until
 * its process is gone, and the bench's own process must stay one that never held anything (the
 * fork, thread and exec workloads are timed for such a process). Its setup and teardown are not
 * timed.
 */
static double run_denied(enum arm a, long n)
{
	int group, container, dev, p[2], st;
	double t = 0, t0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (!pid) {
		close(p[0]);
		dev = hold(b.held_node, b.held_uuid, &group, &container);
		t0 = now_ns();
		/* Denied by mdevguard; the other arms open and close it. */
		open_close(b.other_node, a == ARM_MDG ? EPERM : 0, n);
		t = (now_ns() - t0) / n;
		close(dev);
		close(group);
		close(container);
		_exit(write(p[1], &t, sizeof(t)) != sizeof(t));
	}
	close(p[1]);
	if (read(p[0], &t, sizeof(t)) != sizeof(t) || waitpid(pid, &st, 0) != pid ||
	    !WIFEXITED(st) || WEXITSTATUS(st))
		die("the denied workload's child failed");
	close(p[0]);
	return t;
}

/* Times n operations of w. */
static double run_wl(enum wl w, enum arm a, long n)
{
	double t0;
	long i;
	int fd;

	n = wl_ops(w, n);
	if (w == WL_MDEV_DENIED)
		return run_denied(a, n);
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
	case WL_READ:
	case WL_WRITE:
	case WL_PIPE:
	case WL_MMAP_FILE:
	case WL_MMAP_ANON:
	case WL_IOCTL:
		for (i = 0; i < n; i++)
			io_op(w);
		break;
	case WL_FORK:
	case WL_THREAD:
	case WL_SPAWN:
		for (i = 0; i < n; i++)
			task_op(w);
		break;
	case WL_MDEV_ALLOWED:
		open_close(b.other_node, 0, n);
		break;
	default:
		break;
	}
	return (now_ns() - t0) / n;
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

/* The devices map's entries as the service's code wrote them, to cut it down and restore it. */
static struct saved_device {
	__u32 key;
	struct mdg_device val;
} *saved;

static void save_devices(void)
{
	int fd = bpf_map__fd(b.mdg->maps.mdg_devices);
	__u32 key, next, *prev = NULL;

	saved = calloc(bpf_map__max_entries(b.mdg->maps.mdg_devices), sizeof(*saved));
	if (!saved)
		die("out of memory");
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		saved[b.nr_mapped].key = next;
		if (bpf_map_lookup_elem(fd, &next, &saved[b.nr_mapped].val))
			die("cannot read the devices map: %s", strerror(errno));
		b.nr_mapped++;
		key = next;
		prev = &key;
	}
}

/* Leaves n of the map's own entries, the two the mdev workloads open among them (n 0: all). */
static void trim_devices(int n)
{
	int fd = bpf_map__fd(b.mdg->maps.mdg_devices), left = b.nr_mapped, i;

	for (i = 0; i < b.nr_mapped; i++) {
		const struct saved_device *e = &saved[i];

		if (e->key == b.held_rdev || e->key == b.other_rdev)
			continue;
		if (n && left > n) {
			bpf_map_delete_elem(fd, &e->key);
			left--;
		} else if (bpf_map_update_elem(fd, &e->key, &e->val, BPF_ANY)) {
			die("cannot restore the devices map: %s", strerror(errno));
		}
	}
}

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
		if (!strcmp(d->uuid, b.held_uuid)) {
			snprintf(b.held_node, sizeof(b.held_node), "/dev/vfio/%u", d->group);
			b.held_rdev = MDG_MKDEV(d->group_major, d->group_minor);
		}
		if (!strcmp(d->uuid, b.other_uuid)) {
			snprintf(b.other_node, sizeof(b.other_node), "/dev/vfio/%u", d->group);
			b.other_rdev = MDG_MKDEV(d->group_major, d->group_minor);
		}
		if (!strcmp(d->uuid, b.unmapped_uuid)) {
			snprintf(b.unmapped_node, sizeof(b.unmapped_node), "/dev/vfio/%u", d->group);
			b.unmapped_rdev = MDG_MKDEV(d->group_major, d->group_minor);
		}
		b.group_major = d->group_major;
	}
	mdg_devmap_free(&m);
	mdg_sysfs_free(&scan);
	mdg_policy_free(&policy);
	if (!b.held_node[0] || !b.other_node[0] || !b.unmapped_node[0])
		die("%s, %s or %s is not an mdev with a group node in sysfs", b.held_uuid,
		    b.other_uuid, b.unmapped_uuid);
	/* A VFIO group the map does not know: the filter passes, the lookup misses (SPEC §7). */
	if (bpf_map_delete_elem(bpf_map__fd(b.mdg->maps.mdg_devices), &b.unmapped_rdev))
		die("cannot remove %s from the devices map: %s", b.unmapped_node, strerror(errno));
	save_devices();
}

/* Pads the devices map to n entries with nodes that do not exist (n 0: removes the padding). */
static void pad_devices(int n)
{
	int fd = bpf_map__fd(b.mdg->maps.mdg_devices);
	struct mdg_device d = {};
	__u32 key;
	int i;

	for (i = 0; i < 4096 - b.nr_mapped; i++) {
		key = MDG_MKDEV(b.group_major, 0x80000 + i);
		if (i >= n - b.nr_mapped) {
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

/* Fills the holders map with n holders no process is (beyond any pid), or empties it again. */
static void pad_holders(int n)
{
	int fd = bpf_map__fd(b.mdg->maps.mdg_holders);
	struct mdg_holder_key k = {};
	struct mdg_holder *h = calloc(1, sizeof(*h));
	int i;

	if (!h)
		die("out of memory");
	for (i = 0; i < 1000; i++) {
		k.tgid = 0x7ff00000 + i;
		k.start_time = 1;
		if (i >= n) {
			bpf_map_delete_elem(fd, &k);
			continue;
		}
		h->key = k;
		if (bpf_map_update_elem(fd, &k, h, BPF_ANY))
			die("cannot fill the holders map (%d of %d): %s", i, n, strerror(errno));
	}
	free(h);
}

static void set_state(enum state st)
{
	trim_devices(st == ST_DEVICES_2 ? 2 : st == ST_DEVICES_16 ? 16 : 0);
	pad_devices(st == ST_DEVICES_4096 ? 4096 : 0);
	pad_holders(st == ST_HOLDERS_1000 ? 1000 : 0);
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
	char hdr[512], cell[64];
	struct utsname u;
	size_t c;
	FILE *md;
	int i, a;

	uname(&u);
	snprintf(hdr, sizeof(hdr),
		 "kernel %s, accelerator %s, %d rounds of %ld operations (fork and spawn %ld, threads %ld) after %d warm-up, CPU %d, %d devices map entries from sysfs",
		 u.release, getenv("MDG_ACCEL") ?: "unknown", b.rounds, b.ops,
		 wl_ops(WL_FORK, b.ops), wl_ops(WL_THREAD, b.ops), b.warmup, b.cpu, b.nr_mapped);
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
		json_object_object_add(o, "state", json_object_new_string(state_key[r->st]));
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

#define STATS_REPS 3

/* The median of the repetitions in which a program ran (its ns per run is 0 in the others). */
static double median_ran(const double *v, int reps)
{
	double r[STATS_REPS];
	int i, n = 0;

	for (i = 0; i < reps; i++) {
		if (v[i] > 0)
			r[n++] = v[i];
	}
	return n ? pct(r, n, 50) : 0;
}

/*
 * ns per run and runs per operation of each program of an arm that ran, per workload, and their
 * sum: the time an arm's programs add to one operation, which TCG's wall-clock noise cannot
 * resolve when it is a few tens of ns. With warm-up rounds, each arm first runs every workload
 * once untimed (TCG translates the new trampolines' code at their first runs); then, with 8
 * rounds or more, STATS_REPS times: a program's ns per run is the median over those, its runs
 * per operation their total.
 */
static struct json_object *stats_pass(FILE *md)
{
	static const enum arm arms[] = { ARM_EMPTY, ARM_EMPTY_FENTRY, ARM_MDG };
	static double total[NR_ARMS][NR_WL], ns[NR_WL][64][STATS_REPS];
	static __u64 cnt[NR_WL][64];
	struct json_object *all = json_object_new_array();
	struct prog_stat s0[64], s1[64];
	struct bpf_program *p;
	struct bpf_object *obj;
	/* the VM suite's short pass (2 rounds, no warm-up) stays short: one repetition */
	int reps = b.rounds >= 8 ? STATS_REPS : 1, fd, w, i, rep;
	double med;
	size_t a;
	long n;

	fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0) {
		fprintf(md, "\nbpf_stats_enabled: not available (%s)\n", strerror(errno));
		return all;
	}
	fprintf(md, "\nWith bpf_stats_enabled, %d times %ld operations each (fork and spawn %ld, threads %ld), median ns per run:\n\n| arm | workload | program | ns per run | runs per op |\n|---|---|---|---:|---:|\n",
		reps, b.ops, wl_ops(WL_FORK, b.ops), wl_ops(WL_THREAD, b.ops));
	for (a = 0; a < sizeof(arms) / sizeof(arms[0]); a++) {
		obj = arms[a] == ARM_MDG ? b.mdg->obj : b.empty->obj;
		arm_attach(arms[a]);
		memset(ns, 0, sizeof(ns));
		memset(cnt, 0, sizeof(cnt));
		for (w = 0; b.warmup && w < NR_WL; w++)
			run_wl(w, arms[a], b.ops / 4 + 1);
		for (rep = 0; rep < reps; rep++) {
			for (w = 0; w < NR_WL; w++) {
				memset(s0, 0, sizeof(s0));
				memset(s1, 0, sizeof(s1));
				prog_stats(obj, s0);
				run_wl(w, arms[a], b.ops);
				prog_stats(obj, s1);
				for (i = 0; i < 64; i++) {
					__u64 dc = s1[i].cnt - s0[i].cnt;

					cnt[w][i] += dc;
					ns[w][i][rep] = dc ? (double)(s1[i].ns - s0[i].ns) / dc : 0;
				}
			}
		}
		arm_detach();
		for (w = 0; w < NR_WL; w++) {
			n = wl_ops(w, b.ops) * reps;
			i = 0;
			bpf_object__for_each_program(p, obj) {
				struct json_object *o;

				if (!cnt[w][i++])
					continue;
				med = median_ran(ns[w][i - 1], reps);
				total[arms[a]][w] += med * cnt[w][i - 1] / n;
				fprintf(md, "| %s | %s | %s | %.1f | %.3f |\n", arm_name[arms[a]],
					wl_key[w], bpf_program__name(p), med, (double)cnt[w][i - 1] / n);
				o = json_object_new_object();
				json_object_object_add(o, "arm", json_object_new_string(arm_name[arms[a]]));
				json_object_object_add(o, "workload", json_object_new_string(wl_key[w]));
				json_object_object_add(o, "program",
						       json_object_new_string(bpf_program__name(p)));
				json_object_object_add(o, "ns_per_run", json_object_new_double(med));
				json_object_object_add(o, "runs_per_op",
						       json_object_new_double((double)cnt[w][i - 1] / n));
				json_object_array_add(all, o);
			}
		}
	}
	close(fd);
	fprintf(md, "\nPrograms' time per operation (sum over programs of ns per run x runs per op):\n\n| workload | empty ns/op | mdevguard ns/op | mdevguard - empty |\n|---|---:|---:|---:|\n");
	for (w = 0; w < NR_WL; w++)
		fprintf(md, "| %s | %.1f | %.1f | %+.1f |\n", wl_name[w], total[ARM_EMPTY][w],
			total[ARM_MDG][w], total[ARM_MDG][w] - total[ARM_EMPTY][w]);
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
	char path[300], *slash;
	ssize_t n;
	int fd;

	snprintf(b.tmpfs_file, sizeof(b.tmpfs_file), "%s/mdg-bench-file", b.dir);
	snprintf(b.enoent_file, sizeof(b.enoent_file), "%s/mdg-bench-absent", b.dir);
	fd = open(b.tmpfs_file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		die("cannot create %s: %s", b.tmpfs_file, strerror(errno));
	close(fd);
	unlink(b.enoent_file);
	/* read, write and mmap: a file of its own, one page long, open for the whole run */
	snprintf(path, sizeof(path), "%s/mdg-bench-io", b.dir);
	b.io_fd = open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
	if (b.io_fd < 0 || pwrite(b.io_fd, b.io_buf, IO_SIZE, 0) != IO_SIZE)
		die("cannot create %s: %s", path, strerror(errno));
	unlink(path);
	if (pipe2(b.pipe_fd, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	/* the static no-op beside this binary (tests/bench/noop.c) */
	n = readlink("/proc/self/exe", b.noop, sizeof(b.noop) - 32);
	if (n <= 0)
		die("readlink /proc/self/exe: %s", strerror(errno));
	b.noop[n] = 0;
	slash = strrchr(b.noop, '/');
	strcpy(slash ? slash + 1 : b.noop, "mdg-bench-noop");
	if (access(b.noop, X_OK))
		die("%s: %s", b.noop, strerror(errno));
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
	close(b.io_fd);
	close(b.pipe_fd[0]);
	close(b.pipe_fd[1]);
	mdevguard__destroy(b.mdg);
	empty_lsm__destroy(b.empty);
	return 0;
}
