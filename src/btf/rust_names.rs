//! The names libbpf-cargo 0.27 gives the structs, unions and enums of an object's BTF, so that
//! code written against its skeletons finds the same types in bpfgen's.
//!
//! libbpf-cargo names a type while it walks the whole BTF: struct_ops variables first, then
//! every type id in order, each breadth-first through what its members refer to. A named type
//! keeps its name (`foo_2` for the second type called `foo`); an anonymous one is named after
//! the nearest named composite it was first reached from, numbered in the order that
//! composite's members reached types (`__anon_foo_1`); one reached from no named composite
//! gets the next free `__anon_<n>`, counted from 1 in the order names are first asked for.
//! This module walks the BTF in the same order and asks for names at the same points.

use super::table::{Kind, MAX_DEPTH, TypeTable};
use crate::error::Result;
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// The libbpf-cargo name of every struct, union and enum of `table` that it defines, by id
/// (empty unions have none: Rust has no empty unions). Variables' linkage is not in the
/// table, so static variables count as global ones here.
pub fn libbpf_cargo_names(table: &TypeTable) -> Result<HashMap<u32, String>> {
    let mut walk = Walk {
        table,
        namer: Namer::default(),
        processed: HashSet::new(),
        defined: HashMap::new(),
    };
    walk.struct_ops()?;
    for id in 1..table.len() {
        walk.definition(vec![id])?;
    }
    Ok(walk.defined)
}

/// Where an anonymous type was first reached from.
#[derive(Clone)]
struct Dep {
    /// Name of the nearest named composite it was reached from.
    parent_name: Option<String>,
    /// Its number among what that composite's members reached.
    dep_id: u32,
    /// The counter its own anonymous members take numbers from.
    counter: Rc<Cell<u32>>,
}

/// libbpf-cargo's `TypeMap`: names handed out so far.
#[derive(Default)]
struct Namer {
    /// Numbers of anonymous types reached from no named composite.
    anon: HashMap<u32, usize>,
    /// Names of named types, deduplicated.
    names: HashMap<u32, String>,
    /// How often each name has been handed out.
    counts: HashMap<String, u32>,
    /// Where types were first reached from.
    deps: HashMap<u32, Dep>,
}

impl Namer {
    fn name(&mut self, table: &TypeTable, id: u32) -> Result<String> {
        let raw = table.name(table.get(id)?.name);
        if raw.is_empty() {
            if let Some(n) = self.anon.get(&id) {
                return Ok(format!("__anon_{n}"));
            }
            let parent = self.deps.get(&id).and_then(|d| d.parent_name.as_ref());
            if let Some(parent) = parent.filter(|p| !p.is_empty()) {
                return Ok(format!("__anon_{parent}_{}", self.deps[&id].dep_id));
            }
            let n = self.anon.len() + 1;
            self.anon.insert(id, n);
            return Ok(format!("__anon_{n}"));
        }
        if let Some(name) = self.names.get(&id) {
            return Ok(name.clone());
        }
        let count = self.counts.entry(raw.to_string()).or_insert(0);
        *count += 1;
        let name = if *count == 1 {
            raw.to_string()
        } else {
            format!("{raw}_{count}")
        };
        self.names.insert(id, name.clone());
        Ok(name)
    }

    fn register_parent(&mut self, table: &TypeTable, id: u32, parent: u32) -> Result<()> {
        if self.deps.contains_key(&id) {
            return Ok(());
        }
        let parent_dep = self.deps.entry(parent).or_insert_with(|| Dep {
            parent_name: None,
            dep_id: 0,
            counter: Rc::new(Cell::new(0)),
        });
        let mut dep = parent_dep.clone();
        let parent_name = table.name(table.get(parent)?.name);
        if !parent_name.is_empty() {
            dep.parent_name = Some(parent_name.to_string());
        }
        if !table.name(table.get(id)?.name).is_empty() {
            dep.counter = Rc::new(Cell::new(0));
        }
        let counter = &parent_dep.counter;
        counter.set(counter.get() + 1);
        dep.dep_id = counter.get();
        self.deps.insert(id, dep);
        Ok(())
    }
}

/// libbpf-cargo's pass over the BTF, asking for names where it does.
struct Walk<'a> {
    table: &'a TypeTable,
    namer: Namer,
    processed: HashSet<u32>,
    defined: HashMap<u32, String>,
}

