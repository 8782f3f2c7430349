//! Where the speed-up went: a point's parallel efficiency S/p split into
//! factors that multiply back to it exactly.
//!
//! The factors follow the POP Centre of Excellence's efficiency model
//! (pop-coe.eu, "POP metrics": global efficiency = parallel efficiency ×
//! computation scalability; parallel efficiency = load balance ×
//! communication efficiency), applied to medians of the repetitions, with
//! the machine's capacity C(p) (`piscale_kernels::capacity`) taking the
//! machine's share out of computation scalability (heterogeneous speed-up
//! against the CPUs' summed speeds: Sun, Chen & Wu, ICPP 2005). With T the
//! median wall time, B̄ the median of the workers' mean busy time, B̂ the
//! median of their longest, p workers, 1 the kernel's own 1-worker point and
//! k = 1 (strong) or p (weak, where each worker has the 1-worker point's work):
//!
//! - load balance          LB = B̄p / B̂p — the workers waiting for the slowest;
//! - overhead efficiency   OE = (B̂p / Tp) / (B̂1 / T1) — time not computing
//!   (start-up, reduce), relative to the 1-worker run's own;
//! - computation scalability CS = k·B̂1 / (p·B̄p) — the same work taking more
//!   busy time in all, split into the machine's part C(p)/p and the code's
//!   part CS·p/C(p) (what is left: memory, caches, a kernel slower beside
//!   others than the capacity's is).
//!
//! LB · OE · CS = k·T1 / (p·Tp) = S/p by construction, and so
//! S / C(p) = LB · OE · code: the fraction of what the machine can give that
//! the kernel reached.

/// The medians of a point the breakdown needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Median wall time, seconds.
    pub wall_s: f64,
    /// Median over repetitions of the workers' mean busy time, seconds.
    pub mean_busy_s: f64,
    /// Median over repetitions of the workers' longest busy time, seconds.
    pub max_busy_s: f64,
}

/// A point's efficiency, factor by factor (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Breakdown {
    /// Mean busy over the longest: 1 when every worker computed as long.
    pub load_balance: f64,
    /// The share of the wall time the longest worker computed, relative to
    /// the 1-worker run's share.
    pub overhead_efficiency: f64,
    /// Busy time at 1 worker over busy time at p, summed over the workers
    /// (scaled by p in weak scaling).
    pub computation_scalability: f64,
    /// C(p)/p and CS·p/C(p), when the machine's capacity is known.
    pub capacity: Option<CapacitySplit>,
}

/// Computation scalability split into the machine's part and the rest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CapacitySplit {
    /// C(p): the speed-up these CPUs can give.
    pub capacity: f64,
    /// C(p)/p: 1 when every CPU computes as fast as the first alone.
    pub machine: f64,
    /// CS·p/C(p): what the code loses beyond the machine.
    pub code: f64,
}

impl Breakdown {
    /// The breakdown of a point at `workers` against its 1-worker point;
    /// `weak` scales the work with the workers. `None` when a time is not
    /// positive.
    pub fn of(
        point: &Timing,
        baseline: &Timing,
        workers: usize,
        weak: bool,
        capacity: Option<f64>,
    ) -> Option<Breakdown> {
        let positive = |t: &Timing| t.wall_s > 0.0 && t.mean_busy_s > 0.0 && t.max_busy_s > 0.0;
        if !positive(point) || !positive(baseline) || workers == 0 {
            return None;
        }
        let p = workers as f64;
        let k = if weak { p } else { 1.0 };
        let cs = k * baseline.max_busy_s / (p * point.mean_busy_s);
        Some(Breakdown {
            load_balance: point.mean_busy_s / point.max_busy_s,
            overhead_efficiency: (point.max_busy_s / point.wall_s)
                / (baseline.max_busy_s / baseline.wall_s),
            computation_scalability: cs,
            capacity: capacity.filter(|c| *c > 0.0).map(|c| CapacitySplit {
                capacity: c,
                machine: c / p,
                code: cs * p / c,
            }),
        })
    }
}

/// What the identity says the factors multiply to (checked by tests; the
/// summary takes S/p and S/C(p) from the times themselves).
#[cfg(test)]
impl Breakdown {
    /// The product of the factors: the parallel efficiency S/p.
    pub fn efficiency(&self) -> f64 {
        self.load_balance * self.overhead_efficiency * self.computation_scalability
    }

    /// S / C(p): the fraction of the machine's capacity the kernel reached.
    pub fn of_capacity(&self) -> Option<f64> {
        self.capacity
            .map(|c| self.load_balance * self.overhead_efficiency * c.code)
    }
}

