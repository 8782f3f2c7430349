//! The `mpi` backend: the same kernels and block decomposition across MPI
//! ranks, on Open MPI through the `mpi` crate (rsmpi).
//!
//! Two halves, two processes:
//!
//! - [`launch`] runs in `piscale run` or `piscale sweep`: it starts
//!   `mpirun -n P … piscale mpi-worker …` (or `srun`), waits for it with a
//!   deadline, and turns rank 0's result line into a [`RunReport`]. It needs
//!   no MPI library, so it is always compiled (and unit-tested).
//! - `worker` (cargo feature `mpi`) is the `piscale mpi-worker` subcommand
//!   each rank runs: initialise MPI, pin, barrier, compute the rank's static
//!   share of blocks, `MPI_Reduce` the exact partials to rank 0, which prints
//!   the result.
//!
//! [`wire`] is the format between the two.
//!
//! [`RunReport`]: piscale_kernels::RunReport

pub mod launch;
pub mod slurm;
pub mod wire;
#[cfg(feature = "mpi")]
pub mod worker;

use std::path::PathBuf;

use piscale_kernels::Named;
use serde::{Deserialize, Serialize};

/// Whether this binary can run MPI ranks (built with `--features mpi`).
pub const AVAILABLE: bool = cfg!(feature = "mpi");

/// What to tell a user whose piscale was built without MPI.
pub const NOT_BUILT: &str = "this piscale was built without MPI support; rebuild it with \
    `cargo build --release --features mpi` (needs Open MPI: apt-get install libopenmpi-dev openmpi-bin libclang-dev)";

/// The `srun --mpi` plugin when neither the settings nor `SLURM_MPI_TYPE`
/// name one: Open MPI 4 and 5 initialise through PMIx.
pub const DEFAULT_SRUN_MPI: &str = "pmix";

/// The program that starts the ranks.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::Display,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Launcher {
    /// `srun` inside a Slurm allocation (`SLURM_JOB_ID` is set), else `mpirun`.
    #[default]
    Auto,
    /// Open MPI's `mpirun`.
    Mpirun,
    /// Slurm's `srun`.
    Srun,
}

impl Launcher {
    /// `auto` resolved for this environment.
    pub fn resolve(self) -> Launcher {
        match self {
            Launcher::Auto if std::env::var_os("SLURM_JOB_ID").is_some() => Launcher::Srun,
            Launcher::Auto => Launcher::Mpirun,
            other => other,
        }
    }

    /// The program name.
    pub const fn program(self) -> &'static str {
        match self {
            Launcher::Srun => "srun",
            Launcher::Auto | Launcher::Mpirun => "mpirun",
        }
    }
}

impl Named for Launcher {
    const WHAT: &'static str = "launcher";
}

/// How ranks are started: the `[mpi]` table of a sweep config, or the
/// `--launcher`, `--bind-to`, `--hostfile` and `--mpi-arg` flags of `run`.
///
/// ```toml
/// [mpi]
/// launcher = "auto"          # auto | mpirun | srun
/// bind_to = "core"           # leave pinning to the launcher (absent: ranks pin themselves as `pin` says)
/// hostfile = "hosts.txt"     # mpirun --hostfile
/// srun_mpi = "pmix"          # srun --mpi (absent: $SLURM_MPI_TYPE, else pmix)
/// args = ["--mca", "btl", "^openib"]   # more launcher arguments
/// program = "/shared/bin/piscale"      # piscale on the ranks' hosts (default: this binary)
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MpiSettings {
    /// Which launcher starts the ranks.
    pub launcher: Launcher,
    /// `mpirun --bind-to` (`srun --cpu-bind`) value; when set, the launcher
    /// places the ranks and they do not pin themselves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_to: Option<String>,
    /// `mpirun --hostfile`: the machines to run on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostfile: Option<PathBuf>,
    /// `srun --mpi`: the Slurm plugin that gives the ranks their MPI
    /// wire-up ([`MpiSettings::srun_mpi`] resolves it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srun_mpi: Option<String>,
    /// More launcher arguments, placed before the program.
    pub args: Vec<String>,
    /// The piscale binary the ranks run (it must exist at this path on every
    /// host); this binary when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program: Option<PathBuf>,
}

