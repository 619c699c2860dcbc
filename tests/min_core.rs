//! `bpfgen gen min-core-btf`: byte for byte what bpftool's `gen min_core_btf` writes, and
//! enough for libbpf to load and attach the object on this kernel with nothing else.

use crate::util::{
    KERNELS, bpfgen, built_example, clang_object, compile_libbpf_tool, example, fixture,
    kernel_available, kernel_btf, run, run_ok, scratch, stderr,
};
use bpfgen::btf::core::{ReloKind, Target};
use bpfgen::check::core::verdicts;
use bpfgen::object::BpfObject;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every example plus the CO-RE-heavy check fixtures, built once into `dir`.
fn built_objects(dir: &Path) -> Vec<PathBuf> {
    let mut sources: Vec<PathBuf> = std::fs::read_dir(example(""))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bpf.c"))
        .collect();
    sources.extend(["core_versions", "core_guarded"].map(|s| fixture(&format!("check/{s}.bpf.c"))));
    sources.sort();
    run_ok(
        bpfgen()
            .args(["build", "--no-check", "--skel", "none", "-o"])
            .arg(dir)
            .arg("-I")
            .arg(example(""))
            .args(&sources),
    );
    sources
        .iter()
        .map(|s| {
            let stem = s
                .file_name()
                .unwrap()
                .to_string_lossy()
                .replace(".bpf.c", "");
            dir.join(format!("{stem}.bpf.o"))
        })
        .collect()
}

/// `bpfgen gen min-core-btf TARGET OUT OBJECTS...`, which must succeed.
pub(crate) fn min_core_btf(target: &Path, out: &Path, objects: &[PathBuf]) {
    run_ok(
        bpfgen()
            .args(["gen", "min-core-btf"])
            .arg(target)
            .arg(out)
            .args(objects),
    );
}

#[test]
fn equals_bpftool_min_core_btf_byte_for_byte_on_every_kernel() {
    let dir = scratch();
    let objects = built_objects(dir.path());
    let targets: Vec<PathBuf> = KERNELS
        .iter()
        .map(|k| kernel_btf(k))
        .chain([PathBuf::from("/sys/kernel/btf/vmlinux")])
        .filter(|p| p.exists())
        .collect();
    let mut compared = 0;
    for target in &targets {
        // One object at a time, and all of them into one file.
        let sets: Vec<Vec<PathBuf>> = objects
            .iter()
            .map(|o| vec![o.clone()])
            .chain([objects.clone()])
            .collect();
        for set in sets {
            let ours = dir.path().join("ours.btf");
            let theirs = dir.path().join("bpftool.btf");
            min_core_btf(target, &ours, &set);
            run_ok(
                Command::new("bpftool")
                    .args(["gen", "min_core_btf"])
                    .arg(target)
                    .arg(&theirs)
                    .args(&set),
            );
            assert!(
                std::fs::read(&ours).unwrap() == std::fs::read(&theirs).unwrap(),
                "min-CO-RE BTF of {set:?} against {} differs from bpftool's",
                target.display()
            );
            compared += 1;
        }
    }
    assert!(
        compared >= 3 * (objects.len() + 1),
        "{compared} comparisons"
    );
}

