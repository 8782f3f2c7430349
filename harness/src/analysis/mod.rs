//! Analysis and reports, built from an output folder's CSV files and
//! machine.json alone — never re-running anything — so a report can be
//! rebuilt on another machine.
//!
//! [`models`] fits scaling models; [`plots`] draws SVG and PNG charts;
//! [`report`] writes report.md and report.html; [`compare`] is the CI gate.

pub mod compare;
pub mod models;
pub mod plots;
pub mod report;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Rebuilds DIR/plots/ and both reports from DIR's CSV files and
/// machine.json; returns the files written.
pub fn build(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.join("summary.csv").is_file() {
        return Err(crate::config::UsageError(format!(
            "{}: not a sweep folder (no summary.csv)",
            dir.display()
        ))
        .into());
    }
    let mut files = plots::write_plots(dir)
        .with_context(|| format!("cannot draw the plots of {}", dir.display()))?;
    let plot_files = report::PlotFile::discover(dir)?;
    report::write_reports(dir, &plot_files)
        .with_context(|| format!("cannot write the reports of {}", dir.display()))?;
    files.push(dir.join("report.md"));
    files.push(dir.join("report.html"));
    Ok(files)
}
