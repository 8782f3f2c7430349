//! The answer to the course's question, *what is the speed-up on your
//! system?* — defined here once, and shown the same way by the terminal,
//! both reports and the tests.
//!
//! For each method: take its strong-scaling points that have a speed-up
//! (weak-scaling ones, as scaled speed-ups, only for a method without any);
//! keep those at the largest worker count measured; among them, those of
//! the largest amount of work (the table least dominated by start-up
//! costs); and pick the backend (not the capacity, which is the machine's)
//! with the highest median speed-up over the same backend at 1 worker —
//! among the points that are not noisy (neither the point nor its baseline
//! varies by more than [`NOISY_CV`]), unless all are. The answer is that
//! table entry — the same number, interval and noise mark — not a new
//! statistic. Choosing the highest of several medians favours a lucky one:
//! a noisy point 0.1 % ahead of a quiet one (2.00× [1.06–2.03] against
//! 2.00× [1.96–2.03], one sweep on the development VM) would answer for a
//! repetition that went well; among quiet points luck moves a median by
//! little, and the interval beside it says how far.

use piscale_kernels::Method;

use super::stats::{self, NOISY_CV};
use crate::results::{Kernel, Machine, Mode, SummaryRow};

/// One method's answer: a row of the summary, and what qualifies it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer<'a> {
    /// The point the answer is about (its backend, workers, work, mode).
    pub row: &'a SummaryRow,
    /// Its speed-up over the same backend at 1 worker (scaled, for weak
    /// scaling).
    pub speedup: f64,
    /// The speed-up's interval and its coverage, when it has one.
    pub interval: Option<(f64, f64, f64)>,
    /// The larger coefficient of variation of the point and its baseline,
    /// when above the noise threshold.
    pub noisy_cv: Option<f64>,
}

impl Answer<'_> {
    /// The method answered.
    pub fn method(&self) -> Method {
        self.row.method
    }

    /// Whether the answer is a weak-scaling (scaled) speed-up.
    pub fn is_weak(&self) -> bool {
        self.row.mode == Mode::Weak
    }
}

/// The answers, one per method with a speed-up, in method order.
pub fn answers(summary: &[SummaryRow]) -> Vec<Answer<'_>> {
    let mut methods: Vec<Method> = summary.iter().map(|r| r.method).collect();
    methods.sort();
    methods.dedup();
    methods
        .into_iter()
        .filter_map(|method| answer(summary, method))
        .collect()
}

fn answer(summary: &[SummaryRow], method: Method) -> Option<Answer<'_>> {
    let with_speedup = |mode: Mode| {
        summary
            .iter()
            .filter(move |r| r.method == method && r.mode == mode)
            .filter(|r| r.backend != Kernel::Capacity)
            .filter(|r| r.speedup.is_some_and(f64::is_finite))
    };
    let mode = if with_speedup(Mode::Strong).next().is_some() {
        Mode::Strong
    } else {
        Mode::Weak
    };
    let p = with_speedup(mode).map(|r| r.workers).max()?;
    let work = with_speedup(mode)
        .filter(|r| r.workers == p)
        .map(|r| r.id().work())
        .max()?;
    let candidates: Vec<(&SummaryRow, Option<f64>)> = with_speedup(mode)
        .filter(|r| r.workers == p && r.id().work() == work)
        .map(|r| (r, noisy_cv(summary, r)))
        .collect();
    let highest = |quiet_only: bool| {
        candidates
            .iter()
            .filter(|(_, cv)| !quiet_only || cv.is_none())
            .copied()
            .reduce(|a, b| if b.0.speedup > a.0.speedup { b } else { a })
    };
    let (best, noisy_cv) = highest(true).or_else(|| highest(false))?;
    Some(Answer {
        row: best,
        speedup: best.speedup?,
        interval: best
            .speedup_low
            .zip(best.speedup_high)
            .zip(best.speedup_coverage)
            .map(|((low, high), coverage)| (low, high, coverage)),
        noisy_cv,
    })
}

/// The larger coefficient of variation of `row` and of its baseline (the
/// same backend at 1 worker), when above [`NOISY_CV`].
fn noisy_cv(summary: &[SummaryRow], row: &SummaryRow) -> Option<f64> {
    let baseline = row.id().own_baseline();
    let baseline_cv = summary
        .iter()
        .find(|r| r.id() == baseline)
        .and_then(|r| r.cv);
    [row.cv, baseline_cv]
        .into_iter()
        .flatten()
        .max_by(f64::total_cmp)
        .filter(|&cv| cv > NOISY_CV)
}

