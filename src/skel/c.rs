//! The C skeleton (`.skel.h`): the [`Skeleton`] model with the C text of its types
//! (`CTypes`), fed through `templates/c/skel.h.j2`.

use super::c_types::CTypes;
use super::model::Skeleton;
use super::template::ToValue;
use crate::error::Result;
use minijinja::{Value, context};

const TEMPLATE: &str = include_str!("../../templates/c/skel.h.j2");
/// The macros the C templates share, under the name they import them by.
pub(super) const COMMON: (&str, &str) = ("common.j2", include_str!("../../templates/c/common.j2"));

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
    pub(super) fn new(skeleton: &Skeleton<CTypes>, owner: bool) -> Self {
        let struct_ops = skeleton
            .struct_ops
            .iter()
            .zip(&skeleton.types.struct_ops)
            .map(|(ops, lines)| StructCtx {
                ident: ops.ident.clone(),
                type_name: ops.type_name.clone(),
                lines: lines.clone(),
            })
            .collect();
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
        Handles {
            maps,
            progs,
            struct_ops,
        }
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

/// Renders the C skeleton header for `skeleton`, embedding `elf` (the object's bytes).
pub(super) fn render(skeleton: &Skeleton<CTypes>, elf: &[u8]) -> Result<String> {
    let obj = &skeleton.obj_name;
    let mut datasecs = Vec::new();
    let mut asserts = Vec::new();
    let types = &skeleton.types;
    for ((sec, lines), sizes) in skeleton
        .datasecs
        .iter()
        .zip(&types.datasecs)
        .zip(&types.var_sizes)
    {
        datasecs.push(StructCtx {
            ident: sec.ident.clone(),
            type_name: String::new(),
            lines: lines.clone(),
        });
        for (var, &size) in sec.vars.iter().zip(sizes) {
            asserts.push(AssertCtx {
                sec: sec.ident.clone(),
                var: var.ident.clone(),
                size,
            });
        }
    }
    let handles = Handles::new(skeleton, true);
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
