//! The static linker (`bpfgen gen object`, `bpfgen build --link`): a program of three files
//! links, loads and runs; the result matches `bpftool gen object` byte for byte in `.BTF` and
//! `.BTF.ext`; every error case is refused as bpftool refuses it, with a clearer message and no
//! output file.

use crate::util::*;
use bpfgen::btf::raw::kind;
use bpfgen::btf::table::TypeTable;
use object::{Object, ObjectSection, ObjectSymbol};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const LINK_FILES: [&str; 3] = ["main", "lib", "maps"];

fn link_fixture(stem: &str) -> PathBuf {
    fixture(&format!("link/{stem}.bpf.c"))
}

/// The bytes of section `name` of the object at `path`.
pub fn section(path: &Path, name: &str) -> Option<Vec<u8>> {
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&*data).unwrap();
    file.section_by_name(name)
        .map(|s| s.data().unwrap().to_vec())
}

/// The value (offset in its section) of symbol `name` of the object at `path`.
fn symbol_address(path: &Path, name: &str) -> u64 {
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let symbol = file.symbols().find(|s| s.name() == Ok(name));
    symbol
        .unwrap_or_else(|| panic!("no symbol {name}"))
        .address()
}

/// `inputs` linked by bpfgen (`ours.o`) and by bpftool (`theirs.o`) in `dir`.
fn link_both(dir: &Path, inputs: &[PathBuf]) -> (PathBuf, PathBuf) {
    let ours = dir.join("ours.o");
    let theirs = dir.join("theirs.o");
    run_ok(bpfgen().args(["gen", "object"]).arg(&ours).args(inputs));
    run_ok(
        Command::new("bpftool")
            .args(["gen", "object"])
            .arg(&theirs)
            .args(inputs),
    );
    (ours, theirs)
}

/// Asserts that the sections `names` of our linked object are bpftool's, byte for byte.
fn assert_sections_equal(ours: &Path, theirs: &Path, names: &[&str]) {
    for name in names {
        assert_eq!(
            section(ours, name),
            section(theirs, name),
            "section {name} differs from bpftool's"
        );
    }
}

/// The three link fixtures compiled by clang with BTF, in `dir`.
fn compiled_fixture(dir: &Path) -> Vec<PathBuf> {
    let include = format!("-I{}", fixture("link").display());
    LINK_FILES
        .iter()
        .map(|stem| clang_object(dir, &link_fixture(stem), &["-g", &include]))
        .collect()
}

#[test]
fn three_files_link_load_and_run_in_the_kernel() {
    let dir = scratch();
    let mut build = bpfgen();
    build
        .arg("build")
        .arg("--link")
        .arg("linked")
        .arg("-o")
        .arg(dir.path());
    build.args(LINK_FILES.map(link_fixture));
    run_ok(&mut build);
    for output in ["linked.bpf.o", "linked.skel.h", "linked.bpf.d"] {
        assert!(dir.path().join(output).exists(), "{output} missing");
    }
    for stem in LINK_FILES {
        assert!(!dir.path().join(format!("{stem}.bpf.o")).exists());
    }
    let depfile = std::fs::read_to_string(dir.path().join("linked.bpf.d")).unwrap();
    for stem in LINK_FILES {
        assert!(depfile.contains(&format!("{stem}.bpf.c")), "{depfile}");
    }
    assert!(depfile.contains("shared.h"), "{depfile}");

    let runner = dir.path().join("run_linked");
    compile_userspace(&fixture("link/run_linked.c"), dir.path(), &runner);
    if !kernel_available("three_files_link_load_and_run_in_the_kernel") {
        return;
    }
    let out = run_ok(&mut Command::new(&runner));
    let line = String::from_utf8_lossy(&out.stdout);
    // lib_add(scale(2), 1) with main's scale (x3) and lib's (x2): 2*6 + 1.
    assert_eq!(
        line.trim(),
        "value=13 calls=1 lib_counter=1 main_hits=1 lib_slot_calls=1 kernel_version_seen=yes"
    );
}

