// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/vgpufn.c and include/pciaddr.h against fixture trees laid out like sysfs:
 *
 *   ROOT/devices/pci0000:00/<addr>/{vendor,device}, driver -> ../../../bus/pci/drivers/<drv>
 *   ROOT/devices/pci0000:00/<addr>/nvidia/{current_vgpu_type,creatable_vgpu_types}
 *   ROOT/devices/pci0000:00/<addr>/iommu_group -> ../../../kernel/iommu_groups/<N>
 *   ROOT/devices/virtual/vfio/<N>/dev, ROOT/class/vfio/<N> -> ../../devices/virtual/vfio/<N>
 *   ROOT/bus/pci/devices/<addr> -> ../../../devices/pci0000:00/<addr>
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "uuid.h"
#include "vgpufn.h"

#define TYPES "ID    : vGPU Name\n11    : MDG FX1-4C\n12    : MDG FX1-8C\n13    : MDG FX2-8C\n"

struct fx {
	char root[PATH_MAX];
	size_t nr_warn;
	char last_warn[512];
	struct mdg_sysfs s;
	/* what the kernel side's count of type writes says, for one function */
	struct mdg_dev_id busy;
	__u64 started, ended;
	int seq_calls;
};

static void fmt_path(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* snprintf() that must not truncate. */
static void fmt_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < size);
}

static void capture(void *ctx, const char *fmt, ...)
{
	struct fx *f = ctx;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->last_warn, sizeof(f->last_warn), fmt, ap);
	va_end(ap);
	f->nr_warn++;
}

