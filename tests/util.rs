//! Shared test helpers: running bpfgen, scratch directories, the kernel gate, trace_pipe,
//! and the external headers some tests compile against.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A file under `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures").join(name)
}

/// A file under `examples/c/`.
pub fn example(name: &str) -> PathBuf {
    repo().join("examples/c").join(name)
}

/// A fresh scratch directory, removed when dropped.
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("bpfgen-test-")
        .tempdir()
        .expect("create a scratch directory")
}

/// The bpfgen binary, ready for arguments, with a cache of the test run's own.
pub fn bpfgen() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bpfgen"));
    cmd.env(
        "BPFGEN_CACHE_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("cache"),
    );
    // Tests never read or write a shared cache the developer's environment names.
    cmd.env_remove("BPFGEN_REMOTE_CACHE");
    cmd
}

/// Builds `tests/fixtures/<stem>.bpf.c` with bpfgen into a fresh scratch directory.
pub fn build_fixture(stem: &str) -> tempfile::TempDir {
    let dir = scratch();
    run_ok(
        bpfgen()
            .arg("build")
            .arg(fixture(&format!("{stem}.bpf.c")))
            .arg("-o")
            .arg(dir.path()),
    );
    dir
}

/// Runs a command and returns its output, whatever the exit status.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs a command that must succeed; shows its stderr otherwise.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}:\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `bpfgen gen vmlinux --btf btf -o header`; fails the test if it fails.
pub fn gen_vmlinux(btf: &Path, header: &Path) {
    run_ok(
        bpfgen()
            .args(["gen", "vmlinux", "--btf"])
            .arg(btf)
            .arg("-o")
            .arg(header),
    );
}

/// bpfgen's stderr without the advice about clang itself, which is given once, when a clang
/// binary is first seen (so two runs can be compared).
pub fn stderr_without_clang_advice(out: &Output) -> String {
    stderr(out)
        .lines()
        .filter(|l| !l.starts_with("bpfgen: warning: clang"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether kernel tests can run here (root, kernel BTF). When they cannot, says SKIPPED loudly,
/// unless `BPFGEN_REQUIRE_KERNEL=1`, which turns the skip into a failure (CI sets it).
pub fn kernel_available(test: &str) -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false);
    let btf = Path::new("/sys/kernel/btf/vmlinux").exists();
    if root && btf {
        return true;
    }
    let why = if root {
        "no /sys/kernel/btf/vmlinux"
    } else {
        "not root"
    };
    if std::env::var("BPFGEN_REQUIRE_KERNEL").as_deref() == Ok("1") {
        panic!("{test}: kernel test cannot run ({why}) but BPFGEN_REQUIRE_KERNEL=1");
    }
    eprintln!("\n*** SKIPPED {test}: kernel test needs root and kernel BTF ({why}) ***\n");
    false
}

/// A directory holding `vmlinux.h` for this machine's kernel, generated once by bpfgen, for
/// the tests that run clang themselves.
pub fn vmlinux_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vmlinux");
        std::fs::create_dir_all(&dir).unwrap();
        run_ok(
            bpfgen()
                .args(["gen", "vmlinux", "-o"])
                .arg(dir.join("vmlinux.h")),
        );
        dir
    })
}

/// Include flags for libbpf 1.7's headers (vendored in the libbpf-sys crate), so that skeletons
/// can be compiled against a libbpf newer than the system's 1.1.
pub fn libbpf17_include_flags() -> Vec<String> {
    static FLAGS: OnceLock<Vec<String>> = OnceLock::new();
    FLAGS
        .get_or_init(|| {
            let out = run_ok(Command::new(env!("CARGO")).args([
                "metadata",
                "--format-version",
                "1",
                "--manifest-path",
                &repo().join("Cargo.toml").to_string_lossy(),
            ]));
            let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let manifest = meta["packages"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "libbpf-sys")
                .and_then(|p| p["manifest_path"].as_str())
                .expect("libbpf-sys is a dev-dependency");
            let libbpf = Path::new(manifest).parent().unwrap().join("libbpf");
            assert!(
                libbpf.join("src/libbpf.h").exists(),
                "libbpf 1.7 sources missing"
            );
            // `#include <bpf/libbpf.h>` needs a directory with a `bpf` entry.
            let shim = Path::new(env!("CARGO_TARGET_TMPDIR")).join("libbpf17");
            std::fs::create_dir_all(&shim).unwrap();
            let link = shim.join("bpf");
            if std::fs::symlink_metadata(&link).is_err() {
                let tmp = shim.join(format!("bpf.{}", std::process::id()));
                std::os::unix::fs::symlink(libbpf.join("src"), &tmp).unwrap();
                std::fs::rename(&tmp, &link).unwrap();
            }
            vec![
                format!("-I{}", shim.display()),
                format!("-I{}", libbpf.join("include/uapi").display()),
                format!("-I{}", libbpf.join("include").display()),
            ]
        })
        .clone()
}