impl MpiSettings {
    /// Whether ranks may run on other machines than this one, so that this
    /// machine's CPU count does not limit their number.
    pub fn spans_hosts(&self) -> bool {
        self.hostfile.is_some() || self.launcher.resolve() == Launcher::Srun
    }

    /// The `srun --mpi` plugin: the setting, else the `SLURM_MPI_TYPE` the
    /// user exported (srun's own variable), else `pmix` — what Open MPI's
    /// ranks need to initialise under srun, while many clusters (and
    /// Slurm's own default) say `MpiDefault=none`. `None` when the user's
    /// `args` already carry `--mpi`: theirs is the one srun sees.
    pub fn srun_mpi(&self) -> Option<String> {
        self.srun_mpi_given(std::env::var("SLURM_MPI_TYPE").ok())
    }

    /// [`MpiSettings::srun_mpi`] with `SLURM_MPI_TYPE`'s value given.
    fn srun_mpi_given(&self, from_env: Option<String>) -> Option<String> {
        if self
            .args
            .iter()
            .any(|a| a == "--mpi" || a.starts_with("--mpi="))
        {
            return None;
        }
        let from_env = from_env.filter(|t| !t.trim().is_empty());
        Some(
            self.srun_mpi
                .clone()
                .or(from_env)
                .unwrap_or_else(|| DEFAULT_SRUN_MPI.into()),
        )
    }

    /// Checks the combination; errors name the `[mpi]` key.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(plugin) = &self.srun_mpi {
            let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
            if plugin.is_empty() || !plugin.chars().all(word) {
                return Err(format!(
                    "mpi.srun_mpi: expected one Slurm MPI plugin name like pmix, pmix_v4, pmi2 \
                     or none (`srun --mpi=list` lists them), got '{plugin}'"
                ));
            }
        }
        if self.launcher.resolve() == Launcher::Srun && self.hostfile.is_some() {
            return Err(
                "mpi.hostfile: srun takes its hosts from the Slurm allocation, not a hostfile"
                    .into(),
            );
        }
        if let Some(bind) = &self.bind_to {
            if bind.trim().is_empty() || bind.contains(char::is_whitespace) {
                return Err(format!(
                    "mpi.bind_to: expected one word like core, socket or none, got '{bind}'"
                ));
            }
            check_binding(bind)?;
        }
        if let Some(file) = &self.hostfile {
            if !file.is_file() {
                return Err(format!(
                    "mpi.hostfile: {} is not a readable file",
                    file.display()
                ));
            }
        }
        Ok(())
    }
}

/// The objects `mpirun --bind-to` binds to: Open MPI 4's (`socket`,
/// `board`, `cpu-list`; checked against mpirun 4.1.4) and Open MPI 5's
/// (`package`, `hwt`).
const MPIRUN_BINDINGS: [&str; 12] = [
    "none", "hwthread", "hwt", "core", "l1cache", "l2cache", "l3cache", "socket", "numa",
    "package", "board", "cpu-list",
];

/// The words of `srun --cpu-bind` (Slurm's `--cpu-bind=[{quiet|verbose},]type`,
/// a `map_…`/`mask_…` type followed by `:list`), singular forms included.
const SRUN_BINDINGS: [&str; 26] = [
    "none",
    "no",
    "quiet",
    "q",
    "verbose",
    "v",
    "rank",
    "rank_ldom",
    "map_cpu",
    "mapcpu",
    "mask_cpu",
    "maskcpu",
    "map_ldom",
    "mapldom",
    "mask_ldom",
    "maskldom",
    "sockets",
    "socket",
    "cores",
    "core",
    "threads",
    "thread",
    "ldoms",
    "ldom",
    "boards",
    "board",
];

