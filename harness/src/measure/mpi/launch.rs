//! Starting the ranks: `mpirun -n P [--oversubscribe] --bind-to X
//! [--hostfile F] [args…] piscale mpi-worker …` (or `srun -n P --mpi=pmix
//! --cpu-bind=X --job-name=piscale-… [args…] piscale mpi-worker …`), and
//! reading rank 0's result.
//!
//! The launcher runs in a process group of its own, with the run's timeout;
//! past it, or on Ctrl-C, the launcher gets SIGTERM (it tears down the ranks
//! on every host) and, two seconds later, its whole local group SIGKILL; a
//! srun step that outlived its srun is then cancelled ([`super::slurm`]).
//! When a rank dies, the launcher aborts the job; the error names the rank
//! from its report.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use piscale_kernels::clock::mono_ns;
use piscale_kernels::{CpuList, Isa, Job, Named, Phases, RemoteWorker, RunReport};

use super::wire::{self, MpiResult};
use super::{Launcher, MpiSettings, AVAILABLE, NOT_BUILT};
use crate::measure::child::{last_lines, run_to_end, Finished, Stop};
use crate::measure::{IsaChoice, MeasureError};
use crate::results::Kernel;

/// How long `mpirun` may take to stop its ranks after SIGTERM.
const GRACE: Duration = Duration::from_secs(2);

/// Lines of the launcher's stderr quoted when it fails for an unknown reason.
const STDERR_TAIL_LINES: usize = 6;

/// Bytes kept of the end of the launcher's stdout and stderr. Rank 0's
/// result line, printed last, lists every rank (about 150 bytes each, up to
/// 4096 ranks): this holds it many times over and still bounds the memory.
const OUTPUT_KEPT: usize = 4 << 20;

/// One MPI run, as the launcher sees it.
#[derive(Debug, Clone)]
pub struct Launch<'a> {
    /// What to compute.
    pub job: &'a Job,
    /// Number of ranks.
    pub ranks: usize,
    /// Rank `r` pins itself to `cpus[local rank % len]` on its host; `None`
    /// leaves placement to the OS, or to the launcher when `bind_to` is set.
    pub cpus: Option<&'a CpuList>,
    /// The kernels' instruction set: `auto` stays `auto`, for ranks on other
    /// hosts to resolve.
    pub isa: IsaChoice,
    /// Launcher, binding, hosts and extra arguments.
    pub settings: &'a MpiSettings,
    /// Pass `--oversubscribe` to `mpirun`: more ranks than slots.
    pub oversubscribe: bool,
    /// Kill the job after this long.
    pub timeout: Option<Duration>,
}

/// Where the launcher came from, stamped just before it starts.
#[derive(Debug, Clone)]
pub struct Origin {
    /// `CLOCK_MONOTONIC` ns on the launching host.
    pub mono_ns: u64,
    /// Wall-clock ns since the Unix epoch.
    pub real_ns: u64,
    /// The launching host's name.
    pub host: String,
}

impl Origin {
    /// The name of the srun step of this launch ([`super::slurm::step_name`]).
    pub fn step_name(&self) -> String {
        super::slurm::step_name(self.mono_ns)
    }

    /// Now, here.
    pub fn now() -> Origin {
        Origin {
            mono_ns: mono_ns(),
            real_ns: realtime_ns(),
            host: host_name(),
        }
    }
}

/// Wall-clock nanoseconds since the Unix epoch (0 before 1970).
pub fn realtime_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// This host's name, as both the launcher and the ranks read it.
pub fn host_name() -> String {
    sysinfo::System::host_name().unwrap_or_else(|| "unknown-host".into())
}

/// Checks that MPI runs can start here: this binary was built with MPI,
/// and the launcher is on `PATH`. Returns the launcher's path. Errors are
/// one line, for the flag or key `what`.
pub fn preflight(settings: &MpiSettings) -> Result<PathBuf, String> {
    // The settings first: a bad `--bind-to` is named as such in any build.
    settings.validate()?;
    if !AVAILABLE {
        return Err(NOT_BUILT.into());
    }
    let launcher = settings.launcher.resolve();
    which::which(launcher.program()).map_err(|_| match launcher {
        Launcher::Srun => "`srun` is not on PATH: run inside a Slurm allocation, or set \
            launcher = \"mpirun\""
            .to_string(),
        _ => "`mpirun` is not on PATH: install Open MPI (Debian/Ubuntu: apt-get install \
            openmpi-bin libopenmpi-dev)"
            .to_string(),
    })
}

