//! The C skeleton (`.skel.h`): the [`Skeleton`] model with C types rendered from BTF, fed
//! through `templates/c/skel.h.j2`.

use super::model::{SkelDatasec, SkelStructOps, Skeleton};
use super::template::ToValue;
use crate::btf::dump::{DeclStyle, declaration};
use crate::btf::raw::TypeRecords;
use crate::btf::table::{Kind, TypeTable};
use crate::error::{Error, Result};
use minijinja::{Value, context};

const TEMPLATE: &str = include_str!("../../templates/c/skel.h.j2");
/// The macros the C templates share, under the name they import them by.
pub(super) const COMMON: (&str, &str) = ("common.j2", include_str!("../../templates/c/common.j2"));
/// bpftool assumes a 32-bit host when padding data-section structs: never align past 4.
const MAX_HOST_ALIGN: u64 = 4;

struct MapCtx {
    name: String,
    ident: String,
    /// Registers the pointer to its memory-mapped data.
    mmaped: bool,
    /// Registers its link (struct_ops maps).
    link: bool,
    min_libbpf: Option<(u32, u32)>,
}
super::template::template_record!(MapCtx {
    name,
    ident,
    mmaped,
    link,
    min_libbpf
});

struct ProgCtx {
    name: String,
    ident: String,
}
super::template::template_record!(ProgCtx { name, ident });

pub(super) struct StructCtx {
    pub(super) ident: String,
    pub(super) type_name: String,
    pub(super) lines: Vec<String>,
}
super::template::template_record!(StructCtx {
    ident,
    type_name,
    lines
});

/// The maps, programs and struct_ops shadows, as `common.j2`'s macros take them.
pub(super) struct Handles {
    maps: Vec<MapCtx>,
    progs: Vec<ProgCtx>,
    struct_ops: Vec<StructCtx>,
}

impl Handles {
    /// The handles of `skeleton`. `owner`: the header opens the object itself (a skeleton,
    /// which registers memory-mapped pointers and links) rather than finding its parts in an
    /// object opened elsewhere (a subskeleton).
    pub(super) fn new(skeleton: &Skeleton, types: Option<&TypeTable>, owner: bool) -> Result<Self> {
        let mut struct_ops = Vec::new();
        for ops in &skeleton.struct_ops {
            let types = types.ok_or_else(|| Error::input("struct_ops map without BTF"))?;
            struct_ops.push(StructCtx {
                ident: ops.ident.clone(),
                type_name: ops.type_name.clone(),
                lines: struct_ops_lines(types, ops)?,
            });
        }
        let maps = skeleton
            .maps
            .iter()
            .map(|m| MapCtx {
                name: c_string_body(&m.name),
                ident: m.ident.clone(),
                mmaped: owner && m.mmaped,
                link: owner && m.struct_ops,
                min_libbpf: m.min_libbpf,
            })
            .collect();
        let progs = skeleton
            .progs
            .iter()
            .map(|p| ProgCtx {
                name: c_string_body(&p.name),
                ident: p.ident.clone(),
            })
            .collect();
        Ok(Handles {
            maps,
            progs,
            struct_ops,
        })
    }

    /// The template variables `maps`, `progs` and `struct_ops`.
    pub(super) fn context(&self) -> Value {
        context! {
            maps => self.maps.to_value(),
            progs => self.progs.to_value(),
            struct_ops => self.struct_ops.to_value(),
        }
    }
}

struct AssertCtx {
    sec: String,
    var: String,
    size: u64,
}
super::template::template_record!(AssertCtx { sec, var, size });

/// Typedef names that user space sees through `<bpf/libbpf.h>` (linux/types.h, stdint.h,
/// stddef.h, stdbool.h), so a skeleton may name them; others (`u32`, `pid_t` from vmlinux.h)
/// are replaced by the type they name.
pub fn is_userspace_typedef(name: &str) -> bool {
    const KNOWN: &[&str] = &[
        "__u8",
        "__u16",
        "__u32",
        "__u64",
        "__s8",
        "__s16",
        "__s32",
        "__s64",
        "__be16",
        "__be32",
        "__be64",
        "__le16",
        "__le32",
        "__le64",
        "__wsum",
        "__sum16",
        "size_t",
        "ssize_t",
        "bool",
        "int8_t",
        "int16_t",
        "int32_t",
        "int64_t",
        "uint8_t",
        "uint16_t",
        "uint32_t",
        "uint64_t",
        "intptr_t",
        "uintptr_t",
    ];
    KNOWN.contains(&name)
}