/// How much of the planned sweep the summary holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Completeness {
    /// Points measured fewer times than planned (an interrupted sweep).
    pub short_points: usize,
    /// Points with a failed repetition.
    pub failed_points: usize,
    /// Points in the summary.
    pub points: usize,
}

impl Completeness {
    /// Compares every point's repetitions tried with `planned_reps`.
    pub fn of(summary: &[SummaryRow], planned_reps: usize) -> Completeness {
        Completeness {
            short_points: summary
                .iter()
                .filter(|r| r.reps + r.failed + r.wrong < planned_reps)
                .count(),
            failed_points: summary.iter().filter(|r| r.failed > 0).count(),
            points: summary.len(),
        }
    }

    /// Whether the answer rests on a partial sweep.
    pub fn is_partial(&self) -> bool {
        self.short_points > 0 || self.failed_points > 0
    }
}

/// A machine too busy for its figures to be trusted: more load at the start
/// than CPUs, or more than [`BUSY_SHARE`] of the repetitions disturbed
/// (see `measure::disturbance`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Busy {
    /// The 1-minute load average at the start and the usable CPUs, when
    /// the load was above the CPUs.
    pub load: Option<(f64, usize)>,
    /// Repetitions recorded disturbed, of all recorded.
    pub disturbed: (usize, usize),
}

/// The share of disturbed repetitions above which a sweep's figures are
/// called unreliable: one in ten, the share at which a median of 3 or 5
/// repetitions starts to be hit more than rarely.
pub const BUSY_SHARE: f64 = 0.10;

impl Busy {
    /// Whether `summary`, measured on `machine`, ran on a busy machine.
    pub fn of(summary: &[SummaryRow], machine: Option<&Machine>) -> Option<Busy> {
        let load = machine.and_then(|m| {
            let one = m.load_average.as_ref()?.one;
            let cpus = m.usable_cpu_count?;
            (one > cpus as f64).then_some((one, cpus))
        });
        let disturbed = summary.iter().map(|r| r.disturbed).sum();
        let reps = summary.iter().map(|r| r.reps).sum::<usize>();
        let many = reps > 0 && disturbed as f64 > BUSY_SHARE * reps as f64;
        (load.is_some() || many).then_some(Busy {
            load,
            disturbed: (disturbed, reps),
        })
    }
}

