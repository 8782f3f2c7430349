//! The answer, as text: a speed-up table per method, scaling mode and
//! amount of work, and the one line that says how fast this machine gets.
//!
//! Only formats a finished summary ([`SummaryRow`]s); it never measures, so
//! the same text can be rebuilt from `summary.csv` alone.

use std::fmt::Write;

use piscale_kernels::Method;

use super::format::{percent, times, work};
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
/// `1.96× (98%)` — speed-up over the same kernel at 1 worker, and
/// efficiency — then `noisy` when the point is noisy; `failed` when every
/// repetition failed; `n/a` without a baseline.
pub(crate) fn speedup_cell(row: &SummaryRow, noisy: &str) -> String {
    let noisy = if row.is_noisy() { noisy } else { "" };
    match (row.speedup, row.efficiency) {
        (Some(s), Some(e)) => format!("{} ({}){noisy}", times(s), percent(e)),
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

/// `speed-up on this system at P workers: X.XX× (backend, method)`.
///
/// P is the largest worker count with a speed-up, X the best speed-up there
/// — over `serial` at 1 worker where that was measured, else over the same
/// backend at 1 worker. Strong-scaling points are preferred; weak ones
/// (scaled speed-up, marked so) answer only when there are no strong ones.
/// `None` when nothing has a speed-up.
pub fn answer_line(summary: &[SummaryRow]) -> Option<String> {
    let value = |r: &SummaryRow| r.speedup_vs_serial.or(r.speedup).filter(|s| s.is_finite());
    let candidates = |weak: bool| {
        summary
            .iter()
            .filter(move |r| (r.mode == Mode::Weak) == weak)
            .filter_map(move |r| Some((r, value(r)?)))
    };
    let weak = candidates(false).next().is_none();
    let p = candidates(weak).map(|(r, _)| r.workers).max()?;
    let (best, speedup) = candidates(weak)
        .filter(|(r, _)| r.workers == p)
        .reduce(|a, b| if b.1 > a.1 { b } else { a })?;
    Some(format!(
        "speed-up on this system at {p} worker{}: {speedup:.2}× ({}, {}{})",
        if p == 1 { "" } else { "s" },
        best.backend,
        best.method,
        if weak { ", weak scaling" } else { "" }
    ))
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
        summarize(&numbered(rows), 2024)
    }

    #[test]
    fn speedup_table_snapshot() {
        insta::assert_snapshot!(speedup_table(&summary()));
    }

    #[test]
    fn answer_prefers_the_serial_baseline_at_the_most_workers() {
        // At 2 workers: mc threads is 2.2 / 1.05 = 2.10× over serial (its
        // own 1.90× is not used); midpoint threads 1.67×; python-pi1 only
        // 2.2 / 24 = 0.09× over serial; mc threads at N = 1e6 has no serial
        // run, so its own 1.67×.
        assert_eq!(
            answer_line(&summary()).as_deref(),
            Some("speed-up on this system at 2 workers: 2.10× (threads, mc)")
        );
    }

    #[test]
    fn answer_falls_back_to_weak_then_to_nothing() {
        let weak: Vec<SummaryRow> = summary()
            .into_iter()
            .filter(|r| r.mode == Mode::Weak)
            .collect();
        assert_eq!(
            answer_line(&weak).as_deref(),
            Some("speed-up on this system at 2 workers: 2.18× (threads, mc, weak scaling)")
        );
        let failed: Vec<SummaryRow> = summary()
            .into_iter()
            .filter(|r| r.backend.name() == "rayon" && r.workers == 2)
            .collect();
        assert_eq!(answer_line(&failed), None);
        assert_eq!(answer_line(&[]), None);
        assert_eq!(speedup_table(&[]), "");
    }
}
