//! Everything a sweep checks and decides before it writes anything: the
//! output folder, the configuration (file, then flags), the MPI launcher,
//! the points and where each one's workers run. Bad input leaves no trace.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use piscale_kernels::{CpuList, Method};

use super::config::SweepConfig;
use super::one_line::{self, Given};
use super::plan::{plan, Point};
use super::recorded::Recorded;
use crate::cli::SettingFlags;
use crate::error::UsageError;
use crate::measure::placement::{cpus_for, Topology};
use crate::present::note;
use crate::results::{read_raw, Kernel, Mode, OutDir, PointId};

/// What `piscale sweep` was asked to do, before validation.
#[derive(Debug, Default)]
pub struct SweepRequest {
    /// `--config FILE`; the embedded default when `None`.
    pub config: Option<PathBuf>,
    /// `--out DIR`; `results/<date>-<host>-<time>/` when `None`.
    pub out: Option<PathBuf>,
    /// `--resume`: continue the sweep in `--out`.
    pub resume: bool,
    /// `--force`: replace `--out` if it exists.
    pub force: bool,
    /// `--command`: programs to sweep beside the config's commands.
    pub commands: Vec<String>,
    /// `--name`: the names of the `--command`s, in order.
    pub names: Vec<String>,
    /// The settings given as flags; they override the configuration.
    pub flags: SettingFlags,
}

/// Everything checked and resolved, nothing written yet.
#[derive(Debug)]
pub struct Prepared {
    /// The validated settings.
    pub config: SweepConfig,
    /// Where the files go.
    pub out: OutDir,
    /// Continue the rows already in `out`.
    pub resume: bool,
    /// Replace `out`.
    pub force: bool,
    /// What to measure.
    pub points: Vec<Point>,
    /// CPUs each point's workers pin to.
    pub placements: Vec<Option<CpuList>>,
    /// CPUs this process may use.
    pub usable: usize,
}

fn default_out_dir() -> PathBuf {
    let now = chrono::Local::now();
    let host = sysinfo::System::host_name().unwrap_or_else(|| "host".into());
    PathBuf::from("results").join(format!(
        "{}-{}-{}",
        now.format("%Y-%m-%d"),
        host,
        now.format("%H%M%S")
    ))
}

/// Checks and resolves `req` (see the module documentation).
pub fn prepare(req: SweepRequest) -> Result<Prepared> {
    let out = OutDir(req.out.clone().unwrap_or_else(default_out_dir));
    let (mut config, mut given) = load_config(&req, &out)?;
    req.flags
        .apply(&mut config)
        .map_err(|e| UsageError(e.to_string().trim().to_owned()))?;
    given.0.extend(req.flags.given());
    // A --command computes the one method named, else mc.
    let method = match config.methods[..] {
        [one] if given.has("methods") => one,
        _ => Method::Mc,
    };
    one_line::add_commands(&mut config, &req.commands, &req.names, method)?;
    let alone = if req.resume {
        None
    } else {
        one_line::commands_alone(&mut config, &given)
    };
    let usable_list = CpuList::usable().context("cannot read the usable CPUs")?;
    let origin = if req.resume && req.config.is_none() {
        Some(out.config())
    } else {
        req.config.clone()
    };
    let config = config
        .validate_for(&usable_list)
        .map_err(|e| match &origin {
            // Name the file the bad setting (most likely) came from.
            Some(file) => UsageError(format!("{}: {e}", file.display())),
            None => e,
        })?;
    for kernel in &config.command {
        // Its program and folder are there (checked here, not with the
        // settings: a config may name a program another machine has).
        kernel
            .check_runnable()
            .map_err(|e| UsageError::flag(&format!("command '{}'", kernel.name), e))?;
    }
    if config.has_mpi() {
        // This binary has MPI, and the launcher is installed.
        crate::measure::mpi::launch::preflight(&config.mpi)
            .map_err(|e| UsageError::flag("backends", format!("mpi: {e}")))?;
    }
    if req.resume {
        check_resume_keeps_settings(&config, &out)?;
    }
    // Said once the whole input is known to be good: bad input is one line.
    if let Some(what) = alone {
        note(format_args!("{what}"));
    }
    let points = plan(&config, usable_list.0.len());
    if req.resume {
        check_rows_fit_the_plan(&config, &points, &out)?;
    }
    let placements = placements(&config, &points)?;
    Ok(Prepared {
        config,
        out,
        resume: req.resume,
        force: req.force,
        points,
        placements,
        usable: usable_list.0.len(),
    })
}

/// The configuration file the sweep starts from: `--config`, else (when
/// resuming) the folder's own `config.toml`, else the embedded default;
/// with the keys the file set (none for the embedded default: the user set
/// nothing).
fn load_config(req: &SweepRequest, out: &OutDir) -> Result<(SweepConfig, Given)> {
    if req.resume && req.force {
        return Err(UsageError::flag("--resume", "cannot be combined with --force").into());
    }
    check_out_dir(req, out)?;
    let from = |path: &Path| -> Result<(SweepConfig, Given)> {
        let config = SweepConfig::load(path)?;
        let text = std::fs::read_to_string(path).unwrap_or_default();
        Ok((config, Given(Given::keys_of(&text))))
    };
    match &req.config {
        Some(path) => from(path),
        None if req.resume && out.config().is_file() => from(&out.config()),
        None => Ok((SweepConfig::embedded_default(), Given::default())),
    }
}

