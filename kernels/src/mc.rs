//! Monte Carlo darts: the fraction of uniform points of the unit square that
//! fall inside the quarter circle is pi/4.
//!
//! # Sample layout (part of the method's definition)
//! A block of `len` samples is drawn from [`LANES`] interleaved lanes: sample
//! `k` of the block is the `k / LANES`-th draw of lane `k % LANES`. Each lane is
//! its own xoshiro256++ stream, seeded through SplitMix64 from a hash of
//! `(seed, block, lane)` ([`lane_key`]), so any block's streams are derived in
//! O(1) — a dynamic scheduler may start at any block — and the layout maps onto
//! SIMD registers without changing the answer on any CPU.
//!
//! A draw `r` (64 bits) gives the integer point `x = r >> 32`, `y = r & (2^32-1)`
//! on a 2^32 × 2^32 grid; it is a hit when `x² + y² < 2^64`, i.e. when the
//! 64-bit sum of the two exact squares does not carry.
//!
//! # Per-core streams
//! The `per-core` backend ties the darts to workers instead of blocks, with
//! the same 8-lane layout: worker `w` draws its `count` samples round-robin
//! from [`LANES`] lanes (sample `k` is the `k / LANES`-th draw of lane
//! `k % LANES`), and lane `l` is the seed's stream
//! (`Xoshiro256PlusPlus::seed_from_u64(seed)`) advanced by `w·LANES + l`
//! calls of `jump()` ([`Lanes::for_worker`]). Each jump skips 2^128 draws,
//! so the lanes of all workers are disjoint stretches of one stream.
//!
//! # Instruction sets
//! [`block_hits_with`] and [`worker_hits_with`] take the ISA: scalar
//! (portable Rust; on x86-64 its hit test in SSE2), AVX2 or AVX-512F
//! ([`crate::isa`]); [`block_hits`] and [`worker_hits`] run on the widest
//! one this CPU supports. Both evaluate their lanes with
//! [`lanes_hits_with`], whose paths compute the layout exactly, so the hit
//! count is bit-identical on every CPU and path. [`block_pair_hits_with`]
//! gives two blocks' hits together — on AVX-512 from their lanes side by
//! side, nearer the pipes' limit; the backends do not use it (see there).
//! How near each path runs to its pipes' limit is in docs/performance.md
//! ("Port limits, measured").

use rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::isa::Isa;

/// Number of interleaved streams in one block.
pub const LANES: usize = 8;

/// SplitMix64's output function: a bijective 64-bit mixer.
#[inline]
pub const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The SplitMix64 seed of lane `lane` of block `block`.
///
/// Distinct `(block, lane)` pairs give distinct keys for blocks below 2^61:
/// `block * LANES + lane` is injective there and the mixing is a bijection.
#[inline]
pub const fn lane_key(seed: u64, block: u64, lane: usize) -> u64 {
    mix64(
        mix64(seed ^ 0x9e37_79b9_7f4a_7c15)
            ^ block.wrapping_mul(LANES as u64).wrapping_add(lane as u64),
    )
}

/// The four state words of lane `lane` of block `block`.
#[inline]
pub fn lane_state(seed: u64, block: u64, lane: usize) -> [u64; 4] {
    state_words(&Xoshiro256PlusPlus::seed_from_u64(lane_key(
        seed, block, lane,
    )))
}

fn state_words(rng: &Xoshiro256PlusPlus) -> [u64; 4] {
    let bytes = rng.state();
    let mut words = [0u64; 4];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *word = u64::from_le_bytes(b);
    }
    words
}

/// Whether draw `r` lands inside the quarter circle (see the module docs).
#[inline(always)]
pub const fn is_hit(r: u64) -> bool {
    let x = r >> 32;
    let y = r & 0xffff_ffff;
    (x * x).checked_add(y * y).is_some()
}

/// One xoshiro256++ step on a state held as four words.
#[inline(always)]
fn next(s: &mut [u64; 4]) -> u64 {
    let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
    let t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s[3].rotate_left(45);
    result
}

