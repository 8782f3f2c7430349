//! What the machine can give: p pinned workers, each evaluating the method's
//! blocks for a fixed *time*, sharing nothing.
//!
//! A backend's speed-up mixes two things: how fast the CPUs it ran on are
//! when they all compute at once (clock drops as cores wake, SMT siblings
//! sharing a core, efficiency cores, a vCPU the hypervisor gives less), and
//! what the parallel code loses (waiting for the slowest share, starting
//! workers, reducing). A capacity run measures the first alone. Its workers
//! start together (a barrier), each runs the job's own kernel on its own
//! blocks until the duration has passed, and none waits for another — so
//! the sum of their rates R(p), over R(1), is the speed-up these CPUs can
//! physically give: the capacity C(p). Fixed time, not fixed work, is what
//! makes it so: with fixed work the fast workers would finish and idle,
//! and the run would measure the slowest CPU instead of all of them.
//!
//! Each worker's rate is its samples over its own busy time, from stamps
//! around whole blocks, so a block that ends past the deadline still counts
//! exactly; the duration only needs to be long enough for the workers to
//! overlap (their starts differ by microseconds) and to see the clock
//! speed the CPUs settle at.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::backends::{run_scoped, Team};
use crate::cancel;
use crate::clock::{mono_ns, secs_between};
use crate::error::{Error, Result};
use crate::job::{BlockRange, Job};
use crate::report::{Phases, WorkerOutcome};

/// One capacity run: when it ran and what each worker did.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityRun {
    /// Real wall time of the run, seconds (about the duration asked for).
    pub wall_s: f64,
    /// Its phases, like a backend's: starting the workers, computing, joining.
    pub phases: Phases,
    /// What each worker did, in worker order.
    pub workers: Vec<CapacityWorker>,
}

/// What one worker of a capacity run did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CapacityWorker {
    /// The CPU it ran on, if known.
    pub cpu: Option<usize>,
    /// Seconds it computed.
    pub busy_s: f64,
    /// Samples (or steps) it evaluated.
    pub samples: u64,
}

impl CapacityWorker {
    /// Its rate, samples per nanosecond.
    pub fn rate(&self) -> f64 {
        if self.busy_s > 0.0 {
            self.samples as f64 / self.busy_s / 1e9
        } else {
            0.0
        }
    }
}

impl CapacityRun {
    /// The aggregate rate R(p): the sum of the workers' rates, samples per
    /// nanosecond.
    pub fn rate(&self) -> f64 {
        self.workers.iter().map(CapacityWorker::rate).sum()
    }

    /// The time `samples` would take at [`rate`](Self::rate) — a run with
    /// no load imbalance and no overhead on these CPUs — in seconds.
    pub fn equivalent_s(&self, samples: u64) -> f64 {
        samples as f64 / (self.rate() * 1e9)
    }
}

/// Runs `job`'s kernel on `team` for `duration`: worker `w` of `p`
/// evaluates blocks `w`, `w + p`, `w + 2p`, … (cycling through the job's
/// blocks) until `duration` has passed since the common start. Every worker
/// evaluates at least one block. Ctrl-C ([`cancel::request`]) stops it
/// between blocks with [`Error::Cancelled`].
pub fn measure(job: &Job, team: &Team, duration: Duration) -> Result<CapacityRun> {
    job.validate()?;
    let (p, cpus) = (team.workers, team.cpus.as_ref());
    let blocks = job.blocks();
    let limit_ns = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    let start = StartLine::default();
    let t0 = mono_ns();
    let outcomes = run_scoped(p, |w| {
        WorkerOutcome::timed_after(
            cpus,
            w,
            || start.wait(p, StartLine::PATIENCE),
            |began| {
                let (mut samples, mut b) = (0u64, w as u64 % blocks);
                loop {
                    let range = BlockRange { first: b, count: 1 };
                    let _ = std::hint::black_box(job.partial(range));
                    samples += job.block.min(job.samples - b * job.block);
                    b = (b + p as u64) % blocks;
                    if mono_ns().saturating_sub(began) >= limit_ns || cancel::requested() {
                        return samples;
                    }
                }
            },
        )
    })?;
    let t_end = mono_ns();
    if cancel::requested() {
        return Err(Error::Cancelled);
    }
    let last_start = outcomes.iter().map(|o| o.start_ns).max().unwrap_or(t0);
    let last_end = outcomes.iter().map(|o| o.end_ns).max().unwrap_or(t_end);
    Ok(CapacityRun {
        wall_s: secs_between(t0, t_end),
        phases: Phases {
            spawn_s: secs_between(t0, last_start),
            compute_s: secs_between(last_start, last_end),
            reduce_s: secs_between(last_end, t_end),
        },
        workers: outcomes
            .iter()
            .map(|o| CapacityWorker {
                cpu: o.cpu,
                busy_s: o.busy_ns as f64 * 1e-9,
                samples: o.units,
            })
            .collect(),
    })
}

