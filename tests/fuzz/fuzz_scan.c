// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: the discovery walk, mdg_sysfs_scan() (user/sysfs.c), over a fake sysfs
 * that the input describes. Each input is a small program run in a fresh directory made by
 * mkdtemp() under $TMPDIR (or /tmp) and removed after it. It builds the kernel's layout, as
 * user/sysfs.c and tests/unit/test_sysfs.c describe it,
 *
 *   ROOT/bus/mdev/devices/<uuid>      -> ../../../devices/<bus>/<parent>/<uuid>
 *   <dev>/mdev_type                   -> ../mdev_supported_types/<type>
 *   <dev>/iommu_group                 -> ../../../../kernel/iommu_groups/<N>
 *   <dev>/vfio-dev/vfio<X>/dev        "MAJ:MIN\n"
 *   ROOT/class/vfio/<N>               -> ../../devices/virtual/vfio/<N>, holding dev
 *   ROOT/class/mdev_bus/<parent>      -> ../../devices/<bus>/<parent>
 *   <parent>/mdev_supported_types/<type>/{single_usage_restriction,name,available_instances}
 *
 * and bends it: missing, dangling and misplaced links, directories and FIFOs where files
 * belong, names up to 300 bytes with any byte but '/' and NUL, paths past PATH_MAX, attribute
 * contents of every kind, numbers out of range. The result is then checked against what
 * sysfs.h promises, beyond what the sanitizers catch.
 *
 * Program: byte 0 holds TREE_* flags, then instructions until the input ends (at most
 * MAX_INSNS; other opcode bytes are skipped):
 *
 *   'P' str:name u8:where u8:flags                   a parent device (PARENT_*)
 *   'T' u8:parent str:name str:attr str:title str:available u8:flags   a type (TYPE_*)
 *   'D' u8:uuid u8:parent u8:type u8:group u8:cdev u8:flags            a device (DEV_*)
 *   'F' path str:content     a file            'M' path            a directory
 *   'L' path u8:how path     a symbolic link   'Q' path            a FIFO
 *
 * str is one byte s and what it says, by s >> 6: 0 a word of the list for that operand
 * (s & 0x3f picks it); 1 (s & 0x3f) bytes that follow; 2 a word, then a byte n and n % 64
 * bytes appended; 3 a byte c and a byte n: c repeated (s & 0x3f) * 5 + n % 5 times, at most
 * 300. A name has '/' and NUL replaced by '%', and "", "." or ".." prefixed with '_'.
 * path is a byte b (b & 3: the root, or parent, type or device number b >> 2 as a base), a byte
 * with the number of names to add (1 to 4), and those names.
 *
 * Nothing is made outside the directory: entries are created one component at a time without
 * following symbolic links, and a link's target is built from names below the root (never "..")
 * so that it resolves inside it, or is a dangling absolute path. The scan only reads.
 * MDG_FUZZ_VERBOSE=1 prints the warnings and keeps the tree, to see what an input builds.
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

#include "attr.h"
#include "sysfs.h"
#include "uuid.h"

#define MAX_PARENTS	4
#define MAX_TYPES	8
#define MAX_DEVS	8	/* keeps one input to a few hundred syscalls */
#define MAX_INSNS	48
#define REL_MAX		6144	/* root-relative paths: past PATH_MAX on purpose */
#define STR_MAX		512
#define LONG_MAX_LEN	300

#define GROUP_MAJOR	243
#define CDEV_MAJOR	511

/* Byte 0: the tree as a whole, changed after the program ran. */
#define TREE_BUS_FILE		0x01	/* bus/mdev/devices is a regular file */
#define TREE_CLASS_FILE		0x02	/* class/mdev_bus is a regular file */
#define TREE_NO_BUS		0x04	/* no bus/mdev at all */
#define TREE_NO_CLASS		0x08	/* no class/mdev_bus */
#define TREE_SLASH		0x10	/* root given as "ROOT/" */
#define TREE_ALIAS		0x20	/* root given as ROOT/alias, a link to "." */
#define TREE_TWICE		0x40	/* scan twice: the same result */
#define TREE_NO_WARN		0x80	/* warn callback NULL */

/* 'P' flags */
#define PARENT_NO_CLASS		0x01	/* no class/mdev_bus/<parent> link */
#define PARENT_CLASS_DIR	0x02	/* class/mdev_bus/<parent> is the parent's directory */
#define PARENT_CLASS_DANGLING	0x04
#define PARENT_CLASS_ABSOLUTE	0x08
#define PARENT_TYPES_FILE	0x10	/* mdev_supported_types is a regular file */

/* 'T' flags; the low three bits say what single_usage_restriction is (ATTR_AS_*). */
#define TYPE_NO_TITLE		0x08	/* no name file */
#define TYPE_NO_AVAIL		0x10	/* no available_instances */
#define TYPE_LINKED		0x20	/* the type directory is a link to one elsewhere */
#define TYPE_TITLE_DIR		0x40	/* name is a directory */
#define TYPE_AVAIL_FIFO		0x80	/* available_instances is a FIFO */
enum { ATTR_AS_FILE, ATTR_AS_FILE2, ATTR_AS_FILE3, ATTR_AS_NONE, ATTR_AS_DIR, ATTR_AS_FIFO,
	ATTR_AS_LINK, ATTR_AS_DANGLING };

/* 'D' flags */
#define DEV_NOT_LISTED		0x01	/* no bus/mdev/devices entry */
#define DEV_REMOVED		0x02	/* listed, but its directory is gone */
#define DEV_BUS_ABSOLUTE	0x04
#define DEV_BUS_DIR		0x08	/* the bus entry is an empty directory, not a link */
#define DEV_LISTED_TWICE	0x10	/* a second entry, the UUID in upper case */
#define DEV_VIA_CLASS		0x20	/* the bus link goes through class/mdev_bus/<parent> */
#define DEV_DIR_LINK		0x40	/* the device directory is itself a link */

struct word {
	const char *s;
	size_t len;
};

