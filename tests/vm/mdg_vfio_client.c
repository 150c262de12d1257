// SPDX-License-Identifier: GPL-2.0
/*
 * mdg-vfio-client: a scriptable VFIO user for mdevguard's VM tests.
 *
 * It opens mdev devices the way a legacy VFIO user (QEMU before iommufd) does, so that the
 * tests see exactly the errno such a program would see, and it can hold devices, wait for
 * other processes and race threads against each other. See usage() for the command language.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/io_uring.h>
#include <linux/vfio.h>

/*
 * The iommufd uAPI of 6.6+, for kernels with IOMMUFD and the VFIO device cdev; Debian 12's
 * linux-libc-dev (6.1) has none of it. From include/uapi/linux/{vfio,iommufd}.h of 6.12.
 */
#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD	_IO(VFIO_TYPE, VFIO_BASE + 18)
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT	_IO(VFIO_TYPE, VFIO_BASE + 19)
#endif
#ifndef IOMMU_IOAS_ALLOC
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC	_IO(';', 0x81)
#endif

/* 6.8+: installs a ring's fixed file in the fd table (and so passes file_receive). */
#ifndef IORING_OP_FIXED_FD_INSTALL
#define IORING_OP_FIXED_FD_INSTALL	54
#endif

#define MAX_SLOTS	256
#define MAX_RACERS	256
#define EXIT_USAGE	125
#define MAX_FAILED	100	/* keep the exit code clear of the shell's 126+ */
#define RES_CTRUNC	(-1000)	/* recvfd: the kernel dropped the fd and set MSG_CTRUNC */

#ifndef SYS_pidfd_open
#define SYS_pidfd_open	434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd	438
#endif

struct slot {
	char name[PATH_MAX];	/* UUID for open:, path for openpath: */
	int group_fd;
	int device_fd;
	int path_fd;
	void *map;		/* region 0 of the device, mapped */
	struct ring *ring;	/* an io_uring whose fixed file 0 is the device file */
};

