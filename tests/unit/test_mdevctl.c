// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/mdevctl.c: definitions under a temporary mdevctl directory, resolved
 * against a temporary sysfs tree laid out as the kernel's (see test_sysfs.c):
 *
 *   SYS/devices/pci0000:00/<parent>/mdev_supported_types/<type>/single_usage_restriction
 *   SYS/class/mdev_bus/<parent> -> ../../devices/pci0000:00/<parent>
 *   MDEVCTL/<parent>/<uuid>      {"mdev_type":"<type>","start":"manual","attrs":[]}
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mdevctl.h"

#define U1 "11111111-2222-3333-4444-555555555555"
#define U2 "22222222-2222-3333-4444-555555555555"
#define P1 "0000:00:02.0"
#define P2 "0000:3b:00.0"

struct fx {
	char root[1024];
	char sys[1024 + 8];
	char ctl[1024 + 16];
	struct mdg_sysfs s;
	struct mdg_mdevctl_def def;
	char err[2 * PATH_MAX];
};

static void path_of(char *out, const struct fx *f, const char *rel)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", f->root, rel);

	assert_true(n > 0 && n < PATH_MAX);
}

static void mkdirs(const struct fx *f, const char *rel)
{
	char path[PATH_MAX], *p;

	path_of(path, f, rel);
	for (p = path + strlen(f->root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		assert_true(!mkdir(path, 0755) || errno == EEXIST);
		*p = '/';
	}
	assert_true(!mkdir(path, 0755) || errno == EEXIST);
}

static void write_file(const struct fx *f, const char *rel, const char *content)
{
	char path[PATH_MAX];
	int fd;

	path_of(path, f, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/mdg-mdevctl-XXXXXX", getenv("TMPDIR") ?: "/tmp");
	if (!mkdtemp(f->root)) {
		free(f);
		return -1;
	}
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->root);
	snprintf(f->ctl, sizeof(f->ctl), "%s/mdevctl.d", f->root);
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

	mdg_sysfs_free(&f->s);
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* A parent offering type with attribute attr (NULL: none). */
static void add_type(const struct fx *f, const char *parent, const char *type, const char *attr)
{
	char rel[PATH_MAX], to[PATH_MAX], link[PATH_MAX];

	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/mdev_supported_types/%s", parent,
		 type);
	mkdirs(f, rel);
	if (attr) {
		strcat(rel, "/single_usage_restriction");
		write_file(f, rel, attr);
	}
	mkdirs(f, "sys/class/mdev_bus");
	snprintf(link, sizeof(link), "%s/class/mdev_bus/%s", f->sys, parent);
	snprintf(to, sizeof(to), "../../devices/pci0000:00/%s", parent);
	assert_true(!symlink(to, link) || errno == EEXIST);
}

static void define(const struct fx *f, const char *parent, const char *uuid, const char *json)
{
	char rel[PATH_MAX];

	snprintf(rel, sizeof(rel), "mdevctl.d/%s", parent);
	mkdirs(f, rel);
	snprintf(rel, sizeof(rel), "mdevctl.d/%s/%s", parent, uuid);
	write_file(f, rel, json);
}

static int find(struct fx *f, const char *uuid)
{
	f->err[0] = '\0';
	return mdg_mdevctl_find(f->ctl, uuid, &f->def, f->err, sizeof(f->err));
}

static void scan(struct fx *f)
{
	mdg_sysfs_free(&f->s);
	assert_int_equal(mdg_sysfs_scan(f->sys, &f->s, NULL, NULL), 0);
}

static void test_defined_restricted(void **state)
{
	struct fx *f = *state;
	struct mdg_sysfs_dev d;

	add_type(f, P1, "nvidia-63", "Y\n");
	add_type(f, P1, "nvidia-64", "N\n");
	define(f, P1, U1, "{\"mdev_type\":\"nvidia-63\",\"start\":\"manual\",\"attrs\":[]}\n");
	define(f, P1, U2, "{ \"mdev_type\": \"nvidia-64\", \"start\": \"auto\" }");
	scan(f);

	assert_int_equal(find(f, U1), 1);
	assert_string_equal(f->def.parent, P1);
	assert_string_equal(f->def.type, "nvidia-63");
	assert_non_null(strstr(f->def.path, "mdevctl.d/" P1 "/" U1));
	assert_int_equal(mdg_mdevctl_resolve(&f->s, f->sys, &f->def, U1, &d, f->err,
					     sizeof(f->err)), 0);
	assert_string_equal(d.uuid, U1);
	assert_string_equal(d.type, "nvidia-63");
	assert_string_equal(d.parent, P1);
	assert_int_equal(d.attr, MDG_ATTR_YES);

	assert_int_equal(find(f, U2), 1);
	assert_int_equal(mdg_mdevctl_resolve(&f->s, f->sys, &f->def, U2, &d, f->err,
					     sizeof(f->err)), 0);
	assert_int_equal(d.attr, MDG_ATTR_NO);
}

/* The type is the parent's: the same type name elsewhere says nothing for it. */
static void test_type_of_its_parent(void **state)
{
	struct fx *f = *state;
	struct mdg_sysfs_dev d;

	add_type(f, P1, "mtty-2", "N\n");
	add_type(f, P2, "mtty-2", NULL);
	add_type(f, P2, "mtty-1", "garbage");
	define(f, P2, U1, "{\"mdev_type\":\"mtty-2\"}");
	define(f, P2, U2, "{\"mdev_type\":\"mtty-1\"}");
	scan(f);
	assert_int_equal(find(f, U1), 1);
	assert_int_equal(mdg_mdevctl_resolve(&f->s, f->sys, &f->def, U1, &d, f->err,
					     sizeof(f->err)), 0);
	assert_int_equal(d.attr, MDG_ATTR_ABSENT);
	assert_int_equal(find(f, U2), 1);
	assert_int_equal(mdg_mdevctl_resolve(&f->s, f->sys, &f->def, U2, &d, f->err,
					     sizeof(f->err)), 0);
	assert_int_equal(d.attr, MDG_ATTR_MALFORMED);
}

static void test_not_defined(void **state)
{
	struct fx *f = *state;

	assert_int_equal(find(f, U1), 0);	/* no mdevctl directory at all */
	define(f, P1, U2, "{\"mdev_type\":\"x\"}");
	mkdirs(f, "mdevctl.d/scripts.d/callouts");
	write_file(f, "mdevctl.d/stray-file", "x");
	assert_int_equal(find(f, U1), 0);
}

static void test_type_missing_in_sysfs(void **state)
{
	struct fx *f = *state;
	struct mdg_sysfs_dev d;

	add_type(f, P1, "nvidia-63", "Y");
	define(f, P2, U1, "{\"mdev_type\":\"nvidia-63\"}");
	scan(f);
	assert_int_equal(find(f, U1), 1);
	assert_int_equal(mdg_mdevctl_resolve(&f->s, f->sys, &f->def, U1, &d, f->err,
					     sizeof(f->err)), -ENOENT);
	assert_non_null(strstr(f->err, "defined as type nvidia-63 of " P2));
	assert_non_null(strstr(f->err, "does not offer"));
}

/* A bad definition: an error naming its file. */
static void bad_def(struct fx *f, const char *json, const char *want)
{
	define(f, P1, U1, json);
	assert_true(find(f, U1) < 0);
	if (!strstr(f->err, want) || !strstr(f->err, "mdevctl.d/" P1 "/" U1 ":"))
		fail_msg("error \"%s\" for %s does not name the file and \"%s\"", f->err, json,
			 want);
	assert_null(strchr(f->err, '\n'));
}

static void test_bad_definitions(void **state)
{
	struct fx *f = *state;

	bad_def(f, "", "not JSON");
	bad_def(f, "{\"mdev_type\":", "not JSON");
	bad_def(f, "{\"mdev_type\" \"x\"}", "not JSON");
	bad_def(f, "{\"mdev_type\":\"x\"} trailing", "not JSON: bytes after the object");
	bad_def(f, "[\"mdev_type\"]", "not a JSON object");
	bad_def(f, "{\"start\":\"auto\"}", "no \"mdev_type\" string");
	bad_def(f, "{\"mdev_type\":7}", "no \"mdev_type\" string");
	bad_def(f, "{\"mdev_type\":\"\"}", "does not name a type");
	bad_def(f, "{\"mdev_type\":\"../../x\"}", "does not name a type");
	bad_def(f, "{\"mdev_type\":\"..\"}", "does not name a type");
	bad_def(f, "{\"mdev_type\":\"a\\u0000b\"}", "does not name a type");
	bad_def(f, "{\"mdev_type\":\"0123456789012345678901234567890123456789012345678901234567"
		"890123\"}", "does not name a type");
}

static void test_bad_file(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX], *big;

	big = malloc(MDG_MDEVCTL_MAX_SIZE + 2);
	assert_non_null(big);
	memset(big, ' ', MDG_MDEVCTL_MAX_SIZE + 1);
	big[MDG_MDEVCTL_MAX_SIZE + 1] = '\0';
	bad_def(f, big, "larger than 64 KiB");
	free(big);

	path_of(path, f, "mdevctl.d/" P1 "/" U1);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);	/* must not hang */
	assert_true(find(f, U1) < 0);
	assert_non_null(strstr(f->err, "not a regular file"));
}

