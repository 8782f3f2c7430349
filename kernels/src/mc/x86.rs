//! The x86-64 lane loops, written with intrinsics: one 64-bit vector lane
//! per sample lane (AVX2, AVX-512), and the scalar path's SSE2 hit test.

use core::arch::x86_64::*;

use super::{jump, Lanes, LANES};

/// `v` rotated left by `L` bits (`R` = 64 − `L`), with shifts: SSE2 has no
/// rotate.
#[inline]
#[target_feature(enable = "sse2")]
fn rotl_sse2<const L: i32, const R: i32>(v: __m128i) -> __m128i {
    _mm_or_si128(_mm_slli_epi64::<L>(v), _mm_srli_epi64::<R>(v))
}

/// One xoshiro256++ step of two lanes; returns their draws.
#[inline]
#[target_feature(enable = "sse2")]
fn next_sse2(s: &mut [__m128i; 4]) -> __m128i {
    let [s0, s1, s2, s3] = *s;
    let r = _mm_add_epi64(rotl_sse2::<23, 41>(_mm_add_epi64(s0, s3)), s0);
    let t = _mm_slli_epi64::<17>(s1);
    let s2 = _mm_xor_si128(s2, s0);
    let s3 = _mm_xor_si128(s3, s1);
    let s1 = _mm_xor_si128(s1, s2);
    let s0 = _mm_xor_si128(s0, s3);
    let s2 = _mm_xor_si128(s2, t);
    let s3 = rotl_sse2::<45, 19>(s3);
    *s = [s0, s1, s2, s3];
    r
}

/// `misses` plus one in every lane of `r` whose draw misses. SSE2 has no
/// 64-bit compare, so the test is on halves: x² + y² ≥ 2^64 exactly when
/// ⌊x²/2⌋ + ⌊y²/2⌋ ≥ 2^63, i.e. when that sum (which cannot carry) has its
/// top bit set. (Halving floors away at most one in all unless both
/// squares are odd; then both are 1 mod 8, so x² + y² is 2 mod 8 and is
/// never 2^64 or 2^64 + 1, where the floor would matter.) From the squares
/// to the count that is five operations, where the carry from the top bits
/// of x², y² and their sum took seven.
#[inline]
#[target_feature(enable = "sse2")]
fn count_misses_sse2(r: __m128i, misses: __m128i) -> __m128i {
    let x = _mm_srli_epi64::<32>(r);
    // `mul_epu32` multiplies the low 32 bits of each lane: x² and y².
    let xx = _mm_mul_epu32(x, x);
    let yy = _mm_mul_epu32(r, r);
    let half_sum = _mm_add_epi64(_mm_srli_epi64::<1>(xx), _mm_srli_epi64::<1>(yy));
    _mm_add_epi64(misses, _mm_srli_epi64::<63>(half_sum))
}

/// The scalar path on x86-64: SSE2, part of every x86-64 CPU. Two lanes in
/// each 128-bit vector; lanes 0-3 as two independent vectors for all their
/// draws, then lanes 4-7 (eight lanes at once would not fit the sixteen
/// registers). The hits are a sum, so the order does not change them.
#[target_feature(enable = "sse2")]
pub(super) fn lanes_hits_sse2(mut lanes: Lanes, len: u64) -> u64 {
    let rounds = len / LANES as u64;
    let mut misses = _mm_setzero_si128();
    for first in [0, 4] {
        let pair =
            |w: &[u64; LANES], lane: usize| _mm_set_epi64x(w[lane + 1] as i64, w[lane] as i64);
        let load = |lane: usize| lanes.s.each_ref().map(|w| pair(w, lane));
        let mut chains = [load(first), load(first + 2)];
        // A count per chain: one shared count would tie the chains together.
        let mut miss = [_mm_setzero_si128(); 2];
        one_round_behind(
            rounds,
            &mut chains,
            |s| next_sse2(s),
            |i, r| {
                miss[i] = count_misses_sse2(r, miss[i]);
            },
        );
        misses = _mm_add_epi64(misses, _mm_add_epi64(miss[0], miss[1]));
        for (chain, lane) in chains.into_iter().zip([first, first + 2]) {
            for (word, v) in lanes.s.iter_mut().zip(chain) {
                word[lane] = _mm_cvtsi128_si64(v) as u64;
                word[lane + 1] = _mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v)) as u64;
            }
        }
    }
    let high = _mm_unpackhi_epi64(misses, misses);
    let misses = _mm_cvtsi128_si64(misses) as u64 + _mm_cvtsi128_si64(high) as u64;
    lanes.hits_after_rounds(len, misses)
}

