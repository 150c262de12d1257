/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attributes and other small files: read whole, judged as the kernel's kstrtobool() would
 * take them, a dev attribute's numbers, and bytes escaped for printing.
 */
#ifndef MDG_ATTR_H
#define MDG_ATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What the type's single_usage_restriction attribute says. */
enum mdg_attr {
	MDG_ATTR_NO = 0,	/* n, N, 0, off (kstrtobool), trailing newline allowed */
	MDG_ATTR_YES,		/* y, Y, 1, on */
	MDG_ATTR_ABSENT,	/* no such file */
	MDG_ATTR_MALFORMED,	/* anything else, or unreadable: fail closed */
};

/* kstrtobool()'s view of an attribute's content. */
enum mdg_attr mdg_attr_parse(const char *buf, size_t len);
const char *mdg_attr_name(enum mdg_attr a);	/* "Y", "N", "absent", "malformed" */

/*
 * Reads at most size bytes of a small file (a sysfs attribute, a /proc file, a definition).
 * Returns the length or a negative errno. Opens without blocking and refuses anything but a
 * regular file (-EISDIR, -EINVAL), so that a FIFO or a device node planted in a tree cannot
 * hang or disturb the reader.
 */
ssize_t mdg_read_small(const char *path, char *buf, size_t size);

/* Decimal, digits only, at most max: 0, -EINVAL or -ERANGE. */
int mdg_parse_uint(const char *s, size_t len, unsigned long max, unsigned int *out);
/* "MAJ:MIN\n" as the kernel prints a dev attribute (the newline may be missing): 0 or -EINVAL. */
int mdg_devnum_parse(const char *buf, size_t len, unsigned int *maj, unsigned int *min);

/*
 * len bytes escaped for a log line (printable ASCII, \\, \n, \t or \xNN) into out. What does
 * not fit, or more (the file was longer than what was read), ends in "..." after the last whole
 * escape that fits.
 */
void mdg_escape_bytes(char *out, size_t size, const char *buf, size_t len, bool more);

#endif
