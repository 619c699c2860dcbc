//! Runs clang's compiles, from the second one of a process on through a clang fork server.
//!
//! A clang process spends most of its first 30 ms before its `main` runs (mapping libLLVM,
//! half a million relocations, LLVM's static constructors): measured here, an empty compile
//! takes 30-43 ms as a new process and 13-15 ms as a fork of a clang that has done all of
//! that already. The fork server is such a clang: started once with `fork_server.c` preloaded,
//! it stops where `main` would start and runs each compile in a forked child calling clang's
//! `main` with the compile's command line, from the state a fresh clang has there, so the
//! objects are the same bytes (tested, and `scripts/compare-outputs.sh`).
//!
//! The server starts at a process's second clang run (one compile gains nothing from it), only
//! on Linux with glibc, only for an ELF clang (not a wrapper script), only when the user's
//! environment preloads nothing (`LD_PRELOAD`), and serves only runs of the program and
//! environment it was started with, in bpfgen's working directory.
//! `BPFGEN_CLANG_FORK_SERVER=0` turns it off. Whenever the server cannot take a run
//! (it did not start, it went away, it lost the child's status), the run is made as a process
//! of its own, as without it. stdin and stdout are `/dev/null` either way: bpfgen reads a
//! compile's status and messages (stderr) and its output files, never its stdout.

use std::io;
use std::process::{Command, Output, Stdio};

/// Runs clang commands: [`ClangRunner::output`] is `Command::output` with stdout discarded,
/// through the fork server where it can serve the command.
#[derive(Debug, Default)]
pub struct ClangRunner {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    server: server::Lazy,
}

