//! `piscale compare BASE NEW`: the CI gate. Did this change make any point
//! slower?
//!
//! Points are matched by (method, backend, mode, workers, samples) between
//! the `raw.csv` of two sweep folders, using their `ok` repetitions. For
//! each shared point the ratio NEW/BASE of the median wall times gets a
//! percentile-bootstrap 95 % confidence interval, both sides resampled
//! independently from a fixed seed (so the verdict is the same on every
//! run). A point is a *regression* when the whole interval lies above
//! `1 + threshold/100`, *faster* when it lies below `1 / (1 + threshold/100)`
//! (the same factor the other way), and *ok* otherwise: noise alone should
//! not fail a build, and neither should a slow-down smaller than the
//! threshold.
//!
//! ```no_run
//! # use std::path::Path;
//! let c = compare(Path::new("baseline"), Path::new("target/ci-scaling"), 10.0)?;
//! println!("{}", c.markdown());
//! std::process::exit(if c.has_regression() { 1 } else { 0 });
//! # anyhow::Ok(())
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use piscale_kernels::BackendKind;
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde_json::Value;

use super::report::doc::{code, strong, text, Block, Inline, Table};
use super::report::{format, markdown};
use crate::config::UsageError;
use crate::sweep::machine::read_machine;
use crate::sweep::rows::{read_raw, RawRow, CI_CONFIDENCE, CI_RESAMPLES};
use crate::sweep::stats;

/// Seed of the bootstrap: fixed, so a comparison always gives one answer.
const SEED: u64 = 0x0070_6973_6361_6c65; // "piscale"

/// A measured point: what was run, at what size.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PointKey {
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
}

impl PointKey {
    fn of(row: &RawRow) -> PointKey {
        PointKey {
            method: row.method.clone(),
            backend: row.backend.clone(),
            mode: row.mode.clone(),
            workers: row.workers,
            samples: row.samples,
        }
    }

    /// `mc, threads, strong, 2 workers, N = 2^24`.
    pub fn describe(&self) -> String {
        format!(
            "{}, {}, {}, {} worker{}, N = {}",
            self.method,
            self.backend,
            self.mode,
            self.workers,
            if self.workers == 1 { "" } else { "s" },
            format::work(self.samples)
        )
    }

    /// Report order: method, backend (library backends in `piscale list`
    /// order, then command kernels by name), mode, workers, samples.
    fn order(&self) -> (&str, usize, &str, &str, usize, u64) {
        let rank = BackendKind::ALL
            .iter()
            .position(|b| b.name() == self.backend)
            .unwrap_or(BackendKind::ALL.len());
        (
            &self.method,
            rank,
            &self.backend,
            &self.mode,
            self.workers,
            self.samples,
        )
    }
}

/// What the comparison says about one shared point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within noise or within the threshold.
    Ok,
    /// The whole interval lies above 1 + threshold.
    Regression,
    /// The whole interval lies below 1 / (1 + threshold).
    Faster,
}

impl Verdict {
    /// `ok`, `regression`, `faster`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Regression => "regression",
            Verdict::Faster => "faster",
        }
    }
}

/// One point measured in both runs.
#[derive(Debug, Clone, PartialEq)]
pub struct PointComparison {
    /// The point.
    pub key: PointKey,
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
    /// Bootstrap 95 % confidence interval of the ratio.
    pub ci: (f64, f64),
    /// What that means, given the threshold.
    pub verdict: Verdict,
}

/// A point measured in one run only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    /// The point.
    pub key: PointKey,
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
    /// Shared points, in report order.
    pub points: Vec<PointComparison>,
    /// Points only the base run measured successfully.
    pub only_base: Vec<Unmatched>,
    /// Points only the new run measured successfully.
    pub only_new: Vec<Unmatched>,
    /// Reasons to read the ratios with care (different machines, a
    /// missing machine.json).
    pub warnings: Vec<String>,
    /// One line on each run's machine and build, from machine.json.
    base_about: Option<String>,
    new_about: Option<String>,
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

    let mut points = Vec::new();
    for (key, base_times) in &base_run.times {
        let Some(new_times) = new_run.times.get(key) else {
            continue;
        };
        let (Some(b), Some(n)) = (stats::median(base_times), stats::median(new_times)) else {
            continue;
        };
        let ratio = n / b;
        let ci = ratio_ci(base_times, new_times, CI_RESAMPLES, CI_CONFIDENCE, SEED);
        let verdict = if ci.0 > limit {
            Verdict::Regression
        } else if ci.1 < 1.0 / limit {
            Verdict::Faster
        } else {
            Verdict::Ok
        };
        points.push(PointComparison {
            key: key.clone(),
            base_reps: base_times.len(),
            new_reps: new_times.len(),
            base_median_s: b,
            new_median_s: n,
            ratio,
            ci,
            verdict,
        });
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
    points.sort_by(|a, b| a.key.order().cmp(&b.key.order()));

    let mut warnings = Vec::new();
    warnings.extend(machine_warning(base, &base_run, new, &new_run));
    Ok(Comparison {
        base: base.to_path_buf(),
        new: new.to_path_buf(),
        threshold_pct,
        points,
        only_base: base_run.unmatched(&new_run),
        only_new: new_run.unmatched(&base_run),
        warnings,
        base_about: base_run.machine.as_ref().map(about),
        new_about: new_run.machine.as_ref().map(about),
    })
}

