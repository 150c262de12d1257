// SPDX-License-Identifier: GPL-2.0
/*
 * mdevguard check: preflight for management software. Replays the opens of one process, in the
 * order given, through the same rule the BPF program applies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "cli.h"
#include "policy.h"

#define EXIT_DENIED 1
#define EXIT_BAD_INPUT 2

struct checked {
	const struct mdg_sysfs_dev *dev;
	bool restricted;
	enum mdg_reason reason;
};

/* Whether held device h is one the rule counted against the request. */
static bool conflicts(enum mdg_rule rule, const struct mdg_held *h, const struct mdg_request *r)
{
	switch (rule) {
	case MDG_RULE_RESTRICTED_DEVICE:
	case MDG_RULE_TOO_MANY:
		return true;
	case MDG_RULE_HOLDS_RESTRICTED:
		return h->restricted;
	case MDG_RULE_SAME_TYPE:
		return h->restricted && h->type_hash == r->type_hash;
	default:
		return false;
	}
}

static struct json_object *dev_json(const struct checked *c)
{
	struct json_object *x = json_object_new_object();

	json_object_object_add(x, "uuid", json_object_new_string(c->dev->uuid));
	json_object_object_add(x, "type", json_object_new_string(c->dev->type));
	json_object_object_add(x, "restricted", json_object_new_boolean(c->restricted));
	json_object_object_add(x, "why", json_object_new_string(mdg_reason_name(c->reason)));
	return x;
}

static void describe(const struct checked *c)
{
	printf("%s (type %s, %s: %s)", c->dev->uuid, c->dev->type,
	       c->restricted ? "restricted" : "unrestricted", mdg_reason_name(c->reason));
}

static int decide_all(struct mdg_opts *o, struct checked *c, int nr)
{
	struct mdg_held held[MDG_MAX_HELD];
	struct json_object *js = NULL, *arr = NULL;
	int slot_of[MDG_MAX_HELD];
	struct mdg_request req;
	__u32 nr_held = 0;
	enum mdg_rule rule = MDG_RULE_NONE;
	int i, j, denied = -1;

	memset(held, 0, sizeof(held));
	for (i = 0; i < nr; i++) {
		memset(&req, 0, sizeof(req));
		mdg_uuid_parse(c[i].dev->uuid, &req.id);
		req.type_hash = mdg_type_hash(c[i].dev->type);
		req.restricted = c[i].restricted;
		rule = mdg_decide(held, nr_held, &req, o->policy.mode);
		if (!mdg_rule_allows(rule)) {
			denied = i;
			break;
		}
		if (rule == MDG_RULE_REOPEN)
			continue;
		held[nr_held].id = req.id;
		held[nr_held].type_hash = req.type_hash;
		held[nr_held].restricted = req.restricted;
		held[nr_held].files = 1;
		slot_of[nr_held] = i;
		nr_held++;
	}

	if (o->json) {
		js = json_object_new_object();
		json_object_object_add(js, "allowed", json_object_new_boolean(denied < 0));
		json_object_object_add(js, "mode",
				       json_object_new_string(mdg_mode_name(o->policy.mode)));
		arr = json_object_new_array();
		for (i = 0; i < nr; i++)
			json_object_array_add(arr, dev_json(&c[i]));
		json_object_object_add(js, "devices", arr);
	}
	if (denied < 0) {
		if (js) {
			printf("%s\n", json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN));
			json_object_put(js);
			return 0;
		}
		printf("allowed: one process may hold these %d device(s) together (mode %s%s)\n", nr,
		       mdg_mode_name(o->policy.mode), o->policy.audit ? ", audit" : "");
		for (i = 0; i < nr; i++) {
			printf("  ");
			describe(&c[i]);
			printf("\n");
		}
		return 0;
	}

	if (js) {
		json_object_object_add(js, "rule", json_object_new_string(mdg_rule_name(rule)));
		json_object_object_add(js, "denied", dev_json(&c[denied]));
		arr = json_object_new_array();
		for (j = 0; j < (int)nr_held; j++) {
			if (conflicts(rule, &held[j], &req))
				json_object_array_add(arr, dev_json(&c[slot_of[j]]));
		}
		json_object_object_add(js, "conflicts", arr);
		printf("%s\n", json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN));
		json_object_put(js);
		return EXIT_DENIED;
	}
	printf("denied (rule %s, mode %s%s): ", mdg_rule_name(rule), mdg_mode_name(o->policy.mode),
	       o->policy.audit ? "; audit mode would only report it" : "");
	describe(&c[denied]);
	printf(" cannot be held together with:\n");
	for (j = 0; j < (int)nr_held; j++) {
		if (!conflicts(rule, &held[j], &req))
			continue;
		printf("  ");
		describe(&c[slot_of[j]]);
		printf("\n");
	}
	return EXIT_DENIED;
}

int mdg_cmd_check(struct mdg_opts *o, int nr, char **uuids)
{
	struct mdg_sysfs s = {};
	struct mdg_dev_id id;
	struct checked *c;
	int i, ret;

	if (nr == 0) {
		mdg_err("check: no UUID given (see 'mdevguard check --help')");
		return EXIT_BAD_INPUT;
	}
	if (nr > MDG_MAX_HELD) {
		mdg_err("check: at most %d devices can be checked together", MDG_MAX_HELD);
		return EXIT_BAD_INPUT;
	}
	for (i = 0; i < nr; i++) {
		if (mdg_uuid_parse(uuids[i], &id)) {
			mdg_err("check: '%s' is not a UUID", uuids[i]);
			return EXIT_BAD_INPUT;
		}
	}
	ret = mdg_sysfs_scan(o->sysfs, &s, mdg_warn_cb, NULL);
	if (ret) {
		mdg_err("cannot scan %s: %s", o->sysfs, strerror(-ret));
		return EXIT_BAD_INPUT;
	}
	c = calloc(nr, sizeof(*c));
	if (!c) {
		mdg_sysfs_free(&s);
		return EXIT_BAD_INPUT;
	}
	for (i = 0; i < nr; i++) {
		char norm[MDG_UUID_LEN];

		mdg_uuid_parse(uuids[i], &id);
		mdg_uuid_format(&id, norm);
		c[i].dev = mdg_sysfs_find(&s, norm);
		if (!c[i].dev) {
			mdg_err("check: no mdev device %s under %s/bus/mdev/devices", uuids[i],
				o->sysfs);
			ret = EXIT_BAD_INPUT;
			goto out;
		}
		c[i].restricted = mdg_policy_restricted(&o->policy, c[i].dev, &c[i].reason);
	}
	ret = decide_all(o, c, nr);
out:
	free(c);
	mdg_sysfs_free(&s);
	return ret;
}
