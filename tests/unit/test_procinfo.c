// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/procinfo.c: the libvirt domain, the Kubernetes pod and the start time of a
 * process, from the text of /proc/PID/cgroup, /proc/PID/cmdline and /proc/PID/stat, good and
 * hostile.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "procinfo.h"

#define UID "0b1e4f3a-9c2d-4e5f-8a6b-7c8d9e0f1a2b"
#define UID_ "0b1e4f3a_9c2d_4e5f_8a6b_7c8d9e0f1a2b"

static int path_of(const char *text, char *path, size_t len)
{
	return mdg_cgroup_path(text, strlen(text), path, len);
}

static void test_cgroup_path(void **state)
{
	char p[256];

	assert_int_equal(path_of("0::/machine.slice/machine-qemu\\x2d3\\x2dvm1.scope/libvirt/emulator\n",
				 p, sizeof(p)), 0);
	assert_string_equal(p, "/machine.slice/machine-qemu\\x2d3\\x2dvm1.scope/libvirt/emulator");
	/* no final newline */
	assert_int_equal(path_of("0::/a/b", p, sizeof(p)), 0);
	assert_string_equal(p, "/a/b");
	/* a path may hold colons */
	assert_int_equal(path_of("0::/a:b:c\n", p, sizeof(p)), 0);
	assert_string_equal(p, "/a:b:c");
	/* hybrid: the unified line wins wherever it is */
	assert_int_equal(path_of("12:cpu,cpuacct:/x\n1:name=systemd:/v1/path\n0::/v2/path\n", p,
				 sizeof(p)), 0);
	assert_string_equal(p, "/v2/path");
	/* cgroup v1 only */
	assert_int_equal(path_of("12:cpu,cpuacct:/x\n1:name=systemd:/machine.slice/m.scope\n", p,
				 sizeof(p)), 0);
	assert_string_equal(p, "/machine.slice/m.scope");
	/* the root is a path too */
	assert_int_equal(path_of("0::/\n", p, sizeof(p)), 0);
	assert_string_equal(p, "/");
}

static void test_cgroup_path_bad(void **state)
{
	char p[16], big[4096];

	assert_int_equal(path_of("", p, sizeof(p)), -ENOENT);
	assert_int_equal(path_of("\n\n\n", p, sizeof(p)), -ENOENT);
	assert_int_equal(path_of("0:", p, sizeof(p)), -ENOENT);
	assert_int_equal(path_of("0::", p, sizeof(p)), -ENOENT);
	assert_int_equal(path_of("0::relative\n", p, sizeof(p)), -ENOENT);
	assert_int_equal(path_of("00::/a\n", p, sizeof(p)), -ENOENT);
	assert_int_equal(path_of("0:cpu:/a\n", p, sizeof(p)), -ENOENT);
	assert_int_equal(path_of("3:name=systemdx:/a\n", p, sizeof(p)), -ENOENT);
	assert_int_equal(path_of("0::/this/is/too/long/for/p\n", p, sizeof(p)), -ENAMETOOLONG);
	/* NUL inside a line: not a path */
	assert_int_equal(mdg_cgroup_path("0::/a\0b\n", 8, p, sizeof(p)), -ENOENT);
	/* a huge line, no newline at all */
	memset(big, 'a', sizeof(big));
	memcpy(big, "0::/", 4);
	assert_int_equal(mdg_cgroup_path(big, sizeof(big), p, sizeof(p)), -ENAMETOOLONG);
	/* only len bytes are read: the line cut where the text ends */
	assert_int_equal(mdg_cgroup_path("0::/abcdef", 6, p, sizeof(p)), 0);
	assert_string_equal(p, "/ab");
}

