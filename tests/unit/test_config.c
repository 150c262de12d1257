// SPDX-License-Identifier: GPL-2.0
/* Unit tests of user/config*.c: settings, the configuration file, and restricted() precedence. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

#include "attr.h"
#include "config.h"

#define BOOL_WORDS "expected yes, no, true, false, on, off, 1 or 0"
#define TYPE_WORDS "expected an mdev type name (1 to 63 characters, no '/', no spaces)"
#define UUID_WORDS \
	"expected an mdev's UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx) or a vGPU function's PCI address (DDDD:BB:SS.F)"
#define PATH_WORDS "expected an absolute path to an executable"

#define U1 "11111111-2222-3333-4444-555555555555"
#define U2 "22222222-2222-3333-4444-555555555555"
#define U1_UPPER "11111111-2222-3333-4444-55555555AAAA"
#define U1_LOWER "11111111-2222-3333-4444-55555555aaaa"

struct fx {
	char dir[PATH_MAX];
	char path[PATH_MAX + 32];
	char err[512];
	struct mdg_policy p;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/mdg-config-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/mdevguard.conf", f->dir);
	mdg_policy_init(&f->p);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	mdg_policy_free(&f->p);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_file(struct fx *f, const char *data, size_t len)
{
	int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void load_text(struct fx *f, const char *text)
{
	write_file(f, text, strlen(text));
}

static int load(struct fx *f, const char *text)
{
	write_file(f, text, strlen(text));
	f->err[0] = '\0';
	return mdg_policy_load_file(&f->p, f->path, f->err, sizeof(f->err));
}

/* The "FILE:LINE: reason" a load failed with. */
static void assert_load_error(struct fx *f, const char *text, unsigned int line,
			      const char *reason)
{
	char want[PATH_MAX + 600];

	assert_int_equal(load(f, text), -EINVAL);
	snprintf(want, sizeof(want), "%s:%u: %s", f->path, line, reason);
	assert_string_equal(f->err, want);
}

static int set(struct fx *f, const char *key, const char *value)
{
	f->err[0] = '\0';
	return mdg_policy_set(&f->p, key, value, f->err, sizeof(f->err));
}

static void assert_set_error(struct fx *f, const char *key, const char *value,
			     const char *message)
{
	assert_int_equal(set(f, key, value), -EINVAL);
	assert_string_equal(f->err, message);
}

static void assert_list(const struct mdg_strlist *l, size_t n, ...)
{
	va_list ap;
	size_t i;

	assert_int_equal(l->n, n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		assert_string_equal(l->v[i], va_arg(ap, const char *));
	va_end(ap);
}

static void assert_default(const struct mdg_policy *p)
{
	assert_int_equal(p->mode, MDG_MODE_EXCLUSIVE);
	assert_false(p->audit);
	assert_false(p->absent_restricted);
	assert_int_equal(p->deny_errno, EPERM);
	assert_int_equal(p->restrict_types.n, 0);
	assert_int_equal(p->allow_types.n, 0);
	assert_int_equal(p->restrict_devices.n, 0);
	assert_int_equal(p->allow_devices.n, 0);
	assert_int_equal(p->brokers.n, 0);
}

/* ---- single settings ---- */

static void test_defaults(void **state)
{
	struct fx *f = *state;

	assert_default(&f->p);
	assert_null(f->p.restrict_types.v);
}

static void test_mode(void **state)
{
	struct fx *f = *state;

	assert_int_equal(set(f, "mode", "per-type"), 0);
	assert_int_equal(f->p.mode, MDG_MODE_PER_TYPE);
	assert_int_equal(set(f, "mode", "exclusive"), 0);
	assert_int_equal(f->p.mode, MDG_MODE_EXCLUSIVE);
	assert_int_equal(set(f, "mode", "per-type"), 0);
	assert_set_error(f, "mode", "Exclusive",
			 "bad value 'Exclusive' for mode: expected exclusive or per-type");
	assert_set_error(f, "mode", "per_type",
			 "bad value 'per_type' for mode: expected exclusive or per-type");
	assert_set_error(f, "mode", "", "bad value '' for mode: expected exclusive or per-type");
	assert_set_error(f, "mode", NULL, "missing value for mode");
	assert_int_equal(f->p.mode, MDG_MODE_PER_TYPE);	/* unchanged by errors */
}

static void test_audit(void **state)
{
	static const struct {
		const char *v;
		bool on;
	} ok[] = {
		{ "yes", true }, { "no", false }, { "true", true }, { "false", false },
		{ "on", true }, { "off", false }, { "1", true }, { "0", false },
		{ "YES", true }, { "False", false }, { "On", true }, { "OFF", false },
	};
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		f->p.audit = !ok[i].on;
		assert_int_equal(set(f, "audit", ok[i].v), 0);
		if (f->p.audit != ok[i].on)
			fail_msg("audit = %s gave %d", ok[i].v, f->p.audit);
	}
	f->p.audit = false;
	assert_int_equal(set(f, "audit", NULL), 0);	/* --audit */
	assert_true(f->p.audit);
	assert_set_error(f, "audit", "maybe",
			 "bad value 'maybe' for audit: " BOOL_WORDS);
	assert_set_error(f, "audit", "2",
			 "bad value '2' for audit: " BOOL_WORDS);
	assert_set_error(f, "audit", "",
			 "bad value '' for audit: " BOOL_WORDS);
	assert_true(f->p.audit);
}

