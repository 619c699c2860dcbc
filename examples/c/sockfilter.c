// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sockfilter: loads sockfilter.bpf.c, attaches it to a raw AF_PACKET socket
 * bound to one interface and prints one line per packet from the ring buffer.
 *
 * usage: sockfilter [-i IFACE] [-t SECONDS]   (default interface: lo)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "example.h"
#include "sockfilter.h"
#include "sockfilter.skel.h"

/* the name of an IPPROTO_* value, or NULL when this example does not know it */
static const char *ip_proto_name(unsigned char proto)
{
	switch (proto) {
	case IPPROTO_ICMP:
		return "ICMP";
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	default:
		return NULL;
	}
}

static const char *direction(unsigned int pkt_type)
{
	return pkt_type == PACKET_OUTGOING ? "out" : "in";
}

static int handle_event(void *ctx, void *data, size_t data_sz)
{
	const struct so_event *e = data;
	char ifname[IF_NAMESIZE] = "?";
	char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
	const char *name;
	struct in_addr a;

	(void)ctx;
	if (data_sz < sizeof(*e))
		return 0;
	if_indextoname(e->ifindex, ifname);

	if (e->eth_proto != ETH_P_IP) {
		printf("%s %-3s ethertype 0x%04x len %u\n", ifname, direction(e->pkt_type),
		       e->eth_proto, e->len);
	} else {
		a.s_addr = e->saddr;
		inet_ntop(AF_INET, &a, src, sizeof(src));
		a.s_addr = e->daddr;
		inet_ntop(AF_INET, &a, dst, sizeof(dst));
		name = ip_proto_name(e->ip_proto);
		if (e->has_ports)
			printf("%s %-3s IPv4 %s %s:%u -> %s:%u len %u\n", ifname,
			       direction(e->pkt_type), name, src, e->sport, dst, e->dport, e->len);
		else if (name)
			printf("%s %-3s IPv4 %s %s -> %s len %u\n", ifname, direction(e->pkt_type),
			       name, src, dst, e->len);
		else
			printf("%s %-3s IPv4 proto %u %s -> %s len %u\n", ifname,
			       direction(e->pkt_type), e->ip_proto, src, dst, e->len);
	}
	fflush(stdout);
	return 0;
}

static int open_raw_sock(const char *ifname)
{
	struct sockaddr_ll sll;
	unsigned int ifindex;
	int sock;

	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		fprintf(stderr, "No such interface %s: %s\n", ifname, strerror(errno));
		return -1;
	}

	sock = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (sock < 0) {
		fprintf(stderr, "Cannot create raw socket: %s\n", strerror(errno));
		return -1;
	}

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifindex;
	if (bind(sock, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "Cannot bind to %s: %s\n", ifname, strerror(errno));
		close(sock);
		return -1;
	}
	return sock;
}

int main(int argc, char **argv)
{
	struct ring_buffer *rb = NULL;
	struct sockfilter_bpf *skel;
	const char *iface = "lo";
	long limit = 0;
	int opt, err = 0, sock = -1, prog_fd;

	while ((opt = getopt(argc, argv, "i:t:")) != -1) {
		switch (opt) {
		case 'i':
			iface = optarg;
			break;
		case 't':
			limit = example_seconds(optarg);
			if (limit < 0)
				return 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-i IFACE] [-t SECONDS]\n", argv[0]);
			return 1;
		}
	}

	example_setup();

	skel = sockfilter_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "Failed to open and load BPF skeleton\n");
		return 1;
	}

	rb = ring_buffer__new(bpf_map__fd(skel->maps.rb), handle_event, NULL, NULL);
	if (!rb) {
		err = 1;
		fprintf(stderr, "Failed to create ring buffer\n");
		goto cleanup;
	}

	sock = open_raw_sock(iface);
	if (sock < 0) {
		err = 1;
		goto cleanup;
	}

	prog_fd = bpf_program__fd(skel->progs.socket_handler);
	if (setsockopt(sock, SOL_SOCKET, SO_ATTACH_BPF, &prog_fd, sizeof(prog_fd))) {
		err = 1;
		fprintf(stderr, "Failed to attach BPF program to the socket: %s\n",
			strerror(errno));
		goto cleanup;
	}

	printf("Successfully started! Watching packets on %s.\n", iface);
	fflush(stdout);

	err = example_poll(rb, limit) ? 1 : 0;

cleanup:
	if (sock >= 0)
		close(sock);
	ring_buffer__free(rb);
	sockfilter_bpf__destroy(skel);
	return err;
}
