//! What a target kernel's BTF must have for the programs to load there: the functions and
//! tracepoints `fentry`/`fexit`/`fmod_ret`/`lsm`/`iter`/`tp_btf` programs attach to, and the
//! helpers they call (the enumerators of its `enum bpf_func_id`).

use super::Context;
use super::flow::{Reach, Reachability};
use super::helpers::{HELPERS, calls};
use crate::btf::core::Target;
use crate::btf::table::Kind;
use crate::diag::{Anchor, Code, Diagnostic, Severity};
use std::collections::HashSet;

/// The BTF name and kind a program of section pattern `pattern` attaching to `name` needs in
/// the kernel (libbpf's `find_attach_btf_id`), for the patterns with a kernel BTF target.
fn attach_type(pattern: &str, name: &str) -> Option<(String, Kind)> {
    let base = pattern.strip_suffix(".s").unwrap_or(pattern);
    match base {
        "tp_btf" => Some((format!("btf_trace_{name}"), Kind::Typedef)),
        "fentry" | "fexit" | "fmod_ret" => Some((name.to_string(), Kind::Func)),
        "lsm" | "lsm_cgroup" => Some((format!("bpf_lsm_{name}"), Kind::Func)),
        "iter" => Some((format!("bpf_iter_{name}"), Kind::Func)),
        _ => None,
    }
}

/// Programs whose attach target `target` does not have. Warnings: user space may attach them
/// elsewhere (`bpf_program__set_attach_target()`) or not load them.
pub(crate) fn attach_targets(cx: &Context, target: &Target) -> Vec<Diagnostic> {
    let wanted: Vec<_> = cx
        .object
        .programs
        .iter()
        .filter(|p| !p.section.starts_with('?'))
        .filter_map(|program| {
            let pattern = program.sec_def?.pattern;
            let name = program.section.strip_prefix(pattern)?.strip_prefix('/')?;
            // `module:function` targets are in a module's BTF, which is not searched.
            if name.is_empty() || name.contains(':') {
                return None;
            }
            let (btf_name, kind) = attach_type(pattern, name)?;
            Some((program, name, btf_name, kind))
        })
        .collect();
    let names: Vec<&str> = wanted.iter().map(|(_, _, n, _)| n.as_str()).collect();
    let kinds = target.kinds_named(&names);
    wanted
        .into_iter()
        .filter(|(_, _, btf_name, kind)| !kinds.get(btf_name).is_some_and(|k| k.contains(kind)))
        .map(|(program, name, btf_name, _)| {
            cx.diagnostic(
                Code::AttachTargetMissing,
                Severity::Warning,
                format!(
                    "program '{}': '{name}' is not in the target kernel's BTF (no {btf_name}), \
                     so SEC(\"{}\") cannot load there unless user space sets another attach \
                     target or turns its autoload off",
                    program.name, program.section
                ),
            )
            .at(cx.location(&program.section, program.offset))
            .anchored(Anchor::Above(format!("\"{}\"", program.section)))
            .on_target(&target.name)
            .note(format!(
                "libbpf: failed to find kernel BTF type ID of '{name}' \
                 (bpf_program__set_attach_target() before load picks another)"
            ))
        })
        .collect()
}

/// Helper calls the verifier reaches on `target` whose id its `enum bpf_func_id` lacks:
/// errors on a path the verifier walks whatever user space does, warnings behind `.rodata`
/// or `.kconfig` branches or in programs user space must enable.
pub(crate) fn helpers(cx: &Context, target: &Target, reach: &Reachability) -> Vec<Diagnostic> {
    let Some(known) = helper_ids(target) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for code in &cx.object.code {
        for call in calls(&code.bytes, cx.object.byte_order) {
            let has_relocation = code.relocations.iter().any(|r| r.offset == call.offset);
            let Ok(id) = u64::try_from(call.imm) else {
                continue;
            };
            if call.src_reg != 0 || has_relocation || known.contains(&id) {
                continue;
            }
            let severity = match reach.at(code.section_index, call.offset) {
                Reach::Dead => continue,
                Reach::Conditional => Severity::Warning,
                Reach::Live => Severity::Error,
            };
            let name = usize::try_from(id)
                .ok()
                .and_then(|i| HELPERS.get(i))
                .map_or(format!("helper #{id}"), |h| {
                    format!("helper {}() (#{id})", h.name)
                });
            let unless = if severity == Severity::Warning {
                ", unless the .rodata/.kconfig values it is loaded with (or its autoload) keep \
                 the call off every path"
            } else {
                ""
            };
            found.push(
                cx.diagnostic(
                    Code::HelperMissing,
                    severity,
                    format!("{name} is not in the target kernel's enum bpf_func_id{unless}"),
                )
                .at(cx.location(&code.section, call.offset))
                .on_target(&target.name)
                .note(format!("the verifier refuses: invalid func unknown#{id}"))
                .note(
                    "test for it with bpf_core_enum_value_exists(enum bpf_func_id, \
                     BPF_FUNC_...) first",
                ),
            );
        }
    }
    found
}

/// The values of `BPF_FUNC_*` enumerators of the target's `enum bpf_func_id`, or `None`
/// when it has no such enum (not a kernel's BTF).
fn helper_ids(target: &Target) -> Option<Vec<u64>> {
    let types = &target.types;
    let ty = target
        .by_essential_name(&HashSet::from(["bpf_func_id"]))
        .remove("bpf_func_id")?
        .into_iter()
        .filter_map(|id| types.get(id).ok())
        .find(|t| matches!(t.kind, Kind::Enum { .. }) && types.name(t.name) == "bpf_func_id")?;
    Some(
        types
            .items(ty)
            .iter()
            .filter(|item| types.name(item.name).starts_with("BPF_FUNC_"))
            .map(|item| item.value)
            .collect(),
    )
}
