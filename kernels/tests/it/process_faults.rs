//! Process backends survive dead, hung and concurrent workers: an error that
//! names the worker, every child reaped, no hang.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use piscale_kernels::{Backend, BackendKind, Error, Job, Method, Named, StartMethod, Team};
use strum::VariantArray;

use crate::common::{wait_for, worker_stats_of, ProcStat};

/// A process backend and how its workers start.
#[derive(Debug, Clone, Copy)]
struct Setup {
    kind: BackendKind,
    start: StartMethod,
}

impl std::fmt::Display for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.kind, self.start)
    }
}

impl Setup {
    /// The backend with `workers` unpinned workers.
    fn create(self, workers: usize) -> Box<dyn Backend> {
        let team = Team::unpinned(workers).unwrap().with_start(self.start);
        self.kind.create(team).unwrap()
    }
}

/// Every backend whose workers are processes, by every start method.
fn process_backends() -> impl Iterator<Item = Setup> {
    BackendKind::VARIANTS
        .iter()
        .copied()
        .filter(|b| b.uses_processes())
        .flat_map(|kind| {
            crate::common::start_methods(kind)
                .into_iter()
                .map(move |start| Setup { kind, start })
        })
}

/// Work that takes minutes, so a test can kill or time out a worker mid-run.
fn long_job() -> Job {
    Job::new(Method::Mc, 1 << 40).block(1 << 16)
}

/// Creates `kind` with 2 workers, runs a long job in a thread, SIGKILLs
/// worker 1 and returns the backend, the error, how long the run took to
/// fail after the kill and the worker's pid.
fn kill_one_worker(kind: Setup) -> (Box<dyn Backend>, Error, Duration, i32) {
    signal_one_worker(kind, Signal::SIGKILL)
}

