//! BTF deduplication: types that describe the same thing collapse into one, as libbpf's
//! `btf__dedup` does for the static linker, so that a program linked from several files has one
//! `struct task_struct`, not one per file.
//!
//! Two types are the same when they have the same kind, name, size, encoding, member names and
//! offsets, and the types they refer to are the same in turn. Types refer to each other in
//! cycles (`struct list_head { struct list_head *next; }`), so "the same" is computed as the
//! coarsest partition that is stable under following references (partition refinement, as in
//! automaton minimisation): start from classes of equal local contents, split a class whenever
//! its members refer to different classes, repeat until nothing splits. This is the greatest
//! fixed point, so identical cyclic graphs from different files collapse, which a naive
//! recursive hash would never finish or never match.
//!
//! Like libbpf, a forward declaration (`struct foo;`, `enum foo;`) resolves to the full type of
//! that name when exactly one such type remains, and types that then become equal collapse too;
//! `VAR` and `DATASEC` are never merged. The first type of each class keeps its place; the rest
//! are dropped and references to them redirected.

use super::raw::{RecordRef, append_changed, kind};
use super::table::TypeTable;
use crate::error::Result;
use crate::fast_hash::FastMap;

/// The deduplicated BTF and, for every old id (index), its new id.
pub struct Deduped {
    /// The types that remain, with their strings.
    pub btf: TypeTable,
    /// `map[old_id]` is the new id of old type `old_id` (`map[0] == 0`, void).
    pub map: Vec<u32>,
}

/// Collapses equal types of `btf`, whose strings must all have come through
/// [`TypeTable::add_str`] (the linker's merged BTF): then equal names have equal offsets, and
/// offsets are compared instead of strings. See the module documentation.
pub fn dedup(btf: TypeTable) -> Result<Deduped> {
    assert!(
        btf.has_unique_strings(),
        "dedup needs a table whose strings were all added through add_str"
    );
    let n = btf.len() as usize - 1;
    let signatures = local_signatures(&btf);
    let mut redirect: Vec<u32> = (0..=n as u32).collect();
    let mut class = refine(&btf, &signatures, &redirect);
    while resolve_forwards(&btf, &class, &mut redirect) {
        class = refine(&btf, &signatures, &redirect);
    }

    // The first member of each class is its canonical type; a redirected forward
    // declaration takes the canonical type of what it resolved to.
    let mut first_of_class = vec![u32::MAX; distinct(&class)];
    for id in (1..=n as u32).rev() {
        first_of_class[class[id as usize] as usize] = id;
    }
    let canonical =
        |id: u32| -> u32 { first_of_class[class[redirect[id as usize] as usize] as usize] };

    let mut map = vec![0u32; n + 1];
    let mut kept = Vec::new();
    for id in 1..=n as u32 {
        if canonical(id) == id {
            kept.push(id);
            map[id as usize] = kept.len() as u32;
        }
    }
    for id in 1..=n as u32 {
        map[id as usize] = map[canonical(id) as usize];
    }
    let btf = btf.retain(&kept, |type_id| *type_id = map[*type_id as usize])?;
    Ok(Deduped { btf, map })
}

/// Words of a flat table of keys, one key per type id (index).
struct Keys {
    words: Vec<u32>,
    /// Where key `i` starts in `words` (key `i` ends where key `i + 1` starts).
    starts: Vec<usize>,
}

impl Keys {
    fn new() -> Self {
        Keys {
            words: Vec::new(),
            starts: vec![0],
        }
    }

    /// Ends the key being written.
    fn close(&mut self) {
        self.starts.push(self.words.len());
    }

    fn iter(&self) -> impl Iterator<Item = &[u32]> {
        self.starts.windows(2).map(|w| &self.words[w[0]..w[1]])
    }

    /// Key `i`.
    fn get(&self, i: u32) -> &[u32] {
        &self.words[self.starts[i as usize]..self.starts[i as usize + 1]]
    }
}

/// What a type is apart from the types it refers to: its words (string offsets stand for
/// their strings) with type ids blanked. `VAR` and `DATASEC` include their own id, so they
/// stay unique. Key 0 is `void`.
fn local_signatures(btf: &TypeTable) -> Keys {
    let mut keys = Keys::new();
    keys.close();
    for (id, ty) in btf.records() {
        append_changed(&mut keys.words, ty, |blanked| {
            blanked.visit_type_ids(|id| *id = 0)
        });
        if matches!(ty.kind(), kind::VAR | kind::DATASEC) {
            keys.words.push(id);
        }
        keys.close();
    }
    keys
}

