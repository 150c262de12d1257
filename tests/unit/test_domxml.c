// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/domxml.c: libvirt domain XMLs, good and bad, and documents that try to make
 * the parser read a file or the network through an entity.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "domxml.h"

#define U1 "c2177883-f1bb-47f0-914d-32a22e3a8804"
#define U2 "0c5a4d35-0f0c-4b6a-9f8e-6a4c3f1c0a01"
#define SECRET "mdg-secret-4f1e2d"

#define MDEV(u) \
	"    <hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci'>\n" \
	"      <source>\n" \
	"        <address uuid='" u "'/>\n" \
	"      </source>\n" \
	"    </hostdev>\n"

static char err[1024];

static int parse(const char *xml, struct mdg_domxml *d)
{
	err[0] = '\0';
	return mdg_domxml_parse(xml, strlen(xml), "dom.xml", d, err, sizeof(err));
}

/* Bad input: an error, one line containing want, nothing left in d. */
static void bad(const char *xml, const char *want)
{
	struct mdg_domxml d;

	assert_int_not_equal(parse(xml, &d), 0);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
	assert_null(strchr(err, '\n'));
	assert_null(d.name);
	assert_null(d.uuids);
	assert_int_equal(d.nr_uuids, 0);
}

static void test_two_mdevs_in_order(void **state)
{
	const char *xml = "<domain type='kvm'>\n"
			  "  <name>vm-one</name>\n"
			  "  <uuid>11111111-2222-3333-4444-555555555555</uuid>\n"
			  "  <devices>\n" MDEV("C2177883-F1BB-47F0-914D-32A22E3A8804")
			  "    <hostdev mode='subsystem' type='pci' managed='yes'>\n"
			  "      <source><address domain='0x0000' bus='0x3b' slot='0x00' "
			  "function='0x0'/></source>\n"
			  "    </hostdev>\n"
			  "    <interface type='network'><source network='default'/></interface>\n"
			  MDEV(U2) "  </devices>\n"
			  "</domain>\n";
	struct mdg_domxml d;

	assert_int_equal(parse(xml, &d), 0);
	assert_string_equal(d.name, "vm-one");
	assert_int_equal(d.nr_uuids, 2);
	assert_string_equal(d.uuids[0], U1);	/* lower case */
	assert_string_equal(d.uuids[1], U2);
	assert_int_equal(d.nr_pcis, 1);
	assert_string_equal(d.pcis[0], "0000:3b:00.0");
	mdg_domxml_free(&d);
	assert_null(d.name);
	assert_null(d.pcis);
}

/* PCI hostdevs as libvirt writes them: hex or decimal, domain optional, in document order. */
static void test_pci_hostdevs(void **state)
{
	const char *xml =
		"<domain><name>vgpus</name><devices>"
		"<hostdev mode='subsystem' type='pci' managed='yes'><source><address "
		"domain='0x0000' bus='0x65' slot='0x00' function='0x4'/></source></hostdev>"
		"<hostdev type='pci'><source><address bus='101' slot='0x1f' function='7'/>"
		"</source></hostdev>"
		"<hostdev mode='subsystem' type='pci'><source><address domain='0x10000' bus='0x00' "
		"slot='0x01' function='0x0'/></source></hostdev>"
		"</devices></domain>";
	struct mdg_domxml d;

	(void)state;
	assert_int_equal(parse(xml, &d), 0);
	assert_int_equal(d.nr_uuids, 0);
	assert_int_equal(d.nr_pcis, 3);
	assert_string_equal(d.pcis[0], "0000:65:00.4");
	assert_string_equal(d.pcis[1], "0000:65:1f.7");
	assert_string_equal(d.pcis[2], "10000:00:01.0");
	mdg_domxml_free(&d);
	bad("<domain><name>x</name><devices>\n<hostdev type='pci'><source><address bus='0x00' "
	    "slot='0x20' function='0'/></source></hostdev></devices></domain>",
	    "dom.xml:2: <hostdev type='pci'> has no <source><address bus= slot= function=/>");
	bad("<domain><name>x</name><devices><hostdev type='pci'><source><address bus='0x00' "
	    "slot='0x01'/></source></hostdev></devices></domain>", "has no <source><address bus=");
	bad("<domain><name>x</name><devices><hostdev type='pci'><source><address bus='-1' "
	    "slot='0x01' function='0'/></source></hostdev></devices></domain>", "of a PCI function");
	bad("<domain><name>x</name><devices><hostdev type='pci'><source><address bus='0x1' "
	    "slot='0x01' function='0 '/></source></hostdev></devices></domain>", "of a PCI function");
	bad("<domain><name>x</name><devices><hostdev type='pci'/></devices></domain>",
	    "<hostdev type='pci'> has no");
}

