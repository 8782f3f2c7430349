//! One-core speed of each kernel on each instruction set this CPU supports.
//!
//! ```text
//! cargo run --release -p piscale-kernels --example isa_speed [N] [REPS]
//! ```
//!
//! Each ISA evaluates N samples or steps (default 2^28; N below 64 means 2^N,
//! and `2e9` style is accepted) in default-size blocks (2^20), REPS times
//! (default 5); the best and median rates are printed in samples (steps) per
//! nanosecond, and every ISA's answer is checked against the scalar path's.

use std::hint::black_box;
use std::time::Instant;

use piscale_kernels::{mc, midpoint, Isa, Named, DEFAULT_BLOCK};

fn arg(i: usize, default: f64) -> f64 {
    std::env::args()
        .nth(i)
        .map(|a| a.parse().expect("a number argument"))
        .unwrap_or(default)
}

/// Times `work` `reps` times; returns (best, median) rate in units per ns.
fn rates(units: u64, reps: u32, mut work: impl FnMut() -> u128) -> (f64, f64, u128) {
    let mut out = 0;
    let mut ns: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            out = black_box(work());
            t0.elapsed().as_nanos() as f64
        })
        .collect();
    ns.sort_by(f64::total_cmp);
    let best = units as f64 / ns[0];
    let median = units as f64 / ns[ns.len() / 2];
    (best, median, out)
}

fn main() {
    let n = match arg(1, 28.0) {
        log2 if log2 < 64.0 => 1u64 << log2 as u32,
        n => n as u64,
    };
    let reps = arg(2, 5.0) as u32;
    let blocks = n.div_ceil(DEFAULT_BLOCK);
    println!(
        "{n} samples/steps in blocks of {DEFAULT_BLOCK}, {reps} reps, one core; detected: {}",
        Isa::detect()
    );
    println!(
        "{:<10} {:<7} {:>10} {:>10}  answer",
        "method", "isa", "best/ns", "median/ns"
    );
    let mut reference: [Option<u128>; 2] = [None, None];
    for isa in Isa::all_supported() {
        let (best, median, hits) = rates(n, reps, || {
            (0..blocks)
                .map(|b| {
                    let len = DEFAULT_BLOCK.min(n - b * DEFAULT_BLOCK);
                    mc::block_hits_with(isa, black_box(7), b, len) as u128
                })
                .sum()
        });
        let same = *reference[0].get_or_insert(hits) == hits;
        println!(
            "{:<10} {:<7} {best:>10.3} {median:>10.3}  hits={hits} same={same}",
            "mc",
            isa.name()
        );
        let (best, median, sum) = rates(n, reps, || {
            (0..blocks)
                .map(|b| {
                    let start = b * DEFAULT_BLOCK;
                    let len = DEFAULT_BLOCK.min(n - start);
                    midpoint::block_sum_with(isa, black_box(n), start, len)
                })
                .sum()
        });
        let same = *reference[1].get_or_insert(sum) == sum;
        println!(
            "{:<10} {:<7} {best:>10.3} {median:>10.3}  pi-est={:.17} err={:.1e} same={same}",
            "midpoint",
            isa.name(),
            midpoint::estimate(sum, n),
            midpoint::estimate(sum, n) - std::f64::consts::PI
        );
    }
}
