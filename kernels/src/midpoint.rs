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
//! tree, so vector code of any width can reproduce the scalar sum:
//! [`block_sum_with`] takes the path (portable Rust, AVX2 or AVX-512F) and
//! gives the bit-identical partial on every one; [`block_sum`] runs on the
//! widest this CPU supports.

use crate::isa::Isa;

/// Number of interleaved accumulators within a block.
pub const LANES: usize = 8;

/// Steps per round of the block loop: each lane takes two, which share one
/// division ([`pair`]).
pub const ROUND: usize = 2 * LANES;

/// Scale of the fixed-point partials: 2^64.
const FIXED_ONE: f64 = 18_446_744_073_709_551_616.0;

/// The integrand 4/(1+x²).
#[inline(always)]
pub fn integrand(x: f64) -> f64 {
    4.0 / (1.0 + x * x)
}

/// A quarter of the integrand at two midpoints, with one division:
/// f(x₁)/4 + f(x₂)/4 = 1/b₁ + 1/b₂ = (b₁ + b₂)/(b₁·b₂), where x = t·h and
/// b = 1 + x² ∈ [1, 2], so nothing overflows and the quotient is rounded
/// once (about 3 roundings per pair where the two divisions had 2; see
/// "The midpoint kernel" in `docs/performance.md`). The factor 4 is applied
/// to a block's whole sum, which is exact: a power of two.
#[inline(always)]
pub fn pair(t1: f64, t2: f64, h: f64) -> f64 {
    let (x1, x2) = (t1 * h, t2 * h);
    let (b1, b2) = (1.0 + x1 * x1, 1.0 + x2 * x2);
    (b1 + b2) / (b1 * b2)
}

/// Σ f((i+½)h) for i in `start..start+len`, h = 1/`steps`, as 64.64 fixed
/// point, on the widest path this CPU supports ([`Isa::detect`]).
///
/// Allocation-free and panic-free: safe to call in a forked child.
#[inline]
pub fn block_sum(steps: u64, start: u64, len: u64) -> u128 {
    block_sum_with(Isa::detect(), steps, start, len)
}

/// [`block_sum`] on the `isa` path.
///
/// Round `r` of a block gives lane `l` its steps `16r + l` and `16r + 8 + l`
/// ([`pair`]); the last `len % 16` steps go one by one to lanes 0, 1, …
/// Every path evaluates the same IEEE operations on the same [`LANES`]
/// accumulators (no fused multiply-add, exact divisions) and combines them
/// in the same tree, so the result is bit-identical on every path. An ISA
/// this CPU lacks runs the widest supported narrower path instead.
///
/// Allocation-free and panic-free: safe to call in a forked child.
pub fn block_sum_with(isa: Isa, steps: u64, start: u64, len: u64) -> u128 {
    let h = 1.0 / steps as f64;
    let mut acc = [0.0f64; LANES];
    // Step indices are counted in floating point (exact below 2^53) so that
    // the loop needs no integer-to-float conversion: `t[l]` is lane `l`'s
    // first step of the round, its second is `t[l] + 8`.
    let mut t = [0.0f64; LANES];
    for (lane, ti) in t.iter_mut().enumerate() {
        *ti = (start + lane as u64) as f64 + 0.5;
    }
    let rounds = len / ROUND as u64;
    match isa.usable() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `usable` returns Avx512 only when the CPU reports AVX-512F
        // and AVX2, the features `rounds_avx512` is compiled for.
        Isa::Avx512 => unsafe { x86::rounds_avx512(h, rounds, &mut t, &mut acc) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `usable` returns Avx2 only when the CPU reports AVX2.
        Isa::Avx2 => unsafe { x86::rounds_avx2(h, rounds, &mut t, &mut acc) },
        _ => rounds_scalar(h, rounds, &mut t, &mut acc),
    }
    // The tail, one step at a time: 1/b is a quarter of f, as in `pair`.
    let first = (start + rounds * ROUND as u64) as f64 + 0.5;
    for k in 0..(len % ROUND as u64) as usize {
        let x = (first + k as f64) * h;
        acc[k % LANES] += 1.0 / (1.0 + x * x);
    }
    to_fixed(4.0 * combine(&acc))
}

/// `rounds` rounds of the block loop: lane `l` adds [`pair`]`(t[l], t[l] +
/// 8)` to `acc[l]`, then steps `t[l]` by [`ROUND`].
#[inline]
fn rounds_scalar(h: f64, rounds: u64, t: &mut [f64; LANES], acc: &mut [f64; LANES]) {
    for _ in 0..rounds {
        for lane in 0..LANES {
            acc[lane] += pair(t[lane], t[lane] + LANES as f64, h);
            t[lane] += ROUND as f64;
        }
    }
}

/// [`rounds_scalar`] with AVX2 and AVX-512F vectors: the same operations in
/// the same order on each lane.
#[cfg(target_arch = "x86_64")]
// Safe `#[target_feature]` functions need Rust 1.86 and the AVX-512
// intrinsics 1.89: this module is what sets the crate's minimum Rust.
#[clippy::msrv = "1.89"]
mod x86 {
    use core::arch::x86_64::*;

    use super::{LANES, ROUND};