static void test_vm(void **state)
{
	char vm[MDG_NAME_MAX];

	assert_int_equal(mdg_cgroup_vm("/machine.slice/machine-qemu\\x2d3\\x2dvm1.scope/libvirt/emulator",
				       vm, sizeof(vm)), 0);
	assert_string_equal(vm, "vm1");
	assert_int_equal(mdg_cgroup_vm("/machine.slice/machine-qemu\\x2d12\\x2dweb\\x2dfront\\x2d01.scope",
				       vm, sizeof(vm)), 0);
	assert_string_equal(vm, "web-front-01");
	/* upper-case hex, and a libvirt partition of its own */
	assert_int_equal(mdg_cgroup_vm("/machine.slice/machine-gpu.slice/machine-qemu\\x2D7\\x2Dvm\\x2Dtest.scope/libvirt/vcpu0",
				       vm, sizeof(vm)), 0);
	assert_string_equal(vm, "vm-test");
	/* a domain name with a dot and an escaped byte */
	assert_int_equal(mdg_cgroup_vm("/machine.slice/machine-qemu\\x2d1\\x2da.b\\x5fc.scope", vm,
				       sizeof(vm)), 0);
	assert_string_equal(vm, "a.b_c");
	/* the cgroup v1 layout is the same */
	assert_int_equal(mdg_cgroup_vm("/machine.slice/machine-qemu\\x2d3\\x2dvm1.scope", vm,
				       sizeof(vm)), 0);
	assert_string_equal(vm, "vm1");
}

static void test_vm_none(void **state)
{
	char vm[MDG_NAME_MAX], small[4], big[8192];

	assert_int_equal(mdg_cgroup_vm("/", vm, sizeof(vm)), -ENOENT);
	assert_int_equal(mdg_cgroup_vm("", vm, sizeof(vm)), -ENOENT);
	assert_int_equal(mdg_cgroup_vm("/system.slice/libvirtd.service", vm, sizeof(vm)), -ENOENT);
	assert_int_equal(mdg_cgroup_vm("/machine.slice", vm, sizeof(vm)), -ENOENT);
	/* a slice is not a scope; a container is not a VM */
	assert_int_equal(mdg_cgroup_vm("/machine.slice/machine-qemu\\x2d3\\x2dvm1.slice", vm,
				       sizeof(vm)), -ENOENT);
	assert_int_equal(mdg_cgroup_vm("/machine.slice/machine-debian.scope/payload", vm,
				       sizeof(vm)), -ENOENT);
	assert_int_equal(mdg_cgroup_vm("/machine.slice/machine-lxc\\x2d42\\x2dct1.scope", vm,
				       sizeof(vm)), -ENOENT);
	/* "qemu-N-" and no more, no id, an id not a number */
	assert_int_equal(mdg_cgroup_vm("/machine.slice/machine-qemu\\x2d3\\x2d.scope", vm,
				       sizeof(vm)), -ENOENT);
	assert_int_equal(mdg_cgroup_vm("/machine.slice/machine-qemu\\x2dvm1.scope", vm,
				       sizeof(vm)), -ENOENT);
	assert_int_equal(mdg_cgroup_vm("/machine.slice/machine-qemu\\x2dx1\\x2dvm1.scope", vm,
				       sizeof(vm)), -ENOENT);
	assert_int_equal(mdg_cgroup_vm("/machine.slice/machine-.scope", vm, sizeof(vm)), -ENOENT);
	assert_int_equal(mdg_cgroup_vm("/machine.slice/machine-qemu-3-vm1.scope", vm, sizeof(vm)), 0);
	assert_string_equal(vm, "vm1");
	/* odd escapes */
	assert_int_equal(mdg_cgroup_vm("/machine-qemu\\x2d3\\x2dvm\\.scope", vm, sizeof(vm)),
			 -EINVAL);
	assert_int_equal(mdg_cgroup_vm("/machine-qemu\\x2d3\\x2dvm\\x2.scope", vm, sizeof(vm)),
			 -EINVAL);
	assert_int_equal(mdg_cgroup_vm("/machine-qemu\\x2d3\\x2dvm\\xzz.scope", vm, sizeof(vm)),
			 -EINVAL);
	assert_int_equal(mdg_cgroup_vm("/machine-qemu\\x2d3\\x2dvm\\x00x.scope", vm, sizeof(vm)),
			 -EINVAL);
	assert_int_equal(mdg_cgroup_vm("/machine-qemu\\x2d3\\x2dvm\\.scope", vm, sizeof(vm)),
			 -EINVAL);
	/* an escape cut by the suffix */
	assert_int_equal(mdg_cgroup_vm("/machine-qemu\\x2d3\\x2dvm\\x.scope", vm, sizeof(vm)),
			 -EINVAL);
	/* longer than the buffer */
	assert_int_equal(mdg_cgroup_vm("/machine-qemu\\x2d3\\x2dvm12.scope", small, sizeof(small)),
			 -ENAMETOOLONG);
	memset(big, 'a', sizeof(big));
	memcpy(big, "/machine-qemu\\x2d3\\x2d", 22);
	memcpy(big + sizeof(big) - 7, ".scope", 7);
	assert_int_equal(mdg_cgroup_vm(big, vm, sizeof(vm)), -ENAMETOOLONG);
}

