//! Findings of `bpfgen check`: a stable code, a severity, a message, the source line it comes
//! from, and notes; rendered for people (compiler style, with the source line) or as one JSON
//! object per line for CI.

use serde::Serialize;
use std::fmt::Write as _;

/// How bad a finding is: errors fail `check` and `build`, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// libbpf or the verifier will reject the object (exit code 1).
    Error,
    /// Probably a mistake, or a failure the program guards against; the object still loads.
    Warning,
}

/// Every kind of finding, with a stable code that scripts and the README refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// The object cannot be opened the way libbpf opens it (malformed ELF, BTF, ...).
    InvalidObject,
    /// A program's `SEC()` name is not in libbpf's section table.
    UnknownSection,
    /// A program in a section other than `.text` is `static`.
    StaticProgram,
    /// Legacy `struct bpf_map_def` maps in a `maps` section.
    LegacyMaps,
    /// A `SEC()` name that only libbpf releases newer than the one loading the object know.
    NewerSection,
    /// A program's attach target (function, tracepoint) that a target kernel's BTF lacks.
    AttachTargetMissing,
    /// A helper a target kernel's `enum bpf_func_id` lacks.
    HelperMissing,
    /// A `.maps` section without the BTF that describes it.
    MapWithoutBtf,
    /// A map definition with a field libbpf does not know, or a malformed one.
    MapField,
    /// A map whose type, sizes, entries or flags the kernel will refuse.
    MapDefinition,
    /// No `license` section.
    MissingLicense,
    /// A GPL-only helper called under a license the kernel does not treat as GPL-compatible.
    GplOnlyHelper,
    /// A kfunc called under a license the kernel does not treat as GPL-compatible.
    KfuncLicense,
    /// No `.BTF` section (built without `-g`).
    NoBtf,
    /// No `.BTF.ext` section: no source lines, no CO-RE relocations.
    NoBtfExt,
    /// BTF that fails a sanity check.
    InvalidBtf,
    /// A `__kconfig` extern of a type libbpf cannot fill.
    KconfigType,
    /// A `__ksym` extern the target kernel's BTF does not have.
    KsymMissing,
    /// A CO-RE relocation that no type of the target kernel satisfies.
    CoreUnresolved,
    /// A CO-RE relocation that fails on the target, in code guarded by an existence check.
    CoreGuarded,
    /// A CO-RE relocation whose candidates disagree, or that libbpf cannot apply.
    CoreInvalid,
    /// A pointer that may be NULL (a map lookup's result) used before its NULL check.
    VerifierNullCheck,
    /// A loop the verifier cannot bound (an infinite loop or a back-edge).
    VerifierLoop,
    /// A map value, packet or memory access outside the checked bounds.
    VerifierOutOfBounds,
    /// A read of stack (or a register) that was never written.
    VerifierUninitRead,
    /// More than 512 bytes of stack for a program and the subprograms it calls.
    VerifierStackSize,
    /// A helper or kfunc the program type cannot call.
    VerifierHelperNotAllowed,
    /// A GPL-only helper or kfunc called under a non-GPL license (the kernel's refusal).
    VerifierGplOnly,
    /// Too many instructions or states for the verifier (its complexity limit).
    VerifierComplexity,
    /// An invalid, misaligned or modified-pointer access to the program's context.
    VerifierContextAccess,
    /// A reference not released on some path (a ring buffer record neither submitted nor discarded).
    VerifierReferenceLeak,
    /// Any other refusal by the verifier.
    VerifierRefused,
    /// A load that failed before the verifier ran (libbpf's relocation, map creation, ...).
    LoadFailed,
}

