// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tc: loads tc.bpf.c, attaches it to the ingress of an interface through a
 * clsact qdisc (created if missing, removed again on exit if we created it)
 * and prints the packet counters once per second.
 *
 * usage: tc [-i IFACE] [-t SECONDS]   (default interface: lo)
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "example.h"
#include "tc.skel.h"

static void print_counters(const char *iface, const struct tc_bpf *skel)
{
	/* the BPF program updates the counters concurrently: read them afresh */
	const volatile struct tc_bpf__bss *bss = skel->bss;

	printf("%s ingress: %llu packets, %llu bytes (IPv4 %llu, IPv6 %llu, ARP %llu)\n", iface,
	       (unsigned long long)bss->packets, (unsigned long long)bss->bytes,
	       (unsigned long long)bss->ipv4_packets, (unsigned long long)bss->ipv6_packets,
	       (unsigned long long)bss->arp_packets);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1);
	bool hook_created = false, attached = false;
	const char *iface = "lo";
	struct tc_bpf *skel;
	long limit = 0, elapsed = 0;
	int opt, err = 0;

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

	hook.ifindex = if_nametoindex(iface);
	if (!hook.ifindex) {
		fprintf(stderr, "No such interface %s: %s\n", iface, strerror(errno));
		return 1;
	}

	example_setup();

	skel = tc_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "Failed to open and load BPF skeleton\n");
		return 1;
	}

	/* the clsact qdisc may already be there; then it is not ours to remove */
	err = bpf_tc_hook_create(&hook);
	if (!err)
		hook_created = true;
	if (err && err != -EEXIST) {
		fprintf(stderr, "Failed to create TC hook on %s: %d\n", iface, err);
		goto cleanup;
	}

	opts.prog_fd = bpf_program__fd(skel->progs.tc_ingress);
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		fprintf(stderr, "Failed to attach TC program on %s: %d\n", iface, err);
		goto cleanup;
	}
	attached = true;

	printf("Successfully started! Counting ingress packets on %s.\n", iface);
	fflush(stdout);

	while (!exiting && (limit == 0 || elapsed < limit)) {
		sleep(1);
		elapsed++;
		print_counters(iface, skel);
	}

cleanup:
	if (attached) {
		/* detach wants only the filter's identity, not the program */
		opts.flags = opts.prog_fd = opts.prog_id = 0;
		err = bpf_tc_detach(&hook, &opts);
		if (err)
			fprintf(stderr, "Failed to detach TC program from %s: %d\n", iface, err);
	}
	if (hook_created) {
		/* both attach points together: remove the whole clsact qdisc */
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	tc_bpf__destroy(skel);
	return err ? 1 : 0;
}
