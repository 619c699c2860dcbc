//! BTF to Rust types: the `types` module of a Rust skeleton. Only the types reachable from
//! the given roots are written, with libbpf-cargo 0.27's names, fields and padding fields,
//! so that code written against its skeletons compiles unchanged. Structs are `#[repr(C)]`
//! (or packed when BTF says so), bitfields lie in padding and get getter/setter methods where
//! that padding is a field, `bool` members are `MaybeUninit<bool>`, enums are transparent
//! newtypes with associated constants, every type has `Default`, and every struct carries
//! compile-time size and field-offset assertions.

use super::table::{Item, Kind, MAX_DEPTH, TypeTable, too_deep};
use crate::error::{Error, Result};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

/// Rust definitions of the types reachable from `roots`, deterministic, in id order.
pub fn rust_types(table: &TypeTable, roots: &[u32]) -> Result<String> {
    let mut types = RustTypes::new(table)?;
    for &id in roots {
        types.reference(id)?;
    }
    types.finish()
}

/// One variable of a data-section struct (see [`RustTypes::datasec`]).
#[derive(Debug, Clone)]
pub struct DatasecField {
    /// The Rust field name (already a valid identifier).
    pub ident: String,
    /// BTF id of the variable's type.
    pub type_id: u32,
    /// Byte offset within the section.
    pub offset: u64,
}

/// A `types` module being written: the types that references, data sections and struct_ops
/// values need, each defined once under a unique name.
pub struct RustTypes<'a> {
    table: &'a TypeTable,
    /// The names libbpf-cargo gives composite types, by id.
    libbpf_cargo: HashMap<u32, String>,
    /// Names given to composite types, by id.
    names: HashMap<u32, String>,
    /// Names already taken.
    used: HashSet<String>,
    /// Definitions written, by id (deterministic order).
    defs: BTreeMap<u32, String>,
    /// Data-section structs, in the order they were added (written first).
    datasecs: Vec<String>,
    /// Struct types whose function-pointer members are `bpf_program` pointers (struct_ops
    /// map values, where libbpf reads which program goes into each slot).
    struct_ops: HashSet<u32>,
    /// Composite types still to define.
    pending: Vec<u32>,
}

impl<'a> RustTypes<'a> {
    /// An empty module over `table`, its types named as libbpf-cargo names them.
    pub fn new(table: &'a TypeTable) -> Result<Self> {
        Ok(RustTypes {
            table,
            libbpf_cargo: super::rust_names::libbpf_cargo_names(table)?,
            names: HashMap::new(),
            used: HashSet::new(),
            defs: BTreeMap::new(),
            datasecs: Vec::new(),
            struct_ops: HashSet::new(),
            pending: Vec::new(),
        })
    }

    /// Keeps `name` for a type the caller defines itself (data-section structs), so that a
    /// BTF type of that name is renamed (`bss_2`) instead of clashing. False if it is taken.
    pub fn reserve(&mut self, name: &str) -> bool {
        self.used.insert(name.to_string())
    }

    /// The Rust spelling of type `id` (`u32`, `*mut event`, `[i8; 16]`); composite types it
    /// names are defined in the module.
    pub fn reference(&mut self, id: u32) -> Result<String> {
        self.type_ref(id, 0)
    }

    /// Like [`Self::reference`] for the value type of a struct_ops map: its function-pointer
    /// members become `*mut bpf_program`, as libbpf-rs expects of the shadow struct.
    pub fn struct_ops_value(&mut self, id: u32) -> Result<String> {
        let id = self.skip(id)?;
        if self.ty(id)?.kind != Kind::Struct {
            return Err(Error::input(format!(
                "struct_ops value type [{id}] is not a struct"
            )));
        }
        self.struct_ops.insert(id);
        self.type_ref(id, 0)
    }

