//! Colour on standard error: bpfgen's own `error:`/`warning:`/`note:` labels and check
//! findings' `error[B0601]`-style headers, and clang told to colour its diagnostics, when
//! `--color` (or the environment, or a terminal) says so.

use std::borrow::Cow;
use std::io::IsTerminal;
use std::sync::OnceLock;

static ENABLED: OnceLock<bool> = OnceLock::new();

/// When to colour: `--color`'s three values.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum When {
    /// On a terminal, unless `NO_COLOR` is set; always when `CLICOLOR_FORCE` is.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Decides once, for the whole run, whether standard error is coloured.
pub fn init(when: When) {
    let env = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    let enabled = match when {
        When::Always => true,
        When::Never => false,
        When::Auto if env("CLICOLOR_FORCE") => true,
        When::Auto => !env("NO_COLOR") && std::io::stderr().is_terminal(),
    };
    let _ = ENABLED.set(enabled);
}

/// Whether standard error is coloured (so clang gets `-fcolor-diagnostics`).
pub fn enabled() -> bool {
    ENABLED.get().copied().unwrap_or(false)
}

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const CYAN: &str = "\x1b[1;36m";
const RESET: &str = "\x1b[0m";

/// `text` with the labels of each line coloured, when colour is on.
pub fn paint(text: &str) -> Cow<'_, str> {
    if !enabled() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        out.push_str(&paint_line(line));
    }
    Cow::Owned(out)
}

fn paint_line(line: &str) -> String {
    for (label, colour) in [("error", RED), ("warning", YELLOW), ("note", CYAN)] {
        // bpfgen's own messages: `bpfgen: error: ...`.
        let own = format!("bpfgen: {label}:");
        if let Some(rest) = line.strip_prefix(&own) {
            return format!("bpfgen: {colour}{label}:{RESET}{rest}");
        }
        // Check findings: `file:line:col: error[B0601]: ...` (clang's own have no `[`).
        let finding = format!(" {label}[B");
        if let Some(at) = line.find(&finding) {
            let end = line[at..].find("]:").map_or(line.len(), |e| at + e + 2);
            return format!(
                "{} {colour}{}{RESET}{}",
                &line[..at],
                &line[at + 1..end],
                &line[end..]
            );
        }
        let bare = format!("{label}[B");
        if line.starts_with(&bare) {
            let end = line.find("]:").map_or(line.len(), |e| e + 2);
            return format!("{colour}{}{RESET}{}", &line[..end], &line[end..]);
        }
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_coloured_and_nothing_else() {
        let _ = ENABLED.set(true);
        assert_eq!(
            paint_line("bpfgen: error: x.bpf.c: clang failed\n"),
            "bpfgen: \x1b[1;31merror:\x1b[0m x.bpf.c: clang failed\n"
        );
        assert_eq!(
            paint_line("x.bpf.c:3:1: warning[B0203]: value_size is 0\n"),
            "x.bpf.c:3:1: \x1b[1;33mwarning[B0203]:\x1b[0m value_size is 0\n"
        );
        assert_eq!(paint_line("int x;\n"), "int x;\n");
        assert_eq!(
            paint_line("a.c:1:2: error: clang's\n"),
            "a.c:1:2: error: clang's\n"
        );
    }
}
