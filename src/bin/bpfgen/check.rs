//! `bpfgen check`: what libbpf and the verifier would reject, reported with source lines
//! before the object ever reaches a kernel; with `--load`, what the running kernel's
//! verifier says.

use crate::ExitStatus;
use crate::compile_args::{CompileArgs, Outputs};
use crate::levels::LevelArgs;
use crate::load::{
    LoadArgs, load_object, print_logs, print_records, read_records, require_privilege,
};
use bpfgen::build::{self, SkeletonLang};
use bpfgen::check;
use bpfgen::diag::{Diagnostic, Severity};
use bpfgen::load::stats::ProgramRecord;
use bpfgen::object::names;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Check BPF objects or sources offline: SEC names, maps, license and GPL-only helpers, BTF,
/// externs, and every CO-RE relocation against each target kernel's BTF; with --load, also
/// in the running kernel's verifier.
///
/// `.bpf.c` inputs are compiled first (as `bpfgen build` would, nothing written). Findings go
/// to stderr (human) or stdout (json, one object per line).
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  bpfgen check prog.bpf.o\n  \
                        bpfgen check prog.bpf.c --btf 6.1.btf --btf 6.12.btf\n  \
                        bpfgen check .output/*.bpf.o --message-format json\n  \
                        bpfgen check --load prog.bpf.o\n  \
                        bpfgen check --load prog.bpf.o --message-format json > old.json\n  \
                        bpfgen check --load --compare old.json prog.bpf.o --max-growth 10\n\n\
                        Exit status: 0 no errors (warnings allowed); 1 errors found (the \
                        verifier refused a program, --compare found growth over the limit) \
                        or an input does not compile; 2 usage or environment (unreadable \
                        file or BTF, clang missing, no privilege to load).")]
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
    /// Also load each object into the running kernel with the real libbpf 1.7, one program
    /// at a time: refusals by the verifier are findings (B07xx), and every program's
    /// verifier statistics are printed (a table on stdout, or JSON lines). Needs CAP_BPF or
    /// CAP_SYS_ADMIN.
    #[arg(long)]
    load: bool,
    /// Compare two runs of --load: the two inputs are saved `--message-format json` outputs
    /// (.json) or objects and sources (loaded now). Prints each program's metrics side by
    /// side.
    #[arg(long, requires = "load")]
    compare: bool,
    /// With --compare: exit 1 when a program's instructions, states, stack depth or JITed
    /// size grow by more than PERCENT, or a program that loaded no longer does.
    #[arg(long, value_name = "PERCENT", requires = "compare")]
    max_growth: Option<f64>,
    #[command(flatten)]
    load_args: LoadArgs,
    #[command(flatten)]
    compile: CompileArgs,
    /// Extra clang arguments for `.bpf.c` inputs, after `--`.
    #[arg(last = true, value_name = "CLANG_ARGS")]
    clang_args: Vec<OsString>,
}

/// clang and the request that compiles `.bpf.c` inputs, when there are any.
type Compiler = Option<(bpfgen::toolchain::Clang, bpfgen::build::BuildRequest)>;

impl Opts {
    pub fn run(self) -> anyhow::Result<ExitStatus> {
        let json = self.message_format == "json";
        let kernel = PathBuf::from(bpfgen::btf::source::KERNEL_BTF);
        if self.compare && self.inputs.len() != 2 {
            return Err(bpfgen::Error::environment(
                "--compare takes two inputs: the old run and the new one",
            )
            .into());
        }
        if self.load && !self.inputs.iter().all(|p| is_saved_run(p)) {
            require_privilege()?;
        }
        let load_options = self.load_args.options()?;
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
        let levels = self.levels.levels()?;
        let options = check::Options::new(targets)
            .with_levels(levels.clone())
            .with_libbpf_version(self.compile.libbpf_version());
        // Targets named on the command line must be usable before any rule runs, whether or
        // not an input needs them.
        if explicit_targets {
            options.targets()?;
        }
        let has_sources = self.inputs.iter().any(|p| is_source(p));
        let compiler: Compiler = if has_sources {
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
        let mut runs: Vec<Vec<ProgramRecord>> = Vec::new();
        for input in &self.inputs {
            if self.compare && is_saved_run(input) {
                runs.push(read_records(input)?);
                continue;
            }
            let Some(data) = input_bytes(&compiler, input)? else {
                errors = true;
                continue;
            };
            let object_name = names::object_name_from_file(&object_file(input));
            let name = input.display().to_string();
            let mut findings = check::check_bytes(&data, &name, &object_name, &options)?;
            let near = input.parent().unwrap_or(Path::new(""));
            check::attach_sources(&mut findings, &[near, Path::new("")]);
            let mut logs = Vec::new();
            if self.load {
                let loaded = load_object(&data, input, input, &object_name, &load_options);
                findings.extend(levels.apply(loaded.findings));
                runs.push(loaded.programs);
                logs = loaded.logs;
            }
            errors |= bpfgen::diag::has_errors(&findings);
            report(&name, &findings, json)?;
            if self.load_args.verifier_log {
                print_logs(input, &logs)?;
            }
        }
        if let Some((_, request)) = &compiler {
            crate::compile_args::finish(request);
        }
        if self.compare && runs.len() == 2 {
            let comparison = bpfgen::load::compare::compare(&runs[0], &runs[1], self.max_growth);
            let mut stdout = std::io::stdout().lock();
            if json {
                for change in &comparison.changes {
                    writeln!(stdout, "{}", serde_json::to_string(change)?)?;
                }
            } else {
                stdout.write_all(comparison.render_table().as_bytes())?;
            }
            return Ok(ExitStatus::from(u8::from(comparison.over_limit())));
        }
        print_records(&runs.concat(), json)?;
        Ok(ExitStatus::from(u8::from(errors)))
    }
}

/// Prints one input's findings: JSON lines on stdout, or compiler-style text and a summary
/// on stderr.
fn report(name: &str, findings: &[Diagnostic], json: bool) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    for finding in findings {
        if json {
            writeln!(stdout, "{}", finding.render_json())?;
        } else {
            stderr.write_all(crate::paint::paint(&finding.render_human()).as_bytes())?;
        }
    }
    if !json {
        writeln!(stderr, "bpfgen: {name}: {}", summary(findings))?;
    }
    Ok(())
}

/// The object bytes of an input: read, or compiled from a `.bpf.c` (clang's diagnostics on
/// stderr); `None` when the source does not compile (already reported).
fn input_bytes(compiler: &Compiler, input: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    let Some((clang, request)) = compiler.as_ref().filter(|_| is_source(input)) else {
        return Ok(Some(
            std::fs::read(input).map_err(|e| bpfgen::Error::io(input, &e))?,
        ));
    };
    let mut stderr = std::io::stderr().lock();
    let (diagnostics, object) = build::compile_object(clang, request, input);
    stderr.write_all(crate::paint::paint(&diagnostics).as_bytes())?;
    match object {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.exit_code() == 1 => {
            write!(
                stderr,
                "{}",
                crate::paint::paint(&format!("bpfgen: error: {err}\n"))
            )?;
            Ok(None)
        }
        Err(err) => Err(err.into()),
    }
}

/// The object file an input is, or compiles to (its name gives libbpf's object name).
fn object_file(input: &Path) -> String {
    if is_source(input) {
        format!("{}.bpf.o", build::source_stem(input))
    } else {
        input
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    }
}

/// Whether an input is a saved `--message-format json` run (for `--compare`).
fn is_saved_run(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "json")
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
