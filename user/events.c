// SPDX-License-Identifier: GPL-2.0
/*
 * Decision events. The BPF side sends what it knows at the moment of the open; what only user
 * space can know (the executable, the /dev path of the node, the VM, unit and pod the process
 * belongs to) is added here, read from /proc when the event is handled, and kept for the events
 * that come after the process exited.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-login.h>

#include "attr.h"
#include "events.h"
#include "log.h"
#include "names.h"
#include "uuid.h"

#define CGROUP_MAX	8192		/* /proc/PID/cgroup read, v1's many lines included */
#define CMDLINE_MAX	((size_t)256 * 1024)	/* /proc/PID/cmdline read; QEMU's -name comes early */
#define STAT_MAX	1024

/* Up to cap bytes of a /proc file; -errno. */
static ssize_t read_proc(__u32 tgid, const char *what, char *buf, size_t cap)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/%s", tgid, what);
	return mdg_read_small(path, buf, cap);
}

__u64 mdg_proc_tick_ns(void)
{
	long hz = sysconf(_SC_CLK_TCK);

	return hz > 0 && hz <= 1000000000L ? 1000000000ULL / (__u64)hz : 10000000ULL;
}

int mdg_proc_start_ns(__u32 tgid, __u64 *ns)
{
	char buf[STAT_MAX];
	uint64_t ticks;
	ssize_t n;
	int ret;

	n = read_proc(tgid, "stat", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	ret = mdg_stat_start_ticks(buf, (size_t)n, &ticks);
	if (ret)
		return ret;
	*ns = ticks * mdg_proc_tick_ns();
	return 0;
}

static void copy_name(char *dst, size_t len, const char *src)
{
	size_t n = src ? strlen(src) : len;

	if (n < len)
		memcpy(dst, src, n + 1);
}

void mdg_proc_names_read(__u32 tgid, struct mdg_proc_names *n, bool warn)
{
	char cg[CGROUP_MAX], path[CGROUP_MAX], *cmdline, *unit = NULL;
	ssize_t len;
	int ret = -ENOENT;

	memset(n, 0, sizeof(*n));
	len = read_proc(tgid, "cgroup", cg, sizeof(cg));
	if (len > 0 && !mdg_cgroup_path(cg, (size_t)len, path, sizeof(path))) {
		ret = mdg_cgroup_vm(path, n->vm, sizeof(n->vm));
		if (ret && ret != -ENOENT && warn)
			mdg_warn("process %u: the machine scope of its cgroup names no domain: %s",
				 tgid, ret == -EINVAL ? "an escape that is not \\xNN, or \\x00" :
							"name too long");
		if (mdg_cgroup_pod(path, n->pod, sizeof(n->pod)))
			n->pod[0] = '\0';
	}
	/* QEMU not started by libvirt, or libvirt without systemd: its own -name */
	if (ret) {
		n->vm[0] = '\0';
		cmdline = malloc(CMDLINE_MAX);
		len = cmdline ? read_proc(tgid, "cmdline", cmdline, CMDLINE_MAX) : -ENOMEM;
		if (len > 0) {
			ret = mdg_qemu_guest_name(cmdline, (size_t)len, n->vm, sizeof(n->vm));
			if (ret == -ENAMETOOLONG && warn)
				mdg_warn("process %u: QEMU's -name guest is longer than %d bytes: not shown",
					 tgid, MDG_NAME_MAX - 1);
			if (ret)
				n->vm[0] = '\0';
		}
		free(cmdline);
	}
	/* a user manager's unit says more than its user@UID.service */
	if (sd_pid_get_user_unit((pid_t)tgid, &unit) < 0 &&
	    sd_pid_get_unit((pid_t)tgid, &unit) < 0)
		unit = NULL;
	copy_name(n->unit, sizeof(n->unit), unit);
	free(unit);
}

/*
 * What the event itself carries, read at the decision (bpf/naming.bpf.h), names the VM where
 * /proc could not, or saw the process after it moved: the machine scope it was in, which is
 * also its unit, else QEMU's -name in the start of its command line. A QEMU refused at its
 * first open is usually gone when its event is read.
 */
static void names_from_event(const struct mdg_event *e, struct mdg_proc_names *n)
{
	char path[MDG_SCOPE_LEN + 1], vm[MDG_NAME_MAX];
	size_t len = strnlen(e->scope, sizeof(e->scope));

	if (len && len < sizeof(e->scope)) {
		path[0] = '/';
		memcpy(path + 1, e->scope, len + 1);
		if (!mdg_cgroup_vm(path, vm, sizeof(vm))) {
			copy_name(n->vm, sizeof(n->vm), vm);
			if (!n->unit[0])
				copy_name(n->unit, sizeof(n->unit), e->scope);
			return;
		}
	}
	if (n->vm[0] || !e->args_len || e->args_len > sizeof(e->args))
		return;
	if (!mdg_qemu_guest_name(e->args, e->args_len, vm, sizeof(vm)))
		copy_name(n->vm, sizeof(n->vm), vm);
}

static void entry_clear(struct mdg_proc_entry *c)
{
	free(c->exe);
	free(c->names);
	memset(c, 0, sizeof(*c));
}

void mdg_events_free(struct mdg_events *ev)
{
	size_t i;

	for (i = 0; ev->cache && i < MDG_PROC_CACHE; i++)
		entry_clear(&ev->cache[i]);
	free(ev->cache);
	ev->cache = NULL;
}

/* What was read of tgid as it was at boot_ns: the newest entry started by then. */
static struct mdg_proc_entry *cache_find(struct mdg_events *ev, __u32 tgid, __u64 boot_ns)
{
	struct mdg_proc_entry *best = NULL;
	size_t i;

	for (i = 0; ev->cache && i < MDG_PROC_CACHE; i++) {
		struct mdg_proc_entry *c = &ev->cache[i];

		if (c->names && c->tgid == tgid && c->start_ns <= boot_ns &&
		    (!best || c->start_ns > best->start_ns))
			best = c;
	}
	if (best)
		best->used = ++ev->clock;
	return best;
}

/* Keeps what was read of a process, in its entry or the least recently used one. */
static void cache_put(struct mdg_events *ev, __u32 tgid, __u64 start_ns, const char *exe,
		      const struct mdg_proc_names *n)
{
	struct mdg_proc_entry *c = NULL;
	struct mdg_proc_names *names;
	char *e;
	size_t i;

	if (!ev->cache) {
		ev->cache = calloc(MDG_PROC_CACHE, sizeof(*ev->cache));
		if (!ev->cache)
			return;
	}
	for (i = 0; i < MDG_PROC_CACHE; i++) {
		struct mdg_proc_entry *x = &ev->cache[i];

		if (x->names && x->tgid == tgid && x->start_ns == start_ns) {
			c = x;
			break;
		}
		if (!c || (c->names && (!x->names || x->used < c->used)))
			c = x;
	}
	names = malloc(sizeof(*names));
	e = strdup(exe);
	if (!names || !e) {
		free(names);
		free(e);
		return;
	}
	*names = *n;
	entry_clear(c);
	c->tgid = tgid;
	c->start_ns = start_ns;
	c->used = ++ev->clock;
	c->exe = e;
	c->names = names;
}

void mdg_events_init(struct mdg_events *ev, enum mdg_log_format fmt)
{
	memset(ev, 0, sizeof(*ev));
	ev->fmt = fmt;
}

void mdg_events_set_scan(struct mdg_events *ev, const struct mdg_sysfs *scan)
{
	ev->scan = scan;
}

static void node_name(const struct mdg_sysfs *scan, __u32 rdev, char *buf, size_t len)
{
	size_t i;

	snprintf(buf, len, "?");
	for (i = 0; scan && i < scan->nr_devs; i++) {
		const struct mdg_sysfs_dev *d = &scan->devs[i];

		if (d->has_group && MDG_MKDEV(d->group_major, d->group_minor) == rdev) {
			snprintf(buf, len, "/dev/vfio/%u", d->group);
			return;
		}
		if (d->has_cdev && MDG_MKDEV(d->cdev_major, d->cdev_minor) == rdev) {
			snprintf(buf, len, "/dev/vfio/devices/%s", d->cdev_name);
			return;
		}
	}
}

/* A name from the kernel as one printable token: spaces and control bytes escaped. */
void mdg_event_token(const char *s, size_t max, char *out, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < max && s[i] && o + 5 < len; i++) {
		unsigned char c = s[i];

		if (c > ' ' && c < 0x7f && c != '\\')
			out[o++] = c;
		else
			o += snprintf(out + o, len - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

static void time_string(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tv.tv_usec / 1000);
}

static int format_json(const struct mdg_event *e, const char *ts, const char *exe,
		       const char *node, const struct mdg_proc_names *names, char *buf, size_t len)
{
	char uuid[MDG_UUID_LEN], rdev[32], s[MDG_TYPE_LEN + 1];
	struct json_object *o, *held;
	__u32 i;
	int n;

	o = json_object_new_object();
	held = json_object_new_array();
	if (!o || !held) {
		json_object_put(o);
		json_object_put(held);
		return -ENOMEM;
	}
	json_object_object_add(o, "time", json_object_new_string(ts));
	json_object_object_add(o, "action", json_object_new_string(mdg_action_name(e->action)));
	json_object_object_add(o, "rule", json_object_new_string(mdg_rule_name(e->rule)));
	if (e->compat)
		json_object_object_add(o, "class", json_object_new_int((int32_t)e->compat));
	json_object_object_add(o, "pid", json_object_new_int64(e->pid));
	json_object_object_add(o, "tgid", json_object_new_int64(e->tgid));
	json_object_object_add(o, "uid", json_object_new_int64(e->uid));
	snprintf(s, sizeof(s), "%.*s", MDG_COMM_LEN, e->comm);
	json_object_object_add(o, "comm", json_object_new_string(s));
	json_object_object_add(o, "exe", json_object_new_string(exe));
	mdg_uuid_format(&e->dev, uuid);
	json_object_object_add(o, "device", json_object_new_string(uuid));
	snprintf(s, sizeof(s), "%.*s", MDG_TYPE_LEN, e->type);
	json_object_object_add(o, "type", json_object_new_string(s));
	json_object_object_add(o, "node", json_object_new_string(node));
	snprintf(rdev, sizeof(rdev), "%u:%u", MDG_MAJOR(e->rdev), MDG_MINOR(e->rdev));
	json_object_object_add(o, "rdev", json_object_new_string(rdev));
	for (i = 0; i < e->nr_held && i < MDG_MAX_HELD; i++) {
		mdg_uuid_format(&e->held[i], uuid);
		json_object_array_add(held, json_object_new_string(uuid));
	}
	json_object_object_add(o, "held", held);
	json_object_object_add(o, "hook", json_object_new_string(mdg_hook_name(e->hook)));
	/* the names that exist only */
	if (names && names->vm[0])
		json_object_object_add(o, "vm", json_object_new_string(names->vm));
	if (names && names->unit[0])
		json_object_object_add(o, "unit", json_object_new_string(names->unit));
	if (names && names->pod[0])
		json_object_object_add(o, "pod", json_object_new_string(names->pod));
	n = snprintf(buf, len, "%s",
		     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return n;
}

/* " KEY=VALUE" for a name that exists, as a token; "" otherwise. */
static void name_field(const char *key, const char *v, char *out, size_t len)
{
	char tok[MDG_NAME_MAX * 4 + 1];

	out[0] = '\0';
	if (!v || !v[0])
		return;
	mdg_event_token(v, MDG_NAME_MAX, tok, sizeof(tok));
	snprintf(out, len, " %s=%s", key, tok);
}

int mdg_event_format(const struct mdg_event *e, const char *exe, const char *node,
		     const struct mdg_proc_names *names, enum mdg_log_format fmt, char *buf,
		     size_t len)
{
	char ts[64], comm[MDG_COMM_LEN * 4 + 1], type[MDG_TYPE_LEN * 4 + 1];
	char exe_tok[PATH_MAX], uuid[MDG_UUID_LEN];
	char held[MDG_MAX_HELD * (MDG_UUID_LEN + 1)] = "-";
	char vm[MDG_NAME_MAX * 4 + 8], unit[MDG_NAME_MAX * 4 + 8], pod[MDG_NAME_MAX * 4 + 8];
	char klass[24] = "";
	size_t off = 0;
	__u32 i;

	time_string(ts, sizeof(ts));
	if (fmt == MDG_LOG_JSON)
		return format_json(e, ts, exe, node, names, buf, len);

	for (i = 0; i < e->nr_held && i < MDG_MAX_HELD; i++) {
		mdg_uuid_format(&e->held[i], uuid);
		off += snprintf(held + off, sizeof(held) - off, "%s%s", i ? "," : "", uuid);
	}
	mdg_event_token(e->comm, MDG_COMM_LEN, comm, sizeof(comm));
	mdg_event_token(e->type, MDG_TYPE_LEN, type, sizeof(type));
	mdg_event_token(exe, PATH_MAX, exe_tok, sizeof(exe_tok));
	mdg_uuid_format(&e->dev, uuid);
	/* the compatibility class: the N-th "compatible" setting, as the service logs them */
	if (e->compat)
		snprintf(klass, sizeof(klass), " class=%u", e->compat);
	name_field("vm", names ? names->vm : NULL, vm, sizeof(vm));
	name_field("unit", names ? names->unit : NULL, unit, sizeof(unit));
	name_field("pod", names ? names->pod : NULL, pod, sizeof(pod));
	return snprintf(buf, len,
			"%s %s pid=%u tgid=%u uid=%u comm=%s exe=%s device=%s type=%s node=%s (%u:%u) held=%s hook=%s rule=%s action=%s%s%s%s%s",
			ts, mdg_action_name(e->action), e->pid, e->tgid, e->uid, comm, exe_tok, uuid,
			type, node, MDG_MAJOR(e->rdev), MDG_MINOR(e->rdev), held, mdg_hook_name(e->hook),
			mdg_rule_name(e->rule), mdg_action_name(e->action), klass, vm, unit, pod);
}

/*
 * Under systemd, a decision is a journal entry of its own: the line as MESSAGE, a denial (or an
 * audit's would-be denial) at warning priority, an allow at info, and every field of the line
 * as MDG_* for journalctl's matches (journalctl -u mdevguard MDG_RULE=restricted-device
 * MDG_VM=vm1); MDG_VM, MDG_UNIT and MDG_POD where they are known.
 */
static int journal_decision(const struct mdg_event *e, const char *line, const char *exe,
			    const char *node, const struct mdg_proc_names *names)
{
	char f[16][PATH_MAX + 16], uuid[MDG_UUID_LEN], held[MDG_MAX_HELD * (MDG_UUID_LEN + 1)] = "";
	const char *fields[16];
	size_t off = 0, n = 0;
	__u32 i;

	for (i = 0; i < e->nr_held && i < MDG_MAX_HELD; i++) {
		mdg_uuid_format(&e->held[i], uuid);
		off += snprintf(held + off, sizeof(held) - off, "%s%s", i ? "," : "", uuid);
	}
	mdg_uuid_format(&e->dev, uuid);
	snprintf(f[n++], sizeof(f[0]), "MDG_ACTION=%s", mdg_action_name(e->action));
	snprintf(f[n++], sizeof(f[0]), "MDG_RULE=%s", mdg_rule_name(e->rule));
	snprintf(f[n++], sizeof(f[0]), "MDG_HOOK=%s", mdg_hook_name(e->hook));
	snprintf(f[n++], sizeof(f[0]), "MDG_DEVICE=%s", uuid);
	snprintf(f[n++], sizeof(f[0]), "MDG_TYPE=%.*s", MDG_TYPE_LEN, e->type);
	snprintf(f[n++], sizeof(f[0]), "MDG_NODE=%s", node);
	snprintf(f[n++], sizeof(f[0]), "MDG_HELD=%s", held);
	snprintf(f[n++], sizeof(f[0]), "MDG_PID=%u", e->pid);
	snprintf(f[n++], sizeof(f[0]), "MDG_TGID=%u", e->tgid);
	snprintf(f[n++], sizeof(f[0]), "MDG_UID=%u", e->uid);
	snprintf(f[n++], sizeof(f[0]), "MDG_COMM=%.*s", MDG_COMM_LEN, e->comm);
	snprintf(f[n++], sizeof(f[0]), "MDG_EXE=%s", exe);
	if (names && names->vm[0])
		snprintf(f[n++], sizeof(f[0]), "MDG_VM=%s", names->vm);
	if (names && names->unit[0])
		snprintf(f[n++], sizeof(f[0]), "MDG_UNIT=%s", names->unit);
	if (names && names->pod[0])
		snprintf(f[n++], sizeof(f[0]), "MDG_POD=%s", names->pod);
	for (i = 0; i < n; i++)
		fields[i] = f[i];
	return mdg_journal_send(e->action == MDG_ACT_ALLOW ? LOG_INFO : LOG_WARNING, line, fields,
				n);
}

int mdg_events_handle(void *ctx, void *data, size_t len)
{
	struct mdg_events *ev = ctx;
	const struct mdg_event *e = data;
	static char line[MDG_EVENT_LINE_MAX];
	char path[64], exe[PATH_MAX], node[PATH_MAX];
	const struct mdg_proc_names *names = NULL;
	struct mdg_proc_names now, merged;
	struct mdg_proc_entry *c;
	__u64 start = 0;
	ssize_t n = -1;

	if (len < sizeof(*e))
		return 0;
	/*
	 * The process is usually still alive when the event is read: what /proc says of it now is
	 * kept. A process that started after the decision has its pid only; one that is gone is
	 * named from what an earlier event read, or "?" and nothing.
	 */
	if (!mdg_proc_start_ns(e->tgid, &start) && start <= e->boot_ns) {
		snprintf(path, sizeof(path), "/proc/%u/exe", e->tgid);
		n = readlink(path, exe, sizeof(exe) - 1);
	}
	if (n >= 0) {
		exe[n] = '\0';
		mdg_proc_names_read(e->tgid, &now, !cache_find(ev, e->tgid, e->boot_ns));
		/* still the same process: what was read is its own */
		if (!mdg_proc_start_ns(e->tgid, &start) && start <= e->boot_ns) {
			cache_put(ev, e->tgid, start, exe, &now);
			names = &now;
		}
	}
	if (!names) {
		c = cache_find(ev, e->tgid, e->boot_ns);
		if (c || n < 0)
			snprintf(exe, sizeof(exe), "%s", c ? c->exe : "?");
		names = c ? c->names : NULL;
	}
	if (e->kind == MDG_EV_DECISION) {
		if (names)
			merged = *names;
		else
			memset(&merged, 0, sizeof(merged));
		names_from_event(e, &merged);
		names = &merged;
	}
	node_name(ev->scan, e->rdev, node, sizeof(node));
	n = mdg_event_format(e, exe, node, names, ev->fmt, line, sizeof(line));
	if (n < 0 || (size_t)n >= sizeof(line))
		return 0;
	/* the entry with its fields replaces the plain line on stdout; a failed send falls back */
	if (mdg_log_journal_out() && !journal_decision(e, line, exe, node, names))
		return 0;
	printf("%s\n", line);
	/* nowhere better to report a failing stdout; stderr's log goes the same way */
	(void)fflush(stdout);
	return 0;
}