static void test_pod(void **state)
{
	char uid[MDG_POD_LEN];

	assert_int_equal(mdg_cgroup_pod("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/cri-containerd-0123.scope",
					uid, sizeof(uid)), 0);
	assert_string_equal(uid, UID);
	assert_int_equal(mdg_cgroup_pod("/kubepods.slice/kubepods-pod" UID_ ".slice", uid,
					sizeof(uid)), 0);
	assert_string_equal(uid, UID);
	assert_int_equal(mdg_cgroup_pod("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice",
					uid, sizeof(uid)), 0);
	assert_string_equal(uid, UID);
	/* cgroupfs driver */
	assert_int_equal(mdg_cgroup_pod("/kubepods/burstable/pod" UID "/0123abcd", uid,
					sizeof(uid)), 0);
	assert_string_equal(uid, UID);
	assert_int_equal(mdg_cgroup_pod("/kubepods/pod" UID, uid, sizeof(uid)), 0);
	assert_string_equal(uid, UID);
	/* upper case comes out lower case */
	assert_int_equal(mdg_cgroup_pod("/kubepods/pod0B1E4F3A-9C2D-4E5F-8A6B-7C8D9E0F1A2B", uid,
					sizeof(uid)), 0);
	assert_string_equal(uid, UID);
	/* a static pod's hash UID */
	assert_int_equal(mdg_cgroup_pod("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0123456789abcdef0123456789abcdef.slice",
					uid, sizeof(uid)), 0);
	assert_string_equal(uid, "0123456789abcdef0123456789abcdef");
}

static void test_pod_none(void **state)
{
	char uid[MDG_POD_LEN];

	assert_int_equal(mdg_cgroup_pod("/", uid, sizeof(uid)), -ENOENT);
	assert_int_equal(mdg_cgroup_pod("/kubepods.slice", uid, sizeof(uid)), -ENOENT);
	assert_int_equal(mdg_cgroup_pod("/kubepods.slice/kubepods-burstable.slice", uid,
					sizeof(uid)), -ENOENT);
	/* pod outside kubepods */
	assert_int_equal(mdg_cgroup_pod("/system.slice/pod" UID, uid, sizeof(uid)), -ENOENT);
	/* truncated, too long, not hex, dashes misplaced */
	assert_int_equal(mdg_cgroup_pod("/kubepods/pod0b1e4f3a-9c2d-4e5f-8a6b-7c8d9e0f1a2", uid,
					sizeof(uid)), -ENOENT);
	assert_int_equal(mdg_cgroup_pod("/kubepods/pod0b1e4f3a-9c2d-4e5f-8a6b-7c8d9e0f1a2b3", uid,
					sizeof(uid)), -ENOENT);
	assert_int_equal(mdg_cgroup_pod("/kubepods/pod0b1e4f3a-9c2d-4e5f-8a6b-7c8d9e0f1a2g", uid,
					sizeof(uid)), -ENOENT);
	assert_int_equal(mdg_cgroup_pod("/kubepods/pod0b1e4f3a9-c2d-4e5f-8a6b-7c8d9e0f1a2b", uid,
					sizeof(uid)), -ENOENT);
	assert_int_equal(mdg_cgroup_pod("/kubepods.slice/kubepods-pod" UID_ ".scope", uid,
					sizeof(uid)), -ENOENT);
	assert_int_equal(mdg_cgroup_pod("/kubepods.slice/kubepods-pod.slice", uid, sizeof(uid)),
			 -ENOENT);
	assert_int_equal(mdg_cgroup_pod("/kubepods.slice/kubepods-pod\\x2d" UID_ ".slice", uid,
					sizeof(uid)), -ENOENT);
	/* a buffer too small for a UID */
	assert_int_equal(mdg_cgroup_pod("/kubepods/pod" UID, uid, 8), -ENAMETOOLONG);
}