#[test]
fn linked_btf_and_btf_ext_equal_bpftool_gen_object_byte_for_byte() {
    let dir = scratch();
    let inputs = compiled_fixture(dir.path());
    let (ours, theirs) = link_both(dir.path(), &inputs);
    assert_sections_equal(
        &ours,
        &theirs,
        &[
            ".BTF",
            ".BTF.ext",
            ".text",
            "tp/syscalls/sys_enter_getpid",
            ".maps",
            ".rodata",
            "license",
        ],
    );
}

#[test]
fn linked_btf_has_no_duplicate_named_types() {
    let dir = scratch();
    let inputs = compiled_fixture(dir.path());
    let linked = dir.path().join("linked.o");
    run_ok(bpfgen().args(["gen", "object"]).arg(&linked).args(&inputs));
    let bytes = section(&linked, ".BTF").unwrap();
    let btf = TypeTable::from_bytes(&bytes, None).unwrap();
    let mut seen: BTreeMap<(u32, Vec<u8>), u32> = BTreeMap::new();
    for id in 1..btf.len() {
        let ty = btf.record(id).unwrap();
        let name = btf.string(ty.name_off).as_bytes().to_vec();
        // Static variables of one name may exist once per file; everything else is unique.
        if name.is_empty() || ty.kind() == kind::VAR {
            continue;
        }
        if let Some(first) = seen.insert((ty.kind(), name.clone()), id) {
            panic!(
                "{} '{}' appears twice: [{first}] and [{id}]",
                kind::name(ty.kind()),
                String::from_utf8_lossy(&name)
            );
        }
    }
    // The shared struct, map value type of all three files, is there once.
    assert!(seen.contains_key(&(kind::STRUCT, b"shared_slot".to_vec())));
    // Each input had its own; the merged `int` and `struct shared_slot` collapsed.
    let input_types: u32 = inputs
        .iter()
        .map(|i| {
            let input = TypeTable::from_bytes(&section(i, ".BTF").unwrap(), None).unwrap();
            input.len() - 1
        })
        .sum();
    let merged_types = btf.len() - 1;
    assert!(
        merged_types < input_types / 2,
        "{merged_types} of {input_types}"
    );
}

#[test]
fn linking_one_file_gives_the_stripped_build_and_bpftools_btf() {
    // Every example: bpfgen build's stripped object, linked alone, describes the same
    // programs, maps and globals; its BTF equals what bpftool gen object makes of it.
    let dir = scratch();
    for stem in ["minimal", "bootstrap", "tc", "struct_ops", "task_iter"] {
        let stripped = built_example(dir.path(), stem);
        let linked_dir = dir.path().join("linked");
        std::fs::create_dir_all(&linked_dir).unwrap();
        let linked = linked_dir.join(format!("{stem}.bpf.o"));
        let theirs = dir.path().join(format!("{stem}.bpftool.o"));
        run_ok(bpfgen().args(["gen", "object"]).arg(&linked).arg(&stripped));
        run_ok(
            Command::new("bpftool")
                .args(["gen", "object"])
                .arg(&theirs)
                .arg(&stripped),
        );
        // All but the BTF type count, which drops where clang emitted a type twice.
        let inspect = |path: &Path| {
            let out = run_ok(bpfgen().args(["inspect", "--json"]).arg(path)).stdout;
            let mut json: serde_json::Value = serde_json::from_slice(&out).unwrap();
            json.as_object_mut().unwrap().remove("btf");
            json
        };
        assert_eq!(
            inspect(&stripped),
            inspect(&linked),
            "{stem}: inspect differs"
        );
        for name in [".BTF", ".BTF.ext"] {
            assert_eq!(
                section(&linked, name),
                section(&theirs, name),
                "{stem}: {name} differs from bpftool's"
            );
        }
    }
}

/// One error case: source files (name, C text after the common prelude) and what must be
/// said about them, or `None` when they link.
struct Case {
    what: &'static str,
    files: &'static [(&'static str, &'static str)],
    error: Option<&'static [&'static str]>,
}

const PRELUDE: &str = "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n";
const GPL: &str = "char LICENSE[] SEC(\"license\") = \"GPL\";\n";
/// A program that reads the global `x`, so that it is used.
macro_rules! prog_reading_x {
    () => {
        "SEC(\"tp/syscalls/sys_enter_getpid\") int prog(void *ctx) { return x; }\n"
    };
}
const PROG_READS_X: &str = prog_reading_x!();

