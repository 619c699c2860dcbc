//! One input object of the linker, read and checked as libbpf's linker reads it
//! (`linker_load_obj_file`, `linker_sanity_check_elf*`, `linker_fixup_btf`): its sections,
//! symbols and relocations, and its BTF with DATASEC sizes and variable offsets taken from the
//! ELF, where clang leaves them zero.

use super::message;
use crate::btf::raw::kind;
use crate::btf::table::TypeTable;
use crate::error::{Error, Result};
use crate::object::{ElfFile, ElfStrings};
use object::Endianness;
use object::elf;
use object::read::elf::{FileHeader, SectionHeader, Sym};

/// `SHT_LLVM_ADDRSIG`: clang's address-significance table, which linking drops.
const SHT_LLVM_ADDRSIG: u32 = 0x6fff_4c03;
/// `BTF_VAR_GLOBAL_ALLOCATED`: a defined global variable.
pub const VAR_GLOBAL_ALLOCATED: u32 = 1;
/// `BTF_VAR_STATIC` / `BTF_FUNC_STATIC`.
pub const LINKAGE_STATIC: u32 = 0;

/// A section of an input object.
#[derive(Debug)]
pub struct InputSection<'a> {
    /// ELF section index (0 for a section that exists only in BTF, like `.kconfig`).
    pub index: usize,
    /// Section name.
    pub name: String,
    /// `sh_type`.
    pub sh_type: u32,
    /// `sh_flags`.
    pub flags: u64,
    /// `sh_addralign` (at least 1).
    pub align: u64,
    /// `sh_entsize`.
    pub entsize: u64,
    /// `sh_size`.
    pub size: u64,
    /// `sh_info`: for a relocation section, the section it relocates.
    pub info: u32,
    /// The contents (empty for `SHT_NOBITS`).
    pub data: &'a [u8],
    /// Dropped by linking: DWARF, string tables, `.llvm_addrsig`, an empty `.text`, `.BTF`.
    pub skipped: bool,
    /// Exists only as a BTF DATASEC (`.kconfig`, `.ksyms`): externs the loader resolves.
    pub ephemeral: bool,
    /// The BTF DATASEC describing it, if any.
    pub datasec_id: Option<u32>,
}

impl InputSection<'_> {
    /// Whether linking appends its bytes to a same-named output section.
    pub fn is_data(&self) -> bool {
        !self.skipped
            && (self.ephemeral
                || self.sh_type == elf::SHT_PROGBITS.0
                || self.sh_type == elf::SHT_NOBITS.0)
    }

    /// Whether it holds relocations that linking carries over.
    pub fn is_relocations(&self) -> bool {
        !self.skipped && !self.ephemeral && self.sh_type == elf::SHT_REL.0
    }

    /// Whether it holds BPF instructions.
    pub fn is_code(&self) -> bool {
        holds_code(self.sh_type, self.flags)
    }
}

/// Whether a section of this type and these flags holds BPF instructions.
pub fn holds_code(sh_type: u32, flags: u64) -> bool {
    sh_type == elf::SHT_PROGBITS.0 && flags & elf::SHF_EXECINSTR.0 != 0
}

/// A symbol of an input object.
#[derive(Debug, Clone)]
pub struct InputSymbol {
    /// Symbol name.
    pub name: String,
    /// `st_info`: binding and type.
    pub info: u8,
    /// `st_other`: visibility.
    pub other: u8,
    /// `st_shndx`.
    pub shndx: u16,
    /// `st_value`.
    pub value: u64,
    /// `st_size`.
    pub size: u64,
}

impl InputSymbol {
    /// `STB_*`.
    pub fn bind(&self) -> u8 {
        self.info >> 4
    }

    /// `STT_*`.
    pub fn kind(&self) -> u8 {
        self.info & 0xf
    }

    /// `STV_*`.
    pub fn visibility(&self) -> u8 {
        self.other & 0x3
    }

    /// Declared here, defined elsewhere.
    pub fn is_extern(&self) -> bool {
        self.shndx == elf::SHN_UNDEF.0
    }
}

/// A relocation: where, against which symbol (input index), of which type.
#[derive(Debug, Clone, Copy)]
pub struct Relocation {
    /// Byte offset in the relocated section.
    pub offset: u64,
    /// Symbol index.
    pub symbol: u32,
    /// `R_BPF_*`.
    pub r_type: u32,
}

