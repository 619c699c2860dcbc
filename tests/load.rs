//! `bpfgen check --load`: the running kernel's verifier as a check. Each class of verifier
//! error, from a fixture that triggers it here, gives its code at the line the fixture marks
//! (`/* B07xx */`) with a hint; every example loads with its statistics; `--compare` catches
//! a program that grew; and without privilege the load stops at once.

use crate::util::{
    assert_matches_schema, bpfgen, example, fixture, kernel_available, run, scratch, stderr,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `bpfgen check --load --message-format json` with `args`: the exit code, the findings
/// and the per-program records (the lines with a `program`).
fn load_json(args: &[&std::ffi::OsStr]) -> (i32, Vec<Value>, Vec<Value>) {
    let out = run(bpfgen()
        .args(["check", "--load", "--message-format", "json"])
        .args(args));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let (records, findings) = lines.into_iter().partition(|v| v.get("program").is_some());
    (out.status.code().unwrap_or(-1), findings, records)
}

/// The fixtures of each verifier error class, with its code and the program in each.
const CLASSES: [(&str, &str, &str); 11] = [
    ("null_check", "B0701", "count_getpid"),
    ("loop", "B0702", "spin"),
    ("out_of_bounds", "B0703", "fill_slot"),
    ("packet_bounds", "B0703", "unchecked_packet"),
    ("uninit", "B0704", "uninit"),
    ("stack_size", "B0705", "deep"),
    ("helper_not_allowed", "B0706", "redirect_from_tracepoint"),
    ("gpl_only", "B0707", "print_getpid"),
    ("complexity", "B0708", "too_long"),
    ("ctx_access", "B0709", "past_the_context"),
    ("ref_leak", "B0710", "leak"),
];

/// The 1-based line of `source` that carries the marker `/* code */`.
fn marked_line(source: &Path, code: &str) -> u64 {
    let text = std::fs::read_to_string(source).unwrap();
    let marker = format!("/* {code} */");
    let index = text
        .lines()
        .position(|l| l.contains(&marker))
        .unwrap_or_else(|| panic!("{} has no {marker}", source.display()));
    index as u64 + 1
}

/// The error finding of code `class` for `object`, after checking that program `program`'s
/// record says it was refused with that code.
fn refusal<'a>(
    findings: &'a [Value],
    records: &[Value],
    class: &str,
    object: &str,
    program: &str,
) -> &'a Value {
    let finding = findings
        .iter()
        .find(|f| f["code"] == class && f["object"] == object)
        .unwrap_or_else(|| panic!("{class}: no finding for {object}: {findings:#?}"));
    assert_eq!(finding["severity"], "error", "{finding:#}");
    let record = records
        .iter()
        .find(|r| r["object"] == object && r["program"] == program)
        .unwrap_or_else(|| panic!("{class}: no record: {records:#?}"));
    assert_eq!(record["status"], "refused", "{record:#}");
    assert_eq!(record["code"], class, "{record:#}");
    finding
}

#[test]
fn each_verifier_error_class_is_a_finding_at_its_line() {
    if !kernel_available("each_verifier_error_class_is_a_finding_at_its_line") {
        return;
    }
    let sources: Vec<PathBuf> = CLASSES
        .iter()
        .map(|(stem, _, _)| fixture(&format!("load/{stem}.bpf.c")))
        .collect();
    let args: Vec<&std::ffi::OsStr> = sources.iter().map(|s| s.as_os_str()).collect();
    let (code, findings, records) = load_json(&args);
    assert_eq!(code, 1, "{findings:#?}");
    for ((_, class, program), source) in CLASSES.iter().zip(&sources) {
        let object = source.display().to_string();
        let finding = refusal(&findings, &records, class, &object, program);
        let message = finding["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("the verifier refused program '{program}': ")),
            "{finding:#}"
        );
        assert_eq!(
            finding["location"]["line"].as_u64(),
            Some(marked_line(source, class)),
            "{class}: {finding:#}"
        );
        assert!(
            finding["location"]["source"]
                .as_str()
                .unwrap()
                .contains(&format!("/* {class} */")),
            "{finding:#}"
        );
        let notes: Vec<&str> = finding["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        assert!(
            notes.iter().any(|n| n.starts_with("hint: ")),
            "{class}: {notes:#?}"
        );
    }
    let null_check = findings.iter().find(|f| f["code"] == "B0701").unwrap();
    assert!(
        null_check["notes"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .unwrap()
            .starts_with("register state: R0=map_value_or_null(")),
        "{null_check:#}"
    );
}