/// The state of all lanes of a block, one array per state word, so that
/// each step below is a straight loop over lanes that maps onto vector
/// registers of any width.
#[derive(Debug, Clone, Copy)]
pub struct Lanes {
    s: [[u64; LANES]; 4],
}

impl Lanes {
    /// The lanes of block `block`.
    #[inline]
    pub fn for_block(seed: u64, block: u64) -> Lanes {
        let mut s = [[0u64; LANES]; 4];
        for lane in 0..LANES {
            let w = lane_state(seed, block, lane);
            for (word, value) in s.iter_mut().zip(w) {
                word[lane] = value;
            }
        }
        Lanes { s }
    }

    /// The lanes of `per-core` worker `worker`: lane `l` is the seed's stream
    /// after `worker·LANES + l` calls of `jump()`, 2^128 draws each, so no two
    /// lanes of any workers overlap.
    ///
    /// Costs `worker·LANES + LANES − 1` jumps (each about 256 draws' work).
    /// Allocation-free and panic-free: safe to call in a forked child.
    pub fn for_worker(seed: u64, worker: usize) -> Lanes {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        for _ in 0..worker.saturating_mul(LANES) {
            rng.jump();
        }
        let mut s = [[0u64; LANES]; 4];
        for lane in 0..LANES {
            if lane > 0 {
                rng.jump();
            }
            for (word, value) in s.iter_mut().zip(state_words(&rng)) {
                word[lane] = value;
            }
        }
        Lanes { s }
    }

    /// One draw from each of the first `n` lanes (a block's tail).
    #[inline]
    pub fn partial_round(&mut self, n: usize, hits: &mut [u64; LANES]) {
        for (lane, h) in hits.iter_mut().enumerate().take(n) {
            let mut st = [
                self.s[0][lane],
                self.s[1][lane],
                self.s[2][lane],
                self.s[3][lane],
            ];
            *h += u64::from(is_hit(next(&mut st)));
        }
    }
}

/// Hits of `rounds` draws of each of two lanes, the lanes advanced.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn two_lanes_hits(a: &mut [u64; 4], b: &mut [u64; 4], rounds: u64) -> u64 {
    let mut hits = 0;
    for _ in 0..rounds {
        let (ra, rb) = (next(a), next(b));
        hits += u64::from(is_hit(ra)) + u64::from(is_hit(rb));
    }
    hits
}

/// Hits of `rounds` draws of each of two lanes, the lanes advanced: the
/// draws in the general registers, their squares and carry test in SSE2
/// (part of every x86-64), whose multipliers are otherwise idle here.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn two_lanes_hits(a: &mut [u64; 4], b: &mut [u64; 4], rounds: u64) -> u64 {
    // SAFETY: SSE2 is in x86-64's baseline: every CPU this code runs on has it.
    2 * rounds - unsafe { x86::two_lanes_misses_sse2(a, b, rounds) }
}

/// The lane loop without AVX: [`lanes_hits_with`]'s scalar path (on
/// x86-64 its hit test in SSE2, which every x86-64 CPU has).
///
/// Two lanes at a time, each for all its draws, not the eight lanes round
/// by round: the hits are a sum, so the order does not change them, and
/// two lanes' state (8 words) stays in the general registers where eight
/// lanes' (32 words) spilled to the stack — the loop was then more loads
/// and stores than arithmetic (docs/performance.md, "Port limits,
/// measured").
#[inline(always)]
fn lanes_hits_scalar(lanes: Lanes, len: u64) -> u64 {
    let (rounds, rest) = (len / LANES as u64, (len % LANES as u64) as usize);
    let state = |lane: usize| lanes.s.map(|word| word[lane]);
    let mut hits = 0u64;
    for pair in 0..LANES / 2 {
        let (la, lb) = (2 * pair, 2 * pair + 1);
        let (mut a, mut b) = (state(la), state(lb));
        hits += two_lanes_hits(&mut a, &mut b, rounds);
        // The tail's draws: one more from each of the first `rest` lanes.
        hits += u64::from(la < rest && is_hit(next(&mut a)));
        hits += u64::from(lb < rest && is_hit(next(&mut b)));
    }
    hits
}

