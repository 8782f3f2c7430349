//! `report.md` and `report.html`: what a sweep found, in words, tables and
//! plots, rebuilt from an output folder's files alone.
//!
//! [`write_reports`] reads `summary.csv` (required), `raw.csv` (for the
//! phase times and failures) and `machine.json` (the machine), finds the
//! plots in `plots/` ([`PlotFile::discover`]) and writes both reports. It
//! never measures anything, so a report can be rebuilt anywhere, any time.
//!
//! The content is built once as a small document tree ([`doc`], assembled
//! by [`document`], [`machine`] and [`models`]) and rendered twice:
//! GitHub-flavoured markdown fit for a CI job summary ([`markdown`]), and
//! one self-contained HTML file with the plots inlined ([`html`]).

mod capacity;
pub(crate) mod doc;
mod document;
mod html;
mod machine;
pub(crate) mod markdown;
mod models;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use self::doc::Figure;
use super::Inputs;
use crate::results::out_dir::PlotKind;
use crate::results::{write_atomic, OutDir};

/// Plot kinds in the order the report shows them (file names
/// `<kind>-<method>.svg`, see [`crate::results::out_dir::PlotName`]); other
/// kinds follow, by name.
pub const PLOT_KINDS: [PlotKind; 6] = [
    PlotKind::Speedup,
    PlotKind::Efficiency,
    PlotKind::Breakdown,
    PlotKind::Weak,
    PlotKind::Time,
    PlotKind::Phases,
];

/// A plot for the report: an SVG file (`plots/<kind>-<method>.svg`), and
/// its PNG twin when one lies next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlotFile {
    /// What is plotted: `speedup`, `efficiency`, `breakdown`, `weak`,
    /// `time`, `phases` (the file name up to its first `-`).
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

    /// Every plot in `out/plots/`, in report order: by kind
    /// ([`PLOT_KINDS`], then others by name), then method. No folder means
    /// no plots, not an error.
    pub fn discover(out: &OutDir) -> Result<Vec<PlotFile>> {
        let plots_dir = out.plots();
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
            .position(|k| k.name() == self.kind)
            .unwrap_or(PLOT_KINDS.len());
        (rank, &self.kind, &self.method)
    }

    /// `speed-up, mc`.
    fn title(&self) -> String {
        let kind = match PlotKind::from_name(&self.kind) {
            Some(PlotKind::Speedup) => "speed-up",
            Some(PlotKind::Weak) => "weak scaling",
            Some(PlotKind::Phases) => "phases (spawn, compute, reduce)",
            Some(PlotKind::Breakdown) => {
                "where the speed-up went (machine, code, imbalance, overhead)"
            }
            _ => &self.kind,
        };
        format!("{kind}, {}", self.method)
    }
}

