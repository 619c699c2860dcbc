//! C conformance on what real projects do: the reproductions of issue 16, each against
//! bpftool 7.1 (the oracle) and, where the kernel can, loaded and run.

use crate::util::*;
use std::path::Path;
use std::process::Command;

fn conformance(name: &str) -> std::path::PathBuf {
    fixture(&format!("conformance/{name}"))
}

/// Compiles `source` against the skeletons in `include` as C (with `cc`) or C++ (with `c++`,
/// `-x c++`), `-Wall -Werror`, into `out`.
fn compile_as(source: &Path, include: &Path, out: &Path, cxx: bool) {
    let mut cmd = Command::new(if cxx { "c++" } else { "cc" });
    if cxx {
        cmd.args(["-x", "c++"]);
    }
    run_ok(
        cmd.args(["-Wall", "-Werror", "-I"])
            .arg(include)
            .arg(source)
            .arg("-o")
            .arg(out)
            .args(["-lbpf", "-lelf", "-lz"]),
    );
}

#[test]
fn a_vmlinux_h_bool_stays_bool_in_c_skeletons_as_bpftool_writes_it() {
    let dir = scratch();
    run_ok(
        bpfgen()
            .args(["build", "-I"])
            .arg(vmlinux_dir())
            .arg("-o")
            .arg(dir.path())
            .arg(conformance("verbose.bpf.c")),
    );
    let ours = std::fs::read_to_string(dir.path().join("verbose.skel.h")).unwrap();
    assert!(ours.contains("\t\tbool verbose;\n"), "{ours}");
    assert!(!ours.contains("bool_"), "{ours}");

    // `gen skeleton` on bpftool's own object says the same, and so does bpftool.
    let theirs_dir = dir.path().join("bpftool");
    std::fs::create_dir(&theirs_dir).unwrap();
    let raw = clang_object(
        &theirs_dir,
        &conformance("verbose.bpf.c"),
        &["-g", "-I", &vmlinux_dir().to_string_lossy()],
    );
    let stripped = theirs_dir.join("stripped.bpf.o");
    run_ok(
        Command::new("bpftool")
            .args(["gen", "object"])
            .arg(&stripped)
            .arg(&raw),
    );
    let regenerated = run_ok(bpfgen().args(["gen", "skeleton"]).arg(&stripped)).stdout;
    assert!(String::from_utf8_lossy(&regenerated).contains("\t\tbool verbose;\n"));
    let bpftool = run_ok(
        Command::new("bpftool")
            .args(["gen", "skeleton"])
            .arg(&stripped),
    )
    .stdout;
    assert!(String::from_utf8_lossy(&bpftool).contains("\t\tbool verbose;\n"));

    // User space written for bpftool compiles as C and as C++, and sets the flag for real.
    let c = dir.path().join("verbose-c");
    compile_as(&conformance("verbose.c"), dir.path(), &c, false);
    compile_as(
        &conformance("verbose.c"),
        dir.path(),
        &dir.path().join("verbose-cxx"),
        true,
    );
    if !kernel_available("a_vmlinux_h_bool_stays_bool_in_c_skeletons_as_bpftool_writes_it") {
        return;
    }
    let out = run_ok(&mut Command::new(&c));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "calls=1\n");
}

#[test]
fn per_file_objects_with_externs_build_then_link_and_run() {
    let dir = scratch();
    let objs = dir.path().join("objs");
    // As libbpf-bootstrap's `.tmp.bpf.o` step: every file alone, externs unresolved.
    let out = run_ok(
        bpfgen()
            .args(["build", "-o"])
            .arg(&objs)
            .arg(conformance("lib.bpf.c"))
            .arg(conformance("main.bpf.c")),
    );
    assert!(objs.join("main.bpf.o").exists() && objs.join("lib.bpf.o").exists());
    assert!(objs.join("lib.skel.h").exists());
    assert!(
        !objs.join("main.skel.h").exists(),
        "libbpf cannot open main.bpf.o"
    );
    let log = stderr(&out);
    assert!(
        log.contains("main.bpf.c: no skeleton: extern '") && log.contains("link the objects first"),
        "{log}"
    );
    let depfile = std::fs::read_to_string(objs.join("main.bpf.d")).unwrap();
    assert!(!depfile.contains("main.skel.h"), "{depfile}");
    // --skel none and --no-check change nothing about that.
    run_ok(
        bpfgen()
            .args(["build", "--skel", "none", "--no-check", "-o"])
            .arg(dir.path().join("plain"))
            .arg(conformance("lib.bpf.c"))
            .arg(conformance("main.bpf.c")),
    );

    // A skeleton of the unlinked piece is refused, as bpftool refuses it.
    let refused = run(bpfgen()
        .args(["gen", "skeleton"])
        .arg(objs.join("main.bpf.o")));
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("main.bpf.o: extern '"),
        "{}",
        stderr(&refused)
    );
    let bpftool = run(Command::new("bpftool")
        .args(["gen", "skeleton"])
        .arg(objs.join("main.bpf.o")));
    assert!(!bpftool.status.success());

    // The link resolves them; bpftool links the same pieces too.
    let linked = dir.path().join("linked.bpf.o");
    run_ok(
        bpfgen()
            .args(["gen", "object"])
            .arg(&linked)
            .arg(objs.join("lib.bpf.o"))
            .arg(objs.join("main.bpf.o")),
    );
    run_ok(
        Command::new("bpftool")
            .args(["gen", "object"])
            .arg(dir.path().join("bpftool-linked.bpf.o"))
            .arg(objs.join("lib.bpf.o"))
            .arg(objs.join("main.bpf.o")),
    );
    let skeleton = run_ok(bpfgen().args(["gen", "skeleton"]).arg(&linked)).stdout;
    std::fs::write(dir.path().join("linked.skel.h"), skeleton).unwrap();
    let program = dir.path().join("linked");
    compile_as(&conformance("linked.c"), dir.path(), &program, false);

    // A final object must resolve everything: `build --link` of main alone does not.
    let unresolved = run(bpfgen()
        .args(["build", "--link", "alone", "-o"])
        .arg(dir.path().join("alone"))
        .arg(conformance("main.bpf.c")));
    assert_eq!(unresolved.status.code(), Some(1));
    assert!(
        stderr(&unresolved).contains("is defined by none of the linked sources"),
        "{}",
        stderr(&unresolved)
    );
    assert!(!dir.path().join("alone/alone.bpf.o").exists());

    if !kernel_available("per_file_objects_with_externs_build_then_link_and_run") {
        return;
    }
    let out = run_ok(&mut Command::new(&program));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "bumped=1 counted=1\n");
}
