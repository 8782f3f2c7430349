//! What a sweep records: one [`RawRow`] per measured repetition in
//! `raw.csv`, and one [`SummaryRow`] per point in `summary.csv`.
//!
//! The raw file is the source of truth. [`RawWriter`] appends and flushes
//! every row as soon as it is measured, so a crash or Ctrl-C loses nothing
//! and `--resume` can carry on from the file ([`RawWriter::append`],
//! [`read_raw`]). The summary is derived from the raw rows alone by
//! [`summarize`] (timings from [`super::stats`]) and replaced atomically by
//! [`write_summary`], so a reader never sees half of one.
//!
//! Units are in the column names: `wall_s` is seconds.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use piscale_kernels::BackendKind;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::stats;

/// `status` of a repetition that produced an estimate.
pub const STATUS_OK: &str = "ok";
/// `status` of a repetition that failed (its `error` says why).
#[allow(dead_code)] // for the runner, which still spells it out
pub const STATUS_FAILED: &str = "failed";
/// `mode` of a weak-scaling point: the work grows with the workers.
pub const MODE_WEAK: &str = "weak";
/// `mode` of a strong-scaling point: fixed total work.
pub const MODE_STRONG: &str = "strong";
/// Backend whose 1-worker time is the baseline of `speedup_vs_serial`.
pub const SERIAL_BACKEND: &str = "serial";
/// Bootstrap resamples behind `ci_low_s` / `ci_high_s`.
pub const CI_RESAMPLES: usize = 2000;
/// Confidence level of `ci_low_s` / `ci_high_s`.
pub const CI_CONFIDENCE: f64 = 0.95;
/// A point whose coefficient of variation exceeds this is flagged `noisy`.
pub const NOISY_CV: f64 = 0.05;

/// The columns of `raw.csv`, in order: exactly the fields of [`RawRow`].
pub const RAW_COLUMNS: [&str; 27] = [
    "run_id",
    "timestamp",
    "method",
    "backend",
    "mode",
    "workers",
    "samples",
    "samples_per_worker",
    "block",
    "chunksize",
    "pin",
    "seed",
    "rep",
    "wall_s",
    "spawn_s",
    "compute_s",
    "reduce_s",
    "estimate",
    "abs_error",
    "std_error",
    "cpus",
    "placement_ok",
    "oversubscribed",
    "status",
    "error",
    "isa",
    "hosts",
];

/// One measured repetition of one point: a line of `raw.csv`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct RawRow {
    /// Identifies the sweep; every row of one `raw.csv` shares it.
    pub run_id: String,
    /// When the repetition finished, RFC 3339 (see [`now_rfc3339`]).
    pub timestamp: String,
    /// `mc` or `midpoint`.
    pub method: String,
    /// Backend name, or the name of a command kernel.
    pub backend: String,
    /// `strong` or `weak`.
    pub mode: String,
    /// Number of workers.
    pub workers: usize,
    /// Total work N of this run.
    pub samples: u64,
    /// N / workers (the fixed quantity of a weak sweep).
    pub samples_per_worker: u64,
    /// Block size.
    pub block: u64,
    /// `pool-map` chunk size, when one was set.
    pub chunksize: Option<u64>,
    /// The pinning setting, as written in the config.
    pub pin: String,
    /// Seed.
    pub seed: u64,
    /// Repetition number within the point.
    pub rep: u32,
    /// Wall time of the run, seconds; empty when it failed.
    pub wall_s: Option<f64>,
    /// Start until every worker computes; empty for commands.
    pub spawn_s: Option<f64>,
    /// Critical-path compute time; empty for commands.
    pub compute_s: Option<f64>,
    /// Last worker done until the result is assembled; empty for commands.
    pub reduce_s: Option<f64>,
    /// The pi estimate; empty when the run failed.
    pub estimate: Option<f64>,
    /// |estimate − pi|; empty when the run failed.
    pub abs_error: Option<f64>,
    /// Standard error of the estimate (`mc` only).
    pub std_error: Option<f64>,
    /// CPU of each worker, `;`-separated, `?` for unknown (see [`format_cpus`]).
    pub cpus: String,
    /// Every worker ran where the pinning asked for.
    pub placement_ok: bool,
    /// More workers than usable CPUs.
    pub oversubscribed: bool,
    /// [`STATUS_OK`] or [`STATUS_FAILED`].
    pub status: String,
    /// Why it failed; empty when ok.
    pub error: String,
    /// The kernels' instruction set (`avx2`, …); empty for command kernels
    /// and in files written before the column existed.
    #[serde(default)]
    pub isa: String,
    /// Host of each worker, `;`-separated, for backends whose workers may
    /// run on other machines (`mpi`); empty otherwise, and in files written
    /// before the column existed.
    #[serde(default)]
    pub hosts: String,
}

