//! Target selection: the BPF byte order (`-target bpf|bpfel|bpfeb`) and the architecture that
//! libbpf's `bpf_tracing.h` expects in `__TARGET_ARCH_<arch>`.

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// The architecture whose registers and syscall conventions `bpf_tracing.h` macros assume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetArch {
    /// x86_64 (`__TARGET_ARCH_x86`).
    X86,
    /// aarch64 (`__TARGET_ARCH_arm64`).
    Arm64,
    /// 32-bit ARM (`__TARGET_ARCH_arm`).
    Arm,
    /// s390x (`__TARGET_ARCH_s390`).
    S390,
    /// 64-bit PowerPC (`__TARGET_ARCH_powerpc`).
    Powerpc,
    /// riscv64 (`__TARGET_ARCH_riscv`).
    Riscv,
    /// loongarch64 (`__TARGET_ARCH_loongarch`).
    Loongarch,
    /// MIPS (`__TARGET_ARCH_mips`).
    Mips,
    /// sparc64 (`__TARGET_ARCH_sparc`).
    Sparc,
}

impl TargetArch {
    /// The architecture of the machine bpfgen itself was built for.
    pub fn host() -> Result<Self> {
        Self::from_machine(std::env::consts::ARCH)
    }

    /// Maps a machine name (`uname -m`, Rust's `target_arch`) or a libbpf arch name to an arch.
    pub fn from_machine(machine: &str) -> Result<Self> {
        let arch = match machine {
            "x86_64" | "x86" | "amd64" | "i386" | "i686" => TargetArch::X86,
            "aarch64" | "arm64" => TargetArch::Arm64,
            "s390x" | "s390" => TargetArch::S390,
            "ppc64le" | "ppc64" | "powerpc64" | "powerpc" => TargetArch::Powerpc,
            "riscv64" | "riscv" => TargetArch::Riscv,
            "loongarch64" | "loongarch" => TargetArch::Loongarch,
            "sparc64" | "sparc" => TargetArch::Sparc,
            m if m.starts_with("arm") => TargetArch::Arm,
            m if m.starts_with("mips") => TargetArch::Mips,
            other => {
                return Err(Error::environment(format!(
                    "unknown target architecture '{other}' (expected one of x86, arm64, arm, s390, \
                     powerpc, riscv, loongarch, mips, sparc)"
                )));
            }
        };
        Ok(arch)
    }

    /// The suffix of the `__TARGET_ARCH_` macro libbpf's headers test for.
    pub fn libbpf_name(self) -> &'static str {
        match self {
            TargetArch::X86 => "x86",
            TargetArch::Arm64 => "arm64",
            TargetArch::Arm => "arm",
            TargetArch::S390 => "s390",
            TargetArch::Powerpc => "powerpc",
            TargetArch::Riscv => "riscv",
            TargetArch::Loongarch => "loongarch",
            TargetArch::Mips => "mips",
            TargetArch::Sparc => "sparc",
        }
    }
}

impl FromStr for TargetArch {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::from_machine(s)
    }
}

impl fmt::Display for TargetArch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.libbpf_name())
    }
}

/// The clang BPF target: host byte order, or an explicit little/big endian one for cross builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BpfTarget {
    /// `-target bpf`: the byte order of the build host.
    #[default]
    Bpf,
    /// `-target bpfel`: little endian.
    Bpfel,
    /// `-target bpfeb`: big endian.
    Bpfeb,
}

impl BpfTarget {
    /// The value for clang's `-target`.
    pub fn clang_name(self) -> &'static str {
        match self {
            BpfTarget::Bpf => "bpf",
            BpfTarget::Bpfel => "bpfel",
            BpfTarget::Bpfeb => "bpfeb",
        }
    }
}

impl FromStr for BpfTarget {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "bpf" => Ok(BpfTarget::Bpf),
            "bpfel" => Ok(BpfTarget::Bpfel),
            "bpfeb" => Ok(BpfTarget::Bpfeb),
            other => Err(Error::environment(format!(
                "unknown BPF target '{other}' (expected bpf, bpfel or bpfeb)"
            ))),
        }
    }
}

impl fmt::Display for BpfTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.clang_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_names_map_to_libbpf_arch_names() {
        let cases = [
            ("x86_64", "x86"),
            ("aarch64", "arm64"),
            ("s390x", "s390"),
            ("ppc64le", "powerpc"),
            ("riscv64", "riscv"),
            ("loongarch64", "loongarch"),
            ("armv7l", "arm"),
            ("mips64", "mips"),
            ("arm64", "arm64"),
        ];
        for (machine, expected) in cases {
            assert_eq!(
                TargetArch::from_machine(machine).unwrap().libbpf_name(),
                expected
            );
        }
    }

    #[test]
    fn unknown_arch_is_an_environment_error() {
        let err = TargetArch::from_machine("vax").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("vax"));
    }

    #[test]
    fn targets_parse() {
        assert_eq!("bpfeb".parse::<BpfTarget>().unwrap(), BpfTarget::Bpfeb);
        assert!("bpfxx".parse::<BpfTarget>().is_err());
    }
}