/* An io_uring with one submission at a time: enough to move and use a fixed file. */
struct ring {
	int fd;
	unsigned int *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

#define MAP_LEN	4096

static struct slot slots[MAX_SLOTS];
static int container_fd = -1;
static int iommufd = -1;		/* /dev/iommu, for the cdev and iommufd-group flows */
static __u32 ioas_id;
static int container_groups;
static const char *iommu_name;
static int iommu_pref;		/* 0: try TYPE1v2, then TYPE1 */

static void usage(FILE *f)
{
	fprintf(f,
"usage: mdg-vfio-client [--iommu auto|type1v2|type1] [--inherit NAME=FD[,DEVFD]] OP[=EXPECT]...\n"
"\n"
"Runs the operations in order and prints one line per operation:\n"
"  <op> <arg> ok [details]\n"
"  <op> <arg> errno=<n> <ENAME> [step=<where>] [details]\n"
"followed by ' UNEXPECTED expected=<EXPECT>' when the result is not the expected one.\n"
"\n"
"Operations:\n"
"  open:UUID[@NODE]    legacy VFIO flow on the mdev UUID: open the group node (NODE, or\n"
"                      /dev/vfio/<N> from /sys/bus/mdev/devices/UUID/iommu_group; UUID may\n"
"                      be a PCI address, with /sys/bus/pci/devices/ADDR/iommu_group),\n"
"                      VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU (once per process),\n"
"                      VFIO_GROUP_GET_DEVICE_FD, VFIO_DEVICE_GET_INFO; keeps it all open\n"
"  group:UUID[@NODE]   only open the group node and keep it open\n"
"  close:UUID          close the device and group fds of UUID (and unmap)\n"
"  cdev:UUID           open the device cdev /dev/vfio/devices/vfioX of UUID (no use);\n"
"                      UUID may be a PCI address (ADDR: /sys/bus/pci/devices/ADDR/vfio-dev)\n"
"  bind:NAME           use the cdev of NAME: open /dev/iommu (once per process),\n"
"                      VFIO_DEVICE_BIND_IOMMUFD, IOMMU_IOAS_ALLOC (once),\n"
"                      VFIO_DEVICE_ATTACH_IOMMUFD_PT, VFIO_DEVICE_GET_INFO\n"
"  open-cdev:UUID      cdev:UUID then bind:UUID (QEMU's iommufd backend)\n"
"  open-ifd:UUID       the legacy flow with the group attached to an iommufd instead of\n"
"                      a container (VFIO_GROUP_SET_CONTAINER with the /dev/iommu fd)\n"
"  use:NAME[@UUID]     the rest of the legacy flow on the group fd of slot NAME, which was\n"
"                      opened with group:, received or inherited: set the container and\n"
"                      IOMMU, VFIO_GROUP_GET_DEVICE_FD for UUID (default NAME), GET_INFO\n"
"  closegroup:NAME     close only the group fd of NAME\n"
"  closedev:NAME       close only the device fd of NAME\n"
"  info:NAME           VFIO_DEVICE_GET_INFO on the device fd of NAME\n"
"  read:NAME           pread 8 bytes of region 0 from the device fd of NAME\n"
"  write:NAME          pwrite 8 bytes to region 0\n"
"  mmap:NAME[:INDEX]   map region 0 (or INDEX) of the device fd of NAME and write to it;\n"
"                      for a PCI function, or with INDEX, only a region that\n"
"                      VFIO_DEVICE_GET_REGION_INFO says is mappable (else ENXIO\n"
"                      step=region)\n"
"  munmap:NAME         unmap it\n"
"  vmchild:vfork|vm:UUID\n"
"                      a child that shares this process's memory (clone with CLONE_VM,\n"
"                      and CLONE_VFORK for vfork, as posix_spawn does) runs the legacy\n"
"                      flow on UUID with a container of its own, maps region 0 and exits;\n"
"                      the result is the child's; what it mapped stays in this memory, and\n"
"                      this process writes to it\n"
"  closerace:UUID:ROUNDS\n"
"                      the legacy flow on UUID, then ROUNDS times VFIO_GROUP_GET_DEVICE_FD\n"
"                      while another thread closes the fd number it will get, as fast as\n"
"                      it can: the device file is often gone before the ioctl returns\n"
"  forks:N             fork N children that wait for this process to exit (they die with\n"
"                      it); they inherit its holdings\n"
"  spawn:NAME:ARGS:PIDFILE\n"
"                      fork and exec another mdg-vfio-client that inherits the fds of\n"
"                      slot NAME (--inherit) and runs the operations in the file ARGS\n"
"                      (whitespace separated); its pid goes to PIDFILE; this one goes on\n"
"  uring-take:NAME:FILE an io_uring with one empty fixed-file slot; write \"<pid> <ring\n"
"                      fd>\" to FILE, then wait for the file another process sends into\n"
"                      the slot with IORING_OP_MSG_RING\n"
"  uring-give:NAME:FILE register the device fd of NAME as fixed file 0 of an io_uring,\n"
"                      take the other ring's fd named in FILE with pidfd_getfd (io_uring\n"
"                      fds do not travel over SCM_RIGHTS) and send the device file to its\n"
"                      slot with IORING_OP_MSG_RING: no fd of the device changes hands\n"
"  uring-read:NAME     IORING_OP_READ of 8 bytes from fixed file 0 of NAME's ring\n"
"  uring-install:NAME  IORING_OP_FIXED_FD_INSTALL of it (6.8+): an fd, a receipt\n"
"  hotplug:TYPEDIR:N:UUIDPREFIX:BASE\n"
"                      N times: create the mdev UUIDPREFIX%%012x(BASE+i) by writing it to\n"
"                      TYPEDIR/create, open its group node the moment it exists (busy\n"
"                      loop), attach it to this process's container and get its device\n"
"                      fd; then close and remove it. Prints escapes (device fds obtained),\n"
"                      denials at open and at use; ok means no escape\n"
"  mapped:TYPEDIR:N:UUIDPREFIX:BASE\n"
"                      N times: create the mdev and open its group node until the open is\n"
"                      denied (this process must hold a restricted device); prints the\n"
"                      time from create to the first denial, min/median/max in ms\n"
"  openpath:PATH       open() any file and keep it open: O_RDWR for a character device,\n"
"                      O_RDONLY otherwise\n"
"  closepath:PATH      close it\n"
"  touch:FILE          create FILE (a signal to another process)\n"
"  wait:FILE[:SEC]     block until FILE exists (default at most 60 s)\n"
"  sleep:SEC           sleep, fractions allowed\n"
"  thread:             a thread that sleeps until the process exits\n"
"  forkmap:UUID:UUID2:ROUNDS:FDS\n"
"                      keep FDS more fds open; ROUNDS times receive a new device file of\n"
"                      UUID from a child that gets it for us (no use), and fork while\n"
"                      another thread maps it (the first use) at a delay that sweeps the\n"
"                      fork's length; each\n"
"                      child checks whether the mapping reached it and opens UUID2 with\n"
"                      its own container. ok when no child that has the mapping got UUID2\n"
"                      (EPERM: one did; EIO: a child failed otherwise)\n"
"  thread-open:UUID    a new thread runs open:UUID and exits; the fds stay with the\n"
"                      process\n"
"  churn:UUID:SEC[:MS[:map|:mapfork]]\n"
"                      open:UUID (every step to the device fd), with map: map region 0\n"
"                      and write to it (mapfork: a forked child writes too and exits),\n"
"                      keep it MS milliseconds\n"
"                      (default 0), close it, and again, for SEC seconds; prints the\n"
"                      number of rounds and the errors (EBUSY... count as errors)\n"
"  dup:UUID:NAME       dup() the group fd of UUID, kept as the group fd of NAME\n"
"                      (UUID/dev and NAME/dev: the device fd)\n"
"  pid:FILE            write this process's pid to FILE\n"
"  publish:UUID:FILE   write \"<pid> <group fd>\" of UUID (UUID/dev: its device fd) to FILE\n"
"                      (for getfd)\n"
"  fork:FILE           fork; the parent writes the child's pid to FILE and exits with the\n"
"                      number of unexpected results so far; the child runs the rest\n"
"  becomepid:FILE      fork children until one gets the pid written in FILE; that child\n"
"                      runs the rest, the parent waits for it and exits with its status\n"
"                      (the others exit at once); gives up after 4 * pid_max forks\n"
"  sendfd:SOCK:UUID    connect to the unix socket SOCK (waiting up to 60 s for it) and\n"
"                      send the group fd of UUID (UUID/dev: its device fd) with\n"
"                      SCM_RIGHTS; keeps its own fd\n"
"  recvfd:SOCK:NAME    listen on SOCK, accept one connection, receive one fd with\n"
"                      SCM_RIGHTS and keep it as the group fd of NAME (NAME/dev: as its\n"
"                      device fd); a receive the kernel refused (MSG_CTRUNC, no fd) is\n"
"                      CTRUNC\n"
"  getfd:FILE:NAME     pidfd_open + pidfd_getfd of the \"<pid> <fd>\" in FILE; the fd is\n"
"                      kept as the group fd of NAME (NAME/dev: as its device fd)\n"
"  race:THREADS:ROUNDS:ANCHOR:UUID,UUID,...\n"
"                      the container is set up on the group of ANCHOR (opened, never\n"
"                      used); then each round THREADS threads open the group node of a\n"
"                      different UUID and attach it, and, released together by a\n"
"                      barrier, ask for its device fd; the winners of a round must be\n"
"                      exactly one; all close; repeat. Prints\n"
"                      race threads=T rounds=R violations=V winners_min=A\n"
"                      winners_max=B loser_errno=E other_errors=N seconds=S ok|violated\n"
"\n"
"EXPECT is ok (the default), an errno name such as EPERM or EBUSY, CTRUNC, or any.\n"
"For race, ok means no violation.\n"
"\n"
"Exit status: the number of operations whose result was not the expected one (at most\n"
"%d); %d for a usage error.\n", MAX_FAILED, EXIT_USAGE);
}

static const char *errname(int err)
{
	const char *n;

	if (err == RES_CTRUNC)
		return "CTRUNC";
	n = strerrorname_np(err);

	return n ? n : "E?";
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct slot *slot_find(const char *name)
{
	int i;

	for (i = 0; i < MAX_SLOTS; i++) {
		if (slots[i].name[0] && !strcmp(slots[i].name, name))
			return &slots[i];
	}
	return NULL;
}

static struct slot *slot_new(const char *name)
{
	int i;

	for (i = 0; i < MAX_SLOTS; i++) {
		if (slots[i].name[0])
			continue;
		snprintf(slots[i].name, sizeof(slots[i].name), "%s", name);
		slots[i].group_fd = -1;
		slots[i].device_fd = -1;
		slots[i].path_fd = -1;
		return &slots[i];
	}
	return NULL;
}

static void ring_free(struct ring *r);

static void slot_free(struct slot *s)
{
	if (s->ring)
		ring_free(s->ring);
	if (s->map)
		munmap(s->map, MAP_LEN);
	if (s->device_fd >= 0)
		close(s->device_fd);
	if (s->group_fd >= 0) {
		close(s->group_fd);
		container_groups--;
	}
	if (s->path_fd >= 0)
		close(s->path_fd);
	memset(s, 0, sizeof(*s));
	/* a container without groups forgets its IOMMU: start afresh next time */
	if (container_groups <= 0 && container_fd >= 0) {
		close(container_fd);
		container_fd = -1;
		container_groups = 0;
		iommu_name = NULL;
	}
}

/*
 * The sysfs directory of a device named by the mdev UUID or, for a VFIO PCI device (vfio-pci
 * or a variant driver such as the mdg_vgpu fixture), by its PCI address: an mdev's first, so
 * that an mdev is found where it always was.
 */
static void dev_dir(const char *name, char *dir, size_t len)
{
	snprintf(dir, len, "/sys/bus/mdev/devices/%.255s", name);
	if (access(dir, F_OK) == 0)
		return;
	snprintf(dir, len, "/sys/bus/pci/devices/%.255s", name);
	if (access(dir, F_OK) == 0)
		return;
	snprintf(dir, len, "/sys/bus/mdev/devices/%.255s", name);
}

/* A device that is a PCI function (no mdev of that name). */
static int is_pci_name(const char *name)
{
	char dir[PATH_MAX];

	dev_dir(name, dir, sizeof(dir));
	return !strncmp(dir, "/sys/bus/pci/", 13);
}

/* "UUID@NODE" -> uuid and node path; without @, the group node from sysfs. */
static int group_node(const char *arg, char *uuid, size_t ulen, char *node, size_t nlen)
{
	char dir[PATH_MAX - 16], link[PATH_MAX], target[PATH_MAX - 16];
	const char *at = strchr(arg, '@');
	const char *base;
	ssize_t n;

	if (at) {
		snprintf(uuid, ulen, "%.*s", (int)(at - arg), arg);
		snprintf(node, nlen, "%s", at + 1);
		return 0;
	}
	snprintf(uuid, ulen, "%s", arg);
	dev_dir(uuid, dir, sizeof(dir));
	snprintf(link, sizeof(link), "%s/iommu_group", dir);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	snprintf(node, nlen, "/dev/vfio/%s", base ? base + 1 : target);
	return 0;
}

/* "NAME" or "NAME/dev": a slot's group fd, or its device fd. */
static int *slot_fd(const char *arg, struct slot **sp)
{
	char name[PATH_MAX];
	size_t n = strlen(arg);
	int dev = n > 4 && !strcmp(arg + n - 4, "/dev");
	struct slot *s;

	snprintf(name, sizeof(name), "%.*s", (int)(dev ? n - 4 : n), arg);
	s = slot_find(name);
	if (sp)
		*sp = s;
	if (!s)
		return NULL;
	return dev ? &s->device_fd : &s->group_fd;
}

/* A new slot for "NAME" or "NAME/dev", taking fd as its group or device fd. */
static int slot_take(const char *arg, int fd)
{
	char name[PATH_MAX];
	size_t n = strlen(arg);
	int dev = n > 4 && !strcmp(arg + n - 4, "/dev");
	struct slot *s;

	snprintf(name, sizeof(name), "%.*s", (int)(dev ? n - 4 : n), arg);
	s = slot_find(name);
	if (!s)
		s = slot_new(name);
	if (!s)
		return EMFILE;
	if (dev) {
		s->device_fd = fd;
	} else {
		s->group_fd = fd;
		container_groups++;
	}
	return 0;
}

static int set_iommu(void)
{
	static const struct {
		int type;
		const char *name;
	} types[] = {
		{ VFIO_TYPE1v2_IOMMU, "TYPE1v2" },
		{ VFIO_TYPE1_IOMMU, "TYPE1" },
	};
	int i, err = ENODEV;

	for (i = 0; i < 2; i++) {
		if (iommu_pref && iommu_pref != types[i].type)
			continue;
		if (ioctl(container_fd, VFIO_CHECK_EXTENSION, types[i].type) <= 0)
			continue;
		if (ioctl(container_fd, VFIO_SET_IOMMU, types[i].type) == 0) {
			iommu_name = types[i].name;
			return 0;
		}
		err = errno;
	}
	return -err;
}

/* The group of s into this process's container, with its IOMMU set: no device is used. */
static int group_attach(struct slot *s, const char **step)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int err;

	*step = "status";
	if (ioctl(s->group_fd, VFIO_GROUP_GET_STATUS, &status))
		return -errno;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EINVAL;

	*step = "container";
	if (container_fd < 0) {
		container_fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
		if (container_fd < 0)
			return -errno;
		if (ioctl(container_fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
			return -EINVAL;
	}

	*step = "set-container";
	if (ioctl(s->group_fd, VFIO_GROUP_SET_CONTAINER, &container_fd))
		return -errno;

	*step = "set-iommu";
	if (!iommu_name) {
		err = set_iommu();
		if (err)
			return err;
	}
	return 0;
}

/* The legacy flow past the open of the group node; -errno and the step on failure. */
static int group_use(struct slot *s, const char *uuid, const char **step, char *details,
		     size_t dlen)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	int err;

	err = group_attach(s, step);
	if (err)
		return err;

	*step = "get-device-fd";
	s->device_fd = ioctl(s->group_fd, VFIO_GROUP_GET_DEVICE_FD, uuid);
	if (s->device_fd < 0)
		return -errno;

	*step = "device-info";
	if (ioctl(s->device_fd, VFIO_DEVICE_GET_INFO, &info))
		return -errno;

	snprintf(details, dlen, "iommu=%s device_fd=%d flags=0x%x regions=%u irqs=%u",
		 iommu_name, s->device_fd, info.flags, info.num_regions, info.num_irqs);
	return 0;
}

/* The legacy flow; on failure returns -errno and names the step. */
static int vfio_open(struct slot *s, const char *uuid, const char *node, int full,
		     const char **step, char *details, size_t dlen)
{
	char more[512];
	int err;

	*step = "group";
	s->group_fd = open(node, O_RDWR | O_CLOEXEC);
	if (s->group_fd < 0)
		return -errno;
	container_groups++;
	snprintf(details, dlen, "node=%.256s", node);
	if (!full)
		return 0;
	err = group_use(s, uuid, step, more, sizeof(more));
	if (!err)
		snprintf(details, dlen, "node=%.256s %.200s", node, more);
	return err;
}

/* Result of one operation, printed as one line. */
struct result {
	int err;		/* 0 or positive errno */
	const char *step;
	char details[PATH_MAX + 512];
};

static int op_open(const char *arg, int full, struct result *r)
{
	char uuid[PATH_MAX], node[PATH_MAX];
	struct slot *s;
	int ret;

	ret = group_node(arg, uuid, sizeof(uuid), node, sizeof(node));
	if (ret) {
		r->step = "sysfs";
		return -ret;
	}
	/* a second slot for the same device is how a reopen is tried */
	s = slot_new(uuid);
	if (!s) {
		r->step = "slots";
		return EMFILE;
	}
	ret = vfio_open(s, uuid, node, full, &r->step, r->details, sizeof(r->details));
	if (ret) {
		slot_free(s);
		return -ret;
	}
	r->step = NULL;
	return 0;
}

static int op_close(const char *arg, struct result *r)
{
	struct slot *s = slot_find(arg);

	if (!s)
		return ENOENT;
	slot_free(s);
	return 0;
}

static int iommufd_open(void)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

	if (iommufd >= 0)
		return 0;
	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (iommufd < 0)
		return errno;
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc)) {
		int err = errno;

		close(iommufd);
		iommufd = -1;
		return err;
	}
	ioas_id = alloc.out_ioas_id;
	return 0;
}

/*
 * The cdev node of a device: /sys/bus/mdev/devices/UUID/vfio-dev/vfioX for an mdev,
 * /sys/bus/pci/devices/ADDR/vfio-dev/vfioX for a VFIO PCI function.
 */
static int cdev_node(const char *uuid, char *node, size_t len)
{
	char dir[PATH_MAX - 16], path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	dev_dir(uuid, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/vfio-dev", dir);
	d = opendir(path);
	if (!d)
		return errno;
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, "vfio", 4)) {
			snprintf(node, len, "/dev/vfio/devices/%s", de->d_name);
			closedir(d);
			return 0;
		}
	}
	closedir(d);
	return ENOENT;
}

