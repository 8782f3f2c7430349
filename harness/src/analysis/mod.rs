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
