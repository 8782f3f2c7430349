//! `piscale compare BASE NEW`: the CI gate. Did this change make any point
//! slower?
//!
//! Points are matched by their [`PointId`] between the `raw.csv` of two
//! sweep folders, using their `ok` repetitions. For each shared point the
//! ratio NEW/BASE of the median wall times gets an interval from the two
//! medians' order-statistic intervals (see [`stats::ratio_interval`]): with
//! 3 repetitions a side, from NEW's fastest over BASE's slowest to NEW's
//! slowest over BASE's fastest.
//!
//! Two sweeps of the same code on a shared VM differ by more than their
//! repetitions do: the whole machine runs faster or slower from one minute
//! to the next (other tenants, vCPUs on busier cores). That *drift* moves
//! every point alike, so it is measured as the median of all the points'
//! ratios (with at least [`DRIFT_MIN_POINTS`] shared points; a change that
//! slows a minority of points barely moves a median) and divided out: a
//! point is a *regression* when its whole interval, over the drift, lies
//! above `1 + threshold/100`, and *faster* when it lies below
//! `1 / (1 + threshold/100)`. A drift itself beyond
//! [`GLOBAL_THRESHOLD_PCT`] fails the comparison as a regression of the
//! whole run: more than the machine's own drift (measured on the
//! development VM: see `scripts/gate-check.sh`), it is a change that slowed
//! every point, or a slower machine.
//!
//! A point that would regress while more than half of its repetitions in
//! one of the runs were marked disturbed by the noise guard
//! (`measure::disturbance`) gets no verdict ([`Verdict::Disturbed`]), not a
//! failure: the machine, not the code, is what they measured. (Leaving the
//! disturbed repetitions out instead would shrink the intervals' sample and
//! make false alarms likelier.)
//!
//! This module only decides; `present::compare` writes the markdown.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::stats::{self, CI_CONFIDENCE};
use crate::error::UsageError;
use crate::results::{read_raw, Machine, OutDir, PointId};

/// The fewest shared points from which the machine's drift is estimated;
/// with fewer, ratios are taken as they are.
pub const DRIFT_MIN_POINTS: usize = 5;

/// A drift (every point slower alike) beyond this many percent is a
/// regression of the whole run.
pub const GLOBAL_THRESHOLD_PCT: f64 = 25.0;

/// What the comparison says about one shared point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::Display)]
#[strum(serialize_all = "kebab-case")]
pub enum Verdict {
    /// Within noise or within the threshold.
    Ok,
    /// The whole interval lies above 1 + threshold.
    Regression,
    /// The whole interval lies below 1 / (1 + threshold).
    Faster,
    /// It would be a regression, but the noise guard found most repetitions
    /// of the point disturbed in one of the runs: no verdict.
    Disturbed,
}

/// One point measured in both runs.
#[derive(Debug, Clone, PartialEq)]
pub struct PointComparison {
    /// The point.
    pub id: PointId,
    /// Successful repetitions in the base run.
    pub base_reps: usize,
    /// Successful repetitions in the new run.
    pub new_reps: usize,
    /// Median wall time in the base run, seconds.
    pub base_median_s: f64,
    /// Median wall time in the new run, seconds.
    pub new_median_s: f64,
    /// `new_median_s / base_median_s`: above 1 is slower.
    pub ratio: f64,
    /// The ratio's interval (before the drift is divided out).
    pub ci: (f64, f64),
    /// A lower bound of the probability that `ci` holds the true ratio.
    pub coverage: f64,
    /// Most repetitions of the point were disturbed in one of the runs.
    pub disturbed: bool,
    /// What that means, given the threshold and the drift.
    pub verdict: Verdict,
}

/// A point measured in one run only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    /// The point.
    pub id: PointId,
    /// The other run has the point, but every repetition of it failed.
    pub failed_in_other: bool,
}

