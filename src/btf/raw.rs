//! BTF's record format: a [`Record`] is one type's words exactly as in the file, borrowed from
//! the [`TypeTable`](super::table::TypeTable) that holds them ([`RecordRef`]) or owned, to add
//! or change ([`RawType`]): every bit survives (kind flags, encodings, linkage), and the type
//! ids and string offsets inside can be visited and rewritten. Also the kind numbers, and
//! the start and words of a BTF file in either byte order.

use crate::error::Error;

/// BTF kind numbers (`BTF_KIND_*`), for matching on [`RawType::kind`].
pub mod kind {
    /// `BTF_KIND_INT`.
    pub const INT: u32 = 1;
    /// `BTF_KIND_PTR`.
    pub const PTR: u32 = 2;
    /// `BTF_KIND_ARRAY`.
    pub const ARRAY: u32 = 3;
    /// `BTF_KIND_STRUCT`.
    pub const STRUCT: u32 = 4;
    /// `BTF_KIND_UNION`.
    pub const UNION: u32 = 5;
    /// `BTF_KIND_ENUM`.
    pub const ENUM: u32 = 6;
    /// `BTF_KIND_FWD`.
    pub const FWD: u32 = 7;
    /// `BTF_KIND_TYPEDEF`.
    pub const TYPEDEF: u32 = 8;
    /// `BTF_KIND_VOLATILE`.
    pub const VOLATILE: u32 = 9;
    /// `BTF_KIND_CONST`.
    pub const CONST: u32 = 10;
    /// `BTF_KIND_RESTRICT`.
    pub const RESTRICT: u32 = 11;
    /// `BTF_KIND_FUNC`.
    pub const FUNC: u32 = 12;
    /// `BTF_KIND_FUNC_PROTO`.
    pub const FUNC_PROTO: u32 = 13;
    /// `BTF_KIND_VAR`.
    pub const VAR: u32 = 14;
    /// `BTF_KIND_DATASEC`.
    pub const DATASEC: u32 = 15;
    /// `BTF_KIND_FLOAT`.
    pub const FLOAT: u32 = 16;
    /// `BTF_KIND_DECL_TAG`.
    pub const DECL_TAG: u32 = 17;
    /// `BTF_KIND_TYPE_TAG`.
    pub const TYPE_TAG: u32 = 18;
    /// `BTF_KIND_ENUM64`.
    pub const ENUM64: u32 = 19;

    /// The kind's name as libbpf prints it (`btf_kind_str`).
    pub fn name(kind: u32) -> &'static str {
        const NAMES: [&str; 20] = [
            "void",
            "int",
            "ptr",
            "array",
            "struct",
            "union",
            "enum",
            "fwd",
            "typedef",
            "volatile",
            "const",
            "restrict",
            "func",
            "func_proto",
            "var",
            "datasec",
            "float",
            "decl_tag",
            "type_tag",
            "enum64",
        ];
        NAMES.get(kind as usize).copied().unwrap_or("unknown")
    }
}

/// One type record: its three header words and the words that follow them, either owned
/// ([`RawType`], to build and change BTF) or borrowed from a [`TypeTable`](super::table::TypeTable)
/// ([`RecordRef`], to read it without copying). Every bit of the record survives (kind flags,
/// encodings, linkage), and the accessors are the same for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<Words> {
    /// Offset of the name in the string section (0: anonymous).
    pub name_off: u32,
    /// Kind, vlen and kind flag.
    pub info: u32,
    /// A size or a type id, depending on the kind.
    pub size_or_type: u32,
    /// Everything after the header: an int's encoding, an array, members, enumerators,
    /// parameters, a variable's linkage, section entries.
    pub extra: Words,
}

/// A record to build or change: its words are its own.
pub type RawType = Record<Vec<u32>>;

/// A record read in place, from the table that holds its words.
pub type RecordRef<'a> = Record<&'a [u32]>;

impl<Words: AsRef<[u32]>> Record<Words> {
    /// The `BTF_KIND_*` number.
    pub fn kind(&self) -> u32 {
        (self.info >> 24) & 0x1f
    }

    /// The number of members, enumerators, parameters or section entries.
    pub fn vlen(&self) -> usize {
        (self.info & 0xffff) as usize
    }

    /// Whether the kind flag is set (bitfield offsets in structs, signed enums, ...).
    pub fn kind_flag(&self) -> bool {
        self.info >> 31 == 1
    }

