// SPDX-License-Identifier: GPL-2.0
/* struct_ops: a TCP congestion control algorithm written in BPF. The
 * struct_ops map bpfgen_reno fills in the kernel's struct tcp_congestion_ops;
 * attaching the map registers the algorithm under that name, next to the
 * built-in ones. It behaves like Reno by calling the kernel's own Reno
 * functions, which the kernel exports to struct_ops programs as kfuncs, and
 * counts how often each callback runs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* kfuncs: only GPL-compatible programs may call them */
char LICENSE[] SEC("license") = "GPL";

extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;

/* read by the loader through skel->bss */
__u64 init_calls;
__u64 ssthresh_calls;
__u64 cong_avoid_calls;
__u64 undo_cwnd_calls;

SEC("struct_ops/bpfgen_init")
void BPF_PROG(bpfgen_init, struct sock *sk)
{
	__sync_fetch_and_add(&init_calls, 1);
}

SEC("struct_ops/bpfgen_ssthresh")
__u32 BPF_PROG(bpfgen_ssthresh, struct sock *sk)
{
	__sync_fetch_and_add(&ssthresh_calls, 1);
	return tcp_reno_ssthresh(sk);
}

SEC("struct_ops/bpfgen_cong_avoid")
void BPF_PROG(bpfgen_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	__sync_fetch_and_add(&cong_avoid_calls, 1);
	tcp_reno_cong_avoid(sk, ack, acked);
}

SEC("struct_ops/bpfgen_undo_cwnd")
__u32 BPF_PROG(bpfgen_undo_cwnd, struct sock *sk)
{
	__sync_fetch_and_add(&undo_cwnd_calls, 1);
	return tcp_reno_undo_cwnd(sk);
}

SEC(".struct_ops")
struct tcp_congestion_ops bpfgen_reno = {
	.init = (void *)bpfgen_init,
	.ssthresh = (void *)bpfgen_ssthresh,
	.cong_avoid = (void *)bpfgen_cong_avoid,
	.undo_cwnd = (void *)bpfgen_undo_cwnd,
	.name = "bpfgen_reno",
};