static void put(struct fx *f, const char *rel, const char *content)
{
	char path[PATH_MAX], dir[PATH_MAX], *slash;
	FILE *fp;

	fmt_path(path, sizeof(path), "%s/%s", f->root, rel);
	fmt_path(dir, sizeof(dir), "%s", path);
	for (slash = strchr(dir + strlen(f->root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(dir, 0755);
		*slash = '/';
	}
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(content, fp);
	assert_int_equal(fclose(fp), 0);
}

static void link_to(struct fx *f, const char *rel, const char *target)
{
	char path[PATH_MAX];

	fmt_path(path, sizeof(path), "%s/%s", f->root, rel);
	assert_int_equal(symlink(target, path), 0);
}

/* A function: ids, driver, group; layout "" for none, else current_vgpu_type's content. */
static void function(struct fx *f, const char *addr, const char *vendor, const char *device,
		     const char *driver, int group, const char *vtype, const char *creatable)
{
	char rel[PATH_MAX], target[PATH_MAX], buf[PATH_MAX];

	fmt_path(rel, sizeof(rel), "devices/pci0000:00/%s/vendor", addr);
	put(f, rel, vendor);
	fmt_path(rel, sizeof(rel), "devices/pci0000:00/%s/device", addr);
	put(f, rel, device);
	if (driver) {
		fmt_path(rel, sizeof(rel), "bus/pci/drivers/%s/bind", driver);
		put(f, rel, "");
		fmt_path(rel, sizeof(rel), "devices/pci0000:00/%s/driver", addr);
		fmt_path(target, sizeof(target), "../../../bus/pci/drivers/%s", driver);
		link_to(f, rel, target);
	}
	if (vtype) {
		fmt_path(rel, sizeof(rel), "devices/pci0000:00/%s/nvidia/current_vgpu_type", addr);
		put(f, rel, vtype);
		fmt_path(rel, sizeof(rel), "devices/pci0000:00/%s/nvidia/creatable_vgpu_types",
			 addr);
		put(f, rel, creatable);
	}
	if (group >= 0) {
		fmt_path(rel, sizeof(rel), "kernel/iommu_groups/%d/type", group);
		put(f, rel, "DMA\n");
		fmt_path(rel, sizeof(rel), "devices/pci0000:00/%s/iommu_group", addr);
		fmt_path(target, sizeof(target), "../../../kernel/iommu_groups/%d", group);
		link_to(f, rel, target);
		fmt_path(rel, sizeof(rel), "devices/virtual/vfio/%d/dev", group);
		fmt_path(buf, sizeof(buf), "243:%d\n", group);
		put(f, rel, buf);
		fmt_path(rel, sizeof(rel), "class/vfio/%d", group);
		fmt_path(target, sizeof(target), "../../devices/virtual/vfio/%d", group);
		fmt_path(buf, sizeof(buf), "%s/class", f->root);
		mkdir(buf, 0755);
		fmt_path(buf, sizeof(buf), "%s/class/vfio", f->root);
		mkdir(buf, 0755);
		link_to(f, rel, target);
	}
	fmt_path(buf, sizeof(buf), "%s/bus/pci/devices", f->root);
	mkdir(buf, 0755);
	fmt_path(rel, sizeof(rel), "bus/pci/devices/%s", addr);
	fmt_path(target, sizeof(target), "../../../devices/pci0000:00/%s", addr);
	link_to(f, rel, target);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fmt_path(f->root, sizeof(f->root), "%s/mdg-vgpufn-XXXXXX", getenv("TMPDIR") ?: "/tmp");
	assert_non_null(mkdtemp(f->root));
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	mdg_sysfs_free(&f->s);
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void seq(void *ctx, const struct mdg_dev_id *id, __u64 *started, __u64 *ended)
{
	struct fx *f = ctx;

	f->seq_calls++;
	if (id->hi == f->busy.hi && id->lo == f->busy.lo) {
		*started = f->started;
		*ended = f->ended;
	}
}

static const struct mdg_sysfs_fn *fn(const struct fx *f, const char *addr)
{
	size_t i;

	for (i = 0; i < f->s.nr_fns; i++)
		if (!strcmp(f->s.fns[i].addr, addr))
			return &f->s.fns[i];
	return NULL;
}

static const struct mdg_sysfs_dev *dev(const struct fx *f, const char *addr)
{
	return mdg_sysfs_find(&f->s, addr);
}

/* Every bus, slot and function of a few domains prints as the kernel does and parses back. */
static void test_pci_roundtrip(void **state)
{
	static const __u32 domains[] = { 0, 1, 0xffff, 0x10000, 0xffffffff };
	char name[MDG_PCI_NAME_LEN], want[MDG_PCI_NAME_LEN];
	struct mdg_dev_id id, back = { 0 };
	size_t d;
	__u32 bus, devfn;

	(void)state;
	for (d = 0; d < sizeof(domains) / sizeof(domains[0]); d++) {
		for (bus = 0; bus < 256; bus++) {
			for (devfn = 0; devfn < 256; devfn++) {
				id.hi = MDG_PCI_TAG | domains[d];
				id.lo = bus << 8 | devfn;
				mdg_pci_format(&id, name);
				snprintf(want, sizeof(want), "%04x:%02x:%02x.%d", domains[d], bus,
					 devfn >> 3, devfn & 7);
				assert_string_equal(name, want);
				assert_int_equal(mdg_pci_addr_parse(name, &back), 0);
				assert_true(back.hi == id.hi && back.lo == id.lo);
				assert_true(mdg_id_is_pci(&back));
			}
		}
	}
}

static void test_pci_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", "0000", "0000:00:03", "0000:00:03.", "0000:00:20.0", "0000:00:03.8",
		"000:00:03.0", "0000:0:03.0", "0000:000:03.0", "0000:00:3.0", "0000:00:03.00",
		"0000:00.03.0", "0000:00:03:0", "0000:00:03.0x", " 0000:00:03.0", "123456789:00:00.0",
		"0000:00:03.0\n", "g000:00:03.0", "0:03.0", "000:03.0", "11111111-2222-3333-4444-555555555555",
	};
	struct mdg_dev_id id;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mdg_pci_addr_parse(bad[i], &id) != -EINVAL)
			fail_msg("\"%s\" parsed as a PCI address", bad[i]);
	}
	/* the short form only where an operator writes it */
	assert_int_equal(mdg_pci_addr_parse("65:00.4", &id), 0);
	assert_true(id.hi == MDG_PCI_TAG && id.lo == (0x65 << 8 | 4));
	assert_int_equal(mdg_pci_addr_parse("0000:65:00.4", &id), 0);
	assert_int_equal(mdg_pci_addr_parse(NULL, &id), -EINVAL);
	/* a UUID is no function, a function no UUID */
	assert_int_equal(mdg_devid_parse("11111111-2222-3333-4444-555555555555", &id), 0);
	assert_false(mdg_id_is_pci(&id));
	assert_int_equal(mdg_devid_parse("0000:00:03.0", &id), 0);
	assert_true(mdg_id_is_pci(&id));
	assert_int_equal(mdg_devid_parse("0000:00:03.0x", &id), -EINVAL);
}

