//! Reading an object file named on the command line, for the subcommands that take one.

use bpfgen::ident;
use bpfgen::object::{BpfObject, names};
use std::path::Path;

/// An object file's bytes, its parsed model, and the libbpf object name it goes by.
pub struct LoadedObject {
    pub bytes: Vec<u8>,
    pub object: BpfObject,
    pub name: String,
}

/// Reads and parses `path`; the object name is `name` (sanitized) or derived from the file name.
pub fn load(path: &Path, name: Option<&str>) -> bpfgen::Result<LoadedObject> {
    let bytes = std::fs::read(path).map_err(|e| bpfgen::Error::io(path, &e))?;
    if !bytes.starts_with(b"\x7fELF") && path.extension().is_some_and(|e| e == "c" || e == "h") {
        return Err(bpfgen::Error::input(
            "is C source, not a BPF object: build it with `bpfgen build`, or check it with \
             `bpfgen check`, which takes sources",
        )
        .in_file(path));
    }
    let name = match name {
        Some(name) => ident::sanitize_identifier(name),
        None => {
            names::object_name_from_file(&path.file_name().unwrap_or_default().to_string_lossy())
        }
    };
    let object = BpfObject::parse(&bytes, &name).map_err(|e| e.in_file(path))?;
    Ok(LoadedObject {
        bytes,
        object,
        name,
    })
}