/// One object file to link.
pub struct InputObject<'a> {
    /// How errors name it (the path as given).
    pub file: String,
    /// Big-endian (`bpfeb`) or little-endian.
    pub big_endian: bool,
    /// Sections, by ELF index; BTF-only sections come after the last ELF one.
    pub sections: Vec<InputSection<'a>>,
    /// Symbols, by index (0 is the null symbol).
    pub symbols: Vec<InputSymbol>,
    /// Relocations, by the index of the relocation section holding them.
    pub relocations: Vec<(usize, Vec<Relocation>)>,
    /// The object's BTF, with DATASECs fixed up from the ELF; its strings are the `.BTF`'s
    /// as read, at the offsets `.BTF.ext` records use.
    pub btf: Option<TypeTable>,
    /// The raw `.BTF.ext` bytes.
    pub btf_ext: Option<&'a [u8]>,
}

impl<'a> InputObject<'a> {
    /// The linker's view of an input [`read_elf`](crate::object::read_elf) has read, checked
    /// as libbpf's linker checks it, naming `file` in errors; `btf` is its `.BTF` as the
    /// object reader read it, which this fixes up.
    pub fn from_elf(file: &str, elf: &ElfFile<'a>, btf: Option<TypeTable>) -> Result<Self> {
        let fail = |cause: String| Error::input(format!("{file}: {cause}"));
        let (data, endian) = (elf.data(), elf.endian());
        // libbpf's linker takes only EM_BPF, where loading also accepts EM_NONE.
        if elf.elf_header().e_machine(endian) != elf::EM_BPF {
            return Err(fail(format!(
                "not a BPF object: ELF machine is {} (build it with clang --target=bpf)",
                elf.elf_header().e_machine(endian).0
            )));
        }
        let table = elf.elf_section_table();
        let names = ElfStrings::section_names(elf)
            .map_err(|e| fail(format!("malformed ELF: section names: {e}")))?;
        let mut sections = Vec::new();
        let mut btf_ext = None;
        let mut symtab = None;
        for (index, section) in table.iter().enumerate() {
            let name = names
                .get(section.sh_name(endian))
                .map_err(|e| fail(format!("malformed ELF: section #{index} name: {e}")))?;
            let name = String::from_utf8_lossy(name).into_owned();
            let sh_type = section.sh_type(endian).0;
            let section_data = if sh_type == elf::SHT_NOBITS.0 {
                &[][..]
            } else {
                section
                    .data(endian, data)
                    .map_err(|e| fail(format!("malformed ELF: section '{name}': {e}")))?
            };
            let mut input = InputSection {
                index,
                skipped: index == 0,
                ephemeral: false,
                datasec_id: None,
                sh_type,
                flags: section.sh_flags(endian).0,
                align: section.sh_addralign(endian).max(1),
                entsize: section.sh_entsize(endian),
                size: section.sh_size(endian),
                info: section.sh_info(endian),
                data: section_data,
                name,
            };
            if index > 0 {
                classify(&mut input, &mut btf_ext, &mut symtab).map_err(fail)?;
            }
            sections.push(input);
        }
        let symtab = symtab.ok_or_else(|| fail("has no symbol table".into()))?;
        let symbols = read_symbols(table, endian, data, symtab, sections.len()).map_err(fail)?;
        let relocations =
            read_relocations(table, endian, data, &sections, symbols.len()).map_err(fail)?;
        let mut object = InputObject {
            file: file.to_string(),
            big_endian: endian == Endianness::Big,
            sections,
            symbols,
            relocations,
            btf,
            btf_ext,
        };
        object.fix_up_btf().map_err(fail)?;
        Ok(object)
    }

    /// The section named `name`.
    pub fn section_by_name(&self, name: &str) -> Option<usize> {
        self.sections
            .iter()
            .position(|s| s.name == name && (s.index != 0 || s.ephemeral))
    }

