//! Skeletons: [`model`] turns a [`crate::object::BpfObject`] into a language-neutral
//! [`Skeleton`]; [`c`] renders it as a `.skel.h` through `templates/c/skel.h.j2`, [`rust`] as a
//! `.skel.rs` for libbpf-rs through `templates/rust/skel.rs.j2`, and [`subskel`] a library
//! object's `.subskel.h` through `templates/c/subskel.h.j2`.

pub mod c;
pub mod model;
pub mod rust;
pub mod subskel;
mod template;

pub use model::Skeleton;
