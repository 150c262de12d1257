// SPDX-License-Identifier: GPL-2.0
/*
 * Exhaustive check of include/policy.h against SPEC §3.
 *
 * The reference below does not walk the clauses the way mdg_decide() does: it looks at the set
 * of devices the process would hold after the open and asks whether that set is one SPEC §3
 * permits, or (for a set that was already over the limit, as adoption can find it) whether the
 * open makes it worse. A universe of five devices over three types, every restricted flag per
 * device (so that per-device overrides inside a type are covered), every held subset in two
 * orders, every requested device, both modes and audit on and off are compared.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

#define NDEV 5

/* Types of the universe: A = {0, 1}, B = {2, 3}, C = {4}. */
static const char *const dev_type[NDEV] = { "A", "A", "B", "B", "C" };
static const unsigned int dev_type_index[NDEV] = { 0, 0, 1, 1, 2 };

/* The compatibility class of each type (0: none), set by the exhaustive test's outer loop. */
static unsigned int type_class[3];

static unsigned int dev_class(unsigned int i)
{
	return type_class[dev_type_index[i]];
}

static struct mdg_dev_id dev_id(unsigned int i)
{
	/* ids that differ only in hi or only in lo, so both halves are compared */
	struct mdg_dev_id id = { .hi = 0x1000 + (i & 1), .lo = 0x2000 + (i >> 1) };

	return id;
}

static bool in(unsigned int set, unsigned int i)
{
	return set & (1U << i);
}

static unsigned int count(unsigned int set)
{
	return (unsigned int)__builtin_popcount(set);
}

/* Restricted devices of type t in set. */
static unsigned int restricted_of_type(unsigned int set, unsigned int restricted, const char *t)
{
	unsigned int i, n = 0;

	for (i = 0; i < NDEV; i++)
		n += in(set, i) && in(restricted, i) && !strcmp(dev_type[i], t);
	return n;
}

/*
 * SPEC §3, exclusive: the open is allowed when the process already holds the device, when it
 * holds nothing, and otherwise only when nothing restricted would be among what it holds.
 */
static bool ref_exclusive(unsigned int held, unsigned int restricted, unsigned int d)
{
	unsigned int after = held | 1U << d;

	if (in(held, d))
		return true;
	if (count(after) == 1)
		return true;
	return !(after & restricted);
}

/*
 * SPEC §3, per-type: "at most one device of each restricted type; devices of unrestricted types
 * are never limited". Counted over the set after the open: no type may end up with more
 * restricted devices than max(1, what the process already had of it).
 */
static bool ref_per_type(unsigned int held, unsigned int restricted, unsigned int d)
{
	unsigned int after = held | 1U << d;
	unsigned int i;

	if (in(held, d))
		return true;
	for (i = 0; i < NDEV; i++) {
		unsigned int before_n = restricted_of_type(held, restricted, dev_type[i]);
		unsigned int after_n = restricted_of_type(after, restricted, dev_type[i]);

		if (after_n > 1 && after_n > before_n)
			return false;
	}
	return true;
}

/* Whether every device of set is of one compatibility class. */
static bool one_class(unsigned int set)
{
	unsigned int i, c = 0;

	for (i = 0; i < NDEV; i++) {
		if (!in(set, i))
			continue;
		if (!dev_class(i) || (c && dev_class(i) != c))
			return false;
		c = dev_class(i);
	}
	return c != 0;
}

/* The rule SPEC §3 and mdevguard.h's comments name for the outcome. */
static enum mdg_rule ref_rule(unsigned int held, unsigned int restricted, unsigned int d,
			      __u32 mode)
{
	if (in(held, d))
		return MDG_RULE_REOPEN;
	if (!held)
		return MDG_RULE_FIRST;
	if (one_class(held | 1U << d))
		return MDG_RULE_COMPATIBLE;
	if (mode == MDG_MODE_PER_TYPE)
		return ref_per_type(held, restricted, d) ? MDG_RULE_TYPE_FREE : MDG_RULE_SAME_TYPE;
	if (ref_exclusive(held, restricted, d))
		return MDG_RULE_UNRESTRICTED;
	return in(restricted, d) ? MDG_RULE_RESTRICTED_DEVICE : MDG_RULE_HOLDS_RESTRICTED;
}

