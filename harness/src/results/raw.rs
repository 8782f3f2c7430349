//! `raw.csv`: one [`RawRow`] per measured repetition, the source of truth.
//!
//! [`RawWriter`] appends and flushes every row as soon as it is measured, so
//! a crash or Ctrl-C loses nothing and `--resume` can carry on from the file
//! ([`RawWriter::append`], [`read_raw`]). Units are in the column names:
//! `wall_s` is seconds.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use piscale_kernels::{Isa, Method, StartMethod};
use serde::{Deserialize, Serialize};

use super::csv_file::{formula_safe, non_negative, read_csv, starts_like_formula, CheckedRow};
use super::machine::CoreKind;
use super::point::{Kernel, Mode, PointId};

/// How a repetition ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// It produced an estimate, and its times count.
    Ok,
    /// It failed; `error` says why.
    Failed,
    /// It ran to its end with a wrong answer on purpose (`shm-race`):
    /// `error` says how wrong; its time does not count.
    Wrong,
}

/// The columns of `raw.csv`, in order: exactly the fields of [`RawRow`].
pub const RAW_COLUMNS: [&str; 38] = [
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
    "steal_s",
    "stall_s",
    "runnable",
    "disturbed",
    "attempts",
    "core_kinds",
    "busy_s",
    "work",
    "rates",
    "start",
    "launch",
];

/// Columns every `raw.csv` has: `isa`, `hosts`, the noise guard's,
/// `core_kinds`, `busy_s`, `work`, `rates`, `start` and `launch` came later,
/// and files without them still read.
const RAW_REQUIRED: usize = RAW_COLUMNS.len() - 13;

/// One measured repetition of one point: a line of `raw.csv`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct RawRow {
    /// Identifies the sweep; every row of one `raw.csv` shares it.
    pub run_id: String,
    /// When the repetition finished, RFC 3339 with milliseconds
    /// ([`super::timestamp`]).
    pub timestamp: String,
    /// The method.
    pub method: Method,
    /// The kernel: a backend's name, or a command kernel's.
    pub backend: Kernel,
    /// Strong or weak scaling.
    pub mode: Mode,
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
    /// The pinning setting, as written in the config (or `bind-to X` when
    /// the MPI launcher placed the ranks).
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
    /// How it ended.
    pub status: Status,
    /// Why it failed; empty when ok.
    pub error: String,
    /// The kernels' instruction set; empty for command kernels and in files
    /// written before the column existed.
    #[serde(default)]
    pub isa: Option<Isa>,
    /// Host of each worker, `;`-separated, for backends whose workers may
    /// run on other machines (`mpi`); empty otherwise, and in files written
    /// before the column existed.
    #[serde(default)]
    pub hosts: String,
    /// Steal time of the workers' CPUs during the run, seconds (see
    /// [`crate::measure::disturbance`]); empty in older files.
    #[serde(default)]
    pub steal_s: Option<f64>,
    /// CPU pressure stall of the machine during the run, seconds; empty
    /// without PSI and in older files.
    #[serde(default)]
    pub stall_s: Option<f64>,
    /// Other runnable tasks at the start; empty in older files.
    #[serde(default)]
    pub runnable: Option<u32>,
    /// The noise guard found this run disturbed (after every retry).
    #[serde(default)]
    pub disturbed: bool,
    /// Measurements it took: 1, or more when disturbed ones were retried;
    /// empty in older files.
    #[serde(default)]
    pub attempts: Option<u32>,
    /// The kind of core each worker ran on, `;`-separated like `cpus` (see
    /// [`format_core_kinds`]); empty on a machine whose cores are alike, for
    /// ranks on other hosts, and in older files.
    #[serde(default)]
    pub core_kinds: String,
    /// Seconds each worker computed, in worker order: what the breakdown's
    /// load balance and overhead come from. Empty for commands and in
    /// older files.
    #[serde(default)]
    pub busy_s: PerWorker,
    /// How much of the work each worker did, in its backend's units
    /// (blocks; samples for `per-core` and capacity rows): with `busy_s`,
    /// each worker's rate relative to the others'. Empty for commands and
    /// in older files.
    #[serde(default)]
    pub work: PerWorker,
    /// Samples per nanosecond each worker computed: capacity rows only
    /// (each CPU's rate while all of them compute).
    #[serde(default)]
    pub rates: PerWorker,
    /// How the workers of a library process backend started (`fork`,
    /// `spawn`); empty for every other kernel, and in files from before it.
    /// Part of the point: [`RawRow::backend`] carries it too once read.
    #[serde(default)]
    pub start: Option<StartMethod>,
    /// The command line that started the run, shell-quoted, for kernels
    /// that run another program (the MPI launcher's: whether `mpirun` or
    /// `srun` placed the ranks, and how; a command kernel's, placeholders
    /// filled in); empty for the library's backends and failed runs.
    #[serde(default)]
    pub launch: String,
}

