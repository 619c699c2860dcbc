//! A refused program as a finding: the class of the verifier's error (a stable code), its
//! message, the source line it points at, the registers it names, and a hint.

use super::log::Refusal;
use crate::diag::{Anchor, Code, Diagnostic, Severity, SourceLocation};
use crate::object::BpfObject;

/// Classes of verifier errors: the code, phrases of the verifier's messages that mean it
/// (kernel/bpf/verifier.c), and what to do about it.
const CLASSES: &[(Code, &[&str], &str)] = &[
    (
        Code::VerifierReferenceLeak,
        &["Unreleased reference", "reference has not been acquired"],
        "release every reference on every path: a bpf_ringbuf_reserve() record needs \
         bpf_ringbuf_submit() or bpf_ringbuf_discard() before each return",
    ),
    (
        Code::VerifierGplOnly,
        &["GPL-restricted", "non-GPL compatible"],
        "the helper is GPL-only: declare a GPL-compatible license, e.g. \
         char LICENSE[] SEC(\"license\") = \"Dual BSD/GPL\";",
    ),
    (
        Code::VerifierComplexity,
        &["program is too large", "is too complex", "too many states"],
        "the verifier gave up (1 million instructions processed, or too many states): \
         bound loops tighter, use bpf_loop() or bpf_for(), or split the work into global \
         functions or tail calls",
    ),
    (
        Code::VerifierLoop,
        &[
            "infinite loop detected",
            "back-edge from insn",
            "loop is not bounded",
        ],
        "give the loop a bound the verifier can see (a constant trip count, or \
         bpf_for()/bpf_loop() for long iterations), and make its exit condition change \
         on every iteration",
    ),
    (
        Code::VerifierStackSize,
        &["combined stack size", "stack size of"],
        "a program and the subprograms it calls share 512 bytes of stack: move large \
         buffers to a per-CPU array map, or mark big helpers __noinline global functions",
    ),
    (
        Code::VerifierHelperNotAllowed,
        &[
            "unknown func",
            "cannot use helper",
            "calling kernel function",
        ],
        "this program type cannot call it: use a helper the type allows (bpftool feature \
         probe lists them per type) or move the code to a program type that may",
    ),
    (
        Code::VerifierContextAccess,
        &[
            "bpf_context access",
            "modified ctx ptr",
            "context access",
            "ctx access",
        ],
        "read the context only through its fields, at their declared size, from the \
         original pointer (no arithmetic on ctx; read a copy into a local first)",
    ),
    (
        Code::VerifierNullCheck,
        &["_or_null", "or_null"],
        "check the pointer against NULL before using it: if (!ptr) return 0; \
         (map lookups and ring buffer reservations may return NULL)",
    ),
    (
        Code::VerifierUninitRead,
        &[
            "invalid read from stack",
            "invalid indirect read from stack",
            "!read_ok",
        ],
        "initialise the variable before it is read or passed to a helper (= {} or \
         __builtin_memset); padding in structs counts too",
    ),
    (
        Code::VerifierOutOfBounds,
        &[
            "invalid access to map value",
            "invalid access to packet",
            "invalid access to memory",
            "outside of the allowed memory range",
            "unbounded memory access",
            "min value is negative",
            "invalid mem access",
            "invalid variable-offset",
            "out of bounds",
        ],
        "check the offset or index against the size before the access: \
         if (i >= MAX) return 0; for packets, if (data + len > data_end) return ...;",
    ),
];

/// The class of a refusal, from its error lines (first match in [`CLASSES`] order), and
/// the hint that goes with it.
pub(crate) fn classify(errors: &[String]) -> (Code, Option<&'static str>) {
    CLASSES
        .iter()
        .find(|(_, phrases, _)| {
            errors
                .iter()
                .any(|error| phrases.iter().any(|phrase| error.contains(phrase)))
        })
        .map_or((Code::VerifierRefused, None), |(code, _, hint)| {
            (*code, Some(*hint))
        })
}

/// The finding for program `program` of `object` (reported as `name`) that the verifier
/// refused with `refusal`; `parsed` gives the column and the full text of the source line.
pub(crate) fn finding(
    name: &str,
    program: &str,
    refusal: &Refusal,
    parsed: Option<&BpfObject>,
) -> Diagnostic {
    let (code, hint) = classify(&refusal.errors);
    let main = refusal
        .errors
        .first()
        .map_or("no message in the verifier log", String::as_str);
    let mut finding = Diagnostic::new(
        code,
        Severity::Error,
        name,
        format!("the verifier refused program '{program}': {main}"),
    )
    .at(location(refusal, program, parsed));
    if refusal.source.is_none() {
        // No instruction to point at: the program's declaration, above its first line.
        finding = finding.anchored(Anchor::Above(format!("{program}(")));
    }
    for error in refusal.errors.iter().skip(1) {
        finding = finding.note(format!("verifier: {error}"));
    }
    if let Some(insn) = &refusal.instruction {
        finding = finding.note(format!("at instruction {insn}"));
    }
    if let Some(depths) = refusal
        .stack_depth
        .as_ref()
        .filter(|_| code == Code::VerifierStackSize)
    {
        finding = finding.note(format!(
            "stack bytes of the program and each subprogram it calls: {depths}"
        ));
    }
    for register in &refusal.registers {
        finding = finding.note(format!("register state: {register}"));
    }
    if let Some(hint) = hint {
        finding = finding.note(format!("hint: {hint}"));
    }
    finding
}

/// The source line the log quotes for the failing instruction, with the column and the
/// line's full text from the object's `.BTF.ext` line records for that line (the log trims
/// the text, and names the file by its base name); without a quote (an error found before
/// the instructions are walked, like the stack size), the program's first line.
fn location(
    refusal: &Refusal,
    program: &str,
    parsed: Option<&BpfObject>,
) -> Option<SourceLocation> {
    let records = || {
        parsed
            .and_then(|object| object.btf_ext.as_ref())
            .into_iter()
            .flat_map(|ext| &ext.sections)
            .flat_map(|section| section.lines.iter().map(move |l| (&section.section, l)))
    };
    let Some(quote) = &refusal.source else {
        let start = parsed?.programs.iter().find(|p| p.name == program)?;
        let (_, first) = records()
            .filter(|(section, l)| {
                **section == start.section && u64::from(l.insn_off) >= start.offset
            })
            .min_by_key(|(_, l)| l.insn_off)?;
        return Some(SourceLocation::from(first));
    };
    let file = quote.file.as_deref()?;
    let record = records()
        .map(|(_, l)| l)
        .filter(|l| l.line == quote.line && base_name(&l.file) == base_name(file) && l.column > 0)
        .min_by_key(|l| l.column);
    Some(record.map_or_else(
        || SourceLocation {
            file: file.to_string(),
            line: quote.line,
            column: 0,
            text: quote.text.clone(),
        },
        SourceLocation::from,
    ))
}

/// The last component of a path.
fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_fall_into_their_class() {
        let class = |message: &str| classify(&[message.to_string()]).0;
        assert_eq!(
            class("R0 invalid mem access 'map_value_or_null'"),
            Code::VerifierNullCheck
        );
        assert_eq!(
            class("invalid access to map value, value_size=8 off=8 size=8"),
            Code::VerifierOutOfBounds
        );
        assert_eq!(
            class("Unreleased reference id=2 alloc_insn=3"),
            Code::VerifierReferenceLeak
        );
        assert_eq!(
            class("BPF program is too large. Processed 1000001 insn"),
            Code::VerifierComplexity
        );
        assert_eq!(class("something new"), Code::VerifierRefused);
    }
}