#define W(str) { str, sizeof(str) - 1 }
#define NR(a) (sizeof(a) / sizeof((a)[0]))

static const struct word parent_words[] = {
	W("0000:00:02.0"), W("0000:3b:00.0"), W("0000:af:00.1"), W("mtty"), W("mdpy"),
	W("mbochs"), W("i915"), W("nvidia0"), W("0000:00:02.0 "), W("0000:00:02.0\n"),
};

static const struct word type_words[] = {
	W("nvidia-63"), W("nvidia-64"), W("nvidia-256"), W("i915-GVTg_V5_4"),
	W("i915-GVTg_V5_8"), W("mtty-1"), W("mtty-2"), W("mdpy-vga"), W("mbochs-1"),
	W("mtty-1 "), W("Mtty-1"), W("a-b.c_d"), W("\xe2\x98\x83"), W("\x01\x1b[31m"),
	W("t23456789012345678901234567890123456789012345678901234567890123"),
	W("t234567890123456789012345678901234567890123456789012345678901234"),
};

static const struct word attr_words[] = {
	W("Y\n"), W("N\n"), W("Y"), W("N"), W("y"), W("n"), W("1"), W("0"), W("1\n"), W("0\n"),
	W("on"), W("off"), W("ON\n"), W("Off\n"), W("oN"), W("OFF"), W("yes"), W("no"),
	W("true"), W("false"), W("t"), W("f"), W("T\n"), W(""), W("\n"), W("Y\n\n"), W("Y "),
	W("Y\r\n"), W(" Y"), W("garbage"), W("maybe\n"), W("\0"), W("Y\0"), W("\xff\xfe\x01"),
	W("o"), W("of"), W("onn"), W("offf"), W("2"), W("-1"), W("Y\nN\n"), W("\\n"),
	W("0123456789012345678901234567890123456789012345678901234567890123456789"),
};

static const struct word title_words[] = {
	W("GRID V100-8Q\n"), W("i915-GVTg_V5_4\n"), W("Single port serial\n"),
	W("GRID \x01 8Q\n"), W(""), W("\n"), W("\x7f\x1b[31m\n"), W("\xc3\xa9t\xc3\xa9\n"),
	W("no newline"), W("two\nlines\n"),
};

static const struct word avail_words[] = {
	W("0\n"), W("7\n"), W("1"), W("2147483647\n"), W("2147483648\n"), W("4294967295\n"),
	W("4294967296\n"), W("18446744073709551616\n"), W("-1\n"), W("+1\n"), W(" 7\n"),
	W("7 \n"), W("07\n"), W(""), W("\n"), W("x\n"), W("0x10\n"), W("7\n\n"),
	W("0000000000000000000000000000000000000007\n"),
};

static const struct word devnum_words[] = {
	W("243:1\n"), W("511:3\n"), W("243:1"), W("4095:1048575\n"), W("4096:0\n"),
	W("0:1048576\n"), W("243:\n"), W(":1\n"), W("243\n"), W("243:1:2\n"), W("243 :1\n"),
	W("-1:1\n"), W("243:1\n\n"), W(""), W("\n"), W("4294967296:1\n"), W("243:01\n"),
	W("0:0\n"), W("243:1\0"), W("243:1048575\n"), W("00000000000000000000000243:1\n"),
};

static const struct word group_words[] = {
	W("abc"), W("4294967295"), W("4294967296"), W("-1"), W("007"), W("1 "),
	W("99999999999999999999"), W("0x10"), W("1\n"), W("+1"), W("0"), W("12"),
};

static const struct word cdev_words[] = {
	W("vfio"), W("vfio-1"), W("vfioabc"), W("vfio4294967295"), W("vfio4294967296"),
	W("vfio0000000000000000000000000001"), W("vfio00000000000000000000000000001"),
	W("vfio 1"), W("VFIO1"), W("vfio1\n"), W("vfio0"), W("vfio99"), W("xvfio1"),
};

static const struct word uuid_words[] = {
	W("not-a-uuid"), W("11111111-2222-3333-4444-55555555555"),
	W("11111111-2222-3333-4444-5555555555555"), W("11111111_2222_3333_4444_555555555555"),
	W("{11111111-2222-3333-4444-555555555555}"), W("1111111g-2222-3333-4444-555555555555"),
	W(" 1111111-2222-3333-4444-555555555555"), W("11111111-2222-3333-4444-555555555555\n"),
	W("111111112222333344445555555555550000"), W("11111111-2222-3333-4444-555555555555x"),
};

static const struct word component_words[] = {
	W("bus"), W("mdev"), W("devices"), W("class"), W("mdev_bus"), W("vfio"), W("kernel"),
	W("iommu_groups"), W("mdev_supported_types"), W("single_usage_restriction"), W("name"),
	W("available_instances"), W("mdev_type"), W("iommu_group"), W("vfio-dev"), W("vfio0"),
	W("dev"), W("pci0000:00"), W("virtual"), W("0000:00:02.0"), W("nvidia-63"), W("mtty-1"),
	W("1"), W("11111111-2222-3333-4444-555555555555"), W("alias"),
};

struct in {
	const uint8_t *p;
	size_t n;
};

struct parent {
	char loc[REL_MAX];	/* its directory, relative to the root */
	char name[STR_MAX];
};

struct type {
	char loc[REL_MAX];	/* as listed: <parent>/mdev_supported_types/<name> */
	size_t parent;
};

struct dev {
	char loc[REL_MAX];
	char name[STR_MAX];	/* the bus entry's name */
	size_t parent;
};

/* One input's tree. Static: it is large, and libFuzzer runs one input at a time. */
static struct tree {
	int fd;			/* the root directory */
	char root[PATH_MAX];
	struct parent parents[MAX_PARENTS];
	size_t nr_parents;
	struct type types[MAX_TYPES];
	size_t nr_types;
	struct dev devs[MAX_DEVS];
	size_t nr_devs;
} T;

static bool verbose;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_scan: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (tree kept in %s)\n", T.root);
	abort();
}