/// The coarsest partition of type ids (index) into classes of equal types, following each
/// reference through `redirect`. Class 0 is `void` alone; class numbers are dense.
///
/// Starting from the classes of equal signatures, a class splits when its members refer to
/// different classes. A class is looked at again only when a type one of its members refers
/// to has moved to a new class (a worklist): the work follows the splits instead of a pass
/// over every type until one splits nothing. The partition is the same either way: the
/// coarsest stable one, which is unique.
fn refine(btf: &TypeTable, signatures: &Keys, redirect: &[u32]) -> Vec<u32> {
    let mut class = number_classes(signatures);
    let mut references = Keys::new();
    references.close();
    for (_, ty) in btf.records() {
        references
            .words
            .extend(ty.type_ids().map(|id| redirect[id as usize]));
        references.close();
    }
    let referrers = referrers(&references, class.len());
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); distinct(&class)];
    for (id, &c) in class.iter().enumerate() {
        members[c as usize].push(id as u32);
    }
    let mut pending: Vec<u32> = (0..members.len() as u32).collect();
    let mut queued = vec![true; members.len()];
    let mut keys = Keys::new();
    while let Some(c) = pending.pop() {
        queued[c as usize] = false;
        let [first, rest @ ..] = members[c as usize].as_slice() else {
            continue;
        };
        // Most classes do not split (the same type from forty inputs refers to the same
        // classes forty times): compare with the first member before hashing any keys.
        let first_refs = references.get(*first);
        let refers_like_first = |&id: &u32| {
            let refs = references.get(id);
            refs.len() == first_refs.len()
                && refs
                    .iter()
                    .zip(first_refs)
                    .all(|(&r, &f)| class[r as usize] == class[f as usize])
        };
        if rest.iter().all(refers_like_first) {
            continue;
        }
        // Each member's key: the classes of the types it refers to, in order.
        keys.words.clear();
        keys.starts.truncate(1);
        for &id in &members[c as usize] {
            let refs = references.get(id);
            keys.words.extend(refs.iter().map(|&r| class[r as usize]));
            keys.close();
        }
        let groups = number_classes(&keys);
        let group_count = distinct(&groups);
        if group_count < 2 {
            continue;
        }
        // The first member's group keeps the class; each other group becomes a new class.
        let first_new = members.len() as u32;
        members.resize(members.len() + group_count - 1, Vec::new());
        queued.resize(members.len(), false);
        let old = std::mem::take(&mut members[c as usize]);
        let mut moved = Vec::new();
        for (&id, &group) in old.iter().zip(&groups) {
            let label = if group == 0 { c } else { first_new + group - 1 };
            members[label as usize].push(id);
            if label != c {
                class[id as usize] = label;
                moved.push(id);
            }
        }
        // Whatever refers to a moved type may split now.
        for id in moved {
            for &referrer in referrers.get(id) {
                let of_referrer = class[referrer as usize] as usize;
                if !queued[of_referrer] {
                    queued[of_referrer] = true;
                    pending.push(of_referrer as u32);
                }
            }
        }
    }
    class
}

