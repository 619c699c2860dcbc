#!/usr/bin/env bash
# Checks that a change leaves every output byte-identical: builds bpfgen at REV (default
# HEAD) in a temporary worktree and bpfgen from the working tree, runs both over the same
# inputs, and compares what they write with `diff -r`. Exit 0: identical; 1: they differ.
#
# The inputs: every example (examples/c) and fixture (tests/fixtures, tests/fixtures/*/)
# source, and 20 generated programs (bench/make-corpus.sh). The outputs, per tool:
#   build/      `bpfgen build` objects, C skeletons and depfiles; rust/ the Rust skeletons
#   gen/        per object: gen skeleton (C, Rust), gen subskeleton, min-CO-RE BTF against
#               the three kernels of tests/data, gen object of the object alone
#   link/       gen object of the link fixtures (tests/fixtures/link) together
#   vmlinux/    gen vmlinux of the three kernels of tests/data
#   package/    package in all four formats for three objects
# Each command's exit status and messages are kept too, so that errors must stay the same.
# Usage: scripts/compare-outputs.sh [REV]
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-HEAD}
scratch=$(mktemp -d)
trap 'git worktree remove --force "$scratch/old-tree" >/dev/null 2>&1 || true; rm -rf "$scratch"' EXIT

git worktree add --detach -q "$scratch/old-tree" "$rev"
echo "building bpfgen at $rev and from the working tree (release)" >&2
target=${CARGO_TARGET_DIR:-$PWD/target}
(cd "$scratch/old-tree" && CARGO_TARGET_DIR=$target/compare-old cargo build --release --quiet)
old=$target/compare-old/release/bpfgen
cargo build --release --quiet
new=$target/release/bpfgen

# The shared inputs: kernels unpacked once, generated programs written once.
mkdir -p "$scratch/kernels"
for packed in tests/data/*.btf.xz; do
    xz -dc "$packed" > "$scratch/kernels/$(basename "$packed" .xz)"
done
bench/make-corpus.sh "$scratch/generated" 20 >/dev/null

# run OUT NAME CMD...: runs CMD, keeping its exit status and messages as OUT/NAME.log.
run() {
    local out=$1 name=$2
    shift 2
    local status=0
    "$@" >"$out/$name.stdout" 2>"$out/$name.stderr" || status=$?
    echo "exit $status" >"$out/$name.log"
    # Scratch paths differ between the two runs; messages are compared without them.
    sed -i "s|$scratch/[a-z-]*|SCRATCH|g" "$out/$name.stdout" "$out/$name.stderr"
}

# outputs BPFGEN DIR: everything one bpfgen writes, into DIR.
outputs() {
    local bpfgen=$1 out=$2
    export BPFGEN_CACHE_DIR=$out.cache SOURCE_DATE_EPOCH=0
    mkdir -p "$out"/{build,rust,gen,link,vmlinux,package}
    local sources=(examples/c/*.bpf.c tests/fixtures/*.bpf.c tests/fixtures/*/*.bpf.c)
    for source in "${sources[@]}"; do
        local stem
        stem=$(echo "${source%.bpf.c}" | tr / _)
        mkdir -p "$out/build/$stem" "$out/rust/$stem"
        local includes=(-I examples/c -I "$(dirname "$source")")
        run "$out/build" "$stem" "$bpfgen" build --color never -o "$out/build/$stem" \
            "${includes[@]}" "$source"
        run "$out/rust" "$stem" "$bpfgen" build --color never --skel rust --no-check \
            -o "$out/rust/$stem" "${includes[@]}" "$source"
    done
    for generated in "$scratch"/generated/corpus/*.bpf.c; do
        local stem=generated_$(basename "$generated" .bpf.c)
        mkdir -p "$out/build/$stem"
        run "$out/build" "$stem" "$bpfgen" build --color never -o "$out/build/$stem" \
            -I "$scratch/generated/include" "$generated"
    done
    for object in "$out"/build/*/*.bpf.o; do
        local stem gen=$out/gen/$(basename "$(dirname "$object")")
        stem=$(basename "$object" .bpf.o)
        mkdir -p "$gen"
        run "$gen" skel "$bpfgen" gen skeleton "$object" -o "$gen/$stem.skel.h"
        run "$gen" skel-rust "$bpfgen" gen skeleton --lang rust "$object" -o "$gen/$stem.skel.rs"
        run "$gen" subskel "$bpfgen" gen subskeleton "$object" -o "$gen/$stem.subskel.h"
        run "$gen" object "$bpfgen" gen object "$gen/$stem.linked.o" "$object"
        for kernel in "$scratch"/kernels/*.btf; do
            local name
            name=$(basename "$kernel" .btf)
            run "$gen" "min-core-$name" "$bpfgen" gen min-core-btf "$kernel" \
                "$gen/$stem.$name.min.btf" "$object"
        done
    done
    local link=tests/fixtures/link
    for stem in main lib maps align_first align_second subskel_lib subskel_main; do
        clang -g -O2 -target bpf -I/usr/include/x86_64-linux-gnu -I "$link" \
            -c "$link/$stem.bpf.c" -o "$scratch/$stem.o" 2>/dev/null
    done
    run "$out/link" three "$bpfgen" gen object "$out/link/three.o" \
        "$scratch/main.o" "$scratch/lib.o" "$scratch/maps.o"
    run "$out/link" align "$bpfgen" gen object "$out/link/align.o" \
        "$scratch/align_first.o" "$scratch/align_second.o"
    run "$out/link" subskel "$bpfgen" gen object "$out/link/subskel.o" \
        "$scratch/subskel_main.o" "$scratch/subskel_lib.o"
    for kernel in "$scratch"/kernels/*.btf; do
        run "$out/vmlinux" "$(basename "$kernel" .btf)" "$bpfgen" gen vmlinux --btf "$kernel" \
            -o "$out/vmlinux/$(basename "$kernel" .btf).h"
    done
    for stem in examples_c_bootstrap tests_fixtures_package_kconfig_externs examples_c_tc; do
        local object
        object=$(ls "$out/build/$stem/"*.bpf.o)
        for format in oci oci-archive ecli-json ecli-tar; do
            run "$out/package" "$stem.$format" "$bpfgen" package "$object" --format "$format" \
                --btf "$scratch/kernels" -o "$out/package/$stem.$format"
        done
    done
    # Depfiles name the output directory and cache entries (whose keys include the bpfgen
    # binary): compared with those spelled out.
    find "$out" -name '*.d' -exec sed -i -E \
        "s|$out.cache/[a-z]+/[0-9a-f]+/|CACHE/|g; s|$out/|OUT/|g" {} +
    rm -rf "$out.cache"
}

echo "outputs of bpfgen at $rev" >&2
outputs "$old" "$scratch/old"
echo "outputs of bpfgen from the working tree" >&2
outputs "$new" "$scratch/new"
files=$(find "$scratch/new" -type f | wc -l)
if diff -r "$scratch/old" "$scratch/new" >"$scratch/diff" 2>&1; then
    echo "identical: $files files"
else
    head -50 "$scratch/diff"
    echo "DIFFERENT (of $files files)"
    exit 1
fi