/* held[] for a subset, in index order or reversed; slots past nr_held hold decoys. */
static __u32 fill_held(struct mdg_held *held, unsigned int set, unsigned int restricted,
		       bool reverse, unsigned int decoy)
{
	__u32 n = 0;
	int k;

	for (k = 0; k < MDG_MAX_HELD; k++) {
		struct mdg_held *h = &held[k];

		memset(h, 0, sizeof(*h));
		h->id = dev_id(decoy);
		h->type_hash = mdg_type_hash(dev_type[decoy]);
		h->restricted = 1;
		h->compat = dev_class(decoy) ^ 1;
		h->files = 1;
	}
	for (k = 0; k < NDEV; k++) {
		unsigned int i = reverse ? NDEV - 1 - (unsigned int)k : (unsigned int)k;

		if (!in(set, i))
			continue;
		held[n].id = dev_id(i);
		held[n].type_hash = mdg_type_hash(dev_type[i]);
		held[n].restricted = in(restricted, i);
		held[n].compat = dev_class(i);
		held[n].files = 1 + i;
		n++;
	}
	return n;
}

static struct mdg_request request(unsigned int d, unsigned int restricted)
{
	struct mdg_request r = {
		.id = dev_id(d),
		.type_hash = mdg_type_hash(dev_type[d]),
		.compat = dev_class(d),
		.restricted = in(restricted, d),
	};

	return r;
}

static const char *rule_name(enum mdg_rule r)
{
	static const char *const names[] = {
		"none", "reopen", "first", "unrestricted", "type-free", "restricted-device",
		"holds-restricted", "same-type", "too-many", "no-memory", "binder",
		"shared-memory", "unsettled", "compatible",
	};

	return r < MDG_RULE_MAX ? names[r] : "?";
}

static void test_exhaustive(void **state)
{
	unsigned int restricted, held, d, mode, audit, order, allowed = 0, denied = 0, classes;
	unsigned int compatible = 0;
	struct mdg_held h[MDG_MAX_HELD];
	size_t cases = 0;

	for (classes = 0; classes < 27; classes++)
	for (restricted = 0; restricted < 1U << NDEV; restricted++)
	for (held = 0; held < 1U << NDEV; held++)
	for (order = 0; order < 2; order++)
	for (d = 0; d < NDEV; d++)
	for (mode = MDG_MODE_EXCLUSIVE; mode <= MDG_MODE_PER_TYPE; mode++)
	for (audit = 0; audit < 2; audit++) {
		/* decoys past nr_held: the requested device, restricted, of its own type */
		__u32 nr;

		type_class[0] = classes % 3;
		type_class[1] = classes / 3 % 3;
		type_class[2] = classes / 9;
		nr = fill_held(h, held, restricted, order, d);
		struct mdg_request req = request(d, restricted);
		enum mdg_rule got = mdg_decide(h, nr, &req, mode);
		enum mdg_rule want = ref_rule(held, restricted, d, mode);
		bool ok = in(held, d) || one_class(held | 1U << d) ||
			  (mode == MDG_MODE_PER_TYPE ? ref_per_type(held, restricted, d) :
						       ref_exclusive(held, restricted, d));
		enum mdg_action act = mdg_action(got, audit);
		enum mdg_action want_act = ok ? MDG_ACT_ALLOW :
					   audit ? MDG_ACT_AUDIT : MDG_ACT_DENY;

		if (got != want || act != want_act || !!mdg_rule_allows(got) != ok)
			fail_msg("classes %u%u%u mode %s audit %u held %#x (%s order) restricted %#x request %u: "
				 "got %s/%d, want %s/%d", type_class[0], type_class[1], type_class[2],
				 mode ? "per-type" : "exclusive", audit, held,
				 order ? "reversed" : "index", restricted, d, rule_name(got), act,
				 rule_name(want), want_act);
		cases++;
		compatible += got == MDG_RULE_COMPATIBLE;
		allowed += ok;
		denied += !ok;
	}
	memset(type_class, 0, sizeof(type_class));
	assert_int_equal(cases, 27 * 32 * 32 * 2 * NDEV * 2 * 2);
	assert_true(compatible > 1000);
	/* both outcomes are well represented, so the comparison means something */
	assert_true(allowed > 1000);
	assert_true(denied > 1000);
}

