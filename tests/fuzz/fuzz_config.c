// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: the configuration file (user/config.c), read from memory through
 * mdg_policy_load_stream(). Besides what the sanitizers catch, it aborts when the parser breaks
 * a promise of config.h: an error says "FILE:..." and leaves the policy as it was; the lists
 * hold no duplicates, no name both restricted and allowed, only valid type names and lower-case
 * UUIDs; and loading the same file twice gives what loading it once gave.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "uuid.h"

#define NAME	"fuzz.conf"
#define ERRLEN	512

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_config: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}

static int load(struct mdg_policy *p, const uint8_t *data, size_t size, char *err)
{
	FILE *f;
	int ret;

	/* Older glibc refuses a zero-sized buffer: an empty file all the same. */
	f = size ? fmemopen((void *)data, size, "r") : fmemopen("", 1, "r");
	if (!f)
		fail("fmemopen", strerror(errno));
	err[0] = '\0';
	ret = mdg_policy_load_stream(p, f, NAME, err, ERRLEN);
	fclose(f);
	return ret;
}

static bool list_has(const struct mdg_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (!strcmp(l->v[i], s))
			return true;
	}
	return false;
}

/* Same members, in any order; each list is checked for duplicates on its own. */
static bool list_same(const struct mdg_strlist *a, const struct mdg_strlist *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++) {
		if (!list_has(b, a->v[i]))
			return false;
	}
	return true;
}

static bool policy_same(const struct mdg_policy *a, const struct mdg_policy *b)
{
	return a->mode == b->mode && a->audit == b->audit &&
	       a->absent_restricted == b->absent_restricted && a->deny_errno == b->deny_errno &&
	       list_same(&a->restrict_types, &b->restrict_types) &&
	       list_same(&a->allow_types, &b->allow_types) &&
	       list_same(&a->restrict_devices, &b->restrict_devices) &&
	       list_same(&a->allow_devices, &b->allow_devices) &&
	       list_same(&a->brokers, &b->brokers);
}

static void check_list(const struct mdg_strlist *l, const struct mdg_strlist *opposite)
{
	size_t i, j;

	if (l->n && !l->v)
		fail("list without storage", NULL);
	for (i = 0; i < l->n; i++) {
		if (!l->v[i])
			fail("NULL list entry", NULL);
		for (j = i + 1; j < l->n; j++) {
			if (!strcmp(l->v[i], l->v[j]))
				fail("duplicate list entry", l->v[i]);
		}
		if (opposite && list_has(opposite, l->v[i]))
			fail("both restricted and allowed", l->v[i]);
	}
}

static void check_type(const char *s)
{
	size_t len = strlen(s), i;

	if (!len || len >= MDG_TYPE_LEN)
		fail("type name of bad length", s);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f || c == '/')
			fail("type name with a forbidden byte", s);
	}
}

static void check_uuid(const char *s)
{
	char back[MDG_UUID_LEN];
	struct mdg_dev_id id;

	if (mdg_uuid_parse(s, &id))
		fail("device list holds a non-UUID", s);
	mdg_uuid_format(&id, back);
	if (strcmp(back, s))
		fail("device list holds a UUID not in canonical lower case", s);
}

static void check_policy(const struct mdg_policy *p)
{
	size_t i;

	if (p->mode != MDG_MODE_EXCLUSIVE && p->mode != MDG_MODE_PER_TYPE)
		fail("mode out of range", NULL);
	if (p->deny_errno != EPERM && p->deny_errno != EACCES && p->deny_errno != EBUSY)
		fail("deny errno out of range", NULL);
	check_list(&p->restrict_types, &p->allow_types);
	check_list(&p->allow_types, &p->restrict_types);
	check_list(&p->restrict_devices, &p->allow_devices);
	check_list(&p->allow_devices, &p->restrict_devices);
	check_list(&p->brokers, NULL);
	for (i = 0; i < p->restrict_types.n; i++)
		check_type(p->restrict_types.v[i]);
	for (i = 0; i < p->allow_types.n; i++)
		check_type(p->allow_types.v[i]);
	for (i = 0; i < p->restrict_devices.n; i++)
		check_uuid(p->restrict_devices.v[i]);
	for (i = 0; i < p->allow_devices.n; i++)
		check_uuid(p->allow_devices.v[i]);
	for (i = 0; i < p->brokers.n; i++) {
		if (p->brokers.v[i][0] != '/')
			fail("broker not an absolute path", p->brokers.v[i]);
	}
}

/* "fuzz.conf:LINE: reason" or "fuzz.conf: reason", within the buffer. */
static void check_error(int ret, const char *err)
{
	if (ret >= 0 || ret < -4095)
		fail("error return not a negative errno", NULL);
	if (!memchr(err, '\0', ERRLEN))
		fail("error message not terminated", NULL);
	if (strncmp(err, NAME ":", strlen(NAME ":")) || strlen(err) <= strlen(NAME ": "))
		fail("error message does not start with the file name", err);
}

/* A policy as the command line may have set it before the file is (re)loaded. */
static void preset(struct mdg_policy *p)
{
	mdg_policy_init(p);
	if (mdg_policy_set(p, "mode", "per-type", NULL, 0) ||
	    mdg_policy_set(p, "audit", NULL, NULL, 0) ||
	    mdg_policy_set(p, "errno", "EBUSY", NULL, 0) ||
	    mdg_policy_set(p, "restrict-type", "nvidia-63", NULL, 0) ||
	    mdg_policy_set(p, "allow-type", "mtty-1", NULL, 0) ||
	    mdg_policy_set(p, "allow-device", "0c5a4d35-0f0c-4b6a-9f8e-6a4c3f1c0a01", NULL, 0) ||
	    mdg_policy_set(p, "broker", "/usr/sbin/libvirtd", NULL, 0))
		fail("preset rejected", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mdg_policy once, twice, fresh, base, before;
	char *err = malloc(ERRLEN);	/* exactly ERRLEN, so that ASan sees any overrun */
	int ret, ret2;

	if (!err)
		return 0;
	mdg_policy_init(&fresh);
	mdg_policy_init(&once);
	ret = load(&once, data, size, err);
	if (ret) {
		check_error(ret, err);
		if (!policy_same(&once, &fresh))
			fail("a failed load changed the policy", err);
		/* The same over a policy with content: a reload that fails keeps it whole. */
		preset(&base);
		preset(&before);
		ret2 = load(&base, data, size, err);
		if (ret2 != ret)
			fail("the same file failed differently over a preset policy", err);
		check_error(ret2, err);
		if (!policy_same(&base, &before))
			fail("a failed reload changed the policy", err);
		mdg_policy_free(&base);
		mdg_policy_free(&before);
	} else {
		check_policy(&once);
		/* Each setting's last mention wins, so a second load of the file is a no-op. */
		mdg_policy_init(&twice);
		if (load(&twice, data, size, err) || load(&twice, data, size, err))
			fail("a file that loaded once failed to load again", err);
		check_policy(&twice);
		if (!policy_same(&once, &twice))
			fail("loading the file twice differs from loading it once", NULL);
		mdg_policy_free(&twice);
	}
	mdg_policy_free(&once);
	free(err);
	return 0;
}
