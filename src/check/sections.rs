//! Program sections: every `SEC()` name must be one libbpf's section table knows, or the
//! load fails with "missing BPF prog type, check ELF section name".

use super::Context;
use super::libbpf_version::LibbpfVersion;
use crate::diag::{Anchor, Code, Diagnostic, Severity};
use crate::object::sec_def;

/// Section names libbpf learnt after 1.1, with the first release that knows each (from the
/// `section_defs` table of each libbpf tag; `1.8` stands for "after 1.7", not yet released
/// when this table was made).
const NEWER_THAN_LIBBPF_1_1: &[(&str, u32)] = &[
    ("struct_ops.s", 2),
    ("tc/ingress", 3),
    ("tc/egress", 3),
    ("tcx/ingress", 3),
    ("tcx/egress", 3),
    ("netkit/primary", 3),
    ("netkit/peer", 3),
    ("uprobe.multi", 3),
    ("uprobe.multi.s", 3),
    ("uretprobe.multi", 3),
    ("uretprobe.multi.s", 3),
    ("usdt.s", 3),
    ("netfilter", 3),
    ("cgroup/connect_unix", 3),
    ("cgroup/sendmsg_unix", 3),
    ("cgroup/recvmsg_unix", 3),
    ("cgroup/getpeername_unix", 3),
    ("cgroup/getsockname_unix", 3),
    ("sk_skb/verdict", 4),
    ("kprobe.session", 5),
    ("uprobe.session", 6),
    ("uprobe.session.s", 6),
    ("fsession", 7),
    ("fsession.s", 7),
    ("tracepoint.s", 8),
    ("tp.s", 8),
    ("raw_tracepoint.s", 8),
    ("raw_tp.s", 8),
    ("tp_btf.s", 8),
    ("fentry.multi", 8),
    ("fentry.multi.s", 8),
    ("fexit.multi", 8),
    ("fexit.multi.s", 8),
];

/// Findings about programs whose section names libbpf does not know, or knows only since a
/// release newer than the one that loads them.
pub(crate) fn check(cx: &Context) -> Vec<Diagnostic> {
    let (libbpf, source) = cx.options.libbpf_version();
    let libbpf = *libbpf;
    let mut found = unknown(cx);
    found.extend(cx.object.programs.iter().filter_map(|program| {
        let pattern = program.sec_def?.pattern;
        let &(_, minor) = NEWER_THAN_LIBBPF_1_1.iter().find(|(p, _)| *p == pattern)?;
        let since = LibbpfVersion { major: 1, minor };
        (libbpf < since).then(|| {
            cx.diagnostic(
                Code::NewerSection,
                Severity::Warning,
                format!(
                    "program '{}': SEC(\"{}\") is only known to libbpf {since} and newer; \
                     libbpf {libbpf} fails to load it, unless user space loads it with a newer \
                     libbpf",
                    program.name, program.section
                ),
            )
            .at(cx.location(&program.section, program.offset))
            .anchored(sec_anchor(&program.section))
            .note(format!(
                "libbpf {libbpf} ({source}; --libbpf-version sets it): prog '{}': missing \
                 BPF prog type, check ELF section name '{}'",
                program.name, program.section
            ))
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
