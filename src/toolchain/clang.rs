//! Finding clang, reading its version, and asking it for the host's system include directories.

use super::fork_server::ClangRunner;
use crate::error::{Error, Result};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The oldest clang whose BPF objects libbpf 1.x accepts (older ones emit corrupt symbols).
const MIN_MAJOR: u32 = 11;
/// The first clang that records 64-bit enum values in BTF (ENUM64) instead of truncating them.
const ENUM64_MAJOR: u32 = 15;

/// A clang version as `clang --version` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClangVersion {
    /// Major version (14 for 14.0.6).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch level.
    pub patch: u32,
}

impl ClangVersion {
    /// Reads the version out of `clang --version` output ("Debian clang version 14.0.6", ...).
    pub fn parse(output: &str) -> Option<Self> {
        let at = output.find("clang version ")? + "clang version ".len();
        let digits: String = output[at..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let mut parts = digits.split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next().flatten().unwrap_or(0);
        let patch = parts.next().flatten().unwrap_or(0);
        Some(ClangVersion {
            major,
            minor,
            patch,
        })
    }
}

impl fmt::Display for ClangVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A clang binary that can build BPF objects.
#[derive(Debug)]
pub struct Clang {
    path: PathBuf,
    version: ClangVersion,
    system_includes: Vec<PathBuf>,
    /// Whether this run asked the binary itself rather than the cache.
    newly_probed: bool,
    /// Runs its compiles (through a fork server from the second on).
    runner: ClangRunner,
}

impl Clang {
    /// Finds clang and asks it about itself ([`Clang::locate`], then [`Clang::probe`]).
    pub fn discover(explicit: Option<&Path>) -> Result<Self> {
        let path = Self::locate(explicit)?;
        let report = Self::probe(&path)?;
        Self::from_report(path, &report, true)
    }

    /// Where clang is: `explicit` (`--clang`), then `$BPFGEN_CLANG`, `$CLANG`, `clang` on
    /// `PATH`, then the newest `clang-NN` on `PATH`. A clang that is named but absent is an
    /// error, never silently replaced by another one.
    pub fn locate(explicit: Option<&Path>) -> Result<PathBuf> {
        let named = explicit
            .map(|p| (p.as_os_str().to_owned(), "--clang"))
            .or_else(|| std::env::var_os("BPFGEN_CLANG").map(|v| (v, "BPFGEN_CLANG")))
            .or_else(|| std::env::var_os("CLANG").map(|v| (v, "CLANG")))
            .filter(|(v, _)| !v.is_empty());
        match named {
            Some((value, origin)) => find_executable(&value).ok_or_else(|| {
                Error::environment(format!(
                    "clang not found: {origin} names '{}', which is not an executable",
                    Path::new(&value).display()
                ))
            }),
            None => find_executable(OsStr::new("clang"))
                .or_else(|| newest_versioned_clang(std::env::var_os("PATH")))
                .ok_or_else(|| {
                    Error::environment(
                        "clang not found: install clang (apt-get install clang), or name one with \
                         --clang, BPFGEN_CLANG or CLANG",
                    )
                }),
        }
    }

    /// Whether this is the first run to see this clang binary (not served from the cache):
    /// advice about it is worth showing once, not on every build a Makefile starts.
    pub fn newly_probed(&self) -> bool {
        self.newly_probed
    }

    /// `clang -v -E` on an empty C file: its messages, which name the version and the
    /// include search list ([`Clang::from_report`] reads them). A caller that runs clang
    /// often keeps this report (the build cache does, per clang binary).
    pub fn probe(clang: &Path) -> Result<String> {
        let output = Command::new(clang)
            .args(["-v", "-E", "-x", "c", "-"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::io(clang, &e))?;
        Ok(String::from_utf8_lossy(&output.stderr).into_owned())
    }

    /// The clang at `path` from its [`Clang::probe`] report (the version and the system
    /// include directories), checking that it is new enough; `newly_probed` says whether the
    /// report was made by this run rather than remembered.
    pub fn from_report(path: PathBuf, report: &str, newly_probed: bool) -> Result<Self> {
        let version = ClangVersion::parse(report)
            .ok_or_else(|| Error::environment("does not report a clang version").in_file(&path))?;
        if version.major < MIN_MAJOR {
            return Err(Error::environment(format!(
                "clang {version} is too old: BPF objects need clang {MIN_MAJOR} or newer"
            ))
            .in_file(&path));
        }
        Ok(Clang {
            system_includes: parse_search_list(report),
            path,
            version,
            newly_probed,
            runner: ClangRunner::default(),
        })
    }

    /// Where the clang binary is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A command that runs this clang for a compile or a precompiled header: stdin closed,
    /// and glibc's allocator asked to back clang's heap with transparent huge pages
    /// (`glibc.malloc.hugetlb=1` added to `GLIBC_TUNABLES`, unless the user's own setting
    /// decides that tunable). A BPF compile touches some hundred megabytes of heap; on a
    /// kernel whose huge pages are `madvise`-only fewer page faults make a compile 9-12%
    /// faster, and the object is the same bytes.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.path);
        command.stdin(Stdio::null()).env(
            GLIBC_TUNABLES,
            with_huge_page_heap(std::env::var_os(GLIBC_TUNABLES)),
        );
        command
    }

    /// Runs this clang with `args` (a compile or a precompiled header) as [`Clang::command`]
    /// makes it, to its end: its exit status and stderr (stdout is discarded). From a
    /// process's second run on, the run is a fork of a clang that is already started, which
    /// saves most of clang's start-up (`fork_server.rs`); the outputs are the same.
    pub fn run<I, S>(&self, args: I) -> std::io::Result<std::process::Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.runner.output(self.command().args(args))
    }

