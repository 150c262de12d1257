// SPDX-License-Identifier: GPL-2.0
/* mdevguard: command line (SPEC §8). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"

enum {
	OPT_POLICY = 1 << 0,	/* --mode --audit ... */
	OPT_CONFIG = 1 << 1,
	OPT_PIN = 1 << 2,
	OPT_SYSFS = 1 << 3,
	OPT_JSON = 1 << 4,
	OPT_RUN = 1 << 5,	/* --log-format --metrics-file --unload-on-exit --log-allow */
	OPT_ANY = 1 << 6,	/* --verbose */
	OPT_CHECK = 1 << 7,	/* --domain-xml */
	OPT_MDEVCTL = 1 << 8,	/* --mdevctl-dir */
};

/* A command: its name, the options it takes, its help, and what runs it. */
/* NOLINTNEXTLINE(clang-analyzer-optin.performance.Padding): six entries, in reading order */
struct cmd {
	const char *name;
	unsigned int opts;
	const char *usage;
	int (*fn)(struct mdg_opts *o, int argc, char **argv);
	bool operands;		/* takes arguments after its options (check's UUIDs) */
};

#define POLICY_USAGE \
	"Policy options (repeatable where it makes sense; they win over the config file):\n" \
	"  --mode exclusive|per-type   exclusive: a process holding a restricted device holds\n" \
	"                              no other mdev; per-type: one device per restricted type\n" \
	"  --audit                     report would-be denials, deny nothing\n" \
	"  --absent restricted|unrestricted\n" \
	"                              types without the attribute (default unrestricted)\n" \
	"  --restrict-type TYPE, --allow-type TYPE\n" \
	"  --restrict-device DEVICE, --allow-device DEVICE\n" \
	"                              operator overrides, beating sysfs: an mdev's UUID or\n" \
	"                              a vGPU function's PCI address\n" \
	"  --vgpu-function SELECTOR    PCI functions under the rule besides those a vendor's\n" \
	"                              driver types: VENDOR:DEVICE or VENDOR:* (hex), a PCI\n" \
	"                              address, or driver=NAME; their type is VENDOR:DEVICE\n" \
	"  --compatible TYPE,TYPE...   a compatibility class: devices of these types may be held\n" \
	"                              together, restricted or not (one board and series)\n" \
	"  --broker PATH               ignored (kept for old configurations): a process that\n" \
	"                              never uses a device holds nothing\n" \
	"  --errno EPERM|EACCES|EBUSY  errno of a denied open (default EPERM)\n" \
	"  --config FILE               default " MDG_DEFAULT_CONFIG " if it exists\n"

static const struct cmd cmds[] = {
	{ "run", OPT_POLICY | OPT_CONFIG | OPT_PIN | OPT_SYSFS | OPT_RUN,
	  "Usage: mdevguard run [policy options] [--config FILE] [--pin-dir DIR] [--sysfs DIR]\n"
	  "                     [--log-format text|json] [--log-allow] [--metrics-file FILE]\n"
	  "                     [--rescan-interval SECONDS] [--unload-on-exit] [--verbose]\n"
	  "\n"
	  "Loads the BPF LSM programs, pins them and their maps under the pin dir (default\n"
	  MDG_DEFAULT_PIN_DIR "), fills the device and type maps from sysfs, reports ready and\n"
	  "then prints one line per denial. Needs root (CAP_BPF, CAP_SYS_ADMIN, CAP_MAC_ADMIN),\n"
	  "a kernel booted with bpf in its lsm= list and the vfio and mdev modules loaded.\n"
	  "Enforcement stays in place when the service exits unless --unload-on-exit is given.\n"
	  "SIGHUP reloads the configuration and rescans sysfs; SIGTERM exits. --verbose adds\n"
	  "libbpf's debug messages; with --log-format json every message is a JSON line.\n\n"
	  POLICY_USAGE, mdg_cmd_run },
	{ "status", OPT_PIN | OPT_JSON,
	  "Usage: mdevguard status [--json] [--pin-dir DIR]\n"
	  "\n"
	  "Shows what the kernel side knows: mode, devices, holders, counters, map memory.\n"
	  "Exit status: 0 enforcing with the device map filled, 1 loaded but not ready or an\n"
	  "error, 3 not loaded.\n", mdg_cmd_status },
	{ "list", OPT_POLICY | OPT_CONFIG | OPT_SYSFS | OPT_JSON | OPT_MDEVCTL,
	  "Usage: mdevguard list [--json] [--sysfs DIR] [--mdevctl-dir DIR] [policy options]\n"
	  "                      [--config FILE]\n"
	  "\n"
	  "Shows what sysfs says: mdev types, their single_usage_restriction attribute, and\n"
	  "devices with their nodes; PCI functions under the rule, those a vendor's driver types\n"
	  "and those the configuration's or the command line's --vgpu-function selectors name;\n"
	  "and the devices mdevctl has defined but not started (DIR default " MDG_DEFAULT_MDEVCTL_DIR "),\n"
	  "with the attribute of their type.\n"
	  "Needs no privileges.\n\n"
	  POLICY_USAGE, mdg_cmd_list },
	{ "check", OPT_POLICY | OPT_CONFIG | OPT_SYSFS | OPT_JSON | OPT_CHECK | OPT_MDEVCTL,
	  "Usage: mdevguard check [policy options] [--config FILE] [--sysfs DIR]\n"
	  "                       [--mdevctl-dir DIR] [--json] UUID...\n"
	  "       mdevguard check [same options] --domain-xml FILE|-\n"
	  "\n"
	  "Tells whether one process may hold these devices together under the policy.\n"
	  "--domain-xml reads a libvirt domain XML (- for standard input) and checks the UUIDs of\n"
	  "its <hostdev mode='subsystem' type='mdev'> devices in document order; a domain without\n"
	  "them passes. A UUID that sysfs does not show but mdevctl has defined (DIR/<parent>/\n"
	  "<uuid>, DIR default " MDG_DEFAULT_MDEVCTL_DIR ") is checked as its type will be once\n"
	  "started.\n"
	  "Exit status: 0 allowed together, 1 not (the reason is printed), 2 bad input.\n\n"
	  POLICY_USAGE, mdg_cmd_check, true },
	{ "unload", OPT_PIN,
	  "Usage: mdevguard unload [--pin-dir DIR]\n"
	  "\n"
	  "Detaches the programs and removes everything mdevguard pinned under the pin dir.\n",
	  mdg_cmd_unload },
};

