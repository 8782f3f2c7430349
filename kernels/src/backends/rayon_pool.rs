//! `rayon`: a dedicated pool of exactly `workers` threads, work-stealing
//! map-reduce over blocks.
//!
//! Rayon's adaptive splitter cuts a range into only a few pieces per thread
//! unless a thief keeps stealing, so on CPUs of uneven speed the fast one
//! can finish its pieces at the moment the slow one starts its last big
//! one, and nothing is left to steal: measured with a spinning process on
//! one of two CPUs (that CPU at 0.5× the other's rate), the default split
//! gave 1.01× at 2 workers, no better than an equal static split, where
//! the CPUs could give 1.49×. So the blocks are handed out in pieces of at
//! most [`PIECES_PER_WORKER`]-th of a worker's share: the fast CPU takes
//! over the slow one's remaining pieces, and at most about one piece's time
//! is lost.
//!
//! The pool is built once per backend (never the global pool, which can be
//! built only once per process) and reused by every run. Dropping the
//! backend joins its threads: a process that forks next (a process backend's
//! point in a sweep) must not still be threaded, since fork is slower then.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use rayon::prelude::*;

use super::{Backend, BackendKind, Team};
use crate::clock::{mono_ns, secs_between};
use crate::error::{Error, Result};
use crate::job::{BlockRange, Job};
use crate::named::Named;
use crate::pin::pin_worker;
use crate::report::{RunReport, WorkerOutcome};

/// Pieces each worker's share of the blocks is cut into at least: small
/// enough that a CPU at half speed holds up the end of a run by about
/// 1/64 of it, large enough (at most 64·P rayon jobs per run) that
/// handing them out costs nothing measurable.
pub const PIECES_PER_WORKER: usize = 64;

/// A rayon `ThreadPool` whose thread `i` pins itself as worker `i`.
#[derive(Debug)]
pub struct RayonPool {
    team: Team,
    /// Declared before `_threads`: fields drop in order, so the pool is told
    /// to stop before its threads are joined.
    pool: rayon::ThreadPool,
    /// Kept only to be dropped: joins the pool's threads.
    _threads: JoinOnDrop,
    setup_s: f64,
    /// The CPU each pool thread found itself on after pinning, for threads
    /// that get no block in a run.
    thread_cpus: Arc<Vec<AtomicU64>>,
}

/// The pool's threads, joined when dropped (after the pool, which ends them).
#[derive(Debug, Default)]
struct JoinOnDrop(Vec<JoinHandle<()>>);

impl Drop for JoinOnDrop {
    fn drop(&mut self) {
        for thread in self.0.drain(..) {
            // A thread that panicked has ended too; nothing more to do.
            let _ = thread.join();
        }
    }
}

/// A pool thread the system refused: its index and why.
type Refused = Option<(usize, io::Error)>;

impl RayonPool {
    /// Builds the pool; each thread pins itself as it starts.
    pub fn new(team: Team) -> Result<RayonPool> {
        RayonPool::build(team, None)
    }

    /// [`new`](Self::new), with threads of `stack_size` bytes if given (a
    /// test asks for one too large to map). A thread the system refuses is
    /// [`Error::Start`]: a failed run, not bad input.
    fn build(team: Team, stack_size: Option<usize>) -> Result<RayonPool> {
        let t0 = mono_ns();
        let cpus = team.cpus.clone();
        let thread_cpus: Arc<Vec<AtomicU64>> = Arc::new(
            (0..team.workers)
                .map(|_| AtomicU64::new(u64::MAX))
                .collect(),
        );
        let recorded = Arc::clone(&thread_cpus);
        let mut threads = JoinOnDrop::default();
        let mut refused: Refused = None;
        let mut builder = rayon::ThreadPoolBuilder::new()
            .num_threads(team.workers)
            .thread_name(|i| format!("piscale-rayon-{i}"));
        if let Some(size) = stack_size {
            builder = builder.stack_size(size);
        }
        let pool = builder
            .start_handler(move |i| {
                let cpu = pin_worker(cpus.as_ref(), i).map_or(u64::MAX, |c| c as u64);
                recorded[i].store(cpu, Ordering::Relaxed);
            })
            // Our own spawn, to keep the handles that `JoinOnDrop` joins.
            .spawn_handler(|thread| spawn_pool_thread(thread, &mut threads, &mut refused))
            .build()
            .map_err(|e| match refused.take() {
                Some((i, reason)) => Error::Start {
                    what: format!("worker {i} of the rayon pool"),
                    reason,
                },
                None => Error::Start {
                    what: "the rayon pool".into(),
                    reason: io::Error::other(e),
                },
            })?;
        // Returns once every thread has started (and so pinned itself).
        pool.broadcast(|_| ());
        Ok(RayonPool {
            team,
            pool,
            _threads: threads,
            setup_s: secs_between(t0, mono_ns()),
            thread_cpus,
        })
    }
}