impl RawRow {
    /// Whether this repetition succeeded (and so counts in the timings).
    pub fn is_ok(&self) -> bool {
        self.status == STATUS_OK
    }
}

/// The `cpus` column: `0;1`, with `?` for a worker whose CPU is unknown.
pub fn format_cpus(cpus: &[Option<usize>]) -> String {
    let ids: Vec<String> = cpus
        .iter()
        .map(|c| c.map_or_else(|| "?".to_string(), |c| c.to_string()))
        .collect();
    ids.join(";")
}

/// The current local time in RFC 3339, for the `timestamp` column.
pub fn now_rfc3339() -> String {
    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

/// Appends [`RawRow`]s to `raw.csv`, flushing each one.
#[derive(Debug)]
pub struct RawWriter {
    path: PathBuf,
    csv: csv::Writer<File>,
}

impl RawWriter {
    /// Creates (or truncates) `path` and writes the header line at once, so
    /// even a sweep that measures nothing leaves a readable file.
    pub fn create(path: impl AsRef<Path>) -> Result<RawWriter> {
        let path = path.as_ref();
        let file = File::create(path)
            .with_context(|| format!("cannot create the raw results file {}", path.display()))?;
        let mut writer = RawWriter::over(path, file);
        writer.header()?;
        Ok(writer)
    }

    /// Opens an existing `raw.csv` to add rows after the ones it holds
    /// (`--resume`). Refuses a file whose header is not [`RAW_COLUMNS`]. An
    /// empty file gets its header; a last line cut short by a crash is ended
    /// first so new rows start on a line of their own (and [`read_raw`]
    /// reports the cut line).
    pub fn append(path: impl AsRef<Path>) -> Result<RawWriter> {
        let path = path.as_ref();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .with_context(|| {
                format!(
                    "cannot open {} to resume (start without --resume to create it)",
                    path.display()
                )
            })?;
        let len = file
            .metadata()
            .with_context(|| format!("cannot read {}", path.display()))?
            .len();
        if len == 0 {
            let mut writer = RawWriter::over(path, file);
            writer.header()?;
            return Ok(writer);
        }
        let mut first = String::new();
        BufReader::new(&mut file)
            .read_line(&mut first)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let expected = RAW_COLUMNS.join(",");
        if first.trim_end_matches(['\r', '\n']) != expected {
            bail!(
                "{}: line 1: not a piscale raw file of this version (expected the header {expected})",
                path.display()
            );
        }
        let mut last = [0u8; 1];
        let ends_cleanly = file
            .seek(SeekFrom::End(-1))
            .and_then(|_| file.read_exact(&mut last))
            .map(|()| last[0] == b'\n')
            .with_context(|| format!("cannot read {}", path.display()))?;
        if !ends_cleanly {
            // Append mode writes at the end whatever the cursor says.
            file.write_all(b"\n")
                .with_context(|| format!("cannot write to {}", path.display()))?;
        }
        Ok(RawWriter::over(path, file))
    }

    fn over(path: &Path, file: File) -> RawWriter {
        RawWriter {
            path: path.to_path_buf(),
            csv: csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(file),
        }
    }

    fn header(&mut self) -> Result<()> {
        self.csv
            .write_record(RAW_COLUMNS)
            .and_then(|()| Ok(self.csv.flush()?))
            .with_context(|| format!("cannot write to {}", self.path.display()))
    }

    /// Writes one row and flushes it to the file before returning.
    pub fn write(&mut self, row: &RawRow) -> Result<()> {
        self.csv
            .serialize(row)
            .and_then(|()| Ok(self.csv.flush()?))
            .with_context(|| format!("cannot write to {}", self.path.display()))
    }
}

/// Reads every row of a `raw.csv`. Errors name the file, the line and the column.
pub fn read_raw(path: impl AsRef<Path>) -> Result<Vec<RawRow>> {
    // `isa` and `hosts` came later: files without them still read.
    read_csv(path.as_ref(), &RAW_COLUMNS, RAW_COLUMNS.len() - 2, "raw")
}

/// Reads a CSV file whose header must be `columns`, or its first `required`
/// or more of them (columns added later have serde defaults).
fn read_csv<T: DeserializeOwned>(
    path: &Path,
    columns: &[&str],
    required: usize,
    what: &str,
) -> Result<Vec<T>> {
    let mut reader = csv::Reader::from_path(path)
        .with_context(|| format!("cannot open the {what} results file {}", path.display()))?;
    let headers = reader
        .headers()
        .map_err(|e| anyhow!("{}: {}", path.display(), csv_error(&e, columns)))?
        .clone();
    if headers.is_empty() {
        bail!("{}: the file is empty (no header line)", path.display());
    }
    let known = headers.len() >= required
        && headers.len() <= columns.len()
        && headers.iter().eq(columns[..headers.len()].iter().copied());
    if !known {
        bail!(
            "{}: line 1: not a piscale {what} file of this version (expected the header {})",
            path.display(),
            columns.join(",")
        );
    }
    reader
        .deserialize()
        .map(|row| row.map_err(|e| anyhow!("{}: {}", path.display(), csv_error(&e, columns))))
        .collect()
}

/// A CSV error as "line N, column NAME: what is wrong".
fn csv_error(err: &csv::Error, columns: &[&str]) -> String {
    let line = |pos: &Option<csv::Position>| {
        pos.as_ref()
            .map_or_else(String::new, |p| format!("line {}", p.line()))
    };
    match err.kind() {
        csv::ErrorKind::Deserialize { pos, err } => {
            let column = err
                .field()
                .and_then(|f| columns.get(f as usize))
                .map_or_else(String::new, |c| format!(", column {c}"));
            format!("{}{column}: {}", line(pos), err.kind())
        }
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => format!(
            "{}: {len} fields where {expected_len} were expected (a line cut short?)",
            line(pos)
        ),
        _ => err.to_string(),
    }
}

/// The columns of `summary.csv`, in order: exactly the fields of [`SummaryRow`].
pub const SUMMARY_COLUMNS: [&str; 19] = [
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
    "cv",
    "speedup",
    "speedup_vs_serial",
    "efficiency",
    "karp_flatt",
    "samples_per_ns_per_core",
    "noisy",
];

/// One point of a sweep, summarised over its repetitions: a line of
/// `summary.csv`. Figures that cannot be computed (every repetition
/// failed, no 1-worker baseline) are empty.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// `mc` or `midpoint`.
    pub method: String,
    /// Backend or command kernel name.
    pub backend: String,
    /// `strong` or `weak`.
    pub mode: String,
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
    /// Lower end of the bootstrap 95 % interval of the median, seconds.
    pub ci_low_s: Option<f64>,
    /// Upper end of the bootstrap 95 % interval of the median, seconds.
    pub ci_high_s: Option<f64>,
    /// Coefficient of variation of the wall times (needs two repetitions).
    pub cv: Option<f64>,
    /// Over the same backend at 1 worker: t1/tp (strong), p·t1/tp (weak, scaled).
    pub speedup: Option<f64>,
    /// Over `serial` at 1 worker with the same work, strong or scaled likewise.
    pub speedup_vs_serial: Option<f64>,
    /// `speedup` / workers.
    pub efficiency: Option<f64>,
    /// Karp–Flatt serial fraction from `speedup`; empty at 1 worker.
    pub karp_flatt: Option<f64>,
    /// Throughput per worker: samples / median_s / 1e9 / workers.
    pub samples_per_ns_per_core: Option<f64>,
    /// `cv` above 5 %: treat this point's figures with care.
    pub noisy: Option<bool>,
}

