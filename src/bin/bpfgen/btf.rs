//! `bpfgen gen vmlinux` and `bpfgen btf dump`: BTF to a C header.

use crate::ExitStatus;
use crate::output_arg::OutputArg;
use bpfgen::btf::{dump, source};
use std::path::{Path, PathBuf};

/// Write the C header for a kernel's BTF (what `bpftool btf dump file FILE format c` writes).
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  bpfgen gen vmlinux -o vmlinux.h\n  \
                        bpfgen gen vmlinux --btf 6.1.btf -o vmlinux-6.1.h\n  \
                        bpfgen gen vmlinux --btf /sys/kernel/btf/nf_tables --base /sys/kernel/btf/vmlinux")]
pub struct VmlinuxOpts {
    /// BTF to read: raw BTF or an ELF file with a .BTF section.
    #[arg(long, value_name = "FILE", default_value = source::KERNEL_BTF)]
    btf: PathBuf,
    /// Base BTF, when FILE is split BTF (a kernel module's).
    #[arg(long, value_name = "FILE")]
    base: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArg,
}

impl VmlinuxOpts {
    pub fn run(self) -> anyhow::Result<ExitStatus> {
        write_header(&self.btf, self.base.as_deref(), &self.output)
    }
}

/// Inspect BTF.
#[derive(clap::Args)]
pub struct BtfOpts {
    #[command(subcommand)]
    what: BtfCommand,
}

#[derive(clap::Subcommand)]
enum BtfCommand {
    Dump(DumpOpts),
}

/// Dump a BTF file (`--format c`: the C header, as `bpfgen gen vmlinux --btf FILE`).
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  bpfgen btf dump /sys/kernel/btf/vmlinux > vmlinux.h\n  \
                        bpfgen btf dump file prog.bpf.o format c   (bpftool's spelling)"
)]
struct DumpOpts {
    /// BTF to read: raw BTF or an ELF file with a .BTF section. bpftool's spelling,
    /// `file FILE format c`, is accepted too.
    #[arg(value_name = "FILE", num_args = 1..=4, required = true)]
    words: Vec<String>,
    /// Output format.
    #[arg(long, value_parser = ["c"], default_value = "c")]
    format: String,
    /// Base BTF, when FILE is split BTF.
    #[arg(long, value_name = "FILE")]
    base: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArg,
}

impl BtfOpts {
    pub fn run(self) -> anyhow::Result<ExitStatus> {
        match self.what {
            BtfCommand::Dump(opts) => {
                let file = bpftool_dump_file(&opts.words)?;
                write_header(&file, opts.base.as_deref(), &opts.output)
            }
        }
    }
}

/// The file of `btf dump`'s words: `FILE`, or bpftool's `[file] FILE [format c]`.
fn bpftool_dump_file(words: &[String]) -> anyhow::Result<PathBuf> {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let rest = match words.as_slice() {
        ["file", rest @ ..] if !rest.is_empty() => rest,
        rest => rest,
    };
    match rest {
        [file] | [file, "format", "c"] => Ok(PathBuf::from(file)),
        [_, "format", other] => Err(bpfgen::Error::environment(format!(
            "format {other}: bpfgen dumps BTF as C only (format c)"
        ))
        .into()),
        _ => Err(bpfgen::Error::environment(format!(
            "unexpected arguments `{}`: write `bpfgen btf dump FILE` (or bpftool's \
             `file FILE format c`)",
            words.join(" ")
        ))
        .into()),
    }
}

fn write_header(btf: &Path, base: Option<&Path>, output: &OutputArg) -> anyhow::Result<ExitStatus> {
    let table = source::load(btf, base)?;
    let header = dump::vmlinux_header(&table).map_err(|e| e.in_file(btf))?;
    output.emit(header.as_bytes())
}
