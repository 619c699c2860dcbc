#!/usr/bin/env bash
# One fuzz campaign: each target named (default: all) runs alone until it has made
# RUNS_PER_TARGET executions (default: no limit) or run SECONDS_PER_TARGET (default 360),
# whichever comes first, with debug assertions (integer overflow is a crash), a 10 s hang limit and a 1 GiB limit
# on any single allocation, on its stored corpus. Prints one Markdown table row per target:
# executions, exec/s, seconds, corpus files afterwards, and crash/timeout/OOM artifacts.
# Needs cargo-fuzz (cargo install cargo-fuzz); runs on stable through RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${SECONDS_PER_TARGET:-360}
runs_limit=${RUNS_PER_TARGET:--1}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v bpfgen-fuzz)
fi
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O -a >/dev/null
echo "| target | executions | exec/s | seconds | corpus files | crash/timeout/oom |"
echo "|---|---|---|---|---|---|"
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    log=$(mktemp)
    before=$(find "artifacts/$target" -type f | wc -l)
    start=$(date +%s)
    cargo fuzz run -O -a "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -runs="$runs_limit" -timeout=10 -malloc_limit_mb=1024 \
        -print_final_stats=1 >"$log" 2>&1 || true
    elapsed=$(($(date +%s) - start))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    after=$(find "artifacts/$target" -type f | wc -l)
    echo "| $target | ${runs:-?} | ${rate:-?} | $elapsed | $(ls "corpus/$target" | wc -l) | $((after - before)) |"
    if [ "$after" -gt "$before" ]; then
        grep -m3 -E "panicked|ERROR|SUMMARY" "$log" >&2 || true
    fi
    rm -f "$log"
done
