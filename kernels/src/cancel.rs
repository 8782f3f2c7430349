//! Cooperative cancellation of running jobs (Ctrl-C in a sweep).
//!
//! A signal handler may only set a flag. Process backends look at
//! [`requested`] whenever their `poll` wakes — a signal interrupts it, and it
//! wakes at least every [`CHECK_EVERY`] anyway — and then kill and reap
//! their workers and return [`Error::Cancelled`](crate::Error::Cancelled).
//! Thread backends cannot be stopped mid-run; callers stop between runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How often a waiting parent looks at the flag when no signal woke it.
pub const CHECK_EVERY: Duration = Duration::from_millis(50);

/// The process-wide cancellation flag, to hand to a signal handler
/// (for example `signal_hook::flag::register`).
pub fn flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    Arc::clone(FLAG.get_or_init(|| Arc::new(AtomicBool::new(false))))
}

/// Asks every running and future job to stop.
pub fn request() {
    flag().store(true, Ordering::SeqCst);
}

/// Whether cancellation was requested.
pub fn requested() -> bool {
    flag().load(Ordering::SeqCst)
}
