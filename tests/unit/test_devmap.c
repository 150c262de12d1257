// SPDX-License-Identifier: GPL-2.0
/* Unit tests of user/devmap.c (the kernel side's maps from a scan and the policy) and
 * user/uevent.c (which uevents mean a rescan). */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devmap.h"
#include "uevent.h"

#define U1 "00000001-0000-4000-8000-000000000001"
#define U2 "00000002-0000-4000-8000-000000000001"
#define U3 "00000003-0000-4000-8000-000000000001"

static struct mdg_sysfs_dev dev(const char *uuid, const char *type, enum mdg_attr attr,
				unsigned int group, unsigned int minor, int cdev_minor)
{
	struct mdg_sysfs_dev d = { .attr = attr, .has_group = true, .group = group,
				   .group_major = 245, .group_minor = minor };

	snprintf(d.uuid, sizeof(d.uuid), "%s", uuid);
	snprintf(d.type, sizeof(d.type), "%s", type);
	if (cdev_minor >= 0) {
		d.has_cdev = true;
		d.cdev_major = 511;
		d.cdev_minor = cdev_minor;
		snprintf(d.cdev_name, sizeof(d.cdev_name), "vfio%d", cdev_minor);
	}
	return d;
}

static const struct mdg_devmap_dev *find_dev(const struct mdg_devmap *m, __u32 rdev)
{
	size_t i;

	for (i = 0; i < m->nr_devs; i++)
		if (m->devs[i].rdev == rdev)
			return &m->devs[i];
	return NULL;
}

static const struct mdg_devmap_type *find_type(const struct mdg_devmap *m, const char *type)
{
	size_t i;

	for (i = 0; i < m->nr_types; i++)
		if (m->types[i].hash == mdg_type_hash(type))
			return &m->types[i];
	return NULL;
}

/* Every node an entry, every type one entry, its flag as the policy says; majors collected. */
static void test_build(void **state)
{
	struct mdg_sysfs_dev devs[] = {
		dev(U1, "vendor-single", MDG_ATTR_YES, 3, 3, 0),
		dev(U2, "vendor-multi", MDG_ATTR_NO, 7, 7, -1),
		dev(U3, "vendor-single", MDG_ATTR_YES, 9, 9, -1),
	};
	struct mdg_sysfs_type types[] = {
		{ .type = "vendor-single", .attr = MDG_ATTR_YES },
		{ .type = "vendor-multi", .attr = MDG_ATTR_NO },
		{ .type = "vendor-odd", .attr = MDG_ATTR_MALFORMED },
	};
	struct mdg_sysfs scan = { devs, 3, types, 3 };
	__u32 majors[MDG_MAX_MAJORS] = { 245 };
	const struct mdg_devmap_dev *d;
	const struct mdg_devmap_type *t;
	struct mdg_policy p;
	struct mdg_devmap m;
	char err[256];

	mdg_policy_init(&p);
	assert_int_equal(mdg_policy_set(&p, "allow-device", U3, err, sizeof(err)), 0);
	assert_int_equal(mdg_policy_set(&p, "restrict-type", "vendor-later", err, sizeof(err)), 0);
	assert_int_equal(mdg_devmap_build(&scan, &p, majors, &m), 0);

	assert_int_equal(m.nr_devs, 4);
	d = find_dev(&m, MDG_MKDEV(245, 3));
	assert_non_null(d);
	assert_string_equal(d->v.uuid, U1);
	assert_int_equal(d->v.node, MDG_NODE_GROUP);
	assert_int_equal(d->v.node_index, 3);
	assert_true(d->v.restricted);
	assert_int_equal(d->v.rdev, d->rdev);
	d = find_dev(&m, MDG_MKDEV(511, 0));
	assert_non_null(d);
	assert_int_equal(d->v.node, MDG_NODE_CDEV);
	assert_string_equal(d->v.uuid, U1);
	d = find_dev(&m, MDG_MKDEV(245, 9));
	assert_non_null(d);
	assert_false(d->v.restricted);
	assert_int_equal(d->v.reason, MDG_REASON_DEVICE_OVERRIDE);
	for (size_t i = 1; i < m.nr_devs; i++)
		assert_true(m.devs[i - 1].rdev < m.devs[i].rdev);

	/* single, multi, odd, and a named type not offered yet: no duplicates */
	assert_int_equal(m.nr_types, 4);
	t = find_type(&m, "vendor-single");
	assert_non_null(t);
	assert_true(t->v.restricted);
	assert_int_equal(t->v.reason, MDG_REASON_SYSFS_Y);
	t = find_type(&m, "vendor-multi");
	assert_false(t->v.restricted);
	t = find_type(&m, "vendor-odd");
	assert_true(t->v.restricted);
	assert_int_equal(t->v.reason, MDG_REASON_MALFORMED);
	t = find_type(&m, "vendor-later");
	assert_non_null(t);
	assert_true(t->v.restricted);
	assert_int_equal(t->v.reason, MDG_REASON_TYPE_OVERRIDE);

	assert_int_equal(m.nr_overrides, 1);
	assert_string_equal(m.overrides[0].v.uuid, U3);
	assert_false(m.overrides[0].v.restricted);

	assert_int_equal(m.majors[0], 245);
	assert_int_equal(m.majors[1], 511);
	assert_int_equal(m.majors[2], 0);
	assert_int_equal(m.majors_dropped, 0);
	mdg_devmap_free(&m);
	mdg_policy_free(&p);
}

