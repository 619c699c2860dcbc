#!/usr/bin/env bash
# Builds a generated corpus of 40 realistic BPF programs (vmlinux.h, CO-RE reads, hash,
# per-CPU array and ring buffer maps, a few hundred to a few thousand instructions) and times,
# in one run, on this machine:
#   (a) the reference pipeline: clang, bpftool gen object, bpftool gen skeleton per file,
#       driven by make -j2 with a bpftool-dumped vmlinux.h (as libbpf-bootstrap does);
#   (b) bpfgen build -j2 with a cold cache (vmlinux.h generated and precompiled on the way);
#   (c) bpfgen build again with nothing changed;
#   (d) bpfgen build after touching one source.
# The "realistic" mode gives bpfgen the same checked-in vmlinux.h as the reference, found
# through -I (bpfgen precompiles it), instead of letting it generate one; both pipelines are
# then also timed with nothing changed and with one source edited.
# It prints times and ratios (reference / bpfgen: above 1 is faster). Nothing is asserted.
# Usage: bench/corpus.sh [FILES] [realistic]   (default 40; KEEP=1 keeps the corpus and outputs)
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-40}
mode=${2:-generated}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
[ -n "${KEEP:-}" ] && trap - EXIT && echo "scratch: $scratch"
cargo build --release --quiet
bpfgen=${CARGO_TARGET_DIR:-$PWD/target}/release/bpfgen
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

ms() { local start end; start=$(date +%s%N); "$@" >/dev/null 2>&1; end=$(date +%s%N); echo $(( (end - start) / 1000000 )); }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / (b > 0 ? b : 1) }'; }

export BPFGEN_CACHE_DIR=$scratch/cache
flags=()
[ "$mode" = realistic ] && flags=(-I "$scratch/include")
build() { "$bpfgen" build -j2 "${flags[@]}" "$corpus"/*.bpf.c -o "$scratch/out"; }
reference=$(ms make -j2 -f "$scratch/Makefile")
cold=$(ms build)
if [ "$mode" = realistic ]; then
    reference_noop=$(ms make -j2 -f "$scratch/Makefile")
    warm=$(ms build)
    echo "// touched" >> "$corpus/prog1.bpf.c"
    reference_touched=$(ms make -j2 -f "$scratch/Makefile")
    touched=$(ms build)
    echo "bpfgen corpus benchmark, realistic: $files programs, a checked-in vmlinux.h through -I, $(nproc) CPUs, $(clang --version | head -1)"
    echo "  reference: make -j2 (clang + bpftool gen object + gen skeleton); bpfgen: build -j2 -I include"
    echo "                       reference     bpfgen    ratio"
    printf "  cold               %9s ms %7s ms    %sx\n" "$reference" "$cold" "$(ratio "$reference" "$cold")"
    printf "  nothing changed    %9s ms %7s ms    %sx\n" "$reference_noop" "$warm" "$(ratio "$reference_noop" "$warm")"
    printf "  one source edited  %9s ms %7s ms    %sx\n" "$reference_touched" "$touched" "$(ratio "$reference_touched" "$touched")"
    exit 0
fi
warm=$(ms build)
touch "$corpus/prog1.bpf.c"
echo "// touched" >> "$corpus/prog1.bpf.c"
touched=$(ms build)
single=$(ms "$bpfgen" build --no-cache "$corpus/prog1.bpf.c" -o "$scratch/single")
insns=$("$bpfgen" inspect --json "$scratch/out/prog$files.bpf.o" | awk -F: '/"insns"/ { gsub(/[ ,]/, "", $2); print $2 }')

echo "bpfgen corpus benchmark: $files programs (prog$files: $insns instructions), $(nproc) CPUs, $(clang --version | head -1)"
echo "  (a) reference, make -j2 (clang + bpftool gen object + gen skeleton)   ${reference} ms"
echo "  (b) bpfgen build -j2, cold cache                                      ${cold} ms   $(ratio "$reference" "$cold")x faster (goal: 3x)"
echo "  (c) bpfgen build, nothing changed                                     ${warm} ms   (goal: under 30 ms)"
echo "  (d) bpfgen build, one source touched                                  ${touched} ms   (one file alone, no cache: ${single} ms)"
