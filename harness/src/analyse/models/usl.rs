//! Gunther's Universal Scalability Law, fitted to a strong-scaling curve.
//!
//! X(N) = λN / (1 + σ(N − 1) + κN(N − 1)): σ is contention (the part that
//! waits in line, Amdahl's f), κ coherency (every pair of workers paying to
//! agree, which makes the curve turn down past a peak — retrograde scaling,
//! which Amdahl's law cannot show). Normalised so that S(1) = 1 (λ is the
//! one-worker rate, so S = X(N)/X(1)), it becomes
//!
//! p/S − 1 = σ·(p − 1) + κ·p(p − 1),
//!
//! linear in (σ, κ): least squares with two regressors and no intercept,
//! over the points above one worker. Capacity planners fit it this way
//! (Gunther, *Guerrilla Capacity Planning*, ch. 5); here each equation is
//! first multiplied by S/p (the weights of [`super`]), which leaves
//! 1 − S/p = σ · S(p − 1)/p + κ · S(p − 1).

use super::least_squares::{self, Coefficient};
use super::{above_one, check, extrapolated, largest, residual, NoFit, USL_WORKER_COUNTS};

/// The Universal Scalability Law fitted to a speed-up curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UslFit {
    /// Contention σ and its 95 % interval.
    pub sigma: Coefficient,
    /// Coherency κ and its 95 % interval.
    pub kappa: Coefficient,
    /// RMS of (measured − predicted) / measured speed-up over the fitted
    /// points: a fraction.
    pub residual: f64,
    /// The points fitted: those above one worker.
    pub points: usize,
    /// The largest worker count measured.
    pub largest_p: usize,
}

/// Where a fitted USL curve peaks: past N*, adding workers slows the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    /// N* = √((1 − σ)/κ), in workers (not rounded).
    pub workers: f64,
    /// The speed-up the law predicts there.
    pub speedup: f64,
    /// Whether N* lies beyond [`super::EXTRAPOLATION_FACTOR`] times the
    /// largest p measured.
    pub extrapolated: bool,
}

impl UslFit {
    /// Whether 0 ≤ σ ≤ 1 and κ ≥ 0. A negative σ or κ means the curve bends
    /// upwards (super-linear, or noise the law reads as such); σ above 1 a
    /// speed-up below 1 before any coherency cost.
    pub fn physical(&self) -> bool {
        self.sigma_physical() && self.kappa_physical()
    }

    /// Whether 0 ≤ σ ≤ 1.
    pub fn sigma_physical(&self) -> bool {
        (0.0..=1.0).contains(&self.sigma.value)
    }

    /// Whether κ ≥ 0.
    pub fn kappa_physical(&self) -> bool {
        self.kappa.value >= 0.0
    }

    /// The speed-up the fitted law predicts at `p` workers.
    pub fn predict(&self, p: f64) -> f64 {
        predict(self.sigma.value, self.kappa.value, p)
    }

    /// The peak of a physical fit with κ > 0; `None` otherwise (κ = 0 is
    /// Amdahl's law, which rises for ever).
    pub fn peak(&self) -> Option<Peak> {
        let (sigma, kappa) = (self.sigma.value, self.kappa.value);
        (self.physical() && kappa > 0.0).then(|| {
            let workers = ((1.0 - sigma) / kappa).sqrt();
            Peak {
                workers,
                speedup: self.predict(workers),
                extrapolated: extrapolated(workers, self.largest_p),
            }
        })
    }
}

fn predict(sigma: f64, kappa: f64, p: f64) -> f64 {
    p / (1.0 + sigma * (p - 1.0) + kappa * p * (p - 1.0))
}

