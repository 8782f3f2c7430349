//! Measures every (point, rep) of the shuffled schedule, writing each row as
//! soon as it exists, then the summary, the plots, the reports and the
//! answer.
//!
//! Nothing is written until [`super::prepare`] has checked the
//! configuration, the output folder and every point's placement. Ctrl-C (or
//! SIGTERM) stops the running point ([`super::signals`]); the sweep then
//! stops between runs, keeps every finished row, writes `summary.csv` for
//! them and exits 130. `--resume` skips the (point, rep) pairs already in
//! `raw.csv`.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use piscale_kernels::{cancel, CapacityWorker, CpuList, Phases};

use super::config::SweepConfig;
use super::plan::{schedule, Point};
use super::prepare::Prepared;
use super::progress::Progress;
use super::recorded::Recorded;
use super::signals::HardStop;
use crate::analyse::answer::Completeness;
use crate::analyse::summary::summarize;
use crate::error::UsageError;
use crate::measure::disturbance::{Counters, Disturbance};
use crate::measure::mpi::launch::host_name;
use crate::measure::placement::{mpi_placement_ok, placement_ok, Topology};
use crate::measure::{probe, Detail, Executor, MeasureError, Measured, RunSpec, DEFAULT_CAPACITY};
use crate::present::note;
use crate::results::out_dir::{DirLock, LockError};
use crate::results::{
    format_core_kinds, format_cpus, read_raw, timestamp, write_atomic, write_summary, Kernel,
    OutDir, PerWorker, PointId, RawRow, RawWriter, Status, SummaryRow,
};

/// How a sweep ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepEnd {
    /// Every (point, rep) was measured successfully.
    Complete,
    /// Some repetitions failed; they are in `raw.csv` with their errors.
    SomeFailed(usize),
    /// Stopped by a signal; finished rows are kept.
    Interrupted,
    /// Every point was measured, but the plots or reports could not be
    /// written (`piscale plot DIR` retries).
    Unreported,
}

/// What an executor keeps between runs: a backend at a worker count.
fn backend_key(id: &PointId) -> (Kernel, usize) {
    (id.kernel.clone(), id.workers)
}

/// The step of `todo` at which each backend (at each worker count) runs for
/// the last time.
fn last_uses(points: &[Point], todo: &[(usize, u32)]) -> HashMap<(Kernel, usize), usize> {
    todo.iter()
        .enumerate()
        .map(|(step, (i, _))| (backend_key(&points[*i].id), step))
        .collect()
}

/// Summarises `out`'s raw rows into its `summary.csv`.
pub(super) fn finish_summary(out: &OutDir) -> Result<Vec<SummaryRow>> {
    let rows = read_raw(&out.raw())?;
    let summary = summarize(&rows);
    write_summary(&out.summary(), &summary)?;
    Ok(summary)
}

/// How every run of this sweep is done.
fn run_spec(config: &SweepConfig) -> RunSpec {
    RunSpec {
        seed: config.seed,
        block: config.block,
        chunksize: config.chunksize,
        timeout: Some(config.timeout()),
        isa: config.isa,
        oversubscribe: config.oversubscribe,
        capacity: config.capacity().unwrap_or(DEFAULT_CAPACITY),
    }
}

