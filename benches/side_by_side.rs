//! piscale side by side with C and with the pipes' limit, interleaved: the
//! figures issue #18 asks for, from one run. A VM's speed drifts by tens of
//! percent within minutes, so nothing here is compared across time: every
//! round times every case once, one right after the other, and the ratios
//! are taken within a round.
//!
//! - **Kernels.** Each round runs one 2^22-element block of every case, in
//!   an order rotated every round: piscale's `mc` and `midpoint` kernels on
//!   each ISA path this CPU supports, and the C references
//!   (`c/kernels_ref.c`: mc, midpoint, midpoint with two steps per
//!   division). Right before each case it reads the core's clock (`c/clock.c`,
//!   a chain of dependent adds), so mc's cycles per 8 samples use the clock
//!   of that moment. Prints each case's median rate, its median per-round
//!   ratio to the C reference (quartiles in brackets), and for mc the cycles
//!   per 8 samples against the pipes' limit (docs/performance.md, "Port
//!   limits, measured").
//! - **Start-up.** Each round runs the C program's fork + pipe + write +
//!   `_exit` + read + `waitpid` (`c/fork_baseline.c`) and piscale's run of
//!   trivial work (and a `pool-map` pool's creation, and creation + drop) one
//!   right after the other, in alternating order. Prints the medians and the
//!   median of the per-round ratios with its quartiles.
//!
//! ```text
//! cargo bench -p piscale-benches --bench side_by_side            # 600 rounds
//! cargo bench -p piscale-benches --bench side_by_side -- 2000    # more
//! ```

#[cfg(any(c_baseline, c_kernels))]
use std::time::Instant;

use piscale_kernels::Isa;
#[cfg(all(c_kernels, c_clock))]
use piscale_kernels::{mc, midpoint};
#[cfg(c_baseline)]
use piscale_kernels::{BackendKind, Job, Method, StartMethod, Team};

#[cfg(any(c_baseline, c_kernels))]
#[path = "c_ffi.rs"]
mod c;

/// Microseconds `f` took (what it returns is dropped after the clock
/// stops).
#[cfg(c_baseline)]
fn timed<T>(f: impl FnOnce() -> T) -> f64 {
    let t0 = Instant::now();
    let kept = f();
    let us = t0.elapsed().as_secs_f64() * 1e6;
    drop(kept);
    us
}

/// The `q`-quantile of `v` (sorted in place), by the nearest rank.
#[cfg(any(c_baseline, c_kernels))]
fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(600);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("model name"))?;
            Some(line.split(':').nth(1)?.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    println!("CPU: {model}; ISA paths: {:?}", Isa::all_supported());
    kernels(rounds / 3);
    start_up(rounds);
}

/// The mc kernel's limit on this core's pipes, in cycles per 8 samples:
/// the loop's operations over the pipes that can take them, as measured on
/// Zen 4 by `scripts/port-probe.sh` (four 256-bit pipes for simple
/// operations, shifts on two of them, multiplies on the other two, a
/// 512-bit operation two pipe-cycles). Derived, operation by operation, in
/// docs/performance.md ("Port limits, measured"); other cores have other
/// pipes, so the fraction printed is Zen 4's.
#[cfg(all(c_kernels, c_clock))]
fn mc_limit_cycles_per_8(isa: Isa) -> f64 {
    match isa {
        // 88 xmm operations per 8 samples (14 a draw, 8 a test and count,
        // per two lanes; 36 of them shifts) over 4 pipes.
        Isa::Scalar => 88.0 / 4.0,
        // 42 ymm operations over 4 pipes (12 shifts: 6 cycles on their 2).
        Isa::Avx2 => 42.0 / 4.0,
        // 16 zmm operations, 32 pipe-cycles, over 4 pipes.
        Isa::Avx512 => 32.0 / 4.0,
    }
}

/// Elements per case and round.
#[cfg(all(c_kernels, c_clock))]
const KERNEL_LEN: u64 = 1 << 22;

