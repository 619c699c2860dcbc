//! Bad input and interruptions: malformed objects generated from a valid one, a build killed
//! with SIGKILL, and names that are not identifiers.

use crate::util::*;
use object::{Object, ObjectSection};
use std::path::Path;
use std::process::{Command, Output};

/// Runs bpfgen with its address space capped at 1 GiB: any allocation sized by a lying
/// header instead of by the input aborts the process, which the caller sees as a failure.
fn bounded(args: &[&str], file: &Path) -> Output {
    run(Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1048576; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_bpfgen"))
        .args(args)
        .arg(file))
}

struct Layout {
    sections: Vec<(String, usize, usize)>,
    shoff: usize,
}

fn layout(data: &[u8]) -> Layout {
    let file = object::File::parse(data).unwrap();
    let sections = file
        .sections()
        .filter_map(|s| {
            let (offset, size) = s.file_range()?;
            Some((
                s.name().unwrap().to_string(),
                offset as usize,
                size as usize,
            ))
        })
        .collect();
    Layout {
        sections,
        shoff: u64::from_le_bytes(data[40..48].try_into().unwrap()) as usize,
    }
}

fn put_u32(data: &mut [u8], at: usize, value: u32) {
    data[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn put_u64(data: &mut [u8], at: usize, value: u64) {
    data[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

/// Malformed variants of `valid`, a little-endian BPF object with BTF and .BTF.ext.
fn malformed(valid: &[u8], dir: &Path) -> Vec<(String, Vec<u8>)> {
    let lay = layout(valid);
    let section = |name: &str| {
        lay.sections
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|&(_, offset, size)| (offset, size))
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), Vec::new()),
        (
            "text".into(),
            b"#include <linux/bpf.h>\nnot an object\n".to_vec(),
        ),
        ("elf-magic-only".into(), b"\x7fELF".to_vec()),
        ("header-only".into(), valid[..64].to_vec()),
    ];
    for (target, name) in [
        ("x86_64-linux-gnu", "x86-object"),
        ("i386-linux-gnu", "32-bit-object"),
    ] {
        let src = dir.join("host.c");
        std::fs::write(&src, "int host_function(int x) { return x + 1; }\n").unwrap();
        let obj = dir.join(format!("{name}.o"));
        run_ok(
            Command::new("clang")
                .args(["-target", target, "-c"])
                .arg(&src)
                .arg("-o")
                .arg(&obj),
        );
        cases.push((name.into(), std::fs::read(&obj).unwrap()));
    }
    // Truncated at the start and in the middle of every section.
    for (name, offset, size) in &lay.sections {
        if *offset > 0 && *offset < valid.len() {
            cases.push((format!("cut-at{name}"), valid[..*offset].to_vec()));
        }
        if *size > 1 {
            cases.push((
                format!("cut-inside{name}"),
                valid[..offset + size / 2].to_vec(),
            ));
        }
    }
    let mut patch = |name: &str, edit: &dyn Fn(&mut Vec<u8>)| {
        let mut data = valid.to_vec();
        edit(&mut data);
        cases.push((name.into(), data));
    };
    patch("section-headers-outside", &|d| put_u64(d, 40, 1 << 40));
    patch("section-count-huge", &|d| {
        d[60..62].copy_from_slice(&0xfff0u16.to_le_bytes())
    });
    let (btf, _) = section(".BTF");
    let (ext, _) = section(".BTF.ext");
    patch("btf-type-len-huge", &|d| put_u32(d, btf + 12, u32::MAX));
    patch("btf-str-len-huge", &|d| put_u32(d, btf + 20, u32::MAX));
    patch("btf-str-off-huge", &|d| put_u32(d, btf + 16, u32::MAX - 8));
    patch("btf-bad-magic", &|d| d[btf] = 0);
    patch("btf-ext-func-len-huge", &|d| put_u32(d, ext + 12, u32::MAX));
    patch("btf-ext-record-count-huge", &|d| {
        let hdr_len = u32::from_le_bytes(d[ext + 4..ext + 8].try_into().unwrap()) as usize;
        let func_off = u32::from_le_bytes(d[ext + 8..ext + 12].try_into().unwrap()) as usize;
        // After the record size: the first section's name offset, then its record count.
        put_u32(d, ext + hdr_len + func_off + 8, u32::MAX);
    });
    // The first BTF type of the object: an int or a pointer; give it absurd fields.
    let first_type = |d: &[u8]| {
        let at = btf;
        let hdr_len = u32::from_le_bytes(d[at + 4..at + 8].try_into().unwrap()) as usize;
        let type_off = u32::from_le_bytes(d[at + 8..at + 12].try_into().unwrap()) as usize;
        at + hdr_len + type_off
    };
    patch("btf-name-offset-huge", &|d| {
        let t = first_type(d);
        put_u32(d, t, 0x7fff_ffff);
    });
    patch("btf-kind-unknown", &|d| {
        let t = first_type(d);
        d[t + 7] = 0x1f;
    });
    patch("btf-vlen-huge", &|d| {
        let t = first_type(d);
        put_u32(d, t + 4, (4 << 24) | 0xffff);
    });
    patch("btf-type-cycle", &|d| {
        // Every typedef/pointer-like type made to refer to itself.
        let at = btf;
        let hdr_len = u32::from_le_bytes(d[at + 4..at + 8].try_into().unwrap()) as usize;
        let type_off = u32::from_le_bytes(d[at + 8..at + 12].try_into().unwrap()) as usize;
        let type_len = u32::from_le_bytes(d[at + 12..at + 16].try_into().unwrap()) as usize;
        let (start, end) = (at + hdr_len + type_off, at + hdr_len + type_off + type_len);
        let mut offset = start;
        let mut id = 1u32;
        while offset + 12 <= end {
            let info = u32::from_le_bytes(d[offset + 4..offset + 8].try_into().unwrap());
            let kind = (info >> 24) & 0x1f;
            let vlen = (info & 0xffff) as usize;
            if matches!(kind, 2 | 8..=11) {
                put_u32(d, offset + 8, id);
            }
            offset += 12
                + match kind {
                    1 | 14 | 17 => 4,
                    3 => 12,
                    4 | 5 | 15 | 19 => 12 * vlen,
                    6 | 13 => 8 * vlen,
                    _ => 0,
                };
            id += 1;
        }
    });
    if let Some(&(_, offset, _)) = lay
        .sections
        .iter()
        .find(|(n, _, _)| n.starts_with(".reltp"))
    {
        patch("relocation-to-missing-symbol", &move |d| {
            // r_info = (symbol << 32) | type
            let info = u64::from_le_bytes(d[offset + 8..offset + 16].try_into().unwrap());
            put_u64(d, offset + 8, (0xffff_0000u64 << 32) | (info & 0xffff_ffff));
        });
    }
    let maps_index = object::File::parse(valid)
        .unwrap()
        .section_by_name(".maps")
        .unwrap()
        .index()
        .0;
    patch("maps-section-outside", &|d| {
        // The .maps section header's sh_offset, pointed past the end of the file.
        put_u64(d, lay.shoff + maps_index * 64 + 24, 1 << 40);
    });
    cases
}

#[test]
fn malformed_objects_fail_cleanly_everywhere() {
    let dir = scratch();
    let built = build_fixture("datasecs");
    let valid = std::fs::read(built.path().join("datasecs.bpf.o")).unwrap();
    let cases = malformed(&valid, dir.path());
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    for (name, bytes) in &cases {
        let name = name.replace('/', "_");
        let input = dir.path().join(format!("{name}.bpf.o"));
        std::fs::write(&input, bytes).unwrap();
        let output = dir.path().join(format!("{name}.skel.h"));
        for args in [
            vec!["inspect"],
            vec!["inspect", "--json"],
            vec!["gen", "skeleton", "-o", output.to_str().unwrap()],
        ] {
            let out = bounded(&args, &input);
            let text = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{name} {args:?}: {text}");
            assert_eq!(text.lines().count(), 1, "{name} {args:?}: {text}");
            assert!(
                text.starts_with("bpfgen: error: ") && text.contains(&format!("{name}.bpf.o")),
                "{name}: {text}"
            );
            assert!(out.stdout.is_empty(), "{name} {args:?}: printed output");
        }
        assert!(!output.exists(), "{name}: a skeleton was written");
    }
}

#[test]
fn a_killed_build_leaves_whole_files_and_no_temporaries() {
    let dir = scratch();
    let sources: Vec<_> = (0..12)
        .map(|i| {
            let source = dir.path().join(format!("prog{i}.bpf.c"));
            std::fs::copy(example("bootstrap.bpf.c"), &source).unwrap();
            source
        })
        .collect();
    std::fs::copy(example("bootstrap.h"), dir.path().join("bootstrap.h")).unwrap();
    let out = dir.path().join("out");
    let build = |define: &str, out: &Path| {
        let mut cmd = bpfgen();
        cmd.args(["build", "--no-cache", "-j", "1", "-D", define])
            .args(&sources)
            .arg("-o")
            .arg(out);
        cmd
    };
    run_ok(&mut build("VERSION=1", &out));
    let expected_new = dir.path().join("expected");
    run_ok(&mut build("VERSION=2", &expected_new));
    let mut child = build("VERSION=2", &out).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(900));
    child.kill().unwrap();
    child.wait().unwrap();
    let old = dir.path().join("old");
    run_ok(&mut build("VERSION=1", &old));
    for entry in std::fs::read_dir(&out).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(!name.starts_with('.'), "temporary file {name} left behind");
        // Dependency files name their own output directory.
        let read = |dir: &Path| {
            let text = std::fs::read(dir.join(&name)).unwrap();
            String::from_utf8_lossy(&text).replace(&*dir.to_string_lossy(), "OUT")
        };
        let now = read(&out);
        assert!(
            now == read(&old) || now == read(&expected_new),
            "{name} is neither the old nor the new file"
        );
    }
}