impl ClangRunner {
    /// Runs `command` (a clang, stdin already closed) to its end: its exit status and stderr;
    /// stdout is discarded.
    pub fn output(&self, command: &mut Command) -> io::Result<Output> {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        if let Some(output) = self.server.output(command) {
            return Ok(output);
        }
        command.stdout(Stdio::null()).output()
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod server {
    use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
    use rustix::net::{
        AddressFamily, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage, SendFlags,
        SocketFlags, SocketType,
    };
    use std::ffi::{OsStr, OsString};
    use std::io::{self, IoSlice, Read, Write};
    use std::mem::MaybeUninit;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::{Child, Command, ExitStatus, Output, Stdio};
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// The preloaded library (`fork_server.c`, compiled by build.rs).
    const LIBRARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/fork_server.so"));
    /// Set to `0` to run every clang as a process of its own.
    const SWITCH: &str = "BPFGEN_CLANG_FORK_SERVER";
    /// How long a starting server may take to say it is ready (a clang starts in ~30 ms).
    const START_TIMEOUT: Duration = Duration::from_secs(10);

    /// The server of a [`super::ClangRunner`]: none before its second run, then started once.
    #[derive(Debug, Default)]
    pub(super) struct Lazy {
        runs: AtomicUsize,
        server: OnceLock<Option<ForkServer>>,
    }

    impl Lazy {
        /// `command`'s output through the server, or `None` when the server cannot take it
        /// (the caller then runs it as a process of its own).
        pub(super) fn output(&self, command: &mut Command) -> Option<Output> {
            if self.runs.fetch_add(1, Ordering::Relaxed) == 0 {
                return None;
            }
            let server = self
                .server
                .get_or_init(|| ForkServer::start(command).ok())
                .as_ref()?;
            server
                .serves(command)
                .then(|| server.run(command).ok())
                .flatten()
        }
    }

    #[cfg(test)]
    impl Lazy {
        /// Whether a server was tried (`None`: not yet) and started.
        pub(super) fn started(&self) -> Option<bool> {
            self.server.get().map(Option::is_some)
        }
    }

    /// A running fork server and what it was started with.
    #[derive(Debug)]
    struct ForkServer {
        socket: OwnedFd,
        process: Child,
        program: OsString,
        environment: Vec<(OsString, Option<OsString>)>,
    }

    impl ForkServer {
        /// Starts a server for commands like `command` (its program and environment), and
        /// waits for it to be ready.
        fn start(command: &Command) -> io::Result<ForkServer> {
            let refused = |why: &str| io::Error::new(io::ErrorKind::Unsupported, why.to_owned());
            if std::env::var_os(SWITCH).is_some_and(|value| value == "0") {
                return Err(refused("turned off"));
            }
            // A script (a `--clang` wrapper) would make its interpreter the server, which
            // reads a command line differently from the script's own.
            if !is_elf(command.get_program()) {
                return Err(refused("not an ELF executable"));
            }
            if std::env::var_os("LD_PRELOAD").is_some_and(|value| !value.is_empty())
                || command.get_envs().any(|(name, _)| name == "LD_PRELOAD")
            {
                return Err(refused("the environment preloads a library"));
            }
            if command.get_current_dir().is_some() {
                return Err(refused("the command runs in another directory"));
            }
            let (ours, theirs) = rustix::net::socketpair(
                AddressFamily::UNIX,
                SocketType::SEQPACKET,
                SocketFlags::CLOEXEC,
                None,
            )?;
            let library = rustix::fs::memfd_create(
                "bpfgen-clang-fork-server",
                rustix::fs::MemfdFlags::CLOEXEC,
            )?;
            std::fs::File::from(library.try_clone()?).write_all(LIBRARY)?;
            let environment = environment_of(command);
            let mut server = Command::new(command.get_program());
            for (name, value) in &environment {
                match value {
                    Some(value) => server.env(name, value),
                    None => server.env_remove(name),
                };
            }
            let inherited = [theirs.as_raw_fd(), library.as_raw_fd()];
            server
                .env("LD_PRELOAD", format!("/proc/self/fd/{}", inherited[1]))
                .env("BPFGEN_FORK_SERVER_FD", inherited[0].to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            // SAFETY: the closure only makes two fcntl calls (async-signal-safe) on fds that
            // stay open until `spawn` returns, so that exactly these two reach the server.
            unsafe {
                server.pre_exec(move || {
                    for fd in inherited {
                        let fd = BorrowedFd::borrow_raw(fd);
                        rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty())?;
                    }
                    Ok(())
                });
            }
            let mut process = server.spawn()?;
            drop((theirs, library));
            if let Err(e) = await_ready(&ours) {
                let _ = process.kill();
                let _ = process.wait();
                return Err(e);
            }
            Ok(ForkServer {
                socket: ours,
                process,
                program: command.get_program().to_owned(),
                environment,
            })
        }

        /// Whether `command` is one this server runs as it would run by itself: the same
        /// program and environment, in bpfgen's own directory.
        fn serves(&self, command: &Command) -> bool {
            command.get_program() == self.program
                && command.get_current_dir().is_none()
                && environment_of(command) == self.environment
        }

        /// Runs `command` in a fork of the server: its status and stderr.
        fn run(&self, command: &Command) -> io::Result<Output> {
            let mut line = Vec::new();
            for word in std::iter::once(command.get_program()).chain(command.get_args()) {
                line.extend_from_slice(word.as_bytes());
                line.push(0);
            }
            let (stderr_read, stderr_write) =
                rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
            let (status_read, status_write) =
                rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
            let pipes = [stderr_write.as_fd(), status_write.as_fd()];
            let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(2))];
            let mut control = SendAncillaryBuffer::new(&mut space);
            control.push(SendAncillaryMessage::ScmRights(&pipes));
            rustix::net::sendmsg(
                &self.socket,
                &[IoSlice::new(&line)],
                &mut control,
                SendFlags::NOSIGNAL,
            )?;
            drop((stderr_write, status_write));
            let mut stderr = Vec::new();
            std::fs::File::from(stderr_read).read_to_end(&mut stderr)?;
            // No status (the server went away or could not fork): an error, and the caller
            // runs the command itself.
            let mut status = [0; 4];
            std::fs::File::from(status_read).read_exact(&mut status)?;
            Ok(Output {
                status: ExitStatus::from_raw(i32::from_ne_bytes(status)),
                stdout: Vec::new(),
                stderr,
            })
        }
    }

    impl Drop for ForkServer {
        /// Closing the socket ends the server (after any child still running); it is reaped.
        fn drop(&mut self) {
            let _ = rustix::net::shutdown(&self.socket, rustix::net::Shutdown::Both);
            let _ = self.process.wait();
        }
    }

