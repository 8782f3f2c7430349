//! `piscale compare` as GitHub-flavoured markdown: the two runs, warnings,
//! the verdict, the table of shared points and the points only one run has
//! (the decisions are `analyse::compare`'s).

use std::path::Path;

use super::format;
use super::report::doc::{code, strong, text, Block, Inline, Table};
use super::report::markdown;
use crate::analyse::compare::{
    Comparison, PointComparison, Unmatched, Verdict, DRIFT_MIN_POINTS, GLOBAL_THRESHOLD_PCT,
};
use crate::results::{Machine, PointId};

/// The comparison as markdown (a level-2 heading, so it can follow
/// `report.md` in a CI job summary).
pub fn markdown(c: &Comparison) -> String {
    let mut blocks = vec![Block::Heading(2, "piscale compare".into())];
    let run = |label: &str, dir: &Path, machine: &Option<Machine>| {
        let mut line = vec![strong(label), text(" "), code(dir.display().to_string())];
        if let Some(m) = machine {
            line.push(text(format!(" — {}", about(m))));
        }
        Block::Para(line)
    };
    blocks.push(run("Base:", &c.base, &c.base_machine));
    blocks.push(run("New:", &c.new, &c.new_machine));
    for warning in &c.warnings {
        blocks.push(Block::Callout(vec![
            strong("Warning:"),
            text(format!(" {warning}")),
        ]));
    }
    blocks.push(Block::Para(verdict(c)));
    blocks.push(Block::Table(points_table(&c.points, c.drift)));
    let limit = 1.0 + c.threshold_pct / 100.0;
    let coverage = c
        .points
        .iter()
        .map(|p| p.coverage)
        .min_by(f64::total_cmp)
        .unwrap_or(0.0);
    blocks.push(Block::Para(vec![text(format!(
        "ratio = new / base median wall time. Its interval divides the ends of the two \
         medians' intervals (order statistics of the repetitions) and holds the true \
         ratio with probability ≥ {:.0} %. drift = the median ratio of all shared \
         points (from {DRIFT_MIN_POINTS} points on): how much faster or slower the \
         machine ran the new sweep; \"over drift\" is the interval divided by it. A \
         point regresses when that whole interval lies above {limit:.2} \
         (threshold {}%), and is faster when it lies below {:.2}; a drift above {:.2} \
         is a regression of every point.",
        coverage * 100.0,
        c.threshold_pct,
        1.0 / limit,
        1.0 + GLOBAL_THRESHOLD_PCT / 100.0,
    ))]));
    for (title, list, other) in [
        ("Only in base", &c.only_base, "new"),
        ("Only in new", &c.only_new, "base"),
    ] {
        blocks.extend(unmatched(title, list, other));
    }
    markdown::render_blocks(&blocks)
}

/// `**2 regressions** in 5 shared points: …` or `**No regression** in …`.
fn verdict(c: &Comparison) -> Vec<Inline> {
    let regressions: Vec<&PointComparison> = c.regressions().collect();
    let faster = c
        .points
        .iter()
        .filter(|p| p.verdict == Verdict::Faster)
        .count();
    let shared = c.points.len();
    let disturbed = c
        .points
        .iter()
        .filter(|p| p.verdict == Verdict::Disturbed)
        .count();
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
    if disturbed > 0 {
        verdict.push(text(format!(
            " ({disturbed} point{} without a verdict: slower, but the noise guard found most \
             repetitions of {} disturbed — run again on a quieter machine)",
            if disturbed == 1 { "" } else { "s" },
            if disturbed == 1 { "it" } else { "them" }
        )));
    }
    if regressions.is_empty() {
        verdict.push(text("."));
    } else {
        let list: Vec<String> = regressions
            .iter()
            .map(|p| format!("{} ({})", describe(&p.id), format::times(p.ratio)))
            .collect();
        verdict.push(text(format!(": {}.", list.join("; "))));
    }
    if c.global_regression() {
        verdict.push(text(" "));
        verdict.push(strong(format!(
            "Every point is slower: the new sweep took {} the base's time (drift above {:.2}×)",
            format::times(c.drift),
            1.0 + GLOBAL_THRESHOLD_PCT / 100.0
        )));
        verdict.push(text(
            " — a change that slowed everything, or a slower machine.",
        ));
    } else if c.points.len() >= DRIFT_MIN_POINTS {
        verdict.push(text(format!(
            " Drift: the new sweep took {} the base's time across all points ({:.2}–{:.2}); \
             verdicts are relative to it.",
            format::times(c.drift),
            c.drift_interval.0,
            c.drift_interval.1
        )));
    }
    verdict
}

/// One line per shared point.
fn points_table(points: &[PointComparison], drift: f64) -> Table {
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
            "interval",
            "over drift",
            "verdict",
        ]
        .map(String::from)
        .to_vec(),
    );
    table.numeric = vec![
        false, false, false, true, true, true, true, true, true, true, false,
    ];
    for p in points {
        table.rows.push(vec![
            p.id.method.to_string(),
            p.id.kernel.to_string(),
            p.id.mode.to_string(),
            p.id.workers.to_string(),
            format::work(p.id.samples),
            format::time(p.base_median_s),
            format::time(p.new_median_s),
            format::times(p.ratio),
            format!("{:.2}–{:.2}", p.ci.0, p.ci.1),
            format!("{:.2}–{:.2}", p.ci.0 / drift, p.ci.1 / drift),
            p.verdict.to_string(),
        ]);
    }
    table
}

/// The points only one run has, under `title`; nothing when there are none.
fn unmatched(title: &str, list: &[Unmatched], other: &str) -> Vec<Block> {
    if list.is_empty() {
        return Vec::new();
    }
    let items = list
        .iter()
        .map(|u| {
            let mut s = describe(&u.id);
            if u.failed_in_other {
                s.push_str(&format!(" — every repetition failed in {other}"));
            }
            vec![text(s)]
        })
        .collect();
    vec![
        Block::Para(vec![strong(format!(
            "{title} ({} point{}):",
            list.len(),
            if list.len() == 1 { "" } else { "s" }
        ))]),
        Block::List(items),
    ]
}

/// `mc, threads, strong, 2 workers, N = 2^24`.
pub fn describe(id: &PointId) -> String {
    format!(
        "{}, {}, {}, {} worker{}, N = {}",
        id.method,
        id.kernel,
        id.mode,
        id.workers,
        if id.workers == 1 { "" } else { "s" },
        format::work(id.samples)
    )
}

/// `AMD EPYC 7B13 on ci-runner, piscale 0.1.0 (git abc1234), started 2025-01-01T12:00:00`.
fn about(m: &Machine) -> String {
    let mut parts = Vec::new();
    match (&m.cpu_model, &m.hostname) {
        (Some(cpu), Some(host)) => parts.push(format!("{cpu} on {host}")),
        (Some(cpu), None) => parts.push(cpu.clone()),
        (None, Some(host)) => parts.push(host.clone()),
        (None, None) => {}
    }
    if let Some(v) = &m.piscale_version {
        parts.push(match &m.git_revision {
            Some(rev) => format!("piscale {v} (git {rev})"),
            None => format!("piscale {v}"),
        });
    }
    if let Some(t) = &m.started_at {
        parts.push(format!("started {}", t.get(..19).unwrap_or(t)));
    }
    parts.join(", ")
}
