//! `piscale run`: one job, once — a one-point sweep through the same
//! [`Executor`](crate::measure::Executor) as `piscale sweep`, printed as
//! text or JSON.
//!
//! [`RunRequest`] holds the flags as given; [`RunRequest::validate`] checks
//! them together, once, before anything runs.

use anyhow::Result;
use piscale_kernels::{BackendKind, CpuList, Job, RunReport, StartMethod, Team, Update};

use crate::error::UsageError;
use crate::measure::mpi::MpiSettings;
use crate::measure::placement::{cpus_for, PinPolicy, Topology};
use crate::measure::{Detail, Executor, IsaChoice, RealExecutor, RunSpec, DEFAULT_CAPACITY};
use crate::present::run::{Format, Placement};
use crate::results::{Kernel, Mode, PointId};

/// One run, as asked for on the command line, not yet checked.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// What to compute (its ranges are already checked flag by flag).
    pub job: Job,
    /// Which kernel.
    pub backend: Kernel,
    /// How many workers.
    pub workers: usize,
    /// Where they run.
    pub pin: PinPolicy,
    /// How to print the result.
    pub format: Format,
    /// Which instruction set the kernels use.
    pub isa: IsaChoice,
    /// How `mpi` ranks are started.
    pub mpi: MpiSettings,
    /// The first MPI flag given, if any (they need `--backend mpi`).
    pub mpi_flag: Option<&'static str>,
    /// `--sync`: how a shared-counter backend updates (it picks `shm-lock`,
    /// `shm-atomic` or `shm-race`).
    pub sync: Option<Update>,
    /// `--start`: how a process backend's workers start.
    pub start: StartMethod,
}

/// One run, checked: the point, how to run it, where, and how to print it.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The point: method, kernel, workers, samples.
    pub id: PointId,
    /// Seed, block, chunk size, timeout, ISA.
    pub spec: RunSpec,
    /// The `--pin` setting.
    pub pin: PinPolicy,
    /// The CPUs it gave.
    pub cpus: Option<CpuList>,
    /// How to print the result.
    pub format: Format,
    /// How `mpi` ranks are started.
    pub mpi: MpiSettings,
}

impl RunRequest {
    /// Checks the combination of flags and the placement.
    pub fn validate(mut self) -> Result<RunConfig, UsageError> {
        if let Some(update) = self.sync {
            if self.backend.update().is_none() {
                return Err(UsageError::flag(
                    "--sync",
                    format!(
                        "only the shared-counter backends ({}) take a synchronisation, not {}",
                        Kernel::names_of(|k| k.update().is_some()),
                        self.backend
                    ),
                ));
            }
            self.backend = Kernel::local(BackendKind::shared_counter(update));
        }
        self.check_flags()?;
        let RunRequest {
            job,
            backend,
            workers,
            pin,
            format,
            isa,
            mpi,
            start,
            ..
        } = self;
        job.validate()
            .map_err(|e| UsageError::flag("--samples", e))?;
        let cpus =
            cpus_for(&pin, workers, &Topology::read()).map_err(|e| UsageError::flag("--pin", e))?;
        // The same checks a backend's team gets.
        Team::new(workers, cpus.clone()).map_err(|e| UsageError::flag("--pin", e))?;
        let usable = CpuList::usable().map_or(0, |u| u.0.len());
        let spec = RunSpec {
            seed: job.seed,
            block: job.block,
            chunksize: job.chunksize,
            timeout: job.timeout,
            isa,
            // Like the other backends, `run` takes any number of workers.
            oversubscribe: workers > usable && mpi.hostfile.is_none(),
            capacity: DEFAULT_CAPACITY,
        };
        let id = PointId {
            method: job.method,
            kernel: backend.started(start),
            mode: Mode::Strong,
            workers,
            samples: job.samples,
        };
        Ok(RunConfig {
            id,
            spec,
            pin,
            cpus,
            format,
            mpi,
        })
    }

    /// Flags that only some kernels take.
    fn check_flags(&self) -> Result<(), UsageError> {
        let backend = &self.backend;
        let mpi = *backend == Kernel::Mpi;
        if let (Some(flag), false) = (self.mpi_flag, mpi) {
            return Err(UsageError::flag(
                flag,
                format!("only the mpi backend is launched by MPI, not {backend}"),
            ));
        }
        if mpi {
            crate::measure::mpi::launch::preflight(&self.mpi).map_err(|e| {
                // A bad [mpi] setting names itself; the rest is about the backend.
                if let Some((key, why)) = e.strip_prefix("mpi.").and_then(|e| e.split_once(':')) {
                    UsageError(format!("--{}:{why}", key.replace('_', "-")))
                } else {
                    UsageError::flag("--backend", e)
                }
            })?;
        }
        if *backend == Kernel::local(piscale_kernels::BackendKind::Serial) && self.workers != 1 {
            return Err(UsageError::flag(
                "--workers",
                format!(
                    "the serial backend runs exactly 1 worker, got {}",
                    self.workers
                ),
            ));
        }
        if self.job.chunksize.is_some() && !backend.is_chunked() {
            return Err(UsageError::flag(
                "--chunksize (--flush)",
                format!(
                    "{backend} takes no chunk size (these do: {})",
                    Kernel::names_of(Kernel::is_chunked)
                ),
            ));
        }
        if self.start != StartMethod::Fork && backend.start().is_none() {
            return Err(UsageError::flag(
                "--start",
                format!(
                    "only the library's process backends ({}) start their workers by a start \
                     method, not {backend}",
                    Kernel::names_of(|k| k.start().is_some())
                ),
            ));
        }
        if self.job.timeout.is_some() && !backend.uses_processes() {
            return Err(UsageError::flag(
                "--timeout",
                format!(
                    "only the process backends ({}) can be stopped, not {backend}",
                    Kernel::names_of(Kernel::uses_processes)
                ),
            ));
        }
        Ok(())
    }
}