    /// The words after the header, whichever way they are held.
    fn tail(&self) -> &[u32] {
        self.extra.as_ref()
    }

    /// The record borrowed.
    pub fn view(&self) -> RecordRef<'_> {
        Record {
            name_off: self.name_off,
            info: self.info,
            size_or_type: self.size_or_type,
            extra: self.extra.as_ref(),
        }
    }

    /// A copy with words of its own.
    pub fn to_raw(&self) -> RawType {
        Record {
            name_off: self.name_off,
            info: self.info,
            size_or_type: self.size_or_type,
            extra: self.extra.as_ref().to_vec(),
        }
    }

    /// The members of a struct or union: name offset, type id, bit offset and bitfield size.
    pub fn members(&self) -> impl Iterator<Item = (u32, u32, u32, u32)> + '_ {
        let flag = self.kind_flag();
        self.tail().chunks_exact(3).map(move |m| {
            let (bit_offset, bitfield_size) = if flag {
                (m[2] & 0xff_ffff, m[2] >> 24)
            } else {
                (m[2], 0)
            };
            (m[0], m[1], bit_offset, bitfield_size)
        })
    }

    /// Every string offset the record holds: its name, then its members', enumerators' or
    /// parameters' names (libbpf's `BTF_FIELD_ITER_STRS` order).
    pub fn string_offsets(&self) -> impl Iterator<Item = u32> + '_ {
        let entries = self
            .named_entry_stride()
            .map_or([].chunks_exact(1), |stride| {
                self.tail().chunks_exact(stride)
            });
        std::iter::once(self.name_off).chain(entries.map(|e| e[0]))
    }

    /// The words per entry of a kind whose entries start with a name (members, enumerators,
    /// parameters); `None` for kinds whose entries have none.
    fn named_entry_stride(&self) -> Option<usize> {
        match self.kind() {
            kind::STRUCT | kind::UNION | kind::ENUM64 => Some(3),
            kind::ENUM | kind::FUNC_PROTO => Some(2),
            _ => None,
        }
    }

    /// The type ids the record holds, in libbpf's order (`BTF_FIELD_ITER_IDS`), the order of
    /// [`RawType::visit_type_ids`].
    pub fn type_ids(&self) -> impl Iterator<Item = u32> + '_ {
        let (header, extra) = self.type_id_slots();
        let (first, end, stride) = extra.unwrap_or((0, 0, 1));
        header
            .then_some(self.size_or_type)
            .into_iter()
            .chain(self.tail()[first..end].iter().step_by(stride).copied())
    }

    /// Where the record's type ids are: whether the header's third word is one, and the
    /// first index, end and stride of those in `extra`.
    fn type_id_slots(&self) -> (bool, Option<(usize, usize, usize)>) {
        let all = self.tail().len();
        match self.kind() {
            kind::PTR
            | kind::TYPEDEF
            | kind::VOLATILE
            | kind::CONST
            | kind::RESTRICT
            | kind::FUNC
            | kind::VAR
            | kind::DECL_TAG
            | kind::TYPE_TAG => (true, None),
            // The element type and the index type.
            kind::ARRAY => (false, Some((0, all.min(2), 1))),
            kind::STRUCT | kind::UNION => (false, Some((1.min(all), all, 3))),
            kind::FUNC_PROTO => (true, Some((1.min(all), all, 2))),
            kind::DATASEC => (false, Some((0, all, 3))),
            _ => (false, None),
        }
    }
}

impl RawType {
    /// A struct or union header (no members yet) of `size` bytes.
    pub fn composite(union: bool, name_off: u32, size: u32) -> Self {
        let kind = if union { kind::UNION } else { kind::STRUCT };
        RawType {
            name_off,
            info: kind << 24,
            size_or_type: size,
            extra: Vec::new(),
        }
    }

    /// Appends a member to a struct or union, setting the kind flag when the member is a
    /// bitfield or starts inside a byte (libbpf's `btf__add_field`).
    pub fn push_member(
        &mut self,
        name_off: u32,
        type_id: u32,
        bit_offset: u32,
        bitfield_size: u32,
    ) {
        let bitfield = bitfield_size != 0 || !bit_offset.is_multiple_of(8);
        let vlen = self.vlen() as u32 + 1;
        let flag = if bitfield || self.kind_flag() {
            1 << 31
        } else {
            0
        };
        self.info = flag | (self.kind() << 24) | vlen;
        self.extra
            .extend([name_off, type_id, bit_offset | (bitfield_size << 24)]);
    }
}

