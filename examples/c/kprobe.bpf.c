// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* kprobe: a kprobe on the kernel function do_unlinkat() and a kretprobe on
 * its return. The entry event carries the file name, the return event the
 * result; both go to user space through a ring buffer. Needs a kernel built
 * with CONFIG_KPROBES.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "unlink_event.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

SEC("kprobe/do_unlinkat")
int BPF_KPROBE(do_unlinkat, int dfd, struct filename *name)
{
	struct unlink_event *e;
	const char *filename;

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;

	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ret = 0;
	e->exit_event = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* a kprobe gets raw registers: kernel memory needs probe reads */
	filename = BPF_CORE_READ(name, name);
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), filename);

	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("kretprobe/do_unlinkat")
int BPF_KRETPROBE(do_unlinkat_exit, long ret)
{
	struct unlink_event *e;

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;

	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ret = ret;
	e->exit_event = 1;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->filename[0] = '\0';

	bpf_ringbuf_submit(e, 0);
	return 0;
}
