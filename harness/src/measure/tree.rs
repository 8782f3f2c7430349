//! The processes a program started, found in `/proc` (through `sysinfo`):
//! one stopped by a signal, which would hang a run without a timeout, and
//! those left behind when the program ends.
//!
//! Killing the program's process group is not enough to end everything it
//! started: a child that called `setsid` (a daemon, a Python multiprocessing
//! server) is in a group of its own, and once its parent is gone it is a
//! child of `init`, no longer a descendant. So every program piscale runs
//! gets a [`Tag`] in its environment, which its descendants inherit (the
//! way Jenkins finds a build's processes), and [`Tag::kill_all`] ends every
//! process that still carries it. A descendant that clears its environment
//! (`env -i`) escapes the tag; nothing short of a cgroup catches that one.

use std::ffi::OsString;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use sysinfo::{Pid, ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System, UpdateKind};

/// The environment variable that marks a run's processes.
pub const TAG_VAR: &str = "PISCALE_RUN_TAG";

/// One run's mark: `PISCALE_RUN_TAG=<piscale's pid>.<run number>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag(String);

impl Tag {
    /// A mark no other run of this or another piscale carries.
    pub fn new() -> Tag {
        static RUNS: AtomicU64 = AtomicU64::new(0);
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        Tag(format!("{}.{run}", std::process::id()))
    }

    /// Puts the mark in `cmd`'s environment.
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env(TAG_VAR, &self.0);
    }

    /// Whether an environment (`KEY=VALUE` strings) holds this mark.
    fn marks(&self, environ: &[OsString]) -> bool {
        let want = format!("{TAG_VAR}={}", self.0);
        environ
            .iter()
            .any(|e| e.as_encoded_bytes() == want.as_bytes())
    }

    /// SIGKILLs every live process carrying the mark (see [`kill_marked`]).
    /// Returns how many were killed.
    pub fn kill_all(&self) -> usize {
        kill_marked(|environ| self.marks(environ))
    }

    /// SIGKILLs every live process carrying a mark of any run of the
    /// piscale with pid `piscale` (see [`super::watchdog`]).
    pub fn kill_every_run_of(piscale: u32) -> usize {
        let prefix = format!("{TAG_VAR}={piscale}.");
        kill_marked(|environ| {
            environ
                .iter()
                .any(|e| e.as_encoded_bytes().starts_with(prefix.as_bytes()))
        })
    }
}