impl Code {
    /// Every code, in catalogue order (the README's table lists them in this order).
    pub const ALL: [Code; 33] = [
        Code::InvalidObject,
        Code::UnknownSection,
        Code::StaticProgram,
        Code::LegacyMaps,
        Code::NewerSection,
        Code::AttachTargetMissing,
        Code::HelperMissing,
        Code::MapWithoutBtf,
        Code::MapField,
        Code::MapDefinition,
        Code::MissingLicense,
        Code::GplOnlyHelper,
        Code::KfuncLicense,
        Code::NoBtf,
        Code::NoBtfExt,
        Code::InvalidBtf,
        Code::KconfigType,
        Code::KsymMissing,
        Code::CoreUnresolved,
        Code::CoreGuarded,
        Code::CoreInvalid,
        Code::VerifierNullCheck,
        Code::VerifierLoop,
        Code::VerifierOutOfBounds,
        Code::VerifierUninitRead,
        Code::VerifierStackSize,
        Code::VerifierHelperNotAllowed,
        Code::VerifierGplOnly,
        Code::VerifierComplexity,
        Code::VerifierContextAccess,
        Code::VerifierReferenceLeak,
        Code::VerifierRefused,
        Code::LoadFailed,
    ];

    /// The stable code: `B` + family (0 object, 1 sections and programs, 2 maps, 3 license,
    /// 4 BTF, 5 externs, 6 CO-RE, 7 the kernel's verdict on a load) + number.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidObject => "B0001",
            Code::UnknownSection => "B0101",
            Code::StaticProgram => "B0102",
            Code::LegacyMaps => "B0103",
            Code::NewerSection => "B0104",
            Code::AttachTargetMissing => "B0105",
            Code::HelperMissing => "B0106",
            Code::MapWithoutBtf => "B0201",
            Code::MapField => "B0202",
            Code::MapDefinition => "B0203",
            Code::MissingLicense => "B0301",
            Code::GplOnlyHelper => "B0302",
            Code::KfuncLicense => "B0303",
            Code::NoBtf => "B0401",
            Code::NoBtfExt => "B0402",
            Code::InvalidBtf => "B0403",
            Code::KconfigType => "B0501",
            Code::KsymMissing => "B0502",
            Code::CoreUnresolved => "B0601",
            Code::CoreGuarded => "B0602",
            Code::CoreInvalid => "B0603",
            Code::VerifierNullCheck => "B0701",
            Code::VerifierLoop => "B0702",
            Code::VerifierOutOfBounds => "B0703",
            Code::VerifierUninitRead => "B0704",
            Code::VerifierStackSize => "B0705",
            Code::VerifierHelperNotAllowed => "B0706",
            Code::VerifierGplOnly => "B0707",
            Code::VerifierComplexity => "B0708",
            Code::VerifierContextAccess => "B0709",
            Code::VerifierReferenceLeak => "B0710",
            Code::VerifierRefused => "B0711",
            Code::LoadFailed => "B0712",
        }
    }

    /// A short kebab-case name, shown next to the code.
    pub fn name(self) -> &'static str {
        match self {
            Code::InvalidObject => "invalid-object",
            Code::UnknownSection => "unknown-section",
            Code::StaticProgram => "static-program",
            Code::LegacyMaps => "legacy-maps",
            Code::NewerSection => "newer-section",
            Code::AttachTargetMissing => "attach-target-missing",
            Code::HelperMissing => "helper-missing",
            Code::MapWithoutBtf => "map-without-btf",
            Code::MapField => "map-field",
            Code::MapDefinition => "map-definition",
            Code::MissingLicense => "missing-license",
            Code::GplOnlyHelper => "gpl-only-helper",
            Code::KfuncLicense => "kfunc-license",
            Code::NoBtf => "no-btf",
            Code::NoBtfExt => "no-btf-ext",
            Code::InvalidBtf => "invalid-btf",
            Code::KconfigType => "kconfig-type",
            Code::KsymMissing => "ksym-missing",
            Code::CoreUnresolved => "core-unresolved",
            Code::CoreGuarded => "core-guarded",
            Code::CoreInvalid => "core-invalid",
            Code::VerifierNullCheck => "verifier-null-check",
            Code::VerifierLoop => "verifier-loop",
            Code::VerifierOutOfBounds => "verifier-out-of-bounds",
            Code::VerifierUninitRead => "verifier-uninit-read",
            Code::VerifierStackSize => "verifier-stack-size",
            Code::VerifierHelperNotAllowed => "verifier-helper-not-allowed",
            Code::VerifierGplOnly => "verifier-gpl-only",
            Code::VerifierComplexity => "verifier-complexity",
            Code::VerifierContextAccess => "verifier-context-access",
            Code::VerifierReferenceLeak => "verifier-reference-leak",
            Code::VerifierRefused => "verifier-refused",
            Code::LoadFailed => "load-failed",
        }
    }
}

