//! Scaling models fitted to measured speed-ups: Amdahl's law (strong
//! scaling), Gustafson's law (weak scaling), the Universal Scalability Law
//! (strong scaling, with enough worker counts), and the per-point
//! Karp–Flatt metric.
//!
//! Every fit is least squares on the law rewritten to be linear in its
//! coefficients and through the origin (`least_squares`), and comes with
//! each coefficient's 95 % interval, the RMS of its relative speed-up
//! residuals and whether its coefficients are physical. Nothing is clamped:
//! a serial fraction below 0 or above 1 is what the data say, and the
//! caller reports it as unphysical.
//!
//! # Weights
//!
//! Timing noise is relative (a run's spread is a few per cent of its time,
//! whatever the time), so the error of a measured speed-up S is too. The
//! linearised forms stretch that error unevenly — p − S (Gustafson) and
//! p/S − 1 (USL) by S or p/S, so their largest p would dominate; 1/S − 1/p
//! (Amdahl) by 1/S, so its largest p would count for almost nothing — and
//! ordinary least squares on them gives intervals that are too narrow (USL,
//! Gustafson: 65 % and 61 % coverage instead of 95 % in simulation) or too
//! wide (Amdahl: 99.6 %). Each point's equation is therefore scaled by the
//! inverse of that stretch, at the measured S, before the least squares:
//! weighted least squares for a constant relative error, which restores
//! 94–96 % coverage (the tests check it).
//!
//! # When a law is fitted
//!
//! A law is fitted only to a curve with at least [`MIN_WORKER_COUNTS`]
//! distinct worker counts (Amdahl, Gustafson) or [`USL_WORKER_COUNTS`] (the
//! USL), **p = 1 counted whether or not it is among the points given**:
//! every speed-up is measured against the run at one worker, so S(1) = 1 is
//! a point of every curve. Three counts are the fewest that test a
//! one-coefficient law: with p ∈ {1, 2} the "fitted" f is just the
//! Karp–Flatt e at p = 2, it fits exactly, and nothing is left to estimate
//! its error from. The USL's two coefficients get the same margin and more,
//! since its curvature (κ) only shows over a wide range of p.

mod amdahl;
mod gustafson;
mod least_squares;
mod usl;

pub use amdahl::{amdahl_fit, AmdahlFit, MaxSpeedup};
pub use gustafson::{gustafson_fit, gustafson_serial_fraction, GustafsonFit};
pub use least_squares::Coefficient;
pub use usl::{usl_fit, Peak, UslFit};

/// The Karp–Flatt metric lives with the other per-point statistics.
pub use super::stats::karp_flatt;

/// The fewest distinct worker counts (p = 1 included) Amdahl's and
/// Gustafson's laws are fitted to.
pub const MIN_WORKER_COUNTS: usize = 3;

/// The fewest distinct worker counts (p = 1 included) the Universal
/// Scalability Law is fitted to.
pub const USL_WORKER_COUNTS: usize = 6;

/// A predicted figure (a limit, a peak) more than this many times the
/// largest worker count measured is an extrapolation the data cannot vouch
/// for, and is said to be one.
pub const EXTRAPOLATION_FACTOR: usize = 4;

/// Why a law was not fitted to a curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoFit {
    /// Fewer distinct worker counts (p = 1 counted) than the law needs.
    TooFewWorkerCounts {
        /// The distinct worker counts of the curve.
        have: usize,
        /// The fewest the law is fitted to.
        need: usize,
    },
    /// A speed-up that is zero, negative or not finite: no law describes it.
    BadSpeedup,
    /// The points do not determine the coefficients (the USL's two
    /// regressors are collinear); does not happen with distinct counts.
    Degenerate,
}

/// The distinct worker counts of `(workers, speed-up)` points as the rule
/// above counts them: p = 1 always among them. Sorted.
pub fn fit_worker_counts(points: &[(usize, f64)]) -> Vec<usize> {
    let mut counts: Vec<usize> = points.iter().map(|&(p, _)| p).collect();
    counts.push(1);
    counts.sort_unstable();
    counts.dedup();
    counts
}

