/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pin dir: every name mdevguard pins there, in one table, and the checks that keep its
 * removal to what is ours.
 */
#ifndef MDG_PIN_H
#define MDG_PIN_H

#include <stdbool.h>
#include <stddef.h>

#define MDG_DEFAULT_PIN_DIR "/sys/fs/bpf/mdevguard"

enum mdg_pin_kind {
	MDG_PIN_MAP = 0,
	MDG_PIN_LINK_RELEASE,	/* attached before adoption: what ends holdings */
	MDG_PIN_LINK_DECIDE,	/* attached after it: the decisions */
	MDG_PIN_RETIRED,	/* a link earlier builds pinned: removed once its successor is in */
	MDG_PIN_RETIRED_MAP,	/* a map earlier builds pinned and this one does not use */
	MDG_PIN_LINK_WATCH,	/* attached before the first scan: what keeps it current */
};

struct mdg_pin {
	const char *name;	/* file name under the pin dir */
	const char *obj;	/* the map's or the program's name in the BPF object */
	enum mdg_pin_kind kind;
	bool optional;		/* a program the running kernel may not have a hook for */
};

/* Maps first, then links in the order they are attached, then retired pins. */
extern const struct mdg_pin mdg_pins[];
extern const size_t mdg_nr_pins;

/* Pin names the commands read. */
#define MDG_PIN_CONFIG		"config"
/*
 * A replacement link is pinned as <name>_swap and renamed over <name>. Not ".new": bpffs refuses a
 * name with a dot in it (bpf_lookup(), EPERM), keeping dots for its own files.
 */
#define MDG_PIN_NEW_SUFFIX	"_swap"
#define MDG_PIN_DEVICES		"devices"
#define MDG_PIN_TYPES		"types"
#define MDG_PIN_OVERRIDES	"overrides"
#define MDG_PIN_FUNCTIONS	"functions"
#define MDG_PIN_FN_WRITES	"fn_writes"
#define MDG_PIN_HOLDERS		"holders"
#define MDG_PIN_FILES		"files"
#define MDG_PIN_STATS		"stats"
#define MDG_PIN_EVENTS		"events"
#define MDG_PIN_LINK_OPEN	"link_file_open"

int mdg_pin_path(char *buf, size_t len, const char *dir, const char *name);
bool mdg_pinned(const char *dir, const char *name);

/*
 * The pin dir is usable: 0 when it is a directory on bpffs other than the mount's root, -ENOENT
 * when it does not exist, otherwise one error line and a negative errno.
 */
int mdg_pin_dir_check(const char *dir);
/* The same, creating it (mode 0700) under a bpffs mount when it does not exist. */
int mdg_pin_dir_make(const char *dir);
/* Whether a pin dir that exists holds mdevguard's pins (its config) or nothing at all. */
bool mdg_pin_dir_ours(const char *dir);
/* Removes mdevguard's pins from dir, then dir if nothing else is left; 0 or -errno. */
int mdg_unpin_all(const char *dir);

#endif
