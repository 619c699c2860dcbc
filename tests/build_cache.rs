//! The build cache: unchanged rebuilds run no clang, changes to any dependency are seen,
//! warnings are replayed, concurrent builds share one cache safely, and the cache is bounded.

use crate::util::*;
use std::path::Path;
use std::process::Command;

#[test]
fn unchanged_rebuilds_run_no_clang_and_changes_are_seen() {
    let dir = scratch();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    for file in ["bootstrap.bpf.c", "bootstrap.h", "minimal.bpf.c"] {
        std::fs::copy(example(file), src.join(file)).unwrap();
    }
    let log = dir.path().join("clang.log");
    let clang = logging_clang(dir.path(), &log);
    let cache = dir.path().join("cache");
    let build = |extra: &[&str]| {
        let out = run_ok(
            bpfgen()
                .env("BPFGEN_CACHE_DIR", &cache)
                .arg("build")
                .arg("--clang")
                .arg(&clang)
                .arg(src.join("bootstrap.bpf.c"))
                .arg(src.join("minimal.bpf.c"))
                .arg("-o")
                .arg(dir.path().join("out"))
                .args(extra),
        );
        std::fs::read(dir.path().join("out/bootstrap.bpf.o")).unwrap_or_else(|_| panic!("{out:?}"))
    };
    let first = build(&[]);
    assert_eq!(compiles(&log), 2);
    let second = build(&[]);
    assert_eq!(compiles(&log), 2, "an unchanged rebuild ran clang");
    assert!(first == second);

    // A header only bootstrap uses: exactly one compile.
    let header = src.join("bootstrap.h");
    let text = std::fs::read_to_string(&header).unwrap();
    std::fs::write(&header, format!("{text}\n/* touched */\n")).unwrap();
    build(&[]);
    assert_eq!(
        compiles(&log),
        3,
        "a header change was not seen, or rebuilt too much"
    );

    build(&["--no-cache"]);
    assert_eq!(compiles(&log), 5, "--no-cache reused results");
}

#[test]
fn warnings_are_replayed_from_the_cache() {
    let dir = scratch();
    let source = dir.path().join("warn.bpf.c");
    let text = std::fs::read_to_string(example("minimal.bpf.c")).unwrap();
    std::fs::write(
        &source,
        format!("{text}\nstatic int unused_helper(void) {{ return 0; }}\n"),
    )
    .unwrap();
    let cache = dir.path().join("cache");
    let build = || {
        let out = run_ok(
            bpfgen()
                .env("BPFGEN_CACHE_DIR", &cache)
                .arg("build")
                .arg(&source)
                .arg("-o")
                .arg(dir.path().join("out"))
                .args(["--", "-Wall"]),
        );
        stderr_without_clang_advice(&out)
    };
    let first = build();
    assert!(first.contains("unused_helper"), "{first}");
    assert_eq!(build(), first);
}

