//! `threads`: scoped std threads, each with a static contiguous share of blocks.

use std::thread;

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
    // What `Scope::spawn` does, less its panic when the system refuses.
    run_scoped_with(workers, |_| thread::Builder::new(), body)
}

/// [`run_scoped`] with worker `w`'s thread made by `builder(w)` (a test
/// makes one that cannot start). A thread the system refuses is
/// [`Error::Start`], returned once the threads already started are joined.
fn run_scoped_with<F>(
    workers: usize,
    builder: impl Fn(usize) -> thread::Builder,
    body: F,
) -> Result<Vec<WorkerOutcome>>
where
    F: Fn(usize) -> WorkerOutcome + Sync,
{
    let body = &body;
    thread::scope(|s| {
        let mut handles = Vec::with_capacity(workers);
        for w in 0..workers {
            match builder(w).spawn_scoped(s, move || body(w)) {
                Ok(handle) => handles.push(handle),
                Err(source) => {
                    // Joined here: the scope would panic for a thread that
                    // panicked and was not joined.
                    for handle in handles {
                        let _ = handle.join();
                    }
                    let what = format!("worker {w}");
                    return Err(Error::Start {
                        what,
                        reason: source,
                    });
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A stack larger than any address space: `pthread_create` cannot map
    /// it and fails, as it does when the system is out of threads.
    const UNMAPPABLE_STACK: usize = usize::MAX / 2;

    #[test]
    fn a_thread_the_system_refuses_is_a_start_error_once_the_others_are_joined() {
        let finished = AtomicUsize::new(0);
        let builder = |w| match w {
            2 => thread::Builder::new().stack_size(UNMAPPABLE_STACK),
            _ => thread::Builder::new(),
        };
        let err = run_scoped_with(4, builder, |w| {
            // A panic in a started thread must not turn into the scope's.
            assert_ne!(w, 0, "worker 0 fails too");
            finished.fetch_add(1, Ordering::Relaxed);
            WorkerOutcome::default()
        })
        .unwrap_err();
        assert!(
            matches!(&err, Error::Start { what, .. } if what == "worker 2"),
            "{err}"
        );
        assert!(
            err.to_string().starts_with("cannot start worker 2: "),
            "{err}"
        );
        // Worker 1 ran to its end; worker 3 was never started.
        assert_eq!(finished.load(Ordering::Relaxed), 1);
    }
}
