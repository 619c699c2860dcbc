#!/usr/bin/env bash
# Times `bpfgen gen object` next to `bpftool gen object` (Debian's bpftool 7.1) on the same
# inputs in the same process: the three-file link fixture (tests/fixtures/link) compiled by
# clang with BTF, the bootstrap example alone (a one-file link: libbpf-bootstrap's strip
# step, with vmlinux.h types to deduplicate), and the 40 programs of bench/make-corpus.sh
# together (a tool collection linked into one object: each input brings its own copy of the
# kernel types it uses). Checks first that .BTF and .BTF.ext are the same bytes. Each run
# writes a new output file (both tools); the two tools' runs alternate. Not a test: nothing
# here asserts.
# Usage: bench/link.sh [RUNS]   (default 10; medians are reported)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
# shellcheck source=bench/lib.sh
source bench/lib.sh

inputs=()
for stem in main lib maps; do
    clang -g -O2 -target bpf -I/usr/include/x86_64-linux-gnu -Itests/fixtures/link \
        -c "tests/fixtures/link/$stem.bpf.c" -o "$scratch/$stem.o"
    inputs+=("$scratch/$stem.o")
done
"$bpfgen" build --skel none --no-check -o "$scratch" -I examples/c examples/c/bootstrap.bpf.c
bash bench/make-corpus.sh "$scratch/corpus" 40 >/dev/null
"$bpfgen" build --skel none --no-check -j2 -I "$scratch/corpus/include" -o "$scratch/corpus-objects" \
    "$scratch"/corpus/corpus/*.bpf.c 2>/dev/null
corpus_objects=("$scratch"/corpus-objects/*.bpf.o)

same_btf() {
    for section in .BTF .BTF.ext; do
        llvm-objcopy --dump-section "$section=$scratch/a.sec" "$1" /dev/null
        llvm-objcopy --dump-section "$section=$scratch/b.sec" "$2" /dev/null
        cmp -s "$scratch/a.sec" "$scratch/b.sec" || echo "  note: $section differs from bpftool's"
    done
}

for case in three-files bootstrap corpus; do
    case $case in
        three-files) set -- "${inputs[@]}" ;;
        bootstrap) set -- "$scratch/bootstrap.bpf.o" ;;
        corpus) set -- "${corpus_objects[@]}" ;;
    esac
    "$bpfgen" gen object "$scratch/ours.o" "$@"
    bpftool gen object "$scratch/theirs.o" "$@"
    same_btf "$scratch/ours.o" "$scratch/theirs.o"
    # Every run writes a new file, as a clean build does (named per case: a name an earlier
    # case wrote would be a replacement, which bpfgen makes atomically, by rename, and
    # bpftool by truncating the old file in place): bpfgen's skip-if-unchanged write is not
    # what this measures.
    run=0
    ours() { run=$((run + 1)); "$bpfgen" gen object "$scratch/ours.$case.$run.o" "$@"; }
    theirs() { run=$((run + 1)); bpftool gen object "$scratch/theirs.$case.$run.o" "$@"; }
    read -r mine ref < <(paired_medians_ms ours theirs "$@")
    echo "$case ($# input(s)), $runs runs each, alternating, medians"
    echo "  bpfgen gen object   ${mine} ms"
    echo "  bpftool gen object  ${ref} ms"
    echo "  ratio (bpfgen / bpftool): $(ratio "$mine" "$ref")"
done
