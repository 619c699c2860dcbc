//! `vmlinux.h` for builds: generated from the target kernel's BTF into the cache when a
//! source includes it and no include directory provides one, and precompiled (generated, or
//! the user's own, or a project's header that includes it) once per (header, clang, flags)
//! so that each source skips parsing its ~130k lines.

use crate::btf::{dump, source};
use crate::cache::{self, Cache};
use crate::compile::{self, CompileOptions};
use crate::error::{Error, Result};
use crate::toolchain::Clang;
use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// Whether `text` has an `#include` of `vmlinux.h`.
pub fn includes_vmlinux(text: &str) -> bool {
    directives(text).any(|d| is_vmlinux_include(&d))
}

/// Whether a precompiled vmlinux.h may stand in for the source's include: only when that
/// include is the source's first preprocessor directive, since `-include-pch` acts as if the
/// header came before everything else.
pub fn pch_compatible(text: &str) -> bool {
    first_include(text).as_deref() == Some("vmlinux.h")
}

/// The header the source's first preprocessor directive includes (`"x.h"` or `<x.h>`, as
/// written between the delimiters), if that directive is an `#include`: the one header a
/// precompiled header may stand in for.
pub fn first_include(text: &str) -> Option<String> {
    directives(text)
        .next()
        .and_then(|d| include_target(&d).map(str::to_string))
}

/// Whether a header's `directives` (in order, without `#`) guard it against a second
/// inclusion: `#pragma once`, or `#ifndef X` `#define X` ... `#endif` around all of it.
fn is_include_guarded(directives: &[String]) -> bool {
    let once = directives
        .iter()
        .any(|d| d.split_whitespace().eq(["pragma", "once"]));
    once || match directives {
        [first, second, ..] => {
            let guard = first.strip_prefix("ifndef").map(str::trim);
            guard.is_some_and(|g| !g.is_empty() && second.split_whitespace().eq(["define", g]))
                && closed_by_the_last(directives)
        }
        _ => false,
    }
}

/// Whether a project header may be precompiled, is worth it, and gives the same objects
/// precompiled: it is guarded against a second inclusion (`#pragma once`, or `#ifndef X`
/// `#define X` ... `#endif` around all of it, since the source's own `#include` still runs
/// after the precompiled header and must then add nothing); it brings in a vmlinux.h
/// (`"vmlinux.h"`, `"vmlinux/vmlinux.h"`, ...: the ~130k lines a precompiled header saves),
/// itself or through the headers it includes (found in the including header's directory or
/// in `dirs`, the compile's search path, in order; at most eight levels down); and every one
/// of those headers outside clang's `system` directories holds only preprocessor directives
/// (it gathers includes and macros, as a tool collection's `common.h` does). Declarations
/// and definitions can come out differently from a precompiled header with clang 14 (tried:
/// a variable placed in a section gets a read-only section, a `__kconfig` extern loses its
/// BTF, a global function's BTF changes), so a header with any is not precompiled. A wrong
/// "no" costs time; "yes" keeps the objects byte-identical.
pub fn precompilable_project_header(header: &Path, dirs: &[PathBuf], system: &[PathBuf]) -> bool {
    let Some(code) = header_code(header) else {
        return false;
    };
    let mut walk = HeaderWalk {
        dirs,
        system,
        seen: HashSet::new(),
        brings_in_vmlinux: false,
    };
    is_include_guarded(&directive_lines(&code).collect::<Vec<_>>())
        && walk.visit(header, &code, INCLUDE_DEPTH)
        && walk.brings_in_vmlinux
}

/// A header's text without its comments ([`without_comments`]); `None` if it cannot be read.
fn header_code(header: &Path) -> Option<String> {
    std::fs::read_to_string(header)
        .ok()
        .map(|text| without_comments(&text))
}

/// How many levels of includes [`precompilable_project_header`] follows.
const INCLUDE_DEPTH: usize = 8;

/// The headers a project header brings in, visited once each.
struct HeaderWalk<'a> {
    dirs: &'a [PathBuf],
    system: &'a [PathBuf],
    seen: HashSet<PathBuf>,
    brings_in_vmlinux: bool,
}