    /// Adds struct `name` for a data section of `size` bytes holding `fields` (by offset),
    /// as libbpf-cargo writes it: private padding where it puts padding, none after the last
    /// variable; packed (with padding in every gap) if a variable is not at its natural
    /// alignment.
    pub fn datasec(&mut self, name: &str, fields: &[DatasecField], size: u64) -> Result<()> {
        let mut packed = false;
        let mut max_align = 1;
        for field in fields {
            let align = self.align_of(field.type_id, 0)?;
            packed |= field.offset % align != 0;
            max_align = max_align.max(align);
        }
        let mut members = Vec::new();
        let mut offset = 0;
        let mut taken = HashSet::new();
        for field in fields {
            if let Some(mut pad) =
                self.padding(offset, field.offset, field.type_id, packed, packed)?
            {
                pad.public = false;
                members.push(pad);
            }
            members.push(Member {
                name: unique(&mut taken, field.ident.clone()),
                rust: self.type_ref(field.type_id, 0)?,
                offset: Some(field.offset),
                padding: None,
                public: true,
            });
            offset = end_of(field.offset, self.table.size_of(field.type_id)?)?;
        }
        if offset > size {
            return Err(Error::input(format!(
                "the variables of '{name}' end at byte {offset}, past the section's {size} bytes"
            )));
        }
        let layout = Layout {
            packed,
            size: if packed {
                offset
            } else {
                offset.div_ceil(max_align) * max_align
            },
        };
        let def = render_struct(name, false, layout, &members, &[]);
        self.datasecs.push(def);
        Ok(())
    }

    /// The module's definitions: data-section structs first, then BTF types in id order.
    pub fn finish(mut self) -> Result<String> {
        while let Some(id) = self.pending.pop() {
            self.define(id, 0)?;
        }
        let mut out = self.datasecs;
        out.extend(self.defs.into_values());
        Ok(out.join("\n"))
    }

    fn ty(&self, id: u32) -> Result<&super::table::Ty> {
        self.table.get(id)
    }

    /// Follows modifiers and typedefs (Rust gets no aliases).
    fn skip(&self, id: u32) -> Result<u32> {
        self.table.skip_mods_and_typedefs(id)
    }

    /// The Rust spelling of a reference to type `id`.
    fn type_ref(&mut self, id: u32, depth: usize) -> Result<String> {
        if depth > MAX_DEPTH {
            return Err(too_deep(id));
        }
        let id = self.skip(id)?;
        let ty = self.ty(id)?;
        Ok(match ty.kind {
            Kind::Void | Kind::Fwd { .. } | Kind::FuncProto => "std::ffi::c_void".into(),
            Kind::Int { .. } => int_type(self.table.name(ty.name), ty.size)?.into(),
            Kind::Float => match ty.size {
                4 => "f32".into(),
                8 => "f64".into(),
                n => format!("[u8; {n}]"),
            },
            Kind::Ptr => {
                let target = self.skip(ty.target)?;
                let pointee = if matches!(self.ty(target)?.kind, Kind::FuncProto) {
                    "std::ffi::c_void".to_string()
                } else {
                    self.type_ref(target, depth + 1)?
                };
                format!("*mut {pointee}")
            }
            Kind::Array { nelems } => {
                format!("[{}; {nelems}]", self.type_ref(ty.target, depth + 1)?)
            }
            Kind::Struct | Kind::Union | Kind::Enum { .. } | Kind::Enum64 { .. } => {
                if !self.defs.contains_key(&id) && !self.pending.contains(&id) {
                    self.pending.push(id);
                }
                self.name_of(id)?
            }
            _ => {
                return Err(Error::input(format!(
                    "invalid BTF: type [{id}] has no Rust representation"
                )));
            }
        })
    }

    /// A unique Rust identifier for composite `id`: libbpf-cargo's name for it made valid
    /// (see [`super::rust_names`]); should that be taken, `_2`, `_3`, ... is appended.
    fn name_of(&mut self, id: u32) -> Result<String> {
        if let Some(name) = self.names.get(&id) {
            return Ok(name.clone());
        }
        let base = match self.libbpf_cargo.get(&id) {
            Some(name) => rust_identifier(name),
            None => format!("__anon_id_{id}"),
        };
        let mut name = base.clone();
        let mut n = 2;
        while !self.used.insert(name.clone()) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.names.insert(id, name.clone());
        Ok(name)
    }

    fn define(&mut self, id: u32, depth: usize) -> Result<()> {
        let id = self.skip(id)?;
        if self.defs.contains_key(&id) {
            return Ok(());
        }
        let ty = self.ty(id)?.clone();
        let def = match ty.kind {
            Kind::Struct | Kind::Union => self.composite(id, &ty, depth)?,
            Kind::Enum { signed } | Kind::Enum64 { signed } => self.enumeration(id, &ty, signed)?,
            _ => {
                // Roots may be any type: define what they refer to.
                self.type_ref(id, depth)?;
                return Ok(());
            }
        };
        self.defs.insert(id, def);
        Ok(())
    }