static int op_cdev(const char *uuid, struct result *r)
{
	char node[PATH_MAX];
	struct slot *s;
	int err;

	r->step = "sysfs";
	err = cdev_node(uuid, node, sizeof(node));
	if (err)
		return err;
	s = slot_new(uuid);
	if (!s)
		return EMFILE;
	r->step = "cdev";
	s->device_fd = open(node, O_RDWR | O_CLOEXEC);
	if (s->device_fd < 0) {
		err = errno;
		slot_free(s);
		return err;
	}
	r->step = NULL;
	snprintf(r->details, sizeof(r->details), "node=%s", node);
	return 0;
}

static int op_bind(const char *arg, struct result *r)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct slot *s = slot_find(arg);
	int err;

	if (!s || s->device_fd < 0)
		return EBADF;
	r->step = "iommufd";
	err = iommufd_open();
	if (err)
		return err;
	bind.iommufd = iommufd;
	r->step = "bind";
	if (ioctl(s->device_fd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		return errno;
	attach.pt_id = ioas_id;
	r->step = "attach";
	if (ioctl(s->device_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		return errno;
	r->step = "device-info";
	if (ioctl(s->device_fd, VFIO_DEVICE_GET_INFO, &info))
		return errno;
	r->step = NULL;
	snprintf(r->details, sizeof(r->details), "devid=%u ioas=%u flags=0x%x", bind.out_devid,
		 ioas_id, info.flags);
	return 0;
}

static int op_open_cdev(const char *uuid, struct result *r)
{
	int err = op_cdev(uuid, r);

	if (err)
		return err;
	err = op_bind(uuid, r);
	if (err) {
		struct slot *s = slot_find(uuid);

		if (s)
			slot_free(s);
	}
	return err;
}

/* The group flow with the group attached to an iommufd rather than to a VFIO container. */
static int op_open_ifd(const char *arg, struct result *r)
{
	char uuid[PATH_MAX], node[PATH_MAX];
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct slot *s;
	int err;

	r->step = "sysfs";
	err = group_node(arg, uuid, sizeof(uuid), node, sizeof(node));
	if (err)
		return -err;
	r->step = "iommufd";
	err = iommufd_open();
	if (err)
		return err;
	s = slot_new(uuid);
	if (!s)
		return EMFILE;
	r->step = "group";
	s->group_fd = open(node, O_RDWR | O_CLOEXEC);
	if (s->group_fd < 0)
		goto fail;
	r->step = "set-iommufd";
	if (ioctl(s->group_fd, VFIO_GROUP_SET_CONTAINER, &iommufd))
		goto fail;
	r->step = "get-device-fd";
	s->device_fd = ioctl(s->group_fd, VFIO_GROUP_GET_DEVICE_FD, uuid);
	if (s->device_fd < 0)
		goto fail;
	r->step = "device-info";
	if (ioctl(s->device_fd, VFIO_DEVICE_GET_INFO, &info))
		goto fail;
	r->step = NULL;
	container_groups++;	/* as slot_free() expects of a slot with a group fd */
	snprintf(r->details, sizeof(r->details), "node=%.256s device_fd=%d", node, s->device_fd);
	return 0;
fail:
	err = errno;
	/* not counted in container_groups: close the fds by hand */
	if (s->device_fd >= 0)
		close(s->device_fd);
	if (s->group_fd >= 0)
		close(s->group_fd);
	memset(s, 0, sizeof(*s));
	return err;
}

static void ring_free(struct ring *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

static struct ring *ring_new(void)
{
	struct io_uring_params p = { 0 };
	struct ring *r = calloc(1, sizeof(*r));
	size_t sq_len, cq_len;
	void *sq, *cq;

	if (!r)
		return NULL;
	r->fd = syscall(__NR_io_uring_setup, 4, &p);
	if (r->fd < 0)
		goto fail;
	sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		  IORING_OFF_SQ_RING);
	cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		  IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED)
		goto fail;
	r->sq_tail = sq + p.sq_off.tail;
	r->sq_mask = sq + p.sq_off.ring_mask;
	r->sq_array = sq + p.sq_off.array;
	r->cq_head = cq + p.cq_off.head;
	r->cq_tail = cq + p.cq_off.tail;
	r->cq_mask = cq + p.cq_off.ring_mask;
	r->cqes = cq + p.cq_off.cqes;
	return r;
fail:
	if (r->fd >= 0)
		close(r->fd);
	free(r);
	return NULL;
}

static struct io_uring_sqe *ring_sqe(struct ring *r)
{
	unsigned int tail = *r->sq_tail, idx = tail & *r->sq_mask;
	struct io_uring_sqe *sqe = &r->sqes[idx];

	memset(sqe, 0, sizeof(*sqe));
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	return sqe;
}

/* Submits what is queued (submit 0: nothing) and waits for one completion: its res. */
static int ring_wait(struct ring *r, unsigned int submit, __u64 *user_data)
{
	unsigned int head;
	int res;

	if (syscall(__NR_io_uring_enter, r->fd, submit, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return -errno;
	head = *r->cq_head;
	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return -EAGAIN;
	res = r->cqes[head & *r->cq_mask].res;
	if (user_data)
		*user_data = r->cqes[head & *r->cq_mask].user_data;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

static int ring_files(struct ring *r, int fd)
{
	struct io_uring_rsrc_register reg = { .nr = 1 };
	__s32 fds[1] = { fd };

	if (fd < 0) {
		/* one empty slot */
		reg.flags = IORING_RSRC_REGISTER_SPARSE;
		return syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_FILES2, &reg,
			       sizeof(reg)) ? errno : 0;
	}
	return syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_FILES, fds, 1) ? errno : 0;
}

static int device_fd(const char *arg);
static int write_file(const char *path, const char *fmt, ...);
static int take_fd(const char *file, int *fd);

static int op_uring_take(const char *arg, struct result *r)
{
	char name[PATH_MAX];
	const char *colon = strchr(arg, ':');
	struct ring *ring;
	struct slot *s;
	__u64 ud = 0;
	int err, res;

	if (!colon)
		return EINVAL;
	snprintf(name, sizeof(name), "%.*s", (int)(colon - arg), arg);
	ring = ring_new();
	if (!ring)
		return errno ? errno : ENOMEM;
	r->step = "register";
	err = ring_files(ring, -1);
	if (!err) {
		r->step = "publish";
		err = write_file(colon + 1, "%d %d\n", getpid(), ring->fd);
	}
	if (!err) {
		r->step = "msg-ring";
		res = ring_wait(ring, 0, &ud);
		if (res < 0)
			err = -res;
	}
	if (err) {
		ring_free(ring);
		return err;
	}
	s = slot_find(name);
	if (!s)
		s = slot_new(name);
	if (!s) {
		ring_free(ring);
		return EMFILE;
	}
	s->ring = ring;
	r->step = NULL;
	snprintf(r->details, sizeof(r->details), "ring=%d", ring->fd);
	return 0;
}

static int op_uring_give(const char *arg, struct result *r)
{
	char name[PATH_MAX];
	const char *colon = strchr(arg, ':');
	struct io_uring_sqe *sqe;
	struct ring *ring;
	int other = -1, err, res;

	if (!colon)
		return EINVAL;
	snprintf(name, sizeof(name), "%.*s", (int)(colon - arg), arg);
	if (device_fd(name) < 0)
		return EBADF;
	ring = ring_new();
	if (!ring)
		return errno ? errno : ENOMEM;
	r->step = "register";
	err = ring_files(ring, device_fd(name));
	if (!err) {
		r->step = "pidfd_getfd";
		err = take_fd(colon + 1, &other);
	}
	if (!err) {
		r->step = "msg-ring";
		sqe = ring_sqe(ring);
		sqe->opcode = IORING_OP_MSG_RING;
		sqe->fd = other;
		sqe->addr = IORING_MSG_SEND_FD;
		sqe->addr3 = 0;		/* our fixed file 0 */
		sqe->file_index = 1;	/* their slot 0 */
		sqe->off = 0x6d6467;	/* the user_data of their completion */
		res = ring_wait(ring, 1, NULL);
		if (res < 0)
			err = -res;
	}
	if (other >= 0)
		close(other);
	ring_free(ring);
	return err;
}

static struct ring *slot_ring(const char *name)
{
	struct slot *s = slot_find(name);

	return s ? s->ring : NULL;
}

static int op_uring_read(const char *arg, struct result *r)
{
	struct ring *ring = slot_ring(arg);
	struct io_uring_sqe *sqe;
	char buf[8];
	int res;

	if (!ring)
		return EBADF;
	sqe = ring_sqe(ring);
	sqe->opcode = IORING_OP_READ;
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->fd = 0;
	sqe->addr = (__u64)(unsigned long)buf;
	sqe->len = sizeof(buf);
	sqe->off = 0;
	res = ring_wait(ring, 1, NULL);
	if (res < 0)
		return -res;
	snprintf(r->details, sizeof(r->details), "bytes=%d", res);
	return 0;
}

static int op_uring_install(const char *arg, struct result *r)
{
	struct ring *ring = slot_ring(arg);
	struct io_uring_sqe *sqe;
	struct slot *s = slot_find(arg);
	int res;

	if (!ring || !s)
		return EBADF;
	sqe = ring_sqe(ring);
	sqe->opcode = IORING_OP_FIXED_FD_INSTALL;
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->fd = 0;
	res = ring_wait(ring, 1, NULL);
	if (res < 0)
		return -res;
	if (s->device_fd >= 0)
		close(s->device_fd);
	s->device_fd = res;
	snprintf(r->details, sizeof(r->details), "fd=%d", res);
	return 0;
}

static int op_use(const char *arg, struct result *r)
{
	char name[PATH_MAX];
	const char *at = strchr(arg, '@');
	struct slot *s;
	int ret;

	snprintf(name, sizeof(name), "%.*s", (int)(at ? at - arg : (long)strlen(arg)), arg);
	s = slot_find(name);
	if (!s || s->group_fd < 0)
		return ENOENT;
	ret = group_use(s, at ? at + 1 : name, &r->step, r->details, sizeof(r->details));
	if (ret)
		return -ret;
	r->step = NULL;
	return 0;
}

static int op_closeone(const char *arg, int dev)
{
	struct slot *s = slot_find(arg);
	int *fd;

	if (!s)
		return ENOENT;
	fd = dev ? &s->device_fd : &s->group_fd;
	if (*fd < 0)
		return EBADF;
	close(*fd);
	*fd = -1;
	if (!dev)
		container_groups--;
	return 0;
}

static int device_fd(const char *arg)
{
	struct slot *s = slot_find(arg);

	return s ? s->device_fd : -1;
}

static int op_info(const char *arg, struct result *r)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	int fd = device_fd(arg);

	if (fd < 0)
		return EBADF;
	if (ioctl(fd, VFIO_DEVICE_GET_INFO, &info))
		return errno;
	snprintf(r->details, sizeof(r->details), "flags=0x%x", info.flags);
	return 0;
}

static int op_rw(const char *arg, int write, struct result *r)
{
	char buf[8] = "mdg-rw";
	int fd = device_fd(arg);
	ssize_t n;

	if (fd < 0)
		return EBADF;
	n = write ? pwrite(fd, buf, sizeof(buf), 0) : pread(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return errno;
	snprintf(r->details, sizeof(r->details), "bytes=%zd", n);
	return 0;
}

/*
 * Where region INDEX of a VFIO PCI device may be mapped: its offset in the device file, or
 * ENXIO when the region is not mappable for MAP_LEN bytes (an I/O port BAR, a BAR smaller than
 * a page, a BAR the device does not have), so that nothing is mapped that would fault.
 */
static int region_offset(int fd, unsigned int index, off_t *offset, struct result *r)
{
	struct vfio_region_info info = { .argsz = sizeof(info), .index = index };

	r->step = "region-info";
	if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &info))
		return errno;
	snprintf(r->details, sizeof(r->details), "region=%u size=%llu flags=0x%x", index,
		 (unsigned long long)info.size, info.flags);
	r->step = "region";
	if (!(info.flags & VFIO_REGION_INFO_FLAG_MMAP) || info.size < MAP_LEN)
		return ENXIO;
	*offset = info.offset;
	r->step = NULL;
	return 0;
}

/*
 * mmap:NAME maps region 0 at offset 0, as the mdev fixture has it; for a PCI function (no mdev
 * of that name) region 0 is BAR 0, asked for first. mmap:NAME:INDEX maps region INDEX of any
 * device that lists its regions.
 */
static int op_mmap(const char *arg, struct result *r)
{
	char name[PATH_MAX];
	const char *colon = strrchr(arg, ':');
	struct slot *s = slot_find(arg);
	unsigned int index = 0;
	int query = 0, err;
	off_t offset = 0;
	void *p;

	snprintf(name, sizeof(name), "%s", arg);
	if (!s && colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
		snprintf(name, sizeof(name), "%.*s", (int)(colon - arg), arg);
		index = strtoul(colon + 1, NULL, 10);
		s = slot_find(name);
		query = 1;
	}
	if (!s || s->device_fd < 0)
		return EBADF;
	if (query || is_pci_name(name)) {
		err = region_offset(s->device_fd, index, &offset, r);
		if (err)
			return err;
	}
	r->step = "mmap";
	p = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, s->device_fd, offset);
	if (p == MAP_FAILED)
		return errno;
	r->step = NULL;
	memcpy(p, "mdg-map", 8);
	if (s->map)
		munmap(s->map, MAP_LEN);
	s->map = p;
	return 0;
}

