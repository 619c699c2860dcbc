//! The object model: what a BPF ELF object holds, in the terms libbpf uses for it.

use super::sec_def::SecDef;
use crate::btf::ext::BtfExt;
use crate::btf::table::{Linkage, TypeTable};

/// Byte order of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    /// Little endian (`bpfel`).
    Little,
    /// Big endian (`bpfeb`).
    Big,
}

/// What libbpf makes of an ELF section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionKind {
    /// Executable code holding programs (`tp/...`, `xdp`, ...).
    Program,
    /// `.text`: sub-programs called by programs.
    Text,
    /// `.data`, `.data.*`: initialised global data.
    Data,
    /// `.rodata`, `.rodata.*`: read-only global data.
    Rodata,
    /// `.bss`, `.bss.*`: zero-initialised global data.
    Bss,
    /// `.maps`: BTF-defined map definitions.
    Maps,
    /// `maps`: legacy map definitions, rejected by libbpf 1.x.
    LegacyMaps,
    /// `license`.
    License,
    /// `version`.
    Version,
    /// `.BTF`.
    Btf,
    /// `.BTF.ext`.
    BtfExt,
    /// `.struct_ops` or `.struct_ops.link`.
    StructOps,
    /// `.debug_*`: DWARF.
    Debug,
    /// A relocation section (`.rel*`).
    Relocations,
    /// Symbol and string tables, `.llvm_addrsig` and other ELF bookkeeping.
    Metadata,
    /// Anything else (libbpf skips it).
    Other,
}

/// One ELF section.
#[derive(Debug, Clone)]
pub struct Section {
    /// ELF section index.
    pub index: usize,
    /// Section name.
    pub name: String,
    /// What it is for.
    pub kind: SectionKind,
    /// Size in bytes.
    pub size: u64,
}

/// A BPF program: a global function in an executable section other than `.text`.
#[derive(Debug, Clone)]
pub struct Program {
    /// Function name (what `bpf_program__name` returns).
    pub name: String,
    /// ELF section name (the `SEC()` string).
    pub section: String,
    /// ELF section index.
    pub section_index: usize,
    /// Byte offset of the first instruction within the section.
    pub offset: u64,
    /// Number of 8-byte instructions.
    pub insn_count: u64,
    /// What libbpf's section table says about the section, if it recognises it.
    pub sec_def: Option<SecDef>,
}

/// A function in an executable section: a program, or a sub-program in `.text`.
#[derive(Debug, Clone)]
pub struct Function {
    /// Symbol name.
    pub name: String,
    /// ELF section index.
    pub section_index: usize,
    /// Byte offset of the first instruction within the section.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
}

/// A relocation in an executable section: which instruction refers to which symbol.
#[derive(Debug, Clone)]
pub struct CodeRelocation {
    /// Byte offset of the instruction within its section.
    pub offset: u64,
    /// Name of the symbol it refers to (a map, a global, a sub-program or an extern).
    pub symbol: String,
}

/// The instructions of one executable section, with their relocations.
#[derive(Debug, Clone)]
pub struct CodeSection {
    /// ELF section index.
    pub section_index: usize,
    /// Section name.
    pub section: String,
    /// The raw instructions (8 bytes each, in the object's byte order).
    pub bytes: Vec<u8>,
    /// Relocations against these instructions, by offset.
    pub relocations: Vec<CodeRelocation>,
}

/// A source line from DWARF: which instruction of which section it starts at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DwarfLine {
    /// ELF index of the code section.
    pub section_index: usize,
    /// Byte offset of the instruction within the section.
    pub offset: u64,
    /// Source file: DWARF's name joined to its directory and the compilation directory.
    pub file: String,
    /// Line number (0 when unknown).
    pub line: u32,
    /// Column (0 when unknown).
    pub column: u32,
}

/// The definition libbpf would create a map from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MapDef {
    /// `enum bpf_map_type` value.
    pub map_type: u32,
    /// Key size in bytes.
    pub key_size: u64,
    /// Value size in bytes.
    pub value_size: u64,
    /// Maximum number of entries.
    pub max_entries: u64,
    /// `map_flags`.
    pub flags: u64,
}

