//! ELF bytes to [`BpfObject`], following libbpf's open path (`bpf_object_open`): ELF checks,
//! section classification, BTF and DATASEC fix-ups, externs, programs, then maps.

#[cfg(feature = "dwarf")]
use super::dwarf;
use super::elf_strings::ElfStrings;
use super::model::*;
use super::names;
use super::sec_def;
use crate::btf::ext::BtfExt;
use crate::btf::table::{Kind, Linkage, Ty, TypeTable};
use crate::diag::Code;
use crate::error::{Error, Result};
use object::elf;
use object::read::elf::{ElfFile64, FileHeader, SectionHeader, Sym};
use object::{Endianness, Object, ObjectSection, ObjectSymbol};

/// The largest object bpfgen reads; real BPF objects are kilobytes to a few megabytes.
pub const MAX_OBJECT_SIZE: usize = 256 << 20;
/// The longest program, map or variable name bpfgen accepts (it becomes an identifier).
pub const MAX_NAME_LEN: usize = 1024;

const BPF_MAP_TYPE_ARRAY: u32 = 2;
const BPF_MAP_TYPE_STRUCT_OPS: u32 = 26;
const BPF_F_RDONLY_PROG: u64 = 1 << 7;
const BPF_F_MMAPABLE: u64 = 1 << 10;
const BPF_F_LINK: u64 = 1 << 13;

/// A symbol, reduced to what libbpf looks at.
struct Symbol {
    name: String,
    section: Option<usize>,
    value: u64,
    size: u64,
    kind: elf::SymbolType,
    bind: elf::SymbolBind,
    /// `STV_HIDDEN` or `STV_INTERNAL`: libbpf treats such globals as static.
    hidden: bool,
}

impl BpfObject {
    /// Reads a BPF object from ELF bytes. `object_name` is the libbpf object name
    /// (`<stem>_bpf`), which internal map names are derived from.
    pub fn parse(data: &[u8], object_name: &str) -> Result<Self> {
        Self::from_elf(&read_elf(data)?, object_name)
    }

