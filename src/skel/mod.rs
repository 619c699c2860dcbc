//! Skeletons: [`model`] turns a [`crate::object::BpfObject`] into a language-neutral
//! [`Skeleton`]; [`c`] renders it as a `.skel.h` through `templates/c/skel.h.j2`.

pub mod c;
pub mod model;

pub use model::Skeleton;
