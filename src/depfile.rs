//! Make dependency files: reading the rule clang writes with `-MD`, and writing ours, which
//! names every output as a target and adds a phony rule per header (like `-MP`) so that a
//! deleted header does not break `make`.

/// The prerequisites of the (first) rule in a Make dependency file, unescaped.
pub fn parse_prerequisites(text: &str) -> Vec<String> {
    let joined = text.replace("\\\r\n", " ").replace("\\\n", " ");
    let Some(rule) = joined.lines().find(|l| !l.trim().is_empty()) else {
        return Vec::new();
    };
    let Some(colon) = find_rule_colon(rule) else {
        return Vec::new();
    };
    split_words(&rule[colon + 1..])
}

/// The `:` that ends the target list: the first one not escaped and followed by a blank or
/// the end of the line.
fn find_rule_colon(rule: &str) -> Option<usize> {
    let bytes = rule.as_bytes();
    (0..bytes.len()).find(|&i| {
        bytes[i] == b':'
            && (i == 0 || bytes[i - 1] != b'\\')
            && bytes.get(i + 1).is_none_or(|b| b.is_ascii_whitespace())
    })
}

fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some(' ' | '#' | '\\' | ':')) => {
                word.push(chars.next().expect("peeked"));
            }
            '$' if chars.peek() == Some(&'$') => {
                chars.next();
                word.push('$');
            }
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Escapes a path for a Make rule.
pub fn escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            ' ' => out.push_str("\\ "),
            '#' => out.push_str("\\#"),
            '$' => out.push_str("$$"),
            ':' => out.push_str("\\:"),
            c => out.push(c),
        }
    }
    out
}

/// A dependency file: `targets` depend on `source` and `headers`; each header gets a phony rule.
pub fn render(targets: &[String], source: &str, headers: &[String]) -> String {
    let mut out = targets
        .iter()
        .map(|t| escape(t))
        .collect::<Vec<_>>()
        .join(" ");
    out.push(':');
    for prerequisite in std::iter::once(source).chain(headers.iter().map(String::as_str)) {
        out.push_str(" \\\n  ");
        out.push_str(&escape(prerequisite));
    }
    out.push('\n');
    for header in headers {
        out.push('\n');
        out.push_str(&escape(header));
        out.push_str(":\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_clang_rules_with_continuations_and_escapes() {
        let text =
            "out/x.bpf.o: src/x.bpf.c /usr/include/linux/bpf.h \\\n  my\\ dir/a.h cost$$.h\n";
        assert_eq!(
            parse_prerequisites(text),
            vec![
                "src/x.bpf.c",
                "/usr/include/linux/bpf.h",
                "my dir/a.h",
                "cost$.h"
            ]
        );
    }

    #[test]
    fn writes_phony_rules_and_round_trips() {
        let headers = vec!["a b.h".to_string(), "c$#.h".to_string()];
        let text = render(
            &["o/x.bpf.o".into(), "o/x.skel.h".into()],
            "x.bpf.c",
            &headers,
        );
        assert!(text.starts_with("o/x.bpf.o o/x.skel.h: \\\n  x.bpf.c"));
        assert!(text.contains("\na\\ b.h:\n"));
        assert!(text.contains("\nc$$\\#.h:\n"));
        let mut expected = vec!["x.bpf.c".to_string()];
        expected.extend(headers);
        assert_eq!(parse_prerequisites(&text), expected);
    }
}
