//! Rust skeletons: the test crate (tests/rust-skel) builds its BPF programs with
//! `bpfgen::Builder`, compiles under `#![deny(warnings)]` and clippy, and its binaries load,
//! attach and see kernel events through the skeletons; its library and `events` binary also
//! build and run unchanged against libbpf-cargo's skeletons. Plus the skeleton's text:
//! deterministic, only the types it needs, size and offset assertions from BTF.

use crate::util::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `cargo <subcommand> <args>` on the test crate, in `target/<target>`.
fn cargo(target: &str, subcommand: &str, args: &[&str]) -> Command {
    test_crate_cargo("rust-skel", target, subcommand, args)
}

fn binary(target: &str, name: &str) -> PathBuf {
    repo().join("target").join(target).join("debug").join(name)
}

/// The generated skeletons of the last build in `target`.
fn generated(target: &str, file: &str) -> String {
    let build = repo().join("target").join(target).join("debug/build");
    let found = std::fs::read_dir(&build)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("out").join(file))
        .filter(|p| p.exists())
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
        .unwrap_or_else(|| panic!("no {file} under {}", build.display()));
    std::fs::read_to_string(found).unwrap()
}

#[test]
fn rust_skeletons_compile_clean_and_run_in_the_kernel() {
    const TARGET: &str = "rust-skel";
    run_ok(&mut cargo(
        TARGET,
        "clippy",
        &["--all-targets", "--", "-D", "warnings"],
    ));
    run_ok(&mut cargo(TARGET, "build", &["--bins"]));

    // Every named type of the object's BTF, as libbpf-cargo writes them: the data sections'
    // and maps' types, and the kernel types the program reads through CO-RE.
    let events = generated(TARGET, "events.skel.rs");
    for wanted in [
        "struct event ",
        "struct stats ",
        "struct bss ",
        "struct rodata ",
    ] {
        assert!(events.contains(&format!("pub {wanted}{{")), "no {wanted}");
    }
    assert!(
        events.contains("pub struct task_struct {"),
        "the CO-RE type is there, as with libbpf-cargo"
    );
    assert!(events.contains("pub struct event_kind(pub u32);"));
    // Compile-time layout checks from BTF, for every struct.
    assert!(events.contains("const _: () = assert!(std::mem::size_of::<event>() == 40);"));
    assert!(events.contains("const _: () = assert!(std::mem::offset_of!(event, comm) == 24);"));
    // The object is referenced, not inlined, and sits in `.bpf.objs`.
    assert!(events.contains("#[unsafe(link_section = \".bpf.objs\")]"));
    assert!(events.contains("*include_bytes!(\"events.bpf.o\")"));
    // A hyphenated file name gives valid names.
    assert!(generated(TARGET, "hyphen-name.skel.rs").contains("pub struct HyphenNameSkelBuilder"));

    if !kernel_available("rust_skeletons_compile_clean_and_run_in_the_kernel") {
        return;
    }
    for bin in ["events", "bitfields", "tcp_cc"] {
        let out = run_ok(&mut Command::new(binary(TARGET, bin)));
        eprintln!("{bin}: {}", String::from_utf8_lossy(&out.stdout).trim());
    }
}

#[test]
fn code_written_for_libbpf_cargo_builds_and_runs_unchanged() {
    const TARGET: &str = "rust-skel-libbpf-cargo";
    let features = ["--no-default-features", "--features", "libbpf-cargo"];
    run_ok(&mut cargo(
        TARGET,
        "build",
        &[&["--bins"][..], &features].concat(),
    ));
    let theirs = generated(TARGET, "events.skel.rs");
    assert!(
        theirs.contains("CARGO-LIBBPF-GEN"),
        "not libbpf-cargo's skeleton"
    );
    if !kernel_available("code_written_for_libbpf_cargo_builds_and_runs_unchanged") {
        return;
    }
    run_ok(&mut Command::new(binary(TARGET, "events")));
}

