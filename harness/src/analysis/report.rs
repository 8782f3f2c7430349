//! `report.md` and `report.html`: what a sweep found, in words, tables and
//! plots, rebuilt from an output folder's files alone.
//!
//! [`write_reports`] reads `summary.csv` (required), `raw.csv` (for the
//! phase times and failures) and `machine.json` (the machine), finds the
//! plots in `plots/` ([`PlotFile::discover`]) and writes both reports. It
//! never measures anything, so a report can be rebuilt anywhere, any time:
//!
//! ```no_run
//! # use std::path::Path;
//! let dir = Path::new("results/2025-01-01-host-120000");
//! let plots = PlotFile::discover(dir)?;
//! write_reports(dir, &plots)?;
//! # anyhow::Ok(())
//! ```
//!
//! The content is built once as a small document tree ([`doc`]) and
//! rendered twice: GitHub-flavoured markdown fit for a CI job summary
//! ([`markdown`]), and one self-contained HTML file with the plots inlined
//! ([`html`]).

pub(crate) mod doc;
pub(crate) mod format;
mod html;
pub(crate) mod markdown;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use self::doc::{code, strong, text, Block, Document, Figure, Inline, Table};
use super::models::{amdahl_fit, gustafson, gustafson_serial_fraction, karp_flatt};
use crate::sweep::machine::read_machine;
use crate::sweep::rows::{read_raw, read_summary, write_atomic, RawRow, SummaryRow};
use crate::sweep::stats;
use crate::sweep::table::answer_line;

/// The markdown report's file name, in the output folder.
pub const REPORT_MD: &str = "report.md";
/// The HTML report's file name, in the output folder.
pub const REPORT_HTML: &str = "report.html";
/// The folder of the plots, in the output folder.
pub const PLOTS_DIR: &str = "plots";
/// Plot kinds in the order the report shows them (file names
/// `<kind>-<method>.svg`); other kinds follow, by name.
pub const PLOT_KINDS: [&str; 5] = ["speedup", "efficiency", "weak", "time", "phases"];

/// Marks a point whose repetitions vary by more than 5 % (cv).
const NOISY: &str = "†";
/// A figure that could not be computed or was not measured.
const NONE: &str = "—";

/// A plot for the report: an SVG file (`plots/<kind>-<method>.svg`), and
/// its PNG twin when one lies next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlotFile {
    /// What is plotted: `speedup`, `efficiency`, `weak`, `time`, `phases`
    /// (the file name up to its first `-`).
    pub kind: String,
    /// The rest of the file name, normally the method (`mc`).
    pub method: String,
    /// The SVG file.
    pub svg: PathBuf,
}

impl PlotFile {
    /// The plot in `svg`, named `<kind>-<method>.svg`; `None` for a file
    /// that is not an `.svg` or not named so.
    pub fn from_path(svg: impl Into<PathBuf>) -> Option<PlotFile> {
        let svg = svg.into();
        if svg.extension()? != "svg" {
            return None;
        }
        let stem = svg.file_stem()?.to_str()?;
        let (kind, method) = stem.split_once('-')?;
        (!kind.is_empty() && !method.is_empty()).then(|| PlotFile {
            kind: kind.to_string(),
            method: method.to_string(),
            svg: svg.clone(),
        })
    }

    /// Every plot in `dir/plots/`, in report order: by kind
    /// ([`PLOT_KINDS`], then others by name), then method. No folder means
    /// no plots, not an error.
    pub fn discover(dir: &Path) -> Result<Vec<PlotFile>> {
        let plots_dir = dir.join(PLOTS_DIR);
        let entries = match fs::read_dir(&plots_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot list {}", plots_dir.display()))
            }
        };
        let mut plots = Vec::new();
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", plots_dir.display()))?;
            if let Some(plot) = PlotFile::from_path(entry.path()) {
                plots.push(plot);
            }
        }
        plots.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        Ok(plots)
    }

    fn order_key(&self) -> (usize, &str, &str) {
        let rank = PLOT_KINDS
            .iter()
            .position(|k| *k == self.kind)
            .unwrap_or(PLOT_KINDS.len());
        (rank, &self.kind, &self.method)
    }

    /// `speed-up, mc`.
    fn title(&self) -> String {
        let kind = match self.kind.as_str() {
            "speedup" => "speed-up",
            "weak" => "weak scaling",
            "phases" => "phases (spawn, compute, reduce)",
            other => other,
        };
        format!("{kind}, {}", self.method)
    }
}

