//! `summary.csv`: one [`SummaryRow`] per point, derived from the raw rows
//! alone (`analyse::summary`) and replaced atomically after every sweep.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use piscale_kernels::{Method, StartMethod};
use serde::{Deserialize, Serialize};

use super::csv_file::{non_negative, read_csv, CheckedRow};
use super::out_dir::write_atomic;
use super::point::{Kernel, Mode, PointId};

/// The columns of `summary.csv`, in order: exactly the fields of [`SummaryRow`].
pub const SUMMARY_COLUMNS: [&str; 37] = [
    "method",
    "backend",
    "mode",
    "workers",
    "samples",
    "reps",
    "failed",
    "median_s",
    "min_s",
    "max_s",
    "ci_low_s",
    "ci_high_s",
    "ci_coverage",
    "cv",
    "speedup",
    "speedup_low",
    "speedup_high",
    "speedup_coverage",
    "speedup_vs_serial",
    "efficiency",
    "efficiency_low",
    "efficiency_high",
    "karp_flatt",
    "samples_per_ns_per_core",
    "noisy",
    "disturbed",
    "capacity",
    "capacity_low",
    "capacity_high",
    "of_capacity",
    "load_balance",
    "overhead_efficiency",
    "computation_scalability",
    "machine_scalability",
    "code_scalability",
    "wrong",
    "start",
];

/// Columns every `summary.csv` has: the breakdown's came later.
const SUMMARY_REQUIRED: usize = SUMMARY_COLUMNS.len() - 11;

/// One point of a sweep, summarised over its repetitions: a line of
/// `summary.csv`. Figures that cannot be computed (every repetition
/// failed, no 1-worker baseline) are empty.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// The method.
    pub method: Method,
    /// Backend or command kernel.
    pub backend: Kernel,
    /// Strong or weak scaling.
    pub mode: Mode,
    /// Number of workers.
    pub workers: usize,
    /// Total work N.
    pub samples: u64,
    /// Repetitions that succeeded (and feed the timings).
    pub reps: usize,
    /// Repetitions that failed.
    pub failed: usize,
    /// Median wall time, seconds.
    pub median_s: Option<f64>,
    /// Fastest wall time, seconds.
    pub min_s: Option<f64>,
    /// Slowest wall time, seconds.
    pub max_s: Option<f64>,
    /// Lower end of the interval of the median, seconds: an order
    /// statistic (see [`crate::analyse::stats::MedianInterval`]).
    pub ci_low_s: Option<f64>,
    /// Upper end of the interval of the median, seconds.
    pub ci_high_s: Option<f64>,
    /// The probability that `[ci_low_s, ci_high_s]` holds the true median:
    /// 0.95 or more with 6 repetitions or more, 0.75 with 3.
    pub ci_coverage: Option<f64>,
    /// Coefficient of variation of the wall times (needs two repetitions).
    pub cv: Option<f64>,
    /// Over the same backend at 1 worker: t1/tp (strong), p·t1/tp (weak, scaled).
    pub speedup: Option<f64>,
    /// Lower end of the speed-up's interval: the baseline's lowest time in
    /// its interval over this point's highest.
    pub speedup_low: Option<f64>,
    /// Upper end of the speed-up's interval.
    pub speedup_high: Option<f64>,
    /// A lower bound of the probability that the speed-up's interval holds
    /// the true ratio of medians: the product of the two times' coverages.
    pub speedup_coverage: Option<f64>,
    /// Over `serial` at 1 worker with the same work, strong or scaled likewise.
    pub speedup_vs_serial: Option<f64>,
    /// `speedup` / workers.
    pub efficiency: Option<f64>,
    /// `speedup_low` / workers.
    pub efficiency_low: Option<f64>,
    /// `speedup_high` / workers.
    pub efficiency_high: Option<f64>,
    /// Karp–Flatt serial fraction from `speedup`; empty at 1 worker.
    pub karp_flatt: Option<f64>,
    /// Throughput per worker: samples / median_s / 1e9 / workers.
    pub samples_per_ns_per_core: Option<f64>,
    /// `cv` above the noise threshold: treat this point's figures with care.
    pub noisy: Option<bool>,
    /// Repetitions recorded disturbed by the noise guard (stolen or stalled
    /// CPU time, a crowded start), after their retries.
    #[serde(default)]
    pub disturbed: usize,
    /// C(p): the speed-up this machine can give at this many workers, the
    /// `capacity` point's (see [`crate::analyse::breakdown`]).
    #[serde(default)]
    pub capacity: Option<f64>,
    /// Lower end of the capacity's interval (the capacity point's speed-up
    /// interval).
    #[serde(default)]
    pub capacity_low: Option<f64>,
    /// Upper end of the capacity's interval.
    #[serde(default)]
    pub capacity_high: Option<f64>,
    /// `speedup` / `capacity`: the fraction of what the machine can give
    /// that this kernel reached; = load_balance × overhead_efficiency ×
    /// code_scalability.
    #[serde(default)]
    pub of_capacity: Option<f64>,
    /// The time the work would take if every worker finished together,
    /// each at its own rate, over the longest worker's busy time (medians,
    /// relative to the 1-worker point's; see `analyse::breakdown`).
    #[serde(default)]
    pub load_balance: Option<f64>,
    /// The longest worker's busy share of the wall time, over the 1-worker
    /// run's.
    #[serde(default)]
    pub overhead_efficiency: Option<f64>,
    /// The workers' summed rate over p times one worker's (weak: the same
    /// per worker); = machine_scalability × code_scalability.
    #[serde(default)]
    pub computation_scalability: Option<f64>,
    /// capacity / workers: the machine's part of computation scalability.
    #[serde(default)]
    pub machine_scalability: Option<f64>,
    /// computation_scalability × workers / capacity: the code's part.
    /// load_balance × overhead_efficiency × machine_scalability ×
    /// code_scalability = efficiency.
    #[serde(default)]
    pub code_scalability: Option<f64>,
    /// Repetitions that ran to their end with a wrong answer on purpose
    /// (`shm-race`, whose lost updates their rows' `error` says): not in
    /// the timings.
    #[serde(default)]
    pub wrong: usize,
    /// How a library process backend's workers started (see
    /// [`RawRow::start`](super::raw::RawRow::start)).
    #[serde(default)]
    pub start: Option<StartMethod>,
}

