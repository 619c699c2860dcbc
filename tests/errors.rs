//! Bad input and a bad environment: each gives the documented exit code (1 input, 2 usage or
//! environment) and one line of bpfgen's own that names the file and the cause. Never a panic.

use crate::util::*;
use std::path::Path;
use std::process::{Command, Output};

/// Asserts the exit code, and that bpfgen said exactly one error line naming `subject`.
fn assert_error(out: &Output, code: i32, subject: &str, cause: &str) {
    let text = stderr(out);
    assert_eq!(out.status.code(), Some(code), "exit code; stderr:\n{text}");
    assert!(!text.contains("panicked"), "panic:\n{text}");
    let ours: Vec<_> = text
        .lines()
        .filter(|l| l.starts_with("bpfgen: error:"))
        .collect();
    assert_eq!(ours.len(), 1, "one error line expected:\n{text}");
    assert!(
        ours[0].contains(subject),
        "error does not name {subject}: {}",
        ours[0]
    );
    assert!(
        ours[0].contains(cause),
        "error does not say '{cause}': {}",
        ours[0]
    );
}

#[test]
fn missing_clang_is_an_environment_error() {
    let dir = scratch();
    let out = run(bpfgen()
        .args(["build", "--clang", "/nonexistent/clang"])
        .arg(example("helloworld.bpf.c"))
        .arg("-o")
        .arg(dir.path()));
    assert_error(&out, 2, "clang", "/nonexistent/clang");

    let out = run(bpfgen()
        .arg("build")
        .arg(example("helloworld.bpf.c"))
        .arg("-o")
        .arg(dir.path())
        .env("BPFGEN_CLANG", "no-such-clang-binary"));
    assert_error(&out, 2, "clang", "BPFGEN_CLANG");
}

#[test]
fn missing_source_is_an_environment_error() {
    let dir = scratch();
    let out = run(bpfgen().args(["build", "nope.bpf.c", "-o"]).arg(dir.path()));
    assert_error(&out, 2, "nope.bpf.c", "no such file");
}

#[test]
fn clang_errors_are_shown_and_the_other_files_still_build() {
    let dir = scratch();
    let out = run(bpfgen()
        .arg("build")
        .arg(fixture("broken.bpf.c"))
        .arg(example("minimal.bpf.c"))
        .arg("-o")
        .arg(dir.path()));
    assert_error(&out, 1, "broken.bpf.c", "clang failed");
    let text = stderr(&out);
    assert!(
        text.contains("broken.bpf.c:5:"),
        "clang's diagnostic is shown:\n{text}"
    );
    assert!(dir.path().join("minimal.bpf.o").exists());
    assert!(dir.path().join("minimal.skel.h").exists());
    assert!(!dir.path().join("broken.bpf.o").exists());
}

#[test]
fn a_failed_rebuild_keeps_the_previous_outputs() {
    let dir = scratch();
    let source = dir.path().join("keep.bpf.c");
    std::fs::copy(example("minimal.bpf.c"), &source).unwrap();
    let out_dir = dir.path().join("out");
    run_ok(bpfgen().arg("build").arg(&source).arg("-o").arg(&out_dir));
    let before: Vec<_> = ["keep.bpf.o", "keep.skel.h", "keep.bpf.d"]
        .iter()
        .map(|f| std::fs::read(out_dir.join(f)).unwrap())
        .collect();

    std::fs::write(&source, "int broken(void) { return }\n").unwrap();
    let out = run(bpfgen().arg("build").arg(&source).arg("-o").arg(&out_dir));
    assert_error(&out, 1, "keep.bpf.c", "clang failed");
    for (file, old) in ["keep.bpf.o", "keep.skel.h", "keep.bpf.d"]
        .iter()
        .zip(&before)
    {
        assert_eq!(
            &std::fs::read(out_dir.join(file)).unwrap(),
            old,
            "{file} changed"
        );
    }
    assert_eq!(
        std::fs::read_dir(&out_dir).unwrap().count(),
        3,
        "no temporary files left"
    );
}

