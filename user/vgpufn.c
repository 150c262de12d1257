// SPDX-License-Identifier: GPL-2.0
/*
 * vGPU functions from sysfs. NVIDIA's vendor-specific VFIO driver (vGPU 17 and later, and the
 * upstream nvidia-vgpu-vfio-pci variant driver, drivers/vfio/pci/nvidia-vgpu/vfio_sysfs.c)
 * gives each SR-IOV function an "nvidia" directory:
 *   current_vgpu_type      "%lu\n", the type's id, 0 for none; written to set it (EBUSY while
 *                          the function is open, 0 clears it)
 *   creatable_vgpu_types   "ID    : vGPU Name\n", then "%-5d : %s\n" per type on offer; empty
 *                          once the function has a type
 * so the name of a function's own type is learnt from the other functions' lists, or from an
 * earlier scan.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "uuid.h"
#include "vgpufn.h"

const char *const mdg_vgpu_drivers[] = { "nvidia", "nvidia-vgpu-vfio-pci" };
const size_t mdg_nr_vgpu_drivers = sizeof(mdg_vgpu_drivers) / sizeof(mdg_vgpu_drivers[0]);

#define LAYOUT		"nvidia"
#define TYPES_BUF	8192

struct fnscan {
	const struct mdg_fn_opts *o;
	mdg_warn_fn warn;
	void *ctx;
	struct mdg_vgpu_name *names;
	size_t nr_names;
};

/* src cut to size: names read from links, which sysfs keeps short */
static void copy_cut(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}


static int hex4(const char *s, size_t len, unsigned int *v)
{
	size_t i;
	int d;

	if (len != 4)
		return -EINVAL;
	*v = 0;
	for (i = 0; i < len; i++) {
		d = mdg_pci_hex(s[i]);
		if (d < 0)
			return -EINVAL;
		*v = *v << 4 | (unsigned int)d;
	}
	return 0;
}

int mdg_selector_parse(const char *s, struct mdg_selector *sel, char *err, size_t errlen)
{
	const char *colon;
	unsigned int v = 0, d = 0;

	memset(sel, 0, sizeof(*sel));
	if (!s || !*s) {
		snprintf(err, errlen, "an empty vGPU function selector");
		return -EINVAL;
	}
	if (!strncmp(s, "driver=", 7)) {
		if (!s[7] || strlen(s + 7) >= sizeof(sel->driver) || strpbrk(s + 7, "/ \t")) {
			snprintf(err, errlen,
				 "\"%s\": a driver's name is 1 to %zu characters, without '/' or blanks",
				 s, sizeof(sel->driver) - 1);
			return -EINVAL;
		}
		sel->kind = MDG_SEL_DRIVER;
		memcpy(sel->driver, s + 7, strlen(s + 7));
		return 0;
	}
	colon = strchr(s, ':');
	if (colon && !hex4(s, (size_t)(colon - s), &v) &&
	    (!strcmp(colon + 1, "*") || !hex4(colon + 1, strlen(colon + 1), &d))) {
		sel->kind = MDG_SEL_ID;
		sel->vendor = (__u16)v;
		sel->device = strcmp(colon + 1, "*") ? (__u16)d : 0xffff;
		if (v == 0xffff) {
			snprintf(err, errlen, "\"%s\": ffff is no vendor", s);
			return -EINVAL;
		}
		return 0;
	}
	if (!mdg_pci_addr_parse(s, &sel->addr)) {
		sel->kind = MDG_SEL_ADDR;
		return 0;
	}
	snprintf(err, errlen,
		 "\"%s\" is not a vGPU function selector (VENDOR:DEVICE or VENDOR:* in hex, a PCI address DDDD:BB:SS.F, or driver=NAME)",
		 s);
	return -EINVAL;
}

bool mdg_selector_match(const struct mdg_selector *sel, const struct mdg_sysfs_fn *f)
{
	switch (sel->kind) {
	case MDG_SEL_ID:
		return sel->vendor == f->vendor && (sel->device == 0xffff || sel->device == f->device);
	case MDG_SEL_ADDR:
		return sel->addr.hi == f->id.hi && sel->addr.lo == f->id.lo;
	case MDG_SEL_DRIVER:
		return f->driver[0] && strlen(f->driver) < sizeof(sel->driver) &&
		       !strcmp(sel->driver, f->driver);
	default:
		return false;
	}
}

