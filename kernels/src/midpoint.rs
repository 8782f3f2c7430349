//! The midpoint rule for pi = ∫₀¹ 4/(1+x²) dx with `N` steps:
//! pi ≈ h · Σ f((i + ½)·h), h = 1/N.
//!
//! # Exact, order-free combination
//! A block's partial sum is a float in [2·len, 4·len]; its ulp is at least
//! 2^-51, so it converts *exactly* to a fixed-point integer with 64 fractional
//! bits ([`to_fixed`]). Partials are then added as `u128` integers, which is
//! associative: any split of the blocks over any number of workers, in any
//! order, gives the bit-identical total. Only the final conversion rounds.
//!
//! Within a block, [`LANES`] interleaved accumulators are combined in a fixed
//! tree, so vector code of any width can reproduce the scalar sum.

/// Number of interleaved accumulators within a block.
pub const LANES: usize = 8;

/// Scale of the fixed-point partials: 2^64.
const FIXED_ONE: f64 = 18_446_744_073_709_551_616.0;

/// The integrand 4/(1+x²).
#[inline(always)]
pub fn integrand(x: f64) -> f64 {
    4.0 / (1.0 + x * x)
}

/// Σ f((i+½)h) for i in `start..start+len`, h = 1/`steps`, as 64.64 fixed point.
///
/// Allocation-free and panic-free: safe to call in a forked child.
pub fn block_sum(steps: u64, start: u64, len: u64) -> u128 {
    let h = 1.0 / steps as f64;
    let mut acc = [0.0f64; LANES];
    // Step indices are counted in floating point (exact below 2^53) so that
    // the loop needs no integer-to-float conversion.
    let mut t = [0.0f64; LANES];
    for (lane, ti) in t.iter_mut().enumerate() {
        *ti = (start + lane as u64) as f64 + 0.5;
    }
    let rounds = len / LANES as u64;
    for _ in 0..rounds {
        for lane in 0..LANES {
            acc[lane] += integrand(t[lane] * h);
            t[lane] += LANES as f64;
        }
    }
    let tail = (len % LANES as u64) as usize;
    for lane in 0..tail {
        acc[lane] += integrand(t[lane] * h);
    }
    to_fixed(combine(&acc))
}

/// The fixed summation tree of the lane accumulators.
#[inline]
pub fn combine(acc: &[f64; LANES]) -> f64 {
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// A non-negative partial sum as 64.64 fixed point (exact for sums ≥ 2^-11).
#[inline]
pub fn to_fixed(sum: f64) -> u128 {
    (sum * FIXED_ONE) as u128
}

/// The estimate h·Σ from the fixed-point total.
pub fn estimate(total: u128, steps: u64) -> f64 {
    (total as f64 / FIXED_ONE) / steps as f64
}

/// The midpoint rule's error bound, h²/24 · max|f''| = 1/(3N²).
pub fn error_bound(steps: u64) -> f64 {
    let n = steps as f64;
    1.0 / (3.0 * n * n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    #[test]
    fn fixed_point_conversion_is_exact() {
        for sum in [2.0, PI, 4.0 * 1_048_576.0 - 1e-7, 123_456.789] {
            assert_eq!(to_fixed(sum) as f64 / FIXED_ONE, sum);
        }
    }

    #[test]
    fn blocks_add_up_whatever_the_split() {
        let steps = 10_000u64;
        let whole = block_sum(steps, 0, steps);
        let split: u128 = [0u64, 1, 1000, 4321, 9999]
            .windows(2)
            .map(|w| block_sum(steps, w[0], w[1] - w[0]))
            .sum::<u128>()
            + block_sum(steps, 9999, 1);
        // Different groupings differ only by rounding inside each block.
        let diff = (estimate(whole, steps) - estimate(split, steps)).abs();
        assert!(diff < 1e-14, "{diff}");
    }

    #[test]
    fn converges_to_pi() {
        let steps = 1u64 << 20;
        let est = estimate(block_sum(steps, 0, steps), steps);
        assert!((est - PI).abs() <= error_bound(steps) + 1e-15, "{est}");
    }
}
