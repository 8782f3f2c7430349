//! Measuring: one repetition of one point, through the [`Executor`] trait.
//!
//! [`RealExecutor`] runs every kind of [`Kernel`]: the library's backends
//! ([`local`]), MPI ranks ([`mpi`]) and external commands ([`command`]), each
//! started as a child process in its own group where it has one
//! ([`child`]). `piscale run` and `piscale sweep` both measure through it,
//! so there is one dispatch path. Tests of the sweep driver use a mock
//! executor with fixed fake durations (hyperfine's `Executor` idea).
//!
//! Where workers run is decided once, for both commands, by [`placement`];
//! [`probe`] describes the machine for `machine.json`.

pub mod child;
pub mod command;
pub mod cores;
pub mod disturbance;
pub mod isa;
pub mod local;
pub mod machine_probe;
pub mod mpi;
pub mod placement;
pub mod probe;
pub mod tree;
pub mod watchdog;

use std::time::Duration;

use piscale_kernels::{capacity, CapacityRun, CpuList, Job, RunReport, Team};

use self::command::CommandKernel;
pub use self::isa::IsaChoice;
use self::local::LocalBackends;
use self::mpi::MpiSettings;
use crate::results::{Kernel, PointId};

/// How to run a point: everything one run needs beyond the point's identity.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// Seed of the Monte Carlo streams.
    pub seed: u64,
    /// Block size of the decomposition.
    pub block: u64,
    /// Blocks per `pool-map` task; `None`: Pool.map's default.
    pub chunksize: Option<u64>,
    /// Kill the workers (process backends, MPI, commands) after this long.
    pub timeout: Option<Duration>,
    /// The kernels' instruction set.
    pub isa: IsaChoice,
    /// More MPI ranks than slots (`mpirun --oversubscribe`).
    pub oversubscribe: bool,
    /// How long a capacity run computes.
    pub capacity: Duration,
}

/// A capacity run's duration unless the sweep sets one (`capacity_s`): as
/// long as a default point's runs at 2 workers (2^30 samples, 0.25–0.3 s),
/// so that it sees the clock speed they see, and short enough to cost about
/// a tenth of a default sweep. Its figure does not depend on it otherwise:
/// rates come from stamps around whole blocks.
pub const DEFAULT_CAPACITY: Duration = Duration::from_millis(200);

impl RunSpec {
    /// The library job of point `id`.
    pub fn job(&self, id: &PointId) -> Job {
        Job::new(id.method, id.samples)
            .seed(self.seed)
            .block(self.block)
            .chunksize(self.chunksize)
            .timeout(self.timeout)
            .isa(self.isa.resolve())
    }
}

/// One measured run.
#[derive(Debug)]
pub struct Measured {
    /// Wall time, seconds; for a capacity run, the time its work N would
    /// take at the rate measured ([`CapacityRun::equivalent_s`]).
    pub wall_s: f64,
    /// The pi estimate; `None` for a capacity run, which measures the
    /// machine, not pi.
    pub estimate: Option<f64>,
    /// What its workers did (built-in kernels only; commands are timed whole).
    pub detail: Detail,
    /// The command line that started it, shell-quoted, for kernels that run
    /// another program: the MPI launcher's (`srun -n 2 --mpi=pmix …`), a
    /// command kernel's. `None` for the library's backends.
    pub launch: Option<String>,
}

/// What a measured run knows of its workers.
#[derive(Debug)]
pub enum Detail {
    /// A command: only its wall time and its output.
    Whole,
    /// A command that reports its own compute time (its `time` pattern):
    /// the rest of its wall time is its start-up.
    SelfTimed {
        /// Seconds it says it computed.
        compute_s: f64,
    },
    /// A backend's or MPI's report: phases, CPUs, busy times.
    Report(Box<RunReport>),
    /// A capacity run: phases, CPUs, busy times and rates.
    Capacity(CapacityRun),
}

impl From<RunReport> for Measured {
    fn from(report: RunReport) -> Measured {
        Measured {
            wall_s: report.wall_s,
            estimate: Some(report.estimate),
            detail: Detail::Report(Box::new(report)),
            launch: None,
        }
    }
}

impl Measured {
    /// How long the run really took, seconds: `wall_s`, except for a
    /// capacity run, whose `wall_s` is its work's time at its rate.
    pub fn elapsed_s(&self) -> f64 {
        match &self.detail {
            Detail::Capacity(run) => run.wall_s,
            _ => self.wall_s,
        }
    }

