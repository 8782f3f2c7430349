//! One process worker, whichever way it starts: what it is to do
//! ([`Assignment`], plain data that fits on a command line), the
//! descriptors and memory it works with ([`WorkerIo`]), the body each
//! process backend gives it ([`dispatch`]), and starting it by the team's
//! [`StartMethod`] ([`launch`]).
//!
//! A forked worker calls [`dispatch`] directly, in the copy of the parent;
//! a spawned one gets its assignment as arguments and its descriptors at
//! fixed numbers, rebuilds the same [`WorkerIo`] ([`serve_spawned`]) and
//! calls the same [`dispatch`]: both run the same code on the same data.

use std::ffi::{CString, OsString};
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

use super::forkserver::ForkServer;
use super::process::{spawn_child, spawn_exec, ChildProc, Children};
use super::shared_mem::SharedMem;
use super::{fork_pipe, fork_queue, pool_map, shm_counter, shm_reduce, BackendKind, Team};
use crate::error::{Error, Result};
use crate::isa::Isa;
use crate::job::{Job, Method};
use crate::named::Named;
use crate::pin::CpuList;
use crate::start::{worker_program, StartMethod, WORKER_ARG};

/// Where a spawned worker finds its pipe to the parent, the shared memory
/// and its task or queue pipe.
const OUT_FD: RawFd = 3;
const SHARED_FD: RawFd = 4;
const EXTRA_FD: RawFd = 5;

/// What worker `worker` of `workers` does for `backend`: its share of `job`
/// (static, round-robin chunks, or pool tasks) follows from these.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Assignment {
    pub backend: BackendKind,
    pub worker: usize,
    pub workers: usize,
    pub job: Job,
}

/// What a worker works with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WorkerIo<'a> {
    /// Its own pipe to the parent; end-of-file on it tells the parent it
    /// exited (results travel on it for `fork-pipe` and `pool-map`).
    pub out: BorrowedFd<'a>,
    /// The shared mapping of `shm-reduce` and the shared counters.
    pub shared: Option<&'a SharedMem>,
    /// `pool-map`'s task pipe, `fork-queue`'s shared queue.
    pub extra: Option<BorrowedFd<'a>>,
}

/// The body of a process worker; its exit status (0: done). Async-signal-
/// safe, for a forked child: each backend's body only computes, reads and
/// writes descriptors and shared memory.
pub(crate) fn dispatch(a: &Assignment, cpus: Option<&CpuList>, io: &WorkerIo<'_>) -> i32 {
    match a.backend {
        BackendKind::ForkPipe => fork_pipe::work(a, cpus, io),
        BackendKind::ShmReduce => shm_reduce::work(a, cpus, io),
        BackendKind::PoolMap => pool_map::work(a, cpus, io),
        BackendKind::ForkQueue => fork_queue::work(a, cpus, io),
        BackendKind::ShmLock | BackendKind::ShmAtomic | BackendKind::ShmRace => {
            shm_counter::work(a, cpus, io)
        }
        BackendKind::Serial | BackendKind::Threads | BackendKind::Rayon | BackendKind::PerCore => {
            99
        }
    }
}

/// How a process backend starts its workers: its [`StartMethod`], and the
/// fork server once one is running. Each process backend holds one.
#[derive(Debug)]
pub(crate) struct Starter {
    start: StartMethod,
    server: Option<ForkServer>,
}

impl Starter {
    /// Starts workers by `start` (a fork server starts at [`ready`](Self::ready)).
    pub(crate) fn new(start: StartMethod) -> Starter {
        Starter {
            start,
            server: None,
        }
    }

    /// Makes it able to start workers: starts the fork server, once.
    pub(crate) fn ready(&mut self) -> Result<()> {
        if self.start == StartMethod::Forkserver && self.server.is_none() {
            self.server = Some(ForkServer::start()?);
        }
        Ok(())
    }

    /// How workers start.
    pub(crate) fn method(&self) -> StartMethod {
        self.start
    }

    /// The fork server's start-up, seconds, once it has started.
    pub(crate) fn setup_s(&self) -> Option<f64> {
        self.server.as_ref().map(ForkServer::setup_s)
    }
}

/// Starts worker `a.worker` as `starter` says: it runs [`dispatch`] with
/// `io`'s memory and descriptors (its `out` pipe is made here).
/// `close_in_child`: descriptors a forked child must not keep (a spawned
/// one keeps none but its own: everything else is close-on-exec; a fork
/// server never had them).
pub(crate) fn launch(
    starter: &Starter,
    a: &Assignment,
    cpus: Option<&CpuList>,
    shared: Option<&SharedMem>,
    extra: Option<BorrowedFd<'_>>,
    close_in_child: &[RawFd],
) -> Result<ChildProc> {
    match starter.start {
        StartMethod::Fork => spawn_child(a.worker, close_in_child, |out| {
            dispatch(a, cpus, &WorkerIo { out, shared, extra })
        }),
        StartMethod::Forkserver => {
            let cpu = cpus.and_then(|c| c.for_worker(a.worker));
            match &starter.server {
                Some(server) => server.launch(a, cpu, shared, extra),
                None => Err(Error::Invalid("the fork server was not started".into())),
            }
        }
        StartMethod::Spawn => {
            let cpu = cpus.and_then(|c| c.for_worker(a.worker));
            let program = cstring(worker_program().as_os_str().as_bytes())?;
            let mut argv = vec![program.clone(), cstring(WORKER_ARG.as_bytes())?];
            for arg in a.to_args(cpu) {
                argv.push(cstring(arg.as_bytes())?);
            }
            spawn_exec(
                a.worker,
                &program,
                &argv,
                [shared.map(SharedMem::fd), extra],
            )
        }
    }
}