/* a-f to A-F, for UUIDs in upper case */
static char upper_hex(char c)
{
	return (char)(c >= 'a' && c <= 'f' ? c - 'a' + 'A' : c);
}

static unsigned int u8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

/* A str operand into out (STR_MAX bytes, NUL-terminated; may hold NULs); returns its length. */
static size_t get_str(struct in *in, const struct word *words, size_t nr_words, char *out)
{
	unsigned int s = u8(in);
	size_t len = 0, n, i;
	const struct word *w;
	int c;

	switch (s >> 6) {
	case 0:
	case 2:
		w = &words[(s & 0x3f) % nr_words];
		memcpy(out, w->s, w->len);
		len = w->len;
		if (s >> 6 == 0)
			break;
		n = u8(in) % 64;
		for (i = 0; i < n && in->n; i++)
			out[len++] = (char)u8(in);
		break;
	case 1:
		n = s & 0x3f;
		for (i = 0; i < n && in->n; i++)
			out[len++] = (char)u8(in);
		break;
	default:
		c = (int)u8(in);
		n = (s & 0x3f) * 5 + u8(in) % 5;
		len = n > LONG_MAX_LEN ? LONG_MAX_LEN : n;
		memset(out, c, len);
		break;
	}
	out[len] = '\0';
	return len;
}

/* A str operand as one path component: never empty, ".", "..", nor holding '/'. */
static void get_name(struct in *in, const struct word *words, size_t nr_words, char *out)
{
	size_t len = get_str(in, words, nr_words, out), i;

	for (i = 0; i < len; i++) {
		if (out[i] == '/' || out[i] == '\0')
			out[i] = '%';
	}
	if (!len || !strcmp(out, ".") || !strcmp(out, "..")) {
		memmove(out + 1, out, len + 1);
		out[0] = '_';
	}
}

static bool fmt(char *buf, size_t size, const char *f, ...) __attribute__((format(printf, 3, 4)));

/* snprintf() that says whether all of it fit; what does not fit is not made. */
static bool fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, size, f, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < size;
}

#define DIR_CACHE 8

/* Directories opened lately, by root-relative path: most entries go next to the last ones. */
static struct {
	char rel[REL_MAX];
	int fd;
} dirs[DIR_CACHE];
static size_t dirs_next;

static void forget_dirs(void)
{
	size_t i;

	for (i = 0; i < DIR_CACHE; i++) {
		if (dirs[i].rel[0])
			close(dirs[i].fd);
		dirs[i].rel[0] = '\0';
	}
}

/*
 * The directory holding rel's last component, made as needed and opened component by
 * component without following symbolic links, so that nothing is made outside the root
 * whatever the program linked where. Returns an fd that stays the cache's, and *last; or -1.
 */
static int dir_of(const char *rel, const char **last)
{
	const char *end = strrchr(rel, '/'), *p = rel, *slash;
	size_t dirlen, best = 0, i, len;
	int fd = T.fd, next;
	bool owned = false;	/* fd is the walk's own, not the root's or the cache's */
	char comp[NAME_MAX + 1];

	*last = end ? end + 1 : rel;
	if (!end)
		return T.fd;
	dirlen = (size_t)(end - rel);
	for (i = 0; i < DIR_CACHE; i++) {
		len = strlen(dirs[i].rel);
		if (len && len > best && len <= dirlen && !strncmp(dirs[i].rel, rel, len) &&
		    (rel[len] == '/')) {
			best = len;
			fd = dirs[i].fd;
		}
	}
	if (best == dirlen)
		return fd;
	if (best)
		p = rel + best + 1;
	while ((slash = strchr(p, '/'))) {
		len = (size_t)(slash - p);
		next = -1;
		if (len && len <= NAME_MAX) {
			memcpy(comp, p, len);
			comp[len] = '\0';
			next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next < 0 && errno == ENOENT && !mkdirat(fd, comp, 0755))
				next = openat(fd, comp,
					      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (owned)
			close(fd);
		fd = next;
		owned = true;
		if (fd < 0)
			return -1;
		p = slash + 1;
	}
	i = dirs_next++ % DIR_CACHE;
	if (dirs[i].rel[0])
		close(dirs[i].fd);
	memcpy(dirs[i].rel, rel, dirlen);
	dirs[i].rel[dirlen] = '\0';
	dirs[i].fd = fd;
	return fd;
}

static void mk_dirs(const char *rel)
{
	char path[REL_MAX + 2];
	const char *last;

	if (fmt(path, sizeof(path), "%s/", rel))
		dir_of(path, &last);
}

static void mk_file(const char *rel, const void *data, size_t len)
{
	const char *last;
	int dir, fd;

	dir = dir_of(rel, &last);
	if (dir < 0)
		return;
	/* O_NONBLOCK: a FIFO already there must not hang the input. */
	fd = openat(dir, last, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
		    0644);
	if (fd < 0)
		return;
	if (write(fd, data, len) < 0 && verbose)
		perror(rel);
	close(fd);
}

static void mk_text(const char *rel, const char *s)
{
	mk_file(rel, s, strlen(s));
}

static void mk_node(const char *rel, bool fifo)
{
	const char *last;
	int dir;

	dir = dir_of(rel, &last);
	if (dir < 0)
		return;
	if (fifo)
		mkfifoat(dir, last, 0644);
	else
		mkdirat(dir, last, 0755);
}

static void mk_link(const char *rel, const char *target)
{
	const char *last;
	int dir;

	dir = dir_of(rel, &last);
	if (dir >= 0)
		symlinkat(target, dir, last);
}

/* A link at rel to target (relative to the root), written relative to rel as sysfs does. */
static void mk_link_rel(const char *rel, const char *target)
{
	char to[REL_MAX + 64];
	size_t len = 0;
	const char *p;

	for (p = strchr(rel, '/'); p; p = strchr(p + 1, '/')) {
		if (len + 3 >= sizeof(to))
			return;
		memcpy(to + len, "../", 3);
		len += 3;
	}
	if (fmt(to + len, sizeof(to) - len, "%s", target))
		mk_link(rel, to);
}

static void mk_link_abs(const char *rel, const char *target)
{
	char to[PATH_MAX + REL_MAX];

	if (fmt(to, sizeof(to), "%s/%s", T.root, target))
		mk_link(rel, to);
}

/* rm -r without following links, one directory fd at a time: works past PATH_MAX. */
static void rm_at(int dir, const char *name)
{
	struct dirent *e;
	int fd, pass;
	DIR *d;

	if (!unlinkat(dir, name, 0) || errno != EISDIR)
		return;
	for (pass = 0; pass < 3; pass++) {
		fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return;
		d = fdopendir(fd);
		if (!d) {
			close(fd);
			return;
		}
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				rm_at(fd, e->d_name);
		}
		closedir(d);
		/* Entries removed while listing may hide others: list again if not empty. */
		if (!unlinkat(dir, name, AT_REMOVEDIR) || errno != ENOTEMPTY)
			return;
	}
}

