// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "devmap.h"
#include "log.h"
#include "uuid.h"
#include "vgpufn.h"

static int cmp_dev(const void *a, const void *b)
{
	const struct mdg_devmap_dev *x = a, *y = b;

	return x->rdev < y->rdev ? -1 : x->rdev > y->rdev;
}

static int cmp_type(const void *a, const void *b)
{
	const struct mdg_devmap_type *x = a, *y = b;

	return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static void add_major(struct mdg_devmap *m, __u32 major)
{
	int i;

	for (i = 0; i < MDG_MAX_MAJORS; i++) {
		if (m->majors[i] == major)
			return;
		if (!m->majors[i]) {
			m->majors[i] = major;
			return;
		}
	}
	m->majors_dropped++;
}

static void fill_dev(const struct mdg_policy *p, const struct mdg_sysfs_dev *d, __u32 rdev,
		     enum mdg_node node, __u32 index, struct mdg_devmap_dev *e)
{
	enum mdg_reason reason;

	memset(e, 0, sizeof(*e));
	e->rdev = rdev;
	mdg_devid_parse(d->uuid, &e->v.id);
	e->v.type_hash = mdg_type_hash(d->type);
	snprintf(e->v.type, sizeof(e->v.type), "%s", d->type);
	snprintf(e->v.uuid, sizeof(e->v.uuid), "%s", d->uuid);
	e->v.restricted = mdg_policy_restricted(p, d, &reason);
	e->v.reason = reason;
	e->v.node = node;
	e->v.node_index = index;
	e->v.rdev = rdev;
}

static void fill_type(const struct mdg_policy *p, const char *type, enum mdg_attr attr,
		      struct mdg_devmap_type *e)
{
	enum mdg_reason reason;

	memset(e, 0, sizeof(*e));
	e->hash = mdg_type_hash(type);
	snprintf(e->v.type, sizeof(e->v.type), "%s", type);
	e->v.restricted = mdg_policy_type_restricted(p, type, attr, &reason);
	e->v.reason = reason;
	e->v.compat = mdg_policy_class(p, type);
}

int mdg_devmap_build(const struct mdg_sysfs *scan, const struct mdg_policy *p,
		     const __u32 *majors, struct mdg_devmap *m)
{
	const struct mdg_strlist *lists[] = { &p->restrict_devices, &p->allow_devices };
	size_t i, j, n = 0, t = 0, o = 0, nr_types;

	memset(m, 0, sizeof(*m));
	if (majors)
		memcpy(m->majors, majors, sizeof(m->majors));
	nr_types = scan->nr_types + scan->nr_devs + p->restrict_types.n + p->allow_types.n;
	m->devs = calloc(scan->nr_devs * 2 + 1, sizeof(*m->devs));
	m->types = calloc(nr_types + 1, sizeof(*m->types));
	m->overrides = calloc(lists[0]->n + lists[1]->n + 1, sizeof(*m->overrides));
	m->fns = calloc(scan->nr_fns + 1, sizeof(*m->fns));
	if (!m->devs || !m->types || !m->overrides || !m->fns) {
		mdg_devmap_free(m);
		return -ENOMEM;
	}
	for (i = 0; i < scan->nr_devs; i++) {
		const struct mdg_sysfs_dev *d = &scan->devs[i];

		if (d->has_group) {
			fill_dev(p, d, MDG_MKDEV(d->group_major, d->group_minor), MDG_NODE_GROUP,
				 d->group, &m->devs[n++]);
			add_major(m, d->group_major);
		}
		if (d->has_cdev) {
			fill_dev(p, d, MDG_MKDEV(d->cdev_major, d->cdev_minor), MDG_NODE_CDEV,
				 strtoul(d->cdev_name + 4, NULL, 10), &m->devs[n++]);
			add_major(m, d->cdev_major);
		}
	}
	m->nr_devs = n;
	qsort(m->devs, n, sizeof(*m->devs), cmp_dev);

	/* A type named only by the policy is not offered yet: its attribute is unknown, the
	 * operator's word is not. */
	for (i = 0; i < scan->nr_types; i++)
		fill_type(p, scan->types[i].type, scan->types[i].attr, &m->types[t++]);
	for (i = 0; i < scan->nr_devs; i++)
		fill_type(p, scan->devs[i].type, scan->devs[i].attr, &m->types[t++]);
	for (i = 0; i < p->restrict_types.n; i++)
		fill_type(p, p->restrict_types.v[i], MDG_ATTR_MALFORMED, &m->types[t++]);
	for (i = 0; i < p->allow_types.n; i++)
		fill_type(p, p->allow_types.v[i], MDG_ATTR_MALFORMED, &m->types[t++]);
	qsort(m->types, t, sizeof(*m->types), cmp_type);
	for (i = 0, j = 0; i < t; i++) {
		struct mdg_devmap_type *prev = j ? &m->types[j - 1] : NULL;

		/*
		 * A type both offered and named, or seen on several devices: one entry. Their
		 * values agree (an override wins over any attribute) unless two names share a
		 * hash, as names cut to what the kernel side reads do: then restricted wins.
		 */
		if (prev && prev->hash == m->types[i].hash) {
			if (m->types[i].v.restricted && !prev->v.restricted)
				prev->v = m->types[i].v;
			continue;
		}
		m->types[j++] = m->types[i];
	}
	m->nr_types = j;

	for (i = 0; i < 2; i++) {
		for (j = 0; j < lists[i]->n; j++) {
			struct mdg_devmap_override *e = &m->overrides[o];

			if (mdg_devid_parse(lists[i]->v[j], &e->id))
				continue;
			memset(&e->v, 0, sizeof(e->v));
			mdg_uuid_format(&e->id, e->v.uuid);
			e->v.restricted = lists[i] == &p->restrict_devices;
			e->v.reason = MDG_REASON_DEVICE_OVERRIDE;
			o++;
		}
	}
	m->nr_overrides = o;

	/* A function whose type is not current gets no entry: the kernel side asks again. */
	for (i = 0; i < scan->nr_fns; i++) {
		const struct mdg_sysfs_fn *f = &scan->fns[i];
		struct mdg_devmap_fn *e = &m->fns[m->nr_fns];

		if (!f->current)
			continue;
		memset(e, 0, sizeof(*e));
		e->id = f->id;
		e->v.source = (__u8)f->source;
		e->v.seq = f->seq;
		if (f->source != MDG_FN_NONE) {
			snprintf(e->v.type, sizeof(e->v.type), "%s", f->type);
			e->v.type_hash = mdg_type_hash(e->v.type);
		}
		m->nr_fns++;
	}
	return 0;
}

void mdg_devmap_free(struct mdg_devmap *m)
{
	free(m->devs);
	free(m->types);
	free(m->overrides);
	free(m->fns);
	memset(m, 0, sizeof(*m));
}

void mdg_vfio_majors(const char *proc_devices, __u32 *majors)
{
	struct mdg_devmap m = {};
	char line[128], name[64];
	unsigned int major;
	bool chars = false;
	FILE *f;

	memcpy(m.majors, majors, sizeof(m.majors));
	f = fopen(proc_devices, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Character devices:", 18))
			chars = true;
		else if (!strncmp(line, "Block devices:", 14))
			chars = false;
		/* NOLINTNEXTLINE(cert-err34-c): the kernel's text; majors are below 4096 */
		else if (chars && sscanf(line, "%u %63s", &major, name) == 2 &&
			 (!strcmp(name, "vfio") || !strcmp(name, "vfio-dev")))
			add_major(&m, major);
	}
	(void)fclose(f); /* read only: nothing to lose */
	memcpy(majors, m.majors, sizeof(m.majors));
}

/* Writes key -> value unless the map already holds exactly that: decisions read these. */
static int map_put(int fd, const void *key, const void *value, size_t size)
{
	char cur[sizeof(struct mdg_device) > sizeof(struct mdg_function) ?
		 sizeof(struct mdg_device) : sizeof(struct mdg_function)];

	if (size <= sizeof(cur) && !bpf_map_lookup_elem(fd, key, cur) && !memcmp(cur, value, size))
		return 0;
	return bpf_map_update_elem(fd, key, value, BPF_ANY) ? -errno : 0;
}

/* Removes the keys of a map that keep() does not find in m. */
static void map_prune(int fd, size_t key_size, bool (*keep)(const struct mdg_devmap *m,
							     const void *key),
		      const struct mdg_devmap *m)
{
	char key[32] = { 0 }, next[32];
	bool first = true;

	while (!bpf_map_get_next_key(fd, first ? NULL : key, next)) {
		if (!keep(m, next)) {
			/* Deleting the current key would restart the walk; continue from before. */
			bpf_map_delete_elem(fd, next);
			continue;
		}
		memcpy(key, next, key_size);
		first = false;
	}
}

static bool keep_dev(const struct mdg_devmap *m, const void *key)
{
	struct mdg_devmap_dev k = { .rdev = *(const __u32 *)key };

	return bsearch(&k, m->devs, m->nr_devs, sizeof(*m->devs), cmp_dev) != NULL;
}

static bool keep_type(const struct mdg_devmap *m, const void *key)
{
	struct mdg_devmap_type k = { .hash = *(const __u64 *)key };

	return bsearch(&k, m->types, m->nr_types, sizeof(*m->types), cmp_type) != NULL;
}

static bool keep_override(const struct mdg_devmap *m, const void *key)
{
	size_t i;

	for (i = 0; i < m->nr_overrides; i++)
		if (!memcmp(&m->overrides[i].id, key, sizeof(m->overrides[i].id)))
			return true;
	return false;
}

static bool keep_fn(const struct mdg_devmap *m, const void *key)
{
	size_t i;

	for (i = 0; i < m->nr_fns; i++)
		if (!memcmp(&m->fns[i].id, key, sizeof(m->fns[i].id)))
			return true;
	return false;
}

int mdg_devmap_write(const struct mdg_devmap *m, const struct mdg_devmap_fds *fds,
		     mdg_warn_fn warn, void *ctx)
{
	int devices_fd = fds->devices, types_fd = fds->types, overrides_fd = fds->overrides;
	const struct mdg_devmap_dev *first = NULL;
	const struct mdg_dev_id *first_fn = NULL;
	size_t i, failed = 0, fn_failed = 0;
	int ret = 0, err, first_err = 0, fn_err = 0;

	for (i = 0; i < m->nr_types; i++) {
		err = map_put(types_fd, &m->types[i].hash, &m->types[i].v, sizeof(m->types[i].v));
		if (err && !ret)
			ret = mdg_err_errno(err, "cannot add type %s to the type map",
					    m->types[i].v.type);
	}
	map_prune(types_fd, sizeof(__u64), keep_type, m);
	for (i = 0; i < m->nr_overrides; i++) {
		err = map_put(overrides_fd, &m->overrides[i].id, &m->overrides[i].v,
			      sizeof(m->overrides[i].v));
		if (err && !ret)
			ret = mdg_err_errno(err, "cannot add device override %s",
					    m->overrides[i].v.uuid);
	}
	map_prune(overrides_fd, sizeof(struct mdg_dev_id), keep_override, m);
	/* After the types their entries name. */
	map_prune(fds->functions, sizeof(struct mdg_dev_id), keep_fn, m);
	for (i = 0; i < m->nr_fns; i++) {
		err = map_put(fds->functions, &m->fns[i].id, &m->fns[i].v, sizeof(m->fns[i].v));
		if (err && !fn_failed++) {
			first_fn = &m->fns[i].id;
			fn_err = err;
		}
	}
	/*
	 * Through warn, said once however many scans meet it: every use of a function left out
	 * asks for a rescan. No failure of the write either: the kernel side restricts a function
	 * it has no entry for, whatever its type.
	 */
	if (fn_failed && warn) {
		char addr[MDG_UUID_LEN];

		mdg_uuid_format(first_fn, addr);
		warn(ctx, "cannot add %zu of %zu vGPU functions to the function map (the first: %s): %s; those left out are restricted whatever their type",
		     fn_failed, m->nr_fns, addr, strerror(-fn_err));
	}
	/* Gone nodes first: their room is for the new ones. */
	map_prune(devices_fd, sizeof(__u32), keep_dev, m);
	for (i = 0; i < m->nr_devs; i++) {
		const struct mdg_devmap_dev *d = &m->devs[i];

		err = map_put(devices_fd, &d->rdev, &d->v, sizeof(d->v));
		if (err && !failed++) {
			first = d;
			first_err = err;
		}
	}
	/* One line, not one per node: a full map fails thousands at once. */
	if (failed)
		mdg_err("cannot add %zu of %zu device nodes to the device map (the first: %s, %u:%u): %s; opens of those nodes are not checked, their use is",
			failed, m->nr_devs, first->v.uuid, MDG_MAJOR(first->rdev),
			MDG_MINOR(first->rdev), strerror(-first_err));
	return ret;
}
