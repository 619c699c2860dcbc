# Shared by the benchmark scripts (sourced, from the repository root, after `set -euo pipefail`
# and setting $runs): a scratch directory removed on exit with its own bpfgen cache, a release
# build of bpfgen in $bpfgen, and timing helpers.

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export BPFGEN_CACHE_DIR=$scratch/cache

cargo build --release --quiet
bpfgen=${CARGO_TARGET_DIR:-$PWD/target}/release/bpfgen

# median_ms CMD...: runs CMD $runs times (after one warm-up), prints the median in ms. The
# clock is bash's own ($EPOCHREALTIME, microseconds): a `date` process read after each run
# would add its fork and exec, about a millisecond, to every time.
median_ms() {
    "$@" >/dev/null 2>&1
    local times=()
    for _ in $(seq "$runs"); do
        local start=${EPOCHREALTIME//[!0-9]/}
        "$@" >/dev/null 2>&1
        local end=${EPOCHREALTIME//[!0-9]/}
        times+=($((end - start)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
