// SPDX-License-Identifier: GPL-2.0
/*
 * The option table: each key of the long options and the configuration file, its value's
 * syntax and what it sets in the policy (mdg_policy_set), and the words of a value.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "uuid.h"
#include "vgpufn.h"

/* A value as an error shows it: control bytes escaped, long values cut with "...". */
const char *mdg_config_quote(const char *s, char *buf, size_t size)
{
	size_t pos = 0, n = 0;

	for (; *s && pos + 5 < size; s++, n++) {
		unsigned char c = (unsigned char)*s;

		if (n == MDG_CONFIG_QUOTE_MAX)
			break;
		if (c < 0x20 || c == 0x7f)
			pos += (size_t)snprintf(buf + pos, size - pos, "\\x%02x", c);
		else
			buf[pos++] = (char)c;
	}
	if (*s && pos + 4 <= size) {
		memcpy(buf + pos, "...", 3);
		pos += 3;
	}
	buf[pos] = '\0';
	return buf;
}

static void bad_value(char *err, size_t errlen, const char *key, const char *value,
		      const char *expected)
{
	char q[MDG_CONFIG_QUOTE_MAX * 4 + 8];

	mdg_set_err(err, errlen, "bad value '%s' for %s: expected %s",
		    mdg_config_quote(value, q, sizeof(q)), key, expected);
}

int mdg_mode_parse(const char *s, enum mdg_mode *m)
{
	if (s && !strcmp(s, "exclusive")) {
		*m = MDG_MODE_EXCLUSIVE;
		return 0;
	}
	if (s && !strcmp(s, "per-type")) {
		*m = MDG_MODE_PER_TYPE;
		return 0;
	}
	return -EINVAL;
}

static int bool_parse(const char *s, bool *b)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i])) {
			*b = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*b = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* A type name as sysfs can name a directory: 1..63 bytes, no '/', no spaces or controls. */
static bool valid_type(const char *s)
{
	size_t len = strlen(s);
	size_t i;

	if (!len || len >= MDG_TYPE_LEN || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f || c == '/')
			return false;
	}
	return true;
}

typedef int (*set_fn)(struct mdg_policy *p, const char *key, const char *v, char *err,
		      size_t errlen);

static int set_mode(struct mdg_policy *p, const char *key, const char *v, char *err,
		    size_t errlen)
{
	if (!mdg_mode_parse(v, &p->mode))
		return 0;
	bad_value(err, errlen, key, v, "exclusive or per-type");
	return -EINVAL;
}

static int set_audit(struct mdg_policy *p, const char *key, const char *v, char *err,
		     size_t errlen)
{
	if (!v) {
		p->audit = true;
		return 0;
	}
	if (!bool_parse(v, &p->audit))
		return 0;
	bad_value(err, errlen, key, v, "yes, no, true, false, on, off, 1 or 0");
	return -EINVAL;
}

static int set_absent(struct mdg_policy *p, const char *key, const char *v, char *err,
		      size_t errlen)
{
	if (!strcmp(v, "restricted") || !strcmp(v, "unrestricted")) {
		p->absent_restricted = v[0] == 'r';
		return 0;
	}
	bad_value(err, errlen, key, v, "restricted or unrestricted");
	return -EINVAL;
}

static int set_errno(struct mdg_policy *p, const char *key, const char *v, char *err,
		     size_t errlen)
{
	if (!mdg_errno_parse(v, &p->deny_errno))
		return 0;
	bad_value(err, errlen, key, v, "EPERM, EACCES or EBUSY");
	return -EINVAL;
}

