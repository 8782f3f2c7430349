//! Ordinary least squares without an intercept, with one or two regressors,
//! and the 95 % confidence interval of each coefficient.
//!
//! Every scaling law here is linear in its coefficients once rewritten, and
//! passes through the origin at p = 1 (no speed-up, no loss), so no
//! intercept is fitted. The interval is the textbook one: the coefficient ±
//! Student's t (97.5 % quantile, m − k degrees of freedom for m points and k
//! coefficients) times its standard error, from the residual variance
//! RSS / (m − k). It assumes independent errors of equal variance in the
//! rows it is given: each law scales its rows to make that so (the weights
//! of [`super`]). It also assumes the law is right, which is why every fit
//! reports its residual too.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// A fitted coefficient and its 95 % confidence interval, `value ±
/// half_width` (symmetric: Student's t times the standard error).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coefficient {
    /// The least-squares estimate.
    pub value: f64,
    /// Half the width of the 95 % interval.
    pub half_width: f64,
}

impl Coefficient {
    /// The lower end of the interval.
    pub fn low(&self) -> f64 {
        self.value - self.half_width
    }

    /// The upper end of the interval.
    pub fn high(&self) -> f64 {
        self.value + self.half_width
    }

    /// Whether `x` lies in the interval.
    pub fn covers(&self, x: f64) -> bool {
        self.low() <= x && x <= self.high()
    }
}

/// The 97.5 % quantile of Student's t with `df` degrees of freedom: the
/// multiplier of a standard error for a two-sided 95 % interval. `df ≥ 1`.
fn t975(df: usize) -> f64 {
    // `new` only fails for a non-positive scale or freedom; df ≥ 1 here.
    StudentsT::new(0.0, 1.0, df as f64)
        .map(|t| t.inverse_cdf(0.975))
        .unwrap_or(f64::INFINITY)
}

/// Fits y = b·x by least squares over `(x, y)` pairs: b = Σxy / Σx².
/// `None` with fewer than two pairs (no degree of freedom is left for the
/// interval) or when every x is 0.
pub(super) fn one(points: &[(f64, f64)]) -> Option<Coefficient> {
    let m = points.len();
    let sxx: f64 = points.iter().map(|(x, _)| x * x).sum();
    if m < 2 || sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|(x, y)| x * y).sum();
    let b = sxy / sxx;
    let rss: f64 = points.iter().map(|(x, y)| (y - b * x).powi(2)).sum();
    let df = m - 1;
    let se = (rss / df as f64 / sxx).sqrt();
    Some(Coefficient {
        value: b,
        half_width: t975(df) * se,
    })
}

/// Fits y = b₁·x₁ + b₂·x₂ by least squares over `(x₁, x₂, y)` triples
/// (the 2 × 2 normal equations, solved directly). `None` with fewer than
/// three triples or when the two regressors are (numerically) collinear.
pub(super) fn two(points: &[(f64, f64, f64)]) -> Option<[Coefficient; 2]> {
    let m = points.len();
    if m < 3 {
        return None;
    }
    let (mut s11, mut s12, mut s22, mut s1y, mut s2y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(x1, x2, y) in points {
        s11 += x1 * x1;
        s12 += x1 * x2;
        s22 += x2 * x2;
        s1y += x1 * y;
        s2y += x2 * y;
    }
    let det = s11 * s22 - s12 * s12;
    // Relative to the scale of the regressors: an exactly collinear pair
    // leaves only rounding error here.
    if det.is_nan() || det <= 1e-12 * s11 * s22 {
        return None;
    }
    let b1 = (s22 * s1y - s12 * s2y) / det;
    let b2 = (s11 * s2y - s12 * s1y) / det;
    let rss: f64 = points
        .iter()
        .map(|(x1, x2, y)| (y - b1 * x1 - b2 * x2).powi(2))
        .sum();
    let df = m - 2;
    let variance = rss / df as f64;
    let t = t975(df);
    // The diagonal of variance · (XᵀX)⁻¹.
    let half_width = |s: f64| t * (variance * s / det).sqrt();
    Some([
        Coefficient {
            value: b1,
            half_width: half_width(s22),
        },
        Coefficient {
            value: b2,
            half_width: half_width(s11),
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_the_tables() {
        // Two-sided 95 % critical values of Student's t.
        for (df, t) in [(1, 12.706), (2, 4.303), (3, 3.182), (6, 2.447), (30, 2.042)] {
            assert!((t975(df) - t).abs() < 1e-3, "df {df}: {}", t975(df));
        }
    }

    #[test]
    fn one_regressor_gives_the_textbook_interval() {
        // Near y = 2x: b = Σxy / Σx² = (2.1 + 7.6 + 18) / 14, and the
        // standard error from the residual variance on 2 degrees of freedom.
        let points = [(1.0, 2.1), (2.0, 3.8), (3.0, 6.0)];
        let c = one(&points).unwrap();
        let b = 27.7 / 14.0;
        assert!((c.value - b).abs() < 1e-12);
        let rss: f64 = points.iter().map(|(x, y)| (y - b * x).powi(2)).sum();
        let se = (rss / 2.0 / 14.0).sqrt();
        assert!((c.half_width - 4.302_652_7 * se).abs() < 1e-6, "{c:?}");
        assert!(c.covers(c.value) && !c.covers(c.high() + 1e-9));
        assert_eq!(one(&[(1.0, 2.0)]), None, "no degree of freedom left");
        assert_eq!(one(&[(0.0, 1.0), (0.0, 2.0)]), None);
    }

    #[test]
    fn two_regressors_recover_exact_coefficients() {
        let points: Vec<_> = [1.0, 2.0, 3.0, 5.0]
            .iter()
            .map(|&x: &f64| (x, x * x, 0.3 * x - 0.02 * x * x))
            .collect();
        let [a, b] = two(&points).unwrap();
        assert!((a.value - 0.3).abs() < 1e-12 && (b.value + 0.02).abs() < 1e-12);
        assert!(a.half_width < 1e-9 && b.half_width < 1e-9);
        let collinear = [(1.0, 2.0, 1.0), (2.0, 4.0, 2.0), (3.0, 6.0, 3.0)];
        assert_eq!(two(&collinear), None);
        assert_eq!(two(&points[..2]), None);
    }
}
