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
    std::fs::copy(example("bootstrap.h"), apps.join("bootstrap.h")).unwrap();
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