#[test]
fn non_elf_input_is_rejected() {
    for sub in [&["inspect"][..], &["gen", "skeleton"][..]] {
        let out = run(bpfgen().args(sub).arg(repo().join("Cargo.toml")));
        assert_error(&out, 1, "Cargo.toml", "not an ELF file");
    }
}

#[test]
fn non_bpf_elf_is_rejected() {
    let dir = scratch();
    let host = dir.path().join("host.o");
    std::fs::write(dir.path().join("host.c"), "int f(void) { return 1; }\n").unwrap();
    run_ok(
        Command::new("cc")
            .arg("-c")
            .arg(dir.path().join("host.c"))
            .arg("-o")
            .arg(&host),
    );
    let out = run(bpfgen().args(["gen", "skeleton"]).arg(&host));
    assert_error(&out, 1, "host.o", "is not a BPF object");

    let host32 = dir.path().join("host32.o");
    let built = run(Command::new("clang")
        .args(["-m32", "-c"])
        .arg(dir.path().join("host.c"))
        .arg("-o")
        .arg(&host32));
    if built.status.success() {
        let out = run(bpfgen().arg("inspect").arg(&host32));
        assert_error(&out, 1, "host32.o", "32-bit");
    }
}

#[test]
fn objects_without_btf_that_need_it_are_rejected() {
    let dir = scratch();
    let object = dir.path().join("nobtf_maps.bpf.o");
    run_ok(
        Command::new("clang")
            .args(["-O2", "-target", "bpf", "-c"])
            .args(host_clang_flags())
            .arg(fixture("nobtf_maps.bpf.c"))
            .arg("-o")
            .arg(&object),
    );
    let out = run(bpfgen().args(["gen", "skeleton"]).arg(&object));
    assert_error(&out, 1, "nobtf_maps.bpf.o", "no BTF");

    let out = run(bpfgen()
        .arg("build")
        .arg(fixture("nobtf_maps.bpf.c"))
        .arg("-o")
        .arg(dir.path().join("out"))
        .args(["--", "-g0"]));
    assert_error(&out, 1, "nobtf_maps.bpf.c", "no BTF");
}

#[test]
fn unwritable_output_dir_is_an_environment_error() {
    let dir = scratch();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let out_dir = file.join("out");
    let out = run(bpfgen()
        .arg("build")
        .arg(example("minimal.bpf.c"))
        .arg("-o")
        .arg(&out_dir));
    assert_error(&out, 2, &out_dir.display().to_string(), "not a directory");

    let object = dir.path().join("minimal.bpf.o");
    run_ok(
        bpfgen()
            .arg("build")
            .arg(example("minimal.bpf.c"))
            .arg("-o")
            .arg(dir.path()),
    );
    let target = out_dir.join("x.skel.h");
    let out = run(bpfgen()
        .args(["gen", "skeleton"])
        .arg(&object)
        .arg("-o")
        .arg(&target));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(Path::new("a-file").to_str().unwrap()));
}

