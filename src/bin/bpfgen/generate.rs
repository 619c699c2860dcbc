//! `bpfgen gen`: generators that work on objects built elsewhere.

use crate::objects;
use bpfgen::output::write_atomic;
use bpfgen::skel::{self, Skeleton};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Generate code from a BPF object.
#[derive(clap::Args)]
pub struct Opts {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    Skeleton(SkeletonOpts),
    Vmlinux(crate::btf::VmlinuxOpts),
}

/// Write the C skeleton header (what `bpftool gen skeleton` writes) for an object.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  bpfgen gen skeleton prog.bpf.o -o prog.skel.h\n  \
                        bpfgen gen skeleton my-prog.bpf.o --name my_prog > my_prog.skel.h"
)]
struct SkeletonOpts {
    /// The BPF object file (embedded in the skeleton as is).
    object: PathBuf,
    /// Object name (default: the file name without `.o`, made a valid identifier).
    #[arg(long)]
    name: Option<String>,
    /// Write here (atomically) instead of to standard output.
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
}

impl Opts {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self.what {
            What::Skeleton(opts) => opts.run(),
            What::Vmlinux(opts) => opts.run(),
        }
    }
}

impl SkeletonOpts {
    fn run(self) -> anyhow::Result<ExitCode> {
        let loaded = objects::load(&self.object, self.name.as_deref())?;
        let in_file = |e: bpfgen::Error| e.in_file(&self.object);
        let model = Skeleton::new(&loaded.object, &loaded.name).map_err(in_file)?;
        let header = skel::c::render(&model, &loaded.object, &loaded.bytes).map_err(in_file)?;
        match &self.output {
            Some(path) => write_atomic(path, header.as_bytes())?,
            None => std::io::stdout().lock().write_all(header.as_bytes())?,
        }
        Ok(ExitCode::SUCCESS)
    }
}
