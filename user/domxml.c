// SPDX-License-Identifier: GPL-2.0
/*
 * A libvirt domain XML, read with libxml2 for the UUIDs of its mdev host devices (domxml.h).
 *
 * The input comes from whoever starts a domain, so the parser is held to the document itself:
 * XML_PARSE_NONET, no DTD loaded, no entity substituted, an external entity loader that loads
 * nothing, libxml2's default size limits (no XML_PARSE_HUGE), and a document with a DOCTYPE is
 * refused outright. libxml2's own messages are not printed: the first error becomes one line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "log.h"
#include "domxml.h"
#include "pciaddr.h"
#include "uuid.h"

#define PARSE_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | \
		       XML_PARSE_BIG_LINES)

/* Every external entity, DTD or XInclude libxml2 might be asked to fetch: none is. */
static xmlParserInputPtr load_nothing(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	return NULL;
}

static void say_nothing(void *ctx, const char *msg, ...)
{
}

/* A copy of s for one line of output: control characters as '?', at most max bytes. */
static char *printable(const char *s, size_t max)
{
	size_t len = strnlen(s, max), i;
	char *p = malloc(len + 1);

	if (!p)
		return NULL;
	for (i = 0; i < len; i++)
		p[i] = (char)((unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i]);
	p[len] = '\0';
	return p;
}

static bool is_element(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !n->ns && !strcmp((const char *)n->name, name);
}

static const xmlNode *child(const xmlNode *parent, const char *name)
{
	const xmlNode *n;

	for (n = parent->children; n; n = n->next) {
		if (is_element(n, name))
			return n;
	}
	return NULL;
}

/* The attribute's value equals want; an absent attribute is dflt. */
static bool prop_is(const xmlNode *n, const char *attr, const char *want, bool dflt)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)attr);
	bool eq;

	if (!v)
		return dflt;
	eq = !strcmp((const char *)v, want);
	xmlFree(v);
	return eq;
}

static int add_uuid(struct mdg_domxml *out, const struct mdg_dev_id *id)
{
	char (*u)[MDG_UUID_LEN];

	u = realloc(out->uuids, (out->nr_uuids + 1) * sizeof(*u));
	if (!u)
		return -ENOMEM;
	out->uuids = u;
	mdg_uuid_format(id, u[out->nr_uuids++]);
	return 0;
}

/* One <hostdev type='mdev'>: its <source><address uuid='...'/></source>. */
static int read_hostdev(const xmlNode *h, const char *what, struct mdg_domxml *out, char *err,
			size_t errlen)
{
	const xmlNode *src = child(h, "source"), *addr = src ? child(src, "address") : NULL;
	struct mdg_dev_id id;
	xmlChar *uuid;
	char *shown;
	int ret;

	uuid = addr ? xmlGetNoNsProp(addr, (const xmlChar *)"uuid") : NULL;
	if (!uuid) {
		mdg_set_err(err, errlen,
			"%s:%ld: <hostdev type='mdev'> has no <source><address uuid='...'/>", what,
			xmlGetLineNo(addr ? addr : src ? src : h));
		return -EINVAL;
	}
	if (mdg_uuid_parse((const char *)uuid, &id)) {
		shown = printable((const char *)uuid, 64);
		mdg_set_err(err, errlen, "%s:%ld: <address uuid='%s'> of a mdev hostdev is not a UUID",
			what, xmlGetLineNo(addr), shown ? shown : "?");
		free(shown);
		xmlFree(uuid);
		return -EINVAL;
	}
	xmlFree(uuid);
	if (out->nr_uuids == MDG_DOMXML_MAX_MDEVS) {
		mdg_set_err(err, errlen, "%s:%ld: more than %u mdev hostdevs", what, xmlGetLineNo(h),
			MDG_DOMXML_MAX_MDEVS);
		return -E2BIG;
	}
	ret = add_uuid(out, &id);
	if (ret)
		mdg_set_err(err, errlen, "%s: out of memory", what);
	return ret;
}