/// Writes `dir/report.md` and `dir/report.html` from `dir`'s
/// `summary.csv`, `raw.csv` and `machine.json`, showing `plots` (see
/// [`PlotFile::discover`]). A plot whose file is gone is left out; a
/// missing `raw.csv` or `machine.json` leaves out what they would have
/// told. Each report is replaced atomically.
pub fn write_reports(dir: &Path, plots: &[PlotFile]) -> Result<()> {
    let results = Results::read(dir)?;
    let figures = figures(dir, plots);
    let doc = document(&results, figures);
    write_atomic(&dir.join(REPORT_MD), markdown::render(&doc).as_bytes())?;
    write_atomic(&dir.join(REPORT_HTML), html::render(&doc).as_bytes())?;
    Ok(())
}

/// A point: method, backend, mode, workers, samples.
type Key = (String, String, String, usize, u64);

/// Median spawn, compute and reduce times of a point's ok repetitions.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Phases {
    spawn: Option<f64>,
    compute: Option<f64>,
    reduce: Option<f64>,
}

/// What the report is built from.
#[derive(Debug)]
struct Results {
    summary: Vec<SummaryRow>,
    /// `None` without `raw.csv`.
    phases: Option<BTreeMap<Key, Phases>>,
    machine: Option<Value>,
}

impl Results {
    fn read(dir: &Path) -> Result<Results> {
        let summary = read_summary(dir.join("summary.csv"))?;
        let raw_path = dir.join("raw.csv");
        let phases = if raw_path.exists() {
            Some(phases(&read_raw(&raw_path)?))
        } else {
            None
        };
        let machine_path = dir.join("machine.json");
        let machine = if machine_path.exists() {
            Some(read_machine(&machine_path)?)
        } else {
            None
        };
        Ok(Results {
            summary,
            phases,
            machine,
        })
    }
}

/// The median phase times of every point's ok repetitions.
fn phases(raw: &[RawRow]) -> BTreeMap<Key, Phases> {
    let mut times: BTreeMap<Key, [Vec<f64>; 3]> = BTreeMap::new();
    for row in raw.iter().filter(|r| r.is_ok()) {
        let key = (
            row.method.clone(),
            row.backend.clone(),
            row.mode.clone(),
            row.workers,
            row.samples,
        );
        let entry = times.entry(key).or_default();
        for (list, value) in entry
            .iter_mut()
            .zip([row.spawn_s, row.compute_s, row.reduce_s])
        {
            list.extend(value);
        }
    }
    times
        .into_iter()
        .map(|(key, [spawn, compute, reduce])| {
            let phases = Phases {
                spawn: stats::median(&spawn),
                compute: stats::median(&compute),
                reduce: stats::median(&reduce),
            };
            (key, phases)
        })
        .collect()
}

/// The figures of the plots whose SVG can still be read.
fn figures(dir: &Path, plots: &[PlotFile]) -> Vec<Figure> {
    plots
        .iter()
        .filter_map(|plot| {
            let svg_text = fs::read_to_string(&plot.svg).ok()?;
            let png = plot.svg.with_extension("png");
            Some(Figure {
                title: plot.title(),
                svg_href: relative_href(dir, &plot.svg),
                png_href: png.is_file().then(|| relative_href(dir, &png)),
                svg: html::inline_svg(&svg_text),
            })
        })
        .collect()
}

/// `plots/speedup-mc.svg` for a file under `dir`, else the path as given.
fn relative_href(dir: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(dir).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

use crate::sweep::table::{groups, Group};

/// Backends in the order they first appear (the summary's order).
fn backends<'a>(rows: &[&'a SummaryRow]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for r in rows {
        if !out.contains(&r.backend.as_str()) {
            out.push(&r.backend);
        }
    }
    out
}

/// Worker counts, ascending.
fn worker_counts(rows: &[&SummaryRow]) -> Vec<usize> {
    let mut workers: Vec<usize> = rows.iter().map(|r| r.workers).collect();
    workers.sort_unstable();
    workers.dedup();
    workers
}