/* Removes rel, a directory or not; the cache may hold what went. */
static void rm_rel(const char *rel)
{
	const char *last;
	int dir = dir_of(rel, &last);

	if (dir >= 0)
		rm_at(dir, last);
	forget_dirs();
}

/* Moves a top entry away (to "<rel>.away"), for the TREE_* flags. */
static void move_away(const char *rel)
{
	char to[REL_MAX];
	const char *last, *last_to;
	int from_dir, to_dir;

	if (!fmt(to, sizeof(to), "%s.away", rel))
		return;
	from_dir = dir_of(rel, &last);
	to_dir = dir_of(to, &last_to);
	if (from_dir >= 0 && to_dir >= 0)
		renameat(from_dir, last, to_dir, last_to);
	forget_dirs();
}

static void add_parent_named(const char *name, unsigned int where, unsigned int flags)
{
	static const char *const buses[] = {
		"pci0000:00", "virtual", "platform", "pci0000:00/0000:00:01.0",
	};
	struct parent *p = &T.parents[T.nr_parents];
	char filler[NAME_MAX + 1], cls[REL_MAX], path[REL_MAX];
	size_t len, i, deep = where >> 4;

	/* Filler directories push the paths towards and past PATH_MAX. */
	if (!fmt(p->loc, sizeof(p->loc), "devices/%s", buses[where & 3]))
		return;
	memset(filler, 'f', NAME_MAX - 1);
	filler[NAME_MAX - 1] = '\0';
	for (i = 0; i < deep; i++) {
		len = strlen(p->loc);
		if (!fmt(p->loc + len, sizeof(p->loc) - len, "/%s", filler))
			return;
	}
	len = strlen(p->loc);
	if (!fmt(p->loc + len, sizeof(p->loc) - len, "/%s", name) ||
	    !fmt(p->name, sizeof(p->name), "%s", name) ||
	    !fmt(cls, sizeof(cls), "class/mdev_bus/%s", name))
		return;
	if (flags & PARENT_CLASS_DIR)
		snprintf(p->loc, sizeof(p->loc), "%s", cls);
	mk_dirs(p->loc);
	if (!fmt(path, sizeof(path), "%s/mdev_supported_types", p->loc))
		return;
	if (flags & PARENT_TYPES_FILE)
		mk_text(path, "not a directory\n");
	else
		mk_dirs(path);
	if (!(flags & (PARENT_NO_CLASS | PARENT_CLASS_DIR))) {
		if (!fmt(path, sizeof(path), "%s%s", p->loc,
			 flags & PARENT_CLASS_DANGLING ? "-gone" : ""))
			return;
		if (flags & PARENT_CLASS_ABSOLUTE)
			mk_link_abs(cls, path);
		else
			mk_link_rel(cls, path);
	}
	T.nr_parents++;
}

static void op_parent(struct in *in)
{
	char name[STR_MAX];
	unsigned int where, flags;

	get_name(in, parent_words, NR(parent_words), name);
	where = u8(in);
	flags = u8(in);
	if (T.nr_parents < MAX_PARENTS)
		add_parent_named(name, where, flags);
}

/* The parent numbered i, making a default one when there is none yet. */
static struct parent *parent_at(unsigned int i, size_t *index)
{
	if (!T.nr_parents)
		add_parent_named("0000:00:02.0", 0, 0);
	if (!T.nr_parents)
		return NULL;
	*index = i % T.nr_parents;
	return &T.parents[*index];
}

static void add_type_raw(size_t parent, const char *name, const char *attr, size_t attr_len,
			 const char *title, const char *avail, unsigned int flags)
{
	struct type *t = &T.types[T.nr_types];
	const struct parent *p = &T.parents[parent];
	char dir[REL_MAX], path[REL_MAX], real[REL_MAX];

	if (!fmt(t->loc, sizeof(t->loc), "%s/mdev_supported_types/%s", p->loc, name))
		return;
	snprintf(dir, sizeof(dir), "%s", t->loc);
	if (flags & TYPE_LINKED) {
		if (!fmt(real, sizeof(real), "%s/types-real/%s", p->loc, name))
			return;
		snprintf(dir, sizeof(dir), "%s", real);
		mk_link_rel(t->loc, real);
	}
	mk_dirs(dir);
	if (!fmt(path, sizeof(path), "%s/single_usage_restriction", dir))
		return;
	switch (flags & 7) {
	case ATTR_AS_NONE:
		break;
	case ATTR_AS_DIR:
		mk_node(path, false);
		break;
	case ATTR_AS_FIFO:
		mk_node(path, true);
		break;
	case ATTR_AS_LINK:	/* to the first type's attribute, or to itself: a loop */
		if (!T.nr_types)
			mk_link(path, "single_usage_restriction");
		else if (fmt(real, sizeof(real), "%s/single_usage_restriction", T.types[0].loc))
			mk_link_rel(path, real);
		break;
	case ATTR_AS_DANGLING:
		mk_link_rel(path, "kernel/nowhere");
		break;
	default:
		mk_file(path, attr, attr_len);
		break;
	}
	if (!(flags & TYPE_NO_TITLE) && fmt(path, sizeof(path), "%s/name", dir)) {
		if (flags & TYPE_TITLE_DIR)
			mk_node(path, false);
		else
			mk_text(path, title);
	}
	if (!(flags & TYPE_NO_AVAIL) && fmt(path, sizeof(path), "%s/available_instances", dir)) {
		if (flags & TYPE_AVAIL_FIFO)
			mk_node(path, true);
		else
			mk_text(path, avail);
	}
	if (fmt(path, sizeof(path), "%s/device_api", dir))
		mk_text(path, "vfio-pci\n");
	t->parent = parent;
	T.nr_types++;
}

