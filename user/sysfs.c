// SPDX-License-Identifier: GPL-2.0
/*
 * Discovery of mdev devices, their types and VFIO nodes from sysfs (SPEC §2).
 *
 * The tree is read as the kernel lays it out:
 *
 *   ROOT/bus/mdev/devices/<uuid>             -> the device directory, under its parent
 *   <dev>/mdev_type                          -> ../mdev_supported_types/<type>
 *   <dev>/iommu_group                        -> .../kernel/iommu_groups/<N>
 *   <dev>/vfio-dev/vfio<X>/dev               "MAJ:MIN\n" of /dev/vfio/devices/vfio<X>
 *   ROOT/class/vfio/<N>/dev                  "MAJ:MIN\n" of /dev/vfio/<N>
 *   ROOT/class/mdev_bus/<parent>/mdev_supported_types/<type>/{name,available_instances,
 *                                                             single_usage_restriction}
 *
 * Devices come and go while we look: ENOENT met after a device was listed means it was removed
 * and it is dropped with a note; every other oddity is a warning naming the path.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pciaddr.h"
#include "sysfs.h"

#define ATTR_FILE	"single_usage_restriction"
#define ATTR_READ_MAX	64	/* far more than any valid content, enough to show what was seen */
#define RAW_LEN		32	/* sizeof(attr_raw) in both records */
#define MAX_MAJOR	((1U << (32 - MDG_MINORBITS)) - 1)
#define MAX_MINOR	((1U << MDG_MINORBITS) - 1)

/* A type directory by its real path, so that a device's attribute is read and reported once. */
struct type_ref {
	char *real;
	enum mdg_attr attr;
	char raw[RAW_LEN];
};

struct scan {
	const char *root;
	mdg_warn_fn warn;
	void *ctx;
	struct mdg_sysfs *out;
	size_t devs_cap, types_cap;
	struct type_ref *refs;
	size_t nr_refs, refs_cap;
	size_t nr_sorted_refs;		/* refs[0..nr_sorted_refs) are sorted by real path */
};

_Static_assert(sizeof(((struct mdg_sysfs_dev *)0)->attr_raw) == RAW_LEN, "attr_raw size");
_Static_assert(sizeof(((struct mdg_sysfs_type *)0)->attr_raw) == RAW_LEN, "attr_raw size");