impl HeaderWalk<'_> {
    /// Visits `header` (whose text without comments is `code`) and what it includes; `false`
    /// when one of them holds more than preprocessor directives, cannot be read, or lies
    /// deeper than the walk goes. Every file an include could find is visited (whichever
    /// clang takes, it was checked). vmlinux.h (types only) and the system's headers are not
    /// read.
    fn visit(&mut self, header: &Path, code: &str, depth: usize) -> bool {
        if holds_code(code) {
            return false;
        }
        let own_dir = header.parent().map(Path::to_path_buf);
        for directive in directive_lines(code) {
            let Some(target) = include_target(&directive) else {
                continue;
            };
            if target == "vmlinux.h" || target.ends_with("/vmlinux.h") {
                self.brings_in_vmlinux = true;
                continue;
            }
            let candidates: Vec<PathBuf> = own_dir
                .iter()
                .chain(self.dirs)
                .map(|dir| dir.join(target))
                .filter(|path| path.is_file())
                .filter(|path| !self.system.iter().any(|dir| path.starts_with(dir)))
                .collect();
            for path in candidates {
                if !self.seen.insert(path.clone()) {
                    continue;
                }
                let checked = depth > 1
                    && header_code(&path).is_some_and(|code| self.visit(&path, &code, depth - 1));
                if !checked {
                    return false;
                }
            }
        }
        true
    }
}

/// Whether `code` (text without comments) holds anything but preprocessor directives.
fn holds_code(code: &str) -> bool {
    code.lines().any(|line| {
        let line = line.trim();
        !line.is_empty() && !line.starts_with('#')
    })
}

/// Whether the conditional the first directive opens is closed by the last directive, and
/// not before.
fn closed_by_the_last(directives: &[String]) -> bool {
    let mut depth = 0usize;
    for (at, directive) in directives.iter().enumerate() {
        match directive.split_whitespace().next().unwrap_or("") {
            "if" | "ifdef" | "ifndef" => depth += 1,
            "endif" => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return at + 1 == directives.len();
                }
            }
            _ => {}
        }
    }
    false
}

fn is_vmlinux_include(directive: &str) -> bool {
    include_target(directive) == Some("vmlinux.h")
}

/// The header an `#include` directive (without its `#`) names, without `"..."` or `<...>`.
fn include_target(directive: &str) -> Option<&str> {
    let target = directive.strip_prefix("include")?.trim();
    target
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .or_else(|| target.strip_prefix('<').and_then(|t| t.strip_suffix('>')))
}

/// The preprocessor directives of `text` (without `#`), after joining continued lines and
/// removing comments.
fn directives(text: &str) -> impl Iterator<Item = String> {
    directive_lines(&without_comments(text))
        .collect::<Vec<_>>()
        .into_iter()
}

/// The preprocessor directives (without `#`) of `code`, text [`without_comments`].
fn directive_lines(code: &str) -> impl Iterator<Item = String> + '_ {
    code.lines().filter_map(|line| {
        line.trim()
            .strip_prefix('#')
            .map(|d| d.trim_start().to_string())
    })
}

/// `text` with continued lines joined and comments removed (a line per line of the text, a
/// multi-line comment keeping its line breaks); string and character literals are kept whole
/// (a `"/*"` inside one opens no comment).
fn without_comments(text: &str) -> String {
    let joined = text.replace("\\\r\n", "").replace("\\\n", "");
    let mut code = String::with_capacity(joined.len());
    let mut chars = joined.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                while chars.peek().is_some_and(|&n| n != '\n') {
                    chars.next();
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for n in chars.by_ref() {
                    if last == '*' && n == '/' {
                        break;
                    }
                    if n == '\n' {
                        code.push('\n');
                    }
                    last = n;
                }
                code.push(' ');
            }
            '"' | '\'' => {
                code.push(c);
                while let Some(n) = chars.next() {
                    code.push(n);
                    if n == '\\' {
                        code.extend(chars.next());
                    } else if n == c || n == '\n' {
                        break;
                    }
                }
            }
            _ => code.push(c),
        }
    }
    code
}

/// Whether a `vmlinux.h` is found where this compile searches (the source's directory, `-I`
/// directories, include options among the extra clang arguments).
pub fn provided(source: &Path, opts: &CompileOptions) -> bool {
    !found(&compile::search_dirs(opts, source), "vmlinux.h").is_empty()
}

