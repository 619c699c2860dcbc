//! Source lines from DWARF, for objects that still carry it but have no `.BTF.ext` line info.
//!
//! In a relocatable BPF object every address in `.debug_line` is a relocation against a
//! code section (REL: the addend is the value stored in place). [`gimli`] reads the line
//! programs through a [`RelocateReader`] that tags each relocated address with its section,
//! so each row comes out as (section, offset within it).

use super::model::DwarfLine;
use gimli::Reader as _;
use gimli::{EndianSlice, RelocateReader, RunTimeEndian, SectionId};
use object::read::elf::ElfFile64;
use object::{Endianness, Object, ObjectSection, ObjectSymbol, RelocationTarget};
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

/// Where a relocated address points: section index + 1 in the bits above this shift.
const SECTION_SHIFT: u32 = 40;

/// The relocations of one DWARF section: for each patched offset, the section its symbol is in
/// and the symbol's value.
#[derive(Debug, Clone, Default)]
struct Relocations(Rc<HashMap<usize, (usize, u64)>>);

impl gimli::Relocate for Relocations {
    fn relocate_address(&self, offset: usize, value: u64) -> gimli::Result<u64> {
        Ok(match self.0.get(&offset) {
            Some(&(section, symbol_value)) => {
                ((section as u64 + 1) << SECTION_SHIFT) | symbol_value.wrapping_add(value)
            }
            None => value,
        })
    }

    fn relocate_offset(&self, offset: usize, value: usize) -> gimli::Result<usize> {
        // Offsets into string and line sections are relocated against section symbols,
        // whose value is 0: the stored addend is the offset.
        Ok(match self.0.get(&offset) {
            Some(&(_, symbol_value)) => value.wrapping_add(symbol_value as usize),
            None => value,
        })
    }
}

type Reader<'a> = RelocateReader<EndianSlice<'a, RunTimeEndian>, Relocations>;

/// Every line row of the object's DWARF, by section and offset; empty when there is no
/// DWARF or it cannot be read (source lines are a convenience, never a reason to fail).
pub(super) fn read_lines(file: &ElfFile64<Endianness>) -> Vec<DwarfLine> {
    if file.section_by_name(".debug_line").is_none() {
        return Vec::new();
    }
    lines(file).unwrap_or_default()
}

fn lines(file: &ElfFile64<Endianness>) -> gimli::Result<Vec<DwarfLine>> {
    let endian = if file.is_little_endian() {
        RunTimeEndian::Little
    } else {
        RunTimeEndian::Big
    };
    let load = |id: SectionId| -> gimli::Result<Reader<'_>> {
        let Some(section) = file.section_by_name(id.name()) else {
            return Ok(RelocateReader::new(
                EndianSlice::new(&[], endian),
                Relocations::default(),
            ));
        };
        let data = section.data().map_err(|_| gimli::Error::Io)?;
        let mut relocations = HashMap::new();
        for (offset, relocation) in section.relocations() {
            if let RelocationTarget::Symbol(index) = relocation.target()
                && let Ok(symbol) = file.symbol_by_index(index)
                && let Some(target) = symbol.section_index()
            {
                relocations.insert(offset as usize, (target.0, symbol.address()));
            }
        }
        Ok(RelocateReader::new(
            EndianSlice::new(data, endian),
            Relocations(Rc::new(relocations)),
        ))
    };
    let dwarf = gimli::Dwarf::load(load)?;
    let mut out = Vec::new();
    let mut units = dwarf.units();
    while let Some(header) = units.next()? {
        let unit = dwarf.unit(header)?;
        let Some(program) = unit.line_program.clone() else {
            continue;
        };
        let mut rows = program.rows();
        while let Some((header, row)) = rows.next_row()? {
            let address = row.address();
            if row.end_sequence() || address >> SECTION_SHIFT == 0 {
                continue;
            }
            let Some(entry) = row.file(header) else {
                continue;
            };
            let mut path = PathBuf::new();
            if let Some(comp_dir) = &unit.comp_dir {
                path.push(&*comp_dir.to_string_lossy()?);
            }
            if let Some(dir) = entry.directory(header) {
                path.push(&*dwarf.attr_string(&unit, dir)?.to_string_lossy()?);
            }
            path.push(
                &*dwarf
                    .attr_string(&unit, entry.path_name())?
                    .to_string_lossy()?,
            );
            let file_name = path.display().to_string();
            out.push(DwarfLine {
                section_index: ((address >> SECTION_SHIFT) - 1) as usize,
                offset: address & ((1 << SECTION_SHIFT) - 1),
                file: file_name,
                line: row.line().map_or(0, |l| l.get() as u32),
                column: match row.column() {
                    gimli::ColumnType::LeftEdge => 0,
                    gimli::ColumnType::Column(c) => c.get() as u32,
                },
            });
        }
    }
    out.sort_by_key(|l| (l.section_index, l.offset));
    Ok(out)
}