/* One of a PCI address's attributes, libvirt's way: hex with 0x, or decimal; absent is dflt. */
static int pci_field(const xmlNode *addr, const char *attr, unsigned long max, long dflt,
		     unsigned long *v)
{
	xmlChar *s = xmlGetNoNsProp(addr, (const xmlChar *)attr);
	char *end;
	int ret = 0;

	if (!s) {
		if (dflt < 0)
			return -ENOENT;
		*v = (unsigned long)dflt;
		return 0;
	}
	errno = 0;
	*v = strtoul((const char *)s, &end, 0);
	if (errno || end == (char *)s || *end || *v > max || s[0] == '-' || s[0] == '+' ||
	    s[0] == ' ')
		ret = -EINVAL;
	xmlFree(s);
	return ret;
}

/* One <hostdev type='pci'>: its <source><address domain= bus= slot= function=/>. */
static int read_pci_hostdev(const xmlNode *h, const char *what, struct mdg_domxml *out,
			    char *err, size_t errlen)
{
	const xmlNode *src = child(h, "source"), *addr = src ? child(src, "address") : NULL;
	unsigned long dom, bus, slot, fn;
	struct mdg_dev_id id;
	char (*p)[MDG_UUID_LEN];

	if (!addr || pci_field(addr, "domain", 0xffffffffUL, 0, &dom) ||
	    pci_field(addr, "bus", 0xff, -1, &bus) || pci_field(addr, "slot", 0x1f, -1, &slot) ||
	    pci_field(addr, "function", 7, -1, &fn)) {
		mdg_set_err(err, errlen,
			"%s:%ld: <hostdev type='pci'> has no <source><address bus= slot= function=/> of a PCI function (domain up to 0xffffffff, bus 0xff, slot 0x1f, function 7)",
			what, xmlGetLineNo(addr ? addr : src ? src : h));
		return -EINVAL;
	}
	if (out->nr_pcis == MDG_DOMXML_MAX_MDEVS) {
		mdg_set_err(err, errlen, "%s:%ld: more than %u PCI hostdevs", what, xmlGetLineNo(h),
			MDG_DOMXML_MAX_MDEVS);
		return -E2BIG;
	}
	p = realloc(out->pcis, (out->nr_pcis + 1) * sizeof(*p));
	if (!p) {
		mdg_set_err(err, errlen, "%s: out of memory", what);
		return -ENOMEM;
	}
	out->pcis = p;
	id.hi = MDG_PCI_TAG | dom;
	id.lo = bus << 8 | slot << 3 | fn;
	mdg_uuid_format(&id, p[out->nr_pcis++]);
	return 0;
}

