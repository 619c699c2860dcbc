//! eunomia-bpf's package formats, what `ecli` runs: `package.json` (the object zlib-compressed
//! and base64-encoded, with its skeleton metadata) and `package.tar` (`package.json`, the
//! object, and a `btfhub-archive/` tree of min-CO-RE BTF that the loader picks from by the
//! running system's os-release and `uname`).
//!
//! eunomia's format has no prose specification: the serde types of `bpf-loader-lib`'s
//! `meta` module (0.2) are what this follows. Its loader initialises only `.rodata` and
//! `.bss` from `data_sections` (it refuses other sections), finds their maps by the
//! skeleton identifiers `rodata` and `bss`, and turns `.rodata` variables into command-line
//! flags; `export_types` says how to print ring buffer and perf events.

use super::PackageObject;
use super::archive::{Entry, canonical_json, tar, zlib};
use crate::btf::dump::type_name;
use crate::btf::table::Kind;
use crate::btf::table::Linkage;
use crate::error::{Error, Result};
use crate::object::MapKind;
use base64::Engine as _;
use serde_json::{Value, json};

/// eunomia's `package.json` for `object`, whose `export_types` are the structs named in
/// `export_types` (the event types ecli prints from ring buffers and perf buffers).
pub fn package_json(object: &PackageObject, export_types: &[String]) -> Result<Vec<u8>> {
    let compressed = zlib(&object.bytes);
    let package = json!({
        "bpf_object": base64::engine::general_purpose::STANDARD.encode(compressed),
        "bpf_object_size": object.bytes.len(),
        "meta": meta(object, export_types)?,
    });
    Ok(canonical_json(&package))
}

/// eunomia's `package.tar`: `package.json`, the object, and its min-CO-RE BTF under
/// `btfhub-archive/ID/VERSION_ID/MACHINE/RELEASE.btf`.
pub fn package_tar(object: &PackageObject, export_types: &[String], epoch: u64) -> Result<Vec<u8>> {
    let mut entries = vec![
        Entry {
            path: "package.json".into(),
            bytes: package_json(object, export_types)?,
        },
        Entry {
            path: object.file_name.clone(),
            bytes: object.bytes.clone(),
        },
    ];
    let mut btfs: Vec<_> = object.btfs.iter().collect();
    btfs.sort_by_key(|(kernel, _)| kernel.archive_path());
    entries.extend(btfs.into_iter().map(|(kernel, bytes)| Entry {
        path: format!("btfhub-archive/{}", kernel.archive_path()),
        bytes: bytes.clone(),
    }));
    tar(&entries, epoch)
}

/// `meta`: the skeleton (`bpf_skel`) and the exported event types.
fn meta(object: &PackageObject, export_types: &[String]) -> Result<Value> {
    let model = &object.object;
    let types = model.types.as_ref();
    let progs: Vec<Value> = model
        .programs
        .iter()
        .filter(|p| !p.section.starts_with('?'))
        .map(|p| {
            let auto_attach = p.sec_def.is_some_and(|d| d.auto_attach);
            json!({"name": p.name, "attach": p.section, "link": auto_attach})
        })
        .collect();
    let maps: Vec<Value> = model
        .maps
        .iter()
        .map(|m| json!({"name": m.name, "ident": m.ident, "mmaped": m.mmaped_vars().is_some()}))
        .collect();
    let mut data_sections = Vec::new();
    for map in &model.maps {
        let MapKind::Data {
            section,
            mmapable: true,
            vars,
        } = &map.kind
        else {
            continue;
        };
        // The loader knows these two and fails on any other section it is given.
        if section != ".rodata" && section != ".bss" {
            continue;
        }
        let variables = vars
            .iter()
            .filter(|v| v.linkage != Linkage::Static)
            .map(|v| {
                let ty = types.map(|t| type_name(t, v.type_id)).transpose()?;
                Ok(json!({"name": v.name, "type": ty.unwrap_or_default()}))
            })
            .collect::<Result<Vec<_>>>()?;
        data_sections.push(json!({"name": section, "variables": variables}));
    }
    let exported = export_types
        .iter()
        .map(|name| exported_type(object, name))
        .collect::<Result<Vec<_>>>()?;
    Ok(json!({
        "bpf_skel": {
            "obj_name": object.obj_name,
            "progs": progs,
            "maps": maps,
            "data_sections": data_sections,
        },
        "export_types": exported,
    }))
}

/// `export_types[]`: the struct `name` of the object's BTF, members as C type strings.
fn exported_type(object: &PackageObject, name: &str) -> Result<Value> {
    let types = object.object.types.as_ref();
    let found = types.and_then(|types| {
        let id = (1..types.len()).find(|&id| {
            types
                .get(id)
                .is_ok_and(|t| t.kind == Kind::Struct && types.name(t.name) == name)
        })?;
        Some((types, id))
    });
    let (types, id) = found.ok_or_else(|| {
        Error::input(format!(
            "has no struct {name} in its BTF: ecli needs the event type in BTF (use it in a \
             global, e.g. `struct {name} *unused_{name} __attribute__((unused));`)"
        ))
        .in_file(std::path::Path::new(&object.file_name))
    })?;
    let ty = types.get(id)?;
    let members = types
        .items(ty)
        .iter()
        .map(|m| Ok(json!({"name": types.name(m.name), "type": type_name(types, m.target)?})))
        .collect::<Result<Vec<_>>>()?;
    Ok(json!({"name": name, "members": members, "size": ty.size, "type_id": id}))
}
