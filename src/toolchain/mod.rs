//! The toolchain: which clang to run, how new it is, where the host's system headers live, and
//! which BPF target and `__TARGET_ARCH_*` a build is for.

mod arch;
mod clang;
mod fork_server;

pub use arch::{BpfTarget, TargetArch};
pub use clang::{Clang, ClangVersion};
