// SPDX-License-Identifier: GPL-2.0
/* mdevguard list: what sysfs says, without BPF and without privileges. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "cli.h"
#include "config.h"
#include "mdevctl.h"
#include "vgpufn.h"
#include "attr.h"

/* A device mdevctl defined that sysfs does not show: not started. */
struct defined {
	char uuid[MDG_UUID_LEN];
	struct mdg_mdevctl_def def;
	const struct mdg_sysfs_type *type;	/* its type in sysfs, NULL if not offered */
};

struct defined_list {
	const struct mdg_sysfs *s;
	struct defined *v;
	size_t n, cap;
};

static int defined_add(void *ctx, const char *uuid, const struct mdg_mdevctl_def *def)
{
	struct defined_list *l = ctx;
	struct defined *v;

	/* started: listed among the devices */
	if (mdg_sysfs_find(l->s, uuid))
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		v = realloc(l->v, l->cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
	}
	v = &l->v[l->n++];
	snprintf(v->uuid, sizeof(v->uuid), "%s", uuid);
	v->def = *def;
	v->type = mdg_sysfs_find_type(l->s, def->parent, def->type);
	return 0;
}

static const char *defined_attr(const struct defined *d)
{
	return d->type ? mdg_attr_name(d->type->attr) : "-";
}

static struct json_object *attr_json(enum mdg_attr a)
{
	if (a == MDG_ATTR_ABSENT)
		return NULL;
	return json_object_new_string(mdg_attr_name(a));
}

static const char *source_name(enum mdg_fn_source src)
{
	switch (src) {
	case MDG_FN_VENDOR:
		return "vendor";
	case MDG_FN_SELECTOR:
		return "selector";
	default:
		return "none";
	}
}

static struct json_object *fn_json(const struct mdg_sysfs_fn *f)
{
	struct json_object *x = json_object_new_object();
	char buf[16];

	json_object_object_add(x, "address", json_object_new_string(f->addr));
	snprintf(buf, sizeof(buf), "%04x:%04x", f->vendor, f->device);
	json_object_object_add(x, "id", json_object_new_string(buf));
	json_object_object_add(x, "driver", json_object_new_string(f->driver));
	json_object_object_add(x, "source", json_object_new_string(source_name(f->source)));
	json_object_object_add(x, "vendor_type_id",
			       f->layout ? json_object_new_int64((int64_t)f->vtype) : NULL);
	json_object_object_add(x, "type", f->type[0] ? json_object_new_string(f->type) : NULL);
	json_object_object_add(x, "name", f->name[0] ? json_object_new_string(f->name) : NULL);
	return x;
}

static struct json_object *list_json(const char *root, const struct mdg_sysfs *s,
				     const struct defined_list *dl)
{
	struct json_object *o = json_object_new_object(), *arr, *x;
	char buf[64];
	size_t i;

	json_object_object_add(o, "sysfs", json_object_new_string(root));
	arr = json_object_new_array();
	for (i = 0; i < s->nr_types; i++) {
		const struct mdg_sysfs_type *t = &s->types[i];

		x = json_object_new_object();
		json_object_object_add(x, "type", json_object_new_string(t->type));
		json_object_object_add(x, "parent", json_object_new_string(t->parent));
		json_object_object_add(x, "name", json_object_new_string(t->name));
		json_object_object_add(x, "single_usage_restriction", attr_json(t->attr));
		if (t->attr == MDG_ATTR_MALFORMED)
			json_object_object_add(x, "raw", json_object_new_string(t->attr_raw));
		json_object_object_add(x, "available_instances",
				       json_object_new_int(t->available));
		json_object_array_add(arr, x);
	}
	json_object_object_add(o, "types", arr);
	arr = json_object_new_array();
	for (i = 0; i < s->nr_devs; i++) {
		const struct mdg_sysfs_dev *d = &s->devs[i];

		x = json_object_new_object();
		json_object_object_add(x, "uuid", json_object_new_string(d->uuid));
		json_object_object_add(x, "type", json_object_new_string(d->type));
		json_object_object_add(x, "parent", json_object_new_string(d->parent));
		json_object_object_add(x, "single_usage_restriction", attr_json(d->attr));
		if (d->attr == MDG_ATTR_MALFORMED)
			json_object_object_add(x, "raw", json_object_new_string(d->attr_raw));
		if (d->has_group) {
			snprintf(buf, sizeof(buf), "/dev/vfio/%u", d->group);
			json_object_object_add(x, "group_node", json_object_new_string(buf));
			snprintf(buf, sizeof(buf), "%u:%u", d->group_major, d->group_minor);
			json_object_object_add(x, "group_rdev", json_object_new_string(buf));
		}
		if (d->has_cdev) {
			snprintf(buf, sizeof(buf), "/dev/vfio/devices/%s", d->cdev_name);
			json_object_object_add(x, "cdev_node", json_object_new_string(buf));
			snprintf(buf, sizeof(buf), "%u:%u", d->cdev_major, d->cdev_minor);
			json_object_object_add(x, "cdev_rdev", json_object_new_string(buf));
		}
		if (d->function) {
			json_object_object_add(x, "function", json_object_new_boolean(1));
			json_object_object_add(x, "name", json_object_new_string(d->name));
		}
		json_object_array_add(arr, x);
	}
	json_object_object_add(o, "devices", arr);
	arr = json_object_new_array();
	for (i = 0; i < s->nr_fns; i++)
		json_object_array_add(arr, fn_json(&s->fns[i]));
	json_object_object_add(o, "functions", arr);
	arr = json_object_new_array();
	for (i = 0; i < dl->n; i++) {
		const struct defined *d = &dl->v[i];

		x = json_object_new_object();
		json_object_object_add(x, "uuid", json_object_new_string(d->uuid));
		json_object_object_add(x, "type", json_object_new_string(d->def.type));
		json_object_object_add(x, "parent", json_object_new_string(d->def.parent));
		json_object_object_add(x, "offered", json_object_new_boolean(d->type != NULL));
		json_object_object_add(x, "single_usage_restriction",
				       d->type ? attr_json(d->type->attr) : NULL);
		json_object_object_add(x, "definition", json_object_new_string(d->def.path));
		json_object_array_add(arr, x);
	}
	json_object_object_add(o, "defined", arr);
	return o;
}