static void test_selectors(void **state)
{
	struct mdg_sysfs_fn f = { .vendor = 0x8086, .device = 0x56c0, .driver = "vfio-pci" };
	struct mdg_selector sel;
	char err[256];

	(void)state;
	assert_int_equal(mdg_pci_addr_parse("0000:03:00.1", &f.id), 0);
	assert_int_equal(mdg_selector_parse("8086:56C0", &sel, err, sizeof(err)), 0);
	assert_int_equal(sel.kind, MDG_SEL_ID);
	assert_true(mdg_selector_match(&sel, &f));
	assert_int_equal(mdg_selector_parse("8086:56c1", &sel, err, sizeof(err)), 0);
	assert_false(mdg_selector_match(&sel, &f));
	assert_int_equal(mdg_selector_parse("8086:*", &sel, err, sizeof(err)), 0);
	assert_true(mdg_selector_match(&sel, &f));
	assert_int_equal(mdg_selector_parse("03:00.1", &sel, err, sizeof(err)), 0);
	assert_int_equal(sel.kind, MDG_SEL_ADDR);
	assert_true(mdg_selector_match(&sel, &f));
	assert_int_equal(mdg_selector_parse("0000:03:00.2", &sel, err, sizeof(err)), 0);
	assert_false(mdg_selector_match(&sel, &f));
	assert_int_equal(mdg_selector_parse("driver=vfio-pci", &sel, err, sizeof(err)), 0);
	assert_true(mdg_selector_match(&sel, &f));
	assert_int_equal(mdg_selector_parse("driver=vfio", &sel, err, sizeof(err)), 0);
	assert_false(mdg_selector_match(&sel, &f));
	f.driver[0] = '\0';
	assert_int_equal(mdg_selector_parse("driver=vfio-pci", &sel, err, sizeof(err)), 0);
	assert_false(mdg_selector_match(&sel, &f));
	assert_int_equal(mdg_selector_parse("driver=", &sel, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "a driver's name is 1 to 31 characters"));
}

/*
 * The vendor's layout: a typed function is a vGPU of "nvidia-<id>", named from another
 * function's list; an untyped one is seen but not under the rule; a plain vfio-pci function is
 * nothing until a selector names it; an odd type fails closed (no current entry) with a warning.
 */
static void test_scan_layout(void **state)
{
	struct fx *f = *state;
	struct mdg_fn_opts o = { .seq = seq, .seq_ctx = f };
	const struct mdg_sysfs_fn *x;
	const struct mdg_sysfs_dev *d;

	function(f, "0000:00:03.0", "0x1b36\n", "0x0005\n", "mdg_vgpu", 3, "12\n", "");
	function(f, "0000:00:04.0", "0x1b36\n", "0x0005\n", "mdg_vgpu", 4, "0\n", TYPES);
	function(f, "0000:00:05.0", "0x1234\n", "0x11e8\n", "vfio-pci", 5, NULL, NULL);
	function(f, "0000:00:06.0", "0x1b36\n", "0x0005\n", "mdg_vgpu", 6, "twelve\n", TYPES);
	function(f, "0000:00:07.0", "0x1b36\n", "0x0005\n", "mdg_vgpu", 7, "13\n", "");

	assert_int_equal(mdg_fn_scan(f->root, &o, &f->s, capture, f), 0);
	assert_int_equal(f->s.nr_fns, 4);
	x = fn(f, "0000:00:03.0");
	assert_non_null(x);
	assert_int_equal(x->source, MDG_FN_VENDOR);
	assert_true(x->layout && x->current);
	assert_int_equal(x->vtype, 12);
	assert_string_equal(x->type, "nvidia-12");
	assert_string_equal(x->name, "MDG FX1-8C");
	assert_string_equal(x->driver, "mdg_vgpu");
	x = fn(f, "0000:00:04.0");
	assert_non_null(x);
	assert_int_equal(x->source, MDG_FN_NONE);
	assert_true(x->current);
	assert_null(fn(f, "0000:00:05.0"));
	x = fn(f, "0000:00:06.0");
	assert_non_null(x);
	assert_false(x->current);
	assert_int_equal(f->nr_warn, 1);
	assert_non_null(strstr(f->last_warn, "0000:00:06.0/nvidia/current_vgpu_type: not a vGPU type id"));

	/* only typed functions read while current are devices under the rule */
	assert_int_equal(f->s.nr_devs, 2);
	d = dev(f, "0000:00:03.0");
	assert_non_null(d);
	assert_true(d->function);
	assert_string_equal(d->type, "nvidia-12");
	assert_string_equal(d->name, "MDG FX1-8C");
	assert_int_equal(d->attr, MDG_ATTR_ABSENT);
	assert_true(d->has_group);
	assert_int_equal(d->group, 3);
	assert_int_equal(d->group_major, 243);
	assert_int_equal(d->group_minor, 3);
	assert_string_equal(d->parent, "mdg_vgpu");
	d = dev(f, "0000:00:07.0");
	assert_non_null(d);
	assert_string_equal(d->name, "MDG FX2-8C");
}