/// Runs the prepared sweep with `executor`.
pub fn execute_with(
    prep: Prepared,
    argv: Vec<String>,
    executor: &mut dyn Executor,
) -> Result<SweepEnd> {
    let Output {
        _lock,
        mut writer,
        earlier,
    } = open_output(&prep, argv)?;
    let done: HashSet<(PointId, u32)> = earlier.iter().map(|r| (r.id(), r.rep)).collect();
    let Prepared {
        config,
        out,
        points,
        placements,
        usable,
        ..
    } = prep;
    let todo: Vec<(usize, u32)> = schedule(&points, config.reps, config.seed)
        .into_iter()
        .filter(|(i, rep)| !done.contains(&(points[*i].id.clone(), *rep)))
        .collect();
    announce_plan(&config, &points, &todo);
    let mut sweep = Sweep {
        config: &config,
        out: &out,
        spec: run_spec(&config),
        run_id: out.run_id(),
        usable,
        topology: Topology::read(),
        executor,
        warmed: vec![false; points.len()],
    };
    let mut progress = Progress::new(&points, &todo, &earlier);
    let last_use = last_uses(&points, &todo);
    let mut interrupted = false;
    for (step, &(i, rep)) in todo.iter().enumerate() {
        if cancel::requested() {
            interrupted = true;
            break;
        }
        let Some(row) = sweep.repetition(i, &points[i], placements[i].as_ref(), rep) else {
            interrupted = true;
            break;
        };
        writer.write(&row)?;
        progress.step(i, &row);
        if last_use.get(&backend_key(&points[i].id)) == Some(&step) {
            // Its last point is measured: stop its pool now, not at the end.
            sweep.executor.release(&points[i].id);
        }
    }
    progress.finish();
    let summary = finish_summary(&out)?;
    let completeness = Completeness::of(&summary, config.reps as usize);
    let reported = crate::present::finish_sweep(&out, &summary, completeness);
    // Failures still in the file, this run's and a resumed run's.
    let failed: usize = summary.iter().map(|r| r.failed).sum();
    Ok(if interrupted {
        SweepEnd::Interrupted
    } else if failed > 0 {
        SweepEnd::SomeFailed(failed)
    } else if !reported {
        SweepEnd::Unreported
    } else {
        SweepEnd::Complete
    })
}

/// The output folder, open for this sweep: its lock (held until the sweep
/// ends), the row writer, and (resuming) the rows of the repetitions
/// already measured.
struct Output {
    _lock: DirLock,
    writer: RawWriter,
    earlier: Vec<RawRow>,
}

/// A worker list like 1..4096 is accepted, so say up front what it costs
/// (and, resuming, how much of it is left: a point's warm-up runs again).
fn announce_plan(config: &SweepConfig, points: &[Point], todo: &[(usize, u32)]) {
    let (reps, warmup) = (config.reps as usize, config.warmup as usize);
    let total = points.len() * (reps + warmup);
    let left = todo.len() + warmup * todo.iter().map(|t| t.0).collect::<HashSet<_>>().len();
    let left = if left < total {
        format!(", {left} of them left")
    } else {
        String::new()
    };
    note(format_args!(
        "planned {} points × {reps} repetitions (+ {warmup} warm-up runs each) = {total} runs{left}",
        points.len()
    ));
}

/// Creates (or, resuming, reopens) the output folder under its lock:
/// `config.toml`, `machine.json` and `raw.csv`. A folder this call created
/// is removed again if its first files cannot be written (a full disk), so
/// that nothing half-made is left; every error here is the environment's
/// (exit status 2) and names the path.
fn open_output(prep: &Prepared, argv: Vec<String>) -> Result<Output> {
    let out = &prep.out;
    let created = !out.path().exists();
    std::fs::create_dir_all(out.path()).map_err(|e| {
        UsageError::flag(
            "--out",
            format!("cannot create {}: {e}", out.path().display()),
        )
    })?;
    let lock = match out.lock() {
        Ok(lock) => lock,
        Err(e) => {
            if created {
                let _ = std::fs::remove_dir_all(out.path());
            }
            return Err(lock_error(out, e).into());
        }
    };
    let opened = start_files(prep, argv);
    match opened {
        Ok((writer, earlier)) => Ok(Output {
            _lock: lock,
            writer,
            earlier,
        }),
        Err(e) => {
            if created {
                drop(lock);
                let _ = std::fs::remove_dir_all(out.path());
            }
            Err(UsageError(format!("{e:#}")).into())
        }
    }
}

/// `--out: … is in use by another piscale sweep (pid N)`.
fn lock_error(out: &OutDir, e: LockError) -> UsageError {
    let dir = out.path().display();
    match e {
        LockError::Busy(Some(pid)) => UsageError::flag(
            "--out",
            format!("{dir} is in use by another piscale sweep (pid {pid}); wait for it to end"),
        ),
        LockError::Busy(None) => UsageError::flag(
            "--out",
            format!("{dir} is in use by another piscale sweep; wait for it to end"),
        ),
        LockError::Io(path, e) => {
            UsageError::flag("--out", format!("cannot lock {}: {e}", path.display()))
        }
    }
}

