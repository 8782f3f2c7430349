//! Command-line flags (clap derive) and their one-line error messages.
//!
//! Each flag's value is checked by its own value parser, so an error names
//! the flag. `run`'s flags become a [`RunRequest`] whose cross-flag checks
//! live in [`crate::run`]; `sweep`'s settings are the fields of
//! [`SweepConfig`] itself, kept as [`SettingFlags`] so that only the flags
//! given override the config file.
//!
//! Every value parser is wrapped in [`utf8`], so that a value that is not
//! UTF-8 is refused naming its flag too. The flags that take a number (or a
//! CPU list) allow negative numbers, so that `--workers -1` reaches the
//! parser (`--workers: must not be negative, got -1`) instead of being read
//! as an unknown flag `-1`. Clap's idea of a negative number stops at digits
//! and one dot, so [`attach_dash_values`] also hands it `--timeout -1e-3`
//! and `--samples -2^3` joined as `--flag=VALUE`. (Not `allow_hyphen_values`:
//! that would take the next flag as the value of one given without it,
//! `--workers --samples 5`, and clap would then blame the stray `5`.)

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::builder::{PossibleValue, RangedU64ValueParser, StringValueParser, TypedValueParser};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use piscale_kernels::{CpuList, Job, Method, Named, StartMethod, Update};

use crate::error::UsageError;
use crate::lesson::race;
use crate::measure::machine_probe::Settings;
use crate::measure::mpi::{Launcher, MpiSettings};
use crate::measure::placement::PinPolicy;
use crate::measure::IsaChoice;
use crate::numbers::flags;
use crate::present::run::Format;
use crate::results::Kernel;
use crate::run::RunRequest;
use crate::sweep::config::SweepConfig;
use crate::sweep::SweepRequest;

/// Computes pi two ways with many parallel backends and reports the estimate
/// and where the time went.
#[derive(Debug, Parser)]
#[command(name = "piscale", version, arg_required_else_help = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the methods and backends.
    List,
    /// Run one job once and print the estimate, its error and the timings.
    #[command(
        after_help = "Whole numbers may be written 1000, 1_000_000, 1e9, 2.5e9 or 2^30.\n\
        Exit status: 0 on success, 1 when a run fails (a worker died, a timeout), 2 for bad input."
    )]
    Run(RunArgs),
    /// Measure speed-up: strong and weak scaling over methods, backends and
    /// worker counts, every repetition recorded to CSV.
    #[command(
        after_help = "Without --config, the embedded default study (configs/default.toml) runs.\n\
        Output: DIR/raw.csv (one row per repetition), DIR/summary.csv, DIR/machine.json, DIR/config.toml.\n\
        Exit status: 0 when every point succeeded, 1 when some failed, 2 for bad input, 130 when interrupted."
    )]
    Sweep(SweepArgs),
    /// Probe, in a few seconds, what this machine can give: its topology,
    /// each CPU's rate alone and under full load, and the capacity C(p).
    #[command(
        after_help = "Every figure is a capacity run: pinned workers computing the method's blocks for a\n\
        fixed time, sharing nothing. Exit status: 0 on success, 2 for bad input, 130 when interrupted."
    )]
    Machine(MachineArgs),
    /// The course's examples, run for real and explained.
    Lesson {
        /// Which lesson.
        #[command(subcommand)]
        lesson: Lesson,
    },
    /// Rebuild DIR/plots/ and DIR/report.{md,html} from a sweep's CSV files
    /// (runs automatically at the end of every sweep).
    Plot {
        /// A sweep's output folder.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Compare two sweeps point by point; exit 1 if NEW regressed.
    #[command(
        after_help = "A point regressed when the whole 95 % bootstrap CI of its median-time ratio NEW/BASE\n\
        lies above 1 + threshold. Exit status: 0 no regression, 1 a regression, 2 bad input or no shared points."
    )]
    Compare {
        /// The baseline sweep folder.
        #[arg(value_name = "BASE")]
        base: PathBuf,
        /// The sweep folder to check.
        #[arg(value_name = "NEW")]
        new: PathBuf,
        /// Tolerated slow-down, in per cent.
        #[arg(
            long,
            value_name = "PCT",
            default_value = "5",
            value_parser = utf8(flags::threshold),
            allow_negative_numbers = true
        )]
        threshold: f64,
    },
    /// One MPI rank of an mpi run; started by `mpirun`, not by hand.
    #[command(hide = true)]
    MpiWorker(MpiWorkerArgs),
    /// Ends what a SIGKILLed piscale's commands left running; started by
    /// piscale itself, not by hand (see `measure::watchdog`).
    #[command(hide = true)]
    Watchdog {
        /// The piscale to watch.
        #[arg(long, value_name = "PID", value_parser = utf8(RangedU64ValueParser::<u32>::new()))]
        parent: u32,
    },
}

