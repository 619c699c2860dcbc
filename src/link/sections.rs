//! Output sections: same-named input sections concatenated with their alignment respected
//! (`linker_append_sec_data`, `extend_sec`), relocations carried along with shifted offsets
//! (`linker_append_elf_relos`), and each section's `.BTF.ext` records.

use super::input::{InputObject, InputSection, holds_code};
use super::message;
use super::{Linker, Placement};
use crate::btf::ext::{RecordKind, Records, read_raw};
use crate::fast_hash::FastMap;
use crate::object::MAX_OBJECT_SIZE;
use object::elf;

/// `BPF_JMP | BPF_CALL`: a call instruction, whose immediate counts instructions.
const BPF_CALL: u8 = 0x85;

/// One section of the output.
#[derive(Debug)]
pub struct OutSection {
    /// Section name.
    pub name: String,
    /// `sh_type`.
    pub sh_type: u32,
    /// `sh_flags`.
    pub flags: u64,
    /// The largest alignment of its pieces.
    pub align: u64,
    /// `sh_entsize`.
    pub entsize: u64,
    /// Contents (empty for `SHT_NOBITS`).
    pub data: Vec<u8>,
    /// Size in bytes (also for `SHT_NOBITS`; a relocation section's comes from its entries).
    pub size: u64,
    /// Only a BTF DATASEC (`.kconfig`, `.ksyms`), no ELF section.
    pub ephemeral: bool,
    /// Its place among the ELF sections: the order in which sections got contents, which
    /// for a `.maps` of externs only is when a later input defines a map (libbpf's order).
    pub elf_order: Option<usize>,
    /// For a relocation section: the output section it relocates, and its relocations.
    pub relocations: Option<(usize, Vec<OutRelocation>)>,
    /// The output symbol that stands for the section itself.
    pub section_symbol: Option<usize>,
    /// Some input described it in BTF, so the output gets a DATASEC for it.
    pub has_btf: bool,
    /// DATASEC entries: type id (merged BTF), offset, size.
    pub vars: Vec<[u32; 3]>,
    /// `.BTF.ext` records against it: func info, line info, CO-RE relocations.
    pub ext: [Records; 3],
}

/// A relocation of the output.
#[derive(Debug, Clone, Copy)]
pub struct OutRelocation {
    /// Byte offset in the relocated section.
    pub offset: u64,
    /// Output symbol index.
    pub symbol: usize,
    /// `R_BPF_*`.
    pub r_type: u32,
}

impl OutSection {
    fn new(input: &InputSection) -> Self {
        OutSection {
            name: input.name.clone(),
            sh_type: input.sh_type,
            flags: input.flags,
            align: 1,
            entsize: input.entsize,
            data: Vec::new(),
            size: 0,
            ephemeral: input.ephemeral,
            elf_order: None,
            relocations: None,
            section_symbol: None,
            has_btf: false,
            vars: Vec::new(),
            ext: Default::default(),
        }
    }

    /// Whether it holds BPF instructions.
    pub fn is_code(&self) -> bool {
        !self.ephemeral && holds_code(self.sh_type, self.flags)
    }

    /// Appends `input` at the section's alignment; returns the offset of the piece. A section
    /// may not grow past the largest object bpfgen reads ([`MAX_OBJECT_SIZE`]): a small input
    /// can declare an alignment of 2^40, and the padding would be allocated.
    fn extend(&mut self, input: &InputSection) -> Result<u64, String> {
        if input.ephemeral {
            return Ok(0);
        }
        if self.ephemeral {
            // A `.maps` of externs only, now given a real definition.
            *self = OutSection {
                vars: std::mem::take(&mut self.vars),
                has_btf: self.has_btf,
                ..OutSection::new(input)
            };
        }
        // As libbpf's `extend_sec`: the piece starts at the section's alignment so far, grown
        // to the piece's (a 2-aligned piece after 5 bytes of a 4-aligned section goes to 8).
        let align = self.align.max(input.align);
        let end = self
            .size
            .checked_next_multiple_of(align)
            .and_then(|offset| Some((offset, offset.checked_add(input.size)?)))
            .filter(|&(_, end)| end <= MAX_OBJECT_SIZE as u64);
        let Some((offset, end)) = end else {
            return Err(format!(
                "section '{}' would be more than {MAX_OBJECT_SIZE} bytes with this input's \
                 piece ({} bytes, aligned to {})",
                self.name, input.size, input.align
            ));
        };
        if input.sh_type != elf::SHT_NOBITS.0 {
            self.data.resize(offset as usize, 0);
            self.data.extend_from_slice(input.data);
        }
        self.align = align;
        self.size = end;
        Ok(offset)
    }

