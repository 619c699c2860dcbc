//! A summary of a BPF object for people (`bpfgen inspect`) and for JSON consumers
//! (`bpfgen inspect --json`): programs, maps, data sections and their variables, externs,
//! license, BTF and `.BTF.ext` counts.

use crate::btf::dump::type_name;
use crate::btf::table::TypeTable;
use crate::error::Result;
use crate::object::{BpfObject, ByteOrder, MapKind, Variable, map_type_name};
use serde::Serialize;
use std::fmt::Write as _;

/// Everything `inspect` reports.
#[derive(Debug, Serialize)]
pub struct Report {
    /// `little` or `big`.
    pub byte_order: &'static str,
    /// The license string, if the object has one.
    pub license: Option<String>,
    /// Programs in libbpf order.
    pub programs: Vec<ProgramReport>,
    /// Maps in libbpf order.
    pub maps: Vec<MapReport>,
    /// Externs resolved at load time.
    pub externs: Vec<ExternReport>,
    /// BTF summary, if present.
    pub btf: Option<BtfReport>,
    /// `.BTF.ext` summary, if present.
    pub btf_ext: Option<BtfExtReport>,
}

/// One program.
#[derive(Debug, Serialize)]
pub struct ProgramReport {
    /// Function name.
    pub name: String,
    /// ELF section (`SEC()`).
    pub section: String,
    /// Program type libbpf derives from the section, or `unknown`.
    pub prog_type: String,
    /// Number of instructions.
    pub insns: u64,
}

/// One map.
#[derive(Debug, Serialize)]
pub struct MapReport {
    /// `bpf_map__name`.
    pub name: String,
    /// `user`, `data`, `kconfig` or `struct_ops`.
    pub kind: &'static str,
    /// Map type name (`hash`, `array`, `ringbuf`, ...).
    pub map_type: String,
    /// Key size in bytes.
    pub key_size: u64,
    /// Value size in bytes.
    pub value_size: u64,
    /// Maximum entries.
    pub max_entries: u64,
    /// Map flags.
    pub flags: u64,
    /// Variables, for data-section and kconfig maps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<VariableReport>,
}

/// One variable of a data section.
#[derive(Debug, Serialize)]
pub struct VariableReport {
    /// Name.
    pub name: String,
    /// C type.
    pub c_type: String,
    /// Offset in the section.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
    /// `static`, `global` or `extern`.
    pub linkage: &'static str,
}

/// One extern.
#[derive(Debug, Serialize)]
pub struct ExternReport {
    /// Name.
    pub name: String,
    /// `kconfig` or `ksym`.
    pub kind: &'static str,
    /// Declared `__weak`.
    pub weak: bool,
}

/// BTF counts.
#[derive(Debug, Serialize)]
pub struct BtfReport {
    /// Number of types.
    pub types: u32,
}

/// `.BTF.ext` counts.
#[derive(Debug, Serialize)]
pub struct BtfExtReport {
    /// Function records.
    pub func_info: usize,
    /// Line records.
    pub line_info: usize,
    /// CO-RE relocations.
    pub core_relocations: usize,
}

impl Report {
    /// Summarises `object`.
    pub fn new(object: &BpfObject) -> Result<Self> {
        let types = object.types.as_ref();
        let programs = object
            .programs
            .iter()
            .map(|p| ProgramReport {
                name: p.name.clone(),
                section: p.section.clone(),
                prog_type: p.sec_def.map_or("unknown", |d| d.prog_type).to_string(),
                insns: p.insn_count,
            })
            .collect();
        let mut maps = Vec::new();
        for map in &object.maps {
            let (kind, vars): (_, &[Variable]) = match &map.kind {
                MapKind::User => ("user", &[]),
                MapKind::Data { vars, .. } => ("data", vars),
                MapKind::Kconfig { vars } => ("kconfig", vars),
                MapKind::StructOps { .. } => ("struct_ops", &[]),
            };
            maps.push(MapReport {
                name: map.name.clone(),
                kind,
                map_type: map_type_name(map.def.map_type),
                key_size: map.def.key_size,
                value_size: map.def.value_size,
                max_entries: map.def.max_entries,
                flags: map.def.flags,
                variables: variable_reports(types, vars)?,
            });
        }
        Ok(Report {
            byte_order: match object.byte_order {
                ByteOrder::Little => "little",
                ByteOrder::Big => "big",
            },
            license: object.license.clone(),
            programs,
            maps,
            externs: object
                .externs
                .iter()
                .map(|e| ExternReport {
                    name: e.name.clone(),
                    kind: e.kind.name(),
                    weak: e.weak,
                })
                .collect(),
            btf: types.map(|b| BtfReport { types: b.len() - 1 }),
            btf_ext: object.btf_ext.as_ref().map(|e| BtfExtReport {
                func_info: e.func_count(),
                line_info: e.line_count(),
                core_relocations: e.core_relo_count(),
            }),
        })
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serializes")
    }

    /// The report as aligned text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let w = &mut out;
        let _ = writeln!(
            w,
            "license: {}",
            self.license.as_deref().unwrap_or("(none)")
        );
        let _ = writeln!(w, "byte order: {}", self.byte_order);
        let _ = writeln!(w, "programs: {}", self.programs.len());
        for p in &self.programs {
            let _ = writeln!(
                w,
                "  {:<24} {:<40} {:<16} {} insns",
                p.name, p.section, p.prog_type, p.insns
            );
        }
        let _ = writeln!(w, "maps: {}", self.maps.len());
        for m in &self.maps {
            let _ = writeln!(
                w,
                "  {:<24} {:<10} {:<16} key {} value {} max_entries {} flags {:#x}",
                m.name, m.kind, m.map_type, m.key_size, m.value_size, m.max_entries, m.flags
            );
            for v in &m.variables {
                let _ = writeln!(
                    w,
                    "    +{:<6} {:<8} {} {} ({} bytes)",
                    v.offset, v.linkage, v.c_type, v.name, v.size
                );
            }
        }
        if !self.externs.is_empty() {
            let _ = writeln!(w, "externs: {}", self.externs.len());
            for e in &self.externs {
                let weak = if e.weak { " (weak)" } else { "" };
                let _ = writeln!(w, "  {:<24} {}{weak}", e.name, e.kind);
            }
        }
        match &self.btf {
            Some(b) => {
                let _ = writeln!(w, "BTF: {} types", b.types);
            }
            None => {
                let _ = writeln!(w, "BTF: none");
            }
        }
        match &self.btf_ext {
            Some(e) => {
                let _ = writeln!(
                    w,
                    "BTF.ext: {} func info, {} line info, {} CO-RE relocations",
                    e.func_info, e.line_info, e.core_relocations
                );
            }
            None => {
                let _ = writeln!(w, "BTF.ext: none");
            }
        }
        out
    }
}

fn variable_reports(types: Option<&TypeTable>, vars: &[Variable]) -> Result<Vec<VariableReport>> {
    let Some(types) = types else {
        return Ok(Vec::new());
    };
    vars.iter()
        .map(|v| {
            Ok(VariableReport {
                name: v.name.clone(),
                c_type: type_name(types, v.type_id)?,
                offset: v.offset,
                size: v.size,
                linkage: v.linkage.name(),
            })
        })
        .collect()
}
