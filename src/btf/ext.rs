//! `.BTF.ext`: per-section func info, line info and CO-RE relocation records, whose names
//! point into the strings of the object's `.BTF`. One reader, two views: [`read_raw`] gives
//! the records as the file holds them (lossless, for the linker, which moves them and writes
//! them back with [`write_raw`]); [`BtfExt::parse`] decodes them, names resolved, for
//! everything else.
//!
//! Every count read from the input is checked against the bytes that are really there before
//! anything is allocated, so a header claiming 2^32 records fails instead of exhausting memory.

use super::raw::{push_words, start_file};
use super::reader::Reader;
use super::table::TypeTable;
use crate::diag::SourceLocation;
use crate::error::{Error, Result};
use crate::fast_hash::FastMap;
use std::sync::Arc;

/// A `bpf_func_info` record: a function's first instruction and its BTF `FUNC` type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncInfo {
    /// Byte offset of the function's first instruction in its section.
    pub insn_off: u32,
    /// BTF id of the `FUNC`.
    pub type_id: u32,
}

/// A `bpf_line_info` record: which source line an instruction came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInfo {
    /// Byte offset of the instruction in its section.
    pub insn_off: u32,
    /// Source file name (shared by the records that name the same string).
    pub file: Arc<str>,
    /// Source line text (as clang recorded it).
    pub line_text: Arc<str>,
    /// Line number.
    pub line: u32,
    /// Column.
    pub column: u32,
}

impl From<&LineInfo> for SourceLocation {
    /// The line a `.BTF.ext` line record names, with the text the object carries for it.
    fn from(record: &LineInfo) -> Self {
        SourceLocation {
            file: record.file.to_string(),
            line: record.line,
            column: record.column,
            text: record.line_text.to_string(),
        }
    }
}

/// A `bpf_core_relo` record: one CO-RE relocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreRelo {
    /// Byte offset of the relocated instruction in its section.
    pub insn_off: u32,
    /// Local BTF id of the root type.
    pub type_id: u32,
    /// Access string, e.g. "0:1:2".
    pub access: Arc<str>,
    /// `enum bpf_core_relo_kind` value.
    pub kind: u32,
}

/// The records of one ELF section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SectionRecords {
    /// ELF section name the records belong to.
    pub section: String,
    /// Function records.
    pub funcs: Vec<FuncInfo>,
    /// Line records.
    pub lines: Vec<LineInfo>,
    /// CO-RE relocation records.
    pub core_relos: Vec<CoreRelo>,
}

/// A parsed `.BTF.ext` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BtfExt {
    /// Records per ELF section, in the order sections first appear.
    pub sections: Vec<SectionRecords>,
}

impl BtfExt {
    /// Checks that every function and CO-RE record names a type of `types` (the object's
    /// `.BTF`): libbpf refuses an object whose records name types that do not exist, and
    /// everything that reads the records may then look their types up.
    pub fn check_type_ids(&self, types: &TypeTable) -> Result<()> {
        for section in &self.sections {
            let funcs = section.funcs.iter().map(|f| ("function", f.type_id));
            let relos = section
                .core_relos
                .iter()
                .map(|r| ("CO-RE relocation", r.type_id));
            for (record, type_id) in funcs.chain(relos) {
                if type_id >= types.len() {
                    return Err(Error::input(format!(
                        "invalid .BTF.ext: a {record} record of section '{}' names type \
                         [{type_id}], but .BTF has {} types",
                        section.section,
                        types.len() - 1
                    )));
                }
            }
        }
        Ok(())
    }

    /// Parses `.BTF.ext` bytes, resolving names through the strings of the object's `.BTF`.
    pub fn parse(bytes: &[u8], strings: &TypeTable) -> Result<Self> {
        let mut ext = BtfExt::default();
        let mut texts = Texts {
            strings,
            seen: FastMap::default(),
        };
        for raw in read_raw(bytes)? {
            let records = ext.section_mut(strings.checked_str(raw.name_off)?.to_string());
            for record in raw.records.data.chunks_exact(raw.records.words) {
                raw.kind.decode(record, &mut texts, records)?;
            }
        }
        Ok(ext)
    }

    fn section_mut(&mut self, name: String) -> &mut SectionRecords {
        match self.sections.iter().position(|s| s.section == name) {
            Some(i) => &mut self.sections[i],
            None => {
                self.sections.push(SectionRecords {
                    section: name,
                    ..Default::default()
                });
                self.sections.last_mut().expect("just pushed")
            }
        }
    }

    /// Total number of function records.
    pub fn func_count(&self) -> usize {
        self.sections.iter().map(|s| s.funcs.len()).sum()
    }

    /// Total number of line records.
    pub fn line_count(&self) -> usize {
        self.sections.iter().map(|s| s.lines.len()).sum()
    }

