//! The build.rs API: one `.bpf.c` to a stripped object and a Rust skeleton, with what cargo
//! needs to hear: `cargo:rerun-if-changed=` for the source and every header clang read, and
//! clang's messages as `cargo:warning=` lines.
//!
//! ```no_run
//! // build.rs
//! let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
//! bpfgen::Builder::new()
//!     .source("src/bpf/runqslower.bpf.c")
//!     .clang_args(["-I", "src/bpf/include"])
//!     .build_and_generate(out.join("runqslower.skel.rs"))
//!     .unwrap();
//! ```

use crate::build::{self, BuildRequest, Built, SkeletonLang};
use crate::build_cache;
use crate::cache::Cache;
use crate::check;
use crate::check::libbpf_version::LibbpfVersion;
use crate::compile::CompileOptions;
use crate::diag::{Code, Level, Levels};
use crate::error::{Error, Result};
use crate::toolchain::{BpfTarget, Clang, TargetArch};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Builds one BPF C source and writes its Rust skeleton, for build scripts (what
/// libbpf-cargo's `SkeletonBuilder` does, plus dependency tracking and clang's warnings).
#[derive(Debug, Default, Clone)]
pub struct Builder {
    source: Option<PathBuf>,
    clang: Option<PathBuf>,
    clang_args: Vec<OsString>,
    levels: Levels,
}

impl Builder {
    /// A builder with no source yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The `.bpf.c` file to build.
    pub fn source(&mut self, source: impl AsRef<Path>) -> &mut Self {
        self.source = Some(source.as_ref().to_path_buf());
        self
    }

    /// The clang to use (default: `$BPFGEN_CLANG`, `$CLANG`, `clang`, the newest `clang-NN`).
    pub fn clang(&mut self, clang: impl AsRef<Path>) -> &mut Self {
        self.clang = Some(clang.as_ref().to_path_buf());
        self
    }

    /// Extra clang arguments (`-I`, `-D`, ...), replacing earlier ones; they come after
    /// bpfgen's own flags, so they may override them.
    pub fn clang_args<A: Into<OsString>>(
        &mut self,
        args: impl IntoIterator<Item = A>,
    ) -> &mut Self {
        self.clang_args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Reports `bpfgen check` findings of `code` at `level`, as `bpfgen build --allow`,
    /// `--warn` and `--deny` do (errors fail the build; warnings become `cargo:warning=`).
    pub fn check_level(&mut self, code: Code, level: Level) -> &mut Self {
        self.levels.set(code, level);
        self
    }

    /// Makes `bpfgen check` warnings fail the build, except for codes given a level with
    /// [`Builder::check_level`] (`bpfgen build --deny warnings`).
    pub fn deny_warnings(&mut self) -> &mut Self {
        self.levels.deny_warnings();
        self
    }

    /// The `-I` directories among the clang arguments.
    fn include_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        let mut args = self.clang_args.iter().map(|a| a.to_string_lossy());
        while let Some(arg) = args.next() {
            match arg.strip_prefix("-I") {
                Some("") => dirs.extend(args.next().map(|d| PathBuf::from(d.as_ref()))),
                Some(dir) => dirs.push(PathBuf::from(dir)),
                None => {}
            }
        }
        dirs
    }

    /// Compiles the source and writes its skeleton to `skeleton` (a `.skel.rs` file); the
    /// stripped object and the dependency file go beside it as `<stem>.bpf.o` and
    /// `<stem>.bpf.d`, the object is `include_bytes!`d from there. Prints the cargo
    /// directives; clang's errors end up in the returned error as well.
    pub fn build_and_generate(&self, skeleton: impl AsRef<Path>) -> Result<Built> {
        let skeleton = skeleton.as_ref();
        let source = self
            .source
            .clone()
            .ok_or_else(|| Error::environment("bpfgen::Builder: no source given"))?;
        println!("cargo:rerun-if-changed={}", source.display());
        for var in ["BPFGEN_CLANG", "CLANG", "BPFGEN_CACHE_DIR"] {
            println!("cargo:rerun-if-env-changed={var}");
        }
        let out_dir = match skeleton.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let cache = Cache::from_env();
        let clang = Clang::discover(self.clang.as_deref(), Some(&cache))?;
        let request = BuildRequest {
            sources: vec![source.clone()],
            out_dir,
            compile: CompileOptions {
                arch: target_arch()?,
                target: target_byte_order(),
                include_dirs: Vec::new(),
                defines: Vec::new(),
                extra_args: self.clang_args.clone(),
                pch: None,
                fallback_include_dirs: Vec::new(),
            },
            skeleton: SkeletonLang::Rust,
            btf: PathBuf::from(crate::btf::source::KERNEL_BTF),
            pch: true,
            cache,
            jobs: 1,
            cache_limit: Some(build_cache::max_bytes_from_env()?),
            jobserver: None,
            check: Some(Arc::new(
                check::Options::for_build(Path::new(crate::btf::source::KERNEL_BTF))
                    .with_levels(self.levels.clone())
                    .with_libbpf_version(LibbpfVersion::detect(&self.include_dirs())),
            )),
            link: None,
        };
        let outcome = build::build(&clang, &request, &|_| {})?
            .pop()
            .expect("one outcome per source");
        for line in outcome.diagnostics.lines().filter(|l| !l.trim().is_empty()) {
            println!("cargo:warning={line}");
        }
        let built = outcome.result?;
        for header in &built.headers {
            println!("cargo:rerun-if-changed={header}");
        }
        let written = built
            .skeleton
            .clone()
            .expect("a Rust skeleton was asked for");
        if written != skeleton {
            std::fs::rename(&written, skeleton).map_err(|e| Error::io(skeleton, &e))?;
        }
        Ok(Built {
            skeleton: Some(skeleton.to_path_buf()),
            ..built
        })
    }
}

/// The byte order cargo builds for (`CARGO_CFG_TARGET_ENDIAN`), else the build host's.
fn target_byte_order() -> BpfTarget {
    match std::env::var("CARGO_CFG_TARGET_ENDIAN").as_deref() {
        Ok("little") => BpfTarget::Bpfel,
        Ok("big") => BpfTarget::Bpfeb,
        _ => BpfTarget::Bpf,
    }
}

/// The architecture cargo builds for (`CARGO_CFG_TARGET_ARCH` in build scripts), else the host's.
fn target_arch() -> Result<TargetArch> {
    match std::env::var("CARGO_CFG_TARGET_ARCH") {
        Ok(arch) => TargetArch::from_machine(&arch),
        Err(_) => TargetArch::host(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_dirs_come_from_the_clang_arguments() {
        let mut builder = Builder::new();
        builder.clang_args(["-I", "inc", "-Ivendor/libbpf", "-DX=1", "-O2"]);
        assert_eq!(
            builder.include_dirs(),
            [PathBuf::from("inc"), PathBuf::from("vendor/libbpf")]
        );
    }
}
