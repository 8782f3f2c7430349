//! The kernels crate's error type.

use std::time::Duration;

/// Everything that can go wrong while preparing or running a job.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A job or team parameter is out of range; the message names it.
    #[error("{0}")]
    Invalid(String),
    /// A worker (thread or process) stopped without delivering its result.
    #[error("worker {worker} (pid {pid}) {how}")]
    WorkerDied {
        /// Index of the worker, 0-based, as in `--workers`.
        worker: usize,
        /// Process id of the worker, 0 for threads.
        pid: i32,
        /// How it died: "was killed by signal SIGKILL", "exited with status 3", …
        how: String,
    },
    /// The fork server of a `--start forkserver` backend died or stopped
    /// answering; its workers died with it.
    #[error("the fork server (pid {pid}) {how}")]
    ForkServer {
        /// Its process id.
        pid: i32,
        /// What happened: "stopped answering (EPIPE: Broken pipe)".
        how: String,
    },
    /// A worker could not be started: the system refused a thread (too many
    /// threads or processes, no memory for its stack). A failed run, not bad
    /// input; the workers already started were joined.
    #[error("cannot start {what}: {reason}")]
    Start {
        /// Which worker: "worker 3", "worker 0 of the rayon pool".
        what: String,
        /// Why the system refused it. (Not a `#[source]`: the message
        /// already says it, and a chain would print it twice.)
        reason: std::io::Error,
    },
    /// Workers did not finish before the job's timeout; they were killed.
    #[error("timed out after {timeout:?} waiting for worker {worker}")]
    Timeout {
        /// The first worker still running when time ran out.
        worker: usize,
        /// The job's timeout.
        timeout: Duration,
    },
    /// The run was cancelled (see [`crate::cancel`]); its workers were killed.
    #[error("cancelled")]
    Cancelled,
    /// A system call failed.
    #[error("{context}: {errno}")]
    Os {
        /// What piscale was doing.
        context: &'static str,
        /// The errno it got. (Not a `#[source]`: the message already says
        /// it, and a chain would print it twice: `fork: EAGAIN: …: EAGAIN: …`.)
        errno: nix::Error,
    },
}

/// `Result` with the kernels crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds a context to a failed system call.
pub(crate) trait OsContext<T> {
    fn os(self, context: &'static str) -> Result<T>;
}

impl<T> OsContext<T> for nix::Result<T> {
    fn os(self, context: &'static str) -> Result<T> {
        self.map_err(|errno| Error::Os { context, errno })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_os_error_says_its_errno_once() {
        let err = Error::Os {
            context: "fork",
            errno: nix::Error::EAGAIN,
        };
        let text = err.to_string();
        assert_eq!(text.matches("EAGAIN").count(), 1, "{text}");
        // No source: a chain printer (anyhow's `{:#}`) adds nothing.
        assert!(std::error::Error::source(&err).is_none());
        let start = Error::Start {
            what: "worker 3".into(),
            reason: std::io::Error::from_raw_os_error(11),
        };
        assert!(std::error::Error::source(&start).is_none());
        assert!(start.to_string().starts_with("cannot start worker 3: "));
    }
}
