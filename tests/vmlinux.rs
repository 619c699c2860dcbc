//! `bpfgen gen vmlinux`: the header of three kernels compiles, every struct and union has the
//! size and member offsets its BTF says, objects built with it equal objects built with
//! bpftool's header, and bad BTF fails cleanly.

use crate::util::*;
use bpfgen::btf::raw::{RawType, kind};
use bpfgen::btf::table::{Kind, TypeTable};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether a value of type `id` embeds a `va_list`, whose size is the compiler's: x86 says 24
/// bytes where the BPF target says 8, so no header can reproduce the kernel's layout there.
fn embeds_va_list(table: &TypeTable, id: u32, depth: usize) -> bool {
    let ty = table.get(id).unwrap();
    if depth > 64 {
        return false;
    }
    match ty.kind {
        Kind::Typedef if matches!(table.name(ty.name), "__builtin_va_list" | "va_list") => true,
        Kind::Struct | Kind::Union => table
            .items(ty)
            .iter()
            .any(|m| embeds_va_list(table, m.target, depth + 1)),
        Kind::Typedef | Kind::Array { .. } | Kind::Const | Kind::Volatile => {
            embeds_va_list(table, ty.target, depth + 1)
        }
        _ => false,
    }
}

/// `_Static_assert`s on the size of every named struct and union and the offset of every
/// named non-bitfield member, with the numbers read from the BTF. Struct, union and enum tags
/// share one namespace in C: a name that several types share is printed with `___N`
/// suffixes, and each struct variant must then have one of their sizes. Returns the source,
/// how many types it checks, and which names it could not check.
fn layout_asserts(table: &TypeTable) -> (String, usize, Vec<String>) {
    let mut by_name: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for id in 1..table.len() {
        let ty = table.get(id).unwrap();
        let tagged = match ty.kind {
            Kind::Struct | Kind::Union => true,
            Kind::Enum { .. } | Kind::Enum64 { .. } => !table.items(ty).is_empty(),
            _ => false,
        };
        let name = table.name(ty.name);
        if tagged && !name.is_empty() {
            by_name.entry(name).or_default().push(id);
        }
    }
    let keyword = |id: u32| match table.get(id).unwrap().kind {
        Kind::Struct => Some("struct"),
        Kind::Union => Some("union"),
        _ => None,
    };
    let mut c = String::from("#include \"vmlinux.h\"\n");
    let mut count = 0;
    let mut unchecked = Vec::new();
    for (name, ids) in &by_name {
        if ids.iter().any(|&id| embeds_va_list(table, id, 0)) {
            unchecked.push(format!("{name} (va_list)"));
            continue;
        }
        let keywords: Vec<_> = ids.iter().map(|&id| keyword(id)).collect();
        match (&ids[..], keywords[0]) {
            ([id], Some(keyword)) => {
                let ty = table.get(*id).unwrap();
                let _ = writeln!(
                    c,
                    "_Static_assert(sizeof({keyword} {name}) == {}, \"{name}\");",
                    ty.size
                );
                for member in table.items(ty) {
                    let member_name = table.name(member.name);
                    if member_name.is_empty() || member.bitfield_size != 0 {
                        continue;
                    }
                    let _ = writeln!(
                        c,
                        "_Static_assert(__builtin_offsetof({keyword} {name}, {member_name}) == {}, \"{name}.{member_name}\");",
                        member.bit_offset / 8,
                    );
                }
                count += 1;
            }
            ([_], None) => {}
            (_, Some(keyword)) if keywords.iter().all(|k| *k == Some(keyword)) => {
                let sizes: Vec<String> = ids
                    .iter()
                    .map(|&id| format!("sizeof(T) == {}", table.get(id).unwrap().size))
                    .collect();
                for n in 1..=ids.len() {
                    let variant = if n == 1 {
                        name.to_string()
                    } else {
                        format!("{name}___{n}")
                    };
                    let check = sizes
                        .join(" || ")
                        .replace('T', &format!("{keyword} {variant}"));
                    let _ = writeln!(c, "_Static_assert({check}, \"{variant}\");");
                }
                count += ids.len();
            }
            _ => unchecked.push(format!("{name} (struct/union/enum tag clash)")),
        }
    }
    (c, count, unchecked)
}

