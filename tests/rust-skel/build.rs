//! Builds the BPF programs of this crate with bpfgen's build.rs API (or, with the
//! `libbpf-cargo` feature and without the default one, with libbpf-cargo's).

use std::path::{Path, PathBuf};

const PROGRAMS: [&str; 3] = ["events", "tcp_cc", "dropin"];

/// bpfgen's test fixtures (every one that compiles): their skeletons must compile too,
/// whatever the names and types in them (libbpf-cargo cannot do the hyphenated one).
#[cfg(not(feature = "libbpf-cargo"))]
const FIXTURES: &[&str] = &[
    "1st",
    "datasecs",
    "hostile",
    "hyphen-name",
    "kconfig",
    "mapless",
    "nobtf",
    "nobtf_maps",
    "struct_ops",
    "tricky",
    "ulong",
];
#[cfg(feature = "libbpf-cargo")]
const FIXTURES: &[&str] = &[];

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let programs = PROGRAMS.iter().map(|name| format!("src/bpf/{name}.bpf.c"));
    let fixtures = FIXTURES.iter().map(|name| format!("../fixtures/{name}.bpf.c"));
    for source in programs.chain(fixtures) {
        let stem = source.rsplit('/').next().unwrap().trim_end_matches(".bpf.c");
        let skeleton = out.join(format!("{stem}.skel.rs"));
        if let Err(err) = build(&source, &skeleton, &out) {
            panic!("{source}: {err}");
        }
    }
}

#[cfg(not(feature = "libbpf-cargo"))]
fn build(source: &str, skeleton: &Path, _out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    bpfgen::Builder::new()
        .source(source)
        .clang_args(["-Wall"])
        .build_and_generate(skeleton)?;
    Ok(())
}

#[cfg(feature = "libbpf-cargo")]
fn build(source: &str, skeleton: &Path, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let cache = bpfgen::cache::Cache::from_env();
    let btf = Path::new(bpfgen::btf::source::KERNEL_BTF);
    let vmlinux_dir = bpfgen::vmlinux::generated_dir(&cache, btf)?;
    println!("cargo:rerun-if-changed={source}");
    libbpf_cargo::SkeletonBuilder::new()
        .source(source)
        .obj(out.join(Path::new(source).with_extension("o").file_name().unwrap()))
        .clang_args([std::ffi::OsString::from("-I"), vmlinux_dir.into_os_string()])
        .build_and_generate(skeleton)?;
    Ok(())
}