/// The comparison of two sweeps (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The base folder, as given.
    pub base: PathBuf,
    /// The new folder, as given.
    pub new: PathBuf,
    /// The threshold, percent.
    pub threshold_pct: f64,
    /// Shared points, in [`PointId`] order.
    pub points: Vec<PointComparison>,
    /// Points only the base run measured successfully.
    pub only_base: Vec<Unmatched>,
    /// Points only the new run measured successfully.
    pub only_new: Vec<Unmatched>,
    /// The machine's drift: the median of the shared points' ratios, which
    /// every verdict is relative to (1 with fewer than
    /// [`DRIFT_MIN_POINTS`] points).
    pub drift: f64,
    /// The drift's own interval (order statistics of the points' ratios),
    /// shown beside it: how sure the median of the ratios is.
    pub drift_interval: (f64, f64),
    /// Reasons to read the ratios with care (different machines, a
    /// missing machine.json).
    pub warnings: Vec<String>,
    /// Each run's machine, from machine.json.
    pub base_machine: Option<Machine>,
    /// See `base_machine`.
    pub new_machine: Option<Machine>,
}

/// Compares the sweep in `new` against the one in `base` (see the module
/// documentation). A missing or unreadable `raw.csv`, a bad threshold, or
/// two runs with no point in common are a [`UsageError`] (exit status 2).
pub fn compare(base: &Path, new: &Path, threshold_pct: f64) -> Result<Comparison> {
    if !threshold_pct.is_finite() || threshold_pct < 0.0 {
        return Err(UsageError::flag(
            "--threshold",
            format!("must be a percentage of 0 or more, got {threshold_pct}"),
        )
        .into());
    }
    let base_run = Run::read(base)?;
    let new_run = Run::read(new)?;
    let limit = 1.0 + threshold_pct / 100.0;
    let mut points: Vec<PointComparison> = base_run
        .times
        .iter()
        .filter_map(|(id, base_times)| {
            let new_times = new_run.times.get(id)?;
            let mut p = compare_point(id, base_times, new_times);
            p.disturbed = base_run.disturbed.contains(id) || new_run.disturbed.contains(id);
            Some(p)
        })
        .collect();
    let (drift, drift_interval) = drift(&points);
    for p in &mut points {
        p.verdict = match verdict(p.ci, drift, limit) {
            Verdict::Regression if p.disturbed => Verdict::Disturbed,
            v => v,
        };
    }
    if points.is_empty() {
        return Err(UsageError(format!(
            "nothing to compare: no point of {} ({} measured) was measured in {} ({}); \
             compare sweeps of the same methods, backends, modes, workers and samples",
            base.display(),
            base_run.times.len(),
            new.display(),
            new_run.times.len(),
        ))
        .into());
    }
    Ok(Comparison {
        base: base.to_path_buf(),
        new: new.to_path_buf(),
        threshold_pct,
        points,
        drift,
        drift_interval,
        only_base: base_run.unmatched(&new_run),
        only_new: new_run.unmatched(&base_run),
        warnings: machine_warning(base, &base_run, new, &new_run)
            .into_iter()
            .collect(),
        base_machine: base_run.machine,
        new_machine: new_run.machine,
    })
}

/// One shared point: medians and the ratio's interval (the verdict comes
/// once the drift is known).
fn compare_point(id: &PointId, base: &[f64], new: &[f64]) -> PointComparison {
    // Both lists hold at least one time: only points with one are kept.
    let b = stats::median(base).unwrap_or(f64::NAN);
    let n = stats::median(new).unwrap_or(f64::NAN);
    let interval = stats::median_interval(base, CI_CONFIDENCE)
        .zip(stats::median_interval(new, CI_CONFIDENCE))
        .map(|(b, n)| stats::ratio_interval(&n, &b, 1.0));
    PointComparison {
        id: id.clone(),
        base_reps: base.len(),
        new_reps: new.len(),
        base_median_s: b,
        new_median_s: n,
        ratio: n / b,
        ci: interval.map_or((f64::NAN, f64::NAN), |i| (i.low, i.high)),
        coverage: interval.map_or(0.0, |i| i.coverage),
        disturbed: false,
        verdict: Verdict::Ok,
    }
}