    /// Total number of CO-RE relocation records.
    pub fn core_relo_count(&self) -> usize {
        self.sections.iter().map(|s| s.core_relos.len()).sum()
    }
}

/// The three kinds of `.BTF.ext` records, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// `bpf_func_info`: insn_off, type_id.
    Func,
    /// `bpf_line_info`: insn_off, file_name_off, line_off, line_col.
    Line,
    /// `bpf_core_relo`: insn_off, type_id, access_str_off, kind.
    CoreRelo,
}

impl RecordKind {
    /// All kinds, in the order their subsections appear.
    pub const ALL: [RecordKind; 3] = [RecordKind::Func, RecordKind::Line, RecordKind::CoreRelo];

    /// Its position in [`RecordKind::ALL`] (and in per-section record arrays).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The fewest words a record of this kind has (libbpf's `min_rec_size`).
    fn min_words(self) -> usize {
        match self {
            RecordKind::Func => 2,
            RecordKind::Line | RecordKind::CoreRelo => 4,
        }
    }

    fn label(self) -> &'static str {
        match self {
            RecordKind::Func => "func info",
            RecordKind::Line => "line info",
            RecordKind::CoreRelo => "CO-RE relocation",
        }
    }

    /// Which words of a record are string offsets into `.BTF`.
    pub fn string_words(self) -> &'static [usize] {
        match self {
            RecordKind::Func => &[],
            RecordKind::Line => &[1, 2],
            RecordKind::CoreRelo => &[2],
        }
    }

    /// Which word of a record is a type id, if any.
    pub fn type_word(self) -> Option<usize> {
        match self {
            RecordKind::Func | RecordKind::CoreRelo => Some(1),
            RecordKind::Line => None,
        }
    }

    /// Decodes one record (at least [`RecordKind::min_words`] words) into `out`.
    fn decode(self, w: &[u32], texts: &mut Texts, out: &mut SectionRecords) -> Result<()> {
        match self {
            RecordKind::Func => out.funcs.push(FuncInfo {
                insn_off: w[0],
                type_id: w[1],
            }),
            RecordKind::Line => out.lines.push(LineInfo {
                insn_off: w[0],
                file: texts.get(w[1])?,
                line_text: texts.get(w[2])?,
                line: w[3] >> 10,
                column: w[3] & 0x3ff,
            }),
            RecordKind::CoreRelo => out.core_relos.push(CoreRelo {
                insn_off: w[0],
                type_id: w[1],
                access: texts.get(w[2])?,
                kind: w[3],
            }),
        }
        Ok(())
    }
}

/// The strings records name, each made once per parse: a file name or a line's text is
/// named by many records.
struct Texts<'a> {
    strings: &'a TypeTable,
    seen: FastMap<u32, Arc<str>>,
}

impl Texts<'_> {
    /// The string at `offset` of `.BTF`'s strings (an error past their end).
    fn get(&mut self, offset: u32) -> Result<Arc<str>> {
        if let Some(text) = self.seen.get(&offset) {
            return Ok(Arc::clone(text));
        }
        let text: Arc<str> = self.strings.checked_str(offset)?.into();
        self.seen.insert(offset, Arc::clone(&text));
        Ok(text)
    }
}

/// Records of one kind, as words.
#[derive(Debug, Clone, Default)]
pub struct Records {
    /// Words per record (`rec_size / 4`).
    pub words: usize,
    /// The records, `words` words each.
    pub data: Vec<u32>,
}

/// One ELF section's records of one kind, as the file holds them.
#[derive(Debug, Clone)]
pub struct RawSection {
    /// Which kind.
    pub kind: RecordKind,
    /// The section's name, as an offset into `.BTF`'s strings.
    pub name_off: u32,
    /// The records, every word kept (also words past those bpfgen knows).
    pub records: Records,
}

