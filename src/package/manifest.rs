//! `bpfgen.manifest.json`: what a packaged object is, needs and exposes, derived from the
//! object alone (never written by hand, so it cannot drift from the object). Its JSON schema
//! is `schema/bpfgen.manifest.schema.json`; runtimes' own metadata (bpfman's labels,
//! eunomia's skeleton JSON) is derived from the same object model.

use super::PackageObject;
use super::archive::sha256_hex;
use crate::btf::core::{ReloKind, access_path};
use crate::btf::dump::type_name;
use crate::btf::table::{Kind, TypeTable};
use crate::error::Result;
use crate::object::{ByteOrder, Map, MapKind, Program, map_type_name};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The manifest's media type (also the OCI layer entry's and the schema's `$id` stem).
pub const MEDIA_TYPE: &str = "application/vnd.bpfgen.manifest.v1+json";

/// The manifest's file name inside packages.
pub const FILE_NAME: &str = "bpfgen.manifest.json";

/// The manifest of `object`, whose min-CO-RE BTF files sit under `btf/` beside it.
pub fn manifest(object: &PackageObject, epoch: u64) -> Result<Value> {
    let model = &object.object;
    let types = model.types.as_ref();
    let big_endian = model.byte_order == ByteOrder::Big;
    let name_of = |id: u32| -> Result<Value> {
        match types {
            Some(t) if id != 0 => Ok(Value::String(type_name(t, id)?)),
            _ => Ok(Value::Null),
        }
    };
    let mut globals = Vec::new();
    for map in &model.maps {
        if let MapKind::Data { section, vars, .. } = &map.kind {
            for var in vars {
                globals.push(json!({
                    "section": section,
                    "name": var.name,
                    "type": name_of(var.type_id)?,
                    "offset": var.offset,
                    "size": var.size,
                    "linkage": var.linkage.name(),
                }));
            }
        }
    }
    let maps = model
        .maps
        .iter()
        .map(|m| map_entry(m, &name_of))
        .collect::<Result<Vec<_>>>()?;
    let externs = model
        .externs
        .iter()
        .map(|e| {
            Ok(json!({
                "name": e.name,
                "kind": e.kind.name(),
                "weak": e.weak,
                // The VAR's type, or the FUNC's prototype: a VAR or FUNC is a declaration,
                // not a type C can name.
                "type": name_of(types.and_then(|t| t.get(e.type_id).ok()).map_or(0, |ty| ty.target))?,
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    let btf: Vec<Value> = object
        .btfs
        .iter()
        .map(|(kernel, bytes)| {
            json!({
                "id": kernel.os_id,
                "versionId": kernel.version_id,
                "arch": kernel.platform.arch,
                "machine": kernel.platform.machine,
                "release": kernel.release,
                "path": format!("btf/{}", kernel.archive_path()),
                "sha256": sha256_hex(bytes),
                "size": bytes.len(),
            })
        })
        .collect();
    let build = object.build.as_ref();
    Ok(json!({
        "schemaVersion": 1,
        "mediaType": MEDIA_TYPE,
        "object": {
            "fileName": object.file_name,
            "objName": object.obj_name,
            "sha256": sha256_hex(&object.bytes),
            "size": object.bytes.len(),
            "endianness": if big_endian { "big" } else { "little" },
            "target": if big_endian { "bpfeb" } else { "bpfel" },
            "platform": {
                "os": "linux",
                "architecture": object.platform.arch,
                "machine": object.platform.machine,
            },
        },
        "license": model.license,
        "programs": model.programs.iter().map(program_entry).collect::<Vec<_>>(),
        "maps": maps,
        "globals": globals,
        "externs": externs,
        "types": match types {
            Some(t) => exposed_types(t, object)?,
            None => Vec::new(),
        },
        "coreRelocations": core_relocations(object),
        "btf": btf,
        "build": {
            "bpfgen": env!("CARGO_PKG_VERSION"),
            "clang": build.map(|b| b.clang.clone()),
            "flags": build.map(|b| b.flags.clone()),
            "sources": build.map_or_else(Vec::new, |b| {
                b.sources.iter().map(|(name, sha)| json!({"name": name, "sha256": sha})).collect()
            }),
            "sourceDateEpoch": epoch,
        },
    }))
}

fn program_entry(program: &Program) -> Value {
    let def = program.sec_def.as_ref();
    let section = program.section.trim_start_matches('?');
    let attach_target = def.and_then(|d| {
        section
            .strip_prefix(d.pattern)
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|rest| !rest.is_empty())
    });
    json!({
        "name": program.name,
        "section": program.section,
        "progType": def.map(|d| d.prog_type),
        "attachTarget": attach_target,
        "autoload": !program.section.starts_with('?'),
        "autoAttach": def.is_some_and(|d| d.auto_attach) && attach_target.is_some(),
        "bpfmanType": bpfman_program_type(program),
    })
}

fn map_entry(map: &Map, name_of: &dyn Fn(u32) -> Result<Value>) -> Result<Value> {
    let kind = match map.kind {
        MapKind::User => "user",
        MapKind::Data { .. } => "data",
        MapKind::Kconfig { .. } => "kconfig",
        MapKind::StructOps { .. } => "struct_ops",
    };
    Ok(json!({
        "name": map.name,
        "kind": kind,
        "type": map_type_name(map.def.map_type),
        "keySize": map.def.key_size,
        "valueSize": map.def.value_size,
        "maxEntries": map.def.max_entries,
        "flags": map.def.flags,
        // Internal maps' value "type" is their section's DATASEC, which has no C name.
        "keyType": map.key_type_id.filter(|_| !map.is_internal()).map(name_of).transpose()?,
        "valueType": map.value_type_id.filter(|_| !map.is_internal()).map(name_of).transpose()?,
    }))
}

/// The program type as bpfman names it (`io.ebpf.programs`), for the sections bpfman can
/// load; `None` for the others (raw tracepoints, iterators, struct_ops, cgroup programs...).
pub fn bpfman_program_type(program: &Program) -> Option<&'static str> {
    let pattern = program.sec_def.as_ref()?.pattern;
    Some(match pattern {
        "xdp" | "xdp.frags" => "xdp",
        "tc" | "classifier" | "tc/ingress" | "tc/egress" => "tc",
        "tcx/ingress" | "tcx/egress" => "tcx",
        "tp" | "tracepoint" => "tracepoint",
        "kprobe" | "kretprobe" => "kprobe",
        "uprobe" | "uretprobe" => "uprobe",
        "fentry" => "fentry",
        "fexit" => "fexit",
        _ => return None,
    })
}

/// A map type as bpfman names it (`io.ebpf.maps`): libbpf's name with `percpu` spelled
/// `per_cpu`.
pub fn bpfman_map_type(map_type: u32) -> String {
    map_type_name(map_type).replace("percpu", "per_cpu")
}

/// The named structs, unions and enums that map keys and values and global variables are
/// made of (through typedefs, modifiers, arrays and members, not pointers), in BTF order.
fn exposed_types(types: &TypeTable, object: &PackageObject) -> Result<Vec<Value>> {
    let model = &object.object;
    let mut roots: Vec<u32> = model
        .maps
        .iter()
        .filter(|m| matches!(m.kind, MapKind::User))
        .flat_map(|m| [m.key_type_id, m.value_type_id])
        .flatten()
        .collect();
    roots.extend(
        model
            .maps
            .iter()
            .filter_map(|m| match &m.kind {
                MapKind::Data { vars, .. } => Some(vars),
                _ => None,
            })
            .flatten()
            .map(|v| v.type_id),
    );
    let mut seen = BTreeSet::new();
    let mut stack = roots;
    while let Some(id) = stack.pop() {
        let Ok(ty) = types.get(id) else { continue };
        match ty.kind {
            Kind::Typedef
            | Kind::Const
            | Kind::Volatile
            | Kind::Restrict
            | Kind::TypeTag { .. } => {
                stack.push(ty.target);
            }
            Kind::Array { .. } => stack.push(ty.target),
            Kind::Struct | Kind::Union | Kind::Enum { .. } | Kind::Enum64 { .. }
                if seen.insert(id) =>
            {
                stack.extend(types.items(ty).iter().map(|m| m.target).filter(|&t| t != 0));
            }
            _ => {}
        }
    }
    seen.into_iter()
        .filter(|&id| types.get(id).is_ok_and(|t| !types.name(t.name).is_empty()))
        .map(|id| {
            let ty = types.get(id)?;
            let is_enum = matches!(ty.kind, Kind::Enum { .. } | Kind::Enum64 { .. });
            let items = types
                .items(ty)
                .iter()
                .map(|m| {
                    Ok(if is_enum {
                        json!({"name": types.name(m.name), "value": m.value})
                    } else {
                        json!({
                            "name": types.name(m.name),
                            "type": type_name(types, m.target)?,
                            "bitOffset": m.bit_offset,
                            "bitfieldSize": m.bitfield_size,
                        })
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let mut entry = json!({
                "name": type_name(types, id)?,
                "btfId": id,
                "size": ty.size,
            });
            entry[if is_enum { "values" } else { "members" }] = Value::Array(items);
            Ok(entry)
        })
        .collect()
}

/// Each distinct kernel access that CO-RE relocations make: the root type, the access
/// path, the relocation kind, sorted.
fn core_relocations(object: &PackageObject) -> Vec<Value> {
    let (Some(types), Some(ext)) = (&object.object.types, &object.object.btf_ext) else {
        return Vec::new();
    };
    let accesses: BTreeSet<(String, String, &str)> = ext
        .sections
        .iter()
        .flat_map(|s| &s.core_relos)
        .filter(|r| ReloKind::from_raw(r.kind) != Some(ReloKind::TypeIdLocal))
        .map(|r| {
            let root = type_name(types, r.type_id).unwrap_or_default();
            let kind = ReloKind::from_raw(r.kind).map_or("unknown", ReloKind::name);
            (root, access_path(types, r), kind)
        })
        .collect();
    accesses
        .into_iter()
        .map(|(root, access, kind)| json!({"type": root, "access": access, "kind": kind}))
        .collect()
}