    fn enumeration(&mut self, id: u32, ty: &super::table::Ty, signed: bool) -> Result<String> {
        let name = self.name_of(id)?;
        let repr = int_for(ty.size, signed);
        let mut out = String::new();
        let _ = writeln!(out, "#[derive(Debug, Copy, Clone, PartialEq, Eq, Hash)]");
        let _ = writeln!(out, "#[repr(transparent)]");
        let _ = writeln!(out, "pub struct {name}(pub {repr});");
        let _ = writeln!(out, "impl {name} {{");
        let mut seen = HashSet::new();
        let mut first = None;
        for item in self.table.items(ty) {
            let mut constant = rust_identifier(self.table.name(item.name));
            let mut n = 2;
            while !seen.insert(constant.clone()) {
                constant = format!("{}_{n}", rust_identifier(self.table.name(item.name)));
                n += 1;
            }
            let value = enum_value(item.value, ty.size, signed);
            first.get_or_insert_with(|| constant.clone());
            let _ = writeln!(out, "    pub const {constant}: Self = Self({value});");
        }
        let _ = writeln!(out, "}}");
        // The first enumerator, as in libbpf-cargo; zero when there is none.
        let default = first.map_or_else(|| "Self(0)".to_string(), |c| format!("Self::{c}"));
        let _ = writeln!(out, "impl Default for {name} {{");
        let _ = writeln!(out, "    fn default() -> Self {{");
        let _ = writeln!(out, "        {default}");
        let _ = writeln!(out, "    }}");
        let _ = writeln!(out, "}}");
        Ok(out)
    }

    /// A struct or union with libbpf-cargo's fields: bitfields are left to padding (and get
    /// accessors where that padding is a field), `bool` members are `MaybeUninit<bool>`,
    /// anonymous members are named after their type, and padding goes where libbpf-cargo
    /// puts it (see [`Self::padding`]).
    fn composite(&mut self, id: u32, ty: &super::table::Ty, depth: usize) -> Result<String> {
        let name = self.name_of(id)?;
        let is_union = ty.kind == Kind::Union;
        let packed = self.is_packed(ty, 0)?;
        let items: Vec<Item> = self.table.items(ty).to_vec();
        let mut members = Vec::new();
        let mut bitfields = Vec::new();
        let mut offset: u64 = 0;
        // libbpf-cargo pads a struct that ends in a bitfield to its full size.
        let mut after_bitfield = false;
        let mut taken = HashSet::new();
        for item in &items {
            let raw = self.table.name(item.name);
            if item.bitfield_size > 0 {
                after_bitfield = true;
                if !raw.is_empty() {
                    bitfields.push(Bitfield {
                        name: rust_identifier(raw),
                        bit_offset: item.bit_offset,
                        bits: item.bitfield_size,
                    });
                }
                continue;
            }
            after_bitfield = false;
            let field_id = self.skip(item.target)?;
            if self.is_empty_union(field_id)? {
                continue;
            }
            let at = u64::from(item.bit_offset) / 8;
            if !is_union && let Some(pad) = self.padding(offset, at, item.target, packed, false)? {
                members.push(pad);
            }
            let field = if raw.is_empty() {
                self.name_of(field_id)?
            } else {
                rust_identifier(raw)
            };
            let rust = if self.struct_ops.contains(&id) && self.is_func_pointer(item.target)? {
                "*mut libbpf_rs::libbpf_sys::bpf_program".to_string()
            } else if self.is_bool(field_id)? {
                // Memory-mapped bytes need not be a valid `bool`.
                "std::mem::MaybeUninit<bool>".to_string()
            } else {
                self.type_ref(item.target, depth + 1)?
            };
            members.push(Member {
                name: unique(&mut taken, field),
                rust,
                offset: (!is_union).then_some(at),
                padding: None,
                public: true,
            });
            if !is_union {
                offset = end_of(at, self.table.size_of(item.target)?)?;
            }
        }
        let size = u64::from(ty.size);
        if is_union {
            // Rust has no bitfields: a union that has them keeps all of its bytes here.
            if !bitfields.is_empty() {
                members.push(Member::padding(0, size));
            }
        } else if let Some(pad) = self.padding(offset, size, id, packed, after_bitfield)? {
            members.push(pad);
        }
        // Accessors only for bitfields whose bytes are a padding field's (not bytes Rust
        // pads on its own, which a copy need not keep).
        bitfields.retain(|b| {
            let (start, end) = b.byte_range();
            members.iter().any(|m| m.covers(start, end))
        });
        let layout = Layout { packed, size };
        Ok(render_struct(&name, is_union, layout, &members, &bitfields))
    }