/* Adds to one list and takes out of its opposite: the later setting wins. */
static int list_move(struct mdg_strlist *to, struct mdg_strlist *from, const char *s,
		     char *err, size_t errlen)
{
	if (mdg_strlist_add(to, s)) {
		mdg_set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	mdg_strlist_del(from, s);
	return 0;
}

static int set_type(struct mdg_policy *p, const char *key, const char *v, char *err,
		    size_t errlen)
{
	bool deny = !strncmp(key, "restrict-", 9);

	if (!valid_type(v)) {
		bad_value(err, errlen, key, v,
			  "an mdev type name (1 to 63 characters, no '/', no spaces)");
		return -EINVAL;
	}
	if (deny)
		return list_move(&p->restrict_types, &p->allow_types, v, err, errlen);
	return list_move(&p->allow_types, &p->restrict_types, v, err, errlen);
}

static int set_device(struct mdg_policy *p, const char *key, const char *v, char *err,
		      size_t errlen)
{
	bool deny = !strncmp(key, "restrict-", 9);
	char uuid[MDG_UUID_LEN];
	struct mdg_dev_id id;

	if (mdg_devid_parse(v, &id)) {
		bad_value(err, errlen, key, v,
			  "an mdev's UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx) or a vGPU function's PCI address (DDDD:BB:SS.F)");
		return -EINVAL;
	}
	mdg_uuid_format(&id, uuid);
	if (deny)
		return list_move(&p->restrict_devices, &p->allow_devices, uuid, err, errlen);
	return list_move(&p->allow_devices, &p->restrict_devices, uuid, err, errlen);
}

/* A selector kept as written once it parses; the service turns it into the kernel side's. */
static int set_vgpu_function(struct mdg_policy *p, const char *key, const char *v, char *err,
			     size_t errlen)
{
	struct mdg_selector sel;
	char why[160];

	if (mdg_selector_parse(v, &sel, why, sizeof(why))) {
		mdg_set_err(err, errlen, "%s: %s", key, why);
		return -EINVAL;
	}
	if (p->vgpu_functions.n >= MDG_MAX_POLICY_SELECTORS &&
	    !mdg_strlist_has(&p->vgpu_functions, v)) {
		mdg_set_err(err, errlen, "%s: at most %d selectors", key, MDG_MAX_POLICY_SELECTORS);
		return -EINVAL;
	}
	if (mdg_strlist_add(&p->vgpu_functions, v)) {
		mdg_set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* Whether type is one of the comma-separated names of list. */
static bool in_class(const char *list, const char *type)
{
	size_t n = strlen(type);
	const char *c;

	for (c = list; c; c = strchr(c, ',')) {
		c += *c == ',';
		if (!strncmp(c, type, n) && (c[n] == ',' || !c[n]))
			return true;
	}
	return false;
}

unsigned int mdg_policy_class(const struct mdg_policy *p, const char *type)
{
	size_t i;

	for (i = 0; i < p->compatible.n; i++) {
		if (in_class(p->compatible.v[i], type))
			return (unsigned int)i + 1;
	}
	return 0;
}

#define CLASS_WORDS \
	"two or more type names, comma-separated (each 1 to 63 characters, no '/', no spaces)"

/*
 * A compatibility class: two or more type names, comma-separated, kept as "a,b,c". A type is in
 * one class at most: a second would make the rule depend on which the kernel side looked at.
 */
static int set_compatible(struct mdg_policy *p, const char *key, const char *v, char *err,
			  size_t errlen)
{
	char *copy, *tok, *save, *out;
	size_t n = 0, len = 0, size = strlen(v) + 1;
	unsigned int k;
	int ret = -EINVAL;

	copy = strdup(v);
	out = calloc(1, size);
	if (!copy || !out) {
		mdg_set_err(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		tok = mdg_config_skip_space(tok);
		mdg_config_trim_end(tok);
		if (!valid_type(tok)) {
			bad_value(err, errlen, key, v, CLASS_WORDS);
			goto out;
		}
		k = mdg_policy_class(p, tok);
		if (k) {
			mdg_set_err(err, errlen, "%s: type %s is already in the class %s", key, tok,
				    p->compatible.v[k - 1]);
			goto out;
		}
		if (in_class(out, tok))
			continue;	/* twice in this class: once is enough */
		/* no longer than v: its names, fewer blanks, fewer commas */
		len += (size_t)snprintf(out + len, size - len, "%s%s", n ? "," : "", tok);
		n++;
	}
	if (n < 2) {
		bad_value(err, errlen, key, v, CLASS_WORDS);
		goto out;
	}
	if (p->compatible.n >= MDG_MAX_CLASSES) {
		mdg_set_err(err, errlen, "%s: at most %d classes", key, MDG_MAX_CLASSES);
		goto out;
	}
	ret = mdg_strlist_add(&p->compatible, out);
	if (ret)
		mdg_set_err(err, errlen, "out of memory");
out:
	free(copy);
	free(out);
	return ret;
}

static int set_broker(struct mdg_policy *p, const char *key, const char *v, char *err,
		      size_t errlen)
{
	if (v[0] != '/' || strlen(v) >= PATH_MAX) {
		bad_value(err, errlen, key, v, "an absolute path to an executable");
		return -EINVAL;
	}
	if (mdg_strlist_add(&p->brokers, v)) {
		mdg_set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static const struct {
	const char *key;
	set_fn set;
	bool flag;		/* may be given without a value */
} keys[] = {
	{ "mode", set_mode, false },
	{ "audit", set_audit, true },
	{ "absent", set_absent, false },
	{ "restrict-type", set_type, false },
	{ "allow-type", set_type, false },
	{ "restrict-device", set_device, false },
	{ "allow-device", set_device, false },
	{ "broker", set_broker, false },
	{ "vgpu-function", set_vgpu_function, false },
	{ "compatible", set_compatible, false },
	{ "errno", set_errno, false },
};

int mdg_policy_key(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!strcmp(keys[i].key, key))
			return (int)i;
	}
	return -1;
}

int mdg_policy_set(struct mdg_policy *p, const char *key, const char *value, char *err,
		   size_t errlen)
{
	char q[MDG_CONFIG_QUOTE_MAX * 4 + 8];
	int k;

	if (!p || !key) {
		mdg_set_err(err, errlen, "no setting given");
		return -EINVAL;
	}
	k = mdg_policy_key(key);
	if (k < 0) {
		mdg_set_err(err, errlen, "unknown key '%s'", mdg_config_quote(key, q, sizeof(q)));
		return -EINVAL;
	}
	if (!value && !keys[k].flag) {
		mdg_set_err(err, errlen, "missing value for %s", key);
		return -EINVAL;
	}
	return keys[k].set(p, keys[k].key, value, err, errlen);
}

bool mdg_config_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

char *mdg_config_skip_space(char *s)
{
	while (mdg_config_is_space(*s))
		s++;
	return s;
}

void mdg_config_trim_end(char *s)
{
	size_t len = strlen(s);

	while (len && mdg_config_is_space(s[len - 1]))
		s[--len] = '\0';
}
