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
    let bytes = FileBytes::open(path)?;
    let raw = raw_btf(&bytes).map_err(|e| e.in_file(path))?;
    let base_bytes = base.map(FileBytes::open).transpose()?;
    let base_raw = match (&base_bytes, base) {
        (Some(bytes), Some(path)) => Some(raw_btf(bytes).map_err(|e| e.in_file(path))?),
        _ => None,
    };
    TypeTable::from_bytes(raw, base_raw).map_err(|e| e.in_file(path))
}

/// A file's bytes, memory-mapped when possible: sysfs serves `/sys/kernel/btf/vmlinux` one
/// page per `read`, thousands of calls for a kernel's BTF.
pub enum FileBytes {
    /// The file, mapped read-only.
    Mapped(memmap2::Mmap),
    /// The file, read (for files that cannot be mapped).
    Read(Vec<u8>),
}

impl FileBytes {
    /// Maps or reads `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
        // Populated up front: one bulk fault-in instead of one per page of a kernel's BTF.
        // SAFETY: the mapping is private (copy-on-write; sysfs refuses shared maps) and
        // read-only, and every read of it is bounds-checked. Kernel and build BTF files do not
        // change while bpfgen reads them; one rewritten meanwhile gives wrong bytes, and one
        // truncated meanwhile ends the process with SIGBUS, as for any mapped-file reader.
        match unsafe {
            memmap2::MmapOptions::new()
                .populate()
                .map_copy_read_only(&file)
        } {
            Ok(map) => Ok(FileBytes::Mapped(map)),
            Err(_) => std::fs::read(path)
                .map(FileBytes::Read)
                .map_err(|e| Error::io(path, &e)),
        }
    }
}

impl AsRef<[u8]> for FileBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(map) => map,
            FileBytes::Read(bytes) => bytes,
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
