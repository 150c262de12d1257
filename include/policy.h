/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rule of single_usage_restriction, in one place. The BPF program calls it under the
 * holder's spin lock, `mdevguard check` calls it to answer preflight questions, and the unit
 * tests run it over every held set. It must therefore stay free of helper calls, of function
 * calls that are not inlined, and of loops the verifier cannot bound.
 */
#ifndef MDG_POLICY_H
#define MDG_POLICY_H

#include "mdevguard.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* The device a process asks for. */
struct mdg_request {
	struct mdg_dev_id id;
	__u64 type_hash;
	__u8 restricted;
};

static __always_inline int mdg_same_dev(const struct mdg_dev_id *a, const struct mdg_dev_id *b)
{
	return a->hi == b->hi && a->lo == b->lo;
}

/*
 * SPEC §3. exclusive: reopen -> allow; nothing held -> allow; requested or held device
 * restricted -> deny; otherwise allow. per-type: at most one restricted device of each type.
 * One pass over the held set, so that the verifier walks a single loop.
 */
static __always_inline enum mdg_rule mdg_decide(const struct mdg_held *held, __u32 nr_held,
						const struct mdg_request *req, __u32 mode)
{
	int found = 0, holds_restricted = 0, same_type = 0;
	int i;

	for (i = 0; i < MDG_MAX_HELD; i++) {
		if ((__u32)i >= nr_held)
			break;
		if (mdg_same_dev(&held[i].id, &req->id))
			found = 1;
		if (held[i].restricted) {
			holds_restricted = 1;
			if (held[i].type_hash == req->type_hash)
				same_type = 1;
		}
	}

	if (found)
		return MDG_RULE_REOPEN;
	if (nr_held == 0)
		return MDG_RULE_FIRST;
	if (mode == MDG_MODE_PER_TYPE) {
		if (req->restricted && same_type)
			return MDG_RULE_SAME_TYPE;
	} else {
		if (req->restricted)
			return MDG_RULE_RESTRICTED_DEVICE;
		if (holds_restricted)
			return MDG_RULE_HOLDS_RESTRICTED;
	}
	if (nr_held >= MDG_MAX_HELD)
		return MDG_RULE_TOO_MANY;
	return mode == MDG_MODE_PER_TYPE ? MDG_RULE_TYPE_FREE : MDG_RULE_UNRESTRICTED;
}

static __always_inline int mdg_rule_allows(enum mdg_rule rule)
{
	return rule == MDG_RULE_REOPEN || rule == MDG_RULE_FIRST ||
	       rule == MDG_RULE_UNRESTRICTED || rule == MDG_RULE_TYPE_FREE;
}

/* Audit turns a deny into an allow that is still reported. */
static __always_inline enum mdg_action mdg_action(enum mdg_rule rule, __u32 audit)
{
	if (mdg_rule_allows(rule))
		return MDG_ACT_ALLOW;
	return audit ? MDG_ACT_AUDIT : MDG_ACT_DENY;
}

#endif /* MDG_POLICY_H */