static int guest(const char *cmdline, size_t len, char *name, size_t nlen)
{
	return mdg_qemu_guest_name(cmdline, len, name, nlen);
}

#define GUEST(lit, name) guest(lit, sizeof(lit) - 1, name, sizeof(name))

static void test_qemu_name(void **state)
{
	char n[MDG_NAME_MAX];

	assert_int_equal(GUEST("/usr/bin/qemu-system-x86_64\0-name\0guest=vm1,debug-threads=on\0-S\0",
			       n), 0);
	assert_string_equal(n, "vm1");
	assert_int_equal(GUEST("qemu\0-name\0vm2\0", n), 0);
	assert_string_equal(n, "vm2");
	assert_int_equal(GUEST("qemu\0-name\0vm3,process=qemu:vm3\0", n), 0);
	assert_string_equal(n, "vm3");
	assert_int_equal(GUEST("qemu\0--name\0guest=vm4\0", n), 0);
	assert_string_equal(n, "vm4");
	/* ",," is a comma in the name */
	assert_int_equal(GUEST("qemu\0-name\0guest=a,,b,,,debug-threads=on\0", n), 0);
	assert_string_equal(n, "a,b,");
	assert_int_equal(GUEST("qemu\0-name\0debug-threads=on,guest=late\0", n), 0);
	assert_string_equal(n, "late");
	/* '=' in the value */
	assert_int_equal(GUEST("qemu\0-name\0guest=x=y\0", n), 0);
	assert_string_equal(n, "x=y");
	/* the last -name that names the guest */
	assert_int_equal(GUEST("qemu\0-name\0guest=first\0-name\0second\0-name\0debug-threads=on\0",
			       n), 0);
	assert_string_equal(n, "second");
}

static void test_qemu_name_none(void **state)
{
	char n[MDG_NAME_MAX], small[4], *big;
	size_t len = 1 << 20;

	assert_int_equal(guest("", 0, n, sizeof(n)), -ENOENT);
	assert_int_equal(GUEST("qemu\0", n), -ENOENT);
	assert_int_equal(GUEST("qemu\0-name\0", n), -ENOENT);
	assert_int_equal(GUEST("qemu\0-name\0\0", n), -ENOENT);
	assert_int_equal(GUEST("qemu\0-name\0guest=\0", n), -ENOENT);
	assert_int_equal(GUEST("qemu\0-name\0debug-threads=on\0", n), -ENOENT);
	assert_int_equal(GUEST("qemu\0-name\0,guest=\0", n), -ENOENT);
	assert_int_equal(GUEST("qemu\0-namex\0vm\0", n), -ENOENT);
	assert_int_equal(GUEST("qemu\0name\0vm\0", n), -ENOENT);
	/* -name as the last argument, or its value cut off by the end of what was read */
	assert_int_equal(GUEST("qemu\0-name", n), -ENOENT);
	assert_int_equal(GUEST("qemu\0-name\0guest=vm1", n), -ENOENT);
	/* a later, empty guest name is the one QEMU keeps */
	assert_int_equal(GUEST("qemu\0-name\0guest=vm1\0-name\0guest=\0", n), -ENOENT);
	/* too long for the buffer */
	assert_int_equal(GUEST("qemu\0-name\0guest=vm12345\0", small), -ENAMETOOLONG);
	assert_int_equal(GUEST("qemu\0-name\0vm12345\0", small), -ENAMETOOLONG);
	/* huge: a megabyte of name, and a megabyte of arguments without NUL */
	big = malloc(len);
	assert_non_null(big);
	memset(big, 'a', len);
	memcpy(big, "qemu\0-name\0guest=", 17);
	big[len - 1] = '\0';
	assert_int_equal(guest(big, len, n, sizeof(n)), -ENAMETOOLONG);
	/* commas: ",," after ",," is a name of commas, too long */
	memset(big, ',', len);
	memcpy(big, "qemu\0-name\0", 11);
	big[len - 1] = '\0';
	assert_int_equal(guest(big, len, n, sizeof(n)), -ENAMETOOLONG);
	/* an empty first element, then elements without "=": no name */
	for (size_t i = 12; i + 1 < len; i += 2)
		big[i] = 'x';
	assert_int_equal(guest(big, len, n, sizeof(n)), -ENOENT);
	memset(big, 'a', len);
	assert_int_equal(guest(big, len, n, sizeof(n)), -ENOENT);
	free(big);
}