/// Placeholder names of hostile.bpf.c and what the test writes over them (same length or
/// shorter, NUL-padded): not identifiers, C/C++ keywords, quotes, backslashes, comment ends,
/// newlines.
const HOSTILE: &[(&str, &str)] = &[
    ("ZZtype_aaaaaaaaaa", "ty\"pe*/\nx"),
    ("ZZmember_bbbbbbbb", "new"),
    ("ZZinner_cccccccc", "in ner\\"),
    ("ZZanon_dddddddddd", "class"),
    ("ZZmap_eeeeeeeeeee", "map\"/*evil"),
    ("ZZkeyword_ffffff", "delete"),
    ("ZZvar_gggggggggggg", "1var\n\"x\""),
    ("ZZstructvar_hhhhhh", "template"),
    ("ZZsection_iiiiii", "se\"c\\"),
    ("ZZevent_jjjjjjjj", "*/ev\n"),
    ("ZZprog_kkkkkkkkkk", "pr*/og\"\\"),
];

fn overwrite_names(object: &mut [u8]) {
    for (placeholder, hostile) in HOSTILE {
        let mut replacement = hostile.as_bytes().to_vec();
        assert!(replacement.len() <= placeholder.len());
        replacement.resize(placeholder.len(), 0);
        let mut at = 0;
        let mut found = 0;
        while let Some(pos) = object[at..]
            .windows(placeholder.len())
            .position(|w| w == placeholder.as_bytes())
        {
            let start = at + pos;
            object[start..start + placeholder.len()].copy_from_slice(&replacement);
            at = start + placeholder.len();
            found += 1;
        }
        assert!(found > 0, "{placeholder} not in the object");
    }
}