/// Fits the USL to `(workers, speed-up)` pairs, under the rule of
/// [`super`]: at least [`USL_WORKER_COUNTS`] distinct worker counts, p = 1
/// counted.
pub fn usl_fit(points: &[(usize, f64)]) -> Result<UslFit, NoFit> {
    check(points, USL_WORKER_COUNTS)?;
    let linear: Vec<(f64, f64, f64)> = above_one(points)
        .map(|(p, s)| (s * (p - 1.0) / p, s * (p - 1.0), 1.0 - s / p))
        .collect();
    let [sigma, kappa] = least_squares::two(&linear).ok_or(NoFit::Degenerate)?;
    Ok(UslFit {
        sigma,
        kappa,
        residual: residual(points, |p| predict(sigma.value, kappa.value, p)),
        points: linear.len(),
        largest_p: largest(points),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyse::models::tests_support::{noisy, rng};

    const SWEEP: [usize; 8] = [1, 2, 4, 8, 16, 32, 64, 128];

    fn curve(sigma: f64, kappa: f64, ps: &[usize]) -> Vec<(usize, f64)> {
        ps.iter()
            .map(|&p| (p, predict(sigma, kappa, p as f64)))
            .collect()
    }

    #[test]
    fn recovers_known_coefficients_exactly() {
        for (sigma, kappa) in [(0.05, 0.0), (0.02, 2e-4), (0.3, 0.01), (0.0, 1e-5)] {
            let fit = usl_fit(&curve(sigma, kappa, &SWEEP)).unwrap();
            assert!((fit.sigma.value - sigma).abs() < 1e-9, "{fit:?}");
            assert!((fit.kappa.value - kappa).abs() < 1e-12, "{fit:?}");
            assert!(fit.residual < 1e-9 && fit.sigma.half_width < 1e-6);
            assert_eq!((fit.points, fit.largest_p), (7, 128));
        }
    }

    #[test]
    fn finds_the_peak_of_a_retrograde_128_core_curve() {
        // σ = 0.02, κ = 2·10⁻⁴: N* = √(0.98 / 2·10⁻⁴) = 70 workers, and the
        // speed-up falls from there to p = 128.
        let (sigma, kappa) = (0.02, 2e-4);
        let truth = (0.98f64 / 2e-4).sqrt();
        let exact = usl_fit(&curve(sigma, kappa, &SWEEP)).unwrap();
        let peak = exact.peak().unwrap();
        assert!((peak.workers - truth).abs() < 1e-6, "{peak:?}");
        assert!((peak.speedup - predict(sigma, kappa, truth)).abs() < 1e-9);
        assert!(!peak.extrapolated);
        // Under 2 % noise, the peak stays near 70 and the intervals cover
        // the truth (most of the time: checked over many seeds).
        let mut rng = rng(3);
        let trials = 400;
        let (mut sigma_in, mut kappa_in) = (0, 0);
        for _ in 0..trials {
            let fit = usl_fit(&noisy(&curve(sigma, kappa, &SWEEP), 0.02, &mut rng)).unwrap();
            let peak = fit.peak().unwrap();
            assert!((peak.workers / truth - 1.0).abs() < 0.2, "{fit:?}");
            sigma_in += usize::from(fit.sigma.covers(sigma));
            kappa_in += usize::from(fit.kappa.covers(kappa));
        }
        for covered in [sigma_in, kappa_in] {
            let rate = covered as f64 / trials as f64;
            assert!((0.85..=1.0).contains(&rate), "coverage {rate}");
        }
    }

    #[test]
    fn amdahl_curves_have_no_peak() {
        let fit = usl_fit(&curve(0.05, 0.0, &SWEEP)).unwrap();
        assert!(fit.physical());
        assert_eq!(fit.peak(), None);
    }

    #[test]
    fn a_peak_far_past_the_sweep_is_an_extrapolation() {
        // N* = √(0.99 / 10⁻⁶) ≈ 995 from a sweep to 32 workers.
        let fit = usl_fit(&curve(0.01, 1e-6, &[1, 2, 4, 8, 16, 32])).unwrap();
        let peak = fit.peak().unwrap();
        assert!(
            (peak.workers - 995.0).abs() < 1.0 && peak.extrapolated,
            "{peak:?}"
        );
    }

    #[test]
    fn negative_coefficients_are_unphysical() {
        // Super-linear: S = 1.05·p above one worker puts p/S − 1 below 0
        // while both regressors are positive, so a coefficient must be.
        let points: Vec<_> = SWEEP
            .iter()
            .map(|&p| (p, if p > 1 { 1.05 * p as f64 } else { 1.0 }))
            .collect();
        let fit = usl_fit(&points).unwrap();
        assert!(fit.sigma.value.min(fit.kappa.value) < 0.0, "{fit:?}");
        assert!(!fit.physical());
        assert_eq!(fit.peak(), None);
        let fit = usl_fit(&curve(0.1, -1e-4, &SWEEP[..6])).unwrap();
        assert!(fit.kappa.value < 0.0 && !fit.physical(), "{fit:?}");
    }

    #[test]
    fn needs_six_worker_counts() {
        assert_eq!(
            usl_fit(&curve(0.02, 2e-4, &[1, 2, 4, 8, 16])),
            Err(NoFit::TooFewWorkerCounts { have: 5, need: 6 })
        );
        assert!(usl_fit(&curve(0.02, 2e-4, &[2, 4, 8, 16, 32])).is_ok());
    }
}
