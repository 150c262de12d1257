// SPDX-License-Identifier: GPL-2.0
/*
 * mdevguard check: preflight for management software. Replays the opens of one process, in the
 * order given, through the same rule the BPF program applies. The devices are UUIDs on the
 * command line, or the mdev hostdevs of a libvirt domain XML (--domain-xml); each is found in
 * sysfs or, not started yet, among mdevctl's definitions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "cli.h"
#include "domxml.h"
#include "mdevctl.h"
#include "policy.h"
#include "vgpufn.h"
#include "uuid.h"

#define EXIT_DENIED 1
#define EXIT_BAD_INPUT 2

struct checked {
	const struct mdg_sysfs_dev *dev;	/* in the scan, or &own */
	struct mdg_sysfs_dev own;		/* a device mdevctl defined, not started */
	bool defined;
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
	json_object_object_add(x, "started", json_object_new_boolean(!c->defined));
	return x;
}

static void describe(const struct mdg_policy *p, const struct checked *c)
{
	unsigned int k = mdg_policy_class(p, c->dev->type);

	printf("%s (type %s, %s: %s%s%s%s)", c->dev->uuid, c->dev->type,
	       c->restricted ? "restricted" : "unrestricted", mdg_reason_name(c->reason),
	       k ? "; compatible with " : "", k ? p->compatible.v[k - 1] : "",
	       c->defined ? "; defined by mdevctl, not started" : "");
}

/* "domain 'NAME': " before the verdict's details when checking a domain, else nothing. */
static void say_domain(const char *domain)
{
	if (domain)
		printf("domain '%s': ", domain);
}

static int decide_all(struct mdg_opts *o, struct checked *c, int nr, const char *domain)
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
		mdg_devid_parse(c[i].dev->uuid, &req.id);
		req.type_hash = mdg_type_hash(c[i].dev->type);
		req.compat = mdg_policy_class(&o->policy, c[i].dev->type);
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
		held[nr_held].compat = req.compat;
		held[nr_held].files = 1;
		slot_of[nr_held] = i;
		nr_held++;
	}

	if (o->json) {
		js = json_object_new_object();
		json_object_object_add(js, "allowed", json_object_new_boolean(denied < 0));
		json_object_object_add(js, "mode",
				       json_object_new_string(mdg_mode_name(o->policy.mode)));
		if (domain)
			json_object_object_add(js, "domain", json_object_new_string(domain));
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
		printf("allowed: ");
		say_domain(domain);
		printf("one process may hold these %d device(s) together (mode %s%s)\n", nr,
		       mdg_mode_name(o->policy.mode), o->policy.audit ? ", audit" : "");
		for (i = 0; i < nr; i++) {
			printf("  ");
			describe(&o->policy, &c[i]);
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
	say_domain(domain);
	describe(&o->policy, &c[denied]);
	printf(" cannot be held together with:\n");
	for (j = 0; j < (int)nr_held; j++) {
		if (!conflicts(rule, &held[j], &req))
			continue;
		printf("  ");
		describe(&o->policy, &c[slot_of[j]]);
		printf("\n");
	}
	return EXIT_DENIED;
}

/* c[i] for uuid (normalized), from sysfs or else mdevctl's definitions; 0 or EXIT_BAD_INPUT. */
static int find_device(const struct mdg_opts *o, const struct mdg_sysfs *s, const char *uuid,
		       struct checked *c)
{
	struct mdg_mdevctl_def def;
	struct mdg_dev_id id;
	char err[2 * PATH_MAX];
	int ret;

	c->dev = mdg_sysfs_find(s, uuid);
	if (!c->dev && mdg_uuid_parse(uuid, &id)) {
		mdg_err("check: %s is no vGPU function under %s/bus/pci/devices: no vendor vGPU type read while current, no --vgpu-function selector; mdevguard never decides it",
			uuid, o->sysfs);
		return EXIT_BAD_INPUT;
	}
	if (!c->dev) {
		ret = mdg_mdevctl_find(o->mdevctl_dir, uuid, &def, err, sizeof(err));
		if (ret < 0) {
			mdg_err("check: %s", err);
			return EXIT_BAD_INPUT;
		}
		if (ret == 0) {
			mdg_err("check: no mdev device %s under %s/bus/mdev/devices, and mdevctl "
				"defines none under %s", uuid, o->sysfs, o->mdevctl_dir);
			return EXIT_BAD_INPUT;
		}
		if (mdg_mdevctl_resolve(s, o->sysfs, &def, uuid, &c->own, err, sizeof(err))) {
			mdg_err("check: %s", err);
			return EXIT_BAD_INPUT;
		}
		c->dev = &c->own;
		c->defined = true;
	}
	c->restricted = mdg_policy_restricted(&o->policy, c->dev, &c->reason);
	return 0;
}

static void no_mdev(const struct mdg_opts *o, const char *domain)
{
	struct json_object *js;

	if (!o->json) {
		printf("allowed: domain '%s' has no mdev hostdev and no vGPU function\n", domain);
		return;
	}
	/* As for devices, less the mode: the policy is not read for a domain without mdevs. */
	js = json_object_new_object();
	json_object_object_add(js, "allowed", json_object_new_boolean(1));
	json_object_object_add(js, "mode", NULL);
	json_object_object_add(js, "domain", json_object_new_string(domain));
	json_object_object_add(js, "devices", json_object_new_array());
	printf("%s\n", json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN));
	json_object_put(js);
}