static void list_text(const struct mdg_sysfs *s, const struct defined_list *dl)
{
	char node[64];
	size_t i;

	printf("types (%zu):\n", s->nr_types);
	if (s->nr_types)
		printf("  %-28s  %-20s  %-26s  %s\n", "TYPE", "PARENT", "SINGLE_USAGE_RESTRICTION",
		       "AVAILABLE");
	for (i = 0; i < s->nr_types; i++) {
		const struct mdg_sysfs_type *t = &s->types[i];

		printf("  %-28s  %-20s  %-26s  %d\n", t->type, t->parent,
		       t->attr == MDG_ATTR_MALFORMED ? t->attr_raw : mdg_attr_name(t->attr),
		       t->available);
	}
	printf("\ndevices (%zu):\n", s->nr_devs);
	if (s->nr_devs)
		printf("  %-36s  %-28s  %-9s  %s\n", "UUID", "TYPE", "ATTR", "NODE");
	for (i = 0; i < s->nr_devs; i++) {
		const struct mdg_sysfs_dev *d = &s->devs[i];

		if (d->has_group)
			snprintf(node, sizeof(node), "/dev/vfio/%u", d->group);
		else
			snprintf(node, sizeof(node), "-");
		printf("  %-36s  %-28s  %-9s  %s%s%s\n", d->uuid, d->type, mdg_attr_name(d->attr),
		       node, d->has_cdev ? " /dev/vfio/devices/" : "",
		       d->has_cdev ? d->cdev_name : "");
	}
	if (dl->n) {
		printf("\ndefined by mdevctl, not started (%zu):\n", dl->n);
		printf("  %-36s  %-28s  %-20s  %s\n", "UUID", "TYPE", "PARENT", "ATTR");
	}
	for (i = 0; i < dl->n; i++) {
		const struct defined *d = &dl->v[i];

		printf("  %-36s  %-28s  %-20s  %s%s\n", d->uuid, d->def.type, d->def.parent,
		       defined_attr(d), d->type ? "" : " (type not offered)");
	}
	if (!s->nr_fns)
		return;
	printf("\nvGPU functions (%zu):\n", s->nr_fns);
	printf("  %-16s  %-9s  %-20s  %-8s  %-12s  %s\n", "ADDRESS", "ID", "DRIVER", "SOURCE",
	       "TYPE", "NAME");
	for (i = 0; i < s->nr_fns; i++) {
		const struct mdg_sysfs_fn *f = &s->fns[i];

		printf("  %-16s  %04x:%04x  %-20s  %-8s  %-12s  %s\n", f->addr, f->vendor, f->device,
		       f->driver[0] ? f->driver : "-", source_name(f->source),
		       f->type[0] ? f->type : "-", f->name[0] ? f->name : "-");
	}
}

int mdg_cmd_list(struct mdg_opts *o, int argc, char **argv)
{
	struct mdg_selector sel[MDG_MAX_POLICY_SELECTORS];
	struct mdg_fn_opts fo = { .sel = sel };
	struct defined_list dl = {};
	struct mdg_sysfs s = {};
	struct json_object *js;
	char err[PATH_MAX + 64];
	int ret;

	fo.nr_sel = mdg_policy_selectors(&o->policy, sel);
	ret = mdg_sysfs_scan(o->sysfs, &s, mdg_warn_cb, NULL);
	if (!ret)
		ret = mdg_fn_scan(o->sysfs, &fo, &s, mdg_warn_cb, NULL);
	if (ret) {
		mdg_err("cannot scan %s: %s", o->sysfs, strerror(-ret));
		mdg_sysfs_free(&s);
		return 1;
	}
	dl.s = &s;
	ret = mdg_mdevctl_each(o->mdevctl_dir, defined_add, &dl, mdg_warn_cb, NULL, err,
			       sizeof(err));
	if (ret) {
		if (ret == -ENOMEM)
			snprintf(err, sizeof(err), "%s: out of memory", o->mdevctl_dir);
		mdg_err("%s", err);
		free(dl.v);
		mdg_sysfs_free(&s);
		return 1;
	}
	if (o->json) {
		js = list_json(o->sysfs, &s, &dl);
		printf("%s\n", json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN |
								       JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(js);
	} else {
		list_text(&s, &dl);
	}
	free(dl.v);
	mdg_sysfs_free(&s);
	return 0;
}
