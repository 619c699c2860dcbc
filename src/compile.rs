//! One `.bpf.c` through clang: the command line (built as a list, run without a shell), the
//! object bytes, the headers clang read, and clang's diagnostics exactly as it printed them.

use crate::depfile;
use crate::error::{Error, Result};
use crate::toolchain::{BpfTarget, Clang, TargetArch};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// What every compilation of a build shares.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// Architecture for `__TARGET_ARCH_*`.
    pub arch: TargetArch,
    /// `-target bpf|bpfel|bpfeb`.
    pub target: BpfTarget,
    /// `-I` directories, in order.
    pub include_dirs: Vec<PathBuf>,
    /// `-D` definitions (`NAME` or `NAME=VALUE`).
    pub defines: Vec<String>,
    /// Anything else for clang, after bpfgen's own flags so that it can override them (`-O1`).
    pub extra_args: Vec<OsString>,
    /// A precompiled header to load first (`-include-pch`), built with [`shared_flags`].
    pub pch: Option<PathBuf>,
    /// Directories searched after everything else (`-idirafter`): a generated `vmlinux.h`
    /// must never hide one the user provides.
    pub fallback_include_dirs: Vec<PathBuf>,
}

/// A successful compilation.
#[derive(Debug)]
pub struct Compiled {
    /// The object clang wrote.
    pub object: Vec<u8>,
    /// Every header clang read (not the source itself), as clang named them.
    pub headers: Vec<String>,
}

/// The result of running clang: its diagnostics whatever happened, and the object if it worked.
pub struct ClangRun {
    /// The arguments clang ran with (empty when it did not run); `--verbose` shows them
    /// through [`shell_quoted`], only when asked.
    pub args: Vec<OsString>,
    /// clang's stderr, verbatim (warnings, or the errors that failed the build).
    pub diagnostics: String,
    /// The object and its dependencies, or why there are none.
    pub outcome: Result<Compiled>,
}

/// Every directory clang searches for quoted or angled includes of this build, in bpfgen's
/// options or among the extra arguments (`-I`, `-iquote`, `-isystem`, `-idirafter`), and the
/// source's own directory, for the build cache and for finding a provided `vmlinux.h`.
pub fn search_dirs(opts: &CompileOptions, source: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![
        source
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
    ];
    dirs.extend(opts.include_dirs.iter().cloned());
    let mut args = opts.extra_args.iter().map(|a| a.to_string_lossy());
    while let Some(arg) = args.next() {
        for flag in ["-I", "-iquote", "-isystem", "-idirafter"] {
            if let Some(rest) = arg.strip_prefix(flag) {
                let dir = if rest.is_empty() {
                    args.next().map(|a| a.into_owned())
                } else {
                    Some(rest.to_string())
                };
                dirs.extend(dir.map(PathBuf::from));
                break;
            }
        }
    }
    dirs.extend(opts.fallback_include_dirs.iter().cloned());
    dirs
}

/// The flags every compilation of a build shares, and that a precompiled header must be
/// built with: code generation, target, includes, definitions, the user's own arguments.
pub fn shared_flags(clang: &Clang, opts: &CompileOptions) -> Result<Vec<OsString>> {
    // DWARF 4 rather than clang's default 5. Every object bpfgen writes is stripped of DWARF,
    // and `.BTF`, `.BTF.ext` and the code come out the same bytes either way (tested), but
    // DWARF 5 has clang MD5 every file it reads for checksums (vmlinux.h is 3 MB) and emit
    // more sections: a compile takes ~6% less time with 4 (150.6 -> 141.7 ms, one corpus
    // program with its PCH, 12 alternating runs). First, so that the user's own `-gdwarf-N`
    // wins; left out of `object_flags`, a package's record of what shapes an object.
    let mut args = vec![OsString::from("-gdwarf-4")];
    args.extend(object_flags(opts));
    for dir in clang
        .system_includes()
        .iter()
        .chain(&opts.fallback_include_dirs)
    {
        args.push("-idirafter".into());
        args.push(dir.into());
    }
    Ok(args)
}

/// The flags that decide what object a source becomes, as the user gave them (include
/// directories as spelled, no system directories): what a package records of a build.
pub fn object_flags(opts: &CompileOptions) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["-g", "-O2", "-target", opts.target.clang_name()]
        .iter()
        .map(OsString::from)
        .collect();
    args.push(format!("-D__TARGET_ARCH_{}", opts.arch.libbpf_name()).into());
    args.push("-fno-addrsig".into());
    args.push("-fno-ident".into());
    for dir in &opts.include_dirs {
        args.push("-I".into());
        args.push(dir.into());
    }
    for define in &opts.defines {
        args.push(format!("-D{define}").into());
    }
    args.extend(opts.extra_args.iter().cloned());
    args
}