#[test]
fn rust_skeleton_is_deterministic_and_standalone_from_gen() {
    let dir = build_fixture("datasecs");
    let object = dir.path().join("datasecs.bpf.o");
    let generate = || {
        run_ok(
            bpfgen()
                .args(["gen", "skeleton", "--lang", "rust"])
                .arg(&object),
        )
        .stdout
    };
    let first = generate();
    assert_eq!(first, generate(), "two runs differ");
    let text = String::from_utf8(first).unwrap();
    // `gen skeleton` embeds the bytes: the skeleton stands alone.
    let bytes = std::fs::read(&object).unwrap();
    assert!(text.contains(&format!("static DATA: [u8; {}] = [", bytes.len())));
    assert!(text.contains("pub struct DatasecsSkelBuilder"));
    assert!(text.contains("pub kconfig_data: Option<&'obj types::kconfig>,"));
    assert!(text.contains("pub rodata_cfg_data: Option<&'obj types::rodata_cfg>,"));
    assert!(text.contains("pub data_custom_data: Option<&'obj mut types::data_custom>,"));
}

#[test]
fn builder_writes_where_asked_and_reports_failures() {
    let dir = scratch();
    let skeleton = dir.path().join("renamed.rs");
    let built = bpfgen::Builder::new()
        .source(fixture("hyphen-name.bpf.c"))
        .run(&skeleton)
        .unwrap();
    assert_eq!(built.skeleton.as_deref(), Some(skeleton.as_path()));
    let text = std::fs::read_to_string(&skeleton).unwrap();
    assert!(text.contains("*include_bytes!(\"hyphen-name.bpf.o\")"));
    assert!(dir.path().join("hyphen-name.bpf.o").exists());
    assert!(!dir.path().join("hyphen-name.skel.rs").exists());
    assert!(built.headers.iter().any(|h| h.ends_with("bpf_helpers.h")));

    let err = bpfgen::Builder::new()
        .source(fixture("broken.bpf.c"))
        .build_and_generate(dir.path().join("broken.skel.rs"))
        .unwrap_err();
    assert!(err.to_string().contains("broken.bpf.c"), "{err}");
    assert!(!dir.path().join("broken.skel.rs").exists());
    let err = bpfgen::Builder::new()
        .build_and_generate(dir.path().join("x.skel.rs"))
        .unwrap_err();
    assert!(err.to_string().contains("no source"), "{err}");
}

/// A build script written for libbpf-cargo's `SkeletonBuilder`, given bpfgen's under that
/// name: every call is libbpf-cargo 0.27's, unchanged.
fn libbpf_cargo_build_script(
    source: &std::path::Path,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    use bpfgen::Builder as SkeletonBuilder;
    SkeletonBuilder::new()
        .source(source)
        .obj(out.join("whole.o"))
        .clang("clang")
        .clang_args([std::ffi::OsString::from("-Wall"), "-DUNUSED=1".into()])
        .rustfmt("rustfmt")
        .reference_obj(false)
        .build_and_generate(out.join("whole.skel.rs"))?;
    // A slice of `&str`s, as libbpf-cargo's `AsRef<OsStr>` items allow.
    let args: &[&str] = &["-Wall"];
    let mut builder = SkeletonBuilder::new();
    builder
        .source(source)
        .clang_args(args)
        .obj(out.join("split.o"));
    builder.build()?;
    builder.reference_obj(true);
    builder.generate(out.join("split.skel.rs"))?;
    Ok(())
}

#[test]
fn rust_builder_takes_libbpf_cargo_skeleton_builder_calls() {
    let dir = scratch();
    libbpf_cargo_build_script(&fixture("datasecs.bpf.c"), dir.path()).unwrap();
    assert!(dir.path().join("whole.o").exists());
    let whole = std::fs::read_to_string(dir.path().join("whole.skel.rs")).unwrap();
    assert!(whole.contains("static DATA: [u8; "), "no embedded object");
    assert!(
        !whole.contains("include_bytes!"),
        "reference_obj(false) references"
    );
    assert!(whole.contains("pub struct DatasecsSkelBuilder"));
    let split = std::fs::read_to_string(dir.path().join("split.skel.rs")).unwrap();
    let obj = std::path::absolute(dir.path().join("split.o")).unwrap();
    assert!(split.contains(&format!("include_bytes!({:?})", obj.to_string_lossy())));
}

