//! `bpfgen gen vmlinux` and `bpfgen btf dump`: BTF to a C header.

use bpfgen::btf::{dump, source};
use bpfgen::output::write_atomic;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    /// Write here (atomically) instead of to standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

impl VmlinuxOpts {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        write_header(&self.btf, self.base.as_deref(), self.output.as_deref())
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
struct DumpOpts {
    /// BTF to read: raw BTF or an ELF file with a .BTF section.
    file: PathBuf,
    /// Output format.
    #[arg(long, value_parser = ["c"], default_value = "c")]
    format: String,
    /// Base BTF, when FILE is split BTF.
    #[arg(long, value_name = "FILE")]
    base: Option<PathBuf>,
    /// Write here (atomically) instead of to standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

impl BtfOpts {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self.what {
            BtfCommand::Dump(opts) => {
                write_header(&opts.file, opts.base.as_deref(), opts.output.as_deref())
            }
        }
    }
}

fn write_header(
    btf: &Path,
    base: Option<&Path>,
    output: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let table = source::load(btf, base)?;
    let header = dump::vmlinux_header(&table).map_err(|e| e.in_file(btf))?;
    match output {
        Some(path) => write_atomic(path, header.as_bytes())?,
        None => std::io::stdout().lock().write_all(header.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}
