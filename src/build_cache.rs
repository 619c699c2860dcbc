//! The build cache: compile results keyed by everything that determines them, so that an
//! unchanged rebuild runs no clang.
//!
//! Two levels, as ccache's direct mode: a *manifest*, keyed by the clang binary, its
//! version, the full command line and the source's bytes, records every header clang read
//! with the hash of its bytes; a *result*, keyed by the manifest key and those hashes, holds
//! the stripped object, the header list and clang's diagnostics (replayed on a hit). The
//! skeleton and dependency file are derived again from the result: deterministic and cheaper
//! than storing them. Beyond a size limit, the least recently used entries of every kind
//! (results, manifests, generated and precompiled headers) are evicted. What each clang
//! binary reports about itself is kept too ([`discover_clang`]).

use crate::cache::{self, Cache, dir_size};
use crate::compile::{self, CompileOptions};
use crate::content_hash::file_hash;
use crate::error::{Error, Result};
use crate::output::write_atomic;
use crate::toolchain::Clang;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Default size limit of stored results: `BPFGEN_CACHE_MAX_SIZE` overrides it.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// A compile result as the cache keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedCompile {
    /// The stripped object.
    pub object: Vec<u8>,
    /// Every header clang read.
    pub headers: Vec<String>,
    /// clang's diagnostics (warnings) from the original compile.
    pub diagnostics: String,
}

/// A header a compile result depends on, and the hash of its bytes when it was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The header's path, as clang named it.
    pub path: String,
    /// Its [`file_hash`].
    pub hash: String,
}

impl Dependency {
    /// A list of dependencies as stored in manifests: `[{"path": ..., "hash": ...}, ...]`.
    pub fn list_to_json(dependencies: &[Dependency]) -> Value {
        dependencies
            .iter()
            .map(|dep| json!({ "path": dep.path, "hash": dep.hash }))
            .collect()
    }

    /// A stored list of dependencies, or `None` when `json` is not one.
    pub fn list_from_json(json: &Value) -> Option<Vec<Dependency>> {
        json.as_array()?
            .iter()
            .map(|dep| {
                Some(Dependency {
                    path: dep["path"].as_str()?.to_string(),
                    hash: dep["hash"].as_str()?.to_string(),
                })
            })
            .collect()
    }
}

/// Whether every dependency still has the bytes it had.
pub fn dependencies_hold(dependencies: &[Dependency]) -> bool {
    dependencies
        .iter()
        .all(|dep| file_hash(Path::new(&dep.path)).is_ok_and(|hash| hash == dep.hash))
}

/// What a stored result says besides its object: the headers clang read and its diagnostics.
/// Written and read by hand as JSON (no serde derive: a build.rs compiles no proc-macros).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultMeta {
    /// Every header clang read.
    pub headers: Vec<String>,
    /// clang's diagnostics (warnings) from the original compile.
    pub diagnostics: String,
}

impl ResultMeta {
    /// The stored form.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        json!({ "headers": self.headers, "diagnostics": self.diagnostics })
            .to_string()
            .into_bytes()
    }

    /// A stored result's metadata, or `None` when `bytes` are not one.
    pub fn from_json_bytes(bytes: &[u8]) -> Option<Self> {
        let json: Value = serde_json::from_slice(bytes).ok()?;
        let headers = json["headers"]
            .as_array()?
            .iter()
            .map(|h| h.as_str().map(str::to_string))
            .collect::<Option<_>>()?;
        Some(ResultMeta {
            headers,
            diagnostics: json["diagnostics"].as_str()?.to_string(),
        })
    }
}

/// The manifest key of compiling `source` with `opts`: clang, its version, the whole command
/// line (with fixed placeholders for bpfgen's scratch files), the source's bytes, and the
/// modification times of the directories searched for headers (a header created in one,
/// shadowing a listed one, changes it). `out_dir` is left out of those, since bpfgen's own
/// outputs change it on every build, and so are generated-header directories.
pub fn manifest_key(
    clang: &Clang,
    opts: &CompileOptions,
    source: &Path,
    out_dir: &Path,
) -> Result<String> {
    let out_dir = std::path::absolute(out_dir).ok();
    // Generated-header directories are content-addressed (their path is in the command
    // line) and touched on every use: their times say nothing.
    let dir_times: Vec<String> = compile::search_dirs(opts, source)
        .iter()
        .filter(|dir| !opts.fallback_include_dirs.contains(dir))
        .filter(|dir| std::path::absolute(dir).ok() != out_dir)
        .map(|dir| {
            let modified = std::fs::metadata(dir).and_then(|m| m.modified()).ok();
            format!("{} {modified:?}", dir.display())
        })
        .collect();
    let mut parts = compile_parts(clang, opts, source, &|arg| arg.to_os_string())?;
    parts.extend(dir_times.into_iter().map(String::into_bytes));
    Ok(cache::key(
        &parts.iter().map(Vec::as_slice).collect::<Vec<_>>(),
    ))
}

