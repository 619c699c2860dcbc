//! `.BTF.ext`: per-section func info, line info and CO-RE relocation records, and the raw BTF
//! string table they point into.
//!
//! Every count read from the input is checked against the bytes that are really there before
//! anything is allocated, so a header claiming 2^32 records fails instead of exhausting memory.

use super::table::TypeTable;
use crate::diag::SourceLocation;
use crate::error::{Error, Result};

const BTF_MAGIC: u16 = 0xeb9f;

/// Byte order of BTF data, told by how its magic number reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Little,
    Big,
}

/// A bounds-checked reader over a byte slice in one byte order.
struct Reader<'a> {
    bytes: &'a [u8],
    order: Order,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Detects the byte order from a BTF magic number at the start of `bytes`.
    fn with_magic(bytes: &'a [u8], what: &'static str) -> Result<Self> {
        let order = match bytes.get(..2) {
            Some([0x9f, 0xeb]) => Order::Little,
            Some([0xeb, 0x9f]) => Order::Big,
            _ => return Err(Error::input(format!("invalid {what}: bad magic number"))),
        };
        let reader = Reader { bytes, order, what };
        debug_assert_eq!(reader.u16(0)?, BTF_MAGIC);
        Ok(reader)
    }

    fn slice(&self, at: usize, len: usize) -> Result<&'a [u8]> {
        at.checked_add(len)
            .and_then(|end| self.bytes.get(at..end))
            .ok_or_else(|| {
                Error::input(format!(
                    "invalid {}: {len} bytes at offset {at} run past the end ({} bytes)",
                    self.what,
                    self.bytes.len()
                ))
            })
    }

    fn u16(&self, at: usize) -> Result<u16> {
        let b: [u8; 2] = self.slice(at, 2)?.try_into().expect("slice of 2");
        Ok(match self.order {
            Order::Little => u16::from_le_bytes(b),
            Order::Big => u16::from_be_bytes(b),
        })
    }

    fn u32(&self, at: usize) -> Result<u32> {
        let b: [u8; 4] = self.slice(at, 4)?.try_into().expect("slice of 4");
        Ok(match self.order {
            Order::Little => u32::from_le_bytes(b),
            Order::Big => u32::from_be_bytes(b),
        })
    }
}

/// The string table of a `.BTF` section, for names that `.BTF.ext` records refer to.
pub struct BtfStrings<'a> {
    strings: &'a [u8],
}

impl<'a> BtfStrings<'a> {
    /// Locates the string table inside raw `.BTF` bytes.
    pub fn new(btf: &'a [u8]) -> Result<Self> {
        let r = Reader::with_magic(btf, "BTF")?;
        let hdr_len = r.u32(4)? as usize;
        let str_off = r.u32(16)? as usize;
        let str_len = r.u32(20)? as usize;
        let start = hdr_len
            .checked_add(str_off)
            .ok_or_else(|| Error::input("invalid BTF: string section offset overflows"))?;
        Ok(BtfStrings {
            strings: r.slice(start, str_len)?,
        })
    }

    /// The NUL-terminated string at `offset`.
    pub fn get(&self, offset: u32) -> Result<&'a str> {
        let tail = self.strings.get(offset as usize..).ok_or_else(|| {
            Error::input(format!(
                "invalid BTF: string offset {offset} out of range ({} bytes of strings)",
                self.strings.len()
            ))
        })?;
        let end = tail.iter().position(|&b| b == 0).ok_or_else(|| {
            Error::input(format!("invalid BTF: string at {offset} is not terminated"))
        })?;
        std::str::from_utf8(&tail[..end])
            .map_err(|_| Error::input(format!("invalid BTF: string at {offset} is not UTF-8")))
    }
}

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
    /// Source file name.
    pub file: String,
    /// Source line text (as clang recorded it).
    pub line_text: String,
    /// Line number.
    pub line: u32,
    /// Column.
    pub column: u32,
}