static void test_defined_twice(void **state)
{
	struct fx *f = *state;

	define(f, P1, U1, "{\"mdev_type\":\"a\"}");
	define(f, P2, U1, "{\"mdev_type\":\"b\"}");
	assert_int_equal(find(f, U1), -EINVAL);
	assert_non_null(strstr(f->err, "defined under two parents"));
}

struct seen {
	int defs, warns;
	char uuid[64], type[MDG_TYPE_LEN], parent[MDG_MDEVCTL_PARENT_LEN], warn[2 * PATH_MAX];
};

static int seen_def(void *ctx, const char *uuid, const struct mdg_mdevctl_def *def)
{
	struct seen *s = ctx;

	s->defs++;
	snprintf(s->uuid, sizeof(s->uuid), "%s", uuid);
	snprintf(s->type, sizeof(s->type), "%s", def->type);
	snprintf(s->parent, sizeof(s->parent), "%s", def->parent);
	return 0;
}

static int stop_at_first(void *ctx, const char *uuid, const struct mdg_mdevctl_def *def)
{
	seen_def(ctx, uuid, def);
	return -ECANCELED;
}

static void seen_warn(void *ctx, const char *fmt, ...)
{
	struct seen *s = ctx;
	va_list ap;

	s->warns++;
	va_start(ap, fmt);
	vsnprintf(s->warn, sizeof(s->warn), fmt, ap);
	va_end(ap);
}

