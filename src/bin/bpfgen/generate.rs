//! `bpfgen gen`: generators that work on objects built elsewhere.

use crate::ExitStatus;
use crate::objects;
use crate::output_arg::OutputArg;
use bpfgen::btf::min_core::{Relocated, min_core_btf};
use bpfgen::btf::source::{FileBytes, raw_btf};
use bpfgen::output::write_atomic;
use bpfgen::skel;
use bpfgen::skel::rust::Embed;
use std::path::PathBuf;

/// Generate code from a BPF object.
#[derive(clap::Args)]
pub struct Opts {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    Skeleton(SkeletonOpts),
    Subskeleton(SubskeletonOpts),
    Vmlinux(crate::btf::VmlinuxOpts),
    MinCoreBtf(MinCoreBtfOpts),
    Object(crate::link::ObjectOpts),
}

/// Write the part of a kernel's BTF that objects' CO-RE relocations need (what
/// `bpftool gen min_core_btf` writes), for shipping with the objects to kernels without BTF;
/// libbpf loads it through `btf_custom_path`.
#[derive(clap::Args)]
#[command(
    after_help = "Example:\n  bpfgen gen min-core-btf /sys/kernel/btf/vmlinux min.btf prog.bpf.o"
)]
struct MinCoreBtfOpts {
    /// The kernel's full BTF (raw BTF, e.g. a BTFHub file, or an ELF file with .BTF).
    target: PathBuf,
    /// Where to write the minimized BTF (atomically).
    output: PathBuf,
    /// The objects whose CO-RE relocations it must serve.
    #[arg(required = true)]
    objects: Vec<PathBuf>,
}

/// Write the skeleton of an object: a C header (what `bpftool gen skeleton` writes) or a Rust
/// module for libbpf-rs (what libbpf-cargo writes), with the object embedded.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  bpfgen gen skeleton prog.bpf.o -o prog.skel.h\n  \
                        bpfgen gen skeleton my-prog.bpf.o --name my_prog > my_prog.skel.h\n  \
                        bpfgen gen skeleton prog.bpf.o --lang rust -o src/bpf/prog.skel.rs"
)]
struct SkeletonOpts {
    /// The BPF object file (embedded in the skeleton as is).
    object: PathBuf,
    /// Object name (default: the file name without `.o`, made a valid identifier).
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    output: OutputArg,
    /// The skeleton's language: c (a .skel.h) or rust (a .skel.rs for libbpf-rs).
    #[arg(long, value_name = "LANG", default_value = "c", value_parser = ["c", "rust"])]
    lang: String,
}

/// Write the C subskeleton of a BPF library object (what `bpftool gen subskeleton` writes): once
/// the library is statically linked into a bigger object, user space opens the subskeleton
/// against that object's skeleton and reaches the library's variables, maps and programs.
#[derive(clap::Args)]
#[command(
    after_help = "Example:\n  bpfgen gen object app.bpf.o main.bpf.o lib.bpf.o   # or bpftool gen object\n  \
                  bpfgen gen skeleton app.bpf.o -o app.skel.h\n  \
                  bpfgen gen subskeleton lib.bpf.o -o lib.subskel.h\n  \
                  # C: struct lib_bpf *lib = lib_bpf__open(app->obj); before app_bpf__load(app)"
)]
struct SubskeletonOpts {
    /// The library's BPF object file, as it was before linking (it needs BTF).
    object: PathBuf,
    /// Object name (default: the file name without `.o`, made a valid identifier).
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    output: OutputArg,
}

impl Opts {
    /// `gen object` with these options (for a command line read without clap).
    pub fn object(opts: crate::link::ObjectOpts) -> Self {
        Self {
            what: What::Object(opts),
        }
    }

    /// The options of a `gen object` command line, `None` for the other `gen` subcommands.
    #[cfg(test)]
    pub fn into_object(self) -> Option<crate::link::ObjectOpts> {
        match self.what {
            What::Object(opts) => Some(opts),
            _ => None,
        }
    }

    pub fn run(self) -> anyhow::Result<ExitStatus> {
        match self.what {
            What::Skeleton(opts) => opts.run(),
            What::Subskeleton(opts) => opts.run(),
            What::Vmlinux(opts) => opts.run(),
            What::MinCoreBtf(opts) => opts.run(),
            What::Object(opts) => opts.run(),
        }
    }
}

impl MinCoreBtfOpts {
    fn run(self) -> anyhow::Result<ExitStatus> {
        let loaded = self
            .objects
            .iter()
            .map(|path| objects::load(path, None))
            .collect::<bpfgen::Result<Vec<_>>>()?;
        let inputs: Vec<_> = self
            .objects
            .iter()
            .zip(&loaded)
            .map(|(path, loaded)| Relocated {
                path,
                object: &loaded.object,
            })
            .collect();
        let target = FileBytes::open(&self.target)?;
        let raw = raw_btf(&target).map_err(|e| e.in_file(&self.target))?;
        let btf = min_core_btf(raw, &inputs).map_err(|e| e.in_file(&self.target))?;
        write_atomic(&self.output, &btf)?;
        Ok(ExitStatus::SUCCESS)
    }
}

impl SkeletonOpts {
    fn run(self) -> anyhow::Result<ExitStatus> {
        let loaded = objects::load(&self.object, self.name.as_deref())?;
        let in_file = |e: bpfgen::Error| e.in_file(&self.object);
        let lang = if self.lang == "rust" {
            let type_prefix = match &self.name {
                Some(name) => skel::rust::type_prefix(name),
                None => skel::rust::type_prefix(
                    &self
                        .object
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy(),
                ),
            };
            skel::Lang::Rust {
                type_prefix,
                embed: Embed::Bytes,
            }
        } else {
            skel::Lang::C
        };
        let text = skel::generate(&loaded.object, &loaded.name, &loaded.bytes, &lang);
        self.output.emit(text.map_err(in_file)?.as_bytes())
    }
}

impl SubskeletonOpts {
    fn run(self) -> anyhow::Result<ExitStatus> {
        let loaded = objects::load(&self.object, self.name.as_deref())?;
        let header = skel::subskel::render(&loaded.object, &loaded.name)
            .map_err(|e| e.in_file(&self.object))?;
        self.output.emit(header.as_bytes())
    }
}
