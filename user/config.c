// SPDX-License-Identifier: GPL-2.0
/*
 * Policy settings from the command line and the configuration file (SPEC §8).
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
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>

#include "log.h"
#include "config.h"
#include "vgpufn.h"
#include "uuid.h"

#define QUOTE_MAX 64	/* characters of a bad value repeated in an error */

/* A value as an error shows it: control bytes escaped, long values cut with "...". */
static const char *quote(const char *s, char *buf, size_t size)
{
	size_t pos = 0, n = 0;

	for (; *s && pos + 5 < size; s++, n++) {
		unsigned char c = (unsigned char)*s;

		if (n == QUOTE_MAX)
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
	char q[QUOTE_MAX * 4 + 8];

	mdg_set_err(err, errlen, "bad value '%s' for %s: expected %s", quote(value, q, sizeof(q)), key,
		expected);
}

static void strlist_free(struct mdg_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static bool strlist_has(const struct mdg_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (!strcmp(l->v[i], s))
			return true;
	}
	return false;
}

static int strlist_add(struct mdg_strlist *l, const char *s)
{
	char **v, *dup;

	if (strlist_has(l, s))
		return 0;
	dup = strdup(s);
	if (!dup)
		return -ENOMEM;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v) {
		free(dup);
		return -ENOMEM;
	}
	v[l->n++] = dup;
	l->v = v;
	return 0;
}

static void strlist_del(struct mdg_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (strcmp(l->v[i], s) != 0)
			continue;
		free(l->v[i]);
		memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
		l->n--;
		return;
	}
}

static int strlist_copy(struct mdg_strlist *dst, const struct mdg_strlist *src)
{
	size_t i;
	int ret;

	dst->v = NULL;
	dst->n = 0;
	for (i = 0; i < src->n; i++) {
		ret = strlist_add(dst, src->v[i]);
		if (ret)
			return ret;
	}
	return 0;
}

void mdg_policy_init(struct mdg_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->mode = MDG_MODE_EXCLUSIVE;
	p->deny_errno = EPERM;
}

void mdg_policy_free(struct mdg_policy *p)
{
	if (!p)
		return;
	strlist_free(&p->restrict_types);
	strlist_free(&p->allow_types);
	strlist_free(&p->restrict_devices);
	strlist_free(&p->allow_devices);
	strlist_free(&p->brokers);
	strlist_free(&p->vgpu_functions);
	strlist_free(&p->compatible);
	mdg_policy_init(p);
}