static int op_munmap(const char *arg)
{
	struct slot *s = slot_find(arg);

	if (!s || !s->map)
		return EBADF;
	munmap(s->map, MAP_LEN);
	s->map = NULL;
	return 0;
}

/* What a vmchild: child leaves in the memory it shares with its parent. */
struct vmchild {
	const char *uuid;
	char node[PATH_MAX];
	const char *step;
	int err;
	void *map;
};

/*
 * The child of vmchild:, on its own stack in its parent's memory: no stdio, and its own
 * container, so that the parent's descriptors (which the child does not share) stay the
 * parent's. It returns with its files closed by its exit; a mapping outlives them.
 */
static int vmchild_main(void *arg)
{
	struct vmchild *vc = arg;
	int saved_container = container_fd, saved_groups = container_groups;
	const char *saved_iommu = iommu_name;
	struct slot s = { .group_fd = -1, .device_fd = -1, .path_fd = -1 };
	char details[512];
	void *p;

	container_fd = -1;
	iommu_name = NULL;
	vc->err = -vfio_open(&s, vc->uuid, vc->node, 1, &vc->step, details, sizeof(details));
	if (!vc->err) {
		vc->step = "mmap";
		p = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, s.device_fd, 0);
		if (p == MAP_FAILED)
			vc->err = errno;
		else
			vc->map = p;
	}
	container_fd = saved_container;
	container_groups = saved_groups;
	iommu_name = saved_iommu;
	return 0;
}

static int op_vmchild(const char *arg, struct result *r)
{
	static struct vmchild vc;
	const char *colon = strchr(arg, ':');
	char uuid[PATH_MAX];
	size_t stack_len = 256 * 1024;
	int flags = CLONE_VM | SIGCHLD, status, err;
	char *stack;
	pid_t pid;

	if (!colon)
		return EINVAL;
	if (!strncmp(arg, "vfork:", 6))
		flags |= CLONE_VFORK;
	else if (strncmp(arg, "vm:", 3))
		return EINVAL;
	memset(&vc, 0, sizeof(vc));
	err = group_node(colon + 1, uuid, sizeof(uuid), vc.node, sizeof(vc.node));
	if (err) {
		r->step = "sysfs";
		return -err;
	}
	vc.uuid = uuid;
	stack = malloc(stack_len);
	if (!stack)
		return ENOMEM;
	fflush(stdout);
	pid = clone(vmchild_main, stack + stack_len, flags, &vc);
	if (pid < 0) {
		err = errno;
		free(stack);
		r->step = "clone";
		return err;
	}
	if (waitpid(pid, &status, 0) != pid) {
		err = errno;
		free(stack);
		return err;
	}
	free(stack);
	if (vc.map) {
		/* the child is gone; what it mapped is this process's to use */
		memcpy(vc.map, "mdg-vm", 7);
		snprintf(r->details, sizeof(r->details), "child=%d mapped=%p", pid, vc.map);
	} else {
		snprintf(r->details, sizeof(r->details), "child=%d", pid);
	}
	r->step = vc.err ? vc.step : NULL;
	return vc.err;
}

/* closerace's other thread: closes one fd number until told to stop. */
struct closer {
	int fd;
	volatile int stop;
	long closed;
};

static void *closer_main(void *arg)
{
	struct closer *c = arg;

	while (!c->stop) {
		if (close(c->fd) == 0)
			c->closed++;
	}
	return NULL;
}

static int op_closerace(const char *arg, struct result *r)
{
	const char *colon = strchr(arg, ':');
	char uuid[PATH_MAX], node[PATH_MAX], details[512];
	struct closer c = { .fd = -1 };
	long rounds, i, got = 0;
	pthread_t t;
	struct slot *s;
	int fd, err;

	if (!colon)
		return EINVAL;
	rounds = strtol(colon + 1, NULL, 10);
	snprintf(node, sizeof(node), "%.*s", (int)(colon - arg), arg);
	err = group_node(node, uuid, sizeof(uuid), node, sizeof(node));
	if (err) {
		r->step = "sysfs";
		return -err;
	}
	s = slot_new(uuid);
	if (!s)
		return EMFILE;
	err = -vfio_open(s, uuid, node, 1, &r->step, details, sizeof(details));
	if (err) {
		slot_free(s);
		return err;
	}
	close(s->device_fd);
	s->device_fd = -1;
	/* the lowest free number: where every new device fd lands */
	c.fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (c.fd < 0)
		return errno;
	close(c.fd);
	err = pthread_create(&t, NULL, closer_main, &c);
	if (err)
		return err;
	for (i = 0; i < rounds; i++) {
		fd = ioctl(s->group_fd, VFIO_GROUP_GET_DEVICE_FD, uuid);
		if (fd >= 0) {
			got++;
			if (fd != c.fd)
				close(fd);
		}
	}
	c.stop = 1;
	pthread_join(t, NULL);
	close(c.fd);
	slot_free(s);
	r->step = NULL;
	snprintf(r->details, sizeof(r->details), "rounds=%ld device_fds=%ld closed_by_other=%ld",
		 rounds, got, c.closed);
	return got ? 0 : EIO;
}

/* The children of forks:, killed and reaped when this process exits. */
static pid_t *sleepers;
static long nr_sleepers;

static void sleepers_end(void)
{
	long i;

	for (i = 0; i < nr_sleepers; i++)
		kill(sleepers[i], SIGKILL);
	for (i = 0; i < nr_sleepers; i++)
		waitpid(sleepers[i], NULL, 0);
	nr_sleepers = 0;
}

/* forks:N: children that hold what this process holds, and wait for it to exit. */
static int op_forks(const char *arg, struct result *r)
{
	long n = strtol(arg, NULL, 10), i;
	pid_t *grown, pid, self = getpid();

	if (n <= 0 || n > 100000)
		return EINVAL;
	grown = realloc(sleepers, (nr_sleepers + n) * sizeof(*sleepers));
	if (!grown)
		return ENOMEM;
	sleepers = grown;
	if (!nr_sleepers)
		atexit(sleepers_end);
	fflush(stdout);
	for (i = 0; i < n; i++) {
		pid = fork();
		if (pid < 0) {
			snprintf(r->details, sizeof(r->details), "forked=%ld", i);
			return errno;
		}
		if (pid == 0) {
			/* dies with its parent, whatever ends it */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != self)
				_exit(0);
			for (;;)
				pause();
		}
		sleepers[nr_sleepers++] = pid;
	}
	snprintf(r->details, sizeof(r->details), "forked=%ld", n);
	return 0;
}

/* thread:: a thread that sleeps until the process exits. */
static void *sleeper_main(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static int op_thread(struct result *r)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, sleeper_main, NULL);

	if (err)
		return err;
	pthread_detach(t);
	snprintf(r->details, sizeof(r->details), "threads=2");
	return 0;
}

/* What forkmap:'s parent, its mapping thread and each child share (MAP_SHARED). */
struct forkmap {
	int round;			/* the mapper maps once per new round */
	int mapped;			/* the mapper's mmap returned (addr set, or err) */
	long delay_ns;			/* how long after the fork began the mapper maps */
	void *addr;
	int err;
	int device_fd;
};

static long elapsed_ns(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

/* The mapping thread: each round, delay_ns after the fork began, the first use of the device. */
static void *mapper_main(void *arg)
{
	struct forkmap *fm = arg;
	struct timespec t0;
	int seen = 0;
	void *p;

	for (;;) {
		while (__atomic_load_n(&fm->round, __ATOMIC_ACQUIRE) == seen)
			sched_yield();
		seen = fm->round;
		if (seen < 0)
			return NULL;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (elapsed_ns(&t0) < fm->delay_ns)
			;
		p = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fm->device_fd, 0);
		fm->err = p == MAP_FAILED ? errno : 0;
		fm->addr = p == MAP_FAILED ? NULL : p;
		__atomic_store_n(&fm->mapped, 1, __ATOMIC_RELEASE);
	}
}

