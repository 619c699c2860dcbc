// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* example.h: what every example loader does alike. libbpf's warnings go to stderr, SIGINT
 * and SIGTERM set `exiting` for the main loop, example_time_limit() reads the `-t SECONDS`
 * time limit, example_now() measures it and example_poll() polls a ring buffer within it.
 */
#ifndef BPFGEN_EXAMPLE_H
#define BPFGEN_EXAMPLE_H

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

static volatile sig_atomic_t exiting;

static void example_stop(int sig)
{
	(void)sig;
	exiting = 1;
}

static int example_print(enum libbpf_print_level level, const char *format, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, format, args);
}

/* libbpf's warnings and errors to stderr; SIGINT and SIGTERM ask the loader to stop. */
static inline void example_setup(void)
{
	libbpf_set_print(example_print);
	signal(SIGINT, example_stop);
	signal(SIGTERM, example_stop);
}

/* A non-negative number of seconds (a time limit; 0 means none), or -1 after saying why
 * `arg` is not one.
 */
static inline long example_seconds(const char *arg)
{
	char *end;
	long seconds = strtol(arg, &end, 10);

	if (*arg == '\0' || *end != '\0' || seconds < 0) {
		fprintf(stderr, "invalid number of seconds: %s\n", arg);
		return -1;
	}
	return seconds;
}

/* The loaders' one option, `-t SECONDS` (0, the default, means no limit): the limit, or -1
 * after saying what is wrong with the command line.
 */
static inline long example_time_limit(int argc, char **argv)
{
	long limit = 0;
	int opt;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't') {
			fprintf(stderr, "usage: %s [-t SECONDS]\n", argv[0]);
			return -1;
		}
		limit = example_seconds(optarg);
		if (limit < 0)
			return -1;
	}
	return limit;
}

/* Seconds on a monotonic clock, for time limits. */
static inline double example_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Polls `rb` (its callbacks print the events) until SIGINT or SIGTERM, or for `limit`
 * seconds when that is not 0. 0 when it stopped as asked, a negative error (said on stderr)
 * when polling failed.
 */
static inline int example_poll(struct ring_buffer *rb, long limit)
{
	double start = example_now();

	while (!exiting && (limit == 0 || example_now() - start < limit)) {
		int err = ring_buffer__poll(rb, 100 /* timeout, ms */);

		/* Ctrl-C gives -EINTR */
		if (err == -EINTR)
			break;
		if (err < 0) {
			fprintf(stderr, "Error polling ring buffer: %d\n", err);
			return err;
		}
	}
	return 0;
}

#endif /* BPFGEN_EXAMPLE_H */
