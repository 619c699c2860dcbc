//! Writing the linked object: an ELF64 relocatable BPF object with one string table for
//! section and symbol names (as libbpf's linker writes it), local symbols before globals,
//! and `.BTF` and `.BTF.ext` last, 8-byte aligned.

use super::sections::OutSection;
use super::symbols::OutSymbol;
use crate::strtab::StringTable;
use object::elf;

const EHDR_LEN: usize = 64;
const SHDR_LEN: usize = 64;
const SYM_LEN: usize = 24;
const REL_LEN: usize = 16;

/// One section header and its contents, before offsets are known.
struct Emitted {
    name: u32,
    sh_type: u32,
    flags: u64,
    align: u64,
    entsize: u64,
    link: u32,
    info: u32,
    size: u64,
    data: Vec<u8>,
}

/// Byte-order aware encoding of ELF fields.
#[derive(Clone, Copy)]
struct Endian(bool);

impl Endian {
    fn u16(self, out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&if self.0 {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    fn u32(self, out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&if self.0 {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    fn u64(self, out: &mut Vec<u8>, v: u64) {
        out.extend_from_slice(&if self.0 {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
}

/// The ELF bytes of the linked object.
pub fn write(
    sections: &[OutSection],
    symbols: &[OutSymbol],
    btf: Option<&[u8]>,
    btf_ext: Option<&[u8]>,
    big_endian: bool,
) -> Vec<u8> {
    let endian = Endian(big_endian);
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
        endian.u32(&mut symtab, strings.add(&symbol.name));
        symtab.push(symbol.info);
        symtab.push(symbol.other);
        let shndx = symbol
            .section
            .map_or(symbol.special_index, |s| elf_index[s] as u16);
        endian.u16(&mut symtab, shndx);
        endian.u64(&mut symtab, symbol.value);
        endian.u64(&mut symtab, symbol.size);
    }

    let mut emitted = Vec::new();
    for section in in_elf.iter().map(|&i| &sections[i]) {
        let name = strings.add(&section.name);
        let (link, info, data, size) = match &section.relocations {
            Some((target, relocations)) => {
                let mut data = Vec::with_capacity(relocations.len() * REL_LEN);
                for r in relocations {
                    endian.u64(&mut data, r.offset);
                    let symbol = u64::from(new_index[r.symbol]);
                    endian.u64(&mut data, (symbol << 32) | u64::from(r.r_type));
                }
                let size = data.len() as u64;
                (SYMTAB, elf_index[*target], data, size)
            }
            None => (0, 0, section.data.clone(), section.size),
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
                data: bytes.to_vec(),
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
            data: strings.into_bytes(),
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
            data: symtab,
        },
    ];
    all.extend(emitted);
    layout(&all, endian, big_endian)
}

/// Places the contents after the header, each at its alignment, then the section headers.
fn layout(sections: &[Emitted], endian: Endian, big_endian: bool) -> Vec<u8> {
    let mut body = vec![0u8; EHDR_LEN];
    let mut offsets = Vec::with_capacity(sections.len());
    for section in sections {
        let at = (body.len() as u64).next_multiple_of(section.align.max(1));
        body.resize(at as usize, 0);
        offsets.push(at);
        if section.sh_type != elf::SHT_NOBITS.0 {
            body.extend_from_slice(&section.data);
        }
    }
    let shoff = (body.len() as u64).next_multiple_of(8);
    body.resize(shoff as usize, 0);
    body.extend_from_slice(&[0u8; SHDR_LEN]);
    for (section, offset) in sections.iter().zip(offsets) {
        endian.u32(&mut body, section.name);
        endian.u32(&mut body, section.sh_type);
        endian.u64(&mut body, section.flags);
        endian.u64(&mut body, 0); // sh_addr
        endian.u64(&mut body, offset);
        endian.u64(&mut body, section.size);
        endian.u32(&mut body, section.link);
        endian.u32(&mut body, section.info);
        endian.u64(&mut body, section.align);
        endian.u64(&mut body, section.entsize);
    }

    let mut header = Vec::with_capacity(EHDR_LEN);
    header.extend_from_slice(b"\x7fELF");
    header.push(elf::ELFCLASS64.0);
    header.push(if big_endian {
        elf::ELFDATA2MSB.0
    } else {
        elf::ELFDATA2LSB.0
    });
    header.push(elf::EV_CURRENT.0);
    header.extend_from_slice(&[0; 9]);
    endian.u16(&mut header, elf::ET_REL.0);
    endian.u16(&mut header, elf::EM_BPF.0);
    endian.u32(&mut header, u32::from(elf::EV_CURRENT.0));
    endian.u64(&mut header, 0); // e_entry
    endian.u64(&mut header, 0); // e_phoff
    endian.u64(&mut header, shoff);
    endian.u32(&mut header, 0); // e_flags
    endian.u16(&mut header, EHDR_LEN as u16);
    endian.u16(&mut header, 0); // e_phentsize
    endian.u16(&mut header, 0); // e_phnum
    endian.u16(&mut header, SHDR_LEN as u16);
    endian.u16(&mut header, sections.len() as u16 + 1);
    endian.u16(&mut header, 1); // e_shstrndx: .strtab holds the section names too
    body[..EHDR_LEN].copy_from_slice(&header);
    body
}
