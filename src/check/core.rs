//! CO-RE: every `.BTF.ext` relocation resolved against each target kernel as libbpf would,
//! in libbpf's order. libbpf poisons the instruction of a relocation no target type
//! satisfies, and the verifier rejects it if it walks there: with the patched instructions'
//! constants followed through the branches they decide (the `flow` module), a poisoned
//! instruction on a path whatever user space does is an error, one behind a branch on
//! `.rodata`/`.kconfig` values (or in a program not autoloaded) a warning, and one on no
//! path at all is not reported.

use super::Context;
use super::flow::{Patch, Reach, Reachability};
use crate::btf::core::{ReloKind, Resolution, Resolver, Target, access_path, essential_name};
use crate::btf::ext::CoreRelo;
use crate::diag::{Anchor, Code, Diagnostic, Severity, SourceLocation};
use crate::object::{BpfObject, ByteOrder};
use std::collections::HashMap;

/// libbpf's verdict on one relocation against one target.
#[derive(Debug, Clone)]
pub struct CoreVerdict {
    /// ELF section of the relocated instruction.
    pub section: String,
    /// Its ELF index.
    pub section_index: usize,
    /// Index of the record among its section's CO-RE records (libbpf's `relo #N`).
    pub index: usize,
    /// The program or sub-program the instruction belongs to (libbpf's `prog '...'`).
    pub function: String,
    /// The record.
    pub relo: CoreRelo,
    /// What it asks for.
    pub kind: Option<ReloKind>,
    /// The access in C terms (`task_struct->__state`).
    pub path: String,
    /// The root type's name without its flavour suffix (`task_struct` for `task_struct___old`).
    pub root: String,
    /// What libbpf makes of it.
    pub resolution: Resolution,
}

/// The verdict on every relocation libbpf would process (not those of `SEC("?...")`
/// programs, which are not loaded, nor of code outside any function), in libbpf's order.
pub fn verdicts(object: &BpfObject, target: &Target) -> Vec<CoreVerdict> {
    let (Some(types), Some(ext)) = (&object.types, &object.btf_ext) else {
        return Vec::new();
    };
    let little_endian = object.byte_order == ByteOrder::Little;
    let all: Vec<&CoreRelo> = ext.sections.iter().flat_map(|s| &s.core_relos).collect();
    let mut resolver = Resolver::new(types, target, &all);
    let mut out = Vec::new();
    for records in &ext.sections {
        let Some(section) = object.sections.iter().find(|s| s.name == records.section) else {
            continue;
        };
        for (index, relo) in records.core_relos.iter().enumerate() {
            let Some(function) = object.function_at(section.index, u64::from(relo.insn_off)) else {
                continue;
            };
            // SEC("?...") programs are not loaded, so libbpf does not relocate them.
            if section.name.starts_with('?') {
                continue;
            }
            let insn = object.instruction_at(section.index, relo.insn_off);
            out.push(CoreVerdict {
                section: records.section.clone(),
                section_index: section.index,
                index,
                function: function.name.clone(),
                relo: relo.clone(),
                kind: ReloKind::from_raw(relo.kind),
                path: access_path(types, relo),
                root: types
                    .get(relo.type_id)
                    .map(|t| essential_name(types.name(t.name)).to_string())
                    .unwrap_or_default(),
                resolution: resolver.resolve(relo, insn, little_endian),
            });
        }
    }
    out
}

/// Failing relocations of one access at one place (a bitfield read is five relocations),
/// reported as one finding.
struct Group<'a> {
    code: Code,
    verdict: &'a CoreVerdict,
    location: Option<SourceLocation>,
    kinds: Vec<&'static str>,
}