/// What `--out` may be: for a new sweep a path that does not exist yet, or
/// with `--force` a sweep's folder (and nothing else: see
/// [`OutDir::foreign_entry`]); for `--resume` a folder with a `raw.csv`.
/// Something that is not a folder is never one (no flag would help).
fn check_out_dir(req: &SweepRequest, out: &OutDir) -> Result<(), UsageError> {
    let dir = out.path().display();
    match std::fs::metadata(out.path()) {
        Ok(meta) if meta.is_file() => {
            return Err(UsageError::flag(
                "--out",
                format!("{dir} is a file, not a folder"),
            ))
        }
        Ok(meta) if !meta.is_dir() => {
            return Err(UsageError::flag("--out", format!("{dir} is not a folder")))
        }
        _ => {}
    }
    if req.resume && !out.raw().is_file() {
        return Err(UsageError::flag(
            "--resume",
            format!("{dir} holds no raw.csv to resume"),
        ));
    }
    if !req.resume && out.path().exists() && !req.force {
        return Err(UsageError::flag(
            "--out",
            format!("{dir} already exists; pass --resume to continue it or --force to replace it"),
        ));
    }
    if req.force {
        let foreign = out
            .foreign_entry()
            .map_err(|e| UsageError::flag("--out", format!("{e:#}")))?;
        if let Some(name) = foreign {
            return Err(UsageError::flag(
                "--force",
                format!("{dir} holds {name}, which is not a sweep's file; refusing to replace it"),
            ));
        }
    }
    Ok(())
}

/// A resumed sweep must measure what its first part measured: every
/// setting, after the flags, equals the folder's `config.toml`, or rows of
/// two different studies would be mixed into the same points.
fn check_resume_keeps_settings(config: &SweepConfig, out: &OutDir) -> Result<(), UsageError> {
    if !out.config().is_file() {
        return Ok(());
    }
    let recorded = SweepConfig::load(&out.config())?;
    let (old, new) = (
        serde_json::to_value(&recorded).unwrap_or_default(),
        serde_json::to_value(config).unwrap_or_default(),
    );
    match first_difference("", &old, &new) {
        None => Ok(()),
        Some((key, was, now)) => Err(UsageError::flag(
            "--resume",
            format!(
                "{key} is {now}, but {} says {was}: a resumed sweep keeps its settings \
                 (start a new sweep to change them)",
                out.config().display()
            ),
        )),
    }
}

/// The rows already in `raw.csv` are the record of what the first part
/// measured, whatever `config.toml` says now (it can be edited): each must
/// have recorded the settings this config runs with ([`Recorded`]: seed,
/// block, pin, isa) and be one of its planned points, or the resume would
/// mix two studies in one summary.
fn check_rows_fit_the_plan(
    config: &SweepConfig,
    points: &[Point],
    out: &OutDir,
) -> Result<(), UsageError> {
    let rows = read_raw(&out.raw()).map_err(|e| UsageError(format!("{e:#}")))?;
    let planned: HashSet<&PointId> = points.iter().map(|p| &p.id).collect();
    let refuse = |what: String| {
        UsageError::flag(
            "--resume",
            format!(
                "{what}: a resumed sweep keeps its settings (start a new sweep, or restore {})",
                out.config().display()
            ),
        )
    };
    for row in &rows {
        let expected = Recorded::of(config, &row.id());
        if let Some((key, now, was)) = expected.difference(&Recorded::of_row(row)) {
            return Err(refuse(format!(
                "{key} is {now}, but {} was measured with {key} {was}",
                out.raw().display()
            )));
        }
        let id = row.id();
        if !planned.contains(&id) {
            let key = match id.mode {
                Mode::Strong if id.samples != config.samples => "samples",
                Mode::Weak if row.samples_per_worker != config.samples_per_worker => {
                    "samples_per_worker"
                }
                _ => "the methods, backends, modes or workers",
            };
            return Err(refuse(format!(
                "{} holds a point this config does not plan ({} {} {} p={} N={}): {key} changed",
                out.raw().display(),
                id.method,
                id.kernel,
                id.mode,
                id.workers,
                id.samples
            )));
        }
    }
    Ok(())
}

/// The first key (a dotted path) whose value differs: (key, old, new).
fn first_difference(
    prefix: &str,
    old: &serde_json::Value,
    new: &serde_json::Value,
) -> Option<(String, String, String)> {
    use serde_json::Value;
    let null = Value::Null;
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = b.keys().collect();
            keys.extend(a.keys().filter(|k| !b.contains_key(*k)));
            keys.into_iter().find_map(|k| {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                first_difference(&path, a.get(k).unwrap_or(&null), b.get(k).unwrap_or(&null))
            })
        }
        _ if old == new => None,
        _ => Some((prefix.to_owned(), old.to_string(), new.to_string())),
    }
}

/// The CPUs each point's workers pin to: their pin policy's
/// ([`SweepConfig::pin_for`]), except for MPI ranks the launcher places
/// (`[mpi] bind_to`).
fn placements(config: &SweepConfig, points: &[Point]) -> Result<Vec<Option<CpuList>>> {
    let topology = Topology::read();
    points
        .iter()
        .map(|p| {
            if p.id.kernel == Kernel::Mpi && config.mpi.bind_to.is_some() {
                return Ok(None);
            }
            cpus_for(&config.pin_for(&p.id.kernel), p.id.workers, &topology)
                .map_err(|e| UsageError::flag("--pin", e).into())
        })
        .collect()
}