    /// Reads a BPF object from an ELF file [`read_elf`] has read (the linker reads its own
    /// tables from the same file).
    pub fn from_elf(file: &ElfFile<'_>, object_name: &str) -> Result<Self> {
        let endian = file.endian();

        let malformed = |what: &str, e: String| Error::input(format!("malformed ELF: {what}: {e}"));
        let section_names =
            ElfStrings::section_names(file).map_err(|e| malformed("section names", e))?;
        let symbol_names = ElfStrings::symbol_names(
            file.elf_section_table(),
            file.elf_symbol_table(),
            endian,
            file.data(),
        )
        .map_err(|e| malformed("symbol names", e))?;
        let mut sections = Vec::new();
        // Each section's bytes, in the order of `sections`.
        let mut section_bytes = Vec::new();
        for section in file.sections() {
            let header = section.elf_section_header();
            let name = section_names
                .text(header.sh_name(endian))
                .map_err(|e| malformed("section name", e))?;
            let kind = classify(name, header.sh_type(endian), header.sh_flags(endian));
            let bytes = section
                .data()
                .map_err(|e| Error::input(format!("malformed ELF: section '{name}' data: {e}")))?;
            section_bytes.push(bytes);
            sections.push(Section {
                index: section.index().0,
                name: name.to_string(),
                kind,
                size: section.size(),
            });
        }
        if sections.iter().any(|s| s.kind == SectionKind::LegacyMaps) {
            return Err(Error::input(
                "legacy map definitions in 'maps' section are not supported by libbpf 1.x; \
                 define maps in SEC(\".maps\") with BTF",
            )
            .with_code(Code::LegacyMaps));
        }
        let symbols = read_symbols(file, &symbol_names)?;
        check_relocations(file, &section_names)?;

        let data_of = |kind: SectionKind| {
            let position = sections.iter().position(|s| s.kind == kind)?;
            Some(section_bytes[position])
        };
        let license = data_of(SectionKind::License)
            .map(read_license)
            .transpose()?;
        let btf_bytes = data_of(SectionKind::Btf);
        let invalid_btf = |e: Error| e.with_code(Code::InvalidBtf);
        let types = btf_bytes
            .map(|bytes| TypeTable::from_bytes(bytes, None))
            .transpose()
            .map_err(invalid_btf)?;
        let btf_ext = match (&types, data_of(SectionKind::BtfExt)) {
            (Some(types), Some(ext)) => {
                let ext = BtfExt::parse(ext, types).map_err(invalid_btf)?;
                ext.check_type_ids(types).map_err(invalid_btf)?;
                Some(ext)
            }
            _ => None,
        };

        let has_line_info = btf_ext
            .as_ref()
            .is_some_and(|ext| ext.sections.iter().any(|s| !s.lines.is_empty()));
        // DWARF rows are only ever looked up for code: an object without any (maps and types
        // only; clang still gives it an empty `.text`) has no DWARF worth reading.
        let has_code = sections
            .iter()
            .any(|s| matches!(s.kind, SectionKind::Program | SectionKind::Text) && s.size > 0);
        let dwarf_lines = if has_line_info || !has_code {
            Vec::new()
        } else {
            dwarf_lines(file)
        };
        let mut object = BpfObject {
            byte_order: match endian {
                Endianness::Little => ByteOrder::Little,
                Endianness::Big => ByteOrder::Big,
            },
            programs: read_programs(&sections, &symbols)?,
            functions: read_functions(&sections, &symbols),
            code: read_code(file, &sections, &section_bytes, &symbol_names)?,
            externs: Vec::new(),
            maps: Vec::new(),
            sections,
            license,
            types,
            btf_ext,
            dwarf_lines,
        };
        object.externs = read_externs(&object, &symbols)?;
        object.maps = read_maps(&object, &symbols, object_name)?;
        check_name_lengths(&object)?;
        Ok(object)
    }
}

/// Names become C and Rust identifiers: refuse absurd ones with a clear error.
fn check_name_lengths(object: &BpfObject) -> Result<()> {
    let programs = object.programs.iter().map(|p| ("program", &p.name));
    let maps = object.maps.iter().map(|m| ("map", &m.name));
    let vars = object.maps.iter().flat_map(|m| {
        m.mmaped_vars()
            .unwrap_or_default()
            .iter()
            .map(|v| ("variable", &v.name))
    });
    for (what, name) in programs.chain(maps).chain(vars) {
        if name.len() > MAX_NAME_LEN {
            let start: String = name.chars().take(32).collect();
            return Err(Error::input(format!(
                "{what} name '{start}...' is {} bytes long; bpfgen accepts up to {MAX_NAME_LEN}",
                name.len()
            )));
        }
    }
    Ok(())
}

/// An ELF file as the object crate reads it, in the object's byte order.
pub type ElfFile<'data> = ElfFile64<'data, Endianness>;

/// Reads `data` as the ELF file of a BPF object, once, for every view of it (the object
/// model, the linker's tables): its size, identification (64-bit), machine (BPF) and type
/// (relocatable) checked, and its section and symbol tables read.
pub fn read_elf(data: &[u8]) -> Result<ElfFile<'_>> {
    if data.len() > MAX_OBJECT_SIZE {
        return Err(Error::input(format!(
            "object is {} bytes; bpfgen reads objects of up to {MAX_OBJECT_SIZE} bytes",
            data.len()
        )));
    }
    check_elf_ident(data)?;
    let file = ElfFile::parse(data).map_err(|e| Error::input(format!("malformed ELF: {e}")))?;
    check_elf_header(file.elf_header(), file.endian())?;
    Ok(file)
}

