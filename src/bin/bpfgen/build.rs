//! `bpfgen build`: `.bpf.c` files to stripped objects, skeletons and dependency files.

use bpfgen::build::{self, BuildRequest, SkeletonLang};
use bpfgen::build_cache;
use bpfgen::cache::Cache;
use bpfgen::compile::CompileOptions;
use bpfgen::toolchain::{BpfTarget, Clang, TargetArch};
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Compile BPF C sources into stripped CO-RE objects and skeletons.
///
/// For each FILE.bpf.c writes <stem>.bpf.o (DWARF stripped), <stem>.skel.h (or .skel.rs) and <stem>.bpf.d
/// (a Make dependency file) into the output directory. Outputs are replaced atomically.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  bpfgen build helloworld.bpf.c\n  \
                        bpfgen build src/*.bpf.c -o build -I include -D DEBUG=1 -- -O1\n\n\
                        Exit status: 0 all built; 1 a source failed to build (the others are \
                        still built); 2 usage or environment (clang missing, unreadable file).")]
pub struct Opts {
    /// The `.bpf.c` sources.
    #[arg(required = true, value_name = "FILE.bpf.c")]
    sources: Vec<PathBuf>,
    /// Output directory.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "DIR",
        default_value = ".output"
    )]
    out_dir: PathBuf,
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
    /// Kernel BTF for a generated vmlinux.h (raw BTF or ELF with .BTF), used when a source
    /// includes vmlinux.h and no include directory has one.
    #[arg(long, value_name = "FILE", default_value = bpfgen::btf::source::KERNEL_BTF)]
    btf: PathBuf,
    /// How many sources to compile at once (default: the number of CPUs).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    jobs: Option<usize>,
    /// Compile everything afresh: neither reuse nor store compile results.
    #[arg(long)]
    no_cache: bool,
    /// Do not precompile the generated vmlinux.h.
    #[arg(long)]
    no_pch: bool,
    /// Which skeleton to write: c (<stem>.skel.h), rust (<stem>.skel.rs, for libbpf-rs) or none.
    #[arg(long, value_name = "LANG", default_value = "c", value_parser = ["c", "rust", "none"])]
    skel: String,
    /// Extra clang arguments, after `--`.
    #[arg(last = true, value_name = "CLANG_ARGS")]
    clang_args: Vec<OsString>,
}

impl Opts {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let arch = match &self.arch {
            Some(name) => name.parse::<TargetArch>()?,
            None => TargetArch::host()?,
        };
        let target = self.target.parse::<BpfTarget>()?;
        let cache = Cache::from_env();
        let clang = Clang::discover(self.clang.as_deref(), Some(&cache))?;
        if let Some(advice) = clang.advisory().filter(|_| clang.newly_probed()) {
            eprintln!("bpfgen: warning: {advice}");
        }
        let request = BuildRequest {
            sources: self.sources,
            out_dir: self.out_dir,
            compile: CompileOptions {
                arch,
                target,
                include_dirs: self.include,
                defines: self.define,
                extra_args: self.clang_args,
                pch: None,
                fallback_include_dirs: Vec::new(),
            },
            btf: self.btf,
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
            skeleton: match self.skel.as_str() {
                "none" => SkeletonLang::None,
                "rust" => SkeletonLang::Rust,
                _ => SkeletonLang::C,
            },
        };
        let progress = progress_bar(request.sources.len());
        let outcomes = build::build(&clang, &request, &|outcome| {
            progress.set_message(outcome.source.display().to_string());
            progress.inc(1);
        })?;
        progress.finish_and_clear();
        let mut worst = 0;
        let mut stderr = std::io::stderr().lock();
        for outcome in &outcomes {
            stderr.write_all(outcome.diagnostics.as_bytes())?;
            if let Err(err) = &outcome.result {
                writeln!(stderr, "bpfgen: error: {err}")?;
                worst = worst.max(err.exit_code());
            }
        }
        Ok(ExitCode::from(worst))
    }
}

/// A progress bar for builds of several files, drawn only on a terminal (hidden in logs).
fn progress_bar(sources: usize) -> indicatif::ProgressBar {
    if sources < 2 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(sources as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}") {
        bar.set_style(style);
    }
    bar
}
