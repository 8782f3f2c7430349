//! What a sweep measures, and in which order.
//!
//! [`plan`] expands a validated [`SweepConfig`] into [`Point`]s — one per
//! method × kernel × mode × worker count — and [`schedule`] interleaves their
//! repetitions in a seeded random order, so that slow drift of the machine
//! (heat, other load) spreads over every point instead of biasing the last
//! ones. `serial` at 1 worker is always measured: it is the baseline every
//! speed-up is relative to.

use std::collections::HashSet;

use piscale_kernels::BackendKind;
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::config::{SweepConfig, Workers};
use crate::results::{Kernel, Mode, PointId};

/// One thing to measure `reps` times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    /// What, how, on how many workers, with how much work.
    pub id: PointId,
    /// Work per worker: the config's value in weak mode; in strong mode the
    /// average share, `samples / workers` rounded down.
    pub samples_per_worker: u64,
}

/// The worker counts of a sweep on a machine with `usable` CPUs: for
/// `auto`, 1, 2, 4, … below `usable` and then `usable` itself (6 → 1, 2, 4, 6);
/// an explicit list as given.
pub fn worker_counts(config: &SweepConfig, usable: usize) -> Vec<usize> {
    match &config.workers {
        Workers::Auto => {
            let usable = usable.max(1);
            let mut counts: Vec<usize> = std::iter::successors(Some(1usize), |w| w.checked_mul(2))
                .take_while(|&w| w < usable)
                .collect();
            counts.push(usable);
            counts
        }
        Workers::List(counts) => counts.clone(),
    }
}

/// Every point of the sweep, in a fixed order: by method, then mode, then
/// the `serial` baseline, the capacity (unless `capacity_s = 0`), the
/// backends in config order, the commands; within each, the worker counts
/// in order. `serial` runs only at 1 worker, and at 1 worker it is always
/// included for every method (also a command's) and mode, listed or not.
/// The capacity is planned like a backend — at every worker count, on the
/// same CPUs, interleaved with the rest — so it sees the machine as they do.
pub fn plan(config: &SweepConfig, usable: usize) -> Vec<Point> {
    let counts = worker_counts(config, usable);
    let mut methods = config.methods.clone();
    for c in &config.command {
        if !methods.contains(&c.method) {
            methods.push(c.method);
        }
    }
    let serial = Kernel::local(BackendKind::Serial);
    let mut points = Vec::new();
    let mut seen = HashSet::new();
    let mut add = |id: PointId, samples_per_worker: u64| {
        if seen.insert(id.clone()) {
            points.push(Point {
                id,
                samples_per_worker,
            });
        }
    };
    for &method in &methods {
        for &mode in &config.modes {
            let mut kernels = vec![serial.clone()];
            if config.capacity().is_some() {
                kernels.push(Kernel::Capacity);
            }
            if config.methods.contains(&method) {
                kernels.extend(config.backends.iter().filter(|k| **k != serial).cloned());
            }
            kernels.extend(
                config
                    .command
                    .iter()
                    .filter(|c| c.method == method)
                    .map(|c| Kernel::Command(c.name.clone())),
            );
            for kernel in kernels {
                let counts = if kernel == serial { &[1][..] } else { &counts };
                // A command may set its own N (strong scaling).
                let strong_n = match &kernel {
                    Kernel::Command(name) => config
                        .command
                        .iter()
                        .find(|c| c.name == *name)
                        .map_or(config.samples, |c| c.samples_for(true, config.samples)),
                    _ => config.samples,
                };
                for &workers in counts {
                    let (samples, per_worker) = match mode {
                        Mode::Strong => (strong_n, strong_n / workers as u64),
                        Mode::Weak => (
                            config.samples_per_worker.saturating_mul(workers as u64),
                            config.samples_per_worker,
                        ),
                    };
                    let id = PointId {
                        method,
                        kernel: kernel.clone(),
                        mode,
                        workers,
                        samples,
                    };
                    add(id, per_worker);
                }
            }
        }
    }
    points
}

