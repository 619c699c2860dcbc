//! Symbols and global resolution (`linker_append_elf_sym`): local symbols are copied, one
//! section symbol is kept per output section, and each global name ends as one output symbol:
//! an extern until something defines it, a weak definition until a strong one replaces it;
//! two strong definitions are an error; hidden visibility is contagious; the two sides' BTF must
//! agree.

use super::compat;
use super::input::{InputObject, InputSymbol};
use super::message;
use super::types::{existing, is_non_static};
use super::{Linker, Placement};
use crate::btf::raw::kind;
use crate::btf::table::TypeTable;
use crate::fast_hash::FastMap;
use object::elf;

/// A symbol of the output.
#[derive(Debug, Clone)]
pub struct OutSymbol {
    /// Name.
    pub name: String,
    /// `st_info`.
    pub info: u8,
    /// `st_other`.
    pub other: u8,
    /// The output section it is in; `None` for externs and special indices.
    pub section: Option<usize>,
    /// `st_shndx` when `section` is `None` (`SHN_UNDEF`, `SHN_ABS`, ...).
    pub special_index: u16,
    /// `st_value`.
    pub value: u64,
    /// `st_size`.
    pub size: u64,
}

impl OutSymbol {
    /// The all-zero symbol #0.
    pub fn null() -> Self {
        OutSymbol {
            name: String::new(),
            info: 0,
            other: 0,
            section: None,
            special_index: 0,
            value: 0,
            size: 0,
        }
    }

    /// `STB_*`.
    pub fn bind(&self) -> u8 {
        self.info >> 4
    }
}

/// A global name and what is known of it so far.
#[derive(Debug)]
pub struct Global {
    /// Its output symbol.
    pub symbol: usize,
    /// The output section of its definition (or of the DATASEC its extern is in).
    pub section: Option<usize>,
    /// Its `VAR` or `FUNC` in the merged BTF (0 until its BTF is appended).
    pub btf_id: u32,
    /// Its `VAR`/`FUNC` must take the type of the next input's BTF (set when that input's
    /// definition replaced an extern or a weak definition).
    pub retype: bool,
    /// Not defined yet.
    pub is_extern: bool,
    /// Defined weakly.
    pub is_weak: bool,
    /// Its entry in its section's DATASEC, once added.
    pub var_index: Option<usize>,
    /// The input that defined it, or first declared it (its place in [`Linker::add`]'s
    /// order), and the id of its `VAR` or `FUNC` in that input's BTF.
    pub origin: (usize, u32),
}

impl Linker {
    /// Appends `object`'s symbols; returns the output symbol of each input symbol.
    pub(super) fn append_symbols(
        &mut self,
        object: &InputObject,
        placement: &Placement,
    ) -> Result<Vec<usize>, String> {
        let globals_btf = GlobalsBtf::of(object);
        let mut map = vec![0; object.symbols.len()];
        for (index, symbol) in object.symbols.iter().enumerate().skip(1) {
            map[index] = self.append_symbol(object, &globals_btf, placement, symbol)?;
        }
        Ok(map)
    }

    fn append_symbol(
        &mut self,
        object: &InputObject,
        globals_btf: &GlobalsBtf,
        placement: &Placement,
        symbol: &InputSymbol,
    ) -> Result<usize, String> {
        let mut place = None;
        if symbol.is_extern() {
            if object.btf.is_none() {
                return Err(format!(
                    "extern '{}' has no BTF; compile with -g so that BTF describes it",
                    symbol.name
                ));
            }
        } else if symbol.shndx < elf::SHN_LORESERVE {
            // Symbols of dropped sections (DWARF, .BTF) go with them.
            let Some((out, offset)) = placement
                .sections
                .get(symbol.shndx as usize)
                .copied()
                .flatten()
            else {
                return Ok(0);
            };
            place = Some((out, offset));
            if symbol.kind() == elf::STT_SECTION.0
                && let Some(existing) = self.sections[out].section_symbol
            {
                return Ok(existing);
            }
        }
        if symbol.bind() == elf::STB_LOCAL.0 {
            return Ok(self.push_symbol(symbol, place));
        }

        let (datasec, btf_id) = globals_btf.find(&symbol.name)?;
        if symbol.is_extern()
            && let Some(datasec) = datasec.filter(|name| name != ".extern")
        {
            let position = object
                .section_by_name(&datasec)
                .ok_or_else(|| format!("no section '{datasec}' for extern '{}'", symbol.name))?;
            place = placement.sections[position];
        }
        match self.globals.get(&symbol.name) {
            Some(_) => self.resolve(object, symbol, place, btf_id),
            None => {
                let out = self.push_symbol(symbol, place);
                self.globals.insert(
                    symbol.name.clone(),
                    Global {
                        symbol: out,
                        section: place.map(|(section, _)| section),
                        btf_id: 0,
                        retype: false,
                        is_extern: symbol.is_extern(),
                        is_weak: symbol.bind() == elf::STB_WEAK.0,
                        var_index: None,
                        origin: (self.current_input(), btf_id),
                    },
                );
                Ok(out)
            }
        }
    }

