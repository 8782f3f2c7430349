//! `pool-map`: a pool of `workers` forked processes, started once and reused
//! by every run; the parent hands out tasks — ranges of `chunksize` blocks —
//! dynamically over pipes, like `Pool.map(f, blocks, chunksize)`.
//!
//! Protocol (fixed 64-byte records, atomic on a pipe since < `PIPE_BUF`):
//! a worker pins itself and writes a *ready* record; then, for each task
//! record it reads, it computes and writes one outcome record. End-of-file on
//! its task pipe tells it to exit. End-of-file on its result pipe tells the
//! parent it died: the run fails naming it, and the rest of the pool is
//! killed and reaped.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use nix::fcntl::OFlag;
use nix::unistd::pipe2;

use super::process::{gather, raw, read_full, write_all, Children, Deadline, PollSet, Wake};
use super::worker::{launch, Assignment, Starter, WorkerIo};
use super::{Backend, BackendKind, Team};
use crate::clock::{mono_ns, secs_between};
use crate::error::{Error, OsContext, Result};
use crate::isa::Isa;
use crate::job::{BlockRange, Job, Method};
use crate::named::Named;
use crate::pin::{current_cpu, pin_worker, CpuList};
use crate::report::{RunReport, WorkerOutcome, OUTCOME_BYTES};

/// How long pool start-up may take before it is declared failed.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for idle workers to exit before killing them.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);
const TASK_MAGIC: u64 = 0x7461_736b_7461_736b;

/// A persistent pool of worker processes.
#[derive(Debug)]
pub struct PoolMap {
    team: Team,
    workers: Children,
    /// Write ends of the workers' task pipes (dropped to stop them).
    tasks: Vec<OwnedFd>,
    /// The CPU each worker last reported running on (see `Drop`).
    last_cpu: Vec<Option<usize>>,
    /// The workers' result pipes; on while a worker has a task.
    results: PollSet,
    setup_s: f64,
    /// Why the pool can no longer run jobs, after a worker died.
    broken: Option<String>,
    /// How the workers started; last, so that a fork server outlives the
    /// workers it reaps (fields drop in order, after `Drop::drop`).
    starter: Starter,
}

fn encode_task(job: &Job, range: BlockRange) -> [u8; OUTCOME_BYTES] {
    let words = [
        job.method.code(),
        job.samples,
        job.seed,
        job.block,
        range.first,
        range.count,
        TASK_MAGIC,
        job.isa.code(),
    ];
    let mut out = [0u8; OUTCOME_BYTES];
    for (chunk, w) in out.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    out
}

fn decode_task(bytes: &[u8; OUTCOME_BYTES]) -> Option<(Job, BlockRange)> {
    let mut w = [0u64; 8];
    for (word, chunk) in w.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *word = u64::from_le_bytes(b);
    }
    if w[6] != TASK_MAGIC || w[1] == 0 || w[3] == 0 {
        return None;
    }
    let job = Job {
        method: Method::from_code(w[0]),
        samples: w[1],
        seed: w[2],
        block: w[3],
        chunksize: None,
        timeout: None,
        isa: Isa::from_code(w[7]),
    };
    Some((
        job,
        BlockRange {
            first: w[4],
            count: w[5],
        },
    ))
}

/// A pool worker's body: [`worker_loop`] on its task pipe.
pub(crate) fn work(a: &Assignment, cpus: Option<&CpuList>, io: &WorkerIo<'_>) -> i32 {
    match io.extra {
        Some(tasks) => worker_loop(a.worker, cpus, tasks, io.out),
        None => 2,
    }
}

/// The body of a pool worker process. Async-signal-safe: stack buffers,
/// `read`/`write` and computation only.
fn worker_loop(
    w: usize,
    cpus: Option<&CpuList>,
    tasks: BorrowedFd<'_>,
    results: BorrowedFd<'_>,
) -> i32 {
    let ready = WorkerOutcome {
        cpu: pin_worker(cpus, w),
        start_ns: mono_ns(),
        ..WorkerOutcome::default()
    };
    if !write_all(results, &ready.to_bytes()) {
        return 1;
    }
    let mut msg = [0u8; OUTCOME_BYTES];
    loop {
        match read_full(tasks, &mut msg) {
            0 => return 0, // the parent closed the pool
            OUTCOME_BYTES => {}
            _ => return 2,
        }
        let Some((job, range)) = decode_task(&msg) else {
            return 3;
        };
        let start_ns = mono_ns();
        let partial = job.partial(range);
        let end_ns = mono_ns();
        let outcome = WorkerOutcome {
            partial,
            start_ns,
            end_ns,
            busy_ns: end_ns.saturating_sub(start_ns),
            cpu: current_cpu(),
            units: range.count,
        };
        if !write_all(results, &outcome.to_bytes()) {
            return 4;
        }
    }
}

