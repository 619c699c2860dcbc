//! Links the `bpfgen` executable as a position-dependent (non-PIE) program on Linux with glibc.
//!
//! A PIE of bpfgen's size carries ~18,000 relative relocations that the dynamic loader
//! applies at every start, copy-on-write faulting ~75 pages of relocated read-only data into
//! each process: a quarter of a millisecond, measured here, of a `gen object` that bpftool
//! finishes in about one and a half (`bench/link.sh`). Linked at a fixed address, those pages
//! are resolved by the linker and mapped from the file unchanged. The code stays
//! position-independent (rustc compiles it so); only the executable's load address is fixed,
//! as Go links programs by default (bpf2go projects' among them). The library, and whatever a
//! user links it into, are left alone: the argument applies to this package's binaries only.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