/// The clang arguments (without the program) that compile `source` into `object`, writing
/// its Make dependencies to `depfile` (bpfgen rewrites that file with the real targets).
pub fn command_line(
    clang: &Clang,
    opts: &CompileOptions,
    source: &Path,
    object: &Path,
    depfile: &Path,
) -> Result<Vec<OsString>> {
    let mut args = shared_flags(clang, opts)?;
    for dir in reproducible_prefixes(source)? {
        let mut map = OsString::from("-fdebug-prefix-map=");
        map.push(dir.as_os_str());
        map.push("=.");
        args.push(map);
    }
    if let Some(pch) = &opts.pch {
        // A restored or touched header keeps a valid PCH usable: compare contents, not mtimes.
        args.push("-fpch-validate-input-files-content".into());
        args.push("-include-pch".into());
        args.push(pch.into());
    }
    args.extend(["-MD", "-MF"].map(OsString::from));
    args.push(depfile.into());
    args.extend(["-MT", "bpfgen-object", "-c"].map(OsString::from));
    args.push(source.into());
    args.push("-o".into());
    args.push(object.into());
    Ok(args)
}

/// The directories whose absolute paths would otherwise end up in DWARF and BTF: the
/// source's directory and the working directory. Mapping both to `.` makes the object
/// independent of where the tree is checked out. clang tries the longest prefix first.
fn reproducible_prefixes(source: &Path) -> Result<Vec<PathBuf>> {
    let cwd = std::env::current_dir().map_err(|e| Error::io(Path::new("."), &e))?;
    let source_dir = std::path::absolute(source)
        .map_err(|e| Error::io(source, &e))?
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cwd.clone());
    let mut dirs = vec![source_dir];
    if !dirs.contains(&cwd) {
        dirs.push(cwd);
    }
    Ok(dirs)
}

/// Compiles `source`; the object and dependency file go through a private scratch directory.
pub fn compile(clang: &Clang, opts: &CompileOptions, source: &Path) -> ClangRun {
    let failed = |outcome: Error| ClangRun {
        args: Vec::new(),
        diagnostics: String::new(),
        outcome: Err(outcome),
    };
    if let Err(e) = std::fs::File::open(source) {
        return failed(Error::io(source, &e));
    }
    let scratch = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => return failed(Error::io(&std::env::temp_dir(), &e)),
    };
    let object = scratch.path().join("out.bpf.o");
    let depfile = scratch.path().join("out.d");
    // clang gets the absolute path, so that the file name recorded in BTF and DWARF (mapped
    // to `./<name>`) does not depend on how bpfgen was invoked.
    let absolute = match std::path::absolute(source) {
        Ok(path) => path,
        Err(e) => return failed(Error::io(source, &e)),
    };
    let args = match command_line(clang, opts, &absolute, &object, &depfile) {
        Ok(args) => args,
        Err(e) => return failed(e),
    };
    let output = match clang.run(&args) {
        Ok(output) => output,
        Err(e) => return failed(Error::io(clang.path(), &e)),
    };
    let diagnostics = String::from_utf8_lossy(&output.stderr).into_owned();
    let outcome = if output.status.success() {
        read_outputs(&object, &depfile, &absolute)
    } else {
        Err(Error::input(format!("clang failed ({})", output.status)).in_file(source))
    };
    ClangRun {
        args,
        diagnostics,
        outcome,
    }
}

/// `program args...` as a POSIX shell would need it typed: words with anything but
/// `[A-Za-z0-9_./=:,+-]` in single quotes.
pub fn shell_quoted(program: &Path, args: &[OsString]) -> String {
    std::iter::once(program.as_os_str())
        .chain(args.iter().map(OsString::as_os_str))
        .map(|word| {
            let word = word.to_string_lossy();
            let plain = !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_./=:,+-@%".contains(&b));
            if plain {
                word.into_owned()
            } else {
                format!("'{}'", word.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn read_outputs(object: &Path, depfile: &Path, source: &Path) -> Result<Compiled> {
    let bytes = std::fs::read(object).map_err(|e| Error::io(object, &e))?;
    let deps = std::fs::read_to_string(depfile).map_err(|e| Error::io(depfile, &e))?;
    let source_name = source.to_string_lossy();
    let headers = depfile::parse_prerequisites(&deps)
        .into_iter()
        .filter(|p| *p != source_name)
        .collect();
    Ok(Compiled {
        object: bytes,
        headers,
    })
}
