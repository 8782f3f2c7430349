//! The library's backends, created once per backend and worker count and
//! reused, so persistent workers (the rayon pool, the `pool-map` processes)
//! start once per sweep rather than once per run.
//!
//! The harness's own threads must not distort what a process backend
//! measures: glibc's `fork` is slower in a threaded process (70–260 µs per
//! fork measured on the development VM). So before a process backend runs,
//! every cached backend that keeps threads alive between runs (the rayon
//! pool) is dropped, which joins its threads; the thread backends start and
//! join their threads inside each run.
//!
//! Idle process pools are bounded too. A sweep's repetitions run in
//! shuffled order, so every pool-map pool would otherwise live until nearly
//! the end: 256 + 512 + 1024 + 2048 idle processes for a sweep up to 2048
//! workers, enough to make the next `fork` fail (EAGAIN) under a process
//! limit. Before a new pool starts, idle ones are stopped (largest first)
//! until they hold at most [`LocalBackends::idle_budget`] workers; and if a
//! pool still cannot start, every idle one is stopped and it tries once
//! more. A stopped pool starts again when its point next runs (outside the
//! timed run, as every pool's start is).

use std::collections::HashMap;

use piscale_kernels::{Backend, BackendKind, CpuList, Job, RunReport, StartMethod, Team};

use super::MeasureError;

/// Backends by kind and worker count (see the module documentation).
#[derive(Debug)]
pub struct LocalBackends {
    cache: HashMap<Key, Box<dyn Backend>>,
    idle_budget: usize,
}

/// A cached backend: its kind, how its processes start, its workers.
type Key = (BackendKind, StartMethod, usize);

impl Default for LocalBackends {
    fn default() -> LocalBackends {
        let cpus = CpuList::usable().map_or(1, |c| c.0.len());
        LocalBackends {
            cache: HashMap::new(),
            idle_budget: Self::idle_budget(cpus),
        }
    }
}

impl LocalBackends {
    /// Runs `job` on `kind` with `workers` workers pinned to `cpus`,
    /// creating the backend on first use. A backend whose run failed is
    /// dropped (a pool that lost a worker is useless) and made afresh next
    /// time.
    pub fn run(
        &mut self,
        kind: BackendKind,
        workers: usize,
        cpus: Option<&CpuList>,
        job: &Job,
        start: StartMethod,
    ) -> Result<RunReport, MeasureError> {
        if kind.uses_processes() {
            self.drop_threaded();
        }
        let key = (kind, start, workers);
        if !self.cache.contains_key(&key) {
            let backend = self.start(key, cpus)?;
            self.cache.insert(key, backend);
        }
        let Some(backend) = self.cache.get_mut(&key) else {
            unreachable!("inserted above")
        };
        backend.run(job).map_err(|e| {
            self.cache.remove(&key);
            MeasureError::from(e)
        })
    }

    /// Idle pool workers kept while another pool starts: 4 per usable CPU,
    /// at least 16 — every pool of a sweep up to the machine's size (1 + 2 +
    /// … + 128 = 255 on 128 CPUs) stays warm, while an oversubscribed
    /// sweep's big pools do not pile up.
    pub fn idle_budget(cpus: usize) -> usize {
        cpus.saturating_mul(4).max(16)
    }

    /// Starts `kind` at `workers` workers, first stopping idle pools over
    /// the budget; if it cannot start while pools are idle, stops them all
    /// and tries once more.
    fn start(
        &mut self,
        key: Key,
        cpus: Option<&CpuList>,
    ) -> Result<Box<dyn Backend>, MeasureError> {
        let (kind, start, workers) = key;
        let pool = |k: &BackendKind| k.traits().processes && k.traits().persistent;
        if pool(&kind) {
            self.stop_idle_pools(self.idle_budget);
        }
        let create = || -> Result<Box<dyn Backend>, MeasureError> {
            let team = Team::new(workers, cpus.cloned())?.with_start(start);
            Ok(kind.create(team)?)
        };
        match create() {
            Err(_) if self.idle_pool_workers() > 0 => {
                self.stop_idle_pools(0);
                create()
            }
            started => started,
        }
    }