#[test]
fn usage_errors_exit_2() {
    let out = run(bpfgen().args(["build"]));
    assert_eq!(out.status.code(), Some(2));
    let out = run(bpfgen().args(["build", "--target", "bpfxx", "x.bpf.c"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bpfxx"));
}

#[test]
fn clang_older_than_11_is_refused() {
    let dir = scratch();
    let fake = dir.path().join("clang-10");
    write_script(&fake, "#!/bin/sh\necho 'clang version 10.0.1' >&2\n");
    let out = run(bpfgen()
        .arg("build")
        .arg("--clang")
        .arg(&fake)
        .arg(example("minimal.bpf.c"))
        .arg("-o")
        .arg(dir.path().join("out")));
    assert_error(&out, 2, "clang-10", "too old");
}

#[test]
fn confusing_invocations_get_one_line_that_says_what_to_do() {
    let dir = scratch();
    let out_dir = dir.path().join("out");
    // A directory as a source: refused before clang runs (no clang warnings at all).
    let out = run(bpfgen()
        .arg("build")
        .arg(dir.path())
        .arg("-o")
        .arg(&out_dir));
    assert_error(&out, 2, &dir.path().display().to_string(), "is a directory");
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));

    // `--package ecli-json` with a space.
    let out = run(bpfgen()
        .args(["build", "--package", "ecli-json"])
        .arg(example("helloworld.bpf.c"))
        .arg("-o")
        .arg(&out_dir));
    assert_error(&out, 2, "ecli-json", "write --package=ecli-json");

    // Another architecture's vmlinux.h cannot come from this machine's kernel.
    let other = if cfg!(target_arch = "aarch64") {
        "x86"
    } else {
        "arm64"
    };
    let out = run(bpfgen()
        .args(["build", "--arch", other])
        .arg(fixture("conformance/verbose.bpf.c"))
        .arg("-o")
        .arg(&out_dir));
    assert_error(&out, 2, "verbose.bpf.c", "give --btf");

    // A file as the output directory.
    let out = run(bpfgen()
        .arg("build")
        .arg(example("helloworld.bpf.c"))
        .args(["-o", "/proc/version"]));
    assert_error(
        &out,
        2,
        "/proc/version",
        "is a file, not an output directory",
    );

    // A source where an object is expected.
    let out = run(bpfgen().arg("inspect").arg(example("helloworld.bpf.c")));
    assert_error(&out, 1, "helloworld.bpf.c", "build it with `bpfgen build`");

    // bpftool's spelling of a BTF dump works; an unknown format is named.
    let btf = kernel_btf(KERNELS[0]);
    let plain = run_ok(bpfgen().args(["btf", "dump"]).arg(&btf)).stdout;
    let bpftool_style = run_ok(
        bpfgen()
            .args(["btf", "dump", "file"])
            .arg(&btf)
            .args(["format", "c"]),
    )
    .stdout;
    assert!(plain == bpftool_style);
    let out = run(bpfgen()
        .args(["btf", "dump"])
        .arg(&btf)
        .args(["format", "raw"]));
    assert_error(&out, 2, "format raw", "C only");
}

#[test]
fn extra_clang_flags_come_from_bpfgen_cflags() {
    let dir = scratch();
    let source = dir.path().join("flagged.bpf.c");
    std::fs::write(
        &source,
        "#ifndef FROM_ENV\n#error FROM_ENV is not defined\n#endif\n\
         #include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n\
         SEC(\"tp/syscalls/sys_enter_getpid\") int on_getpid(void *ctx) { return 0; }\n\
         char LICENSE[] SEC(\"license\") = \"GPL\";\n",
    )
    .unwrap();
    let out = run(bpfgen()
        .args(["build", "--no-cache", "-o"])
        .arg(dir.path())
        .arg(&source));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("FROM_ENV is not defined"));
    run_ok(
        bpfgen()
            .env("BPFGEN_CFLAGS", "-DFROM_ENV=1 -O2")
            .args(["build", "--no-cache", "-o"])
            .arg(dir.path())
            .arg(&source),
    );
}

#[test]
fn completions_and_the_man_page_come_from_the_command_line() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = run_ok(bpfgen().args(["completions", shell])).stdout;
        let script = String::from_utf8(script).unwrap();
        assert!(
            script.contains("bpfgen") && script.contains("build"),
            "{shell}"
        );
    }
    let page = String::from_utf8(run_ok(bpfgen().arg("man")).stdout).unwrap();
    assert!(page.contains(".TH bpfgen 1"), "{page}");
    assert!(page.contains("completions"), "{page}");
    let json = run_ok(
        bpfgen()
            .args(["inspect", "--message-format", "json"])
            .arg(built_example(scratch().path(), "minimal")),
    );
    assert!(String::from_utf8_lossy(&json.stdout).starts_with("{\n"));
}

