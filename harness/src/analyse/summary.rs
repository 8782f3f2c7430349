//! From raw rows to one [`SummaryRow`] per point: medians, intervals,
//! spread, speed-ups and the figures derived from them.

use std::collections::{BTreeMap, HashSet};

use piscale_kernels::BackendKind;

use super::breakdown::{Breakdown, Timing, Workers};
use super::stats::{self, MedianInterval, CI_CONFIDENCE, NOISY_CV};
use crate::results::{Kernel, Mode, PointId, RawRow, Status, SummaryRow};

/// The kernel whose 1-worker time is the baseline of `speedup_vs_serial`.
const SERIAL: Kernel = Kernel::local(BackendKind::Serial);

/// The repetitions of one point.
#[derive(Debug, Default)]
struct Reps {
    /// Wall times of the successful ones.
    times: Vec<f64>,
    /// Their workers' balanced and longest busy times, where recorded.
    balanced: Vec<f64>,
    max_busy: Vec<f64>,
    failed: usize,
    /// Ones that ran with a wrong answer on purpose (`shm-race`).
    wrong: usize,
    /// Successful ones the noise guard marked disturbed.
    disturbed: usize,
}

impl Reps {
    /// The medians the breakdown needs; `None` without busy times.
    fn timing(&self) -> Option<Timing> {
        Some(Timing {
            wall_s: stats::median(&self.times)?,
            balanced_s: stats::median(&self.balanced)?,
            max_busy_s: stats::median(&self.max_busy)?,
        })
    }
}

/// Summarises raw rows into one row per point, in [`PointId`] order. Each
/// repetition counts once: its first `ok` row with a wall time feeds the
/// timings (and counts in `reps`); a repetition with only failed rows
/// counts in `failed` — one that failed and then succeeded when the sweep
/// was resumed is a success.
pub fn summarize(rows: &[RawRow]) -> Vec<SummaryRow> {
    let succeeded: HashSet<(PointId, u32)> = rows
        .iter()
        .filter(|r| r.ok_wall_s().is_some())
        .map(|r| (r.id(), r.rep))
        .collect();
    let mut counted: HashSet<(PointId, u32)> = HashSet::new();
    let mut points: BTreeMap<PointId, Reps> = BTreeMap::new();
    for row in rows {
        let id = row.id();
        let reps = points.entry(id.clone()).or_default();
        let ok = row.ok_wall_s();
        if ok.is_none() && succeeded.contains(&(id.clone(), row.rep)) {
            continue;
        }
        if !counted.insert((id, row.rep)) {
            continue;
        }
        match ok {
            Some(wall_s) => {
                reps.times.push(wall_s);
                reps.disturbed += usize::from(row.disturbed);
                if let Some(w) = Workers::of(&row.busy_s.0, &row.work.0) {
                    reps.balanced.push(w.balanced_s);
                    reps.max_busy.push(w.max_busy_s);
                }
            }
            None if row.status == Status::Wrong => reps.wrong += 1,
            None => reps.failed += 1,
        }
    }
    let timed: BTreeMap<&PointId, Timed> = points
        .iter()
        .filter_map(|(id, reps)| Some((id, Timed::of(&reps.times)?)))
        .collect();
    points
        .iter()
        .map(|(id, reps)| {
            let of = |id: &PointId, baseline: PointId| {
                let (t1, tp) = (timed.get(&baseline)?, timed.get(id)?);
                Some(if baseline == *id {
                    Speedup::itself()
                } else {
                    Speedup::of(id, t1, tp)
                })
            };
            let speedup = of(id, id.own_baseline());
            let vs_serial = of(id, id.baseline_on(SERIAL));
            let capacity_id = capacity_point(points.keys(), id);
            let capacity = of(&capacity_id, capacity_id.own_baseline()).map(|c| Capacity {
                median: c.median,
                low: c.interval.low,
                high: c.interval.high,
            });
            let breakdown = if id.kernel == Kernel::Capacity {
                None
            } else {
                let baseline = points.get(&id.own_baseline()).and_then(Reps::timing);
                reps.timing().zip(baseline).and_then(|(point, baseline)| {
                    Breakdown::of(
                        &point,
                        &baseline,
                        id.workers,
                        id.mode == Mode::Weak,
                        capacity.as_ref().map(|c| c.median),
                    )
                })
            };
            let mut summary = row(id, reps, speedup, vs_serial.map(|s| s.median));
            explain(&mut summary, capacity, breakdown);
            summary
        })
        .collect()
}

