//! A lane's state `n` draws ahead, in one pass of 256 steps: what lets one
//! block's lanes run as two independent chains (the AVX-512 path).
//!
//! xoshiro256's state update is linear over GF(2) on its 256 bits: one draw
//! multiplies the state by a matrix `T`, `n` draws by `Tⁿ`. By
//! Cayley–Hamilton, `Tⁿ = q(T)` for `q = xⁿ mod p`, `p` the characteristic
//! polynomial of `T` (degree 256), so the state `n` draws ahead is
//! `Σ qᵢ·Tⁱ·s`: 256 steps that xor the current state into a sum wherever
//! `q` has a one — the loop of xoshiro's own `jump()`, with `q` for any `n`.
//!
//! `q` for any `n` is a product of the powers `x^(2^j) mod p`, which a
//! table holds, computed at compile time ([`POW2`]); `rand_xoshiro`'s
//! `jump_ce` computes the same polynomial by squaring at every call (64
//! squarings, ~100 µs), far too slow to take once per block, and it
//! advances one state, not eight lanes in a vector. The tests check this
//! module against it and against stepping.

/// A polynomial over GF(2) of degree below 256: bit `i` of word `i / 64` is
/// the coefficient of `xⁱ`.
pub(super) type Poly = [u64; 4];

/// The low 256 coefficients of xoshiro256's characteristic polynomial (its
/// `x²⁵⁶` is implicit): the constant `rand_xoshiro` jumps by (`jump_n`).
const CHARPOLY: Poly = [
    0x9d11_6f2b_b0f0_f001,
    0x0280_002b_cefd_1a5e,
    0x04b4_edcf_2625_9f85,
    0x0003_c03c_3f3e_cb19,
];

/// `a·x mod p`.
const fn mul_x(a: Poly) -> Poly {
    let top = a[3] >> 63;
    let mut r = [
        a[0] << 1,
        (a[1] << 1) | (a[0] >> 63),
        (a[2] << 1) | (a[1] >> 63),
        (a[3] << 1) | (a[2] >> 63),
    ];
    // x²⁵⁶ = CHARPOLY (mod p), without a branch.
    let mask = 0u64.wrapping_sub(top);
    let mut i = 0;
    while i < 4 {
        r[i] ^= CHARPOLY[i] & mask;
        i += 1;
    }
    r
}

/// `a + b` (coefficients in GF(2): xor).
const fn add(a: Poly, b: Poly) -> Poly {
    [a[0] ^ b[0], a[1] ^ b[1], a[2] ^ b[2], a[3] ^ b[3]]
}

/// `t(x)·x²⁵⁶ mod p` for each 4-bit `t`: what four coefficients shifted
/// out of the top fold back to.
const FOLD: [Poly; 16] = {
    let mut top = [[0u64; 4]; 4]; // x²⁵⁶⁺ⁱ mod p
    top[0] = CHARPOLY;
    let mut i = 1;
    while i < 4 {
        top[i] = mul_x(top[i - 1]);
        i += 1;
    }
    let mut fold = [[0u64; 4]; 16];
    let mut t = 1usize;
    while t < 16 {
        let low = t.trailing_zeros() as usize;
        fold[t] = add(fold[t & (t - 1)], top[low]);
        t += 1;
    }
    fold
};

/// `a·x⁴ mod p`.
const fn mul_x4(a: Poly) -> Poly {
    let shifted = [
        a[0] << 4,
        (a[1] << 4) | (a[0] >> 60),
        (a[2] << 4) | (a[1] >> 60),
        (a[3] << 4) | (a[2] >> 60),
    ];
    add(shifted, FOLD[(a[3] >> 60) as usize])
}

/// `a·b mod p`: Horner over `a`'s coefficients four at a time, from the
/// top, adding `b`'s multiple by each four (a table of sixteen). A quarter
/// of the steps of one coefficient at a time: ~230 ns a product here
/// (~450 ns one coefficient at a time).
const fn mul_mod(a: Poly, b: Poly) -> Poly {
    let mut multiples = [[0u64; 4]; 16]; // v(x)·b mod p
    multiples[1] = b;
    let mut v = 2usize;
    while v < 16 {
        multiples[v] = if v & (v - 1) == 0 {
            mul_x(multiples[v / 2])
        } else {
            add(multiples[v & (v - 1)], multiples[v & v.wrapping_neg()])
        };
        v += 1;
    }
    let mut r = [0u64; 4];
    let mut k = 64;
    while k > 0 {
        k -= 1;
        let four = (a[k / 16] >> (4 * (k % 16))) & 0xf;
        r = add(mul_x4(r), multiples[four as usize]);
    }
    r
}

