//! min-CO-RE BTF (`bpftool gen min_core_btf`, BTFGen): the part of a kernel's BTF that some
//! objects' CO-RE relocations need, small enough to ship with them for kernels that have no
//! BTF of their own (loaded through libbpf's `btf_custom_path`).
//!
//! Every relocation is resolved against the kernel's BTF as libbpf resolves it
//! ([`Resolver`]). What it lands on is kept: for a field, the root type and each member on
//! the way (struct sizes and member offsets unchanged, other members dropped); for a type
//! check, the type and what it refers to through pointers; for an enumerator, the whole
//! enum; for a type match, every member down to pointers. The kept types are written in
//! their kernel order with new ids, as bpftool writes them, so that the output equals
//! bpftool's byte for byte; where bpftool gives up (type tags and forward declarations on
//! the way) the types are kept too.

use super::core::{ReloKind, Resolution, Resolver, Target, TargetAccess, access_path};
use super::ext::BtfExt;
use super::raw::{RawType, kind};
use super::table::TypeTable;
use crate::error::{Error, Result};
use std::collections::HashSet;
use std::path::Path;

/// What min-CO-RE BTF reads of an object: its BTF, its CO-RE records and the instructions
/// they relocate. The object model implements it; BTF code does not depend on that model.
pub trait CoreRelocations {
    /// The object's `.BTF` and `.BTF.ext`, if it has both.
    fn btf_with_ext(&self) -> Option<(&TypeTable, &BtfExt)>;
    /// Whether the object is little-endian (instruction fields are read in its order).
    fn little_endian(&self) -> bool;
    /// The instruction at byte `offset` of section `section` (zeros when there is none).
    fn instruction(&self, section: &str, offset: u32) -> [u8; 8];
}

/// One object whose relocations the BTF must serve, with the name used in messages.
pub struct Relocated<'a> {
    /// The object's path as the user gave it, for messages.
    pub path: &'a Path,
    /// The parsed object.
    pub object: &'a dyn CoreRelocations,
}

/// The min-CO-RE BTF of `objects` out of the raw kernel BTF `target`, as raw BTF in the
/// target's byte order.
pub fn min_core_btf(target: &[u8], objects: &[Relocated]) -> Result<Vec<u8>> {
    let target = Target::new("", TypeTable::from_bytes(target, None)?);
    let mut marks = Marks::new(&target.types);
    for input in objects {
        mark_object(input, &target, &mut marks).map_err(|e| e.in_file(input.path))?;
    }
    Ok(marks.write()?.to_bytes(target.types.big_endian()))
}

/// Marks what each CO-RE relocation of one object lands on.
fn mark_object(input: &Relocated, target: &Target, marks: &mut Marks) -> Result<()> {
    let object = input.object;
    let Some((types, ext)) = object.btf_with_ext() else {
        return Err(Error::input(
            "has no .BTF and .BTF.ext sections: min-CO-RE BTF needs the object's CO-RE \
             relocations (compile with -g)",
        ));
    };
    let little_endian = object.little_endian();
    let all: Vec<_> = ext.sections.iter().flat_map(|s| &s.core_relos).collect();
    let mut resolver = Resolver::new(types, target, &all);
    for records in &ext.sections {
        for (index, relo) in records.core_relos.iter().enumerate() {
            let insn = object.instruction(&records.section, relo.insn_off);
            let (resolution, access) = resolver.resolve_access(relo, insn, little_endian);
            if let Resolution::Invalid(why) = resolution {
                return Err(Error::input(format!(
                    "{}: CO-RE relocation #{index} ({}): {why}",
                    records.section,
                    access_path(types, relo)
                )));
            }
            let (Some(kind), Some(access)) = (ReloKind::from_raw(relo.kind), access) else {
                continue;
            };
            marks.record(kind, &access)?;
        }
    }
    Ok(())
}

/// The kernel types and members kept so far.
struct Marks<'a> {
    /// The kernel's BTF.
    table: &'a TypeTable,
    types: Vec<bool>,
    /// (struct or union id, member index).
    members: HashSet<(u32, usize)>,
}

impl<'a> Marks<'a> {
    fn new(table: &'a TypeTable) -> Self {
        Marks {
            table,
            types: vec![false; table.len() as usize],
            members: HashSet::new(),
        }
    }

    /// Keeps what one resolved relocation needs (bpftool's `btfgen_record_reloc`).
    fn record(&mut self, relo: ReloKind, access: &TargetAccess) -> Result<()> {
        match relo {
            ReloKind::TypeIdLocal => Ok(()),
            ReloKind::TypeIdTarget | ReloKind::TypeExists | ReloKind::TypeSize => {
                self.mark_type(access.root, true)
            }
            ReloKind::TypeMatches => self.mark_match(access.root, false),
            ReloKind::EnumvalExists | ReloKind::EnumvalValue => self.mark_type(access.root, false),
            _ => self.mark_field(access),
        }
    }