/// Reads every subsection of `.BTF.ext` bytes (either byte order), in file order. Each count
/// is checked against the bytes that are really there before anything is allocated; record
/// sizes must be whole words and at least the kind's minimum, as libbpf requires.
pub fn read_raw(bytes: &[u8]) -> Result<Vec<RawSection>> {
    let r = Reader::with_magic(bytes, "BTF.ext")?;
    let hdr_len = r.u32(4)? as usize;
    let mut out = Vec::new();
    for (index, kind) in RecordKind::ALL.into_iter().enumerate() {
        // Old headers end before the CO-RE fields; an absent subsection is empty.
        let field = 8 + 8 * index;
        if field + 8 > hdr_len {
            continue;
        }
        let off = r.u32(field)? as usize;
        let len = r.u32(field + 4)? as usize;
        if len == 0 {
            continue;
        }
        let start = hdr_len
            .checked_add(off)
            .ok_or_else(|| Error::input("invalid BTF.ext: offset overflows"))?;
        let body = r.part(start, len)?;
        let record_size = body.u32(0)? as usize;
        if record_size < 4 * kind.min_words() || !record_size.is_multiple_of(4) {
            return Err(Error::input(format!(
                "invalid BTF.ext: {} record size {record_size} is not a whole number of \
                 words of at least {}",
                kind.label(),
                4 * kind.min_words()
            )));
        }
        let mut at = 4;
        while at < body.len() {
            let name_off = body.u32(at)?;
            let count = body.u32(at + 4)? as usize;
            at += 8;
            let total = count.checked_mul(record_size).ok_or_else(|| {
                Error::input(format!("invalid BTF.ext: {count} records overflow"))
            })?;
            // Checked before any allocation: the records must really be there.
            body.slice(at, total)?;
            let mut data = Vec::with_capacity(total / 4);
            body.copy_words(at..at + total, &mut data);
            out.push(RawSection {
                kind,
                name_off,
                records: Records {
                    words: record_size / 4,
                    data,
                },
            });
            at += total;
        }
    }
    Ok(out)
}

/// Writes `.BTF.ext`: per kind, each section's records (sections in the order given), each
/// section named by the offset `name_off` gives for it (the caller adds the names to its
/// BTF's strings). Returns `None` when there are no records at all.
pub fn write_raw(
    sections: &[(&str, [&Records; 3])],
    mut name_off: impl FnMut(&str) -> u32,
    big_endian: bool,
) -> Option<Vec<u8>> {
    let mut body: Vec<u32> = Vec::new();
    let mut spans = [(0u32, 0u32); 3];
    for (index, span) in spans.iter_mut().enumerate() {
        let present: Vec<_> = sections
            .iter()
            .filter(|(_, records)| !records[index].data.is_empty())
            .collect();
        let Some((_, first)) = present.first() else {
            // An empty subsection starts where the previous one ended (as libbpf writes it).
            *span = (4 * body.len() as u32, 0);
            continue;
        };
        let start = body.len();
        body.push(4 * first[index].words as u32);
        for (name, records) in present {
            let records = records[index];
            body.push(name_off(name));
            body.push((records.data.len() / records.words) as u32);
            body.extend_from_slice(&records.data);
        }
        *span = (4 * start as u32, 4 * (body.len() - start) as u32);
    }
    if body.is_empty() {
        return None;
    }
    const HEADER_LEN: u32 = 32;
    let mut words = vec![HEADER_LEN];
    for (off, len) in spans {
        words.extend([off, len]);
    }
    let mut out = start_file(big_endian, 4 * (1 + words.len() + body.len()));
    push_words(&mut out, words.iter().chain(&body), big_endian);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Raw little-endian BTF with no types and the given string table.
    fn btf_with_strings(strings: &[u8]) -> Vec<u8> {
        let mut b = vec![0x9f, 0xeb, 1, 0];
        for v in [24u32, 0, 0, 0, strings.len() as u32] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(strings);
        b
    }

    fn ext_header(func: &[u8]) -> Vec<u8> {
        let mut b = vec![0x9f, 0xeb, 1, 0];
        for v in [32u32, 0, func.len() as u32, 0, 0, 0, 0] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(func);
        b
    }

    fn words(values: &[u32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn reads_func_records_per_section() {
        let btf = btf_with_strings(b"\0tp/x\0");
        let strings = TypeTable::from_bytes(&btf, None).unwrap();
        let ext = BtfExt::parse(&ext_header(&words(&[8, 1, 2, 0, 7, 16, 9])), &strings).unwrap();
        assert_eq!(ext.sections.len(), 1);
        assert_eq!(ext.sections[0].section, "tp/x");
        assert_eq!(ext.func_count(), 2);
        assert_eq!(
            ext.sections[0].funcs[1],
            FuncInfo {
                insn_off: 16,
                type_id: 9
            }
        );
    }

    #[test]
    fn huge_record_counts_fail_before_allocating() {
        let btf = btf_with_strings(b"\0tp/x\0");
        let strings = TypeTable::from_bytes(&btf, None).unwrap();
        let err = BtfExt::parse(&ext_header(&words(&[8, 1, u32::MAX])), &strings).unwrap_err();
        assert!(err.to_string().contains("run past the end"), "{err}");
    }

    #[test]
    fn bad_string_offsets_are_errors() {
        let btf = btf_with_strings(b"\0tp/x\0");
        let strings = TypeTable::from_bytes(&btf, None).unwrap();
        let err = BtfExt::parse(&ext_header(&words(&[8, 999, 0])), &strings).unwrap_err();
        assert!(err.to_string().contains("string offset 999"), "{err}");
    }
}