/// The capacity point that explains `id`: the one at its method, mode,
/// workers and work; else — a command with a work of its own — the one
/// with the most work at its method, mode and workers (C(p) does not depend
/// on the work: the capacity computes for a fixed time).
pub fn capacity_point<'a>(ids: impl Iterator<Item = &'a PointId>, id: &PointId) -> PointId {
    let exact = id.capacity_of();
    let mut best: Option<&PointId> = None;
    for c in ids {
        if *c == exact {
            return exact;
        }
        let alike = c.kernel == Kernel::Capacity
            && c.method == id.method
            && c.mode == id.mode
            && c.workers == id.workers;
        if alike && best.is_none_or(|b| c.samples > b.samples) {
            best = Some(c);
        }
    }
    best.cloned().unwrap_or(exact)
}

/// C(p) of a point: the capacity point's speed-up and its interval.
struct Capacity {
    median: f64,
    low: f64,
    high: f64,
}

/// Fills the capacity and breakdown columns of `row`: the capacity for
/// every point at its worker count; the factors where the workers' busy
/// times are known (built-in kernels); S / C(p) wherever both are known.
fn explain(row: &mut SummaryRow, capacity: Option<Capacity>, breakdown: Option<Breakdown>) {
    if let Some(c) = &capacity {
        row.capacity = Some(c.median);
        row.capacity_low = Some(c.low);
        row.capacity_high = Some(c.high);
        if row.backend != Kernel::Capacity {
            row.of_capacity = row.speedup.map(|s| s / c.median);
        }
    }
    if let Some(b) = breakdown {
        row.load_balance = Some(b.load_balance);
        row.overhead_efficiency = Some(b.overhead_efficiency);
        row.computation_scalability = Some(b.computation_scalability);
        row.machine_scalability = b.capacity.map(|c| c.machine);
        row.code_scalability = b.capacity.map(|c| c.code);
    }
}

/// A point's median time and its interval.
struct Timed {
    median: f64,
    interval: MedianInterval,
}

impl Timed {
    fn of(times: &[f64]) -> Option<Timed> {
        Some(Timed {
            median: stats::median(times)?,
            interval: stats::median_interval(times, CI_CONFIDENCE)?,
        })
    }
}

/// A speed-up and its interval.
struct Speedup {
    median: f64,
    interval: MedianInterval,
}

impl Speedup {
    /// Speed-up of `id` (timed `tp`) over a baseline timed `t1`: strong
    /// t1/tp, weak (scaled) p·t1/tp.
    fn of(id: &PointId, t1: &Timed, tp: &Timed) -> Speedup {
        let scale = match id.mode {
            Mode::Strong => 1.0,
            Mode::Weak => id.workers as f64,
        };
        Speedup {
            median: scale * stats::speedup(t1.median, tp.median),
            interval: stats::ratio_interval(&t1.interval, &tp.interval, scale),
        }
    }

    /// A point over itself (the baseline at 1 worker): exactly 1, with no
    /// uncertainty — the same repetitions are on both sides.
    fn itself() -> Speedup {
        Speedup {
            median: 1.0,
            interval: MedianInterval {
                low: 1.0,
                high: 1.0,
                coverage: 1.0,
            },
        }
    }
}

