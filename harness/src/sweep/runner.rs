//! Runs a sweep: validate everything, then measure every (point, rep) of the
//! shuffled schedule, writing each row as soon as it exists.
//!
//! Nothing is written until the configuration, the output folder and every
//! point's placement have been checked, so bad input leaves no trace.
//! Ctrl-C (or SIGTERM) asks the running process backend to kill and reap its
//! workers ([`piscale_kernels::cancel`]); the sweep then stops between runs,
//! keeps every finished row, writes `summary.csv` for them and exits 130.
//! `--resume` skips the (point, rep) pairs already in `raw.csv`.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use piscale_kernels::{cancel, Backend, BackendKind, CpuList, Isa, Job, RunReport, Team};

use super::command::run_command;
use super::config::{SweepConfig, SweepOverrides};
use super::machine::Machine;
use super::plan::{plan, schedule, Kernel, Point};
use super::rows::{read_raw, summarize, write_summary, RawRow, RawWriter};
use super::table::{answer_line, speedup_table};
use super::topology::{cpus_for, placement_ok, Topology};
use crate::config::UsageError;

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
    /// Flags that override the configuration.
    pub overrides: SweepOverrides,
}

/// How a sweep ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepEnd {
    /// Every (point, rep) was measured successfully.
    Complete,
    /// Some repetitions failed; they are in `raw.csv` with their errors.
    SomeFailed(usize),
    /// Stopped by a signal; finished rows are kept.
    Interrupted,
}

/// The files of a sweep's output folder.
#[derive(Debug, Clone)]
pub struct OutDir(pub PathBuf);

impl OutDir {
    /// `raw.csv`.
    pub fn raw(&self) -> PathBuf {
        self.0.join("raw.csv")
    }
    /// `summary.csv`.
    pub fn summary(&self) -> PathBuf {
        self.0.join("summary.csv")
    }
    /// `machine.json`.
    pub fn machine(&self) -> PathBuf {
        self.0.join("machine.json")
    }
    /// `config.toml`: the fully resolved configuration, so `--resume` can reuse it.
    pub fn config(&self) -> PathBuf {
        self.0.join("config.toml")
    }
}

/// Serialises row writes with the emergency exit of [`watch_for_hard_stop`],
/// so that no row is ever half-written.
static ROW_LOCK: Mutex<()> = Mutex::new(());

/// Runs the sweep described by `req`; `argv` is recorded in machine.json.
pub fn sweep(req: SweepRequest, argv: Vec<String>) -> Result<SweepEnd> {
    let prepared = prepare(req)?;
    install_signal_handlers()?;
    // The executor (and with it every pool) is dropped before returning,
    // so pool workers are stopped and reaped.
    execute(prepared, argv)
}

/// Everything checked and resolved, nothing written yet.
struct Prepared {
    config: SweepConfig,
    out: OutDir,
    resume: bool,
    force: bool,
    points: Vec<Point>,
    /// CPUs each point's workers pin to.
    placements: Vec<Option<CpuList>>,
    usable: usize,
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

fn prepare(req: SweepRequest) -> Result<Prepared> {
    let out = OutDir(req.out.clone().unwrap_or_else(default_out_dir));
    if req.resume && req.force {
        return Err(UsageError::flag("--resume", "cannot be combined with --force").into());
    }
    let config = if req.resume {
        if !out.raw().is_file() {
            return Err(UsageError::flag(
                "--resume",
                format!("{} holds no raw.csv to resume", out.0.display()),
            )
            .into());
        }
        match &req.config {
            Some(path) => SweepConfig::load(path)?,
            None if out.config().is_file() => SweepConfig::load(&out.config())?,
            None => SweepConfig::embedded_default(),
        }
    } else {
        if out.0.exists() && !req.force {
            return Err(UsageError::flag(
                "--out",
                format!(
                    "{} already exists; pass --resume to continue it or --force to replace it",
                    out.0.display()
                ),
            )
            .into());
        }
        match &req.config {
            Some(path) => SweepConfig::load(path)?,
            None => SweepConfig::embedded_default(),
        }
    };
    let mut config = config;
    req.overrides.apply(&mut config);
    let usable_list = CpuList::usable().context("cannot read the usable CPUs")?;
    let usable = usable_list.0.len();
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
    Isa::set_active(config.isa.resolve()).map_err(|e| UsageError::flag("isa", e))?;
    if config.backends.contains(&BackendKind::Mpi) {
        // This binary has MPI, and the launcher is installed.
        crate::mpi::launch::preflight(&config.mpi)
            .map_err(|e| UsageError::flag("backends", format!("mpi: {e}")))?;
    }
    let points = plan(&config, usable);
    let topology = Topology::read();
    let placements = points
        .iter()
        .map(|p| cpus_for(&config.pin, p.workers, &topology))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| UsageError::flag("--pin", e))?;
    // With `[mpi] bind_to`, the launcher places the ranks, not the policy.
    let placements = points
        .iter()
        .zip(placements)
        .map(|(p, cpus)| match p.kernel {
            Kernel::Builtin {
                backend: BackendKind::Mpi,
                ..
            } if config.mpi.bind_to.is_some() => None,
            _ => cpus,
        })
        .collect();
    Ok(Prepared {
        config,
        out,
        resume: req.resume,
        force: req.force,
        points,
        placements,
        usable,
    })
}

