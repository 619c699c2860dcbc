//! The C subskeleton (`.subskel.h`, what `bpftool gen subskeleton` writes) of a BPF library: an
//! object that is statically linked into a bigger one. User space opens it against that final
//! object (`<name>__open(skel->obj)`) and gets pointers to the library's variables and the
//! handles of its maps and programs, all found there by name by libbpf
//! (`bpf_object__open_subskeleton`). Rendered through `templates/c/subskel.h.j2`.

use super::c::{COMMON, Handles, StructCtx, c_string_body};
use super::c_types::CTypes;
use super::model::Skeleton;
use super::template::ToValue;
use crate::error::{Error, Result};
use crate::ident;
use crate::object::{BpfObject, Map, MapKind};
use minijinja::context;

const TEMPLATE: &str = include_str!("../../templates/c/subskel.h.j2");

struct VarCtx {
    /// The BTF name libbpf looks the variable up by.
    name: String,
    /// Identifier of its data section (map and struct member).
    sec: String,
    ident: String,
}
super::template::template_record!(VarCtx { name, sec, ident });

/// Renders the C subskeleton of library `object` under the (sanitized) name `obj_name`.
/// Needs the object's BTF: libbpf finds the variables through it, and it gives their types.
pub fn render(object: &BpfObject, obj_name: &str) -> Result<String> {
    let types = object.types.as_ref().ok_or_else(|| {
        Error::input("no BTF: a subskeleton needs the object's types (compile with -g)")
    })?;
    let mut skeleton = Skeleton::new(object, obj_name, ident::skeleton_identifier)?;
    for (map, skel_map) in object.maps.iter().zip(&mut skeleton.maps) {
        if let Some(section) = section_name(map) {
            skel_map.name = section.to_string();
        }
    }
    let types = CTypes::of_subskeleton(&skeleton, types)?;
    render_model(&skeleton.with_types(types))
}

/// The subskeleton header of the model.
fn render_model(skeleton: &Skeleton<CTypes>) -> Result<String> {
    let obj_name = &skeleton.obj_name;
    let mut datasecs = Vec::new();
    let mut vars = Vec::new();
    for (sec, lines) in skeleton.datasecs.iter().zip(&skeleton.types.datasecs) {
        datasecs.push(StructCtx {
            ident: sec.ident.clone(),
            type_name: String::new(),
            lines: lines.clone(),
        });
        vars.extend(sec.vars.iter().map(|var| VarCtx {
            name: c_string_body(&var.name),
            sec: sec.ident.clone(),
            ident: var.ident.clone(),
        }));
    }
    let handles = Handles::new(skeleton, false);
    super::template::render_with(
        "subskel.h.j2",
        TEMPLATE,
        &[COMMON],
        context! {
            obj => obj_name,
            guard => format!("__{}_SUBSKEL_H__", obj_name.to_uppercase()),
            datasecs => datasecs.to_value(),
            vars => vars.to_value(),
            ..handles.context()
        },
    )
}

/// The ELF section of an internal map. The final object has a name of its own, so its
/// internal maps are not called as the library's would be (`lib_bpf.bss`); libbpf matches a
/// name starting with `.` against the section instead, which linking keeps (bpftool gets
/// these names by opening the library with an empty object name).
fn section_name(map: &Map) -> Option<&str> {
    match &map.kind {
        MapKind::Data { section, .. } => Some(section),
        MapKind::Kconfig { .. } => Some(".kconfig"),
        MapKind::User | MapKind::StructOps { .. } => None,
    }
}