/// The repetitions of one point, gathered from the raw rows.
struct Point<'a> {
    method: &'a str,
    backend: &'a str,
    mode: &'a str,
    workers: usize,
    samples: u64,
    samples_per_worker: u64,
    times: Vec<f64>,
    failed: usize,
    median: Option<f64>,
}

impl Point<'_> {
    fn is_weak(&self) -> bool {
        self.mode == MODE_WEAK
    }

    /// Whether `other` is this point's 1-worker baseline on `backend`: same
    /// method and mode, and the same total work (strong) or work per worker
    /// (weak).
    fn baseline_is(&self, other: &Point<'_>, backend: &str) -> bool {
        other.workers == 1
            && other.backend == backend
            && other.method == self.method
            && other.mode == self.mode
            && if self.is_weak() {
                other.samples_per_worker == self.samples_per_worker
            } else {
                other.samples == self.samples
            }
    }

    /// Speed-up of this point over a baseline time: strong t1/tp, or weak
    /// (scaled) p·t1/tp.
    fn speedup_over(&self, t1: f64) -> Option<f64> {
        let s = stats::speedup(t1, self.median?);
        Some(if self.is_weak() {
            s * self.workers as f64
        } else {
            s
        })
    }
}

/// Summarises raw rows into one row per point (method, backend, mode,
/// workers, samples). Only `ok` repetitions with a wall time feed the
/// timings (and count in `reps`); every other row counts in `failed`. `seed`
/// drives the bootstrap so the same rows always give the same file.
///
/// Rows come out by method, then backend — the library's backends in
/// `piscale list` order, then command kernels in the order they first
/// appear (the schedule is shuffled, so raw order alone would not be stable)
/// — then mode, workers and samples.
pub fn summarize(rows: &[RawRow], seed: u64) -> Vec<SummaryRow> {
    let mut points: Vec<Point<'_>> = Vec::new();
    let mut others: Vec<&str> = Vec::new();
    for row in rows {
        if !BackendKind::ALL.iter().any(|b| b.name() == row.backend)
            && !others.contains(&row.backend.as_str())
        {
            others.push(&row.backend);
        }
        let at = points.iter().position(|p| {
            p.method == row.method
                && p.backend == row.backend
                && p.mode == row.mode
                && p.workers == row.workers
                && p.samples == row.samples
        });
        let point = match at {
            Some(i) => &mut points[i],
            None => {
                points.push(Point {
                    method: &row.method,
                    backend: &row.backend,
                    mode: &row.mode,
                    workers: row.workers,
                    samples: row.samples,
                    samples_per_worker: row.samples_per_worker,
                    times: Vec::new(),
                    failed: 0,
                    median: None,
                });
                points.last_mut().expect("just pushed")
            }
        };
        match (row.is_ok(), row.wall_s) {
            (true, Some(wall_s)) => point.times.push(wall_s),
            _ => point.failed += 1,
        }
    }
    for p in &mut points {
        p.median = stats::median(&p.times);
    }
    let backend_rank = |name: &str| {
        BackendKind::ALL
            .iter()
            .position(|b| b.name() == name)
            .or_else(|| {
                others
                    .iter()
                    .position(|o| *o == name)
                    .map(|i| BackendKind::ALL.len() + i)
            })
    };
    points.sort_by(|a, b| {
        (
            a.method,
            backend_rank(a.backend),
            a.mode,
            a.workers,
            a.samples,
        )
            .cmp(&(
                b.method,
                backend_rank(b.backend),
                b.mode,
                b.workers,
                b.samples,
            ))
    });

    let baseline = |p: &Point<'_>, backend: &str| {
        points
            .iter()
            .find(|q| p.baseline_is(q, backend))
            .and_then(|q| q.median)
    };
    points
        .iter()
        .map(|p| {
            let ci = (!p.times.is_empty())
                .then(|| stats::bootstrap_median_ci(&p.times, CI_RESAMPLES, CI_CONFIDENCE, seed));
            let cv = stats::cv(&p.times);
            let speedup = baseline(p, p.backend).and_then(|t1| p.speedup_over(t1));
            SummaryRow {
                method: p.method.to_string(),
                backend: p.backend.to_string(),
                mode: p.mode.to_string(),
                workers: p.workers,
                samples: p.samples,
                reps: p.times.len(),
                failed: p.failed,
                median_s: p.median,
                min_s: stats::min(&p.times),
                max_s: stats::max(&p.times),
                ci_low_s: ci.map(|c| c.0),
                ci_high_s: ci.map(|c| c.1),
                cv,
                speedup,
                speedup_vs_serial: baseline(p, SERIAL_BACKEND).and_then(|t1| p.speedup_over(t1)),
                efficiency: speedup.map(|s| stats::efficiency(s, p.workers)),
                karp_flatt: speedup.and_then(|s| stats::karp_flatt(s, p.workers)),
                samples_per_ns_per_core: p
                    .median
                    .map(|m| p.samples as f64 / m / 1e9 / p.workers as f64),
                noisy: cv.map(|c| c > NOISY_CV),
            }
        })
        .collect()
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
pub fn write_summary(path: impl AsRef<Path>, rows: &[SummaryRow]) -> Result<()> {
    let path = path.as_ref();
    let text = summary_csv(rows)
        .with_context(|| format!("cannot format the summary for {}", path.display()))?;
    write_atomic(path, text.as_bytes())
}

