//! Execution backends: one trait, one file per backend.
//!
//! A backend is created for a [`Team`] (how many workers, which CPUs) and then
//! runs any number of [`Job`]s. Persistent workers (the `rayon` pool, the
//! `pool-map` processes) are created once, in [`BackendKind::create`], and
//! reused by every run; their start-up time is [`Backend::setup_s`].

use std::fmt;

use serde::{Deserialize, Serialize};
use strum::EnumMessage;

use crate::error::{Error, Result};
use crate::job::Job;
use crate::named::Named;
use crate::pin::CpuList;
use crate::report::RunReport;
use crate::start::StartMethod;

mod fork_pipe;
mod fork_queue;
mod forkserver;
mod per_core;
mod pool_map;
mod process;
mod rayon_pool;
mod serial;
mod shared_mem;
mod shm_counter;
mod shm_reduce;
mod threads;
mod worker;

pub use fork_pipe::ForkPipe;
pub use fork_queue::ForkQueue;
pub(crate) use forkserver::serve as serve_forks;
pub use per_core::PerCore;
pub use pool_map::PoolMap;
pub use rayon_pool::RayonPool;
pub use serial::Serial;
pub use shm_counter::{ShmCounter, Update};
pub use shm_reduce::ShmReduce;
pub(crate) use threads::run_scoped;
pub use threads::Threads;
pub(crate) use worker::serve_spawned;

/// Largest accepted number of workers.
pub const MAX_WORKERS: usize = 4096;

/// Runs jobs on a fixed team of workers.
pub trait Backend: Send + fmt::Debug {
    /// Which backend this is.
    fn kind(&self) -> BackendKind;

    /// The team it runs on.
    fn team(&self) -> &Team;

    /// Seconds it took to start persistent workers, if the backend has any.
    fn setup_s(&self) -> Option<f64> {
        None
    }

    /// Runs one job and reports the estimate and the phase times.
    fn run(&mut self, job: &Job) -> Result<RunReport>;
}

/// How many workers, and the CPUs they pin themselves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// Number of workers (threads or processes).
    pub workers: usize,
    /// Worker `i` pins itself to `cpus[i % len]`; `None` leaves placement to the OS.
    pub cpus: Option<CpuList>,
    /// How the workers of a process backend start (the others ignore it).
    pub start: StartMethod,
}

impl Team {
    /// A validated team: 1..=[`MAX_WORKERS`] workers, a non-empty list of usable CPUs.
    pub fn new(workers: usize, cpus: Option<CpuList>) -> Result<Team> {
        if workers == 0 || workers > MAX_WORKERS {
            return Err(Error::Invalid(format!(
                "workers must be between 1 and {MAX_WORKERS}, got {workers}"
            )));
        }
        if let Some(list) = &cpus {
            if list.0.is_empty() {
                return Err(Error::Invalid("the CPU list is empty".into()));
            }
            list.check_usable()?;
        }
        Ok(Team {
            workers,
            cpus,
            start: StartMethod::Fork,
        })
    }

    /// The same team, its processes started by `start`.
    pub fn with_start(self, start: StartMethod) -> Team {
        Team { start, ..self }
    }

    /// `workers` unpinned workers.
    pub fn unpinned(workers: usize) -> Result<Team> {
        Team::new(workers, None)
    }
}

/// The backends this library runs. Adding one: a file in this folder with
/// a type implementing [`Backend`], and a variant here with its name (the
/// kebab-case of the variant), its description, its [`Traits`] and its
/// [`create`](BackendKind::create) arm. Everything else — parsing, `piscale
/// list`, plot colours, the agreement and fault tests — derives from the enum.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::Display,
    strum::IntoStaticStr,
    strum::VariantArray,
    strum::EnumMessage,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum BackendKind {
    /// One thread, blocks in order.
    #[strum(message = "one thread, every block in order: the baseline")]
    Serial,
    /// Scoped std threads, static contiguous partition.
    #[strum(message = "std::thread::scope, a static contiguous share of blocks per thread")]
    Threads,
    /// A dedicated rayon pool, map-reduce over blocks.
    #[strum(
        message = "a dedicated rayon pool of exactly P threads, work-stealing map-reduce over blocks"
    )]
    Rayon,
    /// Forked children, one pipe each.
    #[strum(
        message = "P forked processes, each writes its partial to its own pipe (Process + Pipe)"
    )]
    ForkPipe,
    /// Forked children, one padded slot each in shared memory.
    #[strum(
        message = "P forked processes, each stores its partial in a padded shared-memory slot (multiprocessing.Array)"
    )]
    ShmReduce,
    /// A reusable pool of forked processes fed chunks of blocks.
    #[strum(
        message = "a reusable pool of P processes fed chunks of blocks over pipes (Pool.map with chunksize)"
    )]
    PoolMap,
    /// Forked producers, one shared pipe: a record per chunk of blocks.
    #[strum(
        message = "P forked producers write a record per chunk of blocks (chunks dealt round-robin in advance) into ONE shared pipe, atomically, no lock (multiprocessing.Queue)"
    )]
    ForkQueue,
    /// Forked children adding each block into one shared counter under a lock.
    #[strum(
        message = "P forked processes add each block into one shared counter under a process-shared robust mutex (multiprocessing.Value + Lock)"
    )]
    ShmLock,
    /// Forked children adding each block into one shared counter atomically.
    #[strum(
        message = "P forked processes add each block into one shared counter with atomic fetch_add (the modern answer to the race)"
    )]
    ShmAtomic,
    /// Forked children updating one shared counter with no synchronisation.
    #[strum(
        message = "P forked processes add each block into one shared counter with a plain read, add, write: the race (updates get lost; the row says how many)"
    )]
    ShmRace,
    /// Pinned threads, one independent RNG stream each.
    #[strum(
        message = "P pinned threads, 8 xoshiro lanes each (lane l of worker w: the seed jumped 8w+l times): the mc answer depends on P"
    )]
    PerCore,
}