/// `x^(2^j) mod p` for `j` in `0..64`, by squaring, at compile time.
const POW2: [Poly; 64] = {
    let mut table = [[0u64; 4]; 64];
    table[0] = [2, 0, 0, 0];
    let mut j = 1;
    while j < 64 {
        table[j] = mul_mod(table[j - 1], table[j - 1]);
        j += 1;
    }
    table
};

/// `xⁿ mod p`: the jump polynomial of `n` draws. Costs one multiplication
/// (~230 ns) per set bit of `n` after the first.
pub(super) fn power(n: u64) -> Poly {
    let mut q = [1u64, 0, 0, 0];
    let mut first = true;
    let mut bits = n;
    while bits != 0 {
        let j = bits.trailing_zeros() as usize;
        q = if first { POW2[j] } else { mul_mod(q, POW2[j]) };
        first = false;
        bits &= bits - 1;
    }
    q
}

/// Rounds below which a block's lanes run as one chain: the jump (one pass
/// of 256 steps, plus [`power`]'s multiplications) costs a few thousand
/// cycles, and two chains gain under one cycle a round
/// (docs/performance.md, "Port limits, measured").
const SPLIT_MIN_ROUNDS: u64 = 1 << 15;

/// Where a run of `rounds` rounds splits into two chains of equal length:
/// the second chain starts `split(rounds)` draws ahead, and the last round
/// of an odd count runs alone. Zero: no split (too few rounds to pay for
/// the jump).
pub(super) const fn split(rounds: u64) -> u64 {
    if rounds < SPLIT_MIN_ROUNDS {
        0
    } else {
        rounds / 2
    }
}

/// The state `q`'s jump ahead of `s` (`q` from [`power`]): the lane-at-a-time
/// form of the AVX-512 path's jump, for the tests.
#[cfg(test)]
fn apply(q: &Poly, mut s: [u64; 4]) -> [u64; 4] {
    let mut sum = [0u64; 4];
    for k in 0..256 {
        if (q[k / 64] >> (k % 64)) & 1 == 1 {
            for (acc, word) in sum.iter_mut().zip(s) {
                *acc ^= word;
            }
        }
        super::next(&mut s);
    }
    sum
}

#[cfg(test)]
mod tests {
    use rand_core::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    use super::*;
    use crate::mc::{lane_key, lane_state, next, state_words};

    #[test]
    fn a_jump_is_that_many_draws() {
        let start = lane_state(3, 1, 2);
        for n in [0u64, 1, 2, 3, 64, 255, 256, 257, 1000, 4096, 65_537] {
            let mut stepped = start;
            for _ in 0..n {
                next(&mut stepped);
            }
            assert_eq!(apply(&power(n), start), stepped, "n = {n}");
        }
    }

    #[test]
    fn a_jump_agrees_with_rand_xoshiros_jump_for_long_distances() {
        for n in [
            1u64 << 16,
            (1 << 17) + 12_345,
            1 << 40,
            u64::MAX,
            0x8000_0000_0000_0001,
        ] {
            let mut reference = Xoshiro256PlusPlus::seed_from_u64(lane_key(9, 4, 7));
            let start = state_words(&reference);
            reference.jump_ce(n, 0);
            assert_eq!(apply(&power(n), start), state_words(&reference), "n = {n}");
        }
    }

    #[test]
    fn the_split_halves_long_runs_only() {
        assert_eq!(split(0), 0);
        assert_eq!(split(SPLIT_MIN_ROUNDS - 1), 0);
        assert_eq!(split(SPLIT_MIN_ROUNDS), SPLIT_MIN_ROUNDS / 2);
        assert_eq!(split((1 << 17) + 1), 1 << 16);
    }
}