/// For each type id (index), the ids of the types whose `references` include it.
fn referrers(references: &Keys, types: usize) -> Keys {
    let mut starts = vec![0usize; types + 1];
    for refs in references.iter() {
        for &r in refs {
            starts[r as usize + 1] += 1;
        }
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut words = vec![0u32; starts[types]];
    let mut next = starts.clone();
    for (id, refs) in references.iter().enumerate() {
        for &r in refs {
            words[next[r as usize]] = id as u32;
            next[r as usize] += 1;
        }
    }
    Keys { words, starts }
}

/// Numbers the distinct keys in order of first appearance.
fn number_classes(keys: &Keys) -> Vec<u32> {
    let mut numbers: FastMap<&[u32], u32> = FastMap::default();
    numbers.reserve(keys.starts.len());
    keys.iter()
        .map(|key| {
            let next = numbers.len() as u32;
            *numbers.entry(key).or_insert(next)
        })
        .collect()
}

fn distinct(class: &[u32]) -> usize {
    class.iter().max().map_or(0, |&max| max as usize + 1)
}

/// Points each forward declaration still unresolved at the full type of its name, when all
/// full types of that name are one class. Returns whether anything changed.
fn resolve_forwards(btf: &TypeTable, class: &[u32], redirect: &mut [u32]) -> bool {
    let mut full: FastMap<(u32, u32), Vec<u32>> = FastMap::default();
    for (id, ty) in btf.records() {
        if let Some(family) = full_family(&ty) {
            full.entry((family, ty.name_off)).or_default().push(id);
        }
    }
    let mut changed = false;
    for (id, ty) in btf.records() {
        if redirect[id as usize] != id {
            continue;
        }
        let Some(family) = forward_family(&ty) else {
            continue;
        };
        let Some(candidates) = full.get(&(family, ty.name_off)) else {
            continue;
        };
        let first = candidates[0];
        let one_class = candidates
            .iter()
            .all(|&c| class[c as usize] == class[first as usize]);
        let same_size = ty.kind() != kind::ENUM
            || candidates.iter().all(|&c| {
                btf.record(c)
                    .is_ok_and(|t| t.size_or_type == ty.size_or_type)
            });
        if one_class && same_size {
            redirect[id as usize] = first;
            changed = true;
        }
    }
    changed
}

/// Which family of full types a forward declaration stands for: struct, union or enum.
fn forward_family(ty: &RecordRef) -> Option<u32> {
    match ty.kind() {
        kind::FWD if ty.kind_flag() => Some(kind::UNION),
        kind::FWD => Some(kind::STRUCT),
        kind::ENUM if ty.vlen() == 0 && ty.name_off != 0 => Some(kind::ENUM),
        _ => None,
    }
}

/// Which family a full named struct, union or enum belongs to.
fn full_family(ty: &RecordRef) -> Option<u32> {
    if ty.name_off == 0 {
        return None;
    }
    match ty.kind() {
        kind::STRUCT | kind::UNION => Some(ty.kind()),
        kind::ENUM | kind::ENUM64 if ty.vlen() > 0 => Some(kind::ENUM),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::btf::raw::RawType;
    use crate::btf::raw::test_types::{int, pointer};

    /// `struct node { int v; struct node *next; }` as one file's types; returns the struct id.
    fn node_list(w: &mut TypeTable) -> u32 {
        let int = int(w);
        let node_id = w.len();
        let ptr_id = node_id + 1;
        let mut node = RawType::composite(false, w.add_str("node"), 16);
        let v = w.add_str("v");
        node.push_member(v, int, 0, 0);
        let next = w.add_str("next");
        node.push_member(next, ptr_id, 64, 0);
        w.push(node).unwrap();
        pointer(w, node_id);
        node_id
    }

    #[test]
    fn identical_cyclic_types_from_two_files_collapse() {
        let mut w = TypeTable::default();
        let first = node_list(&mut w);
        let second = node_list(&mut w);
        let deduped = dedup(w).unwrap();
        assert_eq!(deduped.btf.len() - 1, 3);
        assert_eq!(deduped.map[first as usize], deduped.map[second as usize]);
        let node = deduped.btf.record(deduped.map[second as usize]).unwrap();
        let next = node.members().nth(1).unwrap();
        let ptr = deduped.btf.record(next.1).unwrap();
        assert_eq!(ptr.size_or_type, deduped.map[first as usize]);
    }

    #[test]
    fn types_differing_in_a_member_stay_apart() {
        let mut w = TypeTable::default();
        node_list(&mut w);
        let second = node_list(&mut w);
        let renamed = w.add_str("value");
        w.update(second, |node| node.extra[0] = renamed).unwrap();
        // The two `int`s collapse; the two structs (and their pointers) do not.
        assert_eq!(dedup(w).unwrap().btf.len() - 1, 5);
    }

    #[test]
    fn a_difference_deep_down_keeps_every_type_above_it_apart() {
        // a -> *b -> *c, twice; only the two c's differ (an int and a typedef of it as their
        // member), and that must split the b's and then the a's, two levels up.
        let mut w = TypeTable::default();
        let int = int(&mut w);
        let alias_name = w.add_str("alias");
        let alias = w
            .push(RawType {
                name_off: alias_name,
                info: kind::TYPEDEF << 24,
                size_or_type: int,
                extra: Vec::new(),
            })
            .unwrap();
        let mut tops = Vec::new();
        for member_type in [int, alias] {
            let mut below = member_type;
            for name in ["c", "b", "a"] {
                let mut composite = RawType::composite(false, w.add_str(name), 8);
                let field = w.add_str("p");
                composite.push_member(field, below, 0, 0);
                let id = w.push(composite).unwrap();
                below = pointer(&mut w, id);
                if name == "a" {
                    tops.push(id);
                }
            }
        }
        let deduped = dedup(w).unwrap();
        assert_ne!(deduped.map[tops[0] as usize], deduped.map[tops[1] as usize]);
        // int, the typedef, and two of each struct and pointer.
        assert_eq!(deduped.btf.len() - 1, 2 + 2 * 6);
    }

    #[test]
    fn a_forward_declaration_resolves_to_the_one_full_type() {
        let mut w = TypeTable::default();
        let name = w.add_str("node");
        let fwd = w
            .push(RawType {
                name_off: name,
                info: kind::FWD << 24,
                size_or_type: 0,
                extra: Vec::new(),
            })
            .unwrap();
        let to_fwd = pointer(&mut w, fwd);
        let full = node_list(&mut w);
        let deduped = dedup(w).unwrap();
        assert_eq!(deduped.map[fwd as usize], deduped.map[full as usize]);
        // The pointer to the forward declaration is now the pointer to the full struct.
        assert_eq!(deduped.btf.len() - 1, 3);
        assert_eq!(deduped.map[to_fwd as usize], deduped.map[full as usize + 1]);
    }

    #[test]
    fn variables_are_never_merged() {
        let mut w = TypeTable::default();
        let int = int(&mut w);
        let name = w.add_str("x");
        for _ in 0..2 {
            w.push(RawType {
                name_off: name,
                info: kind::VAR << 24,
                size_or_type: int,
                extra: vec![0],
            })
            .unwrap();
        }
        assert_eq!(dedup(w).unwrap().btf.len() - 1, 3);
    }
}
