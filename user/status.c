// SPDX-License-Identifier: GPL-2.0
/* mdevguard status: what the pinned kernel side holds, read back through bpffs. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "cli.h"
#include "events.h"
#include "kstate.h"
#include "log.h"
#include "vgpufn.h"

#define EXIT_NOT_LOADED 3
#define EXIT_NO_LOADER 4	/* decisions attached, nobody follows hotplug and sysfs */

static void node_path(const struct mdg_device *d, char *buf, size_t len)
{
	if (d->node == MDG_NODE_CDEV)
		snprintf(buf, len, "/dev/vfio/devices/vfio%u", d->node_index);
	else
		snprintf(buf, len, "/dev/vfio/%u", d->node_index);
}

static void fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "?");
}

static int cmp_device(const void *a, const void *b)
{
	struct json_object *x = *(struct json_object *const *)a;
	struct json_object *y = *(struct json_object *const *)b;
	int r;

	r = strcmp(json_object_get_string(json_object_object_get(x, "uuid")),
		   json_object_get_string(json_object_object_get(y, "uuid")));
	if (r)
		return r;
	return strcmp(json_object_get_string(json_object_object_get(x, "node")),
		      json_object_get_string(json_object_object_get(y, "node")));
}

static int cmp_holder(const void *a, const void *b)
{
	int64_t x = json_object_get_int64(json_object_object_get(*(struct json_object *const *)a,
								 "tgid"));
	int64_t y = json_object_get_int64(json_object_object_get(*(struct json_object *const *)b,
								 "tgid"));

	return x < y ? -1 : x > y;
}

/* Every pinned map's memory (SPEC §7), as the kernel accounts it, and their sum. */
/*
 * The vGPU functions among the devices, with their vendor's type id and name as sysfs shows them
 * now (the kernel side keeps neither): "function", "vendor_type_id" and "name" on each.
 */
static void json_functions(struct json_object *devices)
{
	struct mdg_sysfs s = {};
	struct json_object *d;
	const char *addr;
	size_t i, j;

	if (mdg_fn_scan("/sys", NULL, &s, NULL, NULL)) {
		mdg_sysfs_free(&s);
		return;
	}
	for (i = 0; i < json_object_array_length(devices); i++) {
		d = json_object_array_get_idx(devices, i);
		addr = json_object_get_string(json_object_object_get(d, "uuid"));
		for (j = 0; addr && j < s.nr_fns; j++) {
			const struct mdg_sysfs_fn *f = &s.fns[j];

			if (strcmp(f->addr, addr) != 0)
				continue;
			json_object_object_add(d, "function", json_object_new_boolean(1));
			json_object_object_add(d, "vendor_type_id", f->layout ?
					       json_object_new_int64((int64_t)f->vtype) : NULL);
			json_object_object_add(d, "name", f->name[0] ?
					       json_object_new_string(f->name) : NULL);
			break;
		}
	}
	mdg_sysfs_free(&s);
}

static struct json_object *json_memory(const char *dir)
{
	struct json_object *d = json_object_new_object();
	unsigned long long v, total = 0;
	char path[PATH_MAX];
	size_t i;
	int fd;

	for (i = 0; i < mdg_nr_pins && mdg_pins[i].kind == MDG_PIN_MAP; i++) {
		if (mdg_pin_path(path, sizeof(path), dir, mdg_pins[i].name))
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		v = mdg_map_memory(fd);
		close(fd);
		total += v;
		json_object_object_add(d, mdg_pins[i].name, json_object_new_int64(v));
	}
	json_object_object_add(d, "total", json_object_new_int64(total));
	return d;
}

static void fmt_bytes(long long v, char *buf, size_t len)
{
	if (v < 1024)
		snprintf(buf, len, "%lld B", v);
	else if (v < 1024LL * 1024)
		snprintf(buf, len, "%lld KiB", (v + 1023) / 1024);
	else
		snprintf(buf, len, "%.1f MiB", v / (1024.0 * 1024.0));
}

/*
 * The VM, unit and pod of a holder that is still the process the record names (its start time
 * matches), as decision events give them: those that exist only.
 */
