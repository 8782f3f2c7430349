//! What each plot shows, taken from the summary and raw rows: pure
//! selection and arithmetic, no drawing.

use crate::sweep::rows::{RawRow, SummaryRow, MODE_STRONG, MODE_WEAK};
use crate::sweep::stats;

/// A value that can be drawn (on a log axis too): finite and above zero.
fn positive(x: Option<f64>) -> Option<f64> {
    x.filter(|x| x.is_finite() && *x > 0.0)
}

/// One point of a curve: a backend at one worker count.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Point {
    pub workers: usize,
    /// Median wall time, seconds.
    pub median_s: Option<f64>,
    /// Bootstrap CI of the median, seconds.
    pub ci_s: Option<(f64, f64)>,
    /// Speed-up over the same backend at 1 worker (scaled, in weak mode).
    pub speedup: Option<f64>,
    /// Speed-up over the backend at 1 worker, over the ends of the CI:
    /// t1 / ci_high .. t1 / ci_low (times `workers` in weak mode).
    pub speedup_ci: Option<(f64, f64)>,
}

impl Point {
    /// Parallel efficiency, speed-up / workers (t1 / tp in weak mode).
    pub fn efficiency(&self) -> Option<f64> {
        self.speedup.map(|s| s / self.workers as f64)
    }

    /// The CI of [`Point::efficiency`].
    pub fn efficiency_ci(&self) -> Option<(f64, f64)> {
        let p = self.workers as f64;
        self.speedup_ci.map(|(lo, hi)| (lo / p, hi / p))
    }
}

/// The points of one backend, by workers.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Series {
    pub backend: String,
    pub points: Vec<Point>,
}

impl Series {
    /// `(workers, speed-up)` of every point that has one, for the Amdahl fit.
    pub fn speedups(&self) -> Vec<(usize, f64)> {
        self.points
            .iter()
            .filter_map(|p| Some((p.workers, p.speedup?)))
            .collect()
    }
}

/// The curves of one method in one scaling mode at one amount of work.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Scaling {
    pub method: String,
    pub weak: bool,
    /// Total work N (strong) or work per worker (weak).
    pub work: u64,
    /// One per backend, in the summary's order.
    pub series: Vec<Series>,
}

impl Scaling {
    /// The points of `method` in `mode` at the largest amount of work the
    /// summary has for them (total work N for strong scaling, work per
    /// worker for weak); `None` without any.
    pub fn select(summary: &[SummaryRow], method: &str, mode: &str) -> Option<Scaling> {
        let weak = mode == MODE_WEAK;
        let work = |r: &SummaryRow| {
            if weak {
                r.samples / r.workers.max(1) as u64
            } else {
                r.samples
            }
        };
        let rows: Vec<&SummaryRow> = summary
            .iter()
            .filter(|r| r.method == method && r.mode == mode)
            .collect();
        let largest = rows.iter().map(|r| work(r)).max()?;
        let mut series: Vec<Series> = Vec::new();
        for row in rows.iter().filter(|r| work(r) == largest) {
            let at = match series.iter().position(|s| s.backend == row.backend) {
                Some(i) => i,
                None => {
                    series.push(Series {
                        backend: row.backend.clone(),
                        points: Vec::new(),
                    });
                    series.len() - 1
                }
            };
            series[at].points.push(Point {
                workers: row.workers,
                median_s: positive(row.median_s),
                ci_s: positive(row.ci_low_s).zip(positive(row.ci_high_s)),
                speedup: positive(row.speedup),
                speedup_ci: None,
            });
        }
        for s in &mut series {
            s.points.sort_by_key(|p| p.workers);
            let t1 = s
                .points
                .iter()
                .find(|p| p.workers == 1)
                .and_then(|p| p.median_s);
            for p in &mut s.points {
                let scale = if weak { p.workers as f64 } else { 1.0 };
                p.speedup_ci = t1
                    .zip(p.ci_s)
                    .filter(|_| p.speedup.is_some())
                    .map(|(t1, (lo, hi))| (scale * t1 / hi, scale * t1 / lo));
            }
        }
        Some(Scaling {
            method: method.to_string(),
            weak,
            work: largest,
            series,
        })
    }

    /// The worker counts measured, ascending.
    pub fn workers(&self) -> Vec<usize> {
        let mut w: Vec<usize> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.workers))
            .collect();
        w.sort_unstable();
        w.dedup();
        w
    }

    /// Whether any point has a speed-up to draw.
    pub fn has_speedups(&self) -> bool {
        self.series
            .iter()
            .any(|s| s.points.iter().any(|p| p.speedup.is_some()))
    }

    /// Whether any point has a wall time to draw.
    pub fn has_times(&self) -> bool {
        self.series
            .iter()
            .any(|s| s.points.iter().any(|p| p.median_s.is_some()))
    }
}

/// Median phase times of one backend at one point, seconds.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Bar {
    pub backend: String,
    pub spawn_s: f64,
    pub compute_s: f64,
    pub reduce_s: f64,
    /// Repetitions behind the medians.
    pub reps: usize,
}

impl Bar {
    /// The height of the stacked bar.
    pub fn total_s(&self) -> f64 {
        self.spawn_s + self.compute_s + self.reduce_s
    }
}

/// Where the time of a strong-scaling point goes, per backend.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Phases {
    pub method: String,
    /// Total work N.
    pub work: u64,
    /// The worker count of every bar: the largest one with phase times.
    pub workers: usize,
    /// One per backend that records phases, in `order`.
    pub bars: Vec<Bar>,
}

impl Phases {
    /// The medians of the raw rows' `spawn_s`, `compute_s` and `reduce_s`
    /// over the successful strong-scaling repetitions of `method` at total
    /// work `work` and the largest worker count that has them (command
    /// kernels record no phases). Bars follow `order` (backend names).
    /// `None` when no row has phase times.
    pub fn select(raw: &[RawRow], method: &str, work: u64, order: &[&str]) -> Option<Phases> {
        let rows: Vec<&RawRow> = raw
            .iter()
            .filter(|r| {
                r.is_ok()
                    && r.method == method
                    && r.mode == MODE_STRONG
                    && r.samples == work
                    && r.spawn_s.is_some()
                    && r.compute_s.is_some()
                    && r.reduce_s.is_some()
            })
            .collect();
        let workers = rows.iter().map(|r| r.workers).max()?;
        let mut backends: Vec<&str> = rows
            .iter()
            .filter(|r| r.workers == workers)
            .map(|r| r.backend.as_str())
            .collect();
        backends.sort_by_key(|b| order.iter().position(|o| o == b).unwrap_or(order.len()));
        backends.dedup();
        let bars = backends
            .into_iter()
            .map(|backend| {
                let of = |phase: fn(&RawRow) -> Option<f64>| {
                    let xs: Vec<f64> = rows
                        .iter()
                        .filter(|r| r.backend == backend && r.workers == workers)
                        .filter_map(|r| phase(r))
                        .filter(|x| x.is_finite() && *x >= 0.0)
                        .collect();
                    (stats::median(&xs).unwrap_or(0.0), xs.len())
                };
                let (spawn_s, reps) = of(|r| r.spawn_s);
                Bar {
                    backend: backend.to_string(),
                    spawn_s,
                    compute_s: of(|r| r.compute_s).0,
                    reduce_s: of(|r| r.reduce_s).0,
                    reps,
                }
            })
            .collect();
        Some(Phases {
            method: method.to_string(),
            work,
            workers,
            bars,
        })
    }
}
