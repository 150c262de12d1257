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
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

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
};

static struct slot slots[MAX_SLOTS];
static int container_fd = -1;
static int container_groups;
static const char *iommu_name;
static int iommu_pref;		/* 0: try TYPE1v2, then TYPE1 */

static void usage(FILE *f)
{
	fprintf(f,
"usage: mdg-vfio-client [--iommu auto|type1v2|type1] OP[=EXPECT]...\n"
"\n"
"Runs the operations in order and prints one line per operation:\n"
"  <op> <arg> ok [details]\n"
"  <op> <arg> errno=<n> <ENAME> [step=<where>] [details]\n"
"followed by ' UNEXPECTED expected=<EXPECT>' when the result is not the expected one.\n"
"\n"
"Operations:\n"
"  open:UUID[@NODE]    legacy VFIO flow on the mdev UUID: open the group node (NODE, or\n"
"                      /dev/vfio/<N> from /sys/bus/mdev/devices/UUID/iommu_group),\n"
"                      VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU (once per process),\n"
"                      VFIO_GROUP_GET_DEVICE_FD, VFIO_DEVICE_GET_INFO; keeps it all open\n"
"  group:UUID[@NODE]   only open the group node and keep it open\n"
"  close:UUID          close the device and group fds of UUID\n"
"  openpath:PATH       open() any file and keep it open: O_RDWR for a character device,\n"
"                      O_RDONLY otherwise\n"
"  closepath:PATH      close it\n"
"  touch:FILE          create FILE (a signal to another process)\n"
"  wait:FILE[:SEC]     block until FILE exists (default at most 60 s)\n"
"  sleep:SEC           sleep, fractions allowed\n"
"  thread-group:UUID   a new thread opens the group node of UUID and exits; the fd stays\n"
"                      with the process\n"
"  churn:UUID:SEC[:MS] open the group node of UUID, keep it MS milliseconds (default 0),\n"
"                      close it, and again, for SEC seconds;\n"
"                      prints the number of opens and the errors (EBUSY... count as errors)\n"
"  dup:UUID:NAME       dup() the group fd of UUID, kept as the group fd of NAME\n"
"  pid:FILE            write this process's pid to FILE\n"
"  publish:UUID:FILE   write \"<pid> <group fd>\" of UUID to FILE (for getfd)\n"
"  fork:FILE           fork; the parent writes the child's pid to FILE and exits with the\n"
"                      number of unexpected results so far; the child runs the rest\n"
"  becomepid:FILE      fork children until one gets the pid written in FILE; that child\n"
"                      runs the rest, the parent waits for it and exits with its status\n"
"                      (the others exit at once); gives up after 4 * pid_max forks\n"
"  sendfd:SOCK:UUID    connect to the unix socket SOCK (waiting up to 60 s for it) and\n"
"                      send the group fd of UUID with SCM_RIGHTS; keeps its own fd\n"
"  recvfd:SOCK:NAME    listen on SOCK, accept one connection, receive one fd with\n"
"                      SCM_RIGHTS and keep it as the group fd of NAME (close:NAME);\n"
"                      a receive the kernel refused (MSG_CTRUNC, no fd) is CTRUNC\n"
"  getfd:FILE:NAME     pidfd_open + pidfd_getfd of the \"<pid> <fd>\" in FILE; the fd is\n"
"                      kept as the group fd of NAME\n"
"  race:THREADS:ROUNDS:UUID,UUID,...\n"
"                      THREADS threads, released together by a barrier, each open the\n"
"                      group node of a different UUID; the winners of a round must be\n"
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

static void slot_free(struct slot *s)
{
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

/* "UUID@NODE" -> uuid and node path; without @, the group node from sysfs. */
static int group_node(const char *arg, char *uuid, size_t ulen, char *node, size_t nlen)
{
	char link[PATH_MAX], target[PATH_MAX - 16];
	const char *at = strchr(arg, '@');
	const char *base;
	ssize_t n;

	if (at) {
		snprintf(uuid, ulen, "%.*s", (int)(at - arg), arg);
		snprintf(node, nlen, "%s", at + 1);
		return 0;
	}
	snprintf(uuid, ulen, "%s", arg);
	snprintf(link, sizeof(link), "/sys/bus/mdev/devices/%s/iommu_group", uuid);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	snprintf(node, nlen, "/dev/vfio/%s", base ? base + 1 : target);
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

/* The legacy flow; on failure returns -errno and names the step. */
static int vfio_open(struct slot *s, const char *uuid, const char *node, int full,
		     const char **step, char *details, size_t dlen)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_device_info info = { .argsz = sizeof(info) };
	int err;

	*step = "group";
	s->group_fd = open(node, O_RDWR | O_CLOEXEC);
	if (s->group_fd < 0)
		return -errno;
	container_groups++;
	snprintf(details, dlen, "node=%s", node);
	if (!full)
		return 0;

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

	*step = "get-device-fd";
	s->device_fd = ioctl(s->group_fd, VFIO_GROUP_GET_DEVICE_FD, uuid);
	if (s->device_fd < 0)
		return -errno;

	*step = "device-info";
	if (ioctl(s->device_fd, VFIO_DEVICE_GET_INFO, &info))
		return -errno;

	snprintf(details, dlen, "node=%s iommu=%s device_fd=%d flags=0x%x regions=%u irqs=%u",
		 node, iommu_name, s->device_fd, info.flags, info.num_regions, info.num_irqs);
	return 0;
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

	t->ret = op_open(t->arg, 0, t->r);
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

static int op_churn(const char *arg, struct result *r)
{
	char spec[PATH_MAX], uuid[PATH_MAX], node[PATH_MAX];
	const char *colon = strchr(arg, ':'), *ms;
	long opens = 0, errors = 0, hold_us = 0;
	int fd, ret, first_err = 0;
	double end;

	if (!colon)
		return EINVAL;
	snprintf(spec, sizeof(spec), "%.*s", (int)(colon - arg), arg);
	ret = group_node(spec, uuid, sizeof(uuid), node, sizeof(node));
	if (ret)
		return -ret;
	end = now_s() + atof(colon + 1);
	ms = strchr(colon + 1, ':');
	if (ms)
		hold_us = (long)(atof(ms + 1) * 1000);
	while (now_s() < end) {
		fd = open(node, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			if (!first_err)
				first_err = errno;
			errors++;
			continue;
		}
		opens++;
		if (hold_us)
			usleep(hold_us);
		close(fd);
	}
	snprintf(r->details, sizeof(r->details), "opens=%ld errors=%ld first_error=%s", opens,
		 errors, first_err ? errname(first_err) : "none");
	return errors ? first_err : 0;
}

static int op_dup(const char *arg, struct result *r)
{
	char uuid[PATH_MAX];
	const char *colon = strchr(arg, ':');
	struct slot *s, *d;
	int fd;

	if (!colon)
		return EINVAL;
	snprintf(uuid, sizeof(uuid), "%.*s", (int)(colon - arg), arg);
	s = slot_find(uuid);
	if (!s || s->group_fd < 0)
		return ENOENT;
	fd = fcntl(s->group_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	d = slot_new(colon + 1);
	if (!d) {
		close(fd);
		return EMFILE;
	}
	d->group_fd = fd;
	container_groups++;
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
	struct slot *s;

	if (!colon)
		return EINVAL;
	snprintf(uuid, sizeof(uuid), "%.*s", (int)(colon - arg), arg);
	s = slot_find(uuid);
	if (!s || s->group_fd < 0)
		return ENOENT;
	snprintf(r->details, sizeof(r->details), "pid=%d fd=%d", getpid(), s->group_fd);
	return write_file(colon + 1, "%d %d\n", getpid(), s->group_fd);
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
	char sock[PATH_MAX], cbuf[CMSG_SPACE(sizeof(int))];
	const char *colon = strrchr(arg, ':');
	struct msghdr msg = { 0 };
	struct sockaddr_un sa;
	struct cmsghdr *cm;
	struct iovec iov;
	struct slot *s;
	char byte = 'F';
	double end;
	int fd, err;

	if (!colon)
		return EINVAL;
	snprintf(sock, sizeof(sock), "%.*s", (int)(colon - arg), arg);
	s = slot_find(colon + 1);
	if (!s || s->group_fd < 0)
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
	iov.iov_base = &byte;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &s->group_fd, sizeof(int));
	err = sendmsg(fd, &msg, 0) < 0 ? errno : 0;
	/* the peer's answer says it has received (or refused) the fd */
	if (!err && read(fd, &byte, 1) != 1)
		err = EPIPE;
	close(fd);
	snprintf(r->details, sizeof(r->details), "fd=%d", s->group_fd);
	return err;
}

static int op_recvfd(const char *arg, struct result *r)
{
	char sock[PATH_MAX], cbuf[CMSG_SPACE(sizeof(int))];
	const char *colon = strrchr(arg, ':');
	struct msghdr msg = { 0 };
	struct sockaddr_un sa;
	struct cmsghdr *cm;
	struct iovec iov;
	struct slot *s;
	int lfd, cfd, fd = -1, err;
	ssize_t n;
	char byte;

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
	iov.iov_base = &byte;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	n = recvmsg(cfd, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0) {
		err = errno;
		close(cfd);
		return err;
	}
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	}
	if (write(cfd, "A", 1) != 1)
		err = EPIPE;
	close(cfd);
	snprintf(r->details, sizeof(r->details), "bytes=%zd ctrunc=%d", n,
		 !!(msg.msg_flags & MSG_CTRUNC));
	if (fd < 0)
		return msg.msg_flags & MSG_CTRUNC ? RES_CTRUNC : ENOMSG;
	s = slot_new(colon + 1);
	if (!s) {
		close(fd);
		return EMFILE;
	}
	s->group_fd = fd;
	container_groups++;
	snprintf(r->details + strlen(r->details), sizeof(r->details) - strlen(r->details),
		 " fd=%d", fd);
	return err;
}

static int op_getfd(const char *arg, struct result *r)
{
	char path[PATH_MAX];
	const char *colon = strrchr(arg, ':');
	int pid, rfd = -1, pidfd, fd, err;
	struct slot *s;

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
	s = slot_new(colon + 1);
	if (!s) {
		close(fd);
		return EMFILE;
	}
	s->group_fd = fd;
	container_groups++;
	snprintf(r->details + strlen(r->details), sizeof(r->details) - strlen(r->details),
		 " newfd=%d", fd);
	return 0;
}

struct race {
	int threads;
	int rounds;
	char nodes[MAX_RACERS][PATH_MAX];
	int fds[MAX_RACERS];
	int errs[MAX_RACERS];
	pthread_barrier_t start, opened, closed;
};

struct racer {
	struct race *race;
	int idx;
};

static void *racer_main(void *p)
{
	struct racer *me = p;
	struct race *race = me->race;
	int round, i = me->idx;

	for (round = 0; round < race->rounds; round++) {
		pthread_barrier_wait(&race->start);
		race->fds[i] = open(race->nodes[i], O_RDWR | O_CLOEXEC);
		race->errs[i] = race->fds[i] < 0 ? errno : 0;
		pthread_barrier_wait(&race->opened);
		/* the main thread has counted: let go before the next round */
		if (race->fds[i] >= 0)
			close(race->fds[i]);
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
	char *list, *tok, *save = NULL;
	int n = 0, i, round, ret;
	char uuid[PATH_MAX];
	double t0;

	if (sscanf(arg, "%d:%d:", &race.threads, &race.rounds) != 2)
		return EINVAL;
	list = strchr(arg, ':');
	list = list ? strchr(list + 1, ':') : NULL;
	if (!list || race.threads < 2 || race.threads > MAX_RACERS || race.rounds < 1)
		return EINVAL;
	list = strdup(list + 1);
	for (tok = strtok_r(list, ",", &save); tok && n < race.threads;
	     tok = strtok_r(NULL, ",", &save)) {
		ret = group_node(tok, uuid, sizeof(uuid), race.nodes[n], sizeof(race.nodes[n]));
		if (ret) {
			free(list);
			r->step = "sysfs";
			return -ret;
		}
		n++;
	}
	free(list);
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
	else if (!strcmp(op, "thread-group"))
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
