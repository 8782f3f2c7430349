//! Amdahl's law fitted to a strong-scaling speed-up curve.
//!
//! S(p) = 1 / (f + (1 − f)/p). Written as 1/S − 1/p = f·(1 − 1/p) it has
//! one unknown and passes through the origin, so f is fitted by least
//! squares through the origin over the points above one worker. Each
//! equation is first multiplied by S (the weights of [`super`]), which
//! leaves 1 − S/p = f · S(1 − 1/p): one minus the efficiency on the left.

use super::least_squares::{self, Coefficient};
use super::{above_one, check, extrapolated, largest, residual, NoFit, MIN_WORKER_COUNTS};

/// Amdahl's law fitted to a speed-up curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AmdahlFit {
    /// The serial fraction f and its 95 % interval; not clamped.
    pub serial_fraction: Coefficient,
    /// RMS of (measured − predicted) / measured speed-up over the fitted
    /// points: a fraction, not the linearised 1/S.
    pub residual: f64,
    /// The points fitted: those above one worker.
    pub points: usize,
    /// The largest worker count measured.
    pub largest_p: usize,
}

/// The limit 1/f of the speed-up a physical fit predicts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaxSpeedup {
    /// 1/f.
    pub value: f64,
    /// Whether 1/f lies beyond [`super::EXTRAPOLATION_FACTOR`] times the
    /// largest p measured: a guess about machines the sweep never saw.
    pub extrapolated: bool,
}

impl AmdahlFit {
    /// Whether f is a fraction, 0 ≤ f ≤ 1. Below 0 the speed-up is above
    /// what the law allows for any f (noise, or super-linear caching);
    /// above 1 it is below 1 at every p.
    pub fn physical(&self) -> bool {
        (0.0..=1.0).contains(&self.serial_fraction.value)
    }

    /// The speed-up the fitted law predicts at `p` workers.
    pub fn predict(&self, p: f64) -> f64 {
        predict(self.serial_fraction.value, p)
    }

    /// 1/f, for 0 < f ≤ 1 only: f = 0 sets no limit, and an unphysical f
    /// none that means anything.
    pub fn max_speedup(&self) -> Option<MaxSpeedup> {
        let f = self.serial_fraction.value;
        (f > 0.0 && f <= 1.0).then(|| MaxSpeedup {
            value: 1.0 / f,
            extrapolated: extrapolated(1.0 / f, self.largest_p),
        })
    }
}

fn predict(f: f64, p: f64) -> f64 {
    1.0 / (f + (1.0 - f) / p)
}