/// An exclusive lock on trace_pipe across test threads and processes: reading it consumes
/// lines, so two readers would steal each other's output.
pub struct TraceLock {
    /// Held, not read: the lock lives as long as the file stays open.
    _lock: File,
}

impl TraceLock {
    /// Waits for the lock, mounting tracefs if needed.
    pub fn acquire() -> TraceLock {
        let tracing = Path::new("/sys/kernel/tracing");
        if !tracing.join("trace_pipe").exists() {
            run_ok(Command::new("mount").args(["-t", "tracefs", "tracefs", "/sys/kernel/tracing"]));
        }
        let file = File::create(std::env::temp_dir().join("bpfgen-tests-trace_pipe.lock")).unwrap();
        file.lock().unwrap();
        TraceLock { _lock: file }
    }

    /// Reads trace_pipe until a line satisfies `wanted` or `timeout` passes, running `poke`
    /// between reads (to trigger the traced event). Returns the matching line.
    pub fn wait_for(
        &self,
        timeout: Duration,
        mut poke: impl FnMut(),
        wanted: impl Fn(&str) -> bool,
    ) -> Option<String> {
        use std::os::unix::fs::OpenOptionsExt;
        const O_NONBLOCK: i32 = 0o4000;
        let mut pipe = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(O_NONBLOCK)
            .open("/sys/kernel/tracing/trace_pipe")
            .unwrap();
        let deadline = Instant::now() + timeout;
        let mut pending = String::new();
        let mut buf = vec![0u8; 64 * 1024];
        while Instant::now() < deadline {
            poke();
            match pipe.read(&mut buf) {
                Ok(n) if n > 0 => {
                    pending.push_str(&String::from_utf8_lossy(&buf[..n]));
                    while let Some(end) = pending.find('\n') {
                        let line: String = pending.drain(..=end).collect();
                        if wanted(&line) {
                            return Some(line);
                        }
                    }
                }
                Ok(_) => std::thread::sleep(Duration::from_millis(100)),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(e) => panic!("reading trace_pipe: {e}"),
            }
        }
        None
    }
}

/// Compiles a user-space program against generated skeletons with the system libbpf.
pub fn compile_userspace(source: &Path, include: &Path, out: &Path) {
    run_ok(
        Command::new("cc")
            .args(["-Wall", "-Werror", "-g", "-I"])
            .arg(include)
            .arg(source)
            .arg("-o")
            .arg(out)
            .args(["-lbpf", "-lelf", "-lz"]),
    );
}

/// The kernel BTFs shipped in tests/data, decompressed once per test process.
pub fn kernel_btf(name: &str) -> PathBuf {
    static DECOMPRESSING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = DECOMPRESSING.lock().unwrap();
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.btf"));
    if !out.exists() {
        let xz = repo().join("tests/data").join(format!("{name}.btf.xz"));
        let raw = run_ok(Command::new("xz").arg("-dc").arg(&xz)).stdout;
        let tmp = out.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, raw).unwrap();
        std::fs::rename(&tmp, &out).unwrap();
    }
    out
}

/// The kernels tests/data has BTF of, oldest first.
pub const KERNELS: &[&str] = &[
    "debian-12-6.1.0-56-amd64",
    "debian-12-6.12.117-amd64",
    "running-6.18.44-fc-v669-x86_64",
];

/// What clang needs under `-target bpf` to find this host's system headers (`asm/types.h`):
/// the directories bpfgen discovers from clang itself, each `-idirafter`, and this host's
/// `-D__TARGET_ARCH_<arch>`. Nothing architecture-specific is spelled out in the tests.
pub fn host_clang_flags() -> &'static [String] {
    static FLAGS: OnceLock<Vec<String>> = OnceLock::new();
    FLAGS.get_or_init(|| {
        let clang = bpfgen::toolchain::Clang::discover(None).expect("clang");
        let arch = bpfgen::toolchain::TargetArch::host().expect("a known host architecture");
        let mut flags = vec![format!("-D__TARGET_ARCH_{}", arch.libbpf_name())];
        for dir in clang.system_includes() {
            flags.push("-idirafter".to_string());
            flags.push(dir.display().to_string());
        }
        flags
    })
}

