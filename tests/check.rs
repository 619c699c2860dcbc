//! `bpfgen check`: every rule fires on its fixture and stays quiet on clean objects, JSON
//! output matches its snapshots, exit codes, `build` running the checks, and CO-RE verdicts
//! equal to libbpf's own on three kernels.

use crate::util::*;
use bpfgen::btf::core::{Resolution, Target};
use bpfgen::check::core::verdicts;
use bpfgen::object::BpfObject;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A file under `tests/fixtures/check/`.
fn check_fixture(name: &str) -> PathBuf {
    fixture(&format!("check/{name}"))
}

/// Runs `bpfgen check --message-format json` with `args`: the exit code and the findings.
fn check_json(args: &[&std::ffi::OsStr]) -> (i32, Vec<Value>) {
    let out = run(bpfgen()
        .args(["check", "--message-format", "json"])
        .args(args));
    let findings = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    (out.status.code().unwrap_or(-1), findings)
}

/// `check_json` of a check fixture against one target BTF.
fn check_against(fixture_name: &str, btf: &Path) -> (i32, Vec<Value>) {
    check_json(&[
        check_fixture(fixture_name).as_os_str(),
        "--btf".as_ref(),
        btf.as_os_str(),
    ])
}

/// The codes of `findings`, sorted, with their counts.
fn codes(findings: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for f in findings {
        *counts
            .entry(f["code"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    counts
}

fn expect(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|&(c, n)| (c.to_string(), n)).collect()
}

/// `tests/fixtures/check/<stem>.bpf.c` built by bpfgen (no skeleton, with the extra build
/// `flags`) into a scratch directory: the directory and the object's path.
fn built_object(stem: &str, flags: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = scratch();
    run_ok(
        bpfgen()
            .args(["build", "--skel", "none", "-o"])
            .arg(dir.path())
            .args(flags)
            .arg(check_fixture(&format!("{stem}.bpf.c"))),
    );
    let object = dir.path().join(format!("{stem}.bpf.o"));
    (dir, object)
}

#[test]
fn each_rule_fires_on_its_fixture() {
    let running = kernel_btf(KERNELS[2]);
    // (fixture, expected codes with their counts, exit code)
    type Case<'a> = (&'a str, &'a [(&'a str, usize)], i32);
    let cases: &[Case] = &[
        ("unknown_section.bpf.c", &[("B0101", 1)], 1),
        ("static_program.bpf.c", &[("B0102", 1)], 1),
        ("legacy_maps.bpf.c", &[("B0103", 1)], 1),
        ("newer_section.bpf.c", &[("B0104", 1)], 0),
        ("map_field.bpf.c", &[("B0202", 1)], 1),
        ("map_definition.bpf.c", &[("B0203", 4)], 0),
        ("no_license.bpf.c", &[("B0301", 1), ("B0302", 1)], 1),
        ("license.bpf.c", &[("B0302", 3), ("B0303", 2)], 1),
        ("externs.bpf.c", &[("B0501", 1), ("B0502", 3)], 1),
    ];
    for &(name, expected, exit) in cases {
        let (code, findings) = check_against(name, &running);
        assert_eq!(codes(&findings), expect(expected), "{name}: {findings:#?}");
        assert_eq!(code, exit, "{name}");
    }
}

#[test]
fn findings_name_the_cause_and_the_line() {
    let running = kernel_btf(KERNELS[2]);
    let (_, findings) = check_against("unknown_section.bpf.c", &running);
    let notes = findings[0]["notes"].to_string();
    assert!(
        notes.contains("did you mean SEC(\\\"tracepoint/syscalls/sys_enter_getpid\\\")?"),
        "{notes}"
    );
    let (_, findings) = check_against("license.bpf.c", &running);
    let printk = findings
        .iter()
        .find(|f| f["message"].as_str().unwrap().contains("bpf_trace_printk"))
        .expect("bpf_printk is reported");
    assert_eq!(printk["location"]["line"], 19);
    assert!(
        printk["location"]["source"]
            .as_str()
            .unwrap()
            .contains("bpf_printk(\"exec %d\", pid);")
    );
    let (_, findings) = check_against("externs.bpf.c", &running);
    let weak = findings
        .iter()
        .find(|f| {
            f["message"]
                .as_str()
                .unwrap()
                .contains("bpfgen_maybe_kfunc")
        })
        .expect("the weak kfunc is reported");
    assert_eq!(weak["severity"], "warning");
}

