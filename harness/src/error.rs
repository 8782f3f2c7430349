//! The exit-code policy: an error in what the user asked for is a
//! [`UsageError`] (exit status 2, one line naming the flag, key or file);
//! anything else that stops a command is a failed run (exit status 1).

use std::fmt;

/// An error in what the user asked for (exit code 2). The message starts
/// with the flag, key or file it is about, as in
/// `--workers: must be between 1 and 4096, got 0`.
#[derive(Debug)]
pub struct UsageError(pub String);

impl UsageError {
    /// An error about `flag` (or a config key).
    pub fn flag(flag: &str, why: impl fmt::Display) -> UsageError {
        UsageError(format!("{flag}: {why}"))
    }
}

/// Shown as one line: the message often quotes what the user gave (a flag's
/// value, a config string, a path), which may hold line breaks, terminal
/// escapes or text-direction overrides; those are written escaped (`\n`,
/// `\u{1b}`, see [`crate::present::text`]).
impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::present::text::escaped(&self.0))
    }
}

impl std::error::Error for UsageError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_print_as_one_line_with_escapes_shown() {
        let e = UsageError::flag("--method", "unknown method 'a\nb\u{1b}[31m\u{202e}x'");
        assert_eq!(
            e.to_string(),
            "--method: unknown method 'a\\nb\\u{1b}[31m\\u{202e}x'"
        );
        assert_eq!(UsageError("π ≈ 3.14".into()).to_string(), "π ≈ 3.14");
    }
}
