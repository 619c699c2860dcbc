//! BTF records and building BTF. A [`Record`] is one type's words exactly as in the file,
//! borrowed from the [`TypeTable`] that read them ([`RecordRef`]) or owned to be changed
//! ([`RawType`]): every bit survives (kind flags, encodings, linkage), and the type ids and
//! string offsets inside can be visited and rewritten. [`TypeRecords`] is what both the table
//! and the [`BtfWriter`] give, with the walks every user of BTF shares (`size_of`,
//! `skip_mods_and_typedefs`) written once over it. The writer builds new BTF as libbpf's
//! `btf__add_*` functions do: the linker's merged BTF, deduplication's output, min-CO-RE BTF.
//! As in the object crate, reading (the table, immutable and shared by threads) and building
//! (the writer) are two types over one record format.

use super::table::{HEADER_LEN, MAX_DEPTH, TypeTable, too_deep};
use crate::error::{Error, Result};
use crate::strtab::StringTable;

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
/// ([`RawType`], to build and change BTF) or borrowed from a [`TypeTable`]
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

    /// The words after the header.
    pub fn extra(&self) -> &[u32] {
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
        self.extra().chunks_exact(3).map(move |m| {
            let (bit_offset, bitfield_size) = if flag {
                (m[2] & 0xff_ffff, m[2] >> 24)
            } else {
                (m[2], 0)
            };
            (m[0], m[1], bit_offset, bitfield_size)
        })
    }

    /// The type ids the record holds, in libbpf's order (`BTF_FIELD_ITER_IDS`), the order of
    /// [`RawType::visit_type_ids`].
    pub fn type_ids(&self) -> impl Iterator<Item = u32> + '_ {
        let (header, extra) = self.type_id_slots();
        let (first, end, stride) = extra.unwrap_or((0, 0, 1));
        header
            .then_some(self.size_or_type)
            .into_iter()
            .chain(self.extra()[first..end].iter().step_by(stride).copied())
    }

    /// Where the record's type ids are: whether the header's third word is one, and the
    /// first index, end and stride of those in `extra`.
    fn type_id_slots(&self) -> (bool, Option<(usize, usize, usize)>) {
        let all = self.extra().len();
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

    /// Calls `visit` on every type id the record holds, in libbpf's order
    /// (`BTF_FIELD_ITER_IDS`).
    pub fn visit_type_ids(&mut self, mut visit: impl FnMut(&mut u32)) {
        let (header, extra) = self.type_id_slots();
        if header {
            visit(&mut self.size_or_type);
        }
        if let Some((first, end, stride)) = extra {
            self.extra[first..end]
                .iter_mut()
                .step_by(stride)
                .for_each(visit);
        }
    }

    /// Calls `visit` on every string offset the record holds: its name, then its members',
    /// enumerators' or parameters' names (`BTF_FIELD_ITER_STRS`).
    pub fn visit_strings(&mut self, mut visit: impl FnMut(&mut u32)) {
        visit(&mut self.name_off);
        let stride = match self.kind() {
            kind::STRUCT | kind::UNION | kind::ENUM64 => 3,
            kind::ENUM | kind::FUNC_PROTO => 2,
            _ => return,
        };
        self.extra
            .chunks_exact_mut(stride)
            .for_each(|e| visit(&mut e[0]));
    }
}

/// BTF types by id, however they are held: a [`TypeTable`] read from
/// a file, or a [`BtfWriter`] being built. The walks every BTF user needs are written here,
/// once, over the records (libbpf's rules, one depth limit).
pub trait TypeRecords {
    /// The record of type `id`: a record of kind 0 with no words for `void` (id 0), an error
    /// for an id past the last type.
    fn record(&self, id: u32) -> Result<RecordRef<'_>>;

    /// The string at `offset` of the string section (empty when out of range).
    fn string(&self, offset: u32) -> &[u8];

