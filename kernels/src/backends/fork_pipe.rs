//! `fork-pipe`: `workers` forked children, each computing its static share
//! and writing its partial to its own pipe; the parent reads every pipe and
//! reaps every child (the course's `Process` + `Pipe`).

use super::process::{gather, spawn_child, write_all, Children, Deadline};
use super::{Backend, BackendKind, Team};
use crate::clock::mono_ns;
use crate::error::Result;
use crate::job::Job;
use crate::named::Named;
use crate::report::{RunReport, WorkerOutcome};

/// Forks a fresh set of children for every run.
#[derive(Debug)]
pub struct ForkPipe {
    team: Team,
}

impl ForkPipe {
    /// A fork-pipe backend for `team`.
    pub fn new(team: Team) -> ForkPipe {
        ForkPipe { team }
    }
}

impl Backend for ForkPipe {
    fn kind(&self) -> BackendKind {
        BackendKind::ForkPipe
    }

    fn team(&self) -> &Team {
        &self.team
    }

    fn run(&mut self, job: &Job) -> Result<RunReport> {
        job.validate()?;
        let (p, cpus) = (self.team.workers, self.team.cpus.as_ref());
        let t0 = mono_ns();
        let mut children = Children::with_capacity(p);
        for w in 0..p {
            let share = job.static_share(w, p);
            children.procs.push(spawn_child(w, &[], |to_parent| {
                let outcome = WorkerOutcome::compute(job, share, cpus, w);
                if write_all(to_parent, &outcome.to_bytes()) {
                    0
                } else {
                    1
                }
            })?);
        }
        let received = gather(&mut children, Deadline::after(job.timeout), true)?;
        let outcomes = received
            .into_iter()
            .enumerate()
            .map(|(i, o)| o.ok_or_else(|| children.died(i, "wrote a corrupt result record".into())))
            .collect::<Result<Vec<_>>>()?;
        let t_end = mono_ns();
        Ok(RunReport::assemble(
            job,
            BackendKind::ForkPipe.name(),
            t0,
            t_end,
            &outcomes,
        ))
    }
}
