//! Micro-benchmarks of piscale's building blocks, one criterion group per topic:
//!
//! - `block`: the cost of one default block (2^20 samples or steps) of each
//!   method on each instruction-set path this CPU supports
//!   (`Isa::all_supported()`), ids `block/<method>/<isa>` such as
//!   `block/mc/avx2` or `block/midpoint/scalar`, reported as elements per
//!   second;
//! - `per-core-stream`: the `per-core` backend's Monte Carlo kernel, 2^20
//!   samples of worker 1's eight jumped lanes (lane set-up included), on each
//!   supported path: `per-core-stream/mc/<isa>`;
//! - `spawn`: starting and joining the workers of the per-run backends
//!   (`fork-pipe`, `shm-reduce`, `threads`) around trivial work, at 1 and 2
//!   workers;
//! - `pool`: the `pool-map` pool's start-up (creation, and creation + drop) and
//!   its dispatch round trip (parent → worker → parent over pipes);
//! - `start`: every process backend's run of trivial work at 1 and 2 workers
//!   by each start method (`fork`, `spawn`, `forkserver`), ids
//!   `start/<backend>/<method>/<P>`, beside `start/c-fork-pipe/<P>`: the same
//!   start-up at its barest in C (`benches/c/fork_baseline.c`, built when a C
//!   compiler is present);
//! - `c-ref`: piscale's kernels beside the best plain C
//!   (`benches/c/kernels_ref.c`) on one 2^20-element block each;
//!   for `pool-map`, whose workers start once, its creation + drop.
//!
//! Every result is checked for correctness once, outside the timed loop.
//!
//! ```text
//! cargo bench -p piscale-benches --bench kernels            # full run, ~2-3 min on 2 cores
//! cargo bench -p piscale-benches --bench kernels -- --test  # each bench once
//! cargo bench -p piscale-benches --bench kernels -- spawn   # one group
//! cargo bench -p piscale-benches --bench kernels -- /avx2   # one ISA path
//! ```

use std::f64::consts::PI;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use piscale_kernels::{
    mc, midpoint, Backend, BackendKind, Isa, Job, Method, Named, StartMethod, Team, DEFAULT_BLOCK,
};
use strum::VariantArray;

/// Workers of the `pool-map` pool in the `pool` group.
const POOL_WORKERS: usize = 2;
/// Pool creations behind the printed median of `Backend::setup_s`.
const SETUP_SAMPLES: usize = 200;

fn create(kind: BackendKind, workers: usize) -> Box<dyn Backend> {
    let team = Team::unpinned(workers).expect("a valid team");
    kind.create(team)
        .unwrap_or_else(|e| panic!("creating {kind} with {workers} workers: {e}"))
}

/// A job whose compute is next to nothing: two blocks of 64 darts, so at two
/// workers each worker evaluates one block.
fn trivial_job() -> Job {
    Job::new(Method::Mc, 128).seed(1).block(64)
}

/// The exact answer of `job`, from the serial backend.
fn serial_hits(job: &Job) -> Option<u64> {
    create(BackendKind::Serial, 1)
        .run(job)
        .expect("serial run")
        .hits
}

fn bench_block(c: &mut Criterion) {
    let len = DEFAULT_BLOCK;
    let mut group = c.benchmark_group("block");
    group
        .throughput(Throughput::Elements(len))
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    // Monte Carlo: block 3 of seed 7; hits/len·4 must be near pi (the
    // standard error of one 2^20 block is ~0.0016, so 0.01 is ~6 sigma), and
    // every path must give the scalar path's hits.
    let (seed, block) = (7u64, 3u64);
    let hits = mc::block_hits_with(Isa::Scalar, seed, block, len);
    let estimate = 4.0 * hits as f64 / len as f64;
    assert!((estimate - PI).abs() < 0.01, "mc block estimate {estimate}");
    for isa in Isa::all_supported() {
        assert_eq!(mc::block_hits_with(isa, seed, block, len), hits, "{isa}");
        group.bench_with_input(BenchmarkId::new("mc", isa), &isa, |b, &isa| {
            b.iter(|| {
                mc::block_hits_with(
                    black_box(isa),
                    black_box(seed),
                    black_box(block),
                    black_box(len),
                )
            })
        });
    }

    // Midpoint: one block that is the whole integral (N = len, start 0), so
    // its estimate is pi to within the rule's error bound. The cost of a block
    // does not depend on N or on where the block starts.
    let steps = len;
    let sum = midpoint::block_sum_with(Isa::Scalar, steps, 0, len);
    let estimate = midpoint::estimate(sum, steps);
    assert!(
        (estimate - PI).abs() <= midpoint::error_bound(steps) + 1e-12,
        "midpoint block estimate {estimate}"
    );
    for isa in Isa::all_supported() {
        assert_eq!(midpoint::block_sum_with(isa, steps, 0, len), sum, "{isa}");
        group.bench_with_input(BenchmarkId::new("midpoint", isa), &isa, |b, &isa| {
            b.iter(|| {
                midpoint::block_sum_with(
                    black_box(isa),
                    black_box(steps),
                    black_box(0),
                    black_box(len),
                )
            })
        });
    }
    group.finish();
}