#[test]
fn objects_without_btf_or_btf_ext_are_reported() {
    let dir = scratch();
    // BTF-defined maps without BTF: libbpf cannot open the object.
    let maps = clang_object(dir.path(), &fixture("nobtf_maps.bpf.c"), &[]);
    let (code, findings) = check_json(&[maps.as_os_str()]);
    assert_eq!(codes(&findings), expect(&[("B0201", 1)]));
    assert_eq!(code, 1);
    // No BTF at all: loadable, so a warning.
    let plain = clang_object(dir.path(), &fixture("nobtf.bpf.c"), &[]);
    let (code, findings) = check_json(&[plain.as_os_str()]);
    assert_eq!(codes(&findings), expect(&[("B0401", 1)]));
    assert_eq!(code, 0);
    // BTF without .BTF.ext.
    let full = clang_object(dir.path(), &fixture("nobtf.bpf.c"), &["-g"]);
    let (_, findings) = check_json(&[full.as_os_str()]);
    assert!(findings.is_empty(), "{findings:#?}");
    let no_ext = dir.path().join("no_ext.o");
    run_ok(
        Command::new("llvm-objcopy")
            .arg("--remove-section=.BTF.ext")
            .arg(&full)
            .arg(&no_ext),
    );
    let (code, findings) = check_json(&[no_ext.as_os_str()]);
    assert_eq!(codes(&findings), expect(&[("B0402", 1)]));
    assert_eq!(code, 0);
    // An object without code has no .BTF.ext to miss.
    let no_code = clang_object(dir.path(), &check_fixture("no_code.bpf.c"), &["-g"]);
    let (code, findings) = check_json(&[no_code.as_os_str()]);
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!(code, 0);
}

#[test]
fn dwarf_gives_the_line_when_btf_ext_is_gone() {
    let dir = scratch();
    let full = clang_object(dir.path(), &check_fixture("no_license.bpf.c"), &["-g"]);
    let no_ext = dir.path().join("no_license_no_ext.o");
    run_ok(
        Command::new("llvm-objcopy")
            .arg("--remove-section=.BTF.ext")
            .arg(&full)
            .arg(&no_ext),
    );
    let (_, findings) = check_json(&[no_ext.as_os_str()]);
    let printk = findings
        .iter()
        .find(|f| f["code"] == "B0302")
        .expect("the GPL-only helper is reported");
    assert_eq!(printk["location"]["line"], 9, "{printk:#}");
    assert_eq!(printk["location"]["column"], 2);
    assert_eq!(
        printk["location"]["file"],
        check_fixture("no_license.bpf.c").display().to_string()
    );
    assert!(
        printk["location"]["source"]
            .as_str()
            .unwrap()
            .contains("bpf_printk(\"hello\");")
    );
}

#[test]
fn broken_btf_is_reported() {
    let dir = scratch();
    let object = clang_object(dir.path(), &fixture("nobtf.bpf.c"), &["-g"]);
    let mut bytes = std::fs::read(&object).unwrap();
    // Point the first BTF type's name far past the end of the strings.
    let btf = {
        let file = object::File::parse(&*bytes).unwrap();
        use object::{Object, ObjectSection};
        let section = file.section_by_name(".BTF").unwrap();
        section.file_range().unwrap().0 as usize
    };
    let hdr_len = u32::from_le_bytes(bytes[btf + 4..btf + 8].try_into().unwrap()) as usize;
    let type_off = u32::from_le_bytes(bytes[btf + 8..btf + 12].try_into().unwrap()) as usize;
    let first_type = btf + hdr_len + type_off;
    bytes[first_type..first_type + 4].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
    let broken = dir.path().join("broken_btf.o");
    std::fs::write(&broken, &bytes).unwrap();
    let (code, findings) = check_json(&[broken.as_os_str()]);
    assert_eq!(codes(&findings), expect(&[("B0403", 1)]), "{findings:#?}");
    // libbpf goes on without BTF the kernel refuses ("BTF is optional, ignoring").
    assert_eq!(findings[0]["severity"], "warning");
    assert_eq!(code, 0);
    if kernel_available("broken_btf_is_reported") {
        let (loaded, log) = libbpf_load(&load_harness(dir.path()), &broken, &[]);
        assert!(loaded, "{log}");
        assert!(log.contains("BTF is optional, ignoring"), "{log}");
    }
}

#[test]
fn core_relocations_fail_on_old_kernels_and_pass_on_this_one() {
    let old = kernel_btf(KERNELS[0]);
    let running = kernel_btf(KERNELS[2]);
    let source = check_fixture("core_versions.bpf.c");
    let (code, findings) = check_json(&[source.as_os_str(), "--btf".as_ref(), old.as_os_str()]);
    assert_eq!(code, 1);
    // Every unguarded access of something 6.1 lacks is an error; the guarded ones are on no
    // path the verifier walks there, so they are not reported at all.
    assert_eq!(codes(&findings), expect(&[("B0601", 7)]), "{findings:#?}");
    let messages: Vec<&str> = findings
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(messages.contains(&"field task_struct->mm_cid is not in the target kernel (byte_off)"));
    assert!(
        !messages
            .iter()
            .any(|m| m.contains("task_struct___old->state")),
        "{messages:#?}"
    );
    // Accesses guarded the way real programs guard them are not errors: an existence test
    // prunes the read of the missing field; behind a LINUX_KERNEL_VERSION test (a value
    // bpfgen cannot know offline), the access is a warning.
    let guarded = check_fixture("core_guarded.bpf.c");
    let (code, findings) = check_json(&[guarded.as_os_str(), "--btf".as_ref(), old.as_os_str()]);
    assert_eq!(codes(&findings), expect(&[("B0602", 1)]), "{findings:#?}");
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .contains("task_struct->mm_cid"),
        "{findings:#?}"
    );
    assert_eq!(code, 0);
    // On the kernel it was written for, the guarded reads of removed fields are dead code.
    let (code, findings) = check_json(&[source.as_os_str(), "--btf".as_ref(), running.as_os_str()]);
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!(code, 0);
    // An ambiguous target fails the relocation outright.
    let (_dir, target) = built_object("ambiguous_target", &[]);
    let (code, findings) = check_against("ambiguous.bpf.c", &target);
    assert_eq!(codes(&findings), expect(&[("B0603", 1)]), "{findings:#?}");
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .contains("field offset ambiguity")
    );
    assert_eq!(code, 1);
}

