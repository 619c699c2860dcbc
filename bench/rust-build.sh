#!/usr/bin/env bash
# The cost of bpfgen as a build-dependency: a clean `cargo build -j2` of the same libbpf-rs
# program (examples/c/minimal.bpf.c, user space that opens, loads and attaches it) whose
# build.rs generates the skeleton with bpfgen (`default-features = false`) or with
# libbpf-cargo 0.27.2, timed in one run; prints both and the ratio (below 1: bpfgen builds
# faster), in wall and in CPU time. The two crates differ only in build.rs's `use` line and
# the build-dependency.
# Not a test: nothing here asserts.
# Usage: bench/rust-build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$repo/target/bench-rust-build
rm -rf "$work"
mkdir -p "$work"

triple=$(gcc -dumpmachine)

make_crate() { # NAME BUILD_DEPENDENCY USE_LINE
    local dir=$work/$1
    mkdir -p "$dir/src/bpf"
    cp examples/c/minimal.bpf.c "$dir/src/bpf/minimal.bpf.c"
    cat > "$dir/Cargo.toml" <<TOML
[package]
name = "bench-$1"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
libbpf-rs = "0.27.2"

[build-dependencies]
$2
TOML
    cat > "$dir/build.rs" <<RUST
$3
fn main() {
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    SkeletonBuilder::new()
        .source("src/bpf/minimal.bpf.c")
        // libbpf-cargo does not look up the host's asm/ headers; the same flag for both.
        .clang_args(["-I", "/usr/include/$triple"])
        .build_and_generate(out.join("minimal.skel.rs"))
        .unwrap();
    println!("cargo:rerun-if-changed=src/bpf/minimal.bpf.c");
}
RUST
    cat > "$dir/src/main.rs" <<'RUST'
mod minimal {
    include!(concat!(env!("OUT_DIR"), "/minimal.skel.rs"));
}
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use minimal::*;

fn main() {
    let mut object = std::mem::MaybeUninit::uninit();
    let open = MinimalSkelBuilder::default().open(&mut object).expect("open");
    let _skel = open.load().expect("load");
}
RUST
}

make_crate bpfgen "bpfgen = { path = \"$repo\", default-features = false }" \
    "use bpfgen::Builder as SkeletonBuilder;"
make_crate libbpf-cargo 'libbpf-cargo = "0.27.2"' "use libbpf_cargo::SkeletonBuilder;"

# Fetch first, so that the timings are builds only.
for name in bpfgen libbpf-cargo; do
    cargo fetch --quiet --manifest-path "$work/$name/Cargo.toml"
done

# Wall time is what a developer waits for; CPU time (user + system, of cargo and every
# compiler it ran) is the work done, and barely moves when something else loads the machine.
declare -A wall cpu
for name in libbpf-cargo bpfgen; do
    CARGO_TARGET_DIR=$work/$name/target /usr/bin/time -f '%e %U %S' -o "$work/$name.time" \
        cargo build --quiet -j2 --manifest-path "$work/$name/Cargo.toml"
    read -r elapsed user system < "$work/$name.time"
    wall[$name]=$elapsed
    cpu[$name]=$(echo "$user + $system" | bc)
done
ratio() { echo "$1 / $2" | bc -l; }
printf 'clean cargo build -j2, wall: libbpf-cargo %.1f s, bpfgen %.1f s, ratio %.2f\n' \
    "${wall[libbpf-cargo]}" "${wall[bpfgen]}" "$(ratio "${wall[bpfgen]}" "${wall[libbpf-cargo]}")"
printf 'clean cargo build -j2, CPU:  libbpf-cargo %.1f s, bpfgen %.1f s, ratio %.2f\n' \
    "${cpu[libbpf-cargo]}" "${cpu[bpfgen]}" "$(ratio "${cpu[bpfgen]}" "${cpu[libbpf-cargo]}")"
