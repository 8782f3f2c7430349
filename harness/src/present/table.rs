//! The answer, as text: a speed-up table per method, scaling mode and
//! amount of work, and the one line that says how fast this machine gets.
//!
//! Only formats a finished summary ([`SummaryRow`]s); it never measures, so
//! the same text can be rebuilt from `summary.csv` alone.

use std::fmt::Write;

use piscale_kernels::Method;

use super::explain;
use super::format::{percent, probability, times, work};
use crate::analyse::answer::{answers, reps_for_speedup, Answer, Busy, Completeness};
use crate::analyse::capacity::CpuRates;
use crate::analyse::stats::CI_CONFIDENCE;
use crate::analyse::summary::capacity_point;
use crate::results::{Kernel, Mode, SummaryRow};

/// One table: the points of one method and mode at one amount of work
/// (total work for strong scaling, work per worker for weak scaling). The
/// reports group their tables the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Group {
    pub(crate) method: Method,
    pub(crate) mode: Mode,
    pub(crate) work: u64,
}

impl Group {
    pub(crate) fn of(row: &SummaryRow) -> Group {
        let id = row.id();
        Group {
            method: id.method,
            mode: id.mode,
            work: id.work(),
        }
    }

    pub(crate) fn is_weak(&self) -> bool {
        self.mode == Mode::Weak
    }

    /// `mc, strong scaling, N = 2^24` or `mc, weak scaling, 2^22 per worker`.
    pub(crate) fn label(&self) -> String {
        if self.is_weak() {
            format!(
                "{}, weak scaling, {} per worker",
                self.method,
                work(self.work)
            )
        } else {
            format!(
                "{}, {} scaling, N = {}",
                self.method,
                self.mode,
                work(self.work)
            )
        }
    }

    fn title(&self) -> String {
        if self.is_weak() {
            format!(
                "{}, weak scaling ({} per worker): scaled speed-up over 1 worker (efficiency)",
                self.method,
                work(self.work)
            )
        } else {
            format!(
                "{}, {} scaling (N = {}): speed-up over 1 worker (efficiency)",
                self.method,
                self.mode,
                work(self.work)
            )
        }
    }
}

/// The rows of each group, groups in order, rows in summary order.
pub(crate) fn groups(summary: &[SummaryRow]) -> Vec<(Group, Vec<&SummaryRow>)> {
    let mut groups: Vec<Group> = summary.iter().map(Group::of).collect();
    groups.sort();
    groups.dedup();
    groups
        .into_iter()
        .map(|g| (g, summary.iter().filter(|r| Group::of(r) == g).collect()))
        .collect()
}

/// Speed-up tables, one per method, mode and amount of work: a row per
/// backend (and command kernel), a column per worker count, cells
/// `1.96× (98%)` — speed-up over the same backend at 1 worker, and
/// efficiency. A point whose repetitions all failed reads `failed`, one
/// without a baseline `n/a`, a noisy one (cv above 5 %) carries a `*`.
///
/// The answer itself is [`answer_line`], printed after this.
pub fn speedup_table(summary: &[SummaryRow]) -> String {
    let mut out = String::new();
    let mut any_noisy = false;
    for (group, rows) in groups(summary) {
        let group = &group;
        let workers = worker_counts(&rows);
        let backends = kernels(&rows);

        let mut grid: Vec<Vec<String>> = Vec::with_capacity(backends.len() + 1);
        grid.push(
            std::iter::once("backend".to_string())
                .chain(workers.iter().map(|p| format!("p={p}")))
                .collect(),
        );
        for backend in backends {
            let mut line = vec![backend.to_string()];
            for p in &workers {
                let point = rows
                    .iter()
                    .find(|r| r.backend == *backend && r.workers == *p);
                any_noisy |= point.is_some_and(|r| r.is_noisy());
                line.push(point.map_or_else(String::new, |r| speedup_cell(r, "*")));
            }
            grid.push(line);
        }

        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&group.title());
        out.push('\n');
        render(&mut out, &grid);
    }
    if any_noisy {
        out.push_str("\n* noisy: the repetitions of this point vary by more than 5 % (cv)\n");
    }
    let coverage = summary
        .iter()
        .filter(|r| r.speedup_low < r.speedup_high)
        .filter_map(|r| r.speedup_coverage)
        .min_by(f64::total_cmp);
    if let Some(coverage) = coverage {
        out.push_str(if any_noisy { "" } else { "\n" });
        out.push_str(&interval_note(coverage, max_reps(summary)));
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out
}