/// Hits among the `len` samples of block `block`, on the widest path this
/// CPU supports ([`Isa::detect`]).
///
/// Allocation-free and panic-free: safe to call in a forked child.
#[inline]
pub fn block_hits(seed: u64, block: u64, len: u64) -> u64 {
    block_hits_with(Isa::detect(), seed, block, len)
}

/// Hits among the `len` samples of block `block`, on the `isa` path.
///
/// Every path gives the bit-identical count. An ISA this CPU lacks runs the
/// widest supported narrower path instead.
///
/// Allocation-free and panic-free: safe to call in a forked child.
pub fn block_hits_with(isa: Isa, seed: u64, block: u64, len: u64) -> u64 {
    lanes_hits_with(isa, Lanes::for_block(seed, block), len)
}

/// Hits among the `len` samples of block `block` and the `len` samples of
/// block `block + 1`, together, on the `isa` path: the sum of their
/// [`block_hits_with`], bit for bit. The AVX-512 path computes the two
/// blocks side by side, which keeps the vector pipes busier than one
/// block's chain can (3.39 against 3.07 samples/ns on Zen 4); the others
/// take one block after the other.
///
/// The backends do not use it: a block's cost would then depend on how a
/// backend groups blocks — two at a time in a range, one at a time in a
/// one-block task (`pool-map --chunksize 1`, a shared counter's updates,
/// per-core's streams) — and the comparisons between backends would
/// measure that instead of their parallel costs. It is benched
/// (`block/mc-pair`) as what the pipes allow.
///
/// Allocation-free and panic-free: safe to call in a forked child.
pub fn block_pair_hits_with(isa: Isa, seed: u64, block: u64, len: u64) -> u64 {
    let (a, b) = (
        Lanes::for_block(seed, block),
        Lanes::for_block(seed, block + 1),
    );
    match isa.usable() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `usable` returns Avx512 only when the CPU reports AVX-512F
        // and AVX2, the features `lanes_hits_avx512_pair` is compiled for.
        Isa::Avx512 => unsafe { x86::lanes_hits_avx512_pair(a, b, len) },
        usable => lanes_hits_with(usable, a, len) + lanes_hits_with(usable, b, len),
    }
}

/// Hits among the `count` samples of `per-core` worker `worker`
/// ([`Lanes::for_worker`]), on the widest path this CPU supports.
///
/// Allocation-free and panic-free: safe to call in a forked child.
#[inline]
pub fn worker_hits(seed: u64, worker: usize, count: u64) -> u64 {
    worker_hits_with(Isa::detect(), seed, worker, count)
}

/// Hits among the `count` samples of `per-core` worker `worker`, on the
/// `isa` path; bit-identical on every path, like [`block_hits_with`].
///
/// Allocation-free and panic-free: safe to call in a forked child.
pub fn worker_hits_with(isa: Isa, seed: u64, worker: usize, count: u64) -> u64 {
    lanes_hits_with(isa, Lanes::for_worker(seed, worker), count)
}

/// Hits among the next `len` samples of `lanes`, on the `isa` path: sample
/// `k` is the `k / LANES`-th draw of lane `k % LANES`. The kernel behind
/// [`block_hits_with`] and [`worker_hits_with`].
///
/// Every path gives the bit-identical count. An ISA this CPU lacks runs the
/// widest supported narrower path instead.
///
/// Allocation-free and panic-free: safe to call in a forked child.
pub fn lanes_hits_with(isa: Isa, lanes: Lanes, len: u64) -> u64 {
    match isa.usable() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `usable` returns Avx512 only when the CPU reports AVX-512F
        // and AVX2, the features `lanes_hits_avx512` is compiled for.
        Isa::Avx512 => unsafe { x86::lanes_hits_avx512(lanes, len) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `usable` returns Avx2 only when the CPU reports AVX2.
        Isa::Avx2 => unsafe { x86::lanes_hits_avx2(lanes, len) },
        _ => lanes_hits_scalar(lanes, len),
    }
}