fn check_elf_ident(data: &[u8]) -> Result<()> {
    if data.len() < 16 || &data[..4] != b"\x7fELF" {
        return Err(Error::input("not an ELF file"));
    }
    match elf::FileClass(data[4]) {
        elf::ELFCLASS64 => Ok(()),
        elf::ELFCLASS32 => Err(Error::input(
            "is a 32-bit ELF object; BPF objects are 64-bit (built with clang -target bpf?)",
        )),
        other => Err(Error::input(format!("unknown ELF class {}", other.0))),
    }
}

fn check_elf_header(header: &elf::FileHeader64<Endianness>, endian: Endianness) -> Result<()> {
    let machine = header.e_machine(endian);
    if machine != elf::EM_BPF && machine != elf::EM_NONE {
        return Err(Error::input(format!(
            "is not a BPF object: ELF machine is {machine} (build it with clang -target bpf)"
        )));
    }
    if header.e_type(endian) != elf::ET_REL {
        return Err(Error::input(
            "is not a relocatable ELF object (ET_REL), as clang -c writes",
        ));
    }
    Ok(())
}

fn classify(name: &str, sh_type: elf::SectionType, sh_flags: elf::SectionFlags) -> SectionKind {
    let is_exec = sh_type == elf::SHT_PROGBITS && sh_flags.0 & elf::SHF_EXECINSTR.0 != 0;
    let has_prefix = |base: &str| {
        name == base
            || name
                .strip_prefix(base)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    match name {
        "license" => SectionKind::License,
        "version" => SectionKind::Version,
        "maps" => SectionKind::LegacyMaps,
        ".maps" => SectionKind::Maps,
        ".BTF" => SectionKind::Btf,
        ".BTF.ext" => SectionKind::BtfExt,
        ".struct_ops" | ".struct_ops.link" | "?.struct_ops" | "?.struct_ops.link" => {
            SectionKind::StructOps
        }
        ".text" if is_exec => SectionKind::Text,
        _ if is_exec => SectionKind::Program,
        _ if name.starts_with(".debug_") => SectionKind::Debug,
        _ if matches!(sh_type, elf::SHT_REL | elf::SHT_RELA) => SectionKind::Relocations,
        _ if sh_type == elf::SHT_PROGBITS && has_prefix(".data") => SectionKind::Data,
        _ if sh_type == elf::SHT_PROGBITS && has_prefix(".rodata") => SectionKind::Rodata,
        _ if sh_type == elf::SHT_NOBITS && has_prefix(".bss") => SectionKind::Bss,
        _ if matches!(sh_type, elf::SHT_SYMTAB | elf::SHT_STRTAB | elf::SHT_NULL)
            || name == ".llvm_addrsig" =>
        {
            SectionKind::Metadata
        }
        _ => SectionKind::Other,
    }
}

fn read_license(bytes: &[u8]) -> Result<String> {
    let end = bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| Error::input("invalid license section: the string is not NUL-terminated"))?;
    String::from_utf8(bytes[..end].to_vec())
        .map_err(|_| Error::input("invalid license section: not UTF-8"))
}

/// Every relocation must name an existing symbol and lie inside its section, as libbpf
/// requires when it collects relocations.
fn check_relocations(file: &ElfFile<'_>, section_names: &ElfStrings<'_>) -> Result<()> {
    let endian = file.endian();
    for section in file.sections() {
        let name = || {
            let offset = section.elf_section_header().sh_name(endian);
            section_names.text(offset).unwrap_or_default()
        };
        for (offset, relocation) in section.relocations() {
            if let object::RelocationTarget::Symbol(index) = relocation.target()
                && file.symbol_by_index(index).is_err()
            {
                return Err(Error::input(format!(
                    "relocation at offset {offset} of section '{}' refers to symbol #{}, \
                     which does not exist",
                    name(),
                    index.0
                )));
            }
            if offset >= section.size() {
                return Err(Error::input(format!(
                    "relocation at offset {offset} lies outside section '{}' ({} bytes)",
                    name(),
                    section.size()
                )));
            }
        }
    }
    Ok(())
}

