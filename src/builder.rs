//! The build.rs API: one `.bpf.c` to a stripped object and a Rust skeleton, with what cargo
//! needs to hear: `cargo:rerun-if-changed=` for the source and every header clang read, and
//! clang's messages as `cargo:warning=` lines. Its methods are libbpf-cargo 0.27's
//! `SkeletonBuilder`'s, so that `use bpfgen::Builder as SkeletonBuilder;` keeps a build script
//! written for libbpf-cargo working unchanged.
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
use crate::cache_stats::CacheStats;
use crate::check;
use crate::check::libbpf_version::{LibbpfVersion, VersionSource};
use crate::compile::CompileOptions;
use crate::diag::{Code, Level, Levels};
use crate::error::{Error, Result};
use crate::output::write_atomic;
use crate::skel::rust::{Embed, render_file};
use crate::toolchain::{BpfTarget, TargetArch};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Builds one BPF C source and writes its Rust skeleton, for build scripts (what
/// libbpf-cargo's `SkeletonBuilder` does, plus dependency tracking and clang's warnings).
#[derive(Debug, Default, Clone)]
pub struct Builder {
    source: Option<PathBuf>,
    obj: Option<PathBuf>,
    reference_obj: Option<bool>,
    clang: Option<PathBuf>,
    clang_args: Vec<OsString>,
    levels: Levels,
    /// `false`: no `bpfgen check` at all (`bpfgen build --no-check`).
    skip_checks: bool,
    /// The remote cache: `None` for what the environment says, `Some(None)` for none.
    #[cfg(feature = "remote-cache")]
    remote: Option<Option<crate::remote_cache::config::RemoteConfig>>,
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

    /// Where the object goes (by default beside the skeleton for
    /// [`Builder::build_and_generate`], in `$OUT_DIR` for [`Builder::build`]); the object
    /// [`Builder::generate`] reads.
    pub fn obj(&mut self, obj: impl AsRef<Path>) -> &mut Self {
        self.obj = Some(obj.as_ref().to_path_buf());
        self
    }

    /// Whether the skeleton `include_bytes!`s the object (`true`) or holds its bytes
    /// (`false`, libbpf-cargo's default). Unset, [`Builder::build_and_generate`] references
    /// the object it writes beside the skeleton and [`Builder::generate`] embeds it.
    pub fn reference_obj(&mut self, reference: bool) -> &mut Self {
        self.reference_obj = Some(reference);
        self
    }

    /// Accepted for libbpf-cargo's sake and ignored: skeletons are written formatted.
    pub fn rustfmt(&mut self, _rustfmt: impl AsRef<Path>) -> &mut Self {
        self
    }

    /// The clang to use (default: `$BPFGEN_CLANG`, `$CLANG`, `clang`, the newest `clang-NN`).
    pub fn clang(&mut self, clang: impl AsRef<Path>) -> &mut Self {
        self.clang = Some(clang.as_ref().to_path_buf());
        self
    }

    /// Extra clang arguments (`-I`, `-D`, ...), replacing earlier ones; they come after
    /// bpfgen's own flags, so they may override them.
    pub fn clang_args<A: AsRef<OsStr>>(&mut self, args: impl IntoIterator<Item = A>) -> &mut Self {
        self.clang_args = args
            .into_iter()
            .map(|a| a.as_ref().to_os_string())
            .collect();
        self
    }

    /// Reports `bpfgen check` findings of `code` at `level`, as `bpfgen build --allow`,
    /// `--warn` and `--deny` do (errors fail the build; warnings become `cargo:warning=`).
    pub fn check_level(&mut self, code: Code, level: Level) -> &mut Self {
        self.levels.set(code, level);
        self
    }

    /// Whether `bpfgen check` runs on the object (default: yes; its errors fail the build).
    /// `check(false)` is `bpfgen build --no-check`: for sources libbpf-cargo builds that a
    /// check refuses, or objects meant for another loader.
    pub fn check(&mut self, check: bool) -> &mut Self {
        self.skip_checks = !check;
        self
    }

    /// The shared build cache to use (see [`crate::remote_cache`]) instead of what
    /// `BPFGEN_REMOTE_CACHE` and `BPFGEN_REMOTE_CACHE_MODE` say; `None`: none at all.
    #[cfg(feature = "remote-cache")]
    pub fn remote_cache(
        &mut self,
        config: Option<crate::remote_cache::config::RemoteConfig>,
    ) -> &mut Self {
        self.remote = Some(config);
        self
    }

    /// The remote cache this build uses, counting into `stats`.
    #[cfg(feature = "remote-cache")]
    fn open_remote(
        &self,
        stats: &Arc<CacheStats>,
    ) -> Result<Option<Arc<crate::remote_cache::RemoteCache>>> {
        use crate::remote_cache::{RemoteCache, config::RemoteConfig};
        let config = match &self.remote {
            Some(config) => config.clone(),
            None => RemoteConfig::from_env()?,
        };
        Ok(config
            .map(|config| RemoteCache::open(config, Arc::clone(stats)))
            .transpose()?
            .map(Arc::new))
    }

    /// Makes `bpfgen check` warnings fail the build, except for codes given a level with
    /// [`Builder::check_level`] (`bpfgen build --deny warnings`).
    pub fn deny_warnings(&mut self) -> &mut Self {
        self.levels.deny_warnings();
        self
    }

    /// The libbpf that loads the object: the libbpf-sys of the crate being built (its
    /// Cargo.lock, found from `$CARGO_MANIFEST_DIR`; libbpf-rs 0.27 uses libbpf 1.7), else
    /// what the include path's `bpf/libbpf_version.h` says.
    fn libbpf_version(&self) -> (LibbpfVersion, VersionSource) {
        std::env::var_os("CARGO_MANIFEST_DIR")
            .and_then(|dir| LibbpfVersion::from_cargo_lock(Path::new(&dir)))
            .unwrap_or_else(|| LibbpfVersion::detect(&self.include_dirs()))
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

    /// Compiles the source and writes its skeleton to `skeleton`, as [`Builder::run`] does.
    pub fn build_and_generate(&mut self, skeleton: impl AsRef<Path>) -> Result<()> {
        self.run(skeleton).map(drop)
    }

    /// Compiles the source to the object ([`Builder::obj`], else `$OUT_DIR/<stem>.bpf.o`)
    /// for a later [`Builder::generate`]; prints the cargo directives.
    pub fn build(&mut self) -> Result<()> {
        let obj = match &self.obj {
            Some(obj) => obj.clone(),
            None => {
                let out_dir = std::env::var_os("OUT_DIR").ok_or_else(|| {
                    Error::environment("bpfgen::Builder: build() needs obj() or $OUT_DIR")
                })?;
                PathBuf::from(out_dir).join(format!("{}.bpf.o", self.stem()?))
            }
        };
        let built = self.compile(&obj, SkeletonLang::None)?;
        move_file(&built.object, &obj)?;
        self.obj = Some(obj);
        Ok(())
    }

    /// Writes the skeleton of the object ([`Builder::obj`] or what [`Builder::build`] wrote)
    /// to `skeleton`, holding its bytes unless [`Builder::reference_obj`] says otherwise.
    pub fn generate(&mut self, skeleton: impl AsRef<Path>) -> Result<()> {
        let obj = self.obj.as_ref().ok_or_else(|| {
            Error::environment("bpfgen::Builder: no object: call obj() or build() first")
        })?;
        let embed = if self.reference_obj == Some(true) {
            Embed::IncludeBytes(
                std::path::absolute(obj)
                    .unwrap_or_else(|_| obj.clone())
                    .to_string_lossy()
                    .into_owned(),
            )
        } else {
            Embed::Bytes
        };
        let skeleton = skeleton.as_ref();
        write_atomic(skeleton, render_file(obj, &embed)?.as_bytes())
    }

    /// Compiles the source and writes its skeleton to `skeleton` (a `.skel.rs` file); the
    /// stripped object and the dependency file go beside it as `<stem>.bpf.o` and
    /// `<stem>.bpf.d`, the object is `include_bytes!`d from there (unless
    /// `reference_obj(false)`; it is copied to [`Builder::obj`] if given). Prints the cargo
    /// directives; clang's errors end up in the returned error as well.
    pub fn run(&mut self, skeleton: impl AsRef<Path>) -> Result<Built> {
        let skeleton = skeleton.as_ref();
        let built = self.compile(skeleton, SkeletonLang::Rust)?;
        let written = built
            .skeleton
            .clone()
            .expect("a Rust skeleton was asked for");
        move_file(&written, skeleton)?;
        if let Some(obj) = self.obj.as_ref().filter(|obj| **obj != built.object) {
            std::fs::copy(&built.object, obj).map_err(|e| Error::io(obj, &e))?;
        }
        if self.reference_obj == Some(false) {
            write_atomic(
                skeleton,
                render_file(&built.object, &Embed::Bytes)?.as_bytes(),
            )?;
        }
        Ok(Built {
            skeleton: Some(skeleton.to_path_buf()),
            ..built
        })
    }

    /// The source's file name up to its first `.`.
    fn stem(&self) -> Result<String> {
        let source = self.source_path()?;
        let name = source.file_name().unwrap_or_default().to_string_lossy();
        Ok(name.split('.').next().unwrap_or_default().to_string())
    }

    fn source_path(&self) -> Result<PathBuf> {
        self.source
            .clone()
            .ok_or_else(|| Error::environment("bpfgen::Builder: no source given"))
    }

    /// Compiles the source into the directory of `output`, with a `skeleton` beside the
    /// object; prints the cargo directives.
    fn compile(&self, output: &Path, skeleton: SkeletonLang) -> Result<Built> {
        let source = self.source_path()?;
        println!("cargo:rerun-if-changed={}", source.display());
        for var in ["BPFGEN_CLANG", "CLANG", "BPFGEN_CACHE_DIR"] {
            println!("cargo:rerun-if-env-changed={var}");
        }
        let out_dir = match output.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let cache = Cache::from_env();
        let clang = crate::build_cache::discover_clang(self.clang.as_deref(), &cache)?;
        let stats = Arc::new(CacheStats::default());
        let request = BuildRequest {
            #[cfg(feature = "remote-cache")]
            remote: self.open_remote(&stats)?,
            stats,
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
            skeleton,
            btf: PathBuf::from(crate::btf::source::KERNEL_BTF),
            pch: true,
            cache,
            jobs: 1,
            cache_limit: Some(build_cache::max_bytes_from_env()?),
            jobserver: None,
            check: (!self.skip_checks).then(|| {
                Arc::new(
                    check::Options::for_build(Path::new(crate::btf::source::KERNEL_BTF))
                        .with_levels(self.levels.clone())
                        .with_libbpf_version(self.libbpf_version()),
                )
            }),
            link: None,
            verbose: false,
            findings_as_json: false,
        };
        let outcome = build::build(&clang, &request, &|_| {})?
            .pop()
            .expect("one outcome per source");
        let warnings = request.finish();
        let lines = outcome
            .diagnostics
            .lines()
            .chain(warnings.iter().map(String::as_str));
        for line in lines.filter(|l| !l.trim().is_empty()) {
            println!("cargo:warning={line}");
        }
        let built = outcome.result?;
        for header in &built.headers {
            println!("cargo:rerun-if-changed={header}");
        }
        Ok(built)
    }
}

/// Renames `from` to `to` unless they are the same path.
fn move_file(from: &Path, to: &Path) -> Result<()> {
    if from != to {
        std::fs::rename(from, to).map_err(|e| Error::io(to, &e))?;
    }
    Ok(())
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
