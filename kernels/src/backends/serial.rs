//! `serial`: one thread, every block in order — the baseline.

use super::{Backend, BackendKind, Team};
use crate::clock::mono_ns;
use crate::error::{Error, Result};
use crate::job::{BlockRange, Job};
use crate::named::Named;
use crate::pin::AffinityGuard;
use crate::report::{RunReport, WorkerOutcome};

/// Runs on the calling thread (pinned for the run when asked, then restored).
#[derive(Debug)]
pub struct Serial {
    team: Team,
}

impl Serial {
    /// A serial backend; `team` must have exactly one worker.
    pub fn new(team: Team) -> Result<Serial> {
        if team.workers != 1 {
            return Err(Error::Invalid(format!(
                "serial runs exactly 1 worker, got {}",
                team.workers
            )));
        }
        Ok(Serial { team })
    }
}

impl Backend for Serial {
    fn kind(&self) -> BackendKind {
        BackendKind::Serial
    }

    fn team(&self) -> &Team {
        &self.team
    }

    fn run(&mut self, job: &Job) -> Result<RunReport> {
        job.validate()?;
        let t0 = mono_ns();
        let (_restore, cpu) = AffinityGuard::pin(self.team.cpus.as_ref());
        let all = BlockRange {
            first: 0,
            count: job.blocks(),
        };
        let mut outcome = WorkerOutcome::compute(job, all, None, 0);
        outcome.cpu = cpu;
        let t_end = mono_ns();
        Ok(RunReport::assemble(
            job,
            BackendKind::Serial.name(),
            t0,
            t_end,
            &[outcome],
        ))
    }
}
