//! Helpers shared by the kernels' integration tests.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use piscale_kernels::mc;
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Every test that forks holds this lock until its children are reaped, so
/// that one test's children never inherit another test's pipes (nix does the
/// same with its `FORK_MTX`).
static FORK: Mutex<()> = Mutex::new(());

pub fn fork_lock() -> MutexGuard<'static, ()> {
    FORK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What `/proc/<pid>/stat` says of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: i32,
    /// `R`, `S`, `T` (stopped), `Z` (zombie), …
    pub state: char,
    pub ppid: u32,
    /// User plus system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    /// Start time after boot, in clock ticks: with the pid, it names one
    /// process even if the pid is reused.
    pub start: u64,
}

impl ProcStat {
    /// The process `pid`, if it exists (a zombie still does).
    pub fn read(pid: i32) -> Option<ProcStat> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name is in parentheses and may hold spaces: skip past
        // it. What follows starts with field 3 (state) of proc_pid_stat(5).
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let number = |field: usize| fields.get(field - 3)?.parse::<u64>().ok();
        Some(ProcStat {
            pid,
            state: fields.first()?.chars().next()?,
            ppid: u32::try_from(number(4)?).ok()?,
            cpu_ticks: number(14)? + number(15)?,
            start: number(22)?,
        })
    }

    /// Whether this very process still runs: not gone, not a zombie waiting
    /// for its (new) parent to reap it, and its pid not reused.
    pub fn is_alive(&self) -> bool {
        ProcStat::read(self.pid)
            .is_some_and(|now| now.start == self.start && !matches!(now.state, 'Z' | 'X'))
    }
}

/// Every process in `/proc`.
fn all_processes() -> impl Iterator<Item = ProcStat> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_string_lossy().parse::<i32>().ok())
        .filter_map(ProcStat::read)
}

/// The live (or zombie) children of process `parent`.
pub fn child_stats_of(parent: u32) -> Vec<ProcStat> {
    let mut children: Vec<ProcStat> = all_processes().filter(|p| p.ppid == parent).collect();
    children.sort_unstable_by_key(|p| p.pid);
    children
}

/// Pids of the live (or zombie) children of process `parent`, from `/proc/*/stat`.
pub fn children_of(parent: u32) -> Vec<i32> {
    child_stats_of(parent).iter().map(|p| p.pid).collect()
}

/// Pids of this test process's children.
pub fn children_of_self() -> Vec<i32> {
    children_of(std::process::id())
}

/// The worker processes under `parent`: its children and grandchildren
/// that have no children of their own — forked and spawned workers are its
/// children, a fork server's are its grandchildren (the server, which has
/// children, is left out).
pub fn worker_stats_of(parent: u32) -> Vec<ProcStat> {
    let all: Vec<ProcStat> = all_processes().collect();
    let has_children = |p: &ProcStat| all.iter().any(|q| q.ppid == p.pid as u32);
    let children: Vec<&ProcStat> = all.iter().filter(|p| p.ppid == parent).collect();
    let mut workers: Vec<ProcStat> = all
        .iter()
        .filter(|p| p.ppid == parent || children.iter().any(|c| p.ppid == c.pid as u32))
        .filter(|p| !has_children(p))
        .copied()
        .collect();
    workers.sort_unstable_by_key(|p| p.pid);
    workers
}

/// Pids of this test process's workers (see [`worker_stats_of`]).
pub fn workers_of_self() -> Vec<i32> {
    worker_stats_of(std::process::id())
        .iter()
        .map(|p| p.pid)
        .collect()
}

/// Waits until `cond` holds or `limit` passes; returns whether it held.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}

/// Hits among the first `count` samples of `per-core` worker `worker`,
/// straight from the definition with rand_xoshiro: lane `l` is the seed's
/// stream after `worker·8 + l` jumps, and sample `k` is the next draw of lane
/// `k % 8`.
pub fn reference_worker_hits(seed: u64, worker: usize, count: u64) -> u64 {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    for _ in 0..worker * mc::LANES {
        rng.jump();
    }
    let mut lanes = Vec::with_capacity(mc::LANES);
    for _ in 0..mc::LANES {
        lanes.push(rng.clone());
        rng.jump();
    }
    (0..count)
        .filter(|k| mc::is_hit(lanes[(k % mc::LANES as u64) as usize].next_u64()))
        .count() as u64
}

/// The ways `kind`'s workers can start: every [`StartMethod`] for a process
/// backend (a spawned worker runs this package's `piscale-worker`), only
/// `fork` — which the others ignore — for the rest.
pub fn start_methods(kind: piscale_kernels::BackendKind) -> Vec<piscale_kernels::StartMethod> {
    use strum::VariantArray;
    piscale_kernels::start::set_worker_program(env!("CARGO_BIN_EXE_piscale-worker").into());
    if kind.uses_processes() {
        piscale_kernels::StartMethod::VARIANTS.to_vec()
    } else {
        vec![piscale_kernels::StartMethod::Fork]
    }
}