/// Every (point index, repetition) pair, shuffled (Fisher–Yates with
/// xoshiro256++ seeded from `seed`: the same inputs give the same order).
/// Repetitions are numbered per point in order of appearance, so each
/// point's rep 0 comes before its rep 1, and so on.
pub fn schedule(points: &[Point], reps: u32, seed: u64) -> Vec<(usize, u32)> {
    let mut order: Vec<(usize, u32)> = (0..points.len())
        .flat_map(|p| (0..reps).map(move |r| (p, r)))
        .collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    for i in (1..order.len()).rev() {
        let j = below(&mut rng, i as u64 + 1) as usize;
        order.swap(i, j);
    }
    let mut next = vec![0u32; points.len()];
    for (p, r) in &mut order {
        *r = next[*p];
        next[*p] += 1;
    }
    order
}

/// A uniform integer in `0..n` (n ≥ 1), without modulo bias (Lemire's
/// multiply-and-reject).
fn below(rng: &mut impl Rng, n: u64) -> u64 {
    let threshold = n.wrapping_neg() % n;
    loop {
        let m = u128::from(rng.next_u64()) * u128::from(n);
        if (m as u64) >= threshold {
            return (m >> 64) as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::command::CommandKernel;
    use piscale_kernels::Method;
    use strum::VariantArray;

    fn is_serial(p: &Point) -> bool {
        p.id.kernel == Kernel::local(BackendKind::Serial)
    }

    fn config(workers: Workers) -> SweepConfig {
        SweepConfig {
            workers,
            samples: 1000,
            samples_per_worker: 100,
            capacity_s: 0.0,
            ..SweepConfig::default()
        }
    }

    #[test]
    fn the_capacity_is_planned_like_a_backend_for_every_method_and_mode() {
        let mut c = config(Workers::List(vec![1, 2]));
        c.capacity_s = 0.2;
        c.methods = vec![Method::Midpoint];
        c.backends = vec![Kernel::local(BackendKind::Threads)];
        c.modes = vec![Mode::Strong, Mode::Weak];
        c.command = vec![CommandKernel::new(
            "pi1.py",
            "python3 scripts/pi1.py",
            Method::Mc,
        )];
        let points = plan(&c, 2);
        let capacity: Vec<(Method, Mode, usize)> = points
            .iter()
            .filter(|p| p.id.kernel == Kernel::Capacity)
            .map(|p| (p.id.method, p.id.mode, p.id.workers))
            .collect();
        let mut expected = Vec::new();
        for method in [Method::Midpoint, Method::Mc] {
            for mode in [Mode::Strong, Mode::Weak] {
                expected.extend([(method, mode, 1), (method, mode, 2)]);
            }
        }
        assert_eq!(capacity, expected);
        c.capacity_s = 0.0;
        assert!(plan(&c, 2).iter().all(|p| p.id.kernel != Kernel::Capacity));
    }

    #[test]
    fn auto_workers_are_powers_of_two_then_all_cpus() {
        let c = config(Workers::Auto);
        assert_eq!(worker_counts(&c, 1), [1]);
        assert_eq!(worker_counts(&c, 2), [1, 2]);
        assert_eq!(worker_counts(&c, 6), [1, 2, 4, 6]);
        assert_eq!(worker_counts(&c, 8), [1, 2, 4, 8]);
        assert_eq!(worker_counts(&c, 0), [1]);
        let listed = config(Workers::List(vec![3, 1]));
        assert_eq!(worker_counts(&listed, 64), [3, 1]);
    }

    #[test]
    fn strong_plan_counts_points_and_serial_only_at_one_worker() {
        // 2 methods × (serial + every other backend × 2 worker counts).
        let others = BackendKind::VARIANTS.len() - 1;
        let points = plan(&config(Workers::Auto), 2);
        assert_eq!(points.len(), 2 * (1 + others * 2));
        assert!(points.iter().all(|p| !is_serial(p) || p.id.workers == 1));
        assert!(points
            .iter()
            .all(|p| p.id.samples == 1000 && p.id.mode == Mode::Strong));
        let unique: HashSet<&PointId> = points.iter().map(|p| &p.id).collect();
        assert_eq!(unique.len(), points.len());
    }

    #[test]
    fn serial_baseline_is_always_there() {
        let mut c = config(Workers::List(vec![2, 4]));
        c.backends = vec![Kernel::local(BackendKind::Threads)];
        c.modes = vec![Mode::Strong, Mode::Weak];
        let points = plan(&c, 4);
        for &method in Method::VARIANTS {
            for &mode in Mode::VARIANTS {
                let baselines = points
                    .iter()
                    .filter(|p| {
                        is_serial(p)
                            && p.id.workers == 1
                            && p.id.method == method
                            && p.id.mode == mode
                    })
                    .count();
                assert_eq!(baselines, 1, "{method} {mode}");
            }
        }
        // 2 methods × 2 modes × (serial + threads at 2 and 4).
        assert_eq!(points.len(), 2 * 2 * 3);
    }

    #[test]
    fn weak_mode_scales_the_work_with_the_workers() {
        let mut c = config(Workers::List(vec![1, 3]));
        c.modes = vec![Mode::Weak];
        c.methods = vec![Method::Mc];
        c.backends = vec![Kernel::local(BackendKind::Rayon)];
        let points = plan(&c, 4);
        let summary: Vec<(String, usize, u64, u64)> = points
            .iter()
            .map(|p| {
                (
                    p.id.kernel.name().to_owned(),
                    p.id.workers,
                    p.id.samples,
                    p.samples_per_worker,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("serial".to_owned(), 1, 100, 100),
                ("rayon".to_owned(), 1, 100, 100),
                ("rayon".to_owned(), 3, 300, 100),
            ]
        );
    }

    #[test]
    fn command_kernels_get_every_worker_count_and_mode() {
        let mut c = config(Workers::List(vec![1, 2]));
        c.methods = vec![Method::Midpoint];
        c.backends = vec![Kernel::local(BackendKind::ForkPipe)];
        c.modes = vec![Mode::Strong, Mode::Weak];
        c.command = vec![CommandKernel::new(
            "pi1.py",
            "python3 scripts/pi1.py",
            Method::Mc,
        )];
        let points = plan(&c, 2);
        let commands: Vec<&Point> = points
            .iter()
            .filter(|p| !p.id.kernel.is_builtin())
            .collect();
        assert_eq!(commands.len(), 4);
        assert!(commands
            .iter()
            .all(|p| p.id.kernel.name() == "pi1.py" && p.id.method == Method::Mc));
        // The command's method gets a serial baseline too, but no backends.
        let mc: Vec<&str> = points
            .iter()
            .filter(|p| p.id.method == Method::Mc && p.id.mode == Mode::Strong)
            .map(|p| p.id.kernel.name())
            .collect();
        assert_eq!(mc, ["serial", "pi1.py", "pi1.py"]);
        // midpoint: serial + fork-pipe × 2, per mode.
        assert_eq!(points.len(), 2 * 3 + 2 * 3);
    }

    #[test]
    fn schedule_holds_every_rep_once_in_rep_order() {
        let points = plan(&config(Workers::Auto), 4);
        let order = schedule(&points, 5, 42);
        assert_eq!(order.len(), points.len() * 5);
        let mut next = vec![0u32; points.len()];
        for &(p, r) in &order {
            assert_eq!(r, next[p], "point {p}");
            next[p] += 1;
        }
        assert!(next.iter().all(|&n| n == 5));
    }

    #[test]
    fn schedule_is_deterministic_and_shuffled() {
        let points = plan(&config(Workers::Auto), 4);
        let a = schedule(&points, 3, 7);
        assert_eq!(a, schedule(&points, 3, 7));
        assert_ne!(a, schedule(&points, 3, 8));
        let in_order: Vec<(usize, u32)> = (0..points.len())
            .flat_map(|p| (0..3).map(move |r| (p, r)))
            .collect();
        assert_ne!(a, in_order);
        assert!(schedule(&points, 0, 1).is_empty());
        assert!(schedule(&[], 3, 1).is_empty());
    }

    #[test]
    fn below_is_in_range_and_hits_every_value() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let mut seen = [0u32; 5];
        for _ in 0..1000 {
            seen[below(&mut rng, 5) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 150), "{seen:?}");
        assert_eq!(below(&mut rng, 1), 0);
    }
}
