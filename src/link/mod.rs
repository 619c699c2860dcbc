//! The static linker: several BPF objects into one, as libbpf's `bpf_linker` (what
//! `bpftool gen object` runs) does, and the DWARF-free CO-RE object it writes.
//!
//! Inputs are read (each validated as every command reads objects, [`input`]) and added one
//! after another ([`Linker::add`]); [`Linker::finish`] returns the ELF bytes. From eight
//! inputs on, [`link`] reads them on a second thread, ahead of the one being added, the two
//! threads held on different CPUs (`cpus`). For each input:
//! - same-named sections are concatenated, each piece aligned to its own alignment
//!   ([`sections`]); `license` and `version` must be identical and are kept once;
//! - symbols are appended and globals resolved by name ([`symbols`]): a definition replaces
//!   externs and weak definitions, two strong definitions conflict, hidden visibility wins, and
//!   the two sides' BTF must agree ([`compat`]);
//! - relocations follow their section with shifted offsets; an instruction referring to a
//!   section symbol (a static function or `.rodata` string) has its immediate shifted by where
//!   that section's piece landed;
//! - BTF is appended with ids remapped, one `VAR`/`FUNC` per global; DATASECs are rebuilt at the
//!   end from the merged sections, then equal types collapse ([`crate::btf::dedup`]);
//! - `.BTF.ext` records follow their sections with shifted offsets, read and written as raw
//!   records ([`crate::btf::ext::read_raw`], [`crate::btf::ext::write_raw`]).
//!
//! Externs nobody defines stay: `__kconfig` and `__ksym` ones in their DATASECs, for libbpf to
//! resolve at load time, and plain ones for a later link.

pub mod compat;
mod cpus;
pub mod elf_out;
pub mod input;
pub mod sections;
pub mod symbols;
pub mod types;

use crate::btf::dedup::dedup;
use crate::btf::ext::{RecordKind, write_raw};
use crate::btf::raw::{RawType, kind};
use crate::btf::table::TypeTable;
use crate::error::{Error, Result};
use crate::fast_hash::FastMap;
use crate::object::names::object_name_from_file;
use crate::object::{BpfObject, read_elf};
use cpus::CpuSplit;
use input::InputObject;
use sections::OutSection;
use symbols::{Global, OutSymbol};

/// Links objects given as bytes; `inputs` pairs each object's name for messages (its path)
/// with its bytes (in memory, or a mapped file). Fails on the first input that does not fit
/// with the ones before it.
pub fn link<Bytes: AsRef<[u8]> + Sync>(inputs: &[(String, Bytes)]) -> Result<Vec<u8>> {
    if inputs.is_empty() {
        return Err(Error::input("nothing to link: no input objects"));
    }
    let mut linker = Linker::default();
    std::thread::scope(|scope| {
        // From PIPELINE_FROM inputs on, they are read one or two ahead of the one being added,
        // on a second thread: on a big link that takes a third of the work off the path.
        // Errors still come in input order: an input is added only once all before it were.
        let pipelined = inputs.len() >= PIPELINE_FROM;
        // Held until the inputs are all added: the two threads stay on different CPUs.
        let split = pipelined.then(CpuSplit::hold_here).flatten();
        let reader = pipelined
            .then(|| spawn_reader(scope, inputs, split.as_ref().map(CpuSplit::elsewhere)))
            .and_then(std::io::Result::ok);
        let read: Box<dyn Iterator<Item = Result<InputObject>>> = match reader {
            Some(read) => Box::new(read.into_iter()),
            // Also when no thread could be started: the inputs are read here, in turn.
            None => Box::new(
                inputs
                    .iter()
                    .map(|(file, bytes)| read_input(file, bytes.as_ref())),
            ),
        };
        for input in read {
            linker.add(input?)?;
        }
        drop(split);
        Ok::<_, Error>(())
    })?;
    linker.finish()
}

/// How many inputs a link needs before reading them on a second thread pays for starting it
/// (about half a millisecond here; a small input reads in a tenth of that).
const PIPELINE_FROM: usize = 8;

/// Starts a thread that reads `inputs` in order, at most two ahead of the receiver, on
/// `cpus` when given (the ones the linker's thread is not held on), and stops when the
/// receiver is dropped.
fn spawn_reader<'scope, 'a: 'scope, Bytes: AsRef<[u8]> + Sync>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    inputs: &'a [(String, Bytes)],
    cpus: Option<rustix::thread::CpuSet>,
) -> std::io::Result<std::sync::mpsc::Receiver<Result<InputObject<'a>>>> {
    let (send, read) = std::sync::mpsc::sync_channel(2);
    std::thread::Builder::new().spawn_scoped(scope, move || {
        if let Some(cpus) = &cpus {
            cpus::move_to(cpus);
        }
        for (file, bytes) in inputs {
            if send.send(read_input(file, bytes.as_ref())).is_err() {
                break;
            }
        }
    })?;
    Ok(read)
}

