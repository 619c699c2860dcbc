//! `build --message-format json`: everything a build says, one JSON object per line, so that
//! a CI annotator sees clang's errors and warnings as well as bpfgen's own and the check
//! findings. The records follow schema/bpfgen.diagnostic.schema.json (`"schema": 1`).

use serde_json::{Value, json};

/// The schema version every record carries.
const SCHEMA: u64 = 1;

/// The records of one source's diagnostics text: clang's lines (`file:line:col: severity:
/// message [-Wflag]`, with the lines that follow as `rendered`), check findings (already JSON
/// lines), and bpfgen's own `bpfgen: ...` lines.
pub fn records(source: &str, text: &str) -> Vec<Value> {
    let mut records: Vec<Value> = Vec::new();
    for line in text.lines() {
        if line.starts_with('{')
            && let Ok(Value::Object(mut finding)) = serde_json::from_str::<Value>(line)
        {
            finding.insert("schema".into(), json!(SCHEMA));
            finding.insert("kind".into(), json!("check"));
            finding.insert("source".into(), json!(source));
            records.push(Value::Object(finding));
        } else if let Some(rest) = line.strip_prefix("bpfgen: ") {
            records.push(own(source, rest));
        } else if let Some(record) = compiler(source, line) {
            records.push(record);
        } else if let Some(Value::Object(last)) = records.last_mut()
            && last.get("kind") == Some(&json!("compiler"))
            && let Some(Value::String(rendered)) = last.get_mut("rendered")
        {
            // The source line and caret under a clang diagnostic.
            rendered.push('\n');
            rendered.push_str(line);
        }
    }
    records
}

/// A bpfgen error that stopped a source, as a record.
pub fn error(source: &str, message: &str) -> Value {
    json!({"schema": SCHEMA, "kind": "bpfgen", "source": source, "severity": "error",
           "message": message})
}

/// A program's verdict from `--check-load` as an `info` record of `source`: the message says
/// it in a line, the other fields are those of `check --load --message-format json`.
pub fn program(source: &str, record: &bpfgen::load::stats::ProgramRecord) -> Value {
    use bpfgen::load::stats::Verdict;
    let message = match &record.verdict {
        Verdict::Loaded(stats) => format!(
            "program '{}' loaded: {} instructions verified, {} states, {} bytes of stack",
            record.program, stats.verified_insns, stats.total_states, stats.stack_depth
        ),
        Verdict::Refused { code } => format!("program '{}' refused ({code})", record.program),
        Verdict::NotLoadable { reason } => format!(
            "program '{}' is not loadable on this kernel: {reason}",
            record.program
        ),
    };
    let mut value = json!({"schema": SCHEMA, "kind": "bpfgen", "source": source,
                           "severity": "info", "message": message});
    if let (Value::Object(fields), Ok(Value::Object(program))) =
        (&mut value, serde_json::to_value(record))
    {
        for (key, field) in program {
            fields.entry(key).or_insert(field);
        }
    }
    value
}

/// `error: x`, `warning: x`, `note: x`, or progress (`x.bpf.c: cache hit`) as `info`.
fn own(source: &str, rest: &str) -> Value {
    let (severity, message) = ["error", "warning", "note"]
        .iter()
        .find_map(|label| {
            rest.strip_prefix(label)
                .and_then(|m| m.strip_prefix(": "))
                .map(|m| (*label, m))
        })
        .unwrap_or(("info", rest));
    json!({"schema": SCHEMA, "kind": "bpfgen", "source": source, "severity": severity,
           "message": message})
}

/// One clang diagnostic line, if `line` is one.
fn compiler(source: &str, line: &str) -> Option<Value> {
    let mut parts = line.splitn(4, ':');
    let file = parts.next()?;
    let line_number: u64 = parts.next()?.parse().ok()?;
    let column: u64 = parts.next()?.parse().ok()?;
    let rest = parts.next()?.trim_start();
    let (severity, message) = [
        ("fatal error: ", "error"),
        ("error: ", "error"),
        ("warning: ", "warning"),
        ("note: ", "note"),
    ]
    .iter()
    .find_map(|(prefix, severity)| rest.strip_prefix(prefix).map(|m| (*severity, m)))?;
    let (message, option) = match message.rsplit_once(" [") {
        Some((text, flag)) if flag.starts_with("-W") && flag.ends_with(']') => {
            (text, Some(flag.trim_end_matches(']')))
        }
        _ => (message, None),
    };
    Some(json!({
        "schema": SCHEMA,
        "kind": "compiler",
        "source": source,
        "file": file,
        "line": line_number,
        "column": column,
        "severity": severity,
        "message": message,
        "option": option,
        "rendered": line,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clang_lines_findings_and_own_lines_become_records() {
        let text = "bpfgen: x.bpf.c: cache miss; running: clang ...\n\
                    x.bpf.c:3:9: warning: unused variable 'y' [-Wunused-variable]\n\
                    \tint y;\n\
                    \t    ^\n\
                    {\"code\":\"B0203\",\"severity\":\"warning\",\"message\":\"m\"}\n\
                    1 warning generated.\n";
        let records = records("x.bpf.c", text);
        assert_eq!(records.len(), 3);
        assert_eq!(records[0]["severity"], "info");
        assert_eq!(records[1]["kind"], "compiler");
        assert_eq!(records[1]["line"], 3);
        assert_eq!(records[1]["option"], "-Wunused-variable");
        assert_eq!(records[1]["message"], "unused variable 'y'");
        assert!(
            records[1]["rendered"]
                .as_str()
                .unwrap()
                .ends_with("\t    ^")
        );
        assert_eq!(records[2]["kind"], "check");
        assert_eq!(records[2]["code"], "B0203");
    }
}
