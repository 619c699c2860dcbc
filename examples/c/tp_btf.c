// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tp_btf: loads tp_btf.bpf.c, then once per second runs a child that execs
 * PROGRAM (default /bin/true) and prints what the BPF program counted: all
 * execs in the system, and those of this loader's children.
 *
 * usage: tp_btf [-e PROGRAM] [-t SECONDS]
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "example.h"
#include "tp_btf.skel.h"

/* forks a child that execs program, waits for it; returns its pid or -1 */
static pid_t run_child(const char *program)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		execl(program, program, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "waitpid: %s\n", strerror(errno));
			return -1;
		}
	}
	return pid;
}

int main(int argc, char **argv)
{
	const char *program = "/bin/true";
	struct tp_btf_bpf *skel;
	long limit = 0, elapsed = 0;
	int opt, err = 0, round;

	while ((opt = getopt(argc, argv, "e:t:")) != -1) {
		switch (opt) {
		case 'e':
			program = optarg;
			break;
		case 't':
			limit = example_seconds(optarg);
			if (limit < 0)
				return 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-e PROGRAM] [-t SECONDS]\n", argv[0]);
			return 1;
		}
	}

	example_setup();

	skel = tp_btf_bpf__open();
	if (!skel) {
		fprintf(stderr, "Failed to open BPF skeleton\n");
		return 1;
	}

	/* .rodata: fixed at load time, so the verifier knows it */
	skel->rodata->parent_pid = getpid();

	err = tp_btf_bpf__load(skel);
	if (err) {
		fprintf(stderr, "Failed to load and verify BPF skeleton: %d\n", err);
		goto cleanup;
	}

	err = tp_btf_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "Failed to attach BPF skeleton: %d\n", err);
		goto cleanup;
	}

	printf("Successfully started! Running %s once per second.\n", program);
	fflush(stdout);

	for (round = 1; !exiting && (limit == 0 || elapsed < limit); round++, elapsed++) {
		pid_t child = run_child(program);

		if (child < 0) {
			err = 1;
			break;
		}
		/* the program ran during the child's exec, before it exited */
		printf("child %d exec'ed %s: BPF saw %llu exec(s) by our children (last: pid %d, %s), "
		       "%llu in the whole system\n",
		       child, program, (unsigned long long)skel->bss->child_execs,
		       skel->bss->last_child_pid, skel->bss->last_child_file,
		       (unsigned long long)skel->bss->execs);
		fflush(stdout);
		sleep(1);
	}

cleanup:
	tp_btf_bpf__destroy(skel);
	return err ? 1 : 0;
}