/* The devices, valid UUIDs, checked together; domain names them in the output, or NULL. */
static int check_uuids(struct mdg_opts *o, int nr, char *const *uuids, const char *domain)
{
	struct mdg_selector sel[MDG_MAX_POLICY_SELECTORS];
	struct mdg_fn_opts fo = { 0 };
	struct mdg_sysfs s = {};
	struct mdg_dev_id id;
	struct checked *c;
	int i, n, ret;

	ret = mdg_sysfs_scan(o->sysfs, &s, mdg_warn_cb, NULL);
	if (!ret) {
		fo.sel = sel;
		fo.nr_sel = mdg_policy_selectors(&o->policy, sel);
		ret = mdg_fn_scan(o->sysfs, &fo, &s, mdg_warn_cb, NULL);
	}
	if (ret) {
		mdg_err("cannot scan %s: %s", o->sysfs, strerror(-ret));
		mdg_sysfs_free(&s);
		return EXIT_BAD_INPUT;
	}
	c = calloc(nr, sizeof(*c));
	if (!c) {
		mdg_sysfs_free(&s);
		return EXIT_BAD_INPUT;
	}
	for (i = 0, n = 0; i < nr; i++) {
		char norm[MDG_UUID_LEN];

		mdg_devid_parse(uuids[i], &id);
		mdg_uuid_format(&id, norm);
		/* a domain's PCI hostdev that is no vGPU function is physical: never decided */
		if (domain && mdg_id_is_pci(&id) && !mdg_sysfs_find(&s, norm))
			continue;
		ret = find_device(o, &s, norm, &c[n]);
		if (ret)
			goto out;
		n++;
	}
	if (domain && !n) {
		no_mdev(o, domain);
		ret = 0;
		goto out;
	}
	ret = decide_all(o, c, n, domain);
out:
	free(c);
	mdg_sysfs_free(&s);
	return ret;
}

/*
 * check --domain-xml: the domain is read before the policy (main() leaves it to us), so that a
 * domain without mdev hostdevs passes whatever the configuration file says.
 */
static int check_domain(struct mdg_opts *o)
{
	struct mdg_domxml d;
	char err[1024];
	char **uuids = NULL;
	size_t i;
	int ret;

	if (mdg_domxml_read(o->domain_xml, &d, err, sizeof(err))) {
		mdg_err("check: %s", err);
		return EXIT_BAD_INPUT;
	}
	if (!d.nr_uuids && !d.nr_pcis) {
		no_mdev(o, d.name);
		ret = 0;
		goto out;
	}
	ret = EXIT_BAD_INPUT;
	if (d.nr_uuids > MDG_MAX_HELD) {
		mdg_err("check: domain '%s' has %zu mdev hostdevs; at most %d devices can be "
			"checked together", d.name, d.nr_uuids, MDG_MAX_HELD);
		goto out;
	}
	if (mdg_opts_load_policy(o))
		goto out;
	uuids = calloc(d.nr_uuids + d.nr_pcis, sizeof(*uuids));
	if (!uuids)
		goto out;
	for (i = 0; i < d.nr_uuids; i++)
		uuids[i] = d.uuids[i];
	for (i = 0; i < d.nr_pcis; i++)
		uuids[d.nr_uuids + i] = d.pcis[i];
	ret = check_uuids(o, (int)(d.nr_uuids + d.nr_pcis), uuids, d.name);
out:
	free(uuids);
	mdg_domxml_free(&d);
	return ret;
}

int mdg_cmd_check(struct mdg_opts *o, int nr, char **uuids)
{
	struct mdg_dev_id id;
	int i;

	if (o->domain_xml) {
		if (nr) {
			mdg_err("check: UUIDs and --domain-xml do not go together (see 'mdevguard "
				"check --help')");
			return EXIT_BAD_INPUT;
		}
		return check_domain(o);
	}
	if (nr == 0) {
		mdg_err("check: no UUID given (see 'mdevguard check --help')");
		return EXIT_BAD_INPUT;
	}
	if (nr > MDG_MAX_HELD) {
		mdg_err("check: at most %d devices can be checked together", MDG_MAX_HELD);
		return EXIT_BAD_INPUT;
	}
	for (i = 0; i < nr; i++) {
		if (mdg_devid_parse(uuids[i], &id)) {
			mdg_err("check: '%s' is neither an mdev's UUID nor a PCI address", uuids[i]);
			return EXIT_BAD_INPUT;
		}
	}
	return check_uuids(o, nr, uuids, NULL);
}