/// SIGKILLs every live process whose environment `marked` accepts, again
/// until none is left (one may fork between the look and the kill; its
/// child carries the mark too, and is found the next time). Returns how
/// many were killed.
fn kill_marked(marked: impl Fn(&[OsString]) -> bool) -> usize {
    let mut system = System::new();
    let mut killed = 0;
    // Each round kills what it sees; a killed process forks no more, so a
    // few rounds end it. The bound only guards against a fork bomb.
    for _ in 0..16 {
        system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing().with_environ(UpdateKind::Always),
        );
        let found: Vec<Pid> = system
            .processes()
            .values()
            .filter(|p| !matches!(p.status(), ProcessStatus::Zombie | ProcessStatus::Dead))
            .filter(|p| marked(p.environ()))
            .map(sysinfo::Process::pid)
            .collect();
        if found.is_empty() {
            break;
        }
        for pid in found {
            if kill(nix_pid(pid), Signal::SIGKILL).is_ok() {
                killed += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    killed
}

/// A process found stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// Its pid.
    pub pid: u32,
    /// Its name (the program's file name, as the kernel keeps it).
    pub name: String,
    /// Its MPI rank, when its environment names one.
    pub rank: Option<u64>,
}

impl Stopped {
    /// `rank 1 (pid 4242, piscale)` or `pid 4242 (python3)`.
    pub fn describe(&self) -> String {
        match self.rank {
            Some(rank) => format!("rank {rank} (pid {}, {})", self.pid, self.name),
            None => format!("pid {} ({})", self.pid, self.name),
        }
    }
}

/// Looks, now and then, for a stopped process among a program and its
/// descendants. One counts as stopped when seen stopped at two looks in a
/// row (after Ctrl-Z and `fg`, a group is continued, and a parent may run
/// a moment before its children do): the same rule as the process backends.
///
/// A look reads one `/proc` file per process on the machine (0.8 ms for 65
/// processes on the development VM), so the looks thin out as a run goes
/// on: the pause between two doubles up to [`StopWatch::MAX_PAUSE`], and a
/// stop is found within twice that.
#[derive(Debug)]
pub struct StopWatch {
    root: Pid,
    system: System,
    pause: Duration,
    next: Instant,
    suspect: Option<Pid>,
}

impl StopWatch {
    /// The longest pause between two looks.
    pub const MAX_PAUSE: Duration = Duration::from_secs(2);

    /// Looks at `root`'s tree, the first time `first` from now.
    pub fn new(root: u32, first: Duration) -> StopWatch {
        StopWatch {
            root: Pid::from_u32(root),
            system: System::new(),
            pause: first,
            next: Instant::now() + first,
            suspect: None,
        }
    }

    /// The time until the next look.
    pub fn until_next(&self) -> Duration {
        self.next.saturating_duration_since(Instant::now())
    }

    /// Looks, if it is time: a process of the tree seen stopped twice in a
    /// row. The look reads one `/proc` file per process on the machine.
    pub fn check(&mut self) -> Option<Stopped> {
        if Instant::now() < self.next {
            return None;
        }
        self.pause = (self.pause * 2).min(Self::MAX_PAUSE);
        self.next = Instant::now() + self.pause;
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing(),
        );
        let stopped = self.first_stopped();
        if stopped.is_some() && stopped == self.suspect {
            return stopped.map(|pid| self.describe(pid));
        }
        self.suspect = stopped;
        None
    }

    /// The first process of the tree (root first, then by pid) that is
    /// stopped by a signal (not one a debugger holds).
    fn first_stopped(&self) -> Option<Pid> {
        let processes = self.system.processes();
        let mut tree = vec![self.root];
        let mut i = 0;
        while i < tree.len() {
            let parent = tree[i];
            let mut children: Vec<Pid> = processes
                .values()
                .filter(|p| p.parent() == Some(parent))
                .map(sysinfo::Process::pid)
                .collect();
            children.sort_unstable();
            tree.extend(children);
            i += 1;
        }
        tree.into_iter().find(|pid| {
            processes
                .get(pid)
                .is_some_and(|p| p.status() == ProcessStatus::Stop)
        })
    }

    fn describe(&mut self, pid: Pid) -> Stopped {
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            false,
            ProcessRefreshKind::nothing().with_environ(UpdateKind::Always),
        );
        let process = self.system.process(pid);
        Stopped {
            pid: pid.as_u32(),
            name: process.map_or_else(|| "?".into(), |p| p.name().to_string_lossy().into_owned()),
            rank: process.and_then(|p| mpi_rank(p.environ())),
        }
    }
}

/// The MPI rank an environment gives its process: Open MPI's, PMIx's or
/// Slurm's variable.
fn mpi_rank(environ: &[OsString]) -> Option<u64> {
    ["OMPI_COMM_WORLD_RANK=", "PMIX_RANK=", "SLURM_PROCID="]
        .iter()
        .find_map(|key| {
            environ
                .iter()
                .find_map(|e| e.to_str()?.strip_prefix(key).and_then(|v| v.parse().ok()))
        })
}

fn nix_pid(pid: Pid) -> nix::unistd::Pid {
    nix::unistd::Pid::from_raw(pid.as_u32() as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_differ_and_match_only_themselves() {
        let (a, b) = (Tag::new(), Tag::new());
        assert_ne!(a, b);
        let environ = [
            OsString::from("PATH=/bin"),
            OsString::from(format!("{TAG_VAR}={}", a.0)),
        ];
        assert!(a.marks(&environ) && !b.marks(&environ));
    }

    #[test]
    fn a_rank_is_read_from_any_launcher_variable() {
        let env = |s: &str| vec![OsString::from("A=1"), OsString::from(s)];
        assert_eq!(mpi_rank(&env("OMPI_COMM_WORLD_RANK=3")), Some(3));
        assert_eq!(mpi_rank(&env("SLURM_PROCID=7")), Some(7));
        assert_eq!(mpi_rank(&env("OMPI_COMM_WORLD_RANKX=3")), None);
    }
}