/* "0x10de\n" as sysfs prints a PCI ID. */
static int read_id(const char *dir, const char *file, unsigned int *v)
{
	char path[PATH_MAX], buf[16];
	ssize_t n;

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	n = mdg_read_small(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return (int)n;
	while (n && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	if (n != 6 || buf[0] != '0' || buf[1] != 'x' || hex4(buf + 2, 4, v))
		return -EINVAL;
	return 0;
}

/* The last component of the link dir/name points to, into out; false when there is none. */
static bool link_base(const char *dir, const char *name, char *out, size_t size)
{
	char path[PATH_MAX], link[PATH_MAX];
	const char *base;
	ssize_t n;

	out[0] = '\0';
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return false;
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return false;
	link[n] = '\0';
	base = strrchr(link, '/');
	copy_cut(out, size, base ? base + 1 : link);
	return true;
}

/* A decimal type id "%lu\n"; -EINVAL for anything else. */
static int parse_vtype(const char *buf, size_t len, unsigned long *v)
{
	size_t i;

	while (len && buf[len - 1] == '\n')
		len--;
	if (!len || len > 10)
		return -EINVAL;
	*v = 0;
	for (i = 0; i < len; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -EINVAL;
		*v = *v * 10 + (unsigned long)(buf[i] - '0');
	}
	return 0;
}

static const char *name_of(const struct fnscan *s, unsigned long id)
{
	size_t i;

	for (i = 0; i < s->nr_names; i++) {
		if (s->names[i].id == id)
			return s->names[i].name;
	}
	return NULL;
}

static int add_name(struct fnscan *s, unsigned long id, const char *name, size_t len)
{
	struct mdg_vgpu_name *v;

	if (!len || name_of(s, id))
		return 0;
	v = realloc(s->names, (s->nr_names + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->names = v;
	v += s->nr_names++;
	v->id = id;
	if (len >= sizeof(v->name))
		len = sizeof(v->name) - 1;
	memcpy(v->name, name, len);
	v->name[len] = '\0';
	return 0;
}

/* The lines of a creatable_vgpu_types, each "ID : NAME"; the header and odd lines are skipped. */
static int learn_names(struct fnscan *s, const char *buf, size_t len)
{
	const char *line = buf, *end = buf + len, *nl, *colon, *name;
	unsigned long id;
	size_t n;
	int ret;

	for (; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			nl = end;
		colon = memchr(line, ':', (size_t)(nl - line));
		if (!colon)
			continue;
		n = (size_t)(colon - line);
		while (n && line[n - 1] == ' ')
			n--;
		if (parse_vtype(line, n, &id) || !id)
			continue;
		for (name = colon + 1; name < nl && *name == ' '; name++)
			;
		n = (size_t)(nl - name);
		while (n && (name[n - 1] == ' ' || name[n - 1] == '\r'))
			n--;
		ret = add_name(s, id, name, n);
		if (ret)
			return ret;
	}
	return 0;
}

static void read_seq(const struct fnscan *s, const struct mdg_dev_id *id, __u64 *started,
		     __u64 *ended)
{
	*started = *ended = 0;
	if (s->o && s->o->seq)
		s->o->seq(s->o->seq_ctx, id, started, ended);
}

/*
 * The vendor's type of f, read between two looks at the kernel side's count of writes to it:
 * the type is current when no write began or was under way meanwhile.
 */
static void read_layout(struct fnscan *s, const char *dir, struct mdg_sysfs_fn *f)
{
	char path[PATH_MAX], buf[32];
	__u64 s1, e1, s2, e2;
	ssize_t n;

	read_seq(s, &f->id, &s1, &e1);
	if (snprintf(path, sizeof(path), "%s/" LAYOUT "/current_vgpu_type", dir) >=
	    (int)sizeof(path))
		return;
	n = mdg_read_small(path, buf, sizeof(buf));
	if (n < 0) {
		if (s->warn)
			s->warn(s->ctx,
				"%s: cannot read: %s; its function fails closed until it can",
				path, strerror((int)-n));
		return;
	}
	if (parse_vtype(buf, (size_t)n, &f->vtype)) {
		if (s->warn)
			s->warn(s->ctx, "%s: not a vGPU type id; its function fails closed until it is",
				path);
		return;
	}
	read_seq(s, &f->id, &s2, &e2);
	f->current = s1 == e1 && s1 == s2 && e1 == e2;
	f->seq = s1;
	if (!f->vtype)
		return;
	f->source = MDG_FN_VENDOR;
	snprintf(f->type, sizeof(f->type), LAYOUT "-%lu", f->vtype);
}

static int read_creatable(struct fnscan *s, const char *dir)
{
	char path[PATH_MAX], *buf;
	ssize_t n;
	int ret = 0;

	if (snprintf(path, sizeof(path), "%s/" LAYOUT "/creatable_vgpu_types", dir) >=
	    (int)sizeof(path))
		return 0;
	buf = malloc(TYPES_BUF);
	if (!buf)
		return -ENOMEM;
	n = mdg_read_small(path, buf, TYPES_BUF);
	if (n > 0)
		ret = learn_names(s, buf, (size_t)n);
	free(buf);
	return ret;
}

static bool selected(const struct fnscan *s, const struct mdg_sysfs_fn *f)
{
	size_t i;

	for (i = 0; s->o && i < s->o->nr_sel; i++) {
		if (mdg_selector_match(&s->o->sel[i], f))
			return true;
	}
	return false;
}

static int add_fn(struct mdg_sysfs *out, const struct mdg_sysfs_fn *f)
{
	struct mdg_sysfs_fn *v = realloc(out->fns, (out->nr_fns + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	out->fns = v;
	v[out->nr_fns++] = *f;
	return 0;
}

/* One entry of bus/pci/devices: recorded when it is a vGPU function; 0 or -ENOMEM. */
static int scan_fn(struct fnscan *s, const char *bus, const char *name, struct mdg_sysfs *out)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct mdg_sysfs_fn f;

	memset(&f, 0, sizeof(f));
	/* the kernel's own name only: not lspci's short form */
	if (strlen(name) >= sizeof(f.addr) || strlen(name) < 12 || mdg_pci_addr_parse(name, &f.id))
		return 0;
	snprintf(f.addr, sizeof(f.addr), "%s", name);
	if (snprintf(dir, sizeof(dir), "%s/%s", bus, name) >= (int)sizeof(dir))
		return 0;
	if (read_id(dir, "vendor", &f.vendor) || read_id(dir, "device", &f.device))
		return 0;	/* gone, or not a PCI device as sysfs prints them */
	link_base(dir, "driver", f.driver, sizeof(f.driver));
	if (snprintf(path, sizeof(path), "%s/" LAYOUT "/current_vgpu_type", dir) <
	    (int)sizeof(path) && !access(path, F_OK)) {
		f.layout = true;
		if (read_creatable(s, dir))
			return -ENOMEM;
		read_layout(s, dir, &f);
	} else if (selected(s, &f)) {
		__u64 e;

		f.source = MDG_FN_SELECTOR;
		snprintf(f.type, sizeof(f.type), "%04x:%04x", f.vendor, f.device);
		read_seq(s, &f.id, &f.seq, &e);
		f.current = f.seq == e;
	} else {
		return 0;
	}
	return add_fn(out, &f);
}

/* Names learnt earlier stay known: a typed function lists nothing, its type may be the last. */
static int seed_names(struct fnscan *s)
{
	const struct mdg_sysfs *prev = s->o ? s->o->prev : NULL;
	size_t i;
	int ret;

	for (i = 0; prev && i < prev->nr_vnames; i++) {
		ret = add_name(s, prev->vnames[i].id, prev->vnames[i].name,
			       strlen(prev->vnames[i].name));
		if (ret)
			return ret;
	}
	return 0;
}

/* The physical function of an SR-IOV function, or else its driver: list's parent column. */
static void parent_of(const char *dir, const struct mdg_sysfs_fn *f, char *out, size_t size)
{
	if (!link_base(dir, "physfn", out, size))
		snprintf(out, size, "%s", f->driver[0] ? f->driver : "-");
}

int mdg_fn_scan(const char *root, const struct mdg_fn_opts *o, struct mdg_sysfs *out,
		mdg_warn_fn warn, void *ctx)
{
	struct fnscan s = { .o = o, .warn = warn, .ctx = ctx };
	char bus[PATH_MAX], dir[PATH_MAX];
	struct dirent *e;
	size_t i, first = out->nr_fns;
	DIR *dp;
	int ret = 0;

	if (snprintf(bus, sizeof(bus), "%s/bus/pci/devices", root) >= (int)sizeof(bus))
		return 0;
	dp = opendir(bus);
	if (!dp)
		return 0;
	ret = seed_names(&s);
	for (errno = 0; !ret && (e = readdir(dp)); errno = 0)
		ret = scan_fn(&s, bus, e->d_name, out);
	closedir(dp);
	for (i = first; !ret && i < out->nr_fns; i++) {
		struct mdg_sysfs_fn *f = &out->fns[i];
		struct mdg_sysfs_dev d;
		const char *n;

		n = f->vtype ? name_of(&s, f->vtype) : NULL;
		if (n)
			snprintf(f->name, sizeof(f->name), "%s", n);
		if (f->source == MDG_FN_NONE || !f->current)
			continue;
		memset(&d, 0, sizeof(d));
		snprintf(d.uuid, sizeof(d.uuid), "%s", f->addr);
		snprintf(d.type, sizeof(d.type), "%s", f->type);
		snprintf(d.name, sizeof(d.name), "%s", f->name);
		d.attr = MDG_ATTR_ABSENT;
		d.function = true;
		if (snprintf(dir, sizeof(dir), "%s/%s", bus, f->addr) < (int)sizeof(dir)) {
			parent_of(dir, f, d.parent, sizeof(d.parent));
			mdg_sysfs_nodes(root, dir, &d, warn, ctx);
		}
		ret = mdg_sysfs_add_dev(out, &d);
	}
	if (!ret) {
		free(out->vnames);
		out->vnames = s.names;
		out->nr_vnames = s.nr_names;
		mdg_sysfs_sort(out);
	} else {
		free(s.names);
	}
	return ret;
}
