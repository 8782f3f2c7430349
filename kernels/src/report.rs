//! What a run returns: per-worker outcomes and the assembled [`RunReport`].

use serde::Serialize;

use crate::clock::{mono_ns, secs_between};
use crate::isa::Isa;
use crate::job::{BlockRange, Job, Method};
use crate::pin::{pin_worker, CpuList};
use crate::start::StartMethod;
use crate::{mc, midpoint};

/// What one worker reports, in a fixed 64-byte layout (one cache line) that
/// a forked child can write to a pipe or a shared slot without allocating.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerOutcome {
    /// Exact partial: hits (`mc`) or 64.64 fixed-point sum (`midpoint`).
    pub partial: u128,
    /// `CLOCK_MONOTONIC` ns when the worker started computing.
    pub start_ns: u64,
    /// `CLOCK_MONOTONIC` ns when it finished its last piece of work.
    pub end_ns: u64,
    /// ns spent computing (less than `end - start` for a pool worker that waited).
    pub busy_ns: u64,
    /// The CPU it ran on, if known.
    pub cpu: Option<usize>,
    /// Blocks (or samples, for `per-core`) it evaluated.
    pub units: u64,
}

/// Size of [`WorkerOutcome::to_bytes`].
pub const OUTCOME_BYTES: usize = 64;

impl WorkerOutcome {
    /// Runs `range` of `job` as worker `worker`: pins, stamps, computes.
    /// Allocation-free and panic-free: the body of every static worker,
    /// thread or forked process.
    pub fn compute(
        job: &Job,
        range: BlockRange,
        cpus: Option<&CpuList>,
        worker: usize,
    ) -> WorkerOutcome {
        WorkerOutcome::timed(cpus, worker, range.count, || job.partial(range))
    }

    /// Pins worker `worker`, then runs `work` between two clock stamps.
    /// Allocation-free and panic-free as long as `work` is.
    pub fn timed(
        cpus: Option<&CpuList>,
        worker: usize,
        units: u64,
        work: impl FnOnce() -> u128,
    ) -> WorkerOutcome {
        let cpu = pin_worker(cpus, worker);
        let start_ns = mono_ns();
        let partial = work();
        let end_ns = mono_ns();
        WorkerOutcome {
            partial,
            start_ns,
            end_ns,
            busy_ns: end_ns.saturating_sub(start_ns),
            cpu,
            units,
        }
    }

    /// Pins worker `worker`, runs `ready` (a start barrier, outside the
    /// stamps), then `work(start_ns)`, which returns the units it evaluated;
    /// the partial is 0. The body of a [`capacity`](crate::capacity) worker.
    pub(crate) fn timed_after(
        cpus: Option<&CpuList>,
        worker: usize,
        ready: impl FnOnce(),
        work: impl FnOnce(u64) -> u64,
    ) -> WorkerOutcome {
        let cpu = pin_worker(cpus, worker);
        ready();
        let start_ns = mono_ns();
        let units = work(start_ns);
        let end_ns = mono_ns();
        WorkerOutcome {
            partial: 0,
            start_ns,
            end_ns,
            busy_ns: end_ns.saturating_sub(start_ns),
            cpu,
            units,
        }
    }

    /// Little-endian wire form. The last word is a non-zero marker so a
    /// reader can tell a complete record from zeroed memory.
    pub fn to_bytes(&self) -> [u8; OUTCOME_BYTES] {
        let words: [u64; 8] = [
            self.partial as u64,
            (self.partial >> 64) as u64,
            self.start_ns,
            self.end_ns,
            self.busy_ns,
            self.cpu.map_or(u64::MAX, |c| c as u64),
            self.units,
            COMPLETE,
        ];
        let mut out = [0u8; OUTCOME_BYTES];
        for (chunk, w) in out.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// Parses [`to_bytes`](Self::to_bytes); `None` if the completion marker is missing.
    pub fn from_bytes(bytes: &[u8; OUTCOME_BYTES]) -> Option<WorkerOutcome> {
        let mut w = [0u64; 8];
        for (word, chunk) in w.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *word = u64::from_le_bytes(b);
        }
        (w[7] == COMPLETE).then(|| WorkerOutcome {
            partial: w[0] as u128 | (w[1] as u128) << 64,
            start_ns: w[2],
            end_ns: w[3],
            busy_ns: w[4],
            cpu: (w[5] != u64::MAX).then_some(w[5] as usize),
            units: w[6],
        })
    }
}

const COMPLETE: u64 = 0x7069_7363_616c_6521; // "piscale!"

