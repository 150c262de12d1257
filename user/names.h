/* SPDX-License-Identifier: GPL-2.0 */
/* The names of the enums of include/mdevguard.h, as logs, status and the command line spell them. */
#ifndef MDG_NAMES_H
#define MDG_NAMES_H

#include "mdevguard.h"

const char *mdg_rule_name(unsigned int rule);		/* "reopen", "restricted-device", ... */
const char *mdg_action_name(unsigned int action);	/* "allow", "deny", "would-deny" */
const char *mdg_hook_name(unsigned int hook);		/* "open", "receive", "ioctl", ... */
const char *mdg_mode_name(enum mdg_mode m);		/* "exclusive", "per-type" */
const char *mdg_errno_name(int e);			/* "EPERM", "EACCES", "EBUSY", else "unknown" */
int mdg_errno_parse(const char *s, int *e);		/* those names -> positive errno; -EINVAL */
/* "sysfs-Y", "sysfs-N", "absent-default", "malformed", "type-override", "device-override",
 * "unknown-type" */
const char *mdg_reason_name(enum mdg_reason r);

#endif