impl Comparison {
    /// Whether any shared point is a [`Verdict::Regression`].
    pub fn has_regression(&self) -> bool {
        self.regressions().next().is_some()
    }

    /// The regressed points.
    pub fn regressions(&self) -> impl Iterator<Item = &PointComparison> {
        self.points
            .iter()
            .filter(|p| p.verdict == Verdict::Regression)
    }

    /// The comparison as GitHub-flavoured markdown (a level-2 heading, so
    /// it can follow `report.md` in a CI job summary): the two runs,
    /// warnings, the verdict, the table of shared points, and the points
    /// only one run has.
    pub fn markdown(&self) -> String {
        let mut blocks = vec![Block::Heading(2, "piscale compare".into())];
        let run = |label: &str, dir: &Path, about: &Option<String>| {
            let mut line = vec![strong(label), text(" "), code(dir.display().to_string())];
            if let Some(about) = about {
                line.push(text(format!(" — {about}")));
            }
            Block::Para(line)
        };
        blocks.push(run("Base:", &self.base, &self.base_about));
        blocks.push(run("New:", &self.new, &self.new_about));
        for warning in &self.warnings {
            blocks.push(Block::Callout(vec![
                strong("Warning:"),
                text(format!(" {warning}")),
            ]));
        }

        let limit = 1.0 + self.threshold_pct / 100.0;
        let regressions: Vec<&PointComparison> = self.regressions().collect();
        let faster = self
            .points
            .iter()
            .filter(|p| p.verdict == Verdict::Faster)
            .count();
        let shared = self.points.len();
        let mut verdict: Vec<Inline> = vec![if regressions.is_empty() {
            strong("No regression")
        } else {
            strong(format!(
                "{} regression{}",
                regressions.len(),
                if regressions.len() == 1 { "" } else { "s" }
            ))
        }];
        verdict.push(text(format!(
            " in {shared} shared point{}{}",
            if shared == 1 { "" } else { "s" },
            if faster > 0 {
                format!(" ({faster} faster)")
            } else {
                String::new()
            }
        )));
        if regressions.is_empty() {
            verdict.push(text("."));
        } else {
            let list: Vec<String> = regressions
                .iter()
                .map(|p| format!("{} ({})", p.key.describe(), format::times(p.ratio)))
                .collect();
            verdict.push(text(format!(": {}.", list.join("; "))));
        }
        blocks.push(Block::Para(verdict));

        let mut table = Table::labelled(
            [
                "method",
                "backend",
                "mode",
                "workers",
                "samples",
                "base median",
                "new median",
                "ratio",
                "95% CI",
                "verdict",
            ]
            .map(String::from)
            .to_vec(),
        );
        table.numeric = vec![
            false, false, false, true, true, true, true, true, true, false,
        ];
        for p in &self.points {
            table.rows.push(vec![
                p.key.method.clone(),
                p.key.backend.clone(),
                p.key.mode.clone(),
                p.key.workers.to_string(),
                format::work(p.key.samples),
                format::time(p.base_median_s),
                format::time(p.new_median_s),
                format::times(p.ratio),
                format!("{:.2}–{:.2}", p.ci.0, p.ci.1),
                p.verdict.name().to_string(),
            ]);
        }
        blocks.push(Block::Table(table));
        blocks.push(Block::Para(vec![text(format!(
            "ratio = new / base median wall time, with a bootstrap {:.0} % confidence \
             interval ({CI_RESAMPLES} resamples of each run). A point regresses when the \
             whole interval lies above {limit:.2} (threshold {}%), and is faster when it \
             lies below {:.2}.",
            CI_CONFIDENCE * 100.0,
            self.threshold_pct,
            1.0 / limit,
        ))]));

        for (title, list, other) in [
            ("Only in base", &self.only_base, "new"),
            ("Only in new", &self.only_new, "base"),
        ] {
            if list.is_empty() {
                continue;
            }
            blocks.push(Block::Para(vec![strong(format!(
                "{title} ({} point{}):",
                list.len(),
                if list.len() == 1 { "" } else { "s" }
            ))]));
            blocks.push(Block::List(
                list.iter()
                    .map(|u| {
                        let mut s = u.key.describe();
                        if u.failed_in_other {
                            s.push_str(&format!(" — every repetition failed in {other}"));
                        }
                        vec![text(s)]
                    })
                    .collect(),
            ));
        }
        markdown::render_blocks(&blocks)
    }
}

