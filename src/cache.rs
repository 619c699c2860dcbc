//! The on-disk cache: content-addressed entries (`<root>/<kind>/<key>/<file>`) created once,
//! atomically, and shared by concurrent builds. Generated vmlinux.h headers and precompiled
//! headers live here.

use crate::error::{Error, Result};
use std::io::{Read, Seek};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// A cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// The user's cache: `$BPFGEN_CACHE_DIR`, else `$XDG_CACHE_HOME/bpfgen`, else
    /// `~/.cache/bpfgen`. When that cannot be created (a read-only or absent home, as in
    /// sandboxed package builds), a per-user directory in the temporary directory.
    pub fn from_env() -> Self {
        let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let fallback = std::env::temp_dir().join(format!(
            "bpfgen-cache-{}",
            rustix::process::getuid().as_raw()
        ));
        let root = non_empty("BPFGEN_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| non_empty("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("bpfgen")))
            .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".cache/bpfgen")))
            .filter(|root| std::fs::create_dir_all(root).is_ok())
            .unwrap_or(fallback);
        Cache::at(root)
    }

    /// A cache rooted at `root`.
    pub fn at(root: PathBuf) -> Self {
        Cache { root }
    }

    /// The count of the bytes the cache's entries take, locked against every other build
    /// using this cache until dropped; an error when the cache directory does not exist.
    pub fn counted_bytes(&self) -> Result<CountedBytes> {
        let path = self.root.join("counted-bytes");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, &e))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| Error::io(&path, &e.into()))?;
        Ok(CountedBytes { path, file })
    }

    /// Adds `bytes`, an entry just written, to the count of the bytes entries take, when
    /// there is one. The count only spares builds a reading of the whole cache: failing to
    /// keep it is no error (a count found unreadable is counted again).
    pub fn count_stored(&self, bytes: u64) {
        if let Ok(mut count) = self.counted_bytes()
            && let Some(counted) = count.get()
        {
            let _ = count.set(counted.saturating_add(bytes));
        }
    }

    /// Where the cache lives.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the entry `<kind>/<key>/<name>` lives, whether or not it exists yet.
    pub fn entry_path(&self, kind: &str, key: &str, name: &str) -> PathBuf {
        self.root.join(kind).join(key).join(name)
    }

    /// The entry `<kind>/<key>/<name>` if it exists, marked as recently used.
    pub fn get(&self, kind: &str, key: &str, name: &str) -> Option<PathBuf> {
        let path = self.entry_path(kind, key, name);
        path.exists().then(|| {
            touch(path.parent().expect("entries have a directory"));
            path
        })
    }

    /// The entry `<kind>/<key>/<name>`, created by `make` (which writes the file at the path it
    /// is given) when absent. `make` writes to a temporary name; the entry appears atomically.
    pub fn get_or_create(
        &self,
        kind: &str,
        key: &str,
        name: &str,
        make: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<PathBuf> {
        if let Some(path) = self.get(kind, key, name) {
            return Ok(path);
        }
        let path = self.entry_path(kind, key, name);
        let dir = path
            .parent()
            .expect("entries have a directory")
            .to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, &e))?;
        let staging = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .tempfile_in(&dir)
            .map_err(|e| Error::io(&dir, &e))?
            .into_temp_path();
        make(&staging)?;
        staging
            .persist(&path)
            .map_err(|e| Error::io(&path, &e.error))?;
        self.count_stored(dir_size(&dir));
        Ok(path)
    }
}

/// `<cache>/counted-bytes`, locked: how many bytes the cache's entries take, as last counted
/// by reading every entry ([`crate::build_cache::evict`]) plus what builds have stored since,
/// so that a build need not read the whole cache to keep it within its size limit (as
/// ccache keeps its size in counter files). Entries copied in or deleted by hand are seen at
/// the next full count; a count that is absent or unreadable is no count.
pub struct CountedBytes {
    path: PathBuf,
    file: std::fs::File,
}

impl CountedBytes {
    /// The count, if there is one.
    pub fn get(&mut self) -> Option<u64> {
        let mut text = String::new();
        let mut file = &self.file;
        file.rewind().ok()?;
        file.read_to_string(&mut text).ok()?;
        text.trim().parse().ok()
    }

    /// Records `bytes` as the count.
    pub fn set(&mut self, bytes: u64) -> Result<()> {
        let io = |e: std::io::Error| Error::io(&self.path, &e);
        self.file.set_len(0).map_err(io)?;
        self.file
            .write_all_at(format!("{bytes}\n").as_bytes(), 0)
            .map_err(io)
    }
}

/// The bytes of the files in `dir` (an entry's directory).
pub fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.metadata().ok())
        .map(|meta| meta.len())
        .sum()
}

/// Marks an entry as recently used: eviction goes by the entry directory's modification time.
pub fn touch(dir: &Path) {
    if let Ok(file) = std::fs::File::open(dir) {
        let _ = file.set_modified(std::time::SystemTime::now());
    }
}

/// What identifies this bpfgen binary (its size and modification time), part of every key:
/// a new bpfgen may write different headers or objects from the same inputs.
pub fn tool_fingerprint() -> &'static str {
    static FINGERPRINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FINGERPRINT.get_or_init(|| {
        use std::os::unix::fs::MetadataExt;
        let meta = std::env::current_exe().and_then(std::fs::metadata);
        match meta {
            Ok(meta) => format!(
                "{} {} {}.{}",
                env!("CARGO_PKG_VERSION"),
                meta.len(),
                meta.mtime(),
                meta.mtime_nsec()
            ),
            Err(_) => env!("CARGO_PKG_VERSION").to_string(),
        }
    })
}

/// A cache key: the BLAKE3 hash of `parts`, each length-prefixed so that no two different
/// part lists hash alike, as 32 hex digits.
pub fn key(parts: &[&[u8]]) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(tool_fingerprint().as_bytes());
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().to_hex()[..32].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_parts() {
        assert_ne!(key(&[b"ab", b"c"]), key(&[b"a", b"bc"]));
        assert_eq!(key(&[b"x"]).len(), 32);
    }

    #[test]
    fn entries_are_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().to_path_buf());
        let make = |path: &Path| std::fs::write(path, "one").map_err(|e| Error::io(path, &e));
        let first = cache.get_or_create("k", "abc", "f.h", make).unwrap();
        let second = cache
            .get_or_create("k", "abc", "f.h", |_| panic!("made twice"))
            .unwrap();
        assert_eq!(first, second);
        assert_eq!(std::fs::read_to_string(first).unwrap(), "one");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("k/abc"))
            .unwrap()
            .collect();
        assert_eq!(names.len(), 1, "no staging files left");
    }

    #[test]
    fn what_is_stored_adds_to_a_count_and_makes_none() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().to_path_buf());
        let make = |path: &Path| std::fs::write(path, "12345").map_err(|e| Error::io(path, &e));
        cache.get_or_create("k", "a", "f.h", make).unwrap();
        assert_eq!(cache.counted_bytes().unwrap().get(), None);
        cache.counted_bytes().unwrap().set(100).unwrap();
        cache.get_or_create("k", "b", "f.h", make).unwrap();
        cache.get_or_create("k", "b", "f.h", make).unwrap();
        cache.count_stored(7);
        assert_eq!(cache.counted_bytes().unwrap().get(), Some(112));
        std::fs::write(dir.path().join("counted-bytes"), "not a number").unwrap();
        cache.count_stored(7);
        assert_eq!(cache.counted_bytes().unwrap().get(), None);
    }
}
