// SPDX-License-Identifier: GPL-2.0
/* The names of the enums of include/mdevguard.h, as logs, status and the command line spell them. */
#include <errno.h>
#include <string.h>

#include "names.h"

static const char *const rule_names[MDG_RULE_MAX] = {
	[MDG_RULE_NONE] = "none",
	[MDG_RULE_REOPEN] = "reopen",
	[MDG_RULE_FIRST] = "first",
	[MDG_RULE_UNRESTRICTED] = "unrestricted",
	[MDG_RULE_TYPE_FREE] = "type-free",
	[MDG_RULE_RESTRICTED_DEVICE] = "restricted-device",
	[MDG_RULE_HOLDS_RESTRICTED] = "holds-restricted",
	[MDG_RULE_SAME_TYPE] = "same-type",
	[MDG_RULE_TOO_MANY] = "too-many",
	[MDG_RULE_NO_MEMORY] = "no-memory",
	[MDG_RULE_BINDER] = "binder",
	[MDG_RULE_SHARED_MEMORY] = "shared-memory",
	[MDG_RULE_UNSETTLED] = "unsettled",
	[MDG_RULE_COMPATIBLE] = "compatible",
};

const char *mdg_rule_name(unsigned int rule)
{
	return rule < MDG_RULE_MAX ? rule_names[rule] : "unknown";
}

static const char *const hook_names[MDG_HOOK_MAX] = {
	[MDG_HOOK_OPEN] = "open",
	[MDG_HOOK_RECEIVE] = "receive",
	[MDG_HOOK_IOCTL] = "ioctl",
	[MDG_HOOK_IO] = "io",
	[MDG_HOOK_MMAP] = "mmap",
	[MDG_HOOK_BINDER] = "binder",
	[MDG_HOOK_FORK] = "fork",
};

const char *mdg_hook_name(unsigned int hook)
{
	return hook < MDG_HOOK_MAX ? hook_names[hook] : "unknown";
}

const char *mdg_action_name(unsigned int action)
{
	switch (action) {
	case MDG_ACT_ALLOW:
		return "allow";
	case MDG_ACT_DENY:
		return "deny";
	case MDG_ACT_AUDIT:
		return "would-deny";
	default:
		return "unknown";
	}
}

const char *mdg_mode_name(enum mdg_mode m)
{
	switch (m) {
	case MDG_MODE_EXCLUSIVE:
		return "exclusive";
	case MDG_MODE_PER_TYPE:
		return "per-type";
	}
	return "unknown";
}

static const struct {
	const char *name;
	int value;
} errnos[] = {
	{ "EPERM", EPERM },
	{ "EACCES", EACCES },
	{ "EBUSY", EBUSY },
};

const char *mdg_errno_name(int e)
{
	size_t i;

	for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++) {
		if (errnos[i].value == e)
			return errnos[i].name;
	}
	return "unknown";
}

int mdg_errno_parse(const char *s, int *e)
{
	size_t i;

	for (i = 0; s && i < sizeof(errnos) / sizeof(errnos[0]); i++) {
		if (!strcmp(errnos[i].name, s)) {
			*e = errnos[i].value;
			return 0;
		}
	}
	return -EINVAL;
}

const char *mdg_reason_name(enum mdg_reason r)
{
	switch (r) {
	case MDG_REASON_SYSFS_Y:
		return "sysfs-Y";
	case MDG_REASON_SYSFS_N:
		return "sysfs-N";
	case MDG_REASON_ABSENT:
		return "absent-default";
	case MDG_REASON_MALFORMED:
		return "malformed";
	case MDG_REASON_TYPE_OVERRIDE:
		return "type-override";
	case MDG_REASON_DEVICE_OVERRIDE:
		return "device-override";
	case MDG_REASON_UNKNOWN_TYPE:
		return "unknown-type";
	}
	return "unknown";
}
