//! CO-RE relocation resolution against a target kernel's BTF, offline, with libbpf's rules
//! (`relo_core.c`): the local access spec parsed from the `"0:1:2"` string, candidates found
//! by essential name (the part before a `___flavour` suffix) among target types of a
//! compatible kind, each candidate matched member by member, all matches required to agree,
//! and the value libbpf would patch into the instruction computed from the match.

use super::ext::CoreRelo;
use super::table::{Item, Kind, TypeTable};
use crate::error::{Error, Result};
use std::collections::{HashMap, HashSet};

/// libbpf's limit on the length of an access spec (`BPF_CORE_SPEC_MAX_LEN`).
const SPEC_MAX_LEN: usize = 64;
/// libbpf's recursion limit for type compatibility checks.
const MAX_TYPE_DEPTH: i32 = 32;

/// What a relocation asks for (`enum bpf_core_relo_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReloKind {
    /// `bpf_core_field_offset` and every CO-RE read: the field's byte offset.
    FieldByteOffset,
    /// `bpf_core_field_size`.
    FieldByteSize,
    /// `bpf_core_field_exists`.
    FieldExists,
    /// `bpf_core_field_signed`.
    FieldSigned,
    /// Left shift to extract a bitfield.
    FieldLshiftU64,
    /// Right shift to extract a bitfield.
    FieldRshiftU64,
    /// `bpf_core_type_id_local`.
    TypeIdLocal,
    /// `bpf_core_type_id_kernel`.
    TypeIdTarget,
    /// `bpf_core_type_exists`.
    TypeExists,
    /// `bpf_core_type_size`.
    TypeSize,
    /// `bpf_core_enum_value_exists`.
    EnumvalExists,
    /// `bpf_core_enum_value`.
    EnumvalValue,
    /// `bpf_core_type_matches`.
    TypeMatches,
}

impl ReloKind {
    /// The kind a `.BTF.ext` record's number stands for.
    pub fn from_raw(raw: u32) -> Option<Self> {
        use ReloKind::*;
        Some(match raw {
            0 => FieldByteOffset,
            1 => FieldByteSize,
            2 => FieldExists,
            3 => FieldSigned,
            4 => FieldLshiftU64,
            5 => FieldRshiftU64,
            6 => TypeIdLocal,
            7 => TypeIdTarget,
            8 => TypeExists,
            9 => TypeSize,
            10 => EnumvalExists,
            11 => EnumvalValue,
            12 => TypeMatches,
            _ => return None,
        })
    }

    /// libbpf's name for the kind (`core_relo_kind_str`), as its logs print it.
    pub fn name(self) -> &'static str {
        use ReloKind::*;
        match self {
            FieldByteOffset => "byte_off",
            FieldByteSize => "byte_sz",
            FieldExists => "field_exists",
            FieldSigned => "signed",
            FieldLshiftU64 => "lshift_u64",
            FieldRshiftU64 => "rshift_u64",
            TypeIdLocal => "local_type_id",
            TypeIdTarget => "target_type_id",
            TypeExists => "type_exists",
            TypeMatches => "type_matches",
            TypeSize => "type_size",
            EnumvalExists => "enumval_exists",
            EnumvalValue => "enumval_value",
        }
    }

    /// Whether the relocation is about a struct or union member.
    pub fn is_field(self) -> bool {
        use ReloKind::*;
        matches!(
            self,
            FieldByteOffset
                | FieldByteSize
                | FieldExists
                | FieldSigned
                | FieldLshiftU64
                | FieldRshiftU64
        )
    }

    fn is_type(self) -> bool {
        use ReloKind::*;
        matches!(
            self,
            TypeIdLocal | TypeIdTarget | TypeExists | TypeSize | TypeMatches
        )
    }

    /// Whether the relocation is itself an existence test, which resolves to 0 rather than
    /// failing when the target lacks what it names.
    pub fn is_existence_check(self) -> bool {
        use ReloKind::*;
        matches!(self, FieldExists | TypeExists | TypeMatches | EnumvalExists)
    }
}

/// One step of an access spec: a named member, an array index, or an enumerator.
#[derive(Debug, Clone)]
struct Accessor {
    /// The struct, union, enum or array element type the step is taken in.
    type_id: u32,
    /// Member, element or enumerator index.
    idx: u32,
    /// Member or enumerator name; `None` for an array index.
    name: Option<String>,
}