/// Like [`kill_one_worker`], with any `signal`.
fn signal_one_worker(kind: Setup, signal: Signal) -> (Box<dyn Backend>, Error, Duration, i32) {
    let before = crate::common::workers_of_self();
    let mut backend = kind.create(2);
    let (tx, rx) = mpsc::channel();
    let outcome = std::thread::scope(|s| {
        let runner = &mut backend;
        s.spawn(move || tx.send(runner.run(&long_job())).unwrap());
        let mut victims = Vec::new();
        let started = crate::common::wait_for(Duration::from_secs(5), || {
            victims = crate::common::workers_of_self()
                .into_iter()
                .filter(|p| !before.contains(p))
                .collect();
            victims.len() == 2
        });
        let outcome = if started {
            // Let them get into their compute loops, then kill the second.
            std::thread::sleep(Duration::from_millis(50));
            kill(Pid::from_raw(victims[1]), signal).unwrap();
            let killed = Instant::now();
            rx.recv_timeout(Duration::from_secs(5))
                .map(|r| (r, killed.elapsed(), victims[1]))
                .map_err(|_| "no answer within 5 s")
        } else {
            Err("the workers did not start")
        };
        if outcome.is_err() {
            // Free the runner thread so the scope can end and the test report.
            for pid in crate::common::workers_of_self()
                .into_iter()
                .filter(|p| !before.contains(p))
            {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        outcome
    });
    let (result, after, victim) = outcome.unwrap_or_else(|why| panic!("{kind}: {why}"));
    (
        backend,
        result.expect_err("a run with a signalled worker must fail"),
        after,
        victim,
    )
}

#[test]
fn a_killed_worker_fails_the_run_naming_it_and_leaves_no_process() {
    let _forks = crate::common::fork_lock();
    for kind in process_backends() {
        let (backend, err, after, victim) = kill_one_worker(kind);
        let msg = err.to_string();
        assert!(
            matches!(&err, Error::WorkerDied { pid, how, .. } if *pid == victim && how.contains("SIGKILL")),
            "{kind}: {msg}"
        );
        assert!(
            msg.starts_with("worker ") && msg.contains(&format!("(pid {victim})")),
            "{kind}: {msg}"
        );
        assert!(after < Duration::from_secs(5), "{kind} took {after:?}");
        drop(backend);
        assert_eq!(
            crate::common::children_of_self(),
            Vec::<i32>::new(),
            "{kind} left children"
        );
    }
}

#[test]
fn a_stopped_worker_fails_a_run_without_timeout_naming_it_and_leaves_no_process() {
    let _forks = crate::common::fork_lock();
    for kind in process_backends() {
        let (backend, err, after, victim) = signal_one_worker(kind, Signal::SIGSTOP);
        assert!(
            matches!(&err, Error::WorkerDied { worker: 1, pid, .. } if *pid == victim),
            "{kind}: {err}"
        );
        assert_eq!(
            err.to_string(),
            format!("worker 1 (pid {victim}) was stopped by SIGSTOP"),
            "{kind}"
        );
        assert!(after < Duration::from_secs(5), "{kind} took {after:?}");
        drop(backend);
        assert_eq!(
            crate::common::children_of_self(),
            Vec::<i32>::new(),
            "{kind} left children"
        );
    }
}

#[test]
fn a_pool_that_lost_a_worker_refuses_further_jobs() {
    let _forks = crate::common::fork_lock();
    let pool_map = Setup {
        kind: BackendKind::PoolMap,
        start: StartMethod::Fork,
    };
    let (mut pool, _, _, victim) = kill_one_worker(pool_map);
    let err = pool
        .run(&Job::new(Method::Mc, 1000))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("can no longer run jobs") && err.contains(&format!("(pid {victim})")),
        "{err}"
    );
}

#[test]
fn a_timeout_kills_and_reaps_every_worker() {
    let _forks = crate::common::fork_lock();
    for kind in process_backends() {
        let mut backend = kind.create(2);
        let job = Job {
            timeout: Some(Duration::from_millis(100)),
            ..long_job()
        };
        let start = Instant::now();
        let err = backend.run(&job).unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{kind}: {err}");
        assert!(start.elapsed() < Duration::from_secs(3), "{kind}");
        drop(backend);
        assert_eq!(
            crate::common::children_of_self(),
            Vec::<i32>::new(),
            "{kind} left children"
        );
    }
}

#[test]
fn forking_while_another_thread_allocates_never_deadlocks() {
    let _forks = crate::common::fork_lock();
    let stop = Arc::new(AtomicBool::new(false));
    let allocator = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut keep = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                keep.push(vec![0u8; 1 + keep.len() % 4096]);
                if keep.len() > 1000 {
                    keep.clear();
                }
                let _ = format!("{}", keep.len());
            }
        })
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let job = Job::new(Method::Mc, 4096).seed(2).block(512);
        let mut backends: Vec<_> = process_backends().map(|k| k.create(2)).collect();
        let expected = backends[0].run(&job).unwrap().hits;
        for _ in 0..200 {
            for b in &mut backends {
                let hits = b.run(&job).unwrap().hits;
                // shm-race may lose updates: it only has to finish.
                if b.kind().is_block_decomposed() {
                    assert_eq!(hits, expected, "{}", b.kind());
                }
            }
        }
        // Stop the pool before the test ends and lets go of the fork lock:
        // the next test counts this process's children.
        drop(backends);
        tx.send(()).unwrap();
    });
    let finished = rx.recv_timeout(Duration::from_secs(120));
    stop.store(true, Ordering::Relaxed);
    allocator.join().unwrap();
    finished.expect("fork backends deadlocked (or took over 120 s) while another thread allocated");
}

/// The backend [`helper_runs_a_long_job_until_killed`] runs, set only in a
/// copy of this test binary started by [`workers_die_with_their_parent`].
const HELPER_BACKEND_ENV: &str = "PISCALE_TEST_HELPER_BACKEND";
/// Its start method.
const HELPER_START_ENV: &str = "PISCALE_TEST_HELPER_START";

/// Not a test: the parent process that [`workers_die_with_their_parent`]
/// kills. It runs a job that takes minutes on 2 workers of the backend named
/// in [`HELPER_BACKEND_ENV`], and does nothing when that is unset.
#[test]
#[ignore = "a helper, run in a child process by workers_die_with_their_parent"]
fn helper_runs_a_long_job_until_killed() {
    let Ok(name) = std::env::var(HELPER_BACKEND_ENV) else {
        return;
    };
    let start = std::env::var(HELPER_START_ENV).unwrap_or_default();
    let kind = Setup {
        kind: BackendKind::parse(&name).unwrap(),
        start: StartMethod::parse(&start).unwrap_or_default(),
    };
    crate::common::start_methods(kind.kind);
    let mut backend = kind.create(2);
    let _ = backend.run(&long_job());
}

