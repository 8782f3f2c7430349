//! # piscale-kernels
//!
//! Two ways to compute pi — Monte Carlo darts ([`mc`]) and the midpoint rule
//! ([`midpoint`]) — and eleven ways to run them in parallel ([`backends`]):
//! serial, std threads, rayon, fork + pipe, shared-memory reduction, a
//! process pool, producers on one queue, one shared counter under a lock,
//! atomically or racing, and per-core independent streams. [`capacity`]
//! measures what the CPUs can give when they all compute at once.
//!
//! The total work of a [`Job`] is cut into fixed blocks. Every backend except
//! `per-core` (and `shm-race`, which loses updates on purpose) evaluates
//! exactly those blocks and combines their exact integer
//! partials, so for a given seed, work and block size the Monte Carlo hit count
//! is bit-identical for every backend at every worker count (and so is the
//! midpoint sum, which is combined in fixed point).
//!
//! ```
//! use piscale_kernels::{BackendKind, Job, Method, Team};
//!
//! let job = Job::new(Method::Mc, 1 << 20).seed(7).block(1 << 16);
//! let mut serial = BackendKind::Serial.create(Team::unpinned(1)?)?;
//! let mut threads = BackendKind::Threads.create(Team::unpinned(3)?)?;
//! let a = serial.run(&job)?;
//! let b = threads.run(&job)?;
//! assert_eq!(a.hits, b.hits);
//! assert!((a.estimate - std::f64::consts::PI).abs() < 5.0 * a.std_error.unwrap());
//! # Ok::<(), piscale_kernels::Error>(())
//! ```
//!
//! Main types: [`Job`] (what to compute, on which instruction set), [`Team`]
//! (how many workers, which CPUs), [`BackendKind`] and the [`Backend`] trait
//! (how), [`RunReport`] (the estimate and where the time went). [`Named`]
//! gives the enums their names on the command line and in files.
#![deny(missing_docs)]

pub mod backends;
pub mod cancel;
pub mod capacity;
pub mod child;
pub mod clock;
mod error;
pub mod isa;
pub mod job;
pub mod mc;
pub mod midpoint;
pub mod named;
pub mod pin;
pub mod report;
pub mod robust_mutex;
pub mod start;

pub use backends::{Backend, BackendKind, Team, Traits, Update, MAX_WORKERS};
pub use capacity::{CapacityRun, CapacityWorker};
pub use error::{Error, Result};
pub use isa::Isa;
pub use job::{BlockRange, Job, Method, DEFAULT_BLOCK, MAX_SAMPLES};
pub use named::Named;
pub use pin::CpuList;
pub use report::{Phases, Race, RemoteWorker, RunReport, WorkerOutcome};
pub use start::StartMethod;
