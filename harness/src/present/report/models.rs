//! The report's models section: Amdahl and Karp–Flatt for strong scaling
//! (and the Universal Scalability Law with enough worker counts), Gustafson
//! for weak scaling. A law is shown only where the data can carry it (the
//! rule of [`crate::analyse::models`]); elsewhere the section says why not,
//! once, and keeps the per-point figures.

mod amdahl;
mod gustafson;
mod usl;

use super::doc::{code, strong, text, Block, Inline};
use super::document::NONE;
use crate::analyse::models::{
    fit_worker_counts, Coefficient, NoFit, EXTRAPOLATION_FACTOR, MIN_WORKER_COUNTS,
    USL_WORKER_COUNTS,
};
use crate::present::format;
use crate::present::table::{kernels, worker_counts, Group};
use crate::results::{Kernel, SummaryRow};

/// One backend's measured speed-ups.
struct Curve<'a> {
    kernel: &'a Kernel,
    /// `(workers, speed-up)` of every point that has a finite one.
    points: Vec<(usize, f64)>,
}

impl Curve<'_> {
    /// The distinct worker counts of the curve, as the fits count them.
    fn counts(&self) -> Vec<usize> {
        fit_worker_counts(&self.points)
    }
}

/// The models section.
pub(super) fn section(groups: &[(Group, Vec<&SummaryRow>)]) -> Vec<Block> {
    let mut body = Vec::new();
    let mut tables = 0;
    // The worker counts of the tables too short to fit a law to (each list
    // once), and how many such tables there are.
    let mut short: Vec<Vec<usize>> = Vec::new();
    let mut short_tables = 0;
    for (group, rows) in groups {
        let workers: Vec<usize> = worker_counts(rows).into_iter().filter(|&p| p > 1).collect();
        let curves: Vec<Curve> = kernels(rows)
            .into_iter()
            .map(|kernel| Curve {
                kernel,
                points: curve(rows, kernel),
            })
            .filter(|c| c.points.iter().any(|&(p, _)| p > 1))
            .collect();
        // The group's worker counts are those of its longest curve.
        let Some(counts) = curves.iter().map(Curve::counts).max_by_key(Vec::len) else {
            continue;
        };
        tables += 1;
        let fitted = counts.len() >= MIN_WORKER_COUNTS;
        if !fitted {
            short_tables += 1;
            if !short.contains(&counts) {
                short.push(counts.clone());
            }
        }
        if group.is_weak() {
            body.extend(gustafson::blocks(group, &curves, &workers, fitted));
        } else {
            body.extend(amdahl::blocks(group, &curves, &workers, fitted));
            if counts.len() >= USL_WORKER_COUNTS {
                body.extend(usl::blocks(group, &curves));
            }
        }
    }
    let mut blocks = vec![Block::Heading(2, "Models".into()), explanation()];
    if tables == 0 {
        blocks.push(Block::Para(vec![text(
            "No backend has a speed-up at more than one worker: there is nothing to fit.",
        )]));
    } else if !short.is_empty() {
        // Said once, before the tables it is about.
        blocks.push(nothing_to_fit(&short, short_tables == tables));
    }
    blocks.extend(body);
    blocks
}

/// `(workers, speed-up)` of a backend's points that have one.
fn curve(rows: &[&SummaryRow], kernel: &Kernel) -> Vec<(usize, f64)> {
    rows.iter()
        .filter(|r| r.backend == *kernel)
        .filter_map(|r| Some((r.workers, r.speedup.filter(|s| s.is_finite())?)))
        .collect()
}

/// `p = 1, 2`.
fn listed(counts: &[usize]) -> String {
    let counts: Vec<String> = counts.iter().map(usize::to_string).collect();
    format!("p = {}", counts.join(", "))
}

/// The cell of a backend no law was fitted to.
fn not_fitted(why: NoFit, curve: &Curve) -> String {
    match why {
        NoFit::TooFewWorkerCounts { .. } => {
            format!("not fitted: {} only", listed(&curve.counts()))
        }
        NoFit::BadSpeedup | NoFit::Degenerate => "not fitted".into(),
    }
}

/// A fitted coefficient's cell: `0.058 ± 0.080`, marked when unphysical.
fn coefficient_cell(c: Coefficient, physical: bool) -> String {
    let cell = format::estimate(c.value, c.half_width);
    if physical {
        cell
    } else {
        format!("{cell} (unphysical)")
    }
}

