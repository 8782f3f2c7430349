//! Every block backend returns `serial`'s exact answer at every worker count.

use piscale_kernels::{mc, BackendKind, CpuList, Job, Method, Team};
use strum::VariantArray;

use crate::common::start_methods;

const WORKERS: [usize; 5] = [1, 2, 3, 4, 5];

fn block_backends() -> impl Iterator<Item = BackendKind> {
    BackendKind::VARIANTS
        .iter()
        .copied()
        .filter(|b| b.is_block_decomposed() && *b != BackendKind::Serial)
}

fn serial(job: &Job) -> piscale_kernels::RunReport {
    BackendKind::Serial
        .create(Team::unpinned(1).unwrap())
        .unwrap()
        .run(job)
        .unwrap()
}

#[test]
fn mc_hits_are_bit_identical_across_backends_and_worker_counts() {
    let _forks = crate::common::fork_lock();
    let job = Job::new(Method::Mc, 3_000_017).seed(7).block(1 << 16);
    let expected = serial(&job).hits.unwrap();
    for backend in block_backends() {
        for start in start_methods(backend) {
            for p in WORKERS {
                let team = Team::unpinned(p).unwrap().with_start(start);
                let mut b = backend.create(team).unwrap();
                // Chunked backends (pool-map tasks, fork-queue records,
                // shared-counter updates) at their default and two chunk sizes.
                let chunks: &[Option<u64>] = if backend.traits().chunked {
                    &[None, Some(1), Some(7)]
                } else {
                    &[None]
                };
                for &chunk in chunks {
                    let report = b.run(&job.clone().chunksize(chunk)).unwrap();
                    assert_eq!(
                        report.hits,
                        Some(expected),
                        "{backend} ({start}) at {p} workers, chunk size {chunk:?}"
                    );
                    assert_eq!(report.workers, p);
                    assert_eq!(report.cpus.len(), p);
                }
            }
        }
    }
}

#[test]
fn midpoint_sums_are_bit_identical_across_backends_and_worker_counts() {
    let _forks = crate::common::fork_lock();
    let job = Job::new(Method::Midpoint, 2_500_001).block(100_000);
    let expected = serial(&job);
    assert!(expected.abs_error < 1e-12, "{}", expected.estimate);
    for backend in block_backends() {
        for start in start_methods(backend) {
            for p in WORKERS {
                let team = Team::unpinned(p).unwrap().with_start(start);
                let report = backend.create(team).unwrap().run(&job).unwrap();
                let what = format!("{backend} ({start}) at {p} workers");
                assert_eq!(report.partial, expected.partial, "{what}");
                assert_eq!(report.estimate.to_bits(), expected.estimate.to_bits());
            }
        }
    }
}

#[test]
fn the_answer_does_not_depend_on_block_order_or_chunking() {
    let _forks = crate::common::fork_lock();
    let job = Job::new(Method::Mc, 1_000_003).seed(3).block(10_000);
    let expected = serial(&job).hits;
    let mut pool = BackendKind::PoolMap
        .create(Team::unpinned(3).unwrap())
        .unwrap();
    for chunksize in [1, 2, 7, 1000] {
        let report = pool
            .run(&Job {
                chunksize: Some(chunksize),
                ..job.clone()
            })
            .unwrap();
        assert_eq!(report.hits, expected, "chunksize {chunksize}");
        assert_eq!(report.chunksize, Some(chunksize));
    }
    // The same pool serves the other method too.
    let mid = Job::new(Method::Midpoint, 50_000).block(999);
    assert_eq!(pool.run(&mid).unwrap().partial, serial(&mid).partial);
}

#[test]
fn estimates_lie_within_five_standard_errors() {
    let _forks = crate::common::fork_lock();
    let job = Job::new(Method::Mc, 4_000_000).seed(11).block(1 << 18);
    for &backend in BackendKind::VARIANTS {
        let p = if backend == BackendKind::Serial { 1 } else { 3 };
        let r = backend
            .create(Team::unpinned(p).unwrap())
            .unwrap()
            .run(&job)
            .unwrap();
        let se = r.std_error.unwrap();
        assert!(r.abs_error < 5.0 * se, "{backend}: {} ± {se}", r.estimate);
        assert!(se > 0.0 && se < 1e-3);
    }
}

