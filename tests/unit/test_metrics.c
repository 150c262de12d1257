// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/metrics.c: the file passes a strict check of the Prometheus text format and
 * of Prometheus's naming conventions, and carries the numbers.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics.h"

#define XSTR(x) #x
#define STR(x) XSTR(x)

struct sample {
	char name[128];
	char labels[256];		/* as written, braces included; "" when none */
	unsigned long long value;
};

static char dir[PATH_MAX];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/mdg-metrics-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static const struct mdg_metrics sample_metrics = {
	.version = "1.2.3", .ready = true,
	.stats = { .opens_seen = 11, .allowed = 7, .denied = 3, .audit_denied = 1,
		   .errors = 2, .lost_events = 5, .released = 6, .acquired = 8,
		   .pass_released = 4 },
	.devices = 9, .restricted = 4, .functions = 3, .untyped = 1, .holders = 2, .mode = 1, .audit = 0,
	.nr_maps = 2, .maps = { { "devices", 4096 }, { "holders", 65536 } },
};

/* What the format checker knows of one metric family. */
struct family {
	char name[128];
	char type[16];
	bool help, done;	/* done: another family's line came after its samples */
	int samples;
};

static struct family *family_of(struct family *fam, int *nfam, const char *name)
{
	int i;

	for (i = 0; i < *nfam; i++) {
		if (!strcmp(fam[i].name, name))
			return &fam[i];
	}
	assert_true(*nfam < 64);
	memset(&fam[*nfam], 0, sizeof(fam[0]));
	snprintf(fam[*nfam].name, sizeof(fam[0].name), "%s", name);
	return &fam[(*nfam)++];
}

/*
 * A metric name by our own rule, stricter than the format's [a-zA-Z_:][a-zA-Z0-9_:]*: the
 * mdevguard_ prefix and snake_case, no colon (those are for recording rules).
 */
static bool good_name(const char *s)
{
	if (strncmp(s, "mdevguard_", 10) || !s[10])
		return false;
	for (; *s; s++) {
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_')
			return false;
	}
	return s[-1] != '_';
}

/*
 * Checks a label set "{a="x",b="y"}" as the text format defines it: names
 * [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved), each once; values in double
 * quotes with only \\, \" and \n escaped. Returns the length consumed, or -1.
 */
static int check_labels(const char *p, const char *line)
{
	char names[8][64];
	const char *start = p;
	int n = 0, i, len;

	if (*p++ != '{')
		return -1;
	for (;;) {
		if (!isalpha((unsigned char)*p) && *p != '_')
			fail_msg("bad label name in '%s'", line);
		for (len = 0; isalnum((unsigned char)p[len]) || p[len] == '_'; len++)
			;
		if (len >= 64 || n == 8 || !strncmp(p, "__", 2))
			fail_msg("label name too long, too many labels or reserved name in '%s'", line);
		snprintf(names[n], sizeof(names[0]), "%.*s", len, p);
		for (i = 0; i < n; i++) {
			if (!strcmp(names[i], names[n]))
				fail_msg("label %s twice in '%s'", names[n], line);
		}
		n++;
		p += len;
		if (*p++ != '=' || *p++ != '"')
			fail_msg("label without =\"value\" in '%s'", line);
		while (*p != '"') {
			if (!*p || *p == '\n')
				fail_msg("unterminated label value in '%s'", line);
			if (*p == '\\' && !strchr("\\\"n", p[1]))
				fail_msg("bad escape in a label value in '%s'", line);
			p += *p == '\\' ? 2 : 1;
		}
		p++;
		if (*p == '}')
			return (int)(p + 1 - start);
		if (*p++ != ',')
			fail_msg("labels not separated by commas in '%s'", line);
	}
}

/*
 * Parses a text-format file the way a strict scraper (promtool check metrics) would: every
 * line a HELP, a TYPE or a sample; each metric's HELP and TYPE once, before its samples, and
 * its samples together; counters named *_total, info metrics *_info gauges of value 1; no
 * series twice. Returns the number of samples.
 */