static void test_no_mdev(void **state)
{
	struct mdg_domxml d;

	assert_int_equal(parse("<domain><name>plain</name><devices><disk type='file'/>"
			       "</devices></domain>", &d), 0);
	assert_string_equal(d.name, "plain");
	assert_int_equal(d.nr_uuids, 0);
	mdg_domxml_free(&d);
	assert_int_equal(parse("<domain><name>empty</name></domain>", &d), 0);
	assert_int_equal(d.nr_uuids, 0);
	mdg_domxml_free(&d);
}

/* Other hostdevs, other modes, hostdevs outside <devices> and in other namespaces: ignored. */
static void test_others_ignored(void **state)
{
	const char *xml =
		"<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
		"<name>x</name>"
		"<hostdev type='mdev'><source><address uuid='" U2 "'/></source></hostdev>"
		"<devices>"
		"<hostdev mode='capabilities' type='mdev'><source><address uuid='bad'/></source>"
		"</hostdev>"
		"<hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/></source>"
		"</hostdev>"
		"<hostdev mode='subsystem' type='scsi_host'><source protocol='vhost'/></hostdev>"
		"<qemu:hostdev type='mdev'/>"
		"<hostdev type='mdev'><source><address uuid='" U1 "'/></source></hostdev>"
		"</devices></domain>";
	struct mdg_domxml d;

	assert_int_equal(parse(xml, &d), 0);
	assert_int_equal(d.nr_uuids, 1);	/* no mode: subsystem, as libvirt reads it */
	assert_string_equal(d.uuids[0], U1);
	mdg_domxml_free(&d);
}

static void test_name_control_chars(void **state)
{
	struct mdg_domxml d;

	assert_int_equal(parse("<domain><name>a&#10;b\tc</name></domain>", &d), 0);
	assert_string_equal(d.name, "a?b?c");
	mdg_domxml_free(&d);
}

static void test_not_xml(void **state)
{
	bad("this is not XML", "dom.xml:1: not well-formed XML");
	bad("", "dom.xml:1: not well-formed XML");
	bad("<domain><name>x</name>\n<devices>\n</domain>", "dom.xml:3: not well-formed XML");
	bad("<domain><name>x</name></domain><domain/>", "not well-formed XML");
}

static void test_not_a_domain(void **state)
{
	bad("<network><name>default</name></network>", "dom.xml:1: root element <network> is not "
	    "<domain>");
	bad("<d:domain xmlns:d='urn:x'><name>x</name></d:domain>", "is not <domain>");
	bad("<domain>\n<devices/></domain>", "dom.xml:1: <domain> has no <name>");
	bad("<domain>\n<name></name></domain>", "dom.xml:2: <domain> has no <name>");
}

static void test_mdev_without_uuid(void **state)
{
	bad("<domain><name>x</name><devices>\n<hostdev mode='subsystem' type='mdev'/>"
	    "</devices></domain>", "dom.xml:2: <hostdev type='mdev'> has no <source><address");
	bad("<domain><name>x</name><devices><hostdev mode='subsystem' type='mdev'>\n<source>"
	    "\n<address/></source></hostdev></devices></domain>",
	    "dom.xml:3: <hostdev type='mdev'> has no");
}

static void test_bad_uuid(void **state)
{
	bad("<domain><name>x</name><devices><hostdev mode='subsystem' type='mdev'><source>\n\n"
	    "<address uuid='c2177883-f1bb-47f0-914d-32a22e3a880'/></source></hostdev></devices>"
	    "</domain>", "dom.xml:3: <address uuid='c2177883-f1bb-47f0-914d-32a22e3a880'> of a "
	    "mdev hostdev is not a UUID");
	bad("<domain><name>x</name><devices><hostdev type='mdev'><source><address uuid='"
	    U1 " '/></source></hostdev></devices></domain>", "is not a UUID");
}

static void test_too_large(void **state)
{
	size_t len = MDG_DOMXML_MAX_SIZE + 1;
	char *big = malloc(len);
	struct mdg_domxml d;

	assert_non_null(big);
	memset(big, ' ', len);
	assert_int_equal(mdg_domxml_parse(big, len, "big.xml", &d, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "big.xml: larger than 4 MiB"));
	free(big);
}

