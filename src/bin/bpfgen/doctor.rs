//! `bpfgen doctor`: what a build on this machine would use, and what is missing.

use crate::ExitStatus;
use bpfgen::btf::source::{self, KERNEL_BTF};
use bpfgen::cache::Cache;
use bpfgen::toolchain::{Clang, TargetArch};
use std::path::{Path, PathBuf};

/// Report the clang, kernel BTF, libbpf headers, cache and privileges builds will use.
#[derive(clap::Args)]
#[command(
    after_help = "Exit status: 0 when a build can run; 2 when something it needs is missing."
)]
pub struct Opts {
    /// The clang to check (default: as `bpfgen build` finds it).
    #[arg(long, value_name = "PATH")]
    clang: Option<PathBuf>,
    /// The kernel BTF to check (default: the running kernel's).
    #[arg(long, value_name = "FILE", default_value = KERNEL_BTF)]
    btf: PathBuf,
}

impl Opts {
    pub fn run(self) -> anyhow::Result<ExitStatus> {
        let mut ok = true;
        match Clang::discover(self.clang.as_deref()) {
            Ok(clang) => {
                println!(
                    "clang:          {} (version {})",
                    clang.path().display(),
                    clang.version()
                );
                if let Some(advice) = clang.advisory() {
                    println!("                warning: {advice}");
                }
                let dirs: Vec<_> = clang
                    .system_includes()
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect();
                println!("system headers: {}", dirs.join(" "));
            }
            Err(err) => {
                ok = false;
                println!("clang:          MISSING: {err}");
            }
        }
        match TargetArch::host() {
            Ok(arch) => println!("target arch:    {arch} (__TARGET_ARCH_{arch})"),
            Err(err) => println!("target arch:    {err}"),
        }
        match source::load(&self.btf, None) {
            Ok(table) => {
                let size = std::fs::metadata(&self.btf).map(|m| m.len()).unwrap_or(0);
                println!(
                    "kernel BTF:     {} ({} types, {size} bytes): vmlinux.h is generated from it",
                    self.btf.display(),
                    table.len() - 1
                );
            }
            Err(err) => {
                println!("kernel BTF:     unusable ({err}): sources need -I with a vmlinux.h")
            }
        }
        println!("libbpf headers: {}", libbpf_headers());
        println!("cache:          {}", Cache::from_env().root().display());
        println!("privileges:     {}", privileges());
        Ok(if ok {
            ExitStatus::SUCCESS
        } else {
            ExitStatus::from(2)
        })
    }
}

/// The libbpf version whose headers user space compiles against.
fn libbpf_headers() -> String {
    let header = Path::new("/usr/include/bpf/libbpf_version.h");
    let Ok(text) = std::fs::read_to_string(header) else {
        return "not found in /usr/include/bpf (apt-get install libbpf-dev)".into();
    };
    let number = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("#define {name} ")))
            .map(str::trim)
            .unwrap_or("?")
            .to_string()
    };
    format!(
        "libbpf {}.{} ({})",
        number("LIBBPF_MAJOR_VERSION"),
        number("LIBBPF_MINOR_VERSION"),
        header.display()
    )
}

/// Whether this process could load BPF programs (root, or the needed capabilities).
fn privileges() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or("")
            .to_string()
    };
    let uid = field("Uid:")
        .split_whitespace()
        .nth(1)
        .unwrap_or("?")
        .to_string();
    let caps = u64::from_str_radix(&field("CapEff:"), 16).unwrap_or(0);
    const CAP_SYS_ADMIN: u64 = 1 << 21;
    const CAP_BPF: u64 = 1 << 39;
    let can_load = caps & (CAP_SYS_ADMIN | CAP_BPF) != 0;
    format!(
        "uid {uid}, CAP_BPF {}, CAP_SYS_ADMIN {}: {}",
        yes(caps & CAP_BPF != 0),
        yes(caps & CAP_SYS_ADMIN != 0),
        if can_load {
            "can load programs"
        } else {
            "cannot load programs (run as root)"
        }
    )
}

fn yes(flag: bool) -> &'static str {
    if flag { "yes" } else { "no" }
}