/*
 * forkmap's child: whether the parent's mapping reached it, and whether it may then take its
 * own device. Exit status, and its letter in the trace: 1 mapped and denied (D), 2 mapped and
 * allowed (V: the rule broken), 3 not mapped and allowed (a), 4 not mapped and denied (d), 5
 * anything else (E).
 */
static int forkmap_child(struct forkmap *fm, const char *uuid2, const char *node2)
{
	struct slot s = { .group_fd = -1, .device_fd = -1, .path_fd = -1 };
	const char *step;
	char details[512];
	int mapped, err, fd;

	while (!__atomic_load_n(&fm->mapped, __ATOMIC_ACQUIRE))
		sched_yield();
	if (fm->err || !fm->addr)
		return 5;
	/* an address the parent mapped after the copy is free here */
	mapped = msync(fm->addr, MAP_LEN, MS_ASYNC) == 0;
	/* the files it inherited are decided at use: only the mapping may reach the device */
	for (fd = 3; fd < 1024; fd++)
		close(fd);
	container_fd = -1;
	container_groups = 0;
	iommu_name = NULL;
	err = -vfio_open(&s, uuid2, node2, 1, &step, details, sizeof(details));
	if (mapped)
		return err == EPERM ? 1 : err == 0 ? 2 : 5;
	return err == 0 ? 3 : err == EPERM ? 4 : 5;
}

/* One fd over a unix socket, with SCM_RIGHTS; -1 and errno on failure. */
static int fd_send(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, byte = 'f';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

/*
 * One fd from a unix socket, with SCM_RIGHTS: the fd, or -1 and errno (ENOMSG: the message
 * came without one). bytes and ctrunc, if given, get what recvmsg said.
 */
static int fd_recv(int sock, ssize_t *bytes, int *ctrunc)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd = -1;
	ssize_t n;

	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	if (bytes)
		*bytes = n;
	if (ctrunc)
		*ctrunc = n >= 0 && (msg.msg_flags & MSG_CTRUNC);
	if (n < 0)
		return -1;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	}
	if (fd < 0)
		errno = ENOMSG;
	return fd;
}

/*
 * forkmap's giver, a process of its own: it uses UUID's group to get a new device file for
 * every byte it reads, and sends it back. A device file got so is unused: its receiver's
 * first use of it is its own (a process that got it with VFIO_GROUP_GET_DEVICE_FD would hold
 * the device already, through the group).
 */
static void forkmap_giver(int sock, const char *uuid, const char *node)
{
	struct slot s = { .group_fd = -1, .device_fd = -1, .path_fd = -1 };
	char details[512], byte;
	const char *step;
	int fd;

	if (vfio_open(&s, uuid, node, 0, &step, details, sizeof(details)) ||
	    group_attach(&s, &step))
		_exit(1);
	while (read(sock, &byte, 1) == 1) {
		fd = ioctl(s.group_fd, VFIO_GROUP_GET_DEVICE_FD, uuid);
		if (fd < 0 || fd_send(sock, fd))
			_exit(1);
		close(fd);
	}
	_exit(0);
}

/*
 * forkmap:UUID:UUID2:ROUNDS:FDS: a fork racing the first mapping of a device by another thread.
 * Each round the parent receives a new device file of UUID from its giver (forkmap_giver: a
 * receipt, not a use), and it keeps FDS more open fds so that each fork spends a while copying
 * its file table before it copies the memory.
 * Each round the main thread forks while the mapping thread, a delay after the fork began,
 * maps the device: its first use. The delays sweep the fork's length, measured first: the
 * mapping lands before the fork read the holdings, between that read and the copy of the
 * memory (the race), or after the copy. A child the mapping reached must be denied UUID2.
 */