#[cfg(all(c_kernels, c_clock))]
fn kernels(rounds: usize) {
    let len = KERNEL_LEN;
    struct Case {
        name: String,
        mc_isa: Option<Isa>,
        reference: &'static str,
        run: Box<dyn Fn() -> f64>,
        rate: Vec<f64>,
        cycles_per_8: Vec<f64>,
    }
    let case = |name: String, mc_isa, reference, run: Box<dyn Fn() -> f64>| Case {
        name,
        mc_isa,
        reference,
        run,
        rate: Vec::new(),
        cycles_per_8: Vec::new(),
    };
    let mut cases = Vec::new();
    let want = mc::block_hits_with(Isa::Scalar, 7, 0, len);
    for isa in Isa::all_supported() {
        assert_eq!(mc::block_hits_with(isa, 7, 0, len), want, "{isa}");
        let run = Box::new(move || mc::block_hits_with(isa, 7, 0, len) as f64);
        cases.push(case(format!("mc/{isa}"), Some(isa), "mc/c", run));
    }
    cases.push(case(
        "mc/c".into(),
        None,
        "mc/c",
        Box::new(move || c::mc(7, len) as f64),
    ));
    for isa in Isa::all_supported() {
        let run = Box::new(move || midpoint::block_sum_with(isa, len, 0, len) as f64);
        cases.push(case(format!("midpoint/{isa}"), None, "midpoint/c", run));
    }
    cases.push(case(
        "midpoint/c".into(),
        None,
        "midpoint/c",
        Box::new(move || c::midpoint(len, 0, len)),
    ));
    cases.push(case(
        "midpoint/c-pairs".into(),
        None,
        "midpoint/c",
        Box::new(move || c::midpoint_pairs(len, 0, len)),
    ));
    let mut ghz_all = Vec::new();
    let warm_up = 3;
    for round in 0..rounds + warm_up {
        let n = cases.len();
        for k in 0..n {
            let case = &mut cases[(k + round) % n];
            let ghz = c::clock_ghz(200_000);
            let t0 = Instant::now();
            std::hint::black_box((case.run)());
            let ns = t0.elapsed().as_nanos() as f64;
            if round >= warm_up {
                case.rate.push(len as f64 / ns);
                case.cycles_per_8.push(ns * ghz / (len as f64 / 8.0));
                ghz_all.push(ghz);
            }
        }
    }
    println!(
        "\nkernels: {rounds} rounds of one {len}-element block per case, order rotated every round; \
         clock {:.2} GHz (median of the readings, {:.2}–{:.2} quartiles)",
        quantile(&mut ghz_all, 0.5),
        quantile(&mut ghz_all, 0.25),
        quantile(&mut ghz_all, 0.75)
    );
    println!("(mc's limit: its operations over Zen 4's pipes; docs/performance.md)");
    println!(
        "{:<18} {:>8} {:>22} {:>22} {:>6} {:>19}",
        "case", "per ns", "vs C (q1–q3)", "cycles/8 (q1–q3)", "limit", "of limit (q1–q3)"
    );
    let rates: Vec<(String, Vec<f64>)> = cases
        .iter()
        .map(|c| (c.name.clone(), c.rate.clone()))
        .collect();
    for case in &mut cases {
        let reference = &rates
            .iter()
            .find(|(n, _)| n == case.reference)
            .expect("a C case")
            .1;
        let mut ratio: Vec<f64> = case
            .rate
            .iter()
            .zip(reference)
            .map(|(a, b)| a / b)
            .collect();
        let vs_c = format!(
            "{:.2} ({:.2}–{:.2})",
            quantile(&mut ratio, 0.5),
            quantile(&mut ratio, 0.25),
            quantile(&mut ratio, 0.75)
        );
        let limit = match case.mc_isa {
            Some(isa) => {
                let limit = mc_limit_cycles_per_8(isa);
                let mut of_limit: Vec<f64> = case.cycles_per_8.iter().map(|c| limit / c).collect();
                let c8 = &mut case.cycles_per_8;
                format!(
                    "{:>22} {:>6.1} {:>19}",
                    format!(
                        "{:.2} ({:.2}–{:.2})",
                        quantile(c8, 0.5),
                        quantile(c8, 0.25),
                        quantile(c8, 0.75)
                    ),
                    limit,
                    format!(
                        "{:.0} % ({:.0}–{:.0})",
                        100.0 * quantile(&mut of_limit, 0.5),
                        100.0 * quantile(&mut of_limit, 0.25),
                        100.0 * quantile(&mut of_limit, 0.75)
                    )
                )
            }
            None => String::new(),
        };
        println!(
            "{:<18} {:>8.3} {:>22} {limit}",
            case.name,
            quantile(&mut case.rate, 0.5),
            vs_c
        );
    }
}

#[cfg(not(all(c_kernels, c_clock)))]
fn kernels(_: usize) {
    println!("kernels: no C references or clock probe (no C compiler, or not x86-64)");
}

#[cfg(c_baseline)]
fn start_up(rounds: usize) {
    let job = Job::new(Method::Mc, 128).seed(1).block(64);
    println!("\nstart-up: {rounds} rounds, each: the C baseline and piscale, in alternating order");
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
        let c = || assert_eq!(c::run(workers as i32), 0);
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
fn start_up(_: usize) {
    println!("start-up: no C baseline: no C compiler was found when this bench was built");
}
