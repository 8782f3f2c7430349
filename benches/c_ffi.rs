//! The C baselines and references that `build.rs` compiles, as safe Rust
//! functions: one definition for every bench that calls them.

#[cfg(c_baseline)]
extern "C" {
    fn piscale_fork_baseline(workers: std::ffi::c_int) -> std::ffi::c_int;
}

/// Starts and reaps `workers` children the bare C way; 0 on success.
#[cfg(c_baseline)]
pub fn run(workers: i32) -> i32 {
    // SAFETY: the C function takes an int and touches only its own
    // stack and descriptors; its children `_exit` without returning.
    unsafe { piscale_fork_baseline(workers) }
}

#[cfg(c_kernels)]
extern "C" {
    fn piscale_c_midpoint(steps: i64, start: i64, len: i64) -> f64;
    fn piscale_c_midpoint_pairs(steps: i64, start: i64, len: i64) -> f64;
    fn piscale_c_mc(seed: u64, samples: u64) -> u64;
}

/// Σ f over the steps, the C way (one division a step).
#[cfg(c_kernels)]
pub fn midpoint(steps: u64, start: u64, len: u64) -> f64 {
    // SAFETY: pure arithmetic on its arguments.
    unsafe { piscale_c_midpoint(steps as i64, start as i64, len as i64) }
}

/// The same with two steps per division.
#[cfg(c_kernels)]
pub fn midpoint_pairs(steps: u64, start: u64, len: u64) -> f64 {
    // SAFETY: pure arithmetic on its arguments.
    unsafe { piscale_c_midpoint_pairs(steps as i64, start as i64, len as i64) }
}

/// Hits among `samples` darts, eight xoshiro256++ lanes in C.
#[cfg(c_kernels)]
pub fn mc(seed: u64, samples: u64) -> u64 {
    // SAFETY: pure arithmetic on its arguments and its own stack.
    unsafe { piscale_c_mc(seed, samples) }
}

#[cfg(c_clock)]
extern "C" {
    fn piscale_c_add_chain(iterations: std::ffi::c_long);
}

/// The core's clock right now, in GHz: a chain of `8·iterations` dependent
/// `add`s takes one cycle each (`c/clock.c`). 200,000 iterations take about
/// half a millisecond.
#[cfg(c_clock)]
#[allow(dead_code)] // not every bench reads the clock
pub fn clock_ghz(iterations: i64) -> f64 {
    let t0 = std::time::Instant::now();
    // SAFETY: a loop of register adds; no memory, no side effects.
    unsafe { piscale_c_add_chain(iterations as std::ffi::c_long) };
    8.0 * iterations as f64 / t0.elapsed().as_nanos() as f64
}
