//! CO-RE relocation resolution against a target kernel's BTF, offline, with libbpf's rules
//! (`relo_core.c`): the local access spec parsed from the `"0:1:2"` string, candidates found
//! by essential name (the part before a `___flavour` suffix) among target types of a
//! compatible kind, each candidate matched member by member, all matches required to agree,
//! and the value libbpf would patch into the instruction computed from the match.

use super::ext::CoreRelo;
use super::name_index::NameIndex;
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
    /// Every raw index, anonymous members included (libbpf's `raw_spec`).
    raw: Vec<u32>,
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
    /// A target type matched, but the field's size changed in a way a load cannot follow
    /// (neither a pointer nor an unsigned integer): libbpf poisons the instruction.
    UnsafeAccess,
    /// libbpf fails the whole load: ambiguous candidates, an access it cannot apply, or a
    /// malformed record.
    Invalid(String),
}

/// Where a matched relocation lands in the target: the types and members that
/// `bpftool gen min_core_btf` keeps for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetAccess {
    /// The matched target type (the first candidate that matched).
    pub root: u32,
    /// libbpf's raw access in the target: the array index on the root, then every member
    /// index (anonymous members included) or array index down to the field. Empty for type
    /// and enumerator relocations.
    pub raw: Vec<u32>,
}

/// A kernel's BTF, searched for CO-RE candidates and `__ksym` targets.
pub struct Target {
    /// What the user called it (the `--btf` path).
    pub name: String,
    /// Its types.
    pub types: TypeTable,
    names: NameIndex,
}

impl Target {
    /// A target named `name` (for messages) with `types`.
    pub fn new(name: impl Into<String>, types: TypeTable) -> Self {
        Target {
            name: name.into(),
            types,
            names: NameIndex::default(),
        }
    }

    /// The ids of the named types whose essential name is one of `wanted`, by that name, in
    /// id order (libbpf's candidate order).
    pub fn by_essential_name(&self, wanted: &HashSet<&str>) -> HashMap<String, Vec<u32>> {
        self.names.lookup(&self.types, wanted)
    }