/// Checks `bind_to` against both launchers' vocabularies, whichever runs:
/// a word neither knows would reach the launcher and come back as an
/// internal error. Only the part before any `:` is checked (Open MPI's
/// qualifiers, Slurm's CPU lists), one comma-separated word at a time
/// (Slurm's `verbose,cores`); case is ignored, as both launchers do.
fn check_binding(bind: &str) -> Result<(), String> {
    let head = bind.split(':').next().unwrap_or_default();
    let known = |word: &str| {
        let word = word.to_ascii_lowercase();
        MPIRUN_BINDINGS.contains(&word.as_str()) || SRUN_BINDINGS.contains(&word.as_str())
    };
    match head.split(',').find(|w| !known(w)) {
        None => Ok(()),
        Some(word) => Err(format!(
            "mpi.bind_to: unknown binding '{word}' (expected {} for mpirun, or \
             [quiet,|verbose,]none, threads, cores, sockets, ldoms, boards, rank, rank_ldom, \
             map_cpu:LIST, mask_cpu:LIST, map_ldom:LIST or mask_ldom:LIST for srun)",
            MPIRUN_BINDINGS.join(", "),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launchers_parse_and_srun_refuses_a_hostfile() {
        assert_eq!(Launcher::parse("srun"), Ok(Launcher::Srun));
        assert_eq!(
            Launcher::parse("slurm").unwrap_err(),
            "unknown launcher 'slurm' (expected auto, mpirun or srun)"
        );
        let settings = MpiSettings {
            launcher: Launcher::Srun,
            hostfile: Some("Cargo.toml".into()),
            ..MpiSettings::default()
        };
        assert!(settings
            .validate()
            .unwrap_err()
            .starts_with("mpi.hostfile: "));
        assert!(settings.spans_hosts());
    }

    #[test]
    fn settings_read_from_toml() {
        let s: MpiSettings =
            toml::from_str("launcher = \"mpirun\"\nbind_to = \"core\"\nargs = [\"-x\", \"A\"]")
                .unwrap();
        assert_eq!(s.launcher, Launcher::Mpirun);
        assert_eq!(s.bind_to.as_deref(), Some("core"));
        assert_eq!(s.args, ["-x", "A"]);
        assert!(toml::from_str::<MpiSettings>("hosts = 1").is_err());
        let bad = MpiSettings {
            bind_to: Some("two words".into()),
            ..MpiSettings::default()
        };
        assert!(bad.validate().unwrap_err().starts_with("mpi.bind_to: "));
    }

    #[test]
    fn the_srun_plugin_is_the_settings_else_slurm_mpi_type_else_pmix() {
        let mut s = MpiSettings::default();
        assert_eq!(s.srun_mpi_given(None).as_deref(), Some("pmix"));
        assert_eq!(s.srun_mpi_given(Some(" ".into())).as_deref(), Some("pmix"));
        assert_eq!(
            s.srun_mpi_given(Some("pmi2".into())).as_deref(),
            Some("pmi2")
        );
        s.srun_mpi = Some("pmix_v4".into());
        assert_eq!(
            s.srun_mpi_given(Some("pmi2".into())).as_deref(),
            Some("pmix_v4")
        );
        // The user's own --mpi in `args` is the one srun sees.
        s.args = vec!["--mpi=pmi2".into()];
        assert_eq!(s.srun_mpi_given(None), None);
        s.args = vec!["--mpi".into(), "pmi2".into()];
        assert_eq!(s.srun_mpi_given(None), None);
        s.args = vec!["--mpi-thing".into()];
        assert_eq!(s.srun_mpi_given(None).as_deref(), Some("pmix_v4"));
        for bad in ["", "pm ix", "--mpi=pmix", "pmix;rm"] {
            let err = MpiSettings {
                srun_mpi: Some(bad.into()),
                ..MpiSettings::default()
            }
            .validate()
            .unwrap_err();
            assert!(
                err.starts_with("mpi.srun_mpi: expected one Slurm MPI plugin"),
                "{err}"
            );
        }
    }

    #[test]
    fn bindings_either_launcher_knows_are_accepted() {
        let check = |bind: &str| {
            MpiSettings {
                bind_to: Some(bind.into()),
                ..MpiSettings::default()
            }
            .validate()
        };
        for good in [
            "core",
            "none",
            "hwthread",
            "L3cache",
            "package",
            "core:overload-allowed",
            "socket:if-supported,report",
            "cores",
            "verbose,cores",
            "map_cpu:0,2,4",
            "mask_cpu:0x3,0xc",
            "rank_ldom",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        for bad in ["banana", "cores,banana", "core,", ":core", "help"] {
            let err = check(bad).unwrap_err();
            assert!(
                err.starts_with("mpi.bind_to: unknown binding '"),
                "{bad}: {err}"
            );
        }
        assert!(check("banana")
            .unwrap_err()
            .starts_with("mpi.bind_to: unknown binding 'banana' (expected none, hwthread"));
    }
}
