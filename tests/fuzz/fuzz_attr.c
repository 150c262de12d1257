// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: the small texts of sysfs (user/sysfs.c). The input is taken whole as the
 * content of a type's single_usage_restriction attribute, and as a NUL-terminated name for the
 * UUID parser (bus/mdev/devices entries, configuration values). Each parser is checked against
 * a plain restatement of its rule in sysfs.h, so that one accepting too much or too little
 * aborts, not only one that crashes; a parsed UUID must format back to its text in lower case.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "sysfs.h"
#include "uuid.h"

static void fail(const char *what, const uint8_t *data, size_t size)
{
	size_t i;

	fprintf(stderr, "fuzz_attr: %s; input:", what);
	for (i = 0; i < size && i < 64; i++)
		fprintf(stderr, " %02x", data[i]);
	fprintf(stderr, "%s\n", size > 64 ? " ..." : "");
	abort();
}

/* buf is exactly word, compared without case when nocase (for on/off). */
static bool word_is(const char *buf, size_t len, const char *word, bool nocase)
{
	size_t i;

	if (len != strlen(word))
		return false;
	for (i = 0; i < len; i++) {
		char c = buf[i];

		if (nocase && c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != word[i])
			return false;
	}
	return true;
}

/* SPEC §2: y Y 1 on / n N 0 off (on, off in any case), one trailing newline allowed. */
static enum mdg_attr attr_expected(const char *buf, size_t len)
{
	if (len && buf[len - 1] == '\n')
		len--;
	if (word_is(buf, len, "y", false) || word_is(buf, len, "Y", false) ||
	    word_is(buf, len, "1", false) || word_is(buf, len, "on", true))
		return MDG_ATTR_YES;
	if (word_is(buf, len, "n", false) || word_is(buf, len, "N", false) ||
	    word_is(buf, len, "0", false) || word_is(buf, len, "off", true))
		return MDG_ATTR_NO;
	return MDG_ATTR_MALFORMED;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_uuid(const char *s)
{
	size_t i;

	if (strlen(s) != MDG_UUID_LEN - 1)
		return false;
	for (i = 0; i < MDG_UUID_LEN - 1; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !is_hex(s[i]))
			return false;
	}
	return true;
}

static void fuzz_uuid(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);	/* exact size: ASan sees a read past the NUL */
	char out[MDG_UUID_LEN], lower[MDG_UUID_LEN];
	struct mdg_dev_id id, back;
	size_t i;
	int ret;

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	ret = mdg_uuid_parse(s, &id);
	if (!ret != is_uuid(s))
		fail(ret ? "a UUID was rejected" : "a non-UUID was accepted", data, size);
	if (!ret) {
		mdg_uuid_format(&id, out);
		for (i = 0; i < MDG_UUID_LEN; i++)
			lower[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
		if (memcmp(out, lower, MDG_UUID_LEN))
			fail("a parsed UUID formats to other text", data, size);
	}
	free(s);

	/* The other way round: any 16 bytes format to a UUID that parses back to them. */
	if (size < sizeof(id))
		return;
	memcpy(&id, data, sizeof(id));
	mdg_uuid_format(&id, out);
	if (strlen(out) != MDG_UUID_LEN - 1 || mdg_uuid_parse(out, &back) || back.hi != id.hi ||
	    back.lo != id.lo)
		fail("a formatted UUID does not parse back", data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum mdg_attr a = mdg_attr_parse((const char *)data, size);
	const char *name = mdg_attr_name(a);

	if (a != attr_expected((const char *)data, size))
		fail("mdg_attr_parse() disagrees with SPEC 2", data, size);
	if (!name || !*name)
		fail("attribute without a name", data, size);
	fuzz_uuid(data, size);
	return 0;
}
