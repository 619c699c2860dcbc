// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tp_btf: a BTF-enabled tracepoint program on sched_process_exec. Unlike a
 * classic tracepoint it receives the tracepoint's typed arguments (the task,
 * its old pid, the linux_binprm) and may read their fields directly. It
 * counts every exec, and separately the execs of the loader's children,
 * remembering the last of those in .bss.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* set by the loader before load */
const volatile int parent_pid = 0;

/* read by the loader through skel->bss */
__u64 execs;
__u64 child_execs;
int last_child_pid;
char last_child_file[64];

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__sync_fetch_and_add(&execs, 1);

	/* typed pointers: plain field accesses, no bpf_probe_read */
	if (p->real_parent->tgid != parent_pid)
		return 0;

	last_child_pid = p->tgid;
	bpf_probe_read_kernel_str(last_child_file, sizeof(last_child_file), bprm->filename);
	__sync_fetch_and_add(&child_execs, 1);
	return 0;
}
