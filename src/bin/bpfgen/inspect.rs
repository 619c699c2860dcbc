//! `bpfgen inspect`: what an object holds.

use crate::ExitStatus;
use crate::objects;
use bpfgen::inspect::Report;
use std::io::Write;
use std::path::PathBuf;

/// Show an object's programs, maps, data sections and variables, externs, license and BTF.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  bpfgen inspect .output/minimal.bpf.o\n  \
                        bpfgen inspect --json prog.bpf.o | jq '.maps[].name'")]
pub struct Opts {
    /// The BPF object file.
    object: PathBuf,
    /// Print JSON instead of text (the same as `--message-format json`).
    #[arg(long)]
    json: bool,
    /// human (default) or json, as `check` and `build` spell it.
    #[arg(long, value_name = "FORMAT", value_parser = ["human", "json"], default_value = "human")]
    message_format: String,
}

impl Opts {
    pub fn run(self) -> anyhow::Result<ExitStatus> {
        let loaded = objects::load(&self.object, None)?;
        let report = Report::new(&loaded.object).map_err(|e| e.in_file(&self.object))?;
        let text = if self.json || self.message_format == "json" {
            report.to_json() + "\n"
        } else {
            report.to_text()
        };
        std::io::stdout().lock().write_all(text.as_bytes())?;
        Ok(ExitStatus::SUCCESS)
    }
}
