// SPDX-License-Identifier: GPL-2.0
/*
 * The configuration file's syntax (SPEC §8); configkey.c takes each setting.
 *
 * The file holds "key = value" lines with the keys of the long options:
 *
 *   # comment
 *   mode = per-type            # trailing comment, after whitespace
 *   restrict-type = nvidia-63
 *
 * A '#' starts a comment at the start of a line or value, or after whitespace; elsewhere it is
 * part of the value. Whitespace around keys and values is ignored, and so is a CR before the
 * newline. Every line with content must have an '='.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

/* Cuts a comment: '#' at the start of the value or after whitespace. */
static void cut_comment(char *v)
{
	size_t i;

	for (i = 0; v[i]; i++) {
		if (v[i] == '#' && (i == 0 || mdg_config_is_space(v[i - 1]))) {
			v[i] = '\0';
			return;
		}
	}
}

/* One line, without its newline; a reason without location in err on error. */
static int parse_line(struct mdg_policy *p, char *line, char *err, size_t errlen)
{
	char q[MDG_CONFIG_QUOTE_MAX * 4 + 8];
	char *key, *eq, *value;

	key = mdg_config_skip_space(line);
	if (!*key || *key == '#')
		return 0;
	eq = strchr(key, '=');
	if (!eq) {
		cut_comment(key);
		mdg_config_trim_end(key);
		mdg_set_err(err, errlen, "missing '=' after '%s' (expected key = value)",
			mdg_config_quote(key, q, sizeof(q)));
		return -EINVAL;
	}
	*eq = '\0';
	mdg_config_trim_end(key);
	if (!*key) {
		mdg_set_err(err, errlen, "missing key before '='");
		return -EINVAL;
	}
	if (mdg_policy_key(key) < 0) {
		mdg_set_err(err, errlen, "unknown key '%s'", mdg_config_quote(key, q, sizeof(q)));
		return -EINVAL;
	}
	value = mdg_config_skip_space(eq + 1);
	cut_comment(value);
	mdg_config_trim_end(value);
	if (!*value) {
		mdg_set_err(err, errlen, "missing value for %s", key);
		return -EINVAL;
	}
	return mdg_policy_set(p, key, value, err, errlen);
}

/*
 * Reads one line into buf (MDG_CONFIG_LINE_MAX + 1 bytes). Returns 1 with a line, 0 at the
 * end of the file, -E2BIG for an overlong line, -EILSEQ for a NUL byte, -errno on read errors.
 */
static int read_line(FILE *f, char *buf)
{
	size_t len = 0;
	int c;

	errno = 0;
	while ((c = getc(f)) != EOF) {
		if (c == '\n')
			break;
		if (c == '\0')
			return -EILSEQ;
		if (len == MDG_CONFIG_LINE_MAX)
			return -E2BIG;
		buf[len++] = (char)c;
	}
	buf[len] = '\0';
	if (c == EOF && ferror(f))
		return errno ? -errno : -EIO;
	return c == EOF && !len ? 0 : 1;
}

static int parse_stream(struct mdg_policy *p, FILE *f, const char *path, char *err,
			size_t errlen)
{
	char reason[512];
	unsigned int lineno = 0;
	char *buf, *line;
	int ret;

	buf = malloc(MDG_CONFIG_LINE_MAX + 1);
	if (!buf) {
		mdg_set_err(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	for (;;) {
		ret = read_line(f, buf);
		lineno++;
		if (ret == 0)
			break;
		if (ret == -E2BIG) {
			mdg_set_err(err, errlen, "%s:%u: line longer than %d characters", path, lineno,
				MDG_CONFIG_LINE_MAX);
			ret = -EINVAL;
			break;
		}
		if (ret == -EILSEQ) {
			mdg_set_err(err, errlen, "%s:%u: NUL byte in line", path, lineno);
			ret = -EINVAL;
			break;
		}
		if (ret < 0) {
			mdg_set_err(err, errlen, "%s: %s", path, strerror(-ret));
			break;
		}
		line = buf;
		/* A UTF-8 byte order mark some editors write. */
		if (lineno == 1 && !strncmp(line, "\xef\xbb\xbf", 3))
			line += 3;
		ret = parse_line(p, line, reason, sizeof(reason));
		if (ret) {
			mdg_set_err(err, errlen, "%s:%u: %s", path, lineno, reason);
			break;
		}
	}
	free(buf);
	return ret;
}

int mdg_policy_load_stream(struct mdg_policy *p, FILE *f, const char *name, char *err,
			   size_t errlen)
{
	struct mdg_policy tmp;
	int ret;

	ret = mdg_policy_copy(&tmp, p);
	if (ret) {
		mdg_set_err(err, errlen, "%s: out of memory", name);
		return ret;
	}
	ret = parse_stream(&tmp, f, name, err, errlen);
	if (ret) {
		mdg_policy_free(&tmp);
		return ret;
	}
	mdg_policy_free(p);
	*p = tmp;
	return 0;
}

int mdg_policy_load_file(struct mdg_policy *p, const char *path, char *err, size_t errlen)
{
	FILE *f;
	int ret;

	if (!p || !path) {
		mdg_set_err(err, errlen, "no configuration file given");
		return -EINVAL;
	}
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		mdg_set_err(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = mdg_policy_load_stream(p, f, path, err, errlen);
	(void)fclose(f); /* read only: nothing to lose if closing fails */
	return ret;
}