/// Writes (or, resuming, checks and repairs) the folder's files.
fn start_files(prep: &Prepared, argv: Vec<String>) -> Result<(RawWriter, Vec<RawRow>)> {
    let out = &prep.out;
    if prep.force {
        out.clear()?;
    }
    write_atomic(&out.config(), prep.config.resolved_toml().as_bytes())?;
    if !out.machine().exists() {
        let config_json = serde_json::to_value(&prep.config).unwrap_or_default();
        probe::describe(config_json, argv, prep.config.isa.resolve()).write_json(&out.machine())?;
    }
    if !prep.resume {
        return Ok((RawWriter::create(&out.raw())?, Vec::new()));
    }
    // Repair first: a row cut short by a crash would stop the reading.
    let writer = RawWriter::append(&out.raw())?;
    if writer.repaired() > 0 {
        note(format_args!(
            "{}: removed a row cut short by an earlier crash ({} bytes); its repetition runs again",
            out.raw().display(),
            writer.repaired()
        ));
    }
    // Failed repetitions are not done: they run again (a wrong answer on
    // purpose is done).
    let done = read_raw(&out.raw())?
        .into_iter()
        .filter(|r| r.status != Status::Failed)
        .collect();
    Ok((writer, done))
}

/// What every repetition of the sweep shares.
struct Sweep<'a> {
    config: &'a SweepConfig,
    out: &'a OutDir,
    spec: RunSpec,
    run_id: String,
    usable: usize,
    /// Where the workers' CPUs' core kinds are looked up.
    topology: Topology,
    executor: &'a mut dyn Executor,
    /// Points whose warm-up runs are done.
    warmed: Vec<bool>,
}

impl Sweep<'_> {
    /// Measures repetition `rep` of point `i` (after its warm-up runs, the
    /// first time) and returns its row; `None` when it was cancelled.
    fn repetition(
        &mut self,
        i: usize,
        point: &Point,
        cpus: Option<&CpuList>,
        rep: u32,
    ) -> Option<RawRow> {
        if !self.warmed[i] {
            for _ in 0..self.config.warmup {
                let _ = self.measure(&point.id, cpus);
            }
            self.warmed[i] = true;
        }
        // The noise guard: a run the machine disturbed is measured again,
        // up to `retries` times; the last one is recorded, marked.
        let mut attempts = 0;
        let (outcome, disturbance, disturbed) = loop {
            attempts += 1;
            let before = Counters::now();
            let outcome = self.measure(&point.id, cpus);
            let disturbance = Disturbance::between(&before, &Counters::now(), cpus);
            let disturbed = outcome.as_ref().is_ok_and(|m| {
                disturbance.is_disturbed(m.elapsed_s(), point.id.workers, self.usable)
            });
            if !disturbed || attempts > self.config.retries {
                break (outcome, disturbance, disturbed);
            }
        };
        // Stamped now: when the repetition finished.
        let mut row = self.row(point, rep, cpus);
        row.steal_s = Some(disturbance.steal_s);
        row.stall_s = disturbance.stall_s;
        row.runnable = Some(disturbance.runnable);
        row.attempts = Some(attempts);
        match outcome {
            Ok(m) => {
                row.disturbed = disturbed;
                fill_ok(&mut row, &m, cpus, point.id.workers, &self.topology);
            }
            Err(MeasureError::Cancelled) => return None,
            Err(e) => {
                row.status = Status::Failed;
                row.error = e.to_string();
            }
        }
        Some(row)
    }

    /// One run; a thread backend's runs have a hard-stop watcher by them.
    fn measure(&mut self, id: &PointId, cpus: Option<&CpuList>) -> Result<Measured, MeasureError> {
        let _watch = (!id.kernel.uses_processes()).then(|| HardStop::arm(Some(self.out)));
        self.executor.measure(id, cpus, &self.spec)
    }

    /// The row of a repetition that has just finished, before its outcome;
    /// its workers were to run on `cpus`.
    fn row(&self, p: &Point, rep: u32, cpus: Option<&CpuList>) -> RawRow {
        let id = &p.id;
        let recorded = Recorded::of(self.config, id);
        RawRow {
            run_id: self.run_id.clone(),
            timestamp: timestamp(),
            method: id.method,
            backend: id.kernel.clone(),
            mode: id.mode,
            workers: id.workers,
            samples: id.samples,
            samples_per_worker: p.samples_per_worker,
            block: recorded.block,
            chunksize: self.config.chunksize.filter(|_| id.kernel.is_chunked()),
            pin: recorded.pin,
            seed: recorded.seed,
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
            oversubscribed: id.workers > room(cpus, self.usable),
            status: Status::Ok,
            error: String::new(),
            isa: recorded.isa,
            hosts: String::new(),
            steal_s: None,
            stall_s: None,
            runnable: None,
            disturbed: false,
            attempts: None,
            core_kinds: String::new(),
            busy_s: PerWorker::default(),
            work: PerWorker::default(),
            rates: PerWorker::default(),
            start: p.id.kernel.start(),
            launch: String::new(),
        }
    }
}

