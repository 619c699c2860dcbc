//! Map definitions the kernel refuses at `BPF_MAP_CREATE` although libbpf parses them: a
//! missing type, sizes, entries or flags that do not fit the map type.

use super::Context;
use crate::diag::{Code, Diagnostic, Severity};
use crate::object::{MapDef, MapKind, map_type_name};

const HASH: u32 = 1;
const ARRAY: u32 = 2;
const PROG_ARRAY: u32 = 3;
const PERF_EVENT_ARRAY: u32 = 4;
const PERCPU_HASH: u32 = 5;
const PERCPU_ARRAY: u32 = 6;
const STACK_TRACE: u32 = 7;
const CGROUP_ARRAY: u32 = 8;
const LRU_HASH: u32 = 9;
const LRU_PERCPU_HASH: u32 = 10;
const LPM_TRIE: u32 = 11;
const ARRAY_OF_MAPS: u32 = 12;
const HASH_OF_MAPS: u32 = 13;
const CGROUP_STORAGE: u32 = 19;
const PERCPU_CGROUP_STORAGE: u32 = 21;
const QUEUE: u32 = 22;
const STACK: u32 = 23;
const SK_STORAGE: u32 = 24;
const STRUCT_OPS: u32 = 26;
const RINGBUF: u32 = 27;
const INODE_STORAGE: u32 = 28;
const TASK_STORAGE: u32 = 29;
const BLOOM_FILTER: u32 = 30;
const USER_RINGBUF: u32 = 31;
const CGRP_STORAGE: u32 = 32;
const ARENA: u32 = 33;

const BPF_F_NO_PREALLOC: u64 = 1 << 0;
const BPF_F_RDONLY_PROG: u64 = 1 << 7;
const BPF_F_WRONLY_PROG: u64 = 1 << 8;
const BPF_F_MMAPABLE: u64 = 1 << 10;

/// Findings about the user's `.maps` definitions. Each is a warning: libbpf lets user space
/// change every part of a definition before load (`bpf_map__set_type()`, `_set_key_size()`,
/// `_set_value_size()`, `_set_max_entries()`, `_set_map_flags()`), so none of them is a
/// refusal whatever user space does.
pub(crate) fn check(cx: &Context) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for map in cx
        .object
        .maps
        .iter()
        .filter(|m| matches!(m.kind, MapKind::User))
    {
        for problem in problems(&map.def) {
            found.push(
                cx.diagnostic(
                    Code::MapDefinition,
                    Severity::Warning,
                    format!(
                        "map '{}': {} (unless user space sets {} before load)",
                        map.name, problem.text, problem.field
                    ),
                )
                .at(cx.first_use(&map.name))
                .note(format!(
                    "as written, BPF_MAP_CREATE fails for this {} map; \
                     bpf_map__set_{}() before load fixes it",
                    map_type_name(map.def.map_type),
                    problem.field
                )),
            );
        }
    }
    found
}

/// What is wrong with a definition, and which part of it user space can set to fix it.
#[derive(Debug, PartialEq)]
struct Problem {
    /// The definition field (`value_size`, `max_entries`, ...); `bpf_map__set_<field>()`
    /// sets it.
    field: &'static str,
    /// What is wrong.
    text: String,
}

impl Problem {
    fn new(field: &'static str, text: impl Into<String>) -> Self {
        Problem {
            field,
            text: text.into(),
        }
    }
}

