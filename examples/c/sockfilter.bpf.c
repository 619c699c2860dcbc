// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sockfilter: a socket filter program. The loader attaches it to a raw
 * AF_PACKET socket with SO_ATTACH_BPF; for each packet the socket sees it
 * sends a short summary (protocol, length, IPv4 addresses and ports) to user
 * space through a ring buffer.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "sockfilter.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define IP_MF	  0x2000
#define IP_OFFSET 0x1fff

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

SEC("socket")
int socket_handler(struct __sk_buff *skb)
{
	struct so_event *e;
	struct iphdr iph;
	__u16 ports[2];
	__u32 nhoff = ETH_HLEN;

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;

	__builtin_memset(e, 0, sizeof(*e));
	e->len = skb->len;
	e->ifindex = skb->ifindex;
	e->pkt_type = skb->pkt_type;
	e->eth_proto = bpf_ntohs(skb->protocol);

	if (e->eth_proto == ETH_P_IP &&
	    bpf_skb_load_bytes(skb, nhoff, &iph, sizeof(iph)) == 0) {
		e->ip_proto = iph.protocol;
		e->saddr = iph.saddr;
		e->daddr = iph.daddr;
		/* ports are in the first fragment only */
		if ((iph.protocol == IPPROTO_TCP || iph.protocol == IPPROTO_UDP) &&
		    !(iph.frag_off & bpf_htons(IP_OFFSET)) &&
		    bpf_skb_load_bytes(skb, nhoff + iph.ihl * 4, ports, sizeof(ports)) == 0) {
			e->has_ports = 1;
			e->sport = bpf_ntohs(ports[0]);
			e->dport = bpf_ntohs(ports[1]);
		}
	}

	bpf_ringbuf_submit(e, 0);

	/* keep nothing in the socket itself: the loader reads the ring buffer,
	 * never the socket, so its queue would only fill up */
	return 0;
}
