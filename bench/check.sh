#!/usr/bin/env bash
# Times `bpfgen check` resolving every CO-RE relocation of an object against three kernel BTFs
# (Debian 6.1, 6.12 and this machine's 6.18, from tests/data), next to what libbpf 1.1 needs
# to open the same object with each BTF as btf_custom_path and relocate it (the oracle harness
# of the tests, tests/fixtures/check/libbpf_core_verdicts.c: open + load, which relocates before
# it loads; needs root). The object is generated: 30 kernel fields, each read with
# BPF_CORE_READ and asked for its size, offset and existence (120 relocations and more).
# Not a test: nothing here asserts.
# Usage: bench/check.sh [RUNS]   (default 10; medians are reported)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
# shellcheck source=bench/lib.sh
source bench/lib.sh

btfs=()
for name in debian-12-6.1.0-56-amd64 debian-12-6.12.117-amd64 running-6.18.44-fc-v669-x86_64; do
    xz -dc "tests/data/$name.btf.xz" > "$scratch/$name.btf"
    btfs+=("$scratch/$name.btf")
done

fields="pid tgid prio static_prio normal_prio rt_priority flags on_cpu recent_used_cpu
nr_cpus_allowed exit_code exit_signal pdeath_signal utime stime gtime nvcsw nivcsw start_time
real_parent parent group_leader mm active_mm comm cred fs files nsproxy signal"
{
    echo '#include "vmlinux.h"'
    echo '#include <bpf/bpf_helpers.h>'
    echo '#include <bpf/bpf_core_read.h>'
    echo 'char LICENSE[] SEC("license") = "GPL";'
    echo 'SEC("tp/syscalls/sys_enter_getpid")'
    echo 'int many_reads(void *ctx)'
    echo '{'
    echo '	struct task_struct *t = (void *)bpf_get_current_task();'
    echo '	__u64 acc = 0;'
    for f in $fields; do
        echo "	acc += (__u64)BPF_CORE_READ(t, $f);"
        echo "	acc += bpf_core_field_size(t->$f) + bpf_core_field_offset(t->$f);"
        echo "	acc += bpf_core_field_exists(t->$f);"
    done
    echo '	return acc & 1;'
    echo '}'
} | sed 's/BPF_CORE_READ(t, comm)/BPF_CORE_READ(t, comm[0])/' > "$scratch/many_reads.bpf.c"
"$bpfgen" build --skel none --no-check -o "$scratch" "$scratch/many_reads.bpf.c"
object=$scratch/many_reads.bpf.o
relos=$("$bpfgen" inspect --json "$object" | grep -o '"core_relocations": *[0-9]*' | grep -o '[0-9]*$')

cc -O2 -Wall -Werror tests/fixtures/check/libbpf_core_verdicts.c -o "$scratch/libbpf_verdicts" -lbpf -lelf -lz
libbpf_all() { for btf in "${btfs[@]}"; do "$scratch/libbpf_verdicts" "$object" "$btf"; done; }
ours() { "$bpfgen" check "$object" --btf "${btfs[0]}" --btf "${btfs[1]}" --btf "${btfs[2]}"; }

mine=$(median_ms ours)
echo "CO-RE check of an object with $relos relocations against 3 kernel BTFs, $runs runs each, medians"
echo "  bpfgen check --btf x3                              ${mine} ms"
if [ "$(id -u)" = 0 ]; then
    ref=$(median_ms libbpf_all)
    echo "  libbpf 1.1 open + relocate with btf_custom_path x3 ${ref} ms"
    echo "  ratio (bpfgen / libbpf): $(ratio "$mine" "$ref")"
else
    echo "  libbpf 1.1 open + relocate: not measured (needs root to create maps and load)"
fi
