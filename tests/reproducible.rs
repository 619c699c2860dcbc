//! The same source built in two different directories gives byte-identical outputs.

use crate::util::*;
use std::path::Path;

fn build_copy(root: &Path) -> (Vec<u8>, Vec<u8>) {
    let src = root.join("src");
    std::fs::create_dir_all(&src).unwrap();
    for file in ["bootstrap.bpf.c", "bootstrap.h"] {
        std::fs::copy(example(file), src.join(file)).unwrap();
    }
    run_ok(
        bpfgen()
            .current_dir(root)
            .args(["build", "src/bootstrap.bpf.c", "-o", "out"]),
    );
    (
        std::fs::read(root.join("out/bootstrap.bpf.o")).unwrap(),
        std::fs::read(root.join("out/bootstrap.skel.h")).unwrap(),
    )
}

#[test]
fn builds_in_different_directories_are_byte_identical() {
    let a = scratch();
    let b = scratch();
    let (object_a, skel_a) = build_copy(&a.path().join("one"));
    let (object_b, skel_b) = build_copy(&b.path().join("some/other/place"));
    assert!(object_a == object_b, "objects differ");
    assert!(skel_a == skel_b, "skeletons differ");
    let dir_a = a.path().to_string_lossy().into_owned();
    assert!(
        !String::from_utf8_lossy(&object_a).contains(&dir_a),
        "the object mentions its build directory"
    );
}

#[test]
fn absolute_and_relative_source_paths_give_the_same_object() {
    let dir = scratch();
    let (relative, _) = build_copy(dir.path());
    run_ok(
        bpfgen()
            .arg("build")
            .arg(dir.path().join("src/bootstrap.bpf.c"))
            .arg("-o")
            .arg(dir.path().join("abs")),
    );
    let absolute = std::fs::read(dir.path().join("abs/bootstrap.bpf.o")).unwrap();
    assert!(relative == absolute, "objects differ");
}