/// The result of one run: the estimate, its exact partial, and where the time went.
///
/// Phases come from one monotonic clock shared by parent and workers:
/// `spawn_s` runs from the start to the moment the last worker began
/// computing, `reduce_s` from the moment the last worker finished to the
/// end, and `compute_s` is what lies between, so the three add up to `wall_s`.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Method.
    pub method: Method,
    /// Backend name.
    pub backend: &'static str,
    /// Number of workers.
    pub workers: usize,
    /// Total work N.
    pub samples: u64,
    /// Seed.
    pub seed: u64,
    /// Block size.
    pub block: u64,
    /// The instruction set the kernels ran on (the job's, or the widest
    /// narrower one this CPU has) — the answer is the same on every path,
    /// the speed is not.
    pub isa: Isa,
    /// Blocks per task, record or update (the chunked backends).
    pub chunksize: Option<u64>,
    /// How the workers started (the process backends).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<StartMethod>,
    /// The pi estimate.
    pub estimate: f64,
    /// |estimate − pi|.
    pub abs_error: f64,
    /// Standard error of the estimate (`mc` only).
    pub std_error: Option<f64>,
    /// Bound on the discretisation error (`midpoint` only).
    pub error_bound: Option<f64>,
    /// Hits inside the quarter circle (`mc` only): bit-identical across
    /// block backends and worker counts.
    pub hits: Option<u64>,
    /// Wall time of the run, in seconds.
    pub wall_s: f64,
    /// Start until every worker is computing.
    pub spawn_s: f64,
    /// Critical-path compute time.
    pub compute_s: f64,
    /// Last worker done until the result is assembled (join, reap, reduce).
    pub reduce_s: f64,
    /// One-off start-up of persistent workers (the `pool-map` pool), not in `wall_s`.
    pub setup_s: Option<f64>,
    /// Throughput, samples (or steps) per second of wall time.
    pub samples_per_s: f64,
    /// The CPU each worker ran on.
    pub cpus: Vec<Option<usize>>,
    /// Seconds each worker spent computing.
    pub worker_compute_s: Vec<f64>,
    /// How much of the work each worker did, in the backend's units
    /// (blocks; samples for `per-core`): with `worker_compute_s`, each
    /// worker's rate relative to the others'.
    pub worker_units: Vec<u64>,
    /// The host each worker ran on, for backends whose workers may run on
    /// other machines (`mpi`); empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// Exact combined partial (hits or 64.64 fixed-point sum).
    #[serde(skip)]
    pub partial: u128,
    /// Updates the race lost (`shm-race`): the answer is wrong on purpose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub race: Option<Race>,
}

/// What an unsynchronised shared counter lost (`shm-race`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Race {
    /// Updates the workers made: one per `--flush` blocks.
    pub updates: u64,
    /// Of them, the ones the counter's own count of updates lost (it races
    /// like the sum, so it can miss a loss: at least 1 when the sum is wrong).
    pub lost: u64,
    /// The partial the counter ended with (the answer reported).
    pub counted: u128,
    /// The partial the workers' private totals add up to.
    pub exact: u128,
}

impl std::fmt::Display for Race {
    /// `race: 1843 of 1048576 updates lost (counted 78412000, exact 78541854)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "race: {} of {} updates lost (counted {}, exact {})",
            self.lost, self.updates, self.counted, self.exact
        )
    }
}

impl RunReport {
    /// Combines worker outcomes between the parent's stamps `t0` and `t_end`.
    pub fn assemble(
        job: &Job,
        backend: &'static str,
        t0: u64,
        t_end: u64,
        outcomes: &[WorkerOutcome],
    ) -> RunReport {
        let partial = outcomes
            .iter()
            .fold(0u128, |acc, o| acc.wrapping_add(o.partial));
        let last_start = outcomes
            .iter()
            .map(|o| o.start_ns)
            .max()
            .unwrap_or(t0)
            .max(t0);
        let last_end = outcomes
            .iter()
            .map(|o| o.end_ns)
            .max()
            .unwrap_or(last_start)
            .clamp(last_start, t_end.max(last_start));
        let phases = Phases {
            spawn_s: secs_between(t0, last_start),
            compute_s: secs_between(last_start, last_end),
            reduce_s: secs_between(last_end, t_end),
        };
        let workers = outcomes
            .iter()
            .map(|o| (o.cpu, o.busy_ns as f64 * 1e-9, o.units, None))
            .collect();
        RunReport::new(
            job,
            backend,
            secs_between(t0, t_end),
            phases,
            partial,
            workers,
        )
    }

    /// A run whose phases were measured elsewhere — by the ranks of an MPI
    /// job, on clocks this process cannot read. `wall_s` is their sum.
    pub fn from_phases(
        job: &Job,
        backend: &'static str,
        phases: Phases,
        partial: u128,
        workers: Vec<RemoteWorker>,
    ) -> RunReport {
        let wall_s = phases.spawn_s + phases.compute_s + phases.reduce_s;
        // Ranks take the static share of their rank, as `threads` does.
        let ranks = workers.len();
        let workers = workers
            .into_iter()
            .enumerate()
            .map(|(rank, w)| {
                let units = job.static_share(rank, ranks).count;
                (w.cpu, w.compute_s, units, Some(w.host))
            })
            .collect();
        RunReport::new(job, backend, wall_s, phases, partial, workers)
    }