static int op_forkmap(const char *arg, struct result *r)
{
	char a[4][PATH_MAX], uuid[PATH_MAX], node[PATH_MAX], uuid2[PATH_MAX], node2[PATH_MAX];
	long rounds, fds, i, done, fork_ns = 0, count[6] = { 0 }, raced = 0;
	char trace[256] = "";
	struct forkmap *fm;
	struct rlimit rl;
	struct timespec t0;
	pthread_t t;
	int err, null, status, k, sv[2];
	pid_t pid, giver;

	if (sscanf(arg, "%4095[^:]:%4095[^:]:%4095[^:]:%4095s", a[0], a[1], a[2], a[3]) != 4)
		return EINVAL;
	rounds = strtol(a[2], NULL, 10);
	fds = strtol(a[3], NULL, 10);
	if (rounds <= 0 || rounds >= (long)sizeof(trace) || fds < 0 || fds > 900000)
		return EINVAL;
	err = group_node(a[0], uuid, sizeof(uuid), node, sizeof(node));
	if (!err)
		err = group_node(a[1], uuid2, sizeof(uuid2), node2, sizeof(node2));
	if (err) {
		r->step = "sysfs";
		return -err;
	}
	r->step = "giver";
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return errno;
	fflush(stdout);
	giver = fork();
	if (giver < 0)
		return errno;
	if (giver == 0) {
		close(sv[0]);
		forkmap_giver(sv[1], uuid, node);
	}
	close(sv[1]);
	r->step = "fds";
	rl.rlim_cur = rl.rlim_max = fds + 4096;
	if (fds && setrlimit(RLIMIT_NOFILE, &rl))
		return errno;
	null = open("/dev/null", O_RDONLY);
	if (null < 0)
		return errno;
	for (i = 0; i < fds; i++)
		if (dup2(null, 2048 + i) < 0)
			return errno;
	fm = mmap(NULL, sizeof(*fm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fm == MAP_FAILED)
		return errno;
	memset(fm, 0, sizeof(*fm));
	r->step = "calibrate";
	fflush(stdout);
	for (i = 0; i < 3; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		pid = fork();
		if (pid < 0)
			return errno;
		if (pid == 0)
			_exit(0);
		fork_ns += elapsed_ns(&t0) / 3;
		waitpid(pid, NULL, 0);
	}
	err = pthread_create(&t, NULL, mapper_main, fm);
	if (err)
		return err;
	/*
	 * The mapper on a CPU of its own: on the forking thread's CPU it would run only once the
	 * fork returned (the kernel does not preempt a fork there), and no round would race.
	 */
	if (sysconf(_SC_NPROCESSORS_ONLN) >= 2) {
		cpu_set_t cpus;

		CPU_ZERO(&cpus);
		CPU_SET(1, &cpus);
		err = pthread_setaffinity_np(t, sizeof(cpus), &cpus);
		CPU_ZERO(&cpus);
		CPU_SET(0, &cpus);
		if (err || sched_setaffinity(0, sizeof(cpus), &cpus)) {
			r->step = "affinity";
			return err ? err : errno;
		}
	}
	r->step = "rounds";
	for (i = 0; i < rounds; i++) {
		fm->device_fd = write(sv[0], "g", 1) == 1 ? fd_recv(sv[0], NULL, NULL) : -1;
		if (fm->device_fd < 0) {
			err = errno;
			r->step = "receive";
			break;
		}
		fm->mapped = 0;
		fm->addr = NULL;
		/* 0 to 110% of a fork, in tenths */
		fm->delay_ns = fork_ns * (i % 12) / 10;
		__atomic_store_n(&fm->round, (int)i + 1, __ATOMIC_RELEASE);
		pid = fork();
		if (pid == 0)
			_exit(forkmap_child(fm, uuid2, node2));
		if (pid < 0) {
			err = errno;
			break;
		}
		k = waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? WEXITSTATUS(status) : 5;
		k = k < 1 || k > 5 ? 5 : k;
		count[k]++;
		trace[i] = "?DVadE"[k];
		if (k == 1 && i % 12)
			raced++;
		while (!__atomic_load_n(&fm->mapped, __ATOMIC_ACQUIRE))
			sched_yield();
		if (fm->addr)
			munmap(fm->addr, MAP_LEN);
		close(fm->device_fd);
	}
	done = i;
	__atomic_store_n(&fm->round, -1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	for (i = 0; i < fds; i++)
		close(2048 + i);
	close(null);
	close(sv[0]);
	waitpid(giver, NULL, 0);
	munmap(fm, sizeof(*fm));
	snprintf(r->details, sizeof(r->details),
		 "rounds=%ld fork_us=%ld mapped_denied=%ld raced=%ld violations=%ld "
		 "unmapped_allowed=%ld unmapped_denied=%ld errors=%ld trace=%s",
		 done, fork_ns / 1000, count[1], raced, count[2], count[3], count[4], count[5],
		 trace);
	if (err)
		return err;
	r->step = count[2] ? "violation" : count[5] ? "child" : NULL;
	return count[2] ? EPERM : count[5] ? EIO : 0;
}

static int op_openpath(const char *path, struct result *r)
{
	struct stat st;
	struct slot *s;
	int flags = O_RDONLY;

	if (stat(path, &st) == 0 && S_ISCHR(st.st_mode))
		flags = O_RDWR;
	s = slot_new(path);
	if (!s)
		return EMFILE;
	s->path_fd = open(path, flags | O_CLOEXEC);
	if (s->path_fd < 0) {
		int err = errno;

		slot_free(s);
		return err;
	}
	snprintf(r->details, sizeof(r->details), "mode=%s", flags == O_RDWR ? "rw" : "ro");
	return 0;
}

static int op_touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int op_wait(const char *arg)
{
	char path[PATH_MAX];
	const char *colon = strrchr(arg, ':');
	double limit = 60, end;

	snprintf(path, sizeof(path), "%s", arg);
	if (colon) {
		path[colon - arg] = '\0';
		limit = atof(colon + 1);
	}
	end = now_s() + limit;
	while (access(path, F_OK)) {
		if (now_s() > end)
			return ETIMEDOUT;
		usleep(10000);
	}
	return 0;
}

static int op_sleep(const char *arg)
{
	double sec = atof(arg);
	struct timespec ts = { .tv_sec = (time_t)sec, .tv_nsec = (long)((sec - (time_t)sec) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	return 0;
}

struct thread_open {
	const char *arg;
	struct result *r;
	int ret;
};

static void *thread_open_main(void *p)
{
	struct thread_open *t = p;

	t->ret = op_open(t->arg, 1, t->r);
	return NULL;
}

static int op_thread_group(const char *arg, struct result *r)
{
	struct thread_open t = { .arg = arg, .r = r };
	pthread_t tid;

	if (pthread_create(&tid, NULL, thread_open_main, &t))
		return EAGAIN;
	pthread_join(tid, NULL);
	if (!t.ret)
		snprintf(r->details + strlen(r->details), sizeof(r->details) - strlen(r->details),
			 " opener_tid=%ld exited", (long)tid);
	return t.ret;
}

/* Written to a temporary name and renamed, so a reader never sees half of it. */
static int write_file(const char *path, const char *fmt, ...)
{
	char tmp[PATH_MAX];
	va_list ap;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return errno;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	if (fclose(f))
		return errno;
	return rename(tmp, path) ? errno : 0;
}

/* churn's map: region 0 mapped and written; with fork, a child writes to it too and exits. */
static int churn_map(struct slot *s, int forks)
{
	int status;
	pid_t pid;

	s->map = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, s->device_fd, 0);
	if (s->map == MAP_FAILED) {
		s->map = NULL;
		return -1;
	}
	memcpy(s->map, "mdg-churn", 10);
	if (!forks)
		return 0;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		memcpy(s->map, "mdg-child", 10);
		_exit(0);
	}
	return waitpid(pid, &status, 0) == pid ? 0 : -1;
}

static int op_churn(const char *arg, struct result *r)
{
	char spec[PATH_MAX], uuid[PATH_MAX], node[PATH_MAX];
	const char *colon = strchr(arg, ':'), *ms, *how = NULL;
	long opens = 0, errors = 0, hold_us = 0;
	int fd, ret, first_err = 0, map = 0, forks = 0;
	double end;

	if (!colon)
		return EINVAL;
	snprintf(spec, sizeof(spec), "%.*s", (int)(colon - arg), arg);
	ret = group_node(spec, uuid, sizeof(uuid), node, sizeof(node));
	if (ret)
		return -ret;
	end = now_s() + atof(colon + 1);
	ms = strchr(colon + 1, ':');
	if (ms) {
		hold_us = (long)(atof(ms + 1) * 1000);
		how = strchr(ms + 1, ':');
	}
	if (how) {
		map = strstr(how, "map") != NULL;
		forks = strstr(how, "fork") != NULL;
	}
	while (now_s() < end) {
		struct slot *s = slot_new(uuid);
		const char *step;
		char details[512];

		if (!s)
			return EMFILE;
		fd = vfio_open(s, uuid, node, 1, &step, details, sizeof(details));
		if (fd < 0) {
			if (!first_err)
				first_err = -fd;
			errors++;
			slot_free(s);
			continue;
		}
		opens++;
		if (map && churn_map(s, forks) && !first_err) {
			first_err = errno;
			errors++;
		}
		if (hold_us)
			usleep(hold_us);
		slot_free(s);
	}
	snprintf(r->details, sizeof(r->details), "opens=%ld errors=%ld first_error=%s%s%s", opens,
		 errors, first_err ? errname(first_err) : "none", map ? " mapped" : "",
		 forks ? " forked" : "");
	return errors ? first_err : 0;
}

static int op_dup(const char *arg, struct result *r)
{
	char from[PATH_MAX];
	const char *colon = strchr(arg, ':');
	int fd, *src, err;

	if (!colon)
		return EINVAL;
	snprintf(from, sizeof(from), "%.*s", (int)(colon - arg), arg);
	src = slot_fd(from, NULL);
	if (!src || *src < 0)
		return ENOENT;
	fd = fcntl(*src, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	err = slot_take(colon + 1, fd);
	if (err) {
		close(fd);
		return err;
	}
	snprintf(r->details, sizeof(r->details), "fd=%d", fd);
	return 0;
}

static int op_pid(const char *path, struct result *r)
{
	snprintf(r->details, sizeof(r->details), "pid=%d", getpid());
	return write_file(path, "%d\n", getpid());
}

static int op_publish(const char *arg, struct result *r)
{
	char uuid[PATH_MAX];
	const char *colon = strchr(arg, ':');
	int *fdp;

	if (!colon)
		return EINVAL;
	snprintf(uuid, sizeof(uuid), "%.*s", (int)(colon - arg), arg);
	fdp = slot_fd(uuid, NULL);
	if (!fdp || *fdp < 0)
		return ENOENT;
	snprintf(r->details, sizeof(r->details), "pid=%d fd=%d", getpid(), *fdp);
	return write_file(colon + 1, "%d %d\n", getpid(), *fdp);
}

static int failed;

/* fork:FILE: the parent leaves, the child goes on. */
static int op_fork(const char *path, struct result *r)
{
	pid_t pid;
	int err;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return errno;
	if (pid > 0) {
		err = write_file(path, "%d\n", pid);
		printf("fork %s %s parent=%d child=%d, parent exits\n", path,
		       err ? "failed" : "ok", getpid(), pid);
		exit((failed + !!err) > MAX_FAILED ? MAX_FAILED : failed + !!err);
	}
	snprintf(r->details, sizeof(r->details), "child=%d", getpid());
	return 0;
}

static int read_pid(const char *path, int *pid, int *fd)
{
	FILE *f = fopen(path, "r");
	int n;

	if (!f)
		return errno;
	n = fscanf(f, "%d %d", pid, fd);
	fclose(f);
	return n >= 1 ? 0 : EINVAL;
}

static int op_becomepid(const char *path, struct result *r)
{
	int target, fd = -1, pid_max = 32768, tries, status;
	FILE *f;
	pid_t pid;

	if (read_pid(path, &target, &fd))
		return EINVAL;
	f = fopen("/proc/sys/kernel/pid_max", "r");
	if (f) {
		if (fscanf(f, "%d", &pid_max) != 1)
			pid_max = 32768;
		fclose(f);
	}
	fflush(stdout);
	for (tries = 1; tries <= 4 * pid_max; tries++) {
		pid = fork();
		if (pid < 0) {
			if (errno == EAGAIN)
				continue;
			return errno;
		}
		if (pid == 0) {
			if (getpid() != target)
				_exit(0);
			snprintf(r->details, sizeof(r->details), "pid=%d forks=%d", getpid(),
				 tries);
			return 0;
		}
		if (pid == target) {
			if (waitpid(pid, &status, 0) < 0)
				exit(MAX_FAILED);
			exit(WIFEXITED(status) ? WEXITSTATUS(status) : MAX_FAILED);
		}
		waitpid(pid, NULL, 0);
	}
	snprintf(r->details, sizeof(r->details), "target=%d forks=%d", target, tries - 1);
	return ESRCH;
}

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

static int op_sendfd(const char *arg, struct result *r)
{
	const char *colon = strrchr(arg, ':');
	struct sockaddr_un sa;
	char sock[PATH_MAX], byte;
	double end;
	int fd, err, *send;

	if (!colon)
		return EINVAL;
	snprintf(sock, sizeof(sock), "%.*s", (int)(colon - arg), arg);
	send = slot_fd(colon + 1, NULL);
	if (!send || *send < 0)
		return ENOENT;
	err = unix_addr(sock, &sa);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	end = now_s() + 60;
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if ((errno != ENOENT && errno != ECONNREFUSED) || now_s() > end) {
			err = errno;
			close(fd);
			return err;
		}
		usleep(20000);
	}
	err = fd_send(fd, *send) ? errno : 0;
	/* the peer's answer says it has received (or refused) the fd */
	if (!err && read(fd, &byte, 1) != 1)
		err = EPIPE;
	close(fd);
	snprintf(r->details, sizeof(r->details), "fd=%d", *send);
	return err;
}

static int op_recvfd(const char *arg, struct result *r)
{
	const char *colon = strrchr(arg, ':');
	struct sockaddr_un sa;
	char sock[PATH_MAX];
	int lfd, cfd, fd, err, ctrunc;
	ssize_t n;

	if (!colon)
		return EINVAL;
	snprintf(sock, sizeof(sock), "%.*s", (int)(colon - arg), arg);
	err = unix_addr(sock, &sa);
	if (err)
		return err;
	unlink(sock);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return errno;
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1)) {
		err = errno;
		close(lfd);
		return err;
	}
	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	err = cfd < 0 ? errno : 0;
	close(lfd);
	unlink(sock);
	if (err)
		return err;
	fd = fd_recv(cfd, &n, &ctrunc);
	err = fd < 0 ? errno : 0;
	if (n < 0) {
		close(cfd);
		return err;
	}
	if (write(cfd, "A", 1) != 1)
		err = EPIPE;
	close(cfd);
	snprintf(r->details, sizeof(r->details), "bytes=%zd ctrunc=%d", n, ctrunc);
	if (fd < 0)
		return ctrunc ? RES_CTRUNC : ENOMSG;
	if (slot_take(colon + 1, fd)) {
		close(fd);
		return EMFILE;
	}
	snprintf(r->details + strlen(r->details), sizeof(r->details) - strlen(r->details),
		 " fd=%d", fd);
	return err;
}

/* pidfd_getfd of the "<pid> <fd>" in file, waiting up to 60 s for the file: 0 or errno. */
static int take_fd(const char *file, int *fd)
{
	double end = now_s() + 60;
	int pid, rfd = -1, pidfd, err = 0;

	while (read_pid(file, &pid, &rfd) || rfd < 0) {
		if (now_s() > end)
			return ETIMEDOUT;
		usleep(20000);
	}
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return errno;
	*fd = syscall(SYS_pidfd_getfd, pidfd, rfd, 0);
	if (*fd < 0)
		err = errno;
	close(pidfd);
	return err;
}

static int op_getfd(const char *arg, struct result *r)
{
	char path[PATH_MAX];
	const char *colon = strrchr(arg, ':');
	int pid, rfd = -1, pidfd, fd, err;

	if (!colon)
		return EINVAL;
	snprintf(path, sizeof(path), "%.*s", (int)(colon - arg), arg);
	if (read_pid(path, &pid, &rfd) || rfd < 0)
		return EINVAL;
	snprintf(r->details, sizeof(r->details), "pid=%d fd=%d", pid, rfd);
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		r->step = "pidfd_open";
		return errno;
	}
	fd = syscall(SYS_pidfd_getfd, pidfd, rfd, 0);
	err = fd < 0 ? errno : 0;
	close(pidfd);
	if (err) {
		r->step = "pidfd_getfd";
		return err;
	}
	if (slot_take(colon + 1, fd)) {
		close(fd);
		return EMFILE;
	}
	snprintf(r->details + strlen(r->details), sizeof(r->details) - strlen(r->details),
		 " newfd=%d", fd);
	return 0;
}

static const char *self_exe = "/proc/self/exe";

