//! Process start-up beside the C baseline, interleaved: each round runs the
//! C program's fork + pipe + write + `_exit` + read + `waitpid`
//! (`benches/c/fork_baseline.c`) and piscale's run of trivial work (and a
//! `pool-map` pool's creation + drop) one right after the other, in
//! alternating order, so that both see the same phase of a VM whose speed
//! drifts by tens of percent within minutes (criterion's groups run one
//! after the other and do not). Prints the medians and the median of the
//! per-round ratios with its quartiles.
//!
//! ```text
//! cargo bench -p piscale-benches --bench start_vs_c            # 600 rounds
//! cargo bench -p piscale-benches --bench start_vs_c -- 2000    # more
//! ```

use std::time::Instant;

use piscale_kernels::{BackendKind, Job, Method, StartMethod, Team};

#[cfg(c_baseline)]
extern "C" {
    fn piscale_fork_baseline(workers: std::ffi::c_int) -> std::ffi::c_int;
}

/// Microseconds `f` took (what it returns is dropped after the clock
/// stops).
fn timed<T>(f: impl FnOnce() -> T) -> f64 {
    let t0 = Instant::now();
    let kept = f();
    let us = t0.elapsed().as_secs_f64() * 1e6;
    drop(kept);
    us
}

/// The `q`-quantile of `v` (sorted in place), by the nearest rank.
fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

#[cfg(c_baseline)]
fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(600);
    let job = Job::new(Method::Mc, 128).seed(1).block(64);
    println!("{rounds} rounds, each: the C baseline and piscale, in alternating order");
    println!(
        "{:<34} {:>8} {:>11} {:>20}",
        "what", "C µs", "piscale µs", "ratio (q1–q3)"
    );
    for workers in [1, 2] {
        let team = Team::unpinned(workers)
            .expect("a team")
            .with_start(StartMethod::Fork);
        let mut fork_pipe = BackendKind::ForkPipe
            .create(team.clone())
            .expect("fork-pipe");
        fork_pipe.run(&job).expect("a trivial run");
        let c = || {
            // SAFETY: the C function takes an int and touches only its own
            // stack and descriptors; its children `_exit` without returning.
            assert_eq!(unsafe { piscale_fork_baseline(workers as i32) }, 0);
        };
        // A pool's start-up is its creation: its workers forked and ready;
        // its drop (stopping and reaping them) comes after the clock.
        type Case<'a> = Box<dyn FnMut() -> Option<Box<dyn piscale_kernels::Backend>> + 'a>;
        let cases: [(&str, Case); 3] = [
            (
                "fork-pipe run",
                Box::new(|| {
                    fork_pipe.run(&job).expect("a trivial run");
                    None
                }),
            ),
            (
                "pool-map creation",
                Box::new(|| Some(BackendKind::PoolMap.create(team.clone()).expect("a pool"))),
            ),
            (
                "pool-map creation + drop",
                Box::new(|| {
                    drop(BackendKind::PoolMap.create(team.clone()).expect("a pool"));
                    None
                }),
            ),
        ];
        for (what, mut piscale) in cases {
            let (mut tc, mut tp, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
            for round in 0..rounds + 20 {
                let (a, b) = if round % 2 == 0 {
                    let a = timed(c);
                    (a, timed(&mut piscale))
                } else {
                    let b = timed(&mut piscale);
                    (timed(c), b)
                };
                // The first rounds warm up caches and the page allocator.
                if round >= 20 {
                    tc.push(a);
                    tp.push(b);
                    ratio.push(b / a);
                }
            }
            println!(
                "{:<34} {:>8.0} {:>11.0} {:>9.2} ({:.2}–{:.2})",
                format!(
                    "{what}, {workers} worker{}",
                    if workers == 1 { "" } else { "s" }
                ),
                quantile(&mut tc, 0.5),
                quantile(&mut tp, 0.5),
                quantile(&mut ratio, 0.5),
                quantile(&mut ratio, 0.25),
                quantile(&mut ratio, 0.75),
            );
        }
    }
}

#[cfg(not(c_baseline))]
fn main() {
    println!("no C baseline: no C compiler was found when this bench was built");
}
