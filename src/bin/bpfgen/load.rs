//! The kernel-load part of `check --load` and `build --check-load`: map sizing flags, the
//! privilege test, loading one object, printing the per-program statistics, and
//! `--compare`'s inputs.

use bpfgen::load::stats::{ProgramRecord, render_table};
use bpfgen::load::{self, DEFAULT_ENTRIES, DEFAULT_RINGBUF_BYTES};
use std::io::Write;
use std::path::Path;

/// How maps are sized for a load (user space sizes some at run time).
#[derive(clap::Args, Clone)]
pub struct LoadArgs {
    /// Give map NAME max_entries N for the load (ring buffers: N bytes), whatever the object
    /// declares; repeatable.
    #[arg(long = "map-size", value_name = "NAME=N")]
    map_sizes: Vec<String>,
    /// max_entries for other maps declared with 0 (sized by user space at run time).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ENTRIES)]
    map_entries: u32,
    /// Bytes for ring buffers declared with 0 (a power of two, a multiple of the page size).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_RINGBUF_BYTES)]
    ringbuf_size: u32,
    /// Also print the verifier's full log of each refused program (on stderr).
    #[arg(long)]
    pub verifier_log: bool,
}

impl LoadArgs {
    /// The load options; a malformed `--map-size` is a usage error.
    pub fn options(&self) -> anyhow::Result<load::Options> {
        let map_sizes = self
            .map_sizes
            .iter()
            .map(|spec| {
                let parsed = spec
                    .split_once('=')
                    .and_then(|(name, n)| Some((name.to_string(), n.parse().ok()?)));
                parsed.ok_or_else(|| {
                    anyhow::Error::new(bpfgen::Error::environment(format!(
                        "--map-size '{spec}': expected NAME=N (N a number)"
                    )))
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(load::Options {
            map_sizes,
            default_entries: self.map_entries,
            ringbuf_bytes: self.ringbuf_size,
        })
    }
}

/// Fails (exit code 2) unless this process may load BPF programs.
pub fn require_privilege() -> anyhow::Result<()> {
    if load::privileged() {
        return Ok(());
    }
    Err(bpfgen::Error::environment(
        "loading into the kernel needs CAP_BPF or CAP_SYS_ADMIN (run as root)",
    )
    .into())
}

/// Loads one object (reported as `input`): its report, findings with source lines attached
/// (looked up next to `source`, then in the working directory).
pub fn load_object(
    data: &[u8],
    input: &Path,
    source: &Path,
    object_name: &str,
    options: &load::Options,
) -> load::Report {
    let name = input.display().to_string();
    let mut report = load::load(data, &name, object_name, options);
    let near = source.parent().unwrap_or(Path::new(""));
    bpfgen::check::attach_sources(&mut report.findings, &[near, Path::new("")]);
    report
}

/// The verifier logs of refused programs, on stderr, each under a header naming it.
pub fn print_logs(input: &Path, logs: &[(String, String)]) -> std::io::Result<()> {
    let mut stderr = std::io::stderr().lock();
    for (program, log) in logs {
        writeln!(
            stderr,
            "-- verifier log of {}: {program} --",
            input.display()
        )?;
        stderr.write_all(log.as_bytes())?;
        writeln!(stderr, "-- end of verifier log --")?;
    }
    Ok(())
}

/// The statistics: one JSON object per program on stdout, or a table on stdout.
pub fn print_records(records: &[ProgramRecord], json: bool) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    if json {
        for record in records {
            writeln!(stdout, "{}", record.render_json())?;
        }
    } else if !records.is_empty() {
        stdout.write_all(render_table(records).as_bytes())?;
    }
    Ok(())
}

/// The records of a `--message-format json` output saved earlier (its lines with a
/// `program`; findings are skipped).
pub fn read_records(path: &Path) -> anyhow::Result<Vec<ProgramRecord>> {
    let text = std::fs::read_to_string(path).map_err(|e| bpfgen::Error::io(path, &e))?;
    let mut records = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let value: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            bpfgen::Error::input(format!("line {}: not JSON: {e}", number + 1)).in_file(path)
        })?;
        if value.get("program").is_none() {
            continue;
        }
        let record = serde_json::from_value(value).map_err(|e| {
            bpfgen::Error::input(format!("line {}: not a program record: {e}", number + 1))
                .in_file(path)
        })?;
        records.push(record);
    }
    Ok(records)
}