    /// The padding field libbpf-cargo puts between byte `offset` and the next field of type
    /// `id` at byte `at` (or the struct's end, `force`d after a bitfield): none when
    /// aligning `offset` to `id`'s alignment, at most 4 (it assumes 32-bit alignment),
    /// gets there.
    fn padding(
        &self,
        offset: u64,
        at: u64,
        id: u32,
        packed: bool,
        force: bool,
    ) -> Result<Option<Member>> {
        if offset > at {
            return Err(Error::input(format!(
                "invalid BTF: a member of type [{id}] at byte {at} overlaps the previous one, which ends at byte {offset}"
            )));
        }
        let (libbpf_cargo, rust) = if packed {
            (1, 1)
        } else {
            (self.natural_align(id, 0)?.min(4), self.align_of(id, 0)?)
        };
        // Where libbpf-cargo pads, and also where Rust's own alignment of the field would not
        // reach `at` (libbpf-cargo's layout would be wrong there; the offset asserts say so).
        let needed = force
            || offset.div_ceil(libbpf_cargo) * libbpf_cargo != at
            || offset.div_ceil(rust) * rust != at;
        Ok((needed && at > offset).then(|| Member::padding(offset, at - offset)))
    }

    fn is_bool(&self, id: u32) -> Result<bool> {
        let ty = self.ty(self.skip(id)?)?;
        Ok(matches!(ty.kind, Kind::Int { .. }) && self.table.name(ty.name) == "_Bool")
    }

    fn is_empty_union(&self, id: u32) -> Result<bool> {
        let ty = self.ty(id)?;
        Ok(ty.kind == Kind::Union && ty.items.is_empty())
    }

    fn is_func_pointer(&self, id: u32) -> Result<bool> {
        let ty = self.ty(self.skip(id)?)?;
        Ok(ty.kind == Kind::Ptr && self.ty(self.skip(ty.target)?)?.kind == Kind::FuncProto)
    }

    /// The alignment of the Rust type generated for `id` (packed structs 1, bitfields left
    /// to byte padding), which decides where Rust puts a field.
    fn align_of(&self, id: u32, depth: usize) -> Result<u64> {
        self.alignment(id, depth, AlignRule::Rust)
    }

    /// The alignment libbpf-rs's `BtfType::alignment` gives (what libbpf-cargo lays out
    /// with): integers, enums and floats their size up to a pointer's, pointers 8, arrays
    /// their element's, structs and unions their largest member's, bitfields and packed
    /// members included at their declared types' alignment.
    fn natural_align(&self, id: u32, depth: usize) -> Result<u64> {
        self.alignment(id, depth, AlignRule::Natural)
    }

    fn alignment(&self, id: u32, depth: usize, rule: AlignRule) -> Result<u64> {
        if depth > MAX_DEPTH {
            return Err(too_deep(id));
        }
        let id = self.skip(id)?;
        let ty = self.ty(id)?;
        Ok(match ty.kind {
            Kind::Int { .. } | Kind::Float | Kind::Enum { .. } | Kind::Enum64 { .. } => {
                let widest = match rule {
                    AlignRule::Rust => 16,
                    AlignRule::Natural => 8,
                };
                u64::from(ty.size).clamp(1, widest)
            }
            Kind::Ptr => 8,
            Kind::Array { .. } => self.alignment(ty.target, depth + 1, rule)?,
            Kind::Struct | Kind::Union => {
                if rule == AlignRule::Rust && self.is_packed(ty, depth + 1)? {
                    return Ok(1);
                }
                let mut align = 1;
                for item in self.table.items(ty) {
                    if rule == AlignRule::Natural || item.bitfield_size == 0 {
                        align = align.max(self.alignment(item.target, depth + 1, rule)?);
                    }
                }
                align
            }
            _ => 1,
        })
    }