/*
 * spawn:NAME:ARGS:PIDFILE: the model of a management daemon handing pre-opened nodes to the VM
 * it starts (fork, then exec with the fds inherited). The child gets the slot's fds without
 * close-on-exec and is told their numbers with --inherit.
 */
static int op_spawn(const char *arg, struct result *r)
{
	char name[PATH_MAX], args[PATH_MAX], pidfile[PATH_MAX], inherit[PATH_MAX + 64];
	char buf[8192], *argv[256], *tok, *save = NULL;
	const char *c1 = strchr(arg, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	int n = 0, gfd = -1, dfd = -1;
	struct slot *s;
	size_t len;
	pid_t pid;
	FILE *f;

	if (!c1 || !c2)
		return EINVAL;
	snprintf(name, sizeof(name), "%.*s", (int)(c1 - arg), arg);
	snprintf(args, sizeof(args), "%.*s", (int)(c2 - c1 - 1), c1 + 1);
	snprintf(pidfile, sizeof(pidfile), "%s", c2 + 1);
	s = slot_find(name);
	if (!s)
		return ENOENT;
	f = fopen(args, "r");
	if (!f)
		return errno;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return errno;
	if (pid == 0) {
		if (s->group_fd >= 0)
			gfd = fcntl(s->group_fd, F_DUPFD, 0);
		if (s->device_fd >= 0)
			dfd = fcntl(s->device_fd, F_DUPFD, 0);
		snprintf(inherit, sizeof(inherit), "%s=%d,%d", name, gfd, dfd);
		argv[n++] = "mdg-vfio-client";
		argv[n++] = "--inherit";
		argv[n++] = inherit;
		for (tok = strtok_r(buf, " \t\n", &save); tok && n < 254;
		     tok = strtok_r(NULL, " \t\n", &save))
			argv[n++] = tok;
		argv[n] = NULL;
		execv(self_exe, argv);
		_exit(EXIT_USAGE);
	}
	snprintf(r->details, sizeof(r->details), "child=%d", pid);
	return write_file(pidfile, "%d\n", pid);
}

/* --inherit NAME=GFD,DFD: fds a parent left open for us (-1: none). */
static int inherit_slot(const char *spec)
{
	char name[PATH_MAX];
	const char *eq = strchr(spec, '=');
	int gfd = -1, dfd = -1;
	struct slot *s;

	if (!eq || sscanf(eq + 1, "%d,%d", &gfd, &dfd) < 1)
		return EINVAL;
	snprintf(name, sizeof(name), "%.*s", (int)(eq - spec), spec);
	s = slot_new(name);
	if (!s)
		return EMFILE;
	s->group_fd = gfd;
	s->device_fd = dfd;
	if (gfd >= 0) {
		fcntl(gfd, F_SETFD, FD_CLOEXEC);
		container_groups++;
	}
	if (dfd >= 0)
		fcntl(dfd, F_SETFD, FD_CLOEXEC);
	return 0;
}

/* Writes a short string to a sysfs file; 0 or errno. */
static int sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return errno;
	if (write(fd, val, strlen(val)) < 0)
		err = errno;
	close(fd);
	return err;
}

/* TYPEDIR:N:PREFIX:BASE of hotplug: and mapped:; 0, or -1 if a part is missing. */
static int parse_create_arg(const char *arg, char typedir[PATH_MAX], char prefix[64], long *count,
			    long *base)
{
	const char *p1 = strchr(arg, ':');
	const char *p2 = p1 ? strchr(p1 + 1, ':') : NULL;
	const char *p3 = p2 ? strchr(p2 + 1, ':') : NULL;

	if (!p3)
		return -1;
	snprintf(typedir, PATH_MAX, "%.*s", (int)(p1 - arg), arg);
	*count = atol(p1 + 1);
	snprintf(prefix, 64, "%.*s", (int)(p3 - p2 - 1), p2 + 1);
	*base = strtol(p3 + 1, NULL, 0);
	return 0;
}

/*
 * hotplug:TYPEDIR:N:PREFIX:BASE: the race of a device's first use with mdevguard learning of
 * it. Each device is opened and used the moment its node exists, by a process that already
 * holds a device (this one, through open: before).
 */
static int op_hotplug(const char *arg, struct result *r)
{
	char typedir[PATH_MAX], prefix[64], uuid[96], path[PATH_MAX + 32], node[PATH_MAX];
	char link[PATH_MAX], target[PATH_MAX];
	long count, base, k, escapes = 0, at_open = 0, at_use = 0, other = 0;
	int first_other = 0, gfd, dfd, err;
	double end;
	ssize_t n;

	if (container_fd < 0 || parse_create_arg(arg, typedir, prefix, &count, &base))
		return EINVAL;
	for (k = 0; k < count; k++) {
		snprintf(uuid, sizeof(uuid), "%s%012lx", prefix, base + k);
		snprintf(path, sizeof(path), "%s/create", typedir);
		err = sysfs_write(path, uuid);
		if (err) {
			snprintf(r->details, sizeof(r->details), "create %s: %s", uuid,
				 errname(err));
			return err;
		}
		snprintf(link, sizeof(link), "/sys/bus/mdev/devices/%s/iommu_group", uuid);
		end = now_s() + 10;
		gfd = -1;
		err = ETIMEDOUT;
		while (now_s() < end) {
			n = readlink(link, target, sizeof(target) - 1);
			if (n < 0)
				continue;
			target[n] = '\0';
			snprintf(node, sizeof(node), "/dev/vfio/%s", strrchr(target, '/') + 1);
			gfd = open(node, O_RDWR | O_CLOEXEC);
			if (gfd >= 0 || (errno != ENOENT && errno != ENODEV)) {
				err = gfd >= 0 ? 0 : errno;
				break;
			}
		}
		if (err == EPERM) {
			at_open++;
		} else if (!err) {
			dfd = -1;
			if (ioctl(gfd, VFIO_GROUP_SET_CONTAINER, &container_fd))
				err = errno;
			else if ((dfd = ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, uuid)) < 0)
				err = errno;
			if (dfd >= 0)
				escapes++;
			else if (err == EPERM)
				at_use++;
			if (dfd >= 0)
				close(dfd);
			close(gfd);
		}
		if (err && err != EPERM) {
			other++;
			if (!first_other)
				first_other = err;
		}
		snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/remove", uuid);
		sysfs_write(path, "1");
	}
	snprintf(r->details, sizeof(r->details),
		 "rounds=%ld escapes=%ld denied_at_open=%ld denied_at_use=%ld other=%ld first_other=%s",
		 count, escapes, at_open, at_use, other, first_other ? errname(first_other) : "none");
	return escapes ? EEXIST : other ? first_other : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * mapped:TYPEDIR:N:PREFIX:BASE: hotplug to enforced. N times: create the mdev, then open its
 * group node until the open is denied (this process holds a restricted device, so once the
 * device is in mdevguard's map its open is refused); the time from the write to create to the
 * first denial, in ms, min/median/max. The opens that got through before are closed unused.
 */
static int op_mapped(const char *arg, struct result *r)
{
	char typedir[PATH_MAX], prefix[64], uuid[96], path[PATH_MAX + 32], node[PATH_MAX];
	char link[PATH_MAX], target[PATH_MAX];
	double t0, end, ms[256];
	long count, base, k;
	int fd, err = 0;
	ssize_t n;

	if (parse_create_arg(arg, typedir, prefix, &count, &base) || count < 1 || count > 256)
		return EINVAL;
	for (k = 0; k < count && !err; k++) {
		snprintf(uuid, sizeof(uuid), "%s%012lx", prefix, base + k);
		snprintf(path, sizeof(path), "%s/create", typedir);
		t0 = now_s();
		err = sysfs_write(path, uuid);
		if (err)
			break;
		snprintf(link, sizeof(link), "/sys/bus/mdev/devices/%s/iommu_group", uuid);
		end = t0 + 10;
		err = ETIMEDOUT;
		while (now_s() < end) {
			n = readlink(link, target, sizeof(target) - 1);
			if (n < 0)
				continue;
			target[n] = '\0';
			snprintf(node, sizeof(node), "/dev/vfio/%s", strrchr(target, '/') + 1);
			fd = open(node, O_RDWR | O_CLOEXEC);
			if (fd >= 0) {
				close(fd);
				continue;
			}
			if (errno == EPERM) {
				ms[k] = (now_s() - t0) * 1000;
				err = 0;
				break;
			}
		}
		snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/remove", uuid);
		sysfs_write(path, "1");
	}
	if (err) {
		snprintf(r->details, sizeof(r->details), "device %ld (%s) never denied", k, uuid);
		return err;
	}
	qsort(ms, count, sizeof(ms[0]), cmp_double);
	snprintf(r->details, sizeof(r->details), "n=%ld min_ms=%.1f median_ms=%.1f max_ms=%.1f",
		 count, ms[0], ms[count / 2], ms[count - 1]);
	return 0;
}

struct race {
	int threads;
	int rounds;
	char nodes[MAX_RACERS][PATH_MAX];
	char uuids[MAX_RACERS][64];
	int fds[MAX_RACERS];
	int errs[MAX_RACERS];
	pthread_barrier_t start, opened, closed;
};

struct racer {
	struct race *race;
	int idx;
};

/*
 * One racer: each round it opens its group node and attaches it to the shared container (an
 * open holds nothing), then, with the others, asks for the device fd: the use is the decision.
 */
static void *racer_main(void *p)
{
	struct racer *me = p;
	struct race *race = me->race;
	int round, i = me->idx, gfd, err;

	for (round = 0; round < race->rounds; round++) {
		err = 0;
		gfd = open(race->nodes[i], O_RDWR | O_CLOEXEC);
		if (gfd < 0 || ioctl(gfd, VFIO_GROUP_SET_CONTAINER, &container_fd))
			err = errno;
		pthread_barrier_wait(&race->start);
		race->fds[i] = -1;
		if (!err) {
			race->fds[i] = ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, race->uuids[i]);
			if (race->fds[i] < 0)
				err = errno;
		}
		race->errs[i] = err;
		pthread_barrier_wait(&race->opened);
		/* the main thread has counted: let go before the next round, device first */
		if (race->fds[i] >= 0)
			close(race->fds[i]);
		if (gfd >= 0)
			close(gfd);
		pthread_barrier_wait(&race->closed);
	}
	return NULL;
}