#[test]
fn every_example_is_clean_on_three_kernels() {
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    for entry in std::fs::read_dir(repo().join("examples/c")).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".bpf.c") {
            args.push(path.into());
        }
    }
    assert!(args.len() >= 13);
    for kernel in KERNELS {
        args.push("--btf".into());
        args.push(kernel_btf(kernel).into());
    }
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let (code, findings) = check_json(&refs);
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!(code, 0);
}

/// The JSON lines of a check, with machine-specific paths replaced, against a golden file
/// (`BPFGEN_BLESS=1` rewrites it).
fn assert_snapshot(golden: &str, args: &[&std::ffi::OsStr]) {
    let out = run(bpfgen()
        .args(["check", "--message-format", "json"])
        .args(args));
    let text = String::from_utf8(out.stdout)
        .unwrap()
        .replace(env!("CARGO_TARGET_TMPDIR"), "$TMP")
        .replace(&format!("{}/", repo().display()), "");
    let path = repo().join("tests/golden").join(golden);
    if std::env::var("BPFGEN_BLESS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (BPFGEN_BLESS=1 writes it)", path.display()));
    assert_eq!(
        text, expected,
        "{golden} differs (BPFGEN_BLESS=1 rewrites it)"
    );
}

#[test]
fn json_output_matches_its_snapshots() {
    assert_snapshot(
        "check-map_definition.jsonl",
        &[check_fixture("map_definition.bpf.c").as_os_str()],
    );
    let old = kernel_btf(KERNELS[0]);
    assert_snapshot(
        "check-core_versions-6.1.jsonl",
        &[
            check_fixture("core_versions.bpf.c").as_os_str(),
            "--btf".as_ref(),
            old.as_os_str(),
        ],
    );
}

#[test]
fn exit_codes_tell_errors_from_usage() {
    let source = check_fixture("core_versions.bpf.c");
    let out = run(bpfgen()
        .arg("check")
        .arg(&source)
        .args(["--btf", "/no/such.btf"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("/no/such.btf"), "{}", stderr(&out));
    // An unusable target is a usage error before any rule runs, even for an object that has
    // no CO-RE relocation to check against it.
    let (_dir, plain) = built_object("stack_trace_sized_by_user", &[]);
    for target in ["/no/such.btf", "/etc/passwd"] {
        let out = run(bpfgen()
            .args(["check", "--message-format", "json"])
            .arg(&plain)
            .args(["--btf", target]));
        assert_eq!(out.status.code(), Some(2), "{target}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{target}: no rule ran");
        let message = stderr(&out);
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(
            message.starts_with(&format!("bpfgen: error: {target}: not a usable target")),
            "{message}"
        );
    }
    let out = run(bpfgen()
        .arg("check")
        .arg(&source)
        .args(["--message-format", "yaml"]));
    assert_eq!(out.status.code(), Some(2));
    let out = run(bpfgen().arg("check").arg("/no/such.bpf.o"));
    assert_eq!(out.status.code(), Some(2));
    let out = run(bpfgen().arg("check").arg(fixture("broken.bpf.c")));
    assert_eq!(out.status.code(), Some(1), "a source that does not compile");
}

#[test]
fn build_runs_the_checks_unless_told_not_to() {
    let dir = scratch();
    let source = check_fixture("unknown_section.bpf.c");
    let out = run(bpfgen().arg("build").arg(&source).arg("-o").arg(dir.path()));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("error[B0101]"), "{}", stderr(&out));
    assert!(!dir.path().join("unknown_section.bpf.o").exists());
    assert!(!dir.path().join("unknown_section.skel.h").exists());
    run_ok(
        bpfgen()
            .arg("build")
            .arg("--no-check")
            .arg(&source)
            .arg("-o")
            .arg(dir.path()),
    );
    assert!(dir.path().join("unknown_section.skel.h").exists());
    // Warnings are printed and do not fail the build.
    let out = run_ok(
        bpfgen()
            .arg("build")
            .arg(check_fixture("map_definition.bpf.c"))
            .arg("-o")
            .arg(dir.path()),
    );
    assert!(stderr(&out).contains("warning[B0203]"), "{}", stderr(&out));
}

/// libbpf's verdicts, from tests/fixtures/check/libbpf_core_verdicts.c loading `object`
/// with `btf` as its custom kernel BTF: "prog index" -> "matched 12" / "missing poisoned"...
pub(crate) fn libbpf_verdicts(
    harness: &Path,
    object: &Path,
    btf: &Path,
) -> BTreeMap<String, String> {
    let out = run(Command::new(harness).arg(object).arg(btf));
    assert_eq!(
        out.status.code(),
        Some(0),
        "harness failed: {}",
        stderr(&out)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let mut words = line.splitn(3, ' ');
            let key = format!("{} {}", words.next().unwrap(), words.next().unwrap());
            (key, words.next().unwrap().to_string())
        })
        .collect()
}