    /// Follows `const`, `volatile`, `restrict`, type tags and typedefs to the type they name
    /// (libbpf's `skip_mods_and_typedefs`).
    fn skip_mods_and_typedefs(&self, mut id: u32) -> Result<u32> {
        for _ in 0..MAX_DEPTH {
            let ty = self.record(id)?;
            match ty.kind() {
                kind::TYPEDEF | kind::VOLATILE | kind::CONST | kind::RESTRICT | kind::TYPE_TAG => {
                    id = ty.size_or_type
                }
                _ => return Ok(id),
            }
        }
        Err(too_deep(id))
    }

    /// The size in bytes of a value of type `id`, as `btf__resolve_size` computes it.
    fn size_of(&self, mut id: u32) -> Result<u64> {
        let mut count: u64 = 1;
        for _ in 0..MAX_DEPTH {
            let ty = self.record(id)?;
            let size = match ty.kind() {
                kind::INT
                | kind::FLOAT
                | kind::ENUM
                | kind::ENUM64
                | kind::STRUCT
                | kind::UNION
                | kind::DATASEC => ty.size_or_type,
                kind::PTR => 8,
                kind::ARRAY => {
                    let nelems = ty.extra().get(2).copied().unwrap_or(0);
                    count = count
                        .checked_mul(u64::from(nelems))
                        .ok_or_else(|| Error::input("invalid BTF: array size overflows"))?;
                    id = ty.extra().first().copied().unwrap_or(0);
                    continue;
                }
                kind::TYPEDEF
                | kind::VOLATILE
                | kind::CONST
                | kind::RESTRICT
                | kind::TYPE_TAG
                | kind::VAR
                | kind::DECL_TAG => {
                    id = ty.size_or_type;
                    continue;
                }
                _ => {
                    return Err(Error::input(format!(
                        "invalid BTF: type [{id}] has no size"
                    )));
                }
            };
            return u64::from(size)
                .checked_mul(count)
                .ok_or_else(|| Error::input("invalid BTF: type size overflows"));
        }
        Err(too_deep(id))
    }
}

/// What [`TypeRecords::record`] gives for `void` (kind 0, no words).
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

/// Builds new BTF: types appended in order, strings deduplicated (the first occurrence of a
/// string keeps its offset), as libbpf's `btf__add_*` functions build it, so that bpfgen's
/// output can equal libbpf's byte for byte.
#[derive(Debug, Clone)]
pub struct BtfWriter {
    types: Vec<RawType>,
    strings: StringTable,
    /// Whether every string was added by [`BtfWriter::add_str`], so that equal strings have
    /// equal offsets (not so for an object's string section taken as it is).
    unique_strings: bool,
}

impl Default for BtfWriter {
    fn default() -> Self {
        BtfWriter {
            types: Vec::new(),
            strings: StringTable::default(),
            unique_strings: true,
        }
    }
}

impl BtfWriter {
    /// The offset of `string` in the new string section, added if new (the empty string is 0).
    pub fn add_str(&mut self, string: &[u8]) -> u32 {
        self.strings.add(string)
    }

    /// Appends `ty` (whose string offsets must already be this writer's) and returns its id.
    pub fn push(&mut self, ty: RawType) -> u32 {
        self.types.push(ty);
        self.types.len() as u32
    }

    /// Copies `ty`, a record of `source` (a table read from a file, or another writer),
    /// moving its strings into this writer (libbpf's `btf__add_type`); type ids are copied as
    /// they are. Returns the new id.
    pub fn copy_from(&mut self, source: &impl TypeRecords, ty: RecordRef) -> u32 {
        let mut copy = ty.to_raw();
        copy.visit_strings(|offset| *offset = self.add_str(source.string(*offset)));
        self.push(copy)
    }

    /// The types added so far, for rewriting their type ids.
    pub fn types_mut(&mut self) -> &mut [RawType] {
        &mut self.types
    }

    /// This writer's strings (at the same offsets) with no types, for a writer that
    /// rebuilds the types.
    pub fn into_strings(self) -> BtfWriter {
        BtfWriter {
            types: Vec::new(),
            ..self
        }
    }

