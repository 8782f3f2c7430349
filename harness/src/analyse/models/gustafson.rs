//! Gustafson's law: the scaled speed-up of a weak-scaling curve.
//!
//! With a fraction f of the *parallel* run's time serial, S(p) = p − f·(p − 1).
//! Written as p − S = f·(p − 1) it is a line through the origin in
//! x = p − 1, so f is fitted by least squares through the origin over the
//! points above one worker, each equation first divided by S (the weights
//! of [`super`]): p/S − 1 = f · (p − 1)/S.

use super::least_squares::{self, Coefficient};
use super::{above_one, check, largest, residual, NoFit, MIN_WORKER_COUNTS};

/// Gustafson's law fitted to a scaled speed-up curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GustafsonFit {
    /// The serial fraction f and its 95 % interval; not clamped.
    pub serial_fraction: Coefficient,
    /// RMS of (measured − predicted) / measured scaled speed-up over the
    /// fitted points: a fraction.
    pub residual: f64,
    /// The points fitted: those above one worker.
    pub points: usize,
    /// The largest worker count measured.
    pub largest_p: usize,
}

impl GustafsonFit {
    /// Whether f is a fraction, 0 ≤ f ≤ 1. Above 1 the scaled speed-up is
    /// below 1: p workers did less in the time than one (contention or
    /// oversubscription, not a serial part); below 0 it is above p.
    pub fn physical(&self) -> bool {
        (0.0..=1.0).contains(&self.serial_fraction.value)
    }

    /// The scaled speed-up the fitted law predicts at `p` workers.
    pub fn predict(&self, p: usize) -> f64 {
        gustafson(self.serial_fraction.value, p)
    }
}

/// Gustafson's scaled speed-up for a serial fraction `f` (of the parallel
/// run's time) at `p` workers: p − f·(p − 1).
pub fn gustafson(serial_fraction: f64, p: usize) -> f64 {
    p as f64 - serial_fraction * (p as f64 - 1.0)
}

/// The serial fraction implied by one measured scaled speed-up (Gustafson's
/// law solved for f); `None` at one worker. A per-point figure, like
/// Karp–Flatt's e, so it needs no rule on worker counts.
pub fn gustafson_serial_fraction(scaled_speedup: f64, p: usize) -> Option<f64> {
    (p > 1).then(|| (p as f64 - scaled_speedup) / (p as f64 - 1.0))
}

/// Fits Gustafson's f to `(workers, scaled speed-up)` pairs, under the rule
/// of [`super`]: at least [`MIN_WORKER_COUNTS`] distinct worker counts,
/// p = 1 counted.
pub fn gustafson_fit(points: &[(usize, f64)]) -> Result<GustafsonFit, NoFit> {
    check(points, MIN_WORKER_COUNTS)?;
    let linear: Vec<(f64, f64)> = above_one(points)
        .map(|(p, s)| ((p - 1.0) / s, p / s - 1.0))
        .collect();
    let f = least_squares::one(&linear).ok_or(NoFit::Degenerate)?;
    Ok(GustafsonFit {
        serial_fraction: f,
        residual: residual(points, |p| p - f.value * (p - 1.0)),
        points: linear.len(),
        largest_p: largest(points),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyse::models::tests_support::{noisy, rng};

    fn curve(f: f64, ps: &[usize]) -> Vec<(usize, f64)> {
        ps.iter().map(|&p| (p, gustafson(f, p))).collect()
    }

    #[test]
    fn recovers_a_known_fraction_exactly() {
        let fit = gustafson_fit(&curve(0.1, &[1, 2, 4, 8])).unwrap();
        assert!((fit.serial_fraction.value - 0.1).abs() < 1e-12, "{fit:?}");
        assert!(fit.serial_fraction.half_width < 1e-9 && fit.residual < 1e-9);
        assert!(fit.physical());
        assert!((fit.predict(16) - 14.5).abs() < 1e-9);
    }

    #[test]
    fn the_interval_covers_the_true_fraction_under_noise() {
        let mut rng = rng(11);
        let trials = 400;
        let mut covered = 0;
        for _ in 0..trials {
            let points = noisy(&curve(0.05, &[1, 2, 4, 8, 16, 32]), 0.02, &mut rng);
            let fit = gustafson_fit(&points).unwrap();
            covered += usize::from(fit.serial_fraction.covers(0.05));
        }
        let rate = covered as f64 / trials as f64;
        assert!((0.85..=1.0).contains(&rate), "coverage {rate}");
    }

    #[test]
    fn refuses_two_worker_counts_and_flags_a_fraction_above_one() {
        // The case: p ∈ {1, 2} and a scaled speed-up below 1.
        assert_eq!(
            gustafson_fit(&[(1, 1.0), (2, 0.964)]),
            Err(NoFit::TooFewWorkerCounts { have: 2, need: 3 })
        );
        let fit = gustafson_fit(&[(1, 1.0), (2, 0.96), (4, 0.9)]).unwrap();
        assert!(fit.serial_fraction.value > 1.0, "{fit:?}");
        assert!(!fit.physical());
    }

    #[test]
    fn one_point_implies_its_own_fraction() {
        assert_eq!(gustafson(0.1, 10), 9.1);
        assert!((gustafson_serial_fraction(9.1, 10).unwrap() - 0.1).abs() < 1e-12);
        assert_eq!(gustafson_serial_fraction(1.0, 1), None);
    }
}