/// `rounds` rounds of the `N` independent lane sets `states`, each
/// round testing a set's previous draws right after drawing its next
/// (draw set 0, test its last round, draw set 1, …): the test's long
/// chain (shift, multiply, compare) then overlaps the next draw instead
/// of ending the round (docs/performance.md, "Port limits, measured":
/// AVX2 11.4 cycles a round against 11.7, AVX-512 9.5 against 10.3).
/// `test(i, r)` counts set `i`'s draws `r`.
#[inline(always)]
fn one_round_behind<S, R: Copy, const N: usize>(
    rounds: u64,
    states: &mut [S; N],
    draw: impl Fn(&mut S) -> R,
    mut test: impl FnMut(usize, R),
) {
    if rounds == 0 {
        return;
    }
    let mut drawn: [R; N] = core::array::from_fn(|i| draw(&mut states[i]));
    for _ in 1..rounds {
        for i in 0..N {
            let next = draw(&mut states[i]);
            test(i, drawn[i]);
            drawn[i] = next;
        }
    }
    for (i, &r) in drawn.iter().enumerate() {
        test(i, r);
    }
}

/// `v` rotated left by `L` bits (`R` = 64 − `L`), with shifts: AVX2 has no
/// 64-bit rotate.
#[inline]
#[target_feature(enable = "avx2")]
fn rotl_avx2<const L: i32, const R: i32>(v: __m256i) -> __m256i {
    _mm256_or_si256(_mm256_slli_epi64::<L>(v), _mm256_srli_epi64::<R>(v))
}

/// One xoshiro256++ step of four lanes; returns their draws.
#[inline]
#[target_feature(enable = "avx2")]
fn next_avx2(s: &mut [__m256i; 4]) -> __m256i {
    let [s0, s1, s2, s3] = *s;
    let r = _mm256_add_epi64(rotl_avx2::<23, 41>(_mm256_add_epi64(s0, s3)), s0);
    let t = _mm256_slli_epi64::<17>(s1);
    let s2 = _mm256_xor_si256(s2, s0);
    let s3 = _mm256_xor_si256(s3, s1);
    let s1 = _mm256_xor_si256(s1, s2);
    let s0 = _mm256_xor_si256(s0, s3);
    let s2 = _mm256_xor_si256(s2, t);
    let s3 = rotl_avx2::<45, 19>(s3);
    *s = [s0, s1, s2, s3];
    r
}

/// All-ones in the lanes of `r` whose draw misses: x² + y² carries out of
/// 64 bits. AVX2 compares only signed 64-bit integers, so `x²` is biased
/// by 2^63 (`a`); then `a + y²` is the biased sum, and the sum carried iff
/// it is below `x²`, i.e. iff `a > a + y²` as signed integers.
#[inline]
#[target_feature(enable = "avx2")]
fn misses_avx2(r: __m256i) -> __m256i {
    let x = _mm256_srli_epi64::<32>(r);
    // `mul_epu32` multiplies the low 32 bits of each lane: x² and y².
    let xx = _mm256_mul_epu32(x, x);
    let yy = _mm256_mul_epu32(r, r);
    let a = _mm256_xor_si256(xx, _mm256_set1_epi64x(i64::MIN));
    _mm256_cmpgt_epi64(a, _mm256_add_epi64(a, yy))
}

