// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* xdp: an XDP program that counts the packets and bytes arriving on an
 * interface, by EtherType, in .bss globals that the loader reads, and passes
 * every packet on to the stack.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* read by the loader through skel->bss */
__u64 packets;
__u64 bytes;
__u64 ipv4_packets;
__u64 ipv6_packets;
__u64 arp_packets;

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	__sync_fetch_and_add(&packets, 1);
	__sync_fetch_and_add(&bytes, data_end - data);

	/* the verifier insists on the bounds check before any header read */
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;

	switch (bpf_ntohs(eth->h_proto)) {
	case ETH_P_IP:
		__sync_fetch_and_add(&ipv4_packets, 1);
		break;
	case ETH_P_IPV6:
		__sync_fetch_and_add(&ipv6_packets, 1);
		break;
	case ETH_P_ARP:
		__sync_fetch_and_add(&arp_packets, 1);
		break;
	}

	return XDP_PASS;
}
