// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/sysfs.c against fixture trees laid out like the kernel's sysfs:
 *
 *   ROOT/devices/pci0000:00/<parent>/mdev_supported_types/<type>/{name,available_instances,...}
 *   ROOT/devices/pci0000:00/<parent>/<uuid>/mdev_type -> ../mdev_supported_types/<type>
 *   ROOT/devices/pci0000:00/<parent>/<uuid>/iommu_group -> ../../../../kernel/iommu_groups/<N>
 *   ROOT/devices/pci0000:00/<parent>/<uuid>/vfio-dev/vfio<X>/dev
 *   ROOT/devices/virtual/vfio/<N>/dev, ROOT/class/vfio/<N> -> ../../devices/virtual/vfio/<N>
 *   ROOT/bus/mdev/devices/<uuid> -> ../../../devices/pci0000:00/<parent>/<uuid>
 *   ROOT/class/mdev_bus/<parent> -> ../../devices/pci0000:00/<parent>
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "attr.h"
#include "sysfs.h"
#include "uuid.h"

#define GROUP_MAJOR 243
#define CDEV_MAJOR 511

#define U1 "11111111-2222-3333-4444-555555555555"
#define U2 "22222222-2222-3333-4444-555555555555"
#define U3 "33333333-2222-3333-4444-555555555555"
#define U4 "44444444-2222-3333-4444-555555555555"
#define P1 "0000:00:02.0"
#define P2 "0000:3b:00.0"

struct fx {
	char root[PATH_MAX];
	char **warn;
	size_t nr_warn, warn_cap;
	struct mdg_sysfs s;
};

static void fmt_path(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* snprintf() that must not truncate. */
static void fmt_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < size);
}

static void capture(void *ctx, const char *fmt, ...)
{
	struct fx *f = ctx;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	assert_true(vasprintf(&msg, fmt, ap) >= 0);
	va_end(ap);
	if (f->nr_warn == f->warn_cap) {
		f->warn_cap = f->warn_cap ? f->warn_cap * 2 : 8;
		f->warn = realloc(f->warn, f->warn_cap * sizeof(*f->warn));
		assert_non_null(f->warn);
	}
	f->warn[f->nr_warn++] = msg;
}

/* Warnings containing every one of the given substrings (NULL-terminated). */
static size_t warned(const struct fx *f, ...)
{
	size_t i, n = 0;

	for (i = 0; i < f->nr_warn; i++) {
		const char *sub;
		bool all = true;
		va_list ap;

		va_start(ap, f);
		while ((sub = va_arg(ap, const char *)))
			all = all && strstr(f->warn[i], sub);
		va_end(ap);
		n += all;
	}
	return n;
}

static void dump_warnings(const struct fx *f)
{
	size_t i;

	for (i = 0; i < f->nr_warn; i++)
		print_message("warning: %s\n", f->warn[i]);
}

/*
 * Where fixture trees go: $TMPDIR if set, else /dev/shm (tmpfs, like sysfs: the 5000-device
 * tree takes a second there and half a minute on a busy disk), else /tmp.
 */
static const char *scratch_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	struct stat st;

	if (tmp && *tmp)
		return tmp;
	if (!stat("/dev/shm", &st) && S_ISDIR(st.st_mode) && !access("/dev/shm", W_OK | X_OK))
		return "/dev/shm";
	return "/tmp";
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	fmt_path(f->root, sizeof(f->root), "%s/mdg-sysfs-XXXXXX", scratch_dir());
	if (!mkdtemp(f->root)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	size_t i;

	mdg_sysfs_free(&f->s);
	nftw(f->root, rm_entry, 64, FTW_DEPTH | FTW_PHYS);
	for (i = 0; i < f->nr_warn; i++)
		free(f->warn[i]);
	free(f->warn);
	free(f);
	return 0;
}

static void abspath(const struct fx *f, const char *rel, char *out)
{
	fmt_path(out, PATH_MAX, "%s/%s", f->root, rel);
}

/* mkdir -p of an absolute path, cheapest when the parent exists (the common case). */
static void mkdirs_abs(char *path)
{
	char *slash;

	if (!mkdir(path, 0755) || errno == EEXIST)
		return;
	assert_int_equal(errno, ENOENT);
	slash = strrchr(path, '/');
	assert_non_null(slash);
	*slash = '\0';
	mkdirs_abs(path);
	*slash = '/';
	assert_true(!mkdir(path, 0755) || errno == EEXIST);
}

static void mkdirs(const struct fx *f, const char *rel)
{
	char path[PATH_MAX];

	abspath(f, rel, path);
	mkdirs_abs(path);
}

static void mkparent(const struct fx *f, const char *rel)
{
	char dir[PATH_MAX], *slash;

	fmt_path(dir, sizeof(dir), "%s", rel);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		mkdirs(f, dir);
	}
}