/// Kernels in the order they first appear (the summary's order).
pub(crate) fn kernels<'a>(rows: &[&'a SummaryRow]) -> Vec<&'a Kernel> {
    let mut out: Vec<&Kernel> = Vec::new();
    for r in rows {
        if !out.contains(&&r.backend) {
            out.push(&r.backend);
        }
    }
    out
}

/// Worker counts, ascending.
pub(crate) fn worker_counts(rows: &[&SummaryRow]) -> Vec<usize> {
    let mut workers: Vec<usize> = rows.iter().map(|r| r.workers).collect();
    workers.sort_unstable();
    workers.dedup();
    workers
}

/// One cell of a speed-up table, the same in the terminal and the reports:
/// `1.96× [1.82–2.00] (98%)` — speed-up over the same kernel at 1 worker,
/// its interval (none at 1 worker, where it is exactly 1) and efficiency —
/// then `noisy` when the point is noisy; `failed` when every repetition
/// failed; `n/a` without a baseline.
pub(crate) fn speedup_cell(row: &SummaryRow, noisy: &str) -> String {
    let noisy = if row.is_noisy() { noisy } else { "" };
    let interval = match (row.speedup_low, row.speedup_high) {
        (Some(low), Some(high)) if low < high => format!(" [{low:.2}–{high:.2}]"),
        _ => String::new(),
    };
    match (row.speedup, row.efficiency) {
        (Some(s), Some(e)) => format!("{}{interval} ({}){noisy}", times(s), percent(e)),
        _ if row.all_failed() => "failed".to_string(),
        _ => format!("n/a{noisy}"),
    }
}

/// Aligned columns: the first left-aligned, the rest right-aligned.
fn render(out: &mut String, grid: &[Vec<String>]) {
    let columns = grid.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            grid.iter()
                .filter_map(|line| line.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for line in grid {
        let mut text = String::new();
        for (c, field) in line.iter().enumerate() {
            let width = widths[c];
            // `write!` to a String cannot fail.
            let _ = if c == 0 {
                write!(text, "{field:<width$}")
            } else {
                write!(text, "  {field:>width$}")
            };
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
}

/// Aligned columns under `header`, two spaces apart, indented by two;
/// the columns in `left` flush left, the others right.
pub(crate) fn columns(header: &[&str], rows: Vec<Vec<String>>, left: &[usize]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let cells: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, &w))| {
                let pad = " ".repeat(w - cell.chars().count());
                if left.contains(&i) {
                    format!("{cell}{pad}")
                } else {
                    format!("{pad}{cell}")
                }
            })
            .collect();
        format!("  {}\n", cells.join("  ").trim_end())
    };
    let mut s = line(header.to_vec());
    for row in &rows {
        s.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    s
}

/// The answer, as text: one line per method —
/// `speed-up on this system at 2 workers: 1.90× [1.82–2.00] (threads, mc)`
/// — qualified where it must be (noisy, above p, weak scaling, which amount
/// of work); first, when the sweep is partial, that the answer covers only
/// what was measured; last, what the interval means. Which point answers is
/// [`answers`]'s rule; its figures are its table entry's.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnswerText {
    /// Said first when the sweep is partial.
    pub partial: Option<String>,
    /// One line per method, each with why it is what it is (the
    /// machine's capacity and the losses) when the sweep measured the
    /// capacity.
    pub answers: Vec<(String, Option<String>)>,
    /// Each of your own programs (command kernels) against piscale's
    /// serial kernel, after the answers.
    pub commands: Vec<String>,
    /// Said after the answers when the machine was busy.
    pub busy: Option<String>,
    /// What the bracketed interval means.
    pub note: Option<String>,
}

impl AnswerText {
    /// Every line, in order.
    pub fn lines(&self) -> Vec<&str> {
        let answers = self
            .answers
            .iter()
            .flat_map(|(line, why)| std::iter::once(line).chain(why));
        self.partial
            .iter()
            .chain(answers)
            .chain(&self.commands)
            .chain(&self.busy)
            .chain(&self.note)
            .map(String::as_str)
            .collect()
    }
}