static int parse(const char *path, struct sample *out, int max)
{
	struct family fam[64], *cur = NULL, *fa;
	char line[1024], name[128], type[16];
	int nfam = 0, n = 0, i, len;
	const char *p;
	char *end;
	FILE *f;

	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		len = (int)strlen(line);
		if (!len || line[len - 1] != '\n')
			fail_msg("line too long or not ended by a newline: '%s'", line);
		line[len - 1] = '\0';
		if (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7)) {
			if (sscanf(line + 7, "%127s", name) != 1 || !good_name(name))
				fail_msg("bad metric name in '%s'", line);
			fa = family_of(fam, &nfam, name);
			if (fa->samples)
				fail_msg("%s: HELP or TYPE after its samples", name);
			p = line + 7 + strlen(name);
			if (line[2] == 'H') {
				if (fa->help || p[0] != ' ' || !p[1])
					fail_msg("second or empty HELP: '%s'", line);
				fa->help = true;
			} else {
				if (fa->type[0] || sscanf(p, " %15s", type) != 1 ||
				    (strcmp(type, "counter") && strcmp(type, "gauge")) ||
				    strcmp(p + 1, type))
					fail_msg("second or bad TYPE: '%s'", line);
				snprintf(fa->type, sizeof(fa->type), "%s", type);
			}
			continue;
		}
		if (line[0] == '#')
			fail_msg("a comment that is neither HELP nor TYPE: '%s'", line);
		assert_true(n < max);
		for (len = 0; isalnum((unsigned char)line[len]) || line[len] == '_'; len++)
			;
		snprintf(out[n].name, sizeof(out[n].name), "%.*s", len, line);
		if (!good_name(out[n].name))
			fail_msg("bad metric name in sample '%s'", line);
		p = line + len;
		out[n].labels[0] = '\0';
		if (*p == '{') {
			len = check_labels(p, line);
			snprintf(out[n].labels, sizeof(out[n].labels), "%.*s", len, p);
			p += len;
		}
		if (*p++ != ' ' || !isdigit((unsigned char)*p))
			fail_msg("no value in '%s'", line);
		errno = 0;
		out[n].value = strtoull(p, &end, 10);
		if (errno || *end)
			fail_msg("value not an integer (no timestamps either) in '%s'", line);

		fa = family_of(fam, &nfam, out[n].name);
		if (!fa->help || !fa->type[0])
			fail_msg("sample of %s before its HELP and TYPE", fa->name);
		if (fa->done)
			fail_msg("samples of %s not together", fa->name);
		if (cur && cur != fa)
			cur->done = true;
		cur = fa;
		fa->samples++;
		if (!strcmp(fa->type, "counter") != !!strstr(fa->name + strlen(fa->name) - 6, "_total"))
			fail_msg("%s: counters and only counters end in _total", fa->name);
		if (strstr(fa->name + strlen(fa->name) - 5, "_info") &&
		    (strcmp(fa->type, "gauge") || out[n].value != 1 || !out[n].labels[0]))
			fail_msg("%s: an info metric is a labelled gauge of value 1", fa->name);
		for (i = 0; i < n; i++) {
			if (!strcmp(out[i].name, out[n].name) && !strcmp(out[i].labels, out[n].labels))
				fail_msg("series twice: '%s'", line);
		}
		n++;
	}
	fclose(f);
	for (i = 0; i < nfam; i++) {
		if (!fam[i].samples)
			fail_msg("%s: HELP or TYPE without samples", fam[i].name);
	}
	return n;
}

static unsigned long long value_of(struct sample *s, int n, const char *name, const char *labels)
{
	int i;

	for (i = 0; i < n; i++) {
		if (!strcmp(s[i].name, name) && !strcmp(s[i].labels, labels))
			return s[i].value;
	}
	fail_msg("no sample %s%s", name, labels);
	return 0;
}

