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

use crate::error::UsageError;
use crate::results::{OutDir, SummaryRow};

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
    let mut files = plots::write_plots(&out)
        .with_context(|| format!("cannot draw the plots of {}", dir.display()))?;
    let plot_files = report::PlotFile::discover(&out)?;
    report::write_reports(&out, &plot_files)
        .with_context(|| format!("cannot write the reports of {}", dir.display()))?;
    files.push(out.report_md());
    files.push(out.report_html());
    Ok(files)
}

/// The end of a sweep: plots and reports (a failure there is a warning:
/// the measurements are safe on disk and `piscale plot DIR` can retry),
/// then the speed-up tables and the answer on stdout.
pub fn finish_sweep(out: &OutDir, summary: &[SummaryRow]) {
    if let Err(e) = build(out.path()) {
        eprintln!("warning: {e:#}");
    }
    println!("{}", table::speedup_table(summary));
    if let Some(answer) = table::answer_line(summary) {
        println!("{answer}");
    }
    eprintln!(
        "results in {} ({}, {}, {}/)",
        out.path().display(),
        OutDir::REPORT_HTML,
        OutDir::REPORT_MD,
        OutDir::PLOTS
    );
}