/// Reads a `summary.csv` back (for reports and plots).
#[allow(dead_code)] // for the reports and plots, which read finished results
pub fn read_summary(path: impl AsRef<Path>) -> Result<Vec<SummaryRow>> {
    read_csv(
        path.as_ref(),
        &SUMMARY_COLUMNS,
        SUMMARY_COLUMNS.len(),
        "summary",
    )
}

/// Writes `bytes` to a temporary file next to `path`, syncs it and renames
/// it over `path`: readers see the old file or the new one, never half of
/// one. The temporary file is removed if anything fails.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// Synthetic rows with known times, shared with the table tests.
#[cfg(test)]
pub(crate) mod fixture {
    use super::*;

    /// A repetition of `backend` at `workers` workers taking `wall_s`.
    pub(crate) fn row(
        backend: &str,
        mode: &str,
        workers: usize,
        samples: u64,
        wall_s: f64,
    ) -> RawRow {
        let command = !BackendKind::ALL.iter().any(|b| b.name() == backend);
        let phase = (!command).then_some(wall_s / 4.0);
        RawRow {
            run_id: "20250101-120000".into(),
            timestamp: "2025-01-01T12:00:00.000+00:00".into(),
            method: "mc".into(),
            backend: backend.into(),
            mode: mode.into(),
            workers,
            samples,
            samples_per_worker: samples / workers as u64,
            block: 1 << 20,
            chunksize: None,
            pin: "none".into(),
            seed: 1,
            rep: 0,
            wall_s: Some(wall_s),
            spawn_s: phase,
            compute_s: phase.map(|p| 2.0 * p),
            reduce_s: phase,
            estimate: Some(3.14163),
            abs_error: Some(3.73e-5),
            std_error: Some(1.6e-5),
            cpus: format_cpus(&vec![Some(0); workers]),
            placement_ok: true,
            oversubscribed: false,
            status: STATUS_OK.into(),
            error: String::new(),
            isa: if command {
                String::new()
            } else {
                "avx2".into()
            },
            hosts: String::new(),
        }
    }

