//! Appending an input's BTF to the merged BTF (`linker_append_btf`): types copied with ids
//! remapped, one `VAR`/`FUNC` per global name (a definition's type replaces an extern's), and
//! the entries of each DATASEC collected per output section with their offsets shifted, for
//! the DATASECs rebuilt when linking finishes.

use super::input::{InputObject, LINKAGE_STATIC};
use super::message;
use super::{Linker, Placement};
use crate::btf::raw::{RecordRef, kind};
use crate::btf::table::TypeTable;

/// Type `id` of `btf`; `None` for `void` and ids past the end.
pub(super) fn existing(btf: &TypeTable, id: u32) -> Option<RecordRef<'_>> {
    (id != 0).then(|| btf.record(id).ok()).flatten()
}

/// Whether `ty` is a global (non-static) variable or function.
pub(super) fn is_non_static(ty: &RecordRef) -> bool {
    match ty.kind() {
        kind::VAR => ty.extra[0] != LINKAGE_STATIC,
        kind::FUNC => ty.vlen() as u32 != LINKAGE_STATIC,
        _ => false,
    }
}

impl Linker {
    /// Appends `object`'s BTF; returns the merged id of each of its type ids.
    pub(super) fn append_btf(
        &mut self,
        object: &InputObject,
        placement: &Placement,
    ) -> Result<Vec<u32>, String> {
        let Some(btf) = object.btf.as_ref() else {
            return Ok(Vec::new());
        };
        // Every new id is known before anything is copied (the copies take the ids after
        // the merged BTF's last, in input order), so each type is copied once, its type
        // ids already mapped.
        let mut next_id = self.btf.len();
        let mut copied = Vec::new();
        let mut map = vec![0u32; btf.len() as usize];
        let mut retyped = Vec::new();
        for (id, ty) in btf.records() {
            let id = id as usize;
            if ty.kind() == kind::DATASEC {
                continue;
            }
            if is_non_static(&ty) {
                let name = btf.string(ty.name_off);
                // Globals of dropped sections (a second `license`) have no symbol.
                let Some(global) = self.globals.get_mut(name) else {
                    continue;
                };
                if global.retype {
                    global.retype = false;
                    retyped.push((global.btf_id, ty.size_or_type));
                }
                if global.btf_id == 0 {
                    global.btf_id = next_id;
                } else {
                    map[id] = global.btf_id;
                    continue;
                }
            }
            map[id] = next_id;
            next_id += 1;
            copied.push(ty);
        }
        for ty in copied {
            let mut unmapped = None;
            self.btf.copy_from(btf, ty, |type_id| {
                let new = map.get(*type_id as usize).copied().unwrap_or(0);
                if new == 0 && *type_id != 0 {
                    unmapped = Some(*type_id);
                }
                *type_id = new;
            });
            if let Some(type_id) = unmapped {
                return Err(format!(
                    "BTF type [{type_id}] is referred to but was not kept"
                ));
            }
        }
        for (global_id, underlying) in retyped {
            let new = map.get(underlying as usize).copied().unwrap_or(0);
            if existing(&self.btf, global_id).is_some() {
                self.btf
                    .update(global_id, |global| global.size_or_type = new)
                    .map_err(message)?;
            }
        }
        self.append_datasec_entries(object, placement, &map)?;
        Ok(map)
    }

    /// Collects each input DATASEC's entries into its output section, offsets shifted by where
    /// the section's piece landed; a global listed by several inputs is listed once.
    fn append_datasec_entries(
        &mut self,
        object: &InputObject,
        placement: &Placement,
        map: &[u32],
    ) -> Result<(), String> {
        let btf = object.btf.as_ref().expect("checked by caller");
        for (position, section) in object.sections.iter().enumerate() {
            let (Some(datasec), Some((out, offset))) =
                (section.datasec_id, placement.sections[position])
            else {
                continue;
            };
            self.sections[out].has_btf = true;
            let entries = btf.record(datasec).map_err(message)?.extra.to_vec();
            for entry in entries.chunks_exact(3) {
                let new_id = map.get(entry[0] as usize).copied().unwrap_or(0);
                let Some(ty) = existing(&self.btf, new_id) else {
                    continue;
                };
                let (kind, underlying) = (ty.kind(), ty.size_or_type);
                let global_name =
                    is_non_static(&ty).then(|| self.btf.string(ty.name_off).to_string());
                if let Some(name) = &global_name {
                    let global = &self.globals[name];
                    if global.section != Some(out) {
                        let elsewhere = global.section.map_or("no section".to_string(), |s| {
                            format!("'{}'", self.sections[s].name)
                        });
                        return Err(format!(
                            "global '{name}' is in section '{}' here but in {elsewhere} in {}",
                            self.sections[out].name, self.inputs[global.origin.0]
                        ));
                    }
                    if let Some(existing) = global.var_index {
                        if kind == kind::VAR {
                            // The type may have changed with a new definition, and so may
                            // its place if this input's definition won.
                            let size = self.btf.size_of(underlying).map_err(|_| {
                                format!("global '{name}': the size of its type is unknown")
                            })?;
                            let won = !global.is_extern && global.origin.0 == self.current_input();
                            let var = &mut self.sections[out].vars[existing];
                            var[2] = size as u32;
                            if won {
                                var[1] = entry[1] + offset as u32;
                            }
                        }
                        continue;
                    }
                }
                let vars = &mut self.sections[out].vars;
                vars.push([new_id, entry[1] + offset as u32, entry[2]]);
                let index = vars.len() - 1;
                if let Some(name) = global_name {
                    self.globals.get_mut(&name).expect("known").var_index = Some(index);
                }
            }
        }
        Ok(())
    }
}
