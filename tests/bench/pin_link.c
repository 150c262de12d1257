// SPDX-License-Identifier: GPL-2.0
/*
 * mdg-pin-link PATH [open|release]: attaches an empty program on file_open (or fentry on
 * vfio_device_fops_release), pins its link at PATH (replacing what is there) and exits. The VM suite's stand-in for a link
 * another build of mdevguard left.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "empty_lsm.skel.h"

int main(int argc, char **argv)
{
	struct empty_lsm *skel;
	struct bpf_program *p;
	struct bpf_program *want = NULL;
	struct bpf_link *link = NULL;
	int ret = -1;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "open") && strcmp(argv[2], "release"))) {
		fprintf(stderr, "usage: mdg-pin-link PATH [open|release]\n");
		return 2;
	}
	skel = empty_lsm__open();
	if (skel) {
		want = argc == 3 && !strcmp(argv[2], "release") ?
			       skel->progs.empty_device_release : skel->progs.empty_file_open;
		bpf_object__for_each_program(p, skel->obj)
			bpf_program__set_autoload(p, p == want);
	}
	if (skel && !empty_lsm__load(skel))
		link = bpf_program__attach(want);
	if (link) {
		unlink(argv[1]);
		ret = bpf_link__pin(link, argv[1]);
	}
	if (ret)
		fprintf(stderr, "mdg-pin-link: cannot pin an empty program's link at %s: %s\n", argv[1],
			strerror(errno));
	bpf_link__destroy(link);
	empty_lsm__destroy(skel);
	return ret ? 1 : 0;
}