/// The lessons of `piscale lesson`.
#[derive(Debug, Subcommand)]
pub enum Lesson {
    /// The bank account: two processes deposit and withdraw on one shared
    /// balance of 100 at once — without a lock, with a lock, atomically.
    #[command(
        after_help = "Each way runs --repeat times; every run prints the final balance (it should be 100),\n\
        the updates lost and the time taken, then what happened in plain words.\n\
        Exit status: 0 on success (lost updates included), 1 when a process fails, 2 for bad input."
    )]
    Race(RaceArgs),
}

/// Flags of `piscale lesson race`.
#[derive(Debug, Args)]
pub struct RaceArgs {
    /// Deposits per run, and as many withdrawals: 1 to 1e9.
    #[arg(
        long,
        value_name = "N",
        default_value = "10000",
        value_parser = utf8(race_operations),
        allow_negative_numbers = true
    )]
    pub operations: u64,

    /// Runs of each way (none, lock, atomic): 1 to 1000.
    #[arg(
        long,
        value_name = "N",
        default_value = "5",
        value_parser = utf8(race_repeat),
        allow_negative_numbers = true
    )]
    pub repeat: u32,

    /// Output format: text or json (one object with every run).
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = utf8(Format::parse))]
    pub format: Format,
}

impl RaceArgs {
    /// What the race is to do.
    pub fn settings(&self) -> race::Settings {
        race::Settings {
            operations: self.operations,
            repeat: self.repeat,
        }
    }
}

/// `--operations N` of `lesson race`.
fn race_operations(s: &str) -> Result<u64, String> {
    crate::numbers::parse_in_range(s, 1, race::MAX_OPERATIONS)
}

/// `--repeat N` of `lesson race`.
fn race_repeat(s: &str) -> Result<u32, String> {
    crate::numbers::parse_in_range(s, 1, race::MAX_REPEAT.into()).map(|r| r as u32)
}

/// Flags of `piscale machine`.
#[derive(Debug, Args)]
pub struct MachineArgs {
    /// mc (Monte Carlo darts) or midpoint (midpoint rule): the kernel the workers compute.
    #[arg(long, value_name = "METHOD", default_value = "mc", value_parser = utf8(Method::parse))]
    pub method: Method,

    /// Seconds each run of the curve computes (a sweep's capacity_s); each CPU alone
    /// computes a quarter of it, less past 40 CPUs so that together they take at most
    /// 10 times it. The probe takes about 1.5 s on 2 CPUs and 7 s on 128.
    // The default is a sweep's capacity run (`DEFAULT_CAPACITY`, a test
    // holds them together), so the probe sees the clock speed a sweep's
    // runs see. With `--reps 3`, 2 CPUs cost 1/20 s of warm-up, 2 × 1/20 s
    // alone and 3 × 2 × 0.2 s of curve: about 1.4 s; 128 CPUs 2 s alone
    // and 3 × 8 × 0.2 s of curve: about 7 s.
    #[arg(
        long,
        value_name = "SECS",
        default_value = "0.2",
        value_parser = utf8(probe_duration),
        allow_negative_numbers = true
    )]
    pub duration: Duration,

    /// Rounds of the curve: C(p) is the median of this many, with its interval.
    #[arg(
        long,
        value_name = "N",
        default_value = "3",
        value_parser = utf8(flags::reps),
        allow_negative_numbers = true
    )]
    pub reps: u32,

    /// Output format: text or json (one object with every figure).
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = utf8(Format::parse))]
    pub format: Format,

    /// Kernel instruction set: auto (the best this CPU supports), avx512, avx2 or scalar.
    #[arg(long, value_name = "ISA", default_value = "auto", value_parser = utf8(IsaChoice::from_str))]
    pub isa: IsaChoice,
}

impl MachineArgs {
    /// What the probe is to do.
    pub fn settings(&self) -> Settings {
        Settings {
            method: self.method,
            isa: self.isa,
            duration: self.duration,
            reps: self.reps,
        }
    }
}

/// `--duration SECS` of `machine`: from [`flags::MIN_TIMEOUT_S`] to
/// [`flags::MAX_CAPACITY_S`] seconds, like a sweep's capacity run.
fn probe_duration(s: &str) -> Result<Duration, String> {
    let d = flags::timeout(s)?;
    if d.as_secs_f64() > flags::MAX_CAPACITY_S {
        return Err(format!(
            "must be at most {} seconds, got {}",
            flags::MAX_CAPACITY_S,
            s.trim()
        ));
    }
    Ok(d)
}