/// A parsed access: where in which type the relocated instruction reaches.
#[derive(Debug, Clone, Default)]
struct Spec {
    root: u32,
    /// Named steps and array indexes (anonymous members are skipped here).
    accessors: Vec<Accessor>,
    /// Every raw index, anonymous members included.
    raw_len: usize,
    bit_offset: u64,
}

/// What libbpf does with one relocation on one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// A target type matched: `value` is what libbpf patches into the instruction.
    Resolved {
        /// The patched value (offset, size, shift, 0/1, type id or enumerator value).
        value: u64,
    },
    /// No target type matched. Existence checks, type ids and sizes resolve to `value`
    /// (0); every other kind has no value and libbpf poisons the instruction, which the
    /// verifier rejects if it is reachable.
    Missing {
        /// The value patched in, or `None` when the instruction is poisoned.
        value: Option<u64>,
    },
    /// libbpf fails the whole load: ambiguous candidates, an access it cannot apply, or a
    /// malformed record.
    Invalid(String),
}

/// A kernel's BTF, searched for CO-RE candidates and `__ksym` targets.
pub struct Target {
    /// What the user called it (the `--btf` path).
    pub name: String,
    /// Its types.
    pub types: TypeTable,
}

impl Target {
    /// A target named `name` (for messages) with `types`.
    pub fn new(name: impl Into<String>, types: TypeTable) -> Self {
        Target {
            name: name.into(),
            types,
        }
    }

    /// The ids of the named types whose essential name is one of `wanted`, by that name, in
    /// id order (libbpf's candidate order). One pass over the target: a kernel has over
    /// 100,000 types and an object asks about a handful of names, so names are filtered by
    /// length and first byte before any is hashed.
    pub fn by_essential_name(&self, wanted: &HashSet<&str>) -> HashMap<String, Vec<u32>> {
        let mut lengths = [false; 256];
        let mut firsts = [false; 256];
        for name in wanted {
            lengths[name.len().min(255)] = true;
            firsts[usize::from(name.as_bytes().first().copied().unwrap_or(0))] = true;
        }
        let mut found: HashMap<String, Vec<u32>> = HashMap::new();
        for id in 1..self.types.len() {
            let Ok(ty) = self.types.get(id) else { continue };
            let name = self.types.name(ty.name);
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

    /// Which of `names` the target has as a type of `kind` (`FUNC` for kfuncs, `VAR` for
    /// typed `__ksym` variables).
    pub fn present(&self, names: &[&str], kind: fn(Kind) -> bool) -> HashSet<String> {
        let wanted: HashSet<&str> = names.iter().map(|n| essential_name(n)).collect();
        let found = self.by_essential_name(&wanted);
        names
            .iter()
            .filter(|name| {
                found
                    .get(essential_name(name))
                    .into_iter()
                    .flatten()
                    .filter_map(|&id| self.types.get(id).ok())
                    .any(|ty| kind(ty.kind) && self.types.name(ty.name) == **name)
            })
            .map(|name| name.to_string())
            .collect()
    }
}

/// A name without its `___flavour` suffix (libbpf's `bpf_core_essential_name_len`): the
/// last `X___Y` separator where neither X nor Y is an underscore.
pub fn essential_name(name: &str) -> &str {
    let bytes = name.as_bytes();
    for i in (0..bytes.len().saturating_sub(4)).rev() {
        if bytes[i] != b'_'
            && bytes[i + 1..i + 4] == *b"___"
            && bytes.get(i + 4).is_some_and(|&b| b != b'_')
        {
            return &name[..=i];
        }
    }
    name
}

fn names_match(a: &str, b: &str) -> bool {
    essential_name(a) == essential_name(b)
}

/// Resolves relocations of one object against one target in libbpf's order, keeping
/// libbpf's per-type candidate cache: once a relocation finds matching candidates, later
/// relocations of the same local type only consider those.
pub struct Resolver<'a> {
    local: &'a TypeTable,
    target: &'a Target,
    /// Target type ids by essential name, for every root type of the relocations.
    by_name: HashMap<String, Vec<u32>>,
    /// libbpf's candidate cache: candidates by local root type id.
    candidates: HashMap<u32, Vec<u32>>,
}

impl<'a> Resolver<'a> {
    /// A resolver for `relos` of `local` BTF against `target` (the target is searched once,
    /// for all their root types).
    pub fn new(local: &'a TypeTable, target: &'a Target, relos: &[&CoreRelo]) -> Self {
        let wanted: HashSet<&str> = relos
            .iter()
            .filter_map(|r| local.get(r.type_id).ok())
            .map(|ty| essential_name(local.name(ty.name)))
            .filter(|name| !name.is_empty())
            .collect();
        Resolver {
            local,
            target,
            by_name: target.by_essential_name(&wanted),
            candidates: HashMap::new(),
        }
    }