/// How many workers fit without sharing a CPU: the distinct CPUs they are
/// pinned to (`--pin 1` with 2 workers: 1), else every usable one.
fn room(cpus: Option<&CpuList>, usable: usize) -> usize {
    cpus.map_or(usable, |c| c.distinct().len().min(usable))
}

/// A command's `cpus` cell: the CPUs of its affinity, which its threads and
/// processes share.
fn command_cpus(cpus: &CpuList) -> String {
    let ids: Vec<Option<usize>> = cpus.distinct().into_iter().map(Some).collect();
    format_cpus(&ids)
}

/// Fills a row from a successful run; `asked` is where the workers were to
/// run, `topology` this machine's (for the kinds of core they ran on).
fn fill_ok(
    row: &mut RawRow,
    m: &Measured,
    asked: Option<&CpuList>,
    workers: usize,
    topology: &Topology,
) {
    row.wall_s = Some(m.wall_s);
    row.estimate = m.estimate;
    row.launch = m.launch.clone().unwrap_or_default();
    row.abs_error = m.estimate.map(|e| (e - std::f64::consts::PI).abs());
    // A capacity run's phases are not its wall_s's (the time its work
    // would take at its rate): none, so that no phase table shows them.
    if let Detail::Report(r) = &m.detail {
        if let Some(race) = &r.race {
            row.status = Status::Wrong;
            row.error = race.to_string();
        }
    }
    let (phases, cpus, hosts) = match &m.detail {
        Detail::Whole => {
            row.cpus = asked.map(command_cpus).unwrap_or_default();
            return;
        }
        Detail::SelfTimed { compute_s } => {
            // Start-up is whatever of the wall time it did not compute.
            row.spawn_s = Some((m.wall_s - compute_s).max(0.0));
            row.compute_s = Some(*compute_s);
            row.reduce_s = Some(0.0);
            row.cpus = asked.map(command_cpus).unwrap_or_default();
            return;
        }
        Detail::Report(r) => {
            row.std_error = r.std_error;
            row.chunksize = r.chunksize.or(row.chunksize);
            row.busy_s = PerWorker(r.worker_compute_s.clone());
            row.work = PerWorker::counts(&r.worker_units);
            let phases = Phases {
                spawn_s: r.spawn_s,
                compute_s: r.compute_s,
                reduce_s: r.reduce_s,
            };
            (Some(phases), r.cpus.clone(), &r.hosts[..])
        }
        Detail::Capacity(c) => {
            row.busy_s = PerWorker(c.workers.iter().map(|w| w.busy_s).collect());
            row.work = PerWorker(c.workers.iter().map(|w| w.samples as f64).collect());
            row.rates = PerWorker(c.workers.iter().map(CapacityWorker::rate).collect());
            (None, c.workers.iter().map(|w| w.cpu).collect(), &[][..])
        }
    };
    if let Some(phases) = phases {
        row.spawn_s = Some(phases.spawn_s);
        row.compute_s = Some(phases.compute_s);
        row.reduce_s = Some(phases.reduce_s);
    }
    row.cpus = format_cpus(&cpus);
    row.hosts = hosts.join(";");
    // Ranks on other hosts ran on CPUs this machine's topology does not know.
    let local = hosts.is_empty() || {
        let here = host_name();
        hosts.iter().all(|h| *h == here)
    };
    if local {
        row.core_kinds = format_core_kinds(&cpus, |cpu| topology.kind(cpu));
    }
    row.placement_ok = if hosts.is_empty() {
        placement_ok(asked, workers, &cpus)
    } else {
        mpi_placement_ok(asked, hosts, &cpus)
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{read_summary, Mode};
    use crate::sweep::config::Workers;
    use crate::sweep::plan::plan;
    use piscale_kernels::{BackendKind, Method};

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
            id: &PointId,
            _: Option<&CpuList>,
            _: &RunSpec,
        ) -> Result<Measured, MeasureError> {
            if id.kernel == Kernel::local(BackendKind::PerCore) && id.workers == 3 {
                return Err(MeasureError::Failed(
                    "worker 2 (pid 1) was killed by signal SIGKILL".into(),
                ));
            }
            Ok(Measured {
                detail: Detail::Whole,
                wall_s: fake_time(id.workers),
                estimate: Some(std::f64::consts::PI),
                launch: None,
            })
        }
    }

    #[test]
    fn the_driver_turns_fixed_durations_into_exact_speedups() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("mock");
        let config = SweepConfig {
            methods: vec![Method::Mc],
            backends: vec![
                Kernel::local(BackendKind::Threads),
                Kernel::local(BackendKind::PerCore),
            ],
            modes: vec![Mode::Strong],
            workers: Workers::List(vec![1, 2, 3, 4]),
            samples: 1 << 20,
            reps: 3,
            warmup: 1,
            oversubscribe: true,
            capacity_s: 0.0,
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

        let raw = read_raw(&out.join("raw.csv")).unwrap();
        // serial@1 + threads@1..4 + per-core@1..4, three reps each.
        assert_eq!(raw.len(), 9 * 3);
        assert_eq!(raw.iter().filter(|r| r.status == Status::Failed).count(), 3);
        // Every row is stamped in the one format: RFC 3339 with milliseconds.
        for r in &raw {
            let t = chrono::DateTime::parse_from_rfc3339(&r.timestamp).unwrap();
            assert_eq!(
                r.timestamp,
                t.to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
            );
        }
        let summary = read_summary(&out.join("summary.csv")).unwrap();
        let threads = Kernel::local(BackendKind::Threads);
        for p in 1..=4usize {
            let row = summary
                .iter()
                .find(|r| r.backend == threads && r.workers == p)
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
            .find(|r| r.backend == Kernel::local(BackendKind::PerCore) && r.workers == 3)
            .unwrap();
        assert_eq!((failed.reps, failed.failed, failed.median_s), (0, 3, None));
        assert!(out.join("machine.json").is_file() && out.join("config.toml").is_file());
    }

    /// Records when each kernel is released, in measured repetitions.
    #[derive(Default)]
    struct Releases {
        runs: usize,
        released: Vec<(Kernel, usize, usize)>,
        after_release: Vec<(Kernel, usize)>,
    }

    impl Executor for Releases {
        fn measure(
            &mut self,
            id: &PointId,
            _: Option<&CpuList>,
            _: &RunSpec,
        ) -> Result<Measured, MeasureError> {
            self.runs += 1;
            let key = (id.kernel.clone(), id.workers);
            if self
                .released
                .iter()
                .any(|(k, w, _)| (k, *w) == (&key.0, key.1))
            {
                self.after_release.push(key);
            }
            Ok(Measured {
                detail: Detail::Whole,
                wall_s: 1.0,
                estimate: Some(std::f64::consts::PI),
                launch: None,
            })
        }

        fn release(&mut self, id: &PointId) {
            self.released
                .push((id.kernel.clone(), id.workers, self.runs));
        }
    }

    #[test]
    fn a_pool_is_released_right_after_its_last_run() {
        let dir = tempfile::tempdir().unwrap();
        let config = SweepConfig {
            methods: vec![Method::Mc, Method::Midpoint],
            backends: vec![Kernel::local(BackendKind::PoolMap)],
            workers: Workers::List(vec![1, 2]),
            samples: 1 << 20,
            reps: 3,
            warmup: 0,
            capacity_s: 0.0,
            ..SweepConfig::default()
        };
        let points = plan(&config, 2);
        let placements = vec![None; points.len()];
        let prep = Prepared {
            config,
            out: OutDir(dir.path().join("pools")),
            resume: false,
            force: false,
            points,
            placements,
            usable: 2,
        };
        let mut executor = Releases::default();
        execute_with(prep, vec!["piscale".into()], &mut executor).unwrap();
        // serial@1 and pool-map at 1 and 2 workers, each released once,
        // and never used again; the last one at the very end.
        assert_eq!(executor.released.len(), 3, "{:?}", executor.released);
        assert!(executor.after_release.is_empty());
        assert_eq!(executor.released.last().unwrap().2, executor.runs);
    }
}
