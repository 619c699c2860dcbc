//! The C subskeleton (`.subskel.h`, what `bpftool gen subskeleton` writes) of a BPF library: an
//! object that is statically linked into a bigger one. User space opens it against that final
//! object (`<name>__open(skel->obj)`) and gets pointers to the library's variables and the
//! handles of its maps and programs, all found there by name by libbpf
//! (`bpf_object__open_subskeleton`). Rendered through `templates/c/subskel.h.j2`.

use super::c::{COMMON, Handles, StructCtx, c_string_body, style};
use super::model::{SkelDatasec, Skeleton};
use super::template::ToValue;
use crate::btf::dump::declaration;
use crate::btf::raw::TypeRecords;
use crate::btf::table::{Kind, MAX_DEPTH, TypeTable};
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
    let mut datasecs = Vec::new();
    let mut vars = Vec::new();
    for sec in &skeleton.datasecs {
        datasecs.push(StructCtx {
            ident: sec.ident.clone(),
            type_name: String::new(),
            lines: datasec_lines(types, sec)?,
        });
        vars.extend(sec.vars.iter().map(|var| VarCtx {
            name: c_string_body(&var.name),
            sec: sec.ident.clone(),
            ident: var.ident.clone(),
        }));
    }
    let handles = Handles::new(&skeleton, Some(types), false)?;
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

/// The members of a data section's struct: a pointer to each variable.
fn datasec_lines(types: &TypeTable, sec: &SkelDatasec) -> Result<Vec<String>> {
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