#[test]
fn headers_of_three_kernels_compile_with_their_btf_layout() {
    for kernel in KERNELS {
        let btf = kernel_btf(kernel);
        let dir = scratch();
        let header = dir.path().join("vmlinux.h");
        gen_vmlinux(&btf, &header);
        let table = bpfgen::btf::source::load(&btf, None).unwrap();
        let (asserts, structs, unchecked) = layout_asserts(&table);
        assert!(structs > 5000, "{kernel}: only {structs} structs");
        assert!(
            unchecked.len() < 20,
            "{kernel}: too many unchecked: {unchecked:?}"
        );
        let source = dir.path().join("layout.c");
        std::fs::write(&source, asserts).unwrap();
        run_ok(
            Command::new("clang")
                .args(["-target", "bpf", "-fsyntax-only", "-Wno-everything", "-I"])
                .arg(dir.path())
                .arg(&source),
        );
    }
}

#[test]
fn btf_dump_and_gen_vmlinux_agree_and_are_deterministic() {
    let btf = kernel_btf("debian-12-6.1.0-56-amd64");
    let one = run_ok(bpfgen().args(["gen", "vmlinux", "--btf"]).arg(&btf)).stdout;
    let two = run_ok(bpfgen().args(["btf", "dump", "--format", "c"]).arg(&btf)).stdout;
    assert!(one == two, "gen vmlinux and btf dump differ");
    let text = String::from_utf8(one).unwrap();
    assert!(text.starts_with("#ifndef __VMLINUX_H__\n"));
    assert!(text.contains(
        "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)"
    ));
    assert!(text.contains("struct task_struct {"));
    assert!(text.ends_with("#endif /* __VMLINUX_H__ */\n"));
}

#[test]
fn header_matches_bpftool_apart_from_size_attributes() {
    // Two deliberate differences from Debian's bpftool 7.1, both attributes on a closing
    // brace: mode(byte)/mode(word) on enums whose size is not 4 (newer libbpf prints them
    // too), and packed on unions whose BTF size is not a multiple of their alignment (libbpf
    // checks only structs, which mis-sizes such unions and every struct embedding them).
    let btf = kernel_btf("debian-12-6.12.117-amd64");
    let ours =
        String::from_utf8(run_ok(bpfgen().args(["gen", "vmlinux", "--btf"]).arg(&btf)).stdout)
            .unwrap();
    let theirs = String::from_utf8(
        run_ok(
            Command::new("bpftool")
                .args(["btf", "dump", "file"])
                .arg(&btf)
                .args(["format", "c"]),
        )
        .stdout,
    )
    .unwrap();
    let mut extra_attributes = 0;
    let mut differences = Vec::new();
    assert_eq!(ours.lines().count(), theirs.lines().count());
    for (a, b) in ours.lines().zip(theirs.lines()) {
        if a == b {
            continue;
        }
        let stripped = ["mode(byte)", "mode(word)", "packed"]
            .iter()
            .any(|attr| a == format!("{} __attribute__(({attr}));", b.trim_end_matches(';')));
        if stripped {
            extra_attributes += 1;
        } else {
            differences.push((a.to_string(), b.to_string()));
        }
    }
    assert!(
        differences.is_empty(),
        "unexpected differences: {:?}",
        &differences[..differences.len().min(5)]
    );
    assert!(
        extra_attributes > 0 && extra_attributes < 100,
        "{extra_attributes} attribute lines"
    );
}

#[test]
fn objects_built_with_our_header_equal_objects_built_with_bpftools() {
    let dir = scratch();
    let include = dir.path().join("include");
    std::fs::create_dir_all(&include).unwrap();
    let build = |name: &str| {
        let out = dir.path().join(name);
        run_ok(
            bpfgen()
                .arg("build")
                .arg(example("bootstrap.bpf.c"))
                .arg("-o")
                .arg(&out)
                .arg("-I")
                .arg(&include),
        );
        std::fs::read(out.join("bootstrap.bpf.o")).unwrap()
    };
    run_ok(
        bpfgen()
            .args(["gen", "vmlinux", "-o"])
            .arg(include.join("vmlinux.h")),
    );
    let ours = build("ours");
    let theirs = run_ok(Command::new("bpftool").args([
        "btf",
        "dump",
        "file",
        "/sys/kernel/btf/vmlinux",
        "format",
        "c",
    ]));
    std::fs::write(include.join("vmlinux.h"), theirs.stdout).unwrap();
    let with_bpftool = build("theirs");
    assert!(ours == with_bpftool, "objects differ");
}

