// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* minimal: print a line to trace_pipe whenever the process whose PID user
 * space stored in my_pid calls write().
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* set by user space before load; lives in .bss */
int my_pid = 0;

SEC("tp/syscalls/sys_enter_write")
int handle_tp(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;

	if (pid != my_pid)
		return 0;

	bpf_printk("BPF triggered from PID %d.\n", pid);
	return 0;
}
