//! Presenting results: terminal tables and run output, markdown and HTML
//! reports, plots, the comparison — built from an output folder's files
//! alone (never re-running anything), so a report can be rebuilt on another
//! machine.
//!
//! [`format`] is the one place numbers are spelled; [`text`] the one
//! rendering of text from outside piscale (paths, command output) for a
//! terminal or a report; [`run`] prints `list` and `run`; [`table`] the sweep's speed-up tables and answer line;
//! [`report`] writes report.md and report.html; [`plots`] draws SVG and PNG
//! charts; [`compare`] renders `piscale compare`.

pub mod compare;
pub mod explain;
pub mod format;
pub mod lesson;
pub mod machine;
pub mod plots;
pub mod report;
pub mod run;
pub mod table;
pub mod text;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use std::collections::BTreeMap;

use crate::analyse::answer::{Busy, Completeness};
use crate::analyse::capacity::{cpu_rates, CpuRates};
use crate::analyse::phases::{phase_medians, PhaseMedians};
use crate::analyse::summary::summarize;
use crate::error::UsageError;
use crate::results::{read_raw, read_summary, write_summary, Machine, OutDir, PointId, SummaryRow};
use crate::sweep::config::SweepConfig;

/// Rebuilds DIR's summary.csv (from raw.csv, by this version's
/// statistics), DIR/plots/ and both reports, from DIR's files alone;
/// returns the files written.
pub fn build(dir: &Path) -> Result<Vec<PathBuf>> {
    let out = OutDir(dir.to_path_buf());
    if !out.summary().is_file() && !out.raw().is_file() {
        return Err(UsageError(format!(
            "{}: not a sweep folder (no {} or {})",
            dir.display(),
            OutDir::RAW,
            OutDir::SUMMARY
        ))
        .into());
    }
    let inputs = Inputs::read(&out, None).map_err(|e| UsageError(format!("{e:#}")))?;
    if inputs.phases.is_some() {
        write_summary(&out.summary(), &inputs.summary)?;
    }
    draw(&out, &inputs)
}

/// Draws `out`'s plots and writes both reports from `inputs`; returns the
/// files written.
fn draw(out: &OutDir, inputs: &Inputs) -> Result<Vec<PathBuf>> {
    // The plots need every file: a missing one is the user's to fix
    // (exit status 2, as for `compare`), not a failed drawing.
    for (missing, path) in [
        (inputs.phases.is_none(), out.raw()),
        (inputs.machine.is_none(), out.machine()),
    ] {
        if missing {
            return Err(UsageError(format!("{}: no such file", path.display())).into());
        }
    }
    let dir = out.path().display();
    let mut files = plots::write_plots(out, inputs)
        .with_context(|| format!("cannot draw the plots of {dir}"))?;
    let plot_files = report::PlotFile::discover(out)?;
    report::write_reports(out, &plot_files, inputs)
        .with_context(|| format!("cannot write the reports of {dir}"))?;
    files.push(out.report_md());
    files.push(out.report_html());
    Ok(files)
}

/// What the plots and reports are drawn from, read once: the summary and
/// the phase medians of `raw.csv` (the summary from `summary.csv` where
/// there is no `raw.csv`), and `machine.json` (`None` where missing).
#[derive(Debug)]
pub struct Inputs {
    /// The points: `raw.csv` summarised by this version, so that a folder
    /// from an older one is shown with today's statistics.
    pub summary: Vec<SummaryRow>,
    /// `None` without `raw.csv`.
    pub phases: Option<BTreeMap<PointId, PhaseMedians>>,
    /// Each CPU's rate at every capacity point (empty without `raw.csv`).
    pub cpu_rates: Vec<CpuRates>,
    /// `None` without `machine.json`.
    pub machine: Option<Machine>,
    /// How much of the planned sweep was measured: `None` without (or with
    /// an unreadable) `config.toml`, whose `reps` is the plan.
    pub completeness: Option<Completeness>,
}