/// The AVX2 lane loop: eight lanes in two vectors per state word.
#[target_feature(enable = "avx2")]
pub(super) fn lanes_hits_avx2(mut lanes: Lanes, len: u64) -> u64 {
    let rounds = len / LANES as u64;
    let load = |w: &[u64; LANES], half: usize| {
        let q = [
            w[4 * half],
            w[4 * half + 1],
            w[4 * half + 2],
            w[4 * half + 3],
        ];
        _mm256_setr_epi64x(q[0] as i64, q[1] as i64, q[2] as i64, q[3] as i64)
    };
    let [w0, w1, w2, w3] = &lanes.s;
    // Lanes 0-3 and 4-7: two independent sets.
    let mut halves = [
        [load(w0, 0), load(w1, 0), load(w2, 0), load(w3, 0)],
        [load(w0, 1), load(w1, 1), load(w2, 1), load(w3, 1)],
    ];
    // Per-lane miss counters, decremented by the all-ones compare masks.
    let mut miss = [_mm256_setzero_si256(); 2];
    one_round_behind(
        rounds,
        &mut halves,
        |s| next_avx2(s),
        |i, r| {
            miss[i] = _mm256_sub_epi64(miss[i], misses_avx2(r));
        },
    );
    let [lo, hi] = halves;
    let misses = sum_avx2(_mm256_add_epi64(miss[0], miss[1]));
    for (word, (l, h)) in lanes.s.iter_mut().zip(lo.into_iter().zip(hi)) {
        store_avx2(l, &mut word[..4]);
        store_avx2(h, &mut word[4..]);
    }
    lanes.hits_after_rounds(len, misses)
}

/// The four 64-bit lanes of `v` into `out` (four words).
#[inline]
#[target_feature(enable = "avx2")]
fn store_avx2(v: __m256i, out: &mut [u64]) {
    let words = [
        _mm256_extract_epi64::<0>(v),
        _mm256_extract_epi64::<1>(v),
        _mm256_extract_epi64::<2>(v),
        _mm256_extract_epi64::<3>(v),
    ];
    for (o, w) in out.iter_mut().zip(words) {
        *o = w as u64;
    }
}

/// The sum of the four 64-bit lanes of `v`.
#[inline]
#[target_feature(enable = "avx2")]
fn sum_avx2(v: __m256i) -> u64 {
    let mut words = [0u64; 4];
    store_avx2(v, &mut words);
    words.iter().fold(0u64, |a, &w| a.wrapping_add(w))
}

/// The eight lanes' state words, one vector each.
#[inline]
#[target_feature(enable = "avx512f")]
fn load_avx512(lanes: &Lanes) -> [__m512i; 4] {
    lanes.s.map(|w| {
        _mm512_setr_epi64(
            w[0] as i64,
            w[1] as i64,
            w[2] as i64,
            w[3] as i64,
            w[4] as i64,
            w[5] as i64,
            w[6] as i64,
            w[7] as i64,
        )
    })
}

/// The vectors of [`load_avx512`] back into `lanes`.
#[inline]
#[target_feature(enable = "avx512f")]
fn store_avx512(s: [__m512i; 4], lanes: &mut Lanes) {
    for (word, v) in lanes.s.iter_mut().zip(s) {
        // The two 256-bit halves, each as four words.
        let halves = [_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64::<1>(v)];
        for (half, out) in halves.into_iter().zip(word.chunks_exact_mut(4)) {
            store_avx2(half, out);
        }
    }
}