static void write_bytes(const struct fx *f, const char *rel, const void *data, size_t len)
{
	char path[PATH_MAX];
	int fd;

	mkparent(f, rel);
	abspath(f, rel, path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void write_str(const struct fx *f, const char *rel, const char *s)
{
	write_bytes(f, rel, s, strlen(s));
}

/* A symlink at rel to target, a path relative to the root, written relative as sysfs does. */
static void link_rel(const struct fx *f, const char *rel, const char *target)
{
	char path[PATH_MAX], to[PATH_MAX] = "";
	const char *p;

	mkparent(f, rel);
	abspath(f, rel, path);
	for (p = strchr(rel, '/'); p; p = strchr(p + 1, '/'))
		strcat(to, "../");
	strcat(to, target);
	assert_int_equal(symlink(to, path), 0);
}

static void parent_dir(const char *parent, char *out)
{
	fmt_path(out, PATH_MAX, "devices/pci0000:00/%s", parent);
}

static void add_parent(const struct fx *f, const char *parent)
{
	char dir[PATH_MAX], cls[PATH_MAX];

	parent_dir(parent, dir);
	mkdirs(f, dir);
	fmt_path(cls, sizeof(cls), "class/mdev_bus/%s", parent);
	link_rel(f, cls, dir);
}

/* A type whose attribute holds len bytes of attr; attr NULL: no attribute. */
static void add_type_raw(const struct fx *f, const char *parent, const char *type,
			 const void *attr, size_t len)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], name[128];

	parent_dir(parent, path);
	fmt_path(dir, sizeof(dir), "%s/mdev_supported_types/%s", path, type);
	mkdirs(f, dir);
	fmt_path(path, sizeof(path), "%s/devices", dir);
	mkdirs(f, path);
	fmt_path(path, sizeof(path), "%s/name", dir);
	fmt_path(name, sizeof(name), "Fake %s\n", type);
	write_str(f, path, name);
	fmt_path(path, sizeof(path), "%s/available_instances", dir);
	write_str(f, path, "7\n");
	fmt_path(path, sizeof(path), "%s/device_api", dir);
	write_str(f, path, "vfio-pci\n");
	if (!attr)
		return;
	fmt_path(path, sizeof(path), "%s/single_usage_restriction", dir);
	write_bytes(f, path, attr, len);
}

static void add_type(const struct fx *f, const char *parent, const char *type, const char *attr)
{
	add_type_raw(f, parent, type, attr, attr ? strlen(attr) : 0);
}

static void dev_dir(const char *parent, const char *uuid, char *out)
{
	fmt_path(out, PATH_MAX, "devices/pci0000:00/%s/%s", parent, uuid);
}

/* A device; group < 0: no iommu_group link, cdev < 0: no vfio-dev. */
static void add_dev(const struct fx *f, const char *parent, const char *type, const char *uuid,
		    int group, int cdev)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], to[PATH_MAX + 64];

	dev_dir(parent, uuid, dir);
	mkdirs(f, dir);
	fmt_path(path, sizeof(path), "%s/mdev_type", dir);
	parent_dir(parent, to);
	fmt_path(to + strlen(to), 64 + PATH_MAX - strlen(to), "/mdev_supported_types/%s", type);
	link_rel(f, path, to);
	if (group >= 0) {
		fmt_path(to, sizeof(to), "kernel/iommu_groups/%d", group);
		mkdirs(f, to);
		fmt_path(path, sizeof(path), "%s/iommu_group", dir);
		link_rel(f, path, to);
		fmt_path(path, sizeof(path), "devices/virtual/vfio/%d/dev", group);
		fmt_path(to, sizeof(to), "%d:%d\n", GROUP_MAJOR, group);
		write_str(f, path, to);
		fmt_path(path, sizeof(path), "class/vfio/%d", group);
		fmt_path(to, sizeof(to), "devices/virtual/vfio/%d", group);
		link_rel(f, path, to);
	}
	if (cdev >= 0) {
		fmt_path(path, sizeof(path), "%s/vfio-dev/vfio%d/dev", dir, cdev);
		fmt_path(to, sizeof(to), "%d:%d\n", CDEV_MAJOR, cdev);
		write_str(f, path, to);
	}
	fmt_path(path, sizeof(path), "bus/mdev/devices/%s", uuid);
	link_rel(f, path, dir);
}

static int scan(struct fx *f)
{
	mdg_sysfs_free(&f->s);
	return mdg_sysfs_scan(f->root, &f->s, capture, f);
}

static const struct mdg_sysfs_dev *dev(const struct fx *f, const char *uuid)
{
	const struct mdg_sysfs_dev *d = mdg_sysfs_find(&f->s, uuid);

	if (!d)
		dump_warnings(f);
	assert_non_null(d);
	return d;
}

/* ---- UUIDs ---- */

static void test_uuid_round_trip(void **state)
{
	static const char *const in[] = {
		"00000000-0000-0000-0000-000000000000",
		"ffffffff-ffff-ffff-ffff-ffffffffffff",
		"0123abcd-4567-89ef-0123-456789abcdef",
		"83b8f4f2-509f-382f-3c1e-e6bfe0fa1001",
	};
	char out[MDG_UUID_LEN];
	struct mdg_dev_id id;
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		assert_int_equal(mdg_uuid_parse(in[i], &id), 0);
		mdg_uuid_format(&id, out);
		assert_string_equal(out, in[i]);
	}
	assert_int_equal(mdg_uuid_parse("0123abcd-4567-89ef-0123-456789abcdef", &id), 0);
	assert_true(id.hi == 0x0123abcd456789efULL);
	assert_true(id.lo == 0x0123456789abcdefULL);
}

static void test_uuid_upper_case_in_lower_out(void **state)
{
	char out[MDG_UUID_LEN];
	struct mdg_dev_id id, id2;

	assert_int_equal(mdg_uuid_parse("0123ABCD-4567-89EF-0123-456789ABCDEF", &id), 0);
	mdg_uuid_format(&id, out);
	assert_string_equal(out, "0123abcd-4567-89ef-0123-456789abcdef");
	assert_int_equal(mdg_uuid_parse("0123abcd-4567-89ef-0123-456789abcdef", &id2), 0);
	assert_true(id.hi == id2.hi && id.lo == id2.lo);
	assert_int_equal(mdg_uuid_parse("0123aBcD-4567-89eF-0123-456789AbCdEf", &id2), 0);
	assert_true(id.hi == id2.hi && id.lo == id2.lo);
}