impl std::str::FromStr for Code {
    type Err = String;

    /// A code (`B0402`, any case) or its name (`no-btf-ext`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Code::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(text) || c.name() == text)
            .ok_or_else(|| {
                format!("unknown check code '{text}' (codes are B0001 to B0712, or their names)")
            })
    }
}

/// What to make of one code's findings (`--allow`, `--warn`, `--deny`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Drop them.
    Allow,
    /// Report them as warnings.
    Warn,
    /// Report them as errors.
    Deny,
}

/// Levels chosen per code, and whether warnings of other codes become errors
/// (`--deny warnings`); a code's own level wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Levels {
    codes: Vec<(Code, Level)>,
    deny_warnings: bool,
}

impl Levels {
    /// Sets the level of `code` (a later setting of the same code wins).
    pub fn set(&mut self, code: Code, level: Level) {
        self.codes.retain(|(c, _)| *c != code);
        self.codes.push((code, level));
    }

    /// Makes warnings errors, except for codes given a level of their own.
    pub fn deny_warnings(&mut self) {
        self.deny_warnings = true;
    }

    /// `findings` at these levels: allowed ones dropped, the others with their new severity.
    pub fn apply(&self, findings: Vec<Diagnostic>) -> Vec<Diagnostic> {
        findings
            .into_iter()
            .filter_map(|mut finding| {
                let level = self.codes.iter().find(|(c, _)| *c == finding.code);
                finding.severity = match level.map(|(_, l)| *l) {
                    Some(Level::Allow) => return None,
                    Some(Level::Warn) => Severity::Warning,
                    Some(Level::Deny) => Severity::Error,
                    None if self.deny_warnings => Severity::Error,
                    None => finding.severity,
                };
                Some(finding)
            })
            .collect()
    }
}

impl Serialize for Severity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Where in the source a finding comes from (from `.BTF.ext` line info).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    /// Source file as the compiler recorded it.
    pub file: String,
    /// Line number (1-based).
    pub line: u32,
    /// Column (1-based; 0 when unknown).
    pub column: u32,
    /// The text of the line, as recorded in the object.
    pub text: String,
}

/// What a finding is about, in source terms: `check::attach_sources` moves its
/// location to the line that says it when it reads the source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// The nearest line at or above the recorded one that contains this text: a `SEC("...")`
    /// or a function's declaration, above the first statement the line table records.
    Above(String),
    /// The nearest line, a few either way, that names this identifier: the statement that
    /// reads a field, when clang's line table puts the read on a neighbouring statement.
    Word(String),
}

/// One finding about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What kind of finding.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// One line saying what is wrong.
    pub message: String,
    /// The object (or source) the finding is about.
    pub object: String,
    /// The source line, when the object records one for the offending instruction.
    pub location: Option<SourceLocation>,
    /// The target kernel BTF the finding applies to (CO-RE and ksym findings).
    pub target: Option<String>,
    /// Further lines: how to fix it, what libbpf will print.
    pub notes: Vec<String>,
    /// What the finding is about in the source, to refine `location` with.
    pub anchor: Option<Anchor>,
}

