// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* uprobe: loads uprobe.bpf.c, attaches its programs to the entry and the
 * return of uprobed_add() in this very binary, then calls that function once
 * per second and prints what the BPF programs recorded.
 *
 * usage: uprobe [-t SECONDS]
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "example.h"
#include "uprobe.skel.h"

/* The probed function. It must stay a real, separately callable function with
 * a symbol: not inlined, not static, and not folded into its callers.
 */
__attribute__((noinline)) int uprobed_add(int a, int b)
{
	asm volatile("" ::: "memory");
	return a + b;
}

static struct bpf_link *attach(struct bpf_program *prog, int retprobe)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = "uprobed_add", .retprobe = retprobe);
	struct bpf_link *link;

	/* pid 0: only this process; offset 0: func_name gives the place */
	link = bpf_program__attach_uprobe_opts(prog, 0, "/proc/self/exe", 0, &opts);
	if (!link)
		fprintf(stderr, "Failed to attach %s: %d\n", retprobe ? "uretprobe" : "uprobe",
			-errno);
	return link;
}

int main(int argc, char **argv)
{
	struct uprobe_bpf *skel;
	long limit = 0, elapsed = 0;
	int err = 0, i;

	limit = example_time_limit(argc, argv);
	if (limit < 0)
		return 1;

	example_setup();

	skel = uprobe_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "Failed to open and load BPF skeleton\n");
		return 1;
	}

	skel->links.uprobe_add = attach(skel->progs.uprobe_add, 0);
	skel->links.uretprobe_add = attach(skel->progs.uretprobe_add, 1);
	if (!skel->links.uprobe_add || !skel->links.uretprobe_add) {
		err = 1;
		goto cleanup;
	}

	printf("Successfully started! Calling uprobed_add() once per second.\n");
	fflush(stdout);

	for (i = 1; !exiting && (limit == 0 || elapsed < limit); i++, elapsed++) {
		int sum = uprobed_add(i, i + 1);

		/* both probes ran synchronously in this thread during the call */
		printf("uprobed_add(%d, %d) = %d seen by BPF: args %d %d, ret %d "
		       "(%llu entries, %llu returns)\n",
		       i, i + 1, sum, skel->bss->seen_a, skel->bss->seen_b, skel->bss->seen_ret,
		       (unsigned long long)skel->bss->entries,
		       (unsigned long long)skel->bss->returns);
		fflush(stdout);
		sleep(1);
	}

cleanup:
	uprobe_bpf__destroy(skel);
	return err;
}
