//! Content hashes of files, each computed once per process: a build asks for the hash of
//! the same headers (a 6 MB `vmlinux.h` above all) for every source it looks up in the
//! build cache. A file is hashed again when its identity (device, inode, size, change and
//! modification times) is no longer the one it was hashed with.

use crate::cache;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// What tells one version of a file from another without reading it.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    ctime: (i64, i64),
    mtime: (i64, i64),
}

/// The [`cache::key`] of the bytes of `path`.
pub fn file_hash(path: &Path) -> Result<String> {
    static HASHES: OnceLock<Mutex<HashMap<PathBuf, (Identity, String)>>> = OnceLock::new();
    let hashes = HASHES.get_or_init(Mutex::default);
    let identity = identity_of(path)?;
    let known = |hashes: &HashMap<PathBuf, (Identity, String)>| {
        hashes
            .get(path)
            .filter(|(seen, _)| *seen == identity)
            .map(|(_, hash)| hash.clone())
    };
    if let Some(hash) = known(&hashes.lock().unwrap_or_else(|p| p.into_inner())) {
        return Ok(hash);
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    let hash = cache::key(&[&bytes]);
    // Stat again: bytes read while the file changed are not remembered under either identity.
    if identity_of(path)? == identity {
        hashes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(path.to_path_buf(), (identity, hash.clone()));
    }
    Ok(hash)
}

fn identity_of(path: &Path) -> Result<Identity> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, &e))?;
    Ok(Identity {
        dev: meta.dev(),
        ino: meta.ino(),
        size: meta.size(),
        ctime: (meta.ctime(), meta.ctime_nsec()),
        mtime: (meta.mtime(), meta.mtime_nsec()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_file_is_hashed_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.h");
        std::fs::write(&path, "one").unwrap();
        let first = file_hash(&path).unwrap();
        assert_eq!(file_hash(&path).unwrap(), first);
        std::fs::write(&path, "two, longer").unwrap();
        assert_ne!(file_hash(&path).unwrap(), first);
        assert_eq!(file_hash(&path).unwrap(), cache::key(&[b"two, longer"]));
    }
}
