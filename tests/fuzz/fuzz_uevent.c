// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: kernel uevents as they come off the netlink socket, "ACTION@DEVPATH" and
 * NUL-separated KEY=value strings, the last not always terminated. mdg_uevent_relevant() must
 * read nothing past the message (the input is exactly its size, so ASan would say) and answer
 * as uevent.h says: whether a field is SUBSYSTEM= of the mdev bus or VFIO.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uevent.h"

static bool relevant_expected(const char *buf, size_t len)
{
	static const char *const want[] = {
		"SUBSYSTEM=mdev", "SUBSYSTEM=mdev_bus", "SUBSYSTEM=vfio", "SUBSYSTEM=vfio-dev",
	};
	size_t start = 0, end, i;

	while (start < len) {
		for (end = start; end < len && buf[end]; end++)
			;
		for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			if (end - start == strlen(want[i]) && !memcmp(buf + start, want[i], end - start))
				return true;
		}
		start = end + 1;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;

	if (mdg_uevent_relevant(buf, size) != relevant_expected(buf, size)) {
		fprintf(stderr, "fuzz_uevent: mdg_uevent_relevant() disagrees with uevent.h\n");
		abort();
	}
	return 0;
}
