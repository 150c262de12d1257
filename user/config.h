/* SPDX-License-Identifier: GPL-2.0 */
/* Policy settings from the command line and the configuration file (SPEC §8). */
#ifndef MDG_CONFIG_H
#define MDG_CONFIG_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>

#include "mdevguard.h"
#include "names.h"
#include "sysfs.h"

struct mdg_strlist {
	char **v;
	size_t n;
};

struct mdg_policy {
	enum mdg_mode mode;		/* default exclusive */
	bool audit;
	bool absent_restricted;		/* --absent restricted|unrestricted, default false */
	int deny_errno;			/* EPERM (default), EACCES or EBUSY */
	struct mdg_strlist restrict_types, allow_types;
	struct mdg_strlist restrict_devices, allow_devices;	/* UUIDs, lower case */
	struct mdg_strlist vgpu_functions;	/* selectors of PCI functions under the rule,
						   as written (vgpufn.h) */
	struct mdg_strlist compatible;	/* compatibility classes, each "type,type,..."; class N
					   is compatible.v[N - 1] */
	struct mdg_strlist brokers;	/* accepted for old configurations, and ignored: a
					   process that never uses a device holds nothing */
};

/* Selectors an operator may give: the kernel side's table also holds the vendors' drivers. */
#define MDG_MAX_POLICY_SELECTORS 4

#define MDG_DEFAULT_CONFIG "/etc/mdevguard/mdevguard.conf"
#define MDG_CONFIG_LINE_MAX 4096	/* characters of one config line, without the newline */

void mdg_policy_init(struct mdg_policy *p);
void mdg_policy_free(struct mdg_policy *p);

/*
 * Applies one setting, key as in the config file without "--" ("mode", "audit",
 * "restrict-type", ...), value NULL for flags given without one ("audit"). For the file,
 * "audit = yes|no|true|false|on|off|1|0". On error returns -EINVAL and writes one sentence
 * (without location) into err.
 * List keys accumulate without duplicates; a later allow-type X takes X out of restrict_types
 * and vice versa (same for devices), so applying the file first and the command line second
 * makes the command line win.
 */
int mdg_policy_set(struct mdg_policy *p, const char *key, const char *value, char *err,
		   size_t errlen);

/*
 * Reads a config file of "key = value" lines, '#' comments, blank lines. On error returns
 * -errno and writes "FILE:LINE: reason" (or "FILE: reason" when it cannot be read) into err.
 * A missing file is -ENOENT. On error p is left as it was (safe for a reload on SIGHUP).
 * Lines are limited to MDG_CONFIG_LINE_MAX characters.
 */
int mdg_policy_load_file(struct mdg_policy *p, const char *path, char *err, size_t errlen);
/* The same from an open stream named name in the errors (the fuzzer feeds it memory). */
int mdg_policy_load_stream(struct mdg_policy *p, FILE *f, const char *name, char *err,
			   size_t errlen);

/* A policy option as given on the command line, replayed over the file on every (re)load. */
struct mdg_setting {
	const char *key;
	const char *value;
};

/*
 * The policy from the configuration file (path, or MDG_DEFAULT_CONFIG if it exists when path is
 * NULL), then the command-line settings over it. Built aside and swapped into p whole: on error
 * p is untouched, so that a reload that fails leaves the policy in force as it was. Returns 0
 * or -errno with "FILE:LINE: reason" or "--KEY: reason" in err.
 */
int mdg_policy_build(struct mdg_policy *p, const char *path, const struct mdg_setting *settings,
		     size_t nr_settings, char *err, size_t errlen);

/* Whether a discovered device is restricted under the policy, and why (enum mdg_reason).
 * Precedence: device override, type override, sysfs Y/N, malformed -> restricted,
 * absent -> absent_restricted. */
bool mdg_policy_restricted(const struct mdg_policy *p, const struct mdg_sysfs_dev *d,
			   enum mdg_reason *reason);
/* The same for a type as a whole, before any device override: what the "types" map holds. */
bool mdg_policy_type_restricted(const struct mdg_policy *p, const char *type, enum mdg_attr attr,
				enum mdg_reason *reason);

/* The compatibility class of a type (1-based, as the kernel side's types hold it), or 0. */
unsigned int mdg_policy_class(const struct mdg_policy *p, const char *type);

/* The vgpu-function selectors, parsed (they were checked when set); how many, at most
 * MDG_MAX_POLICY_SELECTORS. */
size_t mdg_policy_selectors(const struct mdg_policy *p, struct mdg_selector *sel);

int mdg_mode_parse(const char *s, enum mdg_mode *m);	/* names.h's; -EINVAL otherwise */

/*
 * Shared by the parts of the configuration only: config.c (the policy), configkey.c (the option
 * table) and configfile.c (the file's syntax).
 */
#define MDG_CONFIG_QUOTE_MAX 64	/* characters of a bad value repeated in an error */
const char *mdg_config_quote(const char *s, char *buf, size_t size);
bool mdg_config_is_space(char c);
char *mdg_config_skip_space(char *s);
void mdg_config_trim_end(char *s);
/* The option table's index of key, or -1. */
int mdg_policy_key(const char *key);
/* A deep copy of src into dst; 0 or -ENOMEM. */
int mdg_policy_copy(struct mdg_policy *dst, const struct mdg_policy *src);
bool mdg_strlist_has(const struct mdg_strlist *l, const char *s);
int mdg_strlist_add(struct mdg_strlist *l, const char *s);
void mdg_strlist_del(struct mdg_strlist *l, const char *s);

#endif