    /// What libbpf makes of `relo` (call in `.BTF.ext` order for libbpf's exact results).
    pub fn resolve(&mut self, relo: &CoreRelo, little_endian: bool) -> Resolution {
        match self.try_resolve(relo, little_endian) {
            Ok(resolution) => resolution,
            Err(err) => Resolution::Invalid(err.message().to_string()),
        }
    }

    fn try_resolve(&mut self, relo: &CoreRelo, little_endian: bool) -> Result<Resolution> {
        let kind = ReloKind::from_raw(relo.kind)
            .ok_or_else(|| Error::input(format!("unknown CO-RE relocation kind {}", relo.kind)))?;
        let local = self.local;
        let spec = parse_spec(local, relo.type_id, &relo.access, kind)?;
        if kind == ReloKind::TypeIdLocal {
            return Ok(Resolution::Resolved {
                value: u64::from(relo.type_id),
            });
        }
        let root = local.get(relo.type_id)?;
        let root_name = local.name(root.name);
        if root_name.is_empty() {
            return Err(Error::input(
                "relocation against an anonymous type (libbpf cannot search candidates for it)",
            ));
        }
        let candidates = match self.candidates.get(&relo.type_id) {
            Some(cached) => cached.clone(),
            None => self.find_candidates(root.kind, root_name),
        };
        let mut matched = Vec::new();
        let mut decision: Option<(Spec, Option<u64>)> = None;
        for &candidate in &candidates {
            let Some(target_spec) = self.match_spec(&spec, kind, candidate)? else {
                continue;
            };
            let value = calc_value(&self.target.types, kind, Some(&target_spec), little_endian)?;
            match &decision {
                None => decision = Some((target_spec, value)),
                Some((first, _)) if first.bit_offset != target_spec.bit_offset => {
                    return Err(Error::input(format!(
                        "field offset ambiguity: candidates [{}] and [{candidate}] place it \
                         at bit {} and bit {}",
                        first.root, first.bit_offset, target_spec.bit_offset
                    )));
                }
                Some((_, first_value)) if *first_value != value => {
                    return Err(Error::input(format!(
                        "relocation decision ambiguity: candidates disagree ({} vs {})",
                        describe(*first_value),
                        describe(value)
                    )));
                }
                Some(_) => {}
            }
            matched.push(candidate);
        }
        let resolution = match decision {
            Some((_, Some(value))) => Resolution::Resolved { value },
            Some((_, None)) => Resolution::Missing { value: None },
            None => Resolution::Missing {
                value: calc_value(&self.target.types, kind, None, little_endian)?,
            },
        };
        // libbpf narrows the cached candidate list to the ones that matched, if any did.
        self.candidates.insert(
            relo.type_id,
            if matched.is_empty() {
                candidates
            } else {
                matched
            },
        );
        Ok(resolution)
    }

    /// Target types of a kind compatible with the local root, with the same essential name.
    fn find_candidates(&self, local_kind: Kind, local_name: &str) -> Vec<u32> {
        let types = &self.target.types;
        self.by_name
            .get(essential_name(local_name))
            .into_iter()
            .flatten()
            .copied()
            .filter(|&id| {
                types
                    .get(id)
                    .is_ok_and(|ty| kinds_compatible(local_kind, ty.kind))
            })
            .collect()
    }

