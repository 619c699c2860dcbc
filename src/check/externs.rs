//! Externs libbpf resolves at load time: `__kconfig` values must have a type libbpf can fill
//! from the kernel configuration, and `__ksym` variables and kfuncs must exist in the target
//! kernel's BTF.

use super::Context;
use crate::btf::table::{Kind, TypeTable};
use crate::diag::{Code, Diagnostic, Severity};
use crate::error::Result;
use crate::object::{Extern, ExternKind};

/// Findings about `__kconfig` and `__ksym` externs (the latter per target kernel).
pub(crate) fn check(cx: &Context) -> Result<Vec<Diagnostic>> {
    let mut found = Vec::new();
    let Some(types) = &cx.object.types else {
        return Ok(found);
    };
    for ext in cx
        .object
        .externs
        .iter()
        .filter(|e| e.kind == ExternKind::Kconfig)
    {
        if let Some(why) = kconfig_problem(types, ext.type_id) {
            found.push(
                cx.diagnostic(
                    Code::KconfigType,
                    Severity::Error,
                    format!("extern '{}' (__kconfig): {why}", ext.name),
                )
                .at(cx.first_use(&ext.name))
                .note(
                    "libbpf fills __kconfig externs of type bool, char, tristate (enum \
                     libbpf_tristate), 1/2/4/8-byte integers and char arrays",
                ),
            );
        }
    }
    let ksyms: Vec<&Extern> = cx
        .object
        .externs
        .iter()
        .filter(|e| e.kind == ExternKind::Ksym)
        .collect();
    if ksyms.is_empty() {
        return Ok(found);
    }
    let names: Vec<&str> = ksyms.iter().map(|e| e.name.as_str()).collect();
    for target in cx.options.targets()? {
        let kinds = target.kinds_named(&names);
        let has = |name: &str, kind: Kind| kinds.get(name).is_some_and(|k| k.contains(&kind));
        for ext in &ksyms {
            let Ok(ty) = types.get(ext.type_id) else {
                continue;
            };
            let (what, present) = match ty.kind {
                Kind::Func => ("kfunc", has(&ext.name, Kind::Func)),
                // Typeless ksyms (`extern const void x __ksym`) come from /proc/kallsyms,
                // which no BTF file describes.
                Kind::Var
                    if types
                        .skip_mods_and_typedefs(ty.target)
                        .is_ok_and(|id| id == 0) =>
                {
                    continue;
                }
                _ => ("variable", has(&ext.name, Kind::Var)),
            };
            if present {
                continue;
            }
            let severity = if ext.weak {
                Severity::Warning
            } else {
                Severity::Error
            };
            let mut finding = cx
                .diagnostic(
                    Code::KsymMissing,
                    severity,
                    format!(
                        "__ksym {what} '{}' is not in the target kernel's BTF",
                        ext.name
                    ),
                )
                .at(cx.first_use(&ext.name))
                .on_target(&target.name);
            finding = if ext.weak {
                finding.note("it is __weak: libbpf resolves it to 0; test it before use")
            } else {
                finding.note(
                    "libbpf will fail the load (declare it __weak and test it, if it is \
                     optional); kernel modules' BTF is not searched offline",
                )
            };
            found.push(finding);
        }
    }
    Ok(found)
}

/// Why libbpf cannot fill a `__kconfig` extern of VAR `var_id` (`bpf_object__collect_externs`;
/// a `.kconfig` extern that is not a variable already fails `BpfObject::parse`).
fn kconfig_problem(types: &TypeTable, var_id: u32) -> Option<String> {
    let var = types.get(var_id).ok()?;
    let id = types.skip_mods_and_typedefs(var.target).ok()?;
    let ty = types.get(id).ok()?;
    let name = types.name(ty.name);
    let ok = match ty.kind {
        Kind::Int { .. } => matches!(ty.size, 1 | 2 | 4 | 8),
        Kind::Enum { .. } | Kind::Enum64 { .. } => name == "libbpf_tristate",
        Kind::Array { nelems } => {
            nelems > 0
                && types
                    .skip_mods_and_typedefs(ty.target)
                    .and_then(|e| types.get(e))
                    .is_ok_and(|e| matches!(e.kind, Kind::Int { .. }) && e.size == 1)
        }
        _ => false,
    };
    (!ok).then(|| {
        let shown = match ty.kind {
            Kind::Int { .. } => format!("{}-byte integer '{name}'", ty.size),
            Kind::Array { .. } => "array of something other than char".to_string(),
            Kind::Ptr => "pointer".to_string(),
            Kind::Struct => format!("struct {name}"),
            Kind::Union => format!("union {name}"),
            Kind::Enum { .. } | Kind::Enum64 { .. } => format!("enum {name}"),
            Kind::Float => format!("floating-point '{name}'"),
            _ => format!("'{name}'"),
        };
        format!("type {shown} is unsupported")
    })
}
