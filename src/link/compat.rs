//! Whether an extern and a definition (or two definitions) of one global agree, judged through
//! their BTF as libbpf's linker judges it (`glob_sym_btf_matches`, `map_defs_match`): same kinds,
//! names and sizes; struct members compared field by field where the layout matters; function
//! prototypes compared parameter by parameter; behind a pointer only the shape counts, so a
//! forward declaration matches the full struct. A mismatch is explained in words.

use crate::btf::dump;
use crate::btf::raw::{RecordRef, VOID, kind};
use crate::btf::table::{Kind, MAX_DEPTH, TypeTable};
use std::fmt::Write as _;

/// Why two types of a global disagree.
pub type Mismatch = String;

/// Compares the types `a` and `b` of a global; `exact` compares struct members too (off behind
/// pointers).
pub fn types_match(
    a: &TypeTable,
    id_a: u32,
    b: &TypeTable,
    id_b: u32,
    exact: bool,
) -> Result<(), Mismatch> {
    let mut exact = exact;
    let (mut id_a, mut id_b) = (id_a, id_b);
    // BTF is acyclic except through pointers, which turn `exact` off, and struct members
    // recurse: the one depth limit of BTF walks bounds a crafted chain.
    for _ in 0..MAX_DEPTH {
        id_a = skip_mods_and_typedefs(a, id_a);
        id_b = skip_mods_and_typedefs(b, id_b);
        let (ta, tb) = (type_of(a, id_a), type_of(b, id_b));
        let (name_a, name_b) = (name(a, &ta), name(b, &tb));
        let (fwd_a, fwd_b) = (ta.kind() == kind::FWD, tb.kind() == kind::FWD);
        if !exact && fwd_a != fwd_b {
            let (fwd, full) = if fwd_a { (&ta, &tb) } else { (&tb, &ta) };
            if name_a != name_b {
                return Err(format!(
                    "forward declaration names '{name_a}' and '{name_b}'"
                ));
            }
            let union = fwd.kind_flag();
            let expected = if union { kind::UNION } else { kind::STRUCT };
            if full.kind() == expected {
                return Ok(());
            }
            return Err(format!(
                "a {} forward declaration against a {}",
                if union { "union" } else { "struct" },
                kind::name(full.kind())
            ));
        }
        if ta.kind() != tb.kind() {
            return Err(format!(
                "a {} against a {}",
                kind::name(ta.kind()),
                kind::name(tb.kind())
            ));
        }
        let named = matches!(
            ta.kind(),
            kind::STRUCT
                | kind::UNION
                | kind::ENUM
                | kind::ENUM64
                | kind::FWD
                | kind::FUNC
                | kind::VAR
        );
        if named && name_a != name_b {
            return Err(format!(
                "{} names '{name_a}' and '{name_b}'",
                kind::name(ta.kind())
            ));
        }
        match ta.kind() {
            0 | kind::FWD => return Ok(()),
            kind::INT | kind::FLOAT | kind::ENUM | kind::ENUM64 => {
                if ta.size_or_type != tb.size_or_type {
                    return Err(format!(
                        "{} sizes {} and {} bytes",
                        kind::name(ta.kind()),
                        ta.size_or_type,
                        tb.size_or_type
                    ));
                }
                return Ok(());
            }
            kind::PTR => {
                exact = false;
                (id_a, id_b) = (ta.size_or_type, tb.size_or_type);
            }
            kind::ARRAY => (id_a, id_b) = (ta.extra[0], tb.extra[0]),
            kind::FUNC | kind::VAR => {
                let linkage = |t: &RecordRef| {
                    if t.kind() == kind::FUNC {
                        t.vlen() as u32
                    } else {
                        t.extra[0]
                    }
                };
                if (linkage(&ta) == 0) != (linkage(&tb) == 0) {
                    return Err(format!("'{name_a}' is static on one side only"));
                }
                (id_a, id_b) = (ta.size_or_type, tb.size_or_type);
            }
            kind::STRUCT | kind::UNION => {
                return if exact {
                    members_match(a, &ta, b, &tb)
                } else {
                    Ok(())
                };
            }
            kind::FUNC_PROTO => {
                if ta.vlen() != tb.vlen() {
                    return Err(format!("{} and {} parameters", ta.vlen(), tb.vlen()));
                }
                for (pa, pb) in ta.extra.chunks_exact(2).zip(tb.extra.chunks_exact(2)) {
                    types_match(a, pa[1], b, pb[1], exact)?;
                }
                (id_a, id_b) = (ta.size_or_type, tb.size_or_type);
            }
            other => return Err(format!("unsupported BTF kind {}", kind::name(other))),
        }
    }
    Err("types nested too deeply to compare".into())
}

fn members_match(
    a: &TypeTable,
    ta: &RecordRef,
    b: &TypeTable,
    tb: &RecordRef,
) -> Result<(), Mismatch> {
    if ta.vlen() != tb.vlen() {
        return Err(format!(
            "{} '{}' has {} fields in one and {} in the other",
            kind::name(ta.kind()),
            name(a, ta),
            ta.vlen(),
            tb.vlen()
        ));
    }
    for (i, (ma, mb)) in ta
        .extra
        .chunks_exact(3)
        .zip(tb.extra.chunks_exact(3))
        .enumerate()
    {
        let (na, nb) = (a.string(ma[0]), b.string(mb[0]));
        if na != nb {
            return Err(format!(
                "field #{i} is '{}' in one and '{}' in the other",
                na, nb
            ));
        }
        if ma[2] != mb[2] {
            return Err(format!("field '{}' is at different offsets", na));
        }
        types_match(a, ma[1], b, mb[1], true)?;
    }
    Ok(())
}