#[test]
fn a_refusal_reads_like_a_compiler_error() {
    if !kernel_available("a_refusal_reads_like_a_compiler_error") {
        return;
    }
    let source = fixture("load/null_check.bpf.c");
    let out = run(bpfgen()
        .args(["check", "--load", "--verifier-log"])
        .arg(&source));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stderr(&out);
    let line = marked_line(&source, "B0701");
    let head = format!(
        "{}:{line}:9: error[B0701]: the verifier refused program 'count_getpid': R0 invalid mem access 'map_value_or_null'",
        source.display()
    );
    assert!(text.contains(&head), "{text}");
    assert!(text.contains(&format!("{line} | \t*count += 1;")), "{text}");
    assert!(text.contains("   | \t       ^\n"), "{text}");
    assert!(text.contains("-- verifier log of "), "{text}");
    assert!(
        text.contains("R0 invalid mem access 'map_value_or_null'\n"),
        "{text}"
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("count_getpid  failure (B0701)"), "{table}");
}

#[test]
fn the_catch_all_codes_are_real_refusals_too() {
    if !kernel_available("the_catch_all_codes_are_real_refusals_too") {
        return;
    }
    // B0711: the verifier refuses a call to a helper that does not exist, a message of no
    // known class. B0712: libbpf stops before the verifier, because the kernel refuses to
    // create a ring buffer declared with a value size.
    let unknown = fixture("load/unknown_helper.bpf.c");
    let ringbuf = fixture("load/ringbuf_value.bpf.c");
    let (code, findings, records) = load_json(&[unknown.as_os_str(), ringbuf.as_os_str()]);
    assert_eq!(code, 1, "{findings:#?}");
    for (source, class, program, says) in [
        (
            &unknown,
            "B0711",
            "call_nothing",
            "invalid func unknown#10000",
        ),
        (
            &ringbuf,
            "B0712",
            "send_event",
            "map 'events': failed to create: -EINVAL",
        ),
    ] {
        let object = source.display().to_string();
        let finding = refusal(&findings, &records, class, &object, program);
        assert!(
            finding["message"].as_str().unwrap().contains(says),
            "{finding:#}"
        );
    }
    let b0711 = findings.iter().find(|f| f["code"] == "B0711").unwrap();
    assert_eq!(
        b0711["location"]["line"].as_u64(),
        Some(marked_line(&unknown, "B0711")),
        "{b0711:#}"
    );
}

#[test]
fn maps_user_space_sizes_at_run_time_get_sizes() {
    if !kernel_available("maps_user_space_sizes_at_run_time_get_sizes") {
        return;
    }
    // A stack-trace map with no value size and a hash map with no max_entries, as
    // libbpf-tools' profilers declare them: the kernel refuses both as written (check's
    // static warning B0203 says so), and user space sizes them before load.
    let source = fixture("load/runtime_sized.bpf.c");
    let (code, findings, records) = load_json(&[source.as_os_str()]);
    assert_eq!(code, 0, "{findings:#?}");
    assert!(
        findings
            .iter()
            .all(|f| f["severity"] == "warning" && f["code"] == "B0203"),
        "{findings:#?}"
    );
    let record = records
        .iter()
        .find(|r| r["program"] == "record_stack")
        .unwrap_or_else(|| panic!("no record: {records:#?}"));
    assert_eq!(record["status"], "loaded", "{record:#}");
}

#[test]
fn every_example_loads_with_its_statistics() {
    if !kernel_available("every_example_loads_with_its_statistics") {
        return;
    }
    let mut sources: Vec<PathBuf> = std::fs::read_dir(example(""))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bpf.c"))
        .collect();
    sources.sort();
    let args: Vec<&std::ffi::OsStr> = sources.iter().map(|s| s.as_os_str()).collect();
    let (code, findings, records) = load_json(&args);
    assert_eq!(code, 0, "{findings:#?}");
    for source in &sources {
        let object = source.display().to_string();
        let programs: Vec<&Value> = records.iter().filter(|r| r["object"] == object).collect();
        assert!(!programs.is_empty(), "{object}: no programs: {records:#?}");
        for record in programs {
            if object.ends_with("fentry.bpf.c") {
                // fentry programs are refused with EPERM on this kernel, before the verifier.
                assert_eq!(record["status"], "not-loadable", "{record:#}");
                assert!(
                    record["reason"].as_str().unwrap().contains("EPERM"),
                    "{record:#}"
                );
                continue;
            }
            assert_eq!(record["status"], "loaded", "{record:#}");
            for field in ["verified_insns", "jited_bytes", "xlated_bytes"] {
                assert!(record[field].as_u64().unwrap() > 0, "{field}: {record:#}");
            }
            for field in [
                "total_states",
                "peak_states",
                "verification_time_us",
                "stack_depth",
            ] {
                assert!(record[field].is_u64(), "{field}: {record:#}");
            }
        }
    }
    let minimal = records
        .iter()
        .find(|r| r["program"] == "handle_tp")
        .unwrap();
    assert_eq!(minimal["section"], "tp/syscalls/sys_enter_write");
}

