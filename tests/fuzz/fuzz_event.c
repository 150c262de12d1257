// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: decision records from the BPF ring buffer, printed by mdg_event_format()
 * (user/events.c) as text and as JSON. The record is any bytes: the BPF side fills it from
 * kernel memory (comm, type names) that user space does not control. The executable's path
 * comes from /proc/PID/exe, so any bytes but NUL, chosen by whoever runs the process.
 *
 * Input: byte 0 picks the node's shape as node_name() makes it ("?", /dev/vfio/N or
 * /dev/vfio/devices/vfioN), bytes 1-4 its number, the next sizeof(struct mdg_event) bytes are
 * the record (zero-filled when short), then the executable path up to a NUL, then the VM, the
 * unit and the pod names, each up to a NUL (any bytes: a domain name comes from a cgroup
 * directory or a command line, and procinfo.c does not restrict it further).
 *
 * Checked at the size mdg_events_handle() prints with: each line is whole, a text line has no
 * control byte (one log line per event, whatever the names hold), and a JSON line parses back
 * to the same executable path, node and names, a name absent where it is empty.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "events.h"

#define LINE_LEN MDG_EVENT_LINE_MAX	/* mdg_events_handle()'s line */

static void fail(const char *what, const char *line)
{
	fprintf(stderr, "fuzz_event: %s\nline: %.*s\n", what, 2048, line ? line : "");
	abort();
}

/* A name of the input: up to a NUL, at most max - 1 bytes; off moves past it. */
static void take(const uint8_t *data, size_t size, size_t *off, char *out, size_t max)
{
	size_t n = *off < size ? strnlen((const char *)data + *off, size - *off) : 0;

	if (n > max - 1)
		n = max - 1;
	if (n)
		memcpy(out, data + *off, n);
	out[n] = '\0';
	*off += n + 1;
}

static void check_name(struct json_object *o, const char *key, const char *want, const char *line)
{
	struct json_object *v;

	if (!*want) {
		if (json_object_object_get_ex(o, key, NULL))
			fail("JSON has a name that is not known", line);
		return;
	}
	if (!json_object_object_get_ex(o, key, &v) || strcmp(json_object_get_string(v), want))
		fail("JSON name differs", line);
}

static void check_json(const char *line, const char *exe, const char *node,
		       const struct mdg_proc_names *names)
{
	struct json_object *o, *v;

	o = json_tokener_parse(line);
	if (!o)
		fail("JSON line does not parse", line);
	if (!json_object_object_get_ex(o, "exe", &v) || strcmp(json_object_get_string(v), exe))
		fail("JSON exe differs from the executable path", line);
	if (!json_object_object_get_ex(o, "node", &v) || strcmp(json_object_get_string(v), node))
		fail("JSON node differs", line);
	if (!json_object_object_get_ex(o, "held", &v) || !json_object_is_type(v, json_type_array))
		fail("JSON held is not an array", line);
	check_name(o, "vm", names->vm, line);
	check_name(o, "unit", names->unit, line);
	check_name(o, "pod", names->pod, line);
	json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char node[64], *exe, *line;
	struct mdg_proc_names names;
	struct mdg_event e;
	size_t off = 5, n, i;
	uint32_t num = 0;
	int ret;

	if (size >= 5)
		memcpy(&num, data + 1, sizeof(num));
	switch (size ? data[0] % 3 : 0) {
	case 0:
		snprintf(node, sizeof(node), "?");
		break;
	case 1:
		snprintf(node, sizeof(node), "/dev/vfio/%u", num);
		break;
	default:
		snprintf(node, sizeof(node), "/dev/vfio/devices/vfio%u", num);
		break;
	}
	memset(&e, 0, sizeof(e));
	if (size > off)
		memcpy(&e, data + off, size - off < sizeof(e) ? size - off : sizeof(e));
	off += sizeof(e);
	n = size > off ? strnlen((const char *)data + off, size - off) : 0;
	if (n > PATH_MAX - 1)
		n = PATH_MAX - 1;	/* readlink() into exe[PATH_MAX] */
	exe = malloc(n + 2);
	line = malloc(LINE_LEN);
	if (!exe || !line)
		goto out;
	memcpy(exe, n ? (const char *)data + off : "?", n ? n : 1);
	exe[n ? n : 1] = '\0';
	off += n + 1;
	take(data, size, &off, names.vm, sizeof(names.vm));
	take(data, size, &off, names.unit, sizeof(names.unit));
	take(data, size, &off, names.pod, sizeof(names.pod));

	ret = mdg_event_format(&e, exe, node, &names, MDG_LOG_TEXT, line, LINE_LEN);
	if (ret < 0 || ret >= LINE_LEN)
		fail("text line cut or failed", line);
	for (i = 0; line[i]; i++) {
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			fail("control byte in a text line", line);
	}
	ret = mdg_event_format(&e, exe, node, &names, MDG_LOG_JSON, line, LINE_LEN);
	if (ret < 0 || ret >= LINE_LEN)
		fail("JSON line cut or failed", line);
	check_json(line, exe, node, &names);
out:
	free(exe);
	free(line);
	return 0;
}