fn read_symbols(file: &ElfFile<'_>, names: &ElfStrings<'_>) -> Result<Vec<Symbol>> {
    let endian = file.endian();
    file.symbols()
        .map(|sym| {
            let raw = sym.elf_symbol();
            let name = names
                .text(raw.st_name(endian))
                .map_err(|e| Error::input(format!("malformed ELF: symbol name: {e}")))?;
            Ok(Symbol {
                name: name.to_string(),
                section: sym.section_index().map(|i| i.0),
                value: sym.address(),
                size: sym.size(),
                kind: raw.st_type(),
                bind: raw.st_bind(),
                hidden: matches!(raw.st_visibility(), elf::STV_HIDDEN | elf::STV_INTERNAL),
            })
        })
        .collect()
}

fn read_programs(sections: &[Section], symbols: &[Symbol]) -> Result<Vec<Program>> {
    let mut programs = Vec::new();
    for sym in symbols.iter().filter(|s| s.kind == elf::STT_FUNC) {
        let Some(section) = sym
            .section
            .and_then(|i| sections.iter().find(|s| s.index == i))
        else {
            continue;
        };
        if section.kind != SectionKind::Program {
            continue;
        }
        if sym.bind == elf::STB_LOCAL {
            return Err(Error::input(format!(
                "program '{}' in section '{}' is static; libbpf only loads global programs \
                 (drop `static`, or move it to .text as a sub-program)",
                sym.name, section.name
            ))
            .with_code(Code::StaticProgram));
        }
        let end = sym.value.checked_add(sym.size);
        if end.is_none_or(|end| end > section.size) || sym.size % 8 != 0 {
            return Err(Error::input(format!(
                "program '{}' crosses the end of section '{}'",
                sym.name, section.name
            )));
        }
        programs.push(Program {
            name: sym.name.clone(),
            section: section.name.clone(),
            section_index: section.index,
            offset: sym.value,
            insn_count: sym.size / 8,
            sec_def: sec_def::find(&section.name),
        });
    }
    programs.sort_by_key(|p| (p.section_index, p.offset));
    Ok(programs)
}

fn read_functions(sections: &[Section], symbols: &[Symbol]) -> Vec<Function> {
    let mut functions: Vec<Function> = symbols
        .iter()
        .filter(|s| s.kind == elf::STT_FUNC)
        .filter_map(|sym| {
            let index = sym.section?;
            let section = sections.iter().find(|s| s.index == index)?;
            matches!(section.kind, SectionKind::Program | SectionKind::Text).then(|| Function {
                name: sym.name.clone(),
                section_index: index,
                offset: sym.value,
                size: sym.size,
            })
        })
        .collect();
    functions.sort_by_key(|f| (f.section_index, f.offset));
    functions
}

/// The instructions of every executable section and the symbols their relocations name
/// (`section_bytes`: each section's bytes, in the order of `sections`).
fn read_code(
    file: &ElfFile<'_>,
    sections: &[Section],
    section_bytes: &[&[u8]],
    symbol_names: &ElfStrings<'_>,
) -> Result<Vec<CodeSection>> {
    let endian = file.endian();
    let mut code = Vec::new();
    for (section, bytes) in sections
        .iter()
        .zip(section_bytes)
        .filter(|(s, _)| matches!(s.kind, SectionKind::Program | SectionKind::Text))
    {
        let elf_section = file
            .section_by_index(object::SectionIndex(section.index))
            .map_err(|e| Error::input(format!("malformed ELF: {e}")))?;
        let mut relocations = Vec::new();
        for (offset, relocation) in elf_section.relocations() {
            if let object::RelocationTarget::Symbol(index) = relocation.target() {
                let symbol = file
                    .symbol_by_index(index)
                    .map_err(|e| e.to_string())
                    .and_then(|s| symbol_names.text(s.elf_symbol().st_name(endian)))
                    .map_err(|e| Error::input(format!("malformed ELF: symbol: {e}")))?;
                relocations.push(CodeRelocation {
                    offset,
                    symbol: symbol.to_string(),
                });
            }
        }
        relocations.sort_by_key(|r| r.offset);
        code.push(CodeSection {
            section_index: section.index,
            section: section.name.clone(),
            bytes: bytes.to_vec(),
            relocations,
        });
    }
    Ok(code)
}

