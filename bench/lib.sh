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
    median_of_us 1 "${times[@]}"
}

# paired_medians_ms A B ARGS...: runs A and B (functions or programs, each given ARGS) $runs
# times each, alternately, after one warm-up each, and prints their two medians in ms with
# two decimals. On a machine whose speed drifts, slow spells then fall on both alike, where
# all runs of A and then all of B can give A a quiet minute and B a busy one.
paired_medians_ms() {
    local a=$1 b=$2
    shift 2
    "$a" "$@" >/dev/null 2>&1
    "$b" "$@" >/dev/null 2>&1
    local times_a=() times_b=()
    for _ in $(seq "$runs"); do
        local start=${EPOCHREALTIME//[!0-9]/}
        "$a" "$@" >/dev/null 2>&1
        local middle=${EPOCHREALTIME//[!0-9]/}
        "$b" "$@" >/dev/null 2>&1
        local end=${EPOCHREALTIME//[!0-9]/}
        times_a+=($((middle - start)))
        times_b+=($((end - middle)))
    done
    echo "$(median_of_us 2 "${times_a[@]}") $(median_of_us 2 "${times_b[@]}")"
}

# median_of_us DECIMALS TIMES...: the median of TIMES (microseconds), in ms with DECIMALS
# decimals.
median_of_us() {
    local decimals=$1
    shift
    printf '%s\n' "$@" | sort -n |
        awk -v d="$decimals" '{ a[NR] = $1 } END { printf "%.*f", d, a[int((NR + 1) / 2)] / 1000 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