static void op_type(struct in *in)
{
	char name[STR_MAX], attr[STR_MAX], title[STR_MAX], avail[STR_MAX];
	unsigned int pi = u8(in), flags;
	size_t attr_len, parent;

	get_name(in, type_words, NR(type_words), name);
	attr_len = get_str(in, attr_words, NR(attr_words), attr);
	get_str(in, title_words, NR(title_words), title);
	get_str(in, avail_words, NR(avail_words), avail);
	flags = u8(in);
	if (T.nr_types < MAX_TYPES && parent_at(pi, &parent))
		add_type_raw(parent, name, attr, attr_len, title, avail, flags);
}

/* A type of the device's parent, or any; makes a default one when there is none yet. */
static struct type *type_at(unsigned int i, size_t parent)
{
	if (!T.nr_types)
		add_type_raw(parent, "mtty-1", "Y\n", 2, "Fake mtty-1\n", "7\n", 0);
	if (!T.nr_types)
		return NULL;
	return &T.types[i % T.nr_types];
}

static void uuid_name(struct in *in, unsigned int how, char *out)
{
	unsigned int v = u8(in);
	size_t i, len;

	v |= u8(in) << 8;

	switch (how & 7) {
	case 3:	/* another device's UUID in the other case: listed twice */
		if (T.nr_devs) {
			snprintf(out, STR_MAX, "%s", T.devs[(how >> 3) % T.nr_devs].name);
			for (i = 0; out[i]; i++)
				out[i] = upper_hex(out[i]);
			return;
		}
		/* fall through */
	case 0:
	case 1:
	case 2:
		snprintf(out, STR_MAX, "%08x-%04x-4000-8000-%012x", v * 2654435761U, v, v * 7);
		for (i = 0; (how & 7) != 0 && out[i]; i++) {
			if ((how & 7) == 1 || i % 2)
				out[i] = upper_hex(out[i]);
		}
		return;
	case 4:
		get_name(in, uuid_words, NR(uuid_words), out);
		return;
	case 5:	/* 36 bytes of the input, any of them */
		for (i = 0; i < MDG_UUID_LEN - 1; i++) {
			out[i] = (char)u8(in);
			if (out[i] == '/' || out[i] == '\0')
				out[i] = '-';
		}
		out[i] = '\0';
		return;
	case 6:
		snprintf(out, STR_MAX, "%08x-2222-3333-4444-555555555555", v);
		len = strlen(out);
		get_name(in, component_words, NR(component_words), out + len);
		return;
	default:
		get_name(in, uuid_words, NR(uuid_words), out);
		return;
	}
}

static void dev_type_link(struct in *in, const struct dev *d, unsigned int how)
{
	const struct type *t = type_at(how & 0xf, d->parent);
	const struct parent *p = &T.parents[d->parent];
	char link[REL_MAX], to[REL_MAX], name[STR_MAX];

	if (!t || !fmt(link, sizeof(link), "%s/mdev_type", d->loc))
		return;
	switch (how >> 4) {
	case 6:
		mk_link_abs(link, t->loc);
		break;
	case 7:
		if (fmt(to, sizeof(to), "%s-gone", t->loc))
			mk_link_rel(link, to);
		break;
	case 8:		/* no mdev_type */
		break;
	case 9:
		mk_node(link, false);
		break;
	case 10:	/* a type of a name from the input, long ones included, made on the parent */
		get_name(in, type_words, NR(type_words), name);
		if (!fmt(to, sizeof(to), "%s/mdev_supported_types/%s", p->loc, name))
			break;
		mk_dirs(to);
		if (fmt(link, sizeof(link), "%s/single_usage_restriction", to))
			mk_text(link, "N\n");
		if (fmt(link, sizeof(link), "%s/mdev_type", d->loc))
			mk_link_rel(link, to);
		break;
	case 11:
		if (fmt(to, sizeof(to), "%s/", t->loc))
			mk_link_rel(link, to);
		break;
	case 12:
		if (fmt(to, sizeof(to), "%s/name", t->loc))
			mk_link_rel(link, to);
		break;
	case 13:
		mk_link(link, ".");
		break;
	case 14:
		mk_link(link, "mdev_type");
		break;
	case 15:
		if (fmt(to, sizeof(to), "class/mdev_bus/%s/mdev_supported_types/%s", p->name,
			strrchr(t->loc, '/') + 1))
			mk_link_rel(link, to);
		break;
	default:
		mk_link_rel(link, t->loc);
		break;
	}
}

static void dev_group(struct in *in, const struct dev *d, unsigned int how)
{
	unsigned int n = u8(in) | (how >> 3) << 8;
	char link[REL_MAX], group[STR_MAX + 32], node[64], path[64], text[STR_MAX];

	if (!(how & 7) || !fmt(link, sizeof(link), "%s/iommu_group", d->loc))
		return;
	snprintf(group, sizeof(group), "kernel/iommu_groups/%u", n);
	snprintf(node, sizeof(node), "devices/virtual/vfio/%u", n);
	snprintf(path, sizeof(path), "devices/virtual/vfio/%u/dev", n);
	switch (how & 7) {
	case 4:		/* a group that is no number */
		get_name(in, group_words, NR(group_words), text);
		snprintf(group, sizeof(group), "kernel/iommu_groups/%s", text);
		mk_dirs(group);
		mk_link_rel(link, group);
		return;
	case 5:
		mk_node(link, false);
		return;
	case 6:
		mk_text(link, "1\n");
		return;
	}
	mk_dirs(group);
	mk_link_rel(link, group);
	if ((how & 7) == 2)	/* a kernel with the cdev only: no group node */
		return;
	snprintf(text, sizeof(text), "%u:%u\n", GROUP_MAJOR, n);
	if ((how & 7) == 3)
		get_str(in, devnum_words, NR(devnum_words), text);
	if ((how & 7) == 7)
		mk_node(path, how & 0x80);
	else
		mk_text(path, text);
	snprintf(link, sizeof(link), "class/vfio/%u", n);
	mk_link_rel(link, node);
}

