//! `vmlinux.h` for builds: generated from the target kernel's BTF into the cache when a
//! source includes it and no include directory provides one, and precompiled (generated, or
//! the user's own) once per (header, clang, flags) so that each source skips parsing its
//! ~130k lines.

use crate::btf::{dump, source};
use crate::cache::{self, Cache};
use crate::compile::{self, CompileOptions};
use crate::error::{Error, Result};
use crate::toolchain::Clang;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// Whether `text` has an `#include` of `vmlinux.h`.
pub fn includes_vmlinux(text: &str) -> bool {
    directives(text).any(|d| is_vmlinux_include(&d))
}

/// Whether a precompiled vmlinux.h may stand in for the source's include: only when that
/// include is the source's first preprocessor directive, since `-include-pch` acts as if the
/// header came before everything else.
pub fn pch_compatible(text: &str) -> bool {
    directives(text)
        .next()
        .is_some_and(|d| is_vmlinux_include(&d))
}

fn is_vmlinux_include(directive: &str) -> bool {
    directive
        .strip_prefix("include")
        .map(str::trim)
        .is_some_and(|target| target == "\"vmlinux.h\"" || target == "<vmlinux.h>")
}

/// The preprocessor directives of `text` (without `#`), after joining continued lines and
/// removing comments; string and character literals are kept whole (a `"/*"` inside one
/// opens no comment).
fn directives(text: &str) -> impl Iterator<Item = String> {
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
    code.lines()
        .filter_map(|line| {
            line.trim()
                .strip_prefix('#')
                .map(|d| d.trim_start().to_string())
        })
        .collect::<Vec<_>>()
        .into_iter()
}

/// Whether a `vmlinux.h` is found where this compile searches (the source's directory, `-I`
/// directories, include options among the extra clang arguments).
pub fn provided(source: &Path, opts: &CompileOptions) -> bool {
    !found(compile::search_dirs(opts, source)).is_empty()
}

/// The user's `vmlinux.h` that a precompiled header may stand in for: the one file of that
/// name in every directory this compile searches, clang's system directories included.
/// With two or more, which one clang includes depends on its search order and the include's
/// spelling, and nothing is precompiled.
pub fn provided_once(clang: &Clang, source: &Path, opts: &CompileOptions) -> Option<PathBuf> {
    let mut dirs = compile::search_dirs(opts, source);
    dirs.extend(clang.system_includes().iter().cloned());
    match found(dirs).as_slice() {
        [header] => Some(header.clone()),
        _ => None,
    }
}

/// The distinct files (by canonical path) named `vmlinux.h` in `dirs`.
fn found(dirs: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut headers: Vec<PathBuf> = dirs
        .iter()
        .map(|dir| dir.join("vmlinux.h"))
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
    /// The precompiled header's path (`<cache>/pch/<key>/vmlinux.h.pch`).
    pub path: PathBuf,
    header: PathBuf,
    flags: Vec<std::ffi::OsString>,
    key: String,
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
        Ok(Pch {
            path: cache.entry_path("pch", &key, PCH_NAME),
            header,
            flags,
            key,
        })
    }

    /// Precompiles the header unless the cache has it already. `None` when another thread
    /// of this process is precompiling it right now and the header includes nothing: the
    /// caller compiles without it rather than wait, so that in a cold parallel build one
    /// worker precompiles while the others compile, instead of all of them precompiling the
    /// same header side by side. Such a compile gives the same object, and, with
    /// [`Pch::header`] added first, the same dependencies.
    pub fn make(&self, cache: &Cache, clang: &Clang) -> Result<Option<PathBuf>> {
        if let Some(made) = cache.get("pch", &self.key, PCH_NAME) {
            return Ok(Some(made));
        }
        let claim = InProgress::claim(&self.key);
        if claim.is_none() && self.includes_nothing() {
            return Ok(None);
        }
        cache
            .get_or_create("pch", &self.key, PCH_NAME, |pch| {
                let output = Command::new(clang.path())
                    .args(&self.flags)
                    .args(["-x", "c-header"])
                    .arg(&self.header)
                    .arg("-o")
                    .arg(pch)
                    .stdin(Stdio::null())
                    .output()
                    .map_err(|e| Error::io(clang.path(), &e))?;
                if output.status.success() {
                    Ok(())
                } else {
                    Err(Error::input(format!(
                        "precompiling failed: {}",
                        String::from_utf8_lossy(&output.stderr)
                    ))
                    .in_file(&self.header))
                }
            })
            .map(Some)
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

/// The file name of a precompiled header in its cache entry.
const PCH_NAME: &str = "vmlinux.h.pch";

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
    }
}
