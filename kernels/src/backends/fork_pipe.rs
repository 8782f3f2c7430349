//! `fork-pipe`: `workers` forked children, each computing its static share
//! and writing its partial to its own pipe; the parent reads every pipe and
//! reaps every child (the course's `Process` + `Pipe`).

use super::process::{gather, write_all, Deadline};
use super::worker::{launch_team, Assignment, Starter, WorkerIo};
use super::{Backend, BackendKind, Team};
use crate::clock::mono_ns;
use crate::error::Result;
use crate::job::Job;
use crate::named::Named;
use crate::pin::CpuList;
use crate::report::{RunReport, WorkerOutcome};

/// A worker's body: its static share, its outcome written to its pipe.
pub(crate) fn work(a: &Assignment, cpus: Option<&CpuList>, io: &WorkerIo<'_>) -> i32 {
    let share = a.job.static_share(a.worker, a.workers);
    let outcome = WorkerOutcome::compute(&a.job, share, cpus, a.worker);
    if write_all(io.out, &outcome.to_bytes()) {
        0
    } else {
        1
    }
}

/// Forks a fresh set of children for every run.
#[derive(Debug)]
pub struct ForkPipe {
    team: Team,
    starter: Starter,
}

impl ForkPipe {
    /// A fork-pipe backend for `team`.
    pub fn new(team: Team) -> ForkPipe {
        let starter = Starter::new(team.start);
        ForkPipe { team, starter }
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
        // A fork server starts with the first run, before its clock: its
        // start-up is `setup_s`, not part of any run.
        self.starter.ready()?;
        let t0 = mono_ns();
        let mut children = launch_team(
            &self.team,
            &self.starter,
            BackendKind::ForkPipe,
            job,
            None,
            None,
            &[],
        )?;
        let received = gather(&mut children, Deadline::after(job.timeout), true)?;
        let outcomes = received
            .into_iter()
            .enumerate()
            .map(|(i, o)| o.ok_or_else(|| children.died(i, "wrote a corrupt result record".into())))
            .collect::<Result<Vec<_>>>()?;
        let t_end = mono_ns();
        let mut report =
            RunReport::assemble(job, BackendKind::ForkPipe.name(), t0, t_end, &outcomes);
        report.start = Some(self.starter.method());
        report.setup_s = self.starter.setup_s();
        Ok(report)
    }
}
