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

/// Findings about the user's `.maps` definitions.
pub(crate) fn check(cx: &Context) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for map in cx
        .object
        .maps
        .iter()
        .filter(|m| matches!(m.kind, MapKind::User))
    {
        for (severity, problem) in problems(&map.def) {
            found.push(
                cx.diagnostic(
                    Code::MapDefinition,
                    severity,
                    format!("map '{}': {problem}", map.name),
                )
                .at(cx.first_use(&map.name))
                .note(format!(
                    "BPF_MAP_CREATE fails for this {} map (unless user space changes the \
                     definition before loading)",
                    map_type_name(map.def.map_type)
                )),
            );
        }
    }
    found
}

/// Everything wrong with one definition. A zero `max_entries` is only a warning: user space
/// often sets it with `bpf_map__set_max_entries()` before loading; so is a map type newer
/// than bpfgen knows.
fn problems(def: &MapDef) -> Vec<(Severity, String)> {
    let ty = def.map_type;
    if ty == 0 {
        return vec![(
            Severity::Error,
            "map type isn't specified (add __uint(type, BPF_MAP_TYPE_...))".into(),
        )];
    }
    if ty > ARENA {
        return vec![(
            Severity::Warning,
            format!("map type {ty} is unknown to bpfgen"),
        )];
    }
    let mut out: Vec<String> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let storage = matches!(ty, SK_STORAGE | INODE_STORAGE | TASK_STORAGE | CGRP_STORAGE);
    let entries_filled_in = matches!(
        ty,
        PERF_EVENT_ARRAY | CGROUP_STORAGE | PERCPU_CGROUP_STORAGE | STRUCT_OPS
    ) || storage;
    if def.max_entries == 0 && !entries_filled_in {
        warnings.push(
            "max_entries is 0 (add __uint(max_entries, N), or set it from user space)".into(),
        );
    }
    if storage {
        if def.max_entries != 0 {
            out.push(format!(
                "local storage maps take max_entries 0, not {}",
                def.max_entries
            ));
        }
        if def.flags & BPF_F_NO_PREALLOC == 0 {
            out.push("local storage maps need map_flags BPF_F_NO_PREALLOC".into());
        }
        if def.key_size != 4 {
            out.push(format!(
                "local storage maps take a 4-byte key (an int fd), not {} bytes",
                def.key_size
            ));
        }
    }
    match ty {
        // libbpf rounds a ring buffer's size up to a power-of-2 number of pages itself.
        RINGBUF | USER_RINGBUF if def.key_size != 0 || def.value_size != 0 => {
            out.push("ring buffers take neither key nor value".into());
        }
        ARRAY | PERCPU_ARRAY | PROG_ARRAY | ARRAY_OF_MAPS | CGROUP_ARRAY if def.key_size != 4 => {
            out.push(format!(
                "array maps take a 4-byte key, not {} bytes",
                def.key_size
            ));
        }
        PERF_EVENT_ARRAY if (def.key_size, def.value_size) != (4, 4) => {
            let sizes = [def.key_size, def.value_size];
            if sizes.iter().any(|&s| s != 0 && s != 4) {
                out.push("perf event arrays take a 4-byte key and a 4-byte value".into());
            }
        }
        HASH | PERCPU_HASH | LRU_HASH | LRU_PERCPU_HASH | HASH_OF_MAPS
            if def.key_size == 0 || def.value_size == 0 =>
        {
            out.push("hash maps need a key and a value of non-zero size".into());
        }
        LPM_TRIE => {
            if def.flags & BPF_F_NO_PREALLOC == 0 {
                out.push("LPM tries need map_flags BPF_F_NO_PREALLOC".into());
            }
            if def.key_size <= 4 {
                out.push(format!(
                    "LPM trie keys start with a 4-byte prefix length and need data after \
                     it; key is {} bytes",
                    def.key_size
                ));
            }
        }
        QUEUE | STACK | BLOOM_FILTER if def.key_size != 0 => {
            out.push(format!(
                "{} maps take no key",
                map_type_name(ty).replace('_', " ")
            ));
        }
        STACK_TRACE if def.value_size == 0 || !def.value_size.is_multiple_of(8) => {
            out.push(format!(
                "stack trace values are arrays of 8-byte addresses; {} bytes is not",
                def.value_size
            ));
        }
        _ => {}
    }
    if def.flags & BPF_F_NO_PREALLOC != 0 && matches!(ty, ARRAY | PERCPU_ARRAY) {
        out.push("array maps are always preallocated: drop BPF_F_NO_PREALLOC".into());
    }
    if def.flags & BPF_F_MMAPABLE != 0 && !matches!(ty, ARRAY | ARENA) {
        out.push("only array (and arena) maps can be BPF_F_MMAPABLE".into());
    }
    if def.flags & BPF_F_RDONLY_PROG != 0 && def.flags & BPF_F_WRONLY_PROG != 0 {
        out.push("BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG exclude each other".into());
    }
    let errors = out.into_iter().map(|p| (Severity::Error, p));
    errors
        .chain(warnings.into_iter().map(|p| (Severity::Warning, p)))
        .collect()
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
                .map(|(_, p)| p)
                .collect::<Vec<_>>()
                .join("; ")
        };
        assert!(one(def(0, 4, 4, 1, 0)).contains("type isn't specified"));
        assert!(one(def(HASH, 4, 8, 0, 0)).contains("max_entries is 0"));
        assert!(one(def(RINGBUF, 4, 0, 4096, 0)).contains("neither key nor value"));
        assert_eq!(problems(&def(HASH, 4, 8, 0, 0))[0].0, Severity::Warning);
        assert!(one(def(ARRAY, 8, 8, 1, 0)).contains("4-byte key"));
        assert!(one(def(ARRAY, 4, 8, 1, BPF_F_NO_PREALLOC)).contains("preallocated"));
        assert!(one(def(HASH, 4, 8, 1, BPF_F_MMAPABLE)).contains("MMAPABLE"));
        assert!(one(def(TASK_STORAGE, 4, 8, 0, 0)).contains("NO_PREALLOC"));
        assert!(one(def(LPM_TRIE, 4, 8, 16, BPF_F_NO_PREALLOC)).contains("prefix length"));
    }
}
