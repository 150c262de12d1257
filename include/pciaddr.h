/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A PCI function as a device under the rule (a vGPU function): its name is its address as the
 * kernel names it, dev_name() of the pci_dev, set in pci_setup_device() as "%04x:%02x:%02x.%d"
 * (domain, bus, slot, function; a domain past 0xffff prints wider). The BPF side parses that
 * name at the use and at a type write, user space what sysfs and operators write, and prints
 * it back, with the helpers below: bounded loops and no helper calls, for the verifier.
 *
 * Its identity shares struct mdg_dev_id with mdevs: a tag and the domain in hi, bus and devfn in
 * lo. An mdev's UUID is whatever root wrote to create, so an mdev named 70636900-xxxx-... could
 * be taken for a function of the same numbers: mdevguard's own tools create no such mdev, and
 * only root creates mdevs.
 */
#ifndef MDG_PCIADDR_H
#define MDG_PCIADDR_H

#include "mdevguard.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define MDG_PCI_TAG		0x7063690000000000ULL	/* "pci\0" in the first 32 bits */
#define MDG_PCI_TAG_MASK	0xffffffff00000000ULL
#define MDG_PCI_NAME_LEN	32			/* "ffffffff:ff:1f.7" and NUL; a power of two for the masks below */

static __always_inline int mdg_id_is_pci(const struct mdg_dev_id *id)
{
	return (id->hi & MDG_PCI_TAG_MASK) == MDG_PCI_TAG && id->lo <= 0xffff;
}

/* The value of a hex digit, either case, or 16: a table, so that BPF reads it without a branch. */
static const unsigned char mdg_hexval[256] = {
	['0'] = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
	[0 ... '0' - 1] = 16, [':' ... 'A' - 1] = 16, ['G' ... 'a' - 1] = 16, ['g' ... 255] = 16,
	['A'] = 10, 11, 12, 13, 14, 15,
	['a'] = 10, 11, 12, 13, 14, 15,
};

static __always_inline int mdg_pci_hex(char c)
{
	unsigned char v = mdg_hexval[(unsigned char)c];

	return v < 16 ? v : -1;
}

/*
 * The kernel's name, "%04x:%02x:%02x.%d" (a domain of 4 to 8 hex digits), either case, in a
 * NUL-padded buffer of MDG_PCI_NAME_LEN bytes. 0 and id filled, or -1. Straight-line code with
 * the table above: the verifier walks it once, where a loop over the characters with a branch
 * per kind of character multiplied its states.
 */
static __always_inline int mdg_pci_parse(const char *c, struct mdg_dev_id *id)
{
	__u32 dom = 0, bad = 0, bus, slot, fn;
	int w, i;

	/* the domain's width: where the first colon is */
	for (w = 4; w <= 8; w++) {
		if (c[w] == ':')
			break;
	}
	if (w > 8)
		return -1;
	for (i = 0; i < 8; i++) {
		if (i < w) {
			bad |= mdg_hexval[(unsigned char)c[i]] >> 4;
			dom = dom << 4 | (mdg_hexval[(unsigned char)c[i]] & 0xf);
		}
	}
	bad |= mdg_hexval[(unsigned char)c[(w + 1) & 31]] >> 4;
	bad |= mdg_hexval[(unsigned char)c[(w + 2) & 31]] >> 4;
	bad |= mdg_hexval[(unsigned char)c[(w + 4) & 31]] >> 4;
	bad |= mdg_hexval[(unsigned char)c[(w + 5) & 31]] >> 4;
	bus = (mdg_hexval[(unsigned char)c[(w + 1) & 31]] & 0xf) << 4 |
	      (mdg_hexval[(unsigned char)c[(w + 2) & 31]] & 0xf);
	slot = (mdg_hexval[(unsigned char)c[(w + 4) & 31]] & 0xf) << 4 |
	       (mdg_hexval[(unsigned char)c[(w + 5) & 31]] & 0xf);
	fn = (unsigned char)c[(w + 7) & 31] - '0';
	if (bad || c[(w + 3) & 31] != ':' || c[(w + 6) & 31] != '.' || fn > 7 || slot > 0x1f ||
	    c[(w + 8) & 31] != '\0')
		return -1;
	id->hi = MDG_PCI_TAG | dom;
	id->lo = bus << 8 | slot << 3 | fn;
	return 0;
}

/* The kernel's name of the function id names: "%04x:%02x:%02x.%d". out: MDG_PCI_NAME_LEN. */
static __always_inline void mdg_pci_format(const struct mdg_dev_id *id, char *out)
{
	const char *hex = "0123456789abcdef";
	__u32 dom = id->hi & 0xffffffff, bus = (id->lo >> 8) & 0xff, devfn = id->lo & 0xff;
	int i, n = 4, p = 0;

	for (i = 4; i < 8; i++) {
		if (dom >> (4 * i))
			n = i + 1;
	}
	for (i = 7; i >= 0; i--) {
		if (i < n)
			out[p++ & 31] = hex[(dom >> (4 * i)) & 0xf];
	}
	out[p++ & 31] = ':';
	out[p++ & 31] = hex[bus >> 4];
	out[p++ & 31] = hex[bus & 0xf];
	out[p++ & 31] = ':';
	out[p++ & 31] = hex[(devfn >> 3) >> 4];
	out[p++ & 31] = hex[(devfn >> 3) & 0xf];
	out[p++ & 31] = '.';
	out[p++ & 31] = hex[devfn & 7];
	out[p & 31] = '\0';
}

#endif /* MDG_PCIADDR_H */