fn document(results: &Results, figures: Vec<Figure>) -> Document {
    let summary = &results.summary;
    let mut blocks = Vec::new();

    blocks.push(Block::Callout(vec![strong(match answer_line(summary) {
        Some(line) => capitalize(&line),
        None => "No speed-up could be computed: no point has a successful 1-worker baseline."
            .to_string(),
    })]));
    blocks.push(Block::Para(overview(summary)));

    blocks.push(Block::Heading(2, "Machine".into()));
    match &results.machine {
        Some(machine) => {
            let mut table = Table {
                header: vec!["".into(), "".into()],
                ..Table::default()
            };
            table.rows = machine_rows(machine)
                .into_iter()
                .map(|(k, v)| vec![k, v])
                .collect();
            blocks.push(Block::Table(table));
            if let Some(command) = command_line(machine) {
                blocks.push(Block::Para(vec![text("Command: "), code(command)]));
            }
        }
        None => blocks.push(Block::Para(vec![
            code("machine.json"),
            text(" is missing: the machine is unknown."),
        ])),
    }

    blocks.push(Block::Heading(2, "Plots".into()));
    if figures.is_empty() {
        blocks.push(Block::Para(vec![
            text("No plots in "),
            code(format!("{PLOTS_DIR}/")),
            text(" yet: "),
            code("piscale plot DIR"),
            text(" draws them."),
        ]));
    } else {
        blocks.push(Block::Figures(figures));
    }

    blocks.push(Block::Heading(2, "Results".into()));
    blocks.push(Block::Para(vec![
        text(
            "Speed-up over the same backend at 1 worker (efficiency = speed-up / workers); \
             for weak scaling the scaled speed-up p·t1/tp. ",
        ),
        strong("vs serial"),
        text(
            ": over the serial backend at 1 worker with the same work. Times are medians \
             of the repetitions, the interval a bootstrap 95 % confidence interval of the \
             median; spawn, compute and reduce are the medians of each phase.",
        ),
    ]));
    let groups = groups(summary);
    let mut any_noisy = false;
    for (group, rows) in &groups {
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
        blocks.push(Block::Para(vec![text("summary.csv holds no points.")]));
    }
    if any_noisy {
        blocks.push(Block::Para(vec![text(format!(
            "{NOISY} noisy: the repetitions of this point vary by more than 5 % \
             (coefficient of variation); treat its figures with care."
        ))]));
    }

    blocks.extend(models(&groups));

    blocks.push(Block::Para(vec![
        text("How to read these figures: "),
        code("docs/reading-speedup-curves.md"),
        text(" in the piscale sources. This report was built from "),
        code("summary.csv"),
        text(", "),
        code("raw.csv"),
        text(" and "),
        code("machine.json"),
        text(" alone; "),
        code("piscale plot DIR"),
        text(" rebuilds it."),
    ]));

    Document {
        title: "piscale scaling report".into(),
        blocks,
        machine_json: results
            .machine
            .as_ref()
            .and_then(|m| serde_json::to_string_pretty(m).ok()),
    }
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
    let methods = distinct(&|r| r.method.clone());
    let modes = distinct(&|r| r.mode.clone());
    let backends = distinct(&|r| r.backend.clone());
    let mut workers: Vec<usize> = summary.iter().map(|r| r.workers).collect();
    workers.sort_unstable();
    workers.dedup();
    let reps: usize = summary.iter().map(|r| r.reps).sum();
    let failed: usize = summary.iter().map(|r| r.failed).sum();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let workers: Vec<String> = workers.iter().map(usize::to_string).collect();
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
            ", {} failed (their errors are in raw.csv)",
            plural(failed, "repetition", "repetitions")
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
    for backend in backends(rows) {
        let mut line = vec![backend.to_string()];
        for p in &workers {
            let point = rows
                .iter()
                .find(|r| r.backend == backend && r.workers == *p);
            line.push(point.map_or_else(String::new, |r| {
                *any_noisy |= r.noisy == Some(true);
                grid_cell(r)
            }));
        }
        table.rows.push(line);
    }
    table
}

/// `1.88× (94%)`, `failed` or `n/a`, with [`NOISY`] when noisy.
fn grid_cell(row: &SummaryRow) -> String {
    let noisy = if row.noisy == Some(true) { NOISY } else { "" };
    match (row.speedup, row.efficiency) {
        (Some(s), Some(e)) => format!("{} ({}){noisy}", format::times(s), format::percent(e)),
        _ if row.reps == 0 && row.failed > 0 => "failed".to_string(),
        _ => format!("n/a{noisy}"),
    }
}