    /// Whether `input` may be appended: same type, flags and entry size.
    fn check_compatible(&self, input: &InputSection) -> Result<(), String> {
        if self.ephemeral || input.ephemeral {
            return Ok(());
        }
        let mismatch = if self.sh_type != input.sh_type {
            "types"
        } else if self.flags != input.flags {
            "flags"
        } else if self.entsize != input.entsize {
            "entry sizes"
        } else {
            return Ok(());
        };
        Err(format!(
            "section '{}' cannot be merged with the same-named section of earlier inputs: \
             their {mismatch} differ",
            self.name
        ))
    }

    /// Rewrites the type ids of this section's `.BTF.ext` records through `map`, the
    /// deduplication's (strings keep their offsets: deduplication keeps the string section).
    pub fn remap_ext_type_ids(&mut self, map: &[u32]) {
        for (kind, records) in RecordKind::ALL.into_iter().zip(&mut self.ext) {
            let Some(word) = kind.type_word().filter(|_| !records.data.is_empty()) else {
                continue;
            };
            for record in records.data.chunks_exact_mut(records.words) {
                record[word] = map.get(record[word] as usize).copied().unwrap_or(0);
            }
        }
    }
}

impl Linker {
    /// Places `section` after the ELF sections so far, once it has contents.
    fn give_elf_order(&mut self, section: usize) {
        if self.sections[section].ephemeral || self.sections[section].elf_order.is_some() {
            return;
        }
        let next = self
            .sections
            .iter()
            .filter(|s| s.elf_order.is_some())
            .count();
        self.sections[section].elf_order = Some(next);
    }

    pub(super) fn section_by_name(&self, name: &str) -> Option<usize> {
        self.sections.iter().position(|s| s.name == name)
    }

    /// Appends the data and code sections of `object`; returns where each landed.
    pub(super) fn append_sections(
        &mut self,
        object: &InputObject,
    ) -> Result<Vec<Option<(usize, u64)>>, String> {
        let mut placed = vec![None; object.sections.len()];
        for (position, input) in object.sections.iter().enumerate() {
            if !input.is_data() {
                continue;
            }
            let out = match self.section_by_name(&input.name) {
                Some(out) => {
                    self.sections[out].check_compatible(input)?;
                    if input.name == "license" || input.name == "version" {
                        let existing = &self.sections[out];
                        if existing.data != input.data {
                            return Err(format!(
                                "its {} {} differs from the earlier inputs' {}; \
                                 all files of one program must agree",
                                input.name,
                                quoted(input.data),
                                quoted(&existing.data)
                            ));
                        }
                        // Kept once: this input's copy and its symbol are dropped.
                        continue;
                    }
                    out
                }
                None => {
                    self.sections.push(OutSection::new(input));
                    self.sections.len() - 1
                }
            };
            let offset = self.sections[out].extend(input)?;
            self.give_elf_order(out);
            placed[position] = Some((out, offset));
        }
        Ok(placed)
    }

    /// Appends the relocations of `object` with offsets and symbols remapped, shifting the
    /// immediates of instructions that refer to a section symbol.
    pub(super) fn append_relocations(
        &mut self,
        object: &InputObject,
        placement: &Placement,
    ) -> Result<(), String> {
        for (rel_index, relocations) in &object.relocations {
            let rel_section = &object.sections[*rel_index];
            let target_position = rel_section.info as usize;
            let Some((target, target_offset)) = placement.sections[target_position] else {
                continue;
            };
            let out = match self.section_by_name(&rel_section.name) {
                Some(out) => {
                    self.sections[out].check_compatible(rel_section)?;
                    out
                }
                None => {
                    let mut section = OutSection::new(rel_section);
                    section.align = 8;
                    section.relocations = Some((target, Vec::new()));
                    self.sections.push(section);
                    self.give_elf_order(self.sections.len() - 1);
                    self.sections.len() - 1
                }
            };
            let mut moved = Vec::with_capacity(relocations.len());
            for relocation in relocations {
                let symbol = &object.symbols[relocation.symbol as usize];
                let offset = relocation.offset + target_offset;
                if symbol.kind() == elf::STT_SECTION.0 {
                    if !object.sections[target_position].is_code() {
                        return Err(format!(
                            "relocation against section symbol in non-code section '{}' \
                             is not supported",
                            object.sections[target_position].name
                        ));
                    }
                    let shift =
                        placement.sections[symbol.shndx as usize].map_or(0, |(_, offset)| offset);
                    self.shift_immediate(target, offset, shift);
                }
                moved.push(OutRelocation {
                    offset,
                    symbol: placement.symbols[relocation.symbol as usize],
                    r_type: relocation.r_type,
                });
            }
            if let Some((_, list)) = self.sections[out].relocations.as_mut() {
                list.extend(moved);
            }
        }
        Ok(())
    }