/// The AVX2 and AVX-512 lane loops: [`Lanes::round`] written with
/// intrinsics, one 64-bit vector lane per sample lane.
#[cfg(target_arch = "x86_64")]
// Safe `#[target_feature]` functions need Rust 1.86 and the AVX-512
// intrinsics 1.89: this module is what sets the crate's minimum Rust.
#[clippy::msrv = "1.89"]
mod x86 {
    use core::arch::x86_64::*;

    use super::{Lanes, LANES};

    /// Misses of `rounds` draws of each of lanes `a` and `b` (advanced):
    /// the draws by [`super::next`] in the general registers, then both
    /// draws' squares in one SSE2 vector, and the carry out of x² + y²
    /// from the top bits: `(xx & yy) | ((xx | yy) & !(xx + yy))`.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn two_lanes_misses_sse2(a: &mut [u64; 4], b: &mut [u64; 4], rounds: u64) -> u64 {
        let mut misses = _mm_setzero_si128();
        for _ in 0..rounds {
            let (ra, rb) = (super::next(a), super::next(b));
            let r = _mm_set_epi64x(rb as i64, ra as i64);
            let x = _mm_srli_epi64::<32>(r);
            let xx = _mm_mul_epu32(x, x);
            let yy = _mm_mul_epu32(r, r);
            let sum = _mm_add_epi64(xx, yy);
            let carry = _mm_or_si128(
                _mm_and_si128(xx, yy),
                _mm_andnot_si128(sum, _mm_or_si128(xx, yy)),
            );
            misses = _mm_add_epi64(misses, _mm_srli_epi64::<63>(carry));
        }
        let high = _mm_unpackhi_epi64(misses, misses);
        _mm_cvtsi128_si64(misses) as u64 + _mm_cvtsi128_si64(high) as u64
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
        let mut tail = [0u64; LANES];
        lanes.partial_round((len % LANES as u64) as usize, &mut tail);
        rounds * LANES as u64 - misses + tail.iter().sum::<u64>()
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

    /// The AVX-512 lane loop: eight lanes in one vector per state word.
    /// Each round tests the previous round's draws while it draws the next,
    /// as the AVX2 loop does (9.5 cycles a round here against 10.3).
    #[target_feature(enable = "avx512f")]
    pub(super) fn lanes_hits_avx512(mut lanes: Lanes, len: u64) -> u64 {
        let rounds = len / LANES as u64;
        let mut misses = _mm512_setzero_si512();
        let mut states = [load_avx512(&lanes)];
        one_round_behind(
            rounds,
            &mut states,
            |s| next_avx512(s),
            |_, r| {
                misses = count_misses_avx512(r, misses);
            },
        );
        let [s] = states;
        store_avx512(s, &mut lanes);
        let mut tail = [0u64; LANES];
        lanes.partial_round((len % LANES as u64) as usize, &mut tail);
        rounds * LANES as u64 - sum_avx512(misses) + tail.iter().sum::<u64>()
    }

    /// Two blocks' lanes side by side, `len` samples each: their hits
    /// together. Two independent rounds in one loop keep the four pipes
    /// busier than one block's round can (8.7 cycles a round against 9.5:
    /// docs/performance.md, "Port limits, measured").
    #[target_feature(enable = "avx512f")]
    pub(super) fn lanes_hits_avx512_pair(mut a: Lanes, mut b: Lanes, len: u64) -> u64 {
        let rounds = len / LANES as u64;
        let mut states = [load_avx512(&a), load_avx512(&b)];
        let mut miss = [_mm512_setzero_si512(); 2];
        one_round_behind(
            rounds,
            &mut states,
            |s| next_avx512(s),
            |i, r| {
                miss[i] = count_misses_avx512(r, miss[i]);
            },
        );
        let [sa, sb] = states;
        store_avx512(sa, &mut a);
        store_avx512(sb, &mut b);
        let mut tail = [0u64; LANES];
        let rest = (len % LANES as u64) as usize;
        a.partial_round(rest, &mut tail);
        b.partial_round(rest, &mut tail);
        let misses = sum_avx512(_mm512_add_epi64(miss[0], miss[1]));
        2 * rounds * LANES as u64 - misses + tail.iter().sum::<u64>()
    }
}