/// Flags of `piscale mpi-worker`, written by the MPI launcher
/// ([`crate::mpi::launch::command_line`]).
#[derive(Debug, Args)]
pub struct MpiWorkerArgs {
    /// Method.
    #[arg(long, value_parser = utf8(Method::parse))]
    pub method: Method,
    /// Total work N.
    #[arg(long, value_parser = utf8(flags::samples))]
    pub samples: u64,
    /// Seed.
    #[arg(long, value_parser = utf8(flags::seed))]
    pub seed: u64,
    /// Block size.
    #[arg(long, value_parser = utf8(flags::positive))]
    pub block: u64,
    /// auto or an ISA path name.
    #[arg(long, default_value = "auto", value_parser = utf8(StringValueParser::new()))]
    pub isa: String,
    /// CPUs the ranks of one host pin to, by local rank.
    #[arg(long, value_parser = utf8(CpuList::from_str))]
    pub cpus: Option<CpuList>,
    /// The launcher's CLOCK_MONOTONIC just before it started.
    #[arg(long, value_parser = utf8(RangedU64ValueParser::<u64>::new()))]
    pub t0_mono_ns: u64,
    /// The launcher's wall clock (ns since the epoch) just before it started.
    #[arg(long, value_parser = utf8(RangedU64ValueParser::<u64>::new()))]
    pub t0_real_ns: u64,
    /// The launcher's host.
    #[arg(long, value_parser = utf8(StringValueParser::new()))]
    pub launch_host: String,
}

/// Flags of `piscale sweep`: where the results go, and every setting of
/// [`SweepConfig`] (which beats the config file).
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// TOML sweep configuration [default: the embedded configs/default.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output folder [default: results/<yyyy-mm-dd>-<host>-<hhmmss>/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Continue an interrupted sweep in --out, skipping the repetitions already in raw.csv.
    #[arg(long)]
    pub resume: bool,
    /// Replace --out if it exists.
    #[arg(long)]
    pub force: bool,
    /// Sweep this program too (repeatable), like a [[command]] table:
    /// {workers}, {samples}, {seed}, {cpus} and {omp_places} are replaced.
    /// With commands and no --backends, the commands are swept alone beside
    /// piscale's serial kernel, at N = 1e7 unless --samples says otherwise.
    #[arg(long = "command", value_name = "CMD", value_parser = utf8(clap::builder::StringValueParser::new()))]
    pub commands: Vec<String>,
    /// The name of each --command, in order [default: its script's or program's file name].
    #[arg(long = "name", value_name = "NAME", value_parser = utf8(clap::builder::StringValueParser::new()))]
    pub names: Vec<String>,
    /// The sweep's settings given on the command line.
    #[command(flatten)]
    pub settings: SettingFlags,
}

impl SweepArgs {
    /// The sweep these flags ask for (validated later, as a whole).
    pub fn into_request(self) -> SweepRequest {
        SweepRequest {
            config: self.config,
            out: self.out,
            resume: self.resume,
            force: self.force,
            commands: self.commands,
            names: self.names,
            flags: self.settings,
        }
    }
}

/// The [`SweepConfig`] flags given on the command line, kept as clap's
/// matches: [`apply`](Self::apply) sets exactly the settings given, over
/// whatever the config file said.
#[derive(Debug, Clone, Default)]
pub struct SettingFlags(ArgMatches);

impl SettingFlags {
    /// Sets the settings given as flags in `config`.
    pub fn apply(&self, config: &mut SweepConfig) -> Result<(), clap::Error> {
        config.update_from_arg_matches(&self.0)
    }

    /// The settings given as flags, by their TOML keys (`samples_per_worker`).
    pub fn given(&self) -> impl Iterator<Item = String> + '_ {
        self.0
            .ids()
            .filter(|id| {
                self.0.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine)
            })
            .map(|id| id.as_str().to_owned())
    }
}

impl FromArgMatches for SettingFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(SettingFlags(matches.clone()))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0 = matches.clone();
        Ok(())
    }
}

impl Args for SettingFlags {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        SweepConfig::augment_args(cmd)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        SweepConfig::augment_args_for_update(cmd)
    }
}

