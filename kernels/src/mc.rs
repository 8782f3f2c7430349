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
//! (SSE2 on x86-64, portable Rust elsewhere), AVX2 or AVX-512F
//! ([`crate::isa`]); [`block_hits`] and [`worker_hits`] run on the widest
//! one this CPU supports. Both evaluate their lanes with
//! [`lanes_hits_with`], whose paths draw exactly the layout's draws, so the
//! hit count is bit-identical on every CPU and path. The paths differ only
//! in the order they take independent draws in: two lanes at a time
//! (scalar), two vectors of four (AVX2), or — AVX-512, whose eight lanes
//! fill one vector — each lane's draws in two halves side by side, the
//! second half's start found by a jump ahead (`mc/jump.rs`). How near each
//! path runs to its pipes' limit is in docs/performance.md ("Port limits,
//! measured").

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

    /// The hits among `len` samples of these lanes, given the misses of
    /// its full rounds, drawn already (the lanes are past them): those
    /// rounds' hits, plus the tail's — one more draw from each of the first
    /// `len % LANES` lanes. How every vector path ends.
    #[inline]
    pub(crate) fn hits_after_rounds(&self, len: u64, misses: u64) -> u64 {
        let tail = (0..(len % LANES as u64) as usize)
            .filter(|&lane| is_hit(next(&mut self.s.map(|word| word[lane]))))
            .count() as u64;
        (len / LANES as u64) * LANES as u64 - misses + tail
    }
}

/// The lane loop without AVX in portable Rust: [`lanes_hits_with`]'s scalar
/// path on CPUs other than x86-64 (there it is SSE2, `x86::lanes_hits_sse2`).
///
/// Two lanes at a time, each for all its draws, not the eight lanes round
/// by round: the hits are a sum, so the order does not change them, and
/// two lanes' state (8 words) stays in the general registers where eight
/// lanes' (32 words) spilled to the stack — the loop was then more loads
/// and stores than arithmetic (docs/performance.md, "Port limits,
/// measured"). Compiled on x86-64 too for the tests, which hold it to
/// the SSE2 path there: no other CPU runs them.
#[cfg(any(not(target_arch = "x86_64"), test))]
fn lanes_hits_portable(mut lanes: Lanes, len: u64) -> u64 {
    let rounds = len / LANES as u64;
    let mut misses = 0u64;
    for pair in 0..LANES / 2 {
        let pair = [2 * pair, 2 * pair + 1];
        let [mut a, mut b] = pair.map(|lane| lanes.s.map(|word| word[lane]));
        for _ in 0..rounds {
            let (ra, rb) = (next(&mut a), next(&mut b));
            misses += u64::from(!is_hit(ra)) + u64::from(!is_hit(rb));
        }
        for (lane, state) in pair.into_iter().zip([a, b]) {
            for (word, value) in lanes.s.iter_mut().zip(state) {
                word[lane] = value;
            }
        }
    }
    lanes.hits_after_rounds(len, misses)
}

/// The lane loop without AVX elsewhere than x86-64.
#[cfg(not(target_arch = "x86_64"))]
fn lanes_hits_scalar(lanes: Lanes, len: u64) -> u64 {
    lanes_hits_portable(lanes, len)
}

/// The lane loop without AVX on x86-64: SSE2, which every x86-64 CPU has.
#[cfg(target_arch = "x86_64")]
fn lanes_hits_scalar(lanes: Lanes, len: u64) -> u64 {
    // SAFETY: SSE2 is in x86-64's baseline: every CPU this code runs on has it.
    unsafe { x86::lanes_hits_sse2(lanes, len) }
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

// Only the AVX-512 path jumps (and the tests, everywhere).
#[cfg(any(target_arch = "x86_64", test))]
mod jump;

#[cfg(target_arch = "x86_64")]
// Safe `#[target_feature]` functions need Rust 1.86 and the AVX-512
// intrinsics 1.89: this module is what sets the crate's minimum Rust.
#[clippy::msrv = "1.89"]
mod x86;

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
    fn the_portable_loop_gives_the_scalar_paths_hits() {
        for len in [0u64, 1, 7, 8, 9, 1003, 65_541] {
            assert_eq!(
                lanes_hits_portable(Lanes::for_block(3, 9), len),
                block_hits_with(Isa::Scalar, 3, 9, len),
                "len {len}"
            );
        }
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