/// The fewest repetitions per point that give a speed-up's interval (the
/// product of two medians' coverages) at least `confidence`.
pub fn reps_for_speedup(confidence: f64) -> usize {
    stats::reps_for(confidence.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyse::summary::summarize;
    use crate::results::fixture::{numbered, row, with_method};

    /// A point's repetitions: method, backend, mode, workers, samples, times.
    type Point<'a> = (Method, &'a str, Mode, usize, u64, &'a [f64]);

    fn summary(rows: &[Point<'_>]) -> Vec<SummaryRow> {
        let mut raw = Vec::new();
        for &(method, backend, mode, workers, samples, times) in rows {
            for &t in times {
                raw.push(with_method(method, row(backend, mode, workers, samples, t)));
            }
        }
        summarize(&numbered(raw))
    }

    const N: u64 = 1 << 30;
    const S: Mode = Mode::Strong;

    #[test]
    fn the_answer_is_the_best_table_entry_at_the_most_workers() {
        let s = summary(&[
            (Method::Mc, "serial", S, 1, N, &[2.2, 2.2, 2.2]),
            (Method::Mc, "threads", S, 1, N, &[2.0, 2.0, 2.0]),
            (Method::Mc, "threads", S, 2, N, &[1.0, 1.05, 1.1]),
            (Method::Mc, "rayon", S, 1, N, &[2.0, 2.0, 2.0]),
            (Method::Mc, "rayon", S, 2, N, &[1.2, 1.2, 1.2]),
            // A smaller table, faster by luck, does not answer.
            (Method::Mc, "rayon", S, 1, N / 4, &[1.0, 1.0, 1.0]),
            (Method::Mc, "rayon", S, 2, N / 4, &[0.4, 0.4, 0.4]),
        ]);
        let a = answers(&s);
        assert_eq!(a.len(), 1);
        let a = &a[0];
        assert_eq!(
            (a.row.backend.to_string(), a.row.workers, a.row.samples),
            ("threads".into(), 2, N)
        );
        assert_eq!(Some(a.speedup), a.row.speedup);
        assert_eq!(a.speedup, 2.0 / 1.05);
        assert_eq!(a.interval, Some((2.0 / 1.1, 2.0 / 1.0, 0.5625)));
        assert_eq!(a.noisy_cv, None);
    }

    #[test]
    fn a_noisy_baseline_makes_a_noisy_answer_and_weak_answers_only_alone() {
        let s = summary(&[
            (Method::Mc, "threads", S, 1, N, &[2.0, 2.4, 2.0]),
            (Method::Mc, "threads", S, 2, N, &[1.0, 1.0, 1.0]),
            (
                Method::Midpoint,
                "threads",
                Mode::Weak,
                1,
                N,
                &[1.0, 1.0, 1.0],
            ),
            (
                Method::Midpoint,
                "threads",
                Mode::Weak,
                2,
                2 * N,
                &[1.1, 1.1, 1.1],
            ),
        ]);
        let a = answers(&s);
        assert_eq!(a.len(), 2);
        assert!(a[0].noisy_cv.is_some_and(|cv| cv > 0.05), "{a:?}");
        assert!(!a[0].is_weak() && a[1].is_weak());
        assert_eq!(a[1].speedup, 2.0 / 1.1);
    }

    #[test]
    fn a_quiet_point_answers_before_a_noisy_one_that_is_a_little_ahead() {
        let s = summary(&[
            (Method::Mc, "threads", S, 1, N, &[2.0, 2.0, 2.0]),
            (Method::Mc, "threads", S, 2, N, &[1.0, 1.0, 1.02]),
            (Method::Mc, "fork-pipe", S, 1, N, &[2.0, 2.0, 2.0]),
            (Method::Mc, "fork-pipe", S, 2, N, &[0.99, 0.99, 1.9]),
        ]);
        let a = &answers(&s)[0];
        assert_eq!(a.row.backend.to_string(), "threads");
        assert_eq!((a.speedup, a.noisy_cv), (2.0, None));
        // When every point is noisy, the highest answers, marked noisy.
        let s = summary(&[
            (Method::Mc, "threads", S, 1, N, &[2.0, 2.0, 2.0]),
            (Method::Mc, "threads", S, 2, N, &[1.0, 1.0, 1.5]),
            (Method::Mc, "fork-pipe", S, 1, N, &[2.0, 2.0, 2.0]),
            (Method::Mc, "fork-pipe", S, 2, N, &[0.99, 0.99, 1.9]),
        ]);
        let a = &answers(&s)[0];
        assert_eq!(a.row.backend.to_string(), "fork-pipe");
        assert_eq!(a.speedup, 2.0 / 0.99);
        assert!(a.noisy_cv.is_some_and(|cv| cv > NOISY_CV), "{a:?}");
    }

    #[test]
    fn no_speedup_no_answer() {
        let s = summary(&[(Method::Mc, "threads", S, 2, N, &[1.0])]);
        assert!(answers(&s).is_empty());
    }

    #[test]
    fn completeness_counts_short_and_failed_points() {
        let s = summary(&[
            (Method::Mc, "threads", S, 1, N, &[2.0, 2.0, 2.0]),
            (Method::Mc, "threads", S, 2, N, &[1.0, 1.0]),
        ]);
        let c = Completeness::of(&s, 3);
        assert_eq!((c.short_points, c.failed_points, c.points), (1, 0, 2));
        assert!(c.is_partial());
        assert!(!Completeness::of(&s, 2).is_partial());
        assert_eq!(reps_for_speedup(0.95), 7);
    }

    #[test]
    fn a_busy_machine_is_a_high_start_load_or_many_disturbed_repetitions() {
        let mut s = summary(&[
            (Method::Mc, "threads", S, 1, N, &[2.0; 10]),
            (Method::Mc, "threads", S, 2, N, &[1.0; 10]),
        ]);
        let mut machine = Machine {
            usable_cpu_count: Some(2),
            load_average: Some(crate::results::LoadAverage {
                one: 0.4,
                five: 0.2,
                fifteen: 0.1,
            }),
            ..Machine::default()
        };
        assert_eq!(Busy::of(&s, Some(&machine)), None);
        s[0].disturbed = 2;
        assert_eq!(Busy::of(&s, Some(&machine)), None, "2 of 20: not many");
        s[1].disturbed = 1;
        assert_eq!(
            Busy::of(&s, Some(&machine)),
            Some(Busy {
                load: None,
                disturbed: (3, 20)
            })
        );
        s[0].disturbed = 0;
        s[1].disturbed = 0;
        machine.load_average.as_mut().unwrap().one = 4.6;
        assert_eq!(Busy::of(&s, Some(&machine)).unwrap().load, Some((4.6, 2)));
        assert_eq!(Busy::of(&s, None), None);
    }
}