static void test_absent(void **state)
{
	struct fx *f = *state;

	assert_int_equal(set(f, "absent", "restricted"), 0);
	assert_true(f->p.absent_restricted);
	assert_int_equal(set(f, "absent", "unrestricted"), 0);
	assert_false(f->p.absent_restricted);
	assert_set_error(f, "absent", "strict",
			 "bad value 'strict' for absent: expected restricted or unrestricted");
	assert_set_error(f, "absent", "Restricted",
			 "bad value 'Restricted' for absent: expected restricted or unrestricted");
	assert_set_error(f, "absent", NULL, "missing value for absent");
	assert_false(f->p.absent_restricted);
}

static void test_errno(void **state)
{
	struct fx *f = *state;

	assert_int_equal(set(f, "errno", "EACCES"), 0);
	assert_int_equal(f->p.deny_errno, EACCES);
	assert_int_equal(set(f, "errno", "EBUSY"), 0);
	assert_int_equal(f->p.deny_errno, EBUSY);
	assert_int_equal(set(f, "errno", "EPERM"), 0);
	assert_int_equal(f->p.deny_errno, EPERM);
	assert_set_error(f, "errno", "ENOENT",
			 "bad value 'ENOENT' for errno: expected EPERM, EACCES or EBUSY");
	assert_set_error(f, "errno", "1",
			 "bad value '1' for errno: expected EPERM, EACCES or EBUSY");
	assert_set_error(f, "errno", "eperm",
			 "bad value 'eperm' for errno: expected EPERM, EACCES or EBUSY");
	assert_int_equal(f->p.deny_errno, EPERM);
}

static void test_types(void **state)
{
	static const char *const bad[] = { "", "a/b", "a b", "a\tb", "/", ".", "..", "a\x01" };
	struct fx *f = *state;
	char long_ok[MDG_TYPE_LEN], too_long[MDG_TYPE_LEN + 1], want[256];
	size_t i;

	memset(long_ok, 'x', sizeof(long_ok) - 1);
	long_ok[sizeof(long_ok) - 1] = '\0';
	memset(too_long, 'y', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';

	assert_int_equal(set(f, "restrict-type", "nvidia-63"), 0);
	assert_int_equal(set(f, "restrict-type", "i915-GVTg_V5_4"), 0);
	assert_int_equal(set(f, "allow-type", "mtty-2"), 0);
	assert_int_equal(set(f, "allow-type", long_ok), 0);
	assert_list(&f->p.restrict_types, 2, "nvidia-63", "i915-GVTg_V5_4");
	assert_list(&f->p.allow_types, 2, "mtty-2", long_ok);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(set(f, "restrict-type", bad[i]), -EINVAL);
		assert_non_null(strstr(f->err, "for restrict-type: expected an mdev type name"));
		assert_int_equal(set(f, "allow-type", bad[i]), -EINVAL);
		assert_non_null(strstr(f->err, "for allow-type: expected an mdev type name"));
	}
	snprintf(want, sizeof(want),
		 "bad value '%s' for restrict-type: " TYPE_WORDS,
		 too_long);
	assert_set_error(f, "restrict-type", too_long, want);
	assert_set_error(f, "restrict-type", "a\x01",
			 "bad value 'a\\x01' for restrict-type: " TYPE_WORDS);
	assert_set_error(f, "allow-type", NULL, "missing value for allow-type");
	assert_int_equal(f->p.restrict_types.n, 2);
	assert_int_equal(f->p.allow_types.n, 2);
}

static void test_devices(void **state)
{
	static const char *const bad[] = {
		"", "nope", U1 "0", "11111111-2222-3333-4444-55555555555", "{" U1 "}",
		"11111111222233334444555555555555", "g1111111-2222-3333-4444-555555555555",
		"0000:00:20.0", "0000:00:03.8", "000:00:03.0", "0000:00:03", "1:00.0", "0000:00:03.0 ",
	};
	struct fx *f = *state;
	size_t i;

	assert_int_equal(set(f, "restrict-device", U1_UPPER), 0);
	assert_int_equal(set(f, "allow-device", U2), 0);
	assert_list(&f->p.restrict_devices, 1, U1_LOWER);
	assert_list(&f->p.allow_devices, 1, U2);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(set(f, "restrict-device", bad[i]), -EINVAL);
		assert_non_null(strstr(f->err, "for restrict-device: expected an mdev's UUID"));
		assert_int_equal(set(f, "allow-device", bad[i]), -EINVAL);
		assert_non_null(strstr(f->err, "for allow-device: expected an mdev's UUID"));
	}
	assert_set_error(f, "allow-device", "nope",
			 "bad value 'nope' for allow-device: " UUID_WORDS);
	assert_int_equal(f->p.restrict_devices.n, 1);
	assert_int_equal(f->p.allow_devices.n, 1);
	/* vGPU functions by address, as the kernel names them whatever the case or form */
	assert_int_equal(set(f, "restrict-device", "0000:0A:1F.7"), 0);
	assert_int_equal(set(f, "allow-device", "65:00.4"), 0);
	assert_int_equal(set(f, "restrict-device", "10000:00:01.0"), 0);
	assert_list(&f->p.restrict_devices, 3, U1_LOWER, "0000:0a:1f.7", "10000:00:01.0");
	assert_list(&f->p.allow_devices, 2, U2, "0000:65:00.4");
}

