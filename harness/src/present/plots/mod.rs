//! Plots of a finished sweep, as SVG and PNG, drawn from `DIR/summary.csv`,
//! `DIR/raw.csv` and `DIR/machine.json` alone (never re-running anything).
//!
//! [`write_plots`] writes them to `DIR/plots/` (the HTML report inlines the
//! SVG files). For each method `M` (`mc`,
//! `midpoint`) that has the rows it needs:
//!
//! | name | shows | written when |
//! |---|---|---|
//! | `speedup-M` | speed-up over the same backend at 1 worker against workers: a line per backend with 95 % CI bars, its fitted Amdahl curve dashed (where at least three worker counts allow a fit and f is physical), the ideal y = p, and the capacity C(p) (what the CPUs can give) as a grey dashed line without markers | some strong-scaling point has a speed-up |
//! | `efficiency-M` | parallel efficiency (speed-up / p) against workers, ideal 100 %, the capacity's C(p)/p grey dashed | as `speedup-M` |
//! | `time-M` | median wall time with CI bars against workers, log–log, and the ideal serial t₁/p; not the capacity (its time is what the work would take at its rate) | some strong-scaling point has a time |
//! | `phases-M` | stacked bars of the median spawn, compute and reduce times per backend at the largest worker count that recorded them (command kernels record none; the capacity, which computes for a fixed time, is left out) | some strong-scaling repetition has phase times |
//! | `breakdown-M` | where the speed-up went: a horizontal bar per kernel (not the capacity, not `serial`) at the largest worker count p above 1 with a capacity, as long as p, cut into the speed-up S reached and what each step lost: p → C(p) the machine, then × code scalability, × load balance, × overhead efficiency = S (a command, without busy times: C(p) → S in one step) | some strong-scaling point above 1 worker has a capacity and a speed-up |
//! | `weak-M` | weak-scaling efficiency t₁/tₚ against workers, ideal 100 %, and the capacity's | some weak-scaling point has an efficiency |
//!
//! Each name gives `NAME.svg` and `NAME.png` (800 × 600); the names are
//! defined once, as [`PlotName`]. When a sweep
//! measured several amounts of work, the plots show the largest: the
//! largest total work N for strong scaling, the largest work per worker for
//! weak scaling (the one where parallel overheads matter least); the title
//! says which. Every backend keeps one colour and marker in every plot (see
//! [`style::Palette`]). The caption names the CPU model, the number of
//! usable CPUs and the date of the sweep (`machine.json`).
//!
//! Text in the PNGs is drawn with DejaVu Sans embedded in the binary, so no
//! system font is needed; the SVGs name `sans-serif` and leave the font to
//! whatever shows them.

mod data;
mod draw;
mod style;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use piscale_kernels::Method;
use plotters::prelude::*;

use super::Inputs;
use crate::analyse::phases::PhaseMedians;
use crate::results::out_dir::{PlotFormat, PlotKind, PlotName};
use crate::results::{write_atomic, Machine, Mode, OutDir, PointId, SummaryRow};
use data::{Losses, Phases, Scaling};
use style::Palette;

/// Draws every plot of the sweep in `out` and writes each as `NAME.svg` and
/// `NAME.png` to `out/plots/` (created if needed), replacing older ones; an
/// older plot this sweep no longer has (`weak-mc.png` after a strong-only
/// rerun) is removed. Returns the files written, SVG then PNG per plot, in
/// the order of the module's table per method.
pub fn write_plots(out: &OutDir, inputs: &Inputs) -> Result<Vec<PathBuf>> {
    let (plots, ctx) = load(out, inputs)?;
    let dir = out.plots();
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for plot in &plots {
        let svg_path = out.plot(plot.file(PlotFormat::Svg));
        write_atomic(&svg_path, svg(plot, &ctx)?.as_bytes())?;
        written.push(svg_path);
        let png_path = out.plot(plot.file(PlotFormat::Png));
        png(plot, &ctx, &png_path)?;
        written.push(png_path);
    }
    remove_stale(&dir, &written)?;
    Ok(written)
}

/// What one plot draws.
#[derive(Debug)]
enum Chart {
    Speedup(Scaling),
    Efficiency(Scaling),
    Time(Scaling),
    Phases(Phases),
    Weak(Scaling),
    Breakdown(Losses),
}

