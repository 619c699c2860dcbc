// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Exec and exit events from processes whose parent user space names, through a ring buffer,
 * with every kind of global data section, a hash map of structs, bitfields, a union and an
 * enum: what bpfgen's Rust skeleton must expose. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

enum event_kind {
	EVENT_EXEC = 1,
	EVENT_EXIT = 2,
};

struct event {
	__u32 pid;
	enum event_kind kind;
	unsigned int is_thread : 1;
	unsigned int prio : 7;
	unsigned int level : 4;
	union {
		__u32 raw;
		__u16 halves[2];
	} tag;
	__s32 mode;
	__u32 custom;
	char comm[16];
};

struct stats {
	__u64 execs;
	__u64 exits;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct stats);
} per_pid SEC(".maps");

/* .rodata: set by user space before load */
const volatile __u32 target_ppid = 0;
const volatile unsigned char level = 0;
/* .data */
__s32 mode = 1;
/* .data.custom */
__u32 custom SEC(".data.custom") = 0;
/* .bss */
__u64 exec_count = 0;
__u64 exit_count = 0;
/* .bss: makes struct event part of the BTF that the skeleton's types come from */
struct event last_event = {};

static bool from_target(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(task, real_parent, tgid) == target_ppid;
}

static void count(__u32 pid, bool exec)
{
	struct stats zero = {}, *stats;

	bpf_map_update_elem(&per_pid, &pid, &zero, BPF_NOEXIST);
	stats = bpf_map_lookup_elem(&per_pid, &pid);
	if (!stats)
		return;
	if (exec)
		__sync_fetch_and_add(&stats->execs, 1);
	else
		__sync_fetch_and_add(&stats->exits, 1);
}

SEC("tp/sched/sched_process_exec")
int handle_exec(void *ctx)
{
	struct event *e;
	__u32 pid = bpf_get_current_pid_tgid() >> 32;

	if (!from_target())
		return 0;
	__sync_fetch_and_add(&exec_count, 1);
	custom += 1;
	count(pid, true);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->pid = pid;
	e->kind = EVENT_EXEC;
	e->is_thread = 0;
	e->prio = 100;
	e->level = level;
	e->tag.halves[0] = 0x1234;
	e->tag.halves[1] = 0xabcd;
	e->mode = mode;
	e->custom = custom;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	last_event = *e;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp/sched/sched_process_exit")
int handle_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();

	/* threads other than the leader exit too; count processes */
	if (!from_target() || (__u32)id != id >> 32)
		return 0;
	__sync_fetch_and_add(&exit_count, 1);
	count(id >> 32, false);
	return 0;
}
