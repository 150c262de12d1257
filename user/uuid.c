// SPDX-License-Identifier: GPL-2.0
/*
 * Device names as text: an mdev's UUID, a vGPU function's PCI address (include/pciaddr.h),
 * parsed and printed alike for the scan, the decision lines and the commands.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pciaddr.h"
#include "uuid.h"

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
