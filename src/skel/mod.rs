//! Skeletons: [`model`] turns a [`crate::object::BpfObject`] into a language-neutral
//! [`Skeleton`], to which the language's text of its types is then added (`c_types` for C,
//! `rust::RustModule` for Rust); the renderers take only that model: [`c`] renders a
//! `.skel.h` through `templates/c/skel.h.j2`, [`rust`] a `.skel.rs` for libbpf-rs through
//! `templates/rust/skel.rs.j2`, and [`subskel`] a library object's `.subskel.h` through
//! `templates/c/subskel.h.j2`. [`generate`] is the one way in for a whole skeleton, used by
//! `bpfgen build`, `bpfgen gen skeleton` and the build.rs API: the language is chosen there,
//! once, with the identifier rules that go with it.

pub mod c;
mod c_types;
pub mod model;
pub mod rust;
pub mod subskel;
mod template;

pub use model::Skeleton;

use crate::error::Result;
use crate::object::BpfObject;

/// Which skeleton to write.
#[derive(Debug, Clone)]
pub enum Lang {
    /// A C `.skel.h`, what `bpftool gen skeleton` writes.
    C,
    /// A Rust `.skel.rs` for libbpf-rs, what libbpf-cargo writes.
    Rust {
        /// The prefix of its type names ([`rust::type_prefix`] of the object's file name).
        type_prefix: String,
        /// How it carries the object's bytes.
        embed: rust::Embed,
    },
}

/// The skeleton of `object`, whose libbpf object name is `name` and whose ELF file (embedded
/// in the skeleton) is `elf`.
pub fn generate(object: &BpfObject, name: &str, elf: &[u8], lang: &Lang) -> Result<String> {
    match lang {
        Lang::C => {
            let model = Skeleton::new(object, name, crate::ident::skeleton_identifier)?;
            let types = c_types::CTypes::of_skeleton(&model, object.types.as_ref())?;
            c::render(&model.with_types(types), elf)
        }
        Lang::Rust { type_prefix, embed } => {
            let model = Skeleton::new(object, name, crate::btf::rust::rust_identifier)?;
            let types = rust::RustModule::of_skeleton(&model, object.types.as_ref())?;
            rust::render(&model.with_types(types), type_prefix, elf, embed)
        }
    }
}