const CASES: &[Case] = &[
    Case {
        what: "two strong definitions",
        files: &[
            ("a", concat!("int x = 1;\n", prog_reading_x!())),
            ("b", "int x = 2;\n"),
        ],
        error: Some(&["b.o: 'x' is defined here and in", "a.o", "__weak"]),
    },
    Case {
        what: "a weak and a strong definition",
        files: &[
            ("a", concat!("__weak int x = 1;\n", prog_reading_x!())),
            ("b", "int x = 2;\n"),
        ],
        error: None,
    },
    Case {
        what: "an extern of another type than its definition",
        files: &[
            ("a", concat!("extern long x;\n", prog_reading_x!())),
            ("b", "int x = 2;\n"),
        ],
        error: Some(&[
            "b.o: 'x' is declared extern as `long` in",
            "a.o but defined as `int` here",
            "int sizes 8 and 4 bytes",
        ]),
    },
    Case {
        what: "an extern spelled from an input added two inputs before",
        files: &[
            (
                "a",
                "struct s { int a; };\nextern struct s *p;\n\
                 SEC(\"tp/syscalls/sys_enter_getpid\") int prog(void *ctx) { return p != 0; }\n",
            ),
            ("m", "int y = 3;\n"),
            ("b", "long p = 0;\n"),
        ],
        error: Some(&[
            "b.o: 'p' is declared extern as `struct s *` in",
            "a.o but defined as `long` here",
        ]),
    },
    Case {
        what: "an extern function of another prototype",
        files: &[
            (
                "a",
                "extern int f(int a, int b);\n\
                 SEC(\"tp/syscalls/sys_enter_getpid\") int prog(void *ctx) { return f(1, 2); }\n",
            ),
            ("b", "__noinline int f(int a) { return a; }\n"),
        ],
        error: Some(&["'f' is declared extern as", "2 and 1 parameters"]),
    },
    Case {
        what: "an extern map of another definition",
        files: &[
            (
                "a",
                "extern struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4);\n\
                 __type(key, int); __type(value, long); } m SEC(\".maps\");\n\
                 SEC(\"tp/syscalls/sys_enter_getpid\") int prog(void *ctx)\n\
                 { int k = 0; return bpf_map_lookup_elem(&m, &k) != 0; }\n",
            ),
            (
                "b",
                "struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 8);\n\
                 __type(key, int); __type(value, long); } m SEC(\".maps\");\n",
            ),
        ],
        error: Some(&["'m'", "max_entries 4 vs 8"]),
    },
];

/// Writes and compiles a case's files (each with the prelude, and a GPL license unless it has
/// one) as `<name>.o`, returning the objects.
fn compile_case(dir: &Path, case: &Case) -> Vec<PathBuf> {
    compile_files(dir, case.files)
}

/// Writes and compiles files (name, C text after the prelude; a GPL license added unless the
/// text has one) as `<name>.o`, returning the objects.
fn compile_files(dir: &Path, files: &[(&str, &str)]) -> Vec<PathBuf> {
    files
        .iter()
        .map(|(name, text)| {
            let mut source = format!("{PRELUDE}{text}");
            if !text.contains("LICENSE") {
                source.push_str(GPL);
            }
            let path = dir.join(format!("{name}.bpf.c"));
            std::fs::write(&path, source).unwrap();
            let object = clang_object(dir, &path, &["-g"]);
            let renamed = dir.join(format!("{name}.o"));
            std::fs::rename(&object, &renamed).unwrap();
            renamed
        })
        .collect()
}

