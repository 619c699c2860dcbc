//! Bounds-checked reads of the two files that start with BTF's magic number, `.BTF` and
//! `.BTF.ext`, in the byte order the magic says: one reader for both, every read checked
//! against the bytes that are really there.

use super::table::HEADER_LEN;
use crate::error::{Error, Result};
use std::ops::Range;

/// A reader of one BTF-format file (or of a part of it, in the same byte order).
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    /// Whether the file is big-endian.
    pub(super) big_endian: bool,
    /// What the file is ("BTF", "BTF.ext"), for messages.
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader of `bytes`, a `what` ("BTF", "BTF.ext") whose magic number tells its order.
    pub(super) fn with_magic(bytes: &'a [u8], what: &'static str) -> Result<Self> {
        let big_endian = match bytes.get(..2) {
            Some([0x9f, 0xeb]) => false,
            Some([0xeb, 0x9f]) => true,
            _ => return Err(Error::input(format!("invalid {what}: bad magic number"))),
        };
        Ok(Reader {
            bytes,
            big_endian,
            what,
        })
    }

    /// A reader of raw BTF, whose header it checks: the magic, the length and the version.
    pub(super) fn btf(bytes: &'a [u8]) -> Result<Self> {
        let reader = Reader::with_magic(bytes, "BTF")?;
        if bytes.len() < HEADER_LEN {
            return Err(Error::input("invalid BTF: truncated header"));
        }
        // The kernel reads version 1 only ("Unsupported version").
        if bytes[2] != 1 {
            return Err(Error::input(format!(
                "invalid BTF: version {}, not 1",
                bytes[2]
            )));
        }
        Ok(reader)
    }

    /// The number of bytes.
    pub(super) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The `len` bytes at `at`.
    pub(super) fn slice(&self, at: usize, len: usize) -> Result<&'a [u8]> {
        at.checked_add(len)
            .and_then(|end| self.bytes.get(at..end))
            .ok_or_else(|| {
                Error::input(format!(
                    "invalid {}: {len} bytes at offset {at} run past the end ({} bytes)",
                    self.what,
                    self.bytes.len()
                ))
            })
    }

    /// A reader of the `len` bytes at `at`, in this one's byte order.
    pub(super) fn part(&self, at: usize, len: usize) -> Result<Self> {
        Ok(Reader {
            bytes: self.slice(at, len)?,
            ..*self
        })
    }

    /// The word at byte `at`.
    pub(super) fn u32(&self, at: usize) -> Result<u32> {
        let word: [u8; 4] = self.slice(at, 4)?.try_into().expect("a slice of 4");
        Ok(if self.big_endian {
            u32::from_be_bytes(word)
        } else {
            u32::from_le_bytes(word)
        })
    }

    /// Appends the whole words of `range` (which must lie inside the bytes) to `out`, in the
    /// host's byte order.
    pub(super) fn copy_words(&self, range: Range<usize>, out: &mut Vec<u32>) {
        let words = self.bytes[range].chunks_exact(4);
        let word = |w: &[u8]| -> [u8; 4] { w.try_into().expect("chunks of four") };
        // One loop per byte order, so that each is a plain copy the compiler can vectorise.
        if self.big_endian {
            out.extend(words.map(|w| u32::from_be_bytes(word(w))));
        } else {
            out.extend(words.map(|w| u32::from_le_bytes(word(w))));
        }
    }

    /// The byte ranges of raw BTF's type and string sections, as its header names them.
    pub(super) fn btf_sections(&self) -> Result<(Range<usize>, Range<usize>)> {
        let hdr_len = self.u32(4)? as usize;
        if hdr_len < HEADER_LEN {
            return Err(Error::input(format!(
                "invalid BTF: header length {hdr_len}"
            )));
        }
        Ok((
            self.btf_section(hdr_len, self.u32(8)?, self.u32(12)?, "type section")?,
            self.btf_section(hdr_len, self.u32(16)?, self.u32(20)?, "string section")?,
        ))
    }

    /// The byte range of a section `len` bytes long at `off` past the header.
    fn btf_section(&self, hdr_len: usize, off: u32, len: u32, what: &str) -> Result<Range<usize>> {
        let start = hdr_len.checked_add(off as usize);
        let end = start.and_then(|s| s.checked_add(len as usize));
        match (start, end) {
            (Some(start), Some(end)) if end <= self.bytes.len() => Ok(start..end),
            _ => Err(Error::input(format!(
                "invalid BTF: {what} runs past the end of the file"
            ))),
        }
    }
}