fn row(
    id: &PointId,
    reps: &Reps,
    speedup: Option<Speedup>,
    speedup_vs_serial: Option<f64>,
) -> SummaryRow {
    let times = &reps.times;
    let median = stats::median(times);
    let ci = stats::median_interval(times, CI_CONFIDENCE);
    let cv = stats::cv(times);
    let interval = speedup.as_ref().map(|s| s.interval);
    let speedup = speedup.map(|s| s.median);
    let per_worker = |s: f64| stats::efficiency(s, id.workers);
    SummaryRow {
        method: id.method,
        backend: id.kernel.clone(),
        mode: id.mode,
        workers: id.workers,
        samples: id.samples,
        reps: times.len(),
        failed: reps.failed,
        wrong: reps.wrong,
        median_s: median,
        min_s: stats::min(times),
        max_s: stats::max(times),
        ci_low_s: ci.map(|c| c.low),
        ci_high_s: ci.map(|c| c.high),
        ci_coverage: ci.map(|c| c.coverage),
        cv,
        speedup,
        speedup_low: interval.map(|i| i.low),
        speedup_high: interval.map(|i| i.high),
        speedup_coverage: interval.map(|i| i.coverage),
        speedup_vs_serial,
        efficiency: speedup.map(per_worker),
        efficiency_low: interval.map(|i| per_worker(i.low)),
        efficiency_high: interval.map(|i| per_worker(i.high)),
        karp_flatt: speedup.and_then(|s| stats::karp_flatt(s, id.workers)),
        samples_per_ns_per_core: median.map(|m| id.samples as f64 / m / 1e9 / id.workers as f64),
        noisy: cv.map(|c| c > NOISY_CV),
        disturbed: reps.disturbed,
        capacity: None,
        capacity_low: None,
        capacity_high: None,
        of_capacity: None,
        load_balance: None,
        overhead_efficiency: None,
        computation_scalability: None,
        machine_scalability: None,
        code_scalability: None,
        start: id.kernel.start(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::fixture::{fixture, row as raw_row, N, PER_WORKER};
    use crate::results::summary::summary_csv;
    use crate::results::{read_summary, write_summary, PerWorker};

    fn fixture_summary() -> Vec<SummaryRow> {
        summarize(&fixture())
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() <= 1e-12 * b.abs().max(1.0))
    }

    fn find<'a>(
        summary: &'a [SummaryRow],
        backend: &str,
        mode: Mode,
        workers: usize,
    ) -> &'a SummaryRow {
        summary
            .iter()
            .find(|r| r.backend.name() == backend && r.mode == mode && r.workers == workers)
            .unwrap_or_else(|| panic!("no row for {backend} {mode} {workers}"))
    }

    #[test]
    fn summary_columns_are_the_serialized_fields_in_order() {
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.serialize(&fixture_summary()[0]).unwrap();
        let text = String::from_utf8(csv.into_inner().unwrap()).unwrap();
        assert_eq!(
            text.lines().next(),
            Some(crate::results::summary::SUMMARY_COLUMNS.join(",").as_str())
        );
    }

    #[test]
    fn summary_of_known_times() {
        let summary = fixture_summary();

        let t1 = find(&summary, "threads", Mode::Strong, 1);
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

        let t2 = find(&summary, "threads", Mode::Strong, 2);
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

        let serial = find(&summary, "serial", Mode::Strong, 1);
        assert_eq!(serial.median_s, Some(2.2));
        assert_eq!(serial.speedup_vs_serial, Some(1.0));
        assert_eq!(N, serial.samples);
    }

    #[test]
    fn weak_speedups_are_scaled() {
        let summary = fixture_summary();
        let w2 = find(&summary, "threads", Mode::Weak, 2);
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
        let r2 = find(&summary, "rayon", Mode::Strong, 2);
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
            .filter(|r| !(r.backend == SERIAL && r.mode == Mode::Weak))
            .collect();
        let summary = summarize(&rows);
        let w2 = find(&summary, "threads", Mode::Weak, 2);
        assert!(w2.speedup.is_some());
        assert_eq!(w2.speedup_vs_serial, None);
    }

    #[test]
    fn summary_order_is_method_backend_mode_workers() {
        let order: Vec<(String, Mode, usize)> = fixture_summary()
            .into_iter()
            .map(|r| (r.backend.name().to_owned(), r.mode, r.workers))
            .collect();
        let (s, w) = (Mode::Strong, Mode::Weak);
        let expected = [
            ("serial", s, 1),
            ("serial", w, 1),
            ("threads", s, 1),
            ("threads", s, 2),
            ("threads", w, 1),
            ("threads", w, 2),
            ("rayon", s, 1),
            ("rayon", s, 2),
            ("python-pi1", s, 1),
            ("python-pi1", s, 2),
        ];
        let expected: Vec<(String, Mode, usize)> = expected
            .iter()
            .map(|(b, m, w)| (b.to_string(), *m, *w))
            .collect();
        assert_eq!(order, expected);
    }

    #[test]
    fn a_repetition_counts_once_and_a_retried_one_succeeds() {
        let mut rows = Vec::new();
        for rep in 0..3 {
            let mut r = raw_row("threads", Mode::Strong, 2, N, 1.0 + f64::from(rep));
            r.rep = rep;
            rows.push(r);
        }
        // Rep 1 had failed before a resume measured it again; rep 3 failed
        // twice (two resumes); rep 0 is in the file twice.
        let mut early = crate::results::fixture::failed(rows[1].clone());
        early.rep = 1;
        rows.insert(0, early);
        let mut lost = crate::results::fixture::failed(rows[0].clone());
        lost.rep = 3;
        rows.push(lost.clone());
        rows.push(lost);
        rows.push(rows[1].clone());
        let summary = summarize(&rows);
        assert_eq!(summary.len(), 1);
        assert_eq!((summary[0].reps, summary[0].failed), (3, 1));
        assert_eq!(summary[0].median_s, Some(2.0));
    }

    /// Three identical repetitions of `backend` at `workers`, each worker
    /// busy for `busy` seconds.
    fn busy_reps(backend: &str, workers: usize, wall_s: f64, busy: &[f64]) -> Vec<RawRow> {
        (0..3)
            .map(|_| {
                let mut r = raw_row(backend, Mode::Strong, workers, N, wall_s);
                r.busy_s = PerWorker(busy.to_vec());
                r
            })
            .collect()
    }

    #[test]
    fn every_point_is_explained_against_the_capacity_and_the_factors_multiply_exactly() {
        let mut rows = Vec::new();
        // The capacity: its 1-worker rate gives N in 1.0 s, its 2-worker
        // aggregate in 0.55 s, so C(2) = 1/0.55.
        rows.extend(busy_reps("capacity", 1, 1.0, &[0.2]));
        rows.extend(busy_reps("capacity", 2, 0.55, &[0.2, 0.2]));
        rows.extend(busy_reps("threads", 1, 2.1, &[2.0]));
        rows.extend(busy_reps("threads", 2, 1.2, &[1.0, 1.1]));
        rows.extend(busy_reps("python-pi1", 1, 40.0, &[]));
        rows.extend(busy_reps("python-pi1", 2, 24.0, &[]));
        let summary = summarize(&crate::results::fixture::numbered(rows));

        let c2 = find(&summary, "capacity", Mode::Strong, 2);
        assert!(close(c2.capacity, 1.0 / 0.55));
        assert_eq!(c2.capacity, c2.speedup);
        assert_eq!(
            (c2.capacity_low, c2.capacity_high),
            (c2.speedup_low, c2.speedup_high)
        );
        assert_eq!((c2.of_capacity, c2.load_balance), (None, None));

        let t2 = find(&summary, "threads", Mode::Strong, 2);
        let s = 2.1 / 1.2;
        let c = 1.0 / 0.55;
        assert!(close(t2.speedup, s));
        assert!(close(t2.capacity, c));
        assert!(close(t2.of_capacity, s / c));
        // Equal shares (no work recorded) done in 1.0 and 1.1 s: spread so
        // that both finish together, they take 2 / (1/1.0 + 1/1.1) s.
        let balanced = 2.0 / (1.0 + 1.0 / 1.1);
        assert!(close(t2.load_balance, balanced / 1.1));
        assert!(close(t2.overhead_efficiency, (1.1 / 1.2) / (2.0 / 2.1)));
        assert!(close(t2.computation_scalability, 2.0 / (2.0 * balanced)));
        assert!(close(t2.machine_scalability, c / 2.0));
        let f = |x: Option<f64>| x.unwrap();
        let product = f(t2.load_balance)
            * f(t2.overhead_efficiency)
            * f(t2.machine_scalability)
            * f(t2.code_scalability);
        assert!(close(Some(product), f(t2.efficiency)));
        let of_capacity = f(t2.load_balance) * f(t2.overhead_efficiency) * f(t2.code_scalability);
        assert!(close(Some(of_capacity), f(t2.of_capacity)));

        // One worker loses nothing; a command has no busy times, only S/C.
        let t1 = find(&summary, "threads", Mode::Strong, 1);
        assert_eq!(
            (t1.load_balance, t1.overhead_efficiency, t1.capacity),
            (Some(1.0), Some(1.0), Some(1.0))
        );
        let py = find(&summary, "python-pi1", Mode::Strong, 2);
        assert!(close(py.of_capacity, (40.0 / 24.0) / c));
        assert_eq!((py.load_balance, py.code_scalability), (None, None));
    }

    #[test]
    fn a_command_with_a_work_of_its_own_is_explained_by_the_capacity_at_its_workers() {
        let mut rows = Vec::new();
        rows.extend(busy_reps("capacity", 1, 1.0, &[0.2]));
        rows.extend(busy_reps("capacity", 2, 0.55, &[0.2, 0.2]));
        for workers in [1, 2] {
            for _ in 0..3 {
                rows.push(raw_row(
                    "pi1.py",
                    Mode::Strong,
                    workers,
                    8_000_000,
                    2.0 / workers as f64,
                ));
            }
        }
        let summary = summarize(&crate::results::fixture::numbered(rows));
        let py = summary
            .iter()
            .find(|r| r.backend.name() == "pi1.py" && r.workers == 2)
            .unwrap();
        assert!(close(py.capacity, 1.0 / 0.55));
        assert!(close(py.of_capacity, 2.0 * 0.55));
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
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["summary.csv"]);
    }
}