#[test]
fn bad_btf_fails_cleanly() {
    let dir = scratch();
    let good = std::fs::read(kernel_btf("debian-12-6.1.0-56-amd64")).unwrap();
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("not-btf", b"hello world, not BTF at all".to_vec()),
        ("truncated-header", good[..12].to_vec()),
        ("truncated-types", good[..good.len() / 2].to_vec()),
    ];
    // An unknown kind (31) in the first type's info word.
    let mut unknown_kind = good.clone();
    let type_off = 24 + u32::from_le_bytes(good[8..12].try_into().unwrap()) as usize;
    unknown_kind[type_off + 7] = 31;
    cases.push(("unknown-kind", unknown_kind));
    cases.push(("cycle", cyclic_btf()));
    let elf_without_btf = {
        let src = dir.path().join("x.c");
        std::fs::write(&src, "int x;\n").unwrap();
        let obj = dir.path().join("x.o");
        run_ok(Command::new("cc").arg("-c").arg(&src).arg("-o").arg(&obj));
        std::fs::read(obj).unwrap()
    };
    cases.push(("elf-without-btf", elf_without_btf));
    for (name, bytes) in cases {
        let input = dir.path().join(format!("{name}.btf"));
        std::fs::write(&input, &bytes).unwrap();
        let output = dir.path().join(format!("{name}.h"));
        let out = run(bpfgen()
            .args(["gen", "vmlinux", "--btf"])
            .arg(&input)
            .arg("-o")
            .arg(&output));
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {text}");
        assert!(!text.contains("panicked"), "{name}: {text}");
        assert_eq!(text.lines().count(), 1, "{name}: {text}");
        assert!(text.contains(&format!("{name}.btf")), "{name}: {text}");
        assert!(!output.exists(), "{name}: output written");
    }
}

/// Raw BTF with two typedefs naming each other: a cycle with no way out.
fn cyclic_btf() -> Vec<u8> {
    let mut btf = TypeTable::new();
    for (name, target) in [("a", 2), ("b", 1)] {
        let name_off = btf.add_str(name);
        btf.push(RawType {
            name_off,
            info: kind::TYPEDEF << 24,
            size_or_type: target,
            extra: Vec::new(),
        })
        .unwrap();
    }
    btf.to_bytes(false)
}

/// Builds bootstrap with its own cache; returns (object, skeleton).
fn build_bootstrap(out: &Path, cache: &Path, extra: &[&str]) -> (Vec<u8>, Vec<u8>) {
    run_ok(
        bpfgen()
            .env("BPFGEN_CACHE_DIR", cache)
            .arg("build")
            .arg(example("bootstrap.bpf.c"))
            .arg("-o")
            .arg(out)
            .args(extra),
    );
    (
        std::fs::read(out.join("bootstrap.bpf.o")).unwrap(),
        std::fs::read(out.join("bootstrap.skel.h")).unwrap(),
    )
}

fn files_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_named(&path, name));
        } else if path.file_name().is_some_and(|n| n == name) {
            found.push(path);
        }
    }
    found
}

#[test]
fn builds_generate_and_precompile_vmlinux_h_and_pch_changes_nothing() {
    if !kernel_available("builds_generate_and_precompile_vmlinux_h_and_pch_changes_nothing") {
        return;
    }
    let dir = scratch();
    let cache = dir.path().join("cache");
    let with_pch = build_bootstrap(&dir.path().join("a"), &cache, &[]);
    assert_eq!(
        files_named(&cache, "vmlinux.h").len(),
        1,
        "generated once, cached"
    );
    assert_eq!(
        files_named(&cache, "vmlinux.h.pch").len(),
        1,
        "precompiled once"
    );
    let without_pch = build_bootstrap(&dir.path().join("b"), &cache, &["--no-pch"]);
    assert!(
        with_pch == without_pch,
        "objects or skeletons differ with and without the PCH"
    );

    // A warm rebuild reuses both; a broken precompiled header falls back to plain compiling.
    let pch = files_named(&cache, "vmlinux.h.pch").remove(0);
    std::fs::write(&pch, b"not a precompiled header").unwrap();
    let fallback = build_bootstrap(&dir.path().join("c"), &cache, &[]);
    assert!(fallback == with_pch, "fallback build differs");

    // The header the build generated is the one `gen vmlinux` writes.
    let generated = std::fs::read(files_named(&cache, "vmlinux.h").remove(0)).unwrap();
    let written = run_ok(bpfgen().args(["gen", "vmlinux"])).stdout;
    assert!(generated == written);
}