    /// The environment `command` sets or removes beyond bpfgen's own, in a fixed order.
    fn environment_of(command: &Command) -> Vec<(OsString, Option<OsString>)> {
        let mut environment: Vec<_> = command
            .get_envs()
            .map(|(name, value)| (name.to_owned(), value.map(OsStr::to_owned)))
            .collect();
        environment.sort();
        environment
    }

    /// Whether `program` is an ELF file (a script's first bytes are `#!`).
    fn is_elf(program: &OsStr) -> bool {
        let mut magic = [0; 4];
        std::fs::File::open(program)
            .and_then(|mut file| file.read_exact(&mut magic))
            .is_ok_and(|()| magic == *b"\x7fELF")
    }

    /// Waits for the server's "ready"; an error when it exits or stays silent instead (a
    /// clang linked statically ignores the preloaded library and just runs).
    fn await_ready(socket: &OwnedFd) -> io::Result<()> {
        rustix::net::sockopt::set_socket_timeout(
            socket,
            rustix::net::sockopt::Timeout::Recv,
            Some(START_TIMEOUT),
        )?;
        let mut greeting = [0; 8];
        let (_, length) = rustix::net::recv(socket, &mut greeting, RecvFlags::empty())?;
        if &greeting[..length] == b"ready" {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the clang fork server did not start",
            ))
        }
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::ClangRunner;
    use crate::toolchain::Clang;
    use std::path::Path;
    use std::process::Command;

    const PROGRAM: &str = r#"#warning "a message on stderr"
int counter;
__attribute__((section("tracepoint/syscalls/sys_enter_getpid"), used))
int probe(void *ctx) { counter++; return 0; }
char LICENSE[] __attribute__((section("license"), used)) = "GPL";
"#;

    /// `program -g -O2 -target bpf -c SOURCE -o OBJECT` in `dir`, as `Clang::command` makes it.
    fn compile(clang: &Clang, dir: &Path, source: &str, object: &str) -> Command {
        let mut command = clang.command();
        command
            .args(["-g", "-O2", "-target", "bpf", "-c"])
            .arg(dir.join(source))
            .arg("-o")
            .arg(dir.join(object));
        command
    }

    #[test]
    fn runs_after_the_first_are_forks_with_the_same_object_messages_and_status() {
        let clang = Clang::discover(None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("probe.bpf.c"), PROGRAM).unwrap();
        std::fs::write(
            dir.path().join("broken.bpf.c"),
            "int broken(void) { return }\n",
        )
        .unwrap();
        let runner = ClangRunner::default();

        let first = runner
            .output(&mut compile(&clang, dir.path(), "probe.bpf.c", "first.o"))
            .unwrap();
        assert_eq!(runner.server.started(), None, "one run needs no server");
        let second = runner
            .output(&mut compile(&clang, dir.path(), "probe.bpf.c", "second.o"))
            .unwrap();
        assert_eq!(runner.server.started(), Some(true));

        assert!(first.status.success() && second.status.success());
        let message = String::from_utf8_lossy(&second.stderr);
        assert!(message.contains("a message on stderr"), "{message}");
        assert_eq!(first.stderr, second.stderr);
        let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
        assert_eq!(read("first.o"), read("second.o"));

        let broken = runner
            .output(&mut compile(&clang, dir.path(), "broken.bpf.c", "broken.o"))
            .unwrap();
        assert_eq!(broken.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&broken.stderr).contains("error"));
        assert!(!dir.path().join("broken.o").exists());
    }

    #[test]
    fn a_wrapper_script_runs_as_a_process_of_its_own() {
        let clang = Clang::discover(None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("probe.bpf.c"), PROGRAM).unwrap();
        let wrapper = dir.path().join("clang-wrapper");
        let script = format!("#!/bin/sh\nexec '{}' \"$@\"\n", clang.path().display());
        std::fs::write(&wrapper, script).unwrap();
        std::fs::set_permissions(
            &wrapper,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let runner = ClangRunner::default();
        for object in ["first.o", "second.o"] {
            let direct = compile(&clang, dir.path(), "probe.bpf.c", object);
            let mut wrapped = Command::new(&wrapper);
            wrapped.args(direct.get_args());
            let output = runner.output(&mut wrapped).unwrap();
            assert!(output.status.success(), "{output:?}");
        }
        assert_eq!(runner.server.started(), Some(false));
        let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
        assert_eq!(read("first.o"), read("second.o"));
    }
}