/// A plot: what it shows, of which method, and how it is drawn.
#[derive(Debug)]
struct Plot {
    kind: PlotKind,
    method: Method,
    chart: Chart,
}

impl Plot {
    /// Its file in `format`.
    fn file(&self, format: PlotFormat) -> PlotName {
        PlotName {
            kind: self.kind,
            method: self.method,
            format,
        }
    }

    /// `speedup-mc`, for messages.
    fn name(&self) -> String {
        format!("{}-{}", self.kind.name(), self.method)
    }
}

/// What every plot of a folder shares.
#[derive(Debug)]
struct Context {
    palette: Palette,
    /// `AMD EPYC 7B13 · 2 usable CPUs · 2025-01-01`.
    caption: String,
    /// Usable CPUs, to mark oversubscribed worker counts.
    usable_cpus: Option<usize>,
}

/// Decides which plots the folder's files call for; the plots need all
/// three files.
fn load(out: &OutDir, inputs: &Inputs) -> Result<(Vec<Plot>, Context)> {
    let summary = &inputs.summary;
    let phases = inputs
        .phases
        .as_ref()
        .with_context(|| format!("{}: no such file", out.raw().display()))?;
    let machine = inputs
        .machine
        .as_ref()
        .with_context(|| format!("{}: no such file", out.machine().display()))?;
    style::register_fonts()?;
    let ctx = Context {
        palette: Palette::new(summary.iter().map(|r| &r.backend)),
        caption: caption(machine),
        usable_cpus: machine.usable_cpu_count,
    };
    Ok((plan(summary, phases), ctx))
}

/// The plots a folder's rows call for, per method in the summary's order.
fn plan(summary: &[SummaryRow], phases: &BTreeMap<PointId, PhaseMedians>) -> Vec<Plot> {
    let mut methods: Vec<Method> = Vec::new();
    for row in summary {
        if !methods.contains(&row.method) {
            methods.push(row.method);
        }
    }
    let mut plots = Vec::new();
    for method in methods {
        let plot = |kind, chart| Plot {
            kind,
            method,
            chart,
        };
        if let Some(strong) = Scaling::select(summary, method, Mode::Strong) {
            let phases = Phases::select(phases, method, strong.work);
            if strong.has_speedups() {
                plots.push(plot(PlotKind::Speedup, Chart::Speedup(strong.clone())));
                plots.push(plot(
                    PlotKind::Efficiency,
                    Chart::Efficiency(strong.clone()),
                ));
            }
            let times = strong.without_capacity();
            if times.has_times() {
                plots.push(plot(PlotKind::Time, Chart::Time(times)));
            }
            if let Some(phases) = phases {
                plots.push(plot(PlotKind::Phases, Chart::Phases(phases)));
            }
        }
        if let Some(losses) = Losses::select(summary, method) {
            plots.push(plot(PlotKind::Breakdown, Chart::Breakdown(losses)));
        }
        if let Some(weak) = Scaling::select(summary, method, Mode::Weak) {
            if weak.has_speedups() {
                plots.push(plot(PlotKind::Weak, Chart::Weak(weak)));
            }
        }
    }
    plots
}

/// `CPU model · N usable CPUs · date`, from `machine.json`'s `cpu_model`,
/// `usable_cpu_count` and `started_at`; missing facts are left out.
fn caption(machine: &Machine) -> String {
    let mut parts = vec![machine
        .cpu_model
        .clone()
        .unwrap_or_else(|| "unknown CPU".into())];
    if let Some(n) = machine.usable_cpu_count {
        parts.push(format!("{n} usable CPU{}", if n == 1 { "" } else { "s" }));
    }
    if let Some(date) = machine.started_at.as_deref().and_then(|s| s.get(..10)) {
        parts.push(date.to_string());
    }
    parts.join(" · ")
}

/// The plot as an SVG document.
fn svg(plot: &Plot, ctx: &Context) -> Result<String> {
    let mut text = String::new();
    {
        let root =
            SVGBackend::with_string(&mut text, (style::WIDTH, style::HEIGHT)).into_drawing_area();
        draw::draw(&root, &plot.chart, ctx).with_context(|| format!("plot {}", plot.name()))?;
    }
    Ok(text)
}

