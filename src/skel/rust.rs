//! The Rust skeleton (`.skel.rs`) for libbpf-rs 0.27: the [`Skeleton`] model, with a `types`
//! module written from BTF (`RustModule`, by [`crate::btf::rust`]), fed through
//! `templates/rust/skel.rs.j2`.
//! Its public shape is libbpf-cargo's, so that programs written against libbpf-cargo's
//! skeletons compile unchanged; it is written formatted, without rustfmt.

use super::model::Skeleton;
use super::template::ToValue;
use crate::btf::rust::{BITFIELD_HELPERS, DatasecField, RustTypes, rust_identifier};
use crate::btf::table::{Kind, TypeTable};
use crate::error::{Error, Result};
use crate::object::BpfObject;
use minijinja::context;
use std::fmt::Write as _;
use std::path::Path;

const TEMPLATE: &str = include_str!("../../templates/rust/skel.rs.j2");

/// How the skeleton carries the object's bytes.
#[derive(Debug, Clone)]
pub enum Embed {
    /// As an array literal: the skeleton stands alone.
    Bytes,
    /// `include_bytes!` of this path (relative to the skeleton file, or absolute): small
    /// skeletons that compile fast, as libbpf-cargo's `reference_obj`.
    IncludeBytes(String),
}

struct MapCtx {
    literal: String,
    ident: String,
    index: usize,
    mmaped: bool,
    read_only: bool,
    datasec: Option<String>,
}
super::template::template_record!(MapCtx {
    literal,
    ident,
    index,
    mmaped,
    read_only,
    datasec
});

struct ProgCtx {
    literal: String,
    ident: String,
}
super::template::template_record!(ProgCtx { literal, ident });

struct StructOpsCtx {
    ident: String,
    type_ref: String,
}
super::template::template_record!(StructOpsCtx { ident, type_ref });

struct StageCtx {
    prefix: &'static str,
    what: &'static str,
    open: bool,
}
super::template::template_record!(StageCtx { prefix, what, open });

/// The prefix of the skeleton's type names for an object file name, as libbpf-cargo forms
/// it (the name up to its first `.`, each `_`-separated part capitalized: `tcp_cc.bpf.o` ->
/// `TcpCc`), from a valid identifier (`my-prog.bpf.o` -> `MyProg`, `1st.bpf.o` -> `_1st`).
pub fn type_prefix(file_name: &str) -> String {
    let stem = file_name.split('.').next().unwrap_or_default();
    let sanitized = crate::ident::sanitize_identifier(stem);
    let mut ident: String = sanitized
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    if ident.is_empty() || ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert(0, '_');
    }
    ident
}

/// The Rust text of a skeleton's types: the body of its `types` module, and the name of
/// each struct_ops map's value type there.
#[derive(Debug, Clone)]
pub(super) struct RustModule {
    text: String,
    struct_ops: Vec<String>,
}

impl RustModule {
    /// The `types` module of `skeleton` (built with [`rust_identifier`] names), from the
    /// object's BTF.
    pub(super) fn of_skeleton(skeleton: &Skeleton, btf: Option<&TypeTable>) -> Result<Self> {
        let (text, struct_ops) = types_module(skeleton, btf)?;
        Ok(RustModule { text, struct_ops })
    }
}

/// Renders the Rust skeleton of `skeleton` with type names starting with `prefix`,
/// embedding `elf` as `embed` says.
pub(super) fn render(
    skeleton: &Skeleton<RustModule>,
    prefix: &str,
    elf: &[u8],
    embed: &Embed,
) -> Result<String> {
    let module = &skeleton.types;
    let maps: Vec<_> = skeleton
        .maps
        .iter()
        .enumerate()
        .map(|(index, m)| MapCtx {
            literal: rust_string(&m.name),
            ident: m.ident.clone(),
            index,
            mmaped: m.mmaped,
            read_only: m.read_only,
            datasec: m.mmaped.then(|| m.ident.clone()),
        })
        .collect();
    let progs: Vec<_> = skeleton
        .progs
        .iter()
        .map(|p| ProgCtx {
            literal: rust_string(&p.name),
            ident: p.ident.clone(),
        })
        .collect();
    let struct_ops: Vec<_> = skeleton
        .struct_ops
        .iter()
        .zip(&module.struct_ops)
        .map(|(ops, type_ref)| StructOpsCtx {
            ident: ops.ident.clone(),
            type_ref: type_ref.clone(),
        })
        .collect();
    let links: Vec<_> = skeleton.link_idents().collect();
    let stages = [
        StageCtx {
            prefix: "Open",
            what: "opened",
            open: true,
        },
        StageCtx {
            prefix: "",
            what: "loaded",
            open: false,
        },
    ];
    let data = match embed {
        Embed::Bytes => byte_array(elf),
        Embed::IncludeBytes(path) => format!("*include_bytes!({})", rust_string(path)),
    };
    super::template::render(
        "skel.rs.j2",
        TEMPLATE,
        context! {
            obj => &skeleton.obj_name,
            obj_literal => rust_string(&skeleton.obj_name),
            name => prefix,
            maps => maps.to_value(),
            progs => progs.to_value(),
            struct_ops => struct_ops.to_value(),
            links => links.to_value(),
            stages => stages.to_value(),
            types => indent(&module.text, 8),
            data_len => elf.len(),
            data,
        },
    )
}