fn read_externs(object: &BpfObject, symbols: &[Symbol]) -> Result<Vec<Extern>> {
    let undefined = symbols.iter().filter(|s| {
        s.section.is_none()
            && s.kind == elf::STT_NOTYPE
            && matches!(s.bind, elf::STB_GLOBAL | elf::STB_WEAK)
            && !s.name.is_empty()
    });
    let mut externs = Vec::new();
    for sym in undefined {
        let btf = object.types.as_ref().ok_or_else(|| {
            Error::input(format!(
                "extern '{}' has no BTF: externs need BTF (compile with -g)",
                sym.name
            ))
        })?;
        let (kind, type_id) = match find_extern_in_datasecs(btf, &sym.name)? {
            Some(found) => found,
            // Another object defines it: clang and libbpf's linker accept such per-file
            // objects, and only the link resolves them.
            None => (ExternKind::Linked, find_extern_declaration(btf, &sym.name)?),
        };
        externs.push(Extern {
            name: sym.name.clone(),
            kind,
            weak: sym.bind == elf::STB_WEAK,
            type_id,
        });
    }
    Ok(externs)
}

/// The BTF id of the extern `FUNC` or `VAR` called `name`, or 0 when BTF has none.
fn find_extern_declaration(btf: &TypeTable, name: &str) -> Result<u32> {
    for id in 1..btf.len() {
        let ty = btf.get(id)?;
        if matches!(ty.kind, Kind::Func | Kind::Var)
            && ty.linkage == Linkage::Extern
            && btf.name(ty.name) == name
        {
            return Ok(id);
        }
    }
    Ok(0)
}

fn find_extern_in_datasecs(btf: &TypeTable, name: &str) -> Result<Option<(ExternKind, u32)>> {
    for (section, kind) in [
        (".kconfig", ExternKind::Kconfig),
        (".ksyms", ExternKind::Ksym),
    ] {
        let Some((_, sec)) = btf.find_datasec(section) else {
            continue;
        };
        for entry in btf.items(sec) {
            if btf.type_name(entry.target)? == name {
                return Ok(Some((kind, entry.target)));
            }
        }
    }
    Ok(None)
}

fn read_maps(object: &BpfObject, symbols: &[Symbol], object_name: &str) -> Result<Vec<Map>> {
    let mut maps = read_user_maps(object, symbols)?;
    for section in &object.sections {
        let mmapped = matches!(
            section.kind,
            SectionKind::Data | SectionKind::Rodata | SectionKind::Bss
        );
        if mmapped && section.size > 0 {
            maps.push(data_map(object, symbols, section, object_name)?);
        }
    }
    if let Some(map) = kconfig_map(object, object_name)? {
        maps.push(map);
    }
    for section in object
        .sections
        .iter()
        .filter(|s| s.kind == SectionKind::StructOps)
    {
        maps.extend(struct_ops_maps(object, symbols, section)?);
    }
    Ok(maps)
}