/// One sweep folder, as the comparison needs it.
#[derive(Debug)]
struct Run {
    /// Wall times of the ok repetitions of each point that has any.
    times: BTreeMap<PointKey, Vec<f64>>,
    /// Points whose every repetition failed.
    all_failed: Vec<PointKey>,
    machine: Option<Value>,
}

impl Run {
    fn read(dir: &Path) -> Result<Run> {
        let path = dir.join("raw.csv");
        if !path.is_file() {
            return Err(UsageError(format!(
                "{}: no such file (is {} the output folder of a piscale sweep?)",
                path.display(),
                dir.display()
            ))
            .into());
        }
        let rows = read_raw(&path).map_err(|e| UsageError(format!("{e:#}")))?;
        let mut times: BTreeMap<PointKey, Vec<f64>> = BTreeMap::new();
        let mut seen: Vec<PointKey> = Vec::new();
        for row in &rows {
            let key = PointKey::of(row);
            match (row.is_ok(), row.wall_s) {
                (true, Some(t)) => times.entry(key).or_default().push(t),
                _ => seen.push(key),
            }
        }
        let mut all_failed: Vec<PointKey> = seen
            .into_iter()
            .filter(|k| !times.contains_key(k))
            .collect();
        all_failed.sort();
        all_failed.dedup();
        let machine_path = dir.join("machine.json");
        let machine = machine_path
            .is_file()
            .then(|| read_machine(&machine_path).ok())
            .flatten();
        Ok(Run {
            times,
            all_failed,
            machine,
        })
    }

