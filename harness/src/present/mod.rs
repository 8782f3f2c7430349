//! Presenting results: terminal tables and run output, markdown and HTML
//! reports, plots, the comparison — built from an output folder's files
//! alone (never re-running anything), so a report can be rebuilt on another
//! machine.
//!
//! [`format`] is the one place numbers are spelled; [`run`] prints `list`
//! and `run`; [`table`] the sweep's speed-up tables and answer line;
//! [`report`] writes report.md and report.html; [`plots`] draws SVG and PNG
//! charts; [`compare`] renders `piscale compare`.

pub mod compare;
pub mod format;
pub mod plots;
pub mod report;
pub mod run;
pub mod table;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use std::collections::BTreeMap;

use crate::analyse::phases::{phase_medians, PhaseMedians};
use crate::error::UsageError;
use crate::results::{read_raw, read_summary, Machine, OutDir, PointId, SummaryRow};

/// Rebuilds DIR/plots/ and both reports from DIR's CSV files and
/// machine.json; returns the files written.
pub fn build(dir: &Path) -> Result<Vec<PathBuf>> {
    let out = OutDir(dir.to_path_buf());
    if !out.summary().is_file() {
        return Err(UsageError(format!(
            "{}: not a sweep folder (no {})",
            dir.display(),
            OutDir::SUMMARY
        ))
        .into());
    }
    let inputs = Inputs::read(&out).map_err(|e| UsageError(format!("{e:#}")))?;
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
    let mut files = plots::write_plots(&out, &inputs)
        .with_context(|| format!("cannot draw the plots of {}", dir.display()))?;
    let plot_files = report::PlotFile::discover(&out)?;
    report::write_reports(&out, &plot_files, &inputs)
        .with_context(|| format!("cannot write the reports of {}", dir.display()))?;
    files.push(out.report_md());
    files.push(out.report_html());
    Ok(files)
}

/// What the plots and reports are drawn from, read once: `summary.csv`
/// (required), the phase medians of `raw.csv` and `machine.json` (`None`
/// where the file is missing).
#[derive(Debug)]
pub struct Inputs {
    /// The points.
    pub summary: Vec<SummaryRow>,
    /// `None` without `raw.csv`.
    pub phases: Option<BTreeMap<PointId, PhaseMedians>>,
    /// `None` without `machine.json`.
    pub machine: Option<Machine>,
}

impl Inputs {
    /// Reads `out`'s files; a file that exists but cannot be read is an error
    /// naming it.
    pub fn read(out: &OutDir) -> Result<Inputs> {
        let summary = read_summary(&out.summary())?;
        let phases = if out.raw().exists() {
            Some(phase_medians(&read_raw(&out.raw())?))
        } else {
            None
        };
        let machine = if out.machine().exists() {
            Some(Machine::read_json(&out.machine())?)
        } else {
            None
        };
        Ok(Inputs {
            summary,
            phases,
            machine,
        })
    }
}

/// The end of a sweep: plots and reports, then the speed-up tables and the
/// answer on stdout. Returns whether the plots and reports were written (if
/// not, the measurements are still safe on disk and `piscale plot DIR`
/// retries; the error is on stderr).
pub fn finish_sweep(out: &OutDir, summary: &[SummaryRow]) -> bool {
    let built = build(out.path());
    if let Err(e) = &built {
        note(format_args!(
            "error: the plots and reports were not written: {e:#}; `piscale plot {}` retries",
            out.path().display()
        ));
    }
    say(format_args!("{}", table::speedup_table(summary)));
    if let Some(answer) = table::answer_line(summary) {
        say(format_args!("{answer}"));
    }
    note(format_args!(
        "results in {} ({}, {}, {}/)",
        out.path().display(),
        OutDir::REPORT_HTML,
        OutDir::REPORT_MD,
        OutDir::PLOTS
    ));
    built.is_ok()
}

/// A line on stdout. A reader that went away (`piscale sweep | head -1`)
/// is not a reason to stop, let alone to panic: the line is dropped.
pub fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// A line on stderr, dropped if stderr is closed (see [`say`]).
pub fn note(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}