/// Flags of `piscale run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// mc (Monte Carlo darts) or midpoint (midpoint rule).
    #[arg(long, value_name = "METHOD", default_value = "mc", value_parser = utf8(Method::parse))]
    pub method: Method,

    /// Backend (see `piscale list`).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "serial",
        value_parser = utf8(Kernel::parse_builtin),
        help = backend_help()
    )]
    pub backend: Kernel,

    /// Number of workers (threads or processes), 1 to 4096; serial takes exactly 1.
    #[arg(
        long,
        value_name = "P",
        default_value = "1",
        value_parser = utf8(flags::workers),
        allow_negative_numbers = true
    )]
    pub workers: usize,

    /// Total work N: darts for mc, steps for midpoint; 1 to 2^53.
    #[arg(
        long,
        value_name = "N",
        default_value = "1e8",
        value_parser = utf8(flags::samples),
        allow_negative_numbers = true
    )]
    pub samples: u64,

    /// Seed of the Monte Carlo streams.
    #[arg(
        long,
        value_name = "S",
        default_value = "0",
        value_parser = utf8(flags::seed),
        allow_negative_numbers = true
    )]
    pub seed: u64,

    /// Block size: the work is cut into blocks of B samples (or steps).
    #[arg(
        long,
        value_name = "B",
        default_value = "2^20",
        value_parser = utf8(flags::positive),
        allow_negative_numbers = true
    )]
    pub block: u64,

    /// Blocks per pool-map task [default: ⌈blocks / (4·P)⌉, like Pool.map], fork-queue
    /// record (same default) or shared-counter update (`--flush`) [default: 1].
    #[arg(long, visible_alias = "flush", value_name = "C", value_parser = utf8(flags::positive), allow_negative_numbers = true)]
    pub chunksize: Option<u64>,

    /// How a process backend's workers start, as Python's multiprocessing start methods: fork
    /// (a copy of this process), spawn (a fresh run of the piscale binary, told its work on
    /// the command line) or forkserver (forked by a server, itself a fresh run, started
    /// with the backend).
    #[arg(long, value_name = "METHOD", default_value = "fork", value_parser = utf8(StartMethod::parse))]
    pub start: StartMethod,

    /// How shm-lock, shm-atomic and shm-race add into their shared counter: lock, atomic
    /// or none (the race); it picks that backend of the three.
    #[arg(long, value_name = "SYNC", value_parser = utf8(Update::parse))]
    pub sync: Option<Update>,

    /// Where workers run: none (the OS decides), compact (physical cores
    /// first, then their SMT siblings), scatter (spread over packages and
    /// cores) or a CPU list like 0,2,4-7 (worker i on list[i % len]).
    #[arg(
        long,
        value_name = "POLICY",
        default_value = "none",
        value_parser = utf8(PinPolicy::from_str),
        allow_negative_numbers = true
    )]
    pub pin: PinPolicy,

    /// Kill the workers and fail after this many seconds (process backends only).
    #[arg(long, value_name = "SECS", value_parser = utf8(flags::timeout), allow_negative_numbers = true)]
    pub timeout: Option<Duration>,

    /// Output format: text or json.
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = utf8(Format::parse))]
    pub format: Format,

    /// Kernel instruction set: auto (the best this CPU supports), avx512, avx2 or scalar.
    /// Every path gives the same answer.
    #[arg(long, value_name = "ISA", default_value = "auto", value_parser = utf8(IsaChoice::from_str))]
    pub isa: IsaChoice,

    /// mpi: what starts the ranks: auto (srun inside a Slurm allocation, else mpirun), mpirun or srun.
    #[arg(long, value_name = "NAME", value_parser = utf8(Launcher::parse), help_heading = "MPI (--backend mpi)")]
    pub launcher: Option<Launcher>,

    /// mpi: let the launcher place the ranks (mpirun --bind-to, srun --cpu-bind), e.g. core;
    /// otherwise ranks pin themselves as --pin says.
    #[arg(
        long,
        value_name = "WHAT",
        value_parser = utf8(StringValueParser::new()),
        help_heading = "MPI (--backend mpi)"
    )]
    pub bind_to: Option<String>,

    /// mpi: mpirun --hostfile: the machines to run the ranks on.
    #[arg(long, value_name = "FILE", help_heading = "MPI (--backend mpi)")]
    pub hostfile: Option<PathBuf>,

    /// mpi: srun --mpi, the Slurm plugin that wires the ranks up (default: $SLURM_MPI_TYPE,
    /// else pmix, which Open MPI needs).
    #[arg(
        long,
        value_name = "PLUGIN",
        value_parser = utf8(StringValueParser::new()),
        help_heading = "MPI (--backend mpi)"
    )]
    pub srun_mpi: Option<String>,

    /// mpi: one more launcher argument (repeat for several), e.g. --mpi-arg=--mca --mpi-arg=btl.
    #[arg(
        long,
        value_name = "ARG",
        value_parser = utf8(StringValueParser::new()),
        allow_hyphen_values = true,
        help_heading = "MPI (--backend mpi)"
    )]
    pub mpi_arg: Vec<String>,
}

/// `--backend`'s help, listing the built-in kernels.
fn backend_help() -> String {
    let names: Vec<String> = Kernel::builtins().map(|k| k.to_string()).collect();
    format!("Backend: {} (see `piscale list`)", names.join(", "))
}