static void test_uuid_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"0123abcd",
		"0123abcd-4567-89ef-0123-456789abcde",		/* short */
		"0123abcd-4567-89ef-0123-456789abcdef0",	/* long */
		"0123abcd-4567-89ef-0123-456789abcdef\n",
		" 0123abcd-4567-89ef-0123-456789abcdef",
		"0123abcd 4567-89ef-0123-456789abcdef",
		"0123abcd4-567-89ef-0123-456789abcdef",		/* hyphen moved */
		"0123abcd-4567-89ef-0123-456789abcdeg",
		"0123abcd-4567-89ef-0123-45678-abcdef",
		"0123abcd-4567-89ef-01230456789abcdef",
		"{0123abcd-4567-89ef-0123-456789abcdef}",
		"0123abcd456789ef0123456789abcdef",
		"0x23abcd-4567-89ef-0123-456789abcdef",
		"zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
	};
	struct mdg_dev_id id = { 7, 9 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mdg_uuid_parse(bad[i], &id) != -EINVAL)
			fail_msg("accepted bad UUID '%s'", bad[i]);
	}
	assert_int_equal(mdg_uuid_parse(NULL, &id), -EINVAL);
	assert_true(id.hi == 7 && id.lo == 9);	/* untouched on error */
}

/* ---- the attribute's content ---- */

static void test_attr_parse_accepted(void **state)
{
	static const struct {
		const char *s;
		enum mdg_attr a;
	} ok[] = {
		{ "Y", MDG_ATTR_YES }, { "y", MDG_ATTR_YES }, { "1", MDG_ATTR_YES },
		{ "on", MDG_ATTR_YES }, { "ON", MDG_ATTR_YES }, { "On", MDG_ATTR_YES },
		{ "oN", MDG_ATTR_YES },
		{ "N", MDG_ATTR_NO }, { "n", MDG_ATTR_NO }, { "0", MDG_ATTR_NO },
		{ "off", MDG_ATTR_NO }, { "OFF", MDG_ATTR_NO }, { "Off", MDG_ATTR_NO },
		{ "oFf", MDG_ATTR_NO },
	};
	char buf[8];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (mdg_attr_parse(ok[i].s, strlen(ok[i].s)) != ok[i].a)
			fail_msg("'%s' not parsed as %s", ok[i].s, mdg_attr_name(ok[i].a));
		fmt_path(buf, sizeof(buf), "%s\n", ok[i].s);
		if (mdg_attr_parse(buf, strlen(buf)) != ok[i].a)
			fail_msg("'%s\\n' not parsed as %s", ok[i].s, mdg_attr_name(ok[i].a));
	}
	/* len, not the NUL, ends the content */
	assert_int_equal(mdg_attr_parse("Yjunk", 1), MDG_ATTR_YES);
	assert_int_equal(mdg_attr_parse("N\njunk", 2), MDG_ATTR_NO);
}

static void test_attr_parse_rejected(void **state)
{
	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
#define B(x) { x, sizeof(x) - 1 }
		B(""), B("\n"), B("\n\n"), B("Y\n\n"), B("N\n\n"), B("YES"), B("yes"), B("Yes\n"),
		B("no"), B("NO\n"), B("true"), B("false"), B("t"), B("T\n"), B("f"), B("F"),
		B("of"), B("o"), B("O\n"), B("onn"), B("offf"), B("off\n\n"), B("Y "), B(" Y"),
		B("Y\t"), B("\nY"), B("Y\r\n"), B("Y\r"), B("Y\0"), B("\0"), B("2"), B("-1"),
		B("10"), B("maybe"), B("\x01\xffY"), B("YN"), B("y\n\n"), B("\xc3\x9d"),
#undef B
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mdg_attr_parse(bad[i].s, bad[i].len) != MDG_ATTR_MALFORMED)
			fail_msg("bad content #%zu (%zu bytes) accepted", i, bad[i].len);
	}
	assert_int_equal(mdg_attr_parse(NULL, 0), MDG_ATTR_MALFORMED);
}

static void test_attr_name(void **state)
{
	assert_string_equal(mdg_attr_name(MDG_ATTR_YES), "Y");
	assert_string_equal(mdg_attr_name(MDG_ATTR_NO), "N");
	assert_string_equal(mdg_attr_name(MDG_ATTR_ABSENT), "absent");
	assert_string_equal(mdg_attr_name(MDG_ATTR_MALFORMED), "malformed");
}

/* ---- scans ---- */

static void test_scan_y_device(void **state)
{
	struct fx *f = *state;
	const struct mdg_sysfs_dev *d;

	add_parent(f, P1);
	add_type(f, P1, "nvidia-63", "Y\n");
	add_dev(f, P1, "nvidia-63", U1, 12, -1);
	assert_int_equal(scan(f), 0);
	assert_int_equal(f->s.nr_devs, 1);
	d = dev(f, U1);
	assert_string_equal(d->uuid, U1);
	assert_string_equal(d->type, "nvidia-63");
	assert_string_equal(d->parent, P1);
	assert_int_equal(d->attr, MDG_ATTR_YES);
	assert_string_equal(d->attr_raw, "");
	assert_true(d->has_group);
	assert_int_equal(d->group, 12);
	assert_int_equal(d->group_major, GROUP_MAJOR);
	assert_int_equal(d->group_minor, 12);
	assert_false(d->has_cdev);
	assert_int_equal(f->nr_warn, 0);
}

static void test_scan_n_device(void **state)
{
	struct fx *f = *state;

	add_parent(f, P1);
	add_type(f, P1, "mtty-2", "N\n");
	add_dev(f, P1, "mtty-2", U1, 3, -1);
	assert_int_equal(scan(f), 0);
	assert_int_equal(dev(f, U1)->attr, MDG_ATTR_NO);
	assert_string_equal(dev(f, U1)->type, "mtty-2");
	assert_int_equal(f->nr_warn, 0);
}

