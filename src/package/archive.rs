//! The byte-level building blocks of packages, each deterministic: the same input gives the
//! same bytes on any machine, in any directory, at any time. Tar entries carry no owner, no
//! host time and no extended headers; gzip carries no name and no time; JSON is canonical.

use crate::error::{Error, Result};
use flate2::Compression;
use sha2::{Digest, Sha256};
use std::io::Write;

/// One file of a tar archive.
pub struct Entry {
    /// Its path inside the archive (`/`-separated, relative, at most 100 bytes).
    pub path: String,
    /// Its contents.
    pub bytes: Vec<u8>,
}

/// A USTAR archive of `entries` in the order given: regular files, mode 0644, owner 0:0
/// without names, modification time `mtime`. Directories are implied by the paths, as in
/// `tar --no-recursion` archives of files.
pub fn tar(entries: &[Entry], mtime: u64) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    for entry in entries {
        let mut header = tar::Header::new_ustar();
        header
            .set_path(&entry.path)
            .map_err(|e| Error::input(format!("cannot archive {}: {e}", entry.path)))?;
        header.set_size(entry.bytes.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder
            .append(&header, entry.bytes.as_slice())
            .map_err(|e| Error::input(format!("cannot archive {}: {e}", entry.path)))?;
    }
    builder
        .into_inner()
        .map_err(|e| Error::input(format!("cannot finish the archive: {e}")))
}

/// `bytes` gzip-compressed at the best level with flate2's pure-Rust (miniz_oxide) deflate,
/// pinned so that every machine gives the same bytes; the header has no file name and time 0.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::best());
    encoder
        .write_all(bytes)
        .expect("writing to memory cannot fail");
    encoder.finish().expect("writing to memory cannot fail")
}

/// `bytes` zlib-compressed (RFC 1950) at the best level, as eunomia's packages hold objects.
pub fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), Compression::best());
    encoder
        .write_all(bytes)
        .expect("writing to memory cannot fail");
    encoder.finish().expect("writing to memory cannot fail")
}

/// The lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `value` as canonical JSON: keys sorted, no insignificant whitespace, UTF-8 (what digests
/// are taken over). bpfgen's JSON has no floating-point numbers, so this is RFC 8785's form.
pub fn canonical_json(value: &serde_json::Value) -> Vec<u8> {
    // serde_json's maps are sorted by key (the `preserve_order` feature is off).
    serde_json::to_vec(value).expect("a JSON value always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_entries_carry_nothing_of_the_host() {
        let entries = [
            Entry {
                path: "a.bpf.o".into(),
                bytes: b"\x7fELF".to_vec(),
            },
            Entry {
                path: "btf/debian/12/x86_64/6.1.0.btf".into(),
                bytes: vec![1; 700],
            },
        ];
        let bytes = tar(&entries, 42).unwrap();
        assert_eq!(bytes, tar(&entries, 42).unwrap());
        let mut archive = tar::Archive::new(bytes.as_slice());
        let read: Vec<_> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.mtime().unwrap(),
                    h.username().unwrap().unwrap_or("").to_string(),
                    e.size(),
                )
            })
            .collect();
        assert_eq!(
            read,
            [
                ("a.bpf.o".into(), 0o644, 0, 42, String::new(), 4),
                (
                    "btf/debian/12/x86_64/6.1.0.btf".into(),
                    0o644,
                    0,
                    42,
                    String::new(),
                    700
                )
            ]
        );
    }

    #[test]
    fn gzip_has_no_time_and_no_name() {
        let gz = gzip(b"hello");
        assert_eq!(&gz[..4], &[0x1f, 0x8b, 8, 0], "no FNAME flag");
        assert_eq!(&gz[4..8], &[0, 0, 0, 0], "mtime 0");
        let mut out = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut out)
            .unwrap();
        assert_eq!(out, "hello");
    }

    #[test]
    fn json_keys_are_sorted_and_compact() {
        let value = serde_json::json!({"b": 1, "a": {"d": [1, 2], "c": "x"}});
        assert_eq!(
            canonical_json(&value),
            br#"{"a":{"c":"x","d":[1,2]},"b":1}"#
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
