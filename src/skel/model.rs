//! The skeleton model: what a generated skeleton exposes (maps, programs, memory-mapped data
//! sections, struct_ops maps) with identifiers already decided, independent of the language.

use crate::btf::table::Linkage;
use crate::error::{Error, Result};
use crate::object::{BpfObject, MapKind, Variable};

/// A map as the skeleton lists it.
#[derive(Debug, Clone)]
pub struct SkelMap {
    /// The name libbpf looks the map up by (`bpf_map__name`).
    pub name: String,
    /// Identifier in `maps` (and of the data-section pointer, for mmaped maps).
    pub ident: String,
    /// Whether the skeleton gets a memory-mapped pointer to its data.
    pub mmaped: bool,
    /// Whether it is a struct_ops map (it gets a link and a shadow type).
    pub struct_ops: bool,
    /// Whether BPF programs only read it (`.rodata*`, `.kconfig`: libbpf freezes it at load,
    /// so user space must not write its memory-mapped data after that).
    pub read_only: bool,
    /// BTF ids of its key and value types, when it is a user's map whose definition names them.
    pub key_value_types: Vec<u32>,
    /// The oldest libbpf (major, minor) that knows this kind of map; older ones skip its
    /// section, so the skeleton must not ask them for it.
    pub min_libbpf: Option<(u32, u32)>,
}

/// A program as the skeleton lists it.
#[derive(Debug, Clone)]
pub struct SkelProg {
    /// `bpf_program__name`.
    pub name: String,
    /// Identifier in `progs` and `links`.
    pub ident: String,
}

/// A memory-mapped data section and the variables it exposes.
#[derive(Debug, Clone)]
pub struct SkelDatasec {
    /// Identifier of the pointer member and the struct name suffix (`bss`, `rodata_cfg`).
    pub ident: String,
    /// Whether `const`/`volatile` stay on variable types (only `.kconfig` keeps them).
    pub keep_mods: bool,
    /// Size of the section in bytes.
    pub size: u64,
    /// Exposed (non-static) variables, by offset.
    pub vars: Vec<SkelVar>,
}

/// A variable of a data section.
#[derive(Debug, Clone)]
pub struct SkelVar {
    /// Name in BTF, which libbpf looks the variable up by (subskeletons).
    pub name: String,
    /// Sanitized identifier (`func.var` -> `func_var`).
    pub ident: String,
    /// BTF id of its type.
    pub type_id: u32,
    /// Offset within the section.
    pub offset: u64,
    /// Size in bytes, from BTF.
    pub size: u64,
}

/// A struct_ops map and its ops struct type.
#[derive(Debug, Clone)]
pub struct SkelStructOps {
    /// Map identifier.
    pub ident: String,
    /// BTF id of the ops struct.
    pub type_id: u32,
    /// Name of the ops struct (`tcp_congestion_ops`).
    pub type_name: String,
}

/// Everything a skeleton exposes, and `types`: what its language makes of the object's BTF
/// (nothing yet, `()`, when [`Skeleton::new`] returns it; the C or Rust text of its types once
/// [`Skeleton::with_types`] has added them, which is what the renderers take).
#[derive(Debug, Clone)]
pub struct Skeleton<Types = ()> {
    /// Object name, a valid identifier, also passed to libbpf as the object name.
    pub obj_name: String,
    /// Maps, in libbpf's order.
    pub maps: Vec<SkelMap>,
    /// Programs, in libbpf's order.
    pub progs: Vec<SkelProg>,
    /// Memory-mapped data sections, in map order.
    pub datasecs: Vec<SkelDatasec>,
    /// struct_ops maps, in map order.
    pub struct_ops: Vec<SkelStructOps>,
    /// The language's text of the types above.
    pub types: Types,
}