static void json_holder_names(struct json_object *d, const struct mdg_holder_key *k)
{
	__u64 tick = mdg_proc_tick_ns(), start;
	struct mdg_proc_names n;

	if (mdg_proc_start_ns(k->tgid, &start) || start != k->start_time / tick * tick)
		return;
	mdg_proc_names_read(k->tgid, &n, false);
	if (n.vm[0])
		json_object_object_add(d, "vm", json_object_new_string(n.vm));
	if (n.unit[0])
		json_object_object_add(d, "unit", json_object_new_string(n.unit));
	if (n.pod[0])
		json_object_object_add(d, "pod", json_object_new_string(n.pod));
}

static json_object *json_status(const char *dir, struct mdg_kstate *m, struct mdg_stats *st)
{
	struct json_object *o = json_object_new_object(), *arr, *d, *held;
	struct mdg_holder_key hk, cur, *hprev = NULL;
	struct mdg_holder h;
	struct mdg_device dev;
	__u32 key, *prev = NULL;
	char buf[PATH_MAX];
	__u32 i;

	json_object_object_add(o, "loaded", json_object_new_boolean(m->links));
	json_object_object_add(o, "ready", json_object_new_boolean(m->cfg.ready));
	json_object_object_add(o, "mode", json_object_new_string(mdg_mode_name(m->cfg.mode)));
	json_object_object_add(o, "audit", json_object_new_boolean(m->cfg.audit));
	json_object_object_add(o, "errno",
			       json_object_new_string(mdg_errno_name(m->cfg.deny_errno)));
	json_object_object_add(o, "pin_dir", json_object_new_string(dir));
	json_object_object_add(o, "loader_pid", json_object_new_int64(m->cfg.loader_pid));
	json_object_object_add(o, "loader_running",
			       json_object_new_boolean(mdg_kstate_loader_running(m)));
	fmt_time(m->cfg.loaded_at, buf, sizeof(buf));
	json_object_object_add(o, "loaded_at", json_object_new_string(buf));
	json_object_object_add(o, "uptime_s",
			       json_object_new_int64(time(NULL) - (time_t)m->cfg.loaded_at));

	arr = json_object_new_array();
	while (bpf_map_get_next_key(m->devices, prev, &key) == 0) {
		prev = &key;
		if (bpf_map_lookup_elem(m->devices, &key, &dev))
			continue;
		d = json_object_new_object();
		json_object_object_add(d, "uuid", json_object_new_string(dev.uuid));
		json_object_object_add(d, "type", json_object_new_string(dev.type));
		json_object_object_add(d, "restricted", json_object_new_boolean(dev.restricted));
		json_object_object_add(d, "why", json_object_new_string(mdg_reason_name(dev.reason)));
		node_path(&dev, buf, sizeof(buf));
		json_object_object_add(d, "node", json_object_new_string(buf));
		json_object_object_add(d, "node_kind", json_object_new_string(
					       dev.node == MDG_NODE_CDEV ? "cdev" : "group"));
		snprintf(buf, sizeof(buf), "%u:%u", MDG_MAJOR(key), MDG_MINOR(key));
		json_object_object_add(d, "rdev", json_object_new_string(buf));
		json_object_array_add(arr, d);
	}
	json_functions(arr);
	/* Hash order is no order for a reader: by UUID, group node first. */
	json_object_array_sort(arr, cmp_device);
	json_object_object_add(o, "devices", arr);

	arr = json_object_new_array();
	while (bpf_map_get_next_key(m->holders, hprev, &hk) == 0) {
		cur = hk;
		hprev = &cur;
		if (bpf_map_lookup_elem_flags(m->holders, &cur, &h, BPF_F_LOCK))
			continue;
		d = json_object_new_object();
		json_object_object_add(d, "tgid", json_object_new_int64(cur.tgid));
		snprintf(buf, sizeof(buf), "%.*s", MDG_COMM_LEN, h.comm);
		json_object_object_add(d, "comm", json_object_new_string(buf));
		json_object_object_add(d, "unsettled", json_object_new_boolean(h.unsettled));
		held = json_object_new_array();
		for (i = 0; i < h.nr_held && i < MDG_MAX_HELD; i++) {
			struct json_object *x = json_object_new_object();

			json_object_object_add(x, "uuid", json_object_new_string(h.held[i].uuid));
			json_object_object_add(x, "restricted",
					       json_object_new_boolean(h.held[i].restricted));
			json_object_object_add(x, "files", json_object_new_int64(h.held[i].files));
			json_object_object_add(x, "uncounted",
					       json_object_new_boolean(h.held[i].uncounted));
			json_object_object_add(x, "mapped", json_object_new_boolean(h.held[i].mapped));
			json_object_array_add(held, x);
		}
		json_object_object_add(d, "devices", held);
		json_holder_names(d, &cur);
		json_object_array_add(arr, d);
	}
	json_object_array_sort(arr, cmp_holder);
	json_object_object_add(o, "holders", arr);

	d = json_object_new_object();
	json_object_object_add(d, "opens_seen", json_object_new_int64(st->opens_seen));
	json_object_object_add(d, "allowed", json_object_new_int64(st->allowed));
	json_object_object_add(d, "denied", json_object_new_int64(st->denied));
	json_object_object_add(d, "audit_denied", json_object_new_int64(st->audit_denied));
	json_object_object_add(d, "errors", json_object_new_int64(st->errors));
	json_object_object_add(d, "lost_events", json_object_new_int64(st->lost_events));
	json_object_object_add(d, "acquired", json_object_new_int64(st->acquired));
	json_object_object_add(d, "released", json_object_new_int64(st->released));
	json_object_object_add(d, "pass_released", json_object_new_int64(st->pass_released));
	json_object_object_add(o, "counters", d);

	json_object_object_add(o, "memory_bytes", json_memory(dir));
	return o;
}

