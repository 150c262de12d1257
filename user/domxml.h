/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A libvirt domain XML, read for what `mdevguard check --domain-xml` needs: the domain's name
 * and the UUIDs of its mdev host devices,
 *
 *   <domain>
 *     <name>vm1</name>
 *     <devices>
 *       <hostdev mode='subsystem' type='mdev' model='vfio-pci'>
 *         <source><address uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source>
 *       </hostdev>
 *
 * and the PCI addresses of its PCI host devices (vGPU functions among them),
 *
 *       <hostdev mode='subsystem' type='pci' managed='yes'>
 *         <source><address domain='0x0000' bus='0x65' slot='0x00' function='0x4'/></source>
 *       </hostdev>
 *
 * in document order. A hostdev without a mode attribute is a subsystem one, as libvirt reads
 * it; a PCI address without a domain is in domain 0. The parser reads no network, loads no DTD, expands no entity and refuses any DOCTYPE: a
 * domain XML has none, and one that has is not a domain libvirt wrote.
 */
#ifndef MDG_DOMXML_H
#define MDG_DOMXML_H

#include <stddef.h>

#include "mdevguard.h"

#define MDG_DOMXML_MAX_SIZE	(4U << 20)	/* bytes: libvirt's own domains are a few KiB */
#define MDG_DOMXML_MAX_MDEVS	1024		/* hostdevs collected; more is bad input */

struct mdg_domxml {
	char *name;			/* <name>, control characters as '?' */
	char (*uuids)[MDG_UUID_LEN];	/* lower case, in document order */
	size_t nr_uuids;
	char (*pcis)[MDG_UUID_LEN];	/* PCI hostdevs as the kernel names them, in order */
	size_t nr_pcis;
};

/*
 * Parses len bytes of buf; what names the input in errors (a path, "<stdin>"). Returns 0 with
 * out filled (free it with mdg_domxml_free), or a negative errno with one line in err naming
 * what was wrong and where ("FILE:LINE: reason" when the line is known); out is then empty.
 */
int mdg_domxml_parse(const char *buf, size_t len, const char *what, struct mdg_domxml *out,
		     char *err, size_t errlen);

/* Reads path ("-": standard input, named "<stdin>") whole, at most MDG_DOMXML_MAX_SIZE bytes,
 * and parses it as mdg_domxml_parse() does. */
int mdg_domxml_read(const char *path, struct mdg_domxml *out, char *err, size_t errlen);

void mdg_domxml_free(struct mdg_domxml *d);

#endif
