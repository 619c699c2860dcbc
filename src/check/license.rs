//! The license and what it allows: the kernel lets only GPL-compatible programs call
//! GPL-only helpers ("cannot call GPL-restricted function from non-GPL compatible program")
//! and kfuncs ("cannot call kernel function from non-GPL compatible program").

use super::Context;
use super::helpers::{HELPERS, calls};
use crate::diag::{Code, Diagnostic, Severity};
use crate::object::ExternKind;
use crate::object::sec_def::{self, SecDef};

/// The license strings the kernel's `license_is_gpl_compatible()` accepts, exactly.
const GPL_COMPATIBLE: &[&str] = &[
    "GPL",
    "GPL v2",
    "GPL and additional rights",
    "Dual BSD/GPL",
    "Dual MIT/GPL",
    "Dual MPL/GPL",
];

/// Findings about the license and what it lets the programs call.
pub(crate) fn check(cx: &Context) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    let license = cx.object.license.as_deref();
    if license.is_none() && !cx.object.programs.is_empty() {
        found.push(
            cx.diagnostic(
                Code::MissingLicense,
                Severity::Warning,
                "no license section: the kernel treats the programs as proprietary",
            )
            .note("add `char LICENSE[] SEC(\"license\") = \"Dual BSD/GPL\";`"),
        );
    }
    if license.is_some_and(|l| GPL_COMPATIBLE.contains(&l)) {
        return found;
    }
    let shown = license.map_or("no license".to_string(), |l| format!("license \"{l}\""));
    let fix = format!(
        "GPL-compatible licenses are exactly: {}",
        GPL_COMPATIBLE
            .iter()
            .map(|l| format!("\"{l}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for code in &cx.object.code {
        // SEC("?...") programs are not loaded unless user space turns their autoload on.
        let (severity, autoload) = if code.section.starts_with('?') {
            (
                Severity::Warning,
                " (unless user space turns on the autoload of this SEC(\"?...\") program)",
            )
        } else {
            (Severity::Error, "")
        };
        let sec_def = sec_def::find(&code.section);
        for call in calls(&code.bytes, cx.object.byte_order) {
            let location = cx.location(&code.section, call.offset);
            let relocated = code.relocations.iter().find(|r| r.offset == call.offset);
            let kfunc = relocated.and_then(|r| {
                cx.object
                    .externs
                    .iter()
                    .find(|e| e.kind == ExternKind::Ksym && e.name == r.symbol)
            });
            if let Some(kfunc) = kfunc {
                found.push(
                    cx.diagnostic(
                        Code::KfuncLicense,
                        severity,
                        format!("kfunc {}() called under {shown}{autoload}", kfunc.name),
                    )
                    .at(location)
                    .note("the verifier refuses: cannot call kernel function from non-GPL compatible program")
                    .note(fix.clone()),
                );
                continue;
            }
            if relocated.is_some() || call.src_reg != 0 {
                continue;
            }
            let Some(helper) = usize::try_from(call.imm)
                .ok()
                .filter(|&id| !gpl_free_here(id, sec_def))
                .and_then(|id| HELPERS.get(id))
                .filter(|h| h.gpl_only)
            else {
                continue;
            };
            found.push(
                cx.diagnostic(
                    Code::GplOnlyHelper,
                    severity,
                    format!(
                        "GPL-only helper {}() called under {shown}{autoload}",
                        helper.name
                    ),
                )
                .at(location)
                .note("the verifier refuses: cannot call GPL-restricted function from non-GPL compatible program")
                .note(fix.clone()),
            );
        }
    }
    found
}

/// The two helpers whose proto is GPL-only for most program types but not for one:
/// `bpf_get_stackid` (27) in perf_event programs, `bpf_get_func_ip` (173) in kprobe.multi.
fn gpl_free_here(helper: usize, sec_def: Option<SecDef>) -> bool {
    let Some(def) = sec_def else {
        return false;
    };
    match helper {
        27 => def.prog_type == "perf_event",
        173 => {
            def.pattern.starts_with("kprobe.multi") || def.pattern.starts_with("kretprobe.multi")
        }
        _ => false,
    }
}
