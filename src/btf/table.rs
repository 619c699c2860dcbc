//! The one BTF model: a compact, indexable, lossless copy of a whole BTF. Raw bytes (both
//! byte orders, split BTF on top of a base) are read once into flat vectors: every record's
//! words as they are, and the types decoded, so that passes over all of a kernel's types
//! (vmlinux.h generation) cost one lookup per visit. Names stay offsets into one validated
//! string buffer instead of an allocation each. Every count and offset is checked against
//! the input before anything is allocated or read. The same table is built type by type
//! (the linker's merged BTF, deduplication's, min-CO-RE BTF), changed in place, and written
//! back byte for byte as libbpf writes it; a table built or changed decodes its types only
//! when something reads them.

use super::raw::{
    RawType, Record, RecordRef, VOID, append_changed, kind, out_of_range, push_words, start_file,
};
use super::reader::Reader;
use crate::error::{Error, Result};
use crate::strtab::StringTable;
use std::ops::Range;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

/// What a type is, with the fields that matter to C code generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `void` (id 0 only).
    Void,
    /// An integer; the name says which.
    Int {
        /// Whether the encoding has `BTF_INT_SIGNED`.
        signed: bool,
    },
    /// A floating point type.
    Float,
    /// A pointer to `target`.
    Ptr,
    /// `nelems` elements of `target`.
    Array {
        /// Number of elements.
        nelems: u32,
    },
    /// A struct; members in `items`.
    Struct,
    /// A union; members in `items`.
    Union,
    /// An enum; enumerators in `items`.
    Enum {
        /// Whether values are signed.
        signed: bool,
    },
    /// A 64-bit enum; enumerators in `items`.
    Enum64 {
        /// Whether values are signed.
        signed: bool,
    },
    /// A forward declaration.
    Fwd {
        /// `union` rather than `struct`.
        union: bool,
    },
    /// A typedef of `target`.
    Typedef,
    /// `const target`.
    Const,
    /// `volatile target`.
    Volatile,
    /// `restrict target`.
    Restrict,
    /// A type tag on `target`.
    TypeTag {
        /// Printed as a plain attribute rather than `btf_type_tag`.
        attribute: bool,
    },
    /// A function prototype returning `target`; parameters in `items`.
    FuncProto,
    /// A function of prototype `target`.
    Func,
    /// A variable of type `target`.
    Var,
    /// A data section.
    Datasec,
    /// A declaration tag.
    DeclTag,
}

/// Linkage of a `VAR` or `FUNC`, as libbpf reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Linkage {
    /// `static`: never exposed through a skeleton (also what every other kind has).
    #[default]
    Static,
    /// A global defined in this object.
    Global,
    /// An `extern` declaration (`__kconfig`, `__ksym`, or one a later link resolves).
    Extern,
}

impl Linkage {
    /// The C keyword for it, as reports spell it: `static`, `global` or `extern`.
    pub fn name(self) -> &'static str {
        match self {
            Linkage::Static => "static",
            Linkage::Global => "global",
            Linkage::Extern => "extern",
        }
    }

    /// BTF's encoding (`BTF_VAR_*`, `BTF_FUNC_*`: 0 static, 1 global, 2 extern; libbpf
    /// treats anything else as global too, and the kernel refuses it).
    fn from_btf(value: u32) -> Self {
        match value {
            0 => Linkage::Static,
            2 => Linkage::Extern,
            _ => Linkage::Global,
        }
    }
}

/// A name in the table's string buffer, its length found once when the BTF was read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Name {
    offset: u32,
    len: u32,
    identifier: bool,
}

impl Name {
    /// Whether the name is a valid C identifier (checked once, when the BTF was read).
    pub fn is_identifier(self) -> bool {
        self.identifier
    }
}

/// One type.
#[derive(Debug, Clone)]
pub struct Ty {
    /// What it is.
    pub kind: Kind,
    /// Its name, for [`TypeTable::name`].
    pub name: Name,
    /// Size in bytes, for sized kinds.
    pub size: u32,
    /// The type it refers to (pointee, element, typedef target, return type, ...).
    pub target: u32,
    /// Its members, enumerators, parameters or DATASEC entries, as a range of
    /// [`TypeTable::items`].
    pub items: Range<u32>,
    /// For a `VAR` or `FUNC`, its linkage; [`Linkage::Static`] for every other kind.
    pub linkage: Linkage,
}

/// A member, enumerator, parameter or DATASEC entry.
#[derive(Debug, Clone)]
pub struct Item {
    /// Its name, for [`TypeTable::name`] (none for DATASEC entries: the VAR has it).
    pub name: Name,
    /// Member or parameter type, or a DATASEC entry's VAR (0 for enumerators, and for a
    /// trailing `...`).
    pub target: u32,
    /// Member offset in bits; a DATASEC entry's offset in bytes.
    pub bit_offset: u32,
    /// Bitfield width in bits; 0 when not a bitfield.
    pub bitfield_size: u32,
    /// Enumerator value (as unsigned bits); a DATASEC entry's size in bytes.
    pub value: u64,
}