/* Every definition, once; what is not one passed over, a broken one said and skipped. */
static void test_each(void **state)
{
	struct fx *f = *state;
	struct seen s = {};

	assert_int_equal(mdg_mdevctl_each(f->ctl, seen_def, &s, seen_warn, &s, f->err,
					  sizeof(f->err)), 0);
	assert_int_equal(s.defs + s.warns, 0);	/* no mdevctl directory at all */
	define(f, P1, U1, "{\"mdev_type\":\"nvidia-63\",\"start\":\"auto\"}");
	define(f, P2, U2, "{\"start\":\"auto\"}");
	define(f, P1, "not-a-uuid", "{\"mdev_type\":\"nvidia-63\"}");
	mkdirs(f, "mdevctl.d/scripts.d/callouts");
	write_file(f, "mdevctl.d/stray-file", "x");
	assert_int_equal(mdg_mdevctl_each(f->ctl, seen_def, &s, seen_warn, &s, f->err,
					  sizeof(f->err)), 0);
	assert_int_equal(s.defs, 1);
	assert_string_equal(s.uuid, U1);
	assert_string_equal(s.type, "nvidia-63");
	assert_string_equal(s.parent, P1);
	assert_int_equal(s.warns, 1);
	assert_non_null(strstr(s.warn, P2 "/" U2));
	/* the callback's answer ends the walk */
	memset(&s, 0, sizeof(s));
	assert_int_equal(mdg_mdevctl_each(f->ctl, stop_at_first, &s, seen_warn, &s, f->err,
					  sizeof(f->err)), -ECANCELED);
	assert_int_equal(s.defs, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defined_restricted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type_of_its_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_defined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type_missing_in_sysfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_definitions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defined_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_each, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
