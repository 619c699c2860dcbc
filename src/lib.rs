//! bpfgen: build eBPF programs without the libbpf-bootstrap Makefile or `bpftool gen`.
//!
//! The layers, in the order data flows through them:
//! - [`toolchain`]: which clang, its version and system include directories, the target arch.
//! - [`compile`]: the clang command line for one `.bpf.c`, run without a shell.
//! - [`object`]: an ELF object read once into a [`object::BpfObject`] (programs, maps,
//!   data sections, BTF, `.BTF.ext`), libbpf's naming rules, and the DWARF-stripping rewrite.
//! - [`btf`]: checked BTF queries, the `.BTF.ext` parser, C declarations from BTF.
//! - [`check`]: what libbpf and the verifier would reject, found offline ([`diag`] findings
//!   with stable codes); CO-RE relocations resolved against target kernels by [`btf::core`].
//! - `load` (feature `load`): the running kernel's verdict on each program, through the real
//!   libbpf: refusals as [`diag`] findings, veristat-style statistics, and their comparison.
//! - [`skel`]: the skeleton model and its C and Rust renderers.
//! - [`inspect`] (feature `inspect`, part of `cli`): a summary of an object for people and for JSON
//!   consumers.
//! - [`package`]: objects packaged for runtimes (OCI images for bpfman, eunomia packages for
//!   ecli) with bpfgen's manifest and min-CO-RE BTF ([`btf::min_core`]), reproducibly.
//! - [`vmlinux`]: `vmlinux.h` generated from kernel BTF ([`btf::dump`]) and precompiled, kept
//!   in the content-addressed [`cache`].
//! - [`build`]: the orchestrator, the only layer that touches files: sources in, outputs out,
//!   written atomically ([`output`]) and recorded ([`output_record`]), with Make dependency
//!   files ([`depfile`]), compile results reused from the [`build_cache`] (headers hashed once
//!   per process by [`content_hash`]), counted by [`cache_stats`], and shared between
//!   machines by the `remote_cache` tier (feature `remote-cache`).
//! - [`Builder`]: the build.rs API over [`build`], for Rust skeletons.
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
pub mod toolchain;
pub mod vmlinux;

pub use builder::Builder;
pub use error::{Error, ErrorKind, Result};