/// Links with bpfgen and with bpftool; checks that both agree on whether the inputs link, and
/// that a refusal is one line with exit status 1 that leaves the previous output in place.
fn check_link_verdict(dir: &Path, what: &str, inputs: &[PathBuf], error: Option<&[&str]>) {
    let ours = dir.join("ours.bpf.o");
    let theirs = dir.join("theirs.bpf.o");
    std::fs::write(&ours, b"previous output").unwrap();
    let out = run(bpfgen().args(["gen", "object"]).arg(&ours).args(inputs));
    let bpftool = run(Command::new("bpftool")
        .args(["gen", "object"])
        .arg(&theirs)
        .args(inputs));
    assert_eq!(
        out.status.success(),
        bpftool.status.success(),
        "{what}: bpfgen and bpftool disagree:\nbpfgen: {}\nbpftool: {}",
        stderr(&out),
        stderr(&bpftool)
    );
    match error {
        None => {
            assert!(out.status.success(), "{what}: {}", stderr(&out));
            assert_ne!(std::fs::read(&ours).unwrap(), b"previous output");
        }
        Some(needles) => {
            let message = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{what}: {message}");
            assert_eq!(message.lines().count(), 1, "{what}: {message}");
            assert!(message.starts_with("bpfgen: error: "), "{what}: {message}");
            for needle in needles {
                assert!(
                    message.contains(needle),
                    "{what}: no {needle:?} in {message}"
                );
            }
            assert_eq!(
                std::fs::read(&ours).unwrap(),
                b"previous output",
                "{what}: a failed link must leave the previous output"
            );
        }
    }
}

#[test]
fn conflicting_globals_are_refused_as_bpftool_refuses_them() {
    for case in CASES {
        let dir = scratch();
        let inputs = compile_case(dir.path(), case);
        check_link_verdict(dir.path(), case.what, &inputs, case.error);
    }
}

#[test]
fn different_licenses_are_refused() {
    let dir = scratch();
    let case = Case {
        what: "GPL and MIT",
        files: &[
            ("a", "char LICENSE[] SEC(\"license\") = \"GPL\";\nint x;\n"),
            ("b", "char LICENSE[] SEC(\"license\") = \"Dual MIT/GPL\";\n"),
        ],
        error: None,
    };
    let inputs = compile_case(dir.path(), &case);
    check_link_verdict(
        dir.path(),
        case.what,
        &inputs,
        Some(&["b.o: its license \"Dual MIT/GPL\" differs", "\"GPL\""]),
    );
}

#[test]
fn mixed_byte_orders_are_refused() {
    let dir = scratch();
    let source = dir.path().join("p.bpf.c");
    std::fs::write(&source, format!("{PRELUDE}int x = 1;\n{PROG_READS_X}{GPL}")).unwrap();
    let little = clang_object(dir.path(), &source, &["-g", "-mlittle-endian"]);
    let little_copy = dir.path().join("little.o");
    std::fs::rename(&little, &little_copy).unwrap();
    let big = dir.path().join("big.o");
    run_ok(
        Command::new("clang")
            .args(["-O2", "-g", "-target", "bpfeb", "-c"])
            .args(host_clang_flags())
            .arg(&source)
            .arg("-o")
            .arg(&big),
    );
    check_link_verdict(
        dir.path(),
        "bpfel then bpfeb",
        &[little_copy, big.clone()],
        Some(&[
            "big.o: byte order mismatch",
            "big-endian (bpfeb)",
            "little.o",
        ]),
    );
    // A big-endian program links alone and stays big-endian, as with libbpf >= 1.5 (Debian's
    // bpftool 7.1 predates cross-endian linking, so it is no oracle here).
    let linked = dir.path().join("big-linked.bpf.o");
    run_ok(bpfgen().args(["gen", "object"]).arg(&linked).arg(&big));
    assert_eq!(std::fs::read(&linked).unwrap()[5], 2, "ELFDATA2MSB");
    let inspected = run_ok(bpfgen().args(["inspect", "--json"]).arg(&linked));
    assert!(String::from_utf8_lossy(&inspected.stdout).contains("\"byte_order\": \"big\""));
}