static void dev_cdev(struct in *in, const struct dev *d, unsigned int how)
{
	unsigned int x = u8(in);
	char path[REL_MAX], name[STR_MAX], text[STR_MAX];

	if (!(how & 7) || !fmt(path, sizeof(path), "%s/vfio-dev", d->loc))
		return;
	snprintf(name, sizeof(name), "vfio%u", x);
	snprintf(text, sizeof(text), "%u:%u\n", CDEV_MAJOR, x);
	switch (how & 7) {
	case 2:
		get_str(in, devnum_words, NR(devnum_words), text);
		break;
	case 3:
		get_name(in, cdev_words, NR(cdev_words), name);
		break;
	case 4:
		mk_text(path, "not a directory\n");
		return;
	case 5:		/* vfioX without dev */
		if (fmt(path, sizeof(path), "%s/vfio-dev/%s", d->loc, name))
			mk_dirs(path);
		return;
	case 6:		/* a bad entry next to a good one */
		if (fmt(path, sizeof(path), "%s/vfio-dev/vfio%u/dev", d->loc, x + 1))
			mk_text(path, "x\n");
		break;
	case 7:
		if (fmt(path, sizeof(path), "%s/vfio-dev/%s/dev", d->loc, name))
			mk_node(path, true);
		return;
	}
	if (fmt(path, sizeof(path), "%s/vfio-dev/%s/dev", d->loc, name))
		mk_text(path, text);
}

static void dev_bus_entry(const struct dev *d, const char *name, unsigned int flags)
{
	const struct parent *p = &T.parents[d->parent];
	char entry[REL_MAX], via[REL_MAX];

	if (!fmt(entry, sizeof(entry), "bus/mdev/devices/%s", name))
		return;
	if (flags & DEV_BUS_DIR) {
		mk_dirs(entry);
	} else if (flags & DEV_VIA_CLASS) {
		if (fmt(via, sizeof(via), "class/mdev_bus/%s/%s", p->name, d->name))
			mk_link_rel(entry, via);
	} else if (flags & DEV_BUS_ABSOLUTE) {
		mk_link_abs(entry, d->loc);
	} else {
		mk_link_rel(entry, d->loc);
	}
}

static void op_dev(struct in *in)
{
	unsigned int how_uuid = u8(in), pi, how_type, how_group, how_cdev, flags;
	struct dev *d = &T.devs[T.nr_devs];
	char upper[STR_MAX], real[REL_MAX];
	bool full = T.nr_devs == MAX_DEVS;
	const struct parent *p;
	size_t i;

	/* Operands are read whether or not the device is made: the program stays in step. */
	uuid_name(in, how_uuid, full ? upper : d->name);
	pi = u8(in);
	how_type = u8(in);
	how_group = u8(in);
	how_cdev = u8(in);
	flags = u8(in);
	if (full)
		return;
	p = parent_at(pi, &d->parent);
	if (!p || !fmt(d->loc, sizeof(d->loc), "%s/%s", p->loc, d->name))
		return;
	if (flags & DEV_DIR_LINK) {
		if (!fmt(real, sizeof(real), "%s/real-%s", p->loc, d->name))
			return;
		mk_link_rel(d->loc, real);
		snprintf(d->loc, sizeof(d->loc), "%s", real);
	}
	mk_dirs(d->loc);
	dev_type_link(in, d, how_type);
	dev_group(in, d, how_group);
	dev_cdev(in, d, how_cdev);
	if (flags & DEV_DIR_LINK)	/* listed by the link's name, as the kernel would */
		fmt(d->loc, sizeof(d->loc), "%s/%s", p->loc, d->name);
	if (!(flags & DEV_NOT_LISTED))
		dev_bus_entry(d, d->name, flags);
	if (flags & DEV_LISTED_TWICE) {
		snprintf(upper, sizeof(upper), "%s", d->name);
		for (i = 0; upper[i]; i++)
			upper[i] = upper_hex(upper[i]);
		dev_bus_entry(d, upper, flags & ~DEV_BUS_DIR);
	}
	if (flags & DEV_REMOVED)	/* listed, then gone before the scan follows the link */
		rm_rel(d->loc);
	T.nr_devs++;
}

/* A path operand: a base (the root, or a parent's, type's or device's directory) and names. */
static bool get_path(struct in *in, char *out, size_t size)
{
	unsigned int base = u8(in), n = 1 + u8(in) % 4, i, k = base >> 2;
	char name[STR_MAX];
	size_t len;
	bool ok;

	switch (base & 3) {
	case 1:
		ok = T.nr_parents && fmt(out, size, "%s", T.parents[k % T.nr_parents].loc);
		break;
	case 2:
		ok = T.nr_types && fmt(out, size, "%s", T.types[k % T.nr_types].loc);
		break;
	case 3:
		ok = T.nr_devs && fmt(out, size, "%s", T.devs[k % T.nr_devs].loc);
		break;
	default:
		ok = false;
		break;
	}
	if (!ok)
		out[0] = '\0';
	for (i = 0; i < n; i++) {
		get_name(in, component_words, NR(component_words), name);
		len = strlen(out);
		if (!fmt(out + len, size - len, "%s%s", len ? "/" : "", name))
			return false;
	}
	return true;
}

