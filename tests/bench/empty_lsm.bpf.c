// SPDX-License-Identifier: GPL-2.0
/* The baseline of SPEC §7: an LSM program on file_open that does nothing. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("lsm/file_open")
int BPF_PROG(empty_file_open, struct file *file, int ret)
{
	return 0;
}