/// The variables of a DATASEC as libbpf's `btf_fixup_datasec` leaves them: offsets fixed up
/// from ELF symbols (clang writes zero sizes and offsets), hidden globals made static, sorted
/// by offset.
fn datasec_vars(btf: &TypeTable, sec: &Ty, symbols: &[Symbol]) -> Result<Vec<Variable>> {
    let entries = btf.items(sec);
    let mut vars = Vec::with_capacity(entries.len());
    for entry in entries {
        let id = entry.target;
        let var = btf.get(id)?;
        if var.kind != Kind::Var {
            return Err(Error::input(format!(
                "invalid BTF: DATASEC entry [{id}] is not a VAR"
            )));
        }
        let name = btf.name(var.name).to_string();
        let mut linkage = var.linkage;
        let mut offset = u64::from(entry.bit_offset);
        if linkage == Linkage::Global {
            let symbol = symbols.iter().find(|s| {
                s.kind == elf::STT_OBJECT
                    && matches!(s.bind, elf::STB_GLOBAL | elf::STB_WEAK)
                    && s.name == name
            });
            match symbol {
                Some(sym) => {
                    if sec.size == 0 {
                        offset = sym.value;
                    }
                    if sym.hidden {
                        linkage = Linkage::Static;
                    }
                }
                None if sec.size == 0 => {
                    return Err(Error::input(format!(
                        "no ELF symbol for global variable '{name}'"
                    )));
                }
                None => {}
            }
        }
        vars.push(Variable {
            name,
            type_id: var.target,
            offset,
            size: entry.value,
            linkage,
        });
    }
    vars.sort_by_key(|v| v.offset);
    Ok(vars)
}

/// Refuses variables that lie outside their section or overlap (sorted by offset): every
/// generator lays out data-section structs from these offsets, and libbpf refuses such an
/// object too ("need offset -8, already at 0").
fn check_var_layout(section: &Section, vars: &[Variable]) -> Result<()> {
    let mut end = 0u64;
    let mut previous: Option<&str> = None;
    for var in vars {
        let var_end = var
            .offset
            .checked_add(var.size)
            .filter(|e| *e <= section.size);
        let Some(var_end) = var_end else {
            return Err(Error::input(format!(
                "variable '{}' at offset {} ({} bytes) lies outside section {} ({} bytes)",
                var.name, var.offset, var.size, section.name, section.size
            )));
        };
        if var.offset < end {
            return Err(Error::input(format!(
                "variables '{}' and '{}' overlap in section {}",
                previous.unwrap_or_default(),
                var.name,
                section.name
            )));
        }
        end = var_end;
        previous = Some(&var.name);
    }
    Ok(())
}

fn data_map(
    object: &BpfObject,
    symbols: &[Symbol],
    section: &Section,
    object_name: &str,
) -> Result<Map> {
    let name = names::data_map_name(object_name, &section.name);
    let ident = names::data_map_ident(&section.name, &name)
        .ok_or_else(|| Error::input(format!("internal map '{name}' has no skeleton identifier")))?;
    let datasec = match &object.types {
        Some(btf) => btf
            .find_datasec(&section.name)
            .map(|(id, sec)| datasec_vars(btf, sec, symbols).map(|vars| (id, vars)))
            .transpose()?,
        None => None,
    };
    let mmapable = datasec
        .as_ref()
        .is_some_and(|(_, vars)| vars.iter().any(|v| v.linkage != Linkage::Static));
    let mut flags = if section.kind == SectionKind::Rodata {
        BPF_F_RDONLY_PROG
    } else {
        0
    };
    if mmapable {
        flags |= BPF_F_MMAPABLE;
    }
    let (value_type_id, vars) = match datasec {
        Some((id, vars)) => (Some(id), vars),
        None => (None, Vec::new()),
    };
    check_var_layout(section, &vars)?;
    Ok(Map {
        name,
        ident,
        def: MapDef {
            map_type: BPF_MAP_TYPE_ARRAY,
            key_size: 4,
            value_size: section.size,
            max_entries: 1,
            flags,
        },
        key_type_id: None,
        value_type_id,
        kind: MapKind::Data {
            section: section.name.clone(),
            mmapable,
            vars,
        },
    })
}

