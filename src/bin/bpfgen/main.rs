//! The `bpfgen` command: argument parsing and dispatch only; each subcommand lives in its own
//! file beside this one.

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
use std::process::ExitCode;

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

fn main() -> ExitCode {
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
        Ok(code) => code,
        Err(err) => report(&err),
    }
}

/// Prints a fatal error on one line and picks the exit code it calls for.
fn report(err: &anyhow::Error) -> ExitCode {
    if err
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    {
        return ExitCode::SUCCESS;
    }
    eprint!("{}", paint::paint(&format!("bpfgen: error: {err}\n")));
    let code = err
        .downcast_ref::<bpfgen::Error>()
        .map_or(2, bpfgen::Error::exit_code);
    ExitCode::from(code)
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
