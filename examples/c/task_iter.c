// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* task_iter: loads task_iter.bpf.c, creates an iterator instance from its
 * link and copies everything it produces (one line per task) to stdout.
 *
 * usage: task_iter [-r SECONDS]
 *   Without -r, dumps the tasks once and exits; with -r, dumps them again
 *   every SECONDS seconds until interrupted.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "example.h"
#include "task_iter.skel.h"

/* runs the iterator once: each bpf_iter_create() starts a fresh walk */
static int dump_tasks(struct bpf_link *link)
{
	char buf[4096];
	ssize_t n;
	int iter_fd;

	iter_fd = bpf_iter_create(bpf_link__fd(link));
	if (iter_fd < 0) {
		fprintf(stderr, "Failed to create iterator: %s\n", strerror(errno));
		return 1;
	}

	while ((n = read(iter_fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, stdout);
	fflush(stdout);
	if (n < 0)
		fprintf(stderr, "Failed to read iterator: %s\n", strerror(errno));

	close(iter_fd);
	return n < 0;
}

int main(int argc, char **argv)
{
	struct task_iter_bpf *skel;
	long every = 0;
	int opt, err = 0;

	while ((opt = getopt(argc, argv, "r:")) != -1) {
		char *end;

		switch (opt) {
		case 'r':
			every = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || every <= 0) {
				fprintf(stderr, "invalid number of seconds: %s\n", optarg);
				return 1;
			}
			break;
		default:
			fprintf(stderr, "usage: %s [-r SECONDS]\n", argv[0]);
			return 1;
		}
	}

	example_setup();

	skel = task_iter_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "Failed to open and load BPF skeleton\n");
		return 1;
	}

	/* no options: iterate over the tasks of every process */
	skel->links.dump_task = bpf_program__attach_iter(skel->progs.dump_task, NULL);
	if (!skel->links.dump_task) {
		err = -errno;
		fprintf(stderr, "Failed to attach iterator: %d\n", err);
		goto cleanup;
	}

	printf("Successfully started! Tasks seen by the BPF iterator:\n");
	fflush(stdout);

	do {
		err = dump_tasks(skel->links.dump_task);
		if (err || !every)
			break;
		sleep(every);
	} while (!exiting);

cleanup:
	task_iter_bpf__destroy(skel);
	return err ? 1 : 0;
}
