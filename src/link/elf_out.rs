//! Writing the linked object: an ELF64 relocatable BPF object with one string table for
//! section and symbol names (as libbpf's linker writes it), local symbols before globals,
//! and `.BTF` and `.BTF.ext` last, 8-byte aligned. Headers, symbols and relocations are the
//! object crate's ELF records in the output's byte order; the layout is libbpf's (the object
//! crate's writer keeps section names in a `.shstrtab` of its own, which libbpf's linker
//! does not write).

use super::sections::OutSection;
use super::symbols::OutSymbol;
use crate::strtab::StringTable;
use object::elf::{self, FileHeader64, Rel64, SectionHeader64, Sym64};
use object::endian::{Endian, Endianness, U16, U32, U64};
use object::pod::bytes_of;
use std::borrow::Cow;

const EHDR_LEN: usize = std::mem::size_of::<FileHeader64<Endianness>>();
const SYM_LEN: usize = std::mem::size_of::<Sym64<Endianness>>();
const REL_LEN: usize = std::mem::size_of::<Rel64<Endianness>>();
const SHDR_LEN: usize = std::mem::size_of::<SectionHeader64<Endianness>>();

/// One section header and its contents, before offsets are known; the contents of sections,
/// `.BTF` and `.BTF.ext` are borrowed, not copied, until they are laid out.
struct Emitted<'a> {
    name: u32,
    sh_type: u32,
    flags: u64,
    align: u64,
    entsize: u64,
    link: u32,
    info: u32,
    size: u64,
    data: Cow<'a, [u8]>,
}

/// The ELF bytes of the linked object.
pub fn write(
    sections: &[OutSection],
    symbols: &[OutSymbol],
    btf: Option<&[u8]>,
    btf_ext: Option<&[u8]>,
    big_endian: bool,
) -> Vec<u8> {
    let endian = if big_endian {
        Endianness::Big
    } else {
        Endianness::Little
    };
    let mut strings = StringTable::default();
    // ELF indices: 0 null, 1 .strtab, 2 .symtab, then the sections with ELF presence.
    const STRTAB: u32 = 1;
    const SYMTAB: u32 = 2;
    let mut in_elf: Vec<usize> = (0..sections.len())
        .filter(|&i| sections[i].elf_order.is_some())
        .collect();
    in_elf.sort_by_key(|&i| sections[i].elf_order);
    let mut elf_index = vec![0u32; sections.len()];
    for (position, &i) in in_elf.iter().enumerate() {
        elf_index[i] = position as u32 + 3;
    }

    // Locals first, as ELF requires; relocations follow the new numbering.
    let mut order: Vec<usize> = (1..symbols.len())
        .filter(|&i| symbols[i].bind() == elf::STB_LOCAL.0)
        .collect();
    let first_global = order.len() as u32 + 1;
    order.extend((1..symbols.len()).filter(|&i| symbols[i].bind() != elf::STB_LOCAL.0));
    let mut new_index = vec![0u32; symbols.len()];
    for (position, &old) in order.iter().enumerate() {
        new_index[old] = position as u32 + 1;
    }
    let mut symtab = vec![0u8; SYM_LEN];
    for &old in &order {
        let symbol = &symbols[old];
        let shndx = symbol
            .section
            .map_or(symbol.special_index, |s| elf_index[s] as u16);
        let record = Sym64 {
            st_name: U32::new(endian, strings.add(&symbol.name)),
            st_info: elf::SymbolInfo(symbol.info),
            st_other: elf::SymbolOther(symbol.other),
            st_shndx: U16::new(endian, elf::SymbolSection(shndx)),
            st_value: U64::new(endian, symbol.value),
            st_size: U64::new(endian, symbol.size),
        };
        symtab.extend_from_slice(bytes_of(&record));
    }

    let mut emitted = Vec::new();
    for section in in_elf.iter().map(|&i| &sections[i]) {
        let name = strings.add(&section.name);
        let (link, info, data, size) = match &section.relocations {
            Some((target, relocations)) => {
                let mut data = Vec::with_capacity(relocations.len() * REL_LEN);
                for r in relocations {
                    let symbol = u64::from(new_index[r.symbol]);
                    let record = Rel64 {
                        r_offset: U64::new(endian, r.offset),
                        r_info: U64::new(endian, (symbol << 32) | u64::from(r.r_type)),
                    };
                    data.extend_from_slice(bytes_of(&record));
                }
                let size = data.len() as u64;
                (SYMTAB, elf_index[*target], Cow::Owned(data), size)
            }
            None => (0, 0, Cow::Borrowed(section.data.as_slice()), section.size),
        };
        emitted.push(Emitted {
            name,
            sh_type: section.sh_type,
            flags: section.flags,
            align: section.align,
            entsize: section.entsize,
            link,
            info,
            size,
            data,
        });
    }
    for (name, bytes) in [(".BTF", btf), (".BTF.ext", btf_ext)] {
        if let Some(bytes) = bytes {
            emitted.push(Emitted {
                name: strings.add(name),
                sh_type: elf::SHT_PROGBITS.0,
                flags: 0,
                align: 8,
                entsize: 0,
                link: 0,
                info: 0,
                size: bytes.len() as u64,
                data: Cow::Borrowed(bytes),
            });
        }
    }
    let symtab_name = strings.add(".symtab");
    let strtab_name = strings.add(".strtab");
    let symtab_len = symtab.len() as u64;
    let mut all = vec![
        Emitted {
            name: strtab_name,
            sh_type: elf::SHT_STRTAB.0,
            flags: elf::SHF_STRINGS.0,
            align: 1,
            entsize: 0,
            link: 0,
            info: 0,
            size: strings.as_str().len() as u64,
            data: Cow::Owned(strings.into_bytes()),
        },
        Emitted {
            name: symtab_name,
            sh_type: elf::SHT_SYMTAB.0,
            flags: 0,
            align: 8,
            entsize: SYM_LEN as u64,
            link: STRTAB,
            info: first_global,
            size: symtab_len,
            data: Cow::Owned(symtab),
        },
    ];
    all.extend(emitted);
    layout(&all, endian)
}