/// The most of the capacity an equal static split can reach on CPUs of
/// these `rates`: every worker gets the same work, so the run lasts as long
/// as the slowest takes, and the fraction is p·min(r) / Σr. A dynamic
/// schedule (rayon's work stealing, a pool fed chunks) hands the faster
/// CPUs more blocks and can reach 1, less at most one block's time on the
/// slowest CPU. `None` without rates.
pub fn static_ceiling(rates: &[f64]) -> Option<f64> {
    let sum: f64 = rates.iter().sum();
    let min = rates.iter().copied().fold(f64::INFINITY, f64::min);
    (!rates.is_empty() && sum > 0.0).then(|| rates.len() as f64 * min / sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(wall_s: f64, mean_busy_s: f64, max_busy_s: f64) -> Timing {
        Timing {
            wall_s,
            mean_busy_s,
            max_busy_s,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn the_factors_multiply_to_the_efficiency_exactly() {
        // 1 worker: 2.0 s busy in a 2.1 s run. 4 workers: busy 0.5, 0.55,
        // 0.6, 0.65 s (mean 0.575, longest 0.65) in a 0.7 s run.
        let one = t(2.1, 2.0, 2.0);
        let four = t(0.7, 0.575, 0.65);
        let b = Breakdown::of(&four, &one, 4, false, Some(3.6)).unwrap();
        let s = 2.1 / 0.7;
        assert!(close(b.efficiency(), s / 4.0), "{b:?}");
        assert!(close(b.load_balance, 0.575 / 0.65));
        assert!(close(b.overhead_efficiency, (0.65 / 0.7) / (2.0 / 2.1)));
        assert!(close(b.computation_scalability, 2.0 / (4.0 * 0.575)));
        let c = b.capacity.unwrap();
        assert!(close(c.machine * c.code, b.computation_scalability));
        assert!(close(c.machine, 0.9));
        assert!(close(b.of_capacity().unwrap(), s / 3.6));
        // Weak scaling: each worker has the 1-worker point's work.
        let weak = Breakdown::of(&t(2.3, 2.05, 2.2), &one, 4, true, None).unwrap();
        assert!(close(weak.efficiency(), 2.1 / 2.3));
        assert_eq!(weak.capacity, None);
        assert_eq!(weak.of_capacity(), None);
    }

    #[test]
    fn a_point_against_itself_loses_nothing() {
        let one = t(2.1, 2.0, 2.0);
        let b = Breakdown::of(&one, &one, 1, false, Some(1.0)).unwrap();
        assert_eq!(
            (
                b.load_balance,
                b.overhead_efficiency,
                b.computation_scalability
            ),
            (1.0, 1.0, 1.0)
        );
        assert_eq!(b.of_capacity(), Some(1.0));
        assert_eq!(Breakdown::of(&t(0.0, 1.0, 1.0), &one, 2, false, None), None);
    }

    /// Makespan of `blocks` equal blocks of `size` samples on CPUs of
    /// `rates` (samples per second): static contiguous equal shares, or
    /// greedy dynamic (each CPU takes the next block when it is free, as
    /// a work-stealing pool does).
    fn makespan(rates: &[f64], blocks: usize, size: f64, dynamic: bool) -> f64 {
        let p = rates.len();
        if !dynamic {
            return (0..p)
                .map(|w| {
                    let share = (blocks * (w + 1) / p - blocks * w / p) as f64;
                    share * size / rates[w]
                })
                .fold(0.0, f64::max);
        }
        let mut free = vec![0.0f64; p];
        for _ in 0..blocks {
            let (w, _) = free
                .iter()
                .enumerate()
                .map(|(w, f)| (w, f + size / rates[w]))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap();
            free[w] += size / rates[w];
        }
        free.into_iter().fold(0.0, f64::max)
    }

    #[test]
    fn static_shares_reach_the_ceiling_and_dynamic_ones_beat_it_on_uneven_cpus() {
        // The development VM's two vCPUs: one at 0.86 of the other's rate.
        for rates in [
            vec![2.0, 1.72],
            vec![2.0, 2.0, 1.0, 1.0],
            vec![3.0, 3.0, 3.0, 3.0, 1.5, 1.5, 1.5, 1.5],
        ] {
            let (blocks, size) = (1024, 1.0);
            let ideal = blocks as f64 * size / rates.iter().sum::<f64>();
            let of_capacity = |dynamic| ideal / makespan(&rates, blocks, size, dynamic);
            let ceiling = static_ceiling(&rates).unwrap();
            assert!(close(of_capacity(false), ceiling), "{rates:?}");
            assert!(ceiling < 1.0);
            // Dynamic: at most one block's time on the slowest CPU lost.
            let slowest_block = size / rates.iter().copied().fold(f64::INFINITY, f64::min);
            let dynamic = of_capacity(true);
            assert!(dynamic > ceiling, "{rates:?}: {dynamic} vs {ceiling}");
            assert!(dynamic >= ideal / (ideal + slowest_block), "{rates:?}");
        }
        // Alike CPUs: a static split loses nothing.
        assert_eq!(static_ceiling(&[1.5, 1.5]), Some(1.0));
        assert_eq!(static_ceiling(&[]), None);
    }
}