static void say(const struct scan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(const struct scan *s, const char *fmt, ...)
{
	char msg[2 * PATH_MAX];
	va_list ap;

	if (!s->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->warn(s->ctx, "%s", msg);
}

static int path_fmt(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int path_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* Copies a string that must fit; -ENAMETOOLONG (and nothing copied) when it does not. */
static int copy_name(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(dst, src, len + 1);
	return 0;
}

/*
 * A type's name as the kernel side sees it: the first MDG_TYPE_LEN - 1 characters (it reads the
 * kobject's name into a buffer of that size). Returns whether the name was longer: such a type
 * may share its visible name with another, so it is taken as malformed, hence restricted.
 */
static bool type_name(char dst[MDG_TYPE_LEN], const char *src)
{
	size_t len = strnlen(src, MDG_TYPE_LEN);

	if (len == MDG_TYPE_LEN)
		len = MDG_TYPE_LEN - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return src[len] != '\0';
}

#define LONG_NAME_RAW "<name over 63 chars>"
_Static_assert(MDG_TYPE_LEN == 64, "LONG_NAME_RAW names the limit");

/* A parent's name is only shown: a longer one is cut, with "..." saying so. */
static void parent_copy(char *dst, size_t size, const char *src, size_t len)
{
	if (len < size) {
		memcpy(dst, src, len);
		dst[len] = '\0';
		return;
	}
	snprintf(dst, size, "%.*s...", (int)(size - 4), src);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* True when path no longer exists: the device or type went away while we looked. */
static bool gone(const char *path)
{
	struct stat st;

	return stat(path, &st) && errno == ENOENT;
}

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

/* readlink() into a NUL-terminated buffer; negative errno on failure or truncation. */
static int read_link(const char *path, char *buf, size_t size)
{
	ssize_t n = readlink(path, buf, size);

	if (n < 0)
		return -errno;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

static const char *link_error(int err)
{
	return err == -EINVAL ? "not a symbolic link" : strerror(-err);
}

/* Decimal, digits only, at most max. */
static int parse_uint(const char *s, size_t len, unsigned long max, unsigned int *out)
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
static int parse_devnum(const char *buf, size_t len, unsigned int *maj, unsigned int *min)
{
	const char *colon = memchr(buf, ':', len);
	size_t minlen;

	if (len && buf[len - 1] == '\n')
		len--;
	if (!colon || colon >= buf + len)
		return -EINVAL;
	minlen = len - (size_t)(colon + 1 - buf);
	if (parse_uint(buf, (size_t)(colon - buf), MAX_MAJOR, maj) ||
	    parse_uint(colon + 1, minlen, MAX_MINOR, min))
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
static void escape_bytes(char *out, size_t size, const char *buf, size_t len, bool more)
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

/* Reads and judges a single_usage_restriction file, warning about anything odd. */
static enum mdg_attr read_attr(const struct scan *s, const char *path, char raw[RAW_LEN])
{
	char buf[ATTR_READ_MAX], seen[ATTR_READ_MAX * 4 + 4];
	enum mdg_attr a;
	ssize_t len;

	raw[0] = '\0';
	len = mdg_read_small(path, buf, sizeof(buf));
	if (len == -ENOENT)
		return MDG_ATTR_ABSENT;
	if (len < 0) {
		const char *name = strerrorname_np((int)-len);

		snprintf(raw, RAW_LEN, "<%s>", name ? name : "read error");
		say(s, "%s: cannot read: %s: malformed, restricted unless overridden", path,
		    strerror((int)-len));
		return MDG_ATTR_MALFORMED;
	}
	a = mdg_attr_parse(buf, (size_t)len);
	if (a != MDG_ATTR_MALFORMED)
		return a;
	/* The record keeps what fits; the warning shows everything that was read. */
	escape_bytes(raw, RAW_LEN, buf, (size_t)len, (size_t)len == sizeof(buf));
	escape_bytes(seen, sizeof(seen), buf, (size_t)len, (size_t)len == sizeof(buf));
	say(s, "%s: \"%s\" is not Y or N: malformed, restricted unless overridden", path, seen);
	return MDG_ATTR_MALFORMED;
}

/* v, grown geometrically to hold n + 1 elements; NULL when out of memory (v left as it was). */
static void *grow(void *v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;

	if (n < *cap)
		return v;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / size)
		return NULL;
	v = realloc(v, ncap * size);
	if (v)
		*cap = ncap;
	return v;
}

static int add_ref(struct scan *s, const char *real, enum mdg_attr attr, const char *raw)
{
	struct type_ref *r;

	r = grow(s->refs, &s->refs_cap, s->nr_refs, sizeof(*s->refs));
	if (!r)
		return -ENOMEM;
	s->refs = r;
	r += s->nr_refs;
	r->real = strdup(real);
	if (!r->real)
		return -ENOMEM;
	r->attr = attr;
	snprintf(r->raw, sizeof(r->raw), "%s", raw);
	s->nr_refs++;
	return 0;
}

static int cmp_ref(const void *a, const void *b)
{
	return strcmp(((const struct type_ref *)a)->real, ((const struct type_ref *)b)->real);
}

static const struct type_ref *find_ref(const struct scan *s, const char *real)
{
	struct type_ref key = { .real = (char *)real };
	const struct type_ref *r;
	size_t i;

	if (s->nr_sorted_refs) {
		r = bsearch(&key, s->refs, s->nr_sorted_refs, sizeof(*s->refs), cmp_ref);
		if (r)
			return r;
	}
	for (i = s->nr_sorted_refs; i < s->nr_refs; i++) {
		if (!strcmp(s->refs[i].real, real))
			return &s->refs[i];
	}
	return NULL;
}

/* The attribute of the type directory a device's mdev_type resolves to, read once per type. */
static int type_attr(struct scan *s, const char *type_real, struct mdg_sysfs_dev *d)
{
	const struct type_ref *r = find_ref(s, type_real);
	char path[PATH_MAX];

	if (!r) {
		if (path_fmt(path, sizeof(path), "%s/" ATTR_FILE, type_real)) {
			d->attr = MDG_ATTR_MALFORMED;
			snprintf(d->attr_raw, sizeof(d->attr_raw), "<ENAMETOOLONG>");
			return 0;
		}
		d->attr = read_attr(s, path, d->attr_raw);
		return add_ref(s, type_real, d->attr, d->attr_raw);
	}
	d->attr = r->attr;
	snprintf(d->attr_raw, sizeof(d->attr_raw), "%s", r->raw);
	return 0;
}

/*
 * A dev attribute: 1 with the numbers, 0 when absent (ENOENT), negative errno when it cannot be
 * used; *enoent records an ENOENT for the removed-mid-scan check.
 */
static int read_devnum(const struct scan *s, const char *path, unsigned int *maj,
		       unsigned int *min, bool *enoent)
{
	char buf[32] = { 0 }, raw[RAW_LEN];
	ssize_t len;

	len = mdg_read_small(path, buf, sizeof(buf));
	if (len == -ENOENT) {
		*enoent = true;
		return 0;
	}
	if (len < 0) {
		say(s, "%s: cannot read: %s; node ignored", path, strerror((int)-len));
		return (int)len;
	}
	if (parse_devnum(buf, (size_t)len, maj, min)) {
		escape_bytes(raw, sizeof(raw), buf, (size_t)len, (size_t)len == sizeof(buf));
		say(s, "%s: \"%s\" is not a device number (MAJ:MIN); node ignored", path, raw);
		return -EINVAL;
	}
	return 1;
}

static void scan_group(const struct scan *s, const char *dev, struct mdg_sysfs_dev *d,
		       bool *enoent)
{
	char path[PATH_MAX], link[PATH_MAX];
	const char *name;
	int ret;

	if (path_fmt(path, sizeof(path), "%s/iommu_group", dev))
		return;
	ret = read_link(path, link, sizeof(link));
	if (ret == -ENOENT) {
		*enoent = true;
		return;
	}
	if (ret) {
		say(s, "%s: %s; no group node", path, link_error(ret));
		return;
	}
	name = base_name(link);
	if (parse_uint(name, strlen(name), UINT_MAX, &d->group)) {
		say(s, "%s: link to \"%s\" does not name a group number; no group node", path,
		    link);
		return;
	}
	if (path_fmt(path, sizeof(path), "%s/class/vfio/%u/dev", s->root, d->group))
		return;
	ret = read_devnum(s, path, &d->group_major, &d->group_minor, enoent);
	d->has_group = ret > 0;
}

static bool is_vfio_name(const char *name)
{
	unsigned int x;

	return !strncmp(name, "vfio", 4) && !parse_uint(name + 4, strlen(name + 4), UINT_MAX, &x);
}

static void scan_cdev(const struct scan *s, const char *dev, struct mdg_sysfs_dev *d,
		      bool *enoent)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *e;
	DIR *dp;

	if (path_fmt(dir, sizeof(dir), "%s/vfio-dev", dev))
		return;
	dp = opendir(dir);
	if (!dp) {
		if (errno == ENOENT)
			*enoent = true;
		else
			say(s, "%s: cannot list: %s; no device cdev", dir, strerror(errno));
		return;
	}
	while ((e = readdir(dp))) {
		if (!is_vfio_name(e->d_name) || strlen(e->d_name) >= sizeof(d->cdev_name))
			continue;
		if (path_fmt(path, sizeof(path), "%s/%s/dev", dir, e->d_name))
			continue;
		if (read_devnum(s, path, &d->cdev_major, &d->cdev_minor, enoent) <= 0)
			continue;
		copy_name(d->cdev_name, sizeof(d->cdev_name), e->d_name);	/* length checked */
		d->has_cdev = true;
		break;
	}
	closedir(dp);
}

/* Parent device name: the directory holding the device's real directory. */
static void parent_name(const char *real, char *out, size_t size)
{
	const char *end = strrchr(real, '/'), *start;

	out[0] = '\0';
	if (!end || end == real)
		return;
	start = end - 1;
	while (start > real && *start != '/')
		start--;
	if (*start == '/')
		start++;
	parent_copy(out, size, start, (size_t)(end - start));
}

static void note_removed(const struct scan *s, const char *path)
{
	say(s, "note: %s: removed during the scan, skipped", path);
}

/* Fills d from the device's type link; 0 and a filled d, 1 when skipped, negative on ENOMEM. */
static int scan_type_link(struct scan *s, const char *dev, struct mdg_sysfs_dev *d)
{
	char path[PATH_MAX], link[PATH_MAX], real[PATH_MAX];
	bool long_name;
	int ret;

	if (path_fmt(path, sizeof(path), "%s/mdev_type", dev))
		return 1;
	ret = read_link(path, link, sizeof(link));
	if (ret == -ENOENT && gone(dev)) {
		note_removed(s, dev);
		return 1;
	}
	if (ret) {
		say(s, "%s: %s; device skipped", path,
		    ret == -ENOENT ? "no mdev_type link" : link_error(ret));
		return 1;
	}
	if (!*base_name(link)) {
		say(s, "%s: link to \"%s\" names no type; device skipped", path, link);
		return 1;
	}
	long_name = type_name(d->type, base_name(link));
	if (!realpath(path, real)) {
		ret = errno;
		if (ret == ENOENT && gone(dev))
			note_removed(s, dev);
		else if (ret == ENOENT)
			say(s, "%s: dangling link to \"%s\"; device skipped", path, link);
		else
			say(s, "%s: cannot resolve link to \"%s\": %s; device skipped", path, link,
			    strerror(ret));
		return 1;
	}
	ret = type_attr(s, real, d);
	if (ret < 0)
		return ret;
	if (long_name) {
		say(s, "%s: type name over %d characters, restricted whatever it says", path,
		    MDG_TYPE_LEN - 1);
		d->attr = MDG_ATTR_MALFORMED;
		snprintf(d->attr_raw, sizeof(d->attr_raw), LONG_NAME_RAW);
	}
	return 0;
}

/* One entry of bus/mdev/devices; 0 whether kept or skipped, negative errno on ENOMEM. */
static int scan_device(struct scan *s, const char *bus, const char *name)
{
	char dev[PATH_MAX], real[PATH_MAX];
	struct mdg_sysfs_dev d, *devs;
	struct mdg_dev_id id;
	bool enoent = false;
	int ret;

	memset(&d, 0, sizeof(d));
	if (mdg_uuid_parse(name, &id)) {
		say(s, "%s/%s: name is not a UUID, skipped", bus, name);
		return 0;
	}
	mdg_uuid_format(&id, d.uuid);
	if (path_fmt(dev, sizeof(dev), "%s/%s", bus, name)) {
		say(s, "%s/%s: path too long, skipped", bus, name);
		return 0;
	}
	if (!realpath(dev, real)) {
		if (errno == ENOENT)
			note_removed(s, dev);
		else
			say(s, "%s: cannot resolve: %s; device skipped", dev, strerror(errno));
		return 0;
	}
	parent_name(real, d.parent, sizeof(d.parent));
	ret = scan_type_link(s, dev, &d);
	if (ret)
		return ret < 0 ? ret : 0;
	scan_group(s, dev, &d, &enoent);
	scan_cdev(s, dev, &d, &enoent);
	if (enoent && gone(dev)) {
		note_removed(s, dev);
		return 0;
	}

	devs = grow(s->out->devs, &s->devs_cap, s->out->nr_devs, sizeof(d));
	if (!devs)
		return -ENOMEM;
	s->out->devs = devs;
	devs[s->out->nr_devs++] = d;
	return 0;
}

/* A top directory; NULL without error when it does not exist (the module is not loaded). */
static DIR *open_top(const struct scan *s, const char *path, int *err)
{
	DIR *dp = opendir(path);

	*err = 0;
	if (dp || errno == ENOENT)
		return dp;
	*err = -errno;
	say(s, "%s: cannot list: %s", path, strerror(errno));
	return NULL;
}

static int scan_devices(struct scan *s)
{
	char bus[PATH_MAX];
	struct dirent *e;
	DIR *dp;
	int ret;

	if (path_fmt(bus, sizeof(bus), "%s/bus/mdev/devices", s->root)) {
		say(s, "%s/bus/mdev/devices: path too long", s->root);
		return -ENAMETOOLONG;
	}
	dp = open_top(s, bus, &ret);
	if (!dp)
		return ret;
	for (errno = 0; (e = readdir(dp)); errno = 0) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		ret = scan_device(s, bus, e->d_name);
		if (ret)
			goto out;
	}
	if (errno) {
		ret = -errno;
		say(s, "%s: cannot list: %s", bus, strerror(errno));
	}
out:
	closedir(dp);
	return ret;
}

static void read_type_name(const char *dir, char *out, size_t size)
{
	char path[PATH_MAX];
	ssize_t len;
	size_t i;

	out[0] = '\0';
	if (path_fmt(path, sizeof(path), "%s/name", dir))
		return;
	len = mdg_read_small(path, out, size - 1);
	if (len < 0)
		len = 0;
	out[len] = '\0';
	if (len && out[len - 1] == '\n')
		out[--len] = '\0';
	for (i = 0; i < (size_t)len; i++) {
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
	}
}

static int read_available(const char *dir, bool *enoent)
{
	char path[PATH_MAX], buf[32];
	unsigned int v;
	ssize_t len;

	if (path_fmt(path, sizeof(path), "%s/available_instances", dir))
		return -1;
	len = mdg_read_small(path, buf, sizeof(buf));
	if (len == -ENOENT)
		*enoent = true;
	if (len <= 0)
		return -1;
	if (buf[len - 1] == '\n')
		len--;
	if (parse_uint(buf, (size_t)len, INT_MAX, &v))
		return -1;
	return (int)v;
}

static int scan_type(struct scan *s, const char *types, const char *parent, const char *name)
{
	char dir[PATH_MAX], path[PATH_MAX], real[PATH_MAX];
	struct mdg_sysfs_type t, *all;
	bool enoent = false, long_name;
	int ret;

	memset(&t, 0, sizeof(t));
	if (path_fmt(dir, sizeof(dir), "%s/%s", types, name))
		return 0;
	long_name = type_name(t.type, name);
	parent_copy(t.parent, sizeof(t.parent), parent, strlen(parent));
	if (!realpath(dir, real)) {
		if (errno == ENOENT)
			note_removed(s, dir);
		else
			say(s, "%s: cannot resolve: %s; type skipped", dir, strerror(errno));
		return 0;
	}
	if (path_fmt(path, sizeof(path), "%s/" ATTR_FILE, real))
		return 0;
	read_type_name(real, t.name, sizeof(t.name));
	t.available = read_available(real, &enoent);
	t.attr = read_attr(s, path, t.attr_raw);
	if ((enoent || t.attr == MDG_ATTR_ABSENT) && gone(real)) {
		note_removed(s, dir);
		return 0;
	}
	ret = add_ref(s, real, t.attr, t.attr_raw);
	if (ret)
		return ret;
	if (long_name) {
		say(s, "%s: type name over %d characters, restricted whatever it says", dir,
		    MDG_TYPE_LEN - 1);
		t.attr = MDG_ATTR_MALFORMED;
		snprintf(t.attr_raw, sizeof(t.attr_raw), LONG_NAME_RAW);
	}
	all = grow(s->out->types, &s->types_cap, s->out->nr_types, sizeof(t));
	if (!all)
		return -ENOMEM;
	s->out->types = all;
	all[s->out->nr_types++] = t;
	return 0;
}

static bool is_dir(const char *parent, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (path_fmt(path, sizeof(path), "%s/%s", parent, name))
		return false;
	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static int scan_parent(struct scan *s, const char *bus, const char *parent)
{
	char types[PATH_MAX];
	struct dirent *e;
	DIR *dp;
	int ret = 0;

	if (path_fmt(types, sizeof(types), "%s/%s/mdev_supported_types", bus, parent))
		return 0;
	dp = opendir(types);
	if (!dp) {
		if (errno != ENOENT)
			say(s, "%s: cannot list: %s; its types are not shown", types,
			    strerror(errno));
		return 0;
	}
	while ((e = readdir(dp))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (e->d_type != DT_DIR && !is_dir(types, e->d_name))
			continue;
		ret = scan_type(s, types, parent, e->d_name);
		if (ret)
			break;
	}
	closedir(dp);
	return ret;
}

static int scan_types(struct scan *s)
{
	char bus[PATH_MAX];
	struct dirent *e;
	DIR *dp;
	int ret;

	if (path_fmt(bus, sizeof(bus), "%s/class/mdev_bus", s->root)) {
		say(s, "%s/class/mdev_bus: path too long", s->root);
		return -ENAMETOOLONG;
	}
	dp = open_top(s, bus, &ret);
	if (!dp)
		return ret;
	while ((e = readdir(dp))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		ret = scan_parent(s, bus, e->d_name);
		if (ret)
			break;
	}
	closedir(dp);
	return ret;
}

static int cmp_dev(const void *a, const void *b)
{
	return strcmp(((const struct mdg_sysfs_dev *)a)->uuid,
		      ((const struct mdg_sysfs_dev *)b)->uuid);
}

static int cmp_type(const void *a, const void *b)
{
	const struct mdg_sysfs_type *x = a, *y = b;
	int c = strcmp(x->type, y->type);

	return c ? c : strcmp(x->parent, y->parent);
}

/* Sorted by UUID; the same UUID twice (names differing in case only) is kept once. */
static void sort_devices(const struct scan *s)
{
	struct mdg_sysfs *o = s->out;
	size_t i, n = 0;

	if (!o->nr_devs)
		return;
	qsort(o->devs, o->nr_devs, sizeof(*o->devs), cmp_dev);
	for (i = 1; i < o->nr_devs; i++) {
		if (!strcmp(o->devs[i].uuid, o->devs[n].uuid)) {
			say(s, "%s/bus/mdev/devices: device %s listed twice, kept once", s->root,
			    o->devs[i].uuid);
			continue;
		}
		o->devs[++n] = o->devs[i];
	}
	o->nr_devs = n + 1;
}

static void free_refs(struct scan *s)
{
	size_t i;

	for (i = 0; i < s->nr_refs; i++)
		free(s->refs[i].real);
	free(s->refs);
	s->refs = NULL;
	s->nr_refs = 0;
}

int mdg_sysfs_scan(const char *root, struct mdg_sysfs *out, mdg_warn_fn warn, void *ctx)
{
	struct scan s = { .root = root, .warn = warn, .ctx = ctx, .out = out };
	struct stat st;
	int ret;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!root || !*root)
		return -EINVAL;
	if (stat(root, &st)) {
		ret = -errno;
		say(&s, "%s: %s", root, strerror(errno));
		return ret;
	}
	if (!S_ISDIR(st.st_mode)) {
		say(&s, "%s: not a directory", root);
		return -ENOTDIR;
	}

	ret = scan_types(&s);
	if (!ret) {
		if (s.nr_refs)
			qsort(s.refs, s.nr_refs, sizeof(*s.refs), cmp_ref);
		s.nr_sorted_refs = s.nr_refs;
		ret = scan_devices(&s);
	}
	free_refs(&s);
	if (ret) {
		mdg_sysfs_free(out);
		return ret;
	}
	sort_devices(&s);
	if (out->nr_types)
		qsort(out->types, out->nr_types, sizeof(*out->types), cmp_type);
	return 0;
}

void mdg_sysfs_nodes(const char *root, const char *dir, struct mdg_sysfs_dev *d,
		     mdg_warn_fn warn, void *ctx)
{
	struct scan s = { .root = root, .warn = warn, .ctx = ctx };
	bool enoent = false;

	scan_group(&s, dir, d, &enoent);
	scan_cdev(&s, dir, d, &enoent);
}

int mdg_sysfs_add_dev(struct mdg_sysfs *s, const struct mdg_sysfs_dev *d)
{
	struct mdg_sysfs_dev *devs = realloc(s->devs, (s->nr_devs + 1) * sizeof(*devs));

	if (!devs)
		return -ENOMEM;
	s->devs = devs;
	devs[s->nr_devs++] = *d;
	return 0;
}

void mdg_sysfs_sort(struct mdg_sysfs *s)
{
	if (s->nr_devs)
		qsort(s->devs, s->nr_devs, sizeof(*s->devs), cmp_dev);
}

void mdg_sysfs_free(struct mdg_sysfs *s)
{
	if (!s)
		return;
	free(s->devs);
	free(s->types);
	free(s->fns);
	free(s->vnames);
	memset(s, 0, sizeof(*s));
}

int mdg_pci_addr_parse(const char *s, struct mdg_dev_id *id)
{
	char buf[MDG_PCI_NAME_LEN] = { 0 };
	size_t len;

	if (!s)
		return -EINVAL;
	len = strlen(s);
	/* lspci's short form, "BB:SS.F", is in domain 0 */
	if (len == 7 && s[2] == ':')
		snprintf(buf, sizeof(buf), "0000:%s", s);
	else if (len < MDG_PCI_NAME_LEN)
		memcpy(buf, s, len);
	else
		return -EINVAL;
	return mdg_pci_parse(buf, id) ? -EINVAL : 0;
}

int mdg_devid_parse(const char *s, struct mdg_dev_id *id)
{
	if (!mdg_uuid_parse(s, id))
		return 0;
	return mdg_pci_addr_parse(s, id);
}

const struct mdg_sysfs_dev *mdg_sysfs_find(const struct mdg_sysfs *s, const char *uuid)
{
	struct mdg_sysfs_dev key = { 0 };
	struct mdg_dev_id id;

	if (!s || !s->nr_devs || mdg_devid_parse(uuid, &id))
		return NULL;
	mdg_uuid_format(&id, key.uuid);
	return bsearch(&key, s->devs, s->nr_devs, sizeof(*s->devs), cmp_dev);
}

const struct mdg_sysfs_type *mdg_sysfs_find_type(const struct mdg_sysfs *s, const char *parent,
						 const char *type)
{
	struct mdg_sysfs_type key = { 0 };

	if (!s || !s->nr_types || !parent || !type || strlen(type) >= sizeof(key.type) ||
	    strlen(parent) >= sizeof(key.parent))
		return NULL;
	memcpy(key.type, type, strlen(type) + 1);
	memcpy(key.parent, parent, strlen(parent) + 1);
	return bsearch(&key, s->types, s->nr_types, sizeof(*s->types), cmp_type);
}

int mdg_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mdg_uuid_parse(const char *s, struct mdg_dev_id *id)
{
	__u64 half[2] = { 0, 0 };
	int i, n = 0, x;

	if (!s || !id)
		return -EINVAL;
	for (i = 0; i < MDG_UUID_LEN - 1; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		x = mdg_hex_digit(s[i]);	/* also stops at the NUL of a short string */
		if (x < 0)
			return -EINVAL;
		half[n / 16] = half[n / 16] << 4 | (__u64)x;
		n++;
	}
	if (s[MDG_UUID_LEN - 1])
		return -EINVAL;
	id->hi = half[0];
	id->lo = half[1];
	return 0;
}

void mdg_uuid_format(const struct mdg_dev_id *id, char out[MDG_UUID_LEN])
{
	char addr[MDG_PCI_NAME_LEN];

	if (mdg_id_is_pci(id)) {
		mdg_pci_format(id, addr);
		snprintf(out, MDG_UUID_LEN, "%s", addr);
		return;
	}
	snprintf(out, MDG_UUID_LEN, "%08x-%04x-%04x-%04x-%012llx",
		 (unsigned int)(id->hi >> 32), (unsigned int)(id->hi >> 16) & 0xffff,
		 (unsigned int)id->hi & 0xffff, (unsigned int)(id->lo >> 48),
		 (unsigned long long)(id->lo & 0xffffffffffffULL));
}
