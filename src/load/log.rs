//! Reading the verifier's log: the statistics it ends with (log level 4), and, for a refused
//! program (log level 1), the failing instruction, the error lines after it, the source line
//! the log quotes (`; text @ file:line`) and the state of the registers the error names.

/// The statistics lines the verifier prints at log level 4.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogStats {
    /// `verification time N usec`.
    pub verification_time_us: Option<u64>,
    /// `stack depth A+B+...`, summed over the program and its subprograms (as veristat does).
    pub stack_depth: Option<u64>,
    /// `processed N insns`.
    pub processed_insns: Option<u64>,
    /// `max_states_per_insn N`.
    pub max_states_per_insn: Option<u64>,
    /// `total_states N`.
    pub total_states: Option<u64>,
    /// `peak_states N`.
    pub peak_states: Option<u64>,
}

/// The statistics in `log` (fields the log lacks stay `None`).
pub fn stats(log: &str) -> LogStats {
    let mut stats = LogStats::default();
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix("verification time ") {
            stats.verification_time_us = first_number(rest);
        } else if let Some(rest) = line.strip_prefix("stack depth ") {
            stats.stack_depth = rest
                .split('+')
                .map(|part| part.trim().parse::<u64>().ok())
                .sum();
        } else if line.starts_with("processed ") {
            stats.processed_insns = after(line, "processed ");
            stats.max_states_per_insn = after(line, "max_states_per_insn ");
            stats.total_states = after(line, "total_states ");
            stats.peak_states = after(line, "peak_states ");
        }
    }
    stats
}

/// The number that follows `key` in `line`.
fn after(line: &str, key: &str) -> Option<u64> {
    first_number(&line[line.find(key)? + key.len()..])
}

/// The leading decimal number of `text`.
fn first_number(text: &str) -> Option<u64> {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text[..end].parse().ok()
}

/// A source line as the verifier quotes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// The line's text.
    pub text: String,
    /// The file, as the object's line info names it (`None` on kernels that quote the text
    /// only).
    pub file: Option<String>,
    /// The line number, with the file.
    pub line: u32,
}

/// What the log of a refused program says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Refusal {
    /// The verifier's error lines, first the main one.
    pub errors: Vec<String>,
    /// The instruction the verifier stopped at, as it printed it (`12: (61) r1 = ...`).
    pub instruction: Option<String>,
    /// The source line of that instruction, or of the allocation a leaked reference came from.
    pub source: Option<Quote>,
    /// The state of each register the error names, as the verifier last printed it
    /// (`R0=map_value_or_null(id=1,map=counts,ks=4,vs=8)`).
    pub registers: Vec<String>,
    /// The stack depth of each function, as the log's `stack depth` line gives it
    /// (`0+320+320`: the program first).
    pub stack_depth: Option<String>,
}

/// Reads a refused program's log (log level 1).
pub fn refusal(log: &str) -> Refusal {
    let lines: Vec<&str> = log.lines().collect();
    let last_insn = lines.iter().rposition(|l| instruction(l).is_some());
    let start = last_insn.map_or(0, |i| i + 1);
    let errors: Vec<String> = lines[start..]
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && !is_stats(l) && !l.starts_with(';') && !is_state(l))
        .map(str::to_string)
        .collect();
    let mut source = last_insn.and_then(|i| quote_before(&lines, i));
    // A leaked reference is reported at the exit; the line that took it is what to fix.
    if let Some(alloc) = errors.iter().find_map(|e| after(e, "alloc_insn="))
        && let Some(at) = lines.iter().position(|l| instruction(l) == Some(alloc))
    {
        source = quote_before(&lines, at).or(source);
    }
    let registers = named_registers(&errors)
        .into_iter()
        .filter_map(|reg| last_state(&lines[..start], &reg))
        .collect();
    let stack_depth = lines
        .iter()
        .find_map(|l| l.strip_prefix("stack depth "))
        .map(|depths| depths.trim().to_string());
    Refusal {
        stack_depth,
        instruction: last_insn.map(|i| code_of(lines[i]).to_string()),
        errors,
        source,
        registers,
    }
}

/// The index of the instruction a log line prints (`12: (61) r1 = ...`).
fn instruction(line: &str) -> Option<u64> {
    let (index, rest) = line.split_once(": (")?;
    let opcode = rest.get(..3)?;
    (opcode.ends_with(')') && opcode[..2].chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| index.parse().ok())
        .flatten()
}

/// An instruction line without the register state the verifier appends after `;`.
fn code_of(line: &str) -> &str {
    line.split_once("  ;")
        .or_else(|| line.split_once(" ; "))
        .map_or(line, |(code, _)| code)
        .trim_end()
}

/// Whether a line is one of the statistics lines.
fn is_stats(line: &str) -> bool {
    ["verification time ", "stack depth ", "processed "]
        .iter()
        .any(|p| line.starts_with(p))
}

/// Whether a line is a register-state dump (`5: R0=...`, `from 4 to 6: R1=...`).
fn is_state(line: &str) -> bool {
    let rest = line.split_once(": ").map_or("", |(_, rest)| rest);
    rest.starts_with('R') && rest.contains('=') && rest.split('=').next().is_some_and(is_reg)
}

