//! What each plot shows, taken from the summary and raw rows: pure
//! selection and arithmetic, no drawing.

use std::collections::BTreeMap;

use piscale_kernels::{BackendKind, Method};

use crate::analyse::phases::PhaseMedians;
use crate::results::{Kernel, Mode, PointId, SummaryRow};

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
    /// The median's interval, seconds.
    pub ci_s: Option<(f64, f64)>,
    /// Speed-up over the same backend at 1 worker (scaled, in weak mode).
    pub speedup: Option<f64>,
    /// The speed-up's interval (summary.csv's `speedup_low` ..
    /// `speedup_high`: both medians' uncertainty).
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

/// The points of one kernel, by workers.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Series {
    pub backend: Kernel,
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
    pub method: Method,
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
    pub fn select(summary: &[SummaryRow], method: Method, mode: Mode) -> Option<Scaling> {
        let weak = mode == Mode::Weak;
        let work = |r: &SummaryRow| r.id().work();
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
                speedup_ci: positive(row.speedup_low).zip(positive(row.speedup_high)),
            });
        }
        for s in &mut series {
            s.points.sort_by_key(|p| p.workers);
        }
        Some(Scaling {
            method,
            weak,
            work: largest,
            series,
        })
    }

    /// The same curves less the capacity's (for the time plot, where its
    /// time is only the time its work would take at the rate measured).
    pub fn without_capacity(mut self) -> Scaling {
        self.series.retain(|s| s.backend != Kernel::Capacity);
        self
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

/// Median phase times of one kernel at one point.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Bar {
    pub backend: Kernel,
    pub phases: PhaseMedians,
}

/// Where the time of a strong-scaling point goes, per kernel.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Phases {
    pub method: Method,
    /// Total work N.
    pub work: u64,
    /// The worker count of every bar: the largest one with phase times.
    pub workers: usize,
    /// One per kernel that records phases, in display order.
    pub bars: Vec<Bar>,
}

impl Phases {
    /// The phase medians of the strong-scaling points of `method` at total
    /// work `work` and the largest worker count that has them (command
    /// kernels record no phases; the capacity's, which computes for a fixed
    /// time rather than the work N, are left out); `None` when no point has
    /// phase times.
    pub fn select(
        phases: &BTreeMap<PointId, PhaseMedians>,
        method: Method,
        work: u64,
    ) -> Option<Phases> {
        let of = |id: &PointId| {
            id.method == method
                && id.mode == Mode::Strong
                && id.samples == work
                && id.kernel != Kernel::Capacity
        };
        let workers = phases
            .keys()
            .filter(|id| of(id))
            .map(|id| id.workers)
            .max()?;
        let bars = phases
            .iter()
            .filter(|(id, _)| of(id) && id.workers == workers)
            .map(|(id, p)| Bar {
                backend: id.kernel.clone(),
                phases: *p,
            })
            .collect();
        Some(Phases {
            method,
            work,
            workers,
            bars,
        })
    }
}

/// What a step from the ideal speed-up p down to the achieved one lost:
/// the factors of `summary.csv` (see `analyse::breakdown`), in the order
/// the plot takes them off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Loss {
    /// p → C(p): what the CPUs cannot give (machine scalability C/p).
    Machine,
    /// C → C·code: the code's part of computation scalability.
    Code,
    /// → ·LB: workers waiting for the slowest (load balance).
    Imbalance,
    /// → ·OE = S: time not computing (overhead efficiency).
    Overhead,
    /// C → S in one step, where the kernel's workers' busy times are not
    /// known (commands): code, imbalance and overhead together.
    Unsplit,
}

/// One kernel's speed-up, from the ideal down to what it reached.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Fall {
    pub backend: Kernel,
    /// The ideal speed-up: the worker count p.
    pub ideal: f64,
    /// The speed-up after each loss, in order; the last is the achieved
    /// speed-up S.
    pub steps: Vec<(Loss, f64)>,
}

impl Fall {
    /// The speed-up reached: the level after the last step.
    pub fn achieved(&self) -> f64 {
        self.steps.last().map_or(self.ideal, |&(_, level)| level)
    }

    /// Each step as `(loss, level before, level after)`.
    pub fn drops(&self) -> impl Iterator<Item = (Loss, f64, f64)> + '_ {
        let before = std::iter::once(self.ideal).chain(self.steps.iter().map(|&(_, l)| l));
        self.steps
            .iter()
            .zip(before)
            .map(|(&(loss, after), before)| (loss, before, after))
    }

    /// The speed-ups of `row` from its worker count down, when it has a
    /// capacity and a speed-up: p, C, then C·code, ·LB, ·OE (which is S,
    /// the identity of `analyse::breakdown`) when the factors are known,
    /// else straight to S.
    fn of(row: &SummaryRow) -> Option<Fall> {
        let capacity = positive(row.capacity)?;
        let speedup = positive(row.speedup)?;
        let mut steps = vec![(Loss::Machine, capacity)];
        let factors: Option<Vec<(Loss, f64)>> = [
            (Loss::Code, row.code_scalability),
            (Loss::Imbalance, row.load_balance),
            (Loss::Overhead, row.overhead_efficiency),
        ]
        .into_iter()
        .map(|(loss, factor)| Some((loss, positive(factor)?)))
        .collect();
        match factors {
            Some(factors) => {
                let mut level = capacity;
                for (loss, factor) in factors {
                    level *= factor;
                    steps.push((loss, level));
                }
            }
            None => steps.push((Loss::Unsplit, speedup)),
        }
        Some(Fall {
            backend: row.backend.clone(),
            ideal: row.workers as f64,
            steps,
        })
    }
}

/// Where the speed-up of each kernel went, at one strong-scaling point.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Losses {
    pub method: Method,
    /// Total work N.
    pub work: u64,
    /// The worker count p of every bar.
    pub workers: usize,
    /// One per kernel, in the summary's order.
    pub falls: Vec<Fall>,
}

impl Losses {
    /// The strong-scaling points of `method` at the largest total work (as
    /// [`Scaling::select`] takes it) and the largest worker count above 1
    /// where a kernel has both a speed-up and a capacity: one [`Fall`] per
    /// kernel there, the capacity and `serial` left out. `None` when no
    /// point has a capacity (a sweep with `capacity_s = 0`, or older files).
    pub fn select(summary: &[SummaryRow], method: Method) -> Option<Losses> {
        let rows: Vec<&SummaryRow> = summary
            .iter()
            .filter(|r| r.method == method && r.mode == Mode::Strong)
            .collect();
        let work = rows.iter().map(|r| r.id().work()).max()?;
        let falls: Vec<(usize, Fall)> = rows
            .iter()
            .filter(|r| {
                r.id().work() == work
                    && r.workers > 1
                    && r.backend != Kernel::Capacity
                    && r.backend != Kernel::local(BackendKind::Serial)
            })
            .filter_map(|r| Some((r.workers, Fall::of(r)?)))
            .collect();
        let workers = falls.iter().map(|(p, _)| *p).max()?;
        Some(Losses {
            method,
            work,
            workers,
            falls: falls
                .into_iter()
                .filter(|(p, _)| *p == workers)
                .map(|(_, fall)| fall)
                .collect(),
        })
    }
}