impl SummaryRow {
    /// The point this row summarises.
    pub fn id(&self) -> PointId {
        PointId {
            method: self.method,
            kernel: self.backend.clone(),
            mode: self.mode,
            workers: self.workers,
            samples: self.samples,
        }
    }

    /// Whether the point was flagged noisy.
    pub fn is_noisy(&self) -> bool {
        self.noisy == Some(true)
    }

    /// Whether every repetition of the point failed.
    pub fn all_failed(&self) -> bool {
        self.reps == 0 && self.failed > 0
    }
}

impl CheckedRow for SummaryRow {
    fn check(&self) -> Result<(), (&'static str, String)> {
        non_negative("median_s", self.median_s)?;
        non_negative("min_s", self.min_s)?;
        non_negative("max_s", self.max_s)?;
        non_negative("ci_low_s", self.ci_low_s)?;
        non_negative("ci_high_s", self.ci_high_s)?;
        non_negative("ci_coverage", self.ci_coverage)?;
        non_negative("cv", self.cv)?;
        non_negative("speedup", self.speedup)?;
        non_negative("speedup_vs_serial", self.speedup_vs_serial)?;
        non_negative("efficiency", self.efficiency)?;
        non_negative("samples_per_ns_per_core", self.samples_per_ns_per_core)
    }
}

/// The text of `summary.csv`: the header, then one line per row.
pub fn summary_csv(rows: &[SummaryRow]) -> Result<String> {
    let mut csv = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    csv.write_record(SUMMARY_COLUMNS)?;
    for row in rows {
        csv.serialize(row)?;
    }
    let bytes = csv.into_inner().map_err(|e| anyhow!("{}", e.error()))?;
    Ok(String::from_utf8(bytes)?)
}

/// Replaces `summary.csv` at `path` atomically.
pub fn write_summary(path: &Path, rows: &[SummaryRow]) -> Result<()> {
    let text = summary_csv(rows)
        .with_context(|| format!("cannot format the summary for {}", path.display()))?;
    write_atomic(path, text.as_bytes())
}

/// Reads a `summary.csv` back (for reports and plots).
pub fn read_summary(path: &Path) -> Result<Vec<SummaryRow>> {
    let rows: Vec<SummaryRow> = read_csv(path, &SUMMARY_COLUMNS, SUMMARY_REQUIRED, "summary")?;
    Ok(rows
        .into_iter()
        .map(|mut r| {
            r.backend = r.backend.started(r.start.unwrap_or_default());
            r
        })
        .collect())
}
