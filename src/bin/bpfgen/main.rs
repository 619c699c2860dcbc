//! The `bpfgen` command: argument parsing and dispatch only; each subcommand lives in its own
//! file beside this one.
//!
//! The process starts at the C `main` below rather than at Rust's `fn main`: std's runtime
//! set-up before `fn main` reads `/proc/self/maps` (to place the main thread's stack guard for
//! a stack-overflow message), about 0.24 ms of CPU on every run here (measured on a hello
//! world), where a whole `bpftool gen object` takes 0.9-1.4 ms (bench/link.sh).

#![cfg_attr(not(test), no_main)]

mod btf;
mod build;
mod cache;
mod check;
mod compile_args;
mod doctor;
mod generate;
mod inspect;
mod json_log;
mod levels;
mod link;
mod load;
mod objects;
mod output_arg;
mod package;
mod paint;
mod shell;

use clap::{Parser, Subcommand};
use std::ffi::{c_char, c_int};

// Rust's unwinder from GCC's static archive rather than the shared libgcc_s: std names
// libgcc_s too, but with every symbol it would supply defined already, the linker
// (`--as-needed`) leaves it out. Loading it cost ~0.13 ms per run here, most of it its
// constructor's `cpuid` probes, each a trap to the hypervisor.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[link(name = "gcc_eh", kind = "static", modifiers = "-bundle")]
unsafe extern "C" {}

/// Build eBPF programs: clang to stripped CO-RE objects and libbpf skeletons, without bpftool.
#[derive(Parser)]
#[command(name = "bpfgen", version, about, propagate_version = true)]
#[command(
    after_help = "Exit status: 0 success, 1 the input is wrong (clang error, invalid \
                        object), 2 usage or environment (bad flag, clang missing, unreadable path)."
)]
pub(crate) struct Cli {
    /// Colour diagnostics: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    color: paint::When,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Build(build::Opts),
    Cache(cache::Opts),
    Btf(btf::BtfOpts),
    Check(check::Opts),
    Completions(shell::CompletionsOpts),
    Doctor(doctor::Opts),
    Gen(generate::Opts),
    Inspect(inspect::Opts),
    Man(shell::ManOpts),
    Package(package::Opts),
}

/// What a subcommand exits with: 0 success, 1 the input is wrong (clang error, invalid object,
/// errors found), 2 usage or environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExitStatus(u8);

impl ExitStatus {
    /// Exit status 0.
    pub(crate) const SUCCESS: Self = Self(0);
}

impl From<u8> for ExitStatus {
    fn from(status: u8) -> Self {
        Self(status)
    }
}

/// The process entry point. It does what std's runtime set-up did that bpfgen relies on:
/// SIGPIPE is ignored, so a closed pipe is an `EPIPE` error that [`report`] turns into a quiet
/// exit (and child processes still start with SIGPIPE at its default: std resets it when it
/// spawns them); a panic prints its message and exits 101; `std::process::exit` flushes stdout.
#[cfg_attr(not(test), unsafe(no_mangle))]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    // SAFETY: setting a signal's disposition to SIG_IGN, before any other thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let status = std::panic::catch_unwind(run).unwrap_or(ExitStatus(101));
    std::process::exit(c_int::from(status.0))
}

/// Parses the command line and runs the subcommand it names.
fn run() -> ExitStatus {
    let cli = Cli::parse();
    paint::init(cli.color);
    let result = match cli.command {
        Command::Build(opts) => opts.run(),
        Command::Cache(opts) => opts.run(),
        Command::Btf(opts) => opts.run(),
        Command::Check(opts) => opts.run(),
        Command::Completions(opts) => opts.run(),
        Command::Doctor(opts) => opts.run(),
        Command::Gen(opts) => opts.run(),
        Command::Inspect(opts) => opts.run(),
        Command::Man(opts) => opts.run(),
        Command::Package(opts) => opts.run(),
    };
    match result {
        Ok(status) => status,
        Err(err) => report(&err),
    }
}

/// Prints a fatal error on one line and picks the exit code it calls for.
fn report(err: &anyhow::Error) -> ExitStatus {
    if err
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    {
        return ExitStatus::SUCCESS;
    }
    eprint!("{}", paint::paint(&format!("bpfgen: error: {err}\n")));
    let code = err
        .downcast_ref::<bpfgen::Error>()
        .map_or(2, bpfgen::Error::exit_code);
    ExitStatus(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