fn bench_per_core_stream(c: &mut Criterion) {
    // Worker 1 of a per-core run: its lanes are the seed's stream jumped
    // 8 to 15 times, set up inside the timed call as the backend does.
    let (seed, worker, count) = (7u64, 1usize, DEFAULT_BLOCK);
    let mut group = c.benchmark_group("per-core-stream");
    group
        .throughput(Throughput::Elements(count))
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let hits = mc::worker_hits_with(Isa::Scalar, seed, worker, count);
    let estimate = 4.0 * hits as f64 / count as f64;
    assert!((estimate - PI).abs() < 0.01, "per-core estimate {estimate}");
    for isa in Isa::all_supported() {
        assert_eq!(
            mc::worker_hits_with(isa, seed, worker, count),
            hits,
            "{isa}"
        );
        group.bench_with_input(BenchmarkId::new("mc", isa), &isa, |b, &isa| {
            b.iter(|| {
                mc::worker_hits_with(
                    black_box(isa),
                    black_box(seed),
                    black_box(worker),
                    black_box(count),
                )
            })
        });
    }
    group.finish();
}

fn bench_spawn(c: &mut Criterion) {
    let job = trivial_job();
    let expected = serial_hits(&job);
    let mut group = c.benchmark_group("spawn");
    group
        .sample_size(40)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for kind in [
        BackendKind::ForkPipe,
        BackendKind::ShmReduce,
        BackendKind::Threads,
    ] {
        for workers in [1, 2] {
            let mut backend = create(kind, workers);
            let report = backend.run(&job).expect("trivial run");
            assert_eq!(report.hits, expected, "{kind} at {workers} workers");
            assert_eq!(report.workers, workers);
            group.bench_with_input(BenchmarkId::new(kind.name(), workers), &job, |b, job| {
                b.iter(|| backend.run(job).expect("trivial run"))
            });
        }
    }
    group.finish();
}

fn bench_start(c: &mut Criterion) {
    piscale_kernels::start::set_worker_program(env!("CARGO_BIN_EXE_piscale-bench-worker").into());
    let job = trivial_job();
    let expected = serial_hits(&job);
    let mut group = c.benchmark_group("start");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    // The C baseline first: pipe + fork + write + _exit + read + waitpid
    // per worker, from this same process (benches/c/fork_baseline.c).
    #[cfg(c_baseline)]
    for workers in [1, 2] {
        assert_eq!(c::run(workers), 0, "the C baseline failed");
        group.bench_function(BenchmarkId::new("c-fork-pipe", workers), |b| {
            b.iter(|| c::run(black_box(workers)))
        });
    }
    let processes = BackendKind::VARIANTS
        .iter()
        .copied()
        .filter(|k| k.uses_processes());
    for kind in processes {
        for &start in StartMethod::VARIANTS {
            for workers in [1, 2] {
                let team = Team::unpinned(workers)
                    .expect("a valid team")
                    .with_start(start);
                let id = BenchmarkId::new(format!("{kind}/{start}"), workers);
                if kind.traits().persistent {
                    // A pool starts its workers once: time its creation + drop.
                    group.bench_function(id, |b| {
                        b.iter(|| kind.create(team.clone()).expect("pool start"))
                    });
                    continue;
                }
                let mut backend = kind.create(team).expect("backend");
                let report = backend.run(&job).expect("trivial run");
                // shm-race may lose updates: only the others' hits are serial's.
                if kind.is_block_decomposed() {
                    let what = format!("{kind} ({start}) at {workers} workers");
                    assert_eq!(report.hits, expected, "{what}");
                }
                assert_eq!(report.start, Some(start));
                group.bench_with_input(id, &job, |b, job| {
                    b.iter(|| backend.run(job).expect("trivial run"))
                });
            }
        }
    }
    group.finish();
}