/// A figure per worker, in worker order, `;`-separated in its cell, to 9
/// decimals (a nanosecond, for seconds) without trailing zeros; an empty
/// cell is an empty list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PerWorker(pub Vec<f64>);

impl PerWorker {
    /// The values as whole counts (`work` in units).
    pub fn counts(values: &[u64]) -> PerWorker {
        PerWorker(values.iter().map(|&v| v as f64).collect())
    }
}

impl Serialize for PerWorker {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let cells: Vec<String> = self
            .0
            .iter()
            .map(|v| {
                let cell = format!("{v:.9}");
                cell.trim_end_matches('0').trim_end_matches('.').to_owned()
            })
            .collect();
        s.serialize_str(&cells.join(";"))
    }
}

impl<'de> Deserialize<'de> for PerWorker {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PerWorker, D::Error> {
        let text = String::deserialize(d)?;
        if text.trim().is_empty() {
            return Ok(PerWorker::default());
        }
        text.split(';')
            .map(|cell| match cell.trim().parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
                _ => Err(serde::de::Error::custom(format!(
                    "'{cell}' is not a non-negative number (expected numbers separated by ;)"
                ))),
            })
            .collect::<Result<Vec<f64>, D::Error>>()
            .map(PerWorker)
    }
}

impl RawRow {
    /// The point this repetition belongs to.
    pub fn id(&self) -> PointId {
        PointId {
            method: self.method,
            kernel: self.backend.clone(),
            mode: self.mode,
            workers: self.workers,
            samples: self.samples,
        }
    }

    /// The wall time of a repetition that succeeded (and so counts).
    pub fn ok_wall_s(&self) -> Option<f64> {
        match self.status {
            Status::Ok => self.wall_s,
            Status::Failed | Status::Wrong => None,
        }
    }

    /// Whether this repetition succeeded (and so counts in the timings).
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }

    /// The row with its free-text cells (`run_id`, `pin`, `error`, `hosts`,
    /// `launch`: a folder's name, a config string, a program's output, a
    /// command line) made [`formula_safe`]; borrowed when none needed it.
    fn formula_safe(&self) -> Cow<'_, RawRow> {
        let cells = [
            &self.run_id,
            &self.pin,
            &self.error,
            &self.hosts,
            &self.launch,
        ];
        if !cells.iter().any(|c| starts_like_formula(c)) {
            return Cow::Borrowed(self);
        }
        let mut row = self.clone();
        for cell in [
            &mut row.run_id,
            &mut row.pin,
            &mut row.error,
            &mut row.hosts,
            &mut row.launch,
        ] {
            *cell = formula_safe(cell).into_owned();
        }
        Cow::Owned(row)
    }
}

