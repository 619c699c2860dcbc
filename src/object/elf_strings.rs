//! Section and symbol names of an ELF object, read from its string tables with a plain loop.
//!
//! `object`'s own name lookups find a name's end with `memchr`, whose first call in a process
//! asks the CPU what it supports: nine `cpuid` instructions, each a trap to the hypervisor in
//! a virtual machine (5 us each on the machine bpfgen is measured on, 47 us in all: more than
//! reading every name of a three-object link). Names are a few bytes long; a loop finds their
//! ends without that set-up. The names [`BpfObject`](super::BpfObject) and the linker read
//! come from here.

use object::elf;
use object::read::elf::{ElfFile64, FileHeader, SectionHeader, SectionTable, SymbolTable};
use object::{Endianness, SectionIndex};

type Sections<'data> = SectionTable<'data, elf::FileHeader64<Endianness>>;

/// One ELF string table section's bytes.
#[derive(Clone, Copy)]
pub(crate) struct ElfStrings<'data>(&'data [u8]);

impl<'data> ElfStrings<'data> {
    /// The section names of `file` (its `e_shstrndx` section; none when it has none).
    pub(crate) fn section_names(file: &ElfFile64<'data, Endianness>) -> Result<Self, String> {
        let (endian, data) = (file.endian(), file.data());
        let header = file.elf_header();
        if header.e_shstrndx(endian) == elf::SHN_UNDEF {
            return Ok(ElfStrings(&[]));
        }
        let index = header.shstrndx(endian, data).map_err(|e| e.to_string())?;
        Self::in_section(file.elf_section_table(), endian, data, index as usize)
    }

    /// The names of the symbols of `symbols` (the string table its section links to).
    pub(crate) fn symbol_names(
        sections: &Sections<'data>,
        symbols: &SymbolTable<'data, elf::FileHeader64<Endianness>>,
        endian: Endianness,
        data: &'data [u8],
    ) -> Result<Self, String> {
        Self::in_section(sections, endian, data, symbols.string_section().0)
    }

    /// The string table in section `index`; none (every name is then an error) for index 0,
    /// which an object without section names or without symbols has.
    fn in_section(
        sections: &Sections<'data>,
        endian: Endianness,
        data: &'data [u8],
        index: usize,
    ) -> Result<Self, String> {
        if index == 0 {
            return Ok(ElfStrings(&[]));
        }
        let section = sections
            .section(SectionIndex(index))
            .map_err(|e| e.to_string())?;
        let bytes = section.data(endian, data).map_err(|e| e.to_string())?;
        Ok(ElfStrings(bytes))
    }

    /// The name at `offset`: its bytes up to its NUL.
    pub(crate) fn get(&self, offset: u32) -> Result<&'data [u8], String> {
        let tail = self
            .0
            .get(offset as usize..)
            .ok_or_else(|| format!("name offset {offset} is past the string table's end"))?;
        let len = tail
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| format!("the name at offset {offset} has no terminating NUL"))?;
        Ok(&tail[..len])
    }

    /// The name at `offset` as text (an error when it is not UTF-8).
    pub(crate) fn text(&self, offset: u32) -> Result<&'data str, String> {
        std::str::from_utf8(self.get(offset)?)
            .map_err(|_| format!("the name at offset {offset} is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_end_at_their_nul_and_bad_offsets_are_errors() {
        let strings = ElfStrings(b"\0.text\0maps\0\xff\0open");
        assert_eq!(strings.text(0).unwrap(), "");
        assert_eq!(strings.text(1).unwrap(), ".text");
        assert_eq!(strings.text(3).unwrap(), "ext");
        assert_eq!(strings.text(7).unwrap(), "maps");
        assert!(strings.text(12).unwrap_err().contains("not UTF-8"));
        assert!(strings.get(14).unwrap_err().contains("no terminating NUL"));
        assert!(
            strings
                .get(99)
                .unwrap_err()
                .contains("past the string table's end")
        );
    }

    #[test]
    fn an_object_without_sections_has_no_names_and_no_error() {
        // An ELF64 header (ET_REL, EM_BPF) and nothing else: no sections, e_shstrndx 0.
        let mut header = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
        header.resize(16, 0);
        for (value, size) in [(1u64, 2), (247, 2), (1, 4), (0, 8), (0, 8), (0, 8)] {
            header.extend(&value.to_le_bytes()[..size]);
        }
        header.extend(0u32.to_le_bytes()); // e_flags
        for value in [64u16, 0, 0, 64, 0, 0] {
            header.extend(value.to_le_bytes());
        }
        let file = ElfFile64::<Endianness>::parse(&*header).unwrap();
        let names = ElfStrings::section_names(&file).unwrap();
        assert!(names.get(0).is_err());
    }
}