/* Hand-picked cases in SPEC §3's words, independent of both formulations above. */
static void test_spec_examples(void **state)
{
	struct mdg_held h[MDG_MAX_HELD];
	struct mdg_request r;
	__u32 n;

	/* exclusive: two N devices together are fine */
	n = fill_held(h, 1U << 2, 0, false, 0);
	r = request(3, 0);
	assert_int_equal(mdg_decide(h, n, &r, MDG_MODE_EXCLUSIVE), MDG_RULE_UNRESTRICTED);
	/* exclusive: a Y device next to anything is refused, either way round */
	r = request(3, 1U << 3);
	assert_int_equal(mdg_decide(h, n, &r, MDG_MODE_EXCLUSIVE), MDG_RULE_RESTRICTED_DEVICE);
	n = fill_held(h, 1U << 0, 1U << 0, false, 0);
	r = request(4, 0);
	assert_int_equal(mdg_decide(h, n, &r, MDG_MODE_EXCLUSIVE), MDG_RULE_HOLDS_RESTRICTED);
	/* per-type: Y devices of different types are fine, two of one Y type are not */
	r = request(2, 1U << 2);
	assert_int_equal(mdg_decide(h, n, &r, MDG_MODE_PER_TYPE), MDG_RULE_TYPE_FREE);
	r = request(1, 1U << 1);
	assert_int_equal(mdg_decide(h, n, &r, MDG_MODE_PER_TYPE), MDG_RULE_SAME_TYPE);
	/* per-type: unrestricted devices of a type are never limited */
	n = fill_held(h, 1U << 2, 0, false, 0);
	r = request(3, 0);
	assert_int_equal(mdg_decide(h, n, &r, MDG_MODE_PER_TYPE), MDG_RULE_TYPE_FREE);
	/* the first device is always allowed, the same one again too */
	r = request(0, 1U << 0);
	assert_int_equal(mdg_decide(h, 0, &r, MDG_MODE_EXCLUSIVE), MDG_RULE_FIRST);
	n = fill_held(h, 1U << 0 | 1U << 1, 0x1f, false, 4);
	assert_int_equal(mdg_decide(h, n, &r, MDG_MODE_EXCLUSIVE), MDG_RULE_REOPEN);
	assert_int_equal(mdg_decide(h, n, &r, MDG_MODE_PER_TYPE), MDG_RULE_REOPEN);
	/* audit reports a deny without denying */
	assert_int_equal(mdg_action(MDG_RULE_SAME_TYPE, 1), MDG_ACT_AUDIT);
	assert_int_equal(mdg_action(MDG_RULE_SAME_TYPE, 0), MDG_ACT_DENY);
	assert_int_equal(mdg_action(MDG_RULE_FIRST, 1), MDG_ACT_ALLOW);
}

/* n distinct held devices with ids 100.., types given by type_of(i), restricted flag r. */
static __u32 many_held(struct mdg_held *h, __u32 n, bool distinct_types, __u8 r)
{
	char t[16];
	__u32 i;

	memset(h, 0, sizeof(*h) * MDG_MAX_HELD);
	for (i = 0; i < n; i++) {
		snprintf(t, sizeof(t), "t%u", distinct_types ? i : 0);
		h[i].id.hi = 100 + i;
		h[i].id.lo = 7;
		h[i].type_hash = mdg_type_hash(t);
		h[i].restricted = r;
		h[i].files = 1;
	}
	return n;
}

static struct mdg_request new_request(const char *type, __u8 r)
{
	struct mdg_request req = { .id = { .hi = 999, .lo = 7 }, .type_hash = mdg_type_hash(type),
				   .restricted = r };

	return req;
}