/// libbpf-cargo's `cargo-libbpf` (0.27.2), to compare with: `$LIBBPF_CARGO`, else the one
/// bench/rust-skel.sh installs.
fn libbpf_cargo_gen() -> Option<PathBuf> {
    std::env::var_os("LIBBPF_CARGO")
        .map(PathBuf::from)
        .or_else(|| Some(repo().join("target/bench-tools/bin/cargo-libbpf")))
        .filter(|path| path.exists())
}

/// The public items of a Rust skeleton, one string each: `Name` for a struct or union
/// (`types::Name` in the `types` module), `Name.field: Type` for its public fields,
/// `Name::CONST` for an enum's constants, `fn name` for public functions.
fn public_items(text: &str) -> std::collections::BTreeSet<String> {
    let mut items = std::collections::BTreeSet::new();
    let mut container = String::new();
    // The indentation of `pub mod types {` while inside it.
    let mut types_indent: Option<&str> = None;
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '#')
            .collect()
    };
    for full_line in text.lines() {
        let line = full_line.trim();
        let indent = &full_line[..full_line.len() - full_line.trim_start().len()];
        if line.starts_with("pub mod types") {
            types_indent = Some(indent);
        } else if line == "}" && types_indent == Some(indent) {
            types_indent = None;
        }
        let in_types = types_indent.is_some();
        if let Some(rest) = line
            .strip_prefix("pub struct ")
            .or_else(|| line.strip_prefix("pub union "))
        {
            container = format!("{}{}", if in_types { "types::" } else { "" }, ident(rest));
            items.insert(container.clone());
        } else if let Some(rest) = line.strip_prefix("pub fn ") {
            items.insert(format!("fn {}", ident(rest)));
        } else if let Some(rest) = line.strip_prefix("pub const ") {
            items.insert(format!("{container}::{}", ident(rest)));
        } else if let Some((field, ty)) = line
            .strip_prefix("pub ")
            .and_then(|rest| rest.strip_suffix(','))
            .and_then(|rest| rest.split_once(": "))
        {
            let ty: String = ty.split_whitespace().collect();
            items.insert(format!("{container}.{field}: {ty}"));
        }
    }
    items
}

/// libbpf-cargo 0.27.2's `cargo-libbpf`, or `None` (and a loud SKIPPED) when it is not
/// installed; under `CI` its absence is a failure (`make test` installs it).
pub fn libbpf_cargo_oracle() -> Option<PathBuf> {
    let oracle = libbpf_cargo_gen();
    if oracle.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "no cargo-libbpf: run scripts/install-libbpf-cargo.sh (make test does)"
        );
        eprintln!(
            "\n*** SKIPPED the libbpf-cargo comparison: no cargo-libbpf (set LIBBPF_CARGO or \
             run scripts/install-libbpf-cargo.sh) ***\n"
        );
    }
    oracle
}

/// How bpfgen's Rust skeleton of an object differs from libbpf-cargo's.
pub struct Differences {
    /// Public items libbpf-cargo generates and bpfgen does not.
    pub missing: Vec<String>,
    /// Public fields bpfgen adds to a type both generate (they break struct literals).
    pub extra: Vec<String>,
    /// How many public items of libbpf-cargo's were compared.
    pub compared: usize,
}