/// What any key of compiling `source` covers: clang, its version, the command line (each
/// argument passed through `arg`, with fixed placeholders for bpfgen's scratch files) and the
/// source's bytes.
pub fn compile_parts(
    clang: &Clang,
    opts: &CompileOptions,
    source: &Path,
    arg: &dyn Fn(&std::ffi::OsStr) -> std::ffi::OsString,
) -> Result<Vec<Vec<u8>>> {
    let absolute = std::path::absolute(source).map_err(|e| Error::io(source, &e))?;
    let args = compile::command_line(clang, opts, &absolute, Path::new("OBJ"), Path::new("DEP"))?;
    let bytes = std::fs::read(source).map_err(|e| Error::io(source, &e))?;
    let mut parts = vec![
        b"bpfgen build cache v2".to_vec(),
        clang.path().as_os_str().as_encoded_bytes().to_vec(),
        clang.version().to_string().into_bytes(),
    ];
    parts.extend(args.iter().map(|a| arg(a).into_encoded_bytes()));
    parts.push(bytes);
    Ok(parts)
}

/// The result for `manifest_key`, if every header it depends on still has the same bytes.
pub fn lookup(cache: &Cache, manifest_key: &str) -> Option<CachedCompile> {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(manifest_path(cache, manifest_key)).ok()?).ok()?;
    let dependencies = Dependency::list_from_json(&manifest["dependencies"])?;
    if !dependencies_hold(&dependencies) {
        return None;
    }
    let dir = result_dir(cache, manifest_key, &dependencies);
    let object = std::fs::read(dir.join("object.bpf.o")).ok()?;
    let meta = ResultMeta::from_json_bytes(&std::fs::read(dir.join("meta.json")).ok()?)?;
    cache::touch(&dir);
    Some(CachedCompile {
        object,
        headers: meta.headers,
        diagnostics: meta.diagnostics,
    })
}

/// The headers of `result` with their hashes, or `None` when one was modified at or after
/// `started` (when clang began): its bytes now may not be the bytes clang read, as ccache's
/// "too new" rule says, and the result must not be stored.
pub fn dependencies(
    result: &CachedCompile,
    started: SystemTime,
) -> Result<Option<Vec<Dependency>>> {
    let mut dependencies = Vec::with_capacity(result.headers.len());
    for path in &result.headers {
        let modified = std::fs::metadata(path).and_then(|m| m.modified());
        if modified.is_ok_and(|t| t >= started) {
            return Ok(None);
        }
        dependencies.push(Dependency {
            path: path.clone(),
            hash: file_hash(Path::new(path))?,
        });
    }
    Ok(Some(dependencies))
}

/// Stores a compile result under `manifest_key`, with the [`dependencies`] it was made
/// from, then keeps the cache within `max_bytes`.
pub fn store(
    cache: &Cache,
    manifest_key: &str,
    result: &CachedCompile,
    dependencies: &[Dependency],
    max_bytes: u64,
) -> Result<()> {
    let result_key = result_key(manifest_key, dependencies);
    let meta = ResultMeta {
        headers: result.headers.clone(),
        diagnostics: result.diagnostics.clone(),
    };
    let meta = meta.to_json_bytes();
    cache.get_or_create("results", &result_key, "meta.json", |path| {
        let dir = path.parent().expect("entries have a directory");
        write_atomic(&dir.join("object.bpf.o"), &result.object)?;
        std::fs::write(path, &meta).map_err(|e| Error::io(path, &e))
    })?;
    let manifest = json!({ "dependencies": Dependency::list_to_json(dependencies) }).to_string();
    let path = manifest_path(cache, manifest_key);
    let dir = path.parent().expect("entries have a directory");
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
    write_atomic(&path, manifest.as_bytes())?;
    keep_within(cache, max_bytes, manifest.len() as u64)
}