    /// The report of `workers` (CPU, compute seconds, units, host) over
    /// `phases`.
    fn new(
        job: &Job,
        backend: &'static str,
        wall_s: f64,
        phases: Phases,
        partial: u128,
        workers: Vec<(Option<usize>, f64, u64, Option<String>)>,
    ) -> RunReport {
        let mut report = RunReport {
            method: job.method,
            backend,
            workers: workers.len(),
            samples: job.samples,
            seed: job.seed,
            block: job.block,
            isa: job.isa.usable(),
            chunksize: None,
            start: None,
            estimate: 0.0,
            abs_error: 0.0,
            std_error: None,
            error_bound: None,
            hits: None,
            wall_s,
            spawn_s: phases.spawn_s,
            compute_s: phases.compute_s,
            reduce_s: phases.reduce_s,
            setup_s: None,
            samples_per_s: if wall_s > 0.0 {
                job.samples as f64 / wall_s
            } else {
                0.0
            },
            cpus: workers.iter().map(|w| w.0).collect(),
            worker_compute_s: workers.iter().map(|w| w.1).collect(),
            worker_units: workers.iter().map(|w| w.2).collect(),
            hosts: workers.into_iter().filter_map(|w| w.3).collect(),
            partial: 0,
            race: None,
        };
        report.set_partial(job, partial);
        report
    }

    /// Sets the exact partial and the estimate and errors derived from it.
    pub fn set_partial(&mut self, job: &Job, partial: u128) {
        self.partial = partial;
        match job.method {
            Method::Mc => {
                let hits = partial as u64;
                let (estimate, se) = mc::estimate(hits, job.samples);
                self.estimate = estimate;
                self.std_error = Some(se);
                self.hits = Some(hits);
            }
            Method::Midpoint => {
                self.estimate = midpoint::estimate(partial, job.samples);
                self.error_bound = Some(midpoint::error_bound(job.samples));
            }
        }
        self.abs_error = (self.estimate - std::f64::consts::PI).abs();
    }
}

/// The three phases of a run, in seconds (see [`RunReport`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Phases {
    /// Start until every worker is computing.
    pub spawn_s: f64,
    /// Critical-path compute time.
    pub compute_s: f64,
    /// Last worker done until the result is assembled.
    pub reduce_s: f64,
}

/// What a worker in another process or on another machine reported.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteWorker {
    /// The host it ran on.
    pub host: String,
    /// The CPU it ran on, if known.
    pub cpu: Option<usize>,
    /// Seconds it spent computing.
    pub compute_s: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_round_trips_through_bytes() {
        let o = WorkerOutcome {
            partial: (7u128 << 64) | 42,
            start_ns: 1,
            end_ns: 2,
            busy_ns: 1,
            cpu: Some(3),
            units: 9,
        };
        assert_eq!(WorkerOutcome::from_bytes(&o.to_bytes()), Some(o));
        let unknown = WorkerOutcome { cpu: None, ..o };
        assert_eq!(
            WorkerOutcome::from_bytes(&unknown.to_bytes()),
            Some(unknown)
        );
        assert_eq!(WorkerOutcome::from_bytes(&[0; OUTCOME_BYTES]), None);
    }

    #[test]
    fn remote_phases_make_the_wall_time_and_keep_hosts() {
        let job = Job::new(Method::Mc, 100);
        let phases = Phases {
            spawn_s: 0.25,
            compute_s: 0.5,
            reduce_s: 0.125,
        };
        let worker = |host: &str, cpu| RemoteWorker {
            host: host.into(),
            cpu,
            compute_s: 0.5,
        };
        let r = RunReport::from_phases(
            &job,
            "mpi",
            phases,
            79,
            vec![worker("a", Some(0)), worker("b", None)],
        );
        assert_eq!(r.wall_s, 0.875);
        assert_eq!((r.workers, r.hits), (2, Some(79)));
        assert_eq!(r.cpus, [Some(0), None]);
        assert_eq!(r.hosts, ["a", "b"]);
    }

    #[test]
    fn phases_add_up_to_wall_time() {
        let job = Job::new(Method::Mc, 100);
        let outcomes = [
            WorkerOutcome {
                start_ns: 1_000,
                end_ns: 5_000,
                ..Default::default()
            },
            WorkerOutcome {
                start_ns: 2_000,
                end_ns: 7_000,
                ..Default::default()
            },
        ];
        let r = RunReport::assemble(&job, "test", 0, 10_000, &outcomes);
        assert_eq!(r.spawn_s, 2e-6);
        assert_eq!(r.compute_s, 5e-6);
        assert_eq!(r.reduce_s, 3e-6);
        assert!((r.spawn_s + r.compute_s + r.reduce_s - r.wall_s).abs() < 1e-15);
    }
}
