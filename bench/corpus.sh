#!/usr/bin/env bash
# Builds a generated corpus of 40 realistic BPF programs (vmlinux.h, CO-RE reads, hash,
# per-CPU array and ring buffer maps, a few hundred to a few thousand instructions) and times,
# in one run, on this machine:
#   (a) the reference pipeline: clang, bpftool gen object, bpftool gen skeleton per file,
#       driven by make -j2 with a bpftool-dumped vmlinux.h (as libbpf-bootstrap does);
#   (b) bpfgen build -j2 with a cold cache (vmlinux.h generated and precompiled on the way);
#   (c) bpfgen build again with nothing changed;
#   (d) bpfgen build after touching one source;
#   (e) bpfgen's own CPU time in a cold build, beside that of the clang runs it made.
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

bench/make-corpus.sh "$scratch" "$files"

# ms CMD...: CMD's wall time in ms, on bash's own clock (a `date` process would add its own
# start-up, a millisecond, to a 20 ms no-op build).
ms() {
    local start=${EPOCHREALTIME//[!0-9]/}
    "$@" >/dev/null 2>&1
    local end=${EPOCHREALTIME//[!0-9]/}
    echo $(((end - start) / 1000))
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / (b > 0 ? b : 1) }'; }

export BPFGEN_CACHE_DIR=$scratch/cache
flags=()
[ "$mode" = realistic ] && flags=(-I "$scratch/include")
build() { "$bpfgen" build -j2 "${flags[@]}" "$corpus"/*.bpf.c -o "$scratch/out"; }
reference=$(ms make -j2 -f "$scratch/Makefile")
cold=$(ms build)

# bpfgen's own share of a cold build: the CPU time (user + system) of a whole cold build, with
# its own empty cache, next to that of the clang processes it ran, each timed through a
# wrapper given as --clang (clang's probes and the precompiled header count as clang's).
# Bash's `time` keeps milliseconds (/usr/bin/time truncates each run to hundredths: 0.4 s lost
# over a build's 43 clang runs, all of it then counted as bpfgen's).
TIMEFORMAT='%3U %3S'
# timed TOOL LOG SCRIPT: writes SCRIPT, which runs TOOL and appends its CPU time to LOG.
timed() {
    printf '#!/bin/bash\nTIMEFORMAT="%%3U %%3S"\n{ time %q "$@" 2>&3 3>&-; } 3>&2 2>>%q\n' "$1" "$2" > "$3"
    chmod +x "$3"
}
clang_log=$scratch/clang-cpu
: > "$clang_log"
timed "$(command -v clang)" "$clang_log" "$scratch/timed-clang"
{ time BPFGEN_CACHE_DIR=$scratch/cache-overhead "$bpfgen" build -j2 --clang "$scratch/timed-clang" \
    "${flags[@]}" "$corpus"/*.bpf.c -o "$scratch/out-overhead" >/dev/null 2>&1; } 2> "$scratch/build-cpu"
# The build's total also holds the wrapper's own start-up (bash) around each clang run, which
# is the measurement's and not bpfgen's: timed around /bin/true as many times as clang ran,
# less /bin/true alone, and left out of bpfgen's share.
clang_runs=$(wc -l < "$clang_log")
timed /bin/true /dev/null "$scratch/timed-true"
loop_cpu() {
    { time sh -c 'i=0; while [ $i -lt "$1" ]; do "$0"; i=$((i + 1)); done' "$1" "$clang_runs"; } 2>&1 |
        awk '{ print $1 + $2 }'
}
wrapper=$(awk -v wrapped="$(loop_cpu "$scratch/timed-true")" -v plain="$(loop_cpu /bin/true)" \
    'BEGIN { w = wrapped - plain; print (w > 0 ? w : 0) }')
overhead=$(awk -v wrapper="$wrapper" 'FNR == NR { build = $1 + $2 - wrapper; next } { clang += $1 + $2; runs++ }
    END { printf "bpfgen %.2f s of %.2f s CPU (%.1f%%) beside %d clang runs (%.2f s; the timing wrappers, %.2f s, left out)", build - clang, build, 100 * (build - clang) / build, runs, clang, wrapper }' \
    "$scratch/build-cpu" "$clang_log")
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
    echo "  cold build's own work: $overhead (goal: at most 5%)"
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
echo "  (b) bpfgen build -j2, cold cache                                      ${cold} ms   $(ratio "$reference" "$cold")x faster (goal: 2.5x)"
echo "  (c) bpfgen build, nothing changed                                     ${warm} ms   (goal: under 30 ms)"
echo "  (d) bpfgen build, one source touched                                  ${touched} ms   (one file alone, no cache: ${single} ms)"
echo "  (e) cold build's own work: $overhead (goal: at most 5%)"
