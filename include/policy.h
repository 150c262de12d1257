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
	__u32 compat;			/* its type's compatibility class, 0 for none */
	__u8 restricted;
};

static __always_inline int mdg_same_dev(const struct mdg_dev_id *a, const struct mdg_dev_id *b)
{
	return a->hi == b->hi && a->lo == b->lo;
}

/*
 * What one pass over the held set found, kept in memory the caller provides: in BPF a map
 * value, whose contents the verifier does not follow, so that each iteration's branches meet
 * again at once instead of carrying one constant per combination through the rest of the loop
 * (which multiplied the cost of verifying it by the combinations).
 */
static __always_inline void mdg_tally(const struct mdg_held *held, __u32 nr_held,
				      const struct mdg_request *req, struct mdg_tally *t)
{
	/* volatile: or the compiler keeps the three flags in registers after all */
	volatile struct mdg_tally *v = t;
	int i;

	v->found = v->holds_restricted = v->same_type = v->other_class = 0;
	for (i = 0; i < MDG_MAX_HELD; i++) {
		if ((__u32)i >= nr_held)
			break;
		/* one test where mdg_same_dev() makes two: fewer paths per iteration */
		if (!((held[i].id.hi ^ req->id.hi) | (held[i].id.lo ^ req->id.lo)))
			v->found = 1;
		v->holds_restricted |= held[i].restricted;
		if (held[i].restricted && held[i].type_hash == req->type_hash)
			v->same_type = 1;
		/* nonzero once any held device is of another class: no branch, no register */
		v->other_class |= held[i].compat ^ req->compat;
	}
}

/*
 * SPEC §3. exclusive: reopen -> allow; nothing held -> allow; requested or held device
 * restricted -> deny; otherwise allow. per-type: at most one restricted device of each type.
 * In either mode, devices whose types are all in one compatibility class the operator named
 * may be held together, restricted or not (NVIDIA: one board and series).
 */
static __always_inline enum mdg_rule mdg_rule_of(const struct mdg_tally *t, __u32 nr_held,
						 const struct mdg_request *req, __u32 mode)
{
	if (t->found)
		return MDG_RULE_REOPEN;
	if (nr_held == 0)
		return MDG_RULE_FIRST;
	if (req->compat && !t->other_class)
		return nr_held >= MDG_MAX_HELD ? MDG_RULE_TOO_MANY : MDG_RULE_COMPATIBLE;
	if (mode == MDG_MODE_PER_TYPE) {
		if (req->restricted && t->same_type)
			return MDG_RULE_SAME_TYPE;
	} else {
		if (req->restricted)
			return MDG_RULE_RESTRICTED_DEVICE;
		if (t->holds_restricted)
			return MDG_RULE_HOLDS_RESTRICTED;
	}
	if (nr_held >= MDG_MAX_HELD)
		return MDG_RULE_TOO_MANY;
	return mode == MDG_MODE_PER_TYPE ? MDG_RULE_TYPE_FREE : MDG_RULE_UNRESTRICTED;
}

/* The rule for a process holding held[0..nr_held) that would come to hold req. */
static __always_inline enum mdg_rule mdg_decide_in(const struct mdg_held *held, __u32 nr_held,
						   const struct mdg_request *req, __u32 mode,
						   struct mdg_tally *t)
{
	mdg_tally(held, nr_held, req, t);
	return mdg_rule_of(t, nr_held, req, mode);
}

static inline enum mdg_rule mdg_decide(const struct mdg_held *held, __u32 nr_held,
				       const struct mdg_request *req, __u32 mode)
{
	struct mdg_tally t;

	return mdg_decide_in(held, nr_held, req, mode, &t);
}

static __always_inline int mdg_rule_allows(enum mdg_rule rule)
{
	return rule == MDG_RULE_REOPEN || rule == MDG_RULE_FIRST ||
	       rule == MDG_RULE_UNRESTRICTED || rule == MDG_RULE_TYPE_FREE ||
	       rule == MDG_RULE_COMPATIBLE;
}

/* Audit turns a deny into an allow that is still reported. */
static __always_inline enum mdg_action mdg_action(enum mdg_rule rule, __u32 audit)
{
	if (mdg_rule_allows(rule))
		return MDG_ACT_ALLOW;
	return audit ? MDG_ACT_AUDIT : MDG_ACT_DENY;
}

#endif /* MDG_POLICY_H */
