//! `bpfgen build`: `.bpf.c` files to stripped objects, skeletons and dependency files.

use crate::ExitStatus;
use crate::compile_args::{CompileArgs, Outputs};
use crate::levels::LevelArgs;
use crate::load::{LoadArgs, load_object, print_logs, print_records, require_privilege};
use crate::package::PackageArgs;
use bpfgen::build::{self, BuildRequest, Built, SkeletonLang};
use bpfgen::check;
use bpfgen::package::{Format, ObjectInput};
use bpfgen::toolchain::Clang;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

/// Compile BPF C sources into stripped CO-RE objects and skeletons.
///
/// For each FILE.bpf.c writes <stem>.bpf.o (DWARF stripped), <stem>.skel.h (or .skel.rs) and <stem>.bpf.d
/// (a Make dependency file) into the output directory. Outputs are replaced atomically.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  bpfgen build helloworld.bpf.c\n  \
                        bpfgen build src/*.bpf.c -o build -I include -D DEBUG=1 -- -O1\n  \
                        bpfgen build main.bpf.c lib.bpf.c maps.bpf.c --link prog\n\n\
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
    #[command(flatten)]
    compile: CompileArgs,
    /// Kernel BTF for a generated vmlinux.h (raw BTF or ELF with .BTF), used when a source
    /// includes vmlinux.h and no include directory has one.
    #[arg(long, value_name = "FILE", default_value = bpfgen::btf::source::KERNEL_BTF)]
    btf: PathBuf,
    /// Link all sources into one program, NAME: writes NAME.bpf.o, NAME.skel.h (or .skel.rs)
    /// and NAME.bpf.d instead of outputs per source (as `bpfgen gen object` links objects).
    #[arg(long, value_name = "NAME", conflicts_with = "package")]
    link: Option<String>,
    /// Skip `bpfgen check` (run by default on every object; its errors fail the build).
    #[arg(long)]
    no_check: bool,
    #[command(flatten)]
    levels: LevelArgs,
    /// After building, load each object into the running kernel as `bpfgen check --load`
    /// does: the verifier's refusals fail the build, and each program's statistics are
    /// printed. Needs CAP_BPF or CAP_SYS_ADMIN.
    #[arg(long)]
    check_load: bool,
    #[command(flatten)]
    load_args: LoadArgs,
    /// Which skeleton to write: c (<stem>.skel.h), rust (<stem>.skel.rs, for libbpf-rs) or none.
    #[arg(long, value_name = "LANG", default_value = "c", value_parser = ["c", "rust", "none"])]
    skel: String,
    /// Also package each object as `bpfgen package` does, into <stem>.oci (the default
    /// FORMAT, oci), <stem>.oci.tar (oci-archive), <stem>.package.json (ecli-json) or
    /// <stem>.package.tar (ecli-tar).
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, require_equals = true,
          default_missing_value = "oci", value_parser = Format::NAMES)]
    package: Option<String>,
    /// Full kernel BTF to cut the packages' min-CO-RE BTF from (as `bpfgen package --btf`).
    #[arg(long = "package-btf", value_name = "FILE|DIR", requires = "package")]
    package_btf: Vec<PathBuf>,
    /// human (default: diagnostics on stderr as clang and rustc print them) or json (one
    /// object per line on stdout, clang's diagnostics included; schema/bpfgen.diagnostic.schema.json).
    #[arg(long, value_name = "FORMAT", value_parser = ["human", "json"], default_value = "human")]
    message_format: String,
    /// Extra clang arguments, after `--`.
    #[arg(last = true, value_name = "CLANG_ARGS")]
    clang_args: Vec<OsString>,
}

impl Opts {
    pub fn run(self) -> anyhow::Result<ExitStatus> {
        check_package_spelling(self.package.as_deref(), &self.sources)?;
        let json = self.message_format == "json";
        if self.check_load {
            require_privilege()?;
        }
        let load_options = self
            .check_load
            .then(|| self.load_args.options())
            .transpose()?;
        let levels = self.levels.levels()?;
        let libbpf = self.compile.libbpf_version();
        let check = (!self.no_check).then(|| {
            check::Options::for_build(&self.btf)
                .with_levels(levels.clone())
                .with_libbpf_version(libbpf)
        });
        let packaging = self.package.map(|format| PackageArgs {
            format,
            btf: self.package_btf,
            export_types: Vec::new(),
        });
        let (clang, request) = self.compile.request(Outputs {
            sources: self.sources,
            out_dir: self.out_dir,
            btf: self.btf,
            skeleton: match self.skel.as_str() {
                "none" => SkeletonLang::None,
                "rust" => SkeletonLang::Rust,
                _ => SkeletonLang::C,
            },
            check,
            clang_args: self.clang_args,
            link: self.link,
            findings_as_json: json,
        })?;
        let progress = progress_bar(request.sources.len());
        let outcomes = build::build(&clang, &request, &|outcome| {
            progress.set_message(outcome.source.display().to_string());
            progress.inc(1);
        })?;
        progress.finish_and_clear();
        crate::compile_args::finish(&request);
        let mut worst = 0;
        let mut records = Vec::new();
        let mut stderr = std::io::stderr().lock();
        let mut stdout = std::io::stdout().lock();
        for outcome in &outcomes {
            let source = outcome.source.display().to_string();
            if json {
                for record in crate::json_log::records(&source, &outcome.diagnostics) {
                    writeln!(stdout, "{record}")?;
                }
            } else {
                stderr.write_all(crate::paint::paint(&outcome.diagnostics).as_bytes())?;
            }
            let packaged = match (&outcome.result, &packaging) {
                (Ok(built), Some(packaging)) => package_one(&clang, &request, built, packaging),
                (Ok(_), None) => Ok(()),
                (Err(err), _) => Err(err.clone().into()),
            };
            if let Err(err) = packaged {
                if json {
                    writeln!(
                        stdout,
                        "{}",
                        crate::json_log::error(&source, &err.to_string())
                    )?;
                } else {
                    write!(
                        stderr,
                        "{}",
                        crate::paint::paint(&format!("bpfgen: error: {err}\n"))
                    )?;
                }
                let code = err
                    .downcast_ref::<bpfgen::Error>()
                    .map_or(2, |e| e.exit_code());
                worst = worst.max(code);
            }
            if let (Ok(built), Some(options)) = (&outcome.result, &load_options) {
                let data = std::fs::read(&built.object)
                    .map_err(|e| bpfgen::Error::io(&built.object, &e))?;
                let object_name = bpfgen::object::names::object_name_from_file(
                    &built
                        .object
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy(),
                );
                let loaded =
                    load_object(&data, &built.object, &outcome.source, &object_name, options);
                let findings = levels.apply(loaded.findings);
                if bpfgen::diag::has_errors(&findings) {
                    worst = worst.max(1);
                }
                for finding in &findings {
                    if json {
                        for record in crate::json_log::records(&source, &finding.render_json()) {
                            writeln!(stdout, "{record}")?;
                        }
                    } else {
                        stderr
                            .write_all(crate::paint::paint(&finding.render_human()).as_bytes())?;
                    }
                }
                if self.load_args.verifier_log {
                    print_logs(&built.object, &loaded.logs)?;
                }
                records.extend(loaded.programs.into_iter().map(|r| (source.clone(), r)));
            }
        }
        if json {
            for (source, record) in &records {
                writeln!(stdout, "{}", crate::json_log::program(source, record))?;
            }
        } else {
            drop(stdout);
            let records: Vec<_> = records.into_iter().map(|(_, record)| record).collect();
            print_records(&records, false)?;
        }
        Ok(ExitStatus::from(worst))
    }
}

/// `--package ecli-json` (with a space) leaves the format as a source, since `--package`
/// alone means oci: say how to write it instead of "ecli-json: no such file".
fn check_package_spelling(package: Option<&str>, sources: &[PathBuf]) -> anyhow::Result<()> {
    let Some(format) = package else {
        return Ok(());
    };
    match sources
        .iter()
        .find(|s| Format::NAMES.contains(&s.to_string_lossy().as_ref()) && !s.exists())
    {
        Some(word) => Err(bpfgen::Error::environment(format!(
            "`--package {}` reads `{}` as a source (a bare --package means {format}): write \
             --package={}",
            word.display(),
            word.display(),
            word.display()
        ))
        .into()),
        None => Ok(()),
    }
}

/// Packages one built object beside it, recording how it was built.
fn package_one(
    clang: &Clang,
    request: &BuildRequest,
    built: &Built,
    packaging: &PackageArgs,
) -> anyhow::Result<()> {
    let input = ObjectInput {
        path: built.object.clone(),
        arch: Some(request.compile.arch.libbpf_name().to_string()),
        build: Some(bpfgen::build::package_build_info(
            clang,
            &request.compile,
            &built.source,
        )?),
    };
    let stem = build::source_stem(&built.source);
    let out = request.out_dir.join(packaging.format()?.output_name(&stem));
    packaging.write(vec![input], &out)
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