/// The Rust skeleton of the object file `object`, embedding it as `embed` says: what
/// `bpfgen gen skeleton --lang rust` writes, with type names from the file name.
pub fn render_file(object: &Path, embed: &Embed) -> Result<String> {
    let bytes = std::fs::read(object).map_err(|e| Error::io(object, &e))?;
    let file_name = object.file_name().unwrap_or_default().to_string_lossy();
    let name = crate::object::names::object_name_from_file(&file_name);
    let lang = super::Lang::Rust {
        type_prefix: type_prefix(&file_name),
        embed: embed.clone(),
    };
    BpfObject::parse(&bytes, &name)
        .and_then(|parsed| super::generate(&parsed, &name, &bytes, &lang))
        .map_err(|e| e.in_file(object))
}

/// The `types` module body: data-section structs (named after their maps), then every type
/// they, the maps' keys and values and the struct_ops values need, then every other named
/// type of the object's BTF; the bitfield helpers when a type has bitfields. Also the names of the struct_ops value types, in order.
fn types_module(skeleton: &Skeleton, types: Option<&TypeTable>) -> Result<(String, Vec<String>)> {
    let Some(table) = types else {
        if skeleton.datasecs.is_empty() && skeleton.struct_ops.is_empty() {
            return Ok((String::new(), Vec::new()));
        }
        return Err(Error::input(
            "memory-mapped data sections and struct_ops maps need BTF",
        ));
    };
    let mut types = RustTypes::new(table)?;
    for sec in &skeleton.datasecs {
        if !types.reserve(&sec.ident) {
            return Err(Error::input(format!(
                "two data sections would both be called '{}' in the skeleton",
                sec.ident
            )));
        }
    }
    let struct_ops = skeleton
        .struct_ops
        .iter()
        .map(|ops| types.struct_ops_value(ops.type_id))
        .collect::<Result<Vec<_>>>()?;
    for sec in &skeleton.datasecs {
        let fields: Vec<_> = sec
            .vars
            .iter()
            .map(|v| DatasecField {
                ident: v.ident.clone(),
                type_id: v.type_id,
                offset: v.offset,
            })
            .collect();
        types.datasec(&sec.ident, &fields, sec.size)?;
    }
    // A data section whose variables are all static or hidden has no skeleton accessor, but
    // libbpf-cargo still writes its (empty) struct.
    for id in 1..table.len() {
        let ty = table.get(id)?;
        let name = table.name(ty.name);
        let data = [".data", ".rodata", ".bss"].iter().any(|prefix| {
            name.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        });
        if ty.kind == Kind::Datasec && data {
            let ident = rust_identifier(&name[1..].replace('.', "_"));
            if types.reserve(&ident) {
                types.datasec(&ident, &[], 0)?;
            }
        }
    }
    for map in &skeleton.maps {
        for &id in &map.key_value_types {
            types.reference(id)?;
        }
    }
    // Then every other struct, union and enum of the object's BTF, as libbpf-cargo writes
    // them: code written for its skeleton may name a ring-buffer record type that only
    // program code uses, a kernel type the program reads, or the constants of an anonymous
    // enum (anonymous types get libbpf-cargo's `__anon_` names).
    for id in 1..table.len() {
        let ty = table.get(id)?;
        let composite = matches!(
            ty.kind,
            Kind::Struct | Kind::Union | Kind::Enum { .. } | Kind::Enum64 { .. }
        );
        if composite {
            types.reference(id)?;
        }
    }
    let text = types.finish()?;
    if text.contains("bitfield_get(") {
        Ok((format!("{BITFIELD_HELPERS}\n{text}"), struct_ops))
    } else {
        Ok((text, struct_ops))
    }
}

/// A Rust string literal of `text`.
fn rust_string(text: &str) -> String {
    format!("{text:?}")
}

/// `text` with every non-empty line indented by `by` spaces.
fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.lines() {
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// The object as an array literal, 16 bytes a line.
fn byte_array(elf: &[u8]) -> String {
    let mut out = String::from("[\n");
    for chunk in elf.chunks(16) {
        out.push_str("       ");
        for byte in chunk {
            let _ = write!(out, " {byte},");
        }
        out.push('\n');
    }
    out.push_str("    ]");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_prefixes_are_identifiers() {
        assert_eq!(type_prefix("runqslower.bpf.o"), "Runqslower");
        assert_eq!(type_prefix("tcp_cc.bpf.o"), "TcpCc");
        assert_eq!(type_prefix("my-prog.bpf.o"), "MyProg");
        assert_eq!(type_prefix("a__b.bpf.o"), "AB");
        assert_eq!(type_prefix("1st.bpf.o"), "_1st");
        assert_eq!(type_prefix(""), "_");
    }

    #[test]
    fn literals_and_layout() {
        assert_eq!(rust_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(indent("a\n\nb", 2), "  a\n\n  b");
        let bytes: Vec<u8> = (0..17).collect();
        let array = byte_array(&bytes);
        assert_eq!(array.lines().count(), 4);
        assert!(array.ends_with("        16,\n    ]"));
    }
}
