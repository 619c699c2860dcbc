//! Which machine a package is for: OCI platform names, the `uname -m` names kernels report
//! (what BTF archives are looked up by), and the kernels whose BTF a package carries.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// A target platform: OCI's architecture name (Go's `GOARCH`), the kernel's machine name
/// (`uname -m`), and the byte order its BPF objects have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Platform {
    /// OCI `platform.architecture` (`amd64`, `arm64`, `s390x`, ...).
    pub arch: &'static str,
    /// `uname -m` of its kernels (`x86_64`, `aarch64`, `s390x`, ...).
    pub machine: &'static str,
    /// Whether its BPF objects are big-endian (`bpfeb`).
    pub big_endian: bool,
}

/// bpfman's multi-arch table (`BC_<GOARCH>_<EL|EB>`), with the `uname -m` names.
const PLATFORMS: &[(&str, &str, bool)] = &[
    ("386", "i686", false),
    ("amd64", "x86_64", false),
    ("arm", "armv7l", false),
    ("arm64", "aarch64", false),
    ("loong64", "loongarch64", false),
    ("mips", "mips", true),
    ("mipsle", "mips", false),
    ("mips64", "mips64", true),
    ("mips64le", "mips64", false),
    ("ppc64", "ppc64", true),
    ("ppc64le", "ppc64le", false),
    ("riscv64", "riscv64", false),
    ("s390x", "s390x", true),
];

/// Other spellings of the same machines: bpfgen's `--arch` names, btfhub's directory names.
const ALIASES: &[(&str, &str)] = &[
    ("x86", "amd64"),
    ("i386", "386"),
    ("s390", "s390x"),
    ("powerpc", "ppc64le"),
    ("riscv", "riscv64"),
    ("loongarch", "loong64"),
];

impl Platform {
    /// The platform named `name`: an OCI architecture, a `uname -m` name or a bpfgen
    /// `--arch` name. A machine name shared by both byte orders (`mips64`) means the
    /// big-endian platform unless `big_endian` says otherwise.
    pub fn parse(name: &str, big_endian: Option<bool>) -> Result<Self> {
        let name = ALIASES
            .iter()
            .find(|(alias, _)| *alias == name)
            .map_or(name, |(_, arch)| arch);
        PLATFORMS
            .iter()
            .filter(|(arch, machine, _)| *arch == name || *machine == name)
            .find(|(.., big)| big_endian.is_none_or(|want| want == *big))
            .map(|&(arch, machine, big_endian)| Platform {
                arch,
                machine,
                big_endian,
            })
            .ok_or_else(|| {
                let known: Vec<&str> = PLATFORMS.iter().map(|p| p.0).collect();
                Error::environment(format!(
                    "unknown platform '{name}' (known: {})",
                    known.join(", ")
                ))
            })
    }

    /// The platform bpfgen runs on.
    pub fn host() -> Result<Self> {
        Platform::parse(std::env::consts::ARCH, Some(cfg!(target_endian = "big")))
    }
}

/// A kernel whose full BTF a package's min-CO-RE BTF is cut from, named as btfhub names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelBtf {
    /// The distribution's `ID` (`/etc/os-release`): `debian`, `ubuntu`, ...
    pub os_id: String,
    /// The distribution's `VERSION_ID`: `12`, `20.04`, ...
    pub version_id: String,
    /// The kernel's platform.
    pub platform: Platform,
    /// `uname -r`.
    pub release: String,
    /// Where its full BTF is.
    pub path: PathBuf,
}

impl KernelBtf {
    /// The kernels `path` holds: a btfhub-style tree (`ID/VERSION_ID/ARCH/RELEASE.btf`
    /// below it), one file placed in such a tree, or the running kernel's
    /// `/sys/kernel/btf/vmlinux`.
    pub fn discover(path: &Path) -> Result<Vec<KernelBtf>> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, &e))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            collect_tree(path, path, &mut found)?;
            if found.is_empty() {
                return Err(Error::environment(
                    "holds no ID/VERSION_ID/ARCH/RELEASE.btf files (btfhub layout)",
                )
                .in_file(path));
            }
            found.sort();
            return Ok(found);
        }
        if path.starts_with("/sys/kernel/btf") {
            return running_kernel(path).map(|k| vec![k]);
        }
        let parts: Vec<String> = path
            .components()
            .rev()
            .take(4)
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        match parts.as_slice() {
            [file, arch, version_id, os_id] => from_parts(os_id, version_id, arch, file, path)
                .map(|k| vec![k])
                .ok_or_else(|| unknown_kernel(path)),
            _ => Err(unknown_kernel(path)),
        }
    }

    /// Its path in a btfhub-style tree, with the `uname -m` machine name that the lookups
    /// of bcc, eunomia and Inspektor Gadget use: `debian/12/x86_64/6.1.0-56-amd64.btf`.
    pub fn archive_path(&self) -> String {
        format!(
            "{}/{}/{}/{}.btf",
            self.os_id, self.version_id, self.platform.machine, self.release
        )
    }
}

