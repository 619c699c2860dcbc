#!/usr/bin/env bash
# Times Rust skeleton generation: bpfgen gen skeleton --lang rust against libbpf-cargo 0.27's
# `cargo libbpf gen --object` (which runs rustfmt), on the largest object among the test
# fixtures, and prints the ratio (bpfgen time / libbpf-cargo time: below 1 is faster).
# libbpf-cargo is installed for this benchmark only, under target/bench-tools.
# Not a test: nothing here asserts.
# Usage: bench/rust-skel.sh [RUNS]   (default 10; medians are reported)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
tools=$PWD/target/bench-tools
scripts/install-libbpf-cargo.sh

# shellcheck source=bench/lib.sh
source bench/lib.sh

fixtures=()
for source in tests/fixtures/*.bpf.c; do
    case "$source" in */broken.bpf.c) continue ;; esac
    fixtures+=("$source")
done
"$bpfgen" build --skel none -o "$scratch/objects" "${fixtures[@]}" >/dev/null 2>&1
largest=$(ls -S "$scratch"/objects/*.bpf.o | head -1)

# Each run writes a new file, as the redirection of cargo libbpf gen does: bpfgen's
# skip-if-unchanged write would otherwise make later runs a comparison instead of a write.
run=0
ours() {
    run=$((run + 1))
    "$bpfgen" gen skeleton --lang rust "$largest" -o "$scratch/ours.$run.skel.rs"
}
theirs() { "$tools/bin/cargo-libbpf" libbpf gen --object "$largest" > "$scratch/theirs.skel.rs"; }
ref=$(median_ms theirs)
mine=$(median_ms ours)
echo "Rust skeleton of $(basename "$largest") ($(stat -c %s "$largest") bytes), $runs runs each, medians"
echo "  cargo libbpf gen --object         ${ref} ms  ($(wc -l < "$scratch/theirs.skel.rs") lines)"
echo "  bpfgen gen skeleton --lang rust ${mine} ms  ($("$bpfgen" gen skeleton --lang rust "$largest" | wc -l) lines)"
echo "  ratio bpfgen/libbpf-cargo         $(ratio "$mine" "$ref")   (goal: at most 1)"
