/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel uevents (NETLINK_KOBJECT_UEVENT) that say the device map may be stale. */
#ifndef MDG_UEVENT_H
#define MDG_UEVENT_H

#include <stdbool.h>
#include <stddef.h>

/* A non-blocking socket on the kernel's uevents; an fd or -errno. */
int mdg_uevent_open(void);

/* Whether one uevent (NUL-separated "KEY=value" strings) is of the mdev bus or VFIO. */
bool mdg_uevent_relevant(const char *buf, size_t len);

/*
 * Reads every queued uevent: whether any was relevant, or some were lost (ENOBUFS: the socket
 * overran), either of which means "rescan now".
 */
bool mdg_uevent_drain(int fd);

#endif
