//! `bpfgen check`: what libbpf and the verifier would reject, found offline with the source
//! line. Each rule family lives in its own file and reads the [`BpfObject`] (and, for CO-RE
//! and `__ksym` externs, the target kernels' BTF); findings are [`Diagnostic`]s.
//!
//! Rules that libbpf's open path enforces (a static program, a legacy `maps` section, a
//! malformed map definition) already fail [`BpfObject::parse`]; [`check_bytes`] reports such a
//! failure under the code the parser tagged it with.

mod btf;
pub mod core;
mod externs;
mod flow;
mod helpers;
mod insn;
mod kernel;
pub mod libbpf_version;
mod license;
mod maps;
mod sections;
mod statics;

use crate::btf::core::Target;
use crate::diag::{Anchor, Code, Diagnostic, Levels, Severity, SourceLocation};
use crate::error::{Error, Result};
use crate::object::BpfObject;
use libbpf_version::{LibbpfVersion, VersionSource};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Which kernels to check against (their BTF is read the first time a rule needs it), and
/// at which level to report each code.
pub struct Options {
    target_paths: Vec<PathBuf>,
    targets: OnceLock<std::result::Result<Vec<Target>, Error>>,
    levels: Levels,
    libbpf: OnceLock<(LibbpfVersion, VersionSource)>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("target_paths", &self.target_paths)
            .field("levels", &self.levels)
            .field("libbpf", &self.libbpf.get())
            .finish_non_exhaustive()
    }
}

impl Options {
    /// Checks against the BTF files in `target_paths` (raw BTF or ELF with `.BTF`).
    pub fn new(target_paths: Vec<PathBuf>) -> Self {
        Options {
            target_paths,
            targets: OnceLock::new(),
            levels: Levels::default(),
            libbpf: OnceLock::new(),
        }
    }

    /// The libbpf release that loads the objects, and where that was learnt; without
    /// [`Options::with_libbpf_version`], read from the system's `bpf/libbpf_version.h`.
    pub fn libbpf_version(&self) -> &(LibbpfVersion, VersionSource) {
        self.libbpf.get_or_init(|| LibbpfVersion::detect(&[]))
    }

    /// Checks section names against this libbpf release (`--libbpf-version`, or
    /// [`LibbpfVersion::detect`] on the build's include directories).
    pub fn with_libbpf_version(self, version: (LibbpfVersion, VersionSource)) -> Self {
        let _ = self.libbpf.set(version);
        self
    }

    /// Reports findings at `levels` (`--allow`, `--warn`, `--deny`).
    pub fn with_levels(mut self, levels: Levels) -> Self {
        self.levels = levels;
        self
    }

    /// What `bpfgen build` checks against: the kernel BTF the build uses, when it exists
    /// (without it, the CO-RE and `__ksym` rules have no target and are skipped).
    pub fn for_build(kernel_btf: &std::path::Path) -> Self {
        Options::new(
            std::iter::once(kernel_btf.to_path_buf())
                .filter(|p| p.exists())
                .collect(),
        )
    }

    /// Checks against already loaded targets.
    pub fn with_targets(targets: Vec<Target>) -> Self {
        let options = Options::new(Vec::new());
        let _ = options.targets.set(Ok(targets));
        options
    }

    /// What decides the findings besides the object: the levels, the libbpf release and the
    /// target kernels' BTF (by content hash), as text.
    pub fn fingerprint(&self) -> Result<String> {
        let mut text = format!("{:?} {:?}", self.levels, self.libbpf_version());
        for path in &self.target_paths {
            text.push(' ');
            text.push_str(&crate::content_hash::file_hash(path)?);
        }
        Ok(text)
    }

    /// The target kernels, loaded on first use; an unreadable or invalid BTF file is an
    /// environment error (exit code 2), whichever input it is checked against.
    pub fn targets(&self) -> Result<&[Target]> {
        self.targets
            .get_or_init(|| {
                // Each kernel's BTF takes milliseconds to index: read them in parallel.
                std::thread::scope(|scope| {
                    let loads: Vec<_> = self
                        .target_paths
                        .iter()
                        .map(|path| {
                            scope.spawn(move || {
                                let types = crate::btf::source::load(path, None).map_err(|e| {
                                    Error::environment(format!(
                                        "not a usable target kernel BTF: {}",
                                        e.message()
                                    ))
                                    .in_file(path)
                                })?;
                                Ok(Target::new(path.display().to_string(), types))
                            })
                        })
                        .collect();
                    loads
                        .into_iter()
                        .map(|load| load.join().expect("BTF loading does not panic"))
                        .collect()
                })
            })
            .as_deref()
            .map_err(Clone::clone)
    }
}

