//! BTF presence and sanity: without `.BTF` libbpf has no types for maps, globals or CO-RE;
//! without `.BTF.ext` there are no source lines and no CO-RE relocations; a DATASEC whose
//! variables do not fit its section is refused by the kernel when the BTF is loaded. libbpf
//! then goes on without it ("BTF is optional, ignoring") unless the object has `struct_ops`,
//! so invalid BTF is an error only there.

use super::Context;
use crate::btf::table::Kind;
use crate::diag::{Code, Diagnostic, Severity};
use crate::object::{MapKind, SectionKind};

/// Findings about the presence and sanity of `.BTF` and `.BTF.ext`.
pub(crate) fn check(cx: &Context) -> Vec<Diagnostic> {
    let object = cx.object;
    let Some(types) = &object.types else {
        return vec![
            cx.diagnostic(
                Code::NoBtf,
                Severity::Warning,
                "no .BTF section: built without -g, so libbpf gets no types for maps, \
                 globals or CO-RE",
            )
            .note("compile with clang -g (bpfgen build always does)"),
        ];
    };
    let mut found = Vec::new();
    if object.btf_ext.is_none() && object.code.iter().any(|c| !c.bytes.is_empty()) {
        found.push(
            cx.diagnostic(
                Code::NoBtfExt,
                Severity::Warning,
                "no .BTF.ext section: no source lines in verifier logs and no CO-RE \
                 relocations",
            )
            .note("compile with clang -g, and do not strip .BTF.ext"),
        );
    }
    for id in 1..types.len() {
        let Ok(ty) = types.get(id) else { continue };
        if ty.kind != Kind::Datasec {
            continue;
        }
        let name = types.name(ty.name);
        let section_size = object
            .sections
            .iter()
            .find(|s| s.name == name && s.kind != SectionKind::Relocations)
            .map(|s| s.size);
        let size = match (ty.size, section_size) {
            (0, Some(size)) => size,
            (declared, Some(size)) if u64::from(declared) != size => {
                found.push(invalid(
                    cx,
                    format!(
                        "DATASEC '{name}' [{id}] says {declared} bytes but section '{name}' \
                         has {size}"
                    ),
                ));
                continue;
            }
            (declared, _) => u64::from(declared),
        };
        for item in types.items(ty) {
            let var = types.get(item.target).ok();
            let var_name = var.map_or("?", |v| types.name(v.name));
            if !var.is_some_and(|v| matches!(v.kind, Kind::Var | Kind::Func)) {
                found.push(invalid(
                    cx,
                    format!(
                        "DATASEC '{name}' [{id}] has an entry [{}] that is not a variable",
                        item.target
                    ),
                ));
                continue;
            }
            // clang leaves offsets of globals to libbpf's fix-up (0 in the raw BTF); only
            // a declared size can be checked before it.
            let end = u64::from(item.bit_offset) + item.value;
            if ty.size != 0 && end > size {
                found.push(invalid(
                    cx,
                    format!(
                        "DATASEC '{name}' [{id}]: variable '{var_name}' ends at byte {end}, \
                         past the section's {size} bytes"
                    ),
                ));
            }
        }
    }
    found
}

/// What libbpf does when the kernel refuses an object's BTF.
pub(crate) const OPTIONAL_BTF: &str = "the kernel refuses this BTF; libbpf then loads the \
     object without it (\"BTF is optional, ignoring\") unless the object has struct_ops, or \
     libbpf's own parser fails on it too and the object has BTF-defined maps or externs";

/// A B0403 finding: an error with `struct_ops` (the kernel needs the BTF), else a warning.
fn invalid(cx: &Context, message: String) -> Diagnostic {
    let needed = cx
        .object
        .maps
        .iter()
        .any(|m| matches!(m.kind, MapKind::StructOps { .. }));
    let severity = if needed {
        Severity::Error
    } else {
        Severity::Warning
    };
    cx.diagnostic(Code::InvalidBtf, severity, message)
        .note(OPTIONAL_BTF)
}
