//! `threads`: scoped std threads, each with a static contiguous share of blocks.

use super::{Backend, BackendKind, Team};
use crate::clock::mono_ns;
use crate::error::{Error, Result};
use crate::job::Job;
use crate::named::Named;
use crate::report::{RunReport, WorkerOutcome};

/// Spawns `workers` scoped threads per run and joins them.
#[derive(Debug)]
pub struct Threads {
    team: Team,
}

impl Threads {
    /// A threads backend for `team`.
    pub fn new(team: Team) -> Threads {
        Threads { team }
    }
}

/// Runs `body(w)` on `workers` scoped threads and joins them in order.
pub(crate) fn run_scoped<F>(workers: usize, body: F) -> Result<Vec<WorkerOutcome>>
where
    F: Fn(usize) -> WorkerOutcome + Sync,
{
    let body = &body;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers).map(|w| s.spawn(move || body(w))).collect();
        handles
            .into_iter()
            .enumerate()
            .map(|(worker, h)| {
                h.join().map_err(|_| Error::WorkerDied {
                    worker,
                    pid: 0,
                    how: "panicked".into(),
                })
            })
            .collect()
    })
}

impl Backend for Threads {
    fn kind(&self) -> BackendKind {
        BackendKind::Threads
    }

    fn team(&self) -> &Team {
        &self.team
    }

    fn run(&mut self, job: &Job) -> Result<RunReport> {
        job.validate()?;
        let (p, cpus) = (self.team.workers, self.team.cpus.as_ref());
        let t0 = mono_ns();
        let outcomes = run_scoped(p, |w| {
            WorkerOutcome::compute(job, job.static_share(w, p), cpus, w)
        })?;
        let t_end = mono_ns();
        Ok(RunReport::assemble(
            job,
            BackendKind::Threads.name(),
            t0,
            t_end,
            &outcomes,
        ))
    }
}