static void test_max_held_boundary(void **state)
{
	struct mdg_held h[MDG_MAX_HELD];
	struct mdg_request r = new_request("fresh", 0);
	__u32 mode;

	for (mode = MDG_MODE_EXCLUSIVE; mode <= MDG_MODE_PER_TYPE; mode++) {
		enum mdg_rule ok = mode ? MDG_RULE_TYPE_FREE : MDG_RULE_UNRESTRICTED;

		/* one below the limit: allowed */
		many_held(h, MDG_MAX_HELD - 1, true, 0);
		assert_int_equal(mdg_decide(h, MDG_MAX_HELD - 1, &r, mode), ok);
		/* at the limit: a new device is refused, audit only reports it */
		many_held(h, MDG_MAX_HELD, true, 0);
		assert_int_equal(mdg_decide(h, MDG_MAX_HELD, &r, mode), MDG_RULE_TOO_MANY);
		assert_false(mdg_rule_allows(MDG_RULE_TOO_MANY));
		assert_int_equal(mdg_action(MDG_RULE_TOO_MANY, 0), MDG_ACT_DENY);
		assert_int_equal(mdg_action(MDG_RULE_TOO_MANY, 1), MDG_ACT_AUDIT);
	}
	/* per-type at the limit with restricted devices of distinct types: too many */
	many_held(h, MDG_MAX_HELD, true, 1);
	r = new_request("fresh", 1);
	assert_int_equal(mdg_decide(h, MDG_MAX_HELD, &r, MDG_MODE_PER_TYPE), MDG_RULE_TOO_MANY);
	/* a rule that denies anyway still denies at the limit */
	r = new_request("t3", 1);
	assert_false(mdg_rule_allows(mdg_decide(h, MDG_MAX_HELD, &r, MDG_MODE_PER_TYPE)));
	assert_false(mdg_rule_allows(mdg_decide(h, MDG_MAX_HELD, &r, MDG_MODE_EXCLUSIVE)));
	/* a corrupt count above the limit reads no further than the array and refuses */
	many_held(h, MDG_MAX_HELD, true, 0);
	r = new_request("fresh", 0);
	assert_int_equal(mdg_decide(h, MDG_MAX_HELD + 4, &r, MDG_MODE_EXCLUSIVE),
			 MDG_RULE_TOO_MANY);
}

/* Reopen wins over every other clause, at the limit, restricted or not, any position. */
static void test_reopen_wins(void **state)
{
	struct mdg_held h[MDG_MAX_HELD];
	__u32 mode, audit, pos;
	int distinct;

	for (distinct = 0; distinct < 2; distinct++)
	for (mode = MDG_MODE_EXCLUSIVE; mode <= MDG_MODE_PER_TYPE; mode++)
	for (audit = 0; audit < 2; audit++)
	for (pos = 0; pos < MDG_MAX_HELD; pos++) {
		struct mdg_request r = { .id = { .hi = 100 + pos, .lo = 7 }, .restricted = 1 };
		char t[16];

		many_held(h, MDG_MAX_HELD, distinct, 1);
		snprintf(t, sizeof(t), "t%u", distinct ? pos : 0);
		r.type_hash = mdg_type_hash(t);
		assert_int_equal(mdg_decide(h, MDG_MAX_HELD, &r, mode), MDG_RULE_REOPEN);
		assert_int_equal(mdg_action(mdg_decide(h, MDG_MAX_HELD, &r, mode), audit),
				 MDG_ACT_ALLOW);
		/* the same id with another type or flag is still the same device */
		r.type_hash ^= 1;
		r.restricted = 0;
		assert_int_equal(mdg_decide(h, MDG_MAX_HELD, &r, mode), MDG_RULE_REOPEN);
	}
}

/* A device is its whole id: a match in one half only is another device. */
static void test_id_halves(void **state)
{
	struct mdg_held h[MDG_MAX_HELD];
	struct mdg_request r = new_request("x", 1);

	many_held(h, 1, true, 1);	/* id {100, 7}, type t0, restricted */
	r.id.hi = 100;
	r.id.lo = 8;
	assert_int_equal(mdg_decide(h, 1, &r, MDG_MODE_EXCLUSIVE), MDG_RULE_RESTRICTED_DEVICE);
	r.id.hi = 101;
	r.id.lo = 7;
	assert_int_equal(mdg_decide(h, 1, &r, MDG_MODE_EXCLUSIVE), MDG_RULE_RESTRICTED_DEVICE);
	r.id.hi = 100;
	assert_int_equal(mdg_decide(h, 1, &r, MDG_MODE_EXCLUSIVE), MDG_RULE_REOPEN);
}

