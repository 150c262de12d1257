/* SPDX-License-Identifier: GPL-2.0 */
/* The commands: their options, and the entry points main() dispatches to. */
#ifndef MDG_CLI_H
#define MDG_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "events.h"
#include "mdevctl.h"
#include "pin.h"

#define MDG_DEFAULT_SYSFS "/sys"

struct mdg_opts {
	struct mdg_policy policy;
	struct mdg_setting *settings;	/* policy options of the command line, in order */
	size_t nr_settings;
	const char *config;		/* NULL: MDG_DEFAULT_CONFIG if it exists */
	const char *pin_dir;
	const char *sysfs;
	const char *domain_xml;		/* check --domain-xml: a path or "-" */
	const char *mdevctl_dir;	/* check: where mdevctl keeps definitions */
	const char *metrics_file;
	enum mdg_log_format log_format;
	bool json;
	bool unload_on_exit;
	bool log_allow;
	bool verbose;
	unsigned int rescan_s;
};

/* Builds o->policy from the config file and the command-line settings; 0 or -errno. */
int mdg_opts_load_policy(struct mdg_opts *o);

int mdg_cmd_run(struct mdg_opts *o, int argc, char **argv);
int mdg_cmd_status(struct mdg_opts *o, int argc, char **argv);
int mdg_cmd_unload(struct mdg_opts *o, int argc, char **argv);
int mdg_cmd_list(struct mdg_opts *o, int argc, char **argv);
/* Loads the policy itself when given --domain-xml (main() does not): see check.c. */
int mdg_cmd_check(struct mdg_opts *o, int nr, char **uuids);

#endif
