//! Which libbpf release loads the objects: section names libbpf learnt later fail to load
//! with an older one. Given with `--libbpf-version`, or read from the `bpf/libbpf_version.h`
//! that the build's include path finds.

use std::fmt;
use std::path::{Path, PathBuf};

/// A libbpf release, `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LibbpfVersion {
    /// `LIBBPF_MAJOR_VERSION`.
    pub major: u32,
    /// `LIBBPF_MINOR_VERSION`.
    pub minor: u32,
}

/// Where the version came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSource {
    /// `--libbpf-version` (or the library caller).
    Given,
    /// This file: a `bpf/libbpf_version.h`, or the Cargo.lock that names libbpf-sys.
    Header(PathBuf),
    /// No header found: Debian 12's libbpf is assumed.
    Assumed,
}

impl LibbpfVersion {
    /// Debian 12's libbpf (and bpftool 7.1's), assumed when no header says otherwise.
    pub const ASSUMED: LibbpfVersion = LibbpfVersion { major: 1, minor: 1 };

    /// The version `bpf/libbpf_version.h` in the first of `include_dirs` (then
    /// `/usr/local/include` and `/usr/include`, where clang looks last) that has one says.
    pub fn detect(include_dirs: &[PathBuf]) -> (LibbpfVersion, VersionSource) {
        let system = [Path::new("/usr/local/include"), Path::new("/usr/include")];
        include_dirs
            .iter()
            .map(PathBuf::as_path)
            .chain(system)
            .map(|dir| dir.join("bpf/libbpf_version.h"))
            .find_map(|header| {
                let version = from_header(&std::fs::read_to_string(&header).ok()?)?;
                Some((version, VersionSource::Header(header)))
            })
            .unwrap_or((LibbpfVersion::ASSUMED, VersionSource::Assumed))
    }
}

impl LibbpfVersion {
    /// The libbpf of the `libbpf-sys` package in the Cargo.lock of the crate in `dir` or
    /// of a workspace above it (libbpf-sys versions are libbpf's: `1.7.0+v1.7.0`).
    pub fn from_cargo_lock(dir: &Path) -> Option<(LibbpfVersion, VersionSource)> {
        let lock = dir
            .ancestors()
            .map(|d| d.join("Cargo.lock"))
            .find(|lock| lock.is_file())?;
        let text = std::fs::read_to_string(&lock).ok()?;
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if line.trim() == "name = \"libbpf-sys\"" {
                let version = lines.next()?.trim().strip_prefix("version = \"")?;
                let mut parts = version.split(['.', '+', '"']);
                let major = parts.next()?.parse().ok()?;
                let minor = parts.next()?.parse().ok()?;
                return Some((LibbpfVersion { major, minor }, VersionSource::Header(lock)));
            }
        }
        None
    }
}

/// The version a `libbpf_version.h` defines.
fn from_header(text: &str) -> Option<LibbpfVersion> {
    let define = |name: &str| {
        text.lines().find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("#define") && words.next() == Some(name))
                .then(|| words.next()?.parse().ok())?
        })
    };
    Some(LibbpfVersion {
        major: define("LIBBPF_MAJOR_VERSION")?,
        minor: define("LIBBPF_MINOR_VERSION")?,
    })
}

impl std::str::FromStr for LibbpfVersion {
    type Err = String;

    /// `1.3` (a patch level, `1.3.0`, is accepted and ignored).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parts = text.split('.').map(str::parse::<u32>);
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(Ok(major)), Some(Ok(minor)), None | Some(Ok(_)), None) => {
                Ok(LibbpfVersion { major, minor })
            }
            _ => Err(format!(
                "'{text}' is not a libbpf version (MAJOR.MINOR, like 1.3)"
            )),
        }
    }
}

impl fmt::Display for LibbpfVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl fmt::Display for VersionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionSource::Given => write!(f, "as given"),
            VersionSource::Header(path) => write!(f, "from {}", path.display()),
            VersionSource::Assumed => write!(f, "assumed: no bpf/libbpf_version.h found"),
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_cargo_lock_names_the_libbpf_of_libbpf_sys() {
        let dir = tempfile::tempdir().unwrap();
        let member = dir.path().join("crates/app");
        std::fs::create_dir_all(&member).unwrap();
        std::fs::write(
            dir.path().join("Cargo.lock"),
            "[[package]]\nname = \"libbpf-rs\"\nversion = \"0.27.2\"\n\n\
             [[package]]\nname = \"libbpf-sys\"\nversion = \"1.7.0+v1.7.0\"\n",
        )
        .unwrap();
        let (version, _) = LibbpfVersion::from_cargo_lock(&member).unwrap();
        assert_eq!(version, LibbpfVersion { major: 1, minor: 7 });
        assert!(LibbpfVersion::from_cargo_lock(Path::new("/")).is_none());
    }

    use super::*;

    #[test]
    fn versions_parse_and_order() {
        assert_eq!("1.3".parse(), Ok(LibbpfVersion { major: 1, minor: 3 }));
        assert_eq!("1.3.0".parse(), Ok(LibbpfVersion { major: 1, minor: 3 }));
        assert!("1".parse::<LibbpfVersion>().is_err());
        assert!("1.x".parse::<LibbpfVersion>().is_err());
        assert!(LibbpfVersion::ASSUMED < "1.10".parse().unwrap());
    }

    #[test]
    fn headers_define_the_version() {
        let text = "#define LIBBPF_MAJOR_VERSION 1\n#define LIBBPF_MINOR_VERSION 5\n";
        assert_eq!(
            from_header(text),
            Some(LibbpfVersion { major: 1, minor: 5 })
        );
        assert_eq!(from_header("#define LIBBPF_MAJOR_VERSION 1\n"), None);
    }
}