static void test_compatible(void **state)
{
	struct fx *f = *state;

	assert_int_equal(set(f, "compatible", "nvidia-11, nvidia-12 ,nvidia-14"), 0);
	assert_int_equal(set(f, "compatible", "mdg_fixture-single,mdg_fixture-single-b,mdg_fixture-single"), 0);
	assert_list(&f->p.compatible, 2, "nvidia-11,nvidia-12,nvidia-14",
		    "mdg_fixture-single,mdg_fixture-single-b");
	assert_int_equal(mdg_policy_class(&f->p, "nvidia-12"), 1);
	assert_int_equal(mdg_policy_class(&f->p, "nvidia-1"), 0);
	assert_int_equal(mdg_policy_class(&f->p, "nvidia-14"), 1);
	assert_int_equal(mdg_policy_class(&f->p, "mdg_fixture-single-b"), 2);
	assert_int_equal(mdg_policy_class(&f->p, "mdg_fixture-single"), 2);
	assert_int_equal(mdg_policy_class(&f->p, "mdg_fixture"), 0);
	assert_set_error(f, "compatible", "nvidia-13,nvidia-12",
			 "compatible: type nvidia-12 is already in the class nvidia-11,nvidia-12,nvidia-14");
	assert_set_error(f, "compatible", "nvidia-13",
			 "bad value 'nvidia-13' for compatible: expected two or more type names, comma-separated (each 1 to 63 characters, no '/', no spaces)");
	assert_set_error(f, "compatible", "nvidia-13,nvidia-13",
			 "bad value 'nvidia-13,nvidia-13' for compatible: expected two or more type names, comma-separated (each 1 to 63 characters, no '/', no spaces)");
	assert_int_equal(set(f, "compatible", "a b,c"), -EINVAL);
	assert_int_equal(set(f, "compatible", ",,"), -EINVAL);
	assert_int_equal(f->p.compatible.n, 2);
}

static void test_vgpu_functions(void **state)
{
	static const char *const bad[] = {
		"", "10de", "10de:", "10de:25b", "10DE:25B6x", "ffff:1234", "driver=",
		"driver=a/b", "driver=has space", "driver=abcdefghijklmnopqrstuvwxyz0123456", "0000:00:20.0", "nvidia",
	};
	struct fx *f = *state;
	size_t i;

	assert_int_equal(set(f, "vgpu-function", "8086:56c0"), 0);
	assert_int_equal(set(f, "vgpu-function", "1002:*"), 0);
	assert_int_equal(set(f, "vgpu-function", "0000:65:00.4"), 0);
	assert_int_equal(set(f, "vgpu-function", "driver=i915"), 0);
	assert_int_equal(set(f, "vgpu-function", "8086:56c0"), 0);
	assert_list(&f->p.vgpu_functions, 4, "8086:56c0", "1002:*", "0000:65:00.4", "driver=i915");
	assert_set_error(f, "vgpu-function", "driver=xe",
			 "vgpu-function: at most 4 selectors");
	mdg_policy_free(&f->p);
	mdg_policy_init(&f->p);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(set(f, "vgpu-function", bad[i]), -EINVAL);
		assert_non_null(strstr(f->err, "vgpu-function: "));
	}
	assert_set_error(f, "vgpu-function", "10de",
			 "vgpu-function: \"10de\" is not a vGPU function selector (VENDOR:DEVICE or VENDOR:* in hex, a PCI address DDDD:BB:SS.F, or driver=NAME)");
	assert_int_equal(f->p.vgpu_functions.n, 0);
}

static void test_brokers(void **state)
{
	struct fx *f = *state;

	assert_int_equal(set(f, "broker", "/usr/sbin/libvirtd"), 0);
	assert_int_equal(set(f, "broker", "/usr/sbin/virtqemud"), 0);
	assert_int_equal(set(f, "broker", "/usr/sbin/libvirtd"), 0);
	assert_list(&f->p.brokers, 2, "/usr/sbin/libvirtd", "/usr/sbin/virtqemud");
	assert_set_error(f, "broker", "libvirtd",
			 "bad value 'libvirtd' for broker: " PATH_WORDS);
	assert_set_error(f, "broker", "./libvirtd",
			 "bad value './libvirtd' for broker: " PATH_WORDS);
	assert_set_error(f, "broker", "",
			 "bad value '' for broker: " PATH_WORDS);
	assert_set_error(f, "broker", NULL, "missing value for broker");
	assert_int_equal(f->p.brokers.n, 2);
}

