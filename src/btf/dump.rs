//! BTF to a compilable C header (`vmlinux.h`), with the semantics of libbpf's `btf_dump` that
//! `bpftool btf dump ... format c` uses: types are ordered so that everything embedded is
//! defined before use and forward declarations break pointer cycles; anonymous types are
//! inlined; duplicate names get `___N` suffixes in the order they are first printed; gaps
//! become explicit padding bitfields; packed structs and odd-sized enums get attributes.

use super::table::{Item, Kind, MAX_DEPTH, Name, Ty, TypeTable, too_deep};
use crate::error::{Error, Result};
use crate::fast_hash::FastMap;
use crate::ident;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::rc::Rc;

/// How deeply declarations may nest inside each other (anonymous structs in anonymous
/// structs, function pointers taking function pointers); real types nest a few levels.
const MAX_NESTING: usize = 64;
/// Pointer size of the BPF target (and of the kernels vmlinux.h describes).
const POINTER_BITS: u32 = 64;
/// The largest gap between members written as padding bitfields (one line per 64 bits): no
/// real type comes near it, and crafted BTF must not turn a few bytes into gigabytes of C.
const MAX_PADDING_BITS: u32 = 64 * 1024 * 8;

/// How single declarations are written.
pub struct DeclStyle<'a> {
    /// Drop `const`, `volatile` and `restrict` everywhere in the declaration.
    pub strip_mods: bool,
    /// Whether typedef `id` of the table may be printed by name; others are replaced by
    /// what they name.
    pub keep_typedef: &'a dyn Fn(&TypeTable, u32) -> bool,
    /// Print `_Bool` as `bool` (valid C with stdbool.h, and C++).
    pub bool_keyword: bool,
    /// Keep names clear of C and C++ keywords (a member called `new` or `class`).
    pub avoid_keywords: bool,
}

/// Headers keep every type as BTF names it.
const HEADER_STYLE: DeclStyle<'static> = DeclStyle {
    strip_mods: false,
    keep_typedef: &|_, _| true,
    bool_keyword: false,
    avoid_keywords: false,
};

/// The declaration of `name` with type `id` (an abstract declarator when `name` is empty),
/// as `btf_dump__emit_type_decl` writes it: anonymous types inline, at tab depth `indent`.
pub fn declaration(
    table: &TypeTable,
    id: u32,
    name: &str,
    indent: usize,
    style: &DeclStyle,
) -> Result<String> {
    // The dumper trusts the ids it follows (the table checked them); the root comes from
    // the caller, perhaps from an object's `.BTF.ext`.
    table.get(id)?;
    let mut dumper = Dumper::new(table, style);
    dumper.emit_type_decl(id, name, indent)?;
    Ok(dumper.out)
}

