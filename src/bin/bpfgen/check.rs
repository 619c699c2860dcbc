//! `bpfgen check`: what libbpf and the verifier would reject, reported with source lines
//! before the object ever reaches a kernel.

use crate::compile_args::{CompileArgs, Outputs};
use crate::levels::LevelArgs;
use bpfgen::build::{self, SkeletonLang};
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
    /// with .BTF); repeat for several kernels. Default: the running kernel's, when it has
    /// one (without, the CO-RE, __ksym, attach-target and helper rules are skipped).
    #[arg(long = "btf", value_name = "FILE")]
    btf: Vec<PathBuf>,
    /// How findings are printed.
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = ["human", "json"])]
    message_format: String,
    #[command(flatten)]
    levels: LevelArgs,
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
        // Without --btf and without the running kernel's BTF, the per-kernel rules have no
        // target and are skipped.
        let targets = if self.btf.is_empty() {
            std::iter::once(kernel.clone())
                .filter(|p| p.exists())
                .collect()
        } else {
            self.btf.clone()
        };
        let explicit_targets = !self.btf.is_empty();
        let options = check::Options::new(targets)
            .with_levels(self.levels.levels()?)
            .with_libbpf_version(self.compile.libbpf_version());
        // Targets named on the command line must be usable before any rule runs, whether or
        // not an input needs them.
        if explicit_targets {
            options.targets()?;
        }
        let has_sources = self.inputs.iter().any(|p| is_source(p));
        let compiler = if has_sources {
            Some(self.compile.request(Outputs {
                sources: Vec::new(),
                out_dir: PathBuf::from("."),
                btf: kernel,
                skeleton: SkeletonLang::None,
                check: None,
                clang_args: self.clang_args,
                link: None,
                findings_as_json: false,
            })?)
        } else {
            None
        };
        let mut errors = false;
        let mut stdout = std::io::stdout().lock();
        let mut stderr = std::io::stderr().lock();
        for input in &self.inputs {
            let data = match &compiler {
                Some((clang, request)) if is_source(input) => {
                    let (diagnostics, object) = build::compile_object(clang, request, input);
                    stderr.write_all(crate::paint::paint(&diagnostics).as_bytes())?;
                    match object {
                        Ok(bytes) => bytes,
                        Err(err) if err.exit_code() == 1 => {
                            write!(
                                stderr,
                                "{}",
                                crate::paint::paint(&format!("bpfgen: error: {err}\n"))
                            )?;
                            errors = true;
                            continue;
                        }
                        Err(err) => return Err(err.into()),
                    }
                }
                _ => std::fs::read(input).map_err(|e| bpfgen::Error::io(input, &e))?,
            };
            let object_file = if is_source(input) {
                format!("{}.bpf.o", build::source_stem(input))
            } else {
                input
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            };
            let object_name = names::object_name_from_file(&object_file);
            let name = input.display().to_string();
            let mut findings = check::check_bytes(&data, &name, &object_name, &options)?;
            let near = input.parent().unwrap_or(Path::new(""));
            check::attach_sources(&mut findings, &[near, Path::new("")]);
            errors |= bpfgen::diag::has_errors(&findings);
            for finding in &findings {
                if json {
                    writeln!(stdout, "{}", finding.render_json())?;
                } else {
                    stderr.write_all(crate::paint::paint(&finding.render_human()).as_bytes())?;
                }
            }
            if !json {
                writeln!(stderr, "bpfgen: {name}: {}", summary(&findings))?;
            }
        }
        if let Some((_, request)) = &compiler {
            crate::compile_args::finish(request);
        }
        Ok(ExitCode::from(u8::from(errors)))
    }
}

/// Whether an input is a C source (compiled first) rather than an object.
fn is_source(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "c")
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