/// piscale's kernels beside the best plain C (`benches/c/kernels_ref.c`,
/// -O3 -march=native -ffast-math) on one 2^20-element block each, on this
/// CPU's widest path: `c-ref/<method>/piscale`, `c-ref/<method>/c` (and
/// `c-ref/midpoint/c-pairs`, the C with piscale's two steps per division).
#[cfg(c_kernels)]
fn bench_c_ref(c: &mut Criterion) {
    let len = DEFAULT_BLOCK;
    let mut group = c.benchmark_group("c-ref");
    group
        .throughput(Throughput::Elements(len))
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let isa = Isa::detect();
    let pi_of = |sum: f64| sum / len as f64;
    let rust = midpoint::block_sum(len, 0, len) as f64 / 2f64.powi(64);
    for (name, sum) in [
        ("piscale", rust),
        ("c", c::midpoint(len, 0, len)),
        ("c-pairs", c::midpoint_pairs(len, 0, len)),
    ] {
        assert!((pi_of(sum) - PI).abs() < 1e-9, "{name}: {}", pi_of(sum));
    }
    group.bench_function(BenchmarkId::new("midpoint/piscale", isa), |b| {
        b.iter(|| midpoint::block_sum(black_box(len), black_box(0), black_box(len)))
    });
    group.bench_function("midpoint/c", |b| {
        b.iter(|| c::midpoint(black_box(len), black_box(0), black_box(len)))
    });
    group.bench_function("midpoint/c-pairs", |b| {
        b.iter(|| c::midpoint_pairs(black_box(len), black_box(0), black_box(len)))
    });
    let hits = c::mc(7, len);
    assert!(
        (4.0 * hits as f64 / len as f64 - PI).abs() < 0.01,
        "c mc {hits}"
    );
    group.bench_function(BenchmarkId::new("mc/piscale", isa), |b| {
        b.iter(|| mc::block_hits(black_box(7), black_box(0), black_box(len)))
    });
    group.bench_function("mc/c", |b| b.iter(|| c::mc(black_box(7), black_box(len))));
    group.finish();
}

#[cfg(not(c_kernels))]
fn bench_c_ref(_: &mut Criterion) {}

/// The C baselines, linked by `build.rs`.
#[cfg(any(c_baseline, c_kernels))]
#[path = "c_ffi.rs"]
mod c;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn bench_pool(c: &mut Criterion) {
    // The pool's own start-up clock: fork every worker until all report ready.
    let setup: Vec<f64> = (0..SETUP_SAMPLES)
        .map(|_| {
            create(BackendKind::PoolMap, POOL_WORKERS)
                .setup_s()
                .expect("pool-map reports its setup time")
        })
        .collect();
    let (lo, hi) = setup.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &s| {
        (lo.min(s), hi.max(s))
    });
    println!(
        "pool-map setup_s over {SETUP_SAMPLES} creations, {POOL_WORKERS} workers: \
         median {:.1} us (min {:.1} us, max {:.1} us)",
        median(setup) * 1e6,
        lo * 1e6,
        hi * 1e6,
    );

    let mut group = c.benchmark_group("pool");
    group
        .sample_size(40)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    // (a) Start-up. `create` times only the creation (the pool is dropped
    // outside the clock); `create+drop` also closes the task pipes and reaps
    // the workers.
    group.bench_function(BenchmarkId::new("create", POOL_WORKERS), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let pool = create(BackendKind::PoolMap, POOL_WORKERS);
                total += t.elapsed();
                drop(black_box(pool));
            }
            total
        })
    });
    group.bench_function(BenchmarkId::new("create+drop", POOL_WORKERS), |b| {
        b.iter(|| create(BackendKind::PoolMap, POOL_WORKERS))
    });

    // (b) Dispatch round trip: one task of one trivial block on a warm pool.
    let job = Job {
        chunksize: Some(1),
        ..Job::new(Method::Mc, 64).seed(1).block(64)
    };
    let expected = serial_hits(&job);
    let mut pool = create(BackendKind::PoolMap, POOL_WORKERS);
    let report = pool.run(&job).expect("pool run");
    assert_eq!(report.hits, expected, "pool-map round trip");
    assert_eq!(report.chunksize, Some(1));
    group.bench_with_input(
        BenchmarkId::new("round-trip", POOL_WORKERS),
        &job,
        |b, job| b.iter(|| pool.run(job).expect("pool run")),
    );
    group.finish();
}

criterion_group!(block, bench_block);
criterion_group!(per_core_stream, bench_per_core_stream);
criterion_group!(spawn, bench_spawn);
criterion_group!(pool, bench_pool);
criterion_group!(start, bench_start);
criterion_group!(c_ref, bench_c_ref);
criterion_main!(block, per_core_stream, spawn, pool, start, c_ref);