    /// The types added so far (id `n` at index `n - 1`).
    pub fn types(&self) -> &[RawType] {
        &self.types
    }

    /// The number of types (ids 1 to this).
    pub fn len(&self) -> u32 {
        self.types.len() as u32
    }

    /// Whether no type has been added.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    /// The type with id `id`; `None` for `void` (0) and ids past the end.
    pub fn get(&self, id: u32) -> Option<&RawType> {
        id.checked_sub(1).and_then(|i| self.types.get(i as usize))
    }

    /// The type with id `id`, to change in place.
    pub fn get_mut(&mut self, id: u32) -> Option<&mut RawType> {
        id.checked_sub(1)
            .and_then(|i| self.types.get_mut(i as usize))
    }

    /// Whether equal strings always have equal offsets (every string came through
    /// [`BtfWriter::add_str`]), so that offsets can be compared instead of strings.
    pub fn has_unique_strings(&self) -> bool {
        self.unique_strings
    }

    /// A writer holding all of `table`'s types and its string section as they are (so that
    /// the types can be changed, and new strings added after the old ones).
    pub fn from_table(table: &TypeTable) -> Self {
        let types = (1..table.len())
            .map(|id| table.record(id).map(|record| record.to_raw()))
            .collect::<Result<_>>()
            .expect("every id below the table's length has a record");
        BtfWriter {
            types,
            strings: StringTable::from_section(table.string_section().to_vec()),
            unique_strings: false,
        }
    }

    /// The raw BTF file: header, types, strings, in the given byte order.
    pub fn to_bytes(&self, big_endian: bool) -> Vec<u8> {
        let type_len: usize = self.types.iter().map(|t| 12 + 4 * t.extra.len()).sum();
        let mut out = start_file(
            big_endian,
            HEADER_LEN + type_len + self.strings.as_bytes().len(),
        );
        let type_len = type_len as u32;
        let header = [
            HEADER_LEN as u32,
            0,
            type_len,
            type_len,
            self.strings.as_bytes().len() as u32,
        ];
        push_words(&mut out, &header, big_endian);
        for ty in &self.types {
            push_words(
                &mut out,
                [ty.name_off, ty.info, ty.size_or_type]
                    .iter()
                    .chain(&ty.extra),
                big_endian,
            );
        }
        out.extend_from_slice(self.strings.as_bytes());
        out
    }
}