    pub(crate) fn failed(mut r: RawRow) -> RawRow {
        r.status = STATUS_FAILED.into();
        r.error = "worker 1 exited with status 9".into();
        r.wall_s = None;
        r.spawn_s = None;
        r.compute_s = None;
        r.reduce_s = None;
        r.estimate = None;
        r.abs_error = None;
        r.std_error = None;
        r
    }

    pub(crate) const N: u64 = 2_000_000_000;
    pub(crate) const PER_WORKER: u64 = 100_000_000;

    /// Shuffled like a real schedule: threads 1 worker 2.0 s ×3, 2 workers
    /// 1.0/1.1/1.05 s and one failure, serial 2.2 s ×3, rayon failing at 2
    /// workers, a command kernel, and a weak sweep of threads and serial.
    pub(crate) fn fixture() -> Vec<RawRow> {
        let s = MODE_STRONG;
        let w = MODE_WEAK;
        vec![
            row("threads", s, 2, N, 1.1),
            row("python-pi1", s, 1, N, 40.0),
            row("threads", s, 1, N, 2.0),
            failed(row("rayon", s, 2, N, 0.3)),
            row("serial", s, 1, N, 2.2),
            row("threads", w, 2, 2 * PER_WORKER, 0.55),
            row("threads", s, 2, N, 1.0),
            row("python-pi1", s, 2, N, 24.0),
            row("rayon", s, 1, N, 2.1),
            row("serial", w, 1, PER_WORKER, 0.6),
            failed(row("threads", s, 2, N, 0.2)),
            row("threads", s, 1, N, 2.0),
            row("serial", s, 1, N, 2.2),
            row("threads", w, 1, PER_WORKER, 0.5),
            row("threads", s, 2, N, 1.05),
            failed(row("rayon", s, 2, N, 0.4)),
            row("threads", s, 1, N, 2.0),
            row("serial", s, 1, N, 2.2),
        ]
    }

