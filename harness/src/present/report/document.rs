//! The report's content, built once as a [`Document`] and rendered twice
//! (markdown and HTML): the answer, the machine, the plots, the results
//! tables and the models.

use super::doc::{code, strong, text, Block, Document, Figure, Inline, Table};
use super::{capacity, machine, models};
use crate::analyse::answer::Busy;
use crate::analyse::models::{gustafson_serial_fraction, karp_flatt};
use crate::present::format;
use crate::present::table::{
    answer_text, busy_line, groups, kernels, speedup_cell, worker_counts, Group,
};
use crate::present::Inputs;
use crate::results::{OutDir, SummaryRow};

/// Marks a point whose repetitions vary by more than 5 % (cv).
const NOISY: &str = "†";
/// A figure that could not be computed or was not measured.
pub(super) const NONE: &str = "—";

/// The whole report.
pub(super) fn document(results: &Inputs, figures: Vec<Figure>) -> Document {
    let summary = &results.summary;
    let mut blocks = Vec::new();
    let busy = Busy::of(summary, results.machine.as_ref());
    if let Some(busy) = &busy {
        blocks.push(Block::Callout(vec![
            strong("Warning:"),
            text(format!(" {}.", capitalize(&busy_line(busy)))),
        ]));
    }
    match answer_text(summary, results.completeness, None, &results.cpu_rates) {
        Some(answer) => {
            if let Some(partial) = answer.partial {
                blocks.push(Block::Para(vec![strong(capitalize(&partial))]));
            }
            for (line, why) in &answer.answers {
                let mut callout = vec![strong(capitalize(line))];
                if let Some(why) = why {
                    callout.push(text(format!(". {}.", capitalize(why.trim()))));
                }
                blocks.push(Block::Callout(callout));
            }
            // A command's name is the user's, as written: not capitalised.
            for line in &answer.commands {
                blocks.push(Block::Callout(vec![strong(line.clone())]));
            }
            if let Some(note) = answer.note {
                blocks.push(Block::Para(vec![text(note)]));
            }
        }
        None => blocks.push(Block::Callout(vec![strong(
            "No speed-up could be computed: no point has a successful 1-worker baseline.",
        )])),
    }
    blocks.extend([
        Block::Para(overview(summary)),
        Block::Heading(2, "Machine".into()),
    ]);
    match &results.machine {
        Some(m) => {
            let mut table = Table {
                header: vec!["".into(), "".into()],
                ..Table::default()
            };
            table.rows = machine::rows(m)
                .into_iter()
                .map(|(k, v)| vec![k, v])
                .collect();
            blocks.push(Block::Table(table));
            if let Some(command) = machine::command_line(m) {
                blocks.push(Block::Para(vec![text("Command: "), code(command)]));
            }
        }
        None => blocks.push(Block::Para(vec![
            code(OutDir::MACHINE),
            text(" is missing: the machine is unknown."),
        ])),
    }
    blocks.push(Block::Heading(2, "Plots".into()));
    if figures.is_empty() {
        blocks.push(Block::Para(vec![
            text("No plots in "),
            code(format!("{}/", OutDir::PLOTS)),
            text(" yet: "),
            code("piscale plot DIR"),
            text(" draws them."),
        ]));
    } else {
        blocks.push(Block::Figures(figures));
    }
    let groups = groups(summary);
    blocks.extend(results_section(&groups, results));
    blocks.extend(capacity::section(&groups, &results.cpu_rates));
    blocks.extend(models::section(&groups));
    blocks.push(Block::Para(footer()));
    Document {
        title: "piscale scaling report".into(),
        blocks,
        machine_json: results
            .machine
            .as_ref()
            .and_then(|m| serde_json::to_string_pretty(m).ok()),
    }
}

/// `Results`: a speed-up grid per group, with every point's figures folded.
fn results_section(groups: &[(Group, Vec<&SummaryRow>)], results: &Inputs) -> Vec<Block> {
    let mut blocks = vec![
        Block::Heading(2, "Results".into()),
        Block::Para(vec![
            text(
                "Speed-up over the same backend at 1 worker (efficiency = speed-up / workers); \
                 for weak scaling the scaled speed-up p·t1/tp. ",
            ),
            strong("vs serial"),
            text(
                ": over the serial backend at 1 worker with the same work. Times are medians \
                 of the repetitions. A median's interval runs from the k-th smallest to the \
                 k-th largest repetition, with the probability (in brackets) that it holds \
                 the true median: exact for any distribution of times, 95 % or more from 6 \
                 repetitions, 75 % with 3. A speed-up's interval [low–high] divides the ends \
                 of the two medians' intervals and holds the true speed-up at least as often \
                 as both do. Spawn, compute and reduce are the medians of each phase.",
            ),
        ]),
    ];
    let mut any_noisy = false;
    for (group, rows) in groups {
        blocks.push(Block::Heading(3, group.label()));
        blocks.push(Block::Table(grid(rows, &mut any_noisy)));
        blocks.push(Block::Details {
            summary: format!(
                "Every point of {}: times, confidence intervals, phases",
                group.label()
            ),
            body: vec![Block::Table(points_table(group, rows, results))],
        });
    }
    if groups.is_empty() {
        blocks.push(Block::Para(vec![text(format!(
            "{} holds no points.",
            OutDir::SUMMARY
        ))]));
    }
    if any_noisy {
        blocks.push(Block::Para(vec![text(format!(
            "{NOISY} noisy: the repetitions of this point vary by more than 5 % \
             (coefficient of variation); treat its figures with care."
        ))]));
    }
    blocks
}