/// Writes `out/report.md` and `out/report.html` from the folder's files
/// (`inputs`, see [`Inputs::read`]), showing `plots` (see
/// [`PlotFile::discover`]). A plot whose file is gone is left out; a
/// missing `raw.csv` or `machine.json` leaves out what they would have
/// told. Each report is replaced atomically.
pub fn write_reports(out: &OutDir, plots: &[PlotFile], inputs: &Inputs) -> Result<()> {
    let figures = figures(out.path(), plots);
    let doc = document::document(inputs, figures);
    write_atomic(&out.report_md(), markdown::render(&doc).as_bytes())?;
    write_atomic(&out.report_html(), html::render(&doc).as_bytes())?;
    Ok(())
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::analyse::summary::summarize;
    use crate::results::fixture::{failed, row};
    use crate::results::{write_summary, Mode, RawRow, RawWriter};
    use piscale_kernels::{Method, Named};

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
        let mut add = |method: &str, backend: &str, mode: Mode, p: usize, n: u64, ts: &[f64]| {
            for (rep, &t) in ts.iter().enumerate() {
                let mut r = row(backend, mode, p, n, t);
                r.method = Method::parse(method).unwrap();
                r.rep = rep as u32;
                rows.push(r);
            }
        };
        let (s, w) = (Mode::Strong, Mode::Weak);
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
            r.method = Method::Midpoint;
            r.rep = rep;
            rows.push(r);
        }
        rows
    }

    /// Writes raw.csv, summary.csv and machine.json of `rows` into `dir`.
    pub(crate) fn write_sweep(dir: &Path, rows: &[RawRow], machine: Option<&str>) {
        let out = OutDir(dir.to_path_buf());
        let mut raw = RawWriter::create(&out.raw()).unwrap();
        for r in rows {
            raw.write(r).unwrap();
        }
        write_summary(&out.summary(), &summarize(rows)).unwrap();
        if let Some(machine) = machine {
            fs::write(out.machine(), machine).unwrap();
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
        let plots = dir.path().join(OutDir::PLOTS);
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
        let out = OutDir(dir.to_path_buf());
        let inputs = Inputs::read(&out, None).unwrap();
        write_reports(&out, &PlotFile::discover(&out).unwrap(), &inputs).unwrap();
        (
            fs::read_to_string(out.report_md()).unwrap(),
            fs::read_to_string(out.report_html()).unwrap(),
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
        let plots = PlotFile::discover(&OutDir(dir.path().to_path_buf())).unwrap();
        let names: Vec<String> = plots
            .iter()
            .map(|p| format!("{}-{}", p.kind, p.method))
            .collect();
        assert_eq!(names, ["speedup-mc", "efficiency-midpoint", "phases-mc"]);
        let none = tempfile::tempdir().unwrap();
        assert_eq!(
            PlotFile::discover(&OutDir(none.path().to_path_buf())).unwrap(),
            vec![]
        );
        assert_eq!(PlotFile::from_path("plots/speedup-mc.png"), None);
        assert_eq!(
            PlotFile::from_path("plots/time-mc-2.svg").map(|p| p.method),
            Some("mc-2".into())
        );
    }

    #[test]
    fn the_breakdown_plot_follows_the_efficiency_plot_with_its_title() {
        let dir = tempfile::tempdir().unwrap();
        let plots = dir.path().join(OutDir::PLOTS);
        fs::create_dir(&plots).unwrap();
        for name in ["weak-mc", "breakdown-mc", "efficiency-mc", "speedup-mc"] {
            fs::write(plots.join(format!("{name}.svg")), svg(name)).unwrap();
        }
        let found = PlotFile::discover(&OutDir(dir.path().to_path_buf())).unwrap();
        let kinds: Vec<&str> = found.iter().map(|p| p.kind.as_str()).collect();
        assert_eq!(kinds, ["speedup", "efficiency", "breakdown", "weak"]);
        assert_eq!(
            found[2].title(),
            "where the speed-up went (machine, code, imbalance, overhead), mc"
        );
    }

    #[test]
    fn report_md_links_only_plots_that_exist() {
        let dir = folder();
        let out = OutDir(dir.path().to_path_buf());
        let mut plots = PlotFile::discover(&out).unwrap();
        plots.push(PlotFile::from_path(dir.path().join("plots/weak-mc.svg")).unwrap());
        write_reports(&out, &plots, &Inputs::read(&out, None).unwrap()).unwrap();
        let md = fs::read_to_string(out.report_md()).unwrap();
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
            html.contains("<td class=\"num\">1.92× [1.87–1.98] (96%)</td>"),
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
    fn models_say_once_when_two_worker_counts_are_all_there_is() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<RawRow> = raw_rows().into_iter().filter(|r| r.workers <= 2).collect();
        write_sweep(dir.path(), &rows, Some(MACHINE));
        let (md, _) = build(dir.path());
        let note = "Every table below has speed-ups at fewer than 3 worker counts (p = 1, 2): \
                    there is nothing to fit.";
        assert_eq!(md.matches(note).count(), 1, "{md}");
        let models = md.find("## Models").unwrap();
        // The results' per-point tables have a "Gustafson f" column; the
        // models section fits none.
        let section = &md[models..];
        assert!(!section.contains("Amdahl f") && !section.contains("Gustafson f"));
        let first_table = md[models..].find("### ").unwrap() + models;
        assert!((models..first_table).contains(&md.find(note).unwrap()));
    }

    #[test]
    fn missing_summary_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutDir(dir.path().to_path_buf());
        let written = Inputs::read(&out, None).and_then(|inputs| write_reports(&out, &[], &inputs));
        let err = format!("{:#}", written.unwrap_err());
        assert!(err.contains("summary.csv"), "{err}");
        assert!(!out.report_md().exists());
    }
}
