// SPDX-License-Identifier: GPL-2.0
/*
 * mdg-bench-open: the cost of open()+close() of one path, as the median of several runs.
 * With --empty-lsm it first attaches an empty BPF LSM program on file_open, the baseline that
 * mdevguard's hook is compared against.
 *
 * With --pin-link PATH it attaches that empty program, pins its link at PATH (replacing what is
 * there) and exits: the VM suite's stand-in for a link left by another build of mdevguard.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "empty_lsm.skel.h"

#define RUNS 7

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int run(const char *path, long iterations, double *ns_per_op)
{
	double t0, runs[RUNS];
	long i;
	int r, fd;

	for (r = 0; r < RUNS; r++) {
		t0 = now_ns();
		for (i = 0; i < iterations; i++) {
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				fprintf(stderr, "mdg-bench-open: open %s: %s\n", path, strerror(errno));
				return -errno;
			}
			close(fd);
		}
		runs[r] = (now_ns() - t0) / iterations;
	}
	qsort(runs, RUNS, sizeof(runs[0]), cmp_double);
	*ns_per_op = runs[RUNS / 2];
	return 0;
}

static int pin_link(const char *path)
{
	struct empty_lsm *skel = empty_lsm__open_and_load();
	int ret = -1;

	if (skel && !empty_lsm__attach(skel)) {
		unlink(path);
		ret = bpf_link__pin(skel->links.empty_file_open, path);
	}
	if (ret)
		fprintf(stderr, "mdg-bench-open: cannot pin an empty file_open link at %s: %s\n",
			path, strerror(errno));
	empty_lsm__destroy(skel);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct empty_lsm *skel = NULL;
	int empty = 0, ret;
	double ns = 0;
	long n;

	if (argc == 3 && !strcmp(argv[1], "--pin-link"))
		return pin_link(argv[2]);
	if (argc > 1 && !strcmp(argv[1], "--empty-lsm")) {
		empty = 1;
		argc--;
		argv++;
	}
	if (argc != 3 || (n = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: mdg-bench-open [--empty-lsm] PATH ITERATIONS | --pin-link PATH\n");
		return 2;
	}
	if (empty) {
		skel = empty_lsm__open_and_load();
		if (!skel || empty_lsm__attach(skel)) {
			fprintf(stderr, "mdg-bench-open: cannot attach the empty LSM program: %s\n",
				strerror(errno));
			empty_lsm__destroy(skel);
			return 1;
		}
	}
	ret = run(argv[1], n, &ns);
	empty_lsm__destroy(skel);
	if (ret)
		return 1;
	printf("ns_per_open=%.1f\n", ns);
	return 0;
}
