//! The report's models section: Amdahl and Karp–Flatt for strong scaling,
//! Gustafson for weak scaling.

use super::doc::{strong, text, Block, Table};
use super::document::NONE;
use crate::analyse::models::{
    amdahl_fit, gustafson, gustafson_fit, gustafson_serial_fraction, karp_flatt,
};
use crate::present::format;
use crate::present::table::{kernels, worker_counts, Group};
use crate::results::{Kernel, SummaryRow};

/// The models section: Amdahl and Karp–Flatt for strong scaling,
/// Gustafson for weak scaling.
pub(super) fn section(groups: &[(Group, Vec<&SummaryRow>)]) -> Vec<Block> {
    let mut blocks = vec![Block::Heading(2, "Models".into()), explanation()];
    let mut tables = 0;
    // The worker count above 1 of each table that has only one.
    let mut single: Vec<usize> = Vec::new();
    for (group, rows) in groups {
        let workers: Vec<usize> = worker_counts(rows).into_iter().filter(|&p| p > 1).collect();
        if workers.is_empty() {
            continue;
        }
        let table = if group.is_weak() {
            gustafson_table(rows, &workers)
        } else {
            amdahl_table(rows, &workers)
        };
        if table.rows.is_empty() {
            continue;
        }
        tables += 1;
        let model = if group.is_weak() {
            "Gustafson"
        } else {
            "Amdahl and Karp–Flatt"
        };
        blocks.push(Block::Heading(3, format!("{}: {model}", group.label())));
        blocks.push(Block::Table(table));
        if workers.len() == 1 {
            single.push(workers[0]);
        }
    }
    if tables == 0 {
        blocks.push(Block::Para(vec![text(
            "No backend has a speed-up at more than one worker: there is nothing to fit.",
        )]));
    } else if !single.is_empty() {
        let every = single.len() == tables;
        single.sort_unstable();
        single.dedup();
        let counts: Vec<String> = single.iter().map(|p| format!("p = {p}")).collect();
        // Said once, before the tables it is about.
        blocks.insert(
            2,
            Block::Para(vec![text(format!(
                "{} one worker count above 1 ({}): there a fitted f is just the value \
                 measured at that p — Amdahl's f is Karp–Flatt's e clamped to [0, 1], \
                 Gustafson's the implied f. Sweep more worker counts to test the laws.",
                if every {
                    "Every table below rests on"
                } else {
                    "Some tables below rest on"
                },
                counts.join(", ")
            ))]),
        );
    }
    blocks
}

/// `(workers, speed-up)` of a backend's points that have one.
fn curve(rows: &[&SummaryRow], kernel: &Kernel) -> Vec<(usize, f64)> {
    rows.iter()
        .filter(|r| r.backend == *kernel)
        .filter_map(|r| Some((r.workers, r.speedup.filter(|s| s.is_finite())?)))
        .collect()
}

/// backend | Amdahl f | max speed-up 1/f | e at each p > 1.
fn amdahl_table(rows: &[&SummaryRow], workers: &[usize]) -> Table {
    let mut header = vec![
        "backend".to_string(),
        "Amdahl f".into(),
        "max speed-up 1/f".into(),
    ];
    header.extend(workers.iter().map(|p| format!("e at p={p}")));
    let mut table = Table::labelled(header);
    for kernel in kernels(rows) {
        let points = curve(rows, kernel);
        if !points.iter().any(|&(p, _)| p > 1) {
            continue;
        }
        let fit = amdahl_fit(&points);
        let mut line = vec![
            kernel.to_string(),
            fit.map_or_else(|| NONE.into(), |f| format::fraction(f.serial_fraction)),
            fit.map_or_else(|| NONE.into(), |f| format::times(f.max_speedup)),
        ];
        for p in workers {
            let e = points
                .iter()
                .find(|(q, _)| q == p)
                .and_then(|&(q, s)| karp_flatt(s, q));
            line.push(e.map_or_else(|| NONE.into(), format::fraction));
        }
        table.rows.push(line);
    }
    table
}

/// backend | fitted f | S it predicts at twice the largest p | `S (f)`
/// at each p > 1.
fn gustafson_table(rows: &[&SummaryRow], workers: &[usize]) -> Table {
    let ahead = 2 * workers.iter().max().copied().unwrap_or(1);
    let mut header = vec![
        "backend".to_string(),
        "Gustafson f".into(),
        format!("predicted S at p={ahead}"),
    ];
    header.extend(workers.iter().map(|p| format!("p={p}: S (f)")));
    let mut table = Table::labelled(header);
    for kernel in kernels(rows) {
        let points = curve(rows, kernel);
        if !points.iter().any(|&(p, _)| p > 1) {
            continue;
        }
        let fit = gustafson_fit(&points);
        let mut line = vec![
            kernel.to_string(),
            fit.map_or_else(|| NONE.into(), format::fraction),
            fit.map_or_else(|| NONE.into(), |f| format::times(gustafson(f, ahead))),
        ];
        for p in workers {
            let cell = points.iter().find(|(q, _)| q == p).map(|&(q, s)| {
                let f =
                    gustafson_serial_fraction(s, q).map_or_else(|| NONE.into(), format::fraction);
                format!("{} ({f})", format::times(s))
            });
            line.push(cell.unwrap_or_else(|| NONE.into()));
        }
        table.rows.push(line);
    }
    table
}

/// What the models say and how they are fitted.
fn explanation() -> Block {
    Block::Para(vec![
        strong("Amdahl"),
        text(
            " (strong scaling): S(p) = 1 / (f + (1 − f)/p). The serial fraction f is \
             fitted by least squares to every measured p > 1 of a backend; 1/f is the \
             speed-up no number of workers can exceed. ",
        ),
        strong("Karp–Flatt"),
        text(
            ": e = (1/S − 1/p) / (1 − 1/p) at each p. An e that grows with p points at \
             overhead (spawning, reduction, imbalance) rather than serial work; a \
             negative e means super-linear speed-up. ",
        ),
        strong("Gustafson"),
        text(
            " (weak scaling): scaled speed-up S = p − f·(p − 1); f = (p − S)/(p − 1) is \
             the serial fraction a measured S implies, fitted over every p > 1 like \
             Amdahl's, and the law with that f predicts S on a machine twice as large.",
        ),
    ])
}
