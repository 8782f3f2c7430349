//! The validated description of one run, built from raw flags and checked
//! once, before any work starts. Nothing here knows about clap.

use std::fmt;
use std::str::FromStr;

use piscale_kernels::{BackendKind, CpuList, Isa, Job, Team};

use crate::mpi::MpiSettings;

/// An error in what the user asked for (exit code 2). The message starts
/// with the flag it is about, as in `--workers: must be between 1 and 4096, got 0`.
#[derive(Debug)]
pub struct UsageError(pub String);

impl UsageError {
    /// An error about `flag`.
    pub fn flag(flag: &str, why: impl fmt::Display) -> UsageError {
        UsageError(format!("{flag}: {why}"))
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The instruction set the kernels use, as asked with `--isa`: `auto` (the
/// best this CPU supports) or one path, which must be supported here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IsaChoice(pub Option<Isa>);

impl IsaChoice {
    /// The path to run: the chosen one, or the best detected.
    pub fn resolve(self) -> Isa {
        self.0.unwrap_or_else(Isa::detect)
    }
}

impl FromStr for IsaChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<IsaChoice, String> {
        if s.trim() == "auto" {
            return Ok(IsaChoice(None));
        }
        let isa: Isa = s
            .trim()
            .parse()
            .map_err(|e: piscale_kernels::Error| e.to_string())?;
        if !isa.supported() {
            let supported: Vec<&str> = Isa::all_supported().iter().map(|i| i.name()).collect();
            return Err(format!(
                "{isa} is not supported by this CPU (supported: auto, {})",
                supported.join(", ")
            ));
        }
        Ok(IsaChoice(Some(isa)))
    }
}

impl TryFrom<String> for IsaChoice {
    type Error = String;

    fn try_from(s: String) -> Result<IsaChoice, String> {
        s.parse()
    }
}

impl From<IsaChoice> for String {
    fn from(choice: IsaChoice) -> String {
        choice
            .0
            .map_or_else(|| "auto".to_string(), |isa| isa.name().to_string())
    }
}

/// Where workers run, as asked with `--pin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// Leave placement to the OS.
    None,
    /// Worker `i` on the `i`-th CPU this process may use.
    Compact,
    /// Worker `i` on `list[i % len]`.
    List(CpuList),
}

impl Pin {
    /// The CPU list the team pins to, if any.
    pub fn cpus(&self) -> piscale_kernels::Result<Option<CpuList>> {
        match self {
            Pin::None => Ok(None),
            Pin::Compact => CpuList::usable().map(Some),
            Pin::List(list) => Ok(Some(list.clone())),
        }
    }
}

impl FromStr for Pin {
    type Err = String;

    fn from_str(s: &str) -> Result<Pin, String> {
        match s.trim() {
            "none" => Ok(Pin::None),
            "compact" => Ok(Pin::Compact),
            list => list
                .parse()
                .map(Pin::List)
                .map_err(|e| format!("{e} (expected none, compact or a list like 0,2,4-7)")),
        }
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pin::None => f.write_str("none"),
            Pin::Compact => f.write_str("compact"),
            Pin::List(list) => write!(f, "{list}"),
        }
    }
}

/// How the result is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An aligned, readable summary.
    Text,
    /// One JSON object.
    Json,
}

/// One run, as asked for on the command line, not yet checked.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// What to compute (its ranges are already checked flag by flag).
    pub job: Job,
    /// Which backend.
    pub backend: BackendKind,
    /// How many workers.
    pub workers: usize,
    /// Where they run.
    pub pin: Pin,
    /// How to print the result.
    pub format: Format,
    /// Which instruction set the kernels use.
    pub isa: IsaChoice,
    /// How `mpi` ranks are started.
    pub mpi: MpiSettings,
    /// The first MPI flag given, if any (they need `--backend mpi`).
    pub mpi_flag: Option<&'static str>,
}

/// One run, checked: everything a backend needs, and a team it accepts.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// What to compute.
    pub job: Job,
    /// Which backend.
    pub backend: BackendKind,
    /// Workers and the CPUs they pin to.
    pub team: Team,
    /// The `--pin` setting the team came from.
    pub pin: Pin,
    /// How to print the result.
    pub format: Format,
    /// The instruction set the kernels use.
    pub isa: Isa,
    /// The `--isa` asked for (`auto` stays `auto` for MPI ranks on other hosts).
    pub isa_asked: IsaChoice,
    /// How `mpi` ranks are started.
    pub mpi: MpiSettings,
}