/// Reads an input for the linker. It is first read as every other command reads objects, so
/// that an invalid input is named with its defect, not found later as an unreadable linked
/// output; that reading's BTF is the input's.
fn read_input<'a>(file: &str, bytes: &'a [u8]) -> Result<InputObject<'a>> {
    let in_file = |e: Error| e.in_file(std::path::Path::new(file));
    let elf = read_elf(bytes).map_err(in_file)?;
    let validated = BpfObject::from_elf(&elf, &object_name_from_file(file)).map_err(in_file)?;
    InputObject::from_elf(file, &elf, validated.types)
}

/// An error's message without its file: the linker's own errors name the input they are
/// about in their text.
fn message(e: Error) -> String {
    e.message().to_string()
}

/// Linking in progress: the output's sections, symbols, globals and BTF so far.
#[derive(Default)]
pub struct Linker {
    big_endian: Option<bool>,
    /// How messages name the inputs added so far (their paths as given), in order, the one
    /// being added last.
    inputs: Vec<String>,
    sections: Vec<OutSection>,
    symbols: Vec<OutSymbol>,
    globals: FastMap<String, Global>,
    btf: TypeTable,
}

/// Where one input's pieces went.
struct Placement {
    /// For each input section (by position): the output section and the offset of its piece.
    sections: Vec<Option<(usize, u64)>>,
    /// For each input symbol: its output symbol.
    symbols: Vec<usize>,
    /// For each input BTF id: its id in the merged BTF.
    types: Vec<u32>,
}

impl Linker {
    /// Adds one object; on error the linker must not be used further.
    pub fn add(&mut self, object: InputObject) -> Result<()> {
        let fail = |cause: String| Error::input(format!("{}: {cause}", object.file));
        match self.big_endian {
            None => self.big_endian = Some(object.big_endian),
            Some(big) if big != object.big_endian => {
                let order = |big: bool| {
                    if big {
                        "big-endian (bpfeb)"
                    } else {
                        "little-endian (bpfel)"
                    }
                };
                return Err(fail(format!(
                    "byte order mismatch: it is {} but {} is {}",
                    order(object.big_endian),
                    self.inputs[0],
                    order(big)
                )));
            }
            Some(_) => {}
        }
        self.inputs.push(object.file.clone());
        if self.symbols.is_empty() {
            self.symbols.push(OutSymbol::null());
        }
        let mut placement = Placement {
            sections: self.append_sections(&object).map_err(fail)?,
            symbols: Vec::new(),
            types: Vec::new(),
        };
        placement.symbols = self.append_symbols(&object, &placement).map_err(fail)?;
        self.append_relocations(&object, &placement).map_err(fail)?;
        placement.types = self.append_btf(&object, &placement).map_err(fail)?;
        self.append_btf_ext(&object, &placement).map_err(fail)?;
        Ok(())
    }

    /// The position of the input being added (its place in [`Linker::add`]'s order).
    fn current_input(&self) -> usize {
        self.inputs.len() - 1
    }

    /// The linked object: DATASECs rebuilt, BTF deduplicated, ELF written.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        let big_endian = self.big_endian.unwrap_or(false);
        let has_btf = !self.btf.is_empty();
        let mut btf_bytes = None;
        let mut ext_bytes = None;
        if has_btf {
            self.add_datasecs()?;
            // libbpf adds the `.BTF.ext` section names before deduplicating.
            for kind in RecordKind::ALL {
                for section in &self.sections {
                    if !section.ext[kind.index()].data.is_empty() {
                        self.btf.add_str(&section.name);
                    }
                }
            }
            let deduped = dedup(std::mem::take(&mut self.btf))?;
            let mut btf = deduped.btf;
            for section in &mut self.sections {
                section.remap_ext_type_ids(&deduped.map);
            }
            let records: Vec<_> = self
                .sections
                .iter()
                .map(|s| (s.name.as_str(), [&s.ext[0], &s.ext[1], &s.ext[2]]))
                .collect();
            ext_bytes = write_raw(&records, |name| btf.add_str(name), big_endian);
            btf_bytes = Some(btf.to_bytes(big_endian));
        }
        Ok(elf_out::write(
            &self.sections,
            &self.symbols,
            btf_bytes.as_deref(),
            ext_bytes.as_deref(),
            big_endian,
        ))
    }

    /// Appends one DATASEC per output section that has BTF, with the variables collected
    /// from all inputs (`finalize_btf`).
    fn add_datasecs(&mut self) -> Result<()> {
        for section in &self.sections {
            if !section.has_btf {
                continue;
            }
            let name = self.btf.add_str(&section.name);
            self.btf.push(RawType {
                name_off: name,
                info: (kind::DATASEC << 24) | section.vars.len() as u32,
                size_or_type: section.size as u32,
                extra: section.vars.iter().flatten().copied().collect(),
            })?;
        }
        Ok(())
    }
}
