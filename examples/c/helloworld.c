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
#include "helloworld.skel.h"

static volatile sig_atomic_t exiting;

static void sig_handler(int sig)
{
	(void)sig;
	exiting = 1;
}

static int libbpf_print_fn(enum libbpf_print_level level, const char *format, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, format, args);
}

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
		char *end;

		limit = strtol(argv[1], &end, 10);
		if (*argv[1] == '\0' || *end != '\0' || limit < 0) {
			fprintf(stderr, "invalid number of seconds: %s\n", argv[1]);
			return 1;
		}
	}

	libbpf_set_print(libbpf_print_fn);

	signal(SIGINT, sig_handler);
	signal(SIGTERM, sig_handler);

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