impl From<&LineInfo> for SourceLocation {
    /// The line a `.BTF.ext` line record names, with the text the object carries for it.
    fn from(record: &LineInfo) -> Self {
        SourceLocation {
            file: record.file.clone(),
            line: record.line,
            column: record.column,
            text: record.line_text.clone(),
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
    pub access: String,
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

    /// Parses `.BTF.ext` bytes, resolving names through the object's `.BTF` strings.
    pub fn parse(bytes: &[u8], strings: &BtfStrings<'_>) -> Result<Self> {
        let r = Reader::with_magic(bytes, "BTF.ext")?;
        let hdr_len = r.u32(4)? as usize;
        let mut ext = BtfExt::default();
        let subsections: [(usize, Kind); 3] =
            [(8, Kind::Func), (16, Kind::Line), (24, Kind::CoreRelo)];
        for (field, kind) in subsections {
            // Old headers end before the CO-RE fields; an absent subsection is empty.
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
            let body = r.slice(start, len)?;
            ext.read_subsection(
                Reader {
                    bytes: body,
                    order: r.order,
                    what: "BTF.ext",
                },
                kind,
                strings,
            )?;
        }
        Ok(ext)
    }

    fn read_subsection(&mut self, r: Reader<'_>, kind: Kind, strings: &BtfStrings) -> Result<()> {
        let record_size = r.u32(0)? as usize;
        if record_size < kind.min_record_size() {
            return Err(Error::input(format!(
                "invalid BTF.ext: {} record size {record_size} is smaller than {}",
                kind.label(),
                kind.min_record_size()
            )));
        }
        let mut at = 4;
        while at < r.bytes.len() {
            let section = strings.get(r.u32(at)?)?.to_string();
            let count = r.u32(at + 4)? as usize;
            at += 8;
            let total = count.checked_mul(record_size).ok_or_else(|| {
                Error::input(format!("invalid BTF.ext: {count} records overflow"))
            })?;
            // Checked before any allocation: the records must really be there.
            r.slice(at, total)?;
            let records = self.section_mut(section);
            for i in 0..count {
                let rec = at + i * record_size;
                kind.read(&r, rec, strings, records)?;
            }
            at += total;
        }
        Ok(())
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

#[derive(Clone, Copy)]
enum Kind {
    Func,
    Line,
    CoreRelo,
}

impl Kind {
    fn min_record_size(self) -> usize {
        match self {
            Kind::Func => 8,
            Kind::Line | Kind::CoreRelo => 16,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Func => "func info",
            Kind::Line => "line info",
            Kind::CoreRelo => "CO-RE relocation",
        }
    }

    fn read(
        self,
        r: &Reader,
        at: usize,
        strings: &BtfStrings,
        out: &mut SectionRecords,
    ) -> Result<()> {
        match self {
            Kind::Func => out.funcs.push(FuncInfo {
                insn_off: r.u32(at)?,
                type_id: r.u32(at + 4)?,
            }),
            Kind::Line => {
                let line_col = r.u32(at + 12)?;
                out.lines.push(LineInfo {
                    insn_off: r.u32(at)?,
                    file: strings.get(r.u32(at + 4)?)?.to_string(),
                    line_text: strings.get(r.u32(at + 8)?)?.to_string(),
                    line: line_col >> 10,
                    column: line_col & 0x3ff,
                });
            }
            Kind::CoreRelo => out.core_relos.push(CoreRelo {
                insn_off: r.u32(at)?,
                type_id: r.u32(at + 4)?,
                access: strings.get(r.u32(at + 8)?)?.to_string(),
                kind: r.u32(at + 12)?,
            }),
        }
        Ok(())
    }
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
        let strings = BtfStrings::new(&btf).unwrap();
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
        let strings = BtfStrings::new(&btf).unwrap();
        let err = BtfExt::parse(&ext_header(&words(&[8, 1, u32::MAX])), &strings).unwrap_err();
        assert!(err.to_string().contains("run past the end"), "{err}");
    }

    #[test]
    fn bad_string_offsets_are_errors() {
        let btf = btf_with_strings(b"\0tp/x\0");
        let strings = BtfStrings::new(&btf).unwrap();
        let err = BtfExt::parse(&ext_header(&words(&[8, 999, 0])), &strings).unwrap_err();
        assert!(err.to_string().contains("string offset 999"), "{err}");
    }
}