/// Every type of a BTF, by id (id 0 is `void`): each record's words exactly as the file has
/// them ([`TypeTable::record`], for copying and for libbpf's walks), and the same types
/// decoded ([`TypeTable::get`], [`TypeTable::items`]) for the passes over a whole kernel.
/// Read from bytes ([`TypeTable::from_bytes`]) or built ([`TypeTable::new`],
/// [`TypeTable::push`], [`TypeTable::update`]), and written back ([`TypeTable::to_bytes`]).
pub struct TypeTable {
    /// Every record's words, in the host's byte order, one after the other in id order.
    words: Vec<u32>,
    /// Where each id's record starts in `words` (`void`'s is empty); it ends where the next
    /// one starts.
    starts: Vec<u32>,
    strings: StringTable,
    /// Whether every string was added by [`TypeTable::add_str`], so that equal strings have
    /// equal offsets (not so for a BTF read from a file).
    unique_strings: bool,
    /// Whether the BTF was big-endian (the byte order to write what is made of it in).
    big_endian: bool,
    /// The types decoded: made while reading bytes, and on the first read of a table built
    /// or changed since (building only checks each record, so that the linker, dedup and
    /// min-CO-RE BTF, which walk records, decode nothing).
    decoded: OnceLock<Decoded>,
}

/// The decoded view of a [`TypeTable`]'s records.
struct Decoded {
    types: Vec<Ty>,
    items: Vec<Item>,
    /// `align_of` results by id (0: not computed yet): header generation asks for the
    /// alignment of the same kernel types over and over. Atomic so that a table is shared
    /// by threads (parallel checks): every thread computes the same value for an id, so
    /// relaxed stores and loads race harmlessly. A change to the table drops them with the
    /// rest of the view.
    aligns: Vec<AtomicU8>,
}

/// How long a chain of modifiers, typedefs, arrays and nested members may be before it is
/// called a cycle: the one limit of every walk over BTF (the table's, the C and Rust
/// writers', the subskeleton's). Not CO-RE's own limit of 32 levels (`btf::core`, libbpf's
/// rule), nor the skeleton's bound on a walk that branches (`skel::c`).
pub(crate) const MAX_DEPTH: usize = 512;

/// Length of the BTF header this crate writes (and the least it reads).
pub(super) const HEADER_LEN: usize = 24;

/// For each byte: 1 if it may start a C identifier, 2 if it may only continue one, 0 if not.
const IDENT_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphabetic() || c == b'_' {
            1
        } else if c.is_ascii_digit() {
            2
        } else {
            0
        };
        b += 1;
    }
    table
};
/// The kernel's own limit on BTF type ids (`BTF_MAX_TYPE`); BTF with more types is not BTF.
pub const MAX_TYPES: usize = 0x000f_ffff;

impl TypeTable {
    /// Indexes raw BTF bytes; `base` is the base BTF of split (module) BTF.
    pub fn from_bytes(bytes: &[u8], base: Option<&[u8]>) -> Result<Self> {
        let mut table = TypeTable::with_strings(StringTable::read(""));
        table.unique_strings = false;
        let mut decoded = Decoded::of_void();
        if let Some(base) = base {
            table.append(base, &mut decoded)?;
        }
        table.append(bytes, &mut decoded)?;
        decoded.check_references()?;
        table.decoded = OnceLock::from(decoded.with_aligns());
        Ok(table)
    }

    /// Adds the types and strings of one BTF blob (a base, or split BTF on top of it),
    /// decoding each type into `decoded` as it is read.
    fn append(&mut self, bytes: &[u8], decoded: &mut Decoded) -> Result<()> {
        let r = Reader::btf(bytes)?;
        let (types, strings) = r.btf_sections()?;
        let strings = std::str::from_utf8(&bytes[strings])
            .map_err(|_| Error::input("invalid BTF: strings are not UTF-8"))?;
        if !strings.is_empty() && !strings.ends_with('\0') {
            return Err(Error::input(
                "invalid BTF: string section is not NUL-terminated",
            ));
        }
        // Split BTF numbers its strings on from the base's: one buffer, one offset space.
        self.strings.append_section(strings);
        self.big_endian = r.big_endian;
        // The whole type section becomes words once; records are read from those.
        let first_word = self.words.len();
        r.copy_words(types.clone(), &mut self.words);
        let mut at = 0;
        while at < types.len() {
            let id = self.starts.len();
            if id > MAX_TYPES {
                return Err(Error::input(format!(
                    "invalid BTF: more than {MAX_TYPES} types (the kernel's limit)"
                )));
            }
            self.read_type(first_word, &mut at, types.len())
                .and_then(|words| decoded.add(record_in(&self.words[words]), self.strings.as_str()))
                .map_err(|e| Error::input(format!("{} (type [{id}])", e.message())))?;
        }
        Ok(())
    }

    /// Finds the record `at` bytes into a type section of `len` bytes whose words start at
    /// `first_word` (its length checked: decoding checks the rest), moves `at` past it, and
    /// returns where its words are.
    fn read_type(&mut self, first_word: usize, at: &mut usize, len: usize) -> Result<Range<usize>> {
        if len - *at < 12 {
            return Err(Error::input(format!(
                "invalid BTF: {} bytes at the end of the type section, not a whole type",
                len - *at
            )));
        }
        // Records are whole words, so `at` is a multiple of 4.
        let start = first_word + *at / 4;
        let tail = tail_len(self.words[start + 1])?;
        if len - *at - 12 < tail {
            return Err(Error::input(format!(
                "invalid BTF: {tail} bytes of type data run past the type section"
            )));
        }
        self.starts.push(start as u32);
        *at += 12 + tail;
        Ok(start..start + 3 + tail / 4)
    }