impl Inputs {
    /// Reads `out`'s files, taking `summary` when the caller already has
    /// it (a sweep that has just summarised its rows); a file that exists
    /// but cannot be read is an error naming it.
    pub fn read(out: &OutDir, summary: Option<Vec<SummaryRow>>) -> Result<Inputs> {
        let (summary, phases, cpu_rates) = if out.raw().exists() {
            let rows = read_raw(&out.raw())?;
            let summary = summary.unwrap_or_else(|| summarize(&rows));
            (summary, Some(phase_medians(&rows)), cpu_rates(&rows))
        } else {
            let summary = match summary {
                Some(summary) => summary,
                None => read_summary(&out.summary())?,
            };
            (summary, None, Vec::new())
        };
        let machine = if out.machine().exists() {
            Some(Machine::read_json(&out.machine())?)
        } else {
            None
        };
        let completeness = SweepConfig::load(&out.config())
            .ok()
            .map(|c| Completeness::of(&summary, c.reps as usize));
        Ok(Inputs {
            summary,
            phases,
            cpu_rates,
            machine,
            completeness,
        })
    }
}

/// The end of a sweep: plots and reports, then the speed-up tables and the
/// answer on stdout, and where the files are. Returns whether the plots and
/// reports were written (if not, the measurements are still safe on disk
/// and `piscale plot DIR` retries; the error is on stderr, and the last
/// line names only the files that are there).
pub fn finish_sweep(out: &OutDir, summary: &[SummaryRow], completeness: Completeness) -> bool {
    let inputs = Inputs::read(out, Some(summary.to_vec()));
    let machine = inputs.as_ref().ok().and_then(|i| i.machine.clone());
    let rates = inputs
        .as_ref()
        .map(|i| i.cpu_rates.clone())
        .unwrap_or_default();
    let built = inputs.and_then(|inputs| draw(out, &inputs));
    let dir = out.path().display().to_string();
    let dir = text::escaped(&dir);
    if let Err(e) = &built {
        note(format_args!(
            "error: the plots and reports were not written: {e:#}; `piscale plot {dir}` retries"
        ));
    }
    say(format_args!("{}", table::speedup_table(summary)));
    let busy = Busy::of(summary, machine.as_ref());
    if let Some(answer) = table::answer_text(summary, Some(completeness), busy, &rates) {
        // The tables just said what the brackets mean: not twice.
        let note = answer.note.as_deref();
        for line in answer.lines().into_iter().filter(|l| Some(*l) != note) {
            say(format_args!("{line}"));
        }
    }
    note(format_args!("{}", results_line(&dir, built.is_ok())));
    built.is_ok()
}

/// The sweep's last line: where its files are. Without the reports (they
/// could not be written) it names only the rows, which are on disk before
/// the reports are tried: `rows in DIR (raw.csv, summary.csv); the reports
/// were not written`.
fn results_line(dir: &str, reported: bool) -> String {
    if reported {
        format!(
            "results in {dir} ({}, {}, {}/)",
            OutDir::REPORT_HTML,
            OutDir::REPORT_MD,
            OutDir::PLOTS
        )
    } else {
        format!(
            "rows in {dir} ({}, {}); the reports were not written",
            OutDir::RAW,
            OutDir::SUMMARY
        )
    }
}

/// A line on stdout. A reader that went away (`piscale sweep | head -1`)
/// is not a reason to stop, let alone to panic: the line is dropped.
/// Whatever it quotes, it cannot act on the terminal: anything hidden but
/// its line breaks is shown escaped ([`text::escaped_lines`]).
pub fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let line = line.to_string();
    let _ = writeln!(std::io::stdout(), "{}", text::escaped_lines(&line));
}

/// A line on stderr, dropped if stderr is closed, escaped as by [`say`]:
/// every message, progress line and error goes through here, so that a
/// path, a command's output or its error text never reaches the terminal
/// as escape sequences.
pub fn note(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let line = line.to_string();
    let _ = writeln!(std::io::stderr(), "{}", text::escaped_lines(&line));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_line_names_only_files_that_were_written() {
        assert_eq!(
            results_line("out", true),
            "results in out (report.html, report.md, plots/)"
        );
        assert_eq!(
            results_line("out", false),
            "rows in out (raw.csv, summary.csv); the reports were not written"
        );
    }
}
