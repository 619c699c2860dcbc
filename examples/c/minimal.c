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
#include "minimal.skel.h"

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
	struct minimal_bpf *skel;
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