static int ticks_of(const char *s, uint64_t *t)
{
	return mdg_stat_start_ticks(s, strlen(s), t);
}

static void test_stat(void **state)
{
	uint64_t t = 0;

	assert_int_equal(ticks_of("4711 (qemu-system-x86) S 1 4711 4711 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 4 0 123456 1000 200 18446744073709551615\n",
				  &t), 0);
	assert_int_equal(t, 123456);
	/* a comm with spaces and parentheses */
	assert_int_equal(ticks_of("7 (a) b (c) d) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0", &t),
			 0);
	assert_int_equal(t, 99);
	/* the start time last, no newline */
	assert_int_equal(ticks_of("7 (x) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42", &t), 0);
	assert_int_equal(t, 42);
}

static void test_stat_bad(void **state)
{
	uint64_t t = 7;

	assert_int_equal(ticks_of("", &t), -EINVAL);
	assert_int_equal(ticks_of("7 (x", &t), -EINVAL);
	assert_int_equal(ticks_of("7 (x)", &t), -EINVAL);
	/* truncated before the start time */
	assert_int_equal(ticks_of("7 (x) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0", &t), -EINVAL);
	assert_int_equal(ticks_of("7 (x) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ", &t), -EINVAL);
	/* not a number, overflowing, two spaces */
	assert_int_equal(ticks_of("7 (x) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1x", &t), -EINVAL);
	assert_int_equal(ticks_of("7 (x) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99999999999999999999999",
				  &t), -EINVAL);
	assert_int_equal(ticks_of("7 (x)  R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5", &t), -EINVAL);
	assert_int_equal(t, 7);
}

static int levels_of(const char *s)
{
	return mdg_status_pid_levels(s, strlen(s));
}

static void test_pid_levels(void **state)
{
	assert_int_equal(levels_of("Name:\tqemu\nTgid:\t4711\nNSpid:\t4711\nNSpgid:\t4711\n"), 1);
	assert_int_equal(levels_of("Pid:\t9\nNSpid:\t4711\t1\n"), 2);
	assert_int_equal(levels_of("NSpid:\t300\t20\t1"), 3);
	/* NSpgid, NStgid and friends are not NSpid */
	assert_int_equal(levels_of("NStgid:\t5\t1\nNSpid:\t5\n"), 1);
}

static void test_pid_levels_bad(void **state)
{
	assert_int_equal(levels_of(""), -EINVAL);
	assert_int_equal(levels_of("Name:\tx\nPid:\t5\n"), -EINVAL);
	assert_int_equal(levels_of("NSpid:\n"), -EINVAL);
	assert_int_equal(levels_of("NSpid:\t5x\n"), -EINVAL);
	assert_int_equal(levels_of("XNSpid:\t5\n"), -EINVAL);
	assert_int_equal(levels_of("NSpi"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_path),
		cmocka_unit_test(test_cgroup_path_bad),
		cmocka_unit_test(test_vm),
		cmocka_unit_test(test_vm_none),
		cmocka_unit_test(test_pod),
		cmocka_unit_test(test_pod_none),
		cmocka_unit_test(test_qemu_name),
		cmocka_unit_test(test_qemu_name_none),
		cmocka_unit_test(test_stat),
		cmocka_unit_test(test_stat_bad),
		cmocka_unit_test(test_pid_levels),
		cmocka_unit_test(test_pid_levels_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
