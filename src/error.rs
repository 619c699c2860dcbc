//! The library's one error type: what went wrong, about which file, and whose fault it is.
//!
//! Every error renders as a single line, `<subject>: <message>`, so the binary can print it as is.
//! The [`ErrorKind`] decides the exit code: 1 when the input is wrong, 2 for usage or environment.

use crate::diag::Code;
use std::path::Path;

/// Whose fault an error is; the binary maps it to the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is wrong: a clang error, an invalid object, a failed check (exit code 1).
    Input,
    /// The environment or the invocation is wrong: clang missing, an unreadable path (exit code 2).
    Environment,
}

/// A one-line error naming the file (or tool) it is about and the cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    subject: Option<String>,
    message: String,
    /// The `bpfgen check` code of the rule this error breaks, when one does.
    code: Option<Code>,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.one_line())
    }
}

impl std::error::Error for Error {}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error in the input (exit code 1), not yet tied to a file.
    pub fn input(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Input,
            subject: None,
            message: message.into(),
            code: None,
        }
    }

    /// An error in the environment or usage (exit code 2), not yet tied to a file.
    pub fn environment(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Environment,
            subject: None,
            message: message.into(),
            code: None,
        }
    }

    /// An I/O failure on `path`: missing or unreadable files are environment errors.
    pub fn io(path: &Path, err: &std::io::Error) -> Self {
        Error::environment(io_cause(err)).in_file(path)
    }

    /// Names the file this error is about, unless an inner layer already named one.
    pub fn in_file(mut self, path: &Path) -> Self {
        if self.subject.is_none() {
            self.subject = Some(path.display().to_string());
        }
        self
    }

    /// Tags the error with the `bpfgen check` rule it breaks, so `check` reports it under that
    /// rule's code rather than as an unreadable object.
    pub fn with_code(mut self, code: Code) -> Self {
        self.code = Some(code);
        self
    }

    /// The `bpfgen check` rule this error breaks, if it was tagged with one.
    pub fn code(&self) -> Option<Code> {
        self.code
    }

    /// Whose fault the error is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The process exit code this error calls for.
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            ErrorKind::Input => 1,
            ErrorKind::Environment => 2,
        }
    }

    /// The cause, without the subject.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The cause of an I/O error in lower case without the "(os error N)" suffix std adds.
fn io_cause(err: &std::io::Error) -> String {
    let text = err.to_string();
    let text = match text.find(" (os error") {
        Some(at) => &text[..at],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text.to_string(),
    }
}

impl Error {
    /// `<subject>: <first line of the message>`: multi-line causes (clang's stderr) are printed
    /// by their producer, the error itself stays on one line.
    fn one_line(&self) -> String {
        let message = self.message.lines().next().unwrap_or("");
        match &self.subject {
            Some(subject) => format!("{subject}: {message}"),
            None => message.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_subject_and_first_line_only() {
        let err = Error::input("bad thing\nmore").in_file(Path::new("a.bpf.o"));
        assert_eq!(err.to_string(), "a.bpf.o: bad thing");
        assert_eq!(err.exit_code(), 1);
    }

    #[test]
    fn inner_subject_wins() {
        let err = Error::environment("gone")
            .in_file(Path::new("inner"))
            .in_file(Path::new("outer"));
        assert_eq!(err.to_string(), "inner: gone");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn io_errors_read_naturally() {
        let err = std::io::Error::from(std::io::ErrorKind::NotFound);
        let text = Error::io(Path::new("x.c"), &err).to_string();
        assert_eq!(text, "x.c: entity not found");
    }
}