/// What every rule gets: the object, the name to report it under, the options, and where its
/// instructions come from in the source.
pub(crate) struct Context<'a> {
    pub(crate) object: &'a BpfObject,
    pub(crate) name: &'a str,
    pub(crate) options: &'a Options,
}

impl Context<'_> {
    /// A finding about this object.
    pub(crate) fn diagnostic(
        &self,
        code: Code,
        severity: Severity,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::new(code, severity, self.name, message)
    }

    /// The source line of the instruction at byte `offset` of section `section`: the last
    /// `.BTF.ext` line record at or before it, or else the last DWARF line row.
    pub(crate) fn location(&self, section: &str, offset: u64) -> Option<SourceLocation> {
        let records = self
            .object
            .btf_ext
            .as_ref()
            .and_then(|ext| ext.sections.iter().find(|s| s.section == section))
            .filter(|records| !records.lines.is_empty());
        let Some(records) = records else {
            return self.dwarf_location(section, offset);
        };
        let line = records
            .lines
            .iter()
            .filter(|l| u64::from(l.insn_off) <= offset)
            .max_by_key(|l| l.insn_off)?;
        Some(SourceLocation::from(line))
    }

    /// The DWARF line row covering byte `offset` of section `section`.
    fn dwarf_location(&self, section: &str, offset: u64) -> Option<SourceLocation> {
        let index = self
            .object
            .sections
            .iter()
            .find(|s| s.name == section)?
            .index;
        let row = self
            .object
            .dwarf_lines
            .iter()
            .filter(|l| l.section_index == index && l.offset <= offset && l.line > 0)
            .max_by_key(|l| l.offset)?;
        Some(SourceLocation {
            file: row.file.clone(),
            line: row.line,
            column: row.column,
            text: String::new(),
        })
    }

    /// The source line of the first instruction that refers to symbol `name`.
    pub(crate) fn first_use(&self, name: &str) -> Option<SourceLocation> {
        self.object.code.iter().find_map(|code| {
            let reloc = code.relocations.iter().find(|r| r.symbol == name)?;
            self.location(&code.section, reloc.offset)
        })
    }
}

/// Runs every rule on a parsed object; findings come back errors first, then by place.
pub fn check_object(object: &BpfObject, name: &str, options: &Options) -> Result<Vec<Diagnostic>> {
    let cx = Context {
        object,
        name,
        options,
    };
    let found = run_rules(&cx)?;
    Ok(finish(found, options))
}

/// Findings at the levels `options` asks for, errors first, then by place.
fn finish(found: Vec<Diagnostic>, options: &Options) -> Vec<Diagnostic> {
    let mut found = options.levels.apply(found);
    sort(&mut found);
    found
}

/// Every rule's findings, unsorted.
fn run_rules(cx: &Context) -> Result<Vec<Diagnostic>> {
    let mut found = Vec::new();
    found.extend(sections::check(cx));
    found.extend(maps::check(cx));
    found.extend(license::check(cx));
    found.extend(btf::check(cx));
    found.extend(externs::check(cx)?);
    for target in cx.options.targets()? {
        let verdicts = core::verdicts(cx.object, target);
        let reach = flow::analyze(cx.object, &core::patches(&verdicts));
        found.extend(core::check(cx, target, &verdicts, &reach));
        found.extend(kernel::attach_targets(cx, target));
        found.extend(kernel::helpers(cx, target, &reach));
    }
    Ok(found)
}

/// Points findings at the source files on disk: a location's file (as the compiler recorded
/// it, e.g. `./prog.bpf.c` under bpfgen's reproducible path mapping) is looked up in each of
/// `dirs` in turn; when found, the location names that path, moves to the line its finding's
/// [`Anchor`] points at, and, if the object did not record the line's text, gets it from the
/// file; when not, it loses its leading `./`s. Findings are sorted again afterwards.
pub fn attach_sources(findings: &mut [Diagnostic], dirs: &[&Path]) {
    let mut files: HashMap<PathBuf, Option<Vec<String>>> = HashMap::new();
    // Each directory's real path once, for every finding's containment test.
    let roots: Vec<(&Path, PathBuf)> = dirs
        .iter()
        .filter_map(|dir| {
            let here = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            Some((*dir, std::fs::canonicalize(here).ok()?))
        })
        .collect();
    for finding in findings.iter_mut() {
        let anchor = finding.anchor.clone();
        let Some(location) = finding.location.as_mut() else {
            continue;
        };
        let mut recorded = location.file.as_str();
        while let Some(rest) = recorded.strip_prefix("./") {
            recorded = rest;
        }
        let recorded = Path::new(recorded);
        let found = roots
            .iter()
            .filter_map(|(dir, root)| inside(dir, root, recorded))
            .find(|path| {
                files
                    .entry(path.clone())
                    .or_insert_with(|| {
                        std::fs::read_to_string(path)
                            .ok()
                            .map(|text| text.lines().map(str::to_string).collect())
                    })
                    .is_some()
            });
        let Some((path, Some(lines))) = found.and_then(|p| files.get(&p).map(|l| (p, l))) else {
            location.file = recorded.display().to_string();
            continue;
        };
        if let Some(anchor) = &anchor {
            follow_anchor(location, lines, anchor);
        }
        if location.text.is_empty()
            && let Some(text) = location
                .line
                .checked_sub(1)
                .and_then(|i| lines.get(i as usize))
        {
            location.text = text.clone();
        }
        location.file = path.display().to_string();
    }
    sort(findings);
}

