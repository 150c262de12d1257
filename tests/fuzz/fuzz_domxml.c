// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: libvirt domain XMLs (user/domxml.c). The input is the document. Beyond what
 * the sanitizers catch, the promises of domxml.h are checked: a success has a non-empty name
 * without control characters and only lower-case UUIDs that parse; a failure leaves nothing
 * behind and says why in one line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domxml.h"
#include "sysfs.h"
#include "uuid.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_domxml: %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mdg_domxml d;
	struct mdg_dev_id id;
	char err[1024], back[MDG_UUID_LEN];
	size_t i;
	const char *p;

	err[0] = '\0';
	if (mdg_domxml_parse((const char *)data, size, "fuzz.xml", &d, err, sizeof(err))) {
		if (d.name || d.uuids || d.nr_uuids)
			fail("a failure left a result");
		if (!err[0] || strchr(err, '\n') || strncmp(err, "fuzz.xml", 8))
			fail("a failure without one line naming the input");
		return 0;
	}
	if (!d.name || !d.name[0])
		fail("a domain without a name");
	for (p = d.name; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fail("a control character in the name");
	}
	for (i = 0; i < d.nr_uuids; i++) {
		if (mdg_uuid_parse(d.uuids[i], &id))
			fail("a UUID that does not parse");
		mdg_uuid_format(&id, back);
		if (strcmp(back, d.uuids[i]))
			fail("a UUID not in lower case");
	}
	mdg_domxml_free(&d);
	return 0;
}
