//! `bpfgen completions SHELL` and `bpfgen man`: shell completion scripts and the man page,
//! generated from the command-line definition so they never drift from it.

use crate::ExitStatus;
use std::io::Write;

/// Print a completion script for a shell.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  bpfgen completions bash > /etc/bash_completion.d/bpfgen\n  \
                        bpfgen completions zsh > \"${fpath[1]}/_bpfgen\"\n  \
                        bpfgen completions fish > ~/.config/fish/completions/bpfgen.fish\n\n\
                        `make install-shell PREFIX=/usr/local` installs the bash, zsh and fish \
                        scripts and the man page."
)]
pub struct CompletionsOpts {
    /// bash, zsh, fish, elvish or powershell.
    shell: clap_complete::Shell,
}

impl CompletionsOpts {
    pub fn run(self) -> anyhow::Result<ExitStatus> {
        let mut command = crate::command_line();
        let mut out = Vec::new();
        clap_complete::generate(self.shell, &mut command, "bpfgen", &mut out);
        std::io::stdout().lock().write_all(&out)?;
        Ok(ExitStatus::SUCCESS)
    }
}

/// Print the man page, bpfgen(1), in roff.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  bpfgen man > /usr/local/share/man/man1/bpfgen.1")]
pub struct ManOpts {}

impl ManOpts {
    pub fn run(self) -> anyhow::Result<ExitStatus> {
        let mut out = Vec::new();
        clap_mangen::Man::new(crate::command_line()).render(&mut out)?;
        std::io::stdout().lock().write_all(&out)?;
        Ok(ExitStatus::SUCCESS)
    }
}