static void test_scan_every_spelling(void **state)
{
	static const struct {
		const char *s;
		enum mdg_attr a;
	} sp[] = {
		{ "Y", MDG_ATTR_YES }, { "y\n", MDG_ATTR_YES }, { "1\n", MDG_ATTR_YES },
		{ "on\n", MDG_ATTR_YES }, { "ON", MDG_ATTR_YES },
		{ "N", MDG_ATTR_NO }, { "n\n", MDG_ATTR_NO }, { "0\n", MDG_ATTR_NO },
		{ "off\n", MDG_ATTR_NO }, { "OFF", MDG_ATTR_NO },
	};
	struct fx *f = *state;
	char type[32], uuid[MDG_UUID_LEN];
	size_t i;

	add_parent(f, P1);
	for (i = 0; i < sizeof(sp) / sizeof(sp[0]); i++) {
		fmt_path(type, sizeof(type), "t-%zu", i);
		fmt_path(uuid, sizeof(uuid), "%08zx-0000-0000-0000-000000000000", i);
		add_type(f, P1, type, sp[i].s);
		add_dev(f, P1, type, uuid, (int)i, -1);
	}
	assert_int_equal(scan(f), 0);
	assert_int_equal(f->s.nr_devs, sizeof(sp) / sizeof(sp[0]));
	assert_int_equal(f->s.nr_types, sizeof(sp) / sizeof(sp[0]));
	for (i = 0; i < sizeof(sp) / sizeof(sp[0]); i++) {
		fmt_path(uuid, sizeof(uuid), "%08zx-0000-0000-0000-000000000000", i);
		if (dev(f, uuid)->attr != sp[i].a)
			fail_msg("attribute #%zu read as %s", i, mdg_attr_name(dev(f, uuid)->attr));
	}
	assert_int_equal(f->nr_warn, 0);
}

static void test_scan_absent(void **state)
{
	struct fx *f = *state;

	add_parent(f, P1);
	add_type(f, P1, "i915-GVTg_V5_4", NULL);
	add_dev(f, P1, "i915-GVTg_V5_4", U1, 0, -1);
	assert_int_equal(scan(f), 0);
	assert_int_equal(dev(f, U1)->attr, MDG_ATTR_ABSENT);
	assert_int_equal(f->s.nr_types, 1);
	assert_int_equal(f->s.types[0].attr, MDG_ATTR_ABSENT);
	assert_int_equal(f->nr_warn, 0);
}

/* One device of a type with the given attribute bytes: its attr_raw, and one warning. */
static void check_malformed(struct fx *f, const void *attr, size_t len, const char *raw)
{
	char path[PATH_MAX];

	add_parent(f, P1);
	add_type_raw(f, P1, "odd", attr, len);
	add_dev(f, P1, "odd", U1, 1, -1);
	assert_int_equal(scan(f), 0);
	assert_int_equal(dev(f, U1)->attr, MDG_ATTR_MALFORMED);
	assert_string_equal(dev(f, U1)->attr_raw, raw);
	assert_int_equal(f->s.nr_types, 1);
	assert_int_equal(f->s.types[0].attr, MDG_ATTR_MALFORMED);
	assert_string_equal(f->s.types[0].attr_raw, raw);
	/* reported once, naming the file */
	fmt_path(path, sizeof(path), "%s/devices/pci0000:00/" P1
		 "/mdev_supported_types/odd/single_usage_restriction", f->root);
	if (warned(f, path, "malformed", NULL) != 1 || f->nr_warn != 1) {
		dump_warnings(f);
		fail_msg("expected one warning naming %s", path);
	}
}

static void test_scan_malformed_maybe(void **state)
{
	struct fx *f = *state;

	check_malformed(f, "maybe\n", 6, "maybe\\n");
	assert_int_equal(warned(f, "\"maybe\\n\"", NULL), 1);
}

static void test_scan_malformed_empty(void **state)
{
	check_malformed(*state, "", 0, "");
}

static void test_scan_malformed_double_newline(void **state)
{
	check_malformed(*state, "Y\n\n", 3, "Y\\n\\n");
}

static void test_scan_malformed_yes(void **state)
{
	check_malformed(*state, "YES\n", 4, "YES\\n");
}

static void test_scan_malformed_binary(void **state)
{
	struct fx *f = *state;

	check_malformed(f, "\x01\xffY\0\\", 5, "\\x01\\xffY\\x00\\\\");
	assert_int_equal(warned(f, "\\x01\\xffY\\x00\\\\", NULL), 1);
}

static void test_scan_malformed_long(void **state)
{
	struct fx *f = *state;
	char big[200];
	const char *raw;

	memset(big, 'A', sizeof(big));
	check_malformed(f, big, sizeof(big), "AAAAAAAAAAAAAAAAAAAAAAAAAAAA...");
	raw = dev(f, U1)->attr_raw;
	assert_int_equal(strlen(raw), sizeof(dev(f, U1)->attr_raw) - 1);
}

static void test_scan_malformed_escape_cut(void **state)
{
	struct fx *f = *state;

	/* 8 bytes of 4 escaped characters each do not fit in 31: cut at a whole escape */
	check_malformed(f, "\x01\x02\x03\x04\x05\x06\x07\x08", 8,
			"\\x01\\x02\\x03\\x04\\x05\\x06\\x07...");
}

static void test_scan_attr_unreadable(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX];

	add_parent(f, P1);
	add_type(f, P1, "odd", NULL);
	fmt_path(path, sizeof(path), "devices/pci0000:00/" P1
		 "/mdev_supported_types/odd/single_usage_restriction");
	mkdirs(f, path);	/* a directory: read fails with EISDIR */
	add_dev(f, P1, "odd", U1, 1, -1);
	assert_int_equal(scan(f), 0);
	assert_int_equal(dev(f, U1)->attr, MDG_ATTR_MALFORMED);
	assert_string_equal(dev(f, U1)->attr_raw, "<EISDIR>");
	assert_int_equal(warned(f, "single_usage_restriction: cannot read", NULL), 1);
}