impl<Words: AsRef<[u32]> + AsMut<[u32]>> Record<Words> {
    /// Calls `visit` on every type id the record holds, in libbpf's order
    /// (`BTF_FIELD_ITER_IDS`).
    pub fn visit_type_ids(&mut self, mut visit: impl FnMut(&mut u32)) {
        let (header, extra) = self.type_id_slots();
        if header {
            visit(&mut self.size_or_type);
        }
        if let Some((first, end, stride)) = extra {
            self.extra.as_mut()[first..end]
                .iter_mut()
                .step_by(stride)
                .for_each(visit);
        }
    }

    /// Calls `visit` on every string offset the record holds, in the order of
    /// [`Record::string_offsets`].
    pub fn visit_strings(&mut self, mut visit: impl FnMut(&mut u32)) {
        visit(&mut self.name_off);
        if let Some(stride) = self.named_entry_stride() {
            self.extra
                .as_mut()
                .chunks_exact_mut(stride)
                .for_each(|e| visit(&mut e[0]));
        }
    }
}

/// Appends `record`'s words to `words`, changed in place by `change` (names moved into
/// another string table, type ids mapped or blanked), with no record allocated for the copy:
/// the linker, min-CO-RE BTF and deduplication copy every type they keep. The copy keeps the
/// record's length.
pub fn append_changed(
    words: &mut Vec<u32>,
    record: RecordRef,
    change: impl FnOnce(&mut Record<&mut [u32]>),
) {
    let start = words.len();
    words.extend_from_slice(&[record.name_off, record.info, record.size_or_type]);
    words.extend_from_slice(record.extra);
    let (header, extra) = words[start..].split_at_mut(3);
    let mut copy = Record {
        name_off: header[0],
        info: header[1],
        size_or_type: header[2],
        extra,
    };
    change(&mut copy);
    header.copy_from_slice(&[copy.name_off, copy.info, copy.size_or_type]);
}

/// What [`TypeTable::record`](super::table::TypeTable::record) gives for `void` (kind 0, no words).
pub const VOID: RecordRef<'static> = Record {
    name_off: 0,
    info: 0,
    size_or_type: 0,
    extra: &[],
};

/// The error for an id past the last of `count` type ids (`void` included).
pub(super) fn out_of_range(id: u32, count: usize) -> Error {
    Error::input(format!(
        "invalid BTF: type id {id} out of range ({} types)",
        count - 1
    ))
}

/// The start of every `.BTF` and `.BTF.ext` file: magic 0xeb9f, version 1 and no flags in
/// the file's byte order; room for `capacity` bytes in all.
pub(super) fn start_file(big_endian: bool, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity);
    let magic: u16 = 0xeb9f;
    out.extend_from_slice(&if big_endian {
        magic.to_be_bytes()
    } else {
        magic.to_le_bytes()
    });
    out.extend_from_slice(&[1, 0]);
    out
}

/// Appends `words` to `out` in the file's byte order.
pub(super) fn push_words<'w>(
    out: &mut Vec<u8>,
    words: impl IntoIterator<Item = &'w u32>,
    big_endian: bool,
) {
    for &w in words {
        out.extend_from_slice(&if big_endian {
            w.to_be_bytes()
        } else {
            w.to_le_bytes()
        });
    }
}

/// Types the tests of several modules build BTF from.
#[cfg(test)]
pub(crate) mod test_types {
    use super::{RawType, kind};
    use crate::btf::table::TypeTable;

    /// Adds `int` (4 bytes, signed); returns its id.
    pub(crate) fn int(w: &mut TypeTable) -> u32 {
        let name = w.add_str("int");
        w.push(RawType {
            name_off: name,
            info: kind::INT << 24,
            size_or_type: 4,
            extra: vec![(1 << 24) | 32],
        })
        .unwrap()
    }

    /// Adds a pointer to type `to`; returns its id.
    pub(crate) fn pointer(w: &mut TypeTable, to: u32) -> u32 {
        reference(w, kind::PTR, to)
    }

    /// Adds an anonymous record of `kind` that only refers to type `to` (a pointer, a
    /// modifier, an unnamed typedef); returns its id.
    pub(crate) fn reference(w: &mut TypeTable, kind: u32, to: u32) -> u32 {
        w.push(RawType {
            name_off: 0,
            info: kind << 24,
            size_or_type: to,
            extra: Vec::new(),
        })
        .unwrap()
    }
}