    /// The text of a name (from [`Ty::name`] or [`Item::name`]).
    pub fn name(&self, name: Name) -> &str {
        let start = name.offset as usize;
        self.strings
            .as_str()
            .get(start..start + name.len as usize)
            .unwrap_or("")
    }

    /// The type with `id`.
    #[inline]
    pub fn get(&self, id: u32) -> Result<&Ty> {
        self.decoded().get(id)
    }

    /// The members, enumerators, parameters or DATASEC entries of `ty`.
    #[inline]
    pub fn items(&self, ty: &Ty) -> &[Item] {
        self.decoded().items(ty)
    }

    /// The name of the type with `id`; empty for anonymous types and `void`.
    pub fn type_name(&self, id: u32) -> Result<&str> {
        Ok(self.name(self.get(id)?.name))
    }

    /// The `DATASEC` named `name` (".bss", ".maps", ".kconfig", ...), with its id.
    pub fn find_datasec(&self, name: &str) -> Option<(u32, &Ty)> {
        let decoded = self.decoded();
        (1..self.len())
            .map(|id| (id, &decoded.types[id as usize]))
            .find(|(_, ty)| ty.kind == Kind::Datasec && self.name(ty.name) == name)
    }

    /// The string at `offset`, for names that refer into the string section from outside
    /// (`.BTF.ext` records); an offset past the end is an error.
    pub fn checked_str(&self, offset: u32) -> Result<&str> {
        let strings = self.strings.as_str();
        if offset as usize >= strings.len() {
            return Err(Error::input(format!(
                "invalid BTF: string offset {offset} out of range ({} bytes of strings)",
                strings.len()
            )));
        }
        Ok(self.strings.get(offset))
    }

    /// Whether the BTF was big-endian.
    pub fn big_endian(&self) -> bool {
        self.big_endian
    }

    /// Number of type ids, `void` included.
    pub fn len(&self) -> u32 {
        self.starts.len() as u32
    }

    /// Whether only `void` is there.
    pub fn is_empty(&self) -> bool {
        self.starts.len() <= 1
    }

    /// The alignment of type `id`, as `btf__align_of` computes it (packed structs give 1).
    pub fn align_of(&self, id: u32) -> Result<u32> {
        self.decoded().align_of_depth(id, 0)
    }

    /// Whether a struct or union needs `__attribute__((packed))`: a non-bitfield member off
    /// its natural alignment, or a size that is not a multiple of the largest alignment
    /// (libbpf's `btf_is_struct_packed`, applied to unions too).
    pub fn is_packed(&self, ty: &Ty) -> Result<bool> {
        Ok(self.decoded().layout(ty, 0)?.0)
    }

    /// The decoded view, made now if the table was built or changed since it was last read.
    #[inline]
    fn decoded(&self) -> &Decoded {
        match self.decoded.get() {
            Some(decoded) => decoded,
            None => self.decode_all(),
        }
    }

    /// Decodes every record into the view (kept out of line: readers of a table read from
    /// bytes never come here).
    #[cold]
    #[inline(never)]
    fn decode_all(&self) -> &Decoded {
        self.decoded.get_or_init(|| {
            let mut decoded = Decoded::of_void();
            for (_, record) in self.records() {
                decoded
                    .add(record, self.strings.as_str())
                    .expect("a record pushed or changed was checked (check_record)");
            }
            decoded.with_aligns()
        })
    }
}

impl Decoded {
    /// The view of a table of only `void`.
    fn of_void() -> Self {
        Decoded {
            types: vec![Ty {
                kind: Kind::Void,
                name: Name::default(),
                size: 0,
                target: 0,
                items: 0..0,
                linkage: Linkage::Static,
            }],
            items: Vec::new(),
            aligns: Vec::new(),
        }
    }

    /// The finished view: a slot for each type's alignment, found when first asked for.
    fn with_aligns(mut self) -> Self {
        self.aligns = (0..self.types.len()).map(|_| AtomicU8::new(0)).collect();
        self
    }

    /// Decodes `record` (whose length was checked) as the next type.
    fn add(&mut self, record: RecordRef, strings: &str) -> Result<()> {
        let ty = decode(record, strings, &mut self.items)?;
        self.types.push(ty);
        Ok(())
    }

    fn get(&self, id: u32) -> Result<&Ty> {
        self.types
            .get(id as usize)
            .ok_or_else(|| out_of_range(id, self.types.len()))
    }

    fn items(&self, ty: &Ty) -> &[Item] {
        &self.items[ty.items.start as usize..ty.items.end as usize]
    }

    fn align_of_depth(&self, id: u32, depth: usize) -> Result<u32> {
        if depth > MAX_DEPTH {
            return Err(too_deep(id));
        }
        if let Some(cached) = self
            .aligns
            .get(id as usize)
            .map(|slot| slot.load(Ordering::Relaxed))
            .filter(|&a| a != 0)
        {
            return Ok(u32::from(cached));
        }
        let ty = self.get(id)?;
        let align = match ty.kind {
            Kind::Int { .. } | Kind::Float | Kind::Enum { .. } | Kind::Enum64 { .. } => {
                ty.size.clamp(1, 8)
            }
            Kind::Ptr => 8,
            Kind::Array { .. }
            | Kind::Typedef
            | Kind::Const
            | Kind::Volatile
            | Kind::Restrict
            | Kind::TypeTag { .. } => self.align_of_depth(ty.target, depth + 1)?,
            Kind::Struct | Kind::Union => match self.layout(ty, depth)? {
                (true, _) => 1,
                (false, max_align) => max_align,
            },
            // Forward declarations and void have no layout; libbpf reports an error, and
            // such a member cannot occur in valid BTF. Treat them as byte-aligned.
            _ => 1,
        };
        if let Some(slot) = self.aligns.get(id as usize) {
            slot.store(align.min(8) as u8, Ordering::Relaxed);
        }
        Ok(align)
    }