static void test_scan_attr_fifo(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX];

	add_parent(f, P1);
	add_type(f, P1, "odd", NULL);
	abspath(f, "devices/pci0000:00/" P1 "/mdev_supported_types/odd/single_usage_restriction",
		path);
	assert_int_equal(mkfifo(path, 0644), 0);	/* must not hang the scan */
	add_dev(f, P1, "odd", U1, 1, -1);
	assert_int_equal(scan(f), 0);
	assert_int_equal(dev(f, U1)->attr, MDG_ATTR_MALFORMED);
	assert_int_equal(warned(f, "single_usage_restriction: cannot read", NULL), 1);
}

static void test_scan_dangling_type_link(void **state)
{
	struct fx *f = *state;
	char link[PATH_MAX];

	add_parent(f, P1);
	add_type(f, P1, "good", "N\n");
	add_dev(f, P1, "good", U1, 1, -1);
	add_dev(f, P1, "gone-type", U2, 2, -1);	/* type directory never created */
	assert_int_equal(scan(f), 0);
	assert_int_equal(f->s.nr_devs, 1);
	assert_string_equal(f->s.devs[0].uuid, U1);
	assert_null(mdg_sysfs_find(&f->s, U2));
	fmt_path(link, sizeof(link), "%s/bus/mdev/devices/" U2 "/mdev_type", f->root);
	if (warned(f, link, "dangling", "gone-type", NULL) != 1) {
		dump_warnings(f);
		fail_msg("no warning naming %s", link);
	}
}

static void test_scan_missing_type_link(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX], link[PATH_MAX];

	add_parent(f, P1);
	add_type(f, P1, "good", "N\n");
	add_dev(f, P1, "good", U1, 1, -1);
	dev_dir(P1, U2, path);
	mkdirs(f, path);
	link_rel(f, "bus/mdev/devices/" U2, path);
	assert_int_equal(scan(f), 0);
	assert_int_equal(f->s.nr_devs, 1);
	fmt_path(link, sizeof(link), "%s/bus/mdev/devices/" U2 "/mdev_type", f->root);
	assert_int_equal(warned(f, link, "no mdev_type link", NULL), 1);
}

static void test_scan_type_link_not_a_link(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX];

	add_parent(f, P1);
	dev_dir(P1, U1, path);
	strcat(path, "/mdev_type");
	mkdirs(f, path);
	dev_dir(P1, U1, path);
	link_rel(f, "bus/mdev/devices/" U1, path);
	assert_int_equal(scan(f), 0);
	assert_int_equal(f->s.nr_devs, 0);
	assert_int_equal(warned(f, U1 "/mdev_type", "not a symbolic link", NULL), 1);
}

/*
 * A type name longer than the kernel side reads (63 characters) is cut to what it sees and taken
 * as malformed, so restricted whatever the attribute says: another type may share that prefix.
 * The device is kept: skipping it would leave it out of the open check.
 */
static void test_scan_type_name_too_long(void **state)
{
	struct fx *f = *state;
	char type[100], cut[MDG_TYPE_LEN];

	memset(type, 'x', sizeof(type) - 1);
	type[sizeof(type) - 1] = '\0';
	memset(cut, 'x', sizeof(cut) - 1);
	cut[sizeof(cut) - 1] = '\0';
	add_parent(f, P1);
	add_type(f, P1, type, "N\n");
	add_dev(f, P1, type, U1, 1, -1);
	assert_int_equal(scan(f), 0);
	assert_int_equal(f->s.nr_devs, 1);
	assert_string_equal(f->s.devs[0].type, cut);
	assert_int_equal(f->s.devs[0].attr, MDG_ATTR_MALFORMED);
	assert_string_equal(f->s.devs[0].attr_raw, "<name over 63 chars>");
	assert_int_equal(f->s.nr_types, 1);
	assert_string_equal(f->s.types[0].type, cut);
	assert_int_equal(f->s.types[0].attr, MDG_ATTR_MALFORMED);
	assert_int_equal(warned(f, U1 "/mdev_type", "over 63 characters", "restricted", NULL), 1);
	assert_int_equal(warned(f, "mdev_supported_types/", "over 63 characters", NULL), 1);
}

/* A 63-character name is not cut. */
static void test_scan_type_name_longest(void **state)
{
	struct fx *f = *state;
	char type[MDG_TYPE_LEN];

	memset(type, 'y', sizeof(type) - 1);
	type[sizeof(type) - 1] = '\0';
	add_parent(f, P1);
	add_type(f, P1, type, "N\n");
	add_dev(f, P1, type, U1, 1, -1);
	assert_int_equal(scan(f), 0);
	assert_int_equal(f->s.nr_devs, 1);
	assert_string_equal(f->s.devs[0].type, type);
	assert_int_equal(f->s.devs[0].attr, MDG_ATTR_NO);
	assert_int_equal(f->nr_warn, 0);
}

/* A parent named as long as a file name may be (NAME_MAX) is kept whole with its device. */
static void test_scan_parent_name_longest(void **state)
{
	struct fx *f = *state;
	char parent[NAME_MAX + 1];

	memset(parent, 'p', sizeof(parent) - 1);
	parent[sizeof(parent) - 1] = '\0';
	add_parent(f, parent);
	add_type(f, parent, "vendor-1", "Y\n");
	add_dev(f, parent, "vendor-1", U1, 1, -1);
	assert_int_equal(scan(f), 0);
	assert_int_equal(f->s.nr_devs, 1);
	assert_int_equal(f->s.devs[0].attr, MDG_ATTR_YES);
	assert_string_equal(f->s.devs[0].parent, parent);
	assert_int_equal(f->s.nr_types, 1);
	assert_string_equal(f->s.types[0].parent, parent);
}