    /// Merges another declaration or definition of an already known global.
    fn resolve(
        &mut self,
        object: &InputObject,
        symbol: &InputSymbol,
        place: Option<(usize, u64)>,
        btf_id: u32,
    ) -> Result<usize, String> {
        let name = &symbol.name;
        let global = &self.globals[name];
        let out = global.symbol;
        let is_strong = symbol.bind() == elf::STB_GLOBAL.0;
        if !symbol.is_extern() && !global.is_extern && !global.is_weak && is_strong {
            return Err(format!(
                "'{name}' is defined here and in {}; one definition must be __weak or extern",
                self.inputs[global.origin.0]
            ));
        }
        self.check_types_agree(object, symbol, btf_id)?;

        let current = self.current_input();
        let global = self.globals.get_mut(name).expect("known global");
        let out_symbol = &mut self.symbols[out];
        if is_strong {
            out_symbol.info = (elf::STB_GLOBAL.0 << 4) | (out_symbol.info & 0xf);
            global.is_weak = false;
        }
        if symbol.visibility() > out_symbol.other & 0x3 {
            out_symbol.other = (out_symbol.other & !0x3) | symbol.visibility();
        }
        if symbol.is_extern() || (!global.is_extern && !is_strong) {
            return Ok(out);
        }
        // A strong definition (or the first definition after externs) takes over.
        out_symbol.info = (out_symbol.info & 0xf0) | symbol.kind();
        out_symbol.section = place.map(|(section, _)| section);
        out_symbol.special_index = 0;
        out_symbol.value = place.map_or(0, |(_, offset)| offset) + symbol.value;
        out_symbol.size = symbol.size;
        global.section = place.map(|(section, _)| section);
        global.is_extern = false;
        global.retype = true;
        global.origin = (current, btf_id);
        let btf = object.btf.as_ref().expect("globals have BTF");
        complete_extern_btf(&mut self.btf, global.btf_id, btf, btf_id)?;
        Ok(out)
    }

    /// Checks that a new declaration or definition agrees with the known one, through BTF.
    fn check_types_agree(
        &self,
        object: &InputObject,
        symbol: &InputSymbol,
        btf_id: u32,
    ) -> Result<(), String> {
        let name = &symbol.name;
        let global = &self.globals[name];
        let btf = object.btf.as_ref().expect("globals have BTF");
        let new_type = existing(btf, btf_id).map(|t| t.kind());
        if !matches!(new_type, Some(kind::VAR | kind::FUNC)) {
            return Err(format!(
                "'{name}' is neither a variable nor a function in BTF"
            ));
        }
        let known = &self.btf;
        let is_map = global
            .section
            .is_some_and(|section| self.sections[section].name == ".maps");
        let verdict = if is_map {
            compat::map_defs_match(known, global.btf_id, btf, btf_id)
        } else {
            compat::types_match(known, global.btf_id, btf, btf_id, true)
        };
        verdict.map_err(|why| {
            // The known declaration is spelled from its input's BTF while that input is being
            // added, and from its copy in the merged BTF after that (the same types, the
            // ids mapped): inputs are not kept once added.
            let known_type = if global.origin.0 == self.current_input() {
                compat::spell(Some(btf), global.origin.1)
            } else {
                compat::spell(Some(known), global.btf_id)
            };
            format!(
                "'{name}' is {} `{known_type}` in {} but {} `{}` here: {why}",
                role(global.is_extern),
                self.inputs[global.origin.0],
                role(symbol.is_extern()),
                compat::spell(Some(btf), btf_id),
            )
        })
    }

    fn push_symbol(&mut self, symbol: &InputSymbol, place: Option<(usize, u64)>) -> usize {
        let index = self.symbols.len();
        let is_section = symbol.kind() == elf::STT_SECTION.0;
        self.symbols.push(OutSymbol {
            name: symbol.name.clone(),
            info: symbol.info,
            other: symbol.other,
            section: place.map(|(section, _)| section),
            special_index: if place.is_some() { 0 } else { symbol.shndx },
            value: if is_section {
                0
            } else {
                place.map_or(0, |(_, offset)| offset) + symbol.value
            },
            size: symbol.size,
        });
        if let (true, Some((section, _))) = (is_section, place) {
            self.sections[section].section_symbol = Some(index);
        }
        index
    }
}