static const char *main_usage =
	"Usage: mdevguard COMMAND [options]\n"
	"\n"
	"Enforces the single_usage_restriction of mediated devices (mdev) for every process\n"
	"on the host with a BPF LSM program.\n"
	"\n"
	"Commands:\n"
	"  run      the service: load, pin, follow sysfs, log decisions\n"
	"  status   what the kernel side enforces and who holds what\n"
	"  list     mdev types and devices as sysfs shows them\n"
	"  check    may one process hold these devices together?\n"
	"  unload   remove enforcement and everything pinned\n"
	"\n"
	"'mdevguard COMMAND --help' describes each command.\n";

enum {
	LO_MODE = 256, LO_AUDIT, LO_ABSENT, LO_RESTRICT_TYPE, LO_ALLOW_TYPE, LO_RESTRICT_DEVICE,
	LO_ALLOW_DEVICE, LO_BROKER, LO_VGPU_FUNCTION, LO_COMPATIBLE, LO_ERRNO, LO_CONFIG,
	LO_PIN_DIR, LO_SYSFS, LO_JSON,
	LO_LOG_FORMAT, LO_LOG_ALLOW, LO_METRICS, LO_UNLOAD, LO_RESCAN, LO_VERBOSE, LO_DOMAIN_XML,
	LO_MDEVCTL_DIR, LO_HELP,
};

static const struct option long_opts[] = {
	{ "mode", required_argument, NULL, LO_MODE },
	{ "audit", no_argument, NULL, LO_AUDIT },
	{ "absent", required_argument, NULL, LO_ABSENT },
	{ "restrict-type", required_argument, NULL, LO_RESTRICT_TYPE },
	{ "allow-type", required_argument, NULL, LO_ALLOW_TYPE },
	{ "restrict-device", required_argument, NULL, LO_RESTRICT_DEVICE },
	{ "allow-device", required_argument, NULL, LO_ALLOW_DEVICE },
	{ "broker", required_argument, NULL, LO_BROKER },
	{ "vgpu-function", required_argument, NULL, LO_VGPU_FUNCTION },
	{ "compatible", required_argument, NULL, LO_COMPATIBLE },
	{ "errno", required_argument, NULL, LO_ERRNO },
	{ "config", required_argument, NULL, LO_CONFIG },
	{ "pin-dir", required_argument, NULL, LO_PIN_DIR },
	{ "sysfs", required_argument, NULL, LO_SYSFS },
	{ "json", no_argument, NULL, LO_JSON },
	{ "log-format", required_argument, NULL, LO_LOG_FORMAT },
	{ "log-allow", no_argument, NULL, LO_LOG_ALLOW },
	{ "metrics-file", required_argument, NULL, LO_METRICS },
	{ "unload-on-exit", no_argument, NULL, LO_UNLOAD },
	{ "rescan-interval", required_argument, NULL, LO_RESCAN },
	{ "verbose", no_argument, NULL, LO_VERBOSE },
	{ "domain-xml", required_argument, NULL, LO_DOMAIN_XML },
	{ "mdevctl-dir", required_argument, NULL, LO_MDEVCTL_DIR },
	{ "help", no_argument, NULL, LO_HELP },
	{ NULL, 0, NULL, 0 },
};

static unsigned int opt_class(int c)
{
	if (c >= LO_MODE && c <= LO_ERRNO)
		return OPT_POLICY;
	switch (c) {
	case LO_CONFIG:
		return OPT_CONFIG;
	case LO_PIN_DIR:
		return OPT_PIN;
	case LO_SYSFS:
		return OPT_SYSFS;
	case LO_JSON:
		return OPT_JSON;
	case LO_VERBOSE:
		return OPT_ANY;
	case LO_DOMAIN_XML:
		return OPT_CHECK;
	case LO_MDEVCTL_DIR:
		return OPT_MDEVCTL;
	default:
		return OPT_RUN;
	}
}

