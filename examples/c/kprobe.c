// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* kprobe: loads kprobe.bpf.c, attaches its kprobe and kretprobe on
 * do_unlinkat() and prints one line per event from the ring buffer. Try
 * `touch /tmp/x && rm /tmp/x` in another shell. Needs CONFIG_KPROBES.
 *
 * usage: kprobe [-t SECONDS]
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "example.h"
#include "unlink_event.h"
#include "kprobe.skel.h"

static int handle_event(void *ctx, void *data, size_t data_sz)
{
	const struct unlink_event *e = data;

	(void)ctx;
	if (data_sz < sizeof(*e))
		return 0;
	if (e->exit_event)
		printf("KPROBE EXIT:  pid = %d (%s), ret = %d\n", e->pid, e->comm, e->ret);
	else
		printf("KPROBE ENTRY: pid = %d (%s), filename = %s\n", e->pid, e->comm,
		       e->filename);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct ring_buffer *rb = NULL;
	struct kprobe_bpf *skel;
	long limit = 0;
	int err;

	limit = example_time_limit(argc, argv);
	if (limit < 0)
		return 1;

	example_setup();

	skel = kprobe_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "Failed to open and load BPF skeleton\n");
		return 1;
	}

	/* the section names say where: the skeleton attaches both probes */
	err = kprobe_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "Failed to attach BPF skeleton: %d (does the kernel have kprobes?)\n",
			err);
		goto cleanup;
	}

	rb = ring_buffer__new(bpf_map__fd(skel->maps.rb), handle_event, NULL, NULL);
	if (!rb) {
		err = -1;
		fprintf(stderr, "Failed to create ring buffer\n");
		goto cleanup;
	}

	printf("Successfully started! Tracing do_unlinkat(); remove a file to see events.\n");
	fflush(stdout);

	err = example_poll(rb, limit);

cleanup:
	ring_buffer__free(rb);
	kprobe_bpf__destroy(skel);
	return err ? 1 : 0;
}