    /// A field access: the root type, then each member on the path and its type.
    fn mark_field(&mut self, access: &TargetAccess) -> Result<()> {
        let mut id = access.root;
        self.mark_type(id, false)?;
        for &index in access.raw.iter().skip(1) {
            id = self.table.skip_mods_and_typedefs(id)?;
            let ty = self.table.record(id)?;
            match ty.kind() {
                kind::STRUCT | kind::UNION => {
                    let member = ty
                        .members()
                        .nth(index as usize)
                        .ok_or_else(|| invalid(id, "member index out of range"))?;
                    self.members.insert((id, index as usize));
                    id = member.1;
                    self.mark_type(id, false)?;
                }
                kind::ARRAY => id = ty.extra[0],
                other => return Err(unsupported(other, id)),
            }
        }
        Ok(())
    }

    /// Keeps a type and what it cannot go without (bpftool's `btfgen_mark_type`); composites
    /// are kept without members, pointees only when `follow_pointers`.
    fn mark_type(&mut self, id: u32, follow_pointers: bool) -> Result<()> {
        if id == 0 {
            return Ok(());
        }
        let ty = self.table.record(id)?;
        self.types[id as usize] = true;
        match ty.kind() {
            kind::INT
            | kind::FLOAT
            | kind::ENUM
            | kind::ENUM64
            | kind::STRUCT
            | kind::UNION
            | kind::FWD => Ok(()),
            kind::PTR if follow_pointers => self.mark_type(ty.size_or_type, true),
            kind::PTR => Ok(()),
            kind::CONST | kind::VOLATILE | kind::RESTRICT | kind::TYPEDEF | kind::TYPE_TAG => {
                self.mark_type(ty.size_or_type, follow_pointers)
            }
            kind::ARRAY => {
                self.mark_type(ty.extra[0], follow_pointers)?;
                self.mark_type(ty.extra[1], follow_pointers)
            }
            kind::FUNC_PROTO => {
                self.mark_type(ty.size_or_type, follow_pointers)?;
                for param in ty.extra.chunks_exact(2) {
                    self.mark_type(param[1], follow_pointers)?;
                }
                Ok(())
            }
            other => Err(unsupported(other, id)),
        }
    }

    /// Keeps a type with all its members, recursively, stopping at composites behind
    /// pointers (bpftool's `btfgen_mark_type_match`).
    fn mark_match(&mut self, id: u32, behind_pointer: bool) -> Result<()> {
        if id == 0 {
            return Ok(());
        }
        let ty = self.table.record(id)?;
        self.types[id as usize] = true;
        match ty.kind() {
            kind::INT | kind::FLOAT | kind::ENUM | kind::ENUM64 => Ok(()),
            kind::STRUCT | kind::UNION if behind_pointer => Ok(()),
            kind::STRUCT | kind::UNION => {
                for (index, member) in ty.members().enumerate() {
                    self.members.insert((id, index));
                    self.mark_match(member.1, false)?;
                }
                Ok(())
            }
            kind::CONST
            | kind::FWD
            | kind::RESTRICT
            | kind::TYPEDEF
            | kind::VOLATILE
            | kind::TYPE_TAG => self.mark_match(ty.size_or_type, behind_pointer),
            kind::PTR => self.mark_match(ty.size_or_type, true),
            kind::ARRAY => {
                self.mark_match(ty.extra[0], false)?;
                self.mark_match(ty.extra[1], false)
            }
            kind::FUNC_PROTO => {
                self.mark_match(ty.size_or_type, false)?;
                for param in ty.extra.chunks_exact(2) {
                    self.mark_match(param[1], false)?;
                }
                Ok(())
            }
            other => Err(unsupported(other, id)),
        }
    }

    /// The kept types in kernel order, composites with only their kept members, ids
    /// renumbered (references to types not kept become `void`), as bpftool's
    /// `btfgen_get_btf` builds them.
    fn write(&self) -> Result<TypeTable> {
        let kept = || (1..self.table.len()).filter(|&id| self.types[id as usize]);
        let mut new_ids = vec![0u32; self.types.len()];
        for (new_id, id) in (1..).zip(kept()) {
            new_ids[id as usize] = new_id;
        }
        let new_id = |id: u32| new_ids.get(id as usize).copied().unwrap_or(0);
        let mut out = TypeTable::new();
        for id in kept() {
            let ty = self.table.record(id)?;
            match ty.kind() {
                kind::STRUCT | kind::UNION => {
                    let name = out.add_str(self.table.string(ty.name_off));
                    let mut kept =
                        RawType::composite(ty.kind() == kind::UNION, name, ty.size_or_type);
                    for (index, (name_off, type_id, bit_offset, bits)) in ty.members().enumerate() {
                        if self.members.contains(&(id, index)) {
                            let name = out.add_str(self.table.string(name_off));
                            kept.push_member(name, new_id(type_id), bit_offset, bits);
                        }
                    }
                    out.push(kept)?;
                }
                _ => {
                    out.copy_from(self.table, ty, |type_id| *type_id = new_id(*type_id));
                }
            }
        }
        Ok(out)
    }
}

fn unsupported(kind: u32, id: u32) -> Error {
    Error::input(format!(
        "unsupported kind: {} (type [{id}] of the target BTF)",
        kind::name(kind)
    ))
}

fn invalid(id: u32, why: &str) -> Error {
    Error::input(format!("invalid target BTF at type [{id}]: {why}"))
}