/// Whether a skeleton names typedef `id` rather than what it names: when user space has it
/// (`__u32`, `size_t`), or when what it names reaches an anonymous struct, union or enum
/// (`typedef struct { ... } atomic_t;`). Written out, such a type would be a new type of the
/// skeleton's own, incompatible with the user's `atomic_t`, and an anonymous enum would
/// define its enumerators a second time; named like a named struct, user space defines it
/// first, as with bpftool's skeleton.
fn keep_typedef(table: &TypeTable, id: u32) -> bool {
    table.get(id).is_ok_and(|ty| {
        is_userspace_typedef(table.name(ty.name)) || reaches_anonymous_type(table, ty.target, 0)
    })
}

/// How deep [`reaches_anonymous_type`] looks: real declarations nest a few levels, and the
/// walk branches at every function prototype.
const MAX_WALK_DEPTH: usize = 32;

/// Whether the declaration of type `id` writes out an anonymous struct, union or enum
/// (through modifiers, pointers, arrays, function prototypes and unnamed-through typedefs).
fn reaches_anonymous_type(table: &TypeTable, id: u32, depth: usize) -> bool {
    let Ok(ty) = table.get(id) else {
        return false;
    };
    if depth > MAX_WALK_DEPTH {
        return false;
    }
    match ty.kind {
        Kind::Struct | Kind::Union | Kind::Enum { .. } | Kind::Enum64 { .. } => {
            table.name(ty.name).is_empty()
        }
        Kind::Typedef if is_userspace_typedef(table.name(ty.name)) => false,
        Kind::Typedef
        | Kind::Ptr
        | Kind::Array { .. }
        | Kind::Const
        | Kind::Volatile
        | Kind::Restrict
        | Kind::TypeTag { .. } => reaches_anonymous_type(table, ty.target, depth + 1),
        Kind::FuncProto => {
            reaches_anonymous_type(table, ty.target, depth + 1)
                || table
                    .items(ty)
                    .iter()
                    .any(|param| reaches_anonymous_type(table, param.target, depth + 1))
        }
        _ => false,
    }
}

/// How skeleton declarations are written: user-space typedefs and those that must stay named
/// ([`keep_typedef`]), `bool` for `_Bool`.
pub(super) fn style(strip_mods: bool) -> DeclStyle<'static> {
    DeclStyle {
        strip_mods,
        keep_typedef: &keep_typedef,
        bool_keyword: true,
        avoid_keywords: true,
    }
}

/// Renders the C skeleton header for `skeleton`, whose object's BTF is `types`, embedding
/// `elf` (the object's bytes).
pub(super) fn render(skeleton: &Skeleton, types: Option<&TypeTable>, elf: &[u8]) -> Result<String> {
    let obj = &skeleton.obj_name;
    let mut datasecs = Vec::new();
    let mut asserts = Vec::new();
    for sec in &skeleton.datasecs {
        let types = types.ok_or_else(|| Error::input("memory-mapped data section without BTF"))?;
        datasecs.push(StructCtx {
            ident: sec.ident.clone(),
            type_name: String::new(),
            lines: datasec_lines(types, sec)?,
        });
        for var in &sec.vars {
            asserts.push(AssertCtx {
                sec: sec.ident.clone(),
                var: var.ident.clone(),
                size: types.size_of(var.type_id)?,
            });
        }
    }
    let handles = Handles::new(skeleton, types, true)?;
    let links: Vec<_> = skeleton.link_idents().collect();

    super::template::render_with(
        "skel.h.j2",
        TEMPLATE,
        &[COMMON],
        context! {
            obj,
            guard => format!("__{}_SKEL_H__", obj.to_uppercase()),
            links => links.to_value(),
            datasecs => datasecs.to_value(),
            asserts => asserts.to_value(),
            elf_literal => elf_string_literal(elf),
            ..handles.context()
        },
    )
}

/// The members of a data-section struct, with explicit padding where BTF offsets demand it.
fn datasec_lines(types: &TypeTable, sec: &SkelDatasec) -> Result<Vec<String>> {
    let style = style(!sec.keep_mods);
    let mut lines = Vec::new();
    let mut offset = 0;
    let mut pads = 0;
    for var in &sec.vars {
        if offset > var.offset {
            return Err(Error::input(format!(
                "variable '{}' overlaps the previous one (offset {} < {offset})",
                var.ident, var.offset
            )));
        }
        let align = u64::from(types.align_of(var.type_id)?).min(MAX_HOST_ALIGN);
        if offset.div_ceil(align) * align != var.offset {
            lines.push(format!("char __pad{pads}[{}]", var.offset - offset));
            pads += 1;
        }
        lines.push(declaration(types, var.type_id, &var.ident, 2, &style)?);
        offset = var.offset + types.size_of(var.type_id)?;
    }
    Ok(lines)
}