static void op_raw(struct in *in, int op)
{
	char path[REL_MAX], target[REL_MAX], content[STR_MAX], abs[REL_MAX + 32];
	unsigned int how;
	size_t len;
	bool ok = get_path(in, path, sizeof(path));

	switch (op) {
	case 'F':
		len = get_str(in, attr_words, NR(attr_words), content);
		if (ok)
			mk_file(path, content, len);
		break;
	case 'M':
		if (ok)
			mk_node(path, false);
		break;
	case 'Q':
		if (ok)
			mk_node(path, true);
		break;
	case 'L':
		how = u8(in);
		if (!get_path(in, target, sizeof(target)) || !ok)
			break;
		switch (how % 5) {
		case 0:
			mk_link_rel(path, target);
			break;
		case 1:
			mk_link_abs(path, target);
			break;
		case 2:	/* names below the link's own directory */
			mk_link(path, strrchr(target, '/') ? strrchr(target, '/') + 1 : target);
			break;
		case 3:
			if (fmt(abs, sizeof(abs), "/nonexistent-mdg-fuzz/%s", target))
				mk_link(path, abs);
			break;
		default:
			if (fmt(abs, sizeof(abs), "%s/", target))
				mk_link_rel(path, abs);
			break;
		}
		break;
	}
}

static void build(struct in *in, unsigned int tree)
{
	unsigned int insns = 0;
	int op;

	mk_dirs("bus/mdev/devices");
	mk_dirs("class/mdev_bus");
	mk_dirs("class/vfio");
	mk_dirs("kernel/iommu_groups");
	while (in->n && insns < MAX_INSNS) {
		op = (int)u8(in);
		insns++;
		switch (op) {
		case 'P':
			op_parent(in);
			break;
		case 'T':
			op_type(in);
			break;
		case 'D':
			op_dev(in);
			break;
		case 'F':
		case 'M':
		case 'Q':
		case 'L':
			op_raw(in, op);
			break;
		}
	}
	if (tree & TREE_NO_BUS)
		move_away("bus/mdev");
	else if (tree & TREE_BUS_FILE) {
		move_away("bus/mdev/devices");
		mk_text("bus/mdev/devices", "x");
	}
	if (tree & TREE_NO_CLASS)
		move_away("class/mdev_bus");
	else if (tree & TREE_CLASS_FILE) {
		move_away("class/mdev_bus");
		mk_text("class/mdev_bus", "x");
	}
	if (tree & TREE_ALIAS)
		mk_link("alias", ".");
}