#[test]
fn concurrent_builds_share_one_cache() {
    let dir = scratch();
    let cache = dir.path().join("cache");
    let sources: Vec<_> = ["helloworld", "minimal", "bootstrap"]
        .iter()
        .map(|name| example(&format!("{name}.bpf.c")))
        .collect();
    let children: Vec<_> = (0..3)
        .map(|i| {
            bpfgen()
                .env("BPFGEN_CACHE_DIR", &cache)
                .arg("build")
                .args(&sources)
                .arg("-o")
                .arg(dir.path().join(format!("out{i}")))
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    for name in ["helloworld", "minimal", "bootstrap"] {
        let read =
            |i: usize| std::fs::read(dir.path().join(format!("out{i}/{name}.bpf.o"))).unwrap();
        assert!(
            read(0) == read(1) && read(1) == read(2),
            "{name} differs between builds"
        );
    }
}

#[test]
fn the_cache_stays_within_its_size_limit() {
    let dir = scratch();
    let cache = dir.path().join("cache");
    for limit in ["1", "lots"] {
        let out = run(bpfgen()
            .env("BPFGEN_CACHE_DIR", &cache)
            .env("BPFGEN_CACHE_MAX_SIZE", limit)
            .arg("build")
            .arg(example("minimal.bpf.c"))
            .arg("-o")
            .arg(dir.path().join("out")));
        if limit == "lots" {
            assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
            assert!(stderr(&out).contains("BPFGEN_CACHE_MAX_SIZE"));
        } else {
            assert!(out.status.success(), "{}", stderr(&out));
            let results = std::fs::read_dir(cache.join("results")).unwrap().count();
            assert_eq!(results, 0, "a 1-byte cache keeps no results");
            assert!(dir.path().join("out/minimal.bpf.o").exists());
        }
    }
}

/// A tiny program whose object depends on `cfg.h`'s VALUE.
fn value_program(dir: &Path) -> std::path::PathBuf {
    let source = dir.join("value.bpf.c");
    std::fs::write(
        &source,
        "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include \"cfg.h\"\n\
         int value = VALUE;\nSEC(\"socket\") int prog(void *ctx) { return value; }\n\
         char LICENSE[] SEC(\"license\") = \"GPL\";\n",
    )
    .unwrap();
    source
}

fn build_value(source: &Path, out: &Path, cache: &Path, extra: &[&str]) -> Vec<u8> {
    run_ok(
        bpfgen()
            .env("BPFGEN_CACHE_DIR", cache)
            .arg("build")
            .arg(source)
            .arg("-o")
            .arg(out)
            .args(extra),
    );
    std::fs::read(out.join("value.bpf.o")).unwrap()
}

#[test]
fn a_header_edited_while_clang_runs_is_not_cached_stale() {
    let dir = scratch();
    let source = value_program(dir.path());
    let header = dir.path().join("cfg.h");
    std::fs::write(&header, "#define VALUE 1\n").unwrap();
    // A clang that takes a second to compile, so that the header changes under it.
    let slow = dir.path().join("slow-clang");
    clang_wrapper(&slow, "*\" -c \"*) sleep 1;;");
    let cache = dir.path().join("cache");
    let mut first = bpfgen()
        .env("BPFGEN_CACHE_DIR", &cache)
        .arg("build")
        .arg("--clang")
        .arg(&slow)
        .arg(&source)
        .arg("-o")
        .arg(dir.path().join("first"))
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    std::fs::write(&header, "#define VALUE 2\n").unwrap();
    assert!(first.wait().unwrap().success());
    let cached = build_value(&source, &dir.path().join("second"), &cache, &[]);
    let fresh = build_value(&source, &dir.path().join("fresh"), &cache, &["--no-cache"]);
    assert!(
        cached == fresh,
        "a result compiled from the old header was cached"
    );
}

#[test]
fn a_new_header_earlier_in_the_search_path_is_seen() {
    let dir = scratch();
    let source = value_program(dir.path());
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(b.join("cfg.h"), "#define VALUE 111\n").unwrap();
    let cache = dir.path().join("cache");
    let flags = ["-I", a.to_str().unwrap(), "-I", b.to_str().unwrap()];
    build_value(&source, &dir.path().join("one"), &cache, &flags);
    std::fs::write(a.join("cfg.h"), "#define VALUE 222\n").unwrap();
    let cached = build_value(&source, &dir.path().join("two"), &cache, &flags);
    let mut fresh_flags = flags.to_vec();
    fresh_flags.push("--no-cache");
    let fresh = build_value(&source, &dir.path().join("fresh"), &cache, &fresh_flags);
    assert!(cached == fresh, "the shadowing header was not seen");
}

#[test]
fn sources_with_one_stem_are_refused() {
    let dir = scratch();
    for sub in ["d1", "d2"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        std::fs::copy(
            example("minimal.bpf.c"),
            dir.path().join(sub).join("p.bpf.c"),
        )
        .unwrap();
    }
    let out = run(bpfgen()
        .arg("build")
        .arg(dir.path().join("d1/p.bpf.c"))
        .arg(dir.path().join("d2/p.bpf.c"))
        .arg("-o")
        .arg(dir.path().join("out")));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("would write the same outputs"));
}

#[test]
fn a_vmlinux_h_given_after_the_double_dash_wins() {
    let dir = scratch();
    let include = dir.path().join("inc");
    std::fs::create_dir_all(&include).unwrap();
    // Only this header defines the marker; the generated one would not compile the source.
    std::fs::write(
        include.join("vmlinux.h"),
        "#pragma once\n#include <linux/types.h>\nstruct only_in_my_header { int x; };\n",
    )
    .unwrap();
    let source = dir.path().join("src/mine.bpf.c");
    std::fs::create_dir_all(source.parent().unwrap()).unwrap();
    std::fs::write(
        &source,
        "#include \"vmlinux.h\"\n#include <bpf/bpf_helpers.h>\nstruct only_in_my_header marker;\n\
         SEC(\"socket\") int prog(void *ctx) { return marker.x; }\nchar LICENSE[] SEC(\"license\") = \"GPL\";\n",
    )
    .unwrap();
    run_ok(
        bpfgen()
            .arg("build")
            .arg(&source)
            .arg("-o")
            .arg(dir.path().join("out"))
            .arg("--")
            .arg("-I")
            .arg(&include),
    );
}

#[test]
fn an_unwritable_home_still_builds() {
    let dir = scratch();
    let out = run(Command::new(env!("CARGO_BIN_EXE_bpfgen"))
        .env_remove("BPFGEN_CACHE_DIR")
        .env_remove("XDG_CACHE_HOME")
        .env("HOME", "/proc/nonexistent-home")
        .arg("build")
        .arg(example("minimal.bpf.c"))
        .arg("-o")
        .arg(dir.path()));
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Modification time and inode of every file in `dir`, by name.
fn file_identities(dir: &Path) -> std::collections::BTreeMap<String, (std::time::SystemTime, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            let name = entry.file_name().into_string().unwrap();
            (name, (meta.modified().unwrap(), meta.ino()))
        })
        .collect()
}

