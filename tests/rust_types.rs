//! BTF to Rust types: the generated definitions compile without warnings, their compile-time
//! size and offset assertions hold (for fixture objects and a whole kernel), and bitfield
//! accessors put bits where C puts them.

use crate::util::*;
use bpfgen::btf::rust::{BITFIELD_HELPERS, rust_types};
use bpfgen::btf::table::{Kind, TypeTable};
use std::path::Path;
use std::process::Command;

/// Every struct, union and enum of `table` (only the named ones with `named`).
fn composites(table: &TypeTable, named: bool) -> Vec<u32> {
    (1..table.len())
        .filter(|&id| {
            let ty = table.get(id).unwrap();
            matches!(
                ty.kind,
                Kind::Struct | Kind::Union | Kind::Enum { .. } | Kind::Enum64 { .. }
            ) && (!named || !table.name(ty.name).is_empty())
        })
        .collect()
}

fn module(types: &str, main: &str) -> String {
    format!(
        "#![allow(non_camel_case_types, non_snake_case, non_upper_case_globals, dead_code)]\n\
         #![deny(warnings)]\n{BITFIELD_HELPERS}\n{types}\n{main}\n"
    )
}

fn rustc(dir: &Path, source: &str, crate_type: &str) -> std::path::PathBuf {
    let file = dir.join("types.rs");
    std::fs::write(&file, source).unwrap();
    let out = dir.join("types.out");
    run_ok(
        Command::new("rustc")
            .args(["--edition", "2021", "--crate-type", crate_type, "-O", "-o"])
            .arg(&out)
            .arg(&file),
    );
    out
}

fn object_btf(stem: &str) -> TypeTable {
    let dir = build_fixture(stem);
    let object = std::fs::read(dir.path().join(format!("{stem}.bpf.o"))).unwrap();
    let btf = bpfgen::btf::source::raw_btf(&object).unwrap().to_vec();
    TypeTable::from_bytes(&btf, None).unwrap()
}

#[test]
fn fixture_types_compile_with_their_layout() {
    for stem in ["datasecs", "tricky", "hostile", "struct_ops"] {
        let table = object_btf(stem);
        let types = rust_types(&table, &composites(&table, false)).unwrap();
        assert!(
            types.contains("const _: () = assert!(std::mem::size_of::<"),
            "{stem}"
        );
        let dir = scratch();
        rustc(dir.path(), &module(&types, ""), "lib");
    }
}

#[test]
fn a_kernels_types_compile_with_their_layout() {
    let xz = repo().join("tests/data/debian-12-6.1.0-56-amd64.btf.xz");
    let raw = run_ok(Command::new("xz").arg("-dc").arg(&xz)).stdout;
    let table = TypeTable::from_bytes(&raw, None).unwrap();
    // Every 8th named type and everything they reach: thousands of kernel types.
    let roots: Vec<u32> = composites(&table, true).into_iter().step_by(8).collect();
    let types = rust_types(&table, &roots).unwrap();
    assert!(types.matches("#[repr(C").count() > 2000, "too few types");
    let dir = scratch();
    rustc(dir.path(), &module(&types, ""), "lib");
}

