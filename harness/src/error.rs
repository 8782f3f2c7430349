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

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}