    /// Adds `shift` bytes (calls: instructions) to the immediate of the instruction at `at`.
    fn shift_immediate(&mut self, section: usize, at: u64, shift: u64) {
        if shift == 0 {
            return;
        }
        let big_endian = self.big_endian == Some(true);
        let insn = &mut self.sections[section].data[at as usize..at as usize + 8];
        let delta = if insn[0] == BPF_CALL {
            shift / 8
        } else {
            shift
        } as i32;
        let imm: [u8; 4] = insn[4..8].try_into().expect("4 bytes");
        let value = if big_endian {
            i32::from_be_bytes(imm)
        } else {
            i32::from_le_bytes(imm)
        }
        .wrapping_add(delta);
        insn[4..8].copy_from_slice(&if big_endian {
            value.to_be_bytes()
        } else {
            value.to_le_bytes()
        });
    }

    /// Appends `object`'s `.BTF.ext` records to their output sections, offsets shifted, type
    /// ids and strings moved into the merged BTF.
    pub(super) fn append_btf_ext(
        &mut self,
        object: &InputObject,
        placement: &Placement,
    ) -> Result<(), String> {
        // Records name strings by their offsets in the input's own `.BTF`.
        let (Some(bytes), Some(btf)) = (object.btf_ext, object.btf.as_ref()) else {
            return Ok(());
        };
        // Line records name the same file and line texts over and over: each input string
        // is moved once.
        let mut moved: FastMap<u32, u32> = FastMap::default();
        for mut raw in read_raw(bytes).map_err(message)? {
            let section = btf.string(raw.name_off).to_string();
            let position = object.section_by_name(&section).ok_or_else(|| {
                format!(".BTF.ext refers to section '{section}', which it does not have")
            })?;
            let Some((out, offset)) = placement.sections[position] else {
                continue;
            };
            let kind = raw.kind;
            let words = raw.records.words;
            for record in raw.records.data.chunks_exact_mut(words) {
                record[0] += offset as u32;
                for &word in kind.string_words() {
                    let input = record[word];
                    record[word] = *moved
                        .entry(input)
                        .or_insert_with(|| self.btf.add_str(btf.string(input)));
                }
                if let Some(word) = kind.type_word() {
                    record[word] = placement
                        .types
                        .get(record[word] as usize)
                        .copied()
                        .unwrap_or(0);
                }
            }
            let target = &mut self.sections[out].ext[kind.index()];
            if target.words != 0 && target.words != words {
                return Err(format!(
                    ".BTF.ext {kind:?} records of section '{section}' are {} bytes, earlier \
                     inputs' {}",
                    4 * words,
                    4 * target.words
                ));
            }
            target.words = words;
            target.data.extend(raw.records.data);
        }
        Ok(())
    }
}

/// Section contents shown in a message: the text up to its NUL, quoted.
fn quoted(bytes: &[u8]) -> String {
    let text = bytes.split(|&b| b == 0).next().unwrap_or_default();
    format!("\"{}\"", String::from_utf8_lossy(text).escape_debug())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rodata(align: u64) -> InputSection<'static> {
        InputSection {
            index: 1,
            name: ".rodata".into(),
            sh_type: elf::SHT_PROGBITS.0,
            flags: elf::SHF_ALLOC.0,
            align,
            entsize: 0,
            size: 4,
            info: 0,
            data: b"abcd",
            skipped: false,
            ephemeral: false,
            datasec_id: None,
        }
    }

    #[test]
    fn a_huge_alignment_is_refused_before_anything_is_allocated() {
        // Found by the `link` fuzz target: 2 KB of input asked for 2^40 bytes of padding
        // (an allocation failure: an abort, not even a panic).
        let mut section = OutSection::new(&rodata(4));
        assert_eq!(section.extend(&rodata(4)), Ok(0));
        let err = section.extend(&rodata(1 << 40)).unwrap_err();
        assert!(err.contains("would be more than 268435456 bytes"), "{err}");
        assert_eq!(section.extend(&rodata(8)), Ok(8));
    }
}
