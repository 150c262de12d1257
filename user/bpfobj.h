/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The BPF object for the service: the kernel's fitness for it, loading with the pins of an
 * earlier instance reused, attaching in two phases, and the iterators (adoption, release pass).
 */
#ifndef MDG_BPFOBJ_H
#define MDG_BPFOBJ_H

#include <stdbool.h>

#include "pin.h"

struct mdevguard;

struct mdg_bpf {
	struct mdevguard *skel;
	const char *pin_dir;
	int adopted;		/* by the last adoption */
	bool uncounted;		/* the last pass kept holdings only a pass can end */
};

/* libbpf's messages through our log: warnings always, debug with --verbose. */
void mdg_bpf_log_libbpf(void);

/* BPF LSM active, vfio and mdev loaded: 0, or one sentence on what to do and -errno. */
int mdg_bpf_check_kernel(void);

/* Opens and loads the object into b, reusing compatible pins under pin_dir; 0 or -errno. */
int mdg_bpf_load(struct mdg_bpf *b, const char *pin_dir);

/* Attaches and pins the links of one phase that an earlier instance has not left pinned. */
int mdg_bpf_attach(struct mdg_bpf *b, enum mdg_pin_kind phase);

/* Adoption: device files and bound cdevs in use that no record accounts for; 0 or -errno. */
int mdg_bpf_adopt(struct mdg_bpf *b);

/* The holders map's size on this host: the lower of threads-max and pid_max, and some room. */
unsigned int mdg_holders_wanted(void);

/* One release pass (SPEC §3); sets b->uncounted. */
void mdg_bpf_pass(struct mdg_bpf *b);

void mdg_bpf_close(struct mdg_bpf *b);

/*
 * bpfmaps.c, for loading: every map's pin path from the pin table, the holders map's size, and
 * the sizes MDG_MAP_ENTRIES asks for. 0 or -errno for the pin paths.
 */
int mdg_bpf_pin_paths(struct mdg_bpf *b);
void mdg_bpf_size_holders(struct mdg_bpf *b);
void mdg_bpf_map_entries_from_env(struct mdg_bpf *b);

#endif
