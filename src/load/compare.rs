//! `check --load --compare OLD NEW`: two sets of per-program results side by side, metric by
//! metric, and which programs grew beyond a limit (CI fails on them).

use super::stats::{METRICS, ProgramRecord, Verdict, aligned};
use std::collections::BTreeMap;

/// One metric of one program in both sets.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Change {
    /// The program (qualified by its object when a set has two of that name).
    pub program: String,
    /// The metric (`insns`, `peak_states`, ...), or `verdict`.
    pub metric: String,
    /// Its old value (absent when the program did not load or was not there).
    pub old: Option<u64>,
    /// Its new value.
    pub new: Option<u64>,
    /// The growth in percent, when both values exist and the old one is not 0.
    pub percent: Option<f64>,
    /// Whether this change goes past the limit.
    pub over_limit: bool,
}

/// The comparison of two sets of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Every metric of every program, by program then metric.
    pub changes: Vec<Change>,
}

impl Comparison {
    /// Whether any change goes past the limit.
    pub fn over_limit(&self) -> bool {
        self.changes.iter().any(|c| c.over_limit)
    }

    /// A table: program, metric, old, new, difference, and whether it is over the limit.
    pub fn render_table(&self) -> String {
        let mut rows = vec![
            ["Program", "Metric", "Old", "New", "Diff", "Limit"]
                .iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>(),
        ];
        let show = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
        for change in &self.changes {
            let diff = match (change.old, change.new) {
                (Some(old), Some(new)) => {
                    let delta = new as i128 - old as i128;
                    let percent = change
                        .percent
                        .map_or(String::new(), |p| format!(" ({p:+.1}%)"));
                    let sign = if delta > 0 { "+" } else { "" };
                    format!("{sign}{delta}{percent}")
                }
                _ => "changed".to_string(),
            };
            let mark = if change.over_limit {
                "  over limit"
            } else {
                ""
            };
            rows.push(vec![
                change.program.clone(),
                change.metric.clone(),
                show(change.old),
                show(change.new),
                diff,
                mark.to_string(),
            ]);
        }
        aligned(&rows, 2)
    }
}

/// Compares `old` with `new`; with `max_growth` (percent), a metric that grows by more, a
/// program that no longer loads, or one that disappeared, is over the limit.
pub fn compare(
    old: &[ProgramRecord],
    new: &[ProgramRecord],
    max_growth: Option<f64>,
) -> Comparison {
    let (old, new) = (by_program(old), by_program(new));
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    let mut changes = Vec::new();
    for name in names {
        let (before, after) = (old.get(name), new.get(name));
        let (stats_before, stats_after) = (
            before.and_then(|r| r.stats()),
            after.and_then(|r| r.stats()),
        );
        if verdict_name(before) != verdict_name(after) {
            changes.push(Change {
                program: name.clone(),
                metric: format!(
                    "verdict {} -> {}",
                    verdict_name(before),
                    verdict_name(after)
                ),
                old: None,
                new: None,
                percent: None,
                over_limit: max_growth.is_some() && stats_before.is_some() && stats_after.is_none(),
            });
        }
        let (Some(before), Some(after)) = (stats_before, stats_after) else {
            continue;
        };
        for metric in &METRICS {
            let (old, new) = ((metric.value)(before), (metric.value)(after));
            let percent = (old > 0).then(|| (new as f64 - old as f64) * 100.0 / old as f64);
            let over_limit = metric.limited
                && max_growth.is_some_and(|limit| {
                    new > old && percent.is_none_or(|percent| percent > limit)
                });
            changes.push(Change {
                program: name.clone(),
                metric: metric.name.to_string(),
                old: Some(old),
                new: Some(new),
                percent,
                over_limit,
            });
        }
    }
    Comparison { changes }
}

/// A set's records by program name, qualified by object when the name repeats.
fn by_program(records: &[ProgramRecord]) -> BTreeMap<String, &ProgramRecord> {
    let repeats = |name: &str| records.iter().filter(|r| r.program == name).count() > 1;
    records
        .iter()
        .map(|r| {
            let key = if repeats(&r.program) {
                format!("{}:{}", r.object, r.program)
            } else {
                r.program.clone()
            };
            (key, r)
        })
        .collect()
}

/// `success`, `failure`, `not-loadable` or `absent`.
fn verdict_name(record: Option<&&ProgramRecord>) -> &'static str {
    match record.map(|r| &r.verdict) {
        Some(Verdict::Loaded(_)) => "success",
        Some(Verdict::Refused { .. }) => "failure",
        Some(Verdict::NotLoadable { .. }) => "not-loadable",
        None => "absent",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::stats::Stats;

    fn record(program: &str, insns: u64) -> ProgramRecord {
        ProgramRecord {
            object: "x.bpf.o".into(),
            program: program.into(),
            section: "xdp".into(),
            verdict: Verdict::Loaded(Stats {
                verified_insns: insns,
                ..Stats::default()
            }),
        }
    }

    #[test]
    fn growth_past_the_limit_is_flagged() {
        let old = [record("a", 100), record("b", 100)];
        let new = [record("a", 105), record("b", 150)];
        let comparison = compare(&old, &new, Some(10.0));
        let over: Vec<_> = comparison
            .changes
            .iter()
            .filter(|c| c.over_limit)
            .map(|c| (c.program.as_str(), c.metric.as_str()))
            .collect();
        assert_eq!(over, [("b", "insns")]);
        assert!(!compare(&old, &new, None).over_limit());
    }

    #[test]
    fn a_program_that_stops_loading_is_over_the_limit() {
        let mut refused = record("a", 0);
        refused.verdict = Verdict::Refused {
            code: "B0701".into(),
        };
        let comparison = compare(&[record("a", 10)], &[refused], Some(10.0));
        assert!(comparison.over_limit());
        assert_eq!(comparison.changes[0].metric, "verdict success -> failure");
    }
}
