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

#[test]
fn parallel_and_serial_builds_write_the_same_files() {
    let dir = scratch();
    let sources: Vec<_> = ["helloworld", "minimal", "bootstrap"]
        .iter()
        .map(|name| example(&format!("{name}.bpf.c")))
        .collect();
    for jobs in ["1", "3"] {
        run_ok(
            bpfgen()
                .arg("build")
                .args(&sources)
                .args(["-j", jobs, "-o"])
                .arg(dir.path().join(jobs)),
        );
    }
    for name in ["helloworld", "minimal", "bootstrap"] {
        for suffix in [".bpf.o", ".skel.h", ".bpf.d"] {
            let file = format!("{name}{suffix}");
            // Dependency files name their own output directory.
            let read = |jobs: &str| {
                let out = dir.path().join(jobs);
                let bytes = std::fs::read(out.join(&file)).unwrap();
                String::from_utf8_lossy(&bytes).replace(&*out.to_string_lossy(), "OUT")
            };
            assert!(
                read("1") == read("3"),
                "{file} differs between -j 1 and -j 3"
            );
        }
    }
}

/// Every example's `.bpf.c`.
fn example_sources() -> Vec<std::path::PathBuf> {
    let sources: Vec<_> = std::fs::read_dir(example(""))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".bpf.c"))
        .collect();
    assert!(sources.len() > 2, "{sources:?}");
    sources
}

/// Builds every example (`-j 2`) into `dir/<name>` with a cache of its own, so that each
/// source is compiled and none is served from another build; `variant` adds that build's
/// environment or trailing clang arguments.
fn build_examples(dir: &Path, name: &str, variant: impl FnOnce(&mut std::process::Command)) {
    let mut command = bpfgen();
    command
        .env("BPFGEN_CACHE_DIR", dir.join(format!("cache-{name}")))
        .arg("build")
        .args(example_sources())
        .args(["-j", "2", "-o"])
        .arg(dir.join(name));
    variant(&mut command);
    run_ok(&mut command);
}

/// Asserts that the builds `a` and `b` of [`build_examples`] wrote the same files (each
/// depfile with its own output directory and cache, which it names, made alike).
fn assert_same_outputs(dir: &Path, a: &str, b: &str) {
    let mut compared = 0;
    for entry in std::fs::read_dir(dir.join(a)).unwrap() {
        let file = entry.unwrap().file_name();
        let read = |name: &str| {
            let out = dir.join(name);
            let cache = dir.join(format!("cache-{name}"));
            let bytes = std::fs::read(out.join(&file)).unwrap();
            String::from_utf8_lossy(&bytes)
                .replace(&*out.to_string_lossy(), "OUT")
                .replace(&*cache.to_string_lossy(), "CACHE")
        };
        assert!(read(a) == read(b), "{file:?} differs between {a} and {b}");
        compared += 1;
    }
    let expected = 3 * example_sources().len();
    assert!(
        compared >= expected,
        "{compared} files, expected {expected}"
    );
}

#[test]
fn builds_with_and_without_the_clang_fork_server_write_the_same_files() {
    let dir = scratch();
    for (name, server) in [("server", "1"), ("no-server", "0")] {
        build_examples(dir.path(), name, |command| {
            command.env("BPFGEN_CLANG_FORK_SERVER", server);
        });
    }
    assert_same_outputs(dir.path(), "server", "no-server");
}

#[test]
fn dwarf_4_and_clangs_default_dwarf_5_give_the_same_objects() {
    // bpfgen compiles with -gdwarf-4 (faster; every output is stripped of DWARF); a user's
    // own -gdwarf-5 after `--` wins, and must not change a byte of what is written.
    let dir = scratch();
    build_examples(dir.path(), "dwarf-4", |_| {});
    build_examples(dir.path(), "dwarf-5", |command| {
        command.args(["--", "-gdwarf-5"]);
    });
    assert_same_outputs(dir.path(), "dwarf-4", "dwarf-5");
}
