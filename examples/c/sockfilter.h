/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* sockfilter: packet summary shared by sockfilter.bpf.c and sockfilter.c. */
#ifndef __SOCKFILTER_H
#define __SOCKFILTER_H

struct so_event {
	unsigned int len;	  /* bytes on the wire, link-layer header included */
	unsigned int ifindex;	  /* interface the packet was seen on */
	unsigned int pkt_type;	  /* PACKET_HOST, PACKET_OUTGOING, ... */
	unsigned short eth_proto; /* EtherType, host byte order */
	unsigned char ip_proto;	  /* IPPROTO_*, IPv4 only (0 otherwise) */
	unsigned char has_ports;  /* ports are valid (IPv4 TCP/UDP, first fragment) */
	unsigned int saddr;	  /* IPv4 addresses, network byte order */
	unsigned int daddr;
	unsigned short sport;	  /* ports, host byte order */
	unsigned short dport;
};

#endif /* __SOCKFILTER_H */