fn unknown_kernel(path: &Path) -> Error {
    Error::environment(
        "cannot tell which kernel this BTF is for: put it at ID/VERSION_ID/ARCH/RELEASE.btf \
         (btfhub layout, e.g. debian/12/x86_64/6.1.0-56-amd64.btf) or pass its directory",
    )
    .in_file(path)
}

fn from_parts(
    os_id: &str,
    version_id: &str,
    arch: &str,
    file: &str,
    path: &Path,
) -> Option<KernelBtf> {
    let release = file.strip_suffix(".btf")?;
    let valid = |s: &str| !s.is_empty() && !s.starts_with('.') && !s.contains(['/', '\\']);
    if ![os_id, version_id, release].into_iter().all(valid) {
        return None;
    }
    Some(KernelBtf {
        os_id: os_id.to_string(),
        version_id: version_id.to_string(),
        platform: Platform::parse(arch, None).ok()?,
        release: release.to_string(),
        path: path.to_path_buf(),
    })
}

/// Every `ID/VERSION_ID/ARCH/RELEASE.btf` file below `root`.
fn collect_tree(root: &Path, dir: &Path, found: &mut Vec<KernelBtf>) -> Result<()> {
    let depth = dir.strip_prefix(root).map_or(0, |p| p.components().count());
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, &e))?;
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, &e))?.path();
        if depth < 3 && path.is_dir() {
            collect_tree(root, &path, found)?;
        } else if depth == 3 && path.extension().is_some_and(|e| e == "btf") {
            let parts: Vec<String> = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if let [os_id, version_id, arch, file] = parts.as_slice() {
                found.extend(from_parts(os_id, version_id, arch, file, &path));
            }
        }
    }
    Ok(())
}

/// The running kernel: its distribution from `/etc/os-release`, its release from procfs.
fn running_kernel(path: &Path) -> Result<KernelBtf> {
    let os_release = std::fs::read_to_string("/etc/os-release")
        .map_err(|e| Error::io(Path::new("/etc/os-release"), &e))?;
    let field = |key: &str| {
        os_release.lines().find_map(|line| {
            let value = line.strip_prefix(key)?.strip_prefix('=')?;
            Some(value.trim().trim_matches('"').to_string())
        })
    };
    let missing = |key: &str| {
        Error::environment(format!(
            "/etc/os-release has no {key}: put this kernel's BTF at \
             ID/VERSION_ID/ARCH/RELEASE.btf and pass that"
        ))
        .in_file(path)
    };
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_err(|e| Error::io(Path::new("/proc/sys/kernel/osrelease"), &e))?;
    Ok(KernelBtf {
        os_id: field("ID").ok_or_else(|| missing("ID"))?,
        version_id: field("VERSION_ID").ok_or_else(|| missing("VERSION_ID"))?,
        platform: Platform::host()?,
        release: release.trim().to_string(),
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_one_machine_agree() {
        let amd64 = Platform::parse("amd64", None).unwrap();
        assert_eq!(Platform::parse("x86_64", None).unwrap(), amd64);
        assert_eq!(Platform::parse("x86", None).unwrap(), amd64);
        assert_eq!(Platform::parse("arm64", None).unwrap().machine, "aarch64");
        assert_eq!(
            Platform::parse("mips64", Some(false)).unwrap().arch,
            "mips64le"
        );
        assert!(Platform::parse("s390x", Some(false)).is_err());
        assert!(Platform::parse("vax", None).is_err());
    }

    #[test]
    fn btfhub_paths_name_their_kernel() {
        let path = Path::new("/archive/ubuntu/20.04/arm64/5.4.0-80-generic.btf");
        let kernel = &KernelBtf::discover(path).unwrap_err();
        assert!(kernel.message().contains("no such file"), "{kernel}");
        let kernel = from_parts("ubuntu", "20.04", "arm64", "5.4.0-80-generic.btf", path).unwrap();
        assert_eq!(
            kernel.archive_path(),
            "ubuntu/20.04/aarch64/5.4.0-80-generic.btf"
        );
        assert!(from_parts("ubuntu", "20.04", "arm64", "vmlinux", path).is_none());
        assert!(from_parts("..", "20.04", "arm64", "x.btf", path).is_none());
    }
}
