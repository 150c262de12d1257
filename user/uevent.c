// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uevent.h"

int mdg_uevent_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int fd, err;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    NETLINK_KOBJECT_UEVENT);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

bool mdg_uevent_relevant(const char *buf, size_t len)
{
	static const char *const subsystems[] = {
		"SUBSYSTEM=mdev", "SUBSYSTEM=mdev_bus", "SUBSYSTEM=vfio", "SUBSYSTEM=vfio-dev",
	};
	const char *p, *end = buf + len;
	size_t i, n;

	for (p = buf; p < end; p += n + 1) {
		n = strnlen(p, end - p);
		for (i = 0; i < sizeof(subsystems) / sizeof(subsystems[0]); i++) {
			if (n == strlen(subsystems[i]) && !memcmp(p, subsystems[i], n))
				return true;
		}
	}
	return false;
}

bool mdg_uevent_drain(int fd)
{
	char buf[8192];
	bool hit = false;
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == ENOBUFS) {
			hit = true;
			continue;
		}
		if (n <= 0)
			break;
		hit |= mdg_uevent_relevant(buf, n);
	}
	return hit;
}