/// The full command line: launcher, its arguments, the program and
/// `mpi-worker` with the job.
pub fn command_line(
    launch: &Launch<'_>,
    launcher: &Path,
    program: &Path,
    origin: &Origin,
) -> Vec<String> {
    let s = launch.settings;
    let mut argv = vec![
        launcher.display().to_string(),
        "-n".into(),
        launch.ranks.to_string(),
    ];
    // Who places the ranks: the launcher when `bind_to` is set, else the
    // ranks themselves (so the launcher must not bind them: Open MPI binds
    // to cores by default for up to two ranks).
    let bind = s.bind_to.as_deref().unwrap_or("none");
    match s.launcher.resolve() {
        Launcher::Srun => {
            if let Some(plugin) = s.srun_mpi() {
                argv.push(format!("--mpi={plugin}"));
            }
            let bind = if bind == "core" { "cores" } else { bind };
            argv.push(format!("--cpu-bind={bind}"));
            argv.push(format!("--job-name={}", origin.step_name()));
        }
        Launcher::Auto | Launcher::Mpirun => {
            if launch.oversubscribe {
                argv.push("--oversubscribe".into());
            }
            argv.extend(["--bind-to".into(), bind.to_string()]);
            if let Some(file) = &s.hostfile {
                argv.extend(["--hostfile".into(), file.display().to_string()]);
            }
        }
    }
    argv.extend(s.args.iter().cloned());
    argv.push(program.display().to_string());
    let job = launch.job;
    argv.extend([
        "mpi-worker".into(),
        "--method".into(),
        job.method.to_string(),
        "--samples".into(),
        job.samples.to_string(),
        "--seed".into(),
        job.seed.to_string(),
        "--block".into(),
        job.block.to_string(),
        "--isa".into(),
        String::from(launch.isa),
        "--t0-mono-ns".into(),
        origin.mono_ns.to_string(),
        "--t0-real-ns".into(),
        origin.real_ns.to_string(),
        "--launch-host".into(),
        origin.host.clone(),
    ]);
    if let (Some(cpus), None) = (launch.cpus, &s.bind_to) {
        argv.extend(["--cpus".into(), cpus.to_string()]);
    }
    argv
}

/// A finished MPI run: its report and the launcher's command line.
#[derive(Debug)]
pub struct Launched {
    /// What the ranks computed, like any backend's report.
    pub report: RunReport,
    /// The command line that started the ranks.
    pub argv: Vec<String>,
}

/// Runs the job on `launch.ranks` ranks and reports it like any backend.
pub fn run(launch: &Launch<'_>) -> Result<Launched, MeasureError> {
    let launcher = preflight(launch.settings).map_err(MeasureError::Invalid)?;
    let program = match &launch.settings.program {
        Some(p) => p.clone(),
        None => std::env::current_exe().map_err(|e| {
            MeasureError::Failed(format!("mpi: cannot find this piscale binary: {e}"))
        })?,
    };
    let origin = Origin::now();
    let argv = command_line(launch, &launcher, &program, &origin);
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    if nix::unistd::geteuid().is_root() {
        // Open MPI refuses to run as root unless told twice; only this child is told.
        cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    }
    let stop = Stop {
        timeout: launch.timeout,
        grace: GRACE,
        keep: OUTPUT_KEPT,
    };
    let srun = launch.settings.launcher.resolve() == Launcher::Srun;
    let finished = run_to_end("mpi", &mut cmd, stop)
        .and_then(|finished| {
            if finished.status.success() {
                return Ok(finished);
            }
            let plugin = srun.then(|| launch.settings.srun_mpi());
            Err(MeasureError::Failed(describe_failure(&finished, plugin)))
        })
        .inspect_err(|_| {
            if srun {
                super::slurm::cancel(&origin.step_name());
            }
        })?;
    let report = wire::parse(&finished.stdout)
        .and_then(|result| report(launch, &result))
        .map_err(|e| MeasureError::Failed(format!("mpi: {e}")))?;
    Ok(Launched { report, argv })
}

/// The report of a finished run.
pub fn report(launch: &Launch<'_>, result: &MpiResult) -> Result<RunReport, String> {
    if result.ranks.len() != launch.ranks {
        return Err(format!(
            "asked for {} ranks, {} reported",
            launch.ranks,
            result.ranks.len()
        ));
    }
    let partial = result.partial()?;
    let phases = Phases {
        spawn_s: result.spawn_s,
        compute_s: result.compute_s,
        reduce_s: result.reduce_s,
    };
    let workers = result
        .ranks
        .iter()
        .map(|r| RemoteWorker {
            host: r.host.clone(),
            cpu: r.cpu,
            compute_s: r.compute_s,
        })
        .collect();
    let mut report = RunReport::from_phases(launch.job, Kernel::MPI, phases, partial, workers);
    if let Ok(isa) = Isa::parse(&result.isa) {
        report.isa = isa;
    }
    Ok(report)
}