impl TypeRecords for BtfWriter {
    fn record(&self, id: u32) -> Result<RecordRef<'_>> {
        match id.checked_sub(1) {
            None => Ok(VOID),
            Some(index) => self
                .types
                .get(index as usize)
                .map(Record::view)
                .ok_or_else(|| out_of_range(id, self.types.len() + 1)),
        }
    }

    fn string(&self, offset: u32) -> &[u8] {
        self.strings.get(offset)
    }
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
    use super::{BtfWriter, RawType, kind};

    /// Adds `int` (4 bytes, signed); returns its id.
    pub(crate) fn int(w: &mut BtfWriter) -> u32 {
        let name = w.add_str(b"int");
        w.push(RawType {
            name_off: name,
            info: kind::INT << 24,
            size_or_type: 4,
            extra: vec![(1 << 24) | 32],
        })
    }

    /// Adds a pointer to type `to`; returns its id.
    pub(crate) fn pointer(w: &mut BtfWriter, to: u32) -> u32 {
        w.push(RawType {
            name_off: 0,
            info: kind::PTR << 24,
            size_or_type: to,
            extra: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::table::TypeTable;

    /// `int`, `struct s { int a; int b:3; }`, `enum e { X = 1 }`, `int *`.
    fn sample() -> BtfWriter {
        let mut w = BtfWriter::default();
        test_types::int(&mut w);
        let mut s = RawType::composite(false, w.add_str(b"s"), 8);
        let a = w.add_str(b"a");
        s.push_member(a, 1, 0, 0);
        let b = w.add_str(b"b");
        s.push_member(b, 1, 32, 3);
        w.push(s);
        let e = w.add_str(b"e");
        let x = w.add_str(b"X");
        w.push(RawType {
            name_off: e,
            info: (kind::ENUM << 24) | 1,
            size_or_type: 4,
            extra: vec![x, 1],
        });
        w.push(RawType {
            name_off: 0,
            info: kind::PTR << 24,
            size_or_type: 1,
            extra: Vec::new(),
        });
        w
    }

    #[test]
    fn the_table_reads_every_word_the_writer_wrote_in_both_byte_orders() {
        for big_endian in [false, true] {
            let bytes = sample().to_bytes(big_endian);
            let table = TypeTable::from_bytes(&bytes, None).unwrap();
            assert_eq!(table.big_endian(), big_endian);
            let types: Vec<RawType> = (1..table.len())
                .map(|id| table.record(id).unwrap().to_raw())
                .collect();
            assert_eq!(types, sample().types);
            assert_eq!(table.string_section(), b"\0int\0s\0a\0b\0e\0X\0");
            let s = table.get(2).unwrap();
            let b = &table.items(s)[1];
            assert_eq!(
                (table.name(b.name), b.bit_offset, b.bitfield_size),
                ("b", 32, 3)
            );
            // Lossless: the table written back is the same file.
            assert_eq!(BtfWriter::from_table(&table).to_bytes(big_endian), bytes);
        }
    }

    #[test]
    fn walks_give_the_same_answers_over_a_writer_and_a_table() {
        let mut w = sample();
        let int_id = 1;
        let constant = w.push(RawType {
            name_off: 0,
            info: kind::CONST << 24,
            size_or_type: int_id,
            extra: Vec::new(),
        });
        let array = w.push(RawType {
            name_off: 0,
            info: kind::ARRAY << 24,
            size_or_type: 0,
            extra: vec![constant, int_id, 5],
        });
        let table = TypeTable::from_bytes(&w.to_bytes(false), None).unwrap();
        for id in 0..=array {
            assert_eq!(
                w.skip_mods_and_typedefs(id).ok(),
                table.skip_mods_and_typedefs(id).ok()
            );
            assert_eq!(w.size_of(id).ok(), table.size_of(id).ok(), "type [{id}]");
        }
        assert_eq!(table.size_of(array).unwrap(), 20);
        assert_eq!(w.skip_mods_and_typedefs(constant).unwrap(), int_id);
        assert_eq!(w.record(0).unwrap(), VOID);
        assert!(w.record(array + 1).is_err() && table.record(array + 1).is_err());
    }

    #[test]
    fn a_bitfield_member_sets_the_kind_flag_and_strings_are_shared() {
        let mut w = sample();
        assert!(w.types_mut()[1].kind_flag());
        assert_eq!(w.add_str(b"int"), 1);
        assert_eq!(w.add_str(b""), 0);
        let members: Vec<_> = w.types_mut()[1].members().collect();
        assert_eq!(members, [(7, 1, 0, 0), (9, 1, 32, 3)]);
    }

    #[test]
    fn visits_ids_and_strings_in_libbpf_order() {
        let mut w = sample();
        let mut ids = Vec::new();
        for ty in w.types_mut() {
            ty.visit_type_ids(|id| ids.push(*id));
        }
        assert_eq!(ids, [1, 1, 1]);
        let mut names = Vec::new();
        w.types_mut()[2].visit_strings(|s| names.push(*s));
        assert_eq!(names, [11, 13]);
    }

    #[test]
    fn copies_types_with_their_strings() {
        let source_bytes = sample().to_bytes(false);
        let source = TypeTable::from_bytes(&source_bytes, None).unwrap();
        let mut w = BtfWriter::default();
        w.add_str(b"X");
        let id = w.copy_from(&source, source.record(3).unwrap());
        assert_eq!(id, 1);
        let enum_type = w.record(1).unwrap();
        assert_eq!(w.string(enum_type.name_off), b"e");
        assert_eq!(w.string(enum_type.extra[0]), b"X");
    }
}