impl RunRequest {
    /// Checks the combination of flags and builds the team.
    pub fn validate(self) -> Result<RunConfig, UsageError> {
        let RunRequest {
            job,
            backend,
            workers,
            pin,
            format,
            isa,
            mpi,
            mpi_flag,
        } = self;
        if let (Some(flag), false) = (mpi_flag, backend == BackendKind::Mpi) {
            return Err(UsageError::flag(
                flag,
                format!("only the mpi backend is launched by MPI, not {backend}"),
            ));
        }
        if backend == BackendKind::Mpi {
            crate::mpi::launch::preflight(&mpi).map_err(|e| {
                // A bad [mpi] setting names itself; the rest is about the backend.
                if e.starts_with("mpi.") {
                    UsageError(
                        e.replacen("mpi.", "--", 1)
                            .replacen("bind_to", "bind-to", 1),
                    )
                } else {
                    UsageError::flag("--backend", e)
                }
            })?;
        }
        if backend == BackendKind::Serial && workers != 1 {
            return Err(UsageError::flag(
                "--workers",
                format!("the serial backend runs exactly 1 worker, got {workers}"),
            ));
        }
        if job.chunksize.is_some() && backend != BackendKind::PoolMap {
            return Err(UsageError::flag(
                "--chunksize",
                format!("only pool-map takes a chunk size, not {backend}"),
            ));
        }
        if job.timeout.is_some() && !backend.uses_processes() {
            return Err(UsageError::flag(
                "--timeout",
                format!("only the process backends (fork-pipe, shm-reduce, pool-map, mpi) can be stopped, not {backend}"),
            ));
        }
        job.validate()
            .map_err(|e| UsageError::flag("--samples", e))?;
        let cpus = pin.cpus().map_err(|e| UsageError::flag("--pin", e))?;
        let team = Team::new(workers, cpus).map_err(|e| UsageError::flag("--pin", e))?;
        Ok(RunConfig {
            job,
            backend,
            team,
            pin,
            format,
            isa: isa.resolve(),
            isa_asked: isa,
            mpi,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use piscale_kernels::Method;

    fn request(backend: BackendKind, workers: usize) -> RunRequest {
        RunRequest {
            job: Job::new(Method::Mc, 1000),
            backend,
            workers,
            pin: Pin::None,
            format: Format::Text,
            isa: IsaChoice::default(),
            mpi: MpiSettings::default(),
            mpi_flag: None,
        }
    }

    #[test]
    fn isa_choices_parse_and_unsupported_ones_are_refused() {
        assert_eq!("auto".parse::<IsaChoice>(), Ok(IsaChoice(None)));
        assert_eq!(
            "scalar".parse::<IsaChoice>(),
            Ok(IsaChoice(Some(Isa::Scalar)))
        );
        assert!("sse9".parse::<IsaChoice>().is_err());
        for isa in [Isa::Avx2, Isa::Avx512] {
            assert_eq!(
                isa.name().parse::<IsaChoice>().is_ok(),
                isa.supported(),
                "{isa}"
            );
        }
        assert_eq!(IsaChoice(None).resolve(), Isa::detect());
        assert_eq!(String::from(IsaChoice(Some(Isa::Scalar))), "scalar");
    }

    #[test]
    fn serial_needs_exactly_one_worker() {
        assert!(request(BackendKind::Serial, 1).validate().is_ok());
        let err = request(BackendKind::Serial, 2).validate().unwrap_err();
        assert!(err.0.starts_with("--workers: "), "{err}");
    }

    #[test]
    fn chunksize_and_timeout_need_a_backend_that_uses_them() {
        let mut r = request(BackendKind::Threads, 2);
        r.job.chunksize = Some(4);
        assert!(r
            .clone()
            .validate()
            .unwrap_err()
            .0
            .starts_with("--chunksize: "));
        r.backend = BackendKind::PoolMap;
        assert!(r.validate().is_ok());

        let mut r = request(BackendKind::Rayon, 2);
        r.job.timeout = Some(std::time::Duration::from_secs(1));
        assert!(r
            .clone()
            .validate()
            .unwrap_err()
            .0
            .starts_with("--timeout: "));
        r.backend = BackendKind::ForkPipe;
        assert!(r.validate().is_ok());
    }

    #[test]
    fn pin_parses_keywords_and_lists() {
        assert_eq!("none".parse::<Pin>(), Ok(Pin::None));
        assert_eq!("compact".parse::<Pin>(), Ok(Pin::Compact));
        assert_eq!(
            "0,2-3".parse::<Pin>(),
            Ok(Pin::List(CpuList(vec![0, 2, 3])))
        );
        assert!("".parse::<Pin>().is_err());
        assert!("1-".parse::<Pin>().is_err());
    }

    #[test]
    fn compact_pins_to_usable_cpus() {
        let mut r = request(BackendKind::Threads, 2);
        r.pin = Pin::Compact;
        let config = r.validate().unwrap();
        assert_eq!(config.team.cpus, Some(CpuList::usable().unwrap()));
    }

    #[test]
    fn unusable_cpu_is_a_pin_error() {
        let mut r = request(BackendKind::Threads, 2);
        let max = CpuList::usable().unwrap().0.last().copied().unwrap();
        r.pin = Pin::List(CpuList(vec![max + 1]));
        assert!(r.validate().unwrap_err().0.starts_with("--pin: "));
    }
}
