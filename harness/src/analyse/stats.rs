//! Pure statistics on slices of timings — the one home of every statistic
//! piscale prints: location and spread, distribution-free confidence
//! intervals of a median and of a ratio of medians (a speed-up, `compare`'s
//! new/base), with their actual coverage, and the scaling figures
//! (speed-up, efficiency, Karp–Flatt serial fraction).
//!
//! Nothing here knows about rows, files or backends. Functions that are
//! undefined for too few values return `None` rather than a made-up number.

/// Sorted copy; NaNs (which no timing should produce) sort last.
fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// Median of an already sorted, non-empty slice.
fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The median (mean of the two middle values for an even count); `None` if empty.
pub fn median(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| median_sorted(&sorted(xs)))
}

/// The smallest value; `None` if empty.
pub fn min(xs: &[f64]) -> Option<f64> {
    xs.iter().copied().min_by(f64::total_cmp)
}

/// The largest value; `None` if empty.
pub fn max(xs: &[f64]) -> Option<f64> {
    xs.iter().copied().max_by(f64::total_cmp)
}

/// The arithmetic mean; `None` if empty.
pub fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// The sample standard deviation (divisor n − 1); `None` for fewer than two values.
pub fn std_dev(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs)?;
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    Some((ss / (xs.len() - 1) as f64).sqrt())
}

/// Coefficient of variation, sample standard deviation over mean; `None`
/// for fewer than two values or a zero mean.
pub fn cv(xs: &[f64]) -> Option<f64> {
    let m = mean(xs)?;
    let s = std_dev(xs)?;
    (m != 0.0).then(|| s / m)
}

/// The confidence every interval aims at (see [`MedianInterval`] for what
/// a small sample can reach instead).
pub const CI_CONFIDENCE: f64 = 0.95;
/// A point whose coefficient of variation exceeds this is flagged noisy.
pub const NOISY_CV: f64 = 0.05;

/// A distribution-free confidence interval of a median: two order
/// statistics of the sample, and the probability that they enclose the
/// true median.
///
/// For a sample of n independent draws from any continuous distribution,
/// the number B of draws below the true median is Binomial(n, ½), so the
/// interval from the k-th smallest to the k-th largest value covers the
/// median with probability P(k ≤ B ≤ n − k) = 1 − 2·P(B ≤ k − 1), exactly,
/// whatever the distribution (skewed, bimodal, heavy-tailed: timings on a
/// shared VM are all three). That coverage steps with n instead of being
/// 95 % for every n: 3 repetitions give at best 75 % (the minimum and the
/// maximum), 5 give 93.75 %, 6 are the fewest that reach 95 %. piscale
/// reports the coverage it has rather than a nominal one it has not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MedianInterval {
    /// The k-th smallest value.
    pub low: f64,
    /// The k-th largest value.
    pub high: f64,
    /// The probability that `[low, high]` holds the true median.
    pub coverage: f64,
}

/// The narrowest symmetric order-statistic interval of the median whose
/// coverage reaches `confidence`; with too few values for that, the widest
/// one (minimum to maximum) with the coverage it has. `None` when empty.
pub fn median_interval(xs: &[f64], confidence: f64) -> Option<MedianInterval> {
    if xs.is_empty() {
        return None;
    }
    let v = sorted(xs);
    let n = v.len();
    // k (1-based) from the outside in: coverage falls as k grows.
    let mut k = 1;
    while k < n.div_ceil(2) && order_coverage(n, k + 1) >= confidence {
        k += 1;
    }
    Some(MedianInterval {
        low: v[k - 1],
        high: v[n - k],
        coverage: order_coverage(n, k),
    })
}

/// P(k ≤ B ≤ n − k) for B ~ Binomial(n, ½): the coverage of the interval
/// from the k-th smallest to the k-th largest of n values (k ≥ 1).
pub fn order_coverage(n: usize, k: usize) -> f64 {
    if k == 0 || 2 * k > n + 1 {
        return 0.0;
    }
    // P(B ≤ k − 1), summing C(n, i)/2^n in log space so that no term
    // underflows for thousands of repetitions.
    let mut log_term = -(n as f64) * std::f64::consts::LN_2;
    let mut tail = 0.0;
    for i in 0..k {
        tail += log_term.exp();
        log_term += ((n - i) as f64).ln() - ((i + 1) as f64).ln();
    }
    (1.0 - 2.0 * tail).max(0.0)
}

/// The fewest repetitions whose median interval reaches `confidence`
/// (6 for 95 %: 1 − 2·2⁻⁶ = 96.9 %).
pub fn reps_for(confidence: f64) -> usize {
    (1..=64)
        .find(|&n| order_coverage(n, 1) >= confidence)
        .unwrap_or(64)
}