/// The machine's drift between the two runs, the median ratio of the
/// shared points, and its interval; exactly 1 with too few points to tell
/// drift from change.
fn drift(points: &[PointComparison]) -> (f64, (f64, f64)) {
    let ratios: Vec<f64> = points
        .iter()
        .map(|p| p.ratio)
        .filter(|r| r.is_finite() && *r > 0.0)
        .collect();
    if ratios.len() < DRIFT_MIN_POINTS {
        return (1.0, (1.0, 1.0));
    }
    let median = stats::median(&ratios).unwrap_or(1.0);
    let interval = stats::median_interval(&ratios, CI_CONFIDENCE)
        .map_or((median, median), |i| (i.low, i.high));
    (median, interval)
}

/// A point's verdict: its interval, over the drift, against `limit`.
fn verdict(ci: (f64, f64), drift: f64, limit: f64) -> Verdict {
    if ci.0 / drift > limit {
        Verdict::Regression
    } else if ci.1 / drift < 1.0 / limit {
        Verdict::Faster
    } else {
        Verdict::Ok
    }
}

impl Comparison {
    /// Whether any shared point is a [`Verdict::Regression`], or the whole
    /// run drifted past [`GLOBAL_THRESHOLD_PCT`].
    pub fn has_regression(&self) -> bool {
        self.regressions().next().is_some() || self.global_regression()
    }

    /// Whether every point got slower alike, by more than a machine drifts.
    pub fn global_regression(&self) -> bool {
        self.drift > 1.0 + GLOBAL_THRESHOLD_PCT / 100.0
    }

    /// The regressed points.
    pub fn regressions(&self) -> impl Iterator<Item = &PointComparison> {
        self.points
            .iter()
            .filter(|p| p.verdict == Verdict::Regression)
    }
}

/// One sweep folder, as the comparison needs it.
#[derive(Debug)]
struct Run {
    /// Wall times of the ok repetitions of each point that has any.
    times: BTreeMap<PointId, Vec<f64>>,
    /// Points more than half of whose ok repetitions the noise guard marked
    /// disturbed.
    disturbed: Vec<PointId>,
    /// Points whose every repetition failed.
    all_failed: Vec<PointId>,
    machine: Option<Machine>,
}

impl Run {
    fn read(dir: &Path) -> Result<Run> {
        let out = OutDir(dir.to_path_buf());
        let path = out.raw();
        if !path.is_file() {
            return Err(UsageError(format!(
                "{}: no such file (is {} the output folder of a piscale sweep?)",
                path.display(),
                dir.display()
            ))
            .into());
        }
        let rows = read_raw(&path).map_err(|e| UsageError(format!("{e:#}")))?;
        let mut times: BTreeMap<PointId, Vec<f64>> = BTreeMap::new();
        let mut marked: BTreeMap<PointId, usize> = BTreeMap::new();
        let mut seen: Vec<PointId> = Vec::new();
        for row in &rows {
            match row.ok_wall_s() {
                Some(t) => {
                    times.entry(row.id()).or_default().push(t);
                    *marked.entry(row.id()).or_default() += usize::from(row.disturbed);
                }
                None => seen.push(row.id()),
            }
        }
        // Mostly disturbed: more than half its repetitions.
        let disturbed = marked
            .into_iter()
            .filter(|(id, n)| 2 * n > times.get(id).map_or(0, Vec::len))
            .map(|(id, _)| id)
            .collect();
        let mut all_failed: Vec<PointId> = seen
            .into_iter()
            .filter(|id| !times.contains_key(id))
            .collect();
        all_failed.sort();
        all_failed.dedup();
        let machine_path = out.machine();
        let machine = machine_path
            .is_file()
            .then(|| Machine::read_json(&machine_path).ok())
            .flatten();
        Ok(Run {
            times,
            disturbed,
            all_failed,
            machine,
        })
    }

    /// This run's points the other did not measure successfully.
    fn unmatched(&self, other: &Run) -> Vec<Unmatched> {
        self.times
            .keys()
            .filter(|id| !other.times.contains_key(*id))
            .map(|id| Unmatched {
                id: id.clone(),
                failed_in_other: other.all_failed.contains(id),
            })
            .collect()
    }
}