impl Skeleton {
    /// Builds the model of `object` under the (already sanitized) object name `obj_name`;
    /// `identifier` turns names into the target language's identifiers
    /// ([`crate::ident::skeleton_identifier`] for C,
    /// [`crate::btf::rust::rust_identifier`] for Rust).
    pub fn new(object: &BpfObject, obj_name: &str, identifier: fn(&str) -> String) -> Result<Self> {
        if let Some(linked) = object.first_linked_extern() {
            return Err(Error::input(unlinked_extern_message(&linked.name)));
        }
        let mut skeleton = Skeleton {
            obj_name: obj_name.to_string(),
            maps: Vec::new(),
            progs: Vec::new(),
            datasecs: Vec::new(),
            struct_ops: Vec::new(),
            types: (),
        };
        for map in &object.maps {
            let vars = map.mmaped_vars();
            skeleton.maps.push(SkelMap {
                name: map.name.clone(),
                ident: identifier(&map.ident),
                mmaped: vars.is_some(),
                struct_ops: matches!(map.kind, MapKind::StructOps { .. }),
                read_only: match &map.kind {
                    MapKind::Data { section, .. } => section.starts_with(".rodata"),
                    MapKind::Kconfig { .. } => true,
                    MapKind::User | MapKind::StructOps { .. } => false,
                },
                key_value_types: match map.kind {
                    MapKind::User => map
                        .key_type_id
                        .into_iter()
                        .chain(map.value_type_id)
                        .collect(),
                    _ => Vec::new(),
                },
                min_libbpf: min_libbpf(&map.kind),
            });
            if let Some(vars) = vars {
                skeleton.datasecs.push(SkelDatasec {
                    ident: identifier(&map.ident),
                    keep_mods: matches!(map.kind, MapKind::Kconfig { .. }),
                    size: map.def.value_size,
                    vars: exposed(vars, identifier),
                });
            }
            if let MapKind::StructOps { type_id, .. } = map.kind {
                let btf = object.types.as_ref().ok_or_else(|| {
                    Error::input(format!("struct_ops map '{}' has no BTF", map.name))
                })?;
                skeleton.struct_ops.push(SkelStructOps {
                    ident: identifier(&map.ident),
                    type_id,
                    type_name: identifier(btf.type_name(type_id)?),
                });
            }
        }
        skeleton.progs = object
            .programs
            .iter()
            .map(|p| SkelProg {
                name: p.name.clone(),
                ident: identifier(&p.name),
            })
            .collect();
        check_unique("maps", skeleton.maps.iter().map(|m| m.ident.as_str()))?;
        check_unique("programs", skeleton.progs.iter().map(|p| p.ident.as_str()))?;
        check_unique("links", skeleton.link_idents())?;
        Ok(skeleton)
    }

    /// The same skeleton with the text of its types in one language.
    pub fn with_types<Types>(self, types: Types) -> Skeleton<Types> {
        Skeleton {
            obj_name: self.obj_name,
            maps: self.maps,
            progs: self.progs,
            datasecs: self.datasecs,
            struct_ops: self.struct_ops,
            types,
        }
    }
}

impl<Types> Skeleton<Types> {
    /// The `links` members: one per program, then one per struct_ops map.
    pub fn link_idents(&self) -> impl Iterator<Item = &str> {
        self.progs
            .iter()
            .map(|p| p.ident.as_str())
            .chain(self.struct_ops.iter().map(|s| s.ident.as_str()))
    }
}

/// libbpf learned `.struct_ops.link` in 1.2 and the optional `?.struct_ops[.link]` in 1.4;
/// every other kind of map is known to 1.0.
fn min_libbpf(kind: &MapKind) -> Option<(u32, u32)> {
    match kind {
        MapKind::StructOps { section, .. } if section.starts_with('?') => Some((1, 4)),
        MapKind::StructOps { section, .. } if section == ".struct_ops.link" => Some((1, 2)),
        _ => None,
    }
}

/// Fails when two members of one skeleton struct would get the same identifier (a map
/// named `bss` beside `.bss`, two sanitized names that meet): the header could not compile.
fn check_unique<'a>(what: &str, idents: impl Iterator<Item = &'a str>) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for ident in idents {
        if !seen.insert(ident) {
            return Err(Error::input(format!(
                "two {what} would both be called '{ident}' in the skeleton; rename one"
            )));
        }
    }
    Ok(())
}

/// The variables a skeleton shows: static ones are private to the BPF side.
fn exposed(vars: &[Variable], identifier: fn(&str) -> String) -> Vec<SkelVar> {
    vars.iter()
        .filter(|v| v.linkage != Linkage::Static)
        .map(|v| SkelVar {
            name: v.name.clone(),
            ident: identifier(&v.name),
            type_id: v.type_id,
            offset: v.offset,
            size: v.size,
        })
        .collect()
}

/// Why an object with an extern that only the static linker resolves gets no skeleton
/// (libbpf cannot open it: "unrecognized extern section", or a kfunc lookup that fails).
pub fn unlinked_extern_message(name: &str) -> String {
    format!(
        "extern '{name}' is defined in another object: link the objects first \
         (bpfgen gen object OUT.bpf.o IN.bpf.o..., or bpfgen build --link NAME)"
    )
}
