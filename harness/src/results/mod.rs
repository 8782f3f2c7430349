//! The on-disk contract, typed: what a sweep writes and every later step
//! reads back.
//!
//! - [`point`]: [`PointId`] — method, [`Kernel`], [`Mode`], workers,
//!   samples — the one definition of a point's identity and order;
//! - [`raw`]: `raw.csv`, one [`RawRow`] per repetition, appended row by row;
//! - [`summary`]: `summary.csv`, one [`SummaryRow`] per point;
//! - [`machine`]: `machine.json`, the [`Machine`];
//! - [`out_dir`]: [`OutDir`], every file name of an output folder, and
//!   atomic writes.
//!
//! Nothing here measures or computes: `measure` and `sweep` write these
//! files, `analyse` and `present` read them.

mod csv_file;
#[cfg(test)]
pub mod fixture;
pub mod machine;
pub mod out_dir;
pub mod point;
pub mod raw;
pub mod summary;

pub use csv_file::starts_like_formula;
#[cfg(test)]
pub use machine::LoadAverage;
pub use machine::Machine;
pub use out_dir::{write_atomic, OutDir};
pub use point::{Kernel, Mode, PointId};
pub use raw::{format_core_kinds, format_cpus, read_raw, PerWorker, RawRow, RawWriter, Status};
pub use summary::{read_summary, write_summary, SummaryRow};

/// Now, local time, RFC 3339 with milliseconds: the one timestamp format of
/// every file (`raw.csv` rows, `machine.json`).
pub fn timestamp() -> String {
    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}
