//! The stripped object keeps every non-debug section byte for byte, and every relocation of
//! the sections it keeps.

use crate::util::*;
use bpfgen::compile::{CompileOptions, compile};
use bpfgen::object::strip::strip_debug;
use bpfgen::toolchain::{BpfTarget, Clang, TargetArch};
use object::{Object, ObjectSection, ObjectSymbol};
use std::collections::BTreeMap;

type Relocations = Vec<(u64, String, u32)>;

fn sections(data: &[u8]) -> BTreeMap<String, (Vec<u8>, Relocations)> {
    let file = object::File::parse(data).unwrap();
    file.sections()
        .map(|s| {
            let relocations = s
                .relocations()
                .map(|(offset, r)| {
                    let symbol = match r.target() {
                        object::RelocationTarget::Symbol(i) => {
                            file.symbol_by_index(i).unwrap().name().unwrap().to_string()
                        }
                        _ => String::new(),
                    };
                    let kind = match r.flags() {
                        object::RelocationFlags::Elf { r_type } => r_type.0,
                        _ => 0,
                    };
                    (offset, symbol, kind)
                })
                .collect();
            (
                s.name().unwrap().to_string(),
                (s.data().unwrap().to_vec(), relocations),
            )
        })
        .collect()
}

fn is_debug(name: &str) -> bool {
    name.starts_with(".debug_") || name.starts_with(".rel.debug_") || name == ".llvm_addrsig"
}

#[test]
fn stripping_keeps_every_other_section_and_relocation() {
    let clang = Clang::discover(None).unwrap();
    let opts = CompileOptions {
        arch: TargetArch::host().unwrap(),
        target: BpfTarget::Bpf,
        include_dirs: vec![vmlinux_dir().to_path_buf()],
        defines: vec![],
        extra_args: vec![],
        pch: None,
        fallback_include_dirs: vec![],
    };
    for source in [
        example("bootstrap.bpf.c"),
        fixture("datasecs.bpf.c"),
        fixture("struct_ops.bpf.c"),
    ] {
        let raw = compile(&clang, &opts, &source).outcome.unwrap().object;
        let stripped = strip_debug(&raw).unwrap();
        let before = sections(&raw);
        let after = sections(&stripped);
        for (name, content) in &before {
            if is_debug(name) {
                assert!(!after.contains_key(name), "{name} kept");
                continue;
            }
            // Rebuilt tables, and relocation sections whose bytes hold renumbered symbol
            // indices: relocations are compared by meaning with their target section.
            if matches!(name.as_str(), ".symtab" | ".strtab" | "") || name.starts_with(".rel") {
                assert!(
                    name.is_empty() || name == ".strtab" || after.contains_key(name),
                    "{name} lost"
                );
                continue;
            }
            assert_eq!(
                after.get(name),
                Some(content),
                "{}: section {name}",
                source.display()
            );
        }
        assert!(after.keys().all(|name| !is_debug(name)));
        assert!(
            stripped.len() < raw.len(),
            "{}: nothing was stripped",
            source.display()
        );
    }
}
