//! Program sections: every `SEC()` name must be one libbpf's section table knows, or the
//! load fails with "missing BPF prog type, check ELF section name".

use super::Context;
use crate::diag::{Anchor, Code, Diagnostic, Severity};
use crate::object::sec_def;

/// Section names libbpf learnt after 1.1 (Debian 12's libbpf and bpftool 7.1), which that
/// libbpf cannot load.
const NEWER_THAN_LIBBPF_1_1: &[&str] = &[
    "tc/ingress",
    "tc/egress",
    "tcx/ingress",
    "tcx/egress",
    "netkit/primary",
    "netkit/peer",
    "uprobe.multi",
    "uprobe.multi.s",
    "uretprobe.multi",
    "uretprobe.multi.s",
    "uprobe.session",
    "uprobe.session.s",
    "kprobe.session",
    "usdt.s",
    "struct_ops.s",
    "sk_skb/verdict",
    "netfilter",
    "cgroup/connect_unix",
    "cgroup/sendmsg_unix",
    "cgroup/recvmsg_unix",
    "cgroup/getpeername_unix",
    "cgroup/getsockname_unix",
    "tracepoint.s",
    "tp.s",
    "raw_tracepoint.s",
    "raw_tp.s",
    "tp_btf.s",
    "fentry.multi",
    "fentry.multi.s",
    "fexit.multi",
    "fexit.multi.s",
    "fsession",
    "fsession.s",
];

/// Findings about programs whose section names libbpf does not know, or knows only since a
/// release newer than 1.1.
pub(crate) fn check(cx: &Context) -> Vec<Diagnostic> {
    let mut found = unknown(cx);
    found.extend(cx.object.programs.iter().filter_map(|program| {
        let pattern = program.sec_def?.pattern;
        NEWER_THAN_LIBBPF_1_1.contains(&pattern).then(|| {
            cx.diagnostic(
                Code::NewerSection,
                Severity::Warning,
                format!(
                    "program '{}': SEC(\"{}\") is only known to libbpf releases newer than 1.1",
                    program.name, program.section
                ),
            )
            .at(cx.location(&program.section, program.offset))
            .anchored(sec_anchor(&program.section))
            .note(
                "libbpf 1.1 (Debian 12's, and bpftool 7.1's) fails to load it: missing BPF \
                 prog type",
            )
        })
    }));
    found
}

/// Programs whose section name is in no libbpf's table.
fn unknown(cx: &Context) -> Vec<Diagnostic> {
    cx.object
        .programs
        .iter()
        .filter(|p| p.sec_def.is_none())
        .map(|program| {
            let mut found = cx
                .diagnostic(
                    Code::UnknownSection,
                    Severity::Error,
                    format!(
                        "program '{}': SEC(\"{}\") is not a section name libbpf knows; \
                         libbpf cannot tell its program type",
                        program.name, program.section
                    ),
                )
                .at(cx.location(&program.section, program.offset))
                .anchored(sec_anchor(&program.section));
            if let Some(suggestion) = suggest(&program.section) {
                found = found.note(format!("did you mean SEC(\"{suggestion}\")?"));
            }
            found.note(format!(
                "libbpf will fail the load: prog '{}': missing BPF prog type, check ELF \
                 section name '{}'",
                program.name, program.section
            ))
        })
        .collect()
}

/// The `SEC("...")` a program is declared with, above its first statement.
fn sec_anchor(section: &str) -> Anchor {
    Anchor::Above(format!("\"{section}\""))
}

/// The known section name nearest to `section`: its first component (before `/`) is
/// compared with every pattern, and the rest of the name is kept.
fn suggest(section: &str) -> Option<String> {
    let name = section.strip_prefix('?').unwrap_or(section);
    let (head, rest) = match name.find('/') {
        Some(at) => name.split_at(at),
        None => (name, ""),
    };
    let (distance, pattern) = sec_def::patterns()
        .map(|p| (edit_distance(head, p), p))
        .min_by_key(|&(d, p)| (d, p.len().abs_diff(head.len())))?;
    let limit = (head.len() / 3).max(2);
    if distance == 0 || distance > limit {
        return None;
    }
    let prefix = if section.starts_with('?') { "?" } else { "" };
    Some(format!("{prefix}{pattern}{rest}"))
}

/// Levenshtein distance between two names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_known_section() {
        assert_eq!(
            suggest("tracepont/syscalls/x").as_deref(),
            Some("tracepoint/syscalls/x")
        );
        assert_eq!(suggest("kprob/do_x").as_deref(), Some("kprobe/do_x"));
        assert_eq!(suggest("xpd").as_deref(), Some("xdp"));
        assert_eq!(suggest("?uprob/x").as_deref(), Some("?uprobe/x"));
        assert_eq!(suggest("totally_custom/thing"), None);
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("tp", "tp"), 0);
    }
}
