//! bpfgen: build eBPF programs without the libbpf-bootstrap Makefile or `bpftool gen`.
//!
//! The layers, lowest first; a module uses only modules of its own layer or below (checked
//! with `grep -rhoE "crate::[a-z_]+"` per module):
//! - Leaves: [`error`] (one error type, its exit code), [`diag`] (findings with stable codes
//!   and source locations), [`ident`] (C and Rust identifiers and keywords), [`fast_hash`]
//!   (the hash of the hot maps), [`strtab`] (the string tables of ELF and BTF), [`depfile`],
//!   [`output`] (atomic writes, nothing rewritten
//!   when unchanged), [`cache`] (the content-addressed store) and [`content_hash`].
//! - [`toolchain`]: which clang, its version and system include directories, the target
//!   arch; [`compile`]: the clang command line for one `.bpf.c`, run without a shell.
//! - [`btf`]: the one BTF model ([`btf::table::TypeTable`]: read once, lossless, as records
//!   and decoded types; built and changed type by type and written back; [`btf::raw`] is
//!   its record format),
//!   the `.BTF.ext` records, C declarations and Rust types from BTF, CO-RE resolution,
//!   deduplication and min-CO-RE BTF. It knows no object: what it needs of one is a trait
//!   ([`btf::min_core::CoreRelocations`]).
//! - [`object`]: an ELF object read once into a [`object::BpfObject`] (programs, maps,
//!   data sections, BTF, `.BTF.ext`), libbpf's naming rules, and the DWARF-stripping rewrite.
//! - Over objects: [`check`] (what libbpf and the verifier would reject, found offline),
//!   `load` (feature `load`: the running kernel's verdict through the real libbpf),
//!   [`link`] (the static linker, `bpftool gen object`), [`skel`] (the skeleton model and its
//!   C and Rust renderers, one way in: [`skel::generate`]), [`inspect`] (feature `inspect`),
//!   [`package`] (OCI images for bpfman, eunomia packages, reproducibly; it is handed its
//!   build record) and [`vmlinux`] (`vmlinux.h` generated and precompiled, cached).
//! - [`build_cache`] (compile results, and what each clang reports about itself),
//!   [`output_record`], [`cache_stats`] and the `remote_cache` tier (feature
//!   `remote-cache`).
//! - [`build`]: the orchestrator, the only layer that touches the user's files: sources in,
//!   outputs out; and [`Builder`], the build.rs API over it.
#![deny(missing_docs)]

pub mod btf;
pub mod build;
pub mod build_cache;
pub mod builder;
pub mod cache;
pub mod cache_stats;
pub mod check;
pub mod compile;
pub mod content_hash;
pub mod depfile;
pub mod diag;
pub mod error;
pub mod fast_hash;
pub mod ident;
#[cfg(feature = "inspect")]
pub mod inspect;
pub mod link;
#[cfg(feature = "load")]
pub mod load;
pub mod object;
pub mod output;
pub mod output_record;
#[cfg(feature = "package")]
pub mod package;
#[cfg(feature = "remote-cache")]
pub mod remote_cache;
pub mod skel;
pub mod strtab;
pub mod toolchain;
pub mod vmlinux;

pub use builder::Builder;
pub use error::{Error, ErrorKind, Result};