    /// Packed as libbpf-cargo decides it (`is_struct_packed`): a struct whose size is not a
    /// multiple of its natural alignment, or with a member that is not at its natural
    /// alignment ([`Self::natural_align`]). Unions never are.
    fn is_packed(&self, ty: &super::table::Ty, depth: usize) -> Result<bool> {
        if ty.kind != Kind::Struct {
            return Ok(false);
        }
        let mut max_align = 1;
        for item in self.table.items(ty) {
            let align = self.natural_align(item.target, depth + 1)?;
            max_align = max_align.max(align);
            if item.bitfield_size == 0 && u64::from(item.bit_offset) % (8 * align) != 0 {
                return Ok(true);
            }
        }
        Ok(u64::from(ty.size) % max_align != 0)
    }
}

/// A field of a generated struct or union.
struct Member {
    name: String,
    rust: String,
    /// Byte offset to assert at compile time (none for padding and union members).
    offset: Option<u64>,
    /// The bytes a padding field holds, from..to.
    padding: Option<(u64, u64)>,
    /// `pub` (all but a data section's padding, as in libbpf-cargo).
    public: bool,
}

impl Member {
    fn padding(offset: u64, len: u64) -> Self {
        Member {
            name: format!("__pad_{offset}"),
            rust: format!("[u8; {len}]"),
            offset: None,
            padding: Some((offset, offset + len)),
            public: true,
        }
    }

    /// Whether this is a padding field holding bytes `start..end`.
    fn covers(&self, start: u64, end: u64) -> bool {
        self.padding
            .is_some_and(|(from, to)| from <= start && end <= to)
    }
}

/// A bitfield, reached through a getter and a setter.
struct Bitfield {
    name: String,
    bit_offset: u32,
    bits: u32,
}

impl Bitfield {
    /// The bytes it lies in, from..to.
    fn byte_range(&self) -> (u64, u64) {
        let start = u64::from(self.bit_offset);
        (start / 8, (start + u64::from(self.bits)).div_ceil(8))
    }
}

/// Which alignment [`RustTypes::alignment`] computes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AlignRule {
    /// The generated Rust type's.
    Rust,
    /// libbpf-rs's natural one, which libbpf-cargo pads and packs by.
    Natural,
}

/// The layout BTF gives a struct, which the generated one must have.
#[derive(Clone, Copy)]
struct Layout {
    packed: bool,
    size: u64,
}

/// `name` made unique among `taken` by appending `_`.
fn unique(taken: &mut HashSet<String>, mut name: String) -> String {
    while !taken.insert(name.clone()) {
        name.push('_');
    }
    name
}

/// A struct or union definition with `Default` (all zeroes), `Debug`, bitfield accessors and
/// compile-time checks of its size and field offsets.
fn render_struct(
    name: &str,
    is_union: bool,
    layout: Layout,
    members: &[Member],
    bitfields: &[Bitfield],
) -> String {
    let mut out = String::new();
    let derive = if is_union {
        "Copy, Clone"
    } else {
        "Debug, Copy, Clone"
    };
    let _ = writeln!(out, "#[derive({derive})]");
    let _ = writeln!(
        out,
        "#[repr(C{})]",
        if layout.packed { ", packed" } else { "" }
    );
    let keyword = if is_union { "union" } else { "struct" };
    let _ = writeln!(out, "pub {keyword} {name} {{");
    for member in members {
        let vis = if member.public { "pub " } else { "" };
        let _ = writeln!(out, "    {vis}{}: {},", member.name, member.rust);
    }
    let _ = writeln!(out, "}}");
    // Zeroes are a valid value of every generated type: integers, floats, raw pointers,
    // arrays and newtype enums.
    let _ = writeln!(out, "impl Default for {name} {{");
    let _ = writeln!(out, "    fn default() -> Self {{");
    let _ = writeln!(
        out,
        "        // SAFETY: every field is an integer, float, raw pointer, MaybeUninit<bool> or array of them."
    );
    let _ = writeln!(out, "        unsafe {{ std::mem::zeroed() }}");
    let _ = writeln!(out, "    }}");
    let _ = writeln!(out, "}}");
    if is_union {
        let _ = writeln!(out, "impl std::fmt::Debug for {name} {{");
        let _ = writeln!(
            out,
            "    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{"
        );
        let _ = writeln!(out, "        f.write_str(\"{name} {{ .. }}\")");
        let _ = writeln!(out, "    }}");
        let _ = writeln!(out, "}}");
    }
    if !bitfields.is_empty() {
        let _ = writeln!(out, "impl {name} {{");
        for Bitfield {
            name: field,
            bit_offset,
            bits,
        } in bitfields
        {
            let _ = writeln!(
                out,
                "    /// Bitfield `{field}`: {bits} bits at bit {bit_offset}."
            );
            let _ = writeln!(out, "    pub fn {field}(&self) -> u64 {{");
            let _ = writeln!(out, "        // SAFETY: reads bytes inside the struct.");
            let _ = writeln!(
                out,
                "        unsafe {{ bitfield_get((self as *const Self).cast::<u8>(), {bit_offset}, {bits}) }}"
            );
            let _ = writeln!(out, "    }}");
            let _ = writeln!(
                out,
                "    /// Sets bitfield `{field}` to the low {bits} bits of `value`."
            );
            let setter = format!("set_{}", field.trim_start_matches("r#"));
            let _ = writeln!(out, "    pub fn {setter}(&mut self, value: u64) {{");
            let _ = writeln!(out, "        // SAFETY: writes bytes inside the struct.");
            let _ = writeln!(
                out,
                "        unsafe {{ bitfield_set((self as *mut Self).cast::<u8>(), {bit_offset}, {bits}, value) }}"
            );
            let _ = writeln!(out, "    }}");
        }
        let _ = writeln!(out, "}}");
    }
    let _ = writeln!(
        out,
        "const _: () = assert!(std::mem::size_of::<{name}>() == {});",
        layout.size
    );
    for member in members {
        if let Some(offset) = member.offset {
            let _ = writeln!(
                out,
                "const _: () = assert!(std::mem::offset_of!({name}, {}) == {offset});",
                member.name
            );
        }
    }
    out
}