impl PoolMap {
    /// Forks the pool and waits until every worker has pinned itself and
    /// reported ready; that time is [`Backend::setup_s`].
    ///
    /// The workers die when the thread that calls this ends (they ask the
    /// kernel to kill them when their parent dies, and the kernel counts the
    /// forking thread): keep that thread alive while the pool is in use.
    pub fn new(team: Team) -> Result<PoolMap> {
        let p = team.workers;
        let t0 = mono_ns();
        // Before `workers`: dropped after them on an early return.
        let mut starter = Starter::new(team.start);
        starter.ready()?;
        let mut workers = Children::with_capacity(p);
        let mut tasks: Vec<OwnedFd> = Vec::with_capacity(p);
        let mut task_fds: Vec<RawFd> = Vec::with_capacity(p);
        let cpus = team.cpus.as_ref();
        for w in 0..p {
            let (task_r, task_w) = pipe2(OFlag::O_CLOEXEC).os("pipe2")?;
            // The child must hold no task write end — not its own, not its
            // siblings' — or closing the pool would never reach it as EOF.
            task_fds.push(raw(&task_w));
            // Tasks carry their job: the assignment's is a placeholder.
            let a = Assignment {
                backend: BackendKind::PoolMap,
                worker: w,
                workers: p,
                job: Job::new(Method::Mc, 1),
            };
            let extra = Some(task_r.as_fd());
            let child = launch(&starter, &a, cpus, None, extra, &task_fds)?;
            workers.procs.push(child);
            tasks.push(task_w);
        }
        let deadline = Deadline::after(Some(START_TIMEOUT));
        let mut results = PollSet::new(&workers, Wake::Data);
        let mut last_cpu = vec![None; p];
        while results.any_on() {
            results.wait(&workers, deadline)?;
            for (i, cpu) in last_cpu.iter_mut().enumerate() {
                if !results.is_ready(i) {
                    continue;
                }
                results.set(i, false);
                let mut rec = [0u8; OUTCOME_BYTES];
                let ready = (read_full(workers.procs[i].from_child.as_fd(), &mut rec)
                    == OUTCOME_BYTES)
                    .then(|| WorkerOutcome::from_bytes(&rec))
                    .flatten();
                if let Some(ready) = ready {
                    *cpu = ready.cpu;
                } else {
                    workers.kill_all();
                    return Err(Error::WorkerDied {
                        worker: i,
                        pid: workers.procs[i].pid.as_raw(),
                        how: "died while the pool was starting".into(),
                    });
                }
            }
        }
        let setup_s = secs_between(t0, mono_ns());
        Ok(PoolMap {
            team,
            workers,
            tasks,
            last_cpu,
            results,
            setup_s,
            broken: None,
            starter,
        })
    }

    fn send(&mut self, w: usize, job: &Job, range: BlockRange) -> Result<()> {
        if write_all(self.tasks[w].as_fd(), &encode_task(job, range)) {
            Ok(())
        } else {
            Err(self.dead_worker(w))
        }
    }

    /// The error for worker `w`, whose pipe broke: reaps it to say how it died.
    fn dead_worker(&mut self, w: usize) -> Error {
        let _ =
            nix::sys::signal::kill(self.workers.procs[w].pid, nix::sys::signal::Signal::SIGKILL);
        match self.workers.reap(w) {
            Ok(status) => self.workers.died(w, super::process::describe(status)),
            Err(e) => e,
        }
    }