impl Named for BackendKind {
    const WHAT: &'static str = "backend";
}

/// What the harness needs to know of a backend's workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Traits {
    /// The workers are processes: a timeout or Ctrl-C kills them mid-run
    /// (threads can only stop between blocks).
    pub processes: bool,
    /// It evaluates the job's blocks, so its answer is bit-identical to
    /// `serial`'s at every worker count.
    pub block_decomposed: bool,
    /// Its workers persist between runs (a pool): their start-up is
    /// [`Backend::setup_s`], outside every run's wall time.
    pub persistent: bool,
    /// Work goes to whichever worker is free (rayon's stealing, a pool's
    /// chunks), so a faster CPU does more of it; otherwise every worker
    /// gets an equal share fixed in advance, and the run waits for the
    /// slowest CPU.
    pub dynamic: bool,
    /// It hands work over in chunks of [`Job::chunksize`](crate::Job)
    /// blocks: a pool-map task, a fork-queue record, a shared-counter
    /// update (`--chunksize`, alias `--flush`).
    pub chunked: bool,
}

impl BackendKind {
    /// A one-line description for `piscale list`.
    pub fn description(self) -> &'static str {
        self.get_message().unwrap_or_default()
    }

    /// How its workers behave. One exhaustive match, so that a new variant
    /// must say.
    pub const fn traits(self) -> Traits {
        const fn t(
            processes: bool,
            block_decomposed: bool,
            persistent: bool,
            dynamic: bool,
            chunked: bool,
        ) -> Traits {
            Traits {
                processes,
                block_decomposed,
                persistent,
                dynamic,
                chunked,
            }
        }
        match self {
            BackendKind::Serial | BackendKind::Threads => t(false, true, false, false, false),
            BackendKind::Rayon => t(false, true, true, true, false),
            BackendKind::ForkPipe | BackendKind::ShmReduce => t(true, true, false, false, false),
            BackendKind::PoolMap => t(true, true, true, true, true),
            BackendKind::ForkQueue => t(true, true, false, false, true),
            BackendKind::ShmLock | BackendKind::ShmAtomic => t(true, true, false, false, true),
            // Block-decomposed, but its answer is not serial's: it races.
            BackendKind::ShmRace => t(true, false, false, false, true),
            BackendKind::PerCore => t(false, false, false, false, false),
        }
    }

    /// How a shared-counter backend (`shm-lock`, `shm-atomic`, `shm-race`)
    /// updates its counter; `None` for the others.
    pub const fn update(self) -> Option<Update> {
        match self {
            BackendKind::ShmLock => Some(Update::Lock),
            BackendKind::ShmAtomic => Some(Update::Atomic),
            BackendKind::ShmRace => Some(Update::None),
            _ => None,
        }
    }

    /// The shared-counter backend that updates by `update` (`--sync`).
    pub const fn shared_counter(update: Update) -> BackendKind {
        match update {
            Update::Lock => BackendKind::ShmLock,
            Update::Atomic => BackendKind::ShmAtomic,
            Update::None => BackendKind::ShmRace,
        }
    }

    /// Whether the backend's workers are processes.
    pub const fn uses_processes(self) -> bool {
        self.traits().processes
    }

    /// Whether it evaluates the job's blocks, so that its answer is
    /// bit-identical to `serial`'s at every worker count (all but `per-core`).
    pub const fn is_block_decomposed(self) -> bool {
        self.traits().block_decomposed
    }

    /// Creates the backend for `team`, starting persistent workers if it has any.
    pub fn create(self, team: Team) -> Result<Box<dyn Backend>> {
        Ok(match self {
            BackendKind::Serial => Box::new(Serial::new(team)?),
            BackendKind::Threads => Box::new(Threads::new(team)),
            BackendKind::Rayon => Box::new(RayonPool::new(team)?),
            BackendKind::ForkPipe => Box::new(ForkPipe::new(team)),
            BackendKind::ShmReduce => Box::new(ShmReduce::new(team)),
            BackendKind::PoolMap => Box::new(PoolMap::new(team)?),
            BackendKind::ForkQueue => Box::new(ForkQueue::new(team)),
            BackendKind::ShmLock => Box::new(ShmCounter::new(team, Update::Lock)),
            BackendKind::ShmAtomic => Box::new(ShmCounter::new(team, Update::Atomic)),
            BackendKind::ShmRace => Box::new(ShmCounter::new(team, Update::None)),
            BackendKind::PerCore => Box::new(PerCore::new(team)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    #[test]
    fn every_backend_has_a_name_and_a_description() {
        crate::named::assert_serde_names::<BackendKind>();
        for &kind in BackendKind::VARIANTS {
            assert!(!kind.description().is_empty(), "{kind}");
            assert_eq!(kind.to_string(), kind.name());
        }
        assert_eq!(BackendKind::ForkPipe.name(), "fork-pipe");
        assert_eq!(
            BackendKind::parse("gpu").unwrap_err(),
            format!(
                "unknown backend 'gpu' (expected {})",
                BackendKind::choices()
            )
        );
        assert!(BackendKind::choices().starts_with("serial, threads, rayon, fork-pipe"));
    }
}
