//! Makefile.compat: a libbpf-bootstrap style Makefile builds from clean, has nothing to do
//! the second time, rebuilds exactly what uses a touched header, and cleans up.

use crate::util::*;
use std::path::Path;
use std::process::{Command, Output};

const APPS: &str = "helloworld minimal bootstrap";

fn make(dir: &Path, cache: &Path, extra: &[&str]) -> Output {
    run_ok(
        Command::new("make")
            .arg("-C")
            .arg(dir)
            .arg("-j2")
            .arg(format!("APPS={APPS}"))
            .arg(format!("REPO={}", repo().display()))
            .arg(format!("BPFGEN={}", env!("CARGO_BIN_EXE_bpfgen")))
            .args(extra)
            .env("BPFGEN_CACHE_DIR", cache),
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn makefile_builds_from_clean_and_incrementally() {
    let dir = scratch();
    let apps = dir.path().join("apps");
    std::fs::create_dir_all(&apps).unwrap();
    std::fs::copy(example("Makefile"), apps.join("Makefile")).unwrap();
    for app in APPS.split(' ') {
        for suffix in [".bpf.c", ".c"] {
            std::fs::copy(
                example(&format!("{app}{suffix}")),
                apps.join(format!("{app}{suffix}")),
            )
            .unwrap();
        }
    }
    for header in ["bootstrap.h", "example.h"] {
        std::fs::copy(example(header), apps.join(header)).unwrap();
    }
    let cache = dir.path().join("cache");

    make(&apps, &cache, &[]);
    for app in APPS.split(' ') {
        assert!(apps.join(app).is_file(), "{app} not linked");
        assert!(apps.join(format!(".output/{app}.skel.h")).is_file());
        assert!(apps.join(format!(".output/{app}.bpf.d")).is_file());
    }

    let again = stdout(&make(&apps, &cache, &[]));
    assert!(again.contains("Nothing to be done"), "{again}");

    // bootstrap.h is used by bootstrap.bpf.c and bootstrap.c only.
    let header = apps.join("bootstrap.h");
    let text = std::fs::read_to_string(&header).unwrap();
    std::fs::write(&header, format!("{text}\n")).unwrap();
    let touched = stdout(&make(&apps, &cache, &[]));
    assert!(touched.contains(".output/bootstrap.skel.h"), "{touched}");
    assert!(touched.contains(".output/bootstrap.o"), "{touched}");
    assert!(
        !touched.contains("minimal") && !touched.contains("helloworld"),
        "{touched}"
    );

    // V=1 shows the commands, bpfgen's included.
    let verbose = stdout(&make(&apps, &cache, &["V=1", "-B", "minimal"]));
    assert!(
        verbose.contains("build") && verbose.contains("minimal.bpf.c"),
        "{verbose}"
    );

    make(&apps, &cache, &["clean"]);
    assert!(!apps.join(".output").exists());
    assert!(!apps.join("bootstrap").exists());
}

#[test]
fn builds_under_makes_jobserver_finish() {
    // Two multi-source bpfgen rules sharing make -j2's two job slots: each bpfgen may only
    // run compiles beyond its first with a token, and must never wait for one when its
    // queue is empty (which deadlocked).
    let dir = scratch();
    for i in 1..=6 {
        std::fs::copy(
            example("minimal.bpf.c"),
            dir.path().join(format!("s{i}.bpf.c")),
        )
        .unwrap();
    }
    let bpfgen = env!("CARGO_BIN_EXE_bpfgen");
    std::fs::write(
        dir.path().join("Makefile"),
        format!(
            "all: a b\na:\n\t+{bpfgen} build --no-cache -j4 s1.bpf.c s2.bpf.c s3.bpf.c -o outa\n\
             b:\n\t+{bpfgen} build --no-cache -j4 s4.bpf.c s5.bpf.c s6.bpf.c -o outb\n"
        ),
    )
    .unwrap();
    let out = run(Command::new("timeout")
        .args(["120", "make", "-j2", "-C"])
        .arg(dir.path())
        .env("BPFGEN_CACHE_DIR", dir.path().join("cache")));
    assert!(
        out.status.success(),
        "make -j2 failed or hung: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for i in 1..=6 {
        let out_dir = if i <= 3 { "outa" } else { "outb" };
        assert!(dir.path().join(format!("{out_dir}/s{i}.bpf.o")).exists());
    }
}

/// libbpf 1.7 (the libbpf-sys crate's vendored sources) built as a static library and
/// installed with its headers, as libbpf-bootstrap does with its submodule; returns
/// (libbpf.a, include directory).
fn static_libbpf(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let shim = libbpf17_include_flags()[0]
        .trim_start_matches("-I")
        .to_string();
    let sources = std::fs::canonicalize(Path::new(&shim).join("bpf")).unwrap();
    let objects = dir.join("libbpf-obj");
    let installed = dir.join("libbpf-install");
    run_ok(
        Command::new("make")
            .arg("-C")
            .arg(&sources)
            .args(["-j2", "BUILD_STATIC_ONLY=1", "install"])
            .arg(format!("OBJDIR={}", objects.display()))
            .arg(format!("DESTDIR={}", installed.display()))
            .args(["INCLUDEDIR=", "LIBDIR=", "UAPIDIR="]),
    );
    (objects.join("libbpf.a"), installed)
}

#[test]
fn a_submodule_libbpf_a_is_linked_instead_of_the_system_one() {
    let dir = scratch();
    let apps = dir.path().join("apps");
    std::fs::create_dir_all(&apps).unwrap();
    std::fs::copy(example("Makefile"), apps.join("Makefile")).unwrap();
    for file in ["minimal.bpf.c", "minimal.c", "example.h"] {
        std::fs::copy(example(file), apps.join(file)).unwrap();
    }
    let (archive, include) = static_libbpf(dir.path());
    assert!(include.join("bpf/bpf_helpers.h").is_file());
    run_ok(
        Command::new("make")
            .arg("-C")
            .arg(&apps)
            .arg("APPS=minimal")
            .arg(format!("REPO={}", repo().display()))
            .arg(format!("BPFGEN={}", env!("CARGO_BIN_EXE_bpfgen")))
            .arg(format!("LIBBPF_OBJ={}", archive.display()))
            .arg(format!("LIBBPF_INCLUDE={}", include.display()))
            .env("BPFGEN_CACHE_DIR", dir.path().join("cache")),
    );
    let binary = apps.join("minimal");
    let dynamic = stdout(&run_ok(Command::new("ldd").arg(&binary)));
    assert!(!dynamic.contains("libbpf.so"), "{dynamic}");
    let symbols = stdout(&run_ok(Command::new("nm").arg(&binary)));
    assert!(
        symbols.contains(" T bpf_object__open"),
        "libbpf.a is linked in"
    );
}
