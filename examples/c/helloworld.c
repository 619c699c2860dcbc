// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* helloworld: loads helloworld.bpf.c and keeps it attached until a signal
 * arrives or the optional time limit (argv[1], in seconds; 0 = no limit)
 * elapses.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "example.h"
#include "helloworld.skel.h"

int main(int argc, char **argv)
{
	struct helloworld_bpf *skel;
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

	skel = helloworld_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "Failed to open and load BPF skeleton\n");
		return 1;
	}

	err = helloworld_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "Failed to attach BPF skeleton: %d\n", err);
		goto cleanup;
	}

	printf("Successfully started! Please run `sudo cat /sys/kernel/tracing/trace_pipe` "
	       "to see output of the BPF programs.\n");
	fflush(stdout);

	/* limit == 0 means "run until interrupted" */
	while (!exiting && (limit == 0 || elapsed < limit)) {
		sleep(1);
		elapsed++;
	}

cleanup:
	helloworld_bpf__destroy(skel);
	return err ? 1 : 0;
}