#[test]
fn hostile_names_give_valid_c_that_means_the_same() {
    let built = build_fixture("hostile");
    let mut object = std::fs::read(built.path().join("hostile.bpf.o")).unwrap();
    overwrite_names(&mut object);
    let dir = scratch();
    let input = dir.path().join("we\"ird name\\.bpf.o");
    std::fs::write(&input, &object).unwrap();

    let header_path = dir.path().join("hostile.skel.h");
    run_ok(
        bpfgen()
            .args(["gen", "skeleton"])
            .arg(&input)
            .arg("-o")
            .arg(&header_path),
    );
    let header = std::fs::read_to_string(&header_path).unwrap();
    // The name the libbpf lookup uses is the exact original, escaped in a C string.
    assert!(
        header.contains(r#"map->name = "map\"/*evil";"#),
        "map name not escaped as a string"
    );
    assert!(
        header.contains(r#"s->progs[0].name = "pr*/og\"\\";"#),
        "program name not escaped"
    );
    assert!(
        header.contains("struct bpf_map *delete_;"),
        "keyword map name kept"
    );
    assert!(header.contains("struct bpf_program *pr__og__;"));
    for forbidden in ["*/og", "\nx", "ty\"pe"] {
        let outside_strings = header
            .replace(r#""pr*/og\"\\""#, "")
            .replace(r#""map\"/*evil""#, "");
        assert!(
            !outside_strings.contains(forbidden),
            "raw {forbidden:?} in the header"
        );
    }
    let tu = dir.path().join("use.c");
    std::fs::write(&tu, "struct ty_pe___x { int new_; struct { int in_ner_; } class_; };\n#include \"hostile.skel.h\"\nint main(void) { return we_ird_name__bpf__open() == 0; }\n").unwrap();
    for compiler in ["gcc", "g++"] {
        let lang = if compiler == "gcc" { "c" } else { "c++" };
        run_ok(
            Command::new(compiler)
                .args(["-Wall", "-Werror", "-fsyntax-only", "-x", lang, "-I"])
                .arg(dir.path())
                .arg(&tu),
        );
    }

    let out = run_ok(bpfgen().args(["inspect", "--json"]).arg(&input));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let names: Vec<_> = report["maps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"map\"/*evil") && names.contains(&"delete"),
        "{names:?}"
    );
}

#[test]
fn big_endian_objects_are_read_not_rejected() {
    // A bpfeb object on this little-endian host is a cross-compilation output, not malformed
    // input: libbpf (1.5+) opens either byte order, and its skeleton is for the target.
    let dir = scratch();
    run_ok(
        bpfgen()
            .args(["build", "--target", "bpfeb"])
            .arg(fixture("datasecs.bpf.c"))
            .arg("-o")
            .arg(dir.path()),
    );
    let object = dir.path().join("datasecs.bpf.o");
    assert_eq!(std::fs::read(&object).unwrap()[5], 2, "ELFDATA2MSB");
    let out = run_ok(bpfgen().args(["inspect", "--json"]).arg(&object));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["byte_order"], "big");
    assert_eq!(report["programs"].as_array().unwrap().len(), 2);
    let header = std::fs::read_to_string(dir.path().join("datasecs.skel.h")).unwrap();
    assert!(header.contains("struct datasecs_bpf__bss {"));
}

/// `object` with the value (section offset) of symbol `name` replaced by `value`.
fn with_symbol_value(object: &[u8], name: &str, value: u64) -> Vec<u8> {
    use object::{Object, ObjectSection, ObjectSymbol, ObjectSymbolTable};
    let file = object::File::parse(object).unwrap();
    let table = file.symbol_table().unwrap();
    let symbol = table.symbols().find(|s| s.name() == Ok(name)).unwrap();
    let symtab = file.section_by_name(".symtab").unwrap();
    let (start, _) = symtab.file_range().unwrap();
    // Elf64_Sym: st_name (4), st_info, st_other (1 each), st_shndx (2), st_value (8), st_size.
    let at = start as usize + symbol.index().0 * 24 + 8;
    let mut patched = object.to_vec();
    patched[at..at + 8].copy_from_slice(&value.to_le_bytes());
    patched
}

#[test]
fn variables_outside_their_section_are_refused_by_every_command() {
    let dir = scratch();
    let source = dir.path().join("vars.bpf.c");
    std::fs::write(
        &source,
        "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nint a; int *p;\n\
         SEC(\"tp/syscalls/sys_enter_getpid\") int on_getpid(void *ctx) { a++; p = &a; return 0; }\n\
         char LICENSE[] SEC(\"license\") = \"GPL\";\n",
    )
    .unwrap();
    let object = clang_object(dir.path(), &source, &["-g"]);
    let patched = dir.path().join("patched.bpf.o");
    std::fs::write(
        &patched,
        with_symbol_value(&std::fs::read(&object).unwrap(), "p", 0xffff_ffff_ffff_fff8),
    )
    .unwrap();
    for args in [
        &["inspect"][..],
        &["gen", "skeleton"],
        &["gen", "skeleton", "--lang", "rust"],
        &["gen", "subskeleton"],
    ] {
        let out = run(bpfgen().args(args).arg(&patched));
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let log = stderr(&out);
        assert!(
            log.contains("patched.bpf.o: variable 'p' at offset 18446744073709551608")
                && log.contains("lies outside section .bss"),
            "{args:?}: {log}"
        );
        assert!(!log.contains("panicked"), "{log}");
    }
    // bpftool refuses it too.
    let bpftool = run(Command::new("bpftool")
        .args(["gen", "skeleton"])
        .arg(&patched));
    assert!(!bpftool.status.success());
}

#[test]
fn a_partial_link_is_written_and_only_its_skeleton_is_refused() {
    let dir = scratch();
    let main = clang_object(dir.path(), &fixture("conformance/main.bpf.c"), &["-g"]);
    let partial = dir.path().join("partial.bpf.o");
    let out = run(bpfgen().args(["gen", "object"]).arg(&partial).arg(&main));
    assert!(out.status.success(), "{}", stderr(&out));
    run_ok(bpfgen().arg("inspect").arg(&partial));
    let skeleton = run(bpfgen().args(["gen", "skeleton"]).arg(&partial));
    assert_eq!(skeleton.status.code(), Some(1));
    assert!(
        stderr(&skeleton).contains("extern 'lib_bump' is defined in another object")
            || stderr(&skeleton).contains("is defined in another object"),
        "{}",
        stderr(&skeleton)
    );
}

/// `object` with the type id of its first CO-RE relocation record replaced by `type_id`.
fn with_first_core_relo_type(object: &[u8], type_id: u32) -> Vec<u8> {
    let lay = layout(object);
    let &(_, ext, _) = lay
        .sections
        .iter()
        .find(|(n, _, _)| n == ".BTF.ext")
        .unwrap();
    let word = |at: usize| u32::from_le_bytes(object[at..at + 4].try_into().unwrap()) as usize;
    // Header: magic, version, flags, hdr_len, then (offset, length) of the func, line and
    // CO-RE subsections; a subsection is a record size, then per ELF section its name,
    // record count and records {insn_off, type_id, access_str_off, kind}.
    let core = ext + word(ext + 4) + word(ext + 24);
    assert!(word(ext + 28) > 0, "the object has CO-RE relocations");
    let mut patched = object.to_vec();
    put_u32(&mut patched, core + 4 + 8 + 4, type_id);
    patched
}

#[test]
fn a_core_relocation_naming_no_type_is_refused_by_every_command() {
    // Found by the `package` fuzz target: the manifest spelled the relocation's root type and
    // the C declaration writer trusted the id.
    let dir = scratch();
    let object = built_example(dir.path(), "bootstrap");
    let patched = dir.path().join("patched.bpf.o");
    std::fs::write(
        &patched,
        with_first_core_relo_type(&std::fs::read(&object).unwrap(), 0x00ff_ffff),
    )
    .unwrap();
    let package = dir.path().join("package.tar");
    // `check` reports invalid BTF as finding B0403 (a warning: libbpf may load an object
    // without its BTF); everything else stops with an input error.
    for (args, exit) in [
        (&["inspect"][..], 1),
        (&["check"], 0),
        (&["gen", "skeleton"], 1),
        (
            &[
                "package",
                "--format",
                "ecli-tar",
                "-o",
                package.to_str().unwrap(),
            ],
            1,
        ),
    ] {
        let out = run(bpfgen().args(args).arg(&patched));
        assert_eq!(out.status.code(), Some(exit), "{args:?}: {}", stderr(&out));
        let log = stderr(&out);
        assert!(
            log.contains("patched.bpf.o")
                && log.contains("a CO-RE relocation record of section")
                && log.contains("names type [16777215]"),
            "{args:?}: {log}"
        );
        assert!(!log.contains("panicked"), "{log}");
    }
}

/// `bpfgen gen vmlinux | head -1`: when the reader closes the pipe, bpfgen stops writing and
/// exits 0 with nothing on stderr, as a filter does (SIGPIPE is ignored and the write error
/// ends the command quietly); its own entry point, not std's runtime, arranges that.
#[test]
fn a_reader_closing_the_pipe_ends_the_command_quietly() {
    use std::io::Read;
    let btf = kernel_btf(KERNELS[0]);
    let mut child = bpfgen()
        .args(["gen", "vmlinux", "--btf"])
        .arg(&btf)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 64];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The read end is closed here, long before the header's megabytes are written.
    let out = child.wait_with_output().unwrap();
    assert!(
        first.starts_with(b"#ifndef"),
        "{:?}",
        String::from_utf8_lossy(&first)
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

/// `-o -` is standard output, as clang takes it, not a file named `-`.
#[test]
fn dash_as_the_output_file_is_standard_output() {
    let dir = scratch();
    let btf = kernel_btf(KERNELS[0]);
    let to_stdout = run_ok(bpfgen().args(["gen", "vmlinux", "--btf"]).arg(&btf));
    let dashed = run_ok(
        bpfgen()
            .current_dir(dir.path())
            .args(["gen", "vmlinux", "-o", "-", "--btf"])
            .arg(&btf),
    );
    assert!(
        dashed.stdout == to_stdout.stdout,
        "different text on stdout"
    );
    assert!(dashed.stdout.starts_with(b"#ifndef"));
    assert!(!dir.path().join("-").exists(), "wrote a file named '-'");
}
