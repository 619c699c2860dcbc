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

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::ffi::{OsString, c_char, c_int};

// Rust's unwinder from GCC's static archive rather than the shared libgcc_s: std names
// libgcc_s too, but with every symbol it would supply defined already, the linker
// (`--as-needed`) leaves it out. Loading it cost ~0.13 ms per run here, most of it its
// constructor's `cpuid` probes, each a trap to the hypervisor.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[link(name = "gcc_eh", kind = "static", modifiers = "-bundle")]
unsafe extern "C" {}

/// `pow(3)` for the executable, from the `libm` crate (musl's algorithm in Rust), so that the
/// linker (`--as-needed`) leaves glibc's libm.so out: `pow` and [`log2`] are the only symbols
/// bpfgen takes from it (progress-bar rates in indicatif, tokio's back-off, minijinja's `**`,
/// num-bigint's digit estimates), and loading the library cost ~0.07 ms per run here (an
/// empty C program with and without `-lm`), of a `gen object` that bpftool finishes in
/// ~1.2 ms. The linker exports both (libm on the link line defines them too), so a shared
/// library calling them would get these; glibc's own, the only libraries bpfgen loads, do not.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[unsafe(no_mangle)]
pub extern "C" fn pow(base: f64, exponent: f64) -> f64 {
    libm::pow(base, exponent)
}

/// `log2(3)` for the executable, for the same reason as [`pow`] (an optimised build folds its
/// one call away, a debug build calls it).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[unsafe(no_mangle)]
pub extern "C" fn log2(value: f64) -> f64 {
    libm::log2(value)
}

// bpfgen's own options, before the subcommand: the root of the command line, to which
// [`command_line`] and [`command_line_for`] add the subcommands. (The doc comment is the
// `--help` text's, and stays one line.)
/// Build eBPF programs: clang to stripped CO-RE objects and libbpf skeletons, without bpftool.
#[derive(Parser)]
#[command(name = "bpfgen", version, about, propagate_version = true)]
#[command(subcommand_required = true, arg_required_else_help = true)]
#[command(
    after_help = "Exit status: 0 success, 1 the input is wrong (clang error, invalid \
                        object), 2 usage or environment (bad flag, clang missing, unreadable path)."
)]
pub(crate) struct Cli {
    /// Colour diagnostics: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    color: paint::When,
}

// The subcommands, each with its options. (A doc comment here would become the `about` of
// the whole command line, which is the package's description.)
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

/// A subcommand's `Args::augment_args`: adds its arguments to the `clap::Command` given.
type DefineArguments = fn(clap::Command) -> clap::Command;

/// Each subcommand's name and the function that defines its arguments, as [`Command`]'s derive
/// has them (a test keeps the two the same).
const SUBCOMMANDS: [(&str, DefineArguments); 10] = [
    ("build", build::Opts::augment_args),
    ("cache", cache::Opts::augment_args),
    ("btf", btf::BtfOpts::augment_args),
    ("check", check::Opts::augment_args),
    ("completions", shell::CompletionsOpts::augment_args),
    ("doctor", doctor::Opts::augment_args),
    ("gen", generate::Opts::augment_args),
    ("inspect", inspect::Opts::augment_args),
    ("man", shell::ManOpts::augment_args),
    ("package", package::Opts::augment_args),
];

/// The whole command line, every subcommand's arguments defined: for help, errors, the
/// completion scripts and the man page.
pub(crate) fn command_line() -> clap::Command {
    Command::augment_subcommands(Cli::command())
}

/// The command line as `args` needs it: only the subcommands named in `args` have their
/// arguments defined, the others only their names. Defining every subcommand's arguments
/// cost about 0.1 ms of a 1.6 ms `gen object` of three small files (bpftool: 1.3 ms).
fn command_line_for(args: &[OsString]) -> clap::Command {
    SUBCOMMANDS
        .iter()
        .fold(Cli::command(), |root, &(name, define_arguments)| {
            let subcommand = clap::Command::new(name);
            root.subcommand(if args.iter().any(|arg| arg == name) {
                define_arguments(subcommand)
            } else {
                subcommand
            })
        })
}

/// `bpfgen gen object OUTPUT INPUT...` and nothing else, the form a Makefile runs once per
/// program, read without clap: building, running and dropping clap's parser for it took
/// 0.2 ms of a 2.0 ms link of three small files (bpftool's whole run: 1.9 ms; 400 alternating
/// runs). A line with anything that starts with `-` (an option, `--`, `-` for standard
/// input), an empty argument or no input is left to clap, which reads every line taken here
/// the same way (a test holds the two to that).
fn plain_gen_object(args: &[OsString]) -> Option<(Cli, Command)> {
    let [_, generate, object, output, inputs @ ..] = args else {
        return None;
    };
    let not_a_path = |arg: &OsString| arg.is_empty() || arg.as_encoded_bytes().starts_with(b"-");
    if generate != "gen"
        || object != "object"
        || inputs.is_empty()
        || std::iter::once(output).chain(inputs).any(not_a_path)
    {
        return None;
    }
    let opts = link::ObjectOpts::new(output.into(), inputs.iter().map(Into::into).collect());
    let cli = Cli {
        color: paint::When::Auto,
    };
    Some((cli, Command::Gen(generate::Opts::object(opts))))
}