/// Fits Amdahl's law to `(workers, speed-up)` pairs, under the rule of
/// [`super`]: at least [`MIN_WORKER_COUNTS`] distinct worker counts, p = 1
/// counted.
pub fn amdahl_fit(points: &[(usize, f64)]) -> Result<AmdahlFit, NoFit> {
    check(points, MIN_WORKER_COUNTS)?;
    let linear: Vec<(f64, f64)> = above_one(points)
        .map(|(p, s)| (s * (1.0 - 1.0 / p), 1.0 - s / p))
        .collect();
    let f = least_squares::one(&linear).ok_or(NoFit::Degenerate)?;
    Ok(AmdahlFit {
        serial_fraction: f,
        residual: residual(points, |p| predict(f.value, p)),
        points: linear.len(),
        largest_p: largest(points),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyse::models::tests_support::{noisy, rng};

    fn curve(f: f64, ps: &[usize]) -> Vec<(usize, f64)> {
        ps.iter().map(|&p| (p, predict(f, p as f64))).collect()
    }

    #[test]
    fn recovers_a_known_serial_fraction_exactly() {
        for f in [0.0, 0.01, 0.05, 0.25, 0.9] {
            let fit = amdahl_fit(&curve(f, &[1, 2, 4, 8, 16, 64])).unwrap();
            assert!(
                (fit.serial_fraction.value - f).abs() < 1e-12,
                "{f}: {fit:?}"
            );
            assert!(fit.serial_fraction.half_width < 1e-9, "{fit:?}");
            assert!(fit.residual < 1e-9, "{fit:?}");
            assert_eq!((fit.points, fit.largest_p), (5, 64));
            assert!(fit.physical());
        }
    }

    #[test]
    fn the_interval_covers_the_true_fraction_under_noise() {
        // 3 % multiplicative noise on every speed-up: a 95 % interval
        // should cover the true f about 95 times in 100.
        let mut rng = rng(7);
        let ps = [1, 2, 4, 8, 16, 32, 64, 128];
        let trials = 400;
        let mut covered = 0;
        for _ in 0..trials {
            let points = noisy(&curve(0.02, &ps), 0.03, &mut rng);
            let fit = amdahl_fit(&points).unwrap();
            covered += usize::from(fit.serial_fraction.covers(0.02));
            assert!(fit.residual > 0.0);
        }
        let rate = covered as f64 / trials as f64;
        assert!((0.85..=1.0).contains(&rate), "coverage {rate}");
    }

    #[test]
    fn refuses_fewer_than_three_worker_counts() {
        let two = Err(NoFit::TooFewWorkerCounts { have: 2, need: 3 });
        assert_eq!(amdahl_fit(&[(1, 1.0), (2, 1.6)]), two);
        assert_eq!(amdahl_fit(&[(2, 1.6)]), two);
        assert_eq!(
            amdahl_fit(&[(1, 1.0)]),
            Err(NoFit::TooFewWorkerCounts { have: 1, need: 3 })
        );
        assert_eq!(
            amdahl_fit(&[]),
            Err(NoFit::TooFewWorkerCounts { have: 1, need: 3 })
        );
        assert_eq!(
            amdahl_fit(&[(1, 1.0), (2, 0.0), (4, 2.0)]),
            Err(NoFit::BadSpeedup)
        );
    }

    #[test]
    fn a_super_linear_curve_is_unphysical_not_infinite() {
        // Above p at every p: f < 0, no clamp, no limit.
        let fit = amdahl_fit(&[(1, 1.0), (2, 2.06), (4, 4.2)]).unwrap();
        assert!(fit.serial_fraction.value < 0.0, "{fit:?}");
        assert!(!fit.physical());
        assert_eq!(fit.max_speedup(), None);
        // Slower with more workers: f > 1.
        let fit = amdahl_fit(&[(1, 1.0), (2, 0.9), (4, 0.8)]).unwrap();
        assert!(
            fit.serial_fraction.value > 1.0 && !fit.physical(),
            "{fit:?}"
        );
        assert_eq!(fit.max_speedup(), None);
    }

    #[test]
    fn a_limit_far_beyond_the_sweep_is_marked_as_an_extrapolation() {
        // f = 0.02 measured to p = 4: 1/f = 50 > 4 × 4.
        let fit = amdahl_fit(&curve(0.02, &[1, 2, 4])).unwrap();
        let max = fit.max_speedup().unwrap();
        assert!(
            (max.value - 50.0).abs() < 1e-9 && max.extrapolated,
            "{max:?}"
        );
        // The same law measured to p = 16: 50 ≤ 64, within reach.
        let fit = amdahl_fit(&curve(0.02, &[1, 2, 4, 8, 16])).unwrap();
        assert!(!fit.max_speedup().unwrap().extrapolated);
        // f = 0 sets no limit at all.
        let fit = amdahl_fit(&curve(0.0, &[1, 2, 4])).unwrap();
        assert_eq!(fit.max_speedup(), None);
        assert!(fit.physical());
    }

    #[test]
    fn three_points_give_a_wide_but_honest_interval() {
        // p ∈ {1, 2, 4}: one degree of freedom, t = 12.7.
        let fit = amdahl_fit(&[(1, 1.0), (2, 1.6), (4, 2.5)]).unwrap();
        let f = fit.serial_fraction;
        assert!(f.value > 0.2 && f.value < 0.3, "{fit:?}");
        assert!(f.half_width > 0.0 && f.covers(0.25), "{fit:?}");
        assert_eq!(fit.points, 2);
        assert!((fit.max_speedup().unwrap().value - 1.0 / f.value).abs() < 1e-12);
    }
}