/// SIGINT and SIGTERM set the cancel flag (a second one exits at once).
pub(crate) fn install_signal_handlers() -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    for sig in [SIGINT, SIGTERM] {
        // A second signal while the first is being handled kills at once.
        signal_hook::flag::register_conditional_shutdown(sig, 130, cancel::flag())
            .context("cannot install the signal handler")?;
        signal_hook::flag::register(sig, cancel::flag())
            .context("cannot install the signal handler")?;
    }
    Ok(())
}

/// If a thread backend's run is still computing a few seconds after Ctrl-C,
/// stop without it: the finished rows are on disk already.
fn watch_for_hard_stop(out: OutDir, seed: u64) {
    std::thread::spawn(move || {
        while !cancel::requested() {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_secs(5));
        let _rows = ROW_LOCK.lock();
        let _ = finish_summary(&out, seed);
        eprintln!(
            "interrupted: the running point did not stop in 5 s; finished rows are in {}",
            out.raw().display()
        );
        std::process::exit(130);
    });
}

fn finish_summary(out: &OutDir, seed: u64) -> Result<Vec<super::rows::SummaryRow>> {
    let rows = read_raw(out.raw())?;
    let summary = summarize(&rows, seed);
    write_summary(out.summary(), &summary)?;
    Ok(summary)
}

/// The labels of a point that appear in its rows.
fn point_label(p: &Point) -> String {
    format!(
        "{} {} {} p={}",
        p.kernel.method(),
        p.kernel.backend_name(),
        p.mode,
        p.workers
    )
}

/// One measured run.
#[derive(Debug)]
pub struct Measured {
    /// The backend's report (builtin kernels only).
    pub report: Option<RunReport>,
    /// Wall time, seconds.
    pub wall_s: f64,
    /// The pi estimate.
    pub estimate: f64,
}

/// Runs one repetition of a point. The real executor runs kernels; tests
/// use a mock with fixed fake durations so the driver's arithmetic can be
/// checked exactly, without timing noise (hyperfine's `Executor`).
pub trait Executor {
    /// Runs `point` once with its workers pinned to `cpus`.
    fn measure(
        &mut self,
        config: &SweepConfig,
        point: &Point,
        cpus: Option<&CpuList>,
    ) -> Result<Measured, String>;
}

/// Runs builtin backends (each created once per backend and worker count,
/// then reused, so pools start once) and command kernels.
#[derive(Default)]
pub struct RealExecutor {
    backends: HashMap<(BackendKind, usize), Box<dyn Backend>>,
}

impl Executor for RealExecutor {
    fn measure(
        &mut self,
        config: &SweepConfig,
        point: &Point,
        cpus: Option<&CpuList>,
    ) -> Result<Measured, String> {
        measure(config, point, cpus, &mut self.backends)
    }
}

fn execute(prep: Prepared, argv: Vec<String>) -> Result<SweepEnd> {
    execute_with(prep, argv, &mut RealExecutor::default())
}