static int add_setting(struct mdg_opts *o, const char *key, const char *value)
{
	struct mdg_setting *s;

	s = realloc(o->settings, (o->nr_settings + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	o->settings = s;
	s[o->nr_settings].key = key;
	s[o->nr_settings].value = value;
	o->nr_settings++;
	return 0;
}

int mdg_opts_load_policy(struct mdg_opts *o)
{
	char err[1024];
	int ret;

	ret = mdg_policy_build(&o->policy, o->config, o->settings, o->nr_settings, err,
			       sizeof(err));
	if (ret)
		mdg_err("%s", err);
	return ret;
}

static int parse_uint(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > 86400)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_opts(const struct cmd *cmd, struct mdg_opts *o, int argc, char **argv)
{
	const struct option *lo;
	int c, idx;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", long_opts, &idx)) != -1) {
		if (c == 'h' || c == LO_HELP) {
			fputs(cmd->usage, stdout);
			exit(0);
		}
		if (c == '?' || c == ':') {
			if (optopt >= LO_MODE)
				mdg_err("%s: option '%s' needs a value (see 'mdevguard %s --help')",
					cmd->name, argv[optind - 1], cmd->name);
			else
				mdg_err("%s: unknown option '%s' (see 'mdevguard %s --help')",
					cmd->name, argv[optind - 1], cmd->name);
			return -EINVAL;
		}
		lo = &long_opts[idx];
		/* argv[optind - 1] would be the value of "--mode per-type": name the option. */
		if (!(opt_class(c) & (cmd->opts | OPT_ANY))) {
			mdg_err("%s: option '--%s' does not apply to this command (see 'mdevguard %s --help')",
				cmd->name, lo->name, cmd->name);
			return -EINVAL;
		}
		switch (c) {
		case LO_CONFIG:
			o->config = optarg;
			break;
		case LO_PIN_DIR:
			o->pin_dir = optarg;
			break;
		case LO_SYSFS:
			o->sysfs = optarg;
			break;
		case LO_JSON:
			o->json = true;
			break;
		case LO_DOMAIN_XML:
			o->domain_xml = optarg;
			break;
		case LO_MDEVCTL_DIR:
			o->mdevctl_dir = optarg;
			break;
		case LO_LOG_FORMAT:
			if (!strcmp(optarg, "text")) {
				o->log_format = MDG_LOG_TEXT;
			} else if (!strcmp(optarg, "json")) {
				o->log_format = MDG_LOG_JSON;
			} else {
				mdg_err("%s: bad value '%s' for --log-format: expected text or json",
					cmd->name, optarg);
				return -EINVAL;
			}
			break;
		case LO_LOG_ALLOW:
			o->log_allow = true;
			break;
		case LO_METRICS:
			o->metrics_file = optarg;
			break;
		case LO_UNLOAD:
			o->unload_on_exit = true;
			break;
		case LO_VERBOSE:
			o->verbose = true;
			break;
		case LO_RESCAN:
			if (parse_uint(optarg, &o->rescan_s) || !o->rescan_s) {
				mdg_err("%s: bad value '%s' for --rescan-interval: expected seconds, 1 to 86400",
					cmd->name, optarg);
				return -EINVAL;
			}
			break;
		default:
			if (add_setting(o, lo->name, optarg))
				return -ENOMEM;
			break;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct mdg_opts o = {
		.pin_dir = MDG_DEFAULT_PIN_DIR,
		.sysfs = MDG_DEFAULT_SYSFS,
		.mdevctl_dir = MDG_DEFAULT_MDEVCTL_DIR,
		.rescan_s = 30,
	};
	const struct cmd *cmd = NULL;
	size_t i;
	int ret;

	if (argc < 2) {
		fputs(main_usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(main_usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("mdevguard %s\n", MDG_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(argv[1], cmds[i].name))
			cmd = &cmds[i];
	}
	if (!cmd) {
		mdg_err("unknown command '%s' (see 'mdevguard --help')", argv[1]);
		return 2;
	}

	mdg_policy_init(&o.policy);
	ret = parse_opts(cmd, &o, argc - 1, argv + 1);
	if (ret) {
		ret = 2;
		goto out;
	}
	mdg_log_setup(o.log_format == MDG_LOG_JSON, o.verbose);
	argc -= optind + 1;
	argv += optind + 1;
	if (!cmd->operands && argc > 0) {
		mdg_err("%s: unexpected argument '%s' (see 'mdevguard %s --help')", cmd->name,
			argv[0], cmd->name);
		ret = 2;
		goto out;
	}
	/*
	 * check --domain-xml reads the domain first and the policy only if the domain has mdev
	 * hostdevs: a broken configuration must not refuse domains it has nothing to say about.
	 */
	if ((cmd->opts & OPT_POLICY) && !o.domain_xml && mdg_opts_load_policy(&o)) {
		ret = 2;
		goto out;
	}
	ret = cmd->fn(&o, argc, argv);
out:
	mdg_policy_free(&o.policy);
	free(o.settings);
	return ret;
}