#[test]
fn many_inputs_link_as_bpftool_links_them_and_the_first_failure_is_the_one_reported() {
    // From eight inputs on, bpfgen reads inputs on a second thread ahead of the one being
    // linked: the output and the error reported must not show it.
    let dir = scratch();
    let files: Vec<(String, String)> = (0..12)
        .map(|i| {
            let text = format!(
                "int value_{i} = {i};\n\
                 struct {{ __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, {n});\n\
                 __type(key, int); __type(value, long); }} map_{i} SEC(\".maps\");\n\
                 SEC(\"tp/syscalls/sys_enter_getpid\") int prog_{i}(void *ctx)\n\
                 {{ int k = 0; return value_{i} + (bpf_map_lookup_elem(&map_{i}, &k) != 0); }}\n",
                n = i + 1
            );
            (format!("part{i}"), text)
        })
        .collect();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let inputs = compile_files(dir.path(), &files);
    let (ours, theirs) = link_both(dir.path(), &inputs);
    assert_sections_equal(
        &ours,
        &theirs,
        &[
            ".BTF",
            ".BTF.ext",
            ".maps",
            ".data",
            "tp/syscalls/sys_enter_getpid",
        ],
    );

    // The third input defines the first one's global again, and the eleventh is not an
    // object: the conflict comes first and is what is said.
    let mut broken = inputs.clone();
    let again = dir.path().join("again.bpf.c");
    std::fs::write(&again, format!("{PRELUDE}int value_0 = 5;\n{GPL}")).unwrap();
    broken[2] = clang_object(dir.path(), &again, &["-g"]);
    let text = dir.path().join("notes.o");
    std::fs::write(&text, "not an object\n").unwrap();
    broken[10] = text;
    check_link_verdict(
        dir.path(),
        "a conflict before an invalid input",
        &broken,
        Some(&["'value_0' is defined here and in", "part0.o"]),
    );
}

#[test]
fn inputs_that_are_not_bpf_objects_are_refused() {
    let dir = scratch();
    let c_source = dir.path().join("host.c");
    std::fs::write(&c_source, "int host(void) { return 1; }\n").unwrap();
    let host_object = dir.path().join("host.o");
    run_ok(
        Command::new("cc")
            .arg("-c")
            .arg(&c_source)
            .arg("-o")
            .arg(&host_object),
    );
    check_link_verdict(
        dir.path(),
        "an x86 object",
        &[host_object],
        Some(&["host.o: is not a BPF object: ELF machine is 62"]),
    );
    let text = dir.path().join("notes.o");
    std::fs::write(&text, "not an object\n").unwrap();
    check_link_verdict(
        dir.path(),
        "a text file",
        &[text],
        Some(&["notes.o: not an ELF file"]),
    );
}

#[test]
fn a_failed_link_in_build_writes_nothing() {
    let dir = scratch();
    let a = dir.path().join("a.bpf.c");
    let b = dir.path().join("b.bpf.c");
    std::fs::write(&a, format!("{PRELUDE}int x = 1;\n{PROG_READS_X}{GPL}")).unwrap();
    std::fs::write(&b, format!("{PRELUDE}int x = 2;\n{GPL}")).unwrap();
    let out = run(bpfgen()
        .args(["build", "--link", "prog", "-o"])
        .arg(dir.path().join("out"))
        .arg(&a)
        .arg(&b));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("'x' is defined here and in"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("out/prog.bpf.o").exists());
    assert!(!dir.path().join("out/prog.skel.h").exists());
}

#[test]
fn a_piece_starts_at_the_sections_alignment_as_bpftool_places_it() {
    let dir = scratch();
    let inputs: Vec<PathBuf> = ["align_first", "align_second"]
        .iter()
        .map(|stem| clang_object(dir.path(), &link_fixture(stem), &["-g"]))
        .collect();
    let (ours, theirs) = link_both(dir.path(), &inputs);
    for name in [".BTF", ".BTF.ext"] {
        assert_eq!(
            section(&ours, name),
            section(&theirs, name),
            "section {name} differs from bpftool's"
        );
    }
    assert_eq!(
        symbol_address(&ours, "second_short"),
        8,
        "5 bytes at alignment 4, then the piece"
    );
}

#[test]
fn the_same_weak_definitions_twice_keep_the_first_copy_as_bpftool_does() {
    let dir = scratch();
    let weak = clang_object(dir.path(), &link_fixture("weak_only"), &["-g"]);
    let (ours, theirs) = link_both(dir.path(), &[weak.clone(), weak]);
    assert_eq!(
        section(&ours, ".BTF"),
        section(&theirs, ".BTF"),
        "the DATASEC must name the first copy's offsets, as bpftool's does"
    );
    assert_eq!(
        symbol_address(&ours, "weak_value"),
        12,
        "the first copy: after the 12-byte table"
    );
}