impl RunArgs {
    /// The run these flags ask for (not yet checked as a whole).
    pub fn into_request(self) -> RunRequest {
        let job = Job::new(self.method, self.samples)
            .seed(self.seed)
            .block(self.block)
            .chunksize(self.chunksize)
            .timeout(self.timeout);
        let mpi_flags = [
            self.launcher.map(|_| "--launcher"),
            self.bind_to.as_ref().map(|_| "--bind-to"),
            self.hostfile.as_ref().map(|_| "--hostfile"),
            self.srun_mpi.as_ref().map(|_| "--srun-mpi"),
            (!self.mpi_arg.is_empty()).then_some("--mpi-arg"),
        ];
        RunRequest {
            job,
            backend: self.backend,
            workers: self.workers,
            pin: self.pin,
            format: self.format,
            isa: self.isa,
            mpi: MpiSettings {
                launcher: self.launcher.unwrap_or_default(),
                bind_to: self.bind_to,
                hostfile: self.hostfile,
                srun_mpi: self.srun_mpi,
                args: self.mpi_arg,
                program: None,
            },
            mpi_flag: mpi_flags.into_iter().flatten().next(),
            sync: self.sync,
            start: self.start,
        }
    }
}

/// A value parser that refuses a value that is not UTF-8 naming its flag,
/// then hands the value to `P`. clap's own parsers report invalid UTF-8
/// without saying which argument held it.
#[derive(Debug, Clone)]
pub struct Utf8<P>(P);

/// `parser`, with invalid UTF-8 refused naming the flag ([`Utf8`]).
pub fn utf8<P: TypedValueParser>(parser: P) -> Utf8<P> {
    Utf8(parser)
}

impl<P: TypedValueParser> TypedValueParser for Utf8<P> {
    type Value = P::Value;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<P::Value, clap::Error> {
        if value.to_str().is_none() {
            let mut err = clap::Error::new(ErrorKind::InvalidUtf8).with_cmd(cmd);
            if let Some(arg) = arg {
                err.insert(
                    ContextKind::InvalidArg,
                    ContextValue::String(arg.to_string()),
                );
            }
            return Err(err);
        }
        self.0.parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        self.0.possible_values()
    }
}

/// Parses the command line. `--help` and `--version` print and exit here;
/// every other clap error becomes a one-line [`UsageError`] naming the flag.
pub fn parse() -> Result<Cli, UsageError> {
    try_parse_from(std::env::args_os()).map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        _ => one_line(&e),
    })
}

/// Clap's parse of `argv`, after [`attach_dash_values`].
fn try_parse_from<T: Into<OsString>>(
    argv: impl IntoIterator<Item = T>,
) -> clap::error::Result<Cli> {
    let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
    let cli = Cli::command();
    Cli::try_parse_from(attach_dash_values(&cli, argv.clone()))
        .map_err(|e| name_the_alias_typed(e, &cli, &argv))
}

/// An error about a flag given by its alias (`--flush` for `--chunksize`)
/// names the alias, as typed.
fn name_the_alias_typed(mut e: clap::Error, cli: &clap::Command, argv: &[OsString]) -> clap::Error {
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return e;
    };
    let arg = arg.clone();
    let Some(long) = arg
        .split_whitespace()
        .next()
        .and_then(|f| f.strip_prefix("--"))
    else {
        return e;
    };
    let mut commands = vec![cli];
    let mut aliases = Vec::new();
    while let Some(command) = commands.pop() {
        commands.extend(command.get_subcommands());
        for a in command.get_arguments() {
            if a.get_long() == Some(long) {
                aliases.extend(a.get_all_aliases().unwrap_or_default());
            }
        }
    }
    let typed = |flag: &str| {
        argv.iter().filter_map(|a| a.to_str()).any(|a| {
            a == flag
                || a.strip_prefix(flag)
                    .is_some_and(|rest| rest.starts_with('='))
        })
    };
    if let Some(alias) = aliases
        .into_iter()
        .map(|a| format!("--{a}"))
        .find(|a| typed(a))
    {
        if !typed(&format!("--{long}")) {
            let renamed = arg.replacen(&format!("--{long}"), &alias, 1);
            e.insert(ContextKind::InvalidArg, ContextValue::String(renamed));
        }
    }
    e
}

