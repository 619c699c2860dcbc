//! A string table as ELF and BTF lay them out: NUL-terminated strings one after the other,
//! starting with the empty string at offset 0, each string added once (the first occurrence
//! keeps its offset, as libbpf's `strset` does). The linker's `.strtab` and every BTF string
//! section bpfgen writes are built with it.

use crate::fast_hash;
use hashbrown::{HashTable, hash_table::Entry};

/// A string table being built.
#[derive(Debug, Clone)]
pub struct StringTable {
    bytes: Vec<u8>,
    /// Where each string starts; built on the first [`StringTable::add`] to a table taken as
    /// it is ([`StringTable::from_section`]), so that one only read from is never indexed.
    index: Option<StringIndex>,
}

impl Default for StringTable {
    /// The table holding only the empty string.
    fn default() -> Self {
        StringTable {
            bytes: vec![0],
            index: Some(StringIndex::default()),
        }
    }
}

impl StringTable {
    /// A table holding `section`'s strings at their offsets (duplicates included), to which
    /// new strings are added after the old ones.
    pub fn from_section(mut section: Vec<u8>) -> Self {
        if section.last() != Some(&0) {
            section.push(0);
        }
        StringTable {
            bytes: section,
            index: None,
        }
    }

    /// The offset of `string`, added if new (the empty string is 0).
    pub fn add(&mut self, string: &[u8]) -> u32 {
        if string.is_empty() {
            return 0;
        }
        let StringTable { bytes, index } = self;
        let index = index.get_or_insert_with(|| StringIndex::of(bytes));
        let (offset, new) = index.find_or_insert(bytes, string, bytes.len() as u32);
        if new {
            bytes.extend_from_slice(string);
            bytes.push(0);
        }
        offset
    }

    /// The string at `offset` (empty when out of range).
    pub fn get(&self, offset: u32) -> &[u8] {
        string_at(&self.bytes, offset)
    }

    /// The table as it is written.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The table as it is written, taken.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// The offsets of a string section's strings, found by content: each entry is the offset of
/// a string's first occurrence with the string's hash (kept, so that growing the table hashes
/// nothing again), so that looking a string up allocates nothing.
#[derive(Debug, Clone, Default)]
struct StringIndex(HashTable<(u64, u32)>);

impl StringIndex {
    /// Indexes every string of `strings`, the first occurrence of a string winning.
    fn of(strings: &[u8]) -> Self {
        let mut index = StringIndex::default();
        let mut start = 0;
        for (at, &byte) in strings.iter().enumerate() {
            if byte == 0 {
                let string = &strings[start..at];
                if !string.is_empty() {
                    index.find_or_insert(strings, string, start as u32);
                }
                start = at + 1;
            }
        }
        index
    }

    /// The offset of `string` in `strings`, hashed once: where it already is, or, when it is
    /// not there yet, `offset` (where the caller puts it), recorded for it. The flag says
    /// whether it was new.
    fn find_or_insert(&mut self, strings: &[u8], string: &[u8], offset: u32) -> (u32, bool) {
        let hash = fast_hash::hash_one(string);
        let found = |&(_, at): &(u64, u32)| string_at(strings, at) == string;
        match self.0.entry(hash, found, |&(hash, _)| hash) {
            Entry::Occupied(entry) => (entry.get().1, false),
            Entry::Vacant(entry) => {
                entry.insert((hash, offset));
                (offset, true)
            }
        }
    }
}

/// The NUL-terminated string at `offset` of a string section (empty when out of range).
pub fn string_at(strings: &[u8], offset: u32) -> &[u8] {
    let tail = strings.get(offset as usize..).unwrap_or_default();
    &tail[..tail.iter().position(|&b| b == 0).unwrap_or(tail.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_added_once_and_the_empty_string_is_zero() {
        let mut table = StringTable::default();
        assert_eq!(table.add(b""), 0);
        assert_eq!(table.add(b"map"), 1);
        assert_eq!(table.add(b"prog"), 5);
        assert_eq!(table.add(b"map"), 1);
        assert_eq!(table.as_bytes(), b"\0map\0prog\0");
        assert_eq!(table.get(5), b"prog");
        assert_eq!(table.get(99), b"");
    }

    #[test]
    fn a_section_taken_as_it_is_keeps_its_offsets_and_first_occurrences_win() {
        let mut table = StringTable::from_section(b"\0a\0b\0a".to_vec());
        assert_eq!(table.as_bytes(), b"\0a\0b\0a\0");
        assert_eq!(table.add(b"a"), 1);
        assert_eq!(table.add(b"c"), 7);
        assert_eq!(table.into_bytes(), b"\0a\0b\0a\0c\0");
    }
}
