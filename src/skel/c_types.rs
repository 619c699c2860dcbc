//! The C text of a skeleton's types, from the object's BTF ([`CTypes`]): the members of each
//! data section's struct (the variables themselves in a skeleton, pointers to them in a
//! subskeleton), each struct_ops map's shadow struct, and each variable's size for the
//! header's asserts. Declarations are written by [`crate::btf::dump`] in the skeleton's style.

use super::model::{SkelDatasec, SkelStructOps, Skeleton};
use crate::btf::dump::{DeclStyle, declaration};
use crate::btf::table::{Kind, MAX_DEPTH, TypeTable};
use crate::error::{Error, Result};

/// bpftool assumes a 32-bit host when padding data-section structs: never align past 4.
const MAX_HOST_ALIGN: u64 = 4;

/// The C text of a skeleton's types, in the order of the skeleton's data sections and
/// struct_ops maps.
#[derive(Debug, Clone)]
pub(super) struct CTypes {
    /// Per data section: the members of its struct.
    pub(super) datasecs: Vec<Vec<String>>,
    /// Per data section: the size of each exposed variable (a skeleton asserts them; empty
    /// for a subskeleton).
    pub(super) var_sizes: Vec<Vec<u64>>,
    /// Per struct_ops map: the members of its shadow struct.
    pub(super) struct_ops: Vec<Vec<String>>,
}

impl CTypes {
    /// A skeleton's: each data section's struct holds its variables, padded to their BTF
    /// offsets.
    pub(super) fn of_skeleton(skeleton: &Skeleton, btf: Option<&TypeTable>) -> Result<Self> {
        let mut datasecs = Vec::new();
        let mut var_sizes = Vec::new();
        for sec in &skeleton.datasecs {
            let btf = btf.ok_or_else(|| Error::input("memory-mapped data section without BTF"))?;
            datasecs.push(value_lines(btf, sec)?);
            var_sizes.push(
                sec.vars
                    .iter()
                    .map(|var| btf.size_of(var.type_id))
                    .collect::<Result<_>>()?,
            );
        }
        Ok(CTypes {
            datasecs,
            var_sizes,
            struct_ops: shadow_structs(skeleton, btf)?,
        })
    }

    /// A subskeleton's: each data section's struct holds pointers to its variables, which
    /// live in the final object.
    pub(super) fn of_subskeleton(skeleton: &Skeleton, btf: &TypeTable) -> Result<Self> {
        Ok(CTypes {
            datasecs: skeleton
                .datasecs
                .iter()
                .map(|sec| pointer_lines(btf, sec))
                .collect::<Result<_>>()?,
            var_sizes: Vec::new(),
            struct_ops: shadow_structs(skeleton, Some(btf))?,
        })
    }
}

/// The shadow struct of each struct_ops map.
fn shadow_structs(skeleton: &Skeleton, btf: Option<&TypeTable>) -> Result<Vec<Vec<String>>> {
    skeleton
        .struct_ops
        .iter()
        .map(|ops| {
            let btf = btf.ok_or_else(|| Error::input("struct_ops map without BTF"))?;
            struct_ops_lines(btf, ops)
        })
        .collect()
}

/// The members of a data-section struct, with explicit padding where BTF offsets demand it.
fn value_lines(types: &TypeTable, sec: &SkelDatasec) -> Result<Vec<String>> {
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

/// The members of a data section's struct: a pointer to each variable.
fn pointer_lines(types: &TypeTable, sec: &SkelDatasec) -> Result<Vec<String>> {
    let style = style(!sec.keep_mods);
    sec.vars
        .iter()
        .map(|var| {
            let ty = declaration(types, var.type_id, "", 2, &style)?;
            Ok(if needs_typeof(types, var.type_id)? {
                format!("__typeof__({ty}) *{}", var.ident)
            } else {
                format!("{ty} *{}", var.ident)
            })
        })
        .collect()
}

/// Whether `T *name` would not declare a pointer to `T` for the C spelling of type `id`:
/// arrays and pointers to functions or arrays. Those are declared `__typeof__(T) *name`,
/// as bpftool does for arrays and function pointers.
fn needs_typeof(types: &TypeTable, id: u32) -> Result<bool> {
    let mut ty = types.get(types.skip_mods_and_typedefs(id)?)?;
    if matches!(ty.kind, Kind::Array { .. }) {
        return Ok(true);
    }
    // Bounded: a crafted object may make pointers point at themselves.
    for _ in 0..MAX_DEPTH {
        if ty.kind != Kind::Ptr {
            return Ok(false);
        }
        ty = types.get(types.skip_mods_and_typedefs(ty.target)?)?;
        if matches!(ty.kind, Kind::Array { .. } | Kind::FuncProto) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Typedef names that user space sees through `<bpf/libbpf.h>` (linux/types.h, stdint.h,
/// stddef.h, stdbool.h), so a skeleton may name them; others (`u32`, `pid_t` from vmlinux.h)
/// are replaced by the type they name.
fn is_userspace_typedef(name: &str) -> bool {
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
fn style(strip_mods: bool) -> DeclStyle<'static> {
    DeclStyle {
        strip_mods,
        keep_typedef: &keep_typedef,
        bool_keyword: true,
        avoid_keywords: true,
    }
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
}