/// Joins `--flag VALUE` into `--flag=VALUE` where the flag takes a number
/// (it allows negative numbers) and the value starts with one `-`: clap
/// would read `-1e-3` or `-2^3` as short flags and blame them, not the flag.
/// A value starting with `--` is left alone: it is the next flag.
fn attach_dash_values(cli: &clap::Command, argv: Vec<OsString>) -> Vec<OsString> {
    let Some(mut sub) = argv
        .get(1)
        .and_then(|name| cli.find_subcommand(name.as_os_str()))
    else {
        return argv;
    };
    // `lesson race`: the flags are the innermost subcommand's.
    let mut next = 2;
    while let Some(inner) = argv
        .get(next)
        .and_then(|name| sub.find_subcommand(name.as_os_str()))
    {
        sub = inner;
        next += 1;
    }
    let numeric: Vec<String> = sub
        .get_arguments()
        .filter(|a| a.is_allow_negative_numbers_set())
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect();
    let mut out = Vec::with_capacity(argv.len());
    let mut args = argv.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            out.push(arg);
            out.extend(args);
            break;
        }
        let takes_number = arg.to_str().is_some_and(|a| numeric.iter().any(|n| n == a));
        if takes_number {
            if let Some(value) = args.next() {
                let bytes = value.as_encoded_bytes();
                if bytes.starts_with(b"-") && !bytes.starts_with(b"--") {
                    let mut joined = arg;
                    joined.push("=");
                    joined.push(&value);
                    out.push(joined);
                } else {
                    out.extend([arg, value]);
                }
                continue;
            }
        }
        out.push(arg);
    }
    out
}

