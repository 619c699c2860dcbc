#!/usr/bin/env bash
# Installs libbpf-cargo 0.27.2 (the Rust skeleton oracle of the tests and the benchmark) from
# crates.io into target/bench-tools, once; nothing else uses it.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$PWD/target/bench-tools
if [ ! -x "$tools/bin/cargo-libbpf" ]; then
    echo "installing libbpf-cargo 0.27.2 into $tools (once)" >&2
    cargo install --quiet --locked libbpf-cargo@0.27.2 --root "$tools"
fi
