// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A TCP congestion control in BPF (struct_ops): Reno without the frills. The Rust skeleton's
 * attach() registers it; it then shows in tcp_available_congestion_control. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

static struct tcp_sock *tcp_sk(const struct sock *sk)
{
	return (struct tcp_sock *)sk;
}

SEC("struct_ops/rs_ssthresh")
__u32 BPF_PROG(rs_ssthresh, struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	__u32 half = tp->snd_cwnd >> 1;

	return half > 2 ? half : 2;
}

SEC("struct_ops/rs_cong_avoid")
void BPF_PROG(rs_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	struct tcp_sock *tp = tcp_sk(sk);

	if (acked && tp->snd_cwnd < tp->snd_cwnd_clamp)
		tp->snd_cwnd = tp->snd_cwnd + 1;
}

SEC("struct_ops/rs_undo_cwnd")
__u32 BPF_PROG(rs_undo_cwnd, struct sock *sk)
{
	return tcp_sk(sk)->snd_cwnd;
}

SEC(".struct_ops.link")
struct tcp_congestion_ops bpfgen_rs = {
	.ssthresh = (void *)rs_ssthresh,
	.cong_avoid = (void *)rs_cong_avoid,
	.undo_cwnd = (void *)rs_undo_cwnd,
	.name = "bpfgen_rs",
};