/*
 * Two types whose names the kernel side cannot tell apart (one hash) make one entry, and it is
 * restricted if either is, in whichever order the scan met them.
 */
static void test_type_hash_shared(void **state)
{
	struct mdg_sysfs_type types[] = {
		{ .type = "vendor-a", .attr = MDG_ATTR_NO },
		{ .type = "vendor-a", .attr = MDG_ATTR_MALFORMED },
		{ .type = "vendor-a", .attr = MDG_ATTR_NO },
	};
	struct mdg_sysfs scan = { NULL, 0, types, 3 };
	const struct mdg_devmap_type *t;
	struct mdg_policy p;
	struct mdg_devmap m;
	int first;

	mdg_policy_init(&p);
	for (first = 0; first < 3; first++) {
		struct mdg_sysfs_type swap = types[0];

		types[0] = types[first];
		types[first] = swap;
		assert_int_equal(mdg_devmap_build(&scan, &p, NULL, &m), 0);
		assert_int_equal(m.nr_types, 1);
		t = find_type(&m, "vendor-a");
		assert_non_null(t);
		assert_true(t->v.restricted);
		assert_int_equal(t->v.reason, MDG_REASON_MALFORMED);
		mdg_devmap_free(&m);
	}
	mdg_policy_free(&p);
}

/* More majors than the filter holds are counted, not silently lost. */
static void test_majors_full(void **state)
{
	struct mdg_sysfs_dev devs[] = {
		dev(U1, "t", MDG_ATTR_YES, 1, 1, -1),
	};
	struct mdg_sysfs scan = { devs, 1, NULL, 0 };
	__u32 majors[MDG_MAX_MAJORS] = { 10, 11, 12, 13 };
	struct mdg_policy p;
	struct mdg_devmap m;

	mdg_policy_init(&p);
	assert_int_equal(mdg_devmap_build(&scan, &p, majors, &m), 0);
	assert_int_equal(m.majors_dropped, 1);
	mdg_devmap_free(&m);
	mdg_policy_free(&p);
}

static void test_vfio_majors(void **state)
{
	char path[] = "/tmp/mdg-devices-XXXXXX";
	static const char text[] = "Character devices:\n  1 mem\n245 vfio\n511 vfio-dev\n"
				   "\nBlock devices:\n246 vfio\n";
	__u32 majors[MDG_MAX_MAJORS] = { 0 };
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	mdg_vfio_majors(path, majors);
	unlink(path);
	assert_int_equal(majors[0], 245);
	assert_int_equal(majors[1], 511);
	assert_int_equal(majors[2], 0);
}

static void test_uevent(void **state)
{
	static const char add_mdev[] = "add@/devices/virtual/x/u\0ACTION=add\0SUBSYSTEM=mdev\0";
	static const char vfio_dev[] = "add@/devices/virtual/vfio-dev/vfio0\0SUBSYSTEM=vfio-dev";
	static const char usb[] = "add@/devices/usb1\0ACTION=add\0SUBSYSTEM=usb\0";
	static const char prefix[] = "change@/x\0SUBSYSTEM=mdevx\0SUBSYSTEM=vfiox\0";

	assert_true(mdg_uevent_relevant(add_mdev, sizeof(add_mdev)));
	/* the last string without its NUL, as recv() may leave it */
	assert_true(mdg_uevent_relevant(vfio_dev, sizeof(vfio_dev) - 1));
	assert_false(mdg_uevent_relevant(usb, sizeof(usb)));
	assert_false(mdg_uevent_relevant(prefix, sizeof(prefix)));
	assert_false(mdg_uevent_relevant("", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_type_hash_shared),
		cmocka_unit_test(test_majors_full),
		cmocka_unit_test(test_vfio_majors),
		cmocka_unit_test(test_uevent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