/// Starts a copy of this test binary that runs a long job on `kind`,
/// SIGKILLs it once both its workers compute, and returns the workers still
/// alive 5 s later — killed then, so that a failing test leaves nothing
/// behind.
fn workers_left_after_killing_their_parent(kind: Setup) -> Vec<i32> {
    let mut parent = Command::new(std::env::current_exe().unwrap())
        .args([
            "process_faults::helper_runs_a_long_job_until_killed",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env(HELPER_BACKEND_ENV, kind.kind.name())
        .env(HELPER_START_ENV, kind.start.name())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // A few ticks of CPU each: past start-up (a pool's idle workers would
    // exit anyway, at end-of-file on their task pipes), in the job itself.
    let mut workers = Vec::new();
    let computing = wait_for(Duration::from_secs(10), || {
        workers = worker_stats_of(parent.id());
        workers.len() == 2 && workers.iter().all(|w| w.cpu_ticks >= 3)
    });
    parent.kill().unwrap();
    parent.wait().unwrap();
    wait_for(Duration::from_secs(5), || {
        !workers.iter().any(ProcStat::is_alive)
    });
    let left: Vec<i32> = workers
        .iter()
        .filter(|w| w.is_alive())
        .map(|w| w.pid)
        .collect();
    for &pid in &left {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    assert!(computing, "{kind}: the workers did not start: {workers:?}");
    left
}

#[test]
fn workers_die_with_their_parent() {
    let _forks = crate::common::fork_lock();
    let orphans: Vec<String> = process_backends()
        .filter_map(|kind| {
            let left = workers_left_after_killing_their_parent(kind);
            (!left.is_empty()).then(|| format!("{kind}: workers {left:?}"))
        })
        .collect();
    assert!(orphans.is_empty(), "outlived their parent: {orphans:?}");
}

#[test]
fn a_dead_fork_server_fails_the_run_naming_it_and_leaves_no_process() {
    let _forks = crate::common::fork_lock();
    crate::common::start_methods(BackendKind::ForkPipe);
    for kind in process_backends().filter(|s| s.start == StartMethod::Forkserver) {
        let mut backend = kind.create(2);
        let (tx, rx) = mpsc::channel();
        let failed = std::thread::scope(|s| {
            let runner = &mut backend;
            s.spawn(move || tx.send(runner.run(&long_job())).unwrap());
            // The server is our child with children: the workers, computing.
            let mut server = None;
            let started = wait_for(Duration::from_secs(5), || {
                server = crate::common::children_of_self()
                    .into_iter()
                    .find(|&pid| crate::common::children_of(pid as u32).len() == 2);
                server.is_some()
            });
            let server = server.filter(|_| started);
            if let Some(pid) = server {
                kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
            }
            let outcome = rx.recv_timeout(Duration::from_secs(5));
            if outcome.is_err() {
                for pid in crate::common::workers_of_self() {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
            (server, outcome)
        });
        let (server, outcome) = failed;
        let server = server.unwrap_or_else(|| panic!("{kind}: no fork server with 2 workers"));
        let err = outcome
            .unwrap_or_else(|_| panic!("{kind}: no answer 5 s after the server was killed"))
            .expect_err("a run whose fork server died must fail");
        let msg = err.to_string();
        assert!(
            matches!(&err, Error::ForkServer { pid, .. } if *pid == server)
                && msg.starts_with(&format!("the fork server (pid {server}) ")),
            "{kind}: {msg}"
        );
        drop(backend);
        assert_eq!(
            crate::common::children_of_self(),
            Vec::<i32>::new(),
            "{kind} left children"
        );
    }
}

#[test]
fn a_stopped_fork_server_is_killed_when_its_backend_is_dropped() {
    let _forks = crate::common::fork_lock();
    crate::common::start_methods(BackendKind::ForkPipe);
    let kind = Setup {
        kind: BackendKind::ForkPipe,
        start: StartMethod::Forkserver,
    };
    let mut backend = kind.create(2);
    backend.run(&Job::new(Method::Mc, 4096).block(512)).unwrap();
    let servers = crate::common::children_of_self();
    assert_eq!(servers.len(), 1, "the fork server alone: {servers:?}");
    kill(Pid::from_raw(servers[0]), Signal::SIGSTOP).unwrap();
    let dropped = Instant::now();
    drop(backend);
    assert!(
        dropped.elapsed() < Duration::from_secs(4),
        "{:?}",
        dropped.elapsed()
    );
    assert_eq!(crate::common::children_of_self(), Vec::<i32>::new());
}