impl CheckedRow for RawRow {
    fn check(&self) -> Result<(), (&'static str, String)> {
        non_negative("wall_s", self.wall_s)?;
        non_negative("spawn_s", self.spawn_s)?;
        non_negative("compute_s", self.compute_s)?;
        non_negative("reduce_s", self.reduce_s)?;
        non_negative("abs_error", self.abs_error)?;
        non_negative("std_error", self.std_error)?;
        match self.estimate {
            Some(e) if !e.is_finite() => Err(("estimate", format!("must be a number, got {e}"))),
            _ => Ok(()),
        }
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

/// `performance;efficiency;?`: the kind of each worker's CPU, `?` where
/// the CPU is unknown; empty when every core is uniform, so that rows of a
/// machine whose cores are alike carry no column to read.
pub fn format_core_kinds(cpus: &[Option<usize>], kind: impl Fn(usize) -> CoreKind) -> String {
    let kinds: Vec<Option<CoreKind>> = cpus.iter().map(|c| c.map(&kind)).collect();
    if kinds.iter().flatten().all(|&k| k == CoreKind::Uniform) {
        return String::new();
    }
    let names: Vec<&str> = kinds
        .iter()
        .map(|k| k.map_or("?", CoreKind::name))
        .collect();
    names.join(";")
}

/// Appends [`RawRow`]s to `raw.csv`, flushing each one.
#[derive(Debug)]
pub struct RawWriter {
    path: PathBuf,
    csv: csv::Writer<File>,
    /// Bytes of a row cut short by an earlier crash, removed on opening.
    repaired: u64,
}

impl RawWriter {
    /// Creates (or truncates) `path` and writes the header line at once, so
    /// even a sweep that measures nothing leaves a readable file.
    pub fn create(path: &Path) -> Result<RawWriter> {
        let file = File::create(path)
            .with_context(|| format!("cannot create the raw results file {}", path.display()))?;
        let mut writer = RawWriter::over(path, file);
        writer.header()?;
        Ok(writer)
    }

    /// Opens an existing `raw.csv` to add rows after the ones it holds
    /// (`--resume`). Refuses a file whose header is not [`RAW_COLUMNS`]. An
    /// empty file gets its header. A last line cut short by a crash (or a
    /// full disk) is removed first — it was never a whole row, and its
    /// repetition is measured again — so that the file reads and new rows
    /// start on a line of their own; [`repaired`](Self::repaired) says how
    /// many bytes went.
    pub fn append(path: &Path) -> Result<RawWriter> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
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
        let whole = complete_lines_len(&mut file, len)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if whole < len {
            file.set_len(whole)
                .with_context(|| format!("cannot repair {}", path.display()))?;
        }
        file.seek(SeekFrom::End(0))
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut writer = RawWriter::over(path, file);
        writer.repaired = len - whole;
        if whole == 0 {
            // Not even the header was whole.
            writer.header()?;
        }
        Ok(writer)
    }

    /// Bytes of a cut-short last row that [`append`](Self::append) removed.
    pub fn repaired(&self) -> u64 {
        self.repaired
    }

    fn over(path: &Path, file: File) -> RawWriter {
        RawWriter {
            path: path.to_path_buf(),
            csv: csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(file),
            repaired: 0,
        }
    }

    fn header(&mut self) -> Result<()> {
        self.csv
            .write_record(RAW_COLUMNS)
            .and_then(|()| Ok(self.csv.flush()?))
            .with_context(|| format!("cannot write to {}", self.path.display()))
    }

    /// Writes one row and flushes it to the file before returning. Text
    /// from outside piscale (the folder's name, a program's error, host
    /// names) is kept as it is, but a cell a spreadsheet would read as a
    /// formula gets a leading `'` ([`formula_safe`]).
    pub fn write(&mut self, row: &RawRow) -> Result<()> {
        let row = row.formula_safe();
        self.csv
            .serialize(&*row)
            .and_then(|()| Ok(self.csv.flush()?))
            .with_context(|| format!("cannot write to {}", self.path.display()))
    }
}

/// The length of `file` (of `len` bytes) up to and including its last
/// newline: what is left when a last line cut short is dropped.
fn complete_lines_len(file: &mut File, len: u64) -> std::io::Result<u64> {
    // Rows are short: the last newline is almost always in the last 64 KiB.
    let mut start = len.saturating_sub(64 << 10);
    loop {
        file.seek(SeekFrom::Start(start))?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail)?;
        if let Some(i) = tail.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        if start == 0 {
            return Ok(0);
        }
        start = start.saturating_sub(1 << 20);
    }
}