/// Where the workers wait for each other before computing, so that they
/// all compute at once. Unlike `std::sync::Barrier` it gives up after
/// [`StartLine::PATIENCE`]: when the system refuses a thread, the ones
/// already started must still end (and be joined) instead of waiting
/// forever for it.
#[derive(Debug, Default)]
struct StartLine {
    arrived: AtomicUsize,
}

impl StartLine {
    /// Far longer than starting any number of threads takes.
    const PATIENCE: Duration = Duration::from_secs(2);

    /// Arrives, then waits until `workers` have arrived or `patience`
    /// runs out. Yields while waiting: with more workers than CPUs, the
    /// ones still to start need the CPU.
    fn wait(&self, workers: usize, patience: Duration) {
        self.arrived.fetch_add(1, Ordering::SeqCst);
        let since = Instant::now();
        while self.arrived.load(Ordering::SeqCst) < workers && since.elapsed() < patience {
            thread::yield_now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::Method;
    use strum::VariantArray;

    #[test]
    fn every_worker_computes_for_about_the_duration() {
        for &method in Method::VARIANTS {
            let job = Job::new(method, 1 << 24).block(1 << 12);
            let team = Team::unpinned(3).unwrap();
            let run = measure(&job, &team, Duration::from_millis(30)).unwrap();
            assert_eq!(run.workers.len(), 3);
            for w in &run.workers {
                assert!(w.busy_s >= 0.03, "{method}: {w:?}");
                assert!(w.samples > 0 && w.samples % (1 << 12) == 0, "{w:?}");
                assert!(w.rate() > 0.0);
            }
            let sum: f64 = run.workers.iter().map(CapacityWorker::rate).sum();
            assert_eq!(run.rate(), sum);
            let p = run.phases;
            assert!((p.spawn_s + p.compute_s + p.reduce_s - run.wall_s).abs() < 1e-9);
            assert!(run.wall_s >= 0.03 && run.wall_s < 5.0, "{run:?}");
        }
    }

    #[test]
    fn a_block_longer_than_the_duration_still_counts_once() {
        // One block of the whole job: every worker does exactly one (the
        // last block is the short remainder, cycled through by worker 1).
        let job = Job::new(Method::Mc, 1000).block(600);
        let run = measure(&job, &Team::unpinned(2).unwrap(), Duration::ZERO).unwrap();
        let samples: Vec<u64> = run.workers.iter().map(|w| w.samples).collect();
        assert_eq!(samples, [600, 400]);
    }

    #[test]
    fn a_worker_that_never_arrives_does_not_hold_the_others_forever() {
        let (line, patience) = (StartLine::default(), Duration::from_millis(50));
        let since = Instant::now();
        line.wait(2, patience);
        assert!(since.elapsed() >= patience);
        // The second one to arrive goes at once.
        let since = Instant::now();
        line.wait(2, StartLine::PATIENCE);
        assert!(since.elapsed() < StartLine::PATIENCE);
    }

    #[test]
    fn the_equivalent_time_is_the_work_over_the_rate() {
        let run = CapacityRun {
            wall_s: 0.2,
            phases: Phases::default(),
            workers: vec![
                CapacityWorker {
                    cpu: Some(0),
                    busy_s: 0.2,
                    samples: 400_000_000,
                },
                CapacityWorker {
                    cpu: Some(1),
                    busy_s: 0.25,
                    samples: 400_000_000,
                },
            ],
        };
        // 2 + 1.6 samples/ns.
        assert!((run.rate() - 3.6).abs() < 1e-12);
        assert!((run.equivalent_s(3_600_000_000) - 1.0).abs() < 1e-12);
    }
}
