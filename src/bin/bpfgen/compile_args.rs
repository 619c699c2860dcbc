//! The compiler options `build` and `check` share, and the build request they make.

use bpfgen::build::{BuildRequest, SkeletonLang};
use bpfgen::build_cache;
use bpfgen::cache::Cache;
use bpfgen::cache_stats::CacheStats;
use bpfgen::check;
use bpfgen::check::libbpf_version::{LibbpfVersion, VersionSource};
use bpfgen::compile::CompileOptions;
use bpfgen::remote_cache::RemoteCache;
use bpfgen::toolchain::{BpfTarget, Clang, TargetArch};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

/// How `.bpf.c` sources are compiled.
#[derive(clap::Args)]
pub struct CompileArgs {
    /// Add an include directory.
    #[arg(short = 'I', value_name = "DIR")]
    include: Vec<PathBuf>,
    /// Define a macro.
    #[arg(short = 'D', value_name = "NAME[=VALUE]")]
    define: Vec<String>,
    /// The clang to use (default: $BPFGEN_CLANG, $CLANG, clang, the newest clang-NN).
    #[arg(long, value_name = "PATH")]
    clang: Option<PathBuf>,
    /// Target architecture for __TARGET_ARCH_* (default: the host's).
    #[arg(long, value_name = "ARCH")]
    arch: Option<String>,
    /// BPF target: bpf (host byte order), bpfel or bpfeb.
    #[arg(long, value_name = "TARGET", default_value = "bpf")]
    target: String,
    /// How many sources to compile at once (default: the number of CPUs).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    jobs: Option<usize>,
    /// Compile everything afresh: neither reuse nor store compile results.
    #[arg(long)]
    no_cache: bool,
    /// Do not precompile vmlinux.h (generated, or found through the include path).
    #[arg(long)]
    no_pch: bool,
    /// Print each clang command line (shell-quoted), build-cache hits and misses, and what
    /// was written.
    #[arg(short = 'v', long)]
    verbose: bool,
    /// The libbpf release that loads the objects, for `check`'s section names (default: what
    /// bpf/libbpf_version.h in the include path says, else 1.1).
    #[arg(long, value_name = "X.Y")]
    libbpf_version: Option<LibbpfVersion>,
}

/// What a build writes and checks, beyond how it compiles.
pub struct Outputs {
    /// The sources.
    pub sources: Vec<PathBuf>,
    /// Where outputs go.
    pub out_dir: PathBuf,
    /// The kernel BTF a generated vmlinux.h describes.
    pub btf: PathBuf,
    /// Which skeleton to write.
    pub skeleton: SkeletonLang,
    /// Checks to run on each object before writing it.
    pub check: Option<check::Options>,
    /// Extra clang arguments.
    pub clang_args: Vec<OsString>,
    /// Link every source into one program of this name.
    pub link: Option<String>,
    /// Check findings as JSON lines (`--message-format json`).
    pub findings_as_json: bool,
}

impl CompileArgs {
    /// The libbpf release `--libbpf-version` names, or the one the include path's
    /// `bpf/libbpf_version.h` declares.
    pub fn libbpf_version(&self) -> (LibbpfVersion, VersionSource) {
        match self.libbpf_version {
            Some(version) => (version, VersionSource::Given),
            None => LibbpfVersion::detect(&self.include),
        }
    }

    /// The clang to use and the build request for `outputs`.
    pub fn request(self, outputs: Outputs) -> anyhow::Result<(Clang, BuildRequest)> {
        let arch = match &self.arch {
            Some(name) => name.parse::<TargetArch>()?,
            None => TargetArch::host()?,
        };
        let target = self.target.parse::<BpfTarget>()?;
        let cache = Cache::from_env();
        let clang = bpfgen::build_cache::discover_clang(self.clang.as_deref(), &cache)?;
        if let Some(advice) = clang.advisory().filter(|_| clang.newly_probed()) {
            eprint!(
                "{}",
                crate::paint::paint(&format!("bpfgen: warning: {advice}\n"))
            );
        }
        let stats = Arc::new(CacheStats::default());
        let remote = if self.no_cache {
            None
        } else {
            RemoteCache::from_env(Arc::clone(&stats))?.map(Arc::new)
        };
        let request = BuildRequest {
            sources: outputs.sources,
            out_dir: outputs.out_dir,
            compile: CompileOptions {
                arch,
                target,
                include_dirs: self.include,
                defines: self.define,
                extra_args: crate::paint::enabled()
                    .then(|| OsString::from("-fcolor-diagnostics"))
                    .into_iter()
                    .chain(env_cflags())
                    .chain(outputs.clang_args)
                    .collect(),
                pch: None,
                fallback_include_dirs: Vec::new(),
            },
            btf: outputs.btf,
            pch: !self.no_pch,
            cache,
            jobs: self
                .jobs
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            // SAFETY: the descriptors MAKEFLAGS names are make's jobserver pipe, inherited for
            // this purpose (the recipe is marked `+`); nothing else in bpfgen uses them.
            jobserver: unsafe { jobserver::Client::from_env() },
            cache_limit: if self.no_cache {
                None
            } else {
                Some(build_cache::max_bytes_from_env()?)
            },
            stats,
            remote,
            skeleton: outputs.skeleton,
            check: outputs.check.map(Arc::new),
            link: outputs.link,
            verbose: self.verbose,
            findings_as_json: outputs.findings_as_json,
        };
        Ok((clang, request))
    }
}

/// Ends `request`'s use of the caches ([`BuildRequest::finish`]) and prints its warnings.
pub fn finish(request: &BuildRequest) {
    for warning in request.finish() {
        eprint!(
            "{}",
            crate::paint::paint(&format!("bpfgen: warning: {warning}\n"))
        );
    }
}

/// `$BPFGEN_CFLAGS`, split at whitespace: extra clang arguments without editing a Makefile or
/// build.rs (as bpf2go's `BPF2GO_CFLAGS`). They come before the arguments after `--`, so
/// those win.
fn env_cflags() -> impl Iterator<Item = OsString> {
    std::env::var("BPFGEN_CFLAGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(OsString::from)
        .collect::<Vec<_>>()
        .into_iter()
}