/// `recorded` in `dir` (whose real path is `root`), if it names a file that is really inside
/// `dir`: line info names files by any path (`#line 1 "/etc/shadow"` in a source does it), and
/// a check of an object from elsewhere must never quote files outside the project. What the
/// object carries itself (`.BTF.ext` line text) is quoted regardless.
fn inside(dir: &Path, root: &Path, recorded: &Path) -> Option<PathBuf> {
    let path = std::fs::canonicalize(root.join(recorded)).ok()?;
    path.starts_with(root).then(|| dir.join(recorded))
}

/// How far from the recorded line an [`Anchor`] is looked for.
const ANCHOR_ABOVE: usize = 30;
const ANCHOR_NEAR: usize = 8;

/// Moves `location` to the line of `lines` that `anchor` points at, when there is one.
fn follow_anchor(location: &mut SourceLocation, lines: &[String], anchor: &Anchor) {
    let here = location.line.saturating_sub(1) as usize;
    let found = match anchor {
        Anchor::Above(text) => (here.saturating_sub(ANCHOR_ABOVE)..=here)
            .rev()
            .find_map(|i| Some((i, lines.get(i)?.find(text.as_str())?))),
        Anchor::Word(word) => (0..=ANCHOR_NEAR)
            .flat_map(|d| [Some(here + d), here.checked_sub(d)])
            .flatten()
            .find_map(|i| Some((i, word_in(lines.get(i)?, word)?))),
    };
    if let Some((index, at)) = found {
        location.line = index as u32 + 1;
        location.column = at as u32 + 1;
        location.text = lines[index].clone();
    }
}

/// Where `line` names identifier `word` (not as part of a longer identifier).
fn word_in(line: &str, word: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    line.match_indices(word).map(|(at, _)| at).find(|&at| {
        !line[..at].chars().next_back().is_some_and(is_ident)
            && !line[at + word.len()..].chars().next().is_some_and(is_ident)
    })
}

/// Errors first, then by place.
fn sort(findings: &mut [Diagnostic]) {
    findings.sort_by(|a, b| {
        let place = |d: &Diagnostic| {
            d.location
                .as_ref()
                .map(|l| (l.file.clone(), l.line, l.column))
        };
        (a.severity, place(a)).cmp(&(b.severity, place(b)))
    });
}

/// Parses and checks an object file's bytes: an object libbpf could not open is one finding,
/// under the code of the rule it breaks, except for `static` programs, which are reported
/// each with every other finding.
pub fn check_bytes(
    data: &[u8],
    name: &str,
    object_name: &str,
    options: &Options,
) -> Result<Vec<Diagnostic>> {
    let err = match BpfObject::parse(data, object_name) {
        Ok(object) => return check_object(&object, name, options),
        Err(err) => err,
    };
    if err.code() == Some(Code::StaticProgram)
        && let Some((globalised, statics)) = statics::globalised(data)
        && let Ok(object) = BpfObject::parse(&globalised, object_name)
    {
        let cx = Context {
            object: &object,
            name,
            options,
        };
        let mut found = run_rules(&cx)?;
        found.extend(statics::check(&cx, &statics));
        return Ok(finish(found, options));
    }
    let code = err.code().unwrap_or(Code::InvalidObject);
    let finding = if code == Code::InvalidBtf {
        Diagnostic::new(code, Severity::Warning, name, err.message()).note(btf::OPTIONAL_BTF)
    } else {
        Diagnostic::new(code, Severity::Error, name, err.message())
    };
    Ok(finish(vec![finding], options))
}