static bool get_bool(struct json_object *o, const char *key)
{
	return json_object_get_boolean(json_object_object_get(o, key));
}

static const char *state_text(struct json_object *o)
{
	if (!get_bool(o, "loaded"))
		return "NOT ATTACHED";
	if (!get_bool(o, "loader_running"))
		return "enforcing, not following hotplug (no loader running)";
	return get_bool(o, "ready") ? "enforcing" : "loaded, device map not filled";
}

/* " KEY=VALUE" of a holder's name, if it has one, as a token. */
static void print_name(struct json_object *x, const char *key)
{
	struct json_object *v;
	char tok[MDG_NAME_MAX * 4 + 1];

	if (!json_object_object_get_ex(x, key, &v))
		return;
	mdg_event_token(json_object_get_string(v), MDG_NAME_MAX, tok, sizeof(tok));
	printf(" %s=%s", key, tok);
}

static void print_human(struct json_object *o)
{
	struct json_object *arr, *x, *c, *held, *mem;
	const char *name;
	size_t i, j, n;
	char up[64];
	long long s;

	printf("mdevguard: %s, mode %s, audit %s, errno %s\n", state_text(o),
	       json_object_get_string(json_object_object_get(o, "mode")),
	       json_object_get_boolean(json_object_object_get(o, "audit")) ? "on" : "off",
	       json_object_get_string(json_object_object_get(o, "errno")));
	printf("pin dir:  %s\n", json_object_get_string(json_object_object_get(o, "pin_dir")));
	s = json_object_get_int64(json_object_object_get(o, "uptime_s"));
	snprintf(up, sizeof(up), "%lldh%02lldm%02llds", s / 3600, s / 60 % 60, s % 60);
	printf("loader:   pid %lld (%s), loaded %s, up %s\n",
	       (long long)json_object_get_int64(json_object_object_get(o, "loader_pid")),
	       json_object_get_boolean(json_object_object_get(o, "loader_running")) ?
		       "running" : "not running",
	       json_object_get_string(json_object_object_get(o, "loaded_at")), up);

	arr = json_object_object_get(o, "devices");
	n = json_object_array_length(arr);
	printf("\ndevices (%zu):\n", n);
	if (n)
		printf("  %-36s  %-24s  %-10s  %-15s  %s\n", "UUID", "TYPE", "RESTRICTED", "WHY",
		       "NODE");
	for (i = 0; i < n; i++) {
		x = json_object_array_get_idx(arr, i);
		name = json_object_get_string(json_object_object_get(x, "name"));
		/* a vGPU function's vendor name last, after its node */
		printf("  %-36s  %-24s  %-10s  %-15s  %s (%s)%s%s\n",
		       json_object_get_string(json_object_object_get(x, "uuid")),
		       json_object_get_string(json_object_object_get(x, "type")),
		       json_object_get_boolean(json_object_object_get(x, "restricted")) ? "yes" :
											    "no",
		       json_object_get_string(json_object_object_get(x, "why")),
		       json_object_get_string(json_object_object_get(x, "node")),
		       json_object_get_string(json_object_object_get(x, "rdev")), name ? "  " : "",
		       name ? name : "");
	}

	arr = json_object_object_get(o, "holders");
	n = json_object_array_length(arr);
	printf("\nholders (%zu):\n", n);
	if (n)
		printf("  %-8s  %-16s  %s\n", "TGID", "COMM", "DEVICES");
	for (i = 0; i < n; i++) {
		x = json_object_array_get_idx(arr, i);
		held = json_object_object_get(x, "devices");
		printf("  %-8lld  %-16s ",
		       (long long)json_object_get_int64(json_object_object_get(x, "tgid")),
		       json_object_get_string(json_object_object_get(x, "comm")));
		for (j = 0; j < json_object_array_length(held); j++) {
			c = json_object_array_get_idx(held, j);
			printf(" %s%s", json_object_get_string(json_object_object_get(c, "uuid")),
			       json_object_get_boolean(json_object_object_get(c, "restricted")) ?
				       "(restricted)" : "");
		}
		if (json_object_get_boolean(json_object_object_get(x, "unsettled")))
			printf(" (unsettled: mappings not read yet)");
		print_name(x, "vm");
		print_name(x, "unit");
		print_name(x, "pod");
		printf("\n");
	}

	c = json_object_object_get(o, "counters");
	printf("\ncounters: opens %lld, allowed %lld, denied %lld, audit-denied %lld, errors %lld, lost events %lld, acquired %lld, released %lld (+%lld by passes)\n",
	       (long long)json_object_get_int64(json_object_object_get(c, "opens_seen")),
	       (long long)json_object_get_int64(json_object_object_get(c, "allowed")),
	       (long long)json_object_get_int64(json_object_object_get(c, "denied")),
	       (long long)json_object_get_int64(json_object_object_get(c, "audit_denied")),
	       (long long)json_object_get_int64(json_object_object_get(c, "errors")),
	       (long long)json_object_get_int64(json_object_object_get(c, "lost_events")),
	       (long long)json_object_get_int64(json_object_object_get(c, "acquired")),
	       (long long)json_object_get_int64(json_object_object_get(c, "released")),
	       (long long)json_object_get_int64(json_object_object_get(c, "pass_released")));
	mem = json_object_object_get(o, "memory_bytes");
	fmt_bytes(json_object_get_int64(json_object_object_get(mem, "total")), up, sizeof(up));
	printf("memory:   %s in maps:", up);
	n = 0;
	json_object_object_foreach(mem, key, val) {
		if (!strcmp(key, "total"))
			continue;
		fmt_bytes(json_object_get_int64(val), up, sizeof(up));
		printf("%s %s %s", n++ ? "," : "", key, up);
	}
	printf("\n");
}

