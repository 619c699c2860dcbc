#!/usr/bin/env bash
# A CI-like run of the remote build cache, on this machine, with a real redis-server on
# loopback: "machine A" (its own local cache) builds the realistic corpus (bench/make-corpus.sh:
# 40 programs and a checked-in vmlinux.h through -I) with BPFGEN_REMOTE_CACHE_MODE=read-write;
# then "machine B", with an empty local cache (a second cache directory) every time, builds it
# again from the remote (read-only). B's time is compared with the reference pipeline (make -j2:
# clang, bpftool gen object, bpftool gen skeleton) timed in the same run. Medians of RUNS runs;
# nothing is asserted but that B's objects and skeletons are A's, byte for byte.
# Usage: bench/remote-cache.sh [RUNS] [FILES]   (default 5 runs, 40 files)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
files=${2:-40}

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench/make-corpus.sh "$scratch" "$files"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$scratch/redis"
redis-server --bind 127.0.0.1 --port "$port" --dir "$scratch/redis" --save "" --appendonly no >/dev/null &
redis=$!
trap 'kill "$redis"; wait "$redis" 2>/dev/null; rm -rf "$scratch"' EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done
export BPFGEN_REMOTE_CACHE=redis://127.0.0.1:$port/0

# machine CACHE_DIR OUT MODE: one bpfgen build of the corpus.
machine() {
    BPFGEN_CACHE_DIR=$1 BPFGEN_REMOTE_CACHE_MODE=$3 \
        "$bpfgen" build -j2 -I "$scratch/include" "$scratch"/corpus/*.bpf.c -o "$2"
}
reference() { rm -rf "$scratch/ref"; make -j2 -f "$scratch/Makefile"; }
# A starts from an empty store too (every run); B from the store A's last run filled.
machine_a() {
    redis-cli -p "$port" flushdb >/dev/null
    rm -rf "$scratch/cache-a"
    machine "$scratch/cache-a" "$scratch/out-a" read-write
}
machine_b() { rm -rf "$scratch/cache-b"; machine "$scratch/cache-b" "$scratch/out-b" read-only; }

ref=$(median_ms reference)
a=$(median_ms machine_a)
b=$(median_ms machine_b)
for out in "$scratch"/out-a/*.bpf.o "$scratch"/out-a/*.skel.h; do cmp "$out" "$scratch/out-b/${out##*/}"; done
hits=$(BPFGEN_CACHE_DIR=$scratch/cache-b "$bpfgen" cache stats | sed -n 's/^remote hits: //p')
bytes=$(redis-cli -p "$port" info memory | sed -n 's/^used_memory_human:\([^\r]*\).*/\1/p')

echo "bpfgen remote cache benchmark: $files programs, redis-server on loopback ($bytes used),"
echo "$runs runs each, medians; $(nproc) CPUs; $(clang --version | head -1)"
echo "  reference, make -j2 (clang + bpftool gen object + gen skeleton)     ${ref} ms"
echo "  machine A: bpfgen build -j2, empty local cache and store, read-write ${a} ms"
echo "  machine B: bpfgen build -j2, empty local cache, warm remote          ${b} ms   $(ratio "$ref" "$b")x faster than the reference (goal: 10x)"
echo "  machine B's objects and skeletons are machine A's, byte for byte; remote hits in B's last run: $hits"