/// A fixture compiled by clang directly, with `flags`, into `dir`.
pub fn clang_object(dir: &Path, source: &Path, flags: &[&str]) -> PathBuf {
    let out = dir.join(format!(
        "{}.o",
        source.file_stem().unwrap().to_string_lossy()
    ));
    run_ok(
        Command::new("clang")
            .args(["-O2", "-target", "bpf", "-c"])
            .args(flags)
            .args(host_clang_flags())
            .arg(source)
            .arg("-o")
            .arg(&out),
    );
    out
}

/// `cargo <subcommand> --locked <args>` on the test crate `tests/<name>`, with its own target
/// directory `target/<target>` under bpfgen's; `args` may end in `-- ...`.
pub fn test_crate_cargo(name: &str, target: &str, subcommand: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.arg(subcommand)
        .arg("--locked")
        .arg("--manifest-path")
        .arg(repo().join("tests").join(name).join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", repo().join("target").join(target))
        // What bpfgen's own test run set must not leak into the test crate's build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .args(args);
    cmd
}

/// Compiles a C tool of the tests (a libbpf harness under tests/fixtures) against the system
/// libbpf into `out`.
pub fn compile_libbpf_tool(source: &Path, out: &Path) {
    run_ok(
        Command::new("cc")
            .args(["-Wall", "-Werror", "-O2"])
            .arg(source)
            .arg("-o")
            .arg(out)
            .args(["-lbpf", "-lelf", "-lz"]),
    );
}

/// Builds `examples/c/<stem>.bpf.c` (no skeleton) into `dir`; returns the object's path.
pub fn built_example(dir: &Path, stem: &str) -> PathBuf {
    run_ok(
        bpfgen()
            .args(["build", "--skel", "none", "-o"])
            .arg(dir)
            .arg("-I")
            .arg(example(""))
            .arg(example(&format!("{stem}.bpf.c"))),
    );
    dir.join(format!("{stem}.bpf.o"))
}

/// Asserts that `documents` (one JSON document, or JSON lines) is valid under
/// `schema/<schema>` (JSON Schema 2020-12, checked by python3-jsonschema).
pub fn assert_matches_schema(schema: &str, documents: &[u8], dir: &Path) {
    let file = dir.join("documents-to-validate.json");
    std::fs::write(&file, documents).unwrap();
    run_ok(
        Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(
                "import json, sys, jsonschema\n\
                 schema = json.load(open(sys.argv[1]))\n\
                 jsonschema.Draft202012Validator.check_schema(schema)\n\
                 text = open(sys.argv[2]).read()\n\
                 try:\n\
                 \x20   documents = [json.loads(text)]\n\
                 except ValueError:\n\
                 \x20   documents = [json.loads(l) for l in text.splitlines() if l.strip()]\n\
                 for document in documents:\n\
                 \x20   jsonschema.Draft202012Validator(schema).validate(document)",
            )
            .arg(repo().join("schema").join(schema))
            .arg(&file),
    );
}

/// A clang that logs each compile (not the `-v` probe) to `log`, then runs the real one.
pub fn logging_clang(dir: &Path, log: &Path) -> std::path::PathBuf {
    let wrapper = dir.join("clang");
    clang_wrapper(
        &wrapper,
        &format!("*\" -c \"*) echo compile >> '{}';;", log.display()),
    );
    wrapper
}

/// Writes a clang at `path` that first runs the shell `case` arms `arms` on its arguments
/// (matched as `" $* "`), then the real clang with them.
pub fn clang_wrapper(path: &Path, arms: &str) {
    write_script(
        path,
        &format!(
            "#!/bin/sh\ncase \" $* \" in {arms} esac\nexec '{}' \"$@\"\n",
            which_clang()
        ),
    );
}

/// Writes `text` to `path` as an executable file.
pub fn write_script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The clang on PATH.
pub fn which_clang() -> String {
    let out = run_ok(Command::new("sh").args(["-c", "command -v clang"]));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// How many compiles a [`logging_clang`] logged.
pub fn compiles(log: &Path) -> usize {
    std::fs::read_to_string(log).map_or(0, |text| text.lines().count())
}
