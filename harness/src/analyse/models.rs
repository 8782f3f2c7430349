//! Scaling models: Amdahl's law fitted to measured speed-ups, the
//! Karp–Flatt metric and Gustafson's scaled speed-up.
//!
//! Amdahl: S(p) = 1 / (f + (1 − f)/p), so 1/S = f + (1 − f)·(1/p) is a
//! straight line in x = 1/p with intercept f and slope 1 − f. Writing it as
//! 1/S − 1/p = f·(1 − 1/p) leaves one unknown, fitted by least squares
//! through the origin: f = Σ y·x' / Σ x'², with y = 1/S − 1/p and x' = 1 − 1/p.

/// Amdahl's law fitted to a speed-up curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AmdahlFit {
    /// The serial fraction f, clamped to [0, 1].
    pub serial_fraction: f64,
    /// The predicted limit of the speed-up, 1/f (infinite when f = 0).
    pub max_speedup: f64,
}

impl AmdahlFit {
    /// The speed-up the fitted law predicts at `p` workers.
    pub fn predict(&self, p: f64) -> f64 {
        1.0 / (self.serial_fraction + (1.0 - self.serial_fraction) / p)
    }
}

/// Fits Amdahl's law to `(workers, speed-up)` pairs. Points at one worker
/// carry no information about f and are ignored; `None` without any other
/// point or with a non-positive speed-up.
pub fn amdahl_fit(points: &[(usize, f64)]) -> Option<AmdahlFit> {
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for &(p, s) in points {
        if p <= 1 {
            continue;
        }
        if s.is_nan() || s <= 0.0 {
            return None;
        }
        let inv_p = 1.0 / p as f64;
        let x = 1.0 - inv_p;
        sxy += (1.0 / s - inv_p) * x;
        sxx += x * x;
    }
    if sxx == 0.0 {
        return None;
    }
    let f = (sxy / sxx).clamp(0.0, 1.0);
    Some(AmdahlFit {
        serial_fraction: f,
        max_speedup: if f > 0.0 { 1.0 / f } else { f64::INFINITY },
    })
}

/// The Karp–Flatt metric lives with the other per-point statistics.
pub use super::stats::karp_flatt;

/// Gustafson's scaled speed-up for a serial fraction `f` (of the parallel
/// run's time) at `p` workers: p − f·(p − 1).
pub fn gustafson(serial_fraction: f64, p: usize) -> f64 {
    p as f64 - serial_fraction * (p as f64 - 1.0)
}

/// The serial fraction implied by a measured scaled speed-up (Gustafson's
/// law solved for f); `None` at one worker.
pub fn gustafson_serial_fraction(scaled_speedup: f64, p: usize) -> Option<f64> {
    (p > 1).then(|| (p as f64 - scaled_speedup) / (p as f64 - 1.0))
}

/// Gustafson's f fitted by least squares to scaled speed-ups:
/// p − S = f·(p − 1), so f = Σ (p − S)(p − 1) / Σ (p − 1)². `None`
/// without a point at p > 1.
pub fn gustafson_fit(points: &[(usize, f64)]) -> Option<f64> {
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for &(p, s) in points.iter().filter(|(p, _)| *p > 1) {
        let x = p as f64 - 1.0;
        sxy += (p as f64 - s) * x;
        sxx += x * x;
    }
    (sxx > 0.0).then(|| sxy / sxx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gustafson_fit_recovers_a_known_fraction() {
        let points: Vec<(usize, f64)> = [1, 2, 4, 8].map(|p| (p, gustafson(0.1, p))).to_vec();
        assert!((gustafson_fit(&points).unwrap() - 0.1).abs() < 1e-12);
        assert_eq!(gustafson_fit(&[(1, 1.0)]), None);
    }

    #[test]
    fn amdahl_fit_recovers_a_known_serial_fraction() {
        for f in [0.0, 0.01, 0.05, 0.25, 0.9] {
            let law = AmdahlFit {
                serial_fraction: f,
                max_speedup: 0.0,
            };
            let points: Vec<_> = [1usize, 2, 4, 8, 16, 64]
                .iter()
                .map(|&p| (p, law.predict(p as f64)))
                .collect();
            let fit = amdahl_fit(&points).unwrap();
            assert!((fit.serial_fraction - f).abs() < 1e-12, "{f}: {fit:?}");
        }
        let fit = amdahl_fit(&[(1, 1.0), (2, 1.6), (4, 2.5)]).unwrap();
        assert!(
            fit.serial_fraction > 0.2 && fit.serial_fraction < 0.3,
            "{fit:?}"
        );
        assert!((fit.max_speedup - 1.0 / fit.serial_fraction).abs() < 1e-12);
    }

    #[test]
    fn amdahl_fit_needs_more_than_one_worker() {
        assert_eq!(amdahl_fit(&[(1, 1.0)]), None);
        assert_eq!(amdahl_fit(&[]), None);
        assert_eq!(amdahl_fit(&[(2, 0.0)]), None);
    }

    #[test]
    fn karp_flatt_and_gustafson_match_their_definitions() {
        assert_eq!(karp_flatt(1.6, 2), Some(0.25));
        assert_eq!(karp_flatt(1.0, 1), None);
        assert_eq!(gustafson(0.1, 10), 9.1);
        assert!((gustafson_serial_fraction(9.1, 10).unwrap() - 0.1).abs() < 1e-12);
    }
}