fn execute_with(
    prep: Prepared,
    argv: Vec<String>,
    executor: &mut dyn Executor,
) -> Result<SweepEnd> {
    let Prepared {
        config,
        out,
        resume,
        force,
        points,
        placements,
        usable,
    } = prep;
    // Act: from here on, files are written.
    if force && out.0.exists() {
        std::fs::remove_dir_all(&out.0)
            .with_context(|| format!("cannot replace {}", out.0.display()))?;
    }
    std::fs::create_dir_all(&out.0)
        .with_context(|| format!("cannot create {}", out.0.display()))?;
    let resolved = config.resolved_toml();
    std::fs::write(out.config(), &resolved)
        .with_context(|| format!("cannot write {}", out.config().display()))?;
    if !out.machine().exists() {
        let config_json = serde_json::to_value(&config).unwrap_or_default();
        Machine::describe(config_json, argv)
            .write_json(out.machine())
            .with_context(|| format!("cannot write {}", out.machine().display()))?;
    }
    let run_id = out
        .0
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (mut writer, done) = if resume {
        let rows = read_raw(out.raw())?;
        let done: HashSet<(String, u32)> = rows.iter().map(|r| (row_key(r), r.rep)).collect();
        (RawWriter::append(out.raw())?, done)
    } else {
        (RawWriter::create(out.raw())?, HashSet::new())
    };
    watch_for_hard_stop(out.clone(), config.seed);

    let order = schedule(&points, config.reps, config.seed);
    let todo: Vec<(usize, u32)> = order
        .into_iter()
        .filter(|(i, rep)| !done.contains(&(points[*i].key(), *rep)))
        .collect();
    let progress = Progress::new(todo.len() as u64);
    let mut warmed = vec![false; points.len()];
    let mut times: HashMap<String, Vec<f64>> = HashMap::new();
    let mut reps_left: Vec<u32> = vec![0; points.len()];
    for (i, _) in &todo {
        reps_left[*i] += 1;
    }
    let mut failed = 0usize;
    let mut interrupted = false;
    for (i, rep) in todo {
        if cancel::requested() {
            interrupted = true;
            break;
        }
        let point = &points[i];
        let cpus = placements[i].as_ref();
        if !warmed[i] {
            for _ in 0..config.warmup {
                let _ = executor.measure(&config, point, cpus);
            }
            warmed[i] = true;
        }
        let timestamp = chrono::Local::now().to_rfc3339();
        let mut row = base_row(&config, &run_id, &timestamp, point, rep, usable);
        match executor.measure(&config, point, cpus) {
            Ok(m) => fill_ok(&mut row, &m, cpus, point.workers),
            Err(_) if cancel::requested() => {
                interrupted = true;
                break;
            }
            Err(e) => {
                failed += 1;
                row.status = "failed".into();
                row.error = e;
            }
        }
        {
            let _lock = ROW_LOCK.lock();
            writer.write(&row)?;
        }
        if row.status == "ok" {
            times
                .entry(point.key())
                .or_default()
                .push(row.wall_s.unwrap_or_default());
        }
        reps_left[i] -= 1;
        progress.step(point, &row, &points, &times, reps_left[i] == 0);
    }
    progress.finish();
    let summary = finish_summary(&out, config.seed)?;
    if let Err(e) = crate::analysis::build(&out.0) {
        // The measurements are safe on disk; `piscale plot DIR` can retry.
        eprintln!("warning: {e:#}");
    }
    println!("{}", speedup_table(&summary));
    if let Some(answer) = answer_line(&summary) {
        println!("{answer}");
    }
    eprintln!(
        "results in {} (report.html, report.md, plots/)",
        out.0.display()
    );
    Ok(if interrupted {
        SweepEnd::Interrupted
    } else if failed > 0 {
        SweepEnd::SomeFailed(failed)
    } else {
        SweepEnd::Complete
    })
}

/// The key of a row, matching [`Point::key`].
fn row_key(r: &RawRow) -> String {
    super::plan::key_of(&r.method, &r.backend, &r.mode, r.workers, r.samples)
}

fn base_row(
    config: &SweepConfig,
    run_id: &str,
    timestamp: &str,
    p: &Point,
    rep: u32,
    usable: usize,
) -> RawRow {
    let builtin = matches!(p.kernel, Kernel::Builtin { .. });
    RawRow {
        run_id: run_id.to_string(),
        timestamp: timestamp.to_string(),
        method: p.kernel.method().to_string(),
        backend: p.kernel.backend_name().to_string(),
        mode: p.mode.to_string(),
        workers: p.workers,
        samples: p.samples,
        samples_per_worker: p.samples_per_worker,
        block: config.block,
        chunksize: match p.kernel {
            Kernel::Builtin {
                backend: BackendKind::PoolMap,
                ..
            } => config.chunksize,
            _ => None,
        },
        pin: if let (
            Kernel::Builtin {
                backend: BackendKind::Mpi,
                ..
            },
            Some(bind),
        ) = (&p.kernel, &config.mpi.bind_to)
        {
            format!("bind-to {bind}")
        } else if builtin {
            config.pin.to_string()
        } else {
            "none".into()
        },
        seed: config.seed,
        rep,
        wall_s: None,
        spawn_s: None,
        compute_s: None,
        reduce_s: None,
        estimate: None,
        abs_error: None,
        std_error: None,
        cpus: String::new(),
        placement_ok: true,
        oversubscribed: p.workers > usable,
        status: "ok".into(),
        error: String::new(),
        isa: if builtin {
            Isa::active().name().to_string()
        } else {
            String::new()
        },
        hosts: String::new(),
    }
}