/* A type write under way, or one that began between the two looks, leaves the type not current. */
static void test_scan_write_under_way(void **state)
{
	struct fx *f = *state;
	struct mdg_fn_opts o = { .seq = seq, .seq_ctx = f };
	const struct mdg_sysfs_fn *x;

	function(f, "0000:00:03.0", "0x1b36\n", "0x0005\n", "mdg_vgpu", 3, "12\n", "");
	assert_int_equal(mdg_pci_addr_parse("0000:00:03.0", &f->busy), 0);
	f->started = 5;
	f->ended = 4;
	assert_int_equal(mdg_fn_scan(f->root, &o, &f->s, capture, f), 0);
	x = fn(f, "0000:00:03.0");
	assert_non_null(x);
	assert_false(x->current);
	assert_int_equal(f->s.nr_devs, 0);
	mdg_sysfs_free(&f->s);

	f->ended = 5;
	assert_int_equal(mdg_fn_scan(f->root, &o, &f->s, capture, f), 0);
	x = fn(f, "0000:00:03.0");
	assert_true(x->current);
	assert_int_equal(x->seq, 5);
	assert_int_equal(f->seq_calls, 4);
}

/* A selector puts a plain function under the rule, its type its IDs. */
static void test_scan_selector(void **state)
{
	struct fx *f = *state;
	struct mdg_selector sel[2];
	struct mdg_fn_opts o = { .sel = sel, .nr_sel = 2 };
	const struct mdg_sysfs_dev *d;
	char err[256];

	function(f, "0000:00:05.0", "0x8086\n", "0x56c0\n", "vfio-pci", 5, NULL, NULL);
	function(f, "0000:00:06.0", "0x8086\n", "0x56c1\n", "vfio-pci", 6, NULL, NULL);
	function(f, "0000:00:07.0", "0x1234\n", "0x11e8\n", "vfio-pci", 7, NULL, NULL);
	assert_int_equal(mdg_selector_parse("8086:56c0", &sel[0], err, sizeof(err)), 0);
	assert_int_equal(mdg_selector_parse("0000:00:06.0", &sel[1], err, sizeof(err)), 0);
	assert_int_equal(mdg_fn_scan(f->root, &o, &f->s, capture, f), 0);
	assert_int_equal(f->s.nr_fns, 2);
	assert_int_equal(f->s.nr_devs, 2);
	d = dev(f, "0000:00:05.0");
	assert_non_null(d);
	assert_string_equal(d->type, "8086:56c0");
	d = dev(f, "0000:00:06.0");
	assert_non_null(d);
	assert_string_equal(d->type, "8086:56c1");
	assert_null(dev(f, "0000:00:07.0"));
	assert_int_equal(fn(f, "0000:00:05.0")->source, MDG_FN_SELECTOR);
	assert_int_equal(f->nr_warn, 0);
}

/* A typed function lists no types: the name of its type is the one an earlier scan learnt. */
static void test_scan_names_kept(void **state)
{
	struct fx *f = *state;
	struct mdg_sysfs prev = { 0 };
	struct mdg_fn_opts o = { 0 };
	char rel[PATH_MAX];

	function(f, "0000:00:03.0", "0x1b36\n", "0x0005\n", "mdg_vgpu", 3, "12\n", "");
	function(f, "0000:00:04.0", "0x1b36\n", "0x0005\n", "mdg_vgpu", 4, "0\n", TYPES);
	assert_int_equal(mdg_fn_scan(f->root, &o, &prev, capture, f), 0);
	assert_string_equal(fn(&(struct fx){ .s = prev }, "0000:00:03.0")->name, "MDG FX1-8C");
	/* now every function is typed: nothing lists 12 */
	fmt_path(rel, sizeof(rel), "devices/pci0000:00/0000:00:04.0/nvidia/current_vgpu_type");
	put(f, rel, "11\n");
	fmt_path(rel, sizeof(rel), "devices/pci0000:00/0000:00:04.0/nvidia/creatable_vgpu_types");
	put(f, rel, "");
	o.prev = &prev;
	assert_int_equal(mdg_fn_scan(f->root, &o, &f->s, capture, f), 0);
	assert_string_equal(fn(f, "0000:00:03.0")->name, "MDG FX1-8C");
	assert_string_equal(fn(f, "0000:00:04.0")->name, "MDG FX1-4C");
	mdg_sysfs_free(&prev);
	/* and without it, the name is unknown, the type still is */
	mdg_sysfs_free(&f->s);
	o.prev = NULL;
	assert_int_equal(mdg_fn_scan(f->root, &o, &f->s, capture, f), 0);
	assert_string_equal(fn(f, "0000:00:03.0")->name, "");
	assert_string_equal(fn(f, "0000:00:03.0")->type, "nvidia-12");
}

static void test_scan_no_pci(void **state)
{
	struct fx *f = *state;

	assert_int_equal(mdg_fn_scan(f->root, NULL, &f->s, capture, f), 0);
	assert_int_equal(f->s.nr_fns, 0);
	assert_int_equal(f->nr_warn, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pci_roundtrip),
		cmocka_unit_test(test_pci_parse_bad),
		cmocka_unit_test(test_selectors),
		cmocka_unit_test_setup_teardown(test_scan_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_write_under_way, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_selector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_names_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_no_pci, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
