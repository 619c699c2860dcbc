//! A fast hash for the maps on bpfgen's hot paths (BTF string interning, type deduplication,
//! name indexes over a kernel's 100,000 types, the linker's globals).
//!
//! The standard `HashMap` hashes with SipHash-1-3 under a random key, which resists an
//! attacker choosing colliding keys but costs a quarter of `bpfgen gen object`'s instructions
//! (callgrind). The keys here are type ids, string bytes and record words of one object or
//! kernel: the worst a crafted input can do is slow one bpfgen run on the machine of whoever
//! runs it, so the maps use the multiply-rotate hash of rustc and Firefox ("FxHash") instead.
//! Nothing bpfgen writes depends on a map's iteration order (SipHash's random key already
//! made it differ between runs), so outputs stay byte-identical.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};

/// A `HashMap` with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A `HashSet` with [`FastHasher`].
pub type FastSet<T> = HashSet<T, BuildHasherDefault<FastHasher>>;

/// The [`FastHasher`] hash of one value (for tables that keep hashes themselves).
pub fn hash_one(value: impl Hash) -> u64 {
    BuildHasherDefault::<FastHasher>::default().hash_one(value)
}

/// The multiply-rotate hash: each word is mixed in as `(h.rotl(5) ^ word) * K`.
#[derive(Default, Clone, Copy)]
pub struct FastHasher {
    hash: u64,
}

/// The multiplier (an odd constant with well-spread bits, as rustc's `FxHasher` uses).
const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(bytes: &[u8]) -> u64 {
        hash_one(bytes)
    }

    #[test]
    fn strings_that_differ_in_any_byte_or_length_hash_apart() {
        let names = [
            &b"task_struct"[..],
            b"task_structs",
            b"task_strucT",
            b"",
            b"\0",
        ];
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                assert_ne!(hash(a), hash(b), "{a:?} and {b:?}");
            }
        }
    }

    #[test]
    fn maps_find_what_they_hold() {
        let mut map: FastMap<Vec<u8>, u32> = FastMap::default();
        for i in 0..10_000u32 {
            map.insert(i.to_string().into_bytes(), i);
        }
        assert!((0..10_000u32).all(|i| map[i.to_string().as_bytes()] == i));
    }
}