    /// Sets each DATASEC's size to its ELF section's and each defined global variable's offset
    /// to its symbol's value (clang writes zeros, `linker_fixup_btf`); DATASECs without an ELF
    /// section but `.extern` become BTF-only sections.
    fn fix_up_btf(&mut self) -> std::result::Result<(), String> {
        let Some(btf) = self.btf.as_mut() else {
            return Ok(());
        };
        for id in 1..btf.len() {
            let ty = btf.record(id).map_err(message)?;
            if ty.kind() != kind::DATASEC {
                continue;
            }
            let name = btf.string(ty.name_off).to_string();
            let section = match self.sections.iter().position(|s| s.name == name) {
                Some(section) => {
                    let size = self.sections[section].size as u32;
                    btf.update(id, |ty| ty.size_or_type = size)
                        .map_err(message)?;
                    section
                }
                None if name == ".extern" => continue,
                None => {
                    self.sections.push(InputSection {
                        index: 0,
                        name: name.clone(),
                        sh_type: elf::SHT_NULL.0,
                        flags: 0,
                        align: 1,
                        entsize: 0,
                        size: 0,
                        info: 0,
                        data: &[],
                        skipped: false,
                        ephemeral: true,
                        datasec_id: None,
                    });
                    self.sections.len() - 1
                }
            };
            self.sections[section].datasec_id = Some(id);
            let elf_index = self.sections[section].index;
            let vars = btf.record(id).map_err(message)?.extra.to_vec();
            for (entry, var) in vars.chunks_exact(3).enumerate() {
                let Ok(var_type) = btf.record(var[0]) else {
                    continue;
                };
                if var_type.kind() != kind::VAR || var_type.extra[0] != VAR_GLOBAL_ALLOCATED {
                    continue;
                }
                let var_name = btf.string(var_type.name_off).to_string();
                let symbol = self.symbols.iter().find(|s| {
                    s.shndx as usize == elf_index
                        && s.kind() == elf::STT_OBJECT.0
                        && s.name == var_name
                });
                let Some(symbol) = symbol else {
                    return Err(format!(
                        "no symbol for variable '{var_name}' of section '{name}'"
                    ));
                };
                let value = symbol.value as u32;
                btf.update(id, |ty| ty.extra[entry * 3 + 1] = value)
                    .map_err(message)?;
            }
        }
        Ok(())
    }
}

/// Marks what linking drops and picks out the symbol table and `.BTF.ext`.
fn classify<'a>(
    section: &mut InputSection<'a>,
    btf_ext: &mut Option<&'a [u8]>,
    symtab: &mut Option<usize>,
) -> std::result::Result<(), String> {
    let name = section.name.as_str();
    let relocated = name.strip_prefix(".rel").unwrap_or("");
    section.skipped = section.sh_type == elf::SHT_STRTAB.0
        || section.sh_type == SHT_LLVM_ADDRSIG
        || (section.sh_type == elf::SHT_PROGBITS.0 && section.size == 0 && name == ".text")
        || name.starts_with(".debug_")
        || relocated.starts_with(".debug_")
        || relocated == ".BTF"
        || relocated == ".BTF.ext";
    if section.skipped {
        return Ok(());
    }
    match elf::SectionType(section.sh_type) {
        elf::SHT_SYMTAB => {
            if symtab.replace(section.index).is_some() {
                return Err("has more than one symbol table".into());
            }
            section.skipped = true;
        }
        elf::SHT_PROGBITS if name == ".BTF" => section.skipped = true,
        elf::SHT_PROGBITS if name == ".BTF.ext" => {
            *btf_ext = Some(section.data);
            section.skipped = true;
        }
        elf::SHT_PROGBITS | elf::SHT_NOBITS | elf::SHT_REL => {}
        other => {
            return Err(format!(
                "section #{} ({name}) has type {:#x}, which BPF objects do not have",
                section.index, other.0
            ));
        }
    }
    if !section.align.is_power_of_two() {
        return Err(format!(
            "section '{name}' has alignment {}, not a power of two",
            section.align
        ));
    }
    if section.is_code() && !section.size.is_multiple_of(8) {
        return Err(format!(
            "section '{name}' is {} bytes, not whole 8-byte instructions",
            section.size
        ));
    }
    Ok(())
}