/// Draws the plot as a PNG at `path`, replaced atomically so a reader never
/// sees half a picture. plotters draws into an RGB buffer; the `png` crate
/// encodes it (plotters' own encoder would bring the whole `image` crate).
fn png(plot: &Plot, ctx: &Context, path: &Path) -> Result<()> {
    let (width, height) = (style::WIDTH, style::HEIGHT);
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        draw::draw(&root, &plot.chart, ctx).with_context(|| format!("plot {}", plot.name()))?;
        root.present()
            .map_err(|e| anyhow::anyhow!("plot {}: {e}", plot.name()))?;
    }
    let mut bytes = Vec::new();
    let mut encoder = ::png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(::png::ColorType::Rgb);
    encoder.set_depth(::png::BitDepth::Eight);
    encoder
        .write_header()
        .and_then(|mut w| w.write_image_data(&rgb))
        .with_context(|| format!("cannot encode {}", path.display()))?;
    write_atomic(path, &bytes)
}

/// Removes plots of ours in `out` that this run did not write: files with
/// a [`PlotName`]. Anything else in the folder is left alone.
fn remove_stale(out: &Path, written: &[PathBuf]) -> Result<()> {
    let entries = fs::read_dir(out).with_context(|| format!("cannot read {}", out.display()))?;
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        let ours = entry
            .file_name()
            .to_str()
            .and_then(PlotName::parse)
            .is_some()
            && entry.file_type().is_ok_and(|t| t.is_file());
        if ours && !written.contains(&path) {
            fs::remove_file(&path)
                .with_context(|| format!("cannot remove the old plot {}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyse::summary::summarize;
    use crate::results::fixture::{failed, numbered, row, with_method, N, PER_WORKER};
    use crate::results::{write_summary, PerWorker, RawRow, RawWriter};
    use std::collections::BTreeSet;

    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

    /// A `machine.json` with the keys the caption reads.
    const MACHINE: &str = r#"{
  "started_at": "2025-01-01T12:00:00.000+00:00",
  "cpu_model": "AMD EPYC 7B13",
  "usable_cpu_count": 4,
  "logical_cpus": 4
}
"#;

    /// Strong scaling of mc at 1, 2, 4 and 8 workers (8 oversubscribed)
    /// for three backends and a command kernel, a smaller N that the plots
    /// must skip, midpoint at 1 and 2 workers, and optionally a weak sweep of mc.
    fn rows(weak: bool) -> Vec<RawRow> {
        let s = Mode::Strong;
        let mut rows = Vec::new();
        for rep in 0..3 {
            let jitter = 1.0 + 0.02 * rep as f64;
            for (backend, serial_fraction) in [("threads", 0.02), ("fork-pipe", 0.1)] {
                for p in [1, 2, 4, 8] {
                    let t = 2.0 * (serial_fraction + (1.0 - serial_fraction) / p as f64);
                    rows.push(row(backend, s, p, N, t * jitter));
                }
            }
            rows.push(row("serial", s, 1, N, 2.1 * jitter));
            rows.push(row("python-pi1", s, 1, N, 40.0 * jitter));
            rows.push(row("python-pi1", s, 2, N, 22.0 * jitter));
            rows.push(row("threads", s, 1, N / 10, 0.2 * jitter));
            rows.push(row("threads", s, 2, N / 10, 0.11 * jitter));
            for p in [1, 2] {
                rows.push(with_method(
                    Method::Midpoint,
                    row("threads", s, p, N, 1.0 / p as f64 * jitter),
                ));
            }
            if weak {
                for p in [1, 2, 4] {
                    let t = 0.5 * (1.0 + 0.05 * p as f64) * jitter;
                    rows.push(row("threads", Mode::Weak, p, PER_WORKER * p as u64, t));
                }
            }
        }
        rows.push(failed(row("threads", s, 8, N, 1.0)));
        numbered(rows)
    }

    /// A sweep folder holding `rows`, written with the sweep's own writers.
    fn folder(rows: &[RawRow]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let out = OutDir(dir.path().to_path_buf());
        let mut writer = RawWriter::create(&out.raw()).unwrap();
        for r in rows {
            writer.write(r).unwrap();
        }
        write_summary(&out.summary(), &summarize(rows)).unwrap();
        fs::write(out.machine(), MACHINE).unwrap();
        dir
    }

    fn plots_of(dir: &Path) -> Result<Vec<PathBuf>> {
        let out = OutDir(dir.to_path_buf());
        write_plots(&out, &Inputs::read(&out, None)?)
    }

    fn names(files: &[PathBuf]) -> BTreeSet<String> {
        files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    fn expected(names: &[&str]) -> BTreeSet<String> {
        names
            .iter()
            .flat_map(|n| [format!("{n}.svg"), format!("{n}.png")])
            .collect()
    }

    /// Whether an SVG as plotters writes it has a text element saying
    /// exactly `words`.
    fn text(svg: &str, words: &str) -> bool {
        svg.contains(&format!(">\n{words}\n</text>"))
    }

    fn check_files(files: &[PathBuf]) {
        for file in files {
            let bytes = fs::read(file).unwrap();
            if file.extension().unwrap() == "png" {
                assert!(
                    bytes.starts_with(PNG_SIGNATURE),
                    "{} is no PNG",
                    file.display()
                );
            } else {
                let text = String::from_utf8(bytes).unwrap();
                let doc = roxmltree::Document::parse(&text)
                    .unwrap_or_else(|e| panic!("{} is not XML: {e}", file.display()));
                assert_eq!(doc.root_element().tag_name().name(), "svg");
            }
        }
    }

    #[test]
    fn writes_svg_and_png_per_plot_and_method() {
        let dir = folder(&rows(false));
        let files = plots_of(dir.path()).unwrap();
        assert_eq!(
            names(&files),
            expected(&[
                "speedup-mc",
                "efficiency-mc",
                "time-mc",
                "phases-mc",
                "speedup-midpoint",
                "efficiency-midpoint",
                "time-midpoint",
                "phases-midpoint",
            ])
        );
        assert!(files
            .iter()
            .all(|f| f.parent() == Some(&dir.path().join(OutDir::PLOTS))));
        check_files(&files);
        let on_disk: Vec<PathBuf> = fs::read_dir(dir.path().join(OutDir::PLOTS))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(
            names(&on_disk),
            names(&files),
            "temporary files left behind"
        );
    }

    #[test]
    fn weak_plot_only_when_there_are_weak_rows() {
        let dir = folder(&rows(true));
        let files = plots_of(dir.path()).unwrap();
        let all = names(&files);
        assert!(
            all.contains("weak-mc.svg") && all.contains("weak-mc.png"),
            "{all:?}"
        );
        assert!(
            !all.iter().any(|n| n.starts_with("weak-midpoint")),
            "{all:?}"
        );
        check_files(&files);
        // A strong-only rerun into the same folder drops the weak plot.
        let strong = folder(&rows(false));
        for file in ["raw.csv", "summary.csv"] {
            fs::copy(strong.path().join(file), dir.path().join(file)).unwrap();
        }
        fs::write(dir.path().join(OutDir::PLOTS).join("notes.txt"), "mine").unwrap();
        let files = plots_of(dir.path()).unwrap();
        assert!(!names(&files).iter().any(|n| n.starts_with("weak-")));
        assert!(!dir.path().join(OutDir::PLOTS).join("weak-mc.png").exists());
        assert!(dir.path().join(OutDir::PLOTS).join("notes.txt").exists());
    }

    /// The C(p) of [`with_capacity`]: 0.95 p above 1 worker.
    fn capacity_at(p: usize) -> f64 {
        if p == 1 {
            1.0
        } else {
            0.95 * p as f64
        }
    }

    /// `rows` of a sweep that measured the capacity: capacity points of mc
    /// at 1, 2, 4 and 8 workers (C(p) = [`capacity_at`]), the built-in
    /// kernels' workers busy 90 % of the wall time less 3 % per worker
    /// index (uneven), and the command at 4 and 8 workers too.
    fn with_capacity(rows: Vec<RawRow>) -> Vec<RawRow> {
        let s = Mode::Strong;
        let mut rows: Vec<RawRow> = rows
            .into_iter()
            .map(|mut r| {
                if let (true, Some(wall)) = (r.backend.is_builtin(), r.wall_s) {
                    let busy = (0..r.workers).map(|i| 0.9 * wall * (1.0 - 0.03 * i as f64));
                    r.busy_s = PerWorker(busy.collect());
                }
                r
            })
            .collect();
        for rep in 0..3 {
            let jitter = 1.0 + 0.01 * rep as f64;
            for p in [1, 2, 4, 8] {
                let mut r = row("capacity", s, p, N, jitter / capacity_at(p));
                r.busy_s = PerWorker(vec![0.2; p]);
                rows.push(r);
            }
            rows.push(row("python-pi1", s, 4, N, 13.0 * jitter));
            rows.push(row("python-pi1", s, 8, N, 8.0 * jitter));
        }
        numbered(rows)
    }

    #[test]
    fn with_a_capacity_the_speedup_plot_draws_it_and_a_breakdown_is_written() {
        let dir = folder(&with_capacity(rows(false)));
        let files = plots_of(dir.path()).unwrap();
        let all = names(&files);
        assert!(
            all.contains("breakdown-mc.svg") && all.contains("breakdown-mc.png"),
            "{all:?}"
        );
        // midpoint measured no capacity: no breakdown of it.
        assert!(
            !all.iter().any(|n| n.starts_with("breakdown-midpoint")),
            "{all:?}"
        );
        check_files(&files);
        let svg = |name: &str| {
            fs::read_to_string(dir.path().join(OutDir::PLOTS).join(format!("{name}.svg"))).unwrap()
        };
        let breakdown = svg("breakdown-mc");
        assert!(text(
            &breakdown,
            "mc: where the speed-up went at p = 8 (N = 2e9)"
        ));
        for key in ["achieved S", "imbalance (LB)", "code", "machine (C/p)"] {
            assert!(text(&breakdown, key), "{key}");
        }
        assert!(text(&breakdown, "not split"), "the command is not split");
        for backend in ["threads", "fork-pipe", "python-pi1"] {
            assert!(text(&breakdown, backend), "{backend}");
        }
        assert!(!text(&breakdown, "capacity") && !text(&breakdown, "serial"));
        for name in ["speedup-mc", "efficiency-mc"] {
            let plot = svg(name);
            assert!(
                text(&plot, "capacity") && text(&plot, "(what the CPUs"),
                "{name}"
            );
            // A line without markers or CI bars, in its own grey.
            assert!(plot.contains("#606060"), "{name}");
        }
        // The time and phase plots leave the capacity out.
        for name in ["time-mc", "phases-mc"] {
            let plot = svg(name);
            assert!(
                !text(&plot, "capacity") && !plot.contains("#606060"),
                "{name}"
            );
        }
        assert!(!text(&svg("speedup-midpoint"), "capacity"));
    }

    #[test]
    fn the_breakdown_steps_multiply_down_to_the_speedup() {
        let summary = summarize(&with_capacity(rows(false)));
        let losses = Losses::select(&summary, Method::Mc).unwrap();
        assert_eq!((losses.work, losses.workers), (N, 8));
        let backends: Vec<&str> = losses.falls.iter().map(|f| f.backend.name()).collect();
        assert_eq!(
            backends,
            ["threads", "fork-pipe", "python-pi1"],
            "no capacity, no serial"
        );
        for fall in &losses.falls {
            let row = summary
                .iter()
                .find(|r| r.backend == fall.backend && r.workers == 8 && r.samples == N)
                .unwrap();
            assert_eq!(fall.ideal, 8.0);
            assert_eq!(fall.steps[0], (data::Loss::Machine, row.capacity.unwrap()));
            assert!((fall.steps[0].1 - capacity_at(8)).abs() < 1e-9);
            let s = row.speedup.unwrap();
            assert!((fall.achieved() - s).abs() < 1e-9, "{fall:?} vs {s}");
            // Each step is the level before times the factor it takes off.
            let drops: Vec<_> = fall.drops().collect();
            assert_eq!(drops[0].1, 8.0);
            for pair in drops.windows(2) {
                assert_eq!(pair[0].2, pair[1].1);
            }
        }
        let threads = &losses.falls[0];
        let kinds: Vec<data::Loss> = threads.steps.iter().map(|s| s.0).collect();
        use data::Loss::*;
        assert_eq!(kinds, [Machine, Code, Imbalance, Overhead]);
        // Uneven workers: 8 busy 90 %…69 % of the wall time with equal
        // shares: the balanced time (8 over the summed rates) over the longest.
        let lb = 8.0 / (0..8).map(|i| 1.0 / (1.0 - 0.03 * i as f64)).sum::<f64>();
        assert!((threads.steps[3].1 / threads.steps[2].1 - 1.0).abs() < 1e-9);
        assert!((threads.steps[2].1 / threads.steps[1].1 - lb).abs() < 1e-9);
        // A command's busy times are unknown: C → S in one step.
        let kinds: Vec<data::Loss> = losses.falls[2].steps.iter().map(|s| s.0).collect();
        assert_eq!(kinds, [Machine, Unsplit]);
    }

    #[test]
    fn no_breakdown_without_a_capacity() {
        let summary = summarize(&rows(false));
        assert_eq!(Losses::select(&summary, Method::Mc), None);
        let with = summarize(&with_capacity(rows(false)));
        assert_eq!(Losses::select(&with, Method::Midpoint), None);
        // Only 1 worker: nothing to lose.
        let one: Vec<SummaryRow> = with.into_iter().filter(|r| r.workers == 1).collect();
        assert_eq!(Losses::select(&one, Method::Mc), None);
        let dir = folder(&rows(false));
        let files = plots_of(dir.path()).unwrap();
        assert!(!names(&files).iter().any(|n| n.starts_with("breakdown-")));
    }

    #[test]
    fn plots_show_the_largest_work() {
        let summary = summarize(&rows(true));
        let strong = Scaling::select(&summary, Method::Mc, Mode::Strong).unwrap();
        assert_eq!(strong.work, N);
        assert_eq!(strong.workers(), [1, 2, 4, 8]);
        let threads = strong
            .series
            .iter()
            .find(|s| s.backend.name() == "threads")
            .unwrap();
        // Speed-up CI: the baseline's interval over the point's, around
        // the speed-up.
        let t1 = threads.points[0].ci_s.unwrap();
        for p in &threads.points[1..] {
            let (lo, hi) = p.speedup_ci.unwrap();
            let s = p.speedup.unwrap();
            assert!(lo <= s && s <= hi, "{p:?}");
            let (ci_lo, ci_hi) = p.ci_s.unwrap();
            assert!((lo - t1.0 / ci_hi).abs() < 1e-12 && (hi - t1.1 / ci_lo).abs() < 1e-12);
        }
        let weak = Scaling::select(&summary, Method::Mc, Mode::Weak).unwrap();
        assert_eq!(weak.work, PER_WORKER);
        assert!(Scaling::select(&summary, Method::Midpoint, Mode::Weak).is_none());
    }

    #[test]
    fn phases_are_medians_at_the_most_workers() {
        let medians = crate::analyse::phases::phase_medians(&rows(false));
        let phases = Phases::select(&medians, Method::Mc, N).unwrap();
        assert_eq!(phases.workers, 8);
        let backends: Vec<&str> = phases.bars.iter().map(|b| b.backend.name()).collect();
        assert_eq!(
            backends,
            ["threads", "fork-pipe"],
            "command kernels have no phases"
        );
        // The fixture's phases are wall/4, wall/2, wall/4 of each repetition.
        let threads = &phases.bars[0].phases;
        let t = 2.0 * (0.02 + 0.98 / 8.0) * 1.02;
        assert!((threads.compute_s - t / 2.0).abs() < 1e-12, "{threads:?}");
        assert!((threads.total_s() - t).abs() < 1e-12);
        assert_eq!(threads.reps, 3, "the failed repetition does not count");
    }

    #[test]
    fn amdahl_curves_only_where_three_worker_counts_allow_a_fit() {
        let dir = folder(&rows(false));
        plots_of(dir.path()).unwrap();
        let svg = |name: &str| {
            fs::read_to_string(dir.path().join(OutDir::PLOTS).join(format!("{name}.svg"))).unwrap()
        };
        // mc: threads and fork-pipe at 1, 2, 4 and 8 workers, exact Amdahl.
        let mc = svg("speedup-mc");
        assert!(mc.contains("Amdahl fit"), "{mc}");
        assert!(mc.contains("f = 0.0200 ± 0.0000") && mc.contains("f = 0.100 ± 0.000"));
        // midpoint: 1 and 2 workers only, so nothing fitted, drawn or keyed.
        let midpoint = svg("speedup-midpoint");
        assert!(!midpoint.contains("Amdahl") && !midpoint.contains("f = "));
    }

    #[test]
    fn an_empty_sweep_has_no_plots() {
        let dir = folder(&[]);
        assert_eq!(plots_of(dir.path()).unwrap(), Vec::<PathBuf>::new());
    }

    #[test]
    fn missing_files_are_named() {
        let dir = folder(&rows(false));
        fs::remove_file(dir.path().join("machine.json")).unwrap();
        let err = format!("{:#}", plots_of(dir.path()).unwrap_err());
        assert!(err.contains("machine.json"), "{err}");
    }
}