/// The bitfield helpers the generated methods call; written once per `types` module.
pub const BITFIELD_HELPERS: &str = r#"/// Reads `bits` bits at `bit_offset` of the little-endian bytes at `base`.
///
/// # Safety
/// The bytes from `base + bit_offset / 8` to the bitfield's end must be readable.
#[allow(dead_code)]
unsafe fn bitfield_get(base: *const u8, bit_offset: u32, bits: u32) -> u64 {
    let mut value: u128 = 0;
    let first = bit_offset / 8;
    let last = (bit_offset + bits).div_ceil(8);
    for (i, byte) in (first..last).enumerate() {
        value |= u128::from(unsafe { *base.add(byte as usize) }) << (8 * i);
    }
    ((value >> (bit_offset % 8)) & ((1u128 << bits) - 1)) as u64
}

/// Writes the low `bits` bits of `value` at `bit_offset` of the little-endian bytes at `base`.
///
/// # Safety
/// The bytes from `base + bit_offset / 8` to the bitfield's end must be writable.
#[allow(dead_code)]
unsafe fn bitfield_set(base: *mut u8, bit_offset: u32, bits: u32, value: u64) {
    let first = bit_offset / 8;
    let last = (bit_offset + bits).div_ceil(8);
    let mask = ((1u128 << bits) - 1) << (bit_offset % 8);
    let mut current: u128 = 0;
    for (i, byte) in (first..last).enumerate() {
        current |= u128::from(unsafe { *base.add(byte as usize) }) << (8 * i);
    }
    let updated = (current & !mask) | ((u128::from(value) << (bit_offset % 8)) & mask);
    for (i, byte) in (first..last).enumerate() {
        unsafe { *base.add(byte as usize) = (updated >> (8 * i)) as u8 };
    }
}
"#;

/// The Rust integer for a BTF integer, by its C name: plain `char` is signed, as clang's BTF
/// encodes it (and libbpf-cargo writes `[i8; 16]` for `char comm[16]`).
fn int_type(name: &str, size: u32) -> Result<&'static str> {
    let signed = !name.contains("unsigned") && name != "_Bool" && !name.starts_with('u');
    if name == "_Bool" {
        return Ok("bool");
    }
    match (size, signed) {
        (1, true) => Ok("i8"),
        (1, false) => Ok("u8"),
        (2, true) => Ok("i16"),
        (2, false) => Ok("u16"),
        (4, true) => Ok("i32"),
        (4, false) => Ok("u32"),
        (8, true) => Ok("i64"),
        (8, false) => Ok("u64"),
        (16, true) => Ok("i128"),
        (16, false) => Ok("u128"),
        _ => Err(Error::input(format!(
            "invalid BTF: integer '{name}' of {size} bytes"
        ))),
    }
}

