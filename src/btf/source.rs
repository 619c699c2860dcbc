//! Where BTF comes from: a raw BTF file (`/sys/kernel/btf/vmlinux`, a BTFHub file) or an ELF
//! file with a `.BTF` section (a vmlinux image, a BPF object, a kernel module).

use super::table::TypeTable;
use crate::error::{Error, Result};
use object::{Object, ObjectSection};
use std::path::Path;

/// The running kernel's BTF.
pub const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Reads the BTF of `path`, on top of the base BTF in `base` for split (module) BTF.
pub fn load(path: &Path, base: Option<&Path>) -> Result<TypeTable> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    let raw = raw_btf(&bytes).map_err(|e| e.in_file(path))?;
    match base {
        None if raw.len() == bytes.len() => TypeTable::from_raw_file(path),
        None => TypeTable::from_bytes(raw, None).map_err(|e| e.in_file(path)),
        Some(base_path) => {
            let base_bytes = std::fs::read(base_path).map_err(|e| Error::io(base_path, &e))?;
            let base_raw = raw_btf(&base_bytes).map_err(|e| e.in_file(base_path))?;
            TypeTable::from_bytes(raw, Some(base_raw)).map_err(|e| e.in_file(path))
        }
    }
}

/// The raw BTF inside `bytes`: the bytes themselves, or an ELF file's `.BTF` section.
pub fn raw_btf(bytes: &[u8]) -> Result<&[u8]> {
    match bytes.get(..4) {
        Some([0x9f, 0xeb, ..]) | Some([0xeb, 0x9f, ..]) => Ok(bytes),
        Some(b"\x7fELF") => {
            let file = object::File::parse(bytes)
                .map_err(|e| Error::input(format!("malformed ELF: {e}")))?;
            let section = file
                .section_by_name(".BTF")
                .ok_or_else(|| Error::input("ELF file has no .BTF section"))?;
            section
                .data()
                .map_err(|e| Error::input(format!("malformed ELF: .BTF: {e}")))
        }
        _ => Err(Error::input(
            "has no BTF: neither raw BTF nor an ELF file with a .BTF section",
        )),
    }
}
