//! `piscale`: runs the pi kernels of `piscale-kernels` from the command line.
//!
//! The stages, in `docs/ARCHITECTURE.md`: parse ([`cli`]) → validate
//! ([`run`], [`sweep::config`]) → measure ([`measure`]) → record
//! ([`results`]) → analyse ([`analyse`]) → present ([`present`]). Exit
//! codes ([`error`]): 0 on success (a closed stdout counts as success), 2
//! for a usage or input error, 1 when a run fails, 130 when interrupted.

mod analyse;
mod cli;
mod error;
mod lesson;
mod measure;
mod numbers;
mod present;
mod results;
mod run;
mod sweep;

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Command, Lesson};
use crate::error::UsageError;
use crate::sweep::SweepEnd;

/// Exit code of `compare` when a point regressed.
const REGRESSION: u8 = 1;
/// Exit code of a sweep that ended with failed points.
const SOME_FAILED: u8 = 1;
/// Exit code after SIGINT or SIGTERM (128 + SIGINT), as shells report it.
const INTERRUPTED: u8 = 130;

fn run() -> Result<ExitCode> {
    let cli = cli::parse()?;
    let mut out = io::stdout().lock();
    match cli.command {
        Command::List => present::run::list(&mut out)?,
        Command::Run(args) => {
            let config = args.into_request().validate()?;
            let executed = config.execute()?;
            let placement = config.placement(&executed);
            present::run::report(&mut out, config.format, placement, &executed.report)?;
        }
        Command::Machine(args) => {
            // Ctrl-C stops the capacity runs between blocks; exit 130 (below).
            sweep::signals::install_handlers()?;
            let probe = measure::machine_probe::probe(&args.settings())?;
            present::machine::report(&mut out, args.format, &probe)?;
        }
        Command::Lesson {
            lesson: Lesson::Race(args),
        } => {
            let race = lesson::race::run(&args.settings())?;
            present::lesson::race(&mut out, args.format, &race)?;
        }
        Command::Plot { dir } => {
            for file in present::build(&dir)? {
                let file = file.display().to_string();
                writeln!(out, "{}", present::text::escaped(&file))?;
            }
        }
        Command::Compare {
            base,
            new,
            threshold,
        } => {
            let comparison = analyse::compare::compare(&base, &new, threshold)?;
            write!(out, "{}", present::compare::markdown(&comparison))?;
            out.flush()?;
            if comparison.has_regression() {
                return Ok(ExitCode::from(REGRESSION));
            }
        }
        Command::Watchdog { parent } => measure::watchdog::watch(parent),
        Command::MpiWorker(args) => {
            #[cfg(feature = "mpi")]
            measure::mpi::worker::run(args)?;
            #[cfg(not(feature = "mpi"))]
            {
                drop(args);
                return Err(UsageError(measure::mpi::NOT_BUILT.into()).into());
            }
        }
        Command::Sweep(args) => {
            drop(out);
            // Paths need not be UTF-8 (clap took them as they are); the
            // command line is only recorded, in machine.json, so lossily.
            let argv = std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            return Ok(match sweep::sweep(args.into_request(), argv)? {
                SweepEnd::Complete => ExitCode::SUCCESS,
                SweepEnd::SomeFailed(n) => {
                    present::note(format_args!(
                        "{n} repetition(s) failed; their errors are in {} (--resume runs them again)",
                        results::OutDir::RAW
                    ));
                    ExitCode::from(SOME_FAILED)
                }
                SweepEnd::Interrupted => {
                    present::note(format_args!(
                        "interrupted: finished rows kept; continue with --resume"
                    ));
                    ExitCode::from(INTERRUPTED)
                }
                SweepEnd::Unreported => ExitCode::from(SOME_FAILED),
            });
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    // A worker of a process backend started with `--start spawn` is this
    // program run again: it works and exits here, before anything else.
    piscale_kernels::start::serve_if_worker();
    let err = match run() {
        Ok(code) => return code,
        Err(err) => err,
    };
    // `piscale list | head -1`: the reader went away, which is not our failure.
    if err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    }) {
        return ExitCode::SUCCESS;
    }
    if let Some(usage) = err.downcast_ref::<UsageError>() {
        present::note(format_args!("error: {usage}"));
        return ExitCode::from(2);
    }
    if piscale_kernels::cancel::requested() {
        present::note(format_args!("interrupted"));
        return ExitCode::from(INTERRUPTED);
    }
    present::note(format_args!("Error: {err:#}"));
    // A job or team the library refuses is the input's fault.
    let invalid = err.chain().any(|e| {
        matches!(
            e.downcast_ref::<measure::MeasureError>(),
            Some(measure::MeasureError::Invalid(_))
        )
    });
    ExitCode::from(if invalid { 2 } else { 1 })
}