    /// This run's points the other did not measure successfully.
    fn unmatched(&self, other: &Run) -> Vec<Unmatched> {
        let mut list: Vec<Unmatched> = self
            .times
            .keys()
            .filter(|k| !other.times.contains_key(*k))
            .map(|k| Unmatched {
                key: k.clone(),
                failed_in_other: other.all_failed.contains(k),
            })
            .collect();
        list.sort_by(|a, b| a.key.order().cmp(&b.key.order()));
        list
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
    let field = |m: &Value, key: &str| m.get(key).filter(|v| !v.is_null()).cloned();
    let differences: Vec<String> = ["cpu_model", "hostname", "usable_cpu_count"]
        .iter()
        .filter_map(|key| {
            let (x, y) = (field(b, key), field(n, key));
            (x != y).then(|| {
                let show = |v: Option<Value>| v.map_or_else(|| "unknown".into(), |v| v.to_string());
                format!("{key} {} vs {}", show(x), show(y))
            })
        })
        .collect();
    let same_machine = ["cpu_model", "hostname"]
        .iter()
        .all(|key| field(b, key) == field(n, key));
    (!same_machine).then(|| {
        format!(
            "base and new ran on different machines ({}): the ratios compare the machines \
             as well as the code",
            differences.join("; ")
        )
    })
}

/// `AMD EPYC 7B13 on ci-runner, piscale 0.1.0 (git abc1234), started 2025-01-01T12:00:00`.
fn about(m: &Value) -> String {
    let s = |key: &str| m.get(key).and_then(Value::as_str);
    let mut parts = Vec::new();
    match (s("cpu_model"), s("hostname")) {
        (Some(cpu), Some(host)) => parts.push(format!("{cpu} on {host}")),
        (Some(cpu), None) => parts.push(cpu.to_string()),
        (None, Some(host)) => parts.push(host.to_string()),
        (None, None) => {}
    }
    if let Some(v) = s("piscale_version") {
        parts.push(match s("git_revision") {
            Some(rev) => format!("piscale {v} (git {rev})"),
            None => format!("piscale {v}"),
        });
    }
    if let Some(t) = s("started_at") {
        parts.push(format!("started {}", t.get(..19).unwrap_or(t)));
    }
    parts.join(", ")
}

/// Percentile-bootstrap interval of median(new) / median(base): each of
/// `resamples` rounds draws both sides with replacement from one
/// xoshiro256++ stream seeded with `seed`. One value on each side gives
/// the single point ratio.
fn ratio_ci(base: &[f64], new: &[f64], resamples: usize, confidence: f64, seed: u64) -> (f64, f64) {
    let (Some(b), Some(n)) = (stats::median(base), stats::median(new)) else {
        return (f64::NAN, f64::NAN);
    };
    if (base.len() == 1 && new.len() == 1) || resamples == 0 {
        return (n / b, n / b);
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut draw_b = vec![0.0; base.len()];
    let mut draw_n = vec![0.0; new.len()];
    let mut ratios: Vec<f64> = (0..resamples)
        .map(|_| {
            let mb = resampled_median(base, &mut draw_b, &mut rng);
            let mn = resampled_median(new, &mut draw_n, &mut rng);
            mn / mb
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let alpha = (1.0 - confidence.clamp(0.0, 1.0)) / 2.0;
    (quantile(&ratios, alpha), quantile(&ratios, 1.0 - alpha))
}

/// The median of one resample of `xs` (drawn into `draw`).
fn resampled_median(xs: &[f64], draw: &mut [f64], rng: &mut Xoshiro256PlusPlus) -> f64 {
    let n = xs.len();
    for d in draw.iter_mut() {
        // Multiply-shift onto 0..n, as the sweep's own bootstrap does.
        let i = ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize;
        *d = xs[i];
    }
    stats::median(draw).unwrap_or(f64::NAN)
}

/// The `q` quantile of a sorted, non-empty slice, linear between order
/// statistics (type 7, like the sweep's intervals).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::analysis::report::tests::{write_sweep, MACHINE};
    use crate::sweep::rows::fixture::{failed, row};
    use crate::sweep::rows::MODE_STRONG;

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
            assert_eq!(p.key.backend, "threads");
            assert!((p.ratio - 2.0).abs() < 1e-9, "{p:?}");
            assert!(p.ci.0 > 1.1 && p.ci.0 <= 2.0 && p.ci.1 >= 2.0, "{p:?}");
        }
        assert!(c
            .points
            .iter()
            .filter(|p| p.key.backend != "threads")
            .all(|p| p.verdict == Verdict::Ok));
        let md = c.markdown();
        assert!(md.contains("**2 regressions** in 5 shared points: mc, threads, strong, 1 worker, N = 2^24 (2.00×); mc, threads, strong, 2 workers"), "{md}");
        let line = md
            .lines()
            .find(|l| l.contains("| regression |"))
            .expect("a regression row");
        assert!(line.contains("| threads "), "{line}");
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
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
        assert!(c
            .markdown()
            .contains("**No regression** in 5 shared points."));
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
            .map(|p| p.key.backend.as_str())
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
        assert!(c
            .markdown()
            .contains("> **Warning:** base and new ran on different machines"));
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
        new.retain(|r| !(r.backend == "fork-pipe" && r.workers == 2));
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
                key: PointKey::of(&row("fork-pipe", MODE_STRONG, 2, N, 0.0)),
                failed_in_other: true,
            }]
        );
        assert_eq!(c.only_new.len(), 1);
        assert_eq!(c.only_new[0].key.backend, "per-core");
        let md = c
            .markdown()
            .replace(&b.path().display().to_string(), "BASE")
            .replace(&n.path().display().to_string(), "NEW");
        insta::assert_snapshot!(md);
    }

    #[test]
    fn ratio_ci_brackets_the_ratio_and_is_deterministic() {
        let base = [1.0, 1.1, 0.9, 1.05, 0.95];
        let new = base.map(|t| 1.5 * t);
        let (lo, hi) = ratio_ci(&base, &new, 2000, 0.95, 3);
        assert!(lo < 1.5 && 1.5 < hi, "{lo} {hi}");
        assert!(lo > 1.0, "a 50 % slow-down stands out of this noise: {lo}");
        assert_eq!(ratio_ci(&base, &new, 2000, 0.95, 3), (lo, hi));
        assert_eq!(ratio_ci(&[2.0], &[3.0], 2000, 0.95, 3), (1.5, 1.5));
        assert_eq!(quantile(&[1.0, 2.0, 3.0], 0.25), 1.5);
    }
}