/// Both skeletons of `object` compared; `None` when libbpf-cargo cannot generate one.
pub fn libbpf_cargo_differences(oracle: &Path, object: &Path) -> Option<Differences> {
    let stem = object.file_name().unwrap().to_string_lossy();
    let theirs = run(Command::new(oracle)
        .args(["libbpf", "gen", "--object"])
        .arg(object));
    if !theirs.status.success() {
        eprintln!("{stem}: libbpf-cargo fails on it, not compared");
        return None;
    }
    let ours = run_ok(
        bpfgen()
            .args(["gen", "skeleton", "--lang", "rust"])
            .arg(object),
    );
    let ours = public_items(&String::from_utf8(ours.stdout).unwrap());
    let theirs = public_items(&String::from_utf8(theirs.stdout).unwrap());
    let compared = theirs.len();
    let mut missing = Vec::new();
    let mut extra = Vec::new();
    // One documented difference: libbpf-cargo also writes a struct for each non-data
    // section (`license`, `maps`, `struct_ops`, `struct_ops_link`) and the anonymous
    // map-definition structs `.maps` holds (`__uint`/`__type` fields: `*mut [i32; N]`).
    let mut section_types: BTreeSet<String> = ["license", "maps", "struct_ops", "struct_ops_link"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    section_types.extend(theirs.iter().filter_map(|item| {
        let (name, _) = item.strip_prefix("types::")?.split_once(".r#type: *mut")?;
        Some(name.to_string())
    }));
    // ... and what those hold (an anonymous enum of `__ulong()`), to a fixed point.
    loop {
        let held: Vec<String> = theirs
            .iter()
            .filter_map(|item| {
                let (owner, field) = item.strip_prefix("types::")?.split_once('.')?;
                let (_, ty) = field.split_once(": ")?;
                (section_types.contains(owner) && ty.starts_with("__anon_")).then(|| ty.to_string())
            })
            .filter(|ty| !section_types.contains(ty))
            .collect();
        if held.is_empty() {
            break;
        }
        section_types.extend(held);
    }
    let section_struct = |name: &str| section_types.contains(name);
    missing.extend(
        theirs
            .difference(&ours)
            .filter(|item| {
                let name = item
                    .strip_prefix("types::")
                    .map(|rest| rest.split(['.', ':']).next().unwrap_or_default());
                !name.is_some_and(section_struct)
            })
            .map(|item| format!("{stem}: {item}")),
    );
    // A public field more in a type both write would break struct literals.
    extra.extend(
        ours.difference(&theirs)
            .filter(|item| {
                item.strip_prefix("types::")
                    .and_then(|rest| rest.split_once('.'))
                    .is_some_and(|(name, _)| theirs.contains(&format!("types::{name}")))
            })
            .map(|item| format!("{stem}: {item}")),
    );
    Some(Differences {
        missing,
        extra,
        compared,
    })
}

#[test]
fn rust_skeletons_have_every_public_item_of_libbpf_cargos_and_no_more_fields() {
    let Some(oracle) = libbpf_cargo_oracle() else {
        return;
    };
    let mut objects = Vec::new();
    for entry in std::fs::read_dir(repo().join("tests/fixtures")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        // Does not compile; libbpf-cargo cannot name the skeleton of a hyphenated file.
        if let Some(stem) = name
            .strip_suffix(".bpf.c")
            .filter(|stem| !["broken", "hyphen-name"].contains(stem))
        {
            let dir = build_fixture(stem);
            objects.push((dir.path().join(format!("{stem}.bpf.o")), dir));
        }
    }
    // And the shapes of issue 18: bool, self, padding, bitfields, anonymous types.
    let dir = scratch();
    let source = repo().join("tests/rust-skel/src/bpf/dropin.bpf.c");
    objects.push((clang_object(dir.path(), &source, &["-g"]), dir));

    let mut missing = Vec::new();
    let mut extra = Vec::new();
    let mut compared = 0;
    for (object, _dir) in &objects {
        let Some(found) = libbpf_cargo_differences(&oracle, object) else {
            continue;
        };
        missing.extend(found.missing);
        extra.extend(found.extra);
        compared += found.compared;
    }
    assert!(
        extra.is_empty(),
        "bpfgen has, libbpf-cargo lacks:\n{}",
        extra.join("\n")
    );
    assert!(
        compared > 100,
        "only {compared} items of libbpf-cargo's parsed"
    );
    assert!(
        missing.is_empty(),
        "libbpf-cargo has, bpfgen lacks:\n{}",
        missing.join("\n")
    );
}

#[test]
fn builder_checks_can_be_lowered_or_skipped_from_build_rs() {
    use bpfgen::diag::{Code, Level};
    let dir = scratch();
    let source = fixture("check/printk_no_license.bpf.c");
    let err = bpfgen::Builder::new()
        .source(&source)
        .run(dir.path().join("refused.skel.rs"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Builder::check_level") && err.contains("Builder::check(false)"),
        "{err}"
    );
    bpfgen::Builder::new()
        .source(&source)
        .check_level(Code::GplOnlyHelper, Level::Warn)
        .run(dir.path().join("lowered.skel.rs"))
        .unwrap();
    bpfgen::Builder::new()
        .source(&source)
        .check(false)
        .run(dir.path().join("unchecked.skel.rs"))
        .unwrap();
    assert!(dir.path().join("unchecked.skel.rs").is_file());
}
