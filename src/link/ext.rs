//! `.BTF.ext` as raw records for the linker: read per section with their record sizes, moved
//! (instruction offsets shifted, type ids and strings remapped), and written back
//! (`linker_append_btf_ext`, `finalize_btf_ext`).

use crate::btf::raw::{BtfWriter, RawBtf};

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

    fn min_words(self) -> usize {
        match self {
            RecordKind::Func => 2,
            RecordKind::Line | RecordKind::CoreRelo => 4,
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
}

/// The records of one kind for one section.
#[derive(Debug, Clone, Default)]
pub struct Records {
    /// Words per record (`rec_size / 4`).
    pub words: usize,
    /// The records, `words` words each.
    pub data: Vec<u32>,
}

/// A section's records of one kind, as read from an input.
pub struct SectionRecords {
    /// Which kind.
    pub kind: RecordKind,
    /// The section's name.
    pub section: String,
    /// The records.
    pub records: Records,
}

/// Reads every subsection of `.BTF.ext` bytes; section names come from `btf`'s strings.
pub fn read(bytes: &[u8], big_endian: bool, btf: &RawBtf) -> Result<Vec<SectionRecords>, String> {
    let word = |at: usize| -> Result<u32, String> {
        let b: [u8; 4] = bytes
            .get(at..at + 4)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| format!(".BTF.ext is truncated at byte {at}"))?;
        Ok(if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let header_len = word(4)? as usize;
    let mut out = Vec::new();
    for (index, kind) in RecordKind::ALL.into_iter().enumerate() {
        let field = 8 + 8 * index;
        if field + 8 > header_len {
            continue;
        }
        let (off, len) = (word(field)? as usize, word(field + 4)? as usize);
        if len == 0 {
            continue;
        }
        let start = header_len + off;
        let end = start + len;
        let record_size = word(start)? as usize;
        if !record_size.is_multiple_of(4) || record_size / 4 < kind.min_words() {
            return Err(format!(
                ".BTF.ext has invalid {kind:?} record size {record_size}"
            ));
        }
        let mut at = start + 4;
        while at < end {
            let section = String::from_utf8_lossy(btf.string(word(at)?)).into_owned();
            let count = word(at + 4)? as usize;
            at += 8;
            let total = count
                .checked_mul(record_size)
                .filter(|total| at + total <= end)
                .ok_or_else(|| format!(".BTF.ext records of '{section}' run past the end"))?;
            let data = (0..total / 4)
                .map(|i| word(at + 4 * i))
                .collect::<Result<_, _>>()?;
            out.push(SectionRecords {
                kind,
                section,
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

/// Writes `.BTF.ext`: per kind, each section's records (sections in the order given); section
/// names are added to `btf`'s strings. Returns `None` when there are no records at all.
pub fn write(
    sections: &[(&str, [&Records; 3])],
    btf: &mut BtfWriter,
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
            body.push(btf.add_str(name.as_bytes()));
            body.push((records.data.len() / records.words) as u32);
            body.extend_from_slice(&records.data);
        }
        *span = (4 * start as u32, 4 * (body.len() - start) as u32);
    }
    if body.is_empty() {
        return None;
    }
    const HEADER_LEN: u32 = 32;
    let mut words = vec![0, HEADER_LEN];
    for (off, len) in spans {
        words.extend([off, len]);
    }
    let mut out = Vec::with_capacity(4 * (words.len() + body.len()));
    let magic_version_flags: [u8; 4] = if big_endian {
        [0xeb, 0x9f, 1, 0]
    } else {
        [0x9f, 0xeb, 1, 0]
    };
    out.extend_from_slice(&magic_version_flags);
    for w in words[1..].iter().chain(&body) {
        out.extend_from_slice(&if big_endian {
            w.to_be_bytes()
        } else {
            w.to_le_bytes()
        });
    }
    Some(out)
}
