//! `per-core`: one pinned thread per worker, each drawing from its own RNG
//! streams, a static equal share of the samples, nothing shared until the
//! final join — the textbook embarrassingly parallel decomposition.
//!
//! Each worker's Monte Carlo runs on the same vectorised 8-lane kernel as a
//! block ([`mc::lanes_hits_with`], on the job's [`crate::Isa`]): worker `w`
//! draws its share round-robin from 8 lanes, lane `l` being the seed's
//! xoshiro256++ stream advanced by `8w + l` jumps of 2^128 draws
//! ([`mc::Lanes::for_worker`]), so no two lanes of any workers overlap. Its
//! hit count is bit-identical on every ISA path. Setting up the lanes costs
//! worker `w` about `8w + 7` jumps (~256 draws' work each) inside its
//! compute time.
//!
//! Why its Monte Carlo answer depends on the worker count: with P workers,
//! each of workers 0..P throws its N/P darts (one more for the first N mod P
//! workers) from its own lanes. A different P picks different darts — a
//! different (equally valid) sample, not a different method. Block backends avoid this by tying the
//! darts to blocks, not workers. Sharing one seed across workers without the
//! jumps would make every worker throw the *same* darts: P× the work, no new
//! information, and a standard error that lies.

use super::{Backend, BackendKind, Team};
use crate::clock::mono_ns;
use crate::error::Result;
use crate::job::{Job, Method};
use crate::named::Named;
use crate::report::{RunReport, WorkerOutcome};
use crate::{mc, midpoint};

/// Pinned threads with independent streams.
#[derive(Debug)]
pub struct PerCore {
    team: Team,
}

impl PerCore {
    /// A per-core backend for `team`.
    pub fn new(team: Team) -> PerCore {
        PerCore { team }
    }
}

/// Worker `w`'s share of `n` samples: the first `n % p` workers take one more.
fn share(n: u64, p: usize, w: usize) -> (u64, u64) {
    let (q, r) = (n / p as u64, n % p as u64);
    let w = w as u64;
    (w * q + w.min(r), q + u64::from(w < r))
}

fn worker(job: &Job, team: &Team, w: usize) -> WorkerOutcome {
    let (first, count) = share(job.samples, team.workers, w);
    WorkerOutcome::timed(team.cpus.as_ref(), w, count, || match job.method {
        Method::Mc => u128::from(mc::worker_hits_with(job.isa, job.seed, w, count)),
        Method::Midpoint if count > 0 => {
            midpoint::block_sum_with(job.isa, job.samples, first, count)
        }
        Method::Midpoint => 0,
    })
}

impl Backend for PerCore {
    fn kind(&self) -> BackendKind {
        BackendKind::PerCore
    }

    fn team(&self) -> &Team {
        &self.team
    }

    fn run(&mut self, job: &Job) -> Result<RunReport> {
        job.validate()?;
        let team = &self.team;
        let t0 = mono_ns();
        let outcomes = super::threads::run_scoped(team.workers, |w| worker(job, team, w))?;
        let t_end = mono_ns();
        Ok(RunReport::assemble(
            job,
            BackendKind::PerCore.name(),
            t0,
            t_end,
            &outcomes,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::share;

    #[test]
    fn shares_cover_all_samples() {
        for (n, p) in [(10u64, 3usize), (2, 5), (1_000_003, 7)] {
            let mut next = 0;
            for w in 0..p {
                let (first, count) = share(n, p, w);
                assert_eq!(first, next);
                next += count;
            }
            assert_eq!(next, n);
        }
    }
}
