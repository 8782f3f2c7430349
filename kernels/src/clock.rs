//! A monotonic clock that forked children and their parent share.
//!
//! `std::time::Instant` cannot cross a process boundary, but it is
//! `CLOCK_MONOTONIC` underneath: reading the raw nanosecond count lets a child
//! stamp when it started computing and the parent compare it with its own
//! stamps. `clock_gettime` is async-signal-safe, so children may call it after
//! `fork`.

use nix::time::{clock_gettime, ClockId};

/// Nanoseconds on `CLOCK_MONOTONIC`. Never panics (0 on the impossible error).
pub fn mono_ns() -> u64 {
    match clock_gettime(ClockId::CLOCK_MONOTONIC) {
        Ok(ts) => (ts.tv_sec() as u64)
            .wrapping_mul(1_000_000_000)
            .wrapping_add(ts.tv_nsec() as u64),
        Err(_) => 0,
    }
}

/// Seconds between two [`mono_ns`] stamps, 0 if `end` is before `start`.
pub fn secs_between(start: u64, end: u64) -> f64 {
    end.saturating_sub(start) as f64 / 1e9
}
