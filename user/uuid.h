/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device names as text: an mdev's UUID, a vGPU function's PCI address (include/pciaddr.h),
 * parsed and printed alike by the scan, the decision lines and the commands.
 */
#ifndef MDG_UUID_H
#define MDG_UUID_H

#include "mdevguard.h"

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (either case) -> id; -EINVAL if not a UUID. */
int mdg_uuid_parse(const char *s, struct mdg_dev_id *id);

/* "DDDD:BB:SS.F" or "BB:SS.F" in either case -> a vGPU function's id; -EINVAL otherwise. */
int mdg_pci_addr_parse(const char *s, struct mdg_dev_id *id);

/*
 * A device name as an operator or a tool writes it: a UUID (an mdev) or a PCI address (a
 * function). 0, or -EINVAL. mdg_uuid_format() prints either back as mdevguard names it.
 */
int mdg_devid_parse(const char *s, struct mdg_dev_id *id);

/* The value of a hexadecimal digit, either case, or -1. */
int mdg_hex_digit(char c);

/* A UUID's text, or a vGPU function's PCI address (include/pciaddr.h). */
void mdg_uuid_format(const struct mdg_dev_id *id, char out[MDG_UUID_LEN]);

#endif
