// SPDX-License-Identifier: GPL-2.0
/*
 * Decision events. The BPF side sends what it knows at the moment of the open; what only user
 * space can know (the executable, the /dev path of the node) is added here.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "events.h"
#include "log.h"
#include "names.h"






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
static void token(const char *s, size_t max, char *out, size_t len)
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
		       const char *node, char *buf, size_t len)
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
	n = snprintf(buf, len, "%s",
		     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return n;
}

int mdg_event_format(const struct mdg_event *e, const char *exe, const char *node,
		     enum mdg_log_format fmt, char *buf, size_t len)
{
	char ts[64], comm[MDG_COMM_LEN * 4 + 1], type[MDG_TYPE_LEN * 4 + 1];
	char exe_tok[PATH_MAX], uuid[MDG_UUID_LEN];
	char held[MDG_MAX_HELD * (MDG_UUID_LEN + 1)] = "-";
	size_t off = 0;
	__u32 i;

	time_string(ts, sizeof(ts));
	if (fmt == MDG_LOG_JSON)
		return format_json(e, ts, exe, node, buf, len);

	for (i = 0; i < e->nr_held && i < MDG_MAX_HELD; i++) {
		mdg_uuid_format(&e->held[i], uuid);
		off += snprintf(held + off, sizeof(held) - off, "%s%s", i ? "," : "", uuid);
	}
	token(e->comm, MDG_COMM_LEN, comm, sizeof(comm));
	token(e->type, MDG_TYPE_LEN, type, sizeof(type));
	token(exe, PATH_MAX, exe_tok, sizeof(exe_tok));
	mdg_uuid_format(&e->dev, uuid);
	return snprintf(buf, len,
			"%s %s pid=%u tgid=%u uid=%u comm=%s exe=%s device=%s type=%s node=%s (%u:%u) held=%s hook=%s rule=%s action=%s",
			ts, mdg_action_name(e->action), e->pid, e->tgid, e->uid, comm, exe_tok, uuid,
			type, node, MDG_MAJOR(e->rdev), MDG_MINOR(e->rdev), held, mdg_hook_name(e->hook),
			mdg_rule_name(e->rule), mdg_action_name(e->action));
}

/*
 * Under systemd, a decision is a journal entry of its own: the line as MESSAGE, a denial (or an
 * audit's would-be denial) at warning priority, an allow at info, and every field of the line
 * as MDG_* for journalctl's matches (journalctl -u mdevguard MDG_RULE=restricted-device).
 */
static int journal_decision(const struct mdg_event *e, const char *line, const char *exe,
			    const char *node)
{
	char f[13][PATH_MAX + 16], uuid[MDG_UUID_LEN], held[MDG_MAX_HELD * (MDG_UUID_LEN + 1)] = "";
	const char *fields[13];
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
	for (i = 0; i < n; i++)
		fields[i] = f[i];
	return mdg_journal_send(e->action == MDG_ACT_ALLOW ? LOG_INFO : LOG_WARNING, line, fields,
				n);
}

int mdg_events_handle(void *ctx, void *data, size_t len)
{
	struct mdg_events *ev = ctx;
	const struct mdg_event *e = data;
	char path[64], exe[PATH_MAX], node[PATH_MAX], line[8192];
	ssize_t n;

	if (len < sizeof(*e))
		return 0;
	/* The opener is usually still alive when the event is read; say so when it is not. */
	snprintf(path, sizeof(path), "/proc/%u/exe", e->tgid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0)
		snprintf(exe, sizeof(exe), "?");
	else
		exe[n] = '\0';
	node_name(ev->scan, e->rdev, node, sizeof(node));
	if (mdg_event_format(e, exe, node, ev->fmt, line, sizeof(line)) < 0)
		return 0;
	/* the entry with its fields replaces the plain line on stdout; a failed send falls back */
	if (mdg_log_journal_out() && !journal_decision(e, line, exe, node))
		return 0;
	printf("%s\n", line);
	/* nowhere better to report a failing stdout; stderr's log goes the same way */
	(void)fflush(stdout);
	return 0;
}
