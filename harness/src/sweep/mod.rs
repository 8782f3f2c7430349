//! `piscale sweep`: strong and weak scaling studies over methods, kernels
//! and worker counts, recorded row by row.
//!
//! Parse, validate, then act: [`config`] holds the settings (TOML and flags
//! in one struct); [`prepare`] loads, merges and validates them and decides
//! every point's placement, writing nothing; [`plan`] expands them into
//! points and a shuffled schedule; [`runner`] measures through a
//! `measure::Executor`, writing each row as soon as it exists; [`progress`]
//! shows how far it got; [`signals`] handles Ctrl-C; [`one_line`] turns
//! `--command` into command kernels and makes a sweep of commands alone.

pub mod config;
pub mod one_line;
pub mod plan;
pub mod prepare;
mod progress;
pub mod recorded;
pub mod runner;
pub mod signals;

pub use prepare::SweepRequest;
pub use runner::SweepEnd;

use anyhow::Result;

use crate::measure::RealExecutor;

/// Runs the sweep described by `req`; `argv` is recorded in machine.json.
pub fn sweep(req: SweepRequest, argv: Vec<String>) -> Result<SweepEnd> {
    let prepared = prepare::prepare(req)?;
    signals::install_handlers()?;
    // The executor (and with it every pool) is dropped before returning,
    // so pool workers are stopped and reaped.
    let mut executor =
        RealExecutor::new(prepared.config.command.clone(), prepared.config.mpi.clone());
    runner::execute_with(prepared, argv, &mut executor)
}