/// Whether a word is a register name (`R0`..`R10`, maybe with `_w`/`_rw` marks).
fn is_reg(word: &str) -> bool {
    let name = word.split('_').next().unwrap_or(word);
    name.len() > 1 && name.starts_with('R') && name[1..].chars().all(|c| c.is_ascii_digit())
}

/// The last source quote at or before line `index` (quotes of line 0, which clang gives
/// instructions of no line, are skipped).
fn quote_before(lines: &[&str], index: usize) -> Option<Quote> {
    lines[..=index]
        .iter()
        .rev()
        .filter_map(|l| l.strip_prefix("; "))
        .map(quote)
        .find(|q| q.file.is_none() || q.line != 0)
}

/// A source quote's body: `text @ file:line`, or the text alone on older kernels.
fn quote(body: &str) -> Quote {
    if let Some((text, place)) = body.rsplit_once(" @ ")
        && let Some((file, number)) = place.rsplit_once(':')
        && let Ok(number) = number.trim().parse()
    {
        return Quote {
            text: text.to_string(),
            file: Some(file.to_string()),
            line: number,
        };
    }
    Quote {
        text: body.to_string(),
        file: None,
        line: 0,
    }
}

/// The registers (`R0`..`R10`) the error lines name, in order, without repeats.
fn named_registers(errors: &[String]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for error in errors {
        for word in error.split(|c: char| !c.is_ascii_alphanumeric()) {
            if is_reg(word) && !names.iter().any(|n| n == word) {
                names.push(word.to_string());
            }
        }
    }
    names
}

/// The last state the log printed for register `reg` (`R1=...` or `R1_w=...`), up to the
/// end of its value (brackets balanced).
fn last_state(lines: &[&str], reg: &str) -> Option<String> {
    lines.iter().rev().find_map(|line| {
        line.rmatch_indices(reg).find_map(|(at, _)| {
            if line[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric())
            {
                return None;
            }
            let rest = &line[at + reg.len()..];
            let value_at = rest
                .strip_prefix('=')
                .or_else(|| rest.strip_prefix("_w="))
                .or_else(|| rest.strip_prefix("_rw="))
                .or_else(|| rest.strip_prefix("_r="))?;
            Some(format!("{reg}={}", balanced(value_at)))
        })
    })
}

/// `text` up to the first space outside brackets.
fn balanced(text: &str) -> &str {
    let mut depth = 0i32;
    for (at, c) in text.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ' ' if depth <= 0 => return &text[..at],
            _ => {}
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const NULL_DEREF: &str = "\
func#0 @0
0: R1=ctx() R10=fp0
; __u32 key = 0; @ null.bpf.c:14
0: (b7) r1 = 0                        ; R1_w=0
1: (63) *(u32 *)(r10 -4) = r1         ; R1_w=0 R10=fp0 fp-8=0000????
; __u64 *v = bpf_map_lookup_elem(&counts, &key); @ null.bpf.c:15
4: (85) call bpf_map_lookup_elem#1    ; R0_w=map_value_or_null(id=1,map=counts,ks=4,vs=8)
; *v += 1; @ null.bpf.c:16
;  @ null.bpf.c:0
5: (79) r1 = *(u64 *)(r0 +0)
R0 invalid mem access 'map_value_or_null'
verification time 35 usec
stack depth 4+8
processed 6 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
";

    #[test]
    fn reads_statistics() {
        let stats = stats(NULL_DEREF);
        assert_eq!(stats.verification_time_us, Some(35));
        assert_eq!(stats.stack_depth, Some(12));
        assert_eq!(stats.processed_insns, Some(6));
        assert_eq!(stats.total_states, Some(0));
        assert_eq!(stats.peak_states, Some(0));
    }

    #[test]
    fn reads_the_refusal() {
        let refusal = refusal(NULL_DEREF);
        assert_eq!(
            refusal.errors,
            ["R0 invalid mem access 'map_value_or_null'"]
        );
        assert_eq!(
            refusal.instruction.as_deref(),
            Some("5: (79) r1 = *(u64 *)(r0 +0)")
        );
        assert_eq!(
            refusal.source,
            Some(Quote {
                text: "*v += 1;".into(),
                file: Some("null.bpf.c".into()),
                line: 16
            })
        );
        assert_eq!(
            refusal.registers,
            ["R0=map_value_or_null(id=1,map=counts,ks=4,vs=8)"]
        );
    }

    #[test]
    fn a_leak_points_at_the_allocation() {
        let log = "\
; e = bpf_ringbuf_reserve(&rb, 8, 0); @ leak.bpf.c:20
2: (85) call bpf_ringbuf_reserve#131  ; R0=ringbuf_mem_or_null(id=2,ref_obj_id=2,sz=8)
; return 0; @ leak.bpf.c:25
7: (95) exit
Unreleased reference id=2 alloc_insn=2
";
        let refusal = refusal(log);
        assert_eq!(refusal.source.unwrap().line, 20);
        assert_eq!(refusal.instruction.as_deref(), Some("7: (95) exit"));
    }
}