static void test_unknown_key(void **state)
{
	struct fx *f = *state;

	assert_set_error(f, "modes", "exclusive", "unknown key 'modes'");
	assert_set_error(f, "--mode", "exclusive", "unknown key '--mode'");
	assert_set_error(f, "", "x", "unknown key ''");
	assert_set_error(f, "Mode", "exclusive", "unknown key 'Mode'");
	assert_int_equal(mdg_policy_set(&f->p, NULL, "x", f->err, sizeof(f->err)), -EINVAL);
	assert_int_equal(mdg_policy_set(&f->p, "x", "y", NULL, 0), -EINVAL);	/* no err buffer */
	assert_default(&f->p);
}

#define QUOTED 64	/* characters of a bad value an error repeats */

static void test_error_value_quoted(void **state)
{
	struct fx *f = *state;
	char big[300];

	assert_set_error(f, "mode", "a\nb\x7f",
			 "bad value 'a\\x0ab\\x7f' for mode: expected exclusive or per-type");
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(set(f, "mode", big), -EINVAL);
	/* 64 characters of the value, then "..." */
	memset(big, 'z', QUOTED);
	strcpy(big + QUOTED, "...'");
	assert_non_null(strstr(f->err, big));
	memset(big, 'z', QUOTED + 1);
	big[QUOTED + 1] = '\0';
	assert_null(strstr(f->err, big));
	/* a short buffer is cut, never overrun */
	f->err[5] = 'Q';
	assert_int_equal(mdg_policy_set(&f->p, "mode", "bad", f->err, 5), -EINVAL);
	assert_string_equal(f->err, "bad ");
	assert_int_equal(f->err[5], 'Q');
}

static void test_duplicates(void **state)
{
	struct fx *f = *state;

	assert_int_equal(set(f, "restrict-type", "a"), 0);
	assert_int_equal(set(f, "restrict-type", "a"), 0);
	assert_int_equal(set(f, "restrict-type", "b"), 0);
	assert_int_equal(set(f, "restrict-type", "a"), 0);
	assert_list(&f->p.restrict_types, 2, "a", "b");
	assert_int_equal(set(f, "allow-device", U1_LOWER), 0);
	assert_int_equal(set(f, "allow-device", U1_UPPER), 0);	/* same UUID */
	assert_list(&f->p.allow_devices, 1, U1_LOWER);
	assert_int_equal(set(f, "restrict-type", "A"), 0);	/* type names are case-sensitive */
	assert_list(&f->p.restrict_types, 3, "a", "b", "A");
}

static void test_allow_vs_restrict(void **state)
{
	struct fx *f = *state;

	assert_int_equal(set(f, "restrict-type", "x"), 0);
	assert_int_equal(set(f, "restrict-type", "y"), 0);
	assert_int_equal(set(f, "allow-type", "x"), 0);
	assert_list(&f->p.restrict_types, 1, "y");
	assert_list(&f->p.allow_types, 1, "x");
	assert_int_equal(set(f, "restrict-type", "x"), 0);
	assert_list(&f->p.restrict_types, 2, "y", "x");
	assert_list(&f->p.allow_types, 0);

	assert_int_equal(set(f, "allow-device", U1_LOWER), 0);
	assert_int_equal(set(f, "restrict-device", U1_UPPER), 0);
	assert_list(&f->p.allow_devices, 0);
	assert_list(&f->p.restrict_devices, 1, U1_LOWER);
	assert_int_equal(set(f, "allow-device", U1_UPPER), 0);
	assert_list(&f->p.allow_devices, 1, U1_LOWER);
	assert_list(&f->p.restrict_devices, 0);
}

/* ---- the file ---- */

static void test_file_every_key(void **state)
{
	struct fx *f = *state;

	assert_int_equal(load(f,
			      "# mdevguard configuration\n"
			      "\n"
			      "mode = per-type\n"
			      "audit = yes\n"
			      "absent = restricted\n"
			      "restrict-type = nvidia-63\n"
			      "restrict-type = nvidia-64\n"
			      "allow-type = mtty-2\n"
			      "restrict-device = " U1_UPPER "\n"
			      "allow-device = " U2 "\n"
			      "broker = /usr/sbin/libvirtd\n"
			      "errno = EBUSY\n"), 0);
	assert_string_equal(f->err, "");
	assert_int_equal(f->p.mode, MDG_MODE_PER_TYPE);
	assert_true(f->p.audit);
	assert_true(f->p.absent_restricted);
	assert_int_equal(f->p.deny_errno, EBUSY);
	assert_list(&f->p.restrict_types, 2, "nvidia-63", "nvidia-64");
	assert_list(&f->p.allow_types, 1, "mtty-2");
	assert_list(&f->p.restrict_devices, 1, U1_LOWER);
	assert_list(&f->p.allow_devices, 1, U2);
	assert_list(&f->p.brokers, 1, "/usr/sbin/libvirtd");
}

