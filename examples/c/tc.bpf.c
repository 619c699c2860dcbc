// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tc: a traffic control classifier on an interface's ingress. It counts the
 * packets and bytes it sees, by EtherType, in .bss globals that the loader
 * reads, and lets every packet through.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* read by the loader through skel->bss */
__u64 packets;
__u64 bytes;
__u64 ipv4_packets;
__u64 ipv6_packets;
__u64 arp_packets;

SEC("tc")
int tc_ingress(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&packets, 1);
	__sync_fetch_and_add(&bytes, skb->len);

	switch (bpf_ntohs(skb->protocol)) {
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

	/* let the packet continue up the stack */
	return TC_ACT_OK;
}
