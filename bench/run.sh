#!/usr/bin/env bash
# Times bpfgen against the reference pipeline in one run, on this machine, and prints ratios
# (bpfgen time / reference time: below 1 is faster). Not a test: nothing here asserts.
#   1. vmlinux.h:  bpftool btf dump file /sys/kernel/btf/vmlinux format c > file
#                  vs bpfgen gen vmlinux -o file
#   2. examples:   compiling examples/c with a plain #include "vmlinux.h" (clang, then
#                  bpftool gen object + gen skeleton, as libbpf-bootstrap does)
#                  vs bpfgen build with a warm cache (generated, precompiled vmlinux.h)
# Usage: bench/run.sh [RUNS]   (default 10; medians are reported)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
btf=/sys/kernel/btf/vmlinux

# shellcheck source=bench/lib.sh
source bench/lib.sh

echo "bpfgen benchmark, $runs runs each, medians; $(nproc) CPUs; $(clang --version | head -1)"
echo

# Each run writes a new header, as bpftool's redirection does: bpfgen's skip-if-unchanged
# write would otherwise make every run after the first a comparison instead of a write.
bpftool_dump() { bpftool btf dump file "$btf" format c > "$scratch/bpftool-vmlinux.h"; }
run=0
bpfgen_dump() {
    run=$((run + 1))
    "$bpfgen" gen vmlinux --btf "$btf" -o "$scratch/bpfgen-vmlinux.$run.h"
}
ref=$(median_ms bpftool_dump)
ours=$(median_ms bpfgen_dump)
"$bpfgen" gen vmlinux --btf "$btf" -o "$scratch/bpfgen-vmlinux.h"
echo "vmlinux.h generation ($(wc -l < "$scratch/bpfgen-vmlinux.h") lines)"
echo "  bpftool btf dump > file   ${ref} ms"
echo "  bpfgen gen vmlinux        ${ours} ms"
echo "  ratio bpfgen/bpftool      $(ratio "$ours" "$ref")   (goal: at most 0.5)"
echo

include=$scratch/include
mkdir -p "$include" "$scratch/ref" "$scratch/ours"
cp "$scratch/bpftool-vmlinux.h" "$include/vmlinux.h"
sysincludes=$(clang -v -E - </dev/null 2>&1 | sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')
examples=(helloworld minimal bootstrap)
reference_build() {
    for app in "${examples[@]}"; do
        # shellcheck disable=SC2086
        clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -I"$include" $sysincludes \
            -c "examples/c/$app.bpf.c" -o "$scratch/ref/$app.tmp.bpf.o"
        bpftool gen object "$scratch/ref/$app.bpf.o" "$scratch/ref/$app.tmp.bpf.o"
        bpftool gen skeleton "$scratch/ref/$app.bpf.o" > "$scratch/ref/$app.skel.h"
    done
}
examples_with_suffix=("${examples[@]/%/.bpf.c}")
# --no-cache: every run compiles; the generated header and its PCH stay cached.
bpfgen_build() { "$bpfgen" build --no-cache "${examples_with_suffix[@]/#/examples/c/}" -o "$scratch/ours"; }
bpfgen_build_no_pch() { "$bpfgen" build --no-cache --no-pch "${examples_with_suffix[@]/#/examples/c/}" -o "$scratch/ours"; }
bpfgen_rebuild() { "$bpfgen" build "${examples_with_suffix[@]/#/examples/c/}" -o "$scratch/ours"; }
ref=$(median_ms reference_build)
plain=$(median_ms bpfgen_build_no_pch)
ours=$(median_ms bpfgen_build)
cached=$(median_ms bpfgen_rebuild)
echo "building examples/c (${examples[*]}), every source compiled"
echo "  clang + bpftool gen object/skeleton, #include vmlinux.h   ${ref} ms"
echo "  bpfgen build --no-pch (plain #include, generated header)   ${plain} ms"
echo "  bpfgen build (precompiled vmlinux.h)                      ${ours} ms"
echo "  speed-up over the reference pipeline                      $(ratio "$ref" "$ours")x   (goal: at least 3)"
echo "  (unchanged rebuild from the build cache: ${cached} ms)"