/// Keeps the cache within `max_bytes` after a store of `stored` bytes not counted yet (the
/// result entry counted itself when [`Cache::get_or_create`] made it). Reading every entry's
/// directory took about 24,000 system calls in a 3,240-entry cache, so it happens only when
/// the cache's count ([`Cache::counted_bytes`]) passes the limit or there is no count.
fn keep_within(cache: &Cache, max_bytes: u64, stored: u64) -> Result<()> {
    let Ok(mut count) = cache.counted_bytes() else {
        // No count to keep (a file system without file locks): the cache is read each time.
        remove_least_recently_used(cache, max_bytes);
        return Ok(());
    };
    match count.get() {
        Some(bytes) if bytes.saturating_add(stored) <= max_bytes => count.set(bytes + stored),
        _ => count.set(remove_least_recently_used(cache, max_bytes)),
    }
}

/// What the size limit covers: every kind of entry a build leaves in the cache.
const EVICTABLE: &[&str] = &["results", "manifests", "outputs", "pch", "vmlinux", "clang"];

/// Deletes the least recently used cache entries (results, manifests, output records,
/// precompiled and generated headers, clang probes) until they take at most `max_bytes`,
/// and counts what is left ([`Cache::counted_bytes`]).
pub fn evict(cache: &Cache, max_bytes: u64) -> Result<()> {
    let mut count = cache.counted_bytes();
    let left = remove_least_recently_used(cache, max_bytes);
    match &mut count {
        Ok(count) => count.set(left),
        Err(_) => Ok(()),
    }
}

/// Reads every entry and deletes the least recently used until they take at most
/// `max_bytes`; returns the bytes the entries left take.
fn remove_least_recently_used(cache: &Cache, max_bytes: u64) -> u64 {
    let mut stored = entries(cache);
    let mut total: u64 = stored.iter().map(|(_, size, _)| size).sum();
    stored.sort();
    for (_, size, path) in stored {
        if total <= max_bytes {
            break;
        }
        // Another build may be evicting the same entry: a vanished directory is fine.
        let _ = std::fs::remove_dir_all(&path);
        total = total.saturating_sub(size);
    }
    total
}

/// How many entries the size limit covers, and how many bytes they take.
pub fn usage(cache: &Cache) -> (usize, u64) {
    let stored = entries(cache);
    (stored.len(), stored.iter().map(|(_, size, _)| size).sum())
}

/// Every entry the size limit covers: when it was last used, its size, its directory.
fn entries(cache: &Cache) -> Vec<(SystemTime, u64, PathBuf)> {
    EVICTABLE
        .iter()
        .filter_map(|kind| std::fs::read_dir(cache.root().join(kind)).ok())
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let modified = entry.metadata().ok()?.modified().ok()?;
            Some((modified, dir_size(&entry.path()), entry.path()))
        })
        .collect()
}

/// The cache size limit from `BPFGEN_CACHE_MAX_SIZE` (bytes, or with a K, M or G suffix).
pub fn max_bytes_from_env() -> Result<u64> {
    match std::env::var("BPFGEN_CACHE_MAX_SIZE") {
        Err(_) => Ok(DEFAULT_MAX_BYTES),
        Ok(text) => parse_size(&text).ok_or_else(|| {
            Error::environment(format!(
                "BPFGEN_CACHE_MAX_SIZE='{text}' is not a size (bytes, or a number with K, M or G)"
            ))
        }),
    }
}

/// `4096`, `64K`, `512M`, `2G`.
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().last()? {
        (at, 'K' | 'k') => (&text[..at], 1 << 10),
        (at, 'M' | 'm') => (&text[..at], 1 << 20),
        (at, 'G' | 'g') => (&text[..at], 1 << 30),
        _ => (text, 1),
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(unit)
}

fn manifest_path(cache: &Cache, manifest_key: &str) -> PathBuf {
    cache.entry_path("manifests", manifest_key, "manifest.json")
}

fn result_key(manifest_key: &str, dependencies: &[Dependency]) -> String {
    let mut parts: Vec<&[u8]> = vec![manifest_key.as_bytes()];
    for dep in dependencies {
        parts.push(dep.path.as_bytes());
        parts.push(dep.hash.as_bytes());
    }
    cache::key(&parts)
}

fn result_dir(cache: &Cache, manifest_key: &str, dependencies: &[Dependency]) -> PathBuf {
    cache
        .root()
        .join("results")
        .join(result_key(manifest_key, dependencies))
}