static void test_scan_missing_group(void **state)
{
	struct fx *f = *state;
	const struct mdg_sysfs_dev *d;

	add_parent(f, P1);
	add_type(f, P1, "t", "Y\n");
	add_dev(f, P1, "t", U1, -1, -1);
	assert_int_equal(scan(f), 0);
	assert_int_equal(f->s.nr_devs, 1);
	d = dev(f, U1);
	assert_false(d->has_group);
	assert_false(d->has_cdev);
	assert_int_equal(d->attr, MDG_ATTR_YES);
	assert_int_equal(f->nr_warn, 0);
}

static void test_scan_group_without_node(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX];
	const struct mdg_sysfs_dev *d;

	add_parent(f, P1);
	add_type(f, P1, "t", "Y\n");
	add_dev(f, P1, "t", U1, 5, 0);
	abspath(f, "class/vfio/5", path);
	assert_int_equal(unlink(path), 0);	/* cdev-only kernel: no group node */
	assert_int_equal(scan(f), 0);
	d = dev(f, U1);
	assert_false(d->has_group);
	assert_int_equal(d->group, 5);
	assert_true(d->has_cdev);
	assert_int_equal(f->nr_warn, 0);
}

static void test_scan_bad_group(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX];

	add_parent(f, P1);
	add_type(f, P1, "t", "Y\n");
	add_dev(f, P1, "t", U1, 5, -1);
	add_dev(f, P1, "t", U2, 6, -1);
	add_dev(f, P1, "t", U3, -1, -1);
	write_str(f, "devices/virtual/vfio/5/dev", "243\n");
	write_str(f, "devices/virtual/vfio/6/dev", "4096:1\n");	/* major out of range */
	mkdirs(f, "kernel/iommu_groups/abc");
	dev_dir(P1, U3, path);
	strcat(path, "/iommu_group");
	link_rel(f, path, "kernel/iommu_groups/abc");
	assert_int_equal(scan(f), 0);
	assert_int_equal(f->s.nr_devs, 3);	/* all kept, none with a group node */
	assert_false(dev(f, U1)->has_group);
	assert_false(dev(f, U2)->has_group);
	assert_false(dev(f, U3)->has_group);
	assert_int_equal(warned(f, "vfio/5/dev", "not a device number", NULL), 1);
	assert_int_equal(warned(f, "vfio/6/dev", "not a device number", NULL), 1);
	assert_int_equal(warned(f, U3 "/iommu_group", "abc", NULL), 1);
}

static void test_scan_cdev(void **state)
{
	struct fx *f = *state;
	const struct mdg_sysfs_dev *d;

	add_parent(f, P1);
	add_type(f, P1, "t", "N\n");
	add_dev(f, P1, "t", U1, 9, 3);
	add_dev(f, P1, "t", U2, -1, 4);
	assert_int_equal(scan(f), 0);
	d = dev(f, U1);
	assert_true(d->has_group);
	assert_int_equal(d->group, 9);
	assert_true(d->has_cdev);
	assert_string_equal(d->cdev_name, "vfio3");
	assert_int_equal(d->cdev_major, CDEV_MAJOR);
	assert_int_equal(d->cdev_minor, 3);
	d = dev(f, U2);
	assert_false(d->has_group);
	assert_true(d->has_cdev);
	assert_string_equal(d->cdev_name, "vfio4");
	assert_int_equal(d->cdev_minor, 4);
	assert_int_equal(f->nr_warn, 0);
}

static void test_scan_same_type_two_parents(void **state)
{
	struct fx *f = *state;

	add_parent(f, P2);
	add_parent(f, P1);
	add_type(f, P2, "nvidia-63", "N\n");
	add_type(f, P1, "nvidia-63", "Y\n");
	add_type(f, P1, "mtty-1", NULL);
	add_dev(f, P2, "nvidia-63", U1, 1, -1);
	add_dev(f, P1, "nvidia-63", U2, 2, -1);
	assert_int_equal(scan(f), 0);
	assert_int_equal(f->s.nr_types, 3);
	assert_string_equal(f->s.types[0].type, "mtty-1");
	assert_string_equal(f->s.types[1].type, "nvidia-63");
	assert_string_equal(f->s.types[1].parent, P1);
	assert_int_equal(f->s.types[1].attr, MDG_ATTR_YES);
	assert_string_equal(f->s.types[2].type, "nvidia-63");
	assert_string_equal(f->s.types[2].parent, P2);
	assert_int_equal(f->s.types[2].attr, MDG_ATTR_NO);
	/* each device reads its own parent's type directory */
	assert_string_equal(dev(f, U1)->parent, P2);
	assert_int_equal(dev(f, U1)->attr, MDG_ATTR_NO);
	assert_string_equal(dev(f, U2)->parent, P1);
	assert_int_equal(dev(f, U2)->attr, MDG_ATTR_YES);
	assert_string_equal(dev(f, U1)->type, dev(f, U2)->type);
	assert_int_equal(f->nr_warn, 0);
}

static void test_scan_type_fields(void **state)
{
	struct fx *f = *state;
	const struct mdg_sysfs_type *t;

	add_parent(f, P1);
	add_type(f, P1, "a", "Y\n");
	write_str(f, "devices/pci0000:00/" P1 "/mdev_supported_types/a/available_instances", "x\n");
	add_type(f, P1, "b", "N\n");
	write_str(f, "devices/pci0000:00/" P1 "/mdev_supported_types/b/name", "GRID \x01 8Q\n");
	/* a parent without types, a stray file among the types */
	add_parent(f, P2);
	write_str(f, "devices/pci0000:00/" P1 "/mdev_supported_types/stray", "x");
	assert_int_equal(scan(f), 0);
	assert_int_equal(f->s.nr_devs, 0);
	assert_int_equal(f->s.nr_types, 2);
	t = &f->s.types[0];
	assert_string_equal(t->type, "a");
	assert_string_equal(t->parent, P1);
	assert_string_equal(t->name, "Fake a");
	assert_int_equal(t->available, -1);
	assert_int_equal(t->attr, MDG_ATTR_YES);
	t = &f->s.types[1];
	assert_string_equal(t->name, "GRID ? 8Q");
	assert_int_equal(t->available, 7);
	assert_int_equal(t->attr, MDG_ATTR_NO);
}