/// Places the contents after the header, each at its alignment, then the section headers,
/// into one buffer of the file's size.
fn layout(sections: &[Emitted], endian: Endianness) -> Vec<u8> {
    let mut end = EHDR_LEN as u64;
    let offsets: Vec<u64> = sections
        .iter()
        .map(|section| {
            // A section without contents (NOBITS) still moves the end to its alignment.
            let at = end.next_multiple_of(section.align.max(1));
            end = at;
            if section.sh_type != elf::SHT_NOBITS.0 {
                end += section.data.len() as u64;
            }
            at
        })
        .collect();
    let shoff = end.next_multiple_of(8);
    let file_len = shoff as usize + (sections.len() + 1) * SHDR_LEN;
    let mut body = Vec::with_capacity(file_len);
    body.resize(EHDR_LEN, 0);
    for (section, &at) in sections.iter().zip(&offsets) {
        body.resize(at as usize, 0);
        if section.sh_type != elf::SHT_NOBITS.0 {
            body.extend_from_slice(&section.data);
        }
    }
    body.resize(shoff as usize, 0);
    body.resize(body.len() + SHDR_LEN, 0); // the null section's header
    for (section, offset) in sections.iter().zip(offsets) {
        let header = SectionHeader64 {
            sh_name: U32::new(endian, section.name),
            sh_type: U32::new(endian, elf::SectionType(section.sh_type)),
            sh_flags: U64::new(endian, elf::SectionFlags(section.flags)),
            sh_addr: U64::new(endian, 0),
            sh_offset: U64::new(endian, offset),
            sh_size: U64::new(endian, section.size),
            sh_link: U32::new(endian, section.link),
            sh_info: U32::new(endian, section.info),
            sh_addralign: U64::new(endian, section.align),
            sh_entsize: U64::new(endian, section.entsize),
        };
        body.extend_from_slice(bytes_of(&header));
    }
    let header = FileHeader64 {
        e_ident: elf::Ident {
            magic: elf::ELFMAG,
            class: elf::ELFCLASS64,
            data: if endian.is_big_endian() {
                elf::ELFDATA2MSB
            } else {
                elf::ELFDATA2LSB
            },
            version: elf::EV_CURRENT,
            os_abi: elf::OsAbi(0),
            abi_version: 0,
            padding: [0; 7],
        },
        e_type: U16::new(endian, elf::ET_REL),
        e_machine: U16::new(endian, elf::EM_BPF),
        e_version: U32::new(endian, u32::from(elf::EV_CURRENT.0)),
        e_entry: U64::new(endian, 0),
        e_phoff: U64::new(endian, 0),
        e_shoff: U64::new(endian, shoff),
        e_flags: U32::new(endian, elf::FileFlags(0)),
        e_ehsize: U16::new(endian, EHDR_LEN as u16),
        e_phentsize: U16::new(endian, 0),
        e_phnum: U16::new(endian, 0),
        e_shentsize: U16::new(endian, SHDR_LEN as u16),
        e_shnum: U16::new(endian, sections.len() as u16 + 1),
        // .strtab holds the section names too.
        e_shstrndx: U16::new(endian, elf::SymbolSection(1)),
    };
    body[..EHDR_LEN].copy_from_slice(bytes_of(&header));
    body
}