/// A fit's residual, `—` when the law predicts no finite speed-up at a
/// measured p (only an unphysical fit can).
fn residual_cell(residual: f64) -> String {
    if residual.is_finite() {
        format::relative_error(residual)
    } else {
        NONE.into()
    }
}

/// One sentence on an unphysical coefficient: `threads: f = -0.030 ±
/// 0.010 is unphysical — {why}`, and whether its interval reaches the
/// physical `bound` it is beyond (then it may be noise).
fn flag(kernel: &Kernel, symbol: &str, c: Coefficient, bound: f64, why: &str) -> Vec<Inline> {
    let noise = if c.covers(bound) {
        format!(" Its interval reaches {bound}: consistent with a physical value.")
    } else {
        String::new()
    };
    vec![
        code(kernel.to_string()),
        text(format!(
            ": {symbol} = {} is unphysical — {why}.{noise}",
            format::estimate(c.value, c.half_width)
        )),
    ]
}

/// The flags under a table, if any.
fn flags(items: Vec<Vec<Inline>>) -> Option<Block> {
    (!items.is_empty()).then_some(Block::List(items))
}

/// Why the tables of too few worker counts show no fit.
fn nothing_to_fit(short: &[Vec<usize>], every: bool) -> Block {
    let counts: Vec<String> = short.iter().map(|c| listed(c)).collect();
    Block::Para(vec![
        text(format!(
            "{} below {} speed-ups at fewer than {MIN_WORKER_COUNTS} worker counts ({}): \
             there is nothing to fit. A law with one coefficient passes through two points \
             whatever it is: Amdahl's f would only restate Karp–Flatt's e at the one p above \
             1, with no error left to judge it by, and its limit 1/f would be a guess far \
             beyond the sweep. Sweep at least {MIN_WORKER_COUNTS} worker counts (",
            if every { "Every table" } else { "Some tables" },
            if every { "has" } else { "have" },
            counts.join("; "),
        )),
        code("--workers 1,2,4"),
        text(format!(
            ") to fit Amdahl's or Gustafson's law, {USL_WORKER_COUNTS} for the Universal \
             Scalability Law."
        )),
    ])
}