/* A file whose content must never show up in a result or an error. */
static void secret_file(char *path, size_t size)
{
	int fd;

	snprintf(path, size, "%s/mdg-domxml-secret-XXXXXX", getenv("TMPDIR") ?: "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, SECRET, strlen(SECRET)), (ssize_t)strlen(SECRET));
	close(fd);
}

static void no_secret(const char *xml)
{
	struct mdg_domxml d;

	if (!parse(xml, &d)) {
		assert_null(strstr(d.name, SECRET));
		mdg_domxml_free(&d);
		fail_msg("a document with entities was accepted");
	}
	assert_null(strstr(err, SECRET));
}

static void test_xxe_refused(void **state)
{
	char path[4096], xml[8192];

	secret_file(path, sizeof(path));
	/* an external general entity in text and in an attribute */
	snprintf(xml, sizeof(xml),
		 "<?xml version='1.0'?>\n<!DOCTYPE domain [<!ENTITY x SYSTEM 'file://%s'>]>\n"
		 "<domain><name>&x;</name></domain>", path);
	no_secret(xml);
	assert_non_null(strstr(err, "dom.xml: has a DOCTYPE"));
	snprintf(xml, sizeof(xml),
		 "<!DOCTYPE domain [<!ENTITY x SYSTEM '%s'>]><domain><name>n</name><devices>"
		 "<hostdev type='mdev'><source><address uuid='&x;'/></source></hostdev>"
		 "</devices></domain>", path);
	no_secret(xml);
	/* an external parameter entity, an external DTD, over the network too */
	snprintf(xml, sizeof(xml),
		 "<!DOCTYPE domain [<!ENTITY %% p SYSTEM 'file://%s'> %%p;]>"
		 "<domain><name>n</name></domain>", path);
	no_secret(xml);
	snprintf(xml, sizeof(xml), "<!DOCTYPE domain SYSTEM 'file://%s'><domain><name>n</name>"
		 "</domain>", path);
	no_secret(xml);
	no_secret("<!DOCTYPE domain SYSTEM 'http://127.0.0.1:9/d.dtd'><domain><name>n</name>"
		  "</domain>");
	/* an XInclude is only an element: not followed */
	snprintf(xml, sizeof(xml), "<domain xmlns:xi='http://www.w3.org/2001/XInclude'><name>"
		 "<xi:include href='file://%s' parse='text'/></name></domain>", path);
	no_secret(xml);
	/* an undeclared entity is not well-formed */
	bad("<domain><name>&x;</name></domain>", "Entity 'x' not defined");
	unlink(path);
}

static void test_billion_laughs(void **state)
{
	struct mdg_domxml d;
	char xml[4096];
	int i, n;

	n = snprintf(xml, sizeof(xml), "<!DOCTYPE domain [<!ENTITY a0 'lol'>");
	for (i = 1; i < 10; i++)
		n += snprintf(xml + n, sizeof(xml) - n, "<!ENTITY a%d '&a%d;&a%d;&a%d;&a%d;&a%d;"
			      "&a%d;&a%d;&a%d;&a%d;&a%d;'>", i, i - 1, i - 1, i - 1, i - 1, i - 1,
			      i - 1, i - 1, i - 1, i - 1, i - 1);
	snprintf(xml + n, sizeof(xml) - n, "]><domain><name>&a9;</name></domain>");
	assert_int_not_equal(parse(xml, &d), 0);
}

static void test_read_file_and_errors(void **state)
{
	char path[4096];
	struct mdg_domxml d;
	const char *xml = "<domain><name>f</name><devices>" MDEV(U1) "</devices></domain>";
	int fd;

	snprintf(path, sizeof(path), "%s/mdg-domxml-XXXXXX", getenv("TMPDIR") ?: "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, xml, strlen(xml)), (ssize_t)strlen(xml));
	close(fd);
	assert_int_equal(mdg_domxml_read(path, &d, err, sizeof(err)), 0);
	assert_string_equal(d.name, "f");
	assert_int_equal(d.nr_uuids, 1);
	mdg_domxml_free(&d);
	unlink(path);

	assert_int_equal(mdg_domxml_read(path, &d, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "cannot open"));
	assert_int_equal(mdg_domxml_read("/", &d, err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, "/: cannot read"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_mdevs_in_order),
		cmocka_unit_test(test_no_mdev),
		cmocka_unit_test(test_pci_hostdevs),
		cmocka_unit_test(test_others_ignored),
		cmocka_unit_test(test_name_control_chars),
		cmocka_unit_test(test_not_xml),
		cmocka_unit_test(test_not_a_domain),
		cmocka_unit_test(test_mdev_without_uuid),
		cmocka_unit_test(test_bad_uuid),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_xxe_refused),
		cmocka_unit_test(test_billion_laughs),
		cmocka_unit_test(test_read_file_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
