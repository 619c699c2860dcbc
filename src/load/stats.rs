//! Per-program results of a load, veristat-style: what the verifier and the kernel say about
//! each program that loaded, as a table for people and as JSON lines that `--compare` reads
//! back.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// What the verifier and `bpf_prog_info` report for a program that loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Instructions the verifier processed (`bpf_prog_info.verified_insns`).
    pub verified_insns: u64,
    /// States the verifier stored in all (`total_states`).
    pub total_states: u64,
    /// The most states alive at once (`peak_states`).
    pub peak_states: u64,
    /// The most states kept for one instruction (`max_states_per_insn`).
    pub max_states_per_insn: u64,
    /// Time the verifier took, in microseconds.
    pub verification_time_us: u64,
    /// Stack bytes of the program and its subprograms, summed.
    pub stack_depth: u64,
    /// Size of the JITed image, in bytes.
    pub jited_bytes: u64,
    /// Size of the translated program, in bytes.
    pub xlated_bytes: u64,
}

/// How a program's load ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Verdict {
    /// The verifier accepted it.
    Loaded(Stats),
    /// The verifier (or libbpf) refused it; the finding says why.
    Refused {
        /// The finding's code.
        code: String,
    },
    /// Its type cannot load on this kernel (for example fentry refused with EPERM).
    NotLoadable {
        /// Why, as the kernel or libbpf said it.
        reason: String,
    },
}

/// One program's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramRecord {
    /// The object (or source) as named on the command line.
    pub object: String,
    /// The program's function name.
    pub program: String,
    /// Its `SEC()` name.
    pub section: String,
    /// How its load ended, with the statistics when it loaded.
    #[serde(flatten)]
    pub verdict: Verdict,
}

impl ProgramRecord {
    /// One line of JSON (flat: `status`, then the statistics or the code or the reason).
    pub fn render_json(&self) -> String {
        serde_json::to_string(self).expect("records serialise")
    }

    /// The statistics, when the program loaded.
    pub fn stats(&self) -> Option<&Stats> {
        match &self.verdict {
            Verdict::Loaded(stats) => Some(stats),
            _ => None,
        }
    }
}

/// A statistic: its name in `--compare`'s output, its column header, how to read it, and
/// whether `--compare`'s growth limit applies to it (the verification time varies from run
/// to run, so it never fails a comparison).
pub(crate) struct Metric {
    pub(crate) name: &'static str,
    pub(crate) header: &'static str,
    pub(crate) value: fn(&Stats) -> u64,
    pub(crate) limited: bool,
}

/// The statistics the table shows and `--compare` compares, in column order.
pub(crate) const METRICS: [Metric; 6] = [
    Metric {
        name: "insns",
        header: "Insns",
        value: |s| s.verified_insns,
        limited: true,
    },
    Metric {
        name: "total_states",
        header: "States",
        value: |s| s.total_states,
        limited: true,
    },
    Metric {
        name: "peak_states",
        header: "Peak states",
        value: |s| s.peak_states,
        limited: true,
    },
    Metric {
        name: "verification_time_us",
        header: "Time (us)",
        value: |s| s.verification_time_us,
        limited: false,
    },
    Metric {
        name: "stack_depth",
        header: "Stack",
        value: |s| s.stack_depth,
        limited: true,
    },
    Metric {
        name: "jited_bytes",
        header: "JITed bytes",
        value: |s| s.jited_bytes,
        limited: true,
    },
];

/// The records as an aligned table, one row per program.
pub fn render_table(records: &[ProgramRecord]) -> String {
    let mut rows: Vec<Vec<String>> = vec![
        ["Object", "Program", "Verdict"]
            .iter()
            .map(|h| h.to_string())
            .chain(METRICS.iter().map(|m| m.header.to_string()))
            .collect(),
    ];
    for record in records {
        let mut row = vec![record.object.clone(), record.program.clone()];
        match &record.verdict {
            Verdict::Loaded(stats) => {
                row.push("success".into());
                row.extend(METRICS.iter().map(|m| (m.value)(stats).to_string()));
            }
            Verdict::Refused { code } => {
                row.push(format!("failure ({code})"));
                row.extend(METRICS.iter().map(|_| "-".to_string()));
            }
            Verdict::NotLoadable { .. } => {
                row.push("not loadable on this kernel".into());
                row.extend(METRICS.iter().map(|_| "-".to_string()));
            }
        }
        rows.push(row);
    }
    let mut out = aligned(&rows, 3);
    for record in records {
        if let Verdict::NotLoadable { reason } = &record.verdict {
            let _ = writeln!(
                out,
                "{}: not loadable on this kernel: {reason}",
                record.program
            );
        }
    }
    out
}

/// Rows as columns separated by two spaces: the first `text_columns` left-aligned, the
/// others (numbers) right-aligned.
pub(crate) fn aligned(rows: &[Vec<String>], text_columns: usize) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(String::len)
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(column, (cell, &width))| {
                if column < text_columns {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out
}