/// The answer text; `None` when no point has a speed-up.
pub fn answer_text(
    summary: &[SummaryRow],
    completeness: Option<Completeness>,
    busy: Option<Busy>,
    rates: &[CpuRates],
) -> Option<AnswerText> {
    let answers = answers(summary);
    if answers.is_empty() {
        return None;
    }
    let several_works = |a: &Answer<'_>| {
        let mut works: Vec<u64> = summary
            .iter()
            .filter(|r| r.method == a.method() && r.mode == a.row.mode)
            .map(|r| r.id().work())
            .collect();
        works.sort_unstable();
        works.dedup();
        works.len() > 1
    };
    let coverage = answers
        .iter()
        .filter_map(|a| a.interval.filter(|i| i.0 < i.1).map(|i| i.2))
        .min_by(f64::total_cmp);
    Some(AnswerText {
        partial: completeness
            .filter(Completeness::is_partial)
            .map(|c| partial_line(&c)),
        answers: answers
            .iter()
            .map(|a| {
                let capacity = capacity_point(rates.iter().map(|r| &r.point), &a.row.id());
                let rates = rates.iter().find(|r| r.point == capacity);
                let why = explain::why(a.row, rates).map(|why| format!("  {why}"));
                (answer_line(a, several_works(a)), why)
            })
            .collect(),
        commands: command_rows(summary)
            .filter_map(|r| explain::command_vs_serial(summary, r))
            .collect(),
        busy: busy.map(|b| busy_line(&b)),
        note: coverage.map(|c| interval_note(c, max_reps(summary))),
    })
}

/// Each command kernel's strong-scaling point at its most workers, of its
/// largest work, in summary order.
fn command_rows(summary: &[SummaryRow]) -> impl Iterator<Item = &SummaryRow> {
    let commands = summary
        .iter()
        .filter(|r| matches!(r.backend, Kernel::Command(_)) && r.mode == Mode::Strong);
    let mut best: Vec<&SummaryRow> = Vec::new();
    for r in commands {
        match best
            .iter_mut()
            .find(|b| b.backend == r.backend && b.method == r.method)
        {
            Some(b) if (r.samples, r.workers) > (b.samples, b.workers) => *b = r,
            Some(_) => {}
            None => best.push(r),
        }
    }
    best.into_iter()
}

/// `busy machine: load average 4.6 on 2 CPUs at the start; … unreliable`.
pub fn busy_line(b: &Busy) -> String {
    let mut parts = Vec::new();
    if let Some((load, cpus)) = b.load {
        parts.push(format!(
            "load average {load:.1} on {cpus} CPU{} at the start",
            if cpus == 1 { "" } else { "s" }
        ));
    }
    let (disturbed, reps) = b.disturbed;
    if disturbed > 0 {
        parts.push(format!(
            "{disturbed} of {reps} repetitions disturbed (stolen or stalled CPU time, or a \
             crowded start) even after their retries"
        ));
    }
    format!(
        "busy machine: {}; these figures are unreliable — measure again on a quiet machine",
        parts.join(", ")
    )
}

/// `speed-up on this system at 2 workers: 1.90× [1.82–2.00] (threads, mc)`.
fn answer_line(a: &Answer<'_>, name_work: bool) -> String {
    let p = a.row.workers;
    let mut line = format!(
        "{}speed-up on this system at {p} worker{}: {}",
        if a.is_weak() { "scaled " } else { "" },
        if p == 1 { "" } else { "s" },
        times(a.speedup)
    );
    if let Some((low, high, _)) = a.interval.filter(|i| i.0 < i.1) {
        line.push_str(&format!(" [{low:.2}–{high:.2}]"));
    }
    let group = Group::of(a.row);
    line.push_str(&format!(" ({}, {}", a.row.backend, a.method()));
    if a.is_weak() {
        line.push_str(&format!(", weak scaling, {} per worker", work(group.work)));
    } else if name_work {
        line.push_str(&format!(", N = {}", work(group.work)));
    }
    line.push(')');
    if let Some(cv) = a.noisy_cv {
        line.push_str(&format!("; noisy: repetitions vary by {}", probability(cv)));
    }
    let low = a.interval.map_or(a.speedup, |i| i.0);
    if low > p as f64 {
        line.push_str(&format!(
            "; above p = {p} even at its interval's low end: superlinear (caches, or a slow 1-worker run)"
        ));
    }
    line
}

/// What the bracketed interval means, and how many repetitions make it a
/// 95 % one.
fn interval_note(coverage: f64, reps: usize) -> String {
    let enough = reps_for_speedup(CI_CONFIDENCE);
    let mut note = format!(
        "[low–high]: the speed-up's interval, which holds the true speed-up with probability ≥ {}",
        probability(coverage)
    );
    if reps < enough {
        note.push_str(&format!(
            " ({reps} repetition{} per point; --reps {enough} gives ≥ {})",
            if reps == 1 { "" } else { "s" },
            probability(CI_CONFIDENCE)
        ));
    }
    note
}