    /// (packed, largest member alignment) of a struct or union.
    fn layout(&self, ty: &Ty, depth: usize) -> Result<(bool, u32)> {
        let mut max_align = 1;
        let mut packed = false;
        for item in self.items(ty) {
            let align = self.align_of_depth(item.target, depth + 1)?;
            max_align = max_align.max(align);
            if item.bitfield_size == 0 && item.bit_offset % (8 * align) != 0 {
                packed = true;
            }
        }
        Ok((packed || !ty.size.is_multiple_of(max_align), max_align))
    }

    /// Every referenced id must exist: later passes index without checking.
    fn check_references(&self) -> Result<()> {
        let max = self.types.len() as u32;
        for (id, ty) in self.types.iter().enumerate() {
            let refs_item = !matches!(ty.kind, Kind::Enum { .. } | Kind::Enum64 { .. });
            let bad_item = refs_item && self.items(ty).iter().any(|item| item.target >= max);
            if ty.target >= max || bad_item {
                return Err(Error::input(format!(
                    "invalid BTF: type [{id}] refers to a type id out of range ({} types)",
                    max - 1
                )));
            }
        }
        Ok(())
    }
}

/// The error for a chain of types deeper than [`MAX_DEPTH`], which only a cycle produces.
pub(crate) fn too_deep(id: u32) -> Error {
    Error::input(format!(
        "invalid BTF: type chain from [{id}] is deeper than {MAX_DEPTH} (a cycle?)"
    ))
}

/// Building BTF: types appended in order and changed in place, strings added once (the first
/// occurrence of a string keeps its offset), as libbpf's `btf__add_*` functions build it, so
/// that what bpfgen writes can equal libbpf's byte for byte. Every record added or changed is
/// checked as a record read is, and the decoded view is made again when next read, so the
/// table reads the same as one read from the bytes it writes.
impl TypeTable {
    /// A table of only `void`, with `strings`.
    fn with_strings(strings: StringTable) -> Self {
        TypeTable {
            words: Vec::new(),
            starts: vec![0],
            strings,
            unique_strings: true,
            big_endian: false,
            decoded: OnceLock::new(),
        }
    }

    /// An empty BTF to build: only `void` and the empty string.
    pub fn new() -> Self {
        TypeTable::with_strings(StringTable::default())
    }

    /// The offset of `string` in the string section, added if new (the empty string is 0).
    pub fn add_str(&mut self, string: &str) -> u32 {
        self.strings.add(string)
    }

    /// Appends `ty` (whose string offsets must already be this table's; its type ids may
    /// refer to types added later) and returns its id.
    pub fn push(&mut self, ty: RawType) -> Result<u32> {
        check_record(ty.view(), self.strings.as_str())?;
        self.starts.push(self.words.len() as u32);
        self.words.extend(
            [ty.name_off, ty.info, ty.size_or_type]
                .iter()
                .chain(&ty.extra),
        );
        self.decoded.take();
        Ok(self.starts.len() as u32 - 1)
    }

    /// Copies `ty`, a record of `source`, moving its strings into this table (libbpf's
    /// `btf__add_type`) and passing each type id it holds through `retype`, which gives the
    /// copy's ids in this table (`|_| {}` keeps them). Returns the new id. The copy is made
    /// in place ([`append_changed`]). It needs no check: `source` checked the record when it
    /// got it, and its names are added here.
    pub fn copy_from(
        &mut self,
        source: &TypeTable,
        ty: RecordRef,
        retype: impl FnMut(&mut u32),
    ) -> u32 {
        let start = self.words.len();
        append_changed(&mut self.words, ty, |copy| {
            copy.visit_strings(|offset| *offset = self.strings.add(source.string(*offset)));
            copy.visit_type_ids(retype);
        });
        self.starts.push(start as u32);
        self.decoded.take();
        self.starts.len() as u32 - 1
    }

    /// Changes type `id` in place with `change`, which keeps the record's length (a count,
    /// an offset, a type id, a name: what linking changes).
    pub fn update(&mut self, id: u32, change: impl FnOnce(&mut RawType)) -> Result<()> {
        let mut ty = self.record(id)?.to_raw();
        let len = ty.extra.len();
        change(&mut ty);
        assert_eq!(ty.extra.len(), len, "a change keeps the record's length");
        check_record(ty.view(), self.strings.as_str())?;
        let start = self.starts[id as usize] as usize;
        let words = &mut self.words[start..start + 3 + len];
        words[..3].copy_from_slice(&[ty.name_off, ty.info, ty.size_or_type]);
        words[3..].copy_from_slice(&ty.extra);
        self.decoded.take();
        Ok(())
    }

    /// This table with only the `kept` types, in that order, each type id they hold passed
    /// through `retype`; the strings keep their offsets (libbpf's dedup leaves the string
    /// section as it is, and the output can be byte-identical to bpftool's). What
    /// deduplication leaves. The records were checked when this table got them.
    pub fn retain(self, kept: &[u32], mut retype: impl FnMut(&mut u32)) -> Result<TypeTable> {
        let mut out = TypeTable {
            unique_strings: self.unique_strings,
            ..TypeTable::with_strings(StringTable::default())
        };
        for &id in kept {
            out.starts.push(out.words.len() as u32);
            append_changed(&mut out.words, self.record(id)?, |ty| {
                ty.visit_type_ids(&mut retype)
            });
        }
        out.strings = self.strings;
        Ok(out)
    }