#[test]
fn a_provided_vmlinux_h_is_precompiled_once_and_changes_nothing() {
    let dir = scratch();
    let cache = dir.path().join("cache");
    let include = dir.path().join("include");
    std::fs::create_dir_all(&include).unwrap();
    gen_vmlinux(
        &kernel_btf("debian-12-6.1.0-56-amd64"),
        &include.join("vmlinux.h"),
    );
    let flags = ["-I", include.to_str().unwrap()];
    let with_pch = build_bootstrap(&dir.path().join("a"), &cache, &flags);
    assert!(files_named(&cache, "vmlinux.h").is_empty(), "generated");
    assert_eq!(files_named(&cache, "vmlinux.h.pch").len(), 1);
    let again = build_bootstrap(
        &dir.path().join("b"),
        &cache,
        &[&flags[..], &["--no-cache"]].concat(),
    );
    assert_eq!(
        files_named(&cache, "vmlinux.h.pch").len(),
        1,
        "precompiled once"
    );
    let without_pch = build_bootstrap(
        &dir.path().join("c"),
        &cache,
        &[&flags[..], &["--no-cache", "--no-pch"]].concat(),
    );
    assert!(
        with_pch == again && with_pch == without_pch,
        "the PCH changes the outputs"
    );

    // Two vmlinux.h on the search path: which one clang takes is its business; no PCH.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::copy(include.join("vmlinux.h"), other.join("vmlinux.h")).unwrap();
    let ambiguous = [&flags[..], &["-I", other.to_str().unwrap(), "--no-cache"]].concat();
    std::fs::remove_dir_all(cache.join("pch")).unwrap();
    assert!(build_bootstrap(&dir.path().join("d"), &cache, &ambiguous) == with_pch);
    assert!(
        files_named(&cache, "vmlinux.h.pch").is_empty(),
        "ambiguous header precompiled"
    );
}

#[test]
fn clang_runs_with_a_huge_page_heap_unless_the_user_turns_it_off() {
    // Compiles and the precompiled header run with glibc's heap on transparent huge pages
    // (faster), added to the user's GLIBC_TUNABLES; a user who decides the tunable wins.
    // The outputs are the same bytes either way.
    let dir = scratch();
    let include = dir.path().join("include");
    std::fs::create_dir_all(&include).unwrap();
    gen_vmlinux(
        &kernel_btf("debian-12-6.1.0-56-amd64"),
        &include.join("vmlinux.h"),
    );
    let log = dir.path().join("tunables.log");
    let clang = dir.path().join("clang");
    clang_wrapper(
        &clang,
        &format!(
            "*\" -c \"*) echo \"compile $GLIBC_TUNABLES\" >> '{log}';; \
             *c-header*) echo \"pch $GLIBC_TUNABLES\" >> '{log}';;",
            log = log.display()
        ),
    );
    let build = |name: &str, tunables: &str| {
        let out = dir.path().join(name);
        run_ok(
            bpfgen()
                .env("BPFGEN_CACHE_DIR", dir.path().join(name).join("cache"))
                .env("GLIBC_TUNABLES", tunables)
                .arg("build")
                .arg("--clang")
                .arg(&clang)
                .arg("-I")
                .arg(&include)
                .arg(example("bootstrap.bpf.c"))
                .arg("-o")
                .arg(&out),
        );
        let runs = std::fs::read_to_string(&log).unwrap();
        std::fs::remove_file(&log).unwrap();
        let outputs = ["bootstrap.bpf.o", "bootstrap.skel.h"]
            .map(|file| std::fs::read(out.join(file)).unwrap());
        (runs, outputs)
    };
    let (runs, huge) = build("huge", "glibc.malloc.tcache_count=7");
    assert_eq!(
        runs,
        "pch glibc.malloc.tcache_count=7:glibc.malloc.hugetlb=1\n\
         compile glibc.malloc.tcache_count=7:glibc.malloc.hugetlb=1\n"
    );
    let (runs, plain) = build("plain", "glibc.malloc.hugetlb=0");
    assert_eq!(
        runs,
        "pch glibc.malloc.hugetlb=0\ncompile glibc.malloc.hugetlb=0\n"
    );
    assert!(huge == plain, "huge pages changed the outputs");
}

