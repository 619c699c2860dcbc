//! Program sections: every `SEC()` name must be one libbpf's section table knows, or the
//! load fails with "missing BPF prog type, check ELF section name".

use super::Context;
use crate::diag::{Code, Diagnostic, Severity};
use crate::object::sec_def;

/// Findings about programs whose section names libbpf does not know.
pub(crate) fn check(cx: &Context) -> Vec<Diagnostic> {
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
                .at(cx.location(&program.section, program.offset));
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