/// The type `id` names through modifiers and typedefs; `id` itself when the chain does not
/// end (a cycle, which the comparison then reports as an unsupported kind).
fn skip_mods_and_typedefs(btf: &TypeTable, id: u32) -> u32 {
    btf.skip_mods_and_typedefs(id).unwrap_or(id)
}

/// How the type of `VAR`/`FUNC` `id` (or type `id` itself) is spelled in C, for messages
/// (`int`, `struct counters *`, `long[4]`), from its input's BTF.
pub fn spell(table: Option<&TypeTable>, id: u32) -> String {
    table
        .and_then(|table| {
            let ty = table.get(id).ok()?;
            let target = match ty.kind {
                Kind::Var | Kind::Func => ty.target,
                _ => id,
            };
            dump::type_name(table, target).ok()
        })
        .unwrap_or_else(|| format!("type [{id}]"))
}

/// The record of `id`; `void`'s for an id past the end.
fn type_of(btf: &TypeTable, id: u32) -> RecordRef<'_> {
    btf.record(id).unwrap_or(VOID)
}

fn name<'t>(btf: &'t TypeTable, t: &RecordRef) -> &'t str {
    btf.string(t.name_off)
}

/// The parts of a BTF-defined map (`struct { __uint(type, ...); ... } m SEC(".maps")`) that
/// must agree between an extern map and its definition.
#[derive(Debug, Default)]
struct MapDef {
    numbers: Vec<(&'static str, u64)>,
    key: Option<u32>,
    value: Option<u32>,
    inner: Option<Box<MapDef>>,
}

/// Compares two `.maps` definitions of the global `VAR`s `var_a` and `var_b` field by field.
pub fn map_defs_match(
    a: &TypeTable,
    var_a: u32,
    b: &TypeTable,
    var_b: u32,
) -> Result<(), Mismatch> {
    let def_a = map_def(a, type_of(a, var_a).size_or_type)?;
    let def_b = map_def(b, type_of(b, var_b).size_or_type)?;
    compare_defs(a, &def_a, b, &def_b, "")
}

fn compare_defs(
    a: &TypeTable,
    da: &MapDef,
    b: &TypeTable,
    db: &MapDef,
    prefix: &str,
) -> Result<(), Mismatch> {
    let mut differences = String::new();
    for field in [
        "type",
        "key_size",
        "value_size",
        "max_entries",
        "map_flags",
        "numa_node",
        "pinning",
    ] {
        let get = |d: &MapDef| d.numbers.iter().find(|(n, _)| *n == field).map(|(_, v)| *v);
        if get(da) != get(db) {
            let show = |v: Option<u64>| v.map_or("unset".to_string(), |v| v.to_string());
            let _ = write!(
                differences,
                "{}{prefix}{field} {} vs {}",
                if differences.is_empty() { "" } else { ", " },
                show(get(da)),
                show(get(db))
            );
        }
    }
    if !differences.is_empty() {
        return Err(format!("map definitions differ: {differences}"));
    }
    for (what, ka, kb) in [("key", da.key, db.key), ("value", da.value, db.value)] {
        match (ka, kb) {
            (Some(ka), Some(kb)) => types_match(a, ka, b, kb, true)
                .map_err(|why| format!("map {prefix}{what} types differ: {why}"))?,
            (None, None) => {}
            _ => return Err(format!("map {prefix}{what} type given on one side only")),
        }
    }
    match (&da.inner, &db.inner) {
        (Some(ia), Some(ib)) => compare_defs(a, ia, b, ib, "inner map "),
        (None, None) => Ok(()),
        _ => Err("inner map given on one side only".into()),
    }
}

/// Reads a map definition struct: `__uint` fields are pointers to arrays whose length is the
/// number, `__type` fields are pointers to the type, `__array(values, ...)` is the inner map.
fn map_def(btf: &TypeTable, id: u32) -> Result<MapDef, Mismatch> {
    let id = skip_mods_and_typedefs(btf, id);
    let t = type_of(btf, id);
    if t.kind() != kind::STRUCT {
        return Err("map definition is not a struct".into());
    }
    let mut def = MapDef::default();
    for member in t.extra.chunks_exact(3) {
        let field = btf.string(member[0]).to_string();
        let pointer = type_of(btf, skip_mods_and_typedefs(btf, member[1]));
        let target = pointer.size_or_type;
        let number = || {
            let array = type_of(btf, target);
            (array.kind() == kind::ARRAY).then(|| u64::from(array.extra[2]))
        };
        let static_name = match field.as_str() {
            "type" => "type",
            "max_entries" => "max_entries",
            "map_flags" => "map_flags",
            "numa_node" => "numa_node",
            "pinning" => "pinning",
            "key_size" => "key_size",
            "value_size" => "value_size",
            "key" | "value" => {
                let size = btf.size_of(target).unwrap_or(0);
                let size_field = if field == "key" {
                    "key_size"
                } else {
                    "value_size"
                };
                def.numbers.push((size_field, size));
                if field == "key" {
                    def.key = Some(target);
                } else {
                    def.value = Some(target);
                }
                continue;
            }
            "values" => {
                // An array of pointers to the inner map's definition struct.
                let array = type_of(btf, pointer.size_or_type);
                let element = if pointer.kind() == kind::ARRAY {
                    pointer.extra[0]
                } else {
                    array.extra.first().copied().unwrap_or(0)
                };
                let inner = type_of(btf, skip_mods_and_typedefs(btf, element));
                if inner.kind() == kind::PTR {
                    def.inner = Some(Box::new(map_def(btf, inner.size_or_type)?));
                }
                continue;
            }
            _ => continue,
        };
        if let Some(value) = number() {
            def.numbers.push((static_name, value));
        }
    }
    Ok(def)
}