static int policy_copy(struct mdg_policy *dst, const struct mdg_policy *src)
{
	int ret;

	*dst = *src;
	dst->restrict_types = dst->allow_types = (struct mdg_strlist){ 0 };
	dst->restrict_devices = dst->allow_devices = dst->brokers = (struct mdg_strlist){ 0 };
	dst->vgpu_functions = dst->compatible = (struct mdg_strlist){ 0 };
	ret = strlist_copy(&dst->restrict_types, &src->restrict_types);
	if (!ret)
		ret = strlist_copy(&dst->allow_types, &src->allow_types);
	if (!ret)
		ret = strlist_copy(&dst->restrict_devices, &src->restrict_devices);
	if (!ret)
		ret = strlist_copy(&dst->allow_devices, &src->allow_devices);
	if (!ret)
		ret = strlist_copy(&dst->brokers, &src->brokers);
	if (!ret)
		ret = strlist_copy(&dst->vgpu_functions, &src->vgpu_functions);
	if (!ret)
		ret = strlist_copy(&dst->compatible, &src->compatible);
	if (ret)
		mdg_policy_free(dst);
	return ret;
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
	if (strlist_add(to, s)) {
		mdg_set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	strlist_del(from, s);
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
	if (p->vgpu_functions.n >= MDG_MAX_POLICY_SELECTORS && !strlist_has(&p->vgpu_functions, v)) {
		mdg_set_err(err, errlen, "%s: at most %d selectors", key, MDG_MAX_POLICY_SELECTORS);
		return -EINVAL;
	}
	if (strlist_add(&p->vgpu_functions, v)) {
		mdg_set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static char *skip_space(char *s);
static void trim_end(char *s);

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
		tok = skip_space(tok);
		trim_end(tok);
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
	ret = strlist_add(&p->compatible, out);
	if (ret)
		mdg_set_err(err, errlen, "out of memory");
out:
	free(copy);
	free(out);
	return ret;
}

size_t mdg_policy_selectors(const struct mdg_policy *p, struct mdg_selector *sel)
{
	char err[256];
	size_t i, n = 0;

	for (i = 0; i < p->vgpu_functions.n && n < MDG_MAX_POLICY_SELECTORS; i++) {
		if (!mdg_selector_parse(p->vgpu_functions.v[i], &sel[n], err, sizeof(err)))
			n++;
	}
	return n;
}

static int set_broker(struct mdg_policy *p, const char *key, const char *v, char *err,
		      size_t errlen)
{
	if (v[0] != '/' || strlen(v) >= PATH_MAX) {
		bad_value(err, errlen, key, v, "an absolute path to an executable");
		return -EINVAL;
	}
	if (strlist_add(&p->brokers, v)) {
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

static int find_key(const char *key)
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
	char q[QUOTE_MAX * 4 + 8];
	int k;

	if (!p || !key) {
		mdg_set_err(err, errlen, "no setting given");
		return -EINVAL;
	}
	k = find_key(key);
	if (k < 0) {
		mdg_set_err(err, errlen, "unknown key '%s'", quote(key, q, sizeof(q)));
		return -EINVAL;
	}
	if (!value && !keys[k].flag) {
		mdg_set_err(err, errlen, "missing value for %s", key);
		return -EINVAL;
	}
	return keys[k].set(p, keys[k].key, value, err, errlen);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static char *skip_space(char *s)
{
	while (is_space(*s))
		s++;
	return s;
}

static void trim_end(char *s)
{
	size_t len = strlen(s);

	while (len && is_space(s[len - 1]))
		s[--len] = '\0';
}

/* Cuts a comment: '#' at the start of the value or after whitespace. */
static void cut_comment(char *v)
{
	size_t i;

	for (i = 0; v[i]; i++) {
		if (v[i] == '#' && (i == 0 || is_space(v[i - 1]))) {
			v[i] = '\0';
			return;
		}
	}
}

/* One line, without its newline; a reason without location in err on error. */
static int parse_line(struct mdg_policy *p, char *line, char *err, size_t errlen)
{
	char q[QUOTE_MAX * 4 + 8];
	char *key, *eq, *value;

	key = skip_space(line);
	if (!*key || *key == '#')
		return 0;
	eq = strchr(key, '=');
	if (!eq) {
		cut_comment(key);
		trim_end(key);
		mdg_set_err(err, errlen, "missing '=' after '%s' (expected key = value)",
			quote(key, q, sizeof(q)));
		return -EINVAL;
	}
	*eq = '\0';
	trim_end(key);
	if (!*key) {
		mdg_set_err(err, errlen, "missing key before '='");
		return -EINVAL;
	}
	if (find_key(key) < 0) {
		mdg_set_err(err, errlen, "unknown key '%s'", quote(key, q, sizeof(q)));
		return -EINVAL;
	}
	value = skip_space(eq + 1);
	cut_comment(value);
	trim_end(value);
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

	ret = policy_copy(&tmp, p);
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

int mdg_policy_build(struct mdg_policy *p, const char *path, const struct mdg_setting *settings,
		     size_t nr_settings, char *err, size_t errlen)
{
	struct mdg_policy next;
	char why[512];
	size_t i;
	int ret = 0;

	mdg_policy_init(&next);
	if (!path && access(MDG_DEFAULT_CONFIG, F_OK) == 0)
		path = MDG_DEFAULT_CONFIG;
	if (path)
		ret = mdg_policy_load_file(&next, path, err, errlen);
	for (i = 0; !ret && i < nr_settings; i++) {
		ret = mdg_policy_set(&next, settings[i].key, settings[i].value, why, sizeof(why));
		if (ret)
			mdg_set_err(err, errlen, "--%s: %s", settings[i].key, why);
	}
	if (ret) {
		mdg_policy_free(&next);
		return ret;
	}
	mdg_policy_free(p);
	*p = next;
	return 0;
}

static bool has_case(const struct mdg_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (!strcasecmp(l->v[i], s))
			return true;
	}
	return false;
}

bool mdg_policy_type_restricted(const struct mdg_policy *p, const char *type, enum mdg_attr attr,
				enum mdg_reason *reason)
{
	enum mdg_reason why;
	bool restricted;

	if (strlist_has(&p->allow_types, type) || strlist_has(&p->restrict_types, type)) {
		why = MDG_REASON_TYPE_OVERRIDE;
		restricted = !strlist_has(&p->allow_types, type);
	} else if (attr == MDG_ATTR_YES) {
		why = MDG_REASON_SYSFS_Y;
		restricted = true;
	} else if (attr == MDG_ATTR_NO) {
		why = MDG_REASON_SYSFS_N;
		restricted = false;
	} else if (attr == MDG_ATTR_ABSENT) {
		why = MDG_REASON_ABSENT;
		restricted = p->absent_restricted;
	} else {
		why = MDG_REASON_MALFORMED;
		restricted = true;
	}
	if (reason)
		*reason = why;
	return restricted;
}

bool mdg_policy_restricted(const struct mdg_policy *p, const struct mdg_sysfs_dev *d,
			   enum mdg_reason *reason)
{
	if (has_case(&p->allow_devices, d->uuid) || has_case(&p->restrict_devices, d->uuid)) {
		if (reason)
			*reason = MDG_REASON_DEVICE_OVERRIDE;
		return !has_case(&p->allow_devices, d->uuid);
	}
	return mdg_policy_type_restricted(p, d->type, d->attr, reason);
}