/// One line per point: time, interval, speed-ups, Karp–Flatt, phases.
fn points_table(group: &Group<'_>, rows: &[&SummaryRow], results: &Results) -> Table {
    let speedup = if group.is_weak() {
        "scaled speed-up"
    } else {
        "speed-up"
    };
    // Karp–Flatt is defined for a fixed amount of work; a weak sweep's
    // counterpart is the serial fraction Gustafson's law implies.
    let fraction = if group.is_weak() {
        "Gustafson f"
    } else {
        "Karp–Flatt e"
    };
    let mut header: Vec<String> = [
        "backend",
        "P",
        "median",
        "95% CI of median",
        speedup,
        "efficiency",
        "vs serial",
        fraction,
    ]
    .map(String::from)
    .to_vec();
    if results.phases.is_some() {
        header.extend(["spawn", "compute", "reduce"].map(String::from));
    }
    header.push("reps".into());
    let mut table = Table::labelled(header);
    let opt = |v: Option<f64>, f: fn(f64) -> String| v.map_or_else(|| NONE.to_string(), f);
    for r in rows {
        let noisy = if r.noisy == Some(true) { NOISY } else { "" };
        let median = r.median_s.map_or_else(
            || NONE.to_string(),
            |m| format!("{}{noisy}", format::time(m)),
        );
        let ci = match (r.ci_low_s, r.ci_high_s, r.median_s) {
            (Some(lo), Some(hi), Some(m)) => format::time_range(lo, hi, m),
            _ => NONE.to_string(),
        };
        let mut line = vec![
            r.backend.clone(),
            r.workers.to_string(),
            median,
            ci,
            opt(r.speedup, format::times),
            opt(r.efficiency, format::percent),
            opt(r.speedup_vs_serial, format::times),
            opt(
                r.speedup.and_then(|s| {
                    if group.is_weak() {
                        gustafson_serial_fraction(s, r.workers)
                    } else {
                        karp_flatt(s, r.workers)
                    }
                }),
                format::fraction,
            ),
        ];
        if let Some(phases) = &results.phases {
            let key = (
                r.method.clone(),
                r.backend.clone(),
                r.mode.clone(),
                r.workers,
                r.samples,
            );
            let p = phases.get(&key).copied().unwrap_or_default();
            line.extend([
                opt(p.spawn, format::time),
                opt(p.compute, format::time),
                opt(p.reduce, format::time),
            ]);
        }
        line.push(if r.failed > 0 {
            format!("{} ({} failed)", r.reps, r.failed)
        } else {
            r.reps.to_string()
        });
        table.rows.push(line);
    }
    table
}