    /// `bpf_core_spec_match`: the target spec when `candidate` satisfies the local spec.
    fn match_spec(&self, local: &Spec, kind: ReloKind, candidate: u32) -> Result<Option<Spec>> {
        let (lt, tt) = (self.local, &self.target.types);
        if kind.is_type() {
            let matches = if kind == ReloKind::TypeMatches {
                types_match(lt, local.root, tt, candidate, false, MAX_TYPE_DEPTH)?
            } else {
                types_compatible(lt, local.root, tt, candidate, MAX_TYPE_DEPTH)?
            };
            return Ok(matches.then(|| Spec {
                root: candidate,
                ..Spec::default()
            }));
        }
        let mut spec = Spec {
            root: candidate,
            ..Spec::default()
        };
        if matches!(kind, ReloKind::EnumvalExists | ReloKind::EnumvalValue) {
            let id = tt.skip_mods_and_typedefs(candidate)?;
            let ty = tt.get(id)?;
            if !matches!(ty.kind, Kind::Enum { .. } | Kind::Enum64 { .. }) {
                return Ok(None);
            }
            let wanted = local.accessors[0].name.as_deref().unwrap_or("");
            let found = tt
                .items(ty)
                .iter()
                .position(|e| names_match(tt.name(e.name), wanted));
            return Ok(found.map(|idx| {
                spec.accessors.push(Accessor {
                    type_id: id,
                    idx: idx as u32,
                    name: Some(tt.name(tt.items(ty)[idx].name).to_string()),
                });
                spec
            }));
        }
        let mut id = candidate;
        for (i, acc) in local.accessors.iter().enumerate() {
            id = tt.skip_mods_and_typedefs(id)?;
            if acc.name.is_some() {
                match self.match_member(acc, id, &mut spec)? {
                    Some(next) => id = next,
                    None => return Ok(None),
                }
                continue;
            }
            if i > 0 {
                let ty = tt.get(id)?;
                let Kind::Array { nelems } = ty.kind else {
                    return Ok(None);
                };
                let flexible = is_flexible(tt, spec.accessors.last(), nelems)?;
                if !flexible && acc.idx >= nelems {
                    return Ok(None);
                }
                id = tt.skip_mods_and_typedefs(ty.target)?;
            }
            if spec.raw_len == SPEC_MAX_LEN {
                return Err(Error::input("access spec too deep"));
            }
            spec.accessors.push(Accessor {
                type_id: id,
                idx: acc.idx,
                name: None,
            });
            spec.raw_len += 1;
            spec.bit_offset += u64::from(acc.idx) * tt.size_of(id)? * 8;
        }
        Ok(Some(spec))
    }

