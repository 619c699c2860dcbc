//! BTF: queries over btf-rs ([`types`]), the `.BTF.ext` parser ([`ext`]), and C declarations
//! rendered from BTF types ([`c`]).

pub mod c;
pub mod dump;
pub mod ext;
pub mod source;
pub mod table;
pub mod types;

pub use types::{Btf, VarLinkage};
