// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fentry: the fentry/fexit version of the kprobe example. The programs are
 * attached through BPF trampolines, get do_unlinkat()'s arguments typed from
 * BTF and read them directly; fexit sees the arguments together with the
 * return value. Needs a kernel with BPF trampolines (CONFIG_DYNAMIC_FTRACE
 * with direct calls, and fentry not blocked by security policy).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "unlink_event.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

static __always_inline int submit(struct filename *name, long ret, int exit_event)
{
	struct unlink_event *e;

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;

	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ret = ret;
	e->exit_event = exit_event;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* name is a typed pointer: name->name is a direct load, the string
	 * behind it still needs a probe read */
	if (name)
		bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), name->name);
	else
		e->filename[0] = '\0';

	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("fentry/do_unlinkat")
int BPF_PROG(do_unlinkat, int dfd, struct filename *name)
{
	return submit(name, 0, 0);
}

SEC("fexit/do_unlinkat")
int BPF_PROG(do_unlinkat_exit, int dfd, struct filename *name, long ret)
{
	/* fexit sees the arguments too, but do_unlinkat() has already released
	 * name (putname) when it returns: report only the result */
	return submit(NULL, ret, 1);
}