/// Checks the rule above for `(workers, speed-up)` points and a law that
/// needs `need` worker counts.
fn check(points: &[(usize, f64)], need: usize) -> Result<(), NoFit> {
    let counts = fit_worker_counts(points);
    if counts.len() < need {
        return Err(NoFit::TooFewWorkerCounts {
            have: counts.len(),
            need,
        });
    }
    if points.iter().any(|&(_, s)| !(s.is_finite() && s > 0.0)) {
        return Err(NoFit::BadSpeedup);
    }
    Ok(())
}

/// The points above one worker: the only ones that carry information (at
/// p = 1 every law and every measurement say S = 1).
fn above_one(points: &[(usize, f64)]) -> impl Iterator<Item = (f64, f64)> + '_ {
    points
        .iter()
        .filter(|(p, _)| *p > 1)
        .map(|&(p, s)| (p as f64, s))
}

/// The largest worker count among `points`.
fn largest(points: &[(usize, f64)]) -> usize {
    points.iter().map(|&(p, _)| p).max().unwrap_or(1)
}

/// The RMS of (measured − predicted) / measured speed-up over the points
/// above one worker — relative, like the noise the fit assumes; infinite
/// when the law predicts no finite positive speed-up at one of them (only
/// an unphysical fit can).
fn residual(points: &[(usize, f64)], predict: impl Fn(f64) -> f64) -> f64 {
    let (mut sum, mut n) = (0.0, 0);
    for (p, s) in above_one(points) {
        let predicted = predict(p);
        if !(predicted.is_finite() && predicted > 0.0) {
            return f64::INFINITY;
        }
        sum += ((s - predicted) / s).powi(2);
        n += 1;
    }
    (sum / n.max(1) as f64).sqrt()
}

/// Whether `figure` lies beyond what a sweep up to `largest_p` workers can
/// vouch for.
fn extrapolated(figure: f64, largest_p: usize) -> bool {
    figure > (EXTRAPOLATION_FACTOR * largest_p) as f64
}

/// Noisy synthetic curves for the models' tests.
#[cfg(test)]
mod tests_support {
    use rand_core::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// A seeded source of noise.
    pub(super) fn rng(seed: u64) -> Xoshiro256PlusPlus {
        Xoshiro256PlusPlus::seed_from_u64(seed)
    }

    /// `points` with every speed-up above one worker multiplied by
    /// 1 + `relative`·z, z roughly standard normal (the sum of twelve
    /// uniforms, less 6). S(1) = 1 stays exact, as in a sweep.
    pub(super) fn noisy(
        points: &[(usize, f64)],
        relative: f64,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Vec<(usize, f64)> {
        points
            .iter()
            .map(|&(p, s)| {
                let z: f64 = (0..12)
                    .map(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
                    .sum::<f64>()
                    - 6.0;
                (p, if p > 1 { s * (1.0 + relative * z) } else { s })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_one_counts_whether_given_or_not() {
        let two = NoFit::TooFewWorkerCounts { have: 2, need: 3 };
        assert_eq!(check(&[(1, 1.0), (2, 1.9)], 3), Err(two));
        assert_eq!(check(&[(2, 1.9)], 3), Err(two));
        assert_eq!(check(&[(2, 1.9), (2, 1.8)], 3), Err(two), "distinct");
        assert_eq!(check(&[(2, 1.9), (4, 3.5)], 3), Ok(()));
        assert_eq!(
            check(&[(1, 1.0), (2, 1.9), (4, 0.0)], 3),
            Err(NoFit::BadSpeedup)
        );
        assert_eq!(check(&[(2, 1.9), (4, f64::NAN)], 3), Err(NoFit::BadSpeedup));
    }

    #[test]
    fn extrapolation_starts_past_four_times_the_largest_p() {
        assert!(!extrapolated(8.0, 2));
        assert!(extrapolated(8.5, 2));
        assert!(extrapolated(48.0, 2));
        assert!(!extrapolated(500.0, 128));
    }

    #[test]
    fn karp_flatt_is_the_per_point_serial_fraction() {
        assert_eq!(karp_flatt(1.6, 2), Some(0.25));
        assert_eq!(karp_flatt(1.0, 1), None);
    }
}