static void warn(void *ctx, const char *f, ...)
{
	char msg[2 * PATH_MAX + 256];
	size_t *n = ctx;
	va_list ap;

	va_start(ap, f);
	vsnprintf(msg, sizeof(msg), f, ap);
	va_end(ap);
	(*n)++;
	if (verbose)
		fprintf(stderr, "warn: %s\n", msg);
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static void check_devnum(unsigned int maj, unsigned int min, const char *what)
{
	if (maj >= 1U << (32 - MDG_MINORBITS) || min >= 1U << MDG_MINORBITS)
		fail("%s number %u:%u out of range", what, maj, min);
}

static void check_dev(const struct mdg_sysfs *s, size_t i)
{
	const struct mdg_sysfs_dev *d = &s->devs[i];
	char back[MDG_UUID_LEN], upper[MDG_UUID_LEN];
	struct mdg_dev_id id;
	size_t k;

	if (!terminated(d->uuid, sizeof(d->uuid)) || !terminated(d->type, sizeof(d->type)) ||
	    !terminated(d->parent, sizeof(d->parent)) ||
	    !terminated(d->attr_raw, sizeof(d->attr_raw)) ||
	    !terminated(d->cdev_name, sizeof(d->cdev_name)))
		fail("device %zu: a string not terminated", i);
	if (mdg_uuid_parse(d->uuid, &id))
		fail("device %zu: \"%s\" is not a UUID", i, d->uuid);
	mdg_uuid_format(&id, back);
	if (strcmp(back, d->uuid))
		fail("device %s: UUID not in canonical lower case", d->uuid);
	if (i && strcmp(s->devs[i - 1].uuid, d->uuid) >= 0)
		fail("devices not sorted or listed twice: %s then %s", s->devs[i - 1].uuid, d->uuid);
	if (!d->type[0])
		fail("device %s: empty type", d->uuid);
	if ((unsigned int)d->attr > MDG_ATTR_MALFORMED)
		fail("device %s: attribute %d out of range", d->uuid, (int)d->attr);
	if (d->has_group)
		check_devnum(d->group_major, d->group_minor, "group node");
	if (d->has_cdev) {
		check_devnum(d->cdev_major, d->cdev_minor, "cdev");
		if (strncmp(d->cdev_name, "vfio", 4) || !d->cdev_name[4])
			fail("device %s: cdev name \"%s\"", d->uuid, d->cdev_name);
		for (k = 4; d->cdev_name[k]; k++) {
			if (d->cdev_name[k] < '0' || d->cdev_name[k] > '9')
				fail("device %s: cdev name \"%s\"", d->uuid, d->cdev_name);
		}
	}
	if (mdg_sysfs_find(s, d->uuid) != d)
		fail("device %s: mdg_sysfs_find() does not find it", d->uuid);
	for (k = 0; k < MDG_UUID_LEN; k++)
		upper[k] = upper_hex(back[k]);
	if (mdg_sysfs_find(s, upper) != d)
		fail("device %s: not found by its upper-case UUID", d->uuid);
}

static void check_type(const struct mdg_sysfs *s, size_t i)
{
	const struct mdg_sysfs_type *t = &s->types[i], *prev = i ? &s->types[i - 1] : NULL;
	size_t k;

	if (!terminated(t->type, sizeof(t->type)) || !terminated(t->parent, sizeof(t->parent)) ||
	    !terminated(t->name, sizeof(t->name)) || !terminated(t->attr_raw, sizeof(t->attr_raw)))
		fail("type %zu: a string not terminated", i);
	if (!t->type[0])
		fail("type %zu: empty name", i);
	if (prev) {
		int c = strcmp(prev->type, t->type);

		if (c > 0 || (!c && strcmp(prev->parent, t->parent) > 0))
			fail("types not sorted: %s/%s then %s/%s", prev->parent, prev->type,
			     t->parent, t->type);
	}
	if ((unsigned int)t->attr > MDG_ATTR_MALFORMED)
		fail("type %s: attribute %d out of range", t->type, (int)t->attr);
	for (k = 0; t->name[k]; k++) {
		if ((unsigned char)t->name[k] < 0x20 || t->name[k] == 0x7f)
			fail("type %s: control byte in its name", t->type);
	}
	if (t->available < -1)
		fail("type %s: available_instances %d", t->type, t->available);
}

static void check_result(int ret, const struct mdg_sysfs *s)
{
	size_t i;

	if (ret > 0 || ret < -4095)
		fail("returned %d, not 0 or a negative errno", ret);
	if (ret) {
		if (s->devs || s->nr_devs || s->types || s->nr_types)
			fail("failed with %d but left a result", ret);
		return;
	}
	if ((s->nr_devs && !s->devs) || (s->nr_types && !s->types))
		fail("counts without arrays");
	for (i = 0; i < s->nr_devs; i++)
		check_dev(s, i);
	for (i = 0; i < s->nr_types; i++)
		check_type(s, i);
}

static bool same_dev(const struct mdg_sysfs_dev *a, const struct mdg_sysfs_dev *b)
{
	return !strcmp(a->uuid, b->uuid) && !strcmp(a->type, b->type) &&
	       !strcmp(a->parent, b->parent) && a->attr == b->attr &&
	       !strcmp(a->attr_raw, b->attr_raw) && a->has_group == b->has_group &&
	       a->group == b->group && a->group_major == b->group_major &&
	       a->group_minor == b->group_minor && a->has_cdev == b->has_cdev &&
	       !strcmp(a->cdev_name, b->cdev_name) && a->cdev_major == b->cdev_major &&
	       a->cdev_minor == b->cdev_minor;
}

static bool same_type(const struct mdg_sysfs_type *a, const struct mdg_sysfs_type *b)
{
	return !strcmp(a->type, b->type) && !strcmp(a->parent, b->parent) &&
	       !strcmp(a->name, b->name) && a->attr == b->attr &&
	       !strcmp(a->attr_raw, b->attr_raw) && a->available == b->available;
}

/* Nothing changed in between: a second scan must see the same. */
static void check_same(int ret, const struct mdg_sysfs *a, int ret2, const struct mdg_sysfs *b)
{
	size_t i;

	if (ret != ret2 || a->nr_devs != b->nr_devs || a->nr_types != b->nr_types)
		fail("a second scan differs: %d/%zu/%zu then %d/%zu/%zu", ret, a->nr_devs,
		     a->nr_types, ret2, b->nr_devs, b->nr_types);
	for (i = 0; i < a->nr_devs; i++) {
		if (!same_dev(&a->devs[i], &b->devs[i]))
			fail("a second scan differs in device %s", a->devs[i].uuid);
	}
	for (i = 0; i < a->nr_types; i++) {
		if (!same_type(&a->types[i], &b->types[i]))
			fail("a second scan differs in type %s", a->types[i].type);
	}
}

static void dump(int ret, const struct mdg_sysfs *s)
{
	size_t i;

	fprintf(stderr, "scan: %d, %zu devices, %zu types\n", ret, s->nr_devs, s->nr_types);
	for (i = 0; i < s->nr_devs; i++) {
		const struct mdg_sysfs_dev *d = &s->devs[i];

		fprintf(stderr, "dev %s type=%s parent=%.40s attr=%s raw=%s group=%d:%u(%u:%u) "
			"cdev=%d:%s(%u:%u)\n", d->uuid, d->type, d->parent, mdg_attr_name(d->attr),
			d->attr_raw, d->has_group, d->group, d->group_major, d->group_minor,
			d->has_cdev, d->cdev_name, d->cdev_major, d->cdev_minor);
	}
	for (i = 0; i < s->nr_types; i++) {
		const struct mdg_sysfs_type *t = &s->types[i];

		fprintf(stderr, "type %s parent=%.40s name=%s attr=%s raw=%s available=%d\n",
			t->type, t->parent, t->name, mdg_attr_name(t->attr), t->attr_raw,
			t->available);
	}
}

static const char *scratch_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	return tmp && *tmp ? tmp : "/tmp";
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *v = getenv("MDG_FUZZ_VERBOSE");

	verbose = v && *v && strcmp(v, "0");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct mdg_sysfs s, s2;
	char root[PATH_MAX + 16];
	unsigned int tree;
	size_t warnings = 0;
	int ret, ret2;

	memset(&T, 0, sizeof(T));
	if (!fmt(T.root, sizeof(T.root), "%s/mdg-fuzz-XXXXXX", scratch_dir()) || !mkdtemp(T.root))
		fail("cannot make a directory under %s: %s", scratch_dir(), strerror(errno));
	T.fd = open(T.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (T.fd < 0)
		fail("cannot open %s: %s", T.root, strerror(errno));
	tree = u8(&in);
	build(&in, tree);

	snprintf(root, sizeof(root), "%s%s%s", T.root, tree & TREE_ALIAS ? "/alias" : "",
		 tree & TREE_SLASH ? "/" : "");
	ret = mdg_sysfs_scan(root, &s, tree & TREE_NO_WARN ? NULL : warn, &warnings);
	if (verbose)
		dump(ret, &s);
	check_result(ret, &s);
	if (tree & TREE_TWICE) {
		ret2 = mdg_sysfs_scan(root, &s2, warn, &warnings);
		check_same(ret, &s, ret2, &s2);
		mdg_sysfs_free(&s2);
	}
	mdg_sysfs_free(&s);
	if (s.devs || s.nr_devs || s.types || s.nr_types)
		fail("mdg_sysfs_free() left a result");
	mdg_sysfs_free(&s);

	forget_dirs();
	close(T.fd);
	if (verbose)
		fprintf(stderr, "tree kept in %s: %d, %zu warnings\n", T.root, ret, warnings);
	else
		rm_at(AT_FDCWD, T.root);
	return 0;
}