/// Everything wrong with one definition as written.
fn problems(def: &MapDef) -> Vec<Problem> {
    let ty = def.map_type;
    if ty == 0 {
        return vec![Problem::new(
            "type",
            "map type isn't specified (add __uint(type, BPF_MAP_TYPE_...))",
        )];
    }
    if ty > ARENA {
        return vec![Problem::new(
            "type",
            format!("map type {ty} is unknown to bpfgen"),
        )];
    }
    let mut out = Vec::new();
    let storage = matches!(ty, SK_STORAGE | INODE_STORAGE | TASK_STORAGE | CGRP_STORAGE);
    let entries_filled_in = matches!(
        ty,
        PERF_EVENT_ARRAY | CGROUP_STORAGE | PERCPU_CGROUP_STORAGE | STRUCT_OPS
    ) || storage;
    if def.max_entries == 0 && !entries_filled_in {
        out.push(Problem::new("max_entries", "max_entries is 0"));
    }
    if storage {
        if def.max_entries != 0 {
            out.push(Problem::new(
                "max_entries",
                format!(
                    "local storage maps take max_entries 0, not {}",
                    def.max_entries
                ),
            ));
        }
        if def.flags & BPF_F_NO_PREALLOC == 0 {
            out.push(Problem::new(
                "map_flags",
                "local storage maps need map_flags BPF_F_NO_PREALLOC",
            ));
        }
        if def.key_size != 4 {
            out.push(Problem::new(
                "key_size",
                format!(
                    "local storage maps take a 4-byte key (an int fd), not {} bytes",
                    def.key_size
                ),
            ));
        }
    }
    match ty {
        // libbpf rounds a ring buffer's size up to a power-of-2 number of pages itself.
        RINGBUF | USER_RINGBUF if def.key_size != 0 => {
            out.push(Problem::new("key_size", "ring buffers take no key"));
        }
        RINGBUF | USER_RINGBUF if def.value_size != 0 => {
            out.push(Problem::new("value_size", "ring buffers take no value"));
        }
        ARRAY | PERCPU_ARRAY | PROG_ARRAY | ARRAY_OF_MAPS | CGROUP_ARRAY if def.key_size != 4 => {
            out.push(Problem::new(
                "key_size",
                format!("array maps take a 4-byte key, not {} bytes", def.key_size),
            ));
        }
        PERF_EVENT_ARRAY if ![0, 4].contains(&def.key_size) => {
            out.push(Problem::new(
                "key_size",
                "perf event arrays take a 4-byte key",
            ));
        }
        PERF_EVENT_ARRAY if ![0, 4].contains(&def.value_size) => {
            out.push(Problem::new(
                "value_size",
                "perf event arrays take a 4-byte value",
            ));
        }
        HASH | PERCPU_HASH | LRU_HASH | LRU_PERCPU_HASH | HASH_OF_MAPS if def.key_size == 0 => {
            out.push(Problem::new(
                "key_size",
                "hash maps need a key of non-zero size",
            ));
        }
        HASH | PERCPU_HASH | LRU_HASH | LRU_PERCPU_HASH | HASH_OF_MAPS if def.value_size == 0 => {
            out.push(Problem::new(
                "value_size",
                "hash maps need a value of non-zero size",
            ));
        }
        LPM_TRIE => {
            if def.flags & BPF_F_NO_PREALLOC == 0 {
                out.push(Problem::new(
                    "map_flags",
                    "LPM tries need map_flags BPF_F_NO_PREALLOC",
                ));
            }
            if def.key_size <= 4 {
                out.push(Problem::new(
                    "key_size",
                    format!(
                        "LPM trie keys start with a 4-byte prefix length and need data after \
                         it; key is {} bytes",
                        def.key_size
                    ),
                ));
            }
        }
        QUEUE | STACK | BLOOM_FILTER if def.key_size != 0 => {
            out.push(Problem::new(
                "key_size",
                format!("{} maps take no key", map_type_name(ty).replace('_', " ")),
            ));
        }
        STACK_TRACE if def.value_size == 0 || !def.value_size.is_multiple_of(8) => {
            out.push(Problem::new(
                "value_size",
                format!(
                    "stack trace values are arrays of 8-byte addresses; {} bytes is not",
                    def.value_size
                ),
            ));
        }
        _ => {}
    }
    let flag = |text: &str| Problem::new("map_flags", text);
    if def.flags & BPF_F_NO_PREALLOC != 0 && matches!(ty, ARRAY | PERCPU_ARRAY) {
        out.push(flag(
            "array maps are always preallocated: drop BPF_F_NO_PREALLOC",
        ));
    }
    if def.flags & BPF_F_MMAPABLE != 0 && !matches!(ty, ARRAY | ARENA) {
        out.push(flag("only array (and arena) maps can be BPF_F_MMAPABLE"));
    }
    if def.flags & BPF_F_RDONLY_PROG != 0 && def.flags & BPF_F_WRONLY_PROG != 0 {
        out.push(flag(
            "BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG exclude each other",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(map_type: u32, key: u64, value: u64, entries: u64, flags: u64) -> MapDef {
        MapDef {
            map_type,
            key_size: key,
            value_size: value,
            max_entries: entries,
            flags,
        }
    }

    #[test]
    fn good_definitions_pass() {
        for d in [
            def(HASH, 4, 8, 1024, 0),
            def(ARRAY, 4, 64, 1, BPF_F_MMAPABLE),
            def(RINGBUF, 0, 0, 256 * 1024, 0),
            def(RINGBUF, 0, 0, 1000, 0),
            def(PERF_EVENT_ARRAY, 4, 4, 0, 0),
            def(TASK_STORAGE, 4, 8, 0, BPF_F_NO_PREALLOC),
            def(LPM_TRIE, 8, 8, 16, BPF_F_NO_PREALLOC),
            def(QUEUE, 0, 4, 8, 0),
        ] {
            assert_eq!(problems(&d), Vec::new(), "{d:?}");
        }
    }

    #[test]
    fn bad_definitions_are_named() {
        let one = |d: MapDef| {
            problems(&d)
                .into_iter()
                .map(|p| format!("{}: {}", p.field, p.text))
                .collect::<Vec<_>>()
                .join("; ")
        };
        assert!(one(def(0, 4, 4, 1, 0)).contains("type isn't specified"));
        assert!(one(def(HASH, 4, 8, 0, 0)).contains("max_entries is 0"));
        assert!(one(def(RINGBUF, 4, 0, 4096, 0)).contains("key_size: ring buffers take no key"));
        assert!(one(def(STACK_TRACE, 4, 0, 64, 0)).starts_with("value_size: stack trace"));
        assert!(one(def(ARRAY, 8, 8, 1, 0)).contains("4-byte key"));
        assert!(one(def(ARRAY, 4, 8, 1, BPF_F_NO_PREALLOC)).contains("preallocated"));
        assert!(one(def(HASH, 4, 8, 1, BPF_F_MMAPABLE)).contains("MMAPABLE"));
        assert!(one(def(TASK_STORAGE, 4, 8, 0, 0)).contains("NO_PREALLOC"));
        assert!(one(def(LPM_TRIE, 4, 8, 16, BPF_F_NO_PREALLOC)).contains("prefix length"));
    }
}