/// Every directory a compile of `source` searches for headers: its own (from
/// [`compile::search_dirs`]), then clang's system directories.
pub fn search_path(clang: &Clang, source: &Path, opts: &CompileOptions) -> Vec<PathBuf> {
    let mut dirs = compile::search_dirs(opts, source);
    dirs.extend(clang.system_includes().iter().cloned());
    dirs
}

/// The user's header `name` (their `vmlinux.h`, or a project header) that a precompiled
/// header may stand in for: the one file of that name in the directories of the compile's
/// [`search_path`]. With two or more, which one clang includes depends on its search order
/// and the include's spelling, and nothing is precompiled.
pub fn provided_once(search_path: &[PathBuf], name: &str) -> Option<PathBuf> {
    match found(search_path, name).as_slice() {
        [header] => Some(header.clone()),
        _ => None,
    }
}

/// The distinct files (by canonical path) named `name` in `dirs`.
fn found(dirs: &[PathBuf], name: &str) -> Vec<PathBuf> {
    let mut headers: Vec<PathBuf> = dirs
        .iter()
        .map(|dir| dir.join(name))
        .filter(|header| header.is_file())
        .filter_map(|header| std::fs::canonicalize(header).ok())
        .collect();
    headers.sort();
    headers.dedup();
    headers
}

/// The directory holding `vmlinux.h` for the kernel BTF at `btf`, generating it into the
/// cache (keyed by the BTF's hash) when it is not there yet.
pub fn generated_dir(cache: &Cache, btf: &Path) -> Result<PathBuf> {
    let bytes = source::FileBytes::open(btf)?;
    let key = cache::key(&[b"vmlinux.h v1", &bytes]);
    let header = cache.get_or_create("vmlinux", &key, "vmlinux.h", |path| {
        let table = source::load(btf, None)?;
        let text = dump::vmlinux_header(&table).map_err(|e| e.in_file(btf))?;
        std::fs::write(path, text).map_err(|e| Error::io(path, &e))
    })?;
    Ok(header
        .parent()
        .expect("cache entries have a directory")
        .to_path_buf())
}

/// A precompiled `header` for some compile options: where it lives in the cache, and how to
/// make it. Planned when the compile options are settled (its path is part of the command
/// line, hence of the build cache's keys) and made only when a compile needs it, so that a
/// build answered entirely by the build cache runs no clang at all.
#[derive(Debug, Clone)]
pub struct Pch {
    /// The precompiled header's path (`<cache>/pch/<key>/<header's name>.pch`).
    pub path: PathBuf,
    header: PathBuf,
    flags: Vec<OsString>,
    key: String,
    /// The entry's file name.
    name: String,
}

/// What a compile gets from [`Pch::make`].
#[derive(Debug)]
pub enum Made {
    /// The precompiled header, to compile with.
    Ready(PathBuf),
    /// Another thread of this process is precompiling the header (which includes nothing):
    /// compile without it, listing [`Pch::header`] first among the dependencies as a
    /// compile with it would.
    InProgress,
    /// Precompiling the header printed diagnostics, which compiles using it would not show
    /// (they come from parsing the header): compile without it, as every later build does
    /// (the cache remembers).
    Unusable,
}

impl Pch {
    /// The precompiled form of `header` for these compile options. Keyed by the header's path
    /// too: a precompiled header names the file it was made from, and clang checks that
    /// file's contents whenever it is used.
    pub fn plan(cache: &Cache, clang: &Clang, opts: &CompileOptions, header: &Path) -> Result<Pch> {
        let flags = compile::shared_flags(clang, opts)?;
        let header = std::path::absolute(header).map_err(|e| Error::io(header, &e))?;
        let mut parts: Vec<Vec<u8>> = vec![
            b"vmlinux.pch v2".to_vec(),
            header.as_os_str().as_encoded_bytes().to_vec(),
            crate::content_hash::file_hash(&header)?.into_bytes(),
            clang.path().as_os_str().as_encoded_bytes().to_vec(),
            clang.version().to_string().into_bytes(),
        ];
        parts.extend(flags.iter().map(|f| f.as_encoded_bytes().to_vec()));
        let key = cache::key(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>());
        let name = format!(
            "{}.pch",
            header.file_name().unwrap_or_default().to_string_lossy()
        );
        Ok(Pch {
            path: cache.entry_path("pch", &key, &name),
            header,
            flags,
            key,
            name,
        })
    }