#[test]
fn a_project_header_that_brings_in_vmlinux_h_is_precompiled_when_guarded_and_silent() {
    // A tool collection's sources start with their shared header, which includes vmlinux.h
    // and the libbpf headers: precompiled in place of vmlinux.h, with the same outputs.
    let dir = scratch();
    let cache = dir.path().join("cache");
    let (include, sources) = include_and_sources(dir.path());
    let bootstrap = std::fs::read_to_string(example("bootstrap.bpf.c")).unwrap();
    let source = sources.join("bootstrap.bpf.c");
    std::fs::write(
        &source,
        bootstrap.replace("#include \"vmlinux.h\"", "#include \"common.h\""),
    )
    .unwrap();
    let header = |body: &str| std::fs::write(include.join("common.h"), body).unwrap();
    let build = |out: &str, extra: &[&str]| -> (Vec<u8>, Vec<u8>, String) {
        let out = dir.path().join(out);
        let output = run_ok(
            bpfgen()
                .env("BPFGEN_CACHE_DIR", &cache)
                .arg("build")
                .arg(&source)
                .arg("-o")
                .arg(&out)
                .args(["-I", include.to_str().unwrap()])
                .args(["-I", example("").to_str().unwrap()])
                .args(extra),
        );
        (
            std::fs::read(out.join("bootstrap.bpf.o")).unwrap(),
            std::fs::read(out.join("bootstrap.skel.h")).unwrap(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let pchs = || files_named(&cache, "common.h.pch");
    let forget_pchs = || {
        let _ = std::fs::remove_dir_all(cache.join("pch"));
    };

    header("#ifndef COMMON_H\n#define COMMON_H\n#include \"vmlinux.h\"\n#endif\n");
    let with_pch = build("a", &[]);
    let made = pchs();
    assert_eq!(made.len(), 1, "the guarded header is precompiled");
    assert!(std::fs::metadata(&made[0]).unwrap().len() > 0);
    let without_pch = build("b", &["--no-cache", "--no-pch"]);
    assert!(
        with_pch.0 == without_pch.0 && with_pch.1 == without_pch.1,
        "the PCH changes the outputs"
    );

    // #pragma once guards as well, and vmlinux.h may come through another header.
    forget_pchs();
    std::fs::write(include.join("inner.h"), "#include <vmlinux.h>\n").unwrap();
    header("#pragma once\n#include \"inner.h\"\n");
    assert_eq!(build("c", &["--no-cache"]).0, with_pch.0);
    assert_eq!(pchs().len(), 1, "a #pragma once header is precompiled");

    // Unguarded: the source's own #include would define everything twice; not precompiled.
    forget_pchs();
    header("#include \"vmlinux.h\"\n");
    assert_eq!(build("d", &["--no-cache"]).0, with_pch.0);
    assert!(pchs().is_empty(), "an unguarded header was precompiled");

    // A header with code is not precompiled: a variable it places in a section, say, would
    // get a read-only section from a precompiled header with clang 14.
    forget_pchs();
    header(
        "#pragma once\n#include \"vmlinux.h\"\n#include <bpf/bpf_helpers.h>\n\
         int shared SEC(\".data.shared\") = 1;\n",
    );
    let placed = build("g", &["--no-cache"]);
    assert!(pchs().is_empty(), "a header with code was precompiled");
    assert_eq!(placed.0, build("h", &["--no-cache", "--no-pch"]).0);

    // A warning from the header shows in every plain compile, and would vanish from
    // compiles using the precompiled header: remembered as unusable, and the warning stays.
    forget_pchs();
    header("#pragma once\n#warning \"shared header\"\n#include \"vmlinux.h\"\n");
    for out in ["e", "f"] {
        let (object, _, stderr) = build(out, &["--no-cache"]);
        assert_eq!(object, with_pch.0);
        assert!(stderr.contains("shared header"), "{stderr}");
    }
    let made = pchs();
    assert_eq!(made.len(), 1);
    assert_eq!(
        std::fs::metadata(&made[0]).unwrap().len(),
        0,
        "a header with diagnostics is not precompiled"
    );
}

/// `include/` with a vmlinux.h (of Debian 12's kernel) and an empty `src/`, in `dir`.
fn include_and_sources(dir: &Path) -> (PathBuf, PathBuf) {
    let include = dir.join("include");
    let sources = dir.join("src");
    std::fs::create_dir_all(&include).unwrap();
    std::fs::create_dir_all(&sources).unwrap();
    gen_vmlinux(
        &kernel_btf("debian-12-6.1.0-56-amd64"),
        &include.join("vmlinux.h"),
    );
    (include, sources)
}

/// Every file of `dir`, by name.
fn files_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect()
}

#[test]
fn a_cold_parallel_build_compiles_while_the_header_is_precompiled_with_the_same_outputs() {
    // Workers that find the header being precompiled by another compile plainly instead of
    // waiting or precompiling it too: objects, skeletons and dependency files must not show
    // which sources did.
    let dir = scratch();
    let (_, sources) = include_and_sources(dir.path());
    std::fs::copy(example("bootstrap.h"), sources.join("bootstrap.h")).unwrap();
    let names: Vec<String> = (1..=4).map(|i| format!("b{i}.bpf.c")).collect();
    for name in &names {
        std::fs::copy(example("bootstrap.bpf.c"), sources.join(name)).unwrap();
    }
    let out = dir.path().join("out");
    let build = |cache: &str, jobs: &str| {
        let _ = std::fs::remove_dir_all(&out);
        let output = run_ok(
            bpfgen()
                .current_dir(dir.path())
                .env("BPFGEN_CACHE_DIR", dir.path().join(cache))
                .args([
                    "build",
                    "--verbose",
                    "-j",
                    jobs,
                    "-I",
                    "include",
                    "-o",
                    "out",
                ])
                .args(names.iter().map(|n| format!("src/{n}"))),
        );
        let log = String::from_utf8_lossy(&output.stderr).into_owned();
        let plain = log
            .lines()
            .filter(|l| l.contains("running:") && !l.contains("-include-pch"))
            .count();
        assert_eq!(
            files_named(&dir.path().join(cache), "vmlinux.h.pch").len(),
            1,
            "precompiled once\n{log}"
        );
        (files_of(&out), plain)
    };
    let (one_at_a_time, plain) = build("cache-j1", "1");
    assert_eq!(plain, 0, "a -j1 build waits for its precompiled header");
    let (parallel, plain) = build("cache-j2", "2");
    eprintln!("-j2: {plain} of 4 sources compiled while the header was being precompiled");
    assert_eq!(one_at_a_time.len(), parallel.len());
    for (name, bytes) in &one_at_a_time {
        assert!(
            parallel[name] == *bytes,
            "{name} differs between -j1 and -j2"
        );
    }
}

#[test]
fn a_provided_vmlinux_h_wins_and_other_kernels_can_be_targeted() {
    let dir = scratch();
    let cache = dir.path().join("cache");
    let include = dir.path().join("include");
    std::fs::create_dir_all(&include).unwrap();
    let btf = kernel_btf("debian-12-6.1.0-56-amd64");
    gen_vmlinux(&btf, &include.join("vmlinux.h"));
    let provided = build_bootstrap(
        &dir.path().join("a"),
        &cache,
        &["-I", include.to_str().unwrap()],
    );
    assert!(
        files_named(&cache, "vmlinux.h").is_empty(),
        "generated despite -I"
    );
    let targeted = build_bootstrap(
        &dir.path().join("b"),
        &cache,
        &["--btf", btf.to_str().unwrap()],
    );
    assert!(
        provided.0 == targeted.0,
        "--btf and an equivalent -I header give different objects"
    );
}