/// `check --load --message-format json` of the grow fixture into `dir/<name>.json`, built
/// with `clang_args`.
fn save_run(dir: &Path, name: &str, clang_args: &[&str]) -> PathBuf {
    let out = run(bpfgen()
        .args(["check", "--load", "--message-format", "json"])
        .arg(fixture("load/grow.bpf.c"))
        .arg("--")
        .args(clang_args));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

/// `check --load --compare` of `old` and `new`, with more arguments.
fn compare(old: &Path, new: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = run(bpfgen()
        .args(["check", "--load", "--compare"])
        .arg(old)
        .arg(new)
        .args(args));
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn compare_catches_a_program_that_grew() {
    if !kernel_available("compare_catches_a_program_that_grew") {
        return;
    }
    let dir = scratch();
    let old = save_run(dir.path(), "old", &[]);
    let new = save_run(dir.path(), "new", &["-DGROW"]);
    let (code, table) = compare(&old, &new, &["--max-growth", "10"]);
    assert_eq!(code, Some(1), "{table}");
    let insns = table
        .lines()
        .find(|l| l.starts_with("work") && l.contains(" insns "))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(insns.ends_with("over limit"), "{table}");
    // Without a limit the differences are shown and nothing fails.
    assert_eq!(compare(&old, &new, &[]).0, Some(0));
    // The same run twice has not grown.
    let (code, table) = compare(&old, &old, &["--max-growth", "10"]);
    assert_eq!(code, Some(0), "{table}");
    assert!(!table.contains("over limit"), "{table}");
    // A source is loaded on the spot, as the new side.
    let source = fixture("load/grow.bpf.c");
    let (code, table) = compare(&old, &source, &["--max-growth", "10", "--", "-DGROW"]);
    assert_eq!(code, Some(1), "{table}");
}

#[test]
fn without_privilege_the_load_stops_in_one_line() {
    if !kernel_available("without_privilege_the_load_stops_in_one_line") {
        return;
    }
    let object = fixture("load/null_check.bpf.c");
    let out = run(Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .args(["--bounding-set=-all", "--"])
        .arg(env!("CARGO_BIN_EXE_bpfgen"))
        .args(["check", "--load"])
        .arg(&object));
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert_eq!(
        text,
        "bpfgen: error: loading into the kernel needs CAP_BPF or CAP_SYS_ADMIN (run as root)\n"
    );
}

#[test]
fn build_check_load_fails_the_build_on_a_refusal() {
    if !kernel_available("build_check_load_fails_the_build_on_a_refusal") {
        return;
    }
    let dir = scratch();
    let out = run(bpfgen()
        .args([
            "build",
            "--check-load",
            "--skel",
            "none",
            "--message-format",
            "json",
            "-o",
        ])
        .arg(dir.path())
        .arg(example("minimal.bpf.c"))
        .arg(fixture("load/null_check.bpf.c")));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_matches_schema("bpfgen.diagnostic.schema.json", &out.stdout, dir.path());
    let records: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let refusal = records
        .iter()
        .find(|r| r["kind"] == "check" && r["code"] == "B0701")
        .unwrap_or_else(|| panic!("{records:#?}"));
    assert_eq!(
        refusal["location"]["line"].as_u64(),
        Some(marked_line(&fixture("load/null_check.bpf.c"), "B0701")),
        "{refusal:#}"
    );
    let loaded = records
        .iter()
        .find(|r| r["program"] == "handle_tp")
        .unwrap_or_else(|| panic!("{records:#?}"));
    assert_eq!(loaded["status"], "loaded");
    assert_eq!(loaded["severity"], "info");
    assert!(loaded["verified_insns"].as_u64().unwrap() > 0, "{loaded:#}");
}
