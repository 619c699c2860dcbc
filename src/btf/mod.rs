//! BTF: a flat copy of a whole BTF ([`table`]) read from a file or object ([`source`]), the `.BTF.ext` parser ([`ext`]), and C code from BTF
//! ([`dump`]: whole headers and single declarations); types by essential name ([`name_index`]).

pub mod core;
pub mod dedup;
pub mod dump;
pub mod ext;
pub mod min_core;
pub mod name_index;
pub mod raw;
pub mod rust;
pub mod rust_names;
pub mod source;
pub mod table;
