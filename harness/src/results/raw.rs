//! `raw.csv`: one [`RawRow`] per measured repetition, the source of truth.
//!
//! [`RawWriter`] appends and flushes every row as soon as it is measured, so
//! a crash or Ctrl-C loses nothing and `--resume` can carry on from the file
//! ([`RawWriter::append`], [`read_raw`]). Units are in the column names:
//! `wall_s` is seconds.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use piscale_kernels::{Isa, Method};
use serde::{Deserialize, Serialize};

use super::csv_file::read_csv;
use super::point::{Kernel, Mode, PointId};

/// How a repetition ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// It produced an estimate, and its times count.
    Ok,
    /// It failed; `error` says why.
    Failed,
}

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

/// Columns every `raw.csv` has: `isa` and `hosts` came later, and files
/// without them still read.
const RAW_REQUIRED: usize = RAW_COLUMNS.len() - 2;

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
            Status::Failed => None,
        }
    }

    /// Whether this repetition succeeded (and so counts in the timings).
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
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

/// Appends [`RawRow`]s to `raw.csv`, flushing each one.
#[derive(Debug)]
pub struct RawWriter {
    path: PathBuf,
    csv: csv::Writer<File>,
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
    /// empty file gets its header; a last line cut short by a crash is ended
    /// first so new rows start on a line of their own (and [`read_raw`]
    /// reports the cut line).
    pub fn append(path: &Path) -> Result<RawWriter> {
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
pub fn read_raw(path: &Path) -> Result<Vec<RawRow>> {
    read_csv(path, &RAW_COLUMNS, RAW_REQUIRED, "raw")
}