    /// Precompiles the header unless the cache has it already. [`Made::InProgress`] when
    /// another thread of this process is precompiling it right now and the header includes
    /// nothing: the caller compiles without it rather than wait, so that in a cold parallel
    /// build one worker precompiles while the others compile, instead of all of them
    /// precompiling the same header side by side. Such a compile gives the same object, and,
    /// with [`Pch::header`] added first, the same dependencies.
    pub fn make(&self, cache: &Cache, clang: &Clang) -> Result<Made> {
        // A header whose precompiling printed diagnostics is remembered as an empty entry.
        let ready = |path: PathBuf| {
            if std::fs::metadata(&path).is_ok_and(|m| m.len() > 0) {
                Made::Ready(path)
            } else {
                Made::Unusable
            }
        };
        if let Some(made) = cache.get("pch", &self.key, &self.name) {
            return Ok(ready(made));
        }
        let claim = InProgress::claim(&self.key);
        if claim.is_none() && self.includes_nothing() {
            return Ok(Made::InProgress);
        }
        cache
            .get_or_create("pch", &self.key, &self.name, |pch| {
                let header = [
                    OsStr::new("-x"),
                    OsStr::new("c-header"),
                    self.header.as_os_str(),
                    OsStr::new("-o"),
                    pch.as_os_str(),
                ];
                let output = clang
                    .run(self.flags.iter().map(OsString::as_os_str).chain(header))
                    .map_err(|e| Error::io(clang.path(), &e))?;
                if output.status.success() && output.stderr.is_empty() {
                    Ok(())
                } else if output.status.success() {
                    std::fs::write(pch, []).map_err(|e| Error::io(pch, &e))
                } else {
                    Err(Error::input(format!(
                        "precompiling failed: {}",
                        String::from_utf8_lossy(&output.stderr)
                    ))
                    .in_file(&self.header))
                }
            })
            .map(ready)
    }

    /// The header, as a compile with the precompiled header names it among its dependencies.
    pub fn header(&self) -> &Path {
        &self.header
    }

    /// Whether the header includes no other file: then a compile that uses the precompiled
    /// header depends on exactly one file more than a plain one, the header by this path.
    fn includes_nothing(&self) -> bool {
        std::fs::read_to_string(&self.header).is_ok_and(|text| {
            !text.lines().any(|line| {
                line.trim_start()
                    .strip_prefix('#')
                    .is_some_and(|directive| directive.trim_start().starts_with("include"))
            })
        })
    }
}

/// The keys of the precompiled headers this process is making, each claimed by one thread
/// until it is done (or has failed).
struct InProgress(String);

