//! The DWARF-stripping rewrite: drop `.debug_*` (and their `.rel.debug_*`) and `.llvm_addrsig`,
//! keep programs, data, `.maps`, license, `.BTF`, `.BTF.ext` and their relocations.
//!
//! Built on `object::build::elf::Builder`, with its known traps handled: `.llvm_addrsig` is an
//! unsupported section type for the reader (relabelled before reading), LLVM puts section names
//! in `.strtab` (a `.shstrtab` is added), relocation sections of deleted sections must go too,
//! and an alignment of 0 must become 1. Afterwards every relocation of a program section is
//! checked to be still there.

use crate::error::{Error, Result};
use object::build::elf::{Builder, Section, SectionData};
use object::elf;
use object::read::elf::{ElfFile64, SectionHeader};
use object::{Endianness, Object, ObjectSection};
use std::collections::BTreeSet;

/// `SHT_LLVM_ADDRSIG`: clang's address-significance table, unknown to the object crate.
const SHT_LLVM_ADDRSIG: u32 = 0x6fff_4c03;

/// Returns the object without DWARF and `.llvm_addrsig`; every other section keeps its bytes.
pub fn strip_debug(data: &[u8]) -> Result<Vec<u8>> {
    let before = program_relocations(data)?;
    let input = relabel_addrsig(data)?;
    let mut builder = Builder::read64(&input[..])
        .map_err(|e| Error::input(format!("cannot rewrite ELF: {e}")))?;

    // The builder's iterators skip deleted sections, so remember which ones go.
    let mut deleted = Vec::new();
    for section in builder.sections.iter_mut() {
        let name = section.name.as_slice();
        if name.starts_with(b".debug_") || name == b".llvm_addrsig" {
            section.delete = true;
            deleted.push(section.id());
        }
    }
    for section in builder.sections.iter_mut() {
        if section
            .sh_info_section
            .is_some_and(|target| deleted.contains(&target))
        {
            section.delete = true;
        }
        if section.sh_addralign == 0 {
            section.sh_addralign = 1;
        }
    }
    ensure_shstrtab(&mut builder);

    let mut out = Vec::new();
    builder
        .write(&mut out)
        .map_err(|e| Error::input(format!("cannot rewrite ELF: {e}")))?;
    let after = program_relocations(&out)?;
    if before != after {
        let lost: Vec<_> = before.difference(&after).take(3).collect();
        return Err(Error::input(format!(
            "stripping would lose program relocations (e.g. {lost:?}); refusing to write"
        )));
    }
    Ok(out)
}

/// LLVM stores section names in `.strtab`; the writer needs its own `.shstrtab`.
fn ensure_shstrtab(builder: &mut Builder<'_>) {
    let has_shstrtab = builder
        .sections
        .iter()
        .any(|s| matches!(s.data, SectionData::SectionString));
    if !has_shstrtab {
        let section: &mut Section<'_> = builder.sections.add();
        section.name = b".shstrtab"[..].into();
        section.sh_type = elf::SHT_STRTAB;
        section.sh_addralign = 1;
        section.data = SectionData::SectionString;
    }
}

/// The object crate cannot read `SHT_LLVM_ADDRSIG`; relabel it as plain data so it can be read
/// and then deleted (its symbol indices would be stale after renumbering anyway).
fn relabel_addrsig(data: &[u8]) -> Result<Vec<u8>> {
    let file = ElfFile64::<Endianness>::parse(data)
        .map_err(|e| Error::input(format!("malformed ELF: {e}")))?;
    let endian = file.endian();
    let mut copy = data.to_vec();
    let shoff = file.elf_header().e_shoff.get(endian) as usize;
    let shentsize = file.elf_header().e_shentsize.get(endian) as usize;
    for section in file.sections() {
        let header = section.elf_section_header();
        if header.sh_type(endian).0 == SHT_LLVM_ADDRSIG {
            let at = shoff + section.index().0 * shentsize;
            let write = |copy: &mut Vec<u8>, field: usize, value: u32| {
                let bytes = match endian {
                    Endianness::Little => value.to_le_bytes(),
                    Endianness::Big => value.to_be_bytes(),
                };
                copy[at + field..at + field + 4].copy_from_slice(&bytes);
            };
            write(&mut copy, 4, elf::SHT_PROGBITS.0); // sh_type
            write(&mut copy, 40, 0); // sh_link
        }
    }
    Ok(copy)
}

/// Every relocation of a program section, as (section name, offset, symbol name, type).
fn program_relocations(data: &[u8]) -> Result<BTreeSet<(String, u64, String, u32)>> {
    let file = ElfFile64::<Endianness>::parse(data)
        .map_err(|e| Error::input(format!("malformed ELF: {e}")))?;
    let endian = file.endian();
    let mut relocations = BTreeSet::new();
    for section in file.sections() {
        let flags = section.elf_section_header().sh_flags(endian);
        if flags.0 & elf::SHF_EXECINSTR.0 == 0 {
            continue;
        }
        let name = section.name().unwrap_or_default().to_string();
        for (offset, relocation) in section.relocations() {
            let symbol = match relocation.target() {
                object::RelocationTarget::Symbol(index) => file
                    .symbol_by_index(index)
                    .and_then(|s| object::ObjectSymbol::name(&s).map(str::to_string))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            let r_type = match relocation.flags() {
                object::RelocationFlags::Elf { r_type } => r_type.0,
                _ => 0,
            };
            relocations.insert((name.clone(), offset, symbol, r_type));
        }
    }
    Ok(relocations)
}
