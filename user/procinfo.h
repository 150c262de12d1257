/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What names the VM of a process, parsed from what /proc says of it: the libvirt domain of its
 * systemd machine scope or of QEMU's -name, the Kubernetes pod of its cgroup, its start time.
 * Pure parsing: the caller reads the files (user/events.c).
 */
#ifndef MDG_PROCINFO_H
#define MDG_PROCINFO_H

#include <stddef.h>
#include <stdint.h>

#define MDG_NAME_MAX	256	/* a domain or unit name and its NUL; longer ones are not shown */
#define MDG_POD_LEN	37	/* a pod UID as a UUID, 36 characters, and NUL */

/*
 * The cgroup path in the text of /proc/PID/cgroup (len bytes, NUL not needed): the unified
 * hierarchy's "0::PATH" line, else the "name=systemd" line of a cgroup v1 host.
 * 0, -ENOENT (no such line), -ENAMETOOLONG (path longer than plen - 1).
 */
int mdg_cgroup_path(const char *text, size_t len, char *path, size_t plen);

/*
 * The libvirt domain of a QEMU process from its cgroup path: the outermost systemd machine
 * scope, "machine-qemu\x2d3\x2dvm1.scope", is machine "qemu-3-vm1" once unescaped, and domain
 * "vm1" without libvirt's "qemu-N-". 0, -ENOENT (no machine scope, or not libvirt's QEMU),
 * -EINVAL (an escape that is not \xNN, or one giving NUL), -ENAMETOOLONG.
 */
int mdg_cgroup_vm(const char *path, char *vm, size_t len);

/*
 * The Kubernetes pod UID from a cgroup path, as a UUID with dashes: the systemd cgroup driver's
 * "kubepods-burstable-pod<UID, _ for ->.slice" or cgroupfs's "/kubepods/burstable/pod<UID>/".
 * The kubelet's hash UIDs of static pods (32 hex digits, no dashes) are given as they are.
 * len at least MDG_POD_LEN. 0, -ENOENT (none, or not a UID), -ENAMETOOLONG.
 */
int mdg_cgroup_pod(const char *path, char *uid, size_t len);

/*
 * The guest name of QEMU's command line (/proc/PID/cmdline: len bytes, arguments ended by NUL;
 * an argument cut off by the end is ignored): "-name guest=NAME,..." or "-name NAME,...", ",,"
 * standing for a comma, the last -name that gives one. 0, -ENOENT, -ENAMETOOLONG.
 */
int mdg_qemu_guest_name(const char *cmdline, size_t len, char *name, size_t nlen);

/*
 * The start time of a process, field 22 of /proc/PID/stat, in clock ticks since boot.
 * 0, -EINVAL (not a stat line).
 */
int mdg_stat_start_ticks(const char *text, size_t len, uint64_t *ticks);

/*
 * How many pid namespaces deep a process is, from the NSpid line of /proc/PID/status (one pid
 * per level, the initial namespace's first): 1 in the host's. The count, or -EINVAL (no NSpid
 * line, or one that is not a list of numbers).
 */
int mdg_status_pid_levels(const char *text, size_t len);

#endif