/// The shadow type of a struct_ops map: function pointers become `struct bpf_program *`,
/// scalars keep their type, anything else is opaque bytes (bpftool's rules; enums are
/// printed as integers of their size so that the header never needs the enum's definition).
fn struct_ops_lines(types: &TypeTable, ops: &SkelStructOps) -> Result<Vec<String>> {
    let st = types.get(ops.type_id)?;
    if st.kind != Kind::Struct {
        return Err(Error::input(format!(
            "struct_ops map '{}' is not of a struct type",
            ops.ident
        )));
    }
    let style = style(true);
    let mut lines = Vec::new();
    let mut next_offset = 0;
    for (i, member) in types.items(st).iter().enumerate() {
        let name = types.name(member.name);
        let offset = u64::from(member.bit_offset) / 8;
        if next_offset < offset {
            lines.push(format!("char __padding_{i}[{}]", offset - next_offset));
        }
        let type_id = types.skip_mods_and_typedefs(member.target)?;
        let ty = types.get(type_id)?;
        let size = types.size_of(type_id)?;
        let line = match ty.kind {
            Kind::Int { .. } | Kind::Float => declaration(types, type_id, name, 3, &style)?,
            Kind::Enum { signed } | Kind::Enum64 { signed } => {
                format!("{} {name}", int_type(size, signed))
            }
            Kind::Ptr if is_func_proto(types, ty.target)? => {
                format!("struct bpf_program *{name}")
            }
            _ => format!("char __unsupported_{i}[{size}]"),
        };
        lines.push(line);
        next_offset = offset + size;
    }
    let total = u64::from(st.size);
    if next_offset < total {
        lines.push(format!("char __padding_end[{}]", total - next_offset));
    }
    Ok(lines)
}

fn is_func_proto(types: &TypeTable, id: u32) -> Result<bool> {
    let id = types.skip_mods_and_typedefs(id)?;
    Ok(types.get(id)?.kind == Kind::FuncProto)
}

fn int_type(size: u64, signed: bool) -> &'static str {
    match (size, signed) {
        (1, true) => "__s8",
        (1, false) => "__u8",
        (2, true) => "__s16",
        (2, false) => "__u16",
        (8, true) => "__s64",
        (8, false) => "__u64",
        (_, true) => "__s32",
        (_, false) => "__u32",
    }
}

/// Escapes `text` for the inside of a C string literal (octal escapes never swallow the next
/// character, unlike `\x`).
pub fn c_string_body(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'?' => out.push_str("\\?"),
            0x20..=0x7e => out.push(byte as char),
            _ => out.push_str(&format!("\\{byte:03o}")),
        }
    }
    out
}

/// The object bytes as the body of a C string literal, wrapped with `\`-newline continuations
/// every 78 columns, as bpftool's `print_hex` writes it.
fn elf_string_literal(data: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(data.len() * 4 + data.len() / 16);
    let mut width = 0;
    for &byte in data {
        let w = if byte == 0 { 2 } else { 4 };
        width += w;
        if width > 78 {
            out.push_str("\\\n");
            width = w;
        }
        if byte == 0 {
            out.push_str("\\0");
        } else {
            out.push_str("\\x");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 15)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userspace_typedefs() {
        assert!(is_userspace_typedef("__u32"));
        assert!(is_userspace_typedef("__be16"));
        assert!(is_userspace_typedef("uint64_t"));
        assert!(!is_userspace_typedef("u32"));
        assert!(!is_userspace_typedef("pid_t"));
        assert!(!is_userspace_typedef("__u128"));
        assert!(!is_userspace_typedef("__kernel_size_t"));
    }

    #[test]
    fn escapes_c_strings() {
        assert_eq!(c_string_body("a\"b\\c"), "a\\\"b\\\\c");
        assert_eq!(c_string_body("x\ny"), "x\\012y");
        assert_eq!(c_string_body("*/??="), "*/\\?\\?=");
    }

    #[test]
    fn wraps_elf_bytes_like_bpftool() {
        let literal = elf_string_literal(&[0x7f, 0, 0x45]);
        assert_eq!(literal, "\\x7f\\0\\x45");
        let long = elf_string_literal(&[1; 40]);
        assert!(long.lines().all(|l| l.len() <= 79));
        assert_eq!(long.matches("\\x01").count(), 40);
    }
}
