//! BTF: one model, [`table::TypeTable`]: a whole BTF read once, lossless and thread-safe,
//! from a file or an object ([`source`]), or built type by type (the linker's, dedup's and
//! min-CO-RE BTF) and written back; its record format and kind numbers ([`raw`]);
//! `.BTF.ext`, read and written ([`ext`]), both files read by one bounds-checked reader; C
//! code from BTF ([`dump`]: whole headers and single declarations) and Rust types ([`rust`],
//! [`rust_names`]); CO-RE resolution ([`core`]), deduplication ([`dedup`]), min-CO-RE BTF
//! ([`min_core`]); types by essential name ([`name_index`]).

pub mod core;
pub mod dedup;
pub mod dump;
pub mod ext;
pub mod min_core;
pub mod name_index;
pub mod raw;
mod reader;
pub mod rust;
pub mod rust_names;
pub mod source;
pub mod table;
