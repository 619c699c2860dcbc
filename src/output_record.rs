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
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The outputs of one source as a build wrote them.
#[derive(Debug, PartialEq, Eq)]
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

    /// The record as stored: JSON, paths as (lossy) UTF-8.
    fn to_json(&self) -> Value {
        json!({
            "files": self
                .files
                .iter()
                .map(|(path, hash)| json!([path.to_string_lossy(), hash]))
                .collect::<Vec<_>>(),
            "skeleton": self.skeleton.as_ref().map(|path| path.to_string_lossy()),
            "diagnostics": self.diagnostics,
        })
    }

    /// A stored record, or `None` when it is not one (a record from an older bpfgen, or
    /// damaged): then the build simply does its work again.
    fn from_json(json: &Value) -> Option<Self> {
        let files = json["files"]
            .as_array()?
            .iter()
            .map(|file| {
                Some((
                    PathBuf::from(file[0].as_str()?),
                    file[1].as_str()?.to_string(),
                ))
            })
            .collect::<Option<_>>()?;
        let skeleton = match &json["skeleton"] {
            Value::Null => None,
            path => Some(PathBuf::from(path.as_str()?)),
        };
        Some(Record {
            files,
            skeleton,
            diagnostics: json["diagnostics"].as_str()?.to_string(),
        })
    }
}

/// The record stored under `key`, if every output it lists still has the recorded bytes.
pub fn lookup(cache: &Cache, key: &str) -> Option<Record> {
    let path = record_path(cache, key);
    let json: Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    let record = Record::from_json(&json)?;
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
    let text = record.to_json().to_string();
    write_atomic(&path, text.as_bytes())?;
    cache.count_stored(text.len() as u64);
    Ok(())
}

fn record_path(cache: &Cache, key: &str) -> PathBuf {
    cache.entry_path("outputs", key, "record.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_as_written() {
        let record = Record {
            files: vec![(PathBuf::from("out/a.bpf.o"), "abc".into())],
            skeleton: Some(PathBuf::from("out/a.skel.h")),
            diagnostics: "warning: x\n".into(),
        };
        assert_eq!(Record::from_json(&record.to_json()), Some(record));
        let none = Record {
            files: Vec::new(),
            skeleton: None,
            diagnostics: String::new(),
        };
        assert_eq!(Record::from_json(&none.to_json()), Some(none));
        assert_eq!(Record::from_json(&json!({"files": 1})), None);
    }
}
