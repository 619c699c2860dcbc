// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* usdt: loads usdt.bpf.c and attaches it to the USDT probe bpfgen:tick of
 * this binary, then fires the probe once per second and prints what the BPF
 * program saw. Building it needs <sys/sdt.h> (Debian: systemtap-sdt-dev).
 *
 * usage: usdt [-t SECONDS]
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/sdt.h>
#include <bpf/libbpf.h>
#include "example.h"
#include "usdt.skel.h"

int main(int argc, char **argv)
{
	struct usdt_bpf *skel;
	long limit = 0, elapsed = 0;
	int err = 0, i, j;

	limit = example_time_limit(argc, argv);
	if (limit < 0)
		return 1;

	example_setup();

	skel = usdt_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "Failed to open and load BPF skeleton\n");
		return 1;
	}

	/* the probe lives in this binary; only this process should trigger it */
	skel->links.handle_tick = bpf_program__attach_usdt(skel->progs.handle_tick, getpid(),
							   "/proc/self/exe", "bpfgen", "tick",
							   NULL);
	if (!skel->links.handle_tick) {
		err = 1;
		fprintf(stderr, "Failed to attach USDT probe bpfgen:tick: %d\n", -errno);
		goto cleanup;
	}

	printf("Successfully started! Firing USDT probe bpfgen:tick once per second.\n");
	fflush(stdout);

	for (i = 1; !exiting && (limit == 0 || elapsed < limit); i++, elapsed++) {
		j = i * 10;
		DTRACE_PROBE2(bpfgen, tick, i, j);
		/* the program ran synchronously when the probe fired */
		printf("tick(%d, %d) seen by BPF: i=%ld j=%ld (%llu hits)\n", i, j, skel->bss->seen_i,
		       skel->bss->seen_j, (unsigned long long)skel->bss->hits);
		fflush(stdout);
		sleep(1);
	}

cleanup:
	usdt_bpf__destroy(skel);
	return err;
}