/// `--workers: must be between 1 and 4096, got 0` rather than clap's
/// multi-line report with a usage section.
fn one_line(e: &clap::Error) -> UsageError {
    let flag = match e.get(ContextKind::InvalidArg) {
        // "--workers <P>" → "--workers"
        Some(ContextValue::String(arg)) => arg.split_whitespace().next().map(str::to_owned),
        _ => None,
    };
    let source = std::error::Error::source(e).map(ToString::to_string);
    let mut msg = match (e.kind(), flag, source) {
        (ErrorKind::ValueValidation, Some(flag), Some(why)) => format!("{flag}: {why}"),
        (ErrorKind::InvalidUtf8, Some(flag), _) => format!("{flag}: the value is not valid UTF-8"),
        (_, flag, _) => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first).to_owned();
            match flag {
                Some(flag) => format!("{flag}: {first}"),
                None => first,
            }
        }
    };
    if let Some(ContextValue::Strings(valid)) = e.get(ContextKind::ValidValue) {
        if !valid.is_empty() {
            msg.push_str(&format!(" (possible values: {})", valid.join(", ")));
        }
    }
    let suggested = match e.get(ContextKind::SuggestedArg) {
        Some(ContextValue::String(s)) => Some(s),
        Some(ContextValue::Strings(s)) => s.first(),
        _ => None,
    };
    if let Some(s) = suggested {
        msg.push_str(&format!(" (did you mean '{s}'?)"));
    }
    UsageError(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Mode;
    use crate::sweep::config::Workers;
    use piscale_kernels::BackendKind;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn run_args(args: &[&str]) -> Result<RunArgs, UsageError> {
        let argv = ["piscale", "run"].iter().chain(args);
        match try_parse_from(argv).map_err(|e| one_line(&e))?.command {
            Command::Run(r) => Ok(r),
            _ => unreachable!(),
        }
    }

    #[test]
    fn defaults_are_a_small_serial_mc_run() {
        let r = run_args(&[]).unwrap();
        assert_eq!(
            (r.method, r.backend, r.workers, r.samples),
            (
                Method::Mc,
                Kernel::local(BackendKind::Serial),
                1,
                100_000_000
            )
        );
        assert_eq!(
            (r.seed, r.block, r.chunksize, r.pin, r.format),
            (0, 1 << 20, None, PinPolicy::None, Format::Text)
        );
    }

    #[test]
    fn value_errors_are_one_line_naming_the_flag() {
        let cases: [(&[&str], &str); 7] = [
            (
                &["--workers", "0"],
                "--workers: must be between 1 and 4096, got 0",
            ),
            (
                &["--samples", "1.5"],
                "--samples: must be a whole number, got 1.5",
            ),
            (&["--method", "pi"], "--method: unknown method 'pi'"),
            (&["--backend", "gpu"], "--backend: unknown backend 'gpu'"),
            (&["--pin", ""], "--pin: "),
            (&["--format", "xml"], "--format: unknown format 'xml'"),
            (
                &["--timeout", "0"],
                "--timeout: must be more than 0 seconds",
            ),
        ];
        for (args, want) in cases {
            let err = run_args(args).unwrap_err().0;
            assert!(err.starts_with(want), "{args:?}: {err}");
            assert!(!err.contains('\n'), "{args:?}: {err}");
        }
    }

    #[test]
    fn unknown_flags_suggest_the_right_one() {
        let err = run_args(&["--worker", "2"]).unwrap_err().0;
        assert!(
            err.contains("'--worker'") && err.contains("did you mean '--workers'"),
            "{err}"
        );
        let err = run_args(&["--workers"]).unwrap_err().0;
        assert!(
            err.starts_with("--workers: ") && !err.contains('\n'),
            "{err}"
        );
    }

    #[test]
    fn negative_numbers_reach_the_flags_parser() {
        let cases: [(&str, &[&str], &str); 11] = [
            (
                "run",
                &["--workers", "-1"],
                "--workers: must not be negative, got -1",
            ),
            (
                "run",
                &["--samples", "-5"],
                "--samples: must not be negative, got -5",
            ),
            (
                "run",
                &["--seed", "-3"],
                "--seed: must not be negative, got -3",
            ),
            (
                "run",
                &["--block", "-2"],
                "--block: must not be negative, got -2",
            ),
            (
                "run",
                &["--timeout", "-1"],
                "--timeout: must be more than 0 seconds",
            ),
            (
                "sweep",
                &["--reps", "-1"],
                "--reps: must not be negative, got -1",
            ),
            (
                "sweep",
                &["--warmup", "-2.5"],
                "--warmup: must not be negative",
            ),
            ("compare", &["a", "b", "--threshold", "-5"], "--threshold: "),
            // Not numbers to clap, so joined to their flag before it reads them.
            (
                "run",
                &["--timeout", "-1e-3"],
                "--timeout: must be more than 0 seconds, got -1e-3",
            ),
            (
                "sweep",
                &["--samples", "-2^3"],
                "--samples: must not be negative, got -2^3",
            ),
            ("run", &["--workers", "-x"], "--workers: "),
        ];
        for (command, args, want) in cases {
            let argv = ["piscale", command].into_iter().chain(args.iter().copied());
            let err = one_line(&try_parse_from(argv).unwrap_err()).0;
            assert!(err.starts_with(want), "{args:?}: {err}");
        }
        // A flag left without its value is still named, not its neighbour.
        let err = run_args(&["--workers", "--samples", "5"]).unwrap_err().0;
        assert!(err.starts_with("--workers: a value is required"), "{err}");
    }

    /// Every long flag of every subcommand, with the value `\xff`: refused
    /// naming the flag (or accepted, for a path).
    #[test]
    fn invalid_utf8_names_the_flag_of_every_option() {
        use std::os::unix::ffi::OsStrExt;
        let cli = Cli::command();
        let mut checked = 0;
        // Every subcommand with the names that reach it: `lesson race` too.
        let mut subs: Vec<(Vec<&str>, &clap::Command)> = Vec::new();
        for sub in cli.get_subcommands() {
            subs.push((vec![sub.get_name()], sub));
            for inner in sub.get_subcommands() {
                subs.push((vec![sub.get_name(), inner.get_name()], inner));
            }
        }
        for (names, sub) in subs {
            for arg in sub.get_arguments() {
                let Some(long) = arg.get_long() else { continue };
                let mut value = format!("--{long}=").into_bytes();
                value.push(0xff);
                let mut argv = vec![OsStr::new("piscale")];
                argv.extend(names.iter().map(OsStr::new));
                argv.push(OsStr::from_bytes(&value));
                let Err(e) = try_parse_from(argv) else {
                    continue;
                };
                if matches!(
                    e.kind(),
                    ErrorKind::MissingRequiredArgument | ErrorKind::DisplayHelp
                ) {
                    continue;
                }
                let err = one_line(&e).0;
                assert!(err.starts_with(&format!("--{long}: ")), "--{long}: {err}");
                checked += 1;
            }
        }
        assert!(checked > 30, "only {checked} flags checked");
        let err = run_args(&["--method", "\u{fffd}"]).unwrap_err().0;
        assert!(err.starts_with("--method: unknown method"), "{err}");
    }

    fn machine_args(args: &[&str]) -> Result<MachineArgs, UsageError> {
        let argv = ["piscale", "machine"].iter().chain(args);
        match try_parse_from(argv).map_err(|e| one_line(&e))?.command {
            Command::Machine(m) => Ok(m),
            _ => unreachable!(),
        }
    }

    #[test]
    fn machine_defaults_to_a_sweeps_capacity_run_three_times() {
        let s = machine_args(&[]).unwrap().settings();
        assert_eq!(
            (s.method, s.duration, s.reps),
            (Method::Mc, crate::measure::DEFAULT_CAPACITY, 3)
        );
        assert_eq!(machine_args(&[]).unwrap().format, Format::Text);
        let s = machine_args(&["--method", "midpoint", "--duration", "0.01", "--reps", "1"])
            .unwrap()
            .settings();
        assert_eq!(
            (s.method, s.duration, s.reps),
            (Method::Midpoint, Duration::from_millis(10), 1)
        );
    }

    #[test]
    fn machine_flag_errors_name_the_flag() {
        let cases: [(&[&str], &str); 7] = [
            (
                &["--duration", "0"],
                "--duration: must be more than 0 seconds",
            ),
            (
                &["--duration", "-1"],
                "--duration: must be more than 0 seconds",
            ),
            (
                &["--duration", "61"],
                "--duration: must be at most 60 seconds, got 61",
            ),
            (&["--duration", "x"], "--duration: 'x' is not a number"),
            (&["--reps", "0"], "--reps: must be between 1 and"),
            (&["--method", "pi"], "--method: unknown method 'pi'"),
            (&["--format", "xml"], "--format: unknown format 'xml'"),
        ];
        for (args, want) in cases {
            let err = machine_args(args).unwrap_err().0;
            assert!(err.starts_with(want), "{args:?}: {err}");
            assert!(!err.contains('\n'), "{args:?}: {err}");
        }
    }

    fn race_args(args: &[&str]) -> Result<RaceArgs, UsageError> {
        let argv = ["piscale", "lesson", "race"].iter().chain(args);
        match try_parse_from(argv).map_err(|e| one_line(&e))?.command {
            Command::Lesson {
                lesson: Lesson::Race(r),
            } => Ok(r),
            _ => unreachable!(),
        }
    }

    #[test]
    fn lesson_race_defaults_to_the_course_s_ten_thousand_five_times() {
        let r = race_args(&[]).unwrap();
        assert_eq!(r.settings(), race::Settings::default());
        assert_eq!(r.format, Format::Text);
        let r = race_args(&["--operations", "1e6", "--repeat", "2", "--format", "json"]).unwrap();
        assert_eq!(
            (r.operations, r.repeat, r.format),
            (1_000_000, 2, Format::Json)
        );
    }

    #[test]
    fn lesson_race_flag_errors_name_the_flag() {
        let cases: [(&[&str], &str); 6] = [
            (
                &["--operations", "0"],
                "--operations: must be between 1 and",
            ),
            (
                &["--operations", "2e9"],
                "--operations: must be between 1 and",
            ),
            (
                &["--operations", "-1"],
                "--operations: must not be negative, got -1",
            ),
            // Joined to its flag before clap reads it (`attach_dash_values`).
            (
                &["--operations", "-1e3"],
                "--operations: must not be negative",
            ),
            (
                &["--repeat", "1001"],
                "--repeat: must be between 1 and 1000",
            ),
            (&["--format", "xml"], "--format: unknown format 'xml'"),
        ];
        for (args, want) in cases {
            let err = race_args(args).unwrap_err().0;
            assert!(err.starts_with(want), "{args:?}: {err}");
            assert!(!err.contains('\n'), "{args:?}: {err}");
        }
    }

    fn sweep_flags(args: &[&str]) -> SettingFlags {
        let argv = ["piscale", "sweep"].iter().chain(args);
        match try_parse_from(argv).unwrap().command {
            Command::Sweep(s) => s.settings,
            _ => unreachable!(),
        }
    }

    #[test]
    fn sweep_flags_replace_only_what_they_set() {
        let mut config = SweepConfig::default();
        sweep_flags(&[
            "--methods",
            "midpoint",
            "--backends",
            "threads,pool-map",
            "--modes",
            "strong,weak",
            "--workers",
            "1..3",
            "--samples",
            "2e9",
            "--reps",
            "7",
            "--pin",
            "scatter",
            "--oversubscribe",
            "--chunksize",
            "3",
            "--timeout",
            "2.5",
        ])
        .apply(&mut config)
        .unwrap();
        assert_eq!(config.methods, [Method::Midpoint]);
        assert_eq!(
            config.backends,
            [
                Kernel::local(BackendKind::Threads),
                Kernel::local(BackendKind::PoolMap)
            ]
        );
        assert_eq!(config.modes, [Mode::Strong, Mode::Weak]);
        assert_eq!(config.workers, Workers::List(vec![1, 2, 3]));
        assert_eq!(config.samples, 2_000_000_000);
        assert_eq!((config.reps, config.warmup), (7, 1));
        assert_eq!(config.pin, PinPolicy::Scatter);
        assert!(config.oversubscribe);
        assert_eq!(config.chunksize, Some(3));
        assert_eq!(config.timeout_s, 2.5);
        assert_eq!(config.seed, SweepConfig::default().seed);
    }

    #[test]
    fn sweep_flags_left_out_keep_the_files_values() {
        let mut config = SweepConfig {
            oversubscribe: true,
            reps: 9,
            chunksize: Some(4),
            ..SweepConfig::default()
        };
        let before = config.clone();
        sweep_flags(&[]).apply(&mut config).unwrap();
        assert_eq!(config, before);
        sweep_flags(&["--seed", "3"]).apply(&mut config).unwrap();
        assert_eq!(config.seed, 3);
        assert!(config.oversubscribe && config.reps == 9 && config.chunksize == Some(4));
    }
}