/// One xoshiro256++ step of eight lanes; returns their draws.
#[inline]
#[target_feature(enable = "avx512f")]
fn next_avx512(s: &mut [__m512i; 4]) -> __m512i {
    let [s0, s1, s2, s3] = *s;
    let r = _mm512_add_epi64(_mm512_rol_epi64::<23>(_mm512_add_epi64(s0, s3)), s0);
    let t = _mm512_slli_epi64::<17>(s1);
    let s2 = _mm512_xor_si512(s2, s0);
    let s3 = _mm512_xor_si512(s3, s1);
    let s1 = _mm512_xor_si512(s1, s2);
    let s0 = _mm512_xor_si512(s0, s3);
    let s2 = _mm512_xor_si512(s2, t);
    let s3 = _mm512_rol_epi64::<45>(s3);
    *s = [s0, s1, s2, s3];
    r
}

/// `misses` plus one in every lane of `r` whose draw misses: a carry out
/// of x² + y² (the sum below x²), compared unsigned into a mask.
#[inline]
#[target_feature(enable = "avx512f")]
fn count_misses_avx512(r: __m512i, misses: __m512i) -> __m512i {
    let x = _mm512_srli_epi64::<32>(r);
    let xx = _mm512_mul_epu32(x, x);
    let yy = _mm512_mul_epu32(r, r);
    let carry = _mm512_cmplt_epu64_mask(_mm512_add_epi64(xx, yy), xx);
    _mm512_mask_add_epi64(misses, carry, misses, _mm512_set1_epi64(1))
}

/// The sum of the eight 64-bit lanes of `v`.
#[inline]
#[target_feature(enable = "avx512f")]
fn sum_avx512(v: __m512i) -> u64 {
    _mm512_reduce_add_epi64(v) as u64
}

/// The misses of `rounds` rounds of each of the `N` independent lane sets
/// `states` (advanced), per lane.
#[inline]
#[target_feature(enable = "avx512f")]
fn misses_avx512<const N: usize>(states: &mut [[__m512i; 4]; N], rounds: u64) -> __m512i {
    let mut miss = [_mm512_setzero_si512(); N];
    one_round_behind(
        rounds,
        states,
        |s| next_avx512(s),
        |i, r| {
            miss[i] = count_misses_avx512(r, miss[i]);
        },
    );
    miss.into_iter()
        .fold(_mm512_setzero_si512(), |a, m| _mm512_add_epi64(a, m))
}

/// The eight lanes' states `q`'s jump ahead ([`jump::power`]): 256 steps,
/// each xoring the state into the sum where `q` has a one.
#[inline]
#[target_feature(enable = "avx512f")]
fn jump_avx512(mut s: [__m512i; 4], q: &jump::Poly) -> [__m512i; 4] {
    let mut sum = [_mm512_setzero_si512(); 4];
    for k in 0..256 {
        // All lanes or none, without a branch on the bit.
        let take: __mmask8 = 0u8.wrapping_sub(((q[k / 64] >> (k % 64)) & 1) as u8);
        for (acc, word) in sum.iter_mut().zip(s) {
            *acc = _mm512_mask_xor_epi64(*acc, take, *acc, word);
        }
        next_avx512(&mut s);
    }
    sum
}