/// bpfgen's verdicts in the harness's terms.
fn bpfgen_verdicts(object: &BpfObject, target: &Target) -> BTreeMap<String, String> {
    verdicts(object, target)
        .into_iter()
        .map(|v| {
            let verdict = match v.resolution {
                Resolution::Resolved { value } => format!("matched {value}"),
                Resolution::Missing { value: Some(value) } => format!("missing {value}"),
                Resolution::Missing { value: None } => "missing poisoned".to_string(),
                Resolution::UnsafeAccess => "matched poisoned".to_string(),
                Resolution::Invalid(_) => "error".to_string(),
            };
            (format!("{} {}", v.function, v.index), verdict)
        })
        .collect()
}

#[test]
fn core_verdicts_equal_libbpfs_on_three_kernels() {
    if !kernel_available("core_verdicts_equal_libbpfs_on_three_kernels") {
        return;
    }
    let (dir, object_path) = built_object("core_versions", &[]);
    let bytes = std::fs::read(&object_path).unwrap();
    let object = BpfObject::parse(&bytes, "core_versions_bpf").unwrap();
    let harness = dir.path().join("libbpf_core_verdicts");
    compile_libbpf_tool(&check_fixture("libbpf_core_verdicts.c"), &harness);
    let targets: Vec<PathBuf> = KERNELS
        .iter()
        .map(|k| kernel_btf(k))
        .chain([PathBuf::from("/sys/kernel/btf/vmlinux")])
        .collect();
    let mut missing_somewhere = 0;
    for btf in &targets {
        let expected = libbpf_verdicts(&harness, &object_path, btf);
        let types = bpfgen::btf::source::load(btf, None).unwrap();
        let ours = bpfgen_verdicts(&object, &Target::new(btf.display().to_string(), types));
        assert!(
            expected.len() >= 70,
            "{}: {} relocations",
            btf.display(),
            expected.len()
        );
        assert_eq!(ours, expected, "verdicts against {}", btf.display());
        missing_somewhere += ours.values().filter(|v| v.starts_with("missing")).count();
    }
    assert!(
        missing_somewhere > 40,
        "the fixture exercises missing relocations"
    );
}

/// The libbpf loader of tests/fixtures/check/libbpf_load.c, built into `dir`.
fn load_harness(dir: &Path) -> PathBuf {
    let harness = dir.join("libbpf_load");
    compile_libbpf_tool(&check_fixture("libbpf_load.c"), &harness);
    harness
}

/// Opens and loads `object` into the running kernel with the system libbpf, after the
/// changes `settings` ask for (`-s MAP=VALUE_SIZE`, ...): whether it loaded, and everything
/// libbpf printed (verifier logs included).
fn libbpf_load(harness: &Path, object: &Path, settings: &[&str]) -> (bool, String) {
    let out = run(Command::new(harness).args(settings).arg(object));
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1 | 3)),
        "harness failed: {}",
        stderr(&out)
    );
    (code == Some(0), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn map_sizes_user_space_sets_are_warnings() {
    let (dir, object) = built_object("stack_trace_sized_by_user", &[]);
    let (code, findings) = check_json(&[object.as_os_str()]);
    assert_eq!(codes(&findings), expect(&[("B0203", 1)]), "{findings:#?}");
    assert_eq!(findings[0]["severity"], "warning");
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .ends_with("(unless user space sets value_size before load)"),
        "{findings:#?}"
    );
    assert_eq!(code, 0);
    // The build does not fail on it (built_object ran the checks).
    assert!(object.exists());
    if !kernel_available("map_sizes_user_space_sets_are_warnings") {
        return;
    }
    let harness = load_harness(dir.path());
    let (loaded, log) = libbpf_load(&harness, &object, &[]);
    assert!(!loaded, "as written, the map is refused");
    assert!(
        log.contains("map 'stackmap': failed to create: Invalid argument"),
        "{log}"
    );
    let (loaded, log) = libbpf_load(&harness, &object, &["-s", "stackmap=512"]);
    assert!(loaded, "with value_size set, it loads: {log}");
}