    /// Whether equal strings always have equal offsets (every string came through
    /// [`TypeTable::add_str`]), so that offsets can be compared instead of strings.
    pub fn has_unique_strings(&self) -> bool {
        self.unique_strings
    }

    /// The raw BTF file: header, types, strings, in the given byte order.
    pub fn to_bytes(&self, big_endian: bool) -> Vec<u8> {
        let strings = self.strings.as_str().as_bytes();
        let type_len = 4 * self.words.len();
        let mut out = start_file(big_endian, HEADER_LEN + type_len + strings.len());
        let type_len = type_len as u32;
        let header = [
            HEADER_LEN as u32,
            0,
            type_len,
            type_len,
            strings.len() as u32,
        ];
        push_words(&mut out, &header, big_endian);
        push_words(&mut out, &self.words, big_endian);
        out.extend_from_slice(strings);
        out
    }
}

impl Default for TypeTable {
    fn default() -> Self {
        TypeTable::new()
    }
}

/// Reading records and walking types.
impl TypeTable {
    /// The record of type `id`, its words as the file has them: a record of kind 0 with no
    /// words for `void` (id 0), an error for an id past the last type.
    #[inline]
    pub fn record(&self, id: u32) -> Result<RecordRef<'_>> {
        let Some(&start) = self.starts.get(id as usize) else {
            return Err(out_of_range(id, self.starts.len()));
        };
        let end = self
            .starts
            .get(id as usize + 1)
            .map_or(self.words.len(), |&end| end as usize);
        // `void`'s record is empty: it starts where the first type's does.
        Ok(record_in(&self.words[start as usize..end]))
    }

    /// Every type's record with its id, `void` left out.
    pub fn records(&self) -> impl Iterator<Item = (u32, RecordRef<'_>)> + '_ {
        (1..self.len()).map(|id| {
            (
                id,
                self.record(id).expect("every id below len has a record"),
            )
        })
    }

    /// The string at `offset` of the string section (empty when out of range).
    pub fn string(&self, offset: u32) -> &str {
        self.strings.get(offset)
    }

    /// Follows `const`, `volatile`, `restrict`, type tags and typedefs to the type they name
    /// (libbpf's `skip_mods_and_typedefs`).
    pub fn skip_mods_and_typedefs(&self, mut id: u32) -> Result<u32> {
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
    pub fn size_of(&self, mut id: u32) -> Result<u64> {
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
                    let nelems = ty.extra.get(2).copied().unwrap_or(0);
                    count = count
                        .checked_mul(u64::from(nelems))
                        .ok_or_else(|| Error::input("invalid BTF: array size overflows"))?;
                    id = ty.extra.first().copied().unwrap_or(0);
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

/// The record whose words are `words` (`void`'s when there are none).
fn record_in(words: &[u32]) -> RecordRef<'_> {
    match words {
        [name_off, info, size_or_type, extra @ ..] => Record {
            name_off: *name_off,
            info: *info,
            size_or_type: *size_or_type,
            extra,
        },
        _ => VOID,
    }
}

/// Checks a record added or changed: its length must be what its kind and count say, and
/// each of its names must start inside `strings` (the table's string buffer), at a character
/// boundary, as [`decode`] checks a record read. What passes decodes without error.
fn check_record(record: RecordRef, strings: &str) -> Result<()> {
    let tail = tail_len(record.info)?;
    if 4 * record.extra.len() != tail {
        return Err(Error::input(format!(
            "invalid BTF: a {} record with {} bytes of type data, not {tail}",
            kind::name(record.kind()),
            4 * record.extra.len()
        )));
    }
    match record
        .string_offsets()
        .find(|&offset| strings.get(offset as usize..).is_none())
    {
        Some(offset) => Err(name_out_of_range(offset)),
        None => Ok(()),
    }
}

/// Decodes one record (whose length was checked) into a [`Ty`], its entries appended to
/// `items`; `strings` is the table's string buffer, which the names are checked against.
fn decode(record: RecordRef, strings: &str, items: &mut Vec<Item>) -> Result<Ty> {
    let kind_flag = record.kind_flag();
    let extra = record.extra;
    let start = items.len() as u32;
    let mut ty = Ty {
        kind: match record.kind() {
            kind::INT => Kind::Int {
                signed: extra[0] & (1 << 24) != 0,
            },
            kind::PTR => Kind::Ptr,
            kind::ARRAY => Kind::Array { nelems: extra[2] },
            kind::STRUCT => Kind::Struct,
            kind::UNION => Kind::Union,
            kind::ENUM => Kind::Enum { signed: kind_flag },
            kind::FWD => Kind::Fwd { union: kind_flag },
            kind::TYPEDEF => Kind::Typedef,
            kind::VOLATILE => Kind::Volatile,
            kind::CONST => Kind::Const,
            kind::RESTRICT => Kind::Restrict,
            kind::FUNC => Kind::Func,
            kind::FUNC_PROTO => Kind::FuncProto,
            kind::VAR => Kind::Var,
            kind::DATASEC => Kind::Datasec,
            kind::FLOAT => Kind::Float,
            kind::DECL_TAG => Kind::DeclTag,
            kind::TYPE_TAG => Kind::TypeTag {
                attribute: kind_flag,
            },
            _ => Kind::Enum64 { signed: kind_flag },
        },
        name: measure_name(strings, record.name_off)?,
        size: record.size_or_type,
        target: 0,
        items: start..start,
        linkage: Linkage::Static,
    };
    match ty.kind {
        Kind::Ptr
        | Kind::Typedef
        | Kind::Volatile
        | Kind::Const
        | Kind::Restrict
        | Kind::Func
        | Kind::FuncProto
        | Kind::Var
        | Kind::DeclTag
        | Kind::TypeTag { .. } => {
            ty.target = record.size_or_type;
            ty.size = if ty.kind == Kind::Ptr { 8 } else { 0 };
        }
        Kind::Array { .. } => {
            ty.target = extra[0];
            ty.size = 0;
        }
        _ => {}
    }
    match ty.kind {
        Kind::Var => ty.linkage = Linkage::from_btf(extra[0]),
        Kind::Func => ty.linkage = Linkage::from_btf(record.vlen() as u32),
        _ => {}
    }
    let entries = match ty.kind {
        Kind::Struct | Kind::Union | Kind::Datasec | Kind::Enum64 { .. } => extra.chunks_exact(3),
        Kind::Enum { .. } | Kind::FuncProto => extra.chunks_exact(2),
        _ => extra[..0].chunks_exact(1),
    };
    items.reserve(entries.len());
    for e in entries {
        items.push(match ty.kind {
            Kind::Struct | Kind::Union => {
                let (bit_offset, bitfield_size) = if kind_flag {
                    (e[2] & 0xff_ffff, e[2] >> 24)
                } else {
                    (e[2], 0)
                };
                Item {
                    name: measure_name(strings, e[0])?,
                    target: e[1],
                    bit_offset,
                    bitfield_size,
                    value: 0,
                }
            }
            Kind::Enum { .. } => item(measure_name(strings, e[0])?, 0, u64::from(e[1])),
            Kind::Enum64 { .. } => {
                let value = u64::from(e[1]) | (u64::from(e[2]) << 32);
                item(measure_name(strings, e[0])?, 0, value)
            }
            Kind::FuncProto => item(measure_name(strings, e[0])?, e[1], 0),
            // DATASEC entries: the variable, its offset and size.
            _ => Item {
                name: Name::default(),
                target: e[0],
                bit_offset: e[1],
                bitfield_size: 0,
                value: u64::from(e[2]),
            },
        });
    }
    ty.items = start..items.len() as u32;
    Ok(ty)
}

/// Checks a name offset (inside `strings`, at a character boundary), measures the name,
/// and notes whether it is a valid identifier.
fn measure_name(strings: &str, offset: u32) -> Result<Name> {
    let tail = strings
        .get(offset as usize..)
        .ok_or_else(|| name_out_of_range(offset))?;
    let bytes = tail.as_bytes();
    let mut identifier = bytes.first().is_some_and(|&b| IDENT_BYTES[b as usize] == 1);
    let mut len = 0;
    while let Some(&b) = bytes.get(len).filter(|&&b| b != 0) {
        identifier &= IDENT_BYTES[b as usize] != 0;
        len += 1;
    }
    Ok(Name {
        offset,
        len: len as u32,
        identifier,
    })
}

/// The error for a name that does not start inside the string section.
fn name_out_of_range(offset: u32) -> Error {
    Error::input(format!("invalid BTF: string offset {offset} out of range"))
}

fn item(name: Name, target: u32, value: u64) -> Item {
    Item {
        name,
        target,
        bit_offset: 0,
        bitfield_size: 0,
        value,
    }
}

/// The bytes a type record whose second word is `info` has after its three header words.
fn tail_len(info: u32) -> Result<usize> {
    let (fixed, entry) = record_layout((info >> 24) & 0x1f)?;
    // FUNC reuses vlen for its linkage: only kinds with entries have items.
    let entries = if entry == 0 {
        0
    } else {
        (info & 0xffff) as usize
    };
    Ok(fixed + entries * entry)
}

/// The bytes a type record of kind `kind_id` has after its three header words: a fixed
/// part, and the size of each of its `vlen` entries (0 for kinds without entries).
fn record_layout(kind_id: u32) -> Result<(usize, usize)> {
    use kind::*;
    match kind_id {
        INT | VAR | DECL_TAG => Ok((4, 0)),
        ARRAY => Ok((12, 0)),
        STRUCT | UNION | DATASEC | ENUM64 => Ok((0, 12)),
        ENUM | FUNC_PROTO => Ok((0, 8)),
        PTR | FWD | TYPEDEF | VOLATILE | CONST | RESTRICT | FUNC | FLOAT | TYPE_TAG => Ok((0, 0)),
        other => Err(Error::input(format!("invalid BTF: unknown kind {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::raw::test_types;

    /// Raw BTF of `types` (u32 words) and `strings`, in either byte order.
    fn raw(types: &[u32], strings: &[u8], big_endian: bool) -> Vec<u8> {
        let word = |w: u32| {
            if big_endian {
                w.to_be_bytes()
            } else {
                w.to_le_bytes()
            }
        };
        let mut out = if big_endian {
            vec![0xeb, 0x9f, 1, 0]
        } else {
            vec![0x9f, 0xeb, 1, 0]
        };
        let type_len = types.len() as u32 * 4;
        for w in [24, 0, type_len, type_len, strings.len() as u32] {
            out.extend_from_slice(&word(w));
        }
        for &w in types {
            out.extend_from_slice(&word(w));
        }
        out.extend_from_slice(strings);
        out
    }

    /// `int` (id 1) and `struct s { int a; }` (id 2).
    const TYPES: &[u32] = &[1, 1 << 24, 4, 32, 5, (4 << 24) | 1, 4, 7, 1, 0];
    const STRINGS: &[u8] = b"\0int\0s\0a\0";

    #[test]
    fn reads_both_byte_orders() {
        for big_endian in [false, true] {
            let table = TypeTable::from_bytes(&raw(TYPES, STRINGS, big_endian), None).unwrap();
            assert_eq!(table.len(), 3);
            let s = table.get(2).unwrap();
            assert_eq!((s.kind, table.name(s.name), s.size), (Kind::Struct, "s", 4));
            let member = &table.items(s)[0];
            assert_eq!((table.name(member.name), member.target), ("a", 1));
        }
    }

    #[test]
    fn rejects_counts_past_the_end_and_unknown_kinds() {
        let mut huge = TYPES.to_vec();
        huge[5] = (4 << 24) | 0xffff;
        let err = TypeTable::from_bytes(&raw(&huge, STRINGS, false), None)
            .err()
            .expect("must fail");
        assert!(
            err.to_string().contains("run past the type section"),
            "{err}"
        );
        let mut unknown = TYPES.to_vec();
        unknown[1] = 30 << 24;
        let err = TypeTable::from_bytes(&raw(&unknown, STRINGS, false), None)
            .err()
            .expect("must fail");
        assert!(err.to_string().contains("unknown kind 30"), "{err}");
        let mut dangling = TYPES.to_vec();
        dangling[8] = 99;
        assert!(TypeTable::from_bytes(&raw(&dangling, STRINGS, false), None).is_err());
    }

    #[test]
    fn rejects_a_short_type_section_and_other_versions() {
        // Found by checking bpfgen against btf-rs on the fuzz corpus: a type section two
        // bytes long, whose one record was read from the bytes after it; and version 33.
        let mut short = raw(TYPES, STRINGS, false);
        short[12..16].copy_from_slice(&2u32.to_le_bytes());
        short[16..20].copy_from_slice(&2u32.to_le_bytes());
        let err = TypeTable::from_bytes(&short, None)
            .err()
            .expect("must fail");
        assert!(err.to_string().contains("not a whole type"), "{err}");
        let mut version = raw(TYPES, STRINGS, false);
        version[2] = 33;
        let err = TypeTable::from_bytes(&version, None)
            .err()
            .expect("must fail");
        assert!(err.to_string().contains("version 33, not 1"), "{err}");
    }

    #[test]
    fn split_btf_continues_ids_and_strings() {
        let base = raw(TYPES, STRINGS, false);
        // A typedef `t` of id 2 (the base's struct), named at split string offset 0 = "t".
        let split_strings = b"t\0";
        let split = raw(&[STRINGS.len() as u32, 8 << 24, 2], split_strings, false);
        let table = TypeTable::from_bytes(&split, Some(&base)).unwrap();
        let t = table.get(3).unwrap();
        assert_eq!(
            (t.kind, table.name(t.name), t.target),
            (Kind::Typedef, "t", 2)
        );
    }

    /// Built: `int`, `struct s { int a; int b:3; }`, `enum e { X = 1 }`, `int *`.
    fn sample() -> TypeTable {
        let mut w = TypeTable::new();
        test_types::int(&mut w);
        let mut s = RawType::composite(false, w.add_str("s"), 8);
        let a = w.add_str("a");
        s.push_member(a, 1, 0, 0);
        let b = w.add_str("b");
        s.push_member(b, 1, 32, 3);
        w.push(s).unwrap();
        let e = w.add_str("e");
        let x = w.add_str("X");
        let enum_type = RawType {
            name_off: e,
            info: (kind::ENUM << 24) | 1,
            size_or_type: 4,
            extra: vec![x, 1],
        };
        w.push(enum_type).unwrap();
        test_types::pointer(&mut w, 1);
        w
    }

    fn all_records(table: &TypeTable) -> Vec<RawType> {
        table.records().map(|(_, ty)| ty.to_raw()).collect()
    }

    #[test]
    fn what_is_built_reads_back_word_for_word_in_both_byte_orders() {
        let built = sample();
        for big_endian in [false, true] {
            let bytes = built.to_bytes(big_endian);
            let table = TypeTable::from_bytes(&bytes, None).unwrap();
            assert_eq!(table.big_endian(), big_endian);
            assert_eq!(all_records(&table), all_records(&built));
            let s = table.get(2).unwrap();
            let b = &table.items(s)[1];
            assert_eq!(
                (table.name(b.name), b.bit_offset, b.bitfield_size),
                ("b", 32, 3)
            );
            // Lossless: a table read and written back is the same file.
            assert_eq!(table.to_bytes(big_endian), bytes);
        }
    }

    #[test]
    fn a_bitfield_member_sets_the_kind_flag_and_strings_are_added_once() {
        let mut w = sample();
        assert!(w.record(2).unwrap().kind_flag());
        assert_eq!(w.add_str("int"), 1);
        assert_eq!(w.add_str(""), 0);
        let members: Vec<_> = w.record(2).unwrap().members().collect();
        assert_eq!(members, [(7, 1, 0, 0), (9, 1, 32, 3)]);
        assert!(w.has_unique_strings());
        assert!(
            !TypeTable::from_bytes(&w.to_bytes(false), None)
                .unwrap()
                .has_unique_strings()
        );
    }

    #[test]
    fn visits_ids_and_strings_in_libbpf_order() {
        let w = sample();
        let mut ids = Vec::new();
        for (_, ty) in w.records() {
            ty.to_raw().visit_type_ids(|id| ids.push(*id));
        }
        assert_eq!(ids, [1, 1, 1]);
        let mut names = Vec::new();
        w.record(3)
            .unwrap()
            .to_raw()
            .visit_strings(|s| names.push(*s));
        assert_eq!(names, [11, 13]);
    }

    #[test]
    fn walks_follow_modifiers_and_arrays() {
        let mut w = sample();
        let constant = test_types::reference(&mut w, kind::CONST, 1);
        let array = w
            .push(RawType {
                name_off: 0,
                info: kind::ARRAY << 24,
                size_or_type: 0,
                extra: vec![constant, 1, 5],
            })
            .unwrap();
        assert_eq!(w.size_of(array).unwrap(), 20);
        assert_eq!(w.skip_mods_and_typedefs(constant).unwrap(), 1);
        assert_eq!(w.record(0).unwrap(), VOID);
        assert!(w.record(array + 1).is_err());
    }

    #[test]
    fn copies_types_with_their_strings() {
        let source = TypeTable::from_bytes(&sample().to_bytes(false), None).unwrap();
        let mut w = TypeTable::new();
        w.add_str("X");
        let id = w.copy_from(&source, source.record(3).unwrap(), |_| {});
        assert_eq!(id, 1);
        let enum_type = w.record(1).unwrap();
        assert_eq!(w.string(enum_type.name_off), "e");
        assert_eq!(w.string(enum_type.extra[0]), "X");
        // Type ids pass through `retype`, in the header and in the members alike.
        let s = w.copy_from(&source, source.record(2).unwrap(), |id| *id += 10);
        let pointer = w.copy_from(&source, source.record(4).unwrap(), |id| *id += 10);
        let copied = w.record(s).unwrap();
        assert_eq!(w.string(copied.name_off), "s");
        let members: Vec<_> = copied.members().map(|m| (w.string(m.0), m.1)).collect();
        assert_eq!(members, [("a", 11), ("b", 11)]);
        assert_eq!(w.record(pointer).unwrap().size_or_type, 11);
    }

    #[test]
    fn a_changed_type_reads_as_changed() {
        let mut w = sample();
        let name_off = w.add_str("long");
        let long = w
            .push(RawType {
                name_off,
                info: kind::INT << 24,
                size_or_type: 8,
                extra: vec![(1 << 24) | 64],
            })
            .unwrap();
        let alias = test_types::reference(&mut w, kind::TYPEDEF, 1);
        assert_eq!(w.align_of(alias).unwrap(), 4);
        // The typedef now names `long`, `struct s`'s second member becomes a `long`, the
        // pointer points at it.
        w.update(alias, |ty| ty.size_or_type = long).unwrap();
        assert_eq!(
            w.align_of(alias).unwrap(),
            8,
            "a cached alignment outlived a change"
        );
        w.update(2, |s| s.extra[4] = long).unwrap();
        for id in 1..w.len() {
            w.update(id, |ty| {
                if ty.kind() == kind::PTR {
                    ty.size_or_type = long;
                }
            })
            .unwrap();
        }
        let s = w.get(2).unwrap();
        assert_eq!(w.items(s)[1].target, long);
        assert_eq!(w.get(4).unwrap().target, long);
        assert_eq!(w.size_of(4).unwrap(), 8);
        let read = TypeTable::from_bytes(&w.to_bytes(false), None).unwrap();
        assert_eq!(all_records(&read), all_records(&w));
    }

    #[test]
    fn a_record_of_the_wrong_length_for_its_kind_is_refused() {
        let mut w = sample();
        let short_array = RawType {
            name_off: 0,
            info: kind::ARRAY << 24,
            size_or_type: 0,
            extra: vec![1],
        };
        let before = w.to_bytes(false);
        let err = w.push(short_array).unwrap_err();
        assert!(
            err.to_string().contains("a array record with 4 bytes"),
            "{err}"
        );
        assert_eq!((w.len(), w.to_bytes(false)), (5, before.clone()));
        // The pointer (no words) made an int (one word): refused, and left as it was.
        let err = w.update(4, |ty| ty.info = kind::INT << 24).unwrap_err();
        assert!(err.to_string().contains("not 4"), "{err}");
        assert_eq!(w.to_bytes(false), before);
        assert_eq!(w.get(4).unwrap().kind, Kind::Ptr);
    }

    #[test]
    fn a_name_outside_the_strings_is_refused() {
        let mut w = sample();
        let before = w.to_bytes(false);
        let past_the_end = w.strings.as_str().len() as u32 + 1;
        let err = w
            .push(RawType {
                name_off: past_the_end,
                info: kind::PTR << 24,
                size_or_type: 1,
                extra: Vec::new(),
            })
            .unwrap_err();
        assert!(err.to_string().contains("string offset"), "{err}");
        // `struct s`'s second member renamed past the strings.
        let err = w.update(2, |s| s.extra[3] = past_the_end).unwrap_err();
        assert!(err.to_string().contains("string offset"), "{err}");
        assert_eq!((w.len(), w.to_bytes(false)), (5, before));
    }
}