/// Findings about the CO-RE relocations that fail on `target`, given its `verdicts` and which
/// instructions the verifier reaches there.
pub(crate) fn check(
    cx: &Context,
    target: &Target,
    all: &[CoreVerdict],
    reach: &Reachability,
) -> Vec<Diagnostic> {
    let mut groups: Vec<Group> = Vec::new();
    for verdict in all {
        let code = match &verdict.resolution {
            Resolution::Resolved { .. } | Resolution::Missing { value: Some(_) } => continue,
            Resolution::Missing { value: None } | Resolution::UnsafeAccess => {
                match reach.at(verdict.section_index, u64::from(verdict.relo.insn_off)) {
                    Reach::Dead => continue,
                    Reach::Conditional => Code::CoreGuarded,
                    Reach::Live => Code::CoreUnresolved,
                }
            }
            Resolution::Invalid(_) => Code::CoreInvalid,
        };
        let kind = verdict.kind.map_or("unknown", ReloKind::name);
        let location = cx.location(&verdict.section, u64::from(verdict.relo.insn_off));
        let same = groups.iter_mut().find(|g| {
            g.code == code
                && code != Code::CoreInvalid
                && g.verdict.function == verdict.function
                && g.verdict.path == verdict.path
                && g.location == location
        });
        match same {
            Some(group) if group.kinds.contains(&kind) => {}
            Some(group) => group.kinds.push(kind),
            None => groups.push(Group {
                code,
                verdict,
                location,
                kinds: vec![kind],
            }),
        }
    }
    groups
        .into_iter()
        .map(|group| {
            finding(cx, group.code, group.verdict, &group.kinds)
                .at(group.location)
                .anchored(named(&group.verdict.path))
                .on_target(&target.name)
        })
        .collect()
}

/// The finding for a group of relocations of one access at one place.
fn finding(cx: &Context, code: Code, verdict: &CoreVerdict, kinds: &[&str]) -> Diagnostic {
    let what = match verdict.kind {
        Some(k) if k.is_field() => "field",
        Some(ReloKind::EnumvalExists | ReloKind::EnumvalValue) => "enumerator",
        _ => "type",
    };
    let missing = if verdict.resolution == Resolution::UnsafeAccess {
        format!(
            "{what} {} has another size in the target kernel and is not a pointer or an \
             unsigned integer: the load cannot be adjusted ({})",
            verdict.path,
            kinds.join(", ")
        )
    } else {
        format!(
            "{what} {} is not in the target kernel ({})",
            verdict.path,
            kinds.join(", ")
        )
    };
    let relo = format!("prog '{}': relo #{}", verdict.function, verdict.index);
    match (&verdict.resolution, code) {
        (Resolution::Invalid(why), _) => cx
            .diagnostic(
                code,
                Severity::Error,
                format!("{} ({}): {why}", verdict.path, kinds.join(", ")),
            )
            .note(format!("libbpf fails the whole load at {relo}")),
        (_, Code::CoreGuarded) => cx
            .diagnostic(code, Severity::Warning, missing)
            .note(format!(
                "libbpf poisons the instruction of {relo}; the verifier rejects it unless the \
                 .rodata/.kconfig values the program is loaded with (LINUX_KERNEL_VERSION, \
                 CONFIG_*, const volatile settings), or its autoload, keep it off every path"
            )),
        _ => cx
            .diagnostic(code, Severity::Error, missing)
            .note(format!(
                "libbpf poisons the instruction of {relo}, and the verifier rejects it if it \
                 is reachable"
            ))
            .note(
                "guard it with bpf_core_field_exists()/bpf_core_type_exists(), or read a \
                 flavour (struct name___suffix) that matches this kernel",
            ),
    }
}

/// The statement a relocation belongs to names the last identifier of its access path
/// (`mm_cid` of `task_struct->mm_cid`, `BPF_FUNC_x` of `enum bpf_func_id::BPF_FUNC_x`).
fn named(path: &str) -> Anchor {
    let last = path
        .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|word| !word.is_empty() && !word.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(path);
    Anchor::Word(last.to_string())
}

/// What libbpf writes into each relocated instruction, by section index and byte offset.
pub(crate) fn patches(all: &[CoreVerdict]) -> HashMap<(usize, u64), Patch> {
    all.iter()
        .filter_map(|v| {
            let patch = match v.resolution {
                Resolution::Resolved { value } | Resolution::Missing { value: Some(value) } => {
                    Patch::Value(value)
                }
                Resolution::Missing { value: None } | Resolution::UnsafeAccess => Patch::Poisoned,
                Resolution::Invalid(_) => return None,
            };
            Some(((v.section_index, u64::from(v.relo.insn_off)), patch))
        })
        .collect()
}