/// Parses the command line: a plain `gen object` line itself ([`plain_gen_object`]), any
/// other on the tree it needs ([`command_line_for`]); help, the version and every error come
/// from the whole tree, which prints them as always and exits.
fn parse_command_line() -> (Cli, Command) {
    let args: Vec<OsString> = std::env::args_os().collect();
    if let Some(parsed) = plain_gen_object(&args) {
        return parsed;
    }
    let from = |matches: &clap::ArgMatches| {
        Ok::<_, clap::Error>((
            Cli::from_arg_matches(matches)?,
            Command::from_arg_matches(matches)?,
        ))
    };
    if let Ok(parsed) = command_line_for(&args)
        .try_get_matches_from(&args)
        .and_then(|matches| from(&matches))
    {
        return parsed;
    }
    let mut whole = command_line();
    let matches = whole
        .try_get_matches_from_mut(&args)
        .unwrap_or_else(|e| e.exit());
    from(&matches).unwrap_or_else(|e| e.format(&mut whole).exit())
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
    let (cli, command) = parse_command_line();
    paint::init(cli.color);
    let result = match command {
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

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn f64_powf_and_log2_are_served_by_the_executables_own() {
        // `powf` and `log2` compile to calls of the `pow` and `log2` symbols, which this
        // executable defines.
        let exponent = std::hint::black_box(0.5);
        assert_eq!(2f64.powf(exponent), std::f64::consts::SQRT_2);
        assert_eq!(1.5f64.powf(std::hint::black_box(2.0)), 2.25);
        assert_eq!(10f64.powf(std::hint::black_box(-2.0)), 0.01);
        assert!((-8f64).powf(std::hint::black_box(1.0 / 3.0)).is_nan());
        assert_eq!(pow(0.0, 0.0), 1.0);
        assert_eq!(std::hint::black_box(1024f64).log2(), 10.0);
        assert_eq!(std::hint::black_box(0.125f64).log2(), -3.0);
        assert_eq!(log2(1.0), 0.0);
    }

    #[test]
    fn verify_cli() {
        command_line().debug_assert();
    }

    #[test]
    fn the_subcommand_table_defines_what_the_derive_does() {
        // With every subcommand named, the tree is the whole one, field for field.
        let every_name: Vec<OsString> = SUBCOMMANDS.map(|(name, _)| name.into()).into();
        assert_eq!(
            format!("{:?}", command_line_for(&every_name)),
            format!("{:?}", command_line())
        );
    }

    #[test]
    fn clap_reads_every_plain_gen_object_line_the_same() {
        // Every line of up to three arguments after each prefix, from words that are paths,
        // options, subcommand names and the odd ones: where `plain_gen_object` takes a line,
        // clap (the whole tree) must give the same options; the plain lines must be taken.
        use std::os::unix::ffi::OsStringExt;
        let words: Vec<OsString> = [
            "out.o",
            "a b.o",
            "-",
            "-o",
            "--",
            "--help",
            "help",
            "--color=never",
            "",
            "object",
        ]
        .into_iter()
        .map(OsString::from)
        .chain([OsString::from_vec(b"\xff.o".to_vec())])
        .collect();
        let mut tails: Vec<Vec<OsString>> = vec![vec![]];
        for _ in 0..3 {
            let longer: Vec<Vec<OsString>> = tails
                .iter()
                .filter(|tail| tail.len() == tails.last().unwrap().len())
                .flat_map(|tail| {
                    words.iter().map(move |word| {
                        let mut tail = tail.clone();
                        tail.push(word.clone());
                        tail
                    })
                })
                .collect();
            tails.extend(longer);
        }
        let mut whole = command_line();
        let mut taken = 0;
        for prefix in [
            &["gen", "object"][..],
            &["gen", "skeleton"],
            &["--color", "never", "gen", "object"],
        ] {
            for tail in &tails {
                let args: Vec<OsString> = std::iter::once("bpfgen")
                    .chain(prefix.iter().copied())
                    .map(OsString::from)
                    .chain(tail.iter().cloned())
                    .collect();
                let Some((cli, command)) = plain_gen_object(&args) else {
                    continue;
                };
                taken += 1;
                let matches = whole
                    .try_get_matches_from_mut(&args)
                    .unwrap_or_else(|e| panic!("{args:?}: clap refuses it: {e}"));
                let clap_cli = Cli::from_arg_matches(&matches).unwrap();
                let clap_command = Command::from_arg_matches(&matches).unwrap();
                assert!(matches!(
                    (cli.color, clap_cli.color),
                    (paint::When::Auto, paint::When::Auto)
                ));
                let (Command::Gen(ours), Command::Gen(clap)) = (command, clap_command) else {
                    panic!("{args:?}: not gen");
                };
                assert_eq!(ours.into_object(), clap.into_object(), "{args:?}");
            }
        }
        // out.o, a b.o, help, object and the non-UTF-8 name are paths: 5 x 5 lines with one
        // input and 5 x 25 with two, after the one prefix that names `gen object` first.
        assert_eq!(taken, 5 * 5 + 5 * 25);
    }

    #[test]
    fn only_the_subcommands_named_get_their_arguments() {
        let args: Vec<OsString> = [
            "bpfgen", "--color", "never", "gen", "object", "out.o", "a.o",
        ]
        .map(OsString::from)
        .into();
        let tree = command_line_for(&args);
        for subcommand in tree.get_subcommands() {
            let defined =
                subcommand.get_arguments().next().is_some() || subcommand.has_subcommands();
            assert_eq!(
                defined,
                subcommand.get_name() == "gen",
                "{}",
                subcommand.get_name()
            );
        }
        let matches = tree.try_get_matches_from(&args).unwrap();
        let (cli, command) = (
            Cli::from_arg_matches(&matches).unwrap(),
            Command::from_arg_matches(&matches).unwrap(),
        );
        assert!(matches!(cli.color, paint::When::Never));
        assert!(matches!(command, Command::Gen(_)));
    }
}
