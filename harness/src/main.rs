//! `piscale`: runs the pi kernels of `piscale-kernels` from the command line.
//!
//! Parse (`cli`) → validate (`config`) → run (`piscale_kernels`) → present
//! (`output`). Exit codes: 0 on success (a closed stdout counts as success),
//! 2 for a usage or input error, 1 when a run fails.

mod analysis;
mod child;
mod cli;
mod config;
mod mpi;
mod numbers;
mod output;
mod sweep;

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Result;
use piscale_kernels::Error as KernelError;

use crate::cli::Command;
use crate::config::UsageError;
use crate::sweep::runner::SweepEnd;

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
        Command::List => output::list(&mut out)?,
        Command::Run(args) => {
            let config = args.into_request().validate()?;
            piscale_kernels::Isa::set_active(config.isa)?;
            let report = if config.backend == piscale_kernels::BackendKind::Mpi {
                mpi_run(&config)?
            } else {
                let mut backend = config.backend.create(config.team.clone())?;
                backend.run(&config.job)?
            };
            output::report(&mut out, &config, &report)?;
        }
        Command::Plot { dir } => {
            for file in analysis::build(&dir)? {
                writeln!(out, "{}", file.display())?;
            }
        }
        Command::Compare {
            base,
            new,
            threshold,
        } => {
            let comparison = analysis::compare::compare(&base, &new, threshold)?;
            write!(out, "{}", comparison.markdown())?;
            out.flush()?;
            if comparison.has_regression() {
                return Ok(ExitCode::from(REGRESSION));
            }
        }
        Command::MpiWorker(args) => {
            #[cfg(feature = "mpi")]
            mpi::worker::run(args)?;
            #[cfg(not(feature = "mpi"))]
            {
                drop(args);
                return Err(UsageError(mpi::NOT_BUILT.into()).into());
            }
        }
        Command::Sweep(args) => {
            drop(out);
            let argv = std::env::args().collect();
            return Ok(match sweep::runner::sweep(args.into_request(), argv)? {
                SweepEnd::Complete => ExitCode::SUCCESS,
                SweepEnd::SomeFailed(n) => {
                    eprintln!("{n} repetition(s) failed; their errors are in raw.csv");
                    ExitCode::from(SOME_FAILED)
                }
                SweepEnd::Interrupted => {
                    eprintln!("interrupted: finished rows kept; continue with --resume");
                    ExitCode::from(INTERRUPTED)
                }
            });
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `piscale run --backend mpi`: the ranks run under `mpirun`.
fn mpi_run(config: &config::RunConfig) -> Result<piscale_kernels::RunReport> {
    // mpirun runs in a process group of its own, out of reach of a Ctrl-C
    // at the terminal: the cancel flag tells the launcher to stop it.
    sweep::runner::install_signal_handlers()?;
    let usable = piscale_kernels::CpuList::usable()?.0.len();
    let isa = String::from(config.isa_asked);
    let launch = mpi::launch::Launch {
        job: &config.job,
        ranks: config.team.workers,
        cpus: config.team.cpus.as_ref(),
        isa: &isa,
        settings: &config.mpi,
        // Like the other backends, `run` takes any number of workers.
        oversubscribe: config.team.workers > usable && config.mpi.hostfile.is_none(),
        timeout: config.job.timeout,
    };
    mpi::launch::run(&launch).map_err(anyhow::Error::msg)
}

/// Whether the run ended because of SIGINT or SIGTERM.
fn interrupted() -> bool {
    piscale_kernels::cancel::requested()
}

fn main() -> ExitCode {
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
        eprintln!("error: {usage}");
        return ExitCode::from(2);
    }
    eprintln!("Error: {err:#}");
    if interrupted() {
        return ExitCode::from(INTERRUPTED);
    }
    // The library's `Invalid` is a job or team it refuses: the input's fault.
    let invalid = err.chain().any(|e| {
        matches!(
            e.downcast_ref::<KernelError>(),
            Some(KernelError::Invalid(_))
        )
    });
    ExitCode::from(if invalid { 2 } else { 1 })
}
