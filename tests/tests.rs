//! bpfgen's integration tests: one binary, one module per area.

mod build_cache;
mod check;
mod conformance;
mod differential;
mod errors;
mod examples;
mod examples_more;
mod fuzz_corpus;
mod generated_programs;
mod inspect;
mod kernel_types;
mod link;
mod makefile;
mod min_core;
mod package;
mod reproducible;
mod robustness;
mod rust_skel;
mod rust_types;
mod skeleton_shape;
mod skeletons_compile;
mod strip;
mod subskeleton;
mod tricky;
mod util;
mod vmlinux;
