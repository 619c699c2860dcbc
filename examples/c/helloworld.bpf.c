// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* helloworld: print "Hello, World!" to trace_pipe on every execve(). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tracepoint/syscalls/sys_enter_execve")
int handle_execve(void *ctx)
{
	bpf_printk("Hello, World!");
	return 0;
}
