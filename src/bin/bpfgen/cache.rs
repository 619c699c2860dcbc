//! `bpfgen cache`: the build cache's statistics, and emptying it.

use crate::ExitStatus;
use bpfgen::build_cache;
use bpfgen::cache::Cache;
use bpfgen::cache_stats::{self, Counter};
use bpfgen::remote_cache::config::RemoteConfig;
use std::io::Write;

/// Show or clear the build cache.
///
/// The local cache is $BPFGEN_CACHE_DIR (else $XDG_CACHE_HOME/bpfgen, else
/// ~/.cache/bpfgen); the remote one, if any, is $BPFGEN_REMOTE_CACHE.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  bpfgen cache stats\n  bpfgen cache clear\n\n\
                        Exit status: 0 done; 2 the cache directory or its statistics cannot be \
                        read or written."
)]
pub struct Opts {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Hits (local and remote), misses, bytes moved and remote errors, summed over every
    /// build since the last `clear`, and the local cache's size.
    Stats,
    /// Delete every local entry and the statistics (the remote cache is left as it is).
    Clear,
}

impl Opts {
    pub fn run(self) -> anyhow::Result<ExitStatus> {
        let cache = Cache::from_env();
        let mut out = std::io::stdout().lock();
        match self.action {
            Action::Stats => {
                let totals = cache_stats::totals(&cache)?;
                let (entries, bytes) = build_cache::usage(&cache);
                writeln!(out, "cache directory: {}", cache.root().display())?;
                writeln!(out, "size: {bytes} bytes in {entries} entries")?;
                for counter in Counter::ALL {
                    let count = totals.get(counter.name()).copied().unwrap_or(0);
                    writeln!(out, "{}: {count}", counter.name())?;
                }
                match RemoteConfig::from_env()? {
                    Some(remote) => writeln!(
                        out,
                        "remote cache: {} ({})",
                        remote.display,
                        remote.mode.name()
                    )?,
                    None => writeln!(out, "remote cache: none (BPFGEN_REMOTE_CACHE is not set)")?,
                }
            }
            Action::Clear => {
                build_cache::evict(&cache, 0)?;
                cache_stats::reset(&cache)?;
                writeln!(out, "cleared {}", cache.root().display())?;
            }
        }
        Ok(ExitStatus::SUCCESS)
    }
}
