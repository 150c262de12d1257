// SPDX-License-Identifier: GPL-2.0
/*
 * The policy (SPEC §8): made from the configuration file (configfile.c) and the command line's
 * settings, each through the option table (configkey.c), and what it answers: a type's or a
 * device's restriction, its compatibility class, the loader's selectors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "vgpufn.h"

static void strlist_free(struct mdg_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

bool mdg_strlist_has(const struct mdg_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (!strcmp(l->v[i], s))
			return true;
	}
	return false;
}

int mdg_strlist_add(struct mdg_strlist *l, const char *s)
{
	char **v, *dup;

	if (mdg_strlist_has(l, s))
		return 0;
	dup = strdup(s);
	if (!dup)
		return -ENOMEM;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v) {
		free(dup);
		return -ENOMEM;
	}
	v[l->n++] = dup;
	l->v = v;
	return 0;
}

void mdg_strlist_del(struct mdg_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (strcmp(l->v[i], s) != 0)
			continue;
		free(l->v[i]);
		memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
		l->n--;
		return;
	}
}

static int strlist_copy(struct mdg_strlist *dst, const struct mdg_strlist *src)
{
	size_t i;
	int ret;

	dst->v = NULL;
	dst->n = 0;
	for (i = 0; i < src->n; i++) {
		ret = mdg_strlist_add(dst, src->v[i]);
		if (ret)
			return ret;
	}
	return 0;
}

void mdg_policy_init(struct mdg_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->mode = MDG_MODE_EXCLUSIVE;
	p->deny_errno = EPERM;
}

void mdg_policy_free(struct mdg_policy *p)
{
	if (!p)
		return;
	strlist_free(&p->restrict_types);
	strlist_free(&p->allow_types);
	strlist_free(&p->restrict_devices);
	strlist_free(&p->allow_devices);
	strlist_free(&p->brokers);
	strlist_free(&p->vgpu_functions);
	strlist_free(&p->compatible);
	mdg_policy_init(p);
}

int mdg_policy_copy(struct mdg_policy *dst, const struct mdg_policy *src)
{
	int ret;

	*dst = *src;
	dst->restrict_types = dst->allow_types = (struct mdg_strlist){ 0 };
	dst->restrict_devices = dst->allow_devices = dst->brokers = (struct mdg_strlist){ 0 };
	dst->vgpu_functions = dst->compatible = (struct mdg_strlist){ 0 };
	ret = strlist_copy(&dst->restrict_types, &src->restrict_types);
	if (!ret)
		ret = strlist_copy(&dst->allow_types, &src->allow_types);
	if (!ret)
		ret = strlist_copy(&dst->restrict_devices, &src->restrict_devices);
	if (!ret)
		ret = strlist_copy(&dst->allow_devices, &src->allow_devices);
	if (!ret)
		ret = strlist_copy(&dst->brokers, &src->brokers);
	if (!ret)
		ret = strlist_copy(&dst->vgpu_functions, &src->vgpu_functions);
	if (!ret)
		ret = strlist_copy(&dst->compatible, &src->compatible);
	if (ret)
		mdg_policy_free(dst);
	return ret;
}

size_t mdg_policy_selectors(const struct mdg_policy *p, struct mdg_selector *sel)
{
	char err[256];
	size_t i, n = 0;

	for (i = 0; i < p->vgpu_functions.n && n < MDG_MAX_POLICY_SELECTORS; i++) {
		if (!mdg_selector_parse(p->vgpu_functions.v[i], &sel[n], err, sizeof(err)))
			n++;
	}
	return n;
}

int mdg_policy_build(struct mdg_policy *p, const char *path, const struct mdg_setting *settings,
		     size_t nr_settings, char *err, size_t errlen)
{
	struct mdg_policy next;
	char why[512];
	size_t i;
	int ret = 0;

	mdg_policy_init(&next);
	if (!path && access(MDG_DEFAULT_CONFIG, F_OK) == 0)
		path = MDG_DEFAULT_CONFIG;
	if (path)
		ret = mdg_policy_load_file(&next, path, err, errlen);
	for (i = 0; !ret && i < nr_settings; i++) {
		ret = mdg_policy_set(&next, settings[i].key, settings[i].value, why, sizeof(why));
		if (ret)
			mdg_set_err(err, errlen, "--%s: %s", settings[i].key, why);
	}
	if (ret) {
		mdg_policy_free(&next);
		return ret;
	}
	mdg_policy_free(p);
	*p = next;
	return 0;
}

static bool has_case(const struct mdg_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (!strcasecmp(l->v[i], s))
			return true;
	}
	return false;
}

bool mdg_policy_type_restricted(const struct mdg_policy *p, const char *type, enum mdg_attr attr,
				enum mdg_reason *reason)
{
	enum mdg_reason why;
	bool restricted;

	if (mdg_strlist_has(&p->allow_types, type) || mdg_strlist_has(&p->restrict_types, type)) {
		why = MDG_REASON_TYPE_OVERRIDE;
		restricted = !mdg_strlist_has(&p->allow_types, type);
	} else if (attr == MDG_ATTR_YES) {
		why = MDG_REASON_SYSFS_Y;
		restricted = true;
	} else if (attr == MDG_ATTR_NO) {
		why = MDG_REASON_SYSFS_N;
		restricted = false;
	} else if (attr == MDG_ATTR_ABSENT) {
		why = MDG_REASON_ABSENT;
		restricted = p->absent_restricted;
	} else {
		why = MDG_REASON_MALFORMED;
		restricted = true;
	}
	if (reason)
		*reason = why;
	return restricted;
}

bool mdg_policy_restricted(const struct mdg_policy *p, const struct mdg_sysfs_dev *d,
			   enum mdg_reason *reason)
{
	if (has_case(&p->allow_devices, d->uuid) || has_case(&p->restrict_devices, d->uuid)) {
		if (reason)
			*reason = MDG_REASON_DEVICE_OVERRIDE;
		return !has_case(&p->allow_devices, d->uuid);
	}
	return mdg_policy_type_restricted(p, d->type, d->attr, reason);
}
