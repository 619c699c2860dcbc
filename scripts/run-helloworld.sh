#!/usr/bin/env bash
# Runs the helloworld loader for a few seconds, execs a program so that its tracepoint fires,
# and shows the "Hello, World!" lines the BPF program printed to trace_pipe.
set -euo pipefail
loader=$1

if [ "$(id -u)" != 0 ]; then
    exec sudo "$0" "$@"
fi
tracing=/sys/kernel/tracing
[ -e "$tracing/trace_pipe" ] || mount -t tracefs tracefs "$tracing"

"$loader" 6 &
loader_pid=$!
trap 'kill "$loader_pid" 2>/dev/null || true' EXIT
sleep 1
seen=$( (timeout 4 cat "$tracing/trace_pipe" || true) & for _ in 1 2 3 4 5; do /bin/true; sleep 0.5; done; wait)
hello=$(grep -m 3 "Hello, World!" <<<"$seen" || true)
if [ -z "$hello" ]; then
    echo "run-helloworld: no 'Hello, World!' in $tracing/trace_pipe" >&2
    exit 1
fi
echo "From $tracing/trace_pipe:"
echo "$hello"
wait "$loader_pid"
