//! `bpfgen check`: what libbpf and the verifier would reject, reported with source lines
//! before the object ever reaches a kernel.

use crate::compile_args::{CompileArgs, Outputs};
use bpfgen::build::{self, SkeletonLang, source_stem};
use bpfgen::check;
use bpfgen::diag::{Diagnostic, Severity};
use bpfgen::object::names;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Check BPF objects or sources offline: SEC names, maps, license and GPL-only helpers, BTF,
/// externs, and every CO-RE relocation against each target kernel's BTF.
///
/// `.bpf.c` inputs are compiled first (as `bpfgen build` would, nothing written). Findings go
/// to stderr (human) or stdout (json, one object per line).
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  bpfgen check prog.bpf.o\n  \
                        bpfgen check prog.bpf.c --btf 6.1.btf --btf 6.12.btf\n  \
                        bpfgen check .output/*.bpf.o --message-format json\n\n\
                        Exit status: 0 no errors (warnings allowed); 1 errors found or an \
                        input does not compile; 2 usage or environment (unreadable file or \
                        BTF, clang missing).")]
pub struct Opts {
    /// Objects (`.bpf.o`) or sources (`.bpf.c`).
    #[arg(required = true, value_name = "FILE.bpf.o|FILE.bpf.c")]
    inputs: Vec<PathBuf>,
    /// A target kernel's BTF (raw, like /sys/kernel/btf/vmlinux or a BTFHub file, or an ELF
    /// with .BTF); repeat for several kernels. Default: the running kernel's.
    #[arg(long = "btf", value_name = "FILE")]
    btf: Vec<PathBuf>,
    /// How findings are printed.
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = ["human", "json"])]
    message_format: String,
    #[command(flatten)]
    compile: CompileArgs,
    /// Extra clang arguments for `.bpf.c` inputs, after `--`.
    #[arg(last = true, value_name = "CLANG_ARGS")]
    clang_args: Vec<OsString>,
}

impl Opts {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let json = self.message_format == "json";
        let kernel = PathBuf::from(bpfgen::btf::source::KERNEL_BTF);
        let targets = if self.btf.is_empty() {
            vec![kernel.clone()]
        } else {
            self.btf.clone()
        };
        let options = check::Options::new(targets);
        let (sources, objects): (Vec<PathBuf>, Vec<PathBuf>) = self
            .inputs
            .iter()
            .cloned()
            .partition(|p| p.extension().is_some_and(|e| e == "c"));
        let scratch = tempfile::tempdir()?;
        let mut inputs: Vec<(PathBuf, PathBuf)> =
            objects.iter().map(|o| (o.clone(), o.clone())).collect();
        if !sources.is_empty() {
            let compiled = compile(
                self.compile,
                &sources,
                scratch.path(),
                kernel,
                self.clang_args,
            )?;
            match compiled {
                Ok(built) => inputs.extend(built),
                Err(code) => return Ok(code),
            }
        }
        inputs.sort_by_key(|(shown, _)| self.inputs.iter().position(|i| i == shown));
        let mut errors = false;
        let mut stdout = std::io::stdout().lock();
        let mut stderr = std::io::stderr().lock();
        for (shown, object) in &inputs {
            let data = std::fs::read(object).map_err(|e| bpfgen::Error::io(object, &e))?;
            let object_name = names::object_name_from_file(
                &object.file_name().unwrap_or_default().to_string_lossy(),
            );
            let name = shown.display().to_string();
            let mut findings = check::check_bytes(&data, &name, &object_name, &options)?;
            let near = shown.parent().unwrap_or(Path::new(""));
            check::attach_sources(&mut findings, &[near, Path::new("")]);
            errors |= bpfgen::diag::has_errors(&findings);
            for finding in &findings {
                if json {
                    writeln!(stdout, "{}", finding.render_json())?;
                } else {
                    stderr.write_all(finding.render_human().as_bytes())?;
                }
            }
            if !json {
                writeln!(stderr, "bpfgen: {name}: {}", summary(&findings))?;
            }
        }
        Ok(ExitCode::from(u8::from(errors)))
    }
}

/// Compiles `sources` into `dir` without checks or skeletons: (source, object) pairs, or the
/// exit code when one does not compile (its diagnostics already printed).
fn compile(
    args: CompileArgs,
    sources: &[PathBuf],
    dir: &Path,
    btf: PathBuf,
    clang_args: Vec<OsString>,
) -> anyhow::Result<Result<Vec<(PathBuf, PathBuf)>, ExitCode>> {
    let (clang, request) = args.request(Outputs {
        sources: sources.to_vec(),
        out_dir: dir.to_path_buf(),
        btf,
        skeleton: SkeletonLang::None,
        check: None,
        clang_args,
    })?;
    let outcomes = build::build(&clang, &request, &|_| {})?;
    let mut stderr = std::io::stderr().lock();
    let mut worst = 0;
    for outcome in &outcomes {
        stderr.write_all(outcome.diagnostics.as_bytes())?;
        if let Err(err) = &outcome.result {
            writeln!(stderr, "bpfgen: error: {err}")?;
            worst = worst.max(err.exit_code());
        }
    }
    if worst > 0 {
        return Ok(Err(ExitCode::from(worst)));
    }
    Ok(Ok(sources
        .iter()
        .map(|s| (s.clone(), dir.join(format!("{}.bpf.o", source_stem(s)))))
        .collect()))
}

/// "2 errors, 1 warning", or "clean".
fn summary(findings: &[Diagnostic]) -> String {
    let count = |severity| findings.iter().filter(|f| f.severity == severity).count();
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    if errors + warnings == 0 {
        return "clean".to_string();
    }
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}