static void test_file_whitespace_and_comments(void **state)
{
	struct fx *f = *state;

	assert_int_equal(load(f,
			      "   # indented comment\n"
			      "\t\n"
			      "mode=per-type\n"
			      "  restrict-type\t=\tnvidia-63   # trailing comment\n"
			      "restrict-type = a#b\n"		/* '#' inside a value is kept */
			      "restrict-type = c\t#comment\n"
			      "allow-type =d # e # f\n"
			      "audit = off\r\n"			/* CRLF */
			      "   \n"
			      "#mode = exclusive\n"
			      "errno = EACCES"), 0);		/* last line without newline */
	assert_int_equal(f->p.mode, MDG_MODE_PER_TYPE);
	assert_false(f->p.audit);
	assert_int_equal(f->p.deny_errno, EACCES);
	assert_list(&f->p.restrict_types, 3, "nvidia-63", "a#b", "c");
	assert_list(&f->p.allow_types, 1, "d");
}

static void test_file_empty_and_bom(void **state)
{
	struct fx *f = *state;

	assert_int_equal(load(f, ""), 0);
	assert_default(&f->p);
	assert_int_equal(load(f, "\n\n# only comments\n"), 0);
	assert_default(&f->p);
	assert_int_equal(load(f, "\xef\xbb\xbfmode = per-type\n"), 0);
	assert_int_equal(f->p.mode, MDG_MODE_PER_TYPE);
}

static void test_file_unknown_key(void **state)
{
	struct fx *f = *state;

	assert_load_error(f, "mode = exclusive\n# c\nfoo = bar\n", 3, "unknown key 'foo'");
	assert_load_error(f, "--mode = exclusive\n", 1, "unknown key '--mode'");
	assert_load_error(f, "restrict type = x\n", 1, "unknown key 'restrict type'");
	assert_load_error(f, "foo =\n", 1, "unknown key 'foo'");
}

static void test_file_bad_values(void **state)
{
	struct fx *f = *state;

	assert_load_error(f, "\nmode = strict\n", 2,
			  "bad value 'strict' for mode: expected exclusive or per-type");
	assert_load_error(f, "audit = maybe # hmm\n", 1,
			  "bad value 'maybe' for audit: " BOOL_WORDS);
	assert_load_error(f, "absent = sometimes\n", 1,
			  "bad value 'sometimes' for absent: expected restricted or unrestricted");
	assert_load_error(f, "errno = ENOENT\n", 1,
			  "bad value 'ENOENT' for errno: expected EPERM, EACCES or EBUSY");
	assert_load_error(f, "a=b\n", 1, "unknown key 'a'");
	assert_load_error(f, "restrict-device = 1234\n", 1,
			  "bad value '1234' for restrict-device: " UUID_WORDS);
	assert_load_error(f, "broker = usr/bin/x\n", 1,
			  "bad value 'usr/bin/x' for broker: " PATH_WORDS);
	assert_load_error(f, "restrict-type = a b\n", 1,
			  "bad value 'a b' for restrict-type: " TYPE_WORDS);
	assert_load_error(f, "mode = = per-type\n", 1,
			  "bad value '= per-type' for mode: expected exclusive or per-type");
}

static void test_file_syntax_errors(void **state)
{
	struct fx *f = *state;

	assert_load_error(f, "mode exclusive\n", 1,
			  "missing '=' after 'mode exclusive' (expected key = value)");
	assert_load_error(f, "# ok\naudit\n", 2,
			  "missing '=' after 'audit' (expected key = value)");
	assert_load_error(f, "audit # on\n", 1, "missing '=' after 'audit' (expected key = value)");
	assert_load_error(f, " = x\n", 1, "missing key before '='");
	assert_load_error(f, "mode =\n", 1, "missing value for mode");
	assert_load_error(f, "mode =   # nothing\n", 1, "missing value for mode");
	assert_load_error(f, "audit = \n", 1, "missing value for audit");
}

static void test_file_long_lines(void **state)
{
	struct fx *f = *state;
	size_t max = MDG_CONFIG_LINE_MAX;
	char *text = malloc(2 * max + 64);
	char want[256];

	assert_non_null(text);
	/* exactly the limit: a comment line of max characters is fine */
	memset(text, ' ', max);
	text[max - 1] = '#';
	strcpy(text + max, "\nmode = per-type\n");
	assert_int_equal(load(f, text), 0);
	assert_int_equal(f->p.mode, MDG_MODE_PER_TYPE);
	/* one more on line 2 is an error naming the line */
	strcpy(text, "mode = exclusive\n");
	memset(text + 17, '#', max + 1);
	strcpy(text + 17 + max + 1, "\nmode = exclusive\n");
	snprintf(want, sizeof(want), "line longer than %zu characters", max);
	assert_load_error(f, text, 2, want);
	assert_int_equal(f->p.mode, MDG_MODE_PER_TYPE);
	free(text);
}