impl Diagnostic {
    /// A finding about `object` with no location, target or notes yet.
    pub fn new(code: Code, severity: Severity, object: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity,
            message: message.into(),
            object: object.to_string(),
            location: None,
            target: None,
            notes: Vec::new(),
            anchor: None,
        }
    }

    /// Says what the finding is about in the source.
    pub fn anchored(mut self, anchor: Anchor) -> Self {
        self.anchor = Some(anchor);
        self
    }

    /// Adds the source location.
    pub fn at(mut self, location: Option<SourceLocation>) -> Self {
        self.location = location;
        self
    }

    /// Names the target kernel the finding applies to.
    pub fn on_target(mut self, target: &str) -> Self {
        self.target = Some(target.to_string());
        self
    }

    /// Adds a note line.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Compiler-style text: `file:line:col: error[B0601]: message`, the source line with a
    /// caret under the column, then `= note:` lines.
    pub fn render_human(&self) -> String {
        let mut out = String::new();
        let place = match &self.location {
            Some(loc) => format!("{}:{}:{}", loc.file, loc.line, loc.column),
            None => self.object.clone(),
        };
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = write!(
            out,
            "{place}: {severity}[{}]: {}",
            self.code.as_str(),
            self.message
        );
        if let Some(target) = &self.target {
            let _ = write!(out, " (on {target})");
        }
        out.push('\n');
        if let Some(loc) = self.location.as_ref().filter(|l| !l.text.is_empty()) {
            let number = loc.line.to_string();
            let gutter = " ".repeat(number.len());
            let _ = writeln!(out, "{gutter} |");
            let _ = writeln!(out, "{number} | {}", loc.text.trim_end());
            if loc.column > 0 {
                // clang's columns count bytes; keep tabs so the caret lines up.
                let indent: String = loc
                    .text
                    .bytes()
                    .take(loc.column as usize - 1)
                    .map(|b| if b == b'\t' { '\t' } else { ' ' })
                    .collect();
                let _ = writeln!(out, "{gutter} | {indent}^");
            }
        }
        if self
            .location
            .as_ref()
            .is_some_and(|loc| loc.file != self.object)
        {
            let _ = writeln!(out, "  = in: {}", self.object);
        }
        for note in &self.notes {
            let _ = writeln!(out, "  = note: {note}");
        }
        out
    }

    /// One line of JSON (the shape the README documents).
    pub fn render_json(&self) -> String {
        let location = self.location.as_ref().map(|loc| {
            serde_json::json!({
                "file": loc.file,
                "line": loc.line,
                "column": loc.column,
                "source": loc.text.trim_end(),
            })
        });
        serde_json::json!({
            "code": self.code,
            "name": self.code.name(),
            "severity": self.severity,
            "message": self.message,
            "object": self.object,
            "location": location,
            "target": self.target,
            "notes": self.notes,
        })
        .to_string()
    }
}

/// Whether any finding is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(|d| d.severity == Severity::Error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located() -> Diagnostic {
        Diagnostic::new(
            Code::CoreUnresolved,
            Severity::Error,
            "x.bpf.o",
            "task_struct->mm_cid not found",
        )
        .at(Some(SourceLocation {
            file: "x.bpf.c".into(),
            line: 12,
            column: 9,
            text: "\tint v = BPF_CORE_READ(t, mm_cid);".into(),
        }))
        .on_target("6.1.btf")
        .note("guard it")
    }

    #[test]
    fn human_output_points_at_the_column() {
        let text = located().render_human();
        assert_eq!(
            text,
            "x.bpf.c:12:9: error[B0601]: task_struct->mm_cid not found (on 6.1.btf)\n   |\n12 | \tint v = BPF_CORE_READ(t, mm_cid);\n   | \t       ^\n  = in: x.bpf.o\n  = note: guard it\n"
        );
    }

    #[test]
    fn levels_drop_demote_and_promote() {
        let warning = Diagnostic::new(Code::NoBtfExt, Severity::Warning, "x.o", "w");
        let error = Diagnostic::new(Code::CoreUnresolved, Severity::Error, "x.o", "e");
        let severities = |levels: &Levels| -> Vec<(Code, Severity)> {
            levels
                .apply(vec![warning.clone(), error.clone()])
                .into_iter()
                .map(|d| (d.code, d.severity))
                .collect()
        };
        let mut levels = Levels::default();
        levels.deny_warnings();
        assert_eq!(
            severities(&levels),
            [
                (Code::NoBtfExt, Severity::Error),
                (Code::CoreUnresolved, Severity::Error)
            ]
        );
        levels.set(Code::NoBtfExt, Level::Allow);
        levels.set(Code::CoreUnresolved, Level::Warn);
        assert_eq!(
            severities(&levels),
            [(Code::CoreUnresolved, Severity::Warning)]
        );
        assert_eq!("b0402".parse::<Code>(), Ok(Code::NoBtfExt));
        assert_eq!("core-unresolved".parse::<Code>(), Ok(Code::CoreUnresolved));
        assert!("B9999".parse::<Code>().is_err());
    }

    #[test]
    fn codes_are_unique_and_ordered() {
        let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(codes, sorted);
    }
}