fn int_for(size: u32, signed: bool) -> &'static str {
    match (size, signed) {
        (1, true) => "i8",
        (1, false) => "u8",
        (2, true) => "i16",
        (2, false) => "u16",
        (8, true) => "i64",
        (8, false) => "u64",
        (_, true) => "i32",
        (_, false) => "u32",
    }
}

fn enum_value(value: u64, size: u32, signed: bool) -> String {
    match (size, signed) {
        (8, true) => (value as i64).to_string(),
        (8, false) => value.to_string(),
        (1, true) => (value as i8).to_string(),
        (1, false) => (value as u8).to_string(),
        (2, true) => (value as i16).to_string(),
        (2, false) => (value as u16).to_string(),
        (_, true) => (value as i32).to_string(),
        (_, false) => (value as u32).to_string(),
    }
}

/// A valid Rust identifier for a C name: other characters become `_`, a leading digit gets a
/// `_` prefix, keywords are raw (`r#type`), those that cannot be raw lose their first `a` or
/// `e` as in libbpf-cargo (`self` -> `slf`), and `_` becomes `__`.
pub fn rust_identifier(name: &str) -> String {
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern",
        "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move",
        "mut", "pub", "ref", "return", "static", "struct", "trait", "true", "type", "unsafe",
        "use", "where", "while", "abstract", "become", "box", "do", "final", "macro", "override",
        "priv", "try", "typeof", "unsized", "virtual", "yield",
    ];
    let mut ident = crate::ident::sanitize_identifier(name);
    if matches!(ident.as_str(), "self" | "Self" | "super" | "crate") {
        // libbpf-cargo drops the first `a` or `e`: `slf`, `Slf`, `supr`, `crte`.
        ident = ident.replacen(['a', 'e'], "", 1);
    } else if ident == "_" {
        ident.push('_');
    } else if KEYWORDS.contains(&ident.as_str()) {
        ident.insert_str(0, "r#");
    }
    ident
}

/// Where a field of `size` bytes at byte `offset` ends; sizes come from the input, so the sum
/// is checked.
fn end_of(offset: u64, size: u64) -> Result<u64> {
    offset
        .checked_add(size)
        .ok_or_else(|| Error::input("invalid BTF: a field ends past 2^64 bytes"))
}

#[cfg(test)]
mod tests {
    use super::{rust_identifier, rust_types};
    use crate::btf::raw::RawType;
    use crate::btf::raw::test_types::{int, pointer};
    use crate::btf::table::{MAX_DEPTH, TypeTable};

    /// `int`, then `levels` pointers each to the one before, then `struct deep { <last> p; }`.
    fn pointer_chain(levels: u32) -> Vec<u8> {
        let mut w = TypeTable::new();
        int(&mut w);
        for level in 0..levels {
            pointer(&mut w, level + 1);
        }
        let mut deep = RawType::composite(false, w.add_str("deep"), 8);
        deep.push_member(w.add_str("p"), levels + 1, 0, 0);
        w.push(deep).unwrap();
        w.to_bytes(false)
    }

    #[test]
    fn chains_up_to_the_one_depth_limit_fit_a_worker_threads_stack() {
        // Builds render skeletons on threads with Rust's default 2 MiB stack.
        let ok = pointer_chain(MAX_DEPTH as u32 - 8);
        let too_deep = pointer_chain(MAX_DEPTH as u32 + 8);
        let (ok, too_deep) = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let render = |bytes: &[u8]| {
                    let table = TypeTable::from_bytes(bytes, None).unwrap();
                    rust_types(&table, &[table.len() - 1])
                };
                (render(&ok), render(&too_deep))
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(ok.unwrap().contains("pub struct deep"));
        assert!(
            too_deep
                .unwrap_err()
                .to_string()
                .contains("deeper than 512")
        );
    }

    #[test]
    fn identifiers_are_spelled_as_libbpf_cargo_spells_them() {
        for (c, rust) in [
            ("self", "slf"),
            ("Self", "Slf"),
            ("super", "supr"),
            ("crate", "crte"),
            ("type", "r#type"),
            ("_", "__"),
            ("pid", "pid"),
        ] {
            assert_eq!(rust_identifier(c), rust, "{c}");
        }
    }
}
