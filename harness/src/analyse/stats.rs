//! Pure statistics on slices of timings — the one home of every statistic
//! piscale prints: location and spread, percentile-bootstrap confidence
//! intervals of a median and of a ratio of medians, and the scaling figures
//! (speed-up, efficiency, Karp–Flatt serial fraction).
//!
//! Nothing here knows about rows, files or backends. Functions that are
//! undefined for too few values return `None` rather than a made-up number.

use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

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

/// Bootstrap resamples behind every confidence interval.
pub const CI_RESAMPLES: usize = 2000;
/// Confidence level of every interval.
pub const CI_CONFIDENCE: f64 = 0.95;
/// A point whose coefficient of variation exceeds this is flagged noisy.
pub const NOISY_CV: f64 = 0.05;

/// Percentile-bootstrap confidence interval of the median.
///
/// Draws `resamples` resamples of `samples` with replacement from a
/// xoshiro256++ generator seeded with `seed` (so the interval is the same on
/// every run), takes the median of each, and returns the `(1 − confidence)/2`
/// and `(1 + confidence)/2` quantiles of those medians (linearly
/// interpolated between order statistics).
///
/// With one sample, identical samples or `resamples == 0` the interval is
/// the single point `(median, median)`; with no samples it is `(NaN, NaN)`.
pub fn bootstrap_median_ci(
    samples: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> (f64, f64) {
    let Some(m) = median(samples) else {
        return (f64::NAN, f64::NAN);
    };
    let n = samples.len();
    if n == 1 || resamples == 0 {
        return (m, m);
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut draw = vec![0.0; n];
    let mut medians: Vec<f64> = (0..resamples)
        .map(|_| resampled_median(samples, &mut draw, &mut rng))
        .collect();
    percentile_interval(&mut medians, confidence)
}

/// Percentile-bootstrap interval of median(new) / median(base): each of
/// `resamples` rounds draws both sides with replacement from one
/// xoshiro256++ stream seeded with `seed`. One value on each side gives
/// the single point ratio; no value on either side `(NaN, NaN)`.
pub fn bootstrap_ratio_ci(
    base: &[f64],
    new: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> (f64, f64) {
    let (Some(b), Some(n)) = (median(base), median(new)) else {
        return (f64::NAN, f64::NAN);
    };
    if (base.len() == 1 && new.len() == 1) || resamples == 0 {
        return (n / b, n / b);
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut draw_b = vec![0.0; base.len()];
    let mut draw_n = vec![0.0; new.len()];
    let mut ratios: Vec<f64> = (0..resamples)
        .map(|_| {
            let mb = resampled_median(base, &mut draw_b, &mut rng);
            let mn = resampled_median(new, &mut draw_n, &mut rng);
            mn / mb
        })
        .collect();
    percentile_interval(&mut ratios, confidence)
}

/// The median of one resample of `xs` with replacement, drawn into `draw`
/// (as long as `xs`).
fn resampled_median(xs: &[f64], draw: &mut [f64], rng: &mut Xoshiro256PlusPlus) -> f64 {
    let n = xs.len();
    for d in draw.iter_mut() {
        // Multiply-shift maps a 64-bit draw onto 0..n; the bias is below
        // n / 2^64, far under anything an interval could show.
        let i = ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize;
        *d = xs[i];
    }
    draw.sort_by(f64::total_cmp);
    median_sorted(draw)
}

/// The central `confidence` interval of bootstrap statistics: their
/// `(1 − confidence)/2` and `(1 + confidence)/2` quantiles.
fn percentile_interval(stats: &mut [f64], confidence: f64) -> (f64, f64) {
    stats.sort_by(f64::total_cmp);
    let alpha = (1.0 - confidence.clamp(0.0, 1.0)) / 2.0;
    (
        quantile_sorted(stats, alpha),
        quantile_sorted(stats, 1.0 - alpha),
    )
}

/// The `q` quantile of a sorted, non-empty slice, interpolating linearly
/// between order statistics (Hyndman & Fan type 7, R's and NumPy's default).
fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    if lo == hi || v[lo] == v[hi] {
        v[lo]
    } else {
        v[lo] + (pos - lo as f64) * (v[hi] - v[lo])
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
    fn bootstrap_ci_contains_the_median_and_is_deterministic() {
        let xs = [1.02, 0.98, 1.10, 1.01, 0.99, 1.30, 1.00, 1.03, 0.97];
        let m = median(&xs).unwrap();
        let (lo, hi) = bootstrap_median_ci(&xs, 2000, 0.95, 42);
        assert!(lo <= m && m <= hi, "{lo} {m} {hi}");
        assert!(lo >= 0.97 && hi <= 1.30);
        assert!(lo < hi);
        assert_eq!(bootstrap_median_ci(&xs, 2000, 0.95, 42), (lo, hi));
        // A wider confidence never gives a narrower interval.
        let (lo99, hi99) = bootstrap_median_ci(&xs, 2000, 0.99, 42);
        assert!(lo99 <= lo && hi <= hi99);
    }

    #[test]
    fn bootstrap_ci_of_three_values_spans_the_outer_two() {
        // A resample's median is 1.0 or 1.1 with probability 7/27 each, far
        // above 2.5 %, so both quantiles land exactly on the extremes.
        assert_eq!(
            bootstrap_median_ci(&[1.0, 1.1, 1.05], 2000, 0.95, 1),
            (1.0, 1.1)
        );
    }

    #[test]
    fn ratio_ci_brackets_the_ratio_and_is_deterministic() {
        let base = [1.0, 1.1, 0.9, 1.05, 0.95];
        let new = base.map(|t| 1.5 * t);
        let (lo, hi) = bootstrap_ratio_ci(&base, &new, 2000, 0.95, 3);
        assert!(lo < 1.5 && 1.5 < hi, "{lo} {hi}");
        assert!(lo > 1.0, "a 50 % slow-down stands out of this noise: {lo}");
        assert_eq!(bootstrap_ratio_ci(&base, &new, 2000, 0.95, 3), (lo, hi));
        assert_eq!(
            bootstrap_ratio_ci(&[2.0], &[3.0], 2000, 0.95, 3),
            (1.5, 1.5)
        );
        assert_eq!(quantile_sorted(&[1.0, 2.0, 3.0], 0.25), 1.5);
    }

    #[test]
    fn bootstrap_ci_degenerate_cases_are_points() {
        assert_eq!(
            bootstrap_median_ci(&[2.0, 2.0, 2.0], 2000, 0.95, 7),
            (2.0, 2.0)
        );
        assert_eq!(bootstrap_median_ci(&[3.5], 2000, 0.95, 7), (3.5, 3.5));
        assert_eq!(bootstrap_median_ci(&[1.0, 2.0], 0, 0.95, 7), (1.5, 1.5));
        let (lo, hi) = bootstrap_median_ci(&[], 2000, 0.95, 7);
        assert!(lo.is_nan() && hi.is_nan());
    }
}