impl RunConfig {
    /// Runs the job once. Ctrl-C and SIGTERM stop it as they stop a sweep:
    /// process backends, MPI launchers and commands kill and reap what they
    /// started (which may be in a process group of its own, out of reach of
    /// the terminal's signal); thread backends stop between blocks, or are
    /// given up after a grace. Either way piscale exits 130.
    pub fn execute(&self) -> Result<Executed> {
        crate::sweep::signals::install_handlers()?;
        let mut executor = RealExecutor::new(Vec::new(), self.mpi.clone());
        let _watch =
            (!self.id.kernel.uses_processes()).then(|| crate::sweep::signals::HardStop::arm(None));
        let measured = executor.measure(&self.id, self.cpus.as_ref(), &self.spec)?;
        match measured.detail {
            Detail::Report(report) => Ok(Executed {
                report: *report,
                launch: measured.launch,
            }),
            _ => Err(anyhow::anyhow!("{} reported no phases", self.id.kernel)),
        }
    }

    /// Where and how the workers ran, for the output.
    pub fn placement<'a>(&'a self, executed: &'a Executed) -> Placement<'a> {
        Placement {
            pin: &self.pin,
            cpus: self.cpus.as_ref(),
            launch: executed.launch.as_deref(),
        }
    }
}

/// A finished `piscale run`.
#[derive(Debug)]
pub struct Executed {
    /// What the backend reported.
    pub report: RunReport,
    /// The launcher's command line, for `mpi` ([`crate::measure::Measured::launch`]).
    pub launch: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use piscale_kernels::{BackendKind, Method};

    fn request(backend: BackendKind, workers: usize) -> RunRequest {
        RunRequest {
            job: Job::new(Method::Mc, 1000),
            backend: Kernel::local(backend),
            workers,
            pin: PinPolicy::None,
            format: Format::Text,
            isa: IsaChoice::default(),
            mpi: MpiSettings::default(),
            mpi_flag: None,
            sync: None,
            start: StartMethod::Fork,
        }
    }

    #[test]
    fn sync_picks_the_shared_counter_backend_and_only_for_them() {
        let mut r = request(BackendKind::ShmLock, 2);
        r.sync = Some(Update::None);
        r.job.chunksize = Some(8);
        let config = r.clone().validate().unwrap();
        assert_eq!(config.id.kernel, Kernel::local(BackendKind::ShmRace));
        assert_eq!(config.spec.chunksize, Some(8));
        r.backend = Kernel::local(BackendKind::ShmRace);
        r.sync = Some(Update::Atomic);
        let config = r.clone().validate().unwrap();
        assert_eq!(config.id.kernel, Kernel::local(BackendKind::ShmAtomic));
        r.backend = Kernel::local(BackendKind::ShmReduce);
        let err = r.validate().unwrap_err().0;
        assert_eq!(
            err,
            "--sync: only the shared-counter backends (shm-lock, shm-atomic, shm-race) take a \
             synchronisation, not shm-reduce"
        );
    }

    #[test]
    fn serial_needs_exactly_one_worker() {
        assert!(request(BackendKind::Serial, 1).validate().is_ok());
        let err = request(BackendKind::Serial, 2).validate().unwrap_err();
        assert!(err.0.starts_with("--workers: "), "{err}");
    }

    #[test]
    fn chunksize_and_timeout_need_a_backend_that_uses_them() {
        let mut r = request(BackendKind::Threads, 2);
        r.job.chunksize = Some(4);
        assert!(r
            .clone()
            .validate()
            .unwrap_err()
            .0
            .starts_with("--chunksize (--flush): "));
        r.backend = Kernel::local(BackendKind::PoolMap);
        assert!(r.clone().validate().is_ok());
        r.backend = Kernel::local(BackendKind::ForkQueue);
        assert!(r.clone().validate().is_ok());
        r.backend = Kernel::local(BackendKind::ShmRace);
        assert!(r.validate().is_ok());

        let mut r = request(BackendKind::Rayon, 2);
        r.job.timeout = Some(std::time::Duration::from_secs(1));
        let err = r.clone().validate().unwrap_err().0;
        assert_eq!(
            err,
            format!(
                "--timeout: only the process backends ({}) can be stopped, not rayon",
                Kernel::names_of(Kernel::uses_processes)
            )
        );
        r.backend = Kernel::local(BackendKind::ForkPipe);
        assert!(r.validate().is_ok());
    }

    #[test]
    fn compact_pins_like_a_sweep_does() {
        let mut r = request(BackendKind::Threads, 2);
        r.pin = PinPolicy::Compact;
        let config = r.validate().unwrap();
        let topology = Topology::read();
        assert_eq!(
            config.cpus,
            cpus_for(&PinPolicy::Compact, 2, &topology).unwrap()
        );
    }

    #[test]
    fn unusable_cpu_is_a_pin_error() {
        let mut r = request(BackendKind::Threads, 2);
        let max = CpuList::usable().unwrap().0.last().copied().unwrap();
        r.pin = PinPolicy::List(CpuList(vec![max + 1]));
        assert!(r.validate().unwrap_err().0.starts_with("--pin: "));
    }

    #[test]
    fn a_run_goes_through_the_executor() {
        let config = request(BackendKind::Threads, 2).validate().unwrap();
        let report = config.execute().unwrap().report;
        assert_eq!(report.workers, 2);
        assert_eq!(report.backend, "threads");
        let serial = request(BackendKind::Serial, 1).validate().unwrap();
        assert_eq!(serial.execute().unwrap().report.hits, report.hits);
    }
}