    /// Workers held by the cached process pools.
    fn idle_pool_workers(&self) -> usize {
        self.cache
            .keys()
            .filter(|(k, _, _)| k.traits().processes && k.traits().persistent)
            .map(|(_, _, w)| w)
            .sum()
    }

    /// Stops cached process pools, largest first, until they hold at most
    /// `budget` workers.
    fn stop_idle_pools(&mut self, budget: usize) {
        let mut pools: Vec<Key> = self
            .cache
            .keys()
            .filter(|(k, _, _)| k.traits().processes && k.traits().persistent)
            .copied()
            .collect();
        pools.sort_by_key(|&(_, _, w)| std::cmp::Reverse(w));
        for key in pools {
            if self.idle_pool_workers() <= budget {
                break;
            }
            self.cache.remove(&key);
        }
    }

    /// Drops `kind` started by `start` at `workers` workers: stops its
    /// pool, if it has one.
    pub fn release(&mut self, kind: BackendKind, start: StartMethod, workers: usize) {
        self.cache.remove(&(kind, start, workers));
    }

    /// Drops (and so joins) every cached backend whose threads outlive a run.
    fn drop_threaded(&mut self) {
        self.cache.retain(|(kind, _, _), _| {
            let traits = kind.traits();
            traits.processes || !traits.persistent
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use piscale_kernels::Method;

    /// Threads of this process whose name starts with `prefix`.
    fn threads_named(prefix: &str) -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|name| name.starts_with(prefix))
            .count()
    }

    #[test]
    fn idle_pools_are_stopped_past_the_budget_largest_first() {
        let mut local = LocalBackends {
            cache: HashMap::new(),
            idle_budget: 6,
        };
        let job = Job::new(Method::Mc, 1 << 16).block(1 << 12);
        let pool = BackendKind::PoolMap;
        for workers in [1, 2, 4] {
            local
                .run(pool, workers, None, &job, StartMethod::Fork)
                .unwrap();
        }
        // 1 + 2 idle when the 4-pool starts: within 6, all kept.
        assert_eq!(local.idle_pool_workers(), 7);
        // The 8-pool: idle 7 > 6, so the 4-pool goes (largest first).
        let eight = local.run(pool, 8, None, &job, StartMethod::Fork).unwrap();
        assert!(!local.cache.contains_key(&(pool, StartMethod::Fork, 4)));
        let cached = |w| local.cache.contains_key(&(pool, StartMethod::Fork, w));
        assert!(cached(2) && cached(1));
        assert_eq!(local.idle_pool_workers(), 11);
        // The 4-pool starts again when needed, and agrees to the bit.
        let four = local.run(pool, 4, None, &job, StartMethod::Fork).unwrap();
        assert_eq!(four.hits, eight.hits);
        assert_eq!(LocalBackends::idle_budget(2), 16);
        assert_eq!(LocalBackends::idle_budget(128), 512);
    }

    #[test]
    fn no_pool_thread_is_alive_while_a_process_backend_runs() {
        let mut local = LocalBackends::default();
        let job = Job::new(Method::Mc, 1 << 16).block(1 << 12);
        let rayon = local
            .run(BackendKind::Rayon, 2, None, &job, StartMethod::Fork)
            .unwrap();
        assert_eq!(threads_named("piscale-rayon"), 2, "the pool is cached");
        let forked = local
            .run(BackendKind::ForkPipe, 2, None, &job, StartMethod::Fork)
            .unwrap();
        // Joined before the fork; the kernel may list an exiting task a
        // moment longer, so allow it that moment.
        let gone = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            threads_named("piscale-rayon") == 0
        });
        assert!(gone, "the pool was dropped before forking");
        assert_eq!(rayon.hits, forked.hits);
        // The pool comes back when rayon runs again.
        local
            .run(BackendKind::Rayon, 2, None, &job, StartMethod::Fork)
            .unwrap();
        assert_eq!(threads_named("piscale-rayon"), 2);
    }
}