fn fill_ok(row: &mut RawRow, m: &Measured, asked: Option<&CpuList>, workers: usize) {
    row.wall_s = Some(m.wall_s);
    row.estimate = Some(m.estimate);
    row.abs_error = Some((m.estimate - std::f64::consts::PI).abs());
    if let Some(r) = &m.report {
        row.spawn_s = Some(r.spawn_s);
        row.compute_s = Some(r.compute_s);
        row.reduce_s = Some(r.reduce_s);
        row.std_error = r.std_error;
        row.chunksize = r.chunksize.or(row.chunksize);
        row.cpus = super::rows::format_cpus(&r.cpus);
        row.hosts = r.hosts.join(";");
        row.placement_ok = if r.hosts.is_empty() {
            placement_ok(asked, workers, &r.cpus)
        } else {
            mpi_placement_ok(asked, &r.hosts, &r.cpus)
        };
    }
}

/// Whether every MPI rank ran where it was asked to: ranks pin by their
/// rank among those on the same host.
fn mpi_placement_ok(asked: Option<&CpuList>, hosts: &[String], actual: &[Option<usize>]) -> bool {
    let Some(list) = asked else { return true };
    hosts.iter().enumerate().all(|(i, host)| {
        let local = hosts[..i].iter().filter(|h| *h == host).count();
        actual.get(i).copied().flatten() == list.for_worker(local)
    })
}

/// One run of `point`: a builtin backend (created once per backend and
/// worker count, then reused) or a command kernel.
fn measure(
    config: &SweepConfig,
    point: &Point,
    cpus: Option<&CpuList>,
    backends: &mut HashMap<(BackendKind, usize), Box<dyn Backend>>,
) -> Result<Measured, String> {
    let timeout = config.timeout();
    match &point.kernel {
        Kernel::Builtin {
            method,
            backend: BackendKind::Mpi,
        } => {
            let job = Job::new(*method, point.samples)
                .seed(config.seed)
                .block(config.block);
            let isa = String::from(config.isa);
            let launch = crate::mpi::launch::Launch {
                job: &job,
                ranks: point.workers,
                cpus,
                isa: &isa,
                settings: &config.mpi,
                oversubscribe: config.oversubscribe,
                timeout: Some(timeout),
            };
            let report = crate::mpi::launch::run(&launch)?;
            Ok(Measured {
                wall_s: report.wall_s,
                estimate: report.estimate,
                report: Some(report),
            })
        }
        Kernel::Builtin { method, backend } => {
            let key = (*backend, point.workers);
            if let Entry::Vacant(slot) = backends.entry(key) {
                let team = Team::new(point.workers, cpus.cloned()).map_err(|e| e.to_string())?;
                slot.insert(backend.create(team).map_err(|e| e.to_string())?);
            }
            let job = Job::new(*method, point.samples)
                .seed(config.seed)
                .block(config.block)
                .chunksize(config.chunksize)
                .timeout(Some(timeout));
            let runner = backends.get_mut(&key).expect("inserted above");
            match runner.run(&job) {
                Ok(report) => Ok(Measured {
                    wall_s: report.wall_s,
                    estimate: report.estimate,
                    report: Some(report),
                }),
                Err(e) => {
                    // A pool that lost a worker is useless: start afresh next time.
                    backends.remove(&key);
                    Err(e.to_string())
                }
            }
        }
        Kernel::Command { index, .. } => {
            let kernel = &config.command[*index];
            let o = run_command(kernel, point.workers, point.samples, config.seed, timeout)?;
            Ok(Measured {
                report: None,
                wall_s: o.wall_s,
                estimate: o.estimate,
            })
        }
    }
}

