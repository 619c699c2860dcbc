//! The remote build cache against real stores on loopback (redis-server, and nginx's WebDAV
//! module), each started by the test on a free port with its own data directory: a cold local
//! cache with a warm remote runs no clang and gives the same bytes; a store dying mid-build
//! or absent costs one warning, not the build; tampered entries are refused and rebuilt;
//! read-only builds write nothing.

use crate::util::*;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process of this test's, stopped (and its data removed) when dropped.
struct Server {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `redis-server` on 127.0.0.1, storing nothing on disk.
    fn redis() -> Server {
        let dir = scratch();
        let port = free_port();
        let child = Command::new(installed("redis-server"))
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--save",
                "",
            ])
            .args(["--appendonly", "no", "--dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server");
        Server::ready(child, port, dir)
    }

    /// nginx serving a WebDAV collection from its own directory (one process, no master).
    fn webdav() -> Server {
        let dir = scratch();
        let port = free_port();
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        let d = dir.path().display();
        let config = format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             load_module /usr/lib/nginx/modules/ngx_http_dav_ext_module.so;\n\
             events {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/body;\n\
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n\
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             server {{\n    listen 127.0.0.1:{port};\n    root {};\n    location / {{\n\
             dav_methods PUT DELETE MKCOL COPY MOVE;\n      dav_ext_methods PROPFIND OPTIONS;\n\
             create_full_put_path on;\n      client_max_body_size 0;\n    }}\n  }}\n}}\n",
            root.display()
        );
        std::fs::write(dir.path().join("nginx.conf"), config).unwrap();
        let child = Command::new(installed("nginx"))
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .spawn()
            .expect("start nginx");
        Server::ready(child, port, dir)
    }

    /// Waits (up to 10s) until the server accepts connections.
    fn ready(child: Child, port: u16, dir: tempfile::TempDir) -> Server {
        let server = Server { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the server on port {port} did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn redis_url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn webdav_url(&self) -> String {
        format!("webdav://127.0.0.1:{}/bpfgen-cache", self.port)
    }

    /// `redis-cli` against this server.
    fn redis_cli(&self, args: &[&str]) -> String {
        let out = run_ok(
            Command::new(installed("redis-cli"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                .args(args),
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn redis_keys(&self, pattern: &str) -> Vec<String> {
        self.redis_cli(&["--raw", "KEYS", pattern])
            .lines()
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()
    }
}

/// A TCP port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `program`'s path, or a failure saying how to install it (scripts/install-deps.sh does).
fn installed(program: &str) -> PathBuf {
    ["/usr/bin", "/usr/sbin"]
        .iter()
        .map(|dir| Path::new(dir).join(program))
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("{program} is not installed: run scripts/install-deps.sh"))
}

/// A project of three sources (one including vmlinux.h, precompiled) and a logging clang.
struct Project {
    dir: tempfile::TempDir,
    sources: Vec<PathBuf>,
    clang: PathBuf,
    log: PathBuf,
}

impl Project {
    fn new() -> Project {
        let dir = scratch();
        let src = dir.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        for file in [
            "bootstrap.bpf.c",
            "bootstrap.h",
            "minimal.bpf.c",
            "helloworld.bpf.c",
        ] {
            std::fs::copy(example(file), src.join(file)).unwrap();
        }
        let sources = ["bootstrap", "minimal", "helloworld"]
            .iter()
            .map(|stem| src.join(format!("{stem}.bpf.c")))
            .collect();
        let log = dir.path().join("clang.log");
        let clang = logging_clang(dir.path(), &log);
        Project {
            dir,
            sources,
            clang,
            log,
        }
    }

    /// `bpfgen build` of every source as "machine" `machine` (its own local cache and output
    /// directory), with the remote cache `remote` in `mode`.
    fn build(&self, machine: &str, remote: &str, mode: Option<&str>) -> Command {
        let mut cmd = bpfgen();
        cmd.env("BPFGEN_CACHE_DIR", self.cache(machine))
            .env("BPFGEN_REMOTE_CACHE", remote)
            .arg("build")
            .arg("--clang")
            .arg(&self.clang)
            .args(&self.sources)
            .arg("-o")
            .arg(self.out(machine));
        match mode {
            Some(mode) => cmd.env("BPFGEN_REMOTE_CACHE_MODE", mode),
            None => cmd.env_remove("BPFGEN_REMOTE_CACHE_MODE"),
        };
        cmd
    }

    fn cache(&self, machine: &str) -> PathBuf {
        self.dir.path().join(machine).join("cache")
    }

    fn out(&self, machine: &str) -> PathBuf {
        self.dir.path().join(machine).join("out")
    }

    fn compiles(&self) -> usize {
        compiles(&self.log)
    }

    /// Every object and skeleton `machine` built, by name.
    fn outputs(&self, machine: &str) -> Vec<(String, Vec<u8>)> {
        ["bootstrap", "minimal", "helloworld"]
            .iter()
            .flat_map(|stem| [format!("{stem}.bpf.o"), format!("{stem}.skel.h")])
            .map(|name| {
                let bytes = std::fs::read(self.out(machine).join(&name)).unwrap();
                (name, bytes)
            })
            .collect()
    }

    /// `bpfgen cache stats` of `machine`'s local cache.
    fn stats(&self, machine: &str) -> String {
        let out = run_ok(
            bpfgen()
                .env("BPFGEN_CACHE_DIR", self.cache(machine))
                .args(["cache", "stats"]),
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

/// The lines of a build's stderr that are warnings about the remote cache.
fn remote_warnings(out: &std::process::Output) -> Vec<String> {
    stderr(out)
        .lines()
        .filter(|l| l.contains("warning: remote cache"))
        .map(String::from)
        .collect()
}

/// Machine A builds with a read-write remote; machine B, with an empty local cache, builds
/// the same sources from the remote alone: no compile, no precompiled header, the same bytes.
fn cold_local_warm_remote(remote: &str) {
    let project = Project::new();
    let a = run_ok(&mut project.build("a", remote, Some("read-write")));
    assert_eq!(project.compiles(), 3, "{}", stderr(&a));
    assert!(remote_warnings(&a).is_empty(), "{}", stderr(&a));

    let b = run_ok(&mut project.build("b", remote, Some("read-only")));
    assert_eq!(
        project.compiles(),
        3,
        "machine B ran clang:\n{}",
        stderr(&b)
    );
    assert!(remote_warnings(&b).is_empty(), "{}", stderr(&b));
    assert!(
        !project.cache("b").join("pch").exists(),
        "machine B precompiled vmlinux.h"
    );
    assert_eq!(project.outputs("a"), project.outputs("b"));
    let stats = project.stats("b");
    assert!(stats.contains("remote hits: 3\n"), "{stats}");
    assert!(stats.contains("misses: 0\n"), "{stats}");

    // The remote hits were copied into B's local cache: with the remote gone, B still hits.
    let again = run_ok(&mut project.build("b", "redis://127.0.0.1:1/0", Some("read-only")));
    assert_eq!(project.compiles(), 3);
    assert!(remote_warnings(&again).is_empty(), "{}", stderr(&again));
    assert!(project.stats("b").contains("local hits: 3\n"));

    let cleared = run_ok(
        bpfgen()
            .env("BPFGEN_CACHE_DIR", project.cache("b"))
            .args(["cache", "clear"]),
    );
    assert!(cleared.status.success());
    let stats = project.stats("b");
    assert!(
        stats.contains("local hits: 0\n") && stats.contains("size: 0 bytes in 0 entries"),
        "{stats}"
    );
}

#[test]
fn redis_cold_local_cache_with_a_warm_remote_runs_no_clang() {
    let redis = Server::redis();
    cold_local_warm_remote(&redis.redis_url());
}

#[test]
fn webdav_cold_local_cache_with_a_warm_remote_runs_no_clang() {
    let nginx = Server::webdav();
    cold_local_warm_remote(&nginx.webdav_url());
    let stored = std::fs::read_dir(nginx.dir.path().join("root/bpfgen-cache/v1/results"))
        .unwrap()
        .count();
    assert_eq!(stored, 3, "one result per source in the WebDAV collection");
}

#[test]
fn a_store_killed_mid_build_costs_one_warning_not_the_build() {
    let mut redis = Server::redis();
    let project = Project::new();
    // The same build without a remote: the delay a dead store may add is measured against it,
    // not against a wall-clock figure that a loaded machine would break.
    let started = Instant::now();
    run_ok(project.build("base", "", None).arg("-j1"));
    let baseline = started.elapsed();
    let compiled_before = project.compiles();
    let started = Instant::now();
    let mut build = project.build("a", &redis.redis_url(), Some("read-write"));
    let child = build
        .arg("-j1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the store once the first source has compiled (the build has talked to it).
    while project.compiles() == compiled_before {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no compile started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    redis.child.kill().unwrap();
    redis.child.wait().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(project.outputs("a").len(), 6);
    let warnings = remote_warnings(&out);
    assert_eq!(warnings.len(), 1, "{}", stderr(&out));
    assert!(warnings[0].contains("compiling locally"), "{}", warnings[0]);
    // At most one connect (2 s), one request (5 s) and the exit flush (15 s) more.
    let delay = started.elapsed().saturating_sub(baseline);
    assert!(
        delay < Duration::from_secs(25),
        "the dead store delayed the build by {delay:?} (a build without a remote: {baseline:?})"
    );
    assert!(project.stats("a").contains("misses: 3\n"));

    // A store that is not there at all: the same, with a fresh local cache.
    let out = run_ok(&mut project.build("b", &redis.redis_url(), Some("read-write")));
    assert_eq!(remote_warnings(&out).len(), 1, "{}", stderr(&out));
    assert_eq!(project.outputs("a"), project.outputs("b"));
}

#[test]
fn tampered_remote_entries_are_refused_and_rebuilt() {
    let redis = Server::redis();
    let project = Project::new();
    run_ok(&mut project.build("a", &redis.redis_url(), Some("read-write")));
    assert_eq!(project.compiles(), 3);
    // One result's bytes changed in place, one manifest replaced by garbage.
    let results = redis.redis_keys("bpfgen/v1/results/*");
    let manifests = redis.redis_keys("bpfgen/v1/manifests/*");
    assert_eq!((results.len(), manifests.len()), (3, 3));
    redis.redis_cli(&["SETRANGE", &results[0], "200", "tampered"]);
    redis.redis_cli(&["SET", &manifests[0], "{\"not\": \"a manifest\"}"]);

    let out = run_ok(&mut project.build("b", &redis.redis_url(), Some("read-only")));
    let warnings = remote_warnings(&out);
    assert_eq!(warnings.len(), 1, "{}", stderr(&out));
    assert!(warnings[0].contains("refused"), "{}", warnings[0]);
    // The tampered entries were compiled again (one or two sources, if both hit one).
    let rebuilt = project.compiles() - 3;
    assert!(
        (1..=2).contains(&rebuilt),
        "{rebuilt} rebuilt:\n{}",
        stderr(&out)
    );
    assert_eq!(project.outputs("a"), project.outputs("b"));
    let stats = project.stats("b");
    assert!(stats.contains(&format!("misses: {rebuilt}\n")), "{stats}");
    assert!(
        stats.contains(&format!("remote hits: {}\n", 3 - rebuilt)),
        "{stats}"
    );
}

#[test]
fn read_only_builds_write_nothing() {
    let redis = Server::redis();
    let project = Project::new();
    run_ok(&mut project.build("a", &redis.redis_url(), Some("read-only")));
    // Without BPFGEN_REMOTE_CACHE_MODE, a build is read-only too.
    run_ok(&mut project.build("b", &redis.redis_url(), None));
    assert_eq!(project.compiles(), 6);
    assert_eq!(redis.redis_cli(&["DBSIZE"]).trim(), "0");
    assert!(project.stats("b").contains("remote bytes written: 0\n"));
}

#[test]
fn a_bad_remote_location_is_a_usage_error() {
    let project = Project::new();
    let out = run(&mut project.build("a", "ftp://example/cache", None));
    assert_eq!(out.status.code(), Some(2));
    let text = stderr_without_clang_advice(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.contains("BPFGEN_REMOTE_CACHE='ftp://example/cache'"),
        "{text}"
    );
}
