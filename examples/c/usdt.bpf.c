// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* usdt: a program on the USDT probe bpfgen:tick that the loader defines in
 * its own binary with <sys/sdt.h>. libbpf's usdt.bpf.h decodes the probe's
 * argument locations; the program keeps the last arguments in .bss.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* written by the program, read by the loader through skel->bss */
long seen_i;
long seen_j;
__u64 hits;

SEC("usdt")
int BPF_USDT(handle_tick, int i, int j)
{
	seen_i = i;
	seen_j = j;
	__sync_fetch_and_add(&hits, 1);
	return 0;
}