/*
 * NVIDIA's rule, as classes: an A16-4C with an A16-8C (one board and series), never with an
 * A30-8C; a class never admits a device outside it, restricted or not.
 */
static void test_classes(void **state)
{
	struct mdg_held h[MDG_MAX_HELD] = { 0 };
	struct mdg_request r = { 0 };
	__u32 mode;

	(void)state;
	for (mode = MDG_MODE_EXCLUSIVE; mode <= MDG_MODE_PER_TYPE; mode++) {
		h[0].id.lo = 1;
		h[0].type_hash = mdg_type_hash("A16-4C");
		h[0].restricted = 1;
		h[0].compat = 1;
		r.id.lo = 2;
		r.type_hash = mdg_type_hash("A16-8C");
		r.restricted = 1;
		r.compat = 1;
		assert_int_equal(mdg_decide(h, 1, &r, mode), MDG_RULE_COMPATIBLE);
		/* the same type twice, in a class: allowed too */
		r.type_hash = h[0].type_hash;
		assert_int_equal(mdg_decide(h, 1, &r, mode), MDG_RULE_COMPATIBLE);
		/* another class */
		r.type_hash = mdg_type_hash("A30-8C");
		r.compat = 2;
		assert_int_equal(mdg_decide(h, 1, &r, mode),
				 mode ? MDG_RULE_TYPE_FREE : MDG_RULE_RESTRICTED_DEVICE);
		/* an unrestricted device of no class beside a class: the mode's rule */
		r.restricted = 0;
		r.compat = 0;
		assert_int_equal(mdg_decide(h, 1, &r, mode),
				 mode ? MDG_RULE_TYPE_FREE : MDG_RULE_HOLDS_RESTRICTED);
		/* one held device out of the class spoils it */
		h[1] = h[0];
		h[1].id.lo = 3;
		h[1].compat = 0;
		h[1].restricted = 0;
		r.restricted = 1;
		r.compat = 1;
		r.type_hash = mdg_type_hash("A16-8C");
		assert_int_equal(mdg_decide(h, 2, &r, mode),
				 mode ? MDG_RULE_TYPE_FREE : MDG_RULE_RESTRICTED_DEVICE);
	}
	/* per-type: two restricted devices of one type outside any class stay denied */
	h[0].compat = 0;
	r.compat = 0;
	r.type_hash = h[0].type_hash;
	assert_int_equal(mdg_decide(h, 1, &r, MDG_MODE_PER_TYPE), MDG_RULE_SAME_TYPE);
}

static void test_rule_allows(void **state)
{
	enum mdg_rule r;

	for (r = MDG_RULE_NONE; r < MDG_RULE_MAX; r++) {
		bool want = r == MDG_RULE_REOPEN || r == MDG_RULE_FIRST ||
			    r == MDG_RULE_UNRESTRICTED || r == MDG_RULE_TYPE_FREE ||
			    r == MDG_RULE_COMPATIBLE;

		assert_int_equal(!!mdg_rule_allows(r), want);
		assert_int_equal(mdg_action(r, 0), want ? MDG_ACT_ALLOW : MDG_ACT_DENY);
		assert_int_equal(mdg_action(r, 1), want ? MDG_ACT_ALLOW : MDG_ACT_AUDIT);
	}
	/* a full map fails closed */
	assert_int_equal(mdg_action(MDG_RULE_NO_MEMORY, 0), MDG_ACT_DENY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exhaustive),
		cmocka_unit_test(test_spec_examples),
		cmocka_unit_test(test_max_held_boundary),
		cmocka_unit_test(test_reopen_wins),
		cmocka_unit_test(test_id_halves),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_rule_allows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
