//! `shm-reduce`: `workers` forked children, each storing its partial in its
//! own padded slot of a `MAP_SHARED` mapping (of a memfd: see `shared_mem.rs`); the parent reaps them
//! all, then reduces the array (the course's `multiprocessing.Array`).
//!
//! The mapping is made by the first run and reused, cleared, by every later
//! one: mapping a fresh shared page, the fault that allocates it and the
//! unmapping cost about 45 µs per run on the reference VM, half a fork (see
//! "Process start-up" in `docs/performance.md`).

use super::process::{gather, Deadline};
use super::shared_mem::SharedMem;
use super::worker::{launch_team, Assignment, Starter, WorkerIo};
use super::{Backend, BackendKind, Team};
use crate::clock::mono_ns;
use crate::error::Result;
use crate::job::Job;
use crate::named::Named;
use crate::pin::CpuList;
use crate::report::{RunReport, WorkerOutcome};

/// Slot stride: two cache lines, so that neither a neighbour's stores nor
/// the adjacent-line prefetcher make workers share a line.
const SLOT: usize = 128;

/// Forks a fresh set of children for every run; they store into one shared
/// array, cleared before each run.
#[derive(Debug)]
pub struct ShmReduce {
    team: Team,
    /// One slot per worker, mapped by the first run.
    slots: Option<SharedMem>,
    starter: Starter,
}

impl ShmReduce {
    /// A shm-reduce backend for `team`.
    pub fn new(team: Team) -> ShmReduce {
        ShmReduce {
            starter: Starter::new(team.start),
            team,
            slots: None,
        }
    }
}

/// A worker's body: its static share, its outcome stored in its slot.
pub(crate) fn work(a: &Assignment, cpus: Option<&CpuList>, io: &WorkerIo<'_>) -> i32 {
    let Some(slots) = io.shared else {
        return 2;
    };
    let share = a.job.static_share(a.worker, a.workers);
    let outcome = WorkerOutcome::compute(&a.job, share, cpus, a.worker);
    slots.store(a.worker * SLOT, &outcome.to_bytes());
    0
}

impl Backend for ShmReduce {
    fn kind(&self) -> BackendKind {
        BackendKind::ShmReduce
    }

    fn team(&self) -> &Team {
        &self.team
    }

    fn run(&mut self, job: &Job) -> Result<RunReport> {
        job.validate()?;
        // A fork server starts with the first run, before its clock: its
        // start-up is `setup_s`, not part of any run.
        self.starter.ready()?;
        let p = self.team.workers;
        let t0 = mono_ns();
        let slots = match &mut self.slots {
            Some(slots) => {
                // Zeroed, so that a worker that stores nothing is noticed.
                slots.clear_from(0);
                slots
            }
            None => self.slots.insert(SharedMem::new(p * SLOT)?),
        };
        let slots = &*slots;
        let backend = BackendKind::ShmReduce;
        let mut children = launch_team(
            &self.team,
            &self.starter,
            backend,
            job,
            Some(slots),
            None,
            &[],
        )?;
        // The pipes carry no data here: their EOF says the child has exited.
        gather(&mut children, Deadline::after(job.timeout), false)?;
        let outcomes = (0..p)
            .map(|i| {
                WorkerOutcome::from_bytes(&slots.load(i * SLOT))
                    .ok_or_else(|| children.died(i, "exited without storing its result".into()))
            })
            .collect::<Result<Vec<_>>>()?;
        let t_end = mono_ns();
        let mut report =
            RunReport::assemble(job, BackendKind::ShmReduce.name(), t0, t_end, &outcomes);
        report.start = Some(self.starter.method());
        report.setup_s = self.starter.setup_s();
        Ok(report)
    }
}
