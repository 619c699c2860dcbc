//! Links the `bpfgen` executable for a fast start on Linux with glibc.
//!
//! A `gen object` that bpftool finishes in about one and a half milliseconds
//! (`bench/link.sh`) is mostly process start-up, so two things the dynamic loader would do at
//! every start are done once here, by the linker:
//!
//! - The executable is position-dependent (non-PIE). A PIE of bpfgen's size carries ~18,000
//!   relative relocations that the dynamic loader applies at every start, copy-on-write
//!   faulting ~75 pages of relocated read-only data into each process: a quarter of a
//!   millisecond, measured here. Linked at a fixed address, those pages are resolved by the
//!   linker and mapped from the file unchanged. The code stays position-independent (rustc
//!   compiles it so); only the executable's load address is fixed, as Go links programs by
//!   default (bpf2go projects' among them).
//! - libbpf's own dependencies, libelf and zlib, are linked from the system's static archives
//!   when it has them (Debian's `libelf-dev` and `zlib1g-dev`, which the vendored libbpf's
//!   build needs anyway, ship both): two fewer shared libraries to map and relocate at each
//!   start, ~0.09 ms here. Only when pkg-config says static libelf needs nothing beyond zlib;
//!   otherwise they stay shared, as libbpf-sys asks.
//!
//! The library, and whatever a user links it into, are left alone: every argument applies to
//! this package's binaries only.
//!
//! For the library it compiles the clang fork server (`src/toolchain/fork_server.c`) into a
//! shared object that `src/toolchain/fork_server.rs` embeds: a preloaded library is the one
//! way into a clang process before its `main`, and it must be a native shared object.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os != "linux" || env != "gnu" {
        return;
    }
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    compile_fork_server(&out_dir);
    println!("cargo:rustc-link-arg-bins=-no-pie");
    let links_libbpf = std::env::var_os("CARGO_FEATURE_LOAD").is_some();
    if let Some(dir) = links_libbpf.then(|| static_archive_dir(&out_dir)).flatten() {
        // GNU ld searches every -L directory, wherever it stands, before the system's own,
        // and in a directory holding only `libelf.a` it takes the archive for `-lelf`.
        println!("cargo:rustc-link-arg-bins=-L{}", dir.display());
        // For tests/executable.rs, which checks that the archives reached the link.
        println!("cargo:rustc-env=BPFGEN_STATIC_ARCHIVES={}", dir.display());
    }
}

/// Compiles the fork server's C source into `OUT_DIR/fork_server.so` with the target's C
/// compiler (the one that links Rust programs).
fn compile_fork_server(out_dir: &Path) {
    let source = "src/toolchain/fork_server.c";
    println!("cargo:rerun-if-changed={source}");
    let output = out_dir.join("fork_server.so");
    let compiler = cc::Build::new().cargo_metadata(false).get_compiler();
    let status = compiler
        .to_command()
        .args(["-O2", "-Wall", "-shared", "-fPIC", "-o"])
        .arg(&output)
        .arg(source)
        .args(["-Wl,--as-needed", "-ldl"])
        .status()
        .unwrap_or_else(|e| panic!("running the C compiler for {source}: {e}"));
    assert!(status.success(), "compiling {source} failed ({status})");
}

/// A directory holding links to the system's `libelf.a` and `libz.a`, or `None` when either
/// archive is missing or static libelf needs more libraries than zlib.
fn static_archive_dir(out_dir: &Path) -> Option<PathBuf> {
    let mut needs = pkg_config(&["--static", "--libs-only-l", "libelf"])?
        .split_whitespace()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    needs.sort();
    needs.dedup();
    if needs != ["-lelf", "-lz"] {
        return None;
    }
    let dir = out_dir.join("static-archives");
    std::fs::create_dir_all(&dir).ok()?;
    for (package, archive) in [("libelf", "libelf.a"), ("zlib", "libz.a")] {
        let libdir = pkg_config(&["--variable=libdir", package])?;
        let target = Path::new(libdir.trim()).join(archive);
        if !target.is_file() {
            return None;
        }
        let link = dir.join(archive);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).ok()?;
    }
    Some(dir)
}

/// What `pkg-config ARGS` prints, or `None` when it is missing or fails.
fn pkg_config(args: &[&str]) -> Option<String> {
    let program = std::env::var_os("PKG_CONFIG").unwrap_or_else(|| "pkg-config".into());
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8(output.stdout).ok())
        .flatten()
}