fn read_symbols(
    table: &object::read::elf::SectionTable<'_, elf::FileHeader64<Endianness>>,
    endian: Endianness,
    data: &[u8],
    symtab: usize,
    section_count: usize,
) -> std::result::Result<Vec<InputSymbol>, String> {
    let symbols = table
        .symbol_table_by_index(endian, data, object::SectionIndex(symtab))
        .map_err(|e| format!("malformed symbol table: {e}"))?;
    let names = ElfStrings::symbol_names(table, &symbols, endian, data)
        .map_err(|e| format!("malformed symbol table: {e}"))?;
    let mut out = Vec::new();
    for (index, sym) in symbols.symbols().iter().enumerate() {
        let name = names
            .get(sym.st_name(endian))
            .map_err(|e| format!("malformed symbol #{index}: {e}"))?;
        let symbol = InputSymbol {
            name: String::from_utf8_lossy(name).into_owned(),
            info: sym.st_info().0,
            other: sym.st_other().0,
            shndx: sym.st_shndx(endian).0,
            value: sym.st_value(endian),
            size: sym.st_size(endian),
        };
        if index > 0 {
            check_symbol(&symbol, index, section_count)?;
        }
        out.push(symbol);
    }
    Ok(out)
}

/// The symbol checks of `linker_sanity_check_elf_symtab`.
fn check_symbol(
    symbol: &InputSymbol,
    index: usize,
    section_count: usize,
) -> std::result::Result<(), String> {
    let name = &symbol.name;
    if !matches!(
        elf::SymbolBind(symbol.bind()),
        elf::STB_LOCAL | elf::STB_GLOBAL | elf::STB_WEAK
    ) {
        return Err(format!(
            "symbol #{index} ({name}) has binding {}, which BPF linking does not support",
            symbol.bind()
        ));
    }
    if !matches!(
        elf::SymbolVisibility(symbol.visibility()),
        elf::STV_DEFAULT | elf::STV_HIDDEN
    ) {
        return Err(format!(
            "symbol #{index} ({name}) has visibility {}; only default and hidden are supported",
            symbol.visibility()
        ));
    }
    if symbol.is_extern()
        && (symbol.bind() == elf::STB_LOCAL.0
            || !matches!(
                elf::SymbolType(symbol.kind()),
                elf::STT_NOTYPE | elf::STT_OBJECT | elf::STT_FUNC
            ))
    {
        return Err(format!("symbol #{index} ({name}) is an invalid extern"));
    }
    if symbol.kind() == elf::STT_SECTION.0
        && (symbol.shndx == elf::SHN_UNDEF.0 || symbol.shndx as usize >= section_count)
    {
        return Err(format!(
            "section symbol #{index} names section #{}, which does not exist",
            symbol.shndx
        ));
    }
    if symbol.shndx < elf::SHN_LORESERVE && symbol.shndx as usize >= section_count {
        return Err(format!(
            "symbol #{index} ({name}) is in section #{}, which does not exist",
            symbol.shndx
        ));
    }
    Ok(())
}

fn read_relocations(
    table: &object::read::elf::SectionTable<'_, elf::FileHeader64<Endianness>>,
    endian: Endianness,
    data: &[u8],
    sections: &[InputSection],
    symbol_count: usize,
) -> std::result::Result<Vec<(usize, Vec<Relocation>)>, String> {
    let mut out = Vec::new();
    for section in sections.iter().filter(|s| s.is_relocations()) {
        let header = table
            .section(object::SectionIndex(section.index))
            .map_err(|e| e.to_string())?;
        let target = sections
            .get(section.info as usize)
            .filter(|t| t.index != 0)
            .ok_or_else(|| {
                format!(
                    "relocation section '{}' points to missing section #{}",
                    section.name, section.info
                )
            })?;
        if section.name.strip_prefix(".rel") != Some(target.name.as_str()) {
            return Err(format!(
                "relocation section '{}' relocates '{}'",
                section.name, target.name
            ));
        }
        let entries: &[elf::Rel64<Endianness>] = header
            .data_as_array(endian, data)
            .map_err(|_| format!("malformed relocation section '{}'", section.name))?;
        let mut relocations = Vec::new();
        for (i, rel) in entries.iter().enumerate() {
            let symbol = rel.r_sym(endian);
            let r_type = rel.r_type(endian).0;
            if symbol == 0 || symbol as usize >= symbol_count {
                return Err(format!(
                    "relocation #{i} of '{}' points to invalid symbol #{symbol}",
                    section.name
                ));
            }
            let offset = rel.r_offset.get(endian);
            if target.is_code() && (offset % 8 != 0 || offset >= target.size) {
                return Err(format!(
                    "relocation #{i} of '{}' is at offset {offset}, not an instruction",
                    section.name
                ));
            }
            relocations.push(Relocation {
                offset,
                symbol,
                r_type,
            });
        }
        out.push((section.index, relocations));
    }
    Ok(out)
}
