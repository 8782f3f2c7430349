//! Where the speed-up went: a point's parallel efficiency S/p split into
//! factors that multiply back to it exactly.
//!
//! The factors follow the POP Centre of Excellence's efficiency model
//! (pop-coe.eu, "POP metrics": global efficiency = parallel efficiency ×
//! computation scalability; parallel efficiency = load balance ×
//! communication efficiency), applied to medians of the repetitions, and
//! made to hold on CPUs of uneven speed: load balance compares the longest
//! worker with the time the same work would take if it were spread so that
//! every worker finished together at the rate it computed at — not with
//! the mean busy time, which on uneven CPUs counts an equal split's extra
//! time on the slow CPU as slower computing. The machine's capacity C(p)
//! (`piscale_kernels::capacity`) then takes the machine's share out of
//! computation scalability (heterogeneous speed-up against the CPUs' summed
//! speeds: Sun, Chen & Wu, ICPP 2005).
//!
//! Per repetition, with worker i computing `work_i` in `busy_i`: B̂ = the
//! longest busy time, and the balanced time I = Σ work_i / Σ (work_i /
//! busy_i) (≤ B̂; = the busy time with one worker). With T the median wall
//! time, Ĩ and B̂ the medians of I and B̂, p workers, "1" the kernel's own
//! 1-worker point and k = 1 (strong) or p (weak scaling, where each worker
//! has the 1-worker point's work):
//!
//! - load balance          LB = (Ĩp / B̂p) / (Ĩ1 / B̂1) — the workers waiting
//!   for the last one;
//! - overhead efficiency   OE = (B̂p / Tp) / (B̂1 / T1) — time not computing
//!   (start-up, reduce), relative to the 1-worker run's own;
//! - computation scalability CS = k·Ĩ1 / (p·Ĩp) — the workers' summed rate
//!   over p times one worker's, split into the machine's part C(p)/p and
//!   the code's part CS·p/C(p) (what is left: memory, caches, a kernel
//!   slower beside others than the capacity's is).
//!
//! LB · OE · CS = k·T1 / (p·Tp) = S/p by construction, and so
//! S / C(p) = LB · OE · code: the fraction of what the machine can give that
//! the kernel reached.

/// One repetition's workers, as the breakdown sees them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Workers {
    /// The longest busy time, seconds.
    pub max_busy_s: f64,
    /// The time their work would take spread so that all finish together,
    /// each at the rate it computed at: Σ work / Σ (work / busy), seconds.
    pub balanced_s: f64,
}

impl Workers {
    /// From each worker's busy time and work (in any unit, the same for
    /// all); work unknown (an older file) counts as equal shares. A worker
    /// that did nothing is left out; `None` when no worker computed.
    pub fn of(busy_s: &[f64], work: &[f64]) -> Option<Workers> {
        let equal = vec![1.0; busy_s.len()];
        let work = if work.len() == busy_s.len() {
            work
        } else {
            &equal
        };
        let (mut total, mut rate, mut max_busy) = (0.0, 0.0, 0.0f64);
        for (&busy, &w) in busy_s.iter().zip(work) {
            if w > 0.0 && busy > 0.0 {
                total += w;
                rate += w / busy;
            }
            max_busy = max_busy.max(busy);
        }
        (rate > 0.0).then(|| Workers {
            max_busy_s: max_busy,
            balanced_s: total / rate,
        })
    }
}

/// The medians of a point the breakdown needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Median wall time, seconds.
    pub wall_s: f64,
    /// Median over repetitions of [`Workers::balanced_s`].
    pub balanced_s: f64,
    /// Median over repetitions of the workers' longest busy time, seconds.
    pub max_busy_s: f64,
}

/// A point's efficiency, factor by factor (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Breakdown {
    /// The balanced time over the longest busy time, relative to one
    /// worker's: 1 when every worker finished together.
    pub load_balance: f64,
    /// The share of the wall time the longest worker computed, relative to
    /// the 1-worker run's share.
    pub overhead_efficiency: f64,
    /// The workers' summed rate over p times one worker's.
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
        let positive = |t: &Timing| t.wall_s > 0.0 && t.balanced_s > 0.0 && t.max_busy_s > 0.0;
        if !positive(point) || !positive(baseline) || workers == 0 {
            return None;
        }
        let p = workers as f64;
        let k = if weak { p } else { 1.0 };
        let cs = k * baseline.balanced_s / (p * point.balanced_s);
        Some(Breakdown {
            load_balance: (point.balanced_s / point.max_busy_s)
                / (baseline.balanced_s / baseline.max_busy_s),
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

    fn t(wall_s: f64, balanced_s: f64, max_busy_s: f64) -> Timing {
        Timing {
            wall_s,
            balanced_s,
            max_busy_s,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn the_factors_multiply_to_the_efficiency_exactly() {
        // 1 worker: 2.0 s busy in a 2.1 s run. 4 workers: balanced 0.575 s,
        // longest 0.65 s, in a 0.7 s run.
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
    fn an_equal_split_on_uneven_cpus_is_imbalance_not_slower_computing() {
        // One worker alone: 2 s for 1024 blocks. Two workers, the second
        // CPU at half speed: an equal split takes 1 s and 2 s; spread so
        // that both finish together (at 512 and 256 blocks/s), 4/3 s.
        let equal = Workers::of(&[1.0, 2.0], &[512.0, 512.0]).unwrap();
        assert!(close(equal.balanced_s, 1024.0 / (512.0 + 256.0)));
        assert_eq!(equal.max_busy_s, 2.0);
        // Work stealing gives the fast CPU two thirds: both finish together.
        let stolen = Workers::of(
            &[4.0 / 3.0, 4.0 / 3.0],
            &[682.0 + 2.0 / 3.0, 341.0 + 1.0 / 3.0],
        )
        .unwrap();
        assert!(close(stolen.balanced_s, 4.0 / 3.0));
        let one = t(2.0, 2.0, 2.0);
        let capacity = Some(1.5);
        let statically =
            Breakdown::of(&t(2.0, equal.balanced_s, 2.0), &one, 2, false, capacity).unwrap();
        let dynamically = Breakdown::of(
            &t(4.0 / 3.0, 4.0 / 3.0, 4.0 / 3.0),
            &one,
            2,
            false,
            capacity,
        )
        .unwrap();
        // Both compute at the capacity's rates: the code loses nothing.
        assert!(
            close(statically.capacity.unwrap().code, 1.0),
            "{statically:?}"
        );
        assert!(
            close(dynamically.capacity.unwrap().code, 1.0),
            "{dynamically:?}"
        );
        // The equal split loses a third to imbalance: p·min(r)/Σr = 2/3.
        assert!(close(statically.load_balance, 2.0 / 3.0));
        assert!(close(
            statically.load_balance,
            static_ceiling(&[1.0, 0.5]).unwrap()
        ));
        assert!(close(dynamically.load_balance, 1.0));
        assert!(close(statically.of_capacity().unwrap(), 2.0 / 3.0));
        // Unknown work (an older file) counts as equal shares; idle workers
        // are left out; no computing at all is no figure.
        assert_eq!(Workers::of(&[1.0, 2.0], &[]), Some(equal));
        assert_eq!(
            Workers::of(&[2.0, 0.0], &[4.0, 0.0]).unwrap().balanced_s,
            2.0
        );
        assert_eq!(Workers::of(&[0.0], &[0.0]), None);
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
