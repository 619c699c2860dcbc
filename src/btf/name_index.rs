//! Type ids by essential name (a name without its `___flavour` suffix), for CO-RE candidates
//! and `__ksym` targets in a kernel's BTF. The first few questions are answered by scanning
//! the types (one `bpfgen check` of one object asks two); a target asked more often (a build
//! checking many objects against it) gets a sorted index, built once and shared by threads.

use super::core::essential_name;
use super::table::TypeTable;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many questions are answered by scanning before the index is built.
const SCANS_BEFORE_INDEX: usize = 4;

/// The name lookups of one type table.
#[derive(Default)]
pub struct NameIndex {
    asked: AtomicUsize,
    /// (hash of the essential name, type id), sorted.
    sorted: OnceLock<Vec<(u64, u32)>>,
}

impl NameIndex {
    /// The ids of the named types of `types` whose essential name is one of `wanted`, by that
    /// name, in id order (libbpf's candidate order).
    pub fn lookup(&self, types: &TypeTable, wanted: &HashSet<&str>) -> HashMap<String, Vec<u32>> {
        if self.sorted.get().is_none()
            && self.asked.fetch_add(1, Ordering::Relaxed) < SCANS_BEFORE_INDEX
        {
            return scan(types, wanted);
        }
        let sorted = self.sorted.get_or_init(|| index(types));
        let mut found: HashMap<String, Vec<u32>> = HashMap::new();
        for &name in wanted {
            let hash = name_hash(name);
            let start = sorted.partition_point(|&(h, _)| h < hash);
            let ids: Vec<u32> = sorted[start..]
                .iter()
                .take_while(|&&(h, _)| h == hash)
                .map(|&(_, id)| id)
                .filter(|&id| {
                    types
                        .get(id)
                        .is_ok_and(|ty| essential_name(types.name(ty.name)) == name)
                })
                .collect();
            if !ids.is_empty() {
                found.insert(name.to_string(), ids);
            }
        }
        found
    }
}

/// One pass over the types: a kernel has over 100,000 and an object asks about a handful of
/// names, so names are filtered by length and first byte before any is hashed.
fn scan(types: &TypeTable, wanted: &HashSet<&str>) -> HashMap<String, Vec<u32>> {
    let mut lengths = [false; 256];
    let mut firsts = [false; 256];
    for name in wanted {
        lengths[name.len().min(255)] = true;
        firsts[usize::from(name.as_bytes().first().copied().unwrap_or(0))] = true;
    }
    let mut found: HashMap<String, Vec<u32>> = HashMap::new();
    for id in 1..types.len() {
        let Ok(ty) = types.get(id) else { continue };
        let name = types.name(ty.name);
        let Some(&first) = name.as_bytes().first() else {
            continue;
        };
        if !firsts[usize::from(first)] {
            continue;
        }
        let essential = essential_name(name);
        if lengths[essential.len().min(255)] && wanted.contains(essential) {
            found.entry(essential.to_string()).or_default().push(id);
        }
    }
    found
}

/// Every named type's (essential name hash, id), sorted: ids of one name stay in id order.
fn index(types: &TypeTable) -> Vec<(u64, u32)> {
    let mut sorted: Vec<(u64, u32)> = (1..types.len())
        .filter_map(|id| {
            let name = types.name(types.get(id).ok()?.name);
            (!name.is_empty()).then(|| (name_hash(essential_name(name)), id))
        })
        .collect();
    sorted.sort_unstable();
    sorted
}

fn name_hash(name: &str) -> u64 {
    crate::fast_hash::hash_one(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::raw::{RawType, kind};

    #[test]
    fn the_index_answers_as_the_scan_does() {
        let mut btf = TypeTable::new();
        for name in [
            "task_struct",
            "task_struct___old",
            "mm",
            "",
            "task_struct",
            "x___y___z",
        ] {
            let name_off = btf.add_str(name);
            btf.push(RawType {
                name_off,
                info: kind::STRUCT << 24,
                size_or_type: 8,
                extra: Vec::new(),
            })
            .unwrap();
        }
        let types = TypeTable::from_bytes(&btf.to_bytes(false), None).unwrap();
        let wanted = HashSet::from(["task_struct", "x___y", "absent"]);
        let names = NameIndex::default();
        let scanned = names.lookup(&types, &wanted);
        assert_eq!(scanned["task_struct"], [1, 2, 5]);
        for _ in 0..SCANS_BEFORE_INDEX {
            names.lookup(&types, &wanted);
        }
        assert!(
            names.sorted.get().is_some(),
            "indexed after a few questions"
        );
        assert_eq!(names.lookup(&types, &wanted), scanned);
    }
}