#[test]
fn bitfield_accessors_match_c_layout() {
    let dir = scratch();
    let c = "struct flags { unsigned int a: 3, b: 5; unsigned short c: 9; int d; signed char e: 2; };\n";
    std::fs::write(
        dir.path().join("flags.bpf.c"),
        format!("{c}struct flags flags_var;\nchar LICENSE[] __attribute__((section(\"license\"))) = \"GPL\";\n"),
    )
    .unwrap();
    let object = dir.path().join("flags.o");
    run_ok(
        Command::new("clang")
            .args(["-g", "-O2", "-target", "bpfel", "-c"])
            .arg(dir.path().join("flags.bpf.c"))
            .arg("-o")
            .arg(&object),
    );
    let raw = std::fs::read(&object).unwrap();
    let table = TypeTable::from_bytes(bpfgen::btf::source::raw_btf(&raw).unwrap(), None).unwrap();
    let types = rust_types(&table, &composites(&table, true)).unwrap();
    assert!(
        types.contains("pub fn set_b(&mut self, value: u64)"),
        "{types}"
    );

    // The same values set in C and through the Rust setters must give the same bytes.
    let c_main = format!(
        "#include <stdio.h>\n#include <string.h>\n{c}int main(void) {{ struct flags f; memset(&f, 0, sizeof(f));\n\
         f.a = 5; f.b = 17; f.c = 300; f.d = -7; f.e = -1;\n\
         unsigned char *p = (unsigned char *)&f; for (unsigned i = 0; i < sizeof(f); i++) printf(\"%02x\", p[i]);\n\
         return 0; }}\n"
    );
    std::fs::write(dir.path().join("flags.c"), c_main).unwrap();
    let c_bin = dir.path().join("flags-c");
    run_ok(
        Command::new("cc")
            .arg(dir.path().join("flags.c"))
            .arg("-o")
            .arg(&c_bin),
    );
    let expected = String::from_utf8(run_ok(&mut Command::new(&c_bin)).stdout).unwrap();

    let rust_main = "fn main() {\n    let mut f = flags::default();\n    f.set_a(5);\n    f.set_b(17);\n    f.set_c(300);\n    f.d = -7;\n    f.set_e(0x3);\n    assert_eq!((f.a(), f.b(), f.c(), f.e()), (5, 17, 300, 3));\n    // SAFETY: reads the struct's own bytes.\n    let bytes = unsafe { std::slice::from_raw_parts((&f as *const flags).cast::<u8>(), std::mem::size_of::<flags>()) };\n    for b in bytes { print!(\"{b:02x}\"); }\n}\n";
    let bin = rustc(dir.path(), &module(&types, rust_main), "bin");
    let actual = String::from_utf8(run_ok(&mut Command::new(&bin)).stdout).unwrap();
    assert_eq!(
        actual, expected,
        "Rust and C disagree on the bitfield layout\n{types}"
    );
}

/// Code written against libbpf-cargo 0.27's types for tests/rust-skel/src/bpf/dropin.bpf.c,
/// issue 18's shapes (what it generates for that source, checked with `cargo libbpf gen`),
/// compiled unchanged against bpfgen's.
const LIBBPF_CARGO_STYLE: &str = r#"fn main() {
    let mut config = tool_config::default();
    config.verbose.write(true);
    config.slf = 1;
    let _: [bool; 2] = config.flags;
    let _ = Foo { x: 1, y: [0; 10], z: std::ptr::null_mut(), ..Default::default() };
    let _ = Foo { x: 1, y: [0; 10], z: std::ptr::null_mut() };
    let mut b = bits { __pad_0: [0; 2] };
    b.set_y(5);
    assert_eq!((b.x(), b.y()), (0, 5));
    let m = mixed {
        c: 1,
        g: 2,
        nested: __anon_mixed_1 { p: 3, __anon_mixed_3: __anon_mixed_3 { q: 4 } },
        __anon_mixed_2: __anon_mixed_2 { s: 5 },
    };
    let _ = __anon_1 { anon_a: m.g };
    assert_eq!(colour::default(), colour::RED);
    let _ = (inner::default(), __anon_mixed_3::default(), __anon_mixed_2::default());
}
"#;

#[test]
fn rust_types_take_libbpf_cargo_names_fields_and_padding() {
    let dir = scratch();
    let source = repo().join("tests/rust-skel/src/bpf/dropin.bpf.c");
    let object = clang_object(dir.path(), &source, &["-g"]);
    let raw = std::fs::read(&object).unwrap();
    let table = TypeTable::from_bytes(bpfgen::btf::source::raw_btf(&raw).unwrap(), None).unwrap();
    let types = rust_types(&table, &composites(&table, false)).unwrap();
    for absent in ["__pad_14", "__bitfield", "self_"] {
        assert!(!types.contains(absent), "{absent} in\n{types}");
    }
    let bin = rustc(dir.path(), &module(&types, LIBBPF_CARGO_STYLE), "bin");
    run_ok(&mut Command::new(&bin));
}