/// A global variable of a data section, from its BTF `DATASEC`.
#[derive(Debug, Clone)]
pub struct Variable {
    /// Variable name as written in C (`func.var` for function-scope statics).
    pub name: String,
    /// BTF id of its type.
    pub type_id: u32,
    /// Byte offset within the section (after libbpf's fix-up from ELF symbols).
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
    /// Static, global or extern.
    pub linkage: Linkage,
}

/// Where a map comes from.
#[derive(Debug, Clone)]
pub enum MapKind {
    /// A map defined by the user in `.maps`.
    User,
    /// The internal map of a global data section (`.data`, `.rodata.*`, `.bss`, ...).
    Data {
        /// ELF section name.
        section: String,
        /// Whether libbpf memory-maps it (BTF with at least one non-static variable).
        mmapable: bool,
        /// The section's variables, by offset.
        vars: Vec<Variable>,
    },
    /// The `.kconfig` map that libbpf fills with kernel configuration values.
    Kconfig {
        /// The `__kconfig` externs, by the offset libbpf lays them out at.
        vars: Vec<Variable>,
    },
    /// A `struct_ops` map from `.struct_ops` or `.struct_ops.link`.
    StructOps {
        /// ELF section name.
        section: String,
        /// BTF id of the ops struct type (e.g. `tcp_congestion_ops`).
        type_id: u32,
    },
}

/// A map as libbpf will create it.
#[derive(Debug, Clone)]
pub struct Map {
    /// `bpf_map__name()`: the user's variable name, or the internal name libbpf derives.
    pub name: String,
    /// Skeleton identifier (`counts`, `bss`, `rodata_cfg`, ...).
    pub ident: String,
    /// Type, sizes, entries and flags.
    pub def: MapDef,
    /// BTF id of the key type, when the definition names one.
    pub key_type_id: Option<u32>,
    /// BTF id of the value type, when the definition names one.
    pub value_type_id: Option<u32>,
    /// Where the map comes from.
    pub kind: MapKind,
}

impl Map {
    /// Whether libbpf treats it as internal (global data, kconfig).
    pub fn is_internal(&self) -> bool {
        matches!(self.kind, MapKind::Data { .. } | MapKind::Kconfig { .. })
    }

    /// The variables a skeleton exposes through a memory-mapped pointer, when it has one.
    pub fn mmaped_vars(&self) -> Option<&[Variable]> {
        match &self.kind {
            MapKind::Data {
                mmapable: true,
                vars,
                ..
            } => Some(vars),
            MapKind::Kconfig { vars } => Some(vars),
            _ => None,
        }
    }
}

/// What an extern symbol refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternKind {
    /// `__kconfig`: a kernel configuration value libbpf fills in.
    Kconfig,
    /// `__ksym`: a kernel symbol (variable or kfunc) resolved at load time.
    Ksym,
    /// A function, map or variable that another object defines: resolved by the static
    /// linker (`bpfgen gen object`), never by libbpf, so the object cannot be opened as it is.
    Linked,
}

impl ExternKind {
    /// How reports and manifests spell it: `kconfig`, `ksym` or `linked`.
    pub fn name(self) -> &'static str {
        match self {
            ExternKind::Kconfig => "kconfig",
            ExternKind::Ksym => "ksym",
            ExternKind::Linked => "linked",
        }
    }
}

/// An unresolved extern: libbpf resolves `__kconfig` and `__ksym` ones when loading, the
/// static linker the others.
#[derive(Debug, Clone)]
pub struct Extern {
    /// Symbol name.
    pub name: String,
    /// `__kconfig`, `__ksym`, or left for the static linker.
    pub kind: ExternKind,
    /// Declared `__weak`.
    pub weak: bool,
    /// BTF id of its `VAR` or `FUNC` (0 when a linked extern has no BTF of its own).
    pub type_id: u32,
}