static void test_file_nul_byte(void **state)
{
	struct fx *f = *state;
	char want[PATH_MAX + 64];

	write_file(f, "mode = per-type\nmode = ex\0clusive\n", 34);
	assert_int_equal(mdg_policy_load_file(&f->p, f->path, f->err, sizeof(f->err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: NUL byte in line", f->path);
	assert_string_equal(f->err, want);
	assert_default(&f->p);
}

static void test_file_unreadable(void **state)
{
	struct fx *f = *state;
	char want[PATH_MAX + 64];

	assert_int_equal(mdg_policy_load_file(&f->p, f->path, f->err, sizeof(f->err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", f->path);
	assert_string_equal(f->err, want);
	assert_int_equal(mdg_policy_load_file(&f->p, f->dir, f->err, sizeof(f->err)), -EISDIR);
	snprintf(want, sizeof(want), "%s: Is a directory", f->dir);
	assert_string_equal(f->err, want);
	assert_int_equal(mdg_policy_load_file(&f->p, NULL, f->err, sizeof(f->err)), -EINVAL);
	assert_default(&f->p);
}

/* A file that fails halfway leaves the policy as it was: safe for a reload. */
static void test_file_error_keeps_policy(void **state)
{
	struct fx *f = *state;

	assert_int_equal(set(f, "restrict-type", "kept"), 0);
	assert_int_equal(set(f, "broker", "/bin/kept"), 0);
	assert_load_error(f,
			  "mode = per-type\n"
			  "restrict-type = new\n"
			  "allow-type = kept\n"
			  "audit = yes\n"
			  "errno = EBUSY\n"
			  "bogus = 1\n", 6, "unknown key 'bogus'");
	assert_int_equal(f->p.mode, MDG_MODE_EXCLUSIVE);
	assert_false(f->p.audit);
	assert_int_equal(f->p.deny_errno, EPERM);
	assert_list(&f->p.restrict_types, 1, "kept");
	assert_list(&f->p.allow_types, 0);
	assert_list(&f->p.brokers, 1, "/bin/kept");
	/* and a good file adds to what is there */
	assert_int_equal(load(f, "restrict-type = new\nallow-type = kept\n"), 0);
	assert_list(&f->p.restrict_types, 1, "new");
	assert_list(&f->p.allow_types, 1, "kept");
	assert_list(&f->p.brokers, 1, "/bin/kept");
}

/* How main() applies settings: the file first, then the command line. */
static void test_file_then_command_line(void **state)
{
	struct fx *f = *state;

	assert_int_equal(load(f,
			      "mode = per-type\n"
			      "audit = yes\n"
			      "errno = EBUSY\n"
			      "restrict-type = nvidia-63\n"
			      "allow-type = mtty-2\n"
			      "allow-device = " U1 "\n"
			      "restrict-device = " U2 "\n"
			      "broker = /usr/sbin/libvirtd\n"), 0);
	assert_int_equal(set(f, "mode", "exclusive"), 0);
	assert_int_equal(set(f, "errno", "EACCES"), 0);
	assert_int_equal(set(f, "allow-type", "nvidia-63"), 0);
	assert_int_equal(set(f, "restrict-type", "mtty-2"), 0);
	assert_int_equal(set(f, "restrict-device", U1), 0);
	assert_int_equal(set(f, "allow-device", U2), 0);
	assert_int_equal(set(f, "broker", "/usr/sbin/virtqemud"), 0);
	assert_int_equal(f->p.mode, MDG_MODE_EXCLUSIVE);
	assert_int_equal(f->p.deny_errno, EACCES);
	assert_true(f->p.audit);
	assert_list(&f->p.restrict_types, 1, "mtty-2");
	assert_list(&f->p.allow_types, 1, "nvidia-63");
	assert_list(&f->p.restrict_devices, 1, U1);
	assert_list(&f->p.allow_devices, 1, U2);
	assert_list(&f->p.brokers, 2, "/usr/sbin/libvirtd", "/usr/sbin/virtqemud");
}

static void test_policy_free_resets(void **state)
{
	struct fx *f = *state;

	assert_int_equal(load(f, "mode = per-type\naudit = 1\nabsent = restricted\n"
			      "errno = EBUSY\nrestrict-type = a\nallow-type = b\n"
			      "restrict-device = " U1 "\nallow-device = " U2 "\nbroker = /x\n"), 0);
	mdg_policy_free(&f->p);
	assert_default(&f->p);
	assert_null(f->p.brokers.v);
	mdg_policy_free(&f->p);
	mdg_policy_free(NULL);
}

/* ---- restricted() ---- */

static struct mdg_sysfs_dev make_dev(const char *uuid, const char *type, enum mdg_attr attr)
{
	struct mdg_sysfs_dev d;

	memset(&d, 0, sizeof(d));
	snprintf(d.uuid, sizeof(d.uuid), "%s", uuid);
	snprintf(d.type, sizeof(d.type), "%s", type);
	d.attr = attr;
	return d;
}

static void test_restricted_sysfs(void **state)
{
	struct fx *f = *state;
	struct mdg_sysfs_dev d;
	enum mdg_reason r;

	d = make_dev(U1, "t", MDG_ATTR_YES);
	assert_true(mdg_policy_restricted(&f->p, &d, &r));
	assert_int_equal(r, MDG_REASON_SYSFS_Y);
	d.attr = MDG_ATTR_NO;
	assert_false(mdg_policy_restricted(&f->p, &d, &r));
	assert_int_equal(r, MDG_REASON_SYSFS_N);
	d.attr = MDG_ATTR_MALFORMED;
	assert_true(mdg_policy_restricted(&f->p, &d, &r));
	assert_int_equal(r, MDG_REASON_MALFORMED);
	d.attr = MDG_ATTR_ABSENT;
	assert_false(mdg_policy_restricted(&f->p, &d, &r));
	assert_int_equal(r, MDG_REASON_ABSENT);
	f->p.absent_restricted = true;
	assert_true(mdg_policy_restricted(&f->p, &d, &r));
	assert_int_equal(r, MDG_REASON_ABSENT);
	assert_true(mdg_policy_restricted(&f->p, &d, NULL));	/* reason optional */
}

static void put(struct mdg_policy *p, const char *key, const char *value)
{
	char err[256];

	if (mdg_policy_set(p, key, value, err, sizeof(err)))
		fail_msg("%s = %s: %s", key, value, err);
}

/*
 * Every combination of attribute, type override, device override and absent default against
 * the table of the header: device override > type override > Y/N > malformed > absent.
 */
static void test_restricted_precedence(void **state)
{
	static const enum mdg_attr attrs[] = {
		MDG_ATTR_YES, MDG_ATTR_NO, MDG_ATTR_ABSENT, MDG_ATTR_MALFORMED,
	};
	enum { NONE, RESTRICT, ALLOW };
	int a, t, dv, absent, other;
	size_t n = 0;

	for (a = 0; a < 4; a++)
	for (t = NONE; t <= ALLOW; t++)
	for (dv = NONE; dv <= ALLOW; dv++)
	for (absent = 0; absent < 2; absent++)
	for (other = 0; other < 2; other++) {
		struct mdg_sysfs_dev d = make_dev(U1, "gpu", attrs[a]);
		enum mdg_reason want_r, r = 99;
		struct mdg_policy p;
		bool want;

		mdg_policy_init(&p);
		p.absent_restricted = absent;
		/* overrides of other types and devices must not matter */
		if (other) {
			put(&p, "allow-type", "gpu2");
			put(&p, "restrict-type", "gp");
			put(&p, "allow-device", U2);
		}
		if (t != NONE)
			put(&p, t == ALLOW ? "allow-type" : "restrict-type", "gpu");
		if (dv != NONE)
			put(&p, dv == ALLOW ? "allow-device" : "restrict-device", U1);

		if (dv != NONE) {
			want = dv == RESTRICT;
			want_r = MDG_REASON_DEVICE_OVERRIDE;
		} else if (t != NONE) {
			want = t == RESTRICT;
			want_r = MDG_REASON_TYPE_OVERRIDE;
		} else if (attrs[a] == MDG_ATTR_YES || attrs[a] == MDG_ATTR_NO) {
			want = attrs[a] == MDG_ATTR_YES;
			want_r = want ? MDG_REASON_SYSFS_Y : MDG_REASON_SYSFS_N;
		} else if (attrs[a] == MDG_ATTR_MALFORMED) {
			want = true;
			want_r = MDG_REASON_MALFORMED;
		} else {
			want = absent;
			want_r = MDG_REASON_ABSENT;
		}
		if (mdg_policy_restricted(&p, &d, &r) != want || r != want_r)
			fail_msg("attr %s, type override %d, device override %d, absent %d: got %s",
				 mdg_attr_name(attrs[a]), t, dv, absent, mdg_reason_name(r));
		mdg_policy_free(&p);
		n++;
	}
	assert_int_equal(n, 4 * 3 * 3 * 2 * 2);
}

static void test_restricted_device_case(void **state)
{
	struct fx *f = *state;
	struct mdg_sysfs_dev d = make_dev(U1_UPPER, "t", MDG_ATTR_YES);
	enum mdg_reason r;

	assert_int_equal(set(f, "allow-device", U1_LOWER), 0);
	assert_false(mdg_policy_restricted(&f->p, &d, &r));
	assert_int_equal(r, MDG_REASON_DEVICE_OVERRIDE);
}

/* ---- names ---- */

static void test_names(void **state)
{
	enum mdg_mode m = MDG_MODE_PER_TYPE;
	int e = 0;

	assert_string_equal(mdg_mode_name(MDG_MODE_EXCLUSIVE), "exclusive");
	assert_string_equal(mdg_mode_name(MDG_MODE_PER_TYPE), "per-type");
	assert_int_equal(mdg_mode_parse("exclusive", &m), 0);
	assert_int_equal(m, MDG_MODE_EXCLUSIVE);
	assert_int_equal(mdg_mode_parse("per-type", &m), 0);
	assert_int_equal(m, MDG_MODE_PER_TYPE);
	assert_int_equal(mdg_mode_parse("pertype", &m), -EINVAL);
	assert_int_equal(mdg_mode_parse(NULL, &m), -EINVAL);
	assert_int_equal(m, MDG_MODE_PER_TYPE);

	assert_string_equal(mdg_reason_name(MDG_REASON_SYSFS_Y), "sysfs-Y");
	assert_string_equal(mdg_reason_name(MDG_REASON_SYSFS_N), "sysfs-N");
	assert_string_equal(mdg_reason_name(MDG_REASON_ABSENT), "absent-default");
	assert_string_equal(mdg_reason_name(MDG_REASON_MALFORMED), "malformed");
	assert_string_equal(mdg_reason_name(MDG_REASON_TYPE_OVERRIDE), "type-override");
	assert_string_equal(mdg_reason_name(MDG_REASON_DEVICE_OVERRIDE), "device-override");

	assert_string_equal(mdg_errno_name(EPERM), "EPERM");
	assert_string_equal(mdg_errno_name(EACCES), "EACCES");
	assert_string_equal(mdg_errno_name(EBUSY), "EBUSY");
	assert_string_equal(mdg_errno_name(ENOENT), "unknown");
	assert_int_equal(mdg_errno_parse("EBUSY", &e), 0);
	assert_int_equal(e, EBUSY);
	assert_int_equal(mdg_errno_parse("EACCES", &e), 0);
	assert_int_equal(e, EACCES);
	assert_int_equal(mdg_errno_parse("EIO", &e), -EINVAL);
	assert_int_equal(e, EACCES);
}

/*
 * A reload (SIGHUP) builds the whole policy again, file then command line: one that fails to
 * parse leaves the policy in force exactly as it was, command-line settings included.
 */
static void test_build_failure_keeps_policy(void **state)
{
	static const struct mdg_setting cli[] = {
		{ "restrict-type", "mdg_fixture-multi" },
		{ "errno", "EBUSY" },
	};
	struct fx *f = *state;
	enum mdg_reason why;

	load_text(f, "absent = restricted\nmode = per-type\n");
	assert_int_equal(mdg_policy_build(&f->p, f->path, cli, 2, f->err, sizeof(f->err)), 0);
	assert_int_equal(f->p.mode, MDG_MODE_PER_TYPE);
	assert_true(f->p.absent_restricted);
	assert_int_equal(f->p.deny_errno, EBUSY);
	assert_true(mdg_policy_type_restricted(&f->p, "mdg_fixture-multi", MDG_ATTR_NO, &why));
	assert_int_equal(why, MDG_REASON_TYPE_OVERRIDE);

	load_text(f, "absent = restricted\nmode = nonsense\n");
	assert_int_equal(mdg_policy_build(&f->p, f->path, cli, 2, f->err, sizeof(f->err)),
			 -EINVAL);
	assert_non_null(strstr(f->err, ":2: "));
	assert_int_equal(f->p.mode, MDG_MODE_PER_TYPE);
	assert_true(f->p.absent_restricted);
	assert_int_equal(f->p.deny_errno, EBUSY);
	assert_true(mdg_policy_type_restricted(&f->p, "mdg_fixture-multi", MDG_ATTR_NO, &why));

	/* a bad command-line setting is reported as such, and changes nothing either */
	static const struct mdg_setting bad[] = { { "mode", "sideways" } };
	load_text(f, "# nothing\n");
	assert_int_equal(mdg_policy_build(&f->p, f->path, bad, 1, f->err, sizeof(f->err)),
			 -EINVAL);
	assert_non_null(strstr(f->err, "--mode: "));
	assert_int_equal(f->p.mode, MDG_MODE_PER_TYPE);
	assert_int_equal(f->p.deny_errno, EBUSY);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_build_failure_keeps_policy),
		T(test_mode),
		T(test_audit),
		T(test_absent),
		T(test_errno),
		T(test_types),
		T(test_devices),
		T(test_vgpu_functions),
		T(test_compatible),
		T(test_brokers),
		T(test_unknown_key),
		T(test_error_value_quoted),
		T(test_duplicates),
		T(test_allow_vs_restrict),
		T(test_file_every_key),
		T(test_file_whitespace_and_comments),
		T(test_file_empty_and_bom),
		T(test_file_unknown_key),
		T(test_file_bad_values),
		T(test_file_syntax_errors),
		T(test_file_long_lines),
		T(test_file_nul_byte),
		T(test_file_unreadable),
		T(test_file_error_keeps_policy),
		T(test_file_then_command_line),
		T(test_policy_free_resets),
		T(test_restricted_sysfs),
		T(test_restricted_precedence),
		T(test_restricted_device_case),
		T(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