    /// A capacity run of a point of `samples`.
    fn capacity(run: CapacityRun, samples: u64) -> Measured {
        Measured {
            wall_s: run.equivalent_s(samples),
            estimate: None,
            detail: Detail::Capacity(run),
            launch: None,
        }
    }
}

/// Why a run produced no result. The message is what `raw.csv` records.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    /// Stopped by Ctrl-C or SIGTERM; its workers were killed and reaped.
    #[error("cancelled")]
    Cancelled,
    /// Ran past its timeout; its workers were killed.
    #[error("{0}")]
    Timeout(String),
    /// A worker, rank or command died or failed.
    #[error("{0}")]
    Failed(String),
    /// The run was refused before it started: the input's fault (exit 2).
    #[error("{0}")]
    Invalid(String),
}

impl From<piscale_kernels::Error> for MeasureError {
    fn from(e: piscale_kernels::Error) -> MeasureError {
        use piscale_kernels::Error;
        match e {
            Error::Cancelled => MeasureError::Cancelled,
            Error::Timeout { .. } => MeasureError::Timeout(e.to_string()),
            Error::Invalid(why) => MeasureError::Invalid(why),
            Error::WorkerDied { .. }
            | Error::ForkServer { .. }
            | Error::Start { .. }
            | Error::Os { .. } => MeasureError::Failed(e.to_string()),
        }
    }
}

/// Runs one repetition of a point. The real one runs kernels; tests use
/// mocks with fixed fake durations, so the driver's arithmetic can be
/// checked exactly.
pub trait Executor {
    /// Runs point `id` once with its workers pinned to `cpus`.
    fn measure(
        &mut self,
        id: &PointId,
        cpus: Option<&CpuList>,
        spec: &RunSpec,
    ) -> Result<Measured, MeasureError>;

    /// Point `id`'s kernel, at its worker count, will not run again: stop
    /// whatever it keeps between runs (a pool's processes).
    fn release(&mut self, _id: &PointId) {}
}

/// Runs every kind of kernel (see the module documentation).
#[derive(Debug, Default)]
pub struct RealExecutor {
    local: LocalBackends,
    commands: Vec<CommandKernel>,
    mpi: MpiSettings,
}

impl RealExecutor {
    /// An executor for these command kernels and MPI settings.
    pub fn new(commands: Vec<CommandKernel>, mpi: MpiSettings) -> RealExecutor {
        RealExecutor {
            local: LocalBackends::default(),
            commands,
            mpi,
        }
    }
}

impl Executor for RealExecutor {
    fn measure(
        &mut self,
        id: &PointId,
        cpus: Option<&CpuList>,
        spec: &RunSpec,
    ) -> Result<Measured, MeasureError> {
        match &id.kernel {
            Kernel::Capacity => {
                let team = Team::new(id.workers, cpus.cloned())?;
                let run = capacity::measure(&spec.job(id), &team, spec.capacity)?;
                if run.rate().is_nan() || run.rate() <= 0.0 {
                    return Err(MeasureError::Failed(format!(
                        "capacity: no computing was measured ({run:?})"
                    )));
                }
                Ok(Measured::capacity(run, id.samples))
            }
            Kernel::Local(l) => self
                .local
                .run(l.kind, id.workers, cpus, &spec.job(id), l.start)
                .map(Measured::from),
            Kernel::Mpi => mpi::launch::run(&mpi::launch::Launch {
                job: &spec.job(id),
                ranks: id.workers,
                cpus,
                isa: spec.isa,
                settings: &self.mpi,
                oversubscribe: spec.oversubscribe,
                timeout: spec.timeout,
            })
            .map(|launched| Measured {
                launch: Some(shell_words::join(&launched.argv)),
                ..Measured::from(launched.report)
            }),
            Kernel::Command(name) => {
                let kernel = self
                    .commands
                    .iter()
                    .find(|c| c.name == *name)
                    .ok_or_else(|| MeasureError::Invalid(format!("no command named {name}")))?;
                let at = command::PointValues {
                    workers: id.workers,
                    samples: id.samples,
                    seed: spec.seed,
                    cpus,
                    hostfile: self.mpi.hostfile.as_deref(),
                };
                command::run_command(kernel, &at, spec.timeout)
            }
        }
    }

    fn release(&mut self, id: &PointId) {
        if let Kernel::Local(l) = id.kernel {
            self.local.release(l.kind, l.start, id.workers);
        }
    }
}