#[test]
fn core_reads_behind_a_type_existence_test_are_judged_per_branch() {
    let source = check_fixture("core_renamed_tracepoint.bpf.c");
    for kernel in KERNELS {
        let (code, findings) = check_against("core_renamed_tracepoint.bpf.c", &kernel_btf(kernel));
        assert!(findings.is_empty(), "{kernel}: {findings:#?}");
        assert_eq!(code, 0, "{kernel}");
    }
    // The renamed struct really is missing from one kernel or the other, so both branches
    // matter: without the existence test, the read of the missing one is an error.
    let old = kernel_btf(KERNELS[0]);
    let types = bpfgen::btf::source::load(&old, None).unwrap();
    let target = Target::new("6.1", types);
    let (dir, object_path) = built_object("core_renamed_tracepoint", &[]);
    let bytes = std::fs::read(&object_path).unwrap();
    let object = BpfObject::parse(&bytes, "core_renamed_tracepoint_bpf").unwrap();
    let poisoned = verdicts(&object, &target)
        .into_iter()
        .filter(|v| v.resolution == Resolution::Missing { value: None })
        .count();
    assert!(
        poisoned > 0,
        "{} reads a missing struct on 6.1",
        source.display()
    );
    if !kernel_available("core_reads_behind_a_type_existence_test_are_judged_per_branch") {
        return;
    }
    // It loads on this kernel, and (CO-RE against 6.1's BTF) with 6.1's layout too.
    let harness = load_harness(dir.path());
    let (loaded, log) = libbpf_load(&harness, &object_path, &[]);
    assert!(loaded, "{log}");
    let old = old.display().to_string();
    let (loaded, log) = libbpf_load(&harness, &object_path, &["-b", &old]);
    assert!(loaded, "{log}");
}