/// Starts all of `team`'s workers for `backend`'s `job`, each on its static
/// place in the team, sharing `shared` and `extra` (see [`launch`]).
pub(crate) fn launch_team(
    team: &Team,
    starter: &Starter,
    backend: BackendKind,
    job: &Job,
    shared: Option<&SharedMem>,
    extra: Option<BorrowedFd<'_>>,
    close_in_child: &[RawFd],
) -> Result<Children> {
    let mut children = Children::with_capacity(team.workers);
    for worker in 0..team.workers {
        let a = Assignment {
            backend,
            worker,
            workers: team.workers,
            job: job.clone(),
        };
        let cpus = team.cpus.as_ref();
        let child = launch(starter, &a, cpus, shared, extra, close_in_child)?;
        children.procs.push(child);
    }
    Ok(children)
}

fn cstring(bytes: &[u8]) -> Result<CString> {
    CString::new(bytes).map_err(|_| Error::Invalid("an argument holds a NUL byte".into()))
}

impl Assignment {
    /// Its command-line form, readable in `ps`: `fork-pipe 1/2 mc samples=…`.
    pub(super) fn to_args(&self, cpu: Option<usize>) -> Vec<String> {
        let j = &self.job;
        vec![
            self.backend.name().to_owned(),
            format!("{}/{}", self.worker, self.workers),
            j.method.name().to_owned(),
            format!("samples={}", j.samples),
            format!("seed={}", j.seed),
            format!("block={}", j.block),
            format!("chunksize={}", j.chunksize.unwrap_or(0)),
            format!("isa={}", j.isa.name()),
            format!("cpu={}", cpu.map_or("none".to_owned(), |c| c.to_string())),
        ]
    }

    /// Parses [`to_args`](Self::to_args): the assignment and the CPU.
    pub(super) fn from_args(
        args: &[OsString],
    ) -> std::result::Result<(Assignment, Option<usize>), String> {
        let text: Vec<&str> = args
            .iter()
            .map(|a| a.to_str().ok_or("an argument is not UTF-8"))
            .collect::<std::result::Result<_, _>>()?;
        let [backend, team, method, samples, seed, block, chunksize, isa, cpu] = text[..] else {
            return Err(format!("expected 9 arguments, got {}", text.len()));
        };
        let value = |arg: &str, key: &str| -> std::result::Result<u64, String> {
            arg.strip_prefix(key)
                .and_then(|v| v.strip_prefix('='))
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("expected {key}=N, got '{arg}'"))
        };
        let (worker, workers) = team
            .split_once('/')
            .and_then(|(w, p)| Some((w.parse().ok()?, p.parse().ok()?)))
            .ok_or_else(|| format!("expected WORKER/WORKERS, got '{team}'"))?;
        let mut job = Job::new(Method::parse(method)?, value(samples, "samples")?)
            .seed(value(seed, "seed")?)
            .block(value(block, "block")?)
            .isa(Isa::parse(isa.strip_prefix("isa=").unwrap_or(isa))?);
        job.chunksize = Some(value(chunksize, "chunksize")?).filter(|&c| c > 0);
        let cpu = match cpu.strip_prefix("cpu=") {
            Some("none") => None,
            _ => Some(value(cpu, "cpu")? as usize),
        };
        let a = Assignment {
            backend: BackendKind::parse(backend)?,
            worker,
            workers,
            job,
        };
        Ok((a, cpu))
    }
}

/// A spawned worker's side: parses its arguments, takes its descriptors,
/// maps the shared memory and runs [`dispatch`]. Its exit status.
pub(crate) fn serve_spawned(args: &[OsString]) -> std::result::Result<i32, String> {
    let (a, cpu) = Assignment::from_args(args)?;
    let cpus = cpu.map(|c| CpuList(vec![c]));
    // The list holds only this worker's CPU: worker `i` pins to `list[i % 1]`.
    let open = |fd: RawFd| {
        // SAFETY: `fcntl(F_GETFD)` only asks whether `fd` is open.
        (unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0).then(|| {
            // SAFETY: the parent put these descriptors here for this process
            // alone (see `spawn_exec`); nothing else in it owns them.
            unsafe { OwnedFd::from_raw_fd(fd) }
        })
    };
    let out = open(OUT_FD).ok_or("no pipe to the parent at descriptor 3")?;
    let shared = open(SHARED_FD)
        .map(SharedMem::from_fd)
        .transpose()
        .map_err(|e| e.to_string())?;
    let extra = open(EXTRA_FD);
    let io = WorkerIo {
        out: std::os::fd::AsFd::as_fd(&out),
        shared: shared.as_ref(),
        extra: extra.as_ref().map(std::os::fd::AsFd::as_fd),
    };
    Ok(dispatch(&a, cpus.as_ref(), &io))
}

/// The descriptor numbers [`spawn_exec`] puts a worker's pipe, shared memory
/// and extra pipe at.
pub(crate) const SPAWNED_FDS: [RawFd; 3] = [OUT_FD, SHARED_FD, EXTRA_FD];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assignment_survives_its_command_line() {
        let job = Job::new(Method::Midpoint, 12345)
            .seed(7)
            .block(100)
            .chunksize(Some(3))
            .isa(Isa::Scalar);
        let a = Assignment {
            backend: BackendKind::ShmAtomic,
            worker: 2,
            workers: 5,
            job,
        };
        for cpu in [None, Some(3)] {
            let args: Vec<OsString> = a.to_args(cpu).into_iter().map(OsString::from).collect();
            assert_eq!(Assignment::from_args(&args), Ok((a.clone(), cpu)));
        }
        assert!(Assignment::from_args(&[OsString::from("x")]).is_err());
    }
}
