//! Execution backends: one trait, one file per backend.
//!
//! A backend is created for a [`Team`] (how many workers, which CPUs) and then
//! runs any number of [`Job`]s. Persistent workers (the `rayon` pool, the
//! `pool-map` processes) are created once, in [`BackendKind::create`], and
//! reused by every run; their start-up time is [`Backend::setup_s`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::job::Job;
use crate::pin::CpuList;
use crate::report::RunReport;

mod fork_pipe;
mod per_core;
mod pool_map;
mod process;
mod rayon_pool;
mod serial;
mod shm_reduce;
mod threads;

pub use fork_pipe::ForkPipe;
pub use per_core::PerCore;
pub use pool_map::PoolMap;
pub use rayon_pool::RayonPool;
pub use serial::Serial;
pub use shm_reduce::ShmReduce;
pub use threads::Threads;

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
        Ok(Team { workers, cpus })
    }

    /// `workers` unpinned workers.
    pub fn unpinned(workers: usize) -> Result<Team> {
        Team::new(workers, None)
    }
}

/// The backends piscale knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// One thread, blocks in order.
    Serial,
    /// Scoped std threads, static contiguous partition.
    Threads,
    /// A dedicated rayon pool, map-reduce over blocks.
    Rayon,
    /// Forked children, one pipe each.
    ForkPipe,
    /// Forked children, one padded slot each in shared memory.
    ShmReduce,
    /// A reusable pool of forked processes fed chunks of blocks.
    PoolMap,
    /// Pinned threads, one independent RNG stream each.
    PerCore,
    /// MPI ranks started by `mpirun` (or `srun`), a static share of blocks
    /// each, reduced to rank 0 with `MPI_Reduce`. The ranks are separate
    /// programs, so the harness launches them; [`BackendKind::create`]
    /// refuses it.
    Mpi,
}

impl BackendKind {
    /// The backends this library runs itself ([`create`](Self::create)):
    /// every one but `mpi`.
    pub const LOCAL: [BackendKind; 7] = [
        BackendKind::Serial,
        BackendKind::Threads,
        BackendKind::Rayon,
        BackendKind::ForkPipe,
        BackendKind::ShmReduce,
        BackendKind::PoolMap,
        BackendKind::PerCore,
    ];

    /// Every backend, in display order: [`LOCAL`](Self::LOCAL), then `mpi`.
    pub const ALL: [BackendKind; 8] = {
        let mut all = [BackendKind::Mpi; 8];
        let mut i = 0;
        while i < BackendKind::LOCAL.len() {
            all[i] = BackendKind::LOCAL[i];
            i += 1;
        }
        all
    };

    /// The name used on the command line and in result files.
    pub const fn name(self) -> &'static str {
        match self {
            BackendKind::Serial => "serial",
            BackendKind::Threads => "threads",
            BackendKind::Rayon => "rayon",
            BackendKind::ForkPipe => "fork-pipe",
            BackendKind::ShmReduce => "shm-reduce",
            BackendKind::PoolMap => "pool-map",
            BackendKind::PerCore => "per-core",
            BackendKind::Mpi => "mpi",
        }
    }

    /// A one-line description for `piscale list`.
    pub const fn description(self) -> &'static str {
        match self {
            BackendKind::Serial => "one thread, every block in order: the baseline",
            BackendKind::Threads => "std::thread::scope, a static contiguous share of blocks per thread",
            BackendKind::Rayon => "a dedicated rayon pool of exactly P threads, work-stealing map-reduce over blocks",
            BackendKind::ForkPipe => "P forked processes, each writes its partial to its own pipe (Process + Pipe)",
            BackendKind::ShmReduce => "P forked processes, each stores its partial in a padded shared-memory slot (multiprocessing.Array)",
            BackendKind::PoolMap => "a reusable pool of P processes fed chunks of blocks over pipes (Pool.map with chunksize)",
            BackendKind::PerCore => "P pinned threads, 8 xoshiro lanes each (lane l of worker w: the seed jumped 8w+l times): the mc answer depends on P",
            BackendKind::Mpi => "P MPI ranks launched by mpirun or srun, a static share of blocks each, MPI_Reduce to rank 0 (build with --features mpi)",
        }
    }

    /// Whether the backend's workers are processes.
    pub const fn uses_processes(self) -> bool {
        matches!(
            self,
            BackendKind::ForkPipe
                | BackendKind::ShmReduce
                | BackendKind::PoolMap
                | BackendKind::Mpi
        )
    }

    /// Whether it evaluates the job's blocks, so that its answer is
    /// bit-identical to `serial`'s at every worker count (all but `per-core`).
    pub const fn is_block_decomposed(self) -> bool {
        !matches!(self, BackendKind::PerCore)
    }

    /// Whether this library runs it (see [`LOCAL`](Self::LOCAL)).
    pub const fn is_local(self) -> bool {
        !matches!(self, BackendKind::Mpi)
    }

    /// Creates the backend for `team`, starting persistent workers if it has any.
    ///
    /// `mpi` is refused with [`Error::Invalid`]: its ranks are programs
    /// started by `mpirun`, which the `piscale` binary launches.
    pub fn create(self, team: Team) -> Result<Box<dyn Backend>> {
        Ok(match self {
            BackendKind::Serial => Box::new(Serial::new(team)?),
            BackendKind::Threads => Box::new(Threads::new(team)),
            BackendKind::Rayon => Box::new(RayonPool::new(team)?),
            BackendKind::ForkPipe => Box::new(ForkPipe::new(team)),
            BackendKind::ShmReduce => Box::new(ShmReduce::new(team)),
            BackendKind::PoolMap => Box::new(PoolMap::new(team)?),
            BackendKind::PerCore => Box::new(PerCore::new(team)),
            BackendKind::Mpi => {
                return Err(Error::Invalid(
                    "the mpi backend's ranks are started by mpirun: run it with `piscale run --backend mpi`".into(),
                ))
            }
        })
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        BackendKind::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = BackendKind::ALL.iter().map(|b| b.name()).collect();
                Error::Invalid(format!(
                    "unknown backend '{s}' (expected one of: {})",
                    names.join(", ")
                ))
            })
    }
}
