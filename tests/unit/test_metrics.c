// SPDX-License-Identifier: GPL-2.0
/* Unit tests of user/metrics.c: the file parses as Prometheus text and carries the numbers. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics.h"

struct sample {
	char name[128];
	char labels[128];
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
	.stats = { .opens_seen = 11, .allowed = 7, .denied = 3, .audit_denied = 1,
		   .errors = 2, .lost_events = 5, .released = 6 },
	.devices = 9, .restricted = 4, .holders = 2, .mode = 1, .audit = 0,
};

/*
 * Parses a text-format file the way a scraper would: every sample line must follow a HELP and
 * a TYPE line for its metric; returns the number of samples.
 */
static int parse(const char *path, struct sample *out, int max)
{
	regex_t sample_re, help_re, type_re;
	char line[512], typed[64][128];
	int ntyped = 0, n = 0, i, known;
	regmatch_t m[4];
	FILE *f;

	assert_int_equal(regcomp(&sample_re,
				 "^(mdevguard_[a-z_]+)(\\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*\\})? ([0-9]+)$",
				 REG_EXTENDED), 0);
	assert_int_equal(regcomp(&help_re, "^# HELP (mdevguard_[a-z_]+) .+$", REG_EXTENDED), 0);
	assert_int_equal(regcomp(&type_re, "^# TYPE (mdevguard_[a-z_]+) (counter|gauge)$",
				 REG_EXTENDED), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!regexec(&help_re, line, 0, NULL, 0))
			continue;
		if (!regexec(&type_re, line, 2, m, 0)) {
			assert_true(ntyped < 64);
			snprintf(typed[ntyped++], sizeof(typed[0]), "%.*s",
				 (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
			continue;
		}
		if (regexec(&sample_re, line, 0, NULL, 0))
			fail_msg("not a Prometheus sample line: '%s'", line);
		assert_true(n < max);
		sscanf(line, "%127[a-z_]", out[n].name);
		out[n].labels[0] = '\0';
		if (strchr(line, '{'))
			sscanf(strchr(line, '{'), "%127[^}]", out[n].labels);
		out[n].value = strtoull(strrchr(line, ' ') + 1, NULL, 10);
		for (known = 0, i = 0; i < ntyped; i++)
			known |= !strcmp(typed[i], out[n].name);
		if (!known)
			fail_msg("sample of %s before its TYPE line", out[n].name);
		n++;
	}
	fclose(f);
	regfree(&sample_re);
	regfree(&help_re);
	regfree(&type_re);
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
	assert_int_equal(value_of(s, n, "mdevguard_opens_total", ""), 11);
	assert_int_equal(value_of(s, n, "mdevguard_decisions_total", "{action=\"allow\""), 7);
	assert_int_equal(value_of(s, n, "mdevguard_decisions_total", "{action=\"deny\""), 3);
	assert_int_equal(value_of(s, n, "mdevguard_decisions_total", "{action=\"would_deny\""), 1);
	assert_int_equal(value_of(s, n, "mdevguard_errors_total", ""), 2);
	assert_int_equal(value_of(s, n, "mdevguard_lost_events_total", ""), 5);
	assert_int_equal(value_of(s, n, "mdevguard_released_total", ""), 6);
	assert_int_equal(value_of(s, n, "mdevguard_devices", "{restricted=\"true\""), 4);
	assert_int_equal(value_of(s, n, "mdevguard_devices", "{restricted=\"false\""), 5);
	assert_int_equal(value_of(s, n, "mdevguard_holders", ""), 2);
	assert_int_equal(value_of(s, n, "mdevguard_info", "{mode=\"per-type\",audit=\"false\""), 1);
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
	assert_int_equal(value_of(s, n, "mdevguard_decisions_total", "{action=\"deny\""), 42);
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
		cmocka_unit_test_setup_teardown(test_atomic_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_path, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