/// What the models say, how they are fitted and when.
fn explanation() -> Block {
    let item = |name: &str, rest: String| -> Vec<Inline> { vec![strong(name), text(rest)] };
    Block::List(vec![
        item(
            "Amdahl",
            format!(
                " (strong scaling): S(p) = 1 / (f + (1 − f)/p). The serial fraction f is \
                 fitted by least squares to a backend's speed-ups when they cover at least \
                 {MIN_WORKER_COUNTS} worker counts, p = 1 included, and shown with its 95 % \
                 interval (Student's t over the points above one worker) and its residual, \
                 the RMS relative error of the speed-ups it predicts at the measured p. 1/f \
                 is the speed-up no number of workers can exceed; past \
                 {EXTRAPOLATION_FACTOR} × the largest p measured it is an extrapolation and \
                 says so. An f outside [0, 1] is flagged as unphysical, not clamped."
            ),
        ),
        item(
            "Karp–Flatt",
            ": e = (1/S − 1/p) / (1 − 1/p) at each p, one measured point at a time. An e \
             that grows with p points at overhead (spawning, reduction, imbalance) rather \
             than serial work; a negative e means super-linear speed-up."
                .into(),
        ),
        item(
            "Gustafson",
            " (weak scaling): scaled speed-up S = p − f·(p − 1). f = (p − S)/(p − 1) is the \
             serial fraction one measured S implies; fitted over every p > 1 under the same \
             rule as Amdahl's, the law predicts S on a machine twice as large."
                .into(),
        ),
        item(
            "Universal Scalability Law",
            format!(
                " (Gunther; strong scaling, at least {USL_WORKER_COUNTS} worker counts): \
                 S(p) = p / (1 + σ(p − 1) + κp(p − 1)). σ is contention (Amdahl's f), κ \
                 coherency: the cost of every pair of workers keeping each other up to date. \
                 With κ > 0 the speed-up peaks at p* = √((1 − σ)/κ) and falls beyond it, \
                 which Amdahl's law cannot show."
            ),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyse::summary::summarize;
    use crate::present::report::markdown::render_blocks;
    use crate::present::table::groups;
    use crate::results::fixture::{numbered, row, N, PER_WORKER};
    use crate::results::{Mode, RawRow};

    /// The models section of a sweep of `rows`, as markdown.
    fn models(rows: Vec<RawRow>) -> String {
        let summary = summarize(&numbered(rows));
        render_blocks(&section(&groups(&summary)))
    }

    /// Three repetitions of each `(backend, p, time)`, strong scaling.
    fn strong(times: &[(&str, usize, f64)]) -> Vec<RawRow> {
        (0..3)
            .flat_map(|_| times.iter())
            .map(|&(backend, p, t)| row(backend, Mode::Strong, p, N, t))
            .collect()
    }

    /// Fixed ±1.5 % jitter, one per worker count of a sweep, so that
    /// fits have residuals as measured curves do.
    const JITTER: [f64; 8] = [1.0, 1.012, 0.991, 1.015, 0.987, 1.006, 0.994, 1.01];

    /// Times of Amdahl's law with serial fraction `f`, 1 s at one worker.
    fn amdahl_times(f: f64, ps: &[usize]) -> Vec<f64> {
        ps.iter().map(|&p| f + (1.0 - f) / p as f64).collect()
    }

    #[test]
    fn two_worker_counts_fit_nothing_and_say_why() {
        // The sweep on a 2-CPU machine: p ∈ {1, 2} only, one
        // backend a little super-linear.
        let mut rows = strong(&[
            ("threads", 1, 1.0),
            ("threads", 2, 0.51),
            ("rayon", 1, 1.0),
            ("rayon", 2, 0.49),
        ]);
        rows.extend((0..3).flat_map(|_| {
            [
                row("threads", Mode::Weak, 1, PER_WORKER, 1.0),
                row("threads", Mode::Weak, 2, 2 * PER_WORKER, 2.07),
            ]
        }));
        let md = models(rows);
        insta::assert_snapshot!(md);
        assert_eq!(md.matches("there is nothing to fit").count(), 1);
        for absent in ["∞", "max speed-up", "Amdahl f", "Gustafson f", "| σ"] {
            assert!(!md.contains(absent), "{absent} in {md}");
        }
        assert!(md.contains("| e at p=2 |"), "Karp–Flatt stays: {md}");
    }

    #[test]
    fn a_128_core_sweep_fits_amdahl_and_the_usl() {
        let ps = [1, 2, 4, 8, 16, 32, 64, 128];
        // threads: Amdahl with f = 0.01; fork-pipe: retrograde (USL σ = 0.02,
        // κ = 2·10⁻⁴, peak at p = 70); rayon: super-linear at every p.
        let mut times: Vec<(&str, usize, f64)> = Vec::new();
        let amdahl = amdahl_times(0.01, &ps);
        for (i, &p) in ps.iter().enumerate() {
            let (q, jitter) = (p as f64, JITTER[i]);
            times.push(("threads", p, amdahl[i] * jitter));
            let usl = (1.0 + 0.02 * (q - 1.0) + 2e-4 * q * (q - 1.0)) / q;
            times.push(("fork-pipe", p, usl * jitter));
            times.push(("rayon", p, if p == 1 { 1.0 } else { 0.97 / q * jitter }));
        }
        let md = models(strong(&times));
        insta::assert_snapshot!(md);
        assert!(!md.contains("nothing to fit") && !md.contains("∞"), "{md}");
        // The fork-pipe curve peaks at p = 70; the jitter moves the fit a little.
        let peak: f64 = md
            .split("p ≈ ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!((peak - 70.0).abs() <= 3.0, "the USL peak: {md}");
    }

    #[test]
    fn a_limit_beyond_four_times_the_sweep_is_an_extrapolation() {
        let ps = [1, 2, 4];
        let mut times: Vec<(&str, usize, f64)> = Vec::new();
        for (&p, t) in ps.iter().zip(amdahl_times(0.02, &ps)) {
            times.push(("threads", p, t));
        }
        for (&p, t) in ps.iter().zip(amdahl_times(0.2, &ps)) {
            times.push(("fork-pipe", p, t));
        }
        let md = models(strong(&times));
        assert!(
            md.contains("≈ 50× — an extrapolation far beyond p = 4"),
            "{md}"
        );
        assert!(
            md.contains(" 5.00× |"),
            "1/f = 5 ≤ 16 is within reach: {md}"
        );
        assert!(
            !md.contains(": Universal Scalability Law"),
            "no USL table below 6 counts: {md}"
        );
    }
}