/// A warning when the two runs did not run on the same machine (CPU model
/// or host name differ), or when one cannot tell.
fn machine_warning(base: &Path, base_run: &Run, new: &Path, new_run: &Run) -> Option<String> {
    let (b, n) = match (&base_run.machine, &new_run.machine) {
        (Some(b), Some(n)) => (b, n),
        (b, _) => {
            let missing = if b.is_none() { base } else { new };
            return Some(format!(
                "{} has no readable machine.json: cannot tell whether both runs used the \
                 same machine",
                missing.display()
            ));
        }
    };
    let facts = |m: &Machine| {
        [
            ("cpu_model", m.cpu_model.as_ref().map(|s| format!("{s:?}"))),
            ("hostname", m.hostname.as_ref().map(|s| format!("{s:?}"))),
            (
                "usable_cpu_count",
                m.usable_cpu_count.map(|n| n.to_string()),
            ),
        ]
    };
    let (fb, f_n) = (facts(b), facts(n));
    let differences: Vec<String> = fb
        .iter()
        .zip(&f_n)
        .filter(|(x, y)| x.1 != y.1)
        .map(|((key, x), (_, y))| {
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".into());
            format!("{key} {} vs {}", show(x), show(y))
        })
        .collect();
    let same_machine = fb[..2] == f_n[..2];
    (!same_machine).then(|| {
        format!(
            "base and new ran on different machines ({}): the ratios compare the machines \
             as well as the code",
            differences.join("; ")
        )
    })
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::present::compare::markdown;
    use crate::present::report::tests::{write_sweep, MACHINE};
    use crate::results::fixture::{failed, row};
    use crate::results::{Kernel, Mode, RawRow};
    use piscale_kernels::BackendKind;

    const MODE_STRONG: Mode = Mode::Strong;
    const THREADS: Kernel = Kernel::local(BackendKind::Threads);

    const N: u64 = 1 << 24;
    /// Five repetitions around 1: enough for an interval with some width.
    const JITTER: [f64; 5] = [1.00, 1.03, 0.98, 1.01, 0.97];

    /// mc strong: serial at 1, threads and fork-pipe at 1 and 2 workers;
    /// `slow` multiplies one backend's times.
    fn sweep(slow: Option<(&str, f64)>) -> Vec<RawRow> {
        let mut rows = Vec::new();
        for (backend, p, t) in [
            ("serial", 1, 0.010),
            ("threads", 1, 0.010),
            ("threads", 2, 0.0052),
            ("fork-pipe", 1, 0.011),
            ("fork-pipe", 2, 0.0065),
        ] {
            let factor = match slow {
                Some((b, f)) if b == backend => f,
                _ => 1.0,
            };
            for (rep, j) in JITTER.iter().enumerate() {
                let mut r = row(backend, MODE_STRONG, p, N, t * j * factor);
                r.rep = rep as u32;
                rows.push(r);
            }
        }
        rows
    }

    fn folders(
        base: &[RawRow],
        new: &[RawRow],
        new_machine: &str,
    ) -> (tempfile::TempDir, tempfile::TempDir) {
        let (b, n) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write_sweep(b.path(), base, Some(MACHINE));
        write_sweep(n.path(), new, Some(new_machine));
        (b, n)
    }

    #[test]
    fn planted_slowdown_of_one_backend_is_a_regression() {
        let (b, n) = folders(&sweep(None), &sweep(Some(("threads", 2.0))), MACHINE);
        let c = compare(b.path(), n.path(), 10.0).unwrap();
        assert!(c.has_regression());
        let regressed: Vec<&PointComparison> = c.regressions().collect();
        assert_eq!(regressed.len(), 2, "{regressed:?}");
        for p in &regressed {
            assert_eq!(p.id.kernel, THREADS);
            assert!((p.ratio - 2.0).abs() < 1e-9, "{p:?}");
            assert!(p.ci.0 > 1.1 && p.ci.0 <= 2.0 && p.ci.1 >= 2.0, "{p:?}");
        }
        assert!(c
            .points
            .iter()
            .filter(|p| p.id.kernel != THREADS)
            .all(|p| p.verdict == Verdict::Ok));
        let md = markdown(&c);
        assert!(md.contains("**2 regressions** in 5 shared points: mc, threads, strong, 1 worker, N = 2^24 (2.00×); mc, threads, strong, 2 workers"), "{md}");
        let line = md
            .lines()
            .find(|l| l.contains("| regression |"))
            .expect("a regression row");
        assert!(line.contains("| threads "), "{line}");
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    /// Every time of a sweep scaled by `factor` (the machine's drift).
    fn drifted(rows: Vec<RawRow>, factor: f64) -> Vec<RawRow> {
        rows.into_iter()
            .map(|mut r| {
                r.wall_s = r.wall_s.map(|t| t * factor);
                r
            })
            .collect()
    }

    #[test]
    fn a_machine_drift_is_no_regression_but_a_slow_backend_on_it_is() {
        // The whole new sweep 12 % slower: beyond a 5 % threshold, but every
        // point alike, so it is the machine.
        let (b, n) = folders(&sweep(None), &drifted(sweep(None), 1.12), MACHINE);
        let c = compare(b.path(), n.path(), 5.0).unwrap();
        assert!((c.drift - 1.12).abs() < 1e-9, "{}", c.drift);
        assert!(!c.has_regression(), "{:?}", c.points);
        assert!(markdown(&c).contains("Drift: the new sweep took 1.12× the base's time"));
        // On that drift, threads twice as slow still stands out.
        let (b, n) = folders(
            &sweep(None),
            &drifted(sweep(Some(("threads", 2.0))), 1.12),
            MACHINE,
        );
        let c = compare(b.path(), n.path(), 5.0).unwrap();
        let regressed: Vec<_> = c.regressions().map(|p| p.id.kernel.clone()).collect();
        assert_eq!(regressed, [THREADS, THREADS]);
        assert!(!c.global_regression());
    }

    #[test]
    fn a_slow_point_whose_every_repetition_was_disturbed_gets_no_verdict() {
        // threads twice as slow, but the noise guard marked all its runs.
        let marked = |rows: Vec<RawRow>, keep_one_clean: bool| -> Vec<RawRow> {
            let mut clean_left = keep_one_clean;
            rows.into_iter()
                .map(|mut r| {
                    if r.backend == THREADS {
                        r.disturbed = !std::mem::take(&mut clean_left);
                    }
                    r
                })
                .collect()
        };
        let slow = sweep(Some(("threads", 2.0)));
        let (b, n) = folders(&sweep(None), &marked(slow.clone(), false), MACHINE);
        let c = compare(b.path(), n.path(), 10.0).unwrap();
        assert!(!c.has_regression(), "{:?}", c.points);
        let threads: Vec<_> = c.points.iter().filter(|p| p.id.kernel == THREADS).collect();
        assert!(threads
            .iter()
            .all(|p| p.disturbed && p.verdict == Verdict::Disturbed));
        assert!(markdown(&c).contains("2 points without a verdict"));
        // One clean repetition of three is not enough to clear it either;
        // the slow-down itself is still in the table.
        let (b, n) = folders(&sweep(None), &marked(slow, true), MACHINE);
        let c = compare(b.path(), n.path(), 10.0).unwrap();
        assert_eq!(c.regressions().count(), 0);
        assert!(c.points.iter().any(|p| p.ratio > 1.9));
    }

    #[test]
    fn every_point_slower_past_the_global_threshold_is_a_regression() {
        let (b, n) = folders(&sweep(None), &drifted(sweep(None), 1.4), MACHINE);
        let c = compare(b.path(), n.path(), 5.0).unwrap();
        assert!(c.global_regression() && c.has_regression());
        assert_eq!(
            c.regressions().count(),
            0,
            "no point stands out of the drift"
        );
        assert!(markdown(&c).contains("**Every point is slower: the new sweep took 1.40×"));
    }

    #[test]
    fn identical_runs_have_no_regression() {
        let (b, n) = folders(&sweep(None), &sweep(None), MACHINE);
        let c = compare(b.path(), n.path(), 10.0).unwrap();
        assert!(!c.has_regression());
        assert_eq!(c.points.len(), 5);
        for p in &c.points {
            assert_eq!(p.verdict, Verdict::Ok);
            assert_eq!(p.ratio, 1.0);
            assert!(p.ci.0 < 1.0 && 1.0 < p.ci.1, "{p:?}");
        }
        assert!(c.only_base.is_empty() && c.only_new.is_empty());
        assert!(markdown(&c).contains("**No regression** in 5 shared points."));
        // Deterministic: the same folders give the same intervals.
        assert_eq!(compare(b.path(), n.path(), 10.0).unwrap(), c);
    }

    #[test]
    fn faster_needs_the_whole_interval_below_the_threshold() {
        let (b, n) = folders(&sweep(None), &sweep(Some(("fork-pipe", 0.5))), MACHINE);
        let c = compare(b.path(), n.path(), 10.0).unwrap();
        assert!(!c.has_regression());
        let faster: Vec<&str> = c
            .points
            .iter()
            .filter(|p| p.verdict == Verdict::Faster)
            .map(|p| p.id.kernel.name())
            .collect();
        assert_eq!(faster, ["fork-pipe", "fork-pipe"]);
        // A threshold wider than the change: nothing to report.
        let c = compare(b.path(), n.path(), 150.0).unwrap();
        assert!(c.points.iter().all(|p| p.verdict == Verdict::Ok));
    }

    #[test]
    fn disjoint_runs_are_a_usage_error() {
        let mut other = sweep(None);
        for r in &mut other {
            r.samples *= 2;
        }
        let (b, n) = folders(&sweep(None), &other, MACHINE);
        let err = compare(b.path(), n.path(), 10.0).unwrap_err();
        let usage = err.downcast_ref::<UsageError>().expect("a usage error");
        assert!(usage.0.contains("nothing to compare"), "{usage}");
    }

    #[test]
    fn a_missing_file_is_a_usage_error_naming_it() {
        let (b, _) = folders(&sweep(None), &sweep(None), MACHINE);
        let empty = tempfile::tempdir().unwrap();
        let err = compare(b.path(), empty.path(), 10.0).unwrap_err();
        let usage = err.downcast_ref::<UsageError>().expect("a usage error");
        let raw = empty.path().join("raw.csv");
        assert!(usage.0.contains(&raw.display().to_string()), "{usage}");
        // An unreadable one too.
        fs::write(&raw, "not,a,raw,file\n").unwrap();
        let err = compare(b.path(), empty.path(), 10.0).unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some(), "{err:#}");
        let err = compare(b.path(), b.path(), -1.0).unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some(), "{err:#}");
    }

    #[test]
    fn different_machines_warn() {
        let other = MACHINE
            .replace("AMD EPYC 7B13", "Intel Xeon Gold 6338")
            .replace("ci-runner", "laptop");
        let (b, n) = folders(&sweep(None), &sweep(None), &other);
        let c = compare(b.path(), n.path(), 10.0).unwrap();
        assert_eq!(c.warnings.len(), 1);
        assert!(c.warnings[0].contains("different machines"));
        assert!(c.warnings[0].contains("\"AMD EPYC 7B13\" vs \"Intel Xeon Gold 6338\""));
        assert!(markdown(&c).contains("> **Warning:** base and new ran on different machines"));
        fs::remove_file(n.path().join("machine.json")).unwrap();
        let c = compare(b.path(), n.path(), 10.0).unwrap();
        assert!(
            c.warnings[0].contains("no readable machine.json"),
            "{:?}",
            c.warnings
        );
    }

    #[test]
    fn points_in_one_run_only_are_listed() {
        let mut new = sweep(Some(("threads", 2.0)));
        new.retain(|r| !(r.backend.name() == "fork-pipe" && r.workers == 2));
        new.push(failed(row("fork-pipe", MODE_STRONG, 2, N, 0.0)));
        let mut extra = row("per-core", MODE_STRONG, 2, N, 0.005);
        extra.rep = 0;
        new.push(extra);
        let (b, n) = folders(&sweep(None), &new, MACHINE);
        let c = compare(b.path(), n.path(), 10.0).unwrap();
        assert_eq!(c.points.len(), 4);
        assert_eq!(
            c.only_base,
            vec![Unmatched {
                id: row("fork-pipe", MODE_STRONG, 2, N, 0.0).id(),
                failed_in_other: true,
            }]
        );
        assert_eq!(c.only_new.len(), 1);
        assert_eq!(c.only_new[0].id.kernel.name(), "per-core");
        let md = markdown(&c)
            .replace(&b.path().display().to_string(), "BASE")
            .replace(&n.path().display().to_string(), "NEW");
        insta::assert_snapshot!(md);
    }
}