fn role(is_extern: bool) -> &'static str {
    if is_extern {
        "declared extern as"
    } else {
        "defined as"
    }
}

/// Where an input's BTF describes its globals: per name, in type id order, each non-static
/// `VAR` or `FUNC` of that name and each DATASEC entry listing one. Made in one pass over
/// the types, where libbpf's `find_glob_sym_btf` scans them all for every global symbol.
struct GlobalsBtf<'a> {
    /// `None` when the input has no BTF.
    by_name: Option<FastMap<&'a str, Vec<GlobalBtf<'a>>>>,
}

/// One place an input's BTF describes a global.
enum GlobalBtf<'a> {
    /// A non-static `VAR` or `FUNC`, by id.
    Type(u32),
    /// An entry of the DATASEC named `section` for the non-static `VAR` `var`.
    InDatasec { section: &'a str, var: u32 },
}

impl<'a> GlobalsBtf<'a> {
    fn of(object: &'a InputObject) -> Self {
        let Some(btf) = object.btf.as_ref() else {
            return GlobalsBtf { by_name: None };
        };
        let mut by_name: FastMap<&str, Vec<GlobalBtf>> = FastMap::default();
        for (id, t) in btf.records() {
            if is_non_static(&t) {
                let name = btf.string(t.name_off);
                by_name.entry(name).or_default().push(GlobalBtf::Type(id));
                continue;
            }
            if t.kind() != kind::DATASEC {
                continue;
            }
            let section = btf.string(t.name_off);
            for entry in t.extra.chunks_exact(3) {
                let var = entry[0];
                if let Some(v) = existing(btf, var).filter(|v| is_non_static(v)) {
                    let name = btf.string(v.name_off);
                    let place = GlobalBtf::InDatasec { section, var };
                    by_name.entry(name).or_default().push(place);
                }
            }
        }
        GlobalsBtf {
            by_name: Some(by_name),
        }
    }

    /// The BTF `VAR` or `FUNC` of the global `name`, and the DATASEC it is listed in, as
    /// `find_glob_sym_btf` picks them: the first DATASEC entry, unless a different
    /// free-standing type of the name came before it.
    fn find(&self, name: &str) -> Result<(Option<String>, u32), String> {
        let by_name = self
            .by_name
            .as_ref()
            .ok_or_else(|| format!("global '{name}' has no BTF; compile with -g"))?;
        let mut free_floating = None;
        for place in by_name.get(name).into_iter().flatten() {
            match *place {
                GlobalBtf::Type(id) => free_floating = Some(id),
                GlobalBtf::InDatasec { section, var } => {
                    if let Some(other) = free_floating.filter(|&other| other != var) {
                        return Err(format!(
                            "the BTF of global '{name}' is ambiguous: types [{other}] and \
                             [{var}] both match"
                        ));
                    }
                    return Ok((Some(section.to_string()), var));
                }
            }
        }
        free_floating
            .map(|id| (None, id))
            .ok_or_else(|| format!("global '{name}' has no BTF VAR or FUNC"))
    }
}

/// A resolved extern's `VAR` becomes a defined one; a `FUNC` becomes global and takes the
/// definition's parameter names, so that deduplication sees equal prototypes
/// (`complete_extern_btf_info`).
fn complete_extern_btf(
    merged: &mut TypeTable,
    merged_id: u32,
    source: &TypeTable,
    source_id: u32,
) -> Result<(), String> {
    let Some(source_type) = existing(source, source_id) else {
        return Ok(());
    };
    let Some(target) = existing(merged, merged_id).map(|t| t.to_raw()) else {
        return Ok(());
    };
    if target.kind() == kind::VAR {
        return merged
            .update(merged_id, |var| {
                var.extra[0] = super::input::VAR_GLOBAL_ALLOCATED;
            })
            .map_err(message);
    }
    const FUNC_GLOBAL: u32 = 1;
    merged
        .update(merged_id, |func| {
            func.info = (kind::FUNC << 24) | FUNC_GLOBAL
        })
        .map_err(message)?;
    let Some(source_proto) = existing(source, source_type.size_or_type) else {
        return Ok(());
    };
    let offsets: Vec<Option<u32>> = source_proto
        .extra
        .chunks_exact(2)
        .map(|param| (param[0] != 0).then(|| merged.add_str(source.string(param[0]))))
        .collect();
    if existing(merged, target.size_or_type).is_none() {
        return Ok(());
    }
    merged
        .update(target.size_or_type, |proto| {
            for (param, offset) in proto.extra.chunks_exact_mut(2).zip(offsets) {
                if let Some(offset) = offset {
                    param[0] = offset;
                }
            }
        })
        .map_err(message)
}
