// SPDX-License-Identifier: GPL-2.0
/*
 * Attributes and other small files: read whole without blocking, a sysfs attribute's content
 * judged as the kernel's kstrtobool() takes it, a dev attribute's numbers, and bytes escaped for
 * a log line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attr.h"
#include "mdevguard.h"

#define MAX_MAJOR	((1U << (32 - MDG_MINORBITS)) - 1)
#define MAX_MINOR	((1U << MDG_MINORBITS) - 1)

ssize_t mdg_read_small(const char *path, char *buf, size_t size)
{
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out;
	}
	while (len < size) {
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += n;
	}
out:
	close(fd);
	return err ? err : (ssize_t)len;
}

/* Decimal, digits only, at most max. */
int mdg_parse_uint(const char *s, size_t len, unsigned long max, unsigned int *out)
{
	unsigned long v = 0;
	size_t i;

	if (!len)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > max)
			return -ERANGE;
	}
	*out = (unsigned int)v;
	return 0;
}

/* "MAJ:MIN\n" as the kernel prints a dev attribute (the newline may be missing). */
int mdg_devnum_parse(const char *buf, size_t len, unsigned int *maj, unsigned int *min)
{
	const char *colon = memchr(buf, ':', len);
	size_t minlen;

	if (len && buf[len - 1] == '\n')
		len--;
	if (!colon || colon >= buf + len)
		return -EINVAL;
	minlen = len - (size_t)(colon + 1 - buf);
	if (mdg_parse_uint(buf, (size_t)(colon - buf), MAX_MAJOR, maj) ||
	    mdg_parse_uint(colon + 1, minlen, MAX_MINOR, min))
		return -EINVAL;
	return 0;
}

/* One byte as a log line can show it: printable ASCII, \\, \n, \t or \xNN. */
static size_t escape_char(unsigned char c, char piece[5])
{
	if (c == '\\' || c == '\n' || c == '\t') {
		piece[0] = '\\';
		piece[1] = (char)(c == '\n' ? 'n' : c == '\t' ? 't' : '\\');
		return 2;
	}
	if (c >= 0x20 && c < 0x7f) {
		piece[0] = (char)c;
		return 1;
	}
	snprintf(piece, 5, "\\x%02x", c);
	return 4;
}

/*
 * Escapes len bytes into out. What does not fit, or more (the file was longer than what was
 * read), ends in "..." after the last whole escape that fits.
 */
void mdg_escape_bytes(char *out, size_t size, const char *buf, size_t len, bool more)
{
	size_t pos = 0, need = 0, room, i, n;
	char piece[5];

	for (i = 0; i < len; i++)
		need += escape_char((unsigned char)buf[i], piece);
	more = more || need > size - 1;
	room = size - 1 - (more ? 3 : 0);
	for (i = 0; i < len; i++) {
		n = escape_char((unsigned char)buf[i], piece);
		if (pos + n > room)
			break;
		memcpy(out + pos, piece, n);
		pos += n;
	}
	if (more) {
		memcpy(out + pos, "...", 3);
		pos += 3;
	}
	out[pos] = '\0';
}

/*
 * The attribute's content, judged as the kernel's kstrtobool() would take it and no further.
 *
 * kstrtobool() (lib/kstrtox.c) decides on a prefix: the first character when it is one of
 * y Y 1 / n N 0, or the first two when they are [oO][nN] / [oO][fF]; whatever follows is
 * ignored, so to the kernel "Y\n\n", "YES" and "of" are all valid. Newer kernels also take
 * t T / f F. The attribute is documented as "Y or N", and SPEC §2 names the accepted spellings
 * as y/Y/1/on and n/N/0/off "and nothing else", so we accept exactly the whole words that
 * kstrtobool() names, and only those:
 *
 *   restricted:      y  Y  1  on   (on in any case: ON, On, oN)
 *   not restricted:  n  N  0  off  (off in any case)
 *
 * each optionally followed by one "\n" (sysfs_emit() adds it). Anything else, including
 * "yes"/"no", "true"/"false", "t"/"f", a prefix with trailing bytes ("YES", "Y\n\n", "of",
 * "Y "), an empty file or a lone newline, is malformed and fails closed.
 */
enum mdg_attr mdg_attr_parse(const char *buf, size_t len)
{
	if (!buf)
		return MDG_ATTR_MALFORMED;
	if (len && buf[len - 1] == '\n')
		len--;
	if (len == 1) {
		switch (buf[0]) {
		case 'y':
		case 'Y':
		case '1':
			return MDG_ATTR_YES;
		case 'n':
		case 'N':
		case '0':
			return MDG_ATTR_NO;
		default:
			return MDG_ATTR_MALFORMED;
		}
	}
	if (len == 2 && (buf[0] == 'o' || buf[0] == 'O') && (buf[1] == 'n' || buf[1] == 'N'))
		return MDG_ATTR_YES;
	if (len == 3 && (buf[0] == 'o' || buf[0] == 'O') && (buf[1] == 'f' || buf[1] == 'F') &&
	    (buf[2] == 'f' || buf[2] == 'F'))
		return MDG_ATTR_NO;
	return MDG_ATTR_MALFORMED;
}

const char *mdg_attr_name(enum mdg_attr a)
{
	switch (a) {
	case MDG_ATTR_NO:
		return "N";
	case MDG_ATTR_YES:
		return "Y";
	case MDG_ATTR_ABSENT:
		return "absent";
	case MDG_ATTR_MALFORMED:
		return "malformed";
	}
	return "malformed";
}