impl InProgress {
    fn keys() -> &'static Mutex<HashSet<String>> {
        static KEYS: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
        KEYS.get_or_init(Mutex::default)
    }

    /// Claims `key`; `None` when another thread holds it.
    fn claim(key: &str) -> Option<InProgress> {
        let mut keys = Self::keys().lock().unwrap_or_else(|e| e.into_inner());
        keys.insert(key.to_string())
            .then(|| InProgress(key.to_string()))
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        let mut keys = Self::keys().lock().unwrap_or_else(|e| e.into_inner());
        keys.remove(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_vmlinux_includes() {
        let src = "// SPDX\n/* a\n #include <x.h>\n */\n#include \"vmlinux.h\"\n#include <bpf/bpf_helpers.h>\n";
        assert!(includes_vmlinux(src));
        assert!(pch_compatible(src));
        let later = "#include <linux/types.h>\n#include <vmlinux.h>\n";
        assert!(includes_vmlinux(later));
        assert!(!pch_compatible(later));
        assert!(!includes_vmlinux(
            "#include \"myvmlinux.h\"\n// #include \"vmlinux.h\"\n"
        ));
        assert!(!pch_compatible(
            "#define BPF_NO_PRESERVE_ACCESS_INDEX\n#include \"vmlinux.h\"\n"
        ));
        assert_eq!(first_include(src).as_deref(), Some("vmlinux.h"));
        assert_eq!(
            first_include("#include <bpf/bpf_helpers.h>\n").as_deref(),
            Some("bpf/bpf_helpers.h")
        );
        assert_eq!(first_include("#define X\n#include \"a.h\"\n"), None);
    }

    #[test]
    fn include_guards_are_recognised() {
        let guarded = |text: &str| is_include_guarded(&directives(text).collect::<Vec<_>>());
        let common = "/* x */\n#ifndef __COMMON_H\n#define __COMMON_H\n#include \"vmlinux.h\"\n#endif /* __COMMON_H */\n";
        assert!(guarded(common));
        assert!(guarded("#pragma once\n#include <vmlinux.h>\n"));
        assert!(guarded(
            "#ifndef A\n#define A\n#ifdef B\n#endif\n#include \"vmlinux.h\"\n#endif\n"
        ));
        // No guard, a guard on another name, a guard closed before the end.
        assert!(!guarded("#include \"vmlinux.h\"\n"));
        assert!(!guarded(
            "#ifndef A\n#define B\n#include \"vmlinux.h\"\n#endif\n"
        ));
        assert!(!guarded(
            "#ifndef A\n#define A\n#endif\n#include \"vmlinux.h\"\n#define C\n"
        ));
        assert!(!guarded(
            "#ifndef A\n#define A\n#include \"vmlinux.h\"\n#endif\n#ifdef B\n#endif\n"
        ));
    }

    #[test]
    fn a_project_header_must_bring_in_vmlinux_h_and_hold_only_directives() {
        let dir = tempfile::tempdir().unwrap();
        let include = dir.path().join("include");
        let system = dir.path().join("system");
        std::fs::create_dir_all(include.join("vmlinux")).unwrap();
        std::fs::create_dir_all(&system).unwrap();
        // Every header guarded, but the one that checks that an unguarded header is refused.
        let write = |name: &str, text: &str| {
            std::fs::write(include.join(name), format!("#pragma once\n{text}")).unwrap()
        };
        std::fs::write(include.join("unguarded.h"), "#include <vmlinux.h>\n").unwrap();
        write("vmlinux/vmlinux.h", "");
        write("direct.h", "#include \"vmlinux/vmlinux.h\"\n");
        write(
            "outer.h",
            "#include <direct.h>\n#define TWICE(x) (2 * (x))\n",
        );
        write("cycle.h", "#include \"cycle.h\"\n#include <linux/bpf.h>\n");
        write("other.h", "#include \"myvmlinux.h\"\n");
        // Code, directly or one include down; in a macro or a comment it is no code.
        write(
            "license.h",
            "#include <vmlinux.h>\nchar L[] SEC(\"license\") = \"GPL\";\n",
        );
        write("via.h", "#include \"direct.h\"\n#include \"license.h\"\n");
        write(
            "inline.h",
            "#include <vmlinux.h>\nstatic inline int f(void) { return 1; }\n",
        );
        write(
            "macro.h",
            "#include <vmlinux.h>\n#define DATA(n) \\\n  int n;\n/* int x; */ // int y;\n",
        );
        // The system's headers are not read: code there counts for nothing.
        std::fs::write(system.join("sys.h"), "int x;\n").unwrap();
        write("with_sys.h", "#include <vmlinux.h>\n#include <sys.h>\n");
        let dirs = [dir.path().to_path_buf(), include.clone(), system.clone()];
        let system = [system];
        let precompilable =
            |name: &str| precompilable_project_header(&include.join(name), &dirs, &system);
        assert!(precompilable("direct.h"));
        assert!(!precompilable("unguarded.h"));
        assert!(precompilable("outer.h"));
        assert!(!precompilable("cycle.h"));
        assert!(!precompilable("other.h"));
        assert!(!precompilable("license.h"));
        assert!(!precompilable("via.h"));
        assert!(!precompilable("inline.h"));
        assert!(precompilable("macro.h"));
        assert!(precompilable("with_sys.h"));
        // A chain of includes deeper than the walk goes is not taken on trust.
        for level in 0..10 {
            write(
                &format!("deep{level}.h"),
                &format!("#include \"deep{}.h\"\n", level + 1),
            );
        }
        write("deep10.h", "#include <vmlinux.h>\n");
        assert!(precompilable("deep4.h"));
        assert!(!precompilable("deep0.h"));
    }
}
