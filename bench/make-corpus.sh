#!/usr/bin/env bash
# Writes the benchmark corpus into DIR: FILES realistic BPF programs (vmlinux.h, CO-RE reads,
# hash, per-CPU array and ring buffer maps, a few hundred to a few thousand instructions) in
# DIR/corpus, this kernel's vmlinux.h (bpftool-dumped, as libbpf-bootstrap checks one in) in
# DIR/include, and DIR/Makefile, the reference pipeline (clang, bpftool gen object, bpftool
# gen skeleton per file, into DIR/ref). Used by bench/corpus.sh and bench/remote-cache.sh.
# Usage: bench/make-corpus.sh DIR FILES
set -euo pipefail
scratch=$1
files=$2
corpus=$scratch/corpus
mkdir -p "$corpus" "$scratch/include"

tracepoints=(sched/sched_process_exec sched/sched_process_exit sched/sched_process_fork
             sched/sched_switch syscalls/sys_enter_openat syscalls/sys_enter_read)
for i in $(seq 1 "$files"); do
    values=$(( 4 + (i * 7) % 60 ))
    tp=${tracepoints[$(( i % ${#tracepoints[@]} ))]}
    cat > "$corpus/prog$i.bpf.c" <<PROG
// Generated benchmark program $i: $values CO-RE-derived values per event.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

struct event$i {
	u32 pid;
	u32 ppid;
	u64 ts;
	char comm[16];
	u64 values[$values];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events$i SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, u32);
	__type(value, u64);
} counts$i SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} totals$i SEC(".maps");

const volatile u32 target_pid$i = 0;

SEC("tp/$tp")
int handle$i(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	u32 pid = bpf_get_current_pid_tgid() >> 32, zero = 0;
	u64 one = 1, *count, *total;
	struct event$i *e;

	if (target_pid$i && pid != target_pid$i)
		return 0;
	count = bpf_map_lookup_elem(&counts$i, &pid);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&counts$i, &pid, &one, BPF_ANY);
	total = bpf_map_lookup_elem(&totals$i, &zero);
	if (total)
		*total += 1;
	e = bpf_ringbuf_reserve(&events$i, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = pid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->ts = bpf_ktime_get_ns();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
#pragma unroll
	for (int i = 0; i < $values; i++)
		e->values[i] = BPF_CORE_READ(task, mm, total_vm) * i + BPF_CORE_READ(task, nvcsw) + i;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
PROG
done

bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$scratch/include/vmlinux.h"
sysincludes=$(clang -v -E - </dev/null 2>&1 | sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }' | tr '\n' ' ')
cat > "$scratch/Makefile" <<MAKE
OUT := $scratch/ref
SRCS := \$(wildcard $corpus/*.bpf.c)
SKELS := \$(patsubst $corpus/%.bpf.c,\$(OUT)/%.skel.h,\$(SRCS))
all: \$(SKELS)
\$(OUT)/%.tmp.bpf.o: $corpus/%.bpf.c
	@mkdir -p \$(OUT)
	@clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -I$scratch/include $sysincludes -c \$< -o \$@
\$(OUT)/%.bpf.o: \$(OUT)/%.tmp.bpf.o
	@bpftool gen object \$@ \$<
\$(OUT)/%.skel.h: \$(OUT)/%.bpf.o
	@bpftool gen skeleton \$< > \$@
MAKE