/// One line saying which rank failed and how, from what the launcher and
/// the ranks printed; the launcher's status and stderr tail when no rank is
/// named. `srun_mpi` is `Some` for a srun launch: the `--mpi` piscale
/// passed, if it passed one.
pub fn describe_failure(f: &Finished, srun_mpi: Option<Option<String>>) -> String {
    let text = format!("{}\n{}", f.stderr, f.stdout);
    // Before any rank: srun's own refusal, or ranks that never initialised
    // (each then also "fails", which would hide the cause).
    if let Some(why) = srun_mpi.and_then(|p| super::slurm::launch_failure(&text, p.as_deref())) {
        return format!("mpi: {why} (launcher {})", f.status);
    }
    if let Some(why) = rank_failure(&text) {
        return format!("mpi: {why} (launcher {})", f.status);
    }
    let mut msg = format!("mpi: the launcher failed ({})", f.status);
    let tail = last_lines(&f.stderr, STDERR_TAIL_LINES);
    if !tail.is_empty() {
        msg.push_str("; stderr ends with:");
        for line in tail {
            msg.push_str("\n    ");
            msg.push_str(line);
        }
    }
    msg
}

/// Reads the first failed rank from Open MPI's, Slurm's or piscale's own
/// messages.
fn rank_failure(text: &str) -> Option<String> {
    // piscale's own: "piscale mpi-worker: rank 2 on node-1: <why>"
    if let Some(line) = text
        .lines()
        .find(|l| l.trim_start().starts_with("piscale mpi-worker: rank "))
    {
        return Some(
            line.trim()
                .trim_start_matches("piscale mpi-worker: ")
                .into(),
        );
    }
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // Open MPI, a rank killed by a signal: "mpirun noticed that process rank
    // 1 with PID 4242 on node n1 exited on signal 9 (Killed)."
    if let Some(at) = flat.find("process rank ") {
        let rest = &flat[at + "process rank ".len()..];
        let rank = number_at(rest)?;
        let pid = after(rest, "with PID ").and_then(number_at);
        let node = after(rest, " on node ").and_then(|s| s.split(' ').next());
        let how = after(rest, "exited on signal ")
            .map(|s| {
                let s = s.split(").").next().unwrap_or(s);
                format!("was killed by signal {})", s.trim_end_matches(')'))
            })
            .or_else(|| {
                after(rest, "exited with status ")
                    .and_then(number_at)
                    .map(|c| format!("exited with status {c}"))
            })
            .unwrap_or_else(|| "failed".into());
        let place = match (pid, node) {
            (Some(pid), Some(node)) if pid != 0 => format!(" (pid {pid} on {node})"),
            (_, Some(node)) => format!(" (on {node})"),
            _ => String::new(),
        };
        return Some(format!("rank {rank}{place} {how}"));
    }
    // Open MPI, a rank that exited non-zero: "Process name: [[5541,1],1]
    // Exit code: 3".
    if let Some(name) = after(&flat, "Process name: [[") {
        let rank = name.split("],").nth(1).and_then(number_at)?;
        let code = after(&flat, "Exit code: ").and_then(number_at);
        return Some(match code {
            Some(code) => format!("rank {rank} exited with status {code}"),
            None => format!("rank {rank} failed"),
        });
    }
    // Slurm: "srun: error: n1: task 1: Killed" (or "tasks 0-1: …").
    if let Some(line) = text
        .lines()
        .find(|l| l.contains("srun: error:") && (l.contains(": task ") || l.contains(": tasks ")))
    {
        let node = after(line, "srun: error: ")
            .and_then(|s| s.split_once(": "))
            .map(|(node, _)| node.trim());
        let (word, rest) = match after(line, ": task ") {
            Some(rest) => ("rank", rest),
            None => ("ranks", after(line, ": tasks ")?),
        };
        let (ranks, why) = rest.split_once(": ").unwrap_or((rest, "failed"));
        let place = node.map(|n| format!(" (on {n})")).unwrap_or_default();
        return Some(format!(
            "{word} {}{place} failed: {}",
            ranks.trim(),
            why.trim()
        ));
    }
    None
}

/// What follows the first `pat` in `text`.
pub(super) fn after<'t>(text: &'t str, pat: &str) -> Option<&'t str> {
    text.find(pat).map(|i| &text[i + pat.len()..])
}