/// Where to read more, and what the report was built from.
fn footer() -> Vec<Inline> {
    vec![
        text("How to read these figures: "),
        code("docs/reading-speedup-curves.md"),
        text(" in the piscale sources. This report was built from "),
        code(OutDir::SUMMARY),
        text(", "),
        code(OutDir::RAW),
        text(" and "),
        code(OutDir::MACHINE),
        text(" alone; "),
        code("piscale plot DIR"),
        text(" rebuilds it."),
    ]
}

/// `Speed-up on …` from `speed-up on …`.
fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// One sentence: how many points, methods, modes, worker counts,
/// repetitions and failures.
fn overview(summary: &[SummaryRow]) -> Vec<Inline> {
    let distinct = |f: &dyn Fn(&SummaryRow) -> String| {
        let mut v: Vec<String> = Vec::new();
        for r in summary {
            let x = f(r);
            if !v.contains(&x) {
                v.push(x);
            }
        }
        v
    };
    let methods = distinct(&|r| r.method.to_string());
    let modes = distinct(&|r| r.mode.to_string());
    let backends = distinct(&|r| r.backend.to_string());
    let all: Vec<&SummaryRow> = summary.iter().collect();
    let workers: Vec<String> = worker_counts(&all).iter().map(usize::to_string).collect();
    let reps: usize = summary.iter().map(|r| r.reps).sum();
    let failed: usize = summary.iter().map(|r| r.failed).sum();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut s = format!(
        "{} ({}; {} scaling; {}; {} workers): {} measured",
        plural(summary.len(), "point", "points"),
        methods.join(", "),
        modes.join(" and "),
        plural(backends.len(), "backend", "backends"),
        workers.join(", "),
        plural(reps, "repetition", "repetitions"),
    );
    if failed > 0 {
        s.push_str(&format!(
            ", {} failed (their errors are in {})",
            plural(failed, "repetition", "repetitions"),
            OutDir::RAW
        ));
    }
    s.push('.');
    vec![text(s)]
}

/// Backends × workers: `1.88× (94%)` cells.
fn grid(rows: &[&SummaryRow], any_noisy: &mut bool) -> Table {
    let workers = worker_counts(rows);
    let mut header = vec!["backend".to_string()];
    header.extend(workers.iter().map(|p| format!("p={p}")));
    let mut table = Table::labelled(header);
    for kernel in kernels(rows) {
        let mut line = vec![kernel.to_string()];
        for p in &workers {
            let point = rows
                .iter()
                .find(|r| r.backend == *kernel && r.workers == *p);
            line.push(point.map_or_else(String::new, |r| {
                *any_noisy |= r.is_noisy();
                speedup_cell(r, NOISY)
            }));
        }
        table.rows.push(line);
    }
    table
}

/// One line per point: time, interval, speed-ups, Karp–Flatt, phases.
fn points_table(group: &Group, rows: &[&SummaryRow], results: &Inputs) -> Table {
    let (speedup, fraction) = if group.is_weak() {
        // Karp–Flatt is defined for a fixed amount of work; a weak sweep's
        // counterpart is the serial fraction Gustafson's law implies.
        ("scaled speed-up", "Gustafson f")
    } else {
        ("speed-up", "Karp–Flatt e")
    };
    let mut header: Vec<String> = [
        "backend",
        "P",
        "median",
        "interval of median",
        speedup,
        "efficiency",
        "vs serial",
        fraction,
        "samples/ns per worker",
    ]
    .map(String::from)
    .to_vec();
    if results.phases.is_some() {
        header.extend(["spawn", "compute", "reduce"].map(String::from));
    }
    header.push("reps".into());
    let mut table = Table::labelled(header);
    for r in rows {
        table.rows.push(point_line(group, r, results));
    }
    table
}

/// The cells of one point in [`points_table`].
fn point_line(group: &Group, r: &SummaryRow, results: &Inputs) -> Vec<String> {
    let opt = |v: Option<f64>, f: fn(f64) -> String| v.map_or_else(|| NONE.to_string(), f);
    let noisy = if r.is_noisy() { NOISY } else { "" };
    let median = r.median_s.map_or_else(
        || NONE.to_string(),
        |m| format!("{}{noisy}", format::time(m)),
    );
    let ci = match (r.ci_low_s, r.ci_high_s, r.median_s, r.ci_coverage) {
        (Some(lo), Some(hi), Some(m), Some(c)) if lo < hi => {
            format!("{} ({})", format::time_range(lo, hi, m), format::percent(c))
        }
        _ => NONE.to_string(),
    };
    let serial_fraction = r.speedup.and_then(|s| {
        if group.is_weak() {
            gustafson_serial_fraction(s, r.workers)
        } else {
            karp_flatt(s, r.workers)
        }
    });
    let mut line = vec![
        r.backend.to_string(),
        r.workers.to_string(),
        median,
        ci,
        opt(r.speedup, format::times),
        opt(r.efficiency, format::percent),
        opt(r.speedup_vs_serial, format::times),
        opt(serial_fraction, format::fraction),
        // Different N (a script's own) still compare per sample.
        opt(r.samples_per_ns_per_core, format::rate),
    ];
    if let Some(phases) = &results.phases {
        match phases.get(&r.id()) {
            Some(p) => line.extend([p.spawn_s, p.compute_s, p.reduce_s].map(format::time)),
            None => line.extend([NONE; 3].map(String::from)),
        }
    }
    let mut reps = r.reps.to_string();
    if r.failed > 0 {
        reps.push_str(&format!(" ({} failed)", r.failed));
    }
    if r.wrong > 0 {
        // shm-race: its answer wrong on purpose; raw.csv says by how much.
        reps.push_str(&format!(" ({} wrong: updates lost)", r.wrong));
    }
    line.push(reps);
    line
}
