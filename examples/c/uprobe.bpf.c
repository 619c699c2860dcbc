// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* uprobe: an entry probe and a return probe on a user-space function,
 * uprobed_add() in the loader's own binary. The loader attaches them (the
 * sections carry no target, so the skeleton cannot) and reads what they saw
 * from .bss after each call.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* written by the probes, read by the loader through skel->bss */
int seen_a;
int seen_b;
int seen_ret;
__u64 entries;
__u64 returns;

SEC("uprobe")
int BPF_KPROBE(uprobe_add, int a, int b)
{
	seen_a = a;
	seen_b = b;
	__sync_fetch_and_add(&entries, 1);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(uretprobe_add, int ret)
{
	seen_ret = ret;
	__sync_fetch_and_add(&returns, 1);
	return 0;
}