/// A BPF object, parsed.
pub struct BpfObject {
    /// Byte order.
    pub byte_order: ByteOrder,
    /// All sections, by index (the null section omitted).
    pub sections: Vec<Section>,
    /// Programs, in libbpf's order (section index, then offset).
    pub programs: Vec<Program>,
    /// Every function of every executable section (programs and sub-programs), by section
    /// and offset.
    pub functions: Vec<Function>,
    /// The code of every executable section.
    pub code: Vec<CodeSection>,
    /// Maps, in libbpf's order (`.maps`, data sections, `.kconfig`, struct_ops).
    pub maps: Vec<Map>,
    /// Externs, in symbol table order.
    pub externs: Vec<Extern>,
    /// The `license` string.
    pub license: Option<String>,
    /// `.BTF`, when present.
    pub types: Option<TypeTable>,
    /// `.BTF.ext`, when present.
    pub btf_ext: Option<BtfExt>,
    /// Source lines from DWARF, read only when the object has DWARF but no `.BTF.ext` line
    /// info; by section and offset.
    pub dwarf_lines: Vec<DwarfLine>,
}

impl BpfObject {
    /// The first extern that only the static linker can resolve: such an object is a
    /// per-file piece of a program (libbpf-bootstrap's `.tmp.bpf.o`), not one libbpf opens.
    pub fn first_linked_extern(&self) -> Option<&Extern> {
        self.externs.iter().find(|e| e.kind == ExternKind::Linked)
    }

    /// The function containing byte `offset` of section `section_index`.
    pub fn function_at(&self, section_index: usize, offset: u64) -> Option<&Function> {
        self.functions.iter().find(|f| {
            f.section_index == section_index && f.offset <= offset && offset < f.offset + f.size
        })
    }

    /// The 8-byte instruction at byte `offset` of code section `section_index` (zeros when
    /// there is none: a CO-RE record pointing past its section).
    pub fn instruction_at(&self, section_index: usize, offset: u32) -> [u8; 8] {
        self.code
            .iter()
            .find(|c| c.section_index == section_index)
            .and_then(|c| c.bytes.get(offset as usize..offset as usize + 8))
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .unwrap_or_default()
    }

    /// The section with ELF index `index`.
    pub fn section(&self, index: usize) -> Option<&Section> {
        self.sections.iter().find(|s| s.index == index)
    }
}

/// The name libbpf gives a map type (`libbpf_bpf_map_type_str`), or its number.
pub fn map_type_name(map_type: u32) -> String {
    const NAMES: &[&str] = &[
        "unspec",
        "hash",
        "array",
        "prog_array",
        "perf_event_array",
        "percpu_hash",
        "percpu_array",
        "stack_trace",
        "cgroup_array",
        "lru_hash",
        "lru_percpu_hash",
        "lpm_trie",
        "array_of_maps",
        "hash_of_maps",
        "devmap",
        "sockmap",
        "cpumap",
        "xskmap",
        "sockhash",
        "cgroup_storage",
        "reuseport_sockarray",
        "percpu_cgroup_storage",
        "queue",
        "stack",
        "sk_storage",
        "devmap_hash",
        "struct_ops",
        "ringbuf",
        "inode_storage",
        "task_storage",
        "bloom_filter",
        "user_ringbuf",
        "cgrp_storage",
        "arena",
    ];
    NAMES
        .get(map_type as usize)
        .map(|s| s.to_string())
        .unwrap_or_else(|| map_type.to_string())
}

impl crate::btf::min_core::CoreRelocations for BpfObject {
    fn btf_with_ext(&self) -> Option<(&crate::btf::table::TypeTable, &crate::btf::ext::BtfExt)> {
        self.types.as_ref().zip(self.btf_ext.as_ref())
    }

    fn little_endian(&self) -> bool {
        self.byte_order == ByteOrder::Little
    }

    fn instruction(&self, section: &str, offset: u32) -> [u8; 8] {
        self.sections
            .iter()
            .find(|s| s.name == section)
            .map_or([0; 8], |s| self.instruction_at(s.index, offset))
    }
}