    /// `bpf_core_match_member`: finds the local accessor's member in target composite `id`,
    /// descending into anonymous members; returns the member's type id.
    fn match_member(&self, local_acc: &Accessor, id: u32, spec: &mut Spec) -> Result<Option<u32>> {
        let (lt, tt) = (self.local, &self.target.types);
        let id = tt.skip_mods_and_typedefs(id)?;
        let ty = tt.get(id)?;
        if !matches!(ty.kind, Kind::Struct | Kind::Union) {
            return Ok(None);
        }
        let local_ty = lt.get(local_acc.type_id)?;
        let local_member = &lt.items(local_ty)[local_acc.idx as usize];
        let wanted = local_acc.name.as_deref().unwrap_or("");
        for (i, member) in tt.items(ty).iter().enumerate() {
            if spec.raw_len == SPEC_MAX_LEN {
                return Err(Error::input("access spec too deep"));
            }
            spec.bit_offset += u64::from(member.bit_offset);
            spec.raw_len += 1;
            let name = tt.name(member.name);
            if name.is_empty() {
                if let Some(found) = self.match_member(local_acc, member.target, spec)? {
                    return Ok(Some(found));
                }
            } else if names_match(name, wanted) {
                if !fields_compatible(lt, local_member.target, tt, member.target)? {
                    return Ok(None);
                }
                spec.accessors.push(Accessor {
                    type_id: id,
                    idx: i as u32,
                    name: Some(name.to_string()),
                });
                return Ok(Some(member.target));
            }
            spec.bit_offset -= u64::from(member.bit_offset);
            spec.raw_len -= 1;
        }
        Ok(None)
    }
}

fn describe(value: Option<u64>) -> String {
    value.map_or_else(|| "poisoned".to_string(), |v| v.to_string())
}

/// libbpf's `btf_kind_core_compat`: same kind, or any two enums.
fn kinds_compatible(a: Kind, b: Kind) -> bool {
    let is_enum = |k| matches!(k, Kind::Enum { .. } | Kind::Enum64 { .. });
    std::mem::discriminant(&a) == std::mem::discriminant(&b) || (is_enum(a) && is_enum(b))
}

/// A zero-length array that is the last member of the struct the previous accessor named.
fn is_flexible(types: &TypeTable, previous: Option<&Accessor>, nelems: u32) -> Result<bool> {
    let Some(prev) = previous.filter(|p| p.name.is_some()) else {
        return Ok(false);
    };
    if nelems > 0 {
        return Ok(false);
    }
    let parent = types.get(prev.type_id)?;
    Ok(prev.idx as usize + 1 == types.items(parent).len())
}

/// `bpf_core_parse_spec`: the local access string, checked against the local BTF.
fn parse_spec(types: &TypeTable, root: u32, access: &str, kind: ReloKind) -> Result<Spec> {
    let bad = |why: &str| Error::input(format!("invalid access string '{access}': {why}"));
    let mut spec = Spec {
        root,
        ..Spec::default()
    };
    if kind.is_type() {
        return if access == "0" {
            Ok(spec)
        } else {
            Err(bad("type relocations take \"0\""))
        };
    }
    let raw: Vec<u32> = access
        .split(':')
        .map(|part| {
            part.parse::<u32>()
                .map_err(|_| bad("not a list of numbers"))
        })
        .collect::<Result<_>>()?;
    if raw.len() > SPEC_MAX_LEN {
        return Err(bad("too long"));
    }
    spec.raw_len = raw.len();
    let mut id = types.skip_mods_and_typedefs(root)?;
    let ty = types.get(id)?;
    if matches!(kind, ReloKind::EnumvalExists | ReloKind::EnumvalValue) {
        let enumerator = match ty.kind {
            Kind::Enum { .. } | Kind::Enum64 { .. } if raw.len() == 1 => {
                types.items(ty).get(raw[0] as usize)
            }
            _ => None,
        }
        .ok_or_else(|| bad("not an enumerator of an enum"))?;
        spec.accessors.push(Accessor {
            type_id: id,
            idx: raw[0],
            name: Some(types.name(enumerator.name).to_string()),
        });
        return Ok(spec);
    }
    spec.accessors.push(Accessor {
        type_id: id,
        idx: raw[0],
        name: None,
    });
    spec.bit_offset = u64::from(raw[0]) * types.size_of(id)? * 8;
    for &idx in &raw[1..] {
        id = types.skip_mods_and_typedefs(id)?;
        let ty = types.get(id)?;
        match ty.kind {
            Kind::Struct | Kind::Union => {
                let member = types
                    .items(ty)
                    .get(idx as usize)
                    .ok_or_else(|| bad("member index out of range"))?;
                spec.bit_offset += u64::from(member.bit_offset);
                let name = types.name(member.name);
                if !name.is_empty() {
                    spec.accessors.push(Accessor {
                        type_id: id,
                        idx,
                        name: Some(name.to_string()),
                    });
                }
                id = member.target;
            }
            Kind::Array { nelems } => {
                let flexible = is_flexible(types, spec.accessors.last(), nelems)?;
                id = types.skip_mods_and_typedefs(ty.target)?;
                if !flexible && idx >= nelems {
                    return Err(bad("array index out of range"));
                }
                spec.accessors.push(Accessor {
                    type_id: id,
                    idx,
                    name: None,
                });
                spec.bit_offset += u64::from(idx) * types.size_of(id)? * 8;
            }
            _ => return Err(bad("steps into a type that is neither composite nor array")),
        }
    }
    Ok(spec)
}

/// `bpf_core_fields_are_compat`: whether a local and a target member can stand for each other.
fn fields_compatible(lt: &TypeTable, local: u32, tt: &TypeTable, target: u32) -> Result<bool> {
    let (mut local, mut target) = (local, target);
    for _ in 0..MAX_TYPE_DEPTH {
        local = lt.skip_mods_and_typedefs(local)?;
        target = tt.skip_mods_and_typedefs(target)?;
        let (l, t) = (lt.get(local)?, tt.get(target)?);
        let composite = |k| matches!(k, Kind::Struct | Kind::Union);
        if composite(l.kind) && composite(t.kind) {
            return Ok(true);
        }
        if !kinds_compatible(l.kind, t.kind) {
            return Ok(false);
        }
        match l.kind {
            Kind::Ptr | Kind::Float | Kind::Int { .. } => return Ok(true),
            Kind::Fwd { .. } | Kind::Enum { .. } | Kind::Enum64 { .. } => {
                let (ln, tn) = (lt.name(l.name), tt.name(t.name));
                return Ok(ln.is_empty() || tn.is_empty() || names_match(ln, tn));
            }
            Kind::Array { .. } => {
                local = l.target;
                target = t.target;
            }
            _ => return Ok(false),
        }
    }
    Err(Error::input("type nesting too deep"))
}

/// `bpf_core_types_are_compat`: the looser check behind type-based relocations.
fn types_compatible(
    lt: &TypeTable,
    local: u32,
    tt: &TypeTable,
    target: u32,
    level: i32,
) -> Result<bool> {
    if !kinds_compatible(lt.get(local)?.kind, tt.get(target)?.kind) {
        return Ok(false);
    }
    let (mut local, mut target) = (local, target);
    for _ in 0..MAX_TYPE_DEPTH {
        local = lt.skip_mods_and_typedefs(local)?;
        target = tt.skip_mods_and_typedefs(target)?;
        let (l, t) = (lt.get(local)?, tt.get(target)?);
        if !kinds_compatible(l.kind, t.kind) {
            return Ok(false);
        }
        match l.kind {
            Kind::Void
            | Kind::Struct
            | Kind::Union
            | Kind::Enum { .. }
            | Kind::Enum64 { .. }
            | Kind::Fwd { .. }
            | Kind::Int { .. } => return Ok(true),
            Kind::Ptr | Kind::Array { .. } => {
                local = l.target;
                target = t.target;
            }
            Kind::FuncProto => {
                let (lp, tp) = (lt.items(l), tt.items(t));
                if lp.len() != tp.len() {
                    return Ok(false);
                }
                if level <= 0 {
                    return Err(Error::input("type nesting too deep"));
                }
                for (a, b) in lp.iter().zip(tp) {
                    let a = lt.skip_mods_and_typedefs(a.target)?;
                    let b = tt.skip_mods_and_typedefs(b.target)?;
                    if !types_compatible(lt, a, tt, b, level - 1)? {
                        return Ok(false);
                    }
                }
                local = l.target;
                target = t.target;
            }
            _ => return Ok(false),
        }
    }
    Err(Error::input("type nesting too deep"))
}

/// `bpf_core_names_match`: an anonymous target matches only an anonymous local.
fn names_match_strict(local: &str, target: &str) -> bool {
    if target.is_empty() {
        return local.is_empty();
    }
    names_match(local, target)
}

/// `bpf_core_types_match`: the strict check behind `bpf_core_type_matches`.
fn types_match(
    lt: &TypeTable,
    local: u32,
    tt: &TypeTable,
    target: u32,
    behind_ptr: bool,
    level: i32,
) -> Result<bool> {
    if level <= 0 {
        return Err(Error::input("type nesting too deep"));
    }
    let (mut local, mut target, mut behind_ptr) = (local, target, behind_ptr);
    for _ in 0..MAX_TYPE_DEPTH {
        local = lt.skip_mods_and_typedefs(local)?;
        target = tt.skip_mods_and_typedefs(target)?;
        let (l, t) = (lt.get(local)?, tt.get(target)?);
        if !names_match_strict(lt.name(l.name), tt.name(t.name)) {
            return Ok(false);
        }
        let same_kind = std::mem::discriminant(&l.kind) == std::mem::discriminant(&t.kind);
        return Ok(match (l.kind, t.kind) {
            (Kind::Void, _) => same_kind,
            (Kind::Fwd { union: lu }, Kind::Fwd { union: tu }) => lu == tu,
            (Kind::Fwd { union }, Kind::Struct) if behind_ptr => !union,
            (Kind::Fwd { union }, Kind::Union) if behind_ptr => union,
            (Kind::Fwd { .. }, _) => false,
            (Kind::Enum { .. } | Kind::Enum64 { .. }, Kind::Enum { .. } | Kind::Enum64 { .. }) => {
                enums_match(lt, l, tt, t)
            }
            (Kind::Enum { .. } | Kind::Enum64 { .. }, _) => false,
            (Kind::Struct | Kind::Union, _) if behind_ptr => {
                same_kind
                    || matches!(t.kind, Kind::Fwd { union } if union == (l.kind == Kind::Union))
            }
            (Kind::Struct | Kind::Union, _) => {
                same_kind && composites_match(lt, lt.items(l), tt, tt.items(t), behind_ptr, level)?
            }
            (Kind::Int { signed: ls }, Kind::Int { signed: ts }) => l.size == t.size && ls == ts,
            (Kind::Ptr, Kind::Ptr) => {
                behind_ptr = true;
                local = l.target;
                target = t.target;
                continue;
            }
            (Kind::Array { nelems: ln }, Kind::Array { nelems: tn }) => {
                if ln != tn {
                    return Ok(false);
                }
                local = l.target;
                target = t.target;
                continue;
            }
            (Kind::FuncProto, Kind::FuncProto) => {
                let (lp, tp) = (lt.items(l), tt.items(t));
                if lp.len() != tp.len() {
                    return Ok(false);
                }
                for (a, b) in lp.iter().zip(tp) {
                    if !types_match(lt, a.target, tt, b.target, behind_ptr, level - 1)? {
                        return Ok(false);
                    }
                }
                local = l.target;
                target = t.target;
                continue;
            }
            _ => false,
        });
    }
    Err(Error::input("type nesting too deep"))
}

/// Every local enumerator has a namesake in the target, and the sizes agree.
fn enums_match(lt: &TypeTable, l: &super::table::Ty, tt: &TypeTable, t: &super::table::Ty) -> bool {
    let (le, te) = (lt.items(l), tt.items(t));
    l.size == t.size
        && le.len() <= te.len()
        && le.iter().all(|a| {
            te.iter()
                .any(|b| names_match_strict(lt.name(a.name), tt.name(b.name)))
        })
}

/// Every local member has a namesake in the target whose type matches.
fn composites_match(
    lt: &TypeTable,
    local: &[Item],
    tt: &TypeTable,
    target: &[Item],
    behind_ptr: bool,
    level: i32,
) -> Result<bool> {
    if local.len() > target.len() {
        return Ok(false);
    }
    for l in local {
        let mut matched = false;
        for t in target {
            if !names_match_strict(lt.name(l.name), tt.name(t.name)) {
                continue;
            }
            if types_match(lt, l.target, tt, t.target, behind_ptr, level - 1)? {
                matched = true;
                break;
            }
        }
        if !matched {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `bpf_core_calc_relo`'s value for a matched target spec, or for no match (`None` spec).
/// `Ok(None)` means the instruction is poisoned.
fn calc_value(
    types: &TypeTable,
    kind: ReloKind,
    spec: Option<&Spec>,
    little_endian: bool,
) -> Result<Option<u64>> {
    use ReloKind::*;
    let Some(spec) = spec else {
        return Ok(match kind {
            FieldExists | TypeIdTarget | TypeExists | TypeSize | TypeMatches | EnumvalExists => {
                Some(0)
            }
            _ => None,
        });
    };
    if kind.is_type() {
        return Ok(Some(match kind {
            TypeSize => types.size_of(spec.root)?,
            TypeIdTarget | TypeIdLocal => u64::from(spec.root),
            _ => 1,
        }));
    }
    if kind == FieldExists || kind == EnumvalExists {
        return Ok(Some(1));
    }
    let last = spec
        .accessors
        .last()
        .ok_or_else(|| Error::input("empty access spec"))?;
    if kind == EnumvalValue {
        let ty = types.get(last.type_id)?;
        let value = types.items(ty)[last.idx as usize].value;
        // A 32-bit enumerator is an `__s32` to libbpf, sign-extended to 64 bits.
        return Ok(Some(match ty.kind {
            Kind::Enum { .. } => value as u32 as i32 as i64 as u64,
            _ => value,
        }));
    }
    if last.name.is_none() {
        return match kind {
            FieldByteOffset => Ok(Some(spec.bit_offset / 8)),
            FieldByteSize => Ok(Some(types.size_of(last.type_id)?)),
            _ => Err(Error::input(format!(
                "{} relocation cannot be applied to an array access",
                kind.name()
            ))),
        };
    }
    let parent = types.get(last.type_id)?;
    let member = &types.items(parent)[last.idx as usize];
    let field_type = types.skip_mods_and_typedefs(member.target)?;
    let field = types.get(field_type)?;
    let bit_off = spec.bit_offset;
    let (byte_off, byte_sz, bit_sz) = if member.bitfield_size > 0 {
        let bit_sz = u64::from(member.bitfield_size);
        let mut byte_sz = u64::from(field.size).max(1);
        let mut byte_off = bit_off / 8 / byte_sz * byte_sz;
        while bit_off + bit_sz - byte_off * 8 > byte_sz * 8 {
            if byte_sz >= 8 {
                return Err(Error::input("bitfield cannot be read with a 64-bit load"));
            }
            byte_sz *= 2;
            byte_off = bit_off / 8 / byte_sz * byte_sz;
        }
        (byte_off, byte_sz, bit_sz)
    } else {
        let byte_sz = types.size_of(field_type)?;
        (bit_off / 8, byte_sz, byte_sz * 8)
    };
    Ok(Some(match kind {
        FieldByteOffset => byte_off,
        FieldByteSize => byte_sz,
        FieldSigned => u64::from(match field.kind {
            Kind::Enum { signed } | Kind::Enum64 { signed } | Kind::Int { signed } => signed,
            _ => false,
        }),
        FieldLshiftU64 if little_endian => 64 - (bit_off + bit_sz - byte_off * 8),
        FieldLshiftU64 => (8 - byte_sz) * 8 + (bit_off - byte_off * 8),
        FieldRshiftU64 => 64 - bit_sz,
        _ => unreachable!("existence and type kinds are handled above"),
    }))
}

/// The relocated access in C terms: `task_struct->mm->...` style for fields
/// (`task_struct->__state`, `sk_buff->cb[2]`), `struct foo` for types, `enum e::VALUE` for
/// enumerators.
pub fn access_path(types: &TypeTable, relo: &CoreRelo) -> String {
    let Some(kind) = ReloKind::from_raw(relo.kind) else {
        return format!("[{}] {}", relo.type_id, relo.access);
    };
    let root_name = |id: u32| -> String {
        let Ok(ty) = types.get(id) else {
            return format!("[{id}]");
        };
        let name = types.name(ty.name);
        let name = if name.is_empty() { "(anon)" } else { name };
        match ty.kind {
            Kind::Struct => format!("struct {name}"),
            Kind::Union => format!("union {name}"),
            Kind::Enum { .. } | Kind::Enum64 { .. } => format!("enum {name}"),
            _ => name.to_string(),
        }
    };
    if kind.is_type() {
        return root_name(relo.type_id);
    }
    let Ok(spec) = parse_spec(types, relo.type_id, &relo.access, kind) else {
        return format!("{} {}", root_name(relo.type_id), relo.access);
    };
    if !kind.is_field() {
        let enumerator = spec.accessors[0].name.as_deref().unwrap_or("?");
        return format!("{}::{enumerator}", root_name(relo.type_id));
    }
    let root = types
        .get(relo.type_id)
        .map(|t| types.name(t.name))
        .unwrap_or("");
    let mut path = if root.is_empty() {
        "(anon)".to_string()
    } else {
        root.to_string()
    };
    let first = spec.accessors[0].idx;
    if first != 0 {
        path.push_str(&format!("[{first}]"));
    }
    for (i, acc) in spec.accessors.iter().enumerate().skip(1) {
        match &acc.name {
            Some(name) if i == 1 && first == 0 => path.push_str(&format!("->{name}")),
            Some(name) => path.push_str(&format!(".{name}")),
            None => path.push_str(&format!("[{}]", acc.idx)),
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn essential_names_drop_the_last_flavour() {
        assert_eq!(essential_name("task_struct___old"), "task_struct");
        assert_eq!(essential_name("task_struct"), "task_struct");
        assert_eq!(essential_name("a___b___c"), "a___b");
        assert_eq!(essential_name("__state"), "__state");
        assert_eq!(essential_name("x____y"), "x____y");
        assert_eq!(essential_name("___x"), "___x");
    }
}