#[test]
fn a_noop_build_writes_nothing_and_a_change_rewrites_only_its_outputs() {
    let dir = scratch();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    for file in ["bootstrap.bpf.c", "bootstrap.h", "minimal.bpf.c"] {
        std::fs::copy(example(file), src.join(file)).unwrap();
    }
    let out = dir.path().join("out");
    let build = || {
        run_ok(
            bpfgen()
                .env("BPFGEN_CACHE_DIR", dir.path().join("cache"))
                .args(["build", "-j2"])
                .arg(src.join("bootstrap.bpf.c"))
                .arg(src.join("minimal.bpf.c"))
                .arg("-o")
                .arg(&out),
        )
    };
    build();
    let first = file_identities(&out);
    assert_eq!(first.len(), 6, "{first:?}");
    // Older times, so that a rewrite within the file system's time granularity is seen too.
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    for name in first.keys() {
        let file = std::fs::File::options()
            .write(true)
            .open(out.join(name))
            .unwrap();
        file.set_modified(old).unwrap();
    }
    let before = file_identities(&out);
    build();
    assert_eq!(file_identities(&out), before, "a no-op build wrote outputs");

    let source = src.join("minimal.bpf.c");
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, text.replace("BPF triggered", "BPF fired")).unwrap();
    build();
    let after = file_identities(&out);
    // The depfile names the same prerequisites: its bytes, and so the file, stay.
    for (name, identity) in &after {
        let rewritten = ["minimal.bpf.o", "minimal.skel.h"].contains(&name.as_str());
        assert_eq!(identity != &before[name], rewritten, "{name}");
    }

    // An output changed behind the build's back is written again.
    let skeleton = out.join("bootstrap.skel.h");
    let good = std::fs::read(&skeleton).unwrap();
    std::fs::write(&skeleton, "/* edited */").unwrap();
    build();
    assert!(
        std::fs::read(&skeleton).unwrap() == good,
        "an edited output was kept"
    );
    std::fs::remove_file(&skeleton).unwrap();
    build();
    assert!(
        std::fs::read(&skeleton).unwrap() == good,
        "a deleted output was not written"
    );
}

#[test]
fn gen_outputs_with_unchanged_bytes_are_not_rewritten() {
    use std::os::unix::fs::MetadataExt;
    let dir = scratch();
    let object = built_example(dir.path(), "minimal");
    let skeleton = dir.path().join("minimal.skel.h");
    let header = dir.path().join("vmlinux.h");
    let btf = kernel_btf("debian-12-6.1.0-56-amd64");
    let generate = || {
        run_ok(
            bpfgen()
                .args(["gen", "skeleton"])
                .arg(&object)
                .arg("-o")
                .arg(&skeleton),
        );
        gen_vmlinux(&btf, &header);
    };
    let identities = || {
        [&skeleton, &header].map(|path| {
            let meta = std::fs::metadata(path).unwrap();
            (meta.ino(), meta.mtime(), meta.mtime_nsec())
        })
    };
    generate();
    let first = identities();
    generate();
    assert_eq!(identities(), first, "unchanged outputs were written again");
}