    /// The kinds of the target's types named exactly as each of `names` (`FUNC` for a kfunc,
    /// `VAR` for a typed `__ksym` variable), found in one pass.
    pub fn kinds_named(&self, names: &[&str]) -> HashMap<String, Vec<Kind>> {
        let wanted: HashSet<&str> = names.iter().map(|n| essential_name(n)).collect();
        let mut kinds: HashMap<String, Vec<Kind>> = HashMap::new();
        for id in self.by_essential_name(&wanted).into_values().flatten() {
            let Ok(ty) = self.types.get(id) else { continue };
            let name = self.types.name(ty.name);
            if names.contains(&name) {
                kinds.entry(name.to_string()).or_default().push(ty.kind);
            }
        }
        kinds
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

fn essential_names_equal(a: &str, b: &str) -> bool {
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

    /// What libbpf makes of `relo`, whose instruction is `insn` (call in `.BTF.ext` order
    /// for libbpf's exact results).
    pub fn resolve(&mut self, relo: &CoreRelo, insn: [u8; 8], little_endian: bool) -> Resolution {
        self.resolve_access(relo, insn, little_endian).0
    }

    /// What libbpf makes of `relo`, and where in the target it lands when a target type
    /// matched (libbpf's target spec).
    pub fn resolve_access(
        &mut self,
        relo: &CoreRelo,
        insn: [u8; 8],
        little_endian: bool,
    ) -> (Resolution, Option<TargetAccess>) {
        match self.try_resolve(relo, insn, little_endian) {
            Ok((resolution, spec)) => (
                resolution,
                spec.map(|spec| TargetAccess {
                    root: spec.root,
                    raw: spec.raw,
                }),
            ),
            Err(err) => (Resolution::Invalid(err.message().to_string()), None),
        }
    }

    fn try_resolve(
        &mut self,
        relo: &CoreRelo,
        insn: [u8; 8],
        little_endian: bool,
    ) -> Result<(Resolution, Option<Spec>)> {
        let kind = ReloKind::from_raw(relo.kind)
            .ok_or_else(|| Error::input(format!("unknown CO-RE relocation kind {}", relo.kind)))?;
        let (local, target) = (self.local, &self.target.types);
        let spec = parse_spec(local, relo.type_id, &relo.access, kind)?;
        if kind == ReloKind::TypeIdLocal {
            return Ok((patch_outcome(insn, u64::from(relo.type_id), false)?, None));
        }
        let root = local.get(relo.type_id)?;
        let root_name = local.name(root.name);
        if root_name.is_empty() {
            return Err(Error::input(
                "relocation against an anonymous type (libbpf cannot search candidates for it)",
            ));
        }
        // libbpf works out the local side first: its errors fail the load whatever the target.
        let original = calc(local, kind, Some(&spec), little_endian)?;
        let candidates = match self.candidates.get(&relo.type_id) {
            Some(cached) => cached.clone(),
            None => self.find_candidates(root.kind, root_name),
        };
        let mut matched = Vec::new();
        let mut decision: Option<(Spec, Calc)> = None;
        for &candidate in &candidates {
            let Some(target_spec) = self.match_spec(&spec, kind, candidate)? else {
                continue;
            };
            let result = calc(target, kind, Some(&target_spec), little_endian)?;
            match &decision {
                None => decision = Some((target_spec, result)),
                Some((first, _)) if first.bit_offset != target_spec.bit_offset => {
                    return Err(Error::input(format!(
                        "field offset ambiguity: candidates [{}] and [{candidate}] place it \
                         at bit {} and bit {}",
                        first.root, first.bit_offset, target_spec.bit_offset
                    )));
                }
                Some((_, first)) if first.value != result.value => {
                    return Err(Error::input(format!(
                        "relocation decision ambiguity: candidates disagree ({} vs {})",
                        describe(first.value),
                        describe(result.value)
                    )));
                }
                Some(_) => {}
            }
            matched.push(candidate);
        }
        // libbpf narrows the cached candidate list to the ones that matched, if any did.
        let narrowed = if matched.is_empty() {
            candidates
        } else {
            matched
        };
        self.candidates.insert(relo.type_id, narrowed);
        let Some((target_spec, result)) = decision else {
            let missing = calc(target, kind, None, little_endian)?;
            let resolution = Resolution::Missing {
                value: missing.value,
            };
            return Ok((resolution, None));
        };
        let unsafe_resize = match (original.field, result.field) {
            (Some(l), Some(t)) => !resize_is_safe(local, l, target, t),
            _ => false,
        };
        // Matched relocations always have a value: only a missing match is poisoned by calc.
        let value = result.value.unwrap_or_default();
        Ok((
            patch_outcome(insn, value, unsafe_resize)?,
            Some(target_spec),
        ))
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
                .position(|e| essential_names_equal(tt.name(e.name), wanted));
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
            if spec.raw.len() == SPEC_MAX_LEN {
                return Err(Error::input("access spec too deep"));
            }
            spec.accessors.push(Accessor {
                type_id: id,
                idx: acc.idx,
                name: None,
            });
            spec.raw.push(acc.idx);
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
            if spec.raw.len() == SPEC_MAX_LEN {
                return Err(Error::input("access spec too deep"));
            }
            spec.bit_offset += u64::from(member.bit_offset);
            spec.raw.push(i as u32);
            let name = tt.name(member.name);
            if name.is_empty() {
                if let Some(found) = self.match_member(local_acc, member.target, spec)? {
                    return Ok(Some(found));
                }
            } else if name == wanted {
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
            spec.raw.pop();
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
    spec.raw.clone_from(&raw);
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
                return Ok(ln.is_empty() || tn.is_empty() || essential_names_equal(ln, tn));
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
fn core_names_match(local: &str, target: &str) -> bool {
    if target.is_empty() {
        return local.is_empty();
    }
    essential_names_equal(local, target)
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
        if !core_names_match(lt.name(l.name), tt.name(t.name)) {
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
                .any(|b| core_names_match(lt.name(a.name), tt.name(b.name)))
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
            if !core_names_match(lt.name(l.name), tt.name(t.name)) {
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

/// What `bpf_core_calc_relo` works out for one side (local or target) of a relocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Calc {
    /// The value to patch in; `None`: poison the instruction.
    value: Option<u64>,
    /// For a byte offset of a whole field: its size and (modifier-free) type, which decide
    /// whether a load of it can be resized.
    field: Option<(u64, u32)>,
}

impl Calc {
    fn value(value: u64) -> Self {
        Calc {
            value: Some(value),
            field: None,
        }
    }
}

/// `bpf_core_calc_relo` for one side: `spec` is the matched access, `None` when no target
/// type matched. libbpf's 32-bit arithmetic is kept, wrap-arounds included.
fn calc(
    types: &TypeTable,
    kind: ReloKind,
    spec: Option<&Spec>,
    little_endian: bool,
) -> Result<Calc> {
    use ReloKind::*;
    let Some(spec) = spec else {
        return Ok(match kind {
            FieldExists | TypeIdTarget | TypeExists | TypeSize | TypeMatches | EnumvalExists => {
                Calc::value(0)
            }
            _ => Calc {
                value: None,
                field: None,
            },
        });
    };
    if kind.is_type() {
        return Ok(Calc::value(match kind {
            TypeSize => types.size_of(spec.root)?,
            TypeIdTarget | TypeIdLocal => u64::from(spec.root),
            _ => 1,
        }));
    }
    if kind == FieldExists || kind == EnumvalExists {
        return Ok(Calc::value(1));
    }
    let last = spec
        .accessors
        .last()
        .ok_or_else(|| Error::input("empty access spec"))?;
    if kind == EnumvalValue {
        let ty = types.get(last.type_id)?;
        let value = types.items(ty)[last.idx as usize].value;
        // A 32-bit enumerator is an `__s32` to libbpf, sign-extended to 64 bits.
        return Ok(Calc::value(match ty.kind {
            Kind::Enum { .. } => value as u32 as i32 as i64 as u64,
            _ => value,
        }));
    }
    let bit_off = spec.bit_offset as u32;
    if last.name.is_none() {
        let size = types.size_of(last.type_id)?;
        return match kind {
            FieldByteOffset => Ok(Calc {
                value: Some(u64::from(bit_off / 8)),
                field: Some((size, last.type_id)),
            }),
            FieldByteSize => Ok(Calc::value(size)),
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
    let bitfield = member.bitfield_size > 0;
    let (byte_off, byte_sz, bit_sz) = if bitfield {
        let bit_sz = member.bitfield_size;
        let mut byte_sz = field.size.max(1);
        let mut byte_off = bit_off / 8 / byte_sz * byte_sz;
        while bit_off.wrapping_add(bit_sz).wrapping_sub(byte_off * 8) > byte_sz.wrapping_mul(8) {
            if byte_sz >= 8 {
                return Err(Error::input("bitfield cannot be read with a 64-bit load"));
            }
            byte_sz *= 2;
            byte_off = bit_off / 8 / byte_sz * byte_sz;
        }
        (byte_off, byte_sz, bit_sz)
    } else {
        let byte_sz = types.size_of(field_type)? as u32;
        (bit_off / 8, byte_sz, byte_sz.wrapping_mul(8))
    };
    let value = match kind {
        FieldByteOffset => {
            return Ok(Calc {
                value: Some(u64::from(byte_off)),
                field: (!bitfield).then_some((u64::from(byte_sz), field_type)),
            });
        }
        FieldByteSize => byte_sz,
        FieldSigned => u32::from(match field.kind {
            Kind::Enum { signed } | Kind::Enum64 { signed } | Kind::Int { signed } => signed,
            _ => false,
        }),
        FieldLshiftU64 if little_endian => {
            64u32.wrapping_sub(bit_off.wrapping_add(bit_sz).wrapping_sub(byte_off * 8))
        }
        FieldLshiftU64 => (8u32.wrapping_sub(byte_sz))
            .wrapping_mul(8)
            .wrapping_add(bit_off - byte_off * 8),
        FieldRshiftU64 => 64u32.wrapping_sub(bit_sz),
        _ => {
            return Err(Error::input(format!(
                "{} is not a field relocation",
                kind.name()
            )));
        }
    };
    Ok(Calc::value(u64::from(value)))
}

/// libbpf resizes a load of a field whose size changed only for pointers and unsigned
/// integers; any other size change makes the access unsafe and the instruction is poisoned.
fn resize_is_safe(lt: &TypeTable, local: (u64, u32), tt: &TypeTable, target: (u64, u32)) -> bool {
    if local.0 == target.0 {
        return true;
    }
    let (Ok(l), Ok(t)) = (lt.get(local.1), tt.get(target.1)) else {
        return false;
    };
    matches!((l.kind, t.kind), (Kind::Ptr, Kind::Ptr))
        || matches!(
            (l.kind, t.kind),
            (Kind::Int { signed: false }, Kind::Int { signed: false })
        )
}

/// The checks `bpf_core_patch_insn` makes on the relocated instruction itself (8 bytes in the
/// object's byte order): what it accepts, and when it poisons a matched relocation instead.
fn patch_outcome(insn: [u8; 8], value: u64, unsafe_resize: bool) -> Result<Resolution> {
    const CLASS_LD: u8 = 0;
    const CLASS_LDX: u8 = 1;
    const CLASS_ST: u8 = 2;
    const CLASS_STX: u8 = 3;
    const CLASS_ALU: u8 = 4;
    const CLASS_ALU64: u8 = 7;
    const SRC_X: u8 = 0x08;
    const LD_IMM64: u8 = 0x18;
    let code = insn[0];
    match code & 0x07 {
        CLASS_ALU | CLASS_ALU64 if code & SRC_X != 0 => Err(Error::input(
            "the relocated ALU instruction takes a register, not an immediate",
        )),
        CLASS_ALU | CLASS_ALU64 => Ok(Resolution::Resolved { value }),
        CLASS_LDX | CLASS_ST | CLASS_STX if value > i16::MAX as u64 => Err(Error::input(format!(
            "field offset {value} does not fit the load/store instruction"
        ))),
        CLASS_LDX | CLASS_ST | CLASS_STX if unsafe_resize => Ok(Resolution::UnsafeAccess),
        CLASS_LDX | CLASS_ST | CLASS_STX => Ok(Resolution::Resolved { value }),
        CLASS_LD if code == LD_IMM64 => Ok(Resolution::Resolved { value }),
        _ => Err(Error::input(format!(
            "unexpected instruction (opcode {code:#04x}) for a CO-RE relocation"
        ))),
    }
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