    /// Four lanes as a vector.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn load4(v: &[f64]) -> __m256d {
        let mut q = [0.0f64; 4];
        for (qi, vi) in q.iter_mut().zip(v) {
            *qi = *vi;
        }
        _mm256_setr_pd(q[0], q[1], q[2], q[3])
    }

    /// A vector's four lanes into `out`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn store4(v: __m256d, out: &mut [f64]) {
        let lo = _mm256_castpd256_pd128(v);
        let hi = _mm256_extractf128_pd::<1>(v);
        let words = [
            _mm_cvtsd_f64(lo),
            _mm_cvtsd_f64(_mm_unpackhi_pd(lo, lo)),
            _mm_cvtsd_f64(hi),
            _mm_cvtsd_f64(_mm_unpackhi_pd(hi, hi)),
        ];
        for (o, w) in out.iter_mut().zip(words) {
            *o = w;
        }
    }

    /// [`super::pair`] on four lanes, rounded after each operation as the
    /// scalar one is (no FMA: it would round once fewer).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn pair_avx2(t1: __m256d, h: __m256d) -> __m256d {
        let t2 = _mm256_add_pd(t1, _mm256_set1_pd(LANES as f64));
        let (x1, x2) = (_mm256_mul_pd(t1, h), _mm256_mul_pd(t2, h));
        let one = _mm256_set1_pd(1.0);
        let b1 = _mm256_add_pd(one, _mm256_mul_pd(x1, x1));
        let b2 = _mm256_add_pd(one, _mm256_mul_pd(x2, x2));
        _mm256_div_pd(_mm256_add_pd(b1, b2), _mm256_mul_pd(b1, b2))
    }

    /// [`super::rounds_scalar`] with lanes 0–3 and 4–7 in two vectors.
    #[target_feature(enable = "avx2")]
    pub(super) fn rounds_avx2(h: f64, rounds: u64, t: &mut [f64; LANES], acc: &mut [f64; LANES]) {
        let hv = _mm256_set1_pd(h);
        let step = _mm256_set1_pd(ROUND as f64);
        let (mut t_lo, mut t_hi) = (load4(&t[..4]), load4(&t[4..]));
        let (mut a_lo, mut a_hi) = (load4(&acc[..4]), load4(&acc[4..]));
        for _ in 0..rounds {
            a_lo = _mm256_add_pd(a_lo, pair_avx2(t_lo, hv));
            a_hi = _mm256_add_pd(a_hi, pair_avx2(t_hi, hv));
            t_lo = _mm256_add_pd(t_lo, step);
            t_hi = _mm256_add_pd(t_hi, step);
        }
        store4(t_lo, &mut t[..4]);
        store4(t_hi, &mut t[4..]);
        store4(a_lo, &mut acc[..4]);
        store4(a_hi, &mut acc[4..]);
    }

    /// [`super::rounds_scalar`] with all eight lanes in one vector.
    #[target_feature(enable = "avx512f")]
    pub(super) fn rounds_avx512(h: f64, rounds: u64, t: &mut [f64; LANES], acc: &mut [f64; LANES]) {
        let load =
            |v: &[f64; LANES]| _mm512_setr_pd(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
        let hv = _mm512_set1_pd(h);
        let one = _mm512_set1_pd(1.0);
        let half = _mm512_set1_pd(LANES as f64);
        let step = _mm512_set1_pd(ROUND as f64);
        let (mut tv, mut av) = (load(t), load(acc));
        for _ in 0..rounds {
            let t2 = _mm512_add_pd(tv, half);
            let (x1, x2) = (_mm512_mul_pd(tv, hv), _mm512_mul_pd(t2, hv));
            let b1 = _mm512_add_pd(one, _mm512_mul_pd(x1, x1));
            let b2 = _mm512_add_pd(one, _mm512_mul_pd(x2, x2));
            let q = _mm512_div_pd(_mm512_add_pd(b1, b2), _mm512_mul_pd(b1, b2));
            av = _mm512_add_pd(av, q);
            tv = _mm512_add_pd(tv, step);
        }
        let store = |v: __m512d, out: &mut [f64; LANES]| {
            store4(_mm512_castpd512_pd256(v), &mut out[..4]);
            store4(_mm512_extractf64x4_pd::<1>(v), &mut out[4..]);
        };
        store(tv, t);
        store(av, acc);
    }
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
    fn pairs_and_the_tail_add_up_to_the_plain_sum_on_every_path() {
        let steps = 1000u64;
        let h = 1.0 / steps as f64;
        for len in 0..=40u64 {
            let start = 7;
            let plain: f64 = (start..start + len)
                .map(|i| integrand((i as f64 + 0.5) * h))
                .sum();
            let scalar = block_sum_with(Isa::Scalar, steps, start, len);
            let got = scalar as f64 / FIXED_ONE;
            assert!(
                (got - plain).abs() <= 1e-14 * plain.max(1.0),
                "{len}: {got} vs {plain}"
            );
            for isa in Isa::all_supported() {
                assert_eq!(
                    block_sum_with(isa, steps, start, len),
                    scalar,
                    "{isa} {len}"
                );
            }
        }
    }

    #[test]
    fn converges_to_pi() {
        let steps = 1u64 << 20;
        let est = estimate(block_sum(steps, 0, steps), steps);
        assert!((est - PI).abs() <= error_bound(steps) + 1e-15, "{est}");
    }
}