/// The `.kconfig` map, laid out as libbpf's `bpf_object__collect_externs` lays it out:
/// by alignment (descending), then size, then name, each at its aligned offset.
fn kconfig_map(object: &BpfObject, object_name: &str) -> Result<Option<Map>> {
    let (Some(btf), true) = (
        &object.types,
        object.externs.iter().any(|e| e.kind == ExternKind::Kconfig),
    ) else {
        return Ok(None);
    };
    let mut vars = Vec::new();
    for ext in object
        .externs
        .iter()
        .filter(|e| e.kind == ExternKind::Kconfig)
    {
        let var = btf.get(ext.type_id)?;
        if var.kind != Kind::Var {
            return Err(Error::input(format!(
                "extern '{}' in .kconfig is not a variable",
                ext.name
            ))
            .with_code(Code::KconfigType));
        }
        let type_id = var.target;
        // Size first: it refuses the kinds that have neither (a forward declaration, void).
        let size = btf.size_of(type_id)?;
        vars.push((
            u64::from(btf.align_of(type_id)?),
            Variable {
                name: ext.name.clone(),
                type_id,
                offset: 0,
                size,
                linkage: Linkage::Extern,
            },
        ));
    }
    vars.sort_by(|(a_align, a), (b_align, b)| {
        b_align
            .cmp(a_align)
            .then(a.size.cmp(&b.size))
            .then_with(|| a.name.cmp(&b.name))
    });
    let mut offset: u64 = 0;
    for (align, var) in &mut vars {
        var.offset = offset.div_ceil(*align) * *align;
        offset = var.offset + var.size;
    }
    let name = names::internal_map_name(object_name, ".kconfig");
    Ok(Some(Map {
        ident: "kconfig".into(),
        name,
        def: MapDef {
            map_type: BPF_MAP_TYPE_ARRAY,
            key_size: 4,
            value_size: offset,
            max_entries: 1,
            flags: BPF_F_RDONLY_PROG | BPF_F_MMAPABLE,
        },
        key_type_id: None,
        value_type_id: btf.find_datasec(".kconfig").map(|(id, _)| id),
        kind: MapKind::Kconfig {
            vars: vars.into_iter().map(|(_, v)| v).collect(),
        },
    }))
}

fn struct_ops_maps(object: &BpfObject, symbols: &[Symbol], section: &Section) -> Result<Vec<Map>> {
    let btf = object.types.as_ref().ok_or_else(|| {
        Error::input(format!(
            "section '{}' needs BTF (compile with -g)",
            section.name
        ))
    })?;
    let Some((_, sec)) = btf.find_datasec(&section.name) else {
        return Err(Error::input(format!(
            "DATASEC '{}' not found in BTF",
            section.name
        )));
    };
    let link = section.name.ends_with(".link");
    datasec_vars(btf, sec, symbols)?
        .into_iter()
        .map(|var| {
            let type_id = btf.skip_mods_and_typedefs(var.type_id)?;
            Ok(Map {
                ident: crate::ident::sanitize_identifier(&var.name),
                def: MapDef {
                    map_type: BPF_MAP_TYPE_STRUCT_OPS,
                    key_size: 4,
                    value_size: btf.size_of(type_id)?,
                    max_entries: 1,
                    flags: if link { BPF_F_LINK } else { 0 },
                },
                name: var.name,
                key_type_id: None,
                value_type_id: Some(type_id),
                kind: MapKind::StructOps {
                    section: section.name.clone(),
                    type_id,
                },
            })
        })
        .collect()
}

/// The number a map definition field encodes: `__uint(f, N)` is `int (*f)[N]`, and libbpf
/// 1.4's `__ulong(f, N)` is a one-enumerator anonymous enum with value N.
fn map_field_number(btf: &TypeTable, field_type: u32) -> std::result::Result<u64, String> {
    let err = |e: Error| e.message().to_string();
    let resolved = |id| {
        btf.skip_mods_and_typedefs(id)
            .and_then(|id| btf.get(id))
            .map_err(err)
    };
    let ty = resolved(field_type)?;
    match ty.kind {
        Kind::Ptr => match resolved(ty.target)?.kind {
            Kind::Array { nelems } => Ok(u64::from(nelems)),
            _ => Err("is not an __uint() value".into()),
        },
        Kind::Enum { .. } | Kind::Enum64 { .. } if btf.items(ty).len() == 1 => {
            Ok(btf.items(ty)[0].value)
        }
        _ => Err("is neither an __uint() nor an __ulong() value".into()),
    }
}

