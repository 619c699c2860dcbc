//! `bpfgen gen object`: link BPF objects into one (what `bpftool gen object` does).

use crate::ExitStatus;
use bpfgen::btf::source::FileBytes;
use bpfgen::object::{BpfObject, names};
use bpfgen::output::write_atomic;
use std::path::PathBuf;

/// Link BPF objects into one: same-named sections merged, externs resolved against
/// definitions, BTF merged and deduplicated, DWARF dropped. With one input, this is the
/// DWARF-stripped object libbpf-bootstrap makes with `bpftool gen object`.
#[derive(clap::Args, Debug, PartialEq)]
#[command(
    after_help = "Examples:\n  bpfgen gen object prog.bpf.o main.o lib.o maps.o\n  \
                        bpfgen gen object stripped.bpf.o prog.tmp.bpf.o\n\n\
                        Exit status: 0 linked; 1 an input is invalid or the inputs conflict \
                        (the output is then left as it was); 2 usage or I/O error."
)]
pub struct ObjectOpts {
    /// The linked object to write (atomically).
    output: PathBuf,
    /// The objects to link, in order (clang -c output).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

impl ObjectOpts {
    /// Links `inputs` into `output`.
    pub fn new(output: PathBuf, inputs: Vec<PathBuf>) -> Self {
        Self { output, inputs }
    }

    pub fn run(self) -> anyhow::Result<ExitStatus> {
        let inputs = self
            .inputs
            .iter()
            .map(|path| FileBytes::open(path).map(|bytes| (path.display().to_string(), bytes)))
            .collect::<bpfgen::Result<Vec<_>>>()?;
        let linked = bpfgen::link::link(&inputs)?;
        // What was written must read back as a BPF object: a linker bug stops here, not in
        // libbpf at load time.
        let name = names::object_name_from_file(
            &self
                .output
                .file_name()
                .unwrap_or_default()
                .to_string_lossy(),
        );
        BpfObject::parse(&linked, &name).map_err(|e| {
            bpfgen::Error::input(format!(
                "the linked object does not read back ({}); this is a bpfgen bug",
                e.message()
            ))
            .in_file(&self.output)
        })?;
        write_atomic(&self.output, &linked)?;
        Ok(ExitStatus::SUCCESS)
    }
}