/// The models section: Amdahl and Karp–Flatt for strong scaling,
/// Gustafson for weak scaling.
fn models(groups: &[(Group<'_>, Vec<&SummaryRow>)]) -> Vec<Block> {
    let mut blocks = vec![
        Block::Heading(2, "Models".into()),
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
        ]),
    ];
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
fn curve(rows: &[&SummaryRow], backend: &str) -> Vec<(usize, f64)> {
    rows.iter()
        .filter(|r| r.backend == backend)
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
    for backend in backends(rows) {
        let points = curve(rows, backend);
        if !points.iter().any(|&(p, _)| p > 1) {
            continue;
        }
        let fit = amdahl_fit(&points);
        let mut line = vec![
            backend.to_string(),
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
    for backend in backends(rows) {
        let points = curve(rows, backend);
        if !points.iter().any(|&(p, _)| p > 1) {
            continue;
        }
        let fit = gustafson_fit(&points);
        let mut line = vec![
            backend.to_string(),
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

/// Gustafson's f fitted by least squares to scaled speed-ups:
/// p − S = f·(p − 1), so f = Σ (p − S)(p − 1) / Σ (p − 1)². `None`
/// without a point at p > 1.
fn gustafson_fit(points: &[(usize, f64)]) -> Option<f64> {
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for &(p, s) in points.iter().filter(|(p, _)| *p > 1) {
        let x = p as f64 - 1.0;
        sxy += (p as f64 - s) * x;
        sxx += x * x;
    }
    (sxx > 0.0).then(|| sxy / sxx)
}

/// The machine as `(what, value)` lines, from whatever keys machine.json
/// holds; absent and `null` keys are left out, unknown scalar keys listed
/// under their own name.
fn machine_rows(m: &Value) -> Vec<(String, String)> {
    let s = |key: &str| m.get(key).and_then(Value::as_str).map(str::to_string);
    let n = |key: &str| m.get(key).and_then(Value::as_u64);
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut push = |what: &str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            rows.push((what.to_string(), v));
        }
    };

    let details: Vec<String> = [s("cpu_vendor"), s("arch")].into_iter().flatten().collect();
    push(
        "CPU",
        s("cpu_model").map(|model| {
            if details.is_empty() {
                model
            } else {
                format!("{model} ({})", details.join(", "))
            }
        }),
    );
    let mut cpus = Vec::new();
    if let Some(u) = n("usable_cpu_count") {
        cpus.push(match s("usable_cpus") {
            Some(list) => format!("{u} usable ({list})"),
            None => format!("{u} usable"),
        });
    }
    if let Some(l) = n("logical_cpus") {
        cpus.push(format!("{l} logical"));
    }
    if let Some(c) = n("physical_cores") {
        cpus.push(format!("{c} physical cores"));
    }
    push("CPUs", (!cpus.is_empty()).then(|| cpus.join(", ")));
    push("Frequency", frequency(m));
    push("Caches", caches(m));
    push("Memory", n("memory_total_bytes").map(format::bytes));
    let os: Vec<String> = [s("os_name"), s("os_version")]
        .into_iter()
        .flatten()
        .collect();
    push("OS", (!os.is_empty()).then(|| os.join(" ")));
    push("Kernel", s("kernel_version"));
    push("Host", s("hostname"));
    push("Rust", s("rustc_version"));
    push(
        "piscale",
        s("piscale_version").map(|v| {
            let dirty = m.get("git_dirty").and_then(Value::as_bool) == Some(true);
            match s("git_revision") {
                Some(rev) if dirty => format!("{v}, git {rev} (uncommitted changes)"),
                Some(rev) => format!("{v}, git {rev}"),
                None => v,
            }
        }),
    );
    push("Started", s("started_at"));
    push(
        "Load average at start",
        m.get("load_average").and_then(|l| {
            let f = |k: &str| l.get(k).and_then(Value::as_f64);
            Some(format!(
                "{:.2}, {:.2}, {:.2} (1, 5, 15 min)",
                f("one")?,
                f("five")?,
                f("fifteen")?
            ))
        }),
    );
    push("Target features", features(m));
    push("Kernel ISA", s("isa"));

    const SHOWN: [&str; 28] = [
        "isa",
        "started_at",
        "piscale_version",
        "git_revision",
        "git_dirty",
        "rustc_version",
        "hostname",
        "os_name",
        "os_version",
        "kernel_version",
        "arch",
        "cpu_model",
        "cpu_vendor",
        "physical_cores",
        "logical_cpus",
        "usable_cpus",
        "usable_cpu_count",
        "frequency_mhz",
        "min_frequency_mhz",
        "max_frequency_mhz",
        "governor",
        "caches",
        "memory_total_bytes",
        "target_features_compiled",
        "target_features_detected",
        "load_average",
        "command_line",
        "config",
    ];
    if let Some(object) = m.as_object() {
        for (key, value) in object {
            if SHOWN.contains(&key.as_str()) {
                continue;
            }
            let text = match value {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                Value::Bool(_) | Value::Number(_) => Some(value.to_string()),
                other => Some(other.to_string()).filter(|t| t.chars().count() <= 80),
            };
            push(key, text);
        }
    }
    rows
}

/// `2445 MHz now (400–3500 MHz range), governor performance`.
fn frequency(m: &Value) -> Option<String> {
    let now: Vec<u64> = m
        .get("frequency_mhz")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_u64)
                .filter(|&f| f > 0)
                .collect()
        })
        .unwrap_or_default();
    let mut parts = Vec::new();
    if let (Some(lo), Some(hi)) = (now.iter().min(), now.iter().max()) {
        parts.push(if lo == hi {
            format!("{lo} MHz now")
        } else {
            format!("{lo}–{hi} MHz now")
        });
    }
    let n = |key: &str| m.get(key).and_then(Value::as_u64);
    if let (Some(lo), Some(hi)) = (n("min_frequency_mhz"), n("max_frequency_mhz")) {
        parts.push(format!("range {lo}–{hi} MHz"));
    }
    if let Some(g) = m.get("governor").and_then(Value::as_str) {
        parts.push(format!("governor {g}"));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// `L1d 32 KiB, L1i 32 KiB, L2 512 KiB, L3 32 MiB`.
fn caches(m: &Value) -> Option<String> {
    let list: Vec<String> = m
        .get("caches")?
        .as_array()?
        .iter()
        .filter_map(|c| {
            let level = c.get("level")?.as_u64()?;
            let kind = match c.get("type").and_then(Value::as_str) {
                Some("Data") => "d",
                Some("Instruction") => "i",
                _ => "",
            };
            let size = c
                .get("size_bytes")
                .and_then(Value::as_u64)
                .map(format::bytes)
                .or_else(|| c.get("size")?.as_str().map(str::to_string))?;
            Some(format!("L{level}{kind} {size}"))
        })
        .collect();
    (!list.is_empty()).then(|| list.join(", "))
}

/// `compiled in: none; detected: avx2, bmi2, fma`.
fn features(m: &Value) -> Option<String> {
    let on = |key: &str| -> Option<String> {
        let object = m.get(key)?.as_object()?;
        let names: Vec<&str> = object
            .iter()
            .filter(|(_, v)| v.as_bool() == Some(true))
            .map(|(k, _)| k.as_str())
            .collect();
        Some(if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        })
    };
    let parts: Vec<String> = [
        on("target_features_compiled").map(|f| format!("compiled in: {f}")),
        on("target_features_detected").map(|f| format!("detected: {f}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The sweep's command line, quoted for a shell.
fn command_line(m: &Value) -> Option<String> {
    let words: Vec<&str> = m
        .get("command_line")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    (!words.is_empty()).then(|| shell_words::join(words))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sweep::rows::fixture::{failed, row};
    use crate::sweep::rows::{summarize, write_summary, RawWriter};

    const N: u64 = 1 << 24;
    const PER_WORKER: u64 = 1 << 22;

    /// A machine.json as a sweep writes it (a few keys `null`, one key
    /// this version of the report does not know).
    pub(crate) const MACHINE: &str = r#"{
  "started_at": "2025-01-01T12:00:00.000+00:00",
  "piscale_version": "0.1.0",
  "git_revision": "abc1234",
  "git_dirty": false,
  "rustc_version": "rustc 1.80.0 (051478957 2024-07-21)",
  "hostname": "ci-runner",
  "os_name": "Debian GNU/Linux",
  "os_version": "12",
  "kernel_version": "6.1.0-18-amd64",
  "arch": "x86_64",
  "cpu_model": "AMD EPYC 7B13",
  "cpu_vendor": "AuthenticAMD",
  "physical_cores": 2,
  "logical_cpus": 4,
  "usable_cpus": "0-3",
  "usable_cpu_count": 4,
  "frequency_mhz": [2450, 2450, 2450, 2450],
  "min_frequency_mhz": null,
  "max_frequency_mhz": null,
  "governor": null,
  "caches": [
    {"level": 1, "type": "Data", "size": "32K", "size_bytes": 32768, "shared_cpu_list": "0-1"},
    {"level": 1, "type": "Instruction", "size": "32K", "size_bytes": 32768, "shared_cpu_list": "0-1"},
    {"level": 2, "type": "Unified", "size": "512K", "size_bytes": 524288, "shared_cpu_list": "0-1"},
    {"level": 3, "type": "Unified", "size": "32768K", "size_bytes": 33554432, "shared_cpu_list": "0-3"}
  ],
  "memory_total_bytes": 16777216000,
  "target_features_compiled": {"avx2": false, "avx512f": false, "fma": false, "sse4.2": false},
  "target_features_detected": {"avx2": true, "avx512dq": false, "avx512f": false, "bmi2": true, "fma": true},
  "load_average": {"one": 0.12, "five": 0.3, "fifteen": 0.25},
  "command_line": ["piscale", "sweep", "--config", "configs/quick.toml", "--workers", "1,2,4"],
  "config": {"reps": 3, "methods": ["mc", "midpoint"]},
  "virtualization": "kvm"
}
"#;

    /// Raw rows of a small sweep with known times: mc strong (serial,
    /// threads, a noisy fork-pipe with one failed repetition), mc weak
    /// (threads), midpoint strong (rayon failing at 4 workers).
    pub(crate) fn raw_rows() -> Vec<RawRow> {
        let mut rows = Vec::new();
        let mut add = |method: &str, backend: &str, mode: &str, p: usize, n: u64, ts: &[f64]| {
            for (rep, &t) in ts.iter().enumerate() {
                let mut r = row(backend, mode, p, n, t);
                r.method = method.into();
                r.rep = rep as u32;
                rows.push(r);
            }
        };
        let (s, w) = (
            crate::sweep::rows::MODE_STRONG,
            crate::sweep::rows::MODE_WEAK,
        );
        add("mc", "serial", s, 1, N, &[0.0100, 0.0102, 0.0098]);
        add("mc", "threads", s, 1, N, &[0.0101, 0.0100, 0.0099]);
        add("mc", "threads", s, 2, N, &[0.0052, 0.0051, 0.0053]);
        add("mc", "threads", s, 4, N, &[0.0030, 0.0029, 0.0031]);
        add("mc", "fork-pipe", s, 1, N, &[0.0110, 0.0108, 0.0112]);
        add("mc", "fork-pipe", s, 2, N, &[0.0068, 0.0060, 0.0075]);
        add("mc", "fork-pipe", s, 4, N, &[0.0056, 0.0055]);
        add("mc", "serial", w, 1, PER_WORKER, &[0.0025, 0.0025, 0.0026]);
        add("mc", "threads", w, 1, PER_WORKER, &[0.0025, 0.0026, 0.0025]);
        add(
            "mc",
            "threads",
            w,
            2,
            2 * PER_WORKER,
            &[0.0026, 0.0026, 0.0027],
        );
        add(
            "mc",
            "threads",
            w,
            4,
            4 * PER_WORKER,
            &[0.0028, 0.0029, 0.0028],
        );
        add("midpoint", "serial", s, 1, N, &[0.0080, 0.0081, 0.0080]);
        add("midpoint", "rayon", s, 1, N, &[0.0082, 0.0081, 0.0083]);
        add("midpoint", "rayon", s, 2, N, &[0.0042, 0.0043, 0.0042]);
        let mut fork_failed = row("fork-pipe", s, 4, N, 0.0);
        fork_failed.rep = 2;
        rows.push(failed(fork_failed));
        for rep in 0..3 {
            let mut r = failed(row("rayon", s, 4, N, 0.0));
            r.method = "midpoint".into();
            r.rep = rep;
            rows.push(r);
        }
        rows
    }

    /// Writes raw.csv, summary.csv and machine.json of `rows` into `dir`.
    pub(crate) fn write_sweep(dir: &Path, rows: &[RawRow], machine: Option<&str>) {
        let mut raw = RawWriter::create(dir.join("raw.csv")).unwrap();
        for r in rows {
            raw.write(r).unwrap();
        }
        write_summary(dir.join("summary.csv"), &summarize(rows, 7)).unwrap();
        if let Some(machine) = machine {
            fs::write(dir.join("machine.json"), machine).unwrap();
        }
    }

    /// A small SVG as plotters writes it, with a marker to find it by.
    fn svg(marker: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <svg width=\"400\" height=\"300\" viewBox=\"0 0 400 300\" \
             xmlns=\"http://www.w3.org/2000/svg\">\n\
             <rect x=\"0\" y=\"0\" width=\"400\" height=\"300\" fill=\"#FFFFFF\"/>\n\
             <text x=\"10\" y=\"20\">{marker}</text>\n\
             <polyline fill=\"none\" stroke=\"#0000FF\" points=\"10,290 390,10\"/>\n\
             </svg>\n"
        )
    }

    /// A folder with the fixture sweep and three plots (one with a PNG),
    /// plus files that are not plots.
    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        write_sweep(dir.path(), &raw_rows(), Some(MACHINE));
        let plots = dir.path().join(PLOTS_DIR);
        fs::create_dir(&plots).unwrap();
        for name in ["speedup-mc", "phases-mc", "efficiency-midpoint"] {
            fs::write(plots.join(format!("{name}.svg")), svg(name)).unwrap();
        }
        fs::write(plots.join("speedup-mc.png"), b"\x89PNG\r\n").unwrap();
        fs::write(plots.join("README.txt"), "not a plot").unwrap();
        fs::write(plots.join("nodash.svg"), svg("nodash")).unwrap();
        dir
    }

    fn build(dir: &Path) -> (String, String) {
        write_reports(dir, &PlotFile::discover(dir).unwrap()).unwrap();
        (
            fs::read_to_string(dir.join(REPORT_MD)).unwrap(),
            fs::read_to_string(dir.join(REPORT_HTML)).unwrap(),
        )
    }

    #[test]
    fn report_md_snapshot() {
        let dir = folder();
        let (md, _) = build(dir.path());
        insta::assert_snapshot!(md);
    }

    #[test]
    fn discover_orders_plots_by_kind_then_method() {
        let dir = folder();
        let plots = PlotFile::discover(dir.path()).unwrap();
        let names: Vec<String> = plots
            .iter()
            .map(|p| format!("{}-{}", p.kind, p.method))
            .collect();
        assert_eq!(names, ["speedup-mc", "efficiency-midpoint", "phases-mc"]);
        let none = tempfile::tempdir().unwrap();
        assert_eq!(PlotFile::discover(none.path()).unwrap(), vec![]);
        assert_eq!(PlotFile::from_path("plots/speedup-mc.png"), None);
        assert_eq!(
            PlotFile::from_path("plots/time-mc-2.svg").map(|p| p.method),
            Some("mc-2".into())
        );
    }

    #[test]
    fn report_md_links_only_plots_that_exist() {
        let dir = folder();
        let mut plots = PlotFile::discover(dir.path()).unwrap();
        plots.push(PlotFile::from_path(dir.path().join("plots/weak-mc.svg")).unwrap());
        write_reports(dir.path(), &plots).unwrap();
        let md = fs::read_to_string(dir.path().join(REPORT_MD)).unwrap();
        assert!(md.contains("[SVG](plots/speedup-mc.svg) · [PNG](plots/speedup-mc.png)"));
        assert!(
            md.contains("[SVG](plots/phases-mc.svg)\n"),
            "no PNG link without a PNG"
        );
        assert!(
            !md.contains("weak-mc"),
            "a plot whose file is gone is left out"
        );
    }

    /// Checks that every element opened is closed in order (void elements
    /// and `/>` excepted, `<style>` skipped) and returns how many `<svg>`
    /// elements there were.
    fn check_balanced(html: &str) -> usize {
        const VOID: [&str; 6] = ["meta", "link", "br", "hr", "img", "input"];
        let mut stack: Vec<String> = Vec::new();
        let mut svgs = 0;
        let mut rest = html;
        while let Some(open) = rest.find('<') {
            rest = &rest[open..];
            if rest.starts_with("<!--") {
                rest = &rest[rest.find("-->").expect("unclosed comment") + 3..];
                continue;
            }
            let close = rest.find('>').expect("unclosed tag");
            let tag = &rest[1..close];
            rest = &rest[close + 1..];
            if tag.starts_with('!') || tag.starts_with('?') {
                continue;
            }
            if let Some(name) = tag.strip_prefix('/') {
                let top = stack
                    .pop()
                    .unwrap_or_else(|| panic!("</{name}> closes nothing"));
                assert_eq!(top, name.trim(), "</{name}> closes <{top}>");
                continue;
            }
            let name: String = tag
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '/')
                .collect();
            assert!(!name.is_empty(), "empty tag <{tag}>");
            if name == "svg" {
                svgs += 1;
            }
            if tag.ends_with('/') || VOID.contains(&name.as_str()) {
                continue;
            }
            if name == "style" {
                rest = &rest[rest.find("</style>").expect("unclosed <style>")..];
            }
            stack.push(name);
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        svgs
    }

    #[test]
    fn report_html_is_self_contained_and_well_formed() {
        let dir = folder();
        let (_, html) = build(dir.path());
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert!(html.trim_end().ends_with("</html>"));
        assert_eq!(html.matches("<html").count(), 1);
        assert_eq!(check_balanced(&html), 3);
        for marker in ["speedup-mc", "phases-mc", "efficiency-midpoint"] {
            assert!(html.contains(&format!("<text x=\"10\" y=\"20\">{marker}</text>")));
        }
        assert!(!html.contains("<?xml"), "XML declarations are stripped");
        let offline = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!offline.contains("http://") && !offline.contains("https://"));
        for external in ["<script", "<link", "@import", "url("] {
            assert!(!html.contains(external), "{external}");
        }
        // The same tables as the markdown, and the machine.
        assert!(html.contains("<td>AMD EPYC 7B13 (AuthenticAMD, x86_64)</td>"));
        assert!(
            html.contains("<td class=\"num\">1.92× (96%)</td>"),
            "{html}"
        );
        assert!(html.contains("<summary>machine.json</summary>"));
    }

    #[test]
    fn report_html_escapes_what_it_quotes() {
        let dir = tempfile::tempdir().unwrap();
        let machine = MACHINE.replace("AMD EPYC 7B13", "<b>Evil</b> & \\\"Co\\\"");
        write_sweep(dir.path(), &raw_rows(), Some(&machine));
        let (md, html) = build(dir.path());
        assert!(html.contains("&lt;b&gt;Evil&lt;/b&gt; &amp; &quot;Co&quot;"));
        assert!(!html.contains("<b>Evil"));
        assert!(md.contains(r"\<b\>Evil\</b\> &amp; "), "{md}");
        check_balanced(&html);
    }

    #[test]
    fn reports_without_plots_or_machine() {
        let dir = tempfile::tempdir().unwrap();
        write_sweep(dir.path(), &raw_rows(), None);
        let (md, html) = build(dir.path());
        assert!(md.contains("No plots in `plots/` yet"));
        assert!(md.contains("`machine.json` is missing"));
        assert_eq!(check_balanced(&html), 0);
        // Without raw.csv the phases columns go, the rest stays.
        fs::remove_file(dir.path().join("raw.csv")).unwrap();
        let (md, _) = build(dir.path());
        assert!(!md.contains("| spawn"));
        assert!(md.contains("| Karp–Flatt e |"));
    }

    #[test]
    fn models_say_once_when_one_worker_count_is_all_there_is() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<RawRow> = raw_rows().into_iter().filter(|r| r.workers <= 2).collect();
        write_sweep(dir.path(), &rows, Some(MACHINE));
        let (md, _) = build(dir.path());
        let note = "Every table below rests on one worker count above 1 (p = 2)";
        assert_eq!(md.matches(note).count(), 1, "{md}");
        let models = md.find("## Models").unwrap();
        let first_table = md[models..].find("### ").unwrap() + models;
        assert!((models..first_table).contains(&md.find(note).unwrap()));
    }

    #[test]
    fn missing_summary_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = format!("{:#}", write_reports(dir.path(), &[]).unwrap_err());
        assert!(err.contains("summary.csv"), "{err}");
        assert!(!dir.path().join(REPORT_MD).exists());
    }

    #[test]
    fn gustafson_fit_recovers_a_known_fraction() {
        let points: Vec<(usize, f64)> = [1, 2, 4, 8].map(|p| (p, gustafson(0.1, p))).to_vec();
        assert!((gustafson_fit(&points).unwrap() - 0.1).abs() < 1e-12);
        assert_eq!(gustafson_fit(&[(1, 1.0)]), None);
    }
}