#[test]
fn clang_diagnostics_name_the_source_as_it_was_given() {
    let dir = scratch();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("src/bad.bpf.c"),
        "int f(void) { return undeclared; }\n",
    )
    .unwrap();
    let out = run(bpfgen().current_dir(dir.path()).args([
        "build",
        "--no-cache",
        "src/bad.bpf.c",
        "-o",
        "out",
    ]));
    assert_eq!(out.status.code(), Some(1));
    let log = stderr(&out);
    assert!(
        log.contains("\nsrc/bad.bpf.c:1:22: error: use of undeclared identifier")
            || log.starts_with("src/bad.bpf.c:1:22: error"),
        "{log}"
    );
    assert!(!log.contains(&dir.path().display().to_string()), "{log}");
    assert!(
        log.contains("bpfgen: error: src/bad.bpf.c: clang failed"),
        "{log}"
    );
}

#[test]
fn colour_follows_color_and_the_environment() {
    let dir = scratch();
    let source = dir.path().join("bad.bpf.c");
    std::fs::write(&source, "int f(void) { return undeclared; }\n").unwrap();
    let build = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = bpfgen();
        cmd.arg("build")
            .args(args)
            .arg(&source)
            .arg("-o")
            .arg(dir.path());
        for (name, value) in env {
            cmd.env(name, value);
        }
        stderr(&run(&mut cmd))
    };
    let coloured = build(&["--color", "always"], &[]);
    assert!(
        coloured.contains("bpfgen: \x1b[1;31merror:\x1b[0m"),
        "{coloured:?}"
    );
    assert!(
        coloured.contains("\x1b[0;1;31merror: "),
        "clang colours too: {coloured:?}"
    );
    assert!(!build(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]).contains('\x1b'));
    // Not a terminal: no colour unless forced.
    assert!(!build(&[], &[]).contains('\x1b'));
    assert!(build(&[], &[("CLICOLOR_FORCE", "1")]).contains('\x1b'));
}

#[test]
fn verbose_shows_commands_cache_answers_and_outputs() {
    let dir = scratch();
    let build = || {
        stderr(&run_ok(
            bpfgen()
                .args(["build", "-v", "-o"])
                .arg(dir.path())
                .arg(example("minimal.bpf.c")),
        ))
    };
    let first = build();
    let second = build();
    let skeleton = format!("{}/minimal.skel.h", dir.path().display());
    assert!(
        first.contains(&format!("bpfgen: wrote {skeleton}")),
        "{first}"
    );
    assert!(
        second.contains(&format!("bpfgen: unchanged {skeleton}")),
        "{second}"
    );
    for log in [&first, &second] {
        assert!(log.contains("minimal.bpf.c: cache"), "{log}");
    }
    let hit = second.contains("minimal.bpf.c: cache hit");
    let ran = first.contains(": cache miss; running: ") && first.contains(" -target bpf ");
    assert!(ran || first.contains("cache hit"), "{first}");
    assert!(hit, "{second}");
}

#[test]
fn build_reports_clang_and_check_findings_as_json_lines() {
    let dir = scratch();
    let bad = dir.path().join("bad.bpf.c");
    std::fs::write(&bad, "int f(void) { return undeclared; }\n").unwrap();
    let warned = dir.path().join("warned.bpf.c");
    std::fs::write(&warned, "int g(void) { int unused; return 0; }\n").unwrap();
    let out = run(bpfgen()
        .args(["build", "--message-format", "json", "-o"])
        .arg(dir.path())
        .arg(&bad)
        .arg(&warned)
        .arg(fixture("check/stack_trace_sized_by_user.bpf.c"))
        .args(["--", "-Wall"]));
    assert_eq!(out.status.code(), Some(1));
    let records: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let compiler: Vec<_> = records.iter().filter(|r| r["kind"] == "compiler").collect();
    assert!(
        compiler.iter().any(|r| r["severity"] == "error"
            && r["line"] == 1
            && r["message"].as_str().unwrap().contains("undeclared")),
        "{records:?}"
    );
    assert!(
        compiler
            .iter()
            .any(|r| r["severity"] == "warning" && r["option"] == "-Wunused-variable"),
        "{records:?}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["kind"] == "check" && r["code"] == "B0203"),
        "{records:?}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["kind"] == "bpfgen" && r["severity"] == "error"),
        "{records:?}"
    );
    assert_matches_schema("bpfgen.diagnostic.schema.json", &out.stdout, dir.path());
}
