//! A BPF ELF object read once into [`BpfObject`]: the single source of truth for checks,
//! skeletons, inspection and packaging. Also libbpf's naming rules ([`names`]), its `SEC()`
//! table ([`sec_def`]) and the DWARF-stripping rewrite ([`strip`]).

#[cfg(feature = "dwarf")]
mod dwarf;
mod elf_strings;
mod model;
pub mod names;
mod read;
pub(crate) use elf_strings::ElfStrings;
pub use read::{ElfFile, MAX_NAME_LEN, MAX_OBJECT_SIZE, read_elf};
pub mod sec_def;
pub mod strip;

pub use model::{
    BpfObject, ByteOrder, CodeRelocation, CodeSection, DwarfLine, Extern, ExternKind, Function,
    Map, MapDef, MapKind, Program, Section, SectionKind, Variable, map_type_name,
};
