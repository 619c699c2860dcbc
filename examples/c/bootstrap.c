// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* bootstrap: loads bootstrap.bpf.c and prints one line per process exec/exit
 * event read from the BPF ring buffer.
 *
 * usage: bootstrap [-v] [-d MIN_DURATION_MS] [-t SECONDS]
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "example.h"
#include "bootstrap.h"
#include "bootstrap.skel.h"

static struct env {
	bool verbose;
	long min_duration_ms;
	long run_seconds;	/* 0 = run until interrupted */
} env;

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [-v] [-d MIN_DURATION_MS] [-t SECONDS]\n"
		"Trace process start and exits and show associated information\n"
		"(filename, process duration, PID and PPID, etc).\n"
		"\n"
		"  -v                  print libbpf debug output\n"
		"  -d MIN_DURATION_MS  only report processes that lived at least this long\n"
		"  -t SECONDS          exit after this many seconds (default: run until ^C)\n"
		"  -h                  show this help\n",
		prog);
}

static int parse_long(const char *s, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < 0)
		return -1;
	*out = v;
	return 0;
}

static int handle_event(void *ctx, void *data, size_t data_sz)
{
	const struct event *e = data;
	char ts[32];
	struct tm tm;
	time_t t;

	(void)ctx;
	(void)data_sz;

	time(&t);
	localtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);

	if (e->exit_event) {
		printf("%-8s %-5s %-16s %-7d %-7d [%u]", ts, "EXIT", e->comm, e->pid, e->ppid,
		       e->exit_code);
		if (e->duration_ns)
			printf(" (%llums)", e->duration_ns / 1000000);
		printf("\n");
	} else {
		printf("%-8s %-5s %-16s %-7d %-7d %s\n", ts, "EXEC", e->comm, e->pid, e->ppid,
		       e->filename);
	}
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct ring_buffer *rb = NULL;
	struct bootstrap_bpf *skel;
	int opt, err;

	while ((opt = getopt(argc, argv, "vd:t:h")) != -1) {
		switch (opt) {
		case 'v':
			env.verbose = true;
			break;
		case 'd':
			if (parse_long(optarg, &env.min_duration_ms)) {
				fprintf(stderr, "Invalid duration: %s\n", optarg);
				usage(stderr, argv[0]);
				return 1;
			}
			break;
		case 't':
			if (parse_long(optarg, &env.run_seconds)) {
				fprintf(stderr, "Invalid number of seconds: %s\n", optarg);
				usage(stderr, argv[0]);
				return 1;
			}
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "Unexpected argument: %s\n", argv[optind]);
		usage(stderr, argv[0]);
		return 1;
	}

	example_setup();

	skel = bootstrap_bpf__open();
	if (!skel) {
		fprintf(stderr, "Failed to open and load BPF skeleton\n");
		return 1;
	}

	/* parameterize the BPF code with the minimum duration (.rodata) */
	skel->rodata->min_duration_ns = env.min_duration_ms * 1000000ULL;

	err = bootstrap_bpf__load(skel);
	if (err) {
		fprintf(stderr, "Failed to load and verify BPF skeleton\n");
		goto cleanup;
	}

	err = bootstrap_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "Failed to attach BPF skeleton\n");
		goto cleanup;
	}

	rb = ring_buffer__new(bpf_map__fd(skel->maps.rb), handle_event, NULL, NULL);
	if (!rb) {
		err = -1;
		fprintf(stderr, "Failed to create ring buffer\n");
		goto cleanup;
	}

	printf("%-8s %-5s %-16s %-7s %-7s %s\n", "TIME", "EVENT", "COMM", "PID", "PPID",
	       "FILENAME/EXIT CODE");
	fflush(stdout);

	err = example_poll(rb, env.run_seconds);

cleanup:
	ring_buffer__free(rb);
	bootstrap_bpf__destroy(skel);
	return err ? 1 : 0;
}