static int op_race(const char *arg, struct result *r)
{
	static struct race race;
	pthread_t tids[MAX_RACERS];
	struct racer racers[MAX_RACERS];
	int violations = 0, wmin = INT_MAX, wmax = 0, other = 0, deny_err = 0;
	char *list, *tok, *save = NULL, *anchor;
	int n = 0, i, round, ret;
	struct slot *a;
	double t0;

	if (sscanf(arg, "%d:%d:", &race.threads, &race.rounds) != 2)
		return EINVAL;
	list = strchr(arg, ':');
	list = list ? strchr(list + 1, ':') : NULL;
	if (!list || race.threads < 2 || race.threads > MAX_RACERS || race.rounds < 1)
		return EINVAL;
	anchor = strdup(list + 1);
	list = strchr(anchor, ':');
	if (!list) {
		free(anchor);
		return EINVAL;
	}
	*list++ = '\0';
	/* the container keeps its IOMMU through an anchor group that stays attached */
	ret = op_open(anchor, 0, r);
	a = slot_find(anchor);
	if (!ret && a && ioctl(a->group_fd, VFIO_GROUP_GET_STATUS,
			       &(struct vfio_group_status){ .argsz = sizeof(struct vfio_group_status) }) < 0)
		ret = errno;
	if (!ret && container_fd < 0) {
		container_fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
		if (container_fd < 0)
			ret = errno;
	}
	if (!ret && ioctl(a->group_fd, VFIO_GROUP_SET_CONTAINER, &container_fd))
		ret = errno;
	if (!ret && !iommu_name)
		ret = -set_iommu();
	if (ret) {
		free(anchor);
		r->step = "anchor";
		return ret;
	}
	for (tok = strtok_r(list, ",", &save); tok && n < race.threads;
	     tok = strtok_r(NULL, ",", &save)) {
		ret = group_node(tok, race.uuids[n], sizeof(race.uuids[n]), race.nodes[n],
				 sizeof(race.nodes[n]));
		if (ret) {
			free(anchor);
			r->step = "sysfs";
			return -ret;
		}
		n++;
	}
	free(anchor);
	if (n < race.threads) {
		r->step = "too-few-devices";
		return EINVAL;
	}

	pthread_barrier_init(&race.start, NULL, race.threads + 1);
	pthread_barrier_init(&race.opened, NULL, race.threads + 1);
	pthread_barrier_init(&race.closed, NULL, race.threads + 1);
	for (i = 0; i < race.threads; i++) {
		racers[i].race = &race;
		racers[i].idx = i;
		if (pthread_create(&tids[i], NULL, racer_main, &racers[i])) {
			fprintf(stderr, "pthread_create failed\n");
			exit(EXIT_USAGE);
		}
	}

	t0 = now_s();
	for (round = 0; round < race.rounds; round++) {
		int winners = 0;

		pthread_barrier_wait(&race.start);
		pthread_barrier_wait(&race.opened);
		for (i = 0; i < race.threads; i++) {
			if (!race.errs[i]) {
				winners++;
				continue;
			}
			if (!deny_err)
				deny_err = race.errs[i];
			else if (race.errs[i] != deny_err)
				other++;
		}
		if (winners != 1)
			violations++;
		if (winners < wmin)
			wmin = winners;
		if (winners > wmax)
			wmax = winners;
		pthread_barrier_wait(&race.closed);
	}
	for (i = 0; i < race.threads; i++)
		pthread_join(tids[i], NULL);
	pthread_barrier_destroy(&race.start);
	pthread_barrier_destroy(&race.opened);
	pthread_barrier_destroy(&race.closed);

	snprintf(r->details, sizeof(r->details),
		 "threads=%d rounds=%d violations=%d winners_min=%d winners_max=%d "
		 "loser_errno=%s other_errors=%d seconds=%.1f",
		 race.threads, race.rounds, violations, wmin, wmax,
		 deny_err ? errname(deny_err) : "none", other, now_s() - t0);
	return violations ? -1 : 0;
}

/* Splits "op:args=EXPECT"; EXPECT only counts when it looks like one. */
static void split_expect(char *tok, const char **expect)
{
	char *eq = strrchr(tok, '=');

	*expect = "ok";
	if (!eq)
		return;
	if (strcmp(eq + 1, "ok") && strcmp(eq + 1, "any") && strcmp(eq + 1, "CTRUNC") &&
	    !(eq[1] == 'E' && eq[2] >= 'A' && eq[2] <= 'Z'))
		return;
	*eq = '\0';
	*expect = eq + 1;
}

static int run_op(char *tok)
{
	struct result r = { 0 };
	const char *expect, *arg;
	char op[32];
	int ret, good;
	size_t oplen;

	split_expect(tok, &expect);
	arg = strchr(tok, ':');
	if (!arg) {
		fprintf(stderr, "mdg-vfio-client: bad operation '%s'\n", tok);
		exit(EXIT_USAGE);
	}
	oplen = arg - tok;
	if (oplen >= sizeof(op))
		oplen = sizeof(op) - 1;
	memcpy(op, tok, oplen);
	op[oplen] = '\0';
	arg++;

	if (!strcmp(op, "open"))
		ret = op_open(arg, 1, &r);
	else if (!strcmp(op, "group"))
		ret = op_open(arg, 0, &r);
	else if (!strcmp(op, "close") || !strcmp(op, "closepath"))
		ret = op_close(arg, &r);
	else if (!strcmp(op, "openpath"))
		ret = op_openpath(arg, &r);
	else if (!strcmp(op, "touch"))
		ret = op_touch(arg);
	else if (!strcmp(op, "wait"))
		ret = op_wait(arg);
	else if (!strcmp(op, "sleep"))
		ret = op_sleep(arg);
	else if (!strcmp(op, "race"))
		ret = op_race(arg, &r);
	else if (!strcmp(op, "thread"))
		ret = op_thread(&r);
	else if (!strcmp(op, "forkmap"))
		ret = op_forkmap(arg, &r);
	else if (!strcmp(op, "thread-open"))
		ret = op_thread_group(arg, &r);
	else if (!strcmp(op, "churn"))
		ret = op_churn(arg, &r);
	else if (!strcmp(op, "dup"))
		ret = op_dup(arg, &r);
	else if (!strcmp(op, "pid"))
		ret = op_pid(arg, &r);
	else if (!strcmp(op, "publish"))
		ret = op_publish(arg, &r);
	else if (!strcmp(op, "fork"))
		ret = op_fork(arg, &r);
	else if (!strcmp(op, "becomepid"))
		ret = op_becomepid(arg, &r);
	else if (!strcmp(op, "sendfd"))
		ret = op_sendfd(arg, &r);
	else if (!strcmp(op, "recvfd"))
		ret = op_recvfd(arg, &r);
	else if (!strcmp(op, "getfd"))
		ret = op_getfd(arg, &r);
	else if (!strcmp(op, "use"))
		ret = op_use(arg, &r);
	else if (!strcmp(op, "mapped"))
		ret = op_mapped(arg, &r);
	else if (!strcmp(op, "cdev"))
		ret = op_cdev(arg, &r);
	else if (!strcmp(op, "bind"))
		ret = op_bind(arg, &r);
	else if (!strcmp(op, "open-cdev"))
		ret = op_open_cdev(arg, &r);
	else if (!strcmp(op, "open-ifd"))
		ret = op_open_ifd(arg, &r);
	else if (!strcmp(op, "closegroup"))
		ret = op_closeone(arg, 0);
	else if (!strcmp(op, "closedev"))
		ret = op_closeone(arg, 1);
	else if (!strcmp(op, "info"))
		ret = op_info(arg, &r);
	else if (!strcmp(op, "read"))
		ret = op_rw(arg, 0, &r);
	else if (!strcmp(op, "write"))
		ret = op_rw(arg, 1, &r);
	else if (!strcmp(op, "mmap"))
		ret = op_mmap(arg, &r);
	else if (!strcmp(op, "munmap"))
		ret = op_munmap(arg);
	else if (!strcmp(op, "spawn"))
		ret = op_spawn(arg, &r);
	else if (!strcmp(op, "vmchild"))
		ret = op_vmchild(arg, &r);
	else if (!strcmp(op, "forks"))
		ret = op_forks(arg, &r);
	else if (!strcmp(op, "closerace"))
		ret = op_closerace(arg, &r);
	else if (!strcmp(op, "hotplug"))
		ret = op_hotplug(arg, &r);
	else if (!strcmp(op, "uring-take"))
		ret = op_uring_take(arg, &r);
	else if (!strcmp(op, "uring-give"))
		ret = op_uring_give(arg, &r);
	else if (!strcmp(op, "uring-read"))
		ret = op_uring_read(arg, &r);
	else if (!strcmp(op, "uring-install"))
		ret = op_uring_install(arg, &r);
	else {
		fprintf(stderr, "mdg-vfio-client: unknown operation '%s'\n", op);
		exit(EXIT_USAGE);
	}

	if (!strcmp(op, "race") && ret <= 0) {
		/* the rounds, not the arguments, are what a reader needs */
		printf("race %s %s", r.details, ret == 0 ? "ok" : "violated");
		good = !strcmp(expect, "any") || (!strcmp(expect, "ok") && ret == 0);
	} else if (ret == 0) {
		printf("%s %s ok", op, arg);
		if (r.details[0])
			printf(" %s", r.details);
		good = !strcmp(expect, "any") || !strcmp(expect, "ok");
	} else if (ret == RES_CTRUNC) {
		printf("%s %s refused CTRUNC %s", op, arg, r.details);
		good = !strcmp(expect, "any") || !strcmp(expect, "CTRUNC");
	} else {
		printf("%s %s errno=%d %s", op, arg, ret, errname(ret));
		if (r.step)
			printf(" step=%s", r.step);
		if (r.details[0] && strcmp(op, "open") && strcmp(op, "group"))
			printf(" %s", r.details);
		good = !strcmp(expect, "any") || !strcmp(expect, errname(ret));
	}
	if (!good)
		printf(" UNEXPECTED expected=%s", expect);
	printf("\n");
	return good ? 0 : 1;
}

int main(int argc, char **argv)
{
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--iommu") && i + 1 < argc) {
			const char *t = argv[++i];

			if (!strcmp(t, "type1v2"))
				iommu_pref = VFIO_TYPE1v2_IOMMU;
			else if (!strcmp(t, "type1"))
				iommu_pref = VFIO_TYPE1_IOMMU;
			else if (strcmp(t, "auto")) {
				usage(stderr);
				return EXIT_USAGE;
			}
			continue;
		}
		if (!strcmp(argv[i], "--inherit") && i + 1 < argc) {
			if (inherit_slot(argv[++i])) {
				usage(stderr);
				return EXIT_USAGE;
			}
			continue;
		}
		if (argv[i][0] == '-') {
			usage(stderr);
			return EXIT_USAGE;
		}
		failed += run_op(argv[i]);
	}
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return failed > MAX_FAILED ? MAX_FAILED : failed;
}