/// Maps defined in `.maps`, read from their BTF definitions (`parse_btf_map_def`).
fn read_user_maps(object: &BpfObject, symbols: &[Symbol]) -> Result<Vec<Map>> {
    if !object.sections.iter().any(|s| s.kind == SectionKind::Maps) {
        return Ok(Vec::new());
    }
    let btf = object.types.as_ref().ok_or_else(|| {
        Error::input("has a .maps section but no BTF: BTF-defined maps need it (compile with -g)")
            .with_code(Code::MapWithoutBtf)
    })?;
    let (_, sec) = btf.find_datasec(".maps").ok_or_else(|| {
        Error::input("DATASEC '.maps' not found in BTF").with_code(Code::MapWithoutBtf)
    })?;
    datasec_vars(btf, sec, symbols)?
        .into_iter()
        .map(|var| user_map(btf, var).map_err(|e| e.with_code(Code::MapField)))
        .collect()
}

fn user_map(btf: &TypeTable, var: Variable) -> Result<Map> {
    if var.linkage == Linkage::Static {
        return Err(Error::input(format!(
            "map '{}': unsupported map linkage static (was it built with -fvisibility=hidden?)",
            var.name
        )));
    }
    let def_struct = btf.get(btf.skip_mods_and_typedefs(var.type_id)?)?;
    if def_struct.kind != Kind::Struct {
        return Err(Error::input(format!(
            "map '{}': definition is not a struct",
            var.name
        )));
    }
    let mut def = MapDef::default();
    let (mut key_type_id, mut value_type_id) = (None, None);
    for member in btf.items(def_struct) {
        let field = btf.name(member.name);
        let field_type = member.target;
        let number = || {
            map_field_number(btf, field_type)
                .map_err(|why| Error::input(format!("map '{}': field '{field}' {why}", var.name)))
        };
        let pointee = || match btf.get(btf.skip_mods_and_typedefs(field_type)?)? {
            ty if ty.kind == Kind::Ptr => Ok(ty.target),
            _ => Err(Error::input(format!(
                "map '{}': field '{field}' is not a __type() pointer",
                var.name
            ))),
        };
        match field {
            "type" => def.map_type = number()? as u32,
            "max_entries" => def.max_entries = number()?,
            "map_flags" => def.flags = number()?,
            "key_size" => def.key_size = number()?,
            "value_size" => def.value_size = number()?,
            "numa_node" | "pinning" | "map_extra" => {
                number()?;
            }
            "key" => {
                let id = pointee()?;
                def.key_size = btf.size_of(id)?;
                key_type_id = Some(id);
            }
            "value" => {
                let id = pointee()?;
                def.value_size = btf.size_of(id)?;
                value_type_id = Some(id);
            }
            // Program-array or map-in-map initialisers: the values are 4-byte fds/ids.
            "values" => def.value_size = 4,
            other => {
                return Err(Error::input(format!(
                    "map '{}': unknown field '{other}' in map definition",
                    var.name
                )));
            }
        }
    }
    Ok(Map {
        ident: crate::ident::sanitize_identifier(&var.name),
        name: var.name,
        def,
        key_type_id,
        value_type_id,
        kind: MapKind::User,
    })
}

/// Source lines from DWARF (the `dwarf` feature; without it, none: locations then come from
/// `.BTF.ext` only).
#[cfg(feature = "dwarf")]
fn dwarf_lines(file: &ElfFile<'_>) -> Vec<DwarfLine> {
    dwarf::read_lines(file)
}

#[cfg(not(feature = "dwarf"))]
fn dwarf_lines(_file: &ElfFile<'_>) -> Vec<DwarfLine> {
    Vec::new()
}
