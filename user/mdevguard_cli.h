/* SPDX-License-Identifier: GPL-2.0 */
/* Options of the subcommands, and the entry points main() dispatches to. */
#ifndef MDG_CLI_H
#define MDG_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define MDG_DEFAULT_PIN_DIR "/sys/fs/bpf/mdevguard"
#define MDG_DEFAULT_SYSFS "/sys"

enum mdg_log_format {
	MDG_LOG_TEXT = 0,
	MDG_LOG_JSON,
};

struct mdg_opts {
	struct mdg_policy policy;
	struct mdg_setting *settings;
	size_t nr_settings;
	const char *config;		/* NULL: MDG_DEFAULT_CONFIG if it exists */
	const char *pin_dir;
	const char *sysfs;
	const char *metrics_file;
	enum mdg_log_format log_format;
	bool json;
	bool unload_on_exit;
	bool log_allow;
	unsigned int rescan_s;
};

/* Builds o->policy from the config file and the command-line settings; 0 or -errno. */
int mdg_opts_load_policy(struct mdg_opts *o);

int mdg_cmd_run(struct mdg_opts *o);
int mdg_cmd_status(struct mdg_opts *o);
int mdg_cmd_unload(struct mdg_opts *o);
int mdg_cmd_list(struct mdg_opts *o);
int mdg_cmd_check(struct mdg_opts *o, char **uuids, int nr);

/* Pin names under the pin dir. */
#define MDG_PIN_CONFIG "config"
#define MDG_PIN_DEVICES "devices"
#define MDG_PIN_TYPES "types"
#define MDG_PIN_OVERRIDES "overrides"
#define MDG_PIN_HOLDERS "holders"
#define MDG_PIN_FILES "files"
#define MDG_PIN_STATS "stats"

/* Removes everything mdevguard pinned under dir; 0 or -errno. */
int mdg_unpin_all(const char *dir);

/* Sum of the per-CPU counters of the stats map; 0 or -errno. */
int mdg_stats_read(int fd, struct mdg_stats *sum);
/* Entries of a hash map, by walking its keys. */
size_t mdg_map_count(int fd, size_t key_size);

const char *mdg_rule_name(unsigned int rule);
const char *mdg_action_name(unsigned int action);

#endif
