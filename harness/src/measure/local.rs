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

use std::collections::HashMap;

use piscale_kernels::{Backend, BackendKind, CpuList, Job, RunReport, Team};

use super::MeasureError;

/// Backends by kind and worker count (see the module documentation).
#[derive(Debug, Default)]
pub struct LocalBackends {
    cache: HashMap<(BackendKind, usize), Box<dyn Backend>>,
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
    ) -> Result<RunReport, MeasureError> {
        if kind.uses_processes() {
            self.drop_threaded();
        }
        let key = (kind, workers);
        let backend = match self.cache.entry(key) {
            std::collections::hash_map::Entry::Occupied(slot) => slot.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                let team = Team::new(workers, cpus.cloned())?;
                slot.insert(kind.create(team)?)
            }
        };
        backend.run(job).map_err(|e| {
            self.cache.remove(&key);
            MeasureError::from(e)
        })
    }

    /// Drops `kind` at `workers` workers: stops its pool, if it has one.
    pub fn release(&mut self, kind: BackendKind, workers: usize) {
        self.cache.remove(&(kind, workers));
    }

    /// Drops (and so joins) every cached backend whose threads outlive a run.
    fn drop_threaded(&mut self) {
        self.cache.retain(|(kind, _), _| {
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
    fn no_pool_thread_is_alive_while_a_process_backend_runs() {
        let mut local = LocalBackends::default();
        let job = Job::new(Method::Mc, 1 << 16).block(1 << 12);
        let rayon = local.run(BackendKind::Rayon, 2, None, &job).unwrap();
        assert_eq!(threads_named("piscale-rayon"), 2, "the pool is cached");
        let forked = local.run(BackendKind::ForkPipe, 2, None, &job).unwrap();
        // Joined before the fork; the kernel may list an exiting task a
        // moment longer, so allow it that moment.
        let gone = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            threads_named("piscale-rayon") == 0
        });
        assert!(gone, "the pool was dropped before forking");
        assert_eq!(rayon.hits, forked.hits);
        // The pool comes back when rayon runs again.
        local.run(BackendKind::Rayon, 2, None, &job).unwrap();
        assert_eq!(threads_named("piscale-rayon"), 2);
    }
}