/// Finds clang ([`Clang::locate`]) and reads what it reports about itself (version, system
/// include directories) from the cache, asking the binary only the first time it is seen:
/// keyed by its path, size, mtime and inode.
pub fn discover_clang(explicit: Option<&Path>, cache: &Cache) -> Result<Clang> {
    use std::os::unix::fs::MetadataExt;
    let clang = Clang::locate(explicit)?;
    let meta = std::fs::metadata(&clang).map_err(|e| Error::io(&clang, &e))?;
    let identity = format!(
        "{} {} {} {}",
        clang.display(),
        meta.len(),
        meta.mtime_nsec(),
        meta.ino()
    );
    let key = cache::key(&[
        b"clang probe v1",
        identity.as_bytes(),
        &meta.mtime().to_le_bytes(),
    ]);
    let mut ran = false;
    let entry = cache.get_or_create("clang", &key, "probe.txt", |path| {
        ran = true;
        let report = Clang::probe(&clang)?;
        std::fs::write(path, report).map_err(|e| Error::io(path, &e))
    })?;
    let report = std::fs::read_to_string(&entry).map_err(|e| Error::io(&entry, &e))?;
    Clang::from_report(clang, &report, ran)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size(" 2g "), Some(2 << 30));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size(""), None);
    }

    /// Writes a result entry `name` of `bytes` bytes, last used `age` seconds after the epoch
    /// (long before any entry a test stores).
    fn old_result(cache: &Cache, name: &str, bytes: usize, age: u64) {
        let entry = cache.root().join("results").join(name);
        std::fs::create_dir_all(&entry).unwrap();
        std::fs::write(entry.join("object.bpf.o"), vec![0u8; bytes]).unwrap();
        let when = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(age);
        std::fs::File::open(&entry)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }

    fn results_left(cache: &Cache) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(cache.root().join("results"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    fn count(cache: &Cache) -> Option<u64> {
        cache.counted_bytes().unwrap().get()
    }

    #[test]
    fn eviction_removes_the_oldest_results_first() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().to_path_buf());
        for (i, name) in ["old", "mid", "new"].iter().enumerate() {
            old_result(&cache, name, 1000, 1000 + i as u64);
        }
        evict(&cache, 2500).unwrap();
        assert_eq!(results_left(&cache), ["mid", "new"]);
        assert_eq!(count(&cache), Some(2000));
    }

    #[test]
    fn stores_read_the_cache_only_without_a_count_or_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        // Two builds sharing the cache directory.
        let (one, other) = (
            Cache::at(dir.path().to_path_buf()),
            Cache::at(dir.path().to_path_buf()),
        );
        let limit = 10_000;
        // A stored result takes its object's bytes, 31 of meta.json and 19 of manifest.json.
        let compiled = |bytes: usize| CachedCompile {
            object: vec![1; bytes],
            headers: Vec::new(),
            diagnostics: String::new(),
        };
        // With no count, a store reads the cache, evicts down to the limit and counts.
        old_result(&one, "stale", 12_000, 998);
        old_result(&one, "kept", 4_000, 999);
        store(&one, "first", &compiled(100), &[], limit).unwrap();
        assert_eq!(count(&one), Some(4_150));
        let left = results_left(&one);
        assert!(left.contains(&"kept".into()) && !left.contains(&"stale".into()));
        // Entries put there by hand are not seen while the count stays within the limit,
        // though they take the cache past it (10,300 bytes)...
        old_result(&one, "copied-in", 3_000, 1001);
        old_result(&one, "copied-in-too", 3_000, 1002);
        store(&other, "second", &compiled(100), &[], limit).unwrap();
        assert_eq!(count(&one), Some(4_300), "the other build's store counts");
        assert_eq!(results_left(&one).len(), 5);
        // ...and are when stores pass the limit: 16,050 bytes, the two least recently used
        // entries go.
        store(&one, "third", &compiled(5_700), &[], limit).unwrap();
        assert_eq!(count(&one), Some(9_050));
        let left = results_left(&one);
        assert_eq!(left.len(), 4, "{left:?}");
        assert!(left.contains(&"copied-in-too".into()), "{left:?}");
        assert!(!left.contains(&"kept".into()) && !left.contains(&"copied-in".into()));
    }

    #[test]
    fn without_a_count_every_store_reads_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().to_path_buf());
        // A count that cannot be opened (here a directory in its place).
        std::fs::create_dir(dir.path().join("counted-bytes")).unwrap();
        let compiled = CachedCompile {
            object: vec![1; 100],
            headers: Vec::new(),
            diagnostics: String::new(),
        };
        store(&cache, "first", &compiled, &[], 1_000).unwrap();
        old_result(&cache, "stale", 2_000, 999);
        store(&cache, "second", &compiled, &[], 1_000).unwrap();
        assert!(!results_left(&cache).contains(&"stale".into()));
    }
}