/// A progress bar on a terminal; one line per finished point otherwise.
struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new(total: u64) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} ETA {eta} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Progress { bar: Some(bar) }
    }

    fn step(
        &self,
        point: &Point,
        row: &RawRow,
        points: &[Point],
        times: &HashMap<String, Vec<f64>>,
        point_done: bool,
    ) {
        let speedup = latest_speedup(point, points, times);
        let shown = speedup.map_or_else(String::new, |s| format!(", speed-up {s:.2}×"));
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{} rep {}{shown}", point_label(point), row.rep));
                bar.inc(1);
            }
            None if point_done => {
                let median = times
                    .get(&point.key())
                    .and_then(|t| super::stats::median(t))
                    .unwrap_or(f64::NAN);
                let status = if row.status == "ok" {
                    String::new()
                } else {
                    format!(" (failed: {})", row.error)
                };
                eprintln!(
                    "{}: median {median:.4} s{shown}{status}",
                    point_label(point)
                );
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Median time of the same backend at 1 worker over this point's median.
fn latest_speedup(
    point: &Point,
    points: &[Point],
    times: &HashMap<String, Vec<f64>>,
) -> Option<f64> {
    let base = points.iter().find(|q| {
        q.workers == 1
            && q.mode == point.mode
            && q.kernel.backend_name() == point.kernel.backend_name()
            && q.kernel.method() == point.kernel.method()
            && match point.mode {
                super::config::Mode::Strong => q.samples == point.samples,
                super::config::Mode::Weak => q.samples_per_worker == point.samples_per_worker,
            }
    })?;
    let t1 = super::stats::median(times.get(&base.key())?)?;
    let tp = super::stats::median(times.get(&point.key())?)?;
    let scale = if point.mode == super::config::Mode::Weak {
        point.workers as f64
    } else {
        1.0
    };
    (tp > 0.0).then(|| scale * t1 / tp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::config::{Mode, Workers};
    use crate::sweep::rows::read_summary;
    use piscale_kernels::Method;

    /// Amdahl's law with a serial fraction of 1/10 and 1 s at one worker:
    /// exactly known speed-ups, whatever the machine is doing.
    struct Amdahl;

    const SERIAL_FRACTION: f64 = 0.1;

    fn fake_time(workers: usize) -> f64 {
        SERIAL_FRACTION + (1.0 - SERIAL_FRACTION) / workers as f64
    }

    impl Executor for Amdahl {
        fn measure(
            &mut self,
            _: &SweepConfig,
            point: &Point,
            _: Option<&CpuList>,
        ) -> Result<Measured, String> {
            if point.kernel.backend_name() == "per-core" && point.workers == 3 {
                return Err("worker 2 (pid 1) was killed by signal SIGKILL".into());
            }
            Ok(Measured {
                report: None,
                wall_s: fake_time(point.workers),
                estimate: std::f64::consts::PI,
            })
        }
    }

    #[test]
    fn the_driver_turns_fixed_durations_into_exact_speedups() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("mock");
        let config = SweepConfig {
            methods: vec![Method::Mc],
            backends: vec![BackendKind::Threads, BackendKind::PerCore],
            modes: vec![Mode::Strong],
            workers: Workers::List(vec![1, 2, 3, 4]),
            samples: 1 << 20,
            reps: 3,
            warmup: 1,
            oversubscribe: true,
            ..SweepConfig::default()
        };
        let points = plan(&config, 4);
        let placements = vec![None; points.len()];
        let prep = Prepared {
            config,
            out: OutDir(out.clone()),
            resume: false,
            force: false,
            points,
            placements,
            usable: 4,
        };
        let end = execute_with(prep, vec!["piscale".into()], &mut Amdahl).unwrap();
        assert_eq!(end, SweepEnd::SomeFailed(3));

        let raw = read_raw(out.join("raw.csv")).unwrap();
        // serial@1 + threads@1..4 + per-core@1..4, three reps each.
        assert_eq!(raw.len(), 9 * 3);
        assert_eq!(raw.iter().filter(|r| r.status == "failed").count(), 3);
        let summary = read_summary(out.join("summary.csv")).unwrap();
        for p in 1..=4usize {
            let row = summary
                .iter()
                .find(|r| r.backend == "threads" && r.workers == p)
                .unwrap();
            let expected = fake_time(1) / fake_time(p);
            assert_eq!(row.median_s, Some(fake_time(p)));
            assert_eq!(
                (row.ci_low_s, row.ci_high_s),
                (Some(fake_time(p)), Some(fake_time(p)))
            );
            assert!((row.speedup.unwrap() - expected).abs() < 1e-12, "p={p}");
            assert!((row.efficiency.unwrap() - expected / p as f64).abs() < 1e-12);
            if p > 1 {
                // Karp–Flatt recovers the serial fraction exactly under Amdahl's law.
                assert!(
                    (row.karp_flatt.unwrap() - SERIAL_FRACTION).abs() < 1e-12,
                    "p={p}"
                );
            }
        }
        let failed = summary
            .iter()
            .find(|r| r.backend == "per-core" && r.workers == 3)
            .unwrap();
        assert_eq!((failed.reps, failed.failed, failed.median_s), (0, 3, None));
        assert!(out.join("machine.json").is_file() && out.join("config.toml").is_file());
    }
}