#[test]
fn per_core_draws_worker_lanes() {
    // Worker w's share comes from its own 8 lanes: the seed's stream jumped
    // 8w + l times (see `crate::common::reference_worker_hits`).
    let job = Job::new(Method::Mc, 100_003).seed(5);
    let run = |p: usize| {
        BackendKind::PerCore
            .create(Team::unpinned(p).unwrap())
            .unwrap()
            .run(&job)
            .unwrap()
            .hits
            .unwrap()
    };
    let one = run(1);
    assert_eq!(one, crate::common::reference_worker_hits(5, 0, 100_003));
    assert_eq!(one, mc::worker_hits(5, 0, 100_003));
    // Shares of 50 002 and 50 001: the first n % p workers take one more.
    let two = run(2);
    let expected = crate::common::reference_worker_hits(5, 0, 50_002)
        + crate::common::reference_worker_hits(5, 1, 50_001);
    assert_eq!(two, expected);
    // The answer depends on P, and workers throw different darts.
    assert_ne!(one, two);
    assert_ne!(mc::worker_hits(5, 0, 50_001), mc::worker_hits(5, 1, 50_001));
}

#[test]
fn more_workers_than_blocks_still_agree() {
    let _forks = crate::common::fork_lock();
    let job = Job::new(Method::Mc, 1000).seed(1).block(400);
    let expected = serial(&job).hits;
    for backend in block_backends() {
        let r = backend
            .create(Team::unpinned(5).unwrap())
            .unwrap()
            .run(&job)
            .unwrap();
        assert_eq!(r.hits, expected, "{backend}");
    }
}

#[test]
fn pinned_workers_run_where_they_were_put() {
    let _forks = crate::common::fork_lock();
    let usable = CpuList::usable().unwrap();
    let cpu = *usable.0.last().unwrap();
    let job = Job::new(Method::Mc, 200_000).block(10_000);
    for &backend in BackendKind::VARIANTS {
        for start in start_methods(backend) {
            let p = if backend == BackendKind::Serial { 1 } else { 2 };
            let team = Team::new(p, Some(CpuList(vec![cpu]))).unwrap();
            let r = backend
                .create(team.with_start(start))
                .unwrap()
                .run(&job)
                .unwrap();
            assert!(
                r.cpus.iter().all(|c| *c == Some(cpu)),
                "{backend} ({start}): {:?}",
                r.cpus
            );
        }
    }
}

#[test]
fn phases_add_up_to_the_wall_time() {
    let _forks = crate::common::fork_lock();
    let job = Job::new(Method::Midpoint, 1 << 20).block(1 << 16);
    for &backend in BackendKind::VARIANTS {
        let p = if backend == BackendKind::Serial { 1 } else { 2 };
        let r = backend
            .create(Team::unpinned(p).unwrap())
            .unwrap()
            .run(&job)
            .unwrap();
        let sum = r.spawn_s + r.compute_s + r.reduce_s;
        assert!(
            (sum - r.wall_s).abs() < 1e-6,
            "{backend}: {sum} vs {}",
            r.wall_s
        );
        assert!(r.compute_s > 0.0 && r.wall_s > 0.0, "{backend}");
        assert!(
            r.worker_compute_s
                .iter()
                .all(|&c| c >= 0.0 && c <= r.wall_s + 1e-6),
            "{backend}"
        );
    }
}

#[test]
fn bad_teams_and_jobs_are_rejected() {
    assert!(Team::unpinned(0).is_err());
    assert!(Team::unpinned(piscale_kernels::MAX_WORKERS + 1).is_err());
    assert!(Team::new(1, Some(CpuList(vec![]))).is_err());
    assert!(Team::new(1, Some(CpuList(vec![1023]))).is_err());
    assert!(BackendKind::Serial
        .create(Team::unpinned(2).unwrap())
        .is_err());
    let mut threads = BackendKind::Threads
        .create(Team::unpinned(2).unwrap())
        .unwrap();
    assert!(threads.run(&Job::new(Method::Mc, 0)).is_err());
}
