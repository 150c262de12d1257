// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF object's iterators, run by the service: the adoption of what is in use at its start,
 * and the release passes (SPEC §3), each read back line by line.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "log.h"
#include "mdevguard.h"
#include "mdevguard.skel.h"
#include "uuid.h"

/* Runs an iterator to its end and hands each line it printed to fn; 0 or -errno. */
static int iter_lines(struct mdg_bpf *b, struct bpf_program *prog, union bpf_iter_link_info *info,
		      void (*fn)(struct mdg_bpf *b, const char *line))
{
	LIBBPF_OPTS(bpf_iter_attach_opts, opts);
	char buf[4096], *p, *line;
	struct bpf_link *link;
	size_t have = 0;
	ssize_t n;
	int fd, ret = 0;

	if (info) {
		opts.link_info = info;
		opts.link_info_len = sizeof(*info);
	}
	link = bpf_program__attach_iter(prog, info ? &opts : NULL);
	if (!link)
		return mdg_err_errno(errno, "cannot create iterator %s", bpf_program__name(prog));
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		ret = mdg_err_errno(errno, "cannot run iterator %s", bpf_program__name(prog));
		bpf_link__destroy(link);
		return ret;
	}
	/* Lines may straddle reads: keep the unfinished tail for the next one. */
	while ((n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
		have += n;
		buf[have] = '\0';
		for (line = buf; (p = strchr(line, '\n')); line = p + 1) {
			*p = '\0';
			fn(b, line);
		}
		have = strlen(line);
		memmove(buf, line, have);
		if (have == sizeof(buf) - 1)
			have = 0;	/* no line is this long: drop it */
	}
	if (n < 0)
		ret = mdg_err_errno(errno, "iterator %s", bpf_program__name(prog));
	close(fd);
	bpf_link__destroy(link);
	return ret;
}

static void adopt_line(struct mdg_bpf *b, const char *line)
{
	mdg_info("adopted: process %s", line);
	b->adopted++;
}

int mdg_bpf_adopt(struct mdg_bpf *b)
{
	int ret;

	b->adopted = 0;
	ret = iter_lines(b, b->skel->progs.mdg_adopt, NULL, adopt_line);
	/* A mapping outlives every fd: a process that closed them all still holds the device. */
	if (!ret)
		ret = iter_lines(b, b->skel->progs.mdg_adopt_maps, NULL, adopt_line);
	if (b->adopted)
		mdg_info("adopted %d VFIO device file(s) and mapping(s) in use before this start",
			 b->adopted);
	return ret;
}

static void pass_line(struct mdg_bpf *b, const char *line)
{
	unsigned long long hi, lo;
	char uuid[MDG_UUID_LEN];
	struct mdg_dev_id id;
	unsigned int tgid;

	if (!strcmp(line, "U")) {
		b->uncounted = true;
		return;
	}
	if (!strncmp(line, "A ", 2)) {
		mdg_info("adopted: process %s maps it and did not hold it (a fork raced its parent's mapping)",
			 line + 2);
		return;
	}
	/* NOLINTNEXTLINE(cert-err34-c): the pass's own output, in bounds by construction */
	if (sscanf(line, "%u %llx %llx", &tgid, &hi, &lo) != 3)
		return;
	id.hi = hi;
	id.lo = lo;
	mdg_uuid_format(&id, uuid);
	mdg_info("released: process %u has no file of %s left", tgid, uuid);
}

/*
 * The release pass: moves the generation on, marks io_uring users, marks every holding a file
 * table or a mapping still has, and ends the others (see the iterators at the end of mdevguard.bpf.c).
 */
void mdg_bpf_pass(struct mdg_bpf *b)
{
	union bpf_iter_link_info info = {};

	b->skel->bss->recheck_asked = 0;
	__atomic_add_fetch(&b->skel->bss->cfg.pass_gen, 1, __ATOMIC_SEQ_CST);
	b->uncounted = false;
	if (iter_lines(b, b->skel->progs.mdg_pass_uring, NULL, pass_line) ||
	    iter_lines(b, b->skel->progs.mdg_pass_files, NULL, pass_line) ||
	    iter_lines(b, b->skel->progs.mdg_pass_maps, NULL, pass_line))
		return;
	info.map.map_fd = bpf_map__fd(b->skel->maps.mdg_holders);
	iter_lines(b, b->skel->progs.mdg_pass_sweep, &info, pass_line);
}
