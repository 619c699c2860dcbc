//! `--allow`, `--warn` and `--deny`: the levels `check` and `build` report check codes at.

use bpfgen::diag::{Code, Level, Levels};

/// Which check findings to drop, demote or promote.
#[derive(clap::Args)]
pub struct LevelArgs {
    /// Do not report findings of CODE (B0402, or its name, no-btf-ext); repeatable.
    #[arg(long, value_name = "CODE")]
    allow: Vec<String>,
    /// Report findings of CODE as warnings; repeatable.
    #[arg(long, value_name = "CODE")]
    warn: Vec<String>,
    /// Report findings of CODE as errors; `--deny warnings` makes every warning an error
    /// (codes given a level of their own keep it); repeatable.
    #[arg(long, value_name = "CODE|warnings")]
    deny: Vec<String>,
}

impl LevelArgs {
    /// The levels asked for; an unknown code is a usage error.
    pub fn levels(&self) -> anyhow::Result<Levels> {
        let mut levels = Levels::default();
        if self.deny.iter().any(|d| d == "warnings") {
            levels.deny_warnings();
        }
        let chosen = [
            (&self.allow, Level::Allow),
            (&self.warn, Level::Warn),
            (&self.deny, Level::Deny),
        ];
        for (codes, level) in chosen {
            for code in codes {
                if level == Level::Deny && code == "warnings" {
                    continue;
                }
                let code: Code = code.parse().map_err(anyhow::Error::msg)?;
                levels.set(code, level);
            }
        }
        Ok(levels)
    }
}