/// Reads every row of a `raw.csv`. Errors name the file, the line and the
/// column. A last line cut short by a crash (no newline, too few fields) is
/// left out: it was never a whole row.
pub fn read_raw(path: &Path) -> Result<Vec<RawRow>> {
    let rows: Vec<RawRow> = read_csv(path, &RAW_COLUMNS, RAW_REQUIRED, "raw")?;
    Ok(rows
        .into_iter()
        .map(|mut r| {
            r.backend = r.backend.started(r.start.unwrap_or_default());
            r
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::fixture::{fixture, row};
    use std::fs;
    use std::io::Write;

    #[test]
    fn text_cells_keep_their_text_but_never_start_a_formula() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.csv");
        let mut r = row("serial", Mode::Strong, 1, 10, 1.0);
        r.run_id = "=HYPERLINK(\"x\")".into();
        r.status = Status::Failed;
        r.error = "@SUM(1)\n\u{1b}[31mRED".into();
        let mut plain = row("serial", Mode::Strong, 1, 10, 1.0);
        plain.run_id = "o\u{1b}]0;t\u{7}".into();
        let mut writer = RawWriter::create(&path).unwrap();
        writer.write(&r).unwrap();
        writer.write(&plain).unwrap();
        let back = read_raw(&path).unwrap();
        assert_eq!(back[0].run_id, "'=HYPERLINK(\"x\")");
        assert_eq!(back[0].error, "'@SUM(1)\n\u{1b}[31mRED");
        assert_eq!(back[0].pin, "none");
        // Other text is kept byte for byte, control characters too.
        assert_eq!(back[1], plain);
    }

    #[test]
    fn raw_columns_are_the_serialized_fields_in_order() {
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.serialize(row("serial", Mode::Strong, 1, 10, 1.0))
            .unwrap();
        let text = String::from_utf8(csv.into_inner().unwrap()).unwrap();
        assert_eq!(text.lines().next(), Some(RAW_COLUMNS.join(",").as_str()));
    }

    #[test]
    fn format_core_kinds_names_each_worker_and_is_empty_when_uniform() {
        let kind = |cpu: usize| match cpu {
            0..=15 => CoreKind::Performance,
            _ => CoreKind::Efficiency,
        };
        assert_eq!(
            format_core_kinds(&[Some(0), Some(16), None], kind),
            "performance;efficiency;?"
        );
        assert_eq!(
            format_core_kinds(&[Some(0), None], |_| CoreKind::Uniform),
            ""
        );
        assert_eq!(format_core_kinds(&[], kind), "");
    }

    #[test]
    fn format_cpus_marks_unknown_cpus() {
        assert_eq!(format_cpus(&[Some(0), Some(1)]), "0;1");
        assert_eq!(format_cpus(&[Some(3), None]), "3;?");
        assert_eq!(format_cpus(&[]), "");
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
    fn files_written_before_the_hosts_and_noise_columns_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.csv");
        let rows = fixture();
        let mut writer = RawWriter::create(&path).unwrap();
        for r in &rows {
            writer.write(r).unwrap();
        }
        drop(writer);
        // Drop the last 7 columns (`hosts`, empty in the fixture, the noise
        // guard's and `core_kinds`) from every line.
        let old: String = fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| {
                let fields: Vec<&str> = l.split(',').collect();
                format!("{}\n", fields[..fields.len() - 7].join(","))
            })
            .collect();
        assert!(old.starts_with(&RAW_COLUMNS[..RAW_COLUMNS.len() - 7].join(",")));
        fs::write(&path, old).unwrap();
        let unguarded: Vec<RawRow> = rows
            .into_iter()
            .map(|r| RawRow {
                attempts: None,
                ..r
            })
            .collect();
        assert_eq!(read_raw(&path).unwrap(), unguarded);
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
    fn a_row_cut_short_is_dropped_on_reading_and_repaired_on_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.csv");
        let rows = fixture();
        let mut writer = RawWriter::create(&path).unwrap();
        writer.write(&rows[0]).unwrap();
        drop(writer);
        // A crash (or a full disk) in the middle of a write.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"20250101-120000,2025").unwrap();
        drop(f);
        // Readers leave the cut line out: plot and compare still work.
        assert_eq!(read_raw(&path).unwrap(), rows[..1]);
        // Resuming removes it and carries on after the whole rows.
        let mut writer = RawWriter::append(&path).unwrap();
        assert_eq!(writer.repaired(), 20);
        writer.write(&rows[1]).unwrap();
        drop(writer);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(!text.contains(",2025\n"));
        assert_eq!(read_raw(&path).unwrap(), rows[..2]);
        // A whole file is left alone.
        assert_eq!(RawWriter::append(&path).unwrap().repaired(), 0);
    }

    #[test]
    fn a_header_cut_short_is_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.csv");
        fs::write(&path, &RAW_COLUMNS.join(",")[..40]).unwrap();
        assert!(RawWriter::append(&path).is_err(), "not a raw file's header");
        fs::write(&path, RAW_COLUMNS.join(",")).unwrap();
        let writer = RawWriter::append(&path).unwrap();
        drop(writer);
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            format!("{}\n", RAW_COLUMNS.join(","))
        );
    }

    #[test]
    fn impossible_values_are_refused_naming_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.csv");
        let mut bad = fixture()[0].clone();
        bad.wall_s = Some(-1.0);
        let mut writer = RawWriter::create(&path).unwrap();
        writer.write(&fixture()[1]).unwrap();
        writer.write(&bad).unwrap();
        drop(writer);
        let err = read_raw(&path).unwrap_err().to_string();
        assert!(
            err.contains("raw.csv: line 3, column wall_s: must be"),
            "{err}"
        );
        let mut bad = fixture()[0].clone();
        bad.spawn_s = Some(f64::NAN);
        let mut writer = RawWriter::create(&path).unwrap();
        writer.write(&bad).unwrap();
        drop(writer);
        let err = read_raw(&path).unwrap_err().to_string();
        assert!(err.contains("column spawn_s"), "{err}");
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
        let err = format!("{:#}", read_raw(&dir.path().join("nope.csv")).unwrap_err());
        assert!(err.contains("nope.csv"), "{err}");
    }
}