#[test]
fn core_reads_behind_rodata_settings_are_warnings() {
    let old = kernel_btf(KERNELS[0]);
    let (code, findings) = check_against("core_rodata_guard.bpf.c", &old);
    assert_eq!(
        codes(&findings),
        expect(&[("B0601", 1), ("B0602", 2)]),
        "{findings:#?}"
    );
    let lines = |code: &str| -> Vec<u64> {
        findings
            .iter()
            .filter(|f| f["code"] == code)
            .map(|f| f["location"]["line"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(lines("B0601"), [32], "the unguarded read");
    assert_eq!(
        lines("B0602"),
        [21, 23],
        "the reads behind .rodata settings"
    );
    assert_eq!(code, 1);
    if !kernel_available("core_reads_behind_rodata_settings_are_warnings") {
        return;
    }
    // With 6.1's BTF, the unguarded read is refused; with the settings left off, the guarded
    // reads are pruned and the program loads.
    let (dir, object) = built_object("core_rodata_guard", &[]);
    let harness = load_harness(dir.path());
    let old = old.display().to_string();
    let (loaded, log) = libbpf_load(&harness, &object, &["-b", &old]);
    assert!(!loaded);
    assert!(
        log.contains("prog 'unconfigured': BPF program load failed"),
        "{log}"
    );
    let (loaded, log) = libbpf_load(&harness, &object, &["-b", &old, "-n", "unconfigured"]);
    assert!(loaded, "{log}");
}

#[test]
fn unguarded_core_reads_of_missing_fields_are_refused() {
    let (dir, object) = built_object("core_missing_field", &["--no-check"]);
    let running = Path::new("/sys/kernel/btf/vmlinux");
    let target = if running.exists() {
        running.to_path_buf()
    } else {
        kernel_btf(KERNELS[2])
    };
    let (code, findings) = check_json(&[object.as_os_str(), "--btf".as_ref(), target.as_os_str()]);
    assert_eq!(codes(&findings), expect(&[("B0601", 1)]), "{findings:#?}");
    assert_eq!(code, 1);
    if !kernel_available("unguarded_core_reads_of_missing_fields_are_refused") {
        return;
    }
    let (loaded, log) = libbpf_load(&load_harness(dir.path()), &object, &[]);
    assert!(!loaded);
    assert!(
        log.contains("failed to resolve CO-RE relocation <byte_off>"),
        "{log}"
    );
}

/// One error code on an object libbpf refuses: the object, `check`'s target BTF, extra
/// loader arguments, and what libbpf says when it refuses.
struct Refusal {
    code: &'static str,
    object: PathBuf,
    target: Option<PathBuf>,
    loader_args: Vec<String>,
    libbpf_says: &'static str,
}

#[test]
fn every_error_is_a_refusal_on_this_kernel() {
    let dir = scratch();
    let running = kernel_btf(KERNELS[2]);
    let vmlinux = format!("-I{}", vmlinux_dir().display());
    let compiled = |sub: &str, source: PathBuf, flags: &[&str]| {
        let out = dir.path().join(sub);
        std::fs::create_dir_all(&out).unwrap();
        clang_object(&out, &source, flags)
    };
    let truncated = dir.path().join("truncated.o");
    let whole = std::fs::read(compiled("whole", fixture("nobtf.bpf.c"), &["-g"])).unwrap();
    std::fs::write(&truncated, &whole[..100]).unwrap();
    let (_target_dir, ambiguous_target) = built_object("ambiguous_target", &[]);
    let case = |code, object, libbpf_says| Refusal {
        code,
        object,
        target: None,
        loader_args: Vec::new(),
        libbpf_says,
    };
    let cases = [
        case("B0001", truncated, "elf: failed to get section names"),
        case(
            "B0101",
            compiled("b0101", check_fixture("unknown_section.bpf.c"), &["-g"]),
            "missing BPF prog type, check ELF section name 'tracepont/",
        ),
        case(
            "B0102",
            compiled("b0102", check_fixture("static_program.bpf.c"), &["-g"]),
            "program 'hidden_program' is static and not supported",
        ),
        case(
            "B0103",
            compiled("b0103", check_fixture("legacy_maps.bpf.c"), &["-g"]),
            "legacy map definitions in 'maps' section are not supported",
        ),
        case(
            "B0201",
            compiled("b0201", fixture("nobtf_maps.bpf.c"), &[]),
            "BTF is required, but is missing or corrupted",
        ),
        case(
            "B0202",
            compiled("b0202", check_fixture("map_field.bpf.c"), &["-g"]),
            "map 'typo': unknown field 'max_entires'",
        ),
        case(
            "B0302",
            compiled("b0302", check_fixture("no_license.bpf.c"), &["-g"]),
            "cannot call GPL-restricted function from non-GPL compatible program",
        ),
        case(
            "B0303",
            compiled("b0303", check_fixture("license.bpf.c"), &["-g", &vmlinux]),
            "cannot call kernel function from non-GPL compatible program",
        ),
        case(
            "B0501",
            compiled("b0501", check_fixture("externs.bpf.c"), &["-g", &vmlinux]),
            "extern (kcfg) 'CONFIG_BPFGEN_POINTER': type is unsupported",
        ),
        Refusal {
            target: Some(running.clone()),
            ..case(
                "B0502",
                compiled(
                    "b0502",
                    check_fixture("externs.bpf.c"),
                    &["-g", &vmlinux, "-DKSYMS_ONLY"],
                ),
                "extern (var ksym) 'bpfgen_no_such_counter': not found in kernel BTF",
            )
        },
        Refusal {
            target: Some(running.clone()),
            ..case(
                "B0601",
                compiled("b0601", check_fixture("core_missing_field.bpf.c"), &["-g"]),
                "failed to resolve CO-RE relocation <byte_off>",
            )
        },
        Refusal {
            target: Some(ambiguous_target.clone()),
            loader_args: vec!["-b".into(), ambiguous_target.display().to_string()],
            ..case(
                "B0603",
                compiled("b0603", check_fixture("ambiguous.bpf.c"), &["-g"]),
                "relo #0: field offset ambiguity",
            )
        },
    ];
    let kernel = kernel_available("every_error_is_a_refusal_on_this_kernel");
    let harness = kernel.then(|| load_harness(dir.path()));
    for refusal in &cases {
        let mut args = vec![refusal.object.clone().into_os_string()];
        if let Some(target) = &refusal.target {
            args.extend(["--btf".into(), target.clone().into_os_string()]);
        }
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let (code, findings) = check_json(&refs);
        assert!(
            findings
                .iter()
                .any(|f| f["code"] == refusal.code && f["severity"] == "error"),
            "{}: {findings:#?}",
            refusal.code
        );
        assert_eq!(code, 1, "{}", refusal.code);
        let Some(harness) = &harness else { continue };
        let loader_args: Vec<&str> = refusal.loader_args.iter().map(String::as_str).collect();
        let (loaded, log) = libbpf_load(harness, &refusal.object, &loader_args);
        assert!(!loaded, "{}: libbpf loaded it", refusal.code);
        assert!(
            log.contains(refusal.libbpf_says),
            "{}: libbpf said\n{log}",
            refusal.code
        );
    }
}

#[test]
fn findings_point_at_the_line_that_says_it() {
    let running = kernel_btf(KERNELS[2]);
    // (fixture, code, line, text on it)
    let cases = [
        ("unknown_section.bpf.c", "B0101", 8, "SEC(\"tracepont/"),
        ("newer_section.bpf.c", "B0104", 8, "SEC(\"tcx/ingress\")"),
        (
            "static_program.bpf.c",
            "B0102",
            9,
            "int hidden_program(void *ctx)",
        ),
        // clang's line table puts this read on the bpf_get_current_task() line.
        (
            "core_missing_field.bpf.c",
            "B0601",
            20,
            "bpfgen_no_such_field);",
        ),
    ];
    for (name, code, line, text) in cases {
        let (_, findings) = check_against(name, &running);
        let finding = findings
            .iter()
            .find(|f| f["code"] == code)
            .unwrap_or_else(|| panic!("{name}: no {code} in {findings:#?}"));
        assert_eq!(finding["location"]["line"], line, "{name}: {finding:#}");
        let source = finding["location"]["source"].as_str().unwrap();
        assert!(source.contains(text), "{name}: {source}");
        let column = finding["location"]["column"].as_u64().unwrap() as usize;
        assert!(column >= 1 && source.len() >= column, "{name}: {finding:#}");
    }
}

#[test]
fn one_run_reports_every_finding() {
    let (code, findings) = check_json(&[check_fixture("many_findings.bpf.c").as_os_str()]);
    assert_eq!(
        codes(&findings),
        expect(&[("B0101", 1), ("B0102", 1), ("B0104", 1)]),
        "{findings:#?}"
    );
    assert_eq!(code, 1);
    let lines: Vec<u64> = findings
        .iter()
        .map(|f| f["location"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [11, 16, 22], "errors by line, then the warning");
}

#[test]
fn codes_can_be_allowed_warned_or_denied() {
    let source = check_fixture("map_definition.bpf.c");
    let with = |flags: &[&str]| {
        let mut args = vec![source.as_os_str()];
        args.extend(flags.iter().map(std::ffi::OsStr::new));
        check_json(&args)
    };
    let (code, findings) = with(&["--deny", "warnings"]);
    assert_eq!(codes(&findings), expect(&[("B0203", 4)]));
    assert!(findings.iter().all(|f| f["severity"] == "error"));
    assert_eq!(code, 1);
    let (code, findings) = with(&["--deny", "warnings", "--warn", "map-definition"]);
    assert!(findings.iter().all(|f| f["severity"] == "warning"));
    assert_eq!(code, 0);
    let (code, findings) = with(&["--allow", "B0203"]);
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!(code, 0);
    let out = run(bpfgen().arg("check").arg(&source).args(["--deny", "B0999"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown check code 'B0999'"));
    // build takes the same flags: denied warnings fail it, an allowed error does not.
    let dir = scratch();
    let out = run(bpfgen()
        .args(["build", "--skel", "none", "--deny", "warnings", "-o"])
        .arg(dir.path())
        .arg(&source));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("error[B0203]"), "{}", stderr(&out));
    run_ok(
        bpfgen()
            .args(["build", "--skel", "none", "--allow", "B0101", "-o"])
            .arg(dir.path())
            .arg(check_fixture("unknown_section.bpf.c")),
    );
}

#[test]
fn newer_sections_are_judged_against_the_libbpf_that_loads_them() {
    let source = check_fixture("newer_section.bpf.c");
    let with = |flags: &[&std::ffi::OsStr]| {
        let mut args = vec![source.as_os_str()];
        args.extend_from_slice(flags);
        check_json(&args)
    };
    // Debian 12's libbpf-dev is 1.1: tcx arrived in 1.3.
    let (code, findings) = with(&[]);
    assert_eq!(codes(&findings), expect(&[("B0104", 1)]), "{findings:#?}");
    let notes = findings[0]["notes"].to_string();
    assert!(
        notes.contains("libbpf 1.1 (from /usr/include/bpf/libbpf_version.h"),
        "{notes}"
    );
    assert_eq!(code, 0);
    let (_, findings) = with(&["--libbpf-version".as_ref(), "1.3".as_ref()]);
    assert!(findings.is_empty(), "{findings:#?}");
    // The include path's libbpf_version.h wins over the system's.
    let dir = scratch();
    std::fs::create_dir_all(dir.path().join("bpf")).unwrap();
    std::fs::write(
        dir.path().join("bpf/libbpf_version.h"),
        "#define LIBBPF_MAJOR_VERSION 1\n#define LIBBPF_MINOR_VERSION 4\n",
    )
    .unwrap();
    let (_, findings) = with(&["-I".as_ref(), dir.path().as_os_str()]);
    assert!(findings.is_empty(), "{findings:#?}");
    let out = run(bpfgen()
        .arg("check")
        .arg(&source)
        .args(["--libbpf-version", "one"]));
    assert_eq!(out.status.code(), Some(2));
    // What libbpf 1.1 says.
    if !kernel_available("newer_sections_are_judged_against_the_libbpf_that_loads_them") {
        return;
    }
    let object = clang_object(dir.path(), &source, &["-g"]);
    let (loaded, log) = libbpf_load(&load_harness(dir.path()), &object, &[]);
    assert!(!loaded);
    assert!(
        log.contains("missing BPF prog type, check ELF section name 'tcx/ingress'"),
        "{log}"
    );
}

#[test]
fn programs_user_space_must_enable_only_warn() {
    let (code, findings) = check_json(&[check_fixture("optional_program.bpf.c").as_os_str()]);
    assert_eq!(codes(&findings), expect(&[("B0302", 1)]), "{findings:#?}");
    assert_eq!(findings[0]["severity"], "warning");
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .contains("unless user space turns on the autoload"),
        "{findings:#?}"
    );
    assert_eq!(code, 0);
    if !kernel_available("programs_user_space_must_enable_only_warn") {
        return;
    }
    let dir = scratch();
    let object = clang_object(
        dir.path(),
        &check_fixture("optional_program.bpf.c"),
        &["-g"],
    );
    let (loaded, log) = libbpf_load(&load_harness(dir.path()), &object, &[]);
    assert!(loaded, "{log}");
}

#[test]
fn build_reports_every_finding_too() {
    let dir = scratch();
    let out = run(bpfgen()
        .args(["build", "--skel", "none", "-o"])
        .arg(dir.path())
        .arg(check_fixture("many_findings.bpf.c")));
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    for finding in [
        "many_findings.bpf.c:11:34: error[B0102]",
        "many_findings.bpf.c:16:5: error[B0101]",
        "many_findings.bpf.c:22:5: warning[B0104]",
    ] {
        assert!(text.contains(finding), "{finding} in\n{text}");
    }
}

#[test]
fn what_a_target_kernel_lacks_is_reported_per_target() {
    let sources = |findings: &[Value], code: &str| -> Vec<String> {
        findings
            .iter()
            .filter(|f| f["code"] == code)
            .map(|f| f["location"]["source"].as_str().unwrap().trim().to_string())
            .collect()
    };
    let (code, findings) = check_against("kernel_lacks.bpf.c", &kernel_btf(KERNELS[0]));
    assert_eq!(
        codes(&findings),
        expect(&[("B0105", 2), ("B0106", 2)]),
        "{findings:#?}"
    );
    assert!(
        findings
            .iter()
            .all(|f| (f["code"] == "B0105") == (f["severity"] == "warning")),
        "attach targets warn, helpers fail: {findings:#?}"
    );
    assert_eq!(
        sources(&findings, "B0105"),
        [
            "SEC(\"tp_btf/bpfgen_no_such_tracepoint\")",
            "SEC(\"fentry/bpfgen_no_such_function\")"
        ]
    );
    // The guarded call of bpf_cgrp_storage_get is pruned on 6.1; the unguarded one is not.
    assert_eq!(
        sources(&findings, "B0106"),
        [
            "return no_such_helper() & 1;",
            "return cgrp_storage_get(0, 0, 0, 0) & 1;"
        ]
    );
    assert_eq!(code, 1);
    let (_, findings) = check_against("kernel_lacks.bpf.c", &kernel_btf(KERNELS[2]));
    assert_eq!(
        codes(&findings),
        expect(&[("B0105", 2), ("B0106", 1)]),
        "{findings:#?}"
    );
    if !kernel_available("what_a_target_kernel_lacks_is_reported_per_target") {
        return;
    }
    let dir = scratch();
    let object = clang_object(dir.path(), &check_fixture("kernel_lacks.bpf.c"), &["-g"]);
    let harness = load_harness(dir.path());
    let programs = [
        "on_no_tracepoint",
        "on_no_function",
        "call_no_helper",
        "call_new_helper",
        "call_new_helper_if_there",
    ];
    let only = |program: &str| -> Vec<&str> {
        programs
            .iter()
            .filter(|p| **p != program)
            .flat_map(|p| ["-n", *p])
            .collect()
    };
    for (program, says) in [
        (
            "on_no_tracepoint",
            "failed to find kernel BTF type ID of 'bpfgen_no_such_tracepoint'",
        ),
        (
            "on_no_function",
            "failed to find kernel BTF type ID of 'bpfgen_no_such_function'",
        ),
        ("call_no_helper", "invalid func unknown#999"),
    ] {
        let (loaded, log) = libbpf_load(&harness, &object, &only(program));
        assert!(!loaded, "{program}");
        assert!(log.contains(says), "{program}: {log}");
    }
}

#[test]
fn findings_never_quote_files_outside_the_project() {
    let dir = scratch();
    let elsewhere = scratch();
    // Line info may name any file: here one outside the project that does not exist when
    // clang runs (so the object carries no text for it) and exists when `check` runs. What
    // it holds must not be quoted.
    let outside = elsewhere.path().join("outside.c");
    let source = dir.path().join("sneaky.bpf.c");
    std::fs::write(
        &source,
        format!(
            "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n\
             #line 1 \"{}\"\n\
             SEC(\"xpd\") int prog(void *ctx) {{ return 0; }}\n\
             char LICENSE[] SEC(\"license\") = \"GPL\";\n",
            outside.display()
        ),
    )
    .unwrap();
    let object = clang_object(dir.path(), &source, &["-g"]);
    std::fs::write(&outside, "SECRET\nSECRET\n").unwrap();
    let out = run(bpfgen().arg("check").arg(&object).current_dir(dir.path()));
    let log = stderr(&out);
    assert!(log.contains("xpd"), "{log}");
    assert!(
        !log.contains("SECRET"),
        "quoted a file outside the project:\n{log}"
    );
}

#[test]
fn parallel_checks_report_in_source_order_and_replay_on_noop_builds() {
    let dir = scratch();
    let build = || {
        let out = run(bpfgen()
            .env("BPFGEN_CACHE_DIR", dir.path().join("cache"))
            .args(["build", "-j2", "-o"])
            .arg(dir.path().join("out"))
            .arg(check_fixture("map_definition.bpf.c"))
            .arg(check_fixture("many_findings.bpf.c"))
            .arg(check_fixture("unknown_section.bpf.c")));
        assert_eq!(out.status.code(), Some(1));
        stderr_without_clang_advice(&out)
    };
    let first = build();
    let at = |text: &str| {
        first
            .find(text)
            .unwrap_or_else(|| panic!("{text} in\n{first}"))
    };
    assert!(at("warning[B0203]") < at("many_findings.bpf.c:11:34: error[B0102]"));
    assert!(at("many_findings.bpf.c:22:5: warning[B0104]") < at("unknown_section.bpf.c"));
    assert_eq!(build(), first, "a second build reports differently");
}