static int read_domain(const xmlDoc *doc, const char *what, struct mdg_domxml *out, char *err,
		       size_t errlen)
{
	const xmlNode *root = xmlDocGetRootElement(doc), *n, *h;
	const xmlNode *name;
	xmlChar *text;
	int ret;

	if (doc->intSubset || doc->extSubset) {
		mdg_set_err(err, errlen, "%s: has a DOCTYPE; a libvirt domain XML has none (no DTD or "
			"entity is read)", what);
		return -EINVAL;
	}
	if (!root || !is_element(root, "domain")) {
		mdg_set_err(err, errlen, "%s:%ld: root element <%s> is not <domain>: not a libvirt domain "
			"XML", what, root ? xmlGetLineNo(root) : 1L,
			root ? (const char *)root->name : "");
		return -EINVAL;
	}
	name = child(root, "name");
	text = name ? xmlNodeGetContent(name) : NULL;
	if (!text || !*text) {
		xmlFree(text);
		mdg_set_err(err, errlen, "%s:%ld: <domain> has no <name>", what,
			xmlGetLineNo(name ? name : root));
		return -EINVAL;
	}
	out->name = printable((const char *)text, 256);
	xmlFree(text);
	if (!out->name) {
		mdg_set_err(err, errlen, "%s: out of memory", what);
		return -ENOMEM;
	}
	for (n = root->children; n; n = n->next) {
		if (!is_element(n, "devices"))
			continue;
		for (h = n->children; h; h = h->next) {
			if (!is_element(h, "hostdev") || !prop_is(h, "mode", "subsystem", true))
				continue;
			if (prop_is(h, "type", "mdev", false))
				ret = read_hostdev(h, what, out, err, errlen);
			else if (prop_is(h, "type", "pci", false))
				ret = read_pci_hostdev(h, what, out, err, errlen);
			else
				continue;
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* The first error libxml2 met, as "what:LINE: message". */
static void xml_error(xmlParserCtxtPtr ctxt, const char *what, char *err, size_t errlen)
{
	const xmlError *e = xmlCtxtGetLastError(ctxt);
	char *msg;
	size_t len;

	if (!e || !e->message) {
		mdg_set_err(err, errlen, "%s: not well-formed XML", what);
		return;
	}
	len = strlen(e->message);
	while (len && (e->message[len - 1] == '\n' || e->message[len - 1] == ' '))
		len--;
	msg = printable(e->message, len < 200 ? len : 200);
	mdg_set_err(err, errlen, "%s:%d: not well-formed XML: %s", what, e->line, msg ? msg : "?");
	free(msg);
}

int mdg_domxml_parse(const char *buf, size_t len, const char *what, struct mdg_domxml *out,
		     char *err, size_t errlen)
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;
	int ret;

	memset(out, 0, sizeof(*out));
	if (len > MDG_DOMXML_MAX_SIZE) {
		mdg_set_err(err, errlen, "%s: larger than %u MiB: not a domain XML", what,
			MDG_DOMXML_MAX_SIZE >> 20);
		return -EFBIG;
	}
	xmlInitParser();
	xmlSetExternalEntityLoader(load_nothing);
	xmlSetGenericErrorFunc(NULL, say_nothing);
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		mdg_set_err(err, errlen, "%s: out of memory", what);
		return -ENOMEM;
	}
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL, PARSE_OPTIONS);
	if (!doc) {
		xml_error(ctxt, what, err, errlen);
		xmlFreeParserCtxt(ctxt);
		return -EINVAL;
	}
	ret = read_domain(doc, what, out, err, errlen);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	if (ret)
		mdg_domxml_free(out);
	return ret;
}

int mdg_domxml_read(const char *path, struct mdg_domxml *out, char *err, size_t errlen)
{
	bool in = !strcmp(path, "-");
	const char *what = in ? "<stdin>" : path;
	size_t len = 0, cap = 0;
	char *buf = NULL, *nbuf;
	ssize_t n;
	int fd, ret;

	memset(out, 0, sizeof(*out));
	fd = in ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		mdg_set_err(err, errlen, "%s: cannot open: %s", what, strerror(errno));
		return ret;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 64 << 10;
			nbuf = realloc(buf, cap);
			if (!nbuf) {
				ret = -ENOMEM;
				mdg_set_err(err, errlen, "%s: out of memory", what);
				goto out;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			mdg_set_err(err, errlen, "%s: cannot read: %s", what, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > MDG_DOMXML_MAX_SIZE) {
			ret = -EFBIG;
			mdg_set_err(err, errlen, "%s: larger than %u MiB: not a domain XML", what,
				MDG_DOMXML_MAX_SIZE >> 20);
			goto out;
		}
	}
	ret = mdg_domxml_parse(buf, len, what, out, err, errlen);
out:
	if (!in)
		close(fd);
	free(buf);
	return ret;
}

void mdg_domxml_free(struct mdg_domxml *d)
{
	if (!d)
		return;
	free(d->name);
	free(d->uuids);
	free(d->pcis);
	memset(d, 0, sizeof(*d));
}