fn number_at(text: &str) -> Option<u64> {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use piscale_kernels::Method;

    fn origin() -> Origin {
        Origin {
            mono_ns: 11,
            real_ns: 22,
            host: "here".into(),
        }
    }

    fn line(settings: &MpiSettings, cpus: Option<&CpuList>, oversubscribe: bool) -> String {
        let job = Job::new(Method::Mc, 1000).seed(3).block(64);
        let launch = Launch {
            job: &job,
            ranks: 4,
            cpus,
            isa: IsaChoice::default(),
            settings,
            oversubscribe,
            timeout: None,
        };
        command_line(
            &launch,
            Path::new(settings.launcher.resolve().program()),
            Path::new("/bin/piscale"),
            &origin(),
        )
        .join(" ")
    }

    #[test]
    fn ranks_pin_themselves_unless_the_launcher_binds() {
        let cpus = CpuList(vec![0, 1]);
        let own = MpiSettings {
            launcher: Launcher::Mpirun,
            ..MpiSettings::default()
        };
        assert_eq!(
            line(&own, Some(&cpus), true),
            "mpirun -n 4 --oversubscribe --bind-to none /bin/piscale mpi-worker --method mc \
             --samples 1000 --seed 3 --block 64 --isa auto --t0-mono-ns 11 --t0-real-ns 22 \
             --launch-host here --cpus 0-1"
        );
        let bound = MpiSettings {
            launcher: Launcher::Mpirun,
            bind_to: Some("core".into()),
            hostfile: Some("hosts".into()),
            args: vec!["--mca".into(), "btl".into(), "self,vader".into()],
            srun_mpi: None,
            program: None,
        };
        let l = line(&bound, Some(&cpus), false);
        assert!(
            l.starts_with("mpirun -n 4 --bind-to core --hostfile hosts --mca btl self,vader /bin/piscale mpi-worker "),
            "{l}"
        );
        assert!(!l.contains("--cpus"), "{l}");
    }

    #[test]
    fn srun_binds_with_cpu_bind() {
        // The plugin is set: `SLURM_MPI_TYPE` in a developer's shell must not
        // change the line (the default is `srun_mpi`'s own test).
        let srun = MpiSettings {
            launcher: Launcher::Srun,
            bind_to: Some("core".into()),
            srun_mpi: Some("pmix".into()),
            ..MpiSettings::default()
        };
        assert!(line(&srun, None, true)
            .starts_with("srun -n 4 --mpi=pmix --cpu-bind=cores --job-name=piscale-"));
        let own_mpi = MpiSettings {
            launcher: Launcher::Srun,
            srun_mpi: Some("pmi2".into()),
            ..MpiSettings::default()
        };
        let l = line(&own_mpi, Some(&CpuList(vec![0, 1])), true);
        assert!(
            l.starts_with("srun -n 4 --mpi=pmi2 --cpu-bind=none --job-name=piscale-"),
            "{l}"
        );
        assert!(l.ends_with(" --cpus 0-1"), "{l}");
        let in_args = MpiSettings {
            launcher: Launcher::Srun,
            args: vec!["--mpi=pmix_v4".into()],
            ..MpiSettings::default()
        };
        let l = line(&in_args, None, true);
        assert_eq!(l.matches("--mpi").count(), 1, "{l}");
        assert!(l.contains(" --mpi=pmix_v4 /bin/piscale "), "{l}");
    }

    #[test]
    fn failures_name_the_rank() {
        let killed = "--------------------------------------------------------------------------\n\
            mpirun noticed that process rank 1 with PID 4242 on node n1 exited on signal 9 (Killed).\n\
            --------------------------------------------------------------------------\n";
        assert_eq!(
            rank_failure(killed).unwrap(),
            "rank 1 (pid 4242 on n1) was killed by signal 9 (Killed)"
        );
        let exited = "Primary job  terminated normally, but 1 process returned\na non-zero exit code.\n\
            mpirun detected that one or more processes exited with non-zero status, thus causing\n\
            the job to be terminated. The first process to do so was:\n\n  Process name: [[5541,1],2]\n  Exit code:    3\n";
        assert_eq!(rank_failure(exited).unwrap(), "rank 2 exited with status 3");
        assert_eq!(
            rank_failure("srun: error: n7: task 5: Killed\n").unwrap(),
            "rank 5 (on n7) failed: Killed"
        );
        assert_eq!(
            rank_failure("srun: error: vm: tasks 0-1: Exited with exit code 1\n").unwrap(),
            "ranks 0-1 (on vm) failed: Exited with exit code 1"
        );
        assert_eq!(
            rank_failure("piscale mpi-worker: rank 0 on n1: --isa: avx512 is not supported\n")
                .unwrap(),
            "rank 0 on n1: --isa: avx512 is not supported"
        );
        assert_eq!(rank_failure("something else"), None);
    }
}
