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

/// Pids of the live (or zombie) children of process `parent`, from `/proc/*/stat`.
pub fn children_of(parent: u32) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The command name is in parentheses and may hold spaces: skip past it.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let ppid = rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    pids
}

/// Pids of this test process's children.
pub fn children_of_self() -> Vec<i32> {
    children_of(std::process::id())
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
