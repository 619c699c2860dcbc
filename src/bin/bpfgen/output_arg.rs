//! `-o FILE`, shared by the subcommands that write one generated file: the file (atomically,
//! and not touched when its bytes are unchanged) or, without `-o` or with `-o -` (as clang
//! takes it), standard output.

use crate::ExitStatus;
use bpfgen::output::write_atomic;
use std::io::Write;
use std::path::PathBuf;

/// Where a subcommand's generated text goes (flattened into its options).
#[derive(clap::Args)]
pub struct OutputArg {
    /// Write here (atomically) instead of to standard output ("-": standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

impl OutputArg {
    /// Writes `bytes` to the file, or to standard output.
    pub fn emit(&self, bytes: &[u8]) -> anyhow::Result<ExitStatus> {
        match &self.output {
            Some(path) if path.as_os_str() != "-" => write_atomic(path, bytes)?,
            _ => std::io::stdout().lock().write_all(bytes)?,
        }
        Ok(ExitStatus::SUCCESS)
    }
}