    fn map(&mut self, job: &Job) -> Result<RunReport> {
        let p = self.team.workers;
        let (nb, cs) = (job.blocks(), job.effective_chunksize(p));
        let deadline = Deadline::after(job.timeout);
        let mut per_worker = vec![
            WorkerOutcome {
                start_ns: u64::MAX,
                ..WorkerOutcome::default()
            };
            p
        ];
        let mut next = 0u64;
        let t0 = mono_ns();
        for w in 0..p.min(nb.div_ceil(cs) as usize) {
            let range = BlockRange {
                first: next,
                count: cs.min(nb - next),
            };
            self.send(w, job, range)?;
            next += range.count;
            self.results.set(w, true);
        }
        while self.results.any_on() {
            self.results.wait(&self.workers, deadline)?;
            for (i, acc) in per_worker.iter_mut().enumerate() {
                if !self.results.is_ready(i) {
                    continue;
                }
                let mut rec = [0u8; OUTCOME_BYTES];
                let got = read_full(self.workers.procs[i].from_child.as_fd(), &mut rec);
                let Some(o) = (got == OUTCOME_BYTES)
                    .then(|| WorkerOutcome::from_bytes(&rec))
                    .flatten()
                else {
                    return Err(self.dead_worker(i));
                };
                acc.partial = acc.partial.wrapping_add(o.partial);
                acc.start_ns = acc.start_ns.min(o.start_ns);
                acc.end_ns = acc.end_ns.max(o.end_ns);
                acc.busy_ns += o.busy_ns;
                acc.units += o.units;
                acc.cpu = o.cpu;
                self.last_cpu[i] = o.cpu;
                if next < nb {
                    let range = BlockRange {
                        first: next,
                        count: cs.min(nb - next),
                    };
                    self.send(i, job, range)?;
                    next += range.count;
                    self.results.set(i, true); // clears the old wake-up
                } else {
                    self.results.set(i, false);
                }
            }
        }
        let t_end = mono_ns();
        for o in per_worker.iter_mut().filter(|o| o.units == 0) {
            o.start_ns = t0; // an idle worker never started: it does not delay the spawn phase
        }
        let mut report =
            RunReport::assemble(job, BackendKind::PoolMap.name(), t0, t_end, &per_worker);
        report.chunksize = Some(cs);
        report.start = Some(self.starter.method());
        report.setup_s = Some(self.setup_s);
        Ok(report)
    }
}

impl Backend for PoolMap {
    fn kind(&self) -> BackendKind {
        BackendKind::PoolMap
    }

    fn team(&self) -> &Team {
        &self.team
    }

    fn setup_s(&self) -> Option<f64> {
        Some(self.setup_s)
    }

    fn run(&mut self, job: &Job) -> Result<RunReport> {
        job.validate()?;
        if let Some(why) = &self.broken {
            return Err(Error::Invalid(format!(
                "the pool can no longer run jobs: {why}"
            )));
        }
        self.map(job).inspect_err(|e| {
            // A dead or hung worker leaves the pool in an unknown state:
            // stop every worker now rather than at drop.
            self.broken = Some(e.to_string());
            self.workers.kill_all();
        })
    }
}

impl Drop for PoolMap {
    fn drop(&mut self) {
        // EOF on every task pipe asks idle workers to exit; give them a
        // moment, then `Children` kills and reaps whoever is left.
        //
        // A worker woken on the CPU this thread runs on preempts it, and
        // exits (~50 µs) before the next pipe is closed: the exits then run
        // one after the other. So the pipes of workers last seen on other
        // CPUs close first, and the rest last (an idle 2-worker pool's drop:
        // 136-141 → 75-77 µs; docs/performance.md, "Process start-up").
        let here = current_cpu();
        let mut tasks: Vec<(bool, OwnedFd)> = (self.tasks.drain(..).enumerate())
            .map(|(w, fd)| (here.is_some() && self.last_cpu[w] == here, fd))
            .collect();
        tasks.sort_by_key(|&(mine, _)| mine); // stable; a Vec drops in order
        drop(tasks);
        let _ = gather(
            &mut self.workers,
            Deadline::after(Some(STOP_TIMEOUT)),
            false,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_round_trip() {
        let job = Job::new(Method::Midpoint, 12345).seed(9).block(100);
        let range = BlockRange { first: 3, count: 4 };
        let (back, r) = decode_task(&encode_task(&job, range)).unwrap();
        assert_eq!(
            (back.method, back.samples, back.seed, back.block, r),
            (job.method, 12345, 9, 100, range)
        );
        assert!(decode_task(&[0; OUTCOME_BYTES]).is_none());
    }
}