impl Walk<'_> {
    /// The `StructOps` struct (its members' types named) and the types it depends on.
    fn struct_ops(&mut self) -> Result<()> {
        let mut vars = Vec::new();
        for id in 1..self.table.len() {
            let ty = self.table.get(id)?;
            let name = self.table.name(ty.name);
            if ty.kind == Kind::Datasec
                && (name.ends_with(".struct_ops") || name.ends_with(".struct_ops.link"))
            {
                vars.extend(self.table.items(ty).iter().map(|item| item.target));
            }
        }
        for &var in &vars {
            self.declaration(var)?;
        }
        let queue = vars
            .iter()
            .filter_map(|&var| self.next_type(var).transpose())
            .collect::<Result<Vec<_>>>()?;
        self.definition(queue)
    }

    /// libbpf-cargo's `type_definition`: defines the types in `queue`, breadth-first
    /// through what they need.
    fn definition(&mut self, mut queue: Vec<u32>) -> Result<()> {
        let mut next = 0;
        while let Some(&id) = queue.get(next) {
            next += 1;
            let ty = self.table.get(id)?;
            let is_definition = matches!(
                ty.kind,
                Kind::Struct
                    | Kind::Union
                    | Kind::Enum { .. }
                    | Kind::Enum64 { .. }
                    | Kind::Datasec
            );
            if !is_definition || !self.processed.insert(id) {
                continue;
            }
            match ty.kind {
                Kind::Struct | Kind::Union => self.composite(id, &mut queue)?,
                Kind::Datasec => self.datasec(id, &mut queue)?,
                _ => {
                    let name = self.namer.name(self.table, id)?;
                    self.defined.insert(id, name);
                }
            }
        }
        Ok(())
    }

    fn composite(&mut self, id: u32, queue: &mut Vec<u32>) -> Result<()> {
        let table = self.table;
        let ty = table.get(id)?;
        if ty.kind == Kind::Union && ty.items.is_empty() {
            return Ok(());
        }
        for item in table.items(ty) {
            if item.bitfield_size > 0 {
                continue;
            }
            let field = table.skip_mods_and_typedefs(item.target)?;
            let field_ty = table.get(field)?;
            if field_ty.kind == Kind::Union && field_ty.items.is_empty() {
                continue;
            }
            if let Some(next) = self.next_type(field)? {
                self.namer.register_parent(table, next, id)?;
                queue.push(next);
            }
            if table.name(item.name).is_empty() {
                // An anonymous member's field is named after its type.
                self.namer.name(table, field)?;
            }
            self.declaration(field)?;
        }
        let name = self.namer.name(table, id)?;
        self.defined.insert(id, name);
        Ok(())
    }

    fn datasec(&mut self, id: u32, queue: &mut Vec<u32>) -> Result<()> {
        let ty = self.table.get(id)?;
        if self.table.name(ty.name) == ".ksyms" {
            return Ok(());
        }
        for item in self.table.items(ty) {
            if let Some(next) = self.next_type(item.target)? {
                queue.push(next);
            }
            self.declaration(item.target)?;
        }
        Ok(())
    }

    /// libbpf-cargo's `type_declaration`: names the composite or enum that `id` is, or
    /// points to or holds an array of.
    fn declaration(&mut self, id: u32) -> Result<()> {
        let mut id = id;
        for _ in 0..MAX_DEPTH {
            let ty = self.table.get(self.table.skip_mods_and_typedefs(id)?)?;
            match ty.kind {
                Kind::Ptr | Kind::Array { .. } | Kind::Var => id = ty.target,
                Kind::Struct | Kind::Union | Kind::Enum { .. } | Kind::Enum64 { .. } => {
                    self.namer
                        .name(self.table, self.table.skip_mods_and_typedefs(id)?)?;
                    return Ok(());
                }
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    /// libbpf-cargo's `next_type`: the composite, enum or data section `id` leads to
    /// through modifiers, typedefs, pointers, arrays, variables and function types.
    fn next_type(&self, id: u32) -> Result<Option<u32>> {
        let mut id = id;
        for _ in 0..MAX_DEPTH {
            let ty = self.table.get(id)?;
            match ty.kind {
                Kind::Struct
                | Kind::Union
                | Kind::Enum { .. }
                | Kind::Enum64 { .. }
                | Kind::Datasec => return Ok(Some(id)),
                Kind::Void | Kind::Int { .. } | Kind::Float | Kind::Fwd { .. } => {
                    return Ok(None);
                }
                _ => id = ty.target,
            }
        }
        Ok(None)
    }
}