/// The C name of type `id` on one line, as BTF spells it (`const volatile pid_t`,
/// `char[16]`, `struct event *`; anonymous types written out inline).
pub fn type_name(table: &TypeTable, id: u32) -> Result<String> {
    let text = declaration(table, id, "", 0, &HEADER_STYLE)?;
    Ok(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The whole header for every type in `table`, wrapped as bpftool wraps it.
pub fn vmlinux_header(table: &TypeTable) -> Result<String> {
    let mut dumper = Dumper::new(table, &HEADER_STYLE);
    dumper.out.reserve(4 << 20);
    dumper.out.push_str(
        "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n\
         #ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n\
         #pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n\
         #endif\n\n",
    );
    for id in 1..table.len() {
        dumper.dump_type(id)?;
    }
    dumper.out.push_str(
        "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n\
         #endif /* __VMLINUX_H__ */\n",
    );
    Ok(dumper.out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    NotOrdered,
    Ordering,
    Ordered,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Emit {
    NotEmitted,
    Emitting,
    Emitted,
}

struct Dumper<'a> {
    table: &'a TypeTable,
    style: &'a DeclStyle<'a>,
    order: Vec<Order>,
    emit: Vec<Emit>,
    fwd_emitted: Vec<bool>,
    referenced: Vec<bool>,
    /// Resolved (possibly `___N`-suffixed) names, once a type's name was first printed.
    names: Vec<Option<Rc<str>>>,
    /// Occurrences of struct/union/enum names.
    type_names: NameCounts<'a>,
    /// Occurrences of typedef names and enumerators (one namespace in C).
    ident_names: NameCounts<'a>,
    queue: Vec<u32>,
    /// Declaration chains being printed; each nested declaration works on its own top part.
    stack: Vec<u32>,
    /// How many declarations are being printed inside each other right now.
    nesting: usize,
    /// How many function prototypes the declaration being written is inside: `strip_mods`
    /// applies outside them only, so that a prototype stays the type its typedef names
    /// (`int (*)(const char *)` is not `int (*)(char *)`).
    in_prototype: usize,
    out: String,
}

impl<'a> Dumper<'a> {
    fn new(table: &'a TypeTable, style: &'a DeclStyle<'a>) -> Self {
        let n = table.len() as usize;
        let mut referenced = vec![false; n];
        for id in 1..table.len() {
            let ty = table.get(id).expect("id in range");
            if !matches!(
                ty.kind,
                Kind::Struct | Kind::Union | Kind::FuncProto | Kind::Datasec
            ) {
                referenced[ty.target as usize] = true;
            }
            for item in table.items(ty) {
                referenced[item.target as usize] = true;
            }
        }
        let mut order = vec![Order::NotOrdered; n];
        let mut emit = vec![Emit::NotEmitted; n];
        order[0] = Order::Ordered;
        emit[0] = Emit::Emitted;
        Dumper {
            table,
            style,
            order,
            emit,
            fwd_emitted: vec![false; n],
            referenced,
            names: vec![None; n],
            type_names: NameCounts::with_capacity_and_hasher(n / 4, Default::default()),
            ident_names: NameCounts::with_capacity_and_hasher(n / 2, Default::default()),
            queue: Vec::new(),
            stack: Vec::new(),
            nesting: 0,
            in_prototype: 0,
            out: String::new(),
        }
    }

    /// The text of a name of the table, made a valid identifier if BTF says otherwise (a
    /// crafted name must not inject `*/`, quotes or newlines into C). Real names pass as
    /// they are.
    fn name(&self, name: Name) -> Cow<'a, str> {
        let text = self.table.name(name);
        if text.is_empty() {
            Cow::Borrowed(text)
        } else if self.style.avoid_keywords {
            match ident::skeleton_identifier(text) {
                ident if ident == text => Cow::Borrowed(text),
                ident => Cow::Owned(ident),
            }
        } else if name.is_identifier() {
            Cow::Borrowed(text)
        } else {
            Cow::Owned(ident::sanitize_identifier(text))
        }
    }

    /// An INT or FLOAT name (`unsigned int`, `long double`): words, not one identifier.
    fn base_type_name(&self, name: Name) -> Cow<'a, str> {
        let text = self.table.name(name);
        if !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b' ')
        {
            Cow::Borrowed(text)
        } else {
            Cow::Owned(ident::sanitize_identifier(text))
        }
    }

    fn ty(&self, id: u32) -> &'a Ty {
        // Every id was checked when the table was built.
        self.table
            .get(id)
            .expect("type ids are checked when the table is built")
    }

    fn dump_type(&mut self, id: u32) -> Result<()> {
        self.queue.clear();
        self.order_type(id, false, 0)?;
        let queue = std::mem::take(&mut self.queue);
        for &queued in &queue {
            self.emit_type(queued, 0, 0)?;
        }
        self.queue = queue;
        Ok(())
    }

    /// Topological ordering; returns whether the link to `id` is strong (needs a full
    /// definition) rather than satisfiable by a forward declaration.
    fn order_type(&mut self, id: u32, through_ptr: bool, depth: usize) -> Result<bool> {
        if depth > MAX_DEPTH {
            return Err(too_deep(id));
        }
        let state = self.order[id as usize];
        if state == Order::Ordered {
            return Ok(true);
        }
        let ty = self.ty(id);
        let named = !self.name(ty.name).is_empty();
        if state == Order::Ordering {
            if matches!(ty.kind, Kind::Struct | Kind::Union) && through_ptr && named {
                return Ok(false);
            }
            return Err(Error::input(format!(
                "invalid BTF: unsatisfiable type cycle through type [{id}]"
            )));
        }
        match ty.kind {
            Kind::Int { .. } | Kind::Float => {
                self.order[id as usize] = Order::Ordered;
                Ok(false)
            }
            Kind::Ptr => {
                let strong = self.order_type(ty.target, true, depth + 1)?;
                self.order[id as usize] = Order::Ordered;
                Ok(strong)
            }
            Kind::Array { .. } => self.order_type(ty.target, false, depth + 1),
            Kind::Struct | Kind::Union => {
                if through_ptr && named {
                    return Ok(false);
                }
                self.order[id as usize] = Order::Ordering;
                for item in self.table.items(ty) {
                    self.order_type(item.target, false, depth + 1)?;
                }
                if named {
                    self.queue.push(id);
                }
                self.order[id as usize] = Order::Ordered;
                Ok(true)
            }
            Kind::Enum { .. } | Kind::Enum64 { .. } | Kind::Fwd { .. } => {
                if named || !self.referenced[id as usize] {
                    self.queue.push(id);
                }
                self.order[id as usize] = Order::Ordered;
                Ok(true)
            }
            Kind::Typedef => {
                let strong = self.order_type(ty.target, through_ptr, depth + 1)?;
                if through_ptr && !strong {
                    return Ok(false);
                }
                self.queue.push(id);
                self.order[id as usize] = Order::Ordered;
                Ok(true)
            }
            Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag { .. } => {
                self.order_type(ty.target, through_ptr, depth + 1)
            }
            Kind::FuncProto => {
                let mut strong = self.order_type(ty.target, through_ptr, depth + 1)?;
                for item in self.table.items(ty) {
                    strong |= self.order_type(item.target, through_ptr, depth + 1)?;
                }
                Ok(strong)
            }
            Kind::Func | Kind::Var | Kind::Datasec | Kind::DeclTag => {
                self.order[id as usize] = Order::Ordered;
                Ok(false)
            }
            Kind::Void => Ok(true),
        }
    }

    /// Emits `id` and what it needs; `cont_id` is the named struct being defined, 0 at top level.
    fn emit_type(&mut self, id: u32, cont_id: u32, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(too_deep(id));
        }
        let i = id as usize;
        if self.emit[i] == Emit::Emitted {
            return Ok(());
        }
        let ty = self.ty(id);
        let top_level = cont_id == 0;
        if self.emit[i] == Emit::Emitting {
            if self.fwd_emitted[i] {
                return Ok(());
            }
            match ty.kind {
                Kind::Struct | Kind::Union => {
                    if id == cont_id || self.name(ty.name).is_empty() {
                        return Ok(());
                    }
                    self.emit_struct_fwd(id);
                    self.out.push_str(";\n\n");
                    self.fwd_emitted[i] = true;
                }
                Kind::Typedef => {
                    if !is_blacklisted(&self.name(ty.name)) {
                        self.emit_typedef_def(id, 0)?;
                        self.out.push_str(";\n\n");
                    }
                    self.fwd_emitted[i] = true;
                }
                _ => {}
            }
            return Ok(());
        }
        match ty.kind {
            Kind::Int { .. } => self.emit[i] = Emit::Emitted,
            Kind::Enum { .. } | Kind::Enum64 { .. } => {
                if top_level {
                    self.emit_enum_def(id, 0);
                    self.out.push_str(";\n\n");
                }
                self.emit[i] = Emit::Emitted;
            }
            Kind::Ptr | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag { .. } => {
                self.emit_type(ty.target, cont_id, depth + 1)?;
            }
            Kind::Array { .. } => self.emit_type(ty.target, cont_id, depth + 1)?,
            Kind::Fwd { .. } => {
                self.emit_fwd_def(id);
                self.out.push_str(";\n\n");
                self.emit[i] = Emit::Emitted;
            }
            Kind::Typedef => {
                self.emit[i] = Emit::Emitting;
                self.emit_type(ty.target, id, depth + 1)?;
                if !self.fwd_emitted[i] && !is_blacklisted(&self.name(ty.name)) {
                    self.emit_typedef_def(id, 0)?;
                    self.out.push_str(";\n\n");
                }
                self.emit[i] = Emit::Emitted;
            }
            Kind::Struct | Kind::Union => {
                self.emit[i] = Emit::Emitting;
                let anonymous = self.name(ty.name).is_empty();
                if top_level || anonymous {
                    let inner_cont = if anonymous { cont_id } else { id };
                    for item in self.table.items(ty) {
                        self.emit_type(item.target, inner_cont, depth + 1)?;
                    }
                } else if !self.fwd_emitted[i] && id != cont_id {
                    self.emit_struct_fwd(id);
                    self.out.push_str(";\n\n");
                    self.fwd_emitted[i] = true;
                }
                if top_level {
                    self.emit_struct_def(id, 0)?;
                    self.out.push_str(";\n\n");
                    self.emit[i] = Emit::Emitted;
                } else {
                    self.emit[i] = Emit::NotEmitted;
                }
            }
            Kind::FuncProto => {
                self.emit_type(ty.target, cont_id, depth + 1)?;
                for item in self.table.items(ty) {
                    self.emit_type(item.target, cont_id, depth + 1)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn emit_struct_fwd(&mut self, id: u32) {
        let ty = self.ty(id);
        let keyword = if ty.kind == Kind::Union {
            "union"
        } else {
            "struct"
        };
        let name = self.type_name(id);
        self.out.push_str(keyword);
        if !name.is_empty() {
            self.out.push(' ');
            self.out.push_str(&name);
        }
    }

    fn emit_struct_def(&mut self, id: u32, lvl: usize) -> Result<()> {
        let ty = self.ty(id);
        let is_struct = ty.kind == Kind::Struct;
        let align = self.table.align_of(id)?;
        // libbpf checks only structs; a union whose size is not a multiple of its alignment
        // (BTF says 18 where C would round to 20) needs the attribute just as much.
        let packed = self.table.is_packed(ty)?;
        self.emit_struct_fwd(id);
        self.out.push_str(" {");
        let mut off: u32 = 0;
        let mut prev_bitfield = false;
        for item in self.table.items(ty) {
            let m_align = if packed {
                1
            } else {
                self.table.align_of(item.target)?
            };
            let in_bitfield = prev_bitfield && item.bitfield_size != 0;
            self.emit_bit_padding(off, item.bit_offset, m_align, in_bitfield, lvl + 1)?;
            self.newline(lvl + 1);
            let field = self.name(item.name);
            self.emit_type_decl(item.target, &field, lvl + 1)?;
            if item.bitfield_size != 0 {
                let _ = write!(self.out, ": {}", item.bitfield_size);
                off = item.bit_offset + item.bitfield_size;
                prev_bitfield = true;
            } else {
                let size = (self.table.size_of(item.target).ok())
                    .and_then(|size| u32::try_from(size).ok())
                    .unwrap_or(0);
                off = item.bit_offset.saturating_add(size.saturating_mul(8));
                prev_bitfield = false;
            }
            self.out.push(';');
        }
        if is_struct {
            self.emit_bit_padding(off, ty.size.saturating_mul(8), align, false, lvl + 1)?;
        }
        if !ty.items.is_empty() || ty.size != 0 {
            self.newline(lvl);
        }
        self.out.push('}');
        if packed {
            self.out.push_str(" __attribute__((packed))");
        }
        Ok(())
    }

    /// Fills the gap from `cur` to `next` (bits) with anonymous bitfields, relying on natural
    /// alignment where the compiler would insert the same padding by itself.
    fn emit_bit_padding(
        &mut self,
        cur: u32,
        next: u32,
        next_align: u32,
        in_bitfield: bool,
        lvl: usize,
    ) -> Result<()> {
        const PADS: [(&str, u32); 4] = [
            ("long", POINTER_BITS),
            ("int", 32),
            ("short", 16),
            ("char", 8),
        ];
        if cur >= next {
            return Ok(());
        }
        if next - cur > MAX_PADDING_BITS {
            return Err(Error::input(format!(
                "invalid BTF: a {}-byte gap between members is larger than any real layout",
                (next - cur) / 8
            )));
        }
        let mut cur = cur;
        let (mut pad_type, mut pad_bits, mut new_off) = ("char", 8, cur);
        for (name, bits) in PADS {
            pad_type = name;
            pad_bits = bits;
            new_off = cur.div_ceil(bits) * bits;
            if new_off <= next {
                break;
            }
        }
        if new_off > cur && new_off <= next {
            let align_bits = next_align.max(1) * 8;
            if in_bitfield
                || (new_off == next && cur.div_ceil(align_bits) * align_bits != new_off)
                || (new_off != next && next - new_off <= new_off - cur)
            {
                let width = if in_bitfield { new_off - cur } else { 0 };
                self.newline(lvl);
                let _ = write!(self.out, "{pad_type}: {width};");
            }
            cur = new_off;
        }
        while cur != next {
            let bits = (next - cur).min(pad_bits);
            if bits == pad_bits {
                self.newline(lvl);
                let _ = write!(self.out, "{pad_type}: {pad_bits};");
                cur += bits;
                continue;
            }
            let (name, _) = PADS
                .iter()
                .rev()
                .find(|(_, width)| *width >= bits)
                .expect("a long covers any remainder");
            self.newline(lvl);
            let _ = write!(self.out, "{name}: {bits};");
            cur += bits;
        }
        Ok(())
    }

    fn emit_enum_def(&mut self, id: u32, lvl: usize) {
        let ty = self.ty(id);
        let name = self.type_name(id);
        self.out.push_str("enum");
        if !name.is_empty() {
            self.out.push(' ');
            self.out.push_str(&name);
        }
        let items = self.table.items(ty);
        if items.is_empty() {
            return;
        }
        self.out.push_str(" {");
        let (signed, wide) = match ty.kind {
            Kind::Enum { signed } => (signed, false),
            Kind::Enum64 { signed } => (signed, true),
            _ => (false, false),
        };
        for item in items {
            let name = self.name(item.name);
            let dups = bump(&mut self.ident_names, name.clone());
            self.newline(lvl + 1);
            self.out.push_str(&name);
            if dups > 1 {
                let _ = write!(self.out, "___{dups}");
            }
            let _ = match (wide, signed) {
                (false, false) => write!(self.out, " = {},", item.value as u32),
                (false, true) => write!(self.out, " = {},", item.value as u32 as i32),
                (true, false) => write!(self.out, " = {}ULL,", item.value),
                (true, true) => write!(self.out, " = {}LL,", item.value as i64),
            };
        }
        self.newline(lvl);
        self.out.push('}');
        if ty.size == 1 {
            self.out.push_str(" __attribute__((mode(byte)))");
        } else if ty.size == 8 {
            let needs_word = !wide || items.iter().all(|v| v.value >> 32 == 0);
            if needs_word {
                self.out.push_str(" __attribute__((mode(word)))");
            }
        }
    }

    fn emit_fwd_def(&mut self, id: u32) {
        let union = matches!(self.ty(id).kind, Kind::Fwd { union: true });
        let name = self.type_name(id);
        self.out.push_str(if union { "union " } else { "struct " });
        self.out.push_str(&name);
    }

    fn emit_typedef_def(&mut self, id: u32, lvl: usize) -> Result<()> {
        let ty = self.ty(id);
        let name = self.ident_name(id);
        if ty.target == 0 && &*name == "__gnuc_va_list" {
            self.out
                .push_str("typedef __builtin_va_list __gnuc_va_list");
            return Ok(());
        }
        self.out.push_str("typedef ");
        self.emit_type_decl(ty.target, &name, lvl)
    }

    /// A declaration of `fname` with type `id`: the chain of pointers, arrays, function
    /// prototypes and modifiers down to a named or anonymous base type.
    fn emit_type_decl(&mut self, id: u32, fname: &str, lvl: usize) -> Result<()> {
        if self.nesting >= MAX_NESTING {
            return Err(Error::input(format!(
                "invalid BTF: declarations nest deeper than {MAX_NESTING} at type [{id}] (a cycle?)"
            )));
        }
        self.nesting += 1;
        let result = self.emit_nested_type_decl(id, fname, lvl);
        self.nesting -= 1;
        result
    }

    fn emit_nested_type_decl(&mut self, id: u32, fname: &str, lvl: usize) -> Result<()> {
        let start = self.stack.len();
        let mut id = id;
        // Modifiers under a prototype or an expanded typedef belong to that type (a
        // `typedef const int tracepoint_ptr_t;` stays const): only the declaration's own are
        // stripped.
        let mut past_typedef = false;
        for step in 0.. {
            if step > MAX_DEPTH {
                self.stack.truncate(start);
                return Err(too_deep(id));
            }
            if id == 0 {
                self.stack.push(id);
                break;
            }
            let ty = self.ty(id);
            let mods = matches!(ty.kind, Kind::Const | Kind::Volatile | Kind::Restrict);
            if mods && self.style.strip_mods && !past_typedef && self.in_prototype == 0 {
                id = ty.target;
                continue;
            }
            if ty.kind == Kind::Typedef && !(self.style.keep_typedef)(self.table, id) {
                past_typedef = true;
                id = ty.target;
                continue;
            }
            self.stack.push(id);
            past_typedef |= ty.kind == Kind::FuncProto;
            match ty.kind {
                Kind::Ptr
                | Kind::Const
                | Kind::Volatile
                | Kind::Restrict
                | Kind::FuncProto
                | Kind::TypeTag { .. }
                | Kind::Array { .. } => id = ty.target,
                _ => break,
            }
        }
        let result = self.emit_type_chain(start, fname, lvl);
        self.stack.truncate(start);
        result
    }

    /// The top of the declaration stack above `start`.
    fn top(&self, start: usize) -> Option<u32> {
        (self.stack.len() > start).then(|| *self.stack.last().expect("non-empty"))
    }

    /// Pops leading `const`/`volatile`/`restrict` off the chain and prints them.
    fn emit_mods(&mut self, start: usize) {
        while let Some(id) = self.top(start) {
            let word = match self.ty(id).kind {
                Kind::Volatile => "volatile ",
                Kind::Const => "const ",
                Kind::Restrict => "restrict ",
                _ => return,
            };
            self.out.push_str(word);
            self.stack.pop();
        }
    }

    fn drop_mods(&mut self, start: usize) {
        while let Some(id) = self.top(start) {
            if !matches!(
                self.ty(id).kind,
                Kind::Const | Kind::Volatile | Kind::Restrict
            ) {
                return;
            }
            self.stack.pop();
        }
    }

    fn emit_name(&mut self, name: &str, last_was_ptr: bool) {
        if !name.is_empty() && !last_was_ptr {
            self.out.push(' ');
        }
        self.out.push_str(name);
    }

    /// Prints the chain on the stack above `start` (base type on top) around `fname`.
    fn emit_type_chain(&mut self, start: usize, fname: &str, lvl: usize) -> Result<()> {
        let mut last_was_ptr = true;
        while let Some(id) = self.top(start) {
            self.stack.pop();
            if id == 0 {
                self.emit_mods(start);
                self.out.push_str("void");
                last_was_ptr = false;
                continue;
            }
            let ty = self.ty(id);
            match ty.kind {
                Kind::Int { .. } | Kind::Float => {
                    self.emit_mods(start);
                    let name = self.base_type_name(ty.name);
                    if self.style.bool_keyword && name == "_Bool" {
                        self.out.push_str("bool");
                    } else {
                        self.out.push_str(&name);
                    }
                }
                Kind::Struct | Kind::Union => {
                    self.emit_mods(start);
                    if self.name(ty.name).is_empty() {
                        self.emit_struct_def(id, lvl)?;
                    } else {
                        self.emit_struct_fwd(id);
                    }
                }
                Kind::Enum { .. } | Kind::Enum64 { .. } => {
                    self.emit_mods(start);
                    if self.name(ty.name).is_empty() {
                        self.emit_enum_def(id, lvl);
                    } else {
                        let name = self.type_name(id);
                        self.out.push_str("enum ");
                        self.out.push_str(&name);
                    }
                }
                Kind::Fwd { .. } => {
                    self.emit_mods(start);
                    self.emit_fwd_def(id);
                }
                Kind::Typedef => {
                    self.emit_mods(start);
                    let name = self.ident_name(id);
                    self.out.push_str(&name);
                }
                Kind::Ptr => self.out.push_str(if last_was_ptr { "*" } else { " *" }),
                Kind::Volatile => self.out.push_str(" volatile"),
                Kind::Const => self.out.push_str(" const"),
                Kind::Restrict => self.out.push_str(" restrict"),
                Kind::TypeTag { attribute } => {
                    self.emit_mods(start);
                    let name = self.name(ty.name);
                    if attribute {
                        let _ = write!(self.out, " __attribute__(({name}))");
                    } else {
                        let _ = write!(self.out, " __attribute__((btf_type_tag(\"{name}\")))");
                    }
                }
                Kind::Array { nelems } => {
                    self.drop_mods(start);
                    let Some(next) = self.top(start) else {
                        self.emit_name(fname, last_was_ptr);
                        let _ = write!(self.out, "[{nelems}]");
                        return Ok(());
                    };
                    let multidim = matches!(self.ty(next).kind, Kind::Array { .. });
                    if !fname.is_empty() && !last_was_ptr {
                        self.out.push(' ');
                    }
                    if !multidim {
                        self.out.push('(');
                    }
                    self.emit_type_chain(start, fname, lvl)?;
                    if !multidim {
                        self.out.push(')');
                    }
                    let _ = write!(self.out, "[{nelems}]");
                    return Ok(());
                }
                Kind::FuncProto => {
                    self.drop_mods(start);
                    if self.top(start).is_none() {
                        self.emit_name(fname, last_was_ptr);
                    } else {
                        self.out.push_str(" (");
                        self.emit_type_chain(start, fname, lvl)?;
                        self.out.push(')');
                    }
                    self.emit_params(ty, lvl)?;
                    return Ok(());
                }
                _ => {
                    return Err(Error::input(format!(
                        "invalid BTF: type [{id}] cannot appear in a declaration"
                    )));
                }
            }
            last_was_ptr = ty.kind == Kind::Ptr;
        }
        self.emit_name(fname, last_was_ptr);
        Ok(())
    }

    fn emit_params(&mut self, proto: &Ty, lvl: usize) -> Result<()> {
        let params: &[Item] = self.table.items(proto);
        self.out.push('(');
        if params.is_empty() || (params.len() == 1 && params[0].target == 0) {
            self.out.push_str("void)");
            return Ok(());
        }
        for (i, param) in params.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            if i == params.len() - 1 && param.target == 0 {
                self.out.push_str("...");
                break;
            }
            let param_name = self.name(param.name);
            self.in_prototype += 1;
            let result = self.emit_type_decl(param.target, &param_name, lvl);
            self.in_prototype -= 1;
            result?;
        }
        self.out.push(')');
        Ok(())
    }

    fn newline(&mut self, lvl: usize) {
        self.out.push('\n');
        for _ in 0..lvl {
            self.out.push('\t');
        }
    }

    /// A struct/union/enum name, `___N`-suffixed if another type printed the same name first.
    fn type_name(&mut self, id: u32) -> Rc<str> {
        let ty = self.ty(id);
        let plain = matches!(ty.kind, Kind::Fwd { .. })
            || (matches!(ty.kind, Kind::Enum { .. }) && ty.items.is_empty());
        self.resolve_name(id, plain, false)
    }

    /// A typedef name, deduplicated in the namespace it shares with enumerators.
    fn ident_name(&mut self, id: u32) -> Rc<str> {
        self.resolve_name(id, false, true)
    }

    fn resolve_name(&mut self, id: u32, plain: bool, ident: bool) -> Rc<str> {
        let ty = self.ty(id);
        let text = self.table.name(ty.name);
        let original = if ty.kind == Kind::Typedef && ident::is_type_keyword(text) {
            Cow::Borrowed(text)
        } else {
            self.name(ty.name)
        };
        if original.is_empty() {
            return "".into();
        }
        if let Some(name) = &self.names[id as usize] {
            return name.clone();
        }
        let name: Rc<str> = if plain {
            Rc::from(&*original)
        } else {
            let map = if ident {
                &mut self.ident_names
            } else {
                &mut self.type_names
            };
            match bump(map, original.clone()) {
                1 => Rc::from(&*original),
                dups => format!("{original}___{dups}").into(),
            }
        };
        self.names[id as usize] = Some(name.clone());
        name
    }
}

/// Name occurrence counts (short keys, 100k+ names of a kernel: the fast hash; names are
/// borrowed from the BTF unless they had to be changed).
type NameCounts<'a> = FastMap<Cow<'a, str>, usize>;

/// Counts one more occurrence of `name`, returning the new count (one hash, no copy).
fn bump<'a>(map: &mut NameCounts<'a>, name: Cow<'a, str>) -> usize {
    let count = map.entry(name).or_insert(0);
    *count += 1;
    *count
}

/// `__builtin_va_list` is the compiler's own; redefining it breaks compilation.
fn is_blacklisted(name: &str) -> bool {
    name == "__builtin_va_list"
}
