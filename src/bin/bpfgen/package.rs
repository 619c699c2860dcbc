//! `bpfgen package`: objects into packages that runtimes load (OCI images for bpfman,
//! eunomia packages for ecli), and the package options `build --package` shares.

use crate::ExitStatus;
use bpfgen::package::platform::KernelBtf;
use bpfgen::package::{self, Format, ObjectInput, Package};
use std::path::{Path, PathBuf};

/// Package BPF objects for the runtimes that load them, reproducibly.
///
/// Writes an OCI image layout (default; bpfman's bytecode image, one image per platform), the
/// same as one tar file (oci-archive), or eunomia's package.json / package.tar (ecli-json,
/// ecli-tar). Each package carries bpfgen.manifest.json and, with --btf, min-CO-RE BTF for
/// kernels without BTF of their own.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  bpfgen package helloworld.bpf.o -o helloworld.oci\n  \
                        bpfgen package amd64=x86/prog.bpf.o arm64=arm/prog.bpf.o -o prog.oci\n  \
                        bpfgen package prog.bpf.o --format ecli-tar --btf btfhub-archive/ -o package.tar\n\n\
                        Times: SOURCE_DATE_EPOCH (default 0) is the only time written."
)]
pub struct Opts {
    /// The objects, each optionally prefixed with its platform (`arm64=prog.bpf.o`; default:
    /// this machine's).
    #[arg(required = true, value_name = "[ARCH=]OBJECT")]
    objects: Vec<String>,
    /// Where to write the package (a directory for oci, a file otherwise).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: PathBuf,
    #[command(flatten)]
    options: PackageArgs,
}

/// Package options `package` and `build --package` share.
#[derive(clap::Args)]
pub struct PackageArgs {
    /// Package format.
    #[arg(long = "format", value_name = "FORMAT", default_value = "oci", value_parser = Format::NAMES)]
    pub format: String,
    /// Full kernel BTF to cut min-CO-RE BTF from: a btfhub-style directory
    /// (ID/VERSION_ID/ARCH/RELEASE.btf), one file inside such a tree, or
    /// /sys/kernel/btf/vmlinux for this machine's kernel. Repeatable.
    #[arg(long = "btf", value_name = "FILE|DIR")]
    pub btf: Vec<PathBuf>,
    /// A struct ecli prints ring buffer and perf events as (eunomia's export_types).
    #[arg(long = "export-type", value_name = "STRUCT")]
    pub export_types: Vec<String>,
}

impl PackageArgs {
    /// The format asked for.
    pub fn format(&self) -> anyhow::Result<Format> {
        Ok(self.format.parse()?)
    }

    /// Packages `inputs` and writes the package to `out`.
    pub fn write(&self, inputs: Vec<ObjectInput>, out: &Path) -> anyhow::Result<()> {
        let format = self.format()?;
        let mut kernels = Vec::new();
        for path in &self.btf {
            kernels.extend(KernelBtf::discover(path)?);
        }
        let mut package = Package::new(inputs, &kernels, source_date_epoch()?)?;
        package.export_types.clone_from(&self.export_types);
        if matches!(format, Format::Oci | Format::OciArchive) {
            for (object, program) in package::oci::programs_bpfman_skips(&package) {
                eprint!(
                    "{}",
                    crate::paint::paint(&format!(
                        "bpfgen: warning: {object}: bpfman cannot load program {program}; it \
                         is left out of the io.ebpf.programs label\n"
                    ))
                );
            }
        }
        let rendered = package::render(&package, format)?;
        package::write(&rendered, out)?;
        Ok(())
    }
}

/// `SOURCE_DATE_EPOCH`, or 0.
fn source_date_epoch() -> anyhow::Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) => value.trim().parse().map_err(|_| {
            bpfgen::Error::environment(format!(
                "SOURCE_DATE_EPOCH must be seconds since 1970, not '{value}'"
            ))
            .into()
        }),
        Err(_) => Ok(0),
    }
}

impl Opts {
    pub fn run(self) -> anyhow::Result<ExitStatus> {
        let inputs = self
            .objects
            .iter()
            .map(|spec| {
                // `arm64=prog.bpf.o`; a path that merely contains `=` has a `/` before it.
                let (arch, path) = match spec.split_once('=') {
                    Some((arch, path)) if !arch.is_empty() && !arch.contains('/') => {
                        (Some(arch.to_string()), path)
                    }
                    _ => (None, spec.as_str()),
                };
                ObjectInput {
                    path: PathBuf::from(path),
                    arch,
                    build: None,
                }
            })
            .collect();
        self.options.write(inputs, &self.output)?;
        Ok(ExitStatus::SUCCESS)
    }
}