    /// Its version.
    pub fn version(&self) -> ClangVersion {
        self.version
    }

    /// A warning worth showing once per run about this clang's limits, if any.
    pub fn advisory(&self) -> Option<String> {
        (self.version.major < ENUM64_MAJOR).then(|| {
            format!(
                "clang {} is older than {ENUM64_MAJOR}: 64-bit enum values are truncated in BTF",
                self.version
            )
        })
    }

    /// The host's system include directories, in search order, as `clang -v -E -` lists them.
    ///
    /// `-target bpf` drops the host's multiarch directories (where `asm/types.h` lives), so
    /// builds add these back with `-idirafter`, as libbpf-bootstrap's CLANG_BPF_SYS_INCLUDES does.
    pub fn system_includes(&self) -> &[PathBuf] {
        &self.system_includes
    }
}

/// glibc's run-time tunables (`name=value` pairs joined by `:`).
const GLIBC_TUNABLES: &str = "GLIBC_TUNABLES";
/// The tunable that makes glibc's malloc `madvise` its heap for transparent huge pages
/// (glibc 2.35 and newer; older ones ignore it, as every glibc ignores unknown tunables).
const HUGE_PAGE_HEAP: &str = "glibc.malloc.hugetlb";

/// The user's `GLIBC_TUNABLES` with huge pages for the heap added, unless the user decides
/// that tunable already (`glibc.malloc.hugetlb=0` turns it off for bpfgen's clang runs too).
fn with_huge_page_heap(user: Option<OsString>) -> OsString {
    let wanted = format!("{HUGE_PAGE_HEAP}=1");
    match user {
        Some(user) if user.to_string_lossy().contains(HUGE_PAGE_HEAP) => user,
        Some(mut user) if !user.is_empty() => {
            user.push(":");
            user.push(wanted);
            user
        }
        _ => wanted.into(),
    }
}

/// Extracts the `#include <...>` search list from `clang -v` output.
fn parse_search_list(verbose: &str) -> Vec<PathBuf> {
    verbose
        .lines()
        .skip_while(|l| !l.starts_with("#include <...> search starts here:"))
        .skip(1)
        .take_while(|l| !l.starts_with("End of search list."))
        .map(|l| l.trim().trim_end_matches(" (framework directory)"))
        .filter(|l| !l.is_empty())
        .map(PathBuf::from)
        .collect()
}

/// The `clang-NN` with the highest NN in any `PATH` directory.
/// Where `name` runs from, as a shell finds it: the file itself when `name` is a path
/// (`./clang`, `/usr/bin/clang-16`; a relative one is made absolute), else the first executable
/// file of that name in a `PATH` directory.
fn find_executable(name: &OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let is_executable = |path: &Path| {
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let named = Path::new(name);
    if named.components().count() > 1 {
        let path = std::env::current_dir().ok()?.join(named);
        return is_executable(&path).then_some(path);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| is_executable(path))
}

fn newest_versioned_clang(path_var: Option<OsString>) -> Option<PathBuf> {
    let dirs = std::env::split_paths(&path_var?).collect::<Vec<_>>();
    dirs.iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let major: u32 = name.strip_prefix("clang-")?.parse().ok()?;
            Some((major, entry.path()))
        })
        .max_by_key(|(major, _)| *major)
        .map(|(_, path)| path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clang_runs_with_a_huge_page_heap_unless_the_user_decides_it() {
        let set = |v: &str| with_huge_page_heap(Some(OsString::from(v)));
        assert_eq!(with_huge_page_heap(None), "glibc.malloc.hugetlb=1");
        assert_eq!(set(""), "glibc.malloc.hugetlb=1");
        assert_eq!(
            set("glibc.malloc.tcache_count=0"),
            "glibc.malloc.tcache_count=0:glibc.malloc.hugetlb=1"
        );
        assert_eq!(set("glibc.malloc.hugetlb=0"), "glibc.malloc.hugetlb=0");
    }

    #[test]
    fn parses_versions_from_distribution_banners() {
        let v = ClangVersion::parse("Debian clang version 14.0.6\nTarget: x86_64").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (14, 0, 6));
        let v = ClangVersion::parse("Ubuntu clang version 19.1.1 (1ubuntu1)").unwrap();
        assert_eq!(v.major, 19);
        assert!(ClangVersion::parse("gcc (Debian 12.2.0-14) 12.2.0").is_none());
    }

    #[test]
    fn parses_the_include_search_list() {
        let text = "ignoring nonexistent directory \"/x\"\n\
            #include \"...\" search starts here:\n\
            #include <...> search starts here:\n \
            /usr/lib/llvm-14/lib/clang/14.0.6/include\n \
            /usr/include/x86_64-linux-gnu\n \
            /usr/include\n\
            End of search list.\n";
        let dirs = parse_search_list(text);
        assert_eq!(
            dirs,
            vec![
                PathBuf::from("/usr/lib/llvm-14/lib/clang/14.0.6/include"),
                PathBuf::from("/usr/include/x86_64-linux-gnu"),
                PathBuf::from("/usr/include"),
            ]
        );
    }

    #[test]
    fn picks_the_newest_versioned_clang() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["clang-9", "clang-16", "clang-14", "clang-format"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let found = newest_versioned_clang(Some(dir.path().as_os_str().to_owned())).unwrap();
        assert_eq!(found.file_name().unwrap(), "clang-16");
    }
}