/// An interval of a ratio of medians `scale · a / b` (a speed-up: the
/// baseline's time over the point's) from the two medians' intervals: the
/// smallest and largest ratio of their ends. When both intervals hold
/// their medians, the ratio holds its own; the samples are independent, so
/// that happens with probability at least the product of the coverages.
pub fn ratio_interval(a: &MedianInterval, b: &MedianInterval, scale: f64) -> MedianInterval {
    MedianInterval {
        low: scale * a.low / b.high,
        high: scale * a.high / b.low,
        coverage: a.coverage * b.coverage,
    }
}

/// Speed-up `t1 / tp` of a run taking `tp` over a baseline taking `t1`.
pub fn speedup(t1: f64, tp: f64) -> f64 {
    t1 / tp
}

/// Parallel efficiency, speed-up per worker.
pub fn efficiency(speedup: f64, p: usize) -> f64 {
    speedup / p as f64
}

/// Karp–Flatt experimentally determined serial fraction,
/// e = (1/S − 1/p) / (1 − 1/p). `None` for `p <= 1`, where it is undefined.
///
/// A serial fraction that grows with `p` points at overhead (spawning,
/// communication, imbalance); a constant one at inherently serial work.
pub fn karp_flatt(speedup: f64, p: usize) -> Option<f64> {
    if p <= 1 {
        return None;
    }
    let p = p as f64;
    Some((1.0 / speedup - 1.0 / p) / (1.0 - 1.0 / p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn min_max_mean_of_a_slice() {
        let xs = [2.0, -1.0, 5.0, 2.0];
        assert_eq!(min(&xs), Some(-1.0));
        assert_eq!(max(&xs), Some(5.0));
        assert_eq!(mean(&xs), Some(2.0));
        assert_eq!((min(&[]), max(&[]), mean(&[])), (None, None, None));
    }

    #[test]
    fn sample_std_dev_and_cv() {
        // Deviations from the mean 5: -3, -1, -1, -1, 0, 0, 2, 4 → Σd² = 32, /7.
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let s = std_dev(&xs).unwrap();
        assert!(close(s, (32.0f64 / 7.0).sqrt()), "{s}");
        assert!(close(cv(&xs).unwrap(), s / 5.0));
        assert_eq!(std_dev(&[1.0]), None);
        assert_eq!(cv(&[1.0]), None);
        assert_eq!(cv(&[0.0, 0.0]), None);
        assert_eq!(std_dev(&[3.0, 3.0, 3.0]), Some(0.0));
    }

    #[test]
    fn scaling_figures() {
        assert_eq!(speedup(2.0, 1.0), 2.0);
        assert_eq!(efficiency(1.5, 2), 0.75);
        assert!(close(karp_flatt(1.6, 2).unwrap(), 0.25));
        // Perfect speed-up has no serial fraction; none at all has all of it.
        assert!(close(karp_flatt(4.0, 4).unwrap(), 0.0));
        assert!(close(karp_flatt(1.0, 4).unwrap(), 1.0));
        assert_eq!(karp_flatt(1.0, 1), None);
        assert_eq!(karp_flatt(1.0, 0), None);
    }

    #[test]
    fn median_intervals_are_order_statistics_with_exact_coverage() {
        let three = median_interval(&[1.1, 1.0, 1.05], 0.95).unwrap();
        assert_eq!((three.low, three.high, three.coverage), (1.0, 1.1, 0.75));
        let five = median_interval(&[5.0, 1.0, 4.0, 2.0, 3.0], 0.95).unwrap();
        assert_eq!((five.low, five.high, five.coverage), (1.0, 5.0, 0.9375));
        // Ten values: x(2)..x(9), 1 − 2·11/1024; x(3)..x(8) would be 89 %.
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        let i = median_interval(&ten, 0.95).unwrap();
        assert_eq!((i.low, i.high), (2.0, 9.0));
        assert!(close(i.coverage, 1.0 - 22.0 / 1024.0));
        assert!(close(order_coverage(10, 3), 1.0 - 112.0 / 1024.0));
        let one = median_interval(&[2.0], 0.95).unwrap();
        assert_eq!((one.low, one.high, one.coverage), (2.0, 2.0, 0.0));
        assert_eq!(median_interval(&[], 0.95), None);
        assert_eq!(reps_for(0.95), 6);
        assert_eq!(reps_for(0.75), 3);
        // Thousands of values: no term underflows, the interval narrows.
        let many: Vec<f64> = (0..5000).map(f64::from).collect();
        let i = median_interval(&many, 0.95).unwrap();
        assert!(i.coverage >= 0.95 && i.coverage < 0.96, "{i:?}");
        assert!(i.high - i.low < 150.0, "{i:?}");
    }

    #[test]
    fn a_speedup_interval_holds_both_medians_intervals() {
        let t1 = MedianInterval {
            low: 1.9,
            high: 2.1,
            coverage: 0.75,
        };
        let tp = MedianInterval {
            low: 0.95,
            high: 1.05,
            coverage: 0.75,
        };
        let s = ratio_interval(&t1, &tp, 1.0);
        assert!(close(s.low, 1.9 / 1.05) && close(s.high, 2.1 / 0.95));
        assert_eq!(s.coverage, 0.5625);
        assert!(close(ratio_interval(&t1, &tp, 4.0).high, 4.0 * 2.1 / 0.95));
    }

    /// Draws from a distribution with a known median.
    struct Known {
        name: &'static str,
        median: f64,
        draw: fn(&mut Xoshiro256PlusPlus) -> f64,
    }

    fn uniform(rng: &mut Xoshiro256PlusPlus) -> f64 {
        (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
        // Box–Muller; 1 − u keeps the logarithm finite.
        let (u, v) = (1.0 - uniform(rng), uniform(rng));
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Timing-like shapes: symmetric, right-skewed, and two modes (a run
    /// that sometimes lands on a slow vCPU).
    const KNOWN: [Known; 3] = [
        Known {
            name: "normal(1, 0.05)",
            median: 1.0,
            draw: |rng| 1.0 + 0.05 * normal(rng),
        },
        Known {
            name: "lognormal(0, 0.5)",
            median: 1.0,
            draw: |rng| (0.5 * normal(rng)).exp(),
        },
        Known {
            // 70 % on U(1.0, 1.1), 30 % on U(1.5, 2.0): F(m) = 7(m − 1) = ½.
            name: "bimodal",
            median: 1.0 + 0.5 / 7.0,
            draw: |rng| {
                if uniform(rng) < 0.7 {
                    1.0 + 0.1 * uniform(rng)
                } else {
                    1.5 + 0.5 * uniform(rng)
                }
            },
        },
    ];

    /// 10 000 simulated points per repetition count and distribution: the
    /// interval holds the true median as often as its stated coverage says
    /// (within 1.5 points; the binomial standard error is under 0.5).
    #[test]
    fn median_interval_coverage_holds_in_simulation() {
        const SWEEPS: usize = 10_000;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2026);
        for n in [3, 5, 6, 10, 20] {
            for known in &KNOWN {
                let mut covered = 0;
                let mut stated = 0.0;
                for _ in 0..SWEEPS {
                    let xs: Vec<f64> = (0..n).map(|_| (known.draw)(&mut rng)).collect();
                    let i = median_interval(&xs, CI_CONFIDENCE).unwrap();
                    stated = i.coverage;
                    covered += usize::from(i.low <= known.median && known.median <= i.high);
                }
                let seen = covered as f64 / SWEEPS as f64;
                eprintln!(
                    "n = {n:2}, {:17}: stated {:.2} %, simulated {:.2} %",
                    known.name,
                    100.0 * stated,
                    100.0 * seen
                );
                assert!(
                    (seen - stated).abs() < 0.015,
                    "n = {n}, {}: {seen} vs {stated}",
                    known.name
                );
            }
        }
    }

    /// A speed-up's interval holds the true ratio of medians at least as
    /// often as the product of the two coverages.
    #[test]
    fn speedup_interval_coverage_holds_in_simulation() {
        const SWEEPS: usize = 10_000;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        for n in [3, 5, 7] {
            let known = &KNOWN[1];
            let mut covered = 0;
            let mut stated = 0.0;
            for _ in 0..SWEEPS {
                // The baseline twice as slow as the point: true speed-up 2.
                let t1: Vec<f64> = (0..n).map(|_| 2.0 * (known.draw)(&mut rng)).collect();
                let tp: Vec<f64> = (0..n).map(|_| (known.draw)(&mut rng)).collect();
                let s = ratio_interval(
                    &median_interval(&t1, CI_CONFIDENCE).unwrap(),
                    &median_interval(&tp, CI_CONFIDENCE).unwrap(),
                    1.0,
                );
                stated = s.coverage;
                covered += usize::from(s.low <= 2.0 && 2.0 <= s.high);
            }
            let seen = covered as f64 / SWEEPS as f64;
            eprintln!(
                "speed-up, n = {n}: stated at least {:.2} %, simulated {:.2} %",
                100.0 * stated,
                100.0 * seen
            );
            assert!(seen >= stated - 0.01, "n = {n}: {seen} vs {stated}");
        }
    }
}
