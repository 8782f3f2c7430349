//! What piscale asks of Slurm itself when `srun` launched the ranks: the
//! step's name, cancelling a step that did not end with its `srun`, and the
//! one-line reasons for srun's own failures.
//!
//! `srun` normally takes its step down when it gets SIGTERM, and piscale
//! kills what carries its tag on this node; but ranks on other nodes belong
//! to their `slurmstepd`, and a `srun` killed hard (or hung) leaves them
//! computing. So after any failed srun launch piscale looks the step up by
//! the name it gave it and `scancel`s it.

use std::process::Command;
use std::time::{Duration, Instant};

use super::launch::after;
use crate::measure::child::{run_to_end, Stop};

/// How long `squeue` and `scancel` may take: they only talk to slurmctld.
const SLURM_QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a cancelled step may take to leave `squeue`: about 2.5 s for a
/// step whose srun was killed, on a one-node Slurm 22.05 (`KillWait=5`).
const STEP_GONE_TIMEOUT: Duration = Duration::from_secs(10);

/// The `--job-name` piscale gives a launch, unique to this process and
/// launch: how a step is found again to cancel it.
pub fn step_name(launch_mono_ns: u64) -> String {
    format!("piscale-{}-{launch_mono_ns}", std::process::id())
}

/// Cancels the step (or, outside an allocation, the job) named `name`, if
/// Slurm still has it, and waits until Slurm lists it no more (at most
/// [`STEP_GONE_TIMEOUT`]), so that the next run's step finds its CPUs
/// free. Best effort: a step that already ended is the usual case, and
/// nothing here may hide the run's own error.
pub fn cancel(name: &str) {
    let Ok(job) = std::env::var("SLURM_JOB_ID") else {
        // srun outside an allocation made a job of its own, named `name`.
        let _ = query(&["scancel", "--quiet", &format!("--name={name}")]);
        return;
    };
    let steps = || {
        let listing = query(&[
            "squeue",
            "--steps",
            &format!("--jobs={job}"),
            "--noheader",
            "--format=%i %j",
        ])?;
        Some(
            steps_named(&listing, name)
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        )
    };
    let Some(found) = steps() else { return };
    for step in &found {
        let _ = query(&["scancel", "--quiet", step]);
    }
    // slurmstepd ends a cancelled step after its tasks and KillWait.
    let start = Instant::now();
    while !found.is_empty() && start.elapsed() < STEP_GONE_TIMEOUT {
        if steps().is_none_or(|left| left.is_empty()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The step ids (`JOB.STEP`) of `squeue --steps --format='%i %j'` lines
/// whose name is `name`.
fn steps_named<'a>(listing: &'a str, name: &str) -> Vec<&'a str> {
    listing
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter(|(_, n)| n.trim() == name)
        .map(|(id, _)| id.trim())
        .collect()
}

/// Runs a Slurm client command to its end within [`SLURM_QUERY_TIMEOUT`];
/// its stdout when it succeeded.
fn query(argv: &[&str]) -> Option<String> {
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..]);
    let stop = Stop {
        timeout: Some(SLURM_QUERY_TIMEOUT),
        grace: Duration::ZERO,
        keep: 1 << 20,
    };
    let finished = run_to_end(argv[0], &mut cmd, stop).ok()?;
    finished.status.success().then_some(finished.stdout)
}

/// One line for a srun launch whose ranks never started MPI, or that srun
/// refused, naming the likely cause and the fix; `plugin` is the `--mpi`
/// piscale passed (`None`: the user's own `--mpi` in `args`).
pub fn launch_failure(text: &str, plugin: Option<&str>) -> Option<String> {
    let asked = plugin.map_or_else(
        || "the --mpi in [mpi] args".to_string(),
        |p| format!("--mpi={p}"),
    );
    if let Some(rest) = after(text, "Invalid MPI type '") {
        let name = rest.split('\'').next().unwrap_or_default();
        return Some(format!(
            "srun has no MPI plugin '{name}' ({asked}): `srun --mpi=list` lists this \
             Slurm's plugins; choose one with --srun-mpi or [mpi] srun_mpi (Open MPI needs pmix)"
        ));
    }
    let died_in_init = text.contains("before MPI_INIT completed")
        || text.contains("error occurred in MPI_Init")
        || text.contains("direct launched using \"srun\"");
    if !died_in_init {
        return None;
    }
    let why = match plugin {
        Some("none") | Some("pmi2") | Some("cray_shasta") => format!(
            "srun ran them with {asked}, which gives Open MPI no PMIx server; use \
             --srun-mpi pmix or [mpi] srun_mpi = \"pmix\" (or export SLURM_MPI_TYPE=pmix)"
        ),
        _ => format!(
            "srun ran them with {asked}, but its PMIx plugin did not serve them: check \
             `srun --mpi=list` shows pmix, restart slurmd if it started before the PMIx \
             library was installed, and build piscale with the Open MPI whose PMIx Slurm uses"
        ),
    };
    Some(format!("the ranks died in MPI_Init under srun: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_found_by_name() {
        let listing = "12.0 piscale-7-100\n12.1 other\n12.2 piscale-7-100\n\n";
        assert_eq!(steps_named(listing, "piscale-7-100"), ["12.0", "12.2"]);
        assert!(steps_named(listing, "piscale-7-1").is_empty());
        assert!(step_name(5).starts_with("piscale-"));
    }

    /// What Open MPI 4.1's ranks print under `srun --mpi=none` (Slurm
    /// 22.05), cut to the lines that matter.
    const NO_PMIX: &str = "[vm:32335] OPAL ERROR: Unreachable in file ext3x_client.c at line 112\n\
        The application appears to have been direct launched using \"srun\",\n\
        but OMPI was not built with SLURM's PMI support and therefore cannot\n\
        *** An error occurred in MPI_Init_thread\n*** on a NULL communicator\n\
        [vm:32336] Local abort before MPI_INIT completed completed successfully, but am not able \
        to aggregate error messages, and not able to guarantee that all other processes were killed!\n\
        srun: error: vm: tasks 0-1: Exited with exit code 1\n";

    #[test]
    fn ranks_dying_in_mpi_init_are_explained() {
        let none = launch_failure(NO_PMIX, Some("none")).unwrap();
        assert!(
            none.starts_with("the ranks died in MPI_Init under srun: srun ran them with --mpi=none, which gives Open MPI no PMIx server; use --srun-mpi pmix"),
            "{none}"
        );
        let pmix = launch_failure(NO_PMIX, Some("pmix")).unwrap();
        assert!(
            pmix.contains("its PMIx plugin did not serve them"),
            "{pmix}"
        );
        let theirs = launch_failure(NO_PMIX, None).unwrap();
        assert!(theirs.contains("the --mpi in [mpi] args"), "{theirs}");
        let unknown = "srun: error: Couldn't find the specified plugin name for mpi/pmix_v9 looking at all files\n\
            srun: error: Invalid MPI type 'pmix_v9', --mpi=list for acceptable types\n";
        assert_eq!(
            launch_failure(unknown, Some("pmix_v9")).unwrap(),
            "srun has no MPI plugin 'pmix_v9' (--mpi=pmix_v9): `srun --mpi=list` lists this \
             Slurm's plugins; choose one with --srun-mpi or [mpi] srun_mpi (Open MPI needs pmix)"
        );
        assert_eq!(
            launch_failure("srun: error: vm: task 1: Killed", Some("pmix")),
            None
        );
    }
}