    pub(crate) fn fixture_summary() -> Vec<SummaryRow> {
        summarize(&fixture(), 2024)
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::*;
    use super::*;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() <= 1e-12 * b.abs().max(1.0))
    }

    fn find<'a>(
        summary: &'a [SummaryRow],
        backend: &str,
        mode: &str,
        workers: usize,
    ) -> &'a SummaryRow {
        summary
            .iter()
            .find(|r| r.backend == backend && r.mode == mode && r.workers == workers)
            .unwrap_or_else(|| panic!("no row for {backend} {mode} {workers}"))
    }

    #[test]
    fn raw_columns_are_the_serialized_fields_in_order() {
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.serialize(row("serial", MODE_STRONG, 1, 10, 1.0))
            .unwrap();
        let text = String::from_utf8(csv.into_inner().unwrap()).unwrap();
        assert_eq!(text.lines().next(), Some(RAW_COLUMNS.join(",").as_str()));
    }

    #[test]
    fn summary_columns_are_the_serialized_fields_in_order() {
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.serialize(&fixture_summary()[0]).unwrap();
        let text = String::from_utf8(csv.into_inner().unwrap()).unwrap();
        assert_eq!(
            text.lines().next(),
            Some(SUMMARY_COLUMNS.join(",").as_str())
        );
    }

    #[test]
    fn format_cpus_marks_unknown_cpus() {
        assert_eq!(format_cpus(&[Some(0), Some(1)]), "0;1");
        assert_eq!(format_cpus(&[Some(3), None]), "3;?");
        assert_eq!(format_cpus(&[]), "");
    }

    #[test]
    fn timestamp_is_rfc3339() {
        let t = now_rfc3339();
        assert!(chrono::DateTime::parse_from_rfc3339(&t).is_ok(), "{t}");
    }

    #[test]
    fn raw_rows_round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.csv");
        let rows = fixture();
        let mut writer = RawWriter::create(&path).unwrap();
        for r in &rows {
            writer.write(r).unwrap();
        }
        // Flushed row by row: readable while the writer is still open.
        assert_eq!(read_raw(&path).unwrap(), rows);
        drop(writer);
        assert_eq!(read_raw(&path).unwrap(), rows);
    }

    #[test]
    fn files_written_before_the_hosts_column_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.csv");
        let rows = fixture();
        let mut writer = RawWriter::create(&path).unwrap();
        for r in &rows {
            writer.write(r).unwrap();
        }
        drop(writer);
        // Drop the last column (`hosts`, empty in the fixture) from every line.
        let old: String = fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| format!("{}\n", &l[..l.rfind(',').unwrap()]))
            .collect();
        assert!(old.starts_with(&RAW_COLUMNS[..RAW_COLUMNS.len() - 1].join(",")));
        fs::write(&path, old).unwrap();
        assert_eq!(read_raw(&path).unwrap(), rows);
    }

    #[test]
    fn create_writes_the_header_before_any_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.csv");
        let _writer = RawWriter::create(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{}\n", RAW_COLUMNS.join(",")));
        assert_eq!(read_raw(&path).unwrap(), vec![]);
    }

    #[test]
    fn append_writes_no_second_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.csv");
        let rows = fixture();
        let mut writer = RawWriter::create(&path).unwrap();
        writer.write(&rows[0]).unwrap();
        drop(writer);
        let mut writer = RawWriter::append(&path).unwrap();
        writer.write(&rows[1]).unwrap();
        writer.write(&rows[2]).unwrap();
        drop(writer);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches("run_id").count(), 1);
        assert_eq!(text.lines().count(), 4);
        assert_eq!(read_raw(&path).unwrap(), rows[..3]);
    }

    #[test]
    fn append_refuses_a_file_that_is_not_a_raw_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.csv");
        fs::write(&path, "a,b\n1,2\n").unwrap();
        let err = RawWriter::append(&path).unwrap_err().to_string();
        assert!(err.contains("raw.csv: line 1"), "{err}");
        let missing = dir.path().join("missing.csv");
        let err = format!("{:#}", RawWriter::append(&missing).unwrap_err());
        assert!(err.contains("missing.csv"), "{err}");
    }

    #[test]
    fn append_after_a_cut_line_starts_a_new_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.csv");
        let rows = fixture();
        let mut writer = RawWriter::create(&path).unwrap();
        writer.write(&rows[0]).unwrap();
        drop(writer);
        // A crash in the middle of a write.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"20250101-120000,2025").unwrap();
        drop(f);
        let mut writer = RawWriter::append(&path).unwrap();
        writer.write(&rows[1]).unwrap();
        drop(writer);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 4);
        assert!(text.lines().nth(2).unwrap().ends_with(",2025"));
        let err = read_raw(&path).unwrap_err().to_string();
        assert!(err.contains("raw.csv: line 3"), "{err}");
    }

    #[test]
    fn read_errors_name_the_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.csv");
        let mut writer = RawWriter::create(&path).unwrap();
        writer.write(&fixture()[0]).unwrap();
        drop(writer);
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, text.replace(",1.1,", ",fast,")).unwrap();
        let err = read_raw(&path).unwrap_err().to_string();
        assert!(err.contains("raw.csv: line 2, column wall_s"), "{err}");

        fs::write(&path, "").unwrap();
        let err = read_raw(&path).unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
        let err = format!("{:#}", read_raw(dir.path().join("nope.csv")).unwrap_err());
        assert!(err.contains("nope.csv"), "{err}");
    }

    #[test]
    fn summary_of_known_times() {
        let summary = fixture_summary();

        let t1 = find(&summary, "threads", MODE_STRONG, 1);
        assert_eq!((t1.reps, t1.failed), (3, 0));
        assert_eq!(t1.median_s, Some(2.0));
        assert_eq!((t1.ci_low_s, t1.ci_high_s), (Some(2.0), Some(2.0)));
        assert_eq!(t1.cv, Some(0.0));
        assert_eq!(t1.noisy, Some(false));
        assert_eq!(t1.speedup, Some(1.0));
        assert_eq!(t1.efficiency, Some(1.0));
        assert_eq!(t1.karp_flatt, None);
        assert!(close(t1.speedup_vs_serial, 1.1));
        assert!(close(t1.samples_per_ns_per_core, 1.0));

        let t2 = find(&summary, "threads", MODE_STRONG, 2);
        assert_eq!((t2.reps, t2.failed), (3, 1));
        assert_eq!(t2.median_s, Some(1.05));
        assert_eq!((t2.min_s, t2.max_s), (Some(1.0), Some(1.1)));
        assert_eq!((t2.ci_low_s, t2.ci_high_s), (Some(1.0), Some(1.1)));
        // std of 1.0, 1.05, 1.1 is 0.05: cv 0.0476, just under the threshold.
        assert!(close(t2.cv, 0.05 / 1.05));
        assert_eq!(t2.noisy, Some(false));
        assert!(close(t2.speedup, 2.0 / 1.05));
        assert!(close(t2.efficiency, 1.0 / 1.05));
        // (1.05/2 − 1/2) / (1 − 1/2) = 0.05
        assert!(close(t2.karp_flatt, 0.05));
        assert!(close(t2.speedup_vs_serial, 2.2 / 1.05));
        assert!(close(t2.samples_per_ns_per_core, 2.0 / 1.05 / 2.0));

        let serial = find(&summary, "serial", MODE_STRONG, 1);
        assert_eq!(serial.median_s, Some(2.2));
        assert_eq!(serial.speedup_vs_serial, Some(1.0));
    }

    #[test]
    fn weak_speedups_are_scaled() {
        let summary = fixture_summary();
        let w2 = find(&summary, "threads", MODE_WEAK, 2);
        assert_eq!(w2.samples, 2 * PER_WORKER);
        assert!(close(w2.speedup, 2.0 * 0.5 / 0.55));
        assert!(close(w2.efficiency, 0.5 / 0.55));
        assert!(close(w2.speedup_vs_serial, 2.0 * 0.6 / 0.55));
        // One repetition: no spread to speak of.
        assert_eq!((w2.cv, w2.noisy), (None, None));
        assert_eq!((w2.ci_low_s, w2.ci_high_s), (Some(0.55), Some(0.55)));
    }

    #[test]
    fn failed_and_unbaselined_points_leave_figures_empty() {
        let summary = fixture_summary();
        let r2 = find(&summary, "rayon", MODE_STRONG, 2);
        assert_eq!((r2.reps, r2.failed), (0, 2));
        assert_eq!(r2.median_s, None);
        assert_eq!(r2.ci_low_s, None);
        assert_eq!(r2.speedup, None);
        assert_eq!(r2.speedup_vs_serial, None);
        assert_eq!(r2.efficiency, None);
        assert_eq!(r2.karp_flatt, None);
        assert_eq!(r2.samples_per_ns_per_core, None);

        // Without a weak serial run the weak points have no serial baseline:
        // the strong one does different work per worker.
        let rows: Vec<RawRow> = fixture()
            .into_iter()
            .filter(|r| !(r.backend == "serial" && r.mode == MODE_WEAK))
            .collect();
        let summary = summarize(&rows, 2024);
        let w2 = find(&summary, "threads", MODE_WEAK, 2);
        assert!(w2.speedup.is_some());
        assert_eq!(w2.speedup_vs_serial, None);
    }

    #[test]
    fn summary_order_is_method_backend_mode_workers() {
        let order: Vec<(String, String, usize)> = fixture_summary()
            .into_iter()
            .map(|r| (r.backend, r.mode, r.workers))
            .collect();
        let expected = [
            ("serial", MODE_STRONG, 1),
            ("serial", MODE_WEAK, 1),
            ("threads", MODE_STRONG, 1),
            ("threads", MODE_STRONG, 2),
            ("threads", MODE_WEAK, 1),
            ("threads", MODE_WEAK, 2),
            ("rayon", MODE_STRONG, 1),
            ("rayon", MODE_STRONG, 2),
            ("python-pi1", MODE_STRONG, 1),
            ("python-pi1", MODE_STRONG, 2),
        ];
        let expected: Vec<(String, String, usize)> = expected
            .iter()
            .map(|(b, m, w)| (b.to_string(), m.to_string(), *w))
            .collect();
        assert_eq!(order, expected);
    }

    #[test]
    fn summary_is_deterministic_for_a_seed() {
        assert_eq!(fixture_summary(), fixture_summary());
    }

    #[test]
    fn summary_csv_snapshot() {
        insta::assert_snapshot!(summary_csv(&fixture_summary()).unwrap());
    }

    #[test]
    fn summary_is_written_atomically_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.csv");
        let summary = fixture_summary();
        write_summary(&path, &summary[..2]).unwrap();
        write_summary(&path, &summary).unwrap();
        assert_eq!(read_summary(&path).unwrap(), summary);
        // Nothing but the summary is left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["summary.csv"]);
    }
}