static void test_scan_non_uuid_skipped(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX];

	add_parent(f, P1);
	add_type(f, P1, "t", "N\n");
	add_dev(f, P1, "t", U1, 1, -1);
	dev_dir(P1, U1, path);
	link_rel(f, "bus/mdev/devices/not-a-uuid", path);
	link_rel(f, "bus/mdev/devices/" U2 "x", path);
	assert_int_equal(scan(f), 0);
	assert_int_equal(f->s.nr_devs, 1);
	assert_string_equal(f->s.devs[0].uuid, U1);
	assert_int_equal(warned(f, "bus/mdev/devices/not-a-uuid", "not a UUID", NULL), 1);
	assert_int_equal(warned(f, "bus/mdev/devices/" U2 "x", "not a UUID", NULL), 1);
	assert_int_equal(f->nr_warn, 2);
}

static void test_scan_upper_case_entry(void **state)
{
	struct fx *f = *state;

	add_parent(f, P1);
	add_type(f, P1, "t", "N\n");
	add_dev(f, P1, "t", "ABCDEF01-2222-3333-4444-55555555AAAA", 1, -1);
	assert_int_equal(scan(f), 0);
	assert_int_equal(f->s.nr_devs, 1);
	assert_string_equal(f->s.devs[0].uuid, "abcdef01-2222-3333-4444-55555555aaaa");
	assert_int_equal(f->s.devs[0].attr, MDG_ATTR_NO);
}

static void test_scan_missing_bus(void **state)
{
	struct fx *f = *state;

	mkdirs(f, "class");
	assert_int_equal(scan(f), 0);
	assert_int_equal(f->s.nr_devs, 0);
	assert_int_equal(f->s.nr_types, 0);
	assert_null(f->s.devs);
	assert_int_equal(f->nr_warn, 0);
	assert_null(mdg_sysfs_find(&f->s, U1));
}

static void test_scan_bad_root(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX];

	abspath(f, "nonexistent", path);
	assert_int_equal(mdg_sysfs_scan(path, &f->s, capture, f), -ENOENT);
	assert_int_equal(warned(f, path, NULL), 1);
	write_str(f, "file", "x");
	abspath(f, "file", path);
	assert_int_equal(mdg_sysfs_scan(path, &f->s, capture, f), -ENOTDIR);
	assert_int_equal(f->s.nr_devs, 0);
	assert_int_equal(mdg_sysfs_scan(NULL, &f->s, capture, f), -EINVAL);
	assert_int_equal(mdg_sysfs_scan(f->root, NULL, capture, f), -EINVAL);
}

static void test_scan_bus_not_a_dir(void **state)
{
	struct fx *f = *state;

	add_parent(f, P1);
	add_type(f, P1, "t", "N\n");
	write_str(f, "bus/mdev/devices", "x");
	assert_int_equal(scan(f), -ENOTDIR);
	assert_int_equal(f->s.nr_devs, 0);
	assert_int_equal(f->s.nr_types, 0);
	assert_null(f->s.types);
	assert_int_equal(warned(f, "bus/mdev/devices", "cannot list", NULL), 1);
}

static void test_scan_removed_mid_scan(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX];

	add_parent(f, P1);
	add_type(f, P1, "t", "Y\n");
	add_dev(f, P1, "t", U1, 1, -1);
	/* listed in the bus, but its directory went away before we followed the link */
	dev_dir(P1, U2, path);
	link_rel(f, "bus/mdev/devices/" U2, path);
	assert_int_equal(scan(f), 0);
	assert_int_equal(f->s.nr_devs, 1);
	assert_string_equal(f->s.devs[0].uuid, U1);
	assert_int_equal(warned(f, "bus/mdev/devices/" U2, "removed", NULL), 1);
	assert_int_equal(f->nr_warn, 1);
}

static void test_scan_sorted(void **state)
{
	struct fx *f = *state;
	size_t i;

	add_parent(f, P1);
	add_type(f, P1, "t", "Y\n");
	add_dev(f, P1, "t", U3, 3, -1);
	add_dev(f, P1, "t", U1, 1, -1);
	add_dev(f, P1, "t", U4, 4, -1);
	add_dev(f, P1, "t", U2, 2, -1);
	assert_int_equal(scan(f), 0);
	assert_int_equal(f->s.nr_devs, 4);
	assert_string_equal(f->s.devs[0].uuid, U1);
	assert_string_equal(f->s.devs[1].uuid, U2);
	assert_string_equal(f->s.devs[2].uuid, U3);
	assert_string_equal(f->s.devs[3].uuid, U4);
	for (i = 0; i < 4; i++)
		assert_int_equal(f->s.devs[i].group, i + 1);
}

static void test_scan_find(void **state)
{
	struct fx *f = *state;

	add_parent(f, P1);
	add_type(f, P1, "t", "Y\n");
	add_dev(f, P1, "t", "abcdef01-2222-3333-4444-55555555aaaa", 1, -1);
	add_dev(f, P1, "t", U1, 2, -1);
	assert_int_equal(scan(f), 0);
	assert_non_null(mdg_sysfs_find(&f->s, "ABCDEF01-2222-3333-4444-55555555AAAA"));
	assert_int_equal(mdg_sysfs_find(&f->s, U1)->group, 2);
	assert_null(mdg_sysfs_find(&f->s, U2));
	assert_null(mdg_sysfs_find(&f->s, "garbage"));
	assert_null(mdg_sysfs_find(&f->s, NULL));
	assert_null(mdg_sysfs_find(NULL, U1));
}

