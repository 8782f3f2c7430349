//! Every instruction-set path gives the scalar path's answer bit for bit, and
//! a job's ISA — not any process-wide setting — decides the path its kernels
//! run on.

use piscale_kernels::{mc, midpoint, BackendKind, Isa, Job, Method, Team};
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use strum::VariantArray;

/// Block lengths around the 8-lane rounds: empty, shorter than a round, not a
/// multiple of a round, long, and long enough for the AVX-512 path to split
/// its lanes into two chains (2^15 rounds and more: an odd count with a
/// tail, and the default block).
const LENS: [u64; 14] = [
    0,
    1,
    3,
    7,
    8,
    9,
    15,
    16,
    17,
    1000,
    1003,
    65_541,
    (1 << 18) + 8 + 5,
    1 << 20,
];

#[test]
fn mc_hits_are_bit_identical_on_every_isa() {
    println!("supported: {:?}", Isa::all_supported());
    for (seed, block) in [(0u64, 0u64), (7, 3), (u64::MAX, 12_345), (42, 1 << 40)] {
        for len in LENS {
            let scalar = mc::block_hits_with(Isa::Scalar, seed, block, len);
            // Unsupported ISAs fall back to a narrower path: same answer.
            for &isa in Isa::VARIANTS {
                assert_eq!(
                    mc::block_hits_with(isa, seed, block, len),
                    scalar,
                    "{isa} seed {seed} block {block} len {len}"
                );
            }
        }
    }
}

#[test]
fn a_jobs_partial_is_the_sum_of_its_blocks_on_every_isa() {
    // Every range of a job whose last block is short.
    let job = Job::new(Method::Mc, 10 * 1000 + 337).seed(5).block(1000);
    let block = |b: u64| {
        let len = 1000u64.min(job.samples - b * 1000);
        mc::block_hits_with(Isa::Scalar, 5, b, len) as u128
    };
    for &isa in Isa::VARIANTS {
        let job = job.clone().isa(isa);
        for first in 0..job.blocks() {
            for count in 0..=job.blocks() - first {
                let range = piscale_kernels::BlockRange { first, count };
                let want: u128 = (first..first + count).map(block).sum();
                assert_eq!(job.partial(range), want, "{isa} {range:?}");
            }
        }
    }
}

#[test]
fn mc_vector_paths_follow_the_sample_layout_definition() {
    // Sample k of a block is draw k/8 of lane k%8 of the lane's own stream.
    // Long enough that the AVX-512 path splits each lane into two chains.
    let (seed, block, len) = (99u64, 5u64, (1u64 << 18) + 8 + 7);
    let mut lanes: Vec<_> = (0..mc::LANES)
        .map(|l| Xoshiro256PlusPlus::seed_from_u64(mc::lane_key(seed, block, l)))
        .collect();
    let expected = (0..len)
        .filter(|k| mc::is_hit(lanes[(*k % mc::LANES as u64) as usize].next_u64()))
        .count() as u64;
    for isa in Isa::all_supported() {
        assert_eq!(
            mc::block_hits_with(isa, seed, block, len),
            expected,
            "{isa}"
        );
    }
}

#[test]
fn per_core_worker_hits_are_bit_identical_on_every_isa() {
    for (seed, worker) in [(0u64, 0usize), (7, 1), (u64::MAX, 3), (42, 17)] {
        for count in LENS {
            let scalar = mc::worker_hits_with(Isa::Scalar, seed, worker, count);
            for &isa in Isa::VARIANTS {
                assert_eq!(
                    mc::worker_hits_with(isa, seed, worker, count),
                    scalar,
                    "{isa} seed {seed} worker {worker} count {count}"
                );
            }
        }
    }
}

#[test]
fn per_core_vector_paths_follow_the_worker_lane_definition() {
    // Lane l of worker w is the seed's stream jumped 8w + l times; sample k
    // is the next draw of lane k % 8.
    for (seed, worker, count) in [
        (5u64, 0usize, 10_007u64),
        (99, 2, 1003),
        (1, 5, 0),
        (3, 1, (1 << 18) + 8 + 3),
    ] {
        let expected = crate::common::reference_worker_hits(seed, worker, count);
        for isa in Isa::all_supported() {
            assert_eq!(
                mc::worker_hits_with(isa, seed, worker, count),
                expected,
                "{isa} seed {seed} worker {worker} count {count}"
            );
        }
    }
}

#[test]
fn midpoint_partials_are_bit_identical_on_every_isa() {
    let cases = [
        // (steps, start)
        (1u64, 0u64),
        (7, 0),
        (1000, 0),
        (1000, 993),
        (1 << 20, 12_345),
        // Large start indices: near the end of N = 2e9 and of N = 2^53.
        (2_000_000_000, 2_000_000_000 - 65_541),
        (2_000_000_000, 1_999_999_999),
        (1 << 53, (1 << 53) - 65_541),
    ];
    for (steps, start) in cases {
        for len in LENS {
            let len = len.min(steps - start);
            let scalar = midpoint::block_sum_with(Isa::Scalar, steps, start, len);
            for &isa in Isa::VARIANTS {
                assert_eq!(
                    midpoint::block_sum_with(isa, steps, start, len),
                    scalar,
                    "{isa} steps {steps} start {start} len {len}"
                );
            }
        }
    }
}

#[test]
fn midpoint_whole_integral_is_pi_on_every_isa() {
    let steps = 1_000_003u64;
    let block = 65_536u64;
    for isa in Isa::all_supported() {
        let total: u128 = (0..steps.div_ceil(block))
            .map(|b| {
                let start = b * block;
                midpoint::block_sum_with(isa, steps, start, block.min(steps - start))
            })
            .sum();
        let est = midpoint::estimate(total, steps);
        assert!(
            (est - std::f64::consts::PI).abs() <= midpoint::error_bound(steps) + 1e-14,
            "{isa}: {est}"
        );
    }
}

#[test]
fn a_jobs_isa_decides_its_path_and_its_report() {
    let scalar = Job::new(Method::Mc, 100_003).seed(3).block(4096);
    assert_eq!(scalar.isa, Isa::detect(), "a new job runs the widest path");
    let mut threads = BackendKind::Threads
        .create(Team::unpinned(2).unwrap())
        .unwrap();
    for &method in Method::VARIANTS {
        let base = Job::new(method, 100_003)
            .seed(3)
            .block(4096)
            .isa(Isa::Scalar);
        let expected = threads.run(&base).unwrap();
        for &isa in Isa::VARIANTS {
            let report = threads.run(&base.clone().isa(isa)).unwrap();
            assert_eq!(report.isa, isa.usable(), "{method} {isa}");
            assert_eq!(report.hits, expected.hits, "{method} {isa}");
            assert_eq!(
                report.estimate.to_bits(),
                expected.estimate.to_bits(),
                "{method} {isa}"
            );
        }
    }
    // The dispatching entry points run the detected path, with the same answers.
    assert_eq!(
        mc::block_hits(3, 1, 1001),
        mc::block_hits_with(Isa::Scalar, 3, 1, 1001)
    );
    assert_eq!(
        midpoint::block_sum(1001, 17, 501),
        midpoint::block_sum_with(Isa::Scalar, 1001, 17, 501)
    );
}