/// The system libbpf's CO-RE verdicts (tests/fixtures/check/libbpf_core_verdicts.c) are the
/// same with the minimized BTF as with the full one, on every kernel: nothing a relocation
/// matched went missing, nothing new matched, every offset, size and value is the same. Only
/// target type ids differ (the minimized BTF numbers its types anew).
#[test]
fn libbpf_resolves_every_relocation_the_same_against_the_minimized_btf() {
    if !kernel_available("libbpf_resolves_every_relocation_the_same_against_the_minimized_btf") {
        return;
    }
    let dir = scratch();
    let object = dir.path().join("core_versions.bpf.o");
    run_ok(
        bpfgen()
            .args(["build", "--no-check", "--skel", "none", "-o"])
            .arg(dir.path())
            .arg(fixture("check/core_versions.bpf.c")),
    );
    let harness = dir.path().join("libbpf_core_verdicts");
    compile_libbpf_tool(&fixture("check/libbpf_core_verdicts.c"), &harness);
    let parsed = BpfObject::parse(&std::fs::read(&object).unwrap(), "core_versions_bpf").unwrap();
    // "function index" -> verdict, with target type ids reduced to whether one matched.
    let libbpf_verdicts = |btf: &Path, type_ids: &[String]| {
        let mut verdicts = crate::check::libbpf_verdicts(&harness, &object, btf);
        for key in type_ids {
            if let Some(verdict) = verdicts.get_mut(key) {
                *verdict = verdict.split(' ').next().unwrap_or_default().to_string();
            }
        }
        verdicts
    };
    for kernel in KERNELS {
        let full = kernel_btf(kernel);
        let types = bpfgen::btf::source::load(&full, None).unwrap();
        let type_ids: Vec<String> = verdicts(&parsed, &Target::new(kernel.to_string(), types))
            .into_iter()
            .filter(|v| v.kind == Some(ReloKind::TypeIdTarget))
            .map(|v| format!("{} {}", v.function, v.index))
            .collect();
        assert!(
            !type_ids.is_empty(),
            "the fixture has target type id relocations"
        );
        let min = dir.path().join(format!("{kernel}.min.btf"));
        min_core_btf(&full, &min, std::slice::from_ref(&object));
        let expected = libbpf_verdicts(&full, &type_ids);
        assert!(expected.len() >= 70, "{expected:?}");
        assert_eq!(
            libbpf_verdicts(&min, &type_ids),
            expected,
            "verdicts against {kernel}"
        );
        let (min_len, full_len) = (
            std::fs::metadata(&min).unwrap().len(),
            std::fs::metadata(&full).unwrap().len(),
        );
        assert!(
            min_len * 100 < full_len,
            "{min_len} of {full_len} bytes kept"
        );
    }
}

/// The bootstrap example, with only its min-CO-RE BTF for kernel types, loads and attaches
/// through the system libbpf on this kernel; with another object's min-CO-RE BTF it fails,
/// so the file is what makes the load work.
#[test]
fn bootstrap_loads_and_attaches_with_only_its_min_core_btf() {
    if !kernel_available("bootstrap_loads_and_attaches_with_only_its_min_core_btf") {
        return;
    }
    let dir = scratch();
    let bootstrap = built_example(dir.path(), "bootstrap");
    let helloworld = built_example(dir.path(), "helloworld");
    let loader = dir.path().join("load_attach");
    compile_libbpf_tool(&fixture("package/load_attach.c"), &loader);
    let btf = dir.path().join("bootstrap.btf");
    min_core_btf(
        Path::new("/sys/kernel/btf/vmlinux"),
        &btf,
        std::slice::from_ref(&bootstrap),
    );
    let size = std::fs::metadata(&btf).unwrap().len();
    assert!(size < 1024, "{size} bytes");
    let out = run_ok(Command::new(&loader).arg(&bootstrap).arg(&btf));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "loaded 2 programs, attached 2\n"
    );

    let other = dir.path().join("helloworld.btf");
    min_core_btf(Path::new("/sys/kernel/btf/vmlinux"), &other, &[helloworld]);
    let out = run(Command::new(&loader).arg(&bootstrap).arg(&other));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("failed to resolve CO-RE relocation"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn objects_without_btf_ext_and_bad_targets_are_one_line_errors() {
    let dir = scratch();
    let object = built_example(dir.path(), "minimal");
    let nobtf = clang_object(dir.path(), &fixture("nobtf.bpf.c"), &[]);
    let out_path = dir.path().join("out.btf");
    std::fs::write(&out_path, b"previous").unwrap();
    let cases: [(&Path, &Path, &str); 3] = [
        (
            Path::new("/sys/kernel/btf/vmlinux"),
            &nobtf,
            "min-CO-RE BTF needs the object's CO-RE relocations",
        ),
        (&nobtf, &object, "has no .BTF section"),
        (Path::new("/nonexistent.btf"), &object, "no such file"),
    ];
    for (target, input, message) in cases {
        let out = run(bpfgen()
            .args(["gen", "min-core-btf"])
            .arg(target)
            .arg(&out_path)
            .arg(input));
        let err = stderr(&out);
        assert!(matches!(out.status.code(), Some(1 | 2)), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(message), "{err}");
        assert_eq!(std::fs::read(&out_path).unwrap(), b"previous");
    }
}
