//! A string table as ELF and BTF lay them out: NUL-terminated strings one after the other,
//! starting with the empty string at offset 0, each string added once (the first occurrence
//! keeps its offset, as libbpf's `strset` does). The linker's `.strtab` and every BTF string
//! section bpfgen writes are built with it.

use crate::fast_hash;
use hashbrown::{HashTable, hash_table::Entry};

/// A string table being built (of UTF-8 strings: what BTF and the linker's names are).
#[derive(Debug, Clone)]
pub struct StringTable {
    text: String,
    /// Where each string starts; built on the first [`StringTable::add`] to a table taken as
    /// it is ([`StringTable::read`]), so that one only read from is never indexed.
    index: Option<StringIndex>,
}

impl Default for StringTable {
    /// The table holding only the empty string.
    fn default() -> Self {
        StringTable {
            text: "\0".to_string(),
            index: Some(StringIndex::default()),
        }
    }
}

impl StringTable {
    /// A table holding `section`'s strings at their offsets as read (duplicates included),
    /// to which new strings are added after the old ones.
    pub fn read(section: &str) -> Self {
        StringTable {
            text: section.to_string(),
            index: None,
        }
    }

    /// Appends a whole string section as it is (split BTF's, after its base's): its strings'
    /// offsets continue from this table's end.
    pub fn append_section(&mut self, section: &str) {
        self.text.push_str(section);
        self.index = None;
    }

    /// The offset of `string`, added if new (the empty string is 0).
    pub fn add(&mut self, string: &str) -> u32 {
        if string.is_empty() {
            return 0;
        }
        // A section read as it is may be empty, or end without a terminator.
        if !self.text.ends_with('\0') {
            self.text.push('\0');
        }
        let StringTable { text, index } = self;
        let index = index.get_or_insert_with(|| StringIndex::of(text.as_bytes()));
        let (offset, new) =
            index.find_or_insert(text.as_bytes(), string.as_bytes(), text.len() as u32);
        if new {
            text.push_str(string);
            text.push('\0');
        }
        offset
    }

    /// The string at `offset` (empty when out of range or not at a character boundary).
    pub fn get(&self, offset: u32) -> &str {
        let tail = self.text.get(offset as usize..).unwrap_or_default();
        &tail[..string_len(tail.as_bytes())]
    }

    /// The table as it is written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The table as it is written, taken.
    pub fn into_bytes(self) -> Vec<u8> {
        self.text.into_bytes()
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
        // The string at `at` equals `string` when its bytes follow there, and its NUL.
        let found = |&(_, at): &(u64, u32)| {
            let at = at as usize;
            strings.get(at..at + string.len()) == Some(string)
                && strings.get(at + string.len()).is_none_or(|&end| end == 0)
        };
        match self.0.entry(hash, found, |&(hash, _)| hash) {
            Entry::Occupied(entry) => (entry.get().1, false),
            Entry::Vacant(entry) => {
                entry.insert((hash, offset));
                (offset, true)
            }
        }
    }
}

/// The length of the string `tail` starts with: up to its NUL, or all of it. A plain loop:
/// names are short, and `memchr`'s set-up costs more than it saves on them.
fn string_len(tail: &[u8]) -> usize {
    tail.iter().position(|&b| b == 0).unwrap_or(tail.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_added_once_and_the_empty_string_is_zero() {
        let mut table = StringTable::default();
        assert_eq!(table.add(""), 0);
        assert_eq!(table.add("map"), 1);
        assert_eq!(table.add("prog"), 5);
        assert_eq!(table.add("map"), 1);
        assert_eq!(table.as_str(), "\0map\0prog\0");
        assert_eq!(table.get(5), "prog");
        assert_eq!(table.get(99), "");
    }

    #[test]
    fn a_section_taken_as_it_is_keeps_its_offsets_and_first_occurrences_win() {
        let mut table = StringTable::read("\0a\0b\0a");
        assert_eq!(table.as_str(), "\0a\0b\0a");
        assert_eq!(table.add("a"), 1);
        assert_eq!(table.add("c"), 7);
        table.append_section("\0d\0");
        assert_eq!(table.add("d"), 10);
        assert_eq!(table.into_bytes(), b"\0a\0b\0a\0c\0\0d\0");
    }
}
