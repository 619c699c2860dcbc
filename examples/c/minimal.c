// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* minimal: loads minimal.bpf.c, tells it our PID and then writes a dot to
 * stderr once per second so that the BPF program fires. Runs until a signal
 * arrives or the optional time limit (argv[1], in seconds; 0 = no limit)
 * elapses.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "example.h"
#include "minimal.skel.h"

int main(int argc, char **argv)
{
	struct minimal_bpf *skel;
	long limit = 0, elapsed = 0;
	int err;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [SECONDS]\n", argv[0]);
		return 1;
	}
	if (argc == 2) {
		limit = example_seconds(argv[1]);
		if (limit < 0)
			return 1;
	}

	example_setup();

	skel = minimal_bpf__open();
	if (!skel) {
		fprintf(stderr, "Failed to open BPF skeleton\n");
		return 1;
	}

	/* only react to write() calls made by this process */
	skel->bss->my_pid = getpid();

	err = minimal_bpf__load(skel);
	if (err) {
		fprintf(stderr, "Failed to load and verify BPF skeleton: %d\n", err);
		goto cleanup;
	}

	err = minimal_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "Failed to attach BPF skeleton: %d\n", err);
		goto cleanup;
	}

	printf("Successfully started! Please run `sudo cat /sys/kernel/tracing/trace_pipe` "
	       "to see output of the BPF programs.\n");
	fflush(stdout);

	while (!exiting && (limit == 0 || elapsed < limit)) {
		/* each dot is a write() syscall that triggers the BPF program */
		fprintf(stderr, ".");
		sleep(1);
		elapsed++;
	}

cleanup:
	minimal_bpf__destroy(skel);
	return err ? 1 : 0;
}
