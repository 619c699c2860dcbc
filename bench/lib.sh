# Shared by the benchmark scripts (sourced, from the repository root, after `set -euo pipefail`
# and setting $runs): a scratch directory removed on exit with its own bpfgen cache, a release
# build of bpfgen in $bpfgen, and timing helpers.

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export BPFGEN_CACHE_DIR=$scratch/cache

cargo build --release --quiet
bpfgen=${CARGO_TARGET_DIR:-$PWD/target}/release/bpfgen

# median_ms CMD...: runs CMD $runs times (after one warm-up), prints the median in ms.
median_ms() {
    "$@" >/dev/null 2>&1
    local times=()
    for _ in $(seq "$runs"); do
        local start end
        start=$(date +%s%N)
        "$@" >/dev/null 2>&1
        end=$(date +%s%N)
        times+=($(( (end - start) / 1000 )))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
