// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* task_iter: a BPF iterator over every task (thread) in the system. Each run
 * of the program writes one line, "TGID TID COMM", to the seq_file that user
 * space reads from the iterator's file descriptor.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;

	/* called once more at the end with no task */
	if (!task)
		return 0;

	if (ctx->meta->seq_num == 0)
		BPF_SEQ_PRINTF(seq, "%8s %8s %s\n", "TGID", "TID", "COMM");

	BPF_SEQ_PRINTF(seq, "%8d %8d %s\n", task->tgid, task->pid, task->comm);
	return 0;
}