/// The AVX-512 lane loop: eight lanes in one vector per state word.
///
/// One vector per state word makes a round one chain, which leaves the
/// four pipes idle between its steps (83 % of their limit). So a long run
/// is split in two: the second chain starts half the rounds ahead (a jump,
/// [`jump`]), and the two run side by side (92 %). Each lane's draws are
/// the same draws, only taken in another order, so the hits are the same.
/// Each round tests the previous round's draws while it draws the next,
/// as the AVX2 loop does.
#[target_feature(enable = "avx512f")]
pub(super) fn lanes_hits_avx512(mut lanes: Lanes, len: u64) -> u64 {
    let rounds = len / LANES as u64;
    let start = load_avx512(&lanes);
    let half = jump::split(rounds);
    let (mut misses, mut last) = (_mm512_setzero_si512(), [start]);
    if half > 0 {
        // Rounds [0, half) on the first chain, [half, 2·half) on the second.
        let mut chains = [start, jump_avx512(start, &jump::power(half))];
        misses = misses_avx512(&mut chains, half);
        last = [chains[1]];
    }
    // The rounds left (all of a short run; one or none after a split).
    let misses = _mm512_add_epi64(misses, misses_avx512(&mut last, rounds - 2 * half));
    store_avx512(last[0], &mut lanes);
    lanes.hits_after_rounds(len, sum_avx512(misses))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::Isa;
    use crate::mc::{is_hit, mix64};

    /// Draws on both sides of the circle x² + y² = 2^64: for each x, the
    /// largest y inside and its neighbours, odd and even alike.
    fn boundary_draws() -> Vec<u64> {
        let xs = (0..64u64)
            .map(|i| (1u64 << 32) - 1 - i)
            .chain((0..4000).map(|i| mix64(i) >> 32))
            .chain([0, 1, 2, 3, 3_037_000_499, 3_037_000_500]);
        let mut draws = Vec::new();
        for x in xs {
            let inside = (u64::MAX - x * x).isqrt();
            for y in inside.saturating_sub(2)..=inside + 2 {
                if y <= u64::from(u32::MAX) {
                    draws.push(x << 32 | y);
                }
            }
        }
        let round = draws.len().next_multiple_of(8);
        draws.resize(round, 0);
        draws
    }

    fn misses(draws: &[u64]) -> u64 {
        draws.iter().filter(|&&r| !is_hit(r)).count() as u64
    }

    /// The SSE2 test's misses among `draws`, two at a time.
    #[target_feature(enable = "sse2")]
    fn misses_by_sse2(draws: &[u64]) -> u64 {
        let mut m = _mm_setzero_si128();
        for pair in draws.chunks_exact(2) {
            m = count_misses_sse2(_mm_set_epi64x(pair[1] as i64, pair[0] as i64), m);
        }
        (_mm_cvtsi128_si64(m) + _mm_cvtsi128_si64(_mm_unpackhi_epi64(m, m))) as u64
    }

    /// The AVX2 test's misses among `draws`, four at a time.
    #[target_feature(enable = "avx2")]
    fn misses_by_avx2(draws: &[u64]) -> u64 {
        let mut m = _mm256_setzero_si256();
        for quad in draws.chunks_exact(4) {
            let r = _mm256_setr_epi64x(
                quad[0] as i64,
                quad[1] as i64,
                quad[2] as i64,
                quad[3] as i64,
            );
            m = _mm256_sub_epi64(m, misses_avx2(r));
        }
        sum_avx2(m)
    }

    /// The AVX-512 test's misses among `draws`, eight at a time.
    #[target_feature(enable = "avx512f")]
    fn misses_by_avx512(draws: &[u64]) -> u64 {
        let mut m = _mm512_setzero_si512();
        for eight in draws.chunks_exact(8) {
            let w: [i64; 8] = core::array::from_fn(|i| eight[i] as i64);
            let r = _mm512_setr_epi64(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]);
            m = count_misses_avx512(r, m);
        }
        sum_avx512(m)
    }

    #[test]
    fn every_vector_hit_test_is_is_hit_at_the_boundary() {
        let draws = boundary_draws();
        let want = misses(&draws);
        assert!(want > 1000 && want < draws.len() as u64 - 1000, "{want}");
        // SAFETY: SSE2 is in x86-64's baseline.
        assert_eq!(unsafe { misses_by_sse2(&draws) }, want, "sse2");
        if Isa::Avx2.supported() {
            // SAFETY: the CPU reports AVX2.
            assert_eq!(unsafe { misses_by_avx2(&draws) }, want, "avx2");
        }
        if Isa::Avx512.supported() {
            // SAFETY: the CPU reports AVX-512F (and AVX2, for `sum_avx2`).
            assert_eq!(unsafe { misses_by_avx512(&draws) }, want, "avx512");
        }
    }
}