/// The estimate `4·hits/n` and its standard error `4·sqrt(p(1−p)/n)`.
pub fn estimate(hits: u64, samples: u64) -> (f64, f64) {
    let n = samples as f64;
    let p = hits as f64 / n;
    (4.0 * p, 4.0 * (p * (1.0 - p) / n).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::Rng;

    #[test]
    fn lane_stream_is_rand_xoshiro_stream() {
        let mut reference = Xoshiro256PlusPlus::seed_from_u64(lane_key(7, 3, 5));
        let mut s = lane_state(7, 3, 5);
        for _ in 0..1000 {
            assert_eq!(next(&mut s), reference.next_u64());
        }
    }

    #[test]
    fn block_hits_matches_sample_layout_definition() {
        // Straight from the definition: sample k is draw k/LANES of lane k%LANES.
        let (seed, block, len) = (11u64, 4u64, 1003u64);
        let mut lanes: Vec<_> = (0..LANES)
            .map(|l| Xoshiro256PlusPlus::seed_from_u64(lane_key(seed, block, l)))
            .collect();
        let expected = (0..len)
            .filter(|k| is_hit(lanes[(*k % LANES as u64) as usize].next_u64()))
            .count() as u64;
        assert_eq!(block_hits(seed, block, len), expected);
    }

    #[test]
    fn streams_are_distinct() {
        let mut firsts = std::collections::HashSet::new();
        for block in 0..64 {
            for lane in 0..LANES {
                assert!(firsts.insert(lane_state(1, block, lane)));
            }
        }
        // Different seeds give different streams for the same block and lane.
        assert_ne!(lane_state(1, 0, 0), lane_state(2, 0, 0));
        // per-core workers' lanes differ from each other too.
        let mut worker_lanes = std::collections::HashSet::new();
        for worker in 0..4 {
            let lanes = Lanes::for_worker(5, worker);
            for lane in 0..LANES {
                let state: [u64; 4] = std::array::from_fn(|word| lanes.s[word][lane]);
                assert!(worker_lanes.insert(state), "worker {worker} lane {lane}");
            }
        }
    }

    #[test]
    fn worker_lanes_are_the_seed_stream_jumped() {
        // Lane l of worker w: the seed's stream after w·LANES + l jumps.
        let (seed, worker) = (9u64, 2usize);
        let lanes = Lanes::for_worker(seed, worker);
        let mut reference = Xoshiro256PlusPlus::seed_from_u64(seed);
        for _ in 0..worker * LANES {
            reference.jump();
        }
        for lane in 0..LANES {
            let state: [u64; 4] = std::array::from_fn(|word| lanes.s[word][lane]);
            assert_eq!(state, state_words(&reference), "lane {lane}");
            reference.jump();
        }
    }

    #[test]
    fn hit_test_is_exact_at_the_boundary() {
        // x = 2^32-1, y = 0: x² < 2^64, a hit.
        assert!(is_hit(0xffff_ffff_0000_0000));
        // x = y = 2^32-1: 2·(2^32-1)² ≥ 2^64, a miss.
        assert!(!is_hit(u64::MAX));
        // x = y = 3037000499 (⌊2^32/√2⌋): 2·x² < 2^64, a hit; one more is a miss.
        let x = 3_037_000_499u64;
        assert!(is_hit(x << 32 | x));
        assert!(!is_hit((x + 1) << 32 | (x + 1)));
    }

    #[test]
    fn estimate_is_near_pi() {
        let n = 1u64 << 22;
        let hits: u64 = (0..4).map(|b| block_hits(3, b, n / 4)).sum();
        let (est, se) = estimate(hits, n);
        assert!(
            (est - std::f64::consts::PI).abs() < 5.0 * se,
            "{est} ± {se}"
        );
    }
}