/// `partial sweep: 5 of 26 points have fewer repetitions than planned …`.
fn partial_line(c: &Completeness) -> String {
    let mut parts = Vec::new();
    if c.short_points > 0 {
        parts.push(format!(
            "{} of {} points have fewer repetitions than planned (the sweep was stopped; \
             --resume finishes it)",
            c.short_points, c.points
        ));
    }
    if c.failed_points > 0 {
        parts.push(format!(
            "{} point{} had failed repetitions",
            c.failed_points,
            if c.failed_points == 1 { "" } else { "s" }
        ));
    }
    format!(
        "partial sweep: {}; the answer covers only what was measured",
        parts.join(", ")
    )
}

/// The most successful repetitions of any point.
fn max_reps(summary: &[SummaryRow]) -> usize {
    summary.iter().map(|r| r.reps).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyse::summary::summarize;
    use crate::results::fixture::{fixture, numbered, row, with_method};

    /// The rows fixture plus a midpoint sweep (one noisy point) and a
    /// second, smaller N for mc.
    fn summary() -> Vec<SummaryRow> {
        let mut rows = fixture();
        let mut add = |method: Method, backend: &str, workers: usize, samples: u64, t: f64| {
            rows.push(with_method(
                method,
                row(backend, Mode::Strong, workers, samples, t),
            ));
        };
        for t in [1.0, 1.0, 1.0] {
            add(Method::Midpoint, "serial", 1, 1 << 30, t);
            add(Method::Midpoint, "threads", 1, 1 << 30, t);
            add(Method::Mc, "threads", 1, 1_000_000, t / 100.0);
        }
        for t in [0.5, 0.6, 0.7] {
            add(Method::Midpoint, "threads", 2, 1 << 30, t);
            add(Method::Mc, "threads", 2, 1_000_000, t / 100.0);
        }
        summarize(&numbered(rows))
    }

    #[test]
    fn speedup_table_snapshot() {
        insta::assert_snapshot!(speedup_table(&summary()));
    }

    #[test]
    fn the_answer_is_the_table_entry_with_its_interval() {
        let text = answer_text(&summary(), None, None, &[]).unwrap();
        assert_eq!(text.partial, None);
        // mc: threads at 2 workers and the larger N, 2 / 1.05 over its own
        // 1-worker run (python-pi1's 1.67× is lower; rayon failed); the
        // interval is 2.0 / 1.1 .. 2.0 / 1.0. midpoint: 1 / 0.6, noisy.
        let lines: Vec<&str> = text.answers.iter().map(|(l, _)| l.as_str()).collect();
        assert!(text.answers.iter().all(|(_, why)| why.is_none()));
        assert_eq!(
            lines,
            [
                "speed-up on this system at 2 workers: 1.90× [1.82–2.00] (threads, mc, N = 2e9)",
                "speed-up on this system at 2 workers: 1.67× [1.43–2.00] (threads, midpoint); \
                 noisy: repetitions vary by 16 %",
            ]
        );
        // The table says the same.
        let table = speedup_table(&summary());
        assert!(table.contains("1.90× [1.82–2.00] (95%)"), "{table}");
        assert!(table.contains("1.67× [1.43–2.00] (83%)*"), "{table}");
        assert_eq!(
            text.note.as_deref(),
            Some(
                "[low–high]: the speed-up's interval, which holds the true speed-up with \
                 probability ≥ 56 % (3 repetitions per point; --reps 7 gives ≥ 95 %)"
            )
        );
        let partial = Completeness {
            short_points: 2,
            failed_points: 1,
            points: 12,
        };
        assert_eq!(
            answer_text(&summary(), Some(partial), None, &[])
                .unwrap()
                .partial
                .as_deref(),
            Some(
                "partial sweep: 2 of 12 points have fewer repetitions than planned (the sweep \
                 was stopped; --resume finishes it), 1 point had failed repetitions; the answer \
                 covers only what was measured"
            )
        );
    }

    #[test]
    fn answer_falls_back_to_weak_then_to_nothing() {
        let weak: Vec<SummaryRow> = summary()
            .into_iter()
            .filter(|r| r.mode == Mode::Weak)
            .collect();
        assert_eq!(
            answer_text(&weak, None, None, &[]).unwrap().answers,
            [("scaled speed-up on this system at 2 workers: 1.82× (threads, mc, weak scaling, 1e8 per worker)".to_string(), None)]
        );
        let failed: Vec<SummaryRow> = summary()
            .into_iter()
            .filter(|r| r.backend.name() == "rayon" && r.workers == 2)
            .collect();
        assert_eq!(answer_text(&failed, None, None, &[]), None);
        assert_eq!(answer_text(&[], None, None, &[]), None);
        assert_eq!(speedup_table(&[]), "");
    }
}
