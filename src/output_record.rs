//! Records of written outputs, so that a build whose outputs are already current does no
//! more than look: keyed by everything `build` derives a source's outputs and check findings
//! from (the stripped object, the source and header contents, the output paths, the skeleton
//! language and the check settings), a record lists each output with the hash of its bytes
//! and the findings printed. While every output still has those bytes, the build replays the
//! findings instead of checking, rendering and comparing again.

use crate::cache::{self, Cache};
use crate::content_hash::file_hash;
use crate::error::{Error, Result};
use crate::output::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The outputs of one source as a build wrote them.
#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    /// Every output file, with the [`file_hash`] of its bytes.
    pub files: Vec<(PathBuf, String)>,
    /// The skeleton, when one was written.
    pub skeleton: Option<PathBuf>,
    /// What the build added to clang's diagnostics (check findings, notes).
    pub diagnostics: String,
}

impl Record {
    /// A record of `files` (hashed now), `skeleton` and `diagnostics`.
    pub fn new(files: &[&Path], skeleton: Option<PathBuf>, diagnostics: String) -> Result<Self> {
        let files = files
            .iter()
            .map(|path| Ok((path.to_path_buf(), file_hash(path)?)))
            .collect::<Result<_>>()?;
        Ok(Record {
            files,
            skeleton,
            diagnostics,
        })
    }
}

/// The record stored under `key`, if every output it lists still has the recorded bytes.
pub fn lookup(cache: &Cache, key: &str) -> Option<Record> {
    let path = record_path(cache, key);
    let record: Record = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    let current = record
        .files
        .iter()
        .all(|(file, hash)| file_hash(file).is_ok_and(|now| now == *hash));
    if current {
        cache::touch(path.parent()?);
    }
    current.then_some(record)
}

/// Stores `record` under `key`.
pub fn store(cache: &Cache, key: &str, record: &Record) -> Result<()> {
    let path = record_path(cache, key);
    let dir = path.parent().expect("records have a directory");
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
    write_atomic(&path, &serde_json::to_vec(record).expect("serializable"))
}

fn record_path(cache: &Cache, key: &str) -> PathBuf {
    cache.root().join("outputs").join(key).join("record.json")
}