/* Without class/mdev_bus the attribute is read through each device, still reported once. */
static void test_scan_no_mdev_bus_class(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX];

	add_parent(f, P1);
	add_type(f, P1, "odd", "?");
	add_dev(f, P1, "odd", U1, 1, -1);
	add_dev(f, P1, "odd", U2, 2, -1);
	add_dev(f, P1, "odd", U3, 3, -1);
	abspath(f, "class/mdev_bus/" P1, path);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(scan(f), 0);
	assert_int_equal(f->s.nr_types, 0);
	assert_int_equal(f->s.nr_devs, 3);
	assert_int_equal(dev(f, U3)->attr, MDG_ATTR_MALFORMED);
	assert_string_equal(dev(f, U3)->attr_raw, "?");
	assert_int_equal(f->nr_warn, 1);
}

static void test_scan_warn_null(void **state)
{
	struct fx *f = *state;

	add_parent(f, P1);
	add_type(f, P1, "odd", "junk");
	add_dev(f, P1, "odd", U1, 1, -1);
	add_dev(f, P1, "missing", U2, 2, -1);
	assert_int_equal(mdg_sysfs_scan(f->root, &f->s, NULL, NULL), 0);
	assert_int_equal(f->s.nr_devs, 1);
	assert_int_equal(f->s.devs[0].attr, MDG_ATTR_MALFORMED);
}

static void test_scan_rescan_reuses(void **state)
{
	struct fx *f = *state;

	add_parent(f, P1);
	add_type(f, P1, "t", "Y\n");
	add_dev(f, P1, "t", U1, 1, -1);
	assert_int_equal(scan(f), 0);
	assert_int_equal(f->s.nr_devs, 1);
	add_dev(f, P1, "t", U2, 2, -1);
	assert_int_equal(scan(f), 0);	/* scan() frees the previous result first */
	assert_int_equal(f->s.nr_devs, 2);
	mdg_sysfs_free(&f->s);
	assert_int_equal(f->s.nr_devs, 0);
	assert_null(f->s.devs);
	mdg_sysfs_free(&f->s);	/* twice is fine */
	mdg_sysfs_free(NULL);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define MANY 5000

static void test_scan_thousands(void **state)
{
	struct fx *f = *state;
	char uuid[MDG_UUID_LEN], type[16];
	double t0, took;
	size_t i;

	add_parent(f, P1);
	add_type(f, P1, "even", "Y\n");
	add_type(f, P1, "odd", "N\n");
	/* created in an order unlike the sorted one */
	for (i = 0; i < MANY; i++) {
		size_t k = (i * 7919) % MANY;

		fmt_path(uuid, sizeof(uuid), "%08zx-0000-4000-8000-%012zx", k, k * 3);
		fmt_path(type, sizeof(type), "%s", k % 2 ? "odd" : "even");
		add_dev(f, P1, type, uuid, (int)k, k % 3 ? -1 : (int)k);
	}
	t0 = now();
	assert_int_equal(scan(f), 0);
	took = now() - t0;
	print_message("scanned %d devices in %.3f s\n", MANY, took);
	assert_int_equal(f->s.nr_devs, MANY);
	assert_int_equal(f->nr_warn, 0);
	for (i = 0; i < MANY; i++) {
		const struct mdg_sysfs_dev *d = &f->s.devs[i];

		fmt_path(uuid, sizeof(uuid), "%08zx-0000-4000-8000-%012zx", i, i * 3);
		assert_string_equal(d->uuid, uuid);
		assert_string_equal(d->type, i % 2 ? "odd" : "even");
		assert_int_equal(d->attr, i % 2 ? MDG_ATTR_NO : MDG_ATTR_YES);
		assert_true(d->has_group);
		assert_int_equal(d->group, i);
		assert_int_equal(d->group_minor, i);
		assert_int_equal(d->has_cdev, i % 3 == 0);
	}
	assert_ptr_equal(mdg_sysfs_find(&f->s, "00000fff-0000-4000-8000-000000002ffd"),
			 &f->s.devs[0xfff]);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid_round_trip),
		cmocka_unit_test(test_uuid_upper_case_in_lower_out),
		cmocka_unit_test(test_uuid_bad),
		cmocka_unit_test(test_attr_parse_accepted),
		cmocka_unit_test(test_attr_parse_rejected),
		cmocka_unit_test(test_attr_name),
		T(test_scan_y_device),
		T(test_scan_n_device),
		T(test_scan_every_spelling),
		T(test_scan_absent),
		T(test_scan_malformed_maybe),
		T(test_scan_malformed_empty),
		T(test_scan_malformed_double_newline),
		T(test_scan_malformed_yes),
		T(test_scan_malformed_binary),
		T(test_scan_malformed_long),
		T(test_scan_malformed_escape_cut),
		T(test_scan_attr_unreadable),
		T(test_scan_attr_fifo),
		T(test_scan_dangling_type_link),
		T(test_scan_missing_type_link),
		T(test_scan_type_link_not_a_link),
		T(test_scan_type_name_too_long),
		T(test_scan_type_name_longest),
		T(test_scan_parent_name_longest),
		T(test_scan_missing_group),
		T(test_scan_group_without_node),
		T(test_scan_bad_group),
		T(test_scan_cdev),
		T(test_scan_same_type_two_parents),
		T(test_scan_type_fields),
		T(test_scan_non_uuid_skipped),
		T(test_scan_upper_case_entry),
		T(test_scan_missing_bus),
		T(test_scan_bad_root),
		T(test_scan_bus_not_a_dir),
		T(test_scan_removed_mid_scan),
		T(test_scan_sorted),
		T(test_scan_find),
		T(test_scan_no_mdev_bus_class),
		T(test_scan_warn_null),
		T(test_scan_rescan_reuses),
		T(test_scan_thousands),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