/// Starts one pool thread, keeping its handle in `threads`; a thread the
/// system refuses is recorded in `refused`, since rayon keeps only the
/// error's message.
fn spawn_pool_thread(
    thread: rayon::ThreadBuilder,
    threads: &mut JoinOnDrop,
    refused: &mut Refused,
) -> io::Result<()> {
    let index = thread.index();
    let mut builder = std::thread::Builder::new();
    if let Some(name) = thread.name() {
        builder = builder.name(name.to_owned());
    }
    if let Some(size) = thread.stack_size() {
        builder = builder.stack_size(size);
    }
    match builder.spawn(|| thread.run()) {
        Ok(handle) => {
            threads.0.push(handle);
            Ok(())
        }
        Err(e) => {
            let for_rayon = io::Error::new(e.kind(), e.to_string());
            *refused = Some((index, e));
            Err(for_rayon)
        }
    }
}

/// Per-thread stamps, updated with relaxed atomics (each slot is written by
/// its own thread only; the join makes them visible).
#[derive(Default)]
struct Stamps {
    start: AtomicU64,
    end: AtomicU64,
    busy: AtomicU64,
    units: AtomicU64,
    cpu: AtomicU64,
}

impl Backend for RayonPool {
    fn kind(&self) -> BackendKind {
        BackendKind::Rayon
    }

    fn team(&self) -> &Team {
        &self.team
    }

    fn setup_s(&self) -> Option<f64> {
        Some(self.setup_s)
    }

    fn run(&mut self, job: &Job) -> Result<RunReport> {
        job.validate()?;
        let stamps: Vec<Stamps> = (0..self.team.workers).map(|_| Stamps::default()).collect();
        let t0 = mono_ns();
        // An indexed range (of usize) can be cut into pieces of a length.
        let blocks = usize::try_from(job.blocks())
            .map_err(|_| Error::Invalid("more blocks than this machine can index".into()))?;
        let max_len = blocks
            .div_ceil(PIECES_PER_WORKER * self.team.workers)
            .max(1);
        let partial = self.pool.install(|| {
            (0..blocks)
                .into_par_iter()
                .with_max_len(max_len)
                .map(|b| {
                    let b = b as u64;
                    let start = mono_ns();
                    let p = job.partial(BlockRange { first: b, count: 1 });
                    let end = mono_ns();
                    if let Some(s) = rayon::current_thread_index().and_then(|i| stamps.get(i)) {
                        if s.units.fetch_add(1, Ordering::Relaxed) == 0 {
                            s.start.store(start, Ordering::Relaxed);
                            let cpu = crate::pin::current_cpu().map_or(u64::MAX, |c| c as u64);
                            s.cpu.store(cpu, Ordering::Relaxed);
                        }
                        s.end.store(end, Ordering::Relaxed);
                        s.busy.fetch_add(end - start, Ordering::Relaxed);
                    }
                    p
                })
                .reduce(|| 0u128, u128::wrapping_add)
        });
        let t_end = mono_ns();
        let outcomes: Vec<WorkerOutcome> = stamps
            .iter()
            .zip(self.thread_cpus.iter())
            .map(|(s, at_start)| {
                let mut cpu = s.cpu.load(Ordering::Relaxed);
                if s.units.load(Ordering::Relaxed) == 0 {
                    cpu = at_start.load(Ordering::Relaxed);
                }
                WorkerOutcome {
                    partial: 0,
                    start_ns: s.start.load(Ordering::Relaxed),
                    end_ns: s.end.load(Ordering::Relaxed),
                    busy_ns: s.busy.load(Ordering::Relaxed),
                    cpu: (cpu != u64::MAX).then_some(cpu as usize),
                    units: s.units.load(Ordering::Relaxed),
                }
            })
            .collect();
        let mut report = RunReport::assemble(job, BackendKind::Rayon.name(), t0, t_end, &outcomes);
        // The reduction happened inside rayon: put its exact total in place.
        report.set_partial(job, partial);
        report.setup_s = Some(self.setup_s);
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Threads of this process whose name starts with `prefix`.
    fn threads_named(prefix: &str) -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|name| name.starts_with(prefix))
            .count()
    }

    #[test]
    fn a_pool_thread_the_system_refuses_is_a_start_error() {
        // Larger than any address space: `pthread_create` cannot map it and
        // fails, as it does when the system is out of threads.
        let unmappable = usize::MAX / 2;
        let err = RayonPool::build(Team::unpinned(2).unwrap(), Some(unmappable)).unwrap_err();
        assert!(
            matches!(&err, Error::Start { what, .. } if what == "worker 0 of the rayon pool"),
            "{err}"
        );
        assert!(
            err.to_string()
                .starts_with("cannot start worker 0 of the rayon pool: "),
            "{err}"
        );
    }

    #[test]
    fn dropping_the_backend_joins_its_threads() {
        let mut pool = RayonPool::new(Team::unpinned(3).unwrap()).unwrap();
        let job = Job::new(crate::Method::Mc, 1 << 16).block(1 << 12);
        assert!(pool.run(&job).unwrap().hits.is_some());
        assert_eq!(threads_named("piscale-rayon"), 3);
        drop(pool);
        // A joined thread has run its last instruction, but the kernel may
        // list it in /proc a moment longer while it tears the task down.
        let gone = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            threads_named("piscale-rayon") == 0
        });
        assert!(gone, "{} pool threads left", threads_named("piscale-rayon"));
    }
}
