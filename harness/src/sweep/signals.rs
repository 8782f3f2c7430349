//! Ctrl-C and SIGTERM during a sweep or a `piscale run`.
//!
//! A signal only sets the cancel flag ([`piscale_kernels::cancel`]); a second
//! one exits at once. Process backends, MPI launchers and commands notice
//! the flag within milliseconds, kill and reap their workers and return
//! "cancelled". Thread backends can only stop between blocks, so while one
//! of them runs a [`HardStop`] watcher stands by: if the run has not ended
//! five seconds after the first signal, it writes the summary of the rows on
//! disk and exits with status 130. The watcher lives only as long as that
//! run, so no thread of the harness is alive while a process backend forks.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use anyhow::{Context, Result};
use piscale_kernels::cancel;

use crate::results::OutDir;

/// How long a thread backend may take to stop after Ctrl-C.
const GRACE: Duration = Duration::from_secs(5);

/// SIGINT and SIGTERM set the cancel flag (a second one exits at once).
pub(crate) fn install_handlers() -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    for sig in [SIGINT, SIGTERM] {
        // A second signal while the first is being handled kills at once.
        signal_hook::flag::register_conditional_shutdown(sig, 130, cancel::flag())
            .context("cannot install the signal handler")?;
        signal_hook::flag::register(sig, cancel::flag())
            .context("cannot install the signal handler")?;
    }
    Ok(())
}

/// Stands by while one run of a thread backend computes (see the module
/// documentation); dropping it ends and joins the watcher.
#[derive(Debug)]
pub(crate) struct HardStop {
    done: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl HardStop {
    /// Starts the watcher for a run of the sweep writing to `out`, which
    /// gets [`GRACE`] to stop; or of `piscale run` (`None`), which has
    /// nothing to save and so exits as soon as the signal is seen.
    pub(crate) fn arm(out: Option<&OutDir>) -> HardStop {
        let grace = if out.is_some() { GRACE } else { Duration::ZERO };
        let (done, ended) = mpsc::channel::<()>();
        let out = out.cloned();
        // A thread the system refuses (out of memory or threads) leaves the
        // run without its hard stop, not without its result.
        let thread = thread::Builder::new().spawn(move || {
            if !wait_for_cancel(&ended) {
                return;
            }
            if let Err(RecvTimeoutError::Timeout) = ended.recv_timeout(grace) {
                match out {
                    Some(out) => {
                        let _ = super::runner::finish_summary(&out);
                        crate::present::note(format_args!(
                            "interrupted: the running point did not stop in 5 s; finished rows are in {}",
                            out.raw().display()
                        ));
                    }
                    None => crate::present::note(format_args!("interrupted")),
                }
                std::process::exit(130);
            }
        });
        HardStop {
            done: Some(done),
            thread: thread.ok(),
        }
    }
}

/// Waits until cancellation is asked for (true) or the run ends (false).
fn wait_for_cancel(ended: &mpsc::Receiver<()>) -> bool {
    loop {
        match ended.recv_timeout(cancel::CHECK_EVERY) {
            Err(RecvTimeoutError::Timeout) if cancel::requested() => return true,
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return false,
        }
    }
}

impl Drop for HardStop {
    fn drop(&mut self) {
        drop(self.done.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