static void test_values(void **state)
{
	struct sample s[32];
	char path[PATH_MAX + 16];
	int n;

	snprintf(path, sizeof(path), "%s/mdevguard.prom", dir);
	assert_int_equal(mdg_metrics_write(path, &sample_metrics), 0);
	n = parse(path, s, 32);
	assert_int_equal(n, 19);
	assert_int_equal(value_of(s, n, "mdevguard_build_info",
				  "{version=\"1.2.3\",abi=\"" STR(MDG_ABI_VERSION) "\"}"), 1);
	assert_int_equal(value_of(s, n, "mdevguard_ready", ""), 1);
	assert_int_equal(value_of(s, n, "mdevguard_policy_info",
				  "{mode=\"per-type\",audit=\"false\"}"), 1);
	assert_int_equal(value_of(s, n, "mdevguard_opens_total", ""), 11);
	assert_int_equal(value_of(s, n, "mdevguard_decisions_total", "{action=\"allow\"}"), 7);
	assert_int_equal(value_of(s, n, "mdevguard_decisions_total", "{action=\"deny\"}"), 3);
	assert_int_equal(value_of(s, n, "mdevguard_decisions_total", "{action=\"audit_deny\"}"), 1);
	assert_int_equal(value_of(s, n, "mdevguard_errors_total", ""), 2);
	assert_int_equal(value_of(s, n, "mdevguard_events_lost_total", ""), 5);
	assert_int_equal(value_of(s, n, "mdevguard_holdings_acquired_total", ""), 8);
	assert_int_equal(value_of(s, n, "mdevguard_holdings_released_total",
				  "{by=\"last_file\"}"), 6);
	assert_int_equal(value_of(s, n, "mdevguard_holdings_released_total",
				  "{by=\"release_pass\"}"), 4);
	assert_int_equal(value_of(s, n, "mdevguard_devices", "{restricted=\"true\"}"), 4);
	assert_int_equal(value_of(s, n, "mdevguard_devices", "{restricted=\"false\"}"), 5);
	assert_int_equal(value_of(s, n, "mdevguard_vgpu_functions", "{under_rule=\"true\"}"), 3);
	assert_int_equal(value_of(s, n, "mdevguard_vgpu_functions", "{under_rule=\"false\"}"), 1);
	assert_int_equal(value_of(s, n, "mdevguard_holders", ""), 2);
	assert_int_equal(value_of(s, n, "mdevguard_map_memory_bytes", "{map=\"devices\"}"), 4096);
	assert_int_equal(value_of(s, n, "mdevguard_map_memory_bytes", "{map=\"holders\"}"), 65536);
}

/* Not ready, no map known and an odd version: still a valid file, the label value escaped. */
static void test_escapes_and_empty(void **state)
{
	struct mdg_metrics m = sample_metrics;
	char path[PATH_MAX + 16];
	struct sample s[32];
	int n, i;

	m.version = "1.0\"x\\y\nz";
	m.ready = false;
	m.audit = 1;
	m.mode = 0;
	m.nr_maps = 0;
	snprintf(path, sizeof(path), "%s/mdevguard.prom", dir);
	assert_int_equal(mdg_metrics_write(path, &m), 0);
	n = parse(path, s, 32);
	assert_int_equal(n, 17);
	assert_int_equal(value_of(s, n, "mdevguard_build_info",
				  "{version=\"1.0\\\"x\\\\y\\nz\",abi=\"" STR(MDG_ABI_VERSION) "\"}"),
			 1);
	assert_int_equal(value_of(s, n, "mdevguard_ready", ""), 0);
	assert_int_equal(value_of(s, n, "mdevguard_policy_info",
				  "{mode=\"exclusive\",audit=\"true\"}"), 1);
	for (i = 0; i < n; i++)
		assert_string_not_equal(s[i].name, "mdevguard_map_memory_bytes");
}

/* A rewrite replaces the file whole and leaves no temporary file behind. */
static void test_atomic_replace(void **state)
{
	struct mdg_metrics m = sample_metrics;
	char path[PATH_MAX + 16];
	struct sample s[32];
	struct dirent *de;
	int n, files = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/mdevguard.prom", dir);
	assert_int_equal(mdg_metrics_write(path, &m), 0);
	m.stats.denied = 42;
	assert_int_equal(mdg_metrics_write(path, &m), 0);
	n = parse(path, s, 32);
	assert_int_equal(value_of(s, n, "mdevguard_decisions_total", "{action=\"deny\"}"), 42);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)))
		files += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(files, 1);
}

static void test_bad_path(void **state)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/missing/dir/mdevguard.prom", dir);
	assert_int_equal(mdg_metrics_write(path, &sample_metrics), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escapes_and_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_path, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
