// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* xdp: loads xdp.bpf.c, attaches it to an interface with bpf_xdp_attach()
 * and prints the packet counters once per second. The program is detached
 * again on exit.
 *
 * usage: xdp [-i IFACE] [-S] [-t SECONDS]   (default interface: lo)
 *   -S  generic (skb) mode instead of letting the kernel choose (native when
 *       the driver supports it, as veth does)
 */
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "example.h"
#include "xdp.skel.h"

static void print_counters(const char *iface, const struct xdp_bpf *skel)
{
	/* the BPF program updates the counters concurrently: read them afresh */
	const volatile struct xdp_bpf__bss *bss = skel->bss;

	printf("%s xdp: %llu packets, %llu bytes (IPv4 %llu, IPv6 %llu, ARP %llu)\n", iface,
	       (unsigned long long)bss->packets, (unsigned long long)bss->bytes,
	       (unsigned long long)bss->ipv4_packets, (unsigned long long)bss->ipv6_packets,
	       (unsigned long long)bss->arp_packets);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	/* never replace a program someone else attached */
	__u32 flags = XDP_FLAGS_UPDATE_IF_NOEXIST;
	const char *iface = "lo";
	struct xdp_bpf *skel;
	long limit = 0, elapsed = 0;
	int opt, err = 0, ifindex, attached = 0;

	while ((opt = getopt(argc, argv, "i:St:")) != -1) {
		switch (opt) {
		case 'i':
			iface = optarg;
			break;
		case 'S':
			flags |= XDP_FLAGS_SKB_MODE;
			break;
		case 't':
			limit = example_seconds(optarg);
			if (limit < 0)
				return 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-i IFACE] [-S] [-t SECONDS]\n", argv[0]);
			return 1;
		}
	}

	ifindex = if_nametoindex(iface);
	if (!ifindex) {
		fprintf(stderr, "No such interface %s: %s\n", iface, strerror(errno));
		return 1;
	}

	example_setup();

	skel = xdp_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "Failed to open and load BPF skeleton\n");
		return 1;
	}

	err = bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.xdp_count), flags, NULL);
	if (err) {
		fprintf(stderr, "Failed to attach XDP program to %s: %d (%s)\n", iface, err,
			err == -EBUSY || err == -EEXIST ? "another program is attached"
							 : strerror(-err));
		goto cleanup;
	}
	attached = 1;

	printf("Successfully started! Counting XDP packets on %s%s.\n", iface,
	       flags & XDP_FLAGS_SKB_MODE ? " (generic mode)" : "");
	fflush(stdout);

	while (!exiting && (limit == 0 || elapsed < limit)) {
		sleep(1);
		elapsed++;
		print_counters(iface, skel);
	}

cleanup:
	if (attached) {
		/* only the mode bits matter for detaching */
		err = bpf_xdp_detach(ifindex, flags & XDP_FLAGS_MODES, NULL);
		if (err)
			fprintf(stderr, "Failed to detach XDP program from %s: %d\n", iface, err);
	}
	xdp_bpf__destroy(skel);
	return err ? 1 : 0;
}
