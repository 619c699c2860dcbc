//! Counters of build-cache use (`bpfgen cache stats`): each build counts in memory, then adds
//! its counts to `<cache>/stats.json` under a file lock, so that concurrent builds sharing a
//! cache directory lose none.

use crate::cache::Cache;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// A compile answered by the local cache.
    LocalHit,
    /// A compile answered by the remote cache (and copied into the local one).
    RemoteHit,
    /// A compile that ran clang: neither cache had it.
    Miss,
    /// Bytes of verified entries read from the remote cache.
    RemoteBytesRead,
    /// Bytes written to the remote cache.
    RemoteBytesWritten,
    /// Remote requests that failed or timed out (the remote is then left alone for the rest
    /// of the build), and writes dropped because the queue was full.
    RemoteErrors,
    /// Remote entries refused: a hash that does not match, or content that does not parse.
    RemoteRejected,
}

impl Counter {
    /// Every counter, in the order `bpfgen cache stats` prints them.
    pub const ALL: [Counter; 7] = [
        Counter::LocalHit,
        Counter::RemoteHit,
        Counter::Miss,
        Counter::RemoteBytesRead,
        Counter::RemoteBytesWritten,
        Counter::RemoteErrors,
        Counter::RemoteRejected,
    ];

    /// The counter's name in `stats.json` and in `bpfgen cache stats`.
    pub fn name(self) -> &'static str {
        match self {
            Counter::LocalHit => "local hits",
            Counter::RemoteHit => "remote hits",
            Counter::Miss => "misses",
            Counter::RemoteBytesRead => "remote bytes read",
            Counter::RemoteBytesWritten => "remote bytes written",
            Counter::RemoteErrors => "remote errors",
            Counter::RemoteRejected => "remote entries rejected",
        }
    }
}

/// One build's counts, shared by its workers (and the remote tier's writer).
#[derive(Debug, Default)]
pub struct CacheStats {
    counts: [AtomicU64; Counter::ALL.len()],
}

impl CacheStats {
    /// Adds `n` to `counter`.
    pub fn add(&self, counter: Counter, n: u64) {
        self.counts[counter as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// The count of `counter` so far.
    pub fn get(&self, counter: Counter) -> u64 {
        self.counts[counter as usize].load(Ordering::Relaxed)
    }

    /// Adds this build's counts to the cache directory's totals.
    pub fn persist(&self, cache: &Cache) -> Result<()> {
        if Counter::ALL.iter().all(|&c| self.get(c) == 0) {
            return Ok(());
        }
        std::fs::create_dir_all(cache.root()).map_err(|e| Error::io(cache.root(), &e))?;
        let _lock = lock(cache)?;
        let mut totals = totals(cache)?;
        for counter in Counter::ALL {
            *totals.entry(counter.name().to_string()).or_default() += self.get(counter);
        }
        let text = serde_json::to_string_pretty(&totals).expect("serializable");
        crate::output::write_atomic(&stats_path(cache), text.as_bytes())
    }
}

/// The totals recorded in the cache directory, by counter name (absent counters are 0).
pub fn totals(cache: &Cache) -> Result<BTreeMap<String, u64>> {
    let path = stats_path(cache);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| Error::input(format!("not cache statistics: {e}")).in_file(&path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(Error::io(&path, &e)),
    }
}

/// Forgets the totals.
pub fn reset(cache: &Cache) -> Result<()> {
    let _lock = lock(cache)?;
    let path = stats_path(cache);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&path, &e)),
        _ => Ok(()),
    }
}

fn stats_path(cache: &Cache) -> PathBuf {
    cache.root().join("stats.json")
}

/// An exclusive lock on `<cache>/stats.lock`, held until the file is dropped.
fn lock(cache: &Cache) -> Result<std::fs::File> {
    let path: &Path = &cache.root().join("stats.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, &e))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| Error::io(path, &e.into()))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_add_up() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().to_path_buf());
        for hits in [2, 3] {
            let stats = CacheStats::default();
            stats.add(Counter::LocalHit, hits);
            stats.add(Counter::Miss, 1);
            stats.persist(&cache).unwrap();
        }
        let totals = totals(&cache).unwrap();
        assert_eq!(totals["local hits"], 5);
        assert_eq!(totals["misses"], 2);
        assert_eq!(totals["remote hits"], 0);
        reset(&cache).unwrap();
        assert!(super::totals(&cache).unwrap().is_empty());
    }
}