int mdg_cmd_status(struct mdg_opts *o, int argc, char **argv)
{
	struct mdg_kstate m = { -1, -1, -1, -1 };
	struct json_object *js;
	struct mdg_stats st;
	int ret;

	ret = mdg_pin_dir_check(o->pin_dir);
	if (ret && ret != -ENOENT)
		return 1;
	if (!ret && !mdg_pin_dir_ours(o->pin_dir)) {
		mdg_err("%s holds no mdevguard pins (no %s)", o->pin_dir, MDG_PIN_CONFIG);
		return 1;
	}
	if (!ret)
		ret = mdg_kstate_open(o->pin_dir, &m);
	if (ret == -ENOENT) {
		if (o->json) {
			js = json_object_new_object();
			json_object_object_add(js, "loaded", json_object_new_boolean(0));
			json_object_object_add(js, "pin_dir", json_object_new_string(o->pin_dir));
			printf("%s\n", json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN));
			json_object_put(js);
		} else {
			printf("mdevguard: not loaded (nothing pinned under %s)\n", o->pin_dir);
		}
		return EXIT_NOT_LOADED;
	}
	if (ret)
		return 1;
	ret = mdg_stats_read(m.stats, &st);
	if (ret)
		mdg_warn("cannot read counters: %s", strerror(-ret));
	js = json_status(o->pin_dir, &m, &st);
	if (o->json)
		printf("%s\n", json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN |
								       JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_human(js);
	json_object_put(js);
	ret = !m.links ? EXIT_NOT_LOADED : !mdg_kstate_loader_running(&m) ? EXIT_NO_LOADER :
	      m.cfg.ready ? 0 : 1;
	mdg_kstate_close(&m);
	return ret;
}
