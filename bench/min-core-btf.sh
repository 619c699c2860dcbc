#!/usr/bin/env bash
# Times `bpfgen gen min-core-btf` next to `bpftool gen min_core_btf` (Debian's bpftool 7.1) on
# the same inputs in the same process: the bootstrap example's object against this machine's
# kernel BTF and against three kernels at once is not possible in one bpftool call, so each
# kernel is one call for both tools. Checks first that both write the same bytes; the two
# tools' runs alternate.
# Not a test: nothing here asserts.
# Usage: bench/min-core-btf.sh [RUNS]   (default 10; medians are reported)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
# shellcheck source=bench/lib.sh
source bench/lib.sh

btfs=(/sys/kernel/btf/vmlinux)
for name in debian-12-6.1.0-56-amd64 debian-12-6.12.117-amd64; do
    xz -dc "tests/data/$name.btf.xz" > "$scratch/$name.btf"
    btfs+=("$scratch/$name.btf")
done
"$bpfgen" build --skel none --no-check -o "$scratch" -I examples/c examples/c/bootstrap.bpf.c
object=$scratch/bootstrap.bpf.o
for btf in "${btfs[@]}"; do
    "$bpfgen" gen min-core-btf "$btf" "$scratch/ours.btf" "$object"
    bpftool gen min_core_btf "$btf" "$scratch/theirs.btf" "$object"
    cmp -s "$scratch/ours.btf" "$scratch/theirs.btf" || echo "  note: output differs from bpftool's for $btf"
done

ours() { for btf in "${btfs[@]}"; do "$bpfgen" gen min-core-btf "$btf" "$scratch/ours.btf" "$object"; done; }
theirs() { for btf in "${btfs[@]}"; do bpftool gen min_core_btf "$btf" "$scratch/theirs.btf" "$object"; done; }

read -r mine ref < <(paired_medians_ms ours theirs)
echo "min-CO-RE BTF of bootstrap.bpf.o for ${#btfs[@]} kernels, $runs runs each, alternating, medians"
echo "  bpfgen gen min-core-btf x${#btfs[@]}   ${mine} ms"
echo "  bpftool gen min_core_btf x${#btfs[@]}  ${ref} ms"
echo "  ratio (bpfgen / bpftool): $(ratio "$mine" "$ref")"
