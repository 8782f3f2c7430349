//! The identity of a measured point, defined once: [`PointId`] = method,
//! [`Kernel`], [`Mode`], workers and samples. Rows of every file carry these
//! five columns; plans, summaries, reports and comparisons match points by
//! this type and sort them by its order.

use std::fmt;

use piscale_kernels::{BackendKind, Method, Named, StartMethod, Update};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use strum::VariantArray;

/// How the amount of work follows the number of workers.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::Display,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Mode {
    /// Fixed total work (`samples`): does more workers finish sooner?
    Strong,
    /// Fixed work per worker (`samples_per_worker`): does the time stay flat?
    Weak,
}

impl Named for Mode {
    const WHAT: &'static str = "mode";
}

/// What runs at a point: a backend of the kernels library, MPI ranks, or an
/// external command (`[[command]]`), named by its config.
///
/// In files a kernel is its name (the `backend` column); a name that is no
/// built-in backend's is a command's — a config may not give a command a
/// built-in name. The order (derived) is the display order everywhere: the
/// library's backends as `piscale list` shows them, then `mpi`, then the
/// commands by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kernel {
    /// What the machine can give: pinned workers computing for a fixed time,
    /// sharing nothing (`piscale_kernels::capacity`). Its speed-up is the
    /// capacity C(p) every other kernel's is explained against.
    Capacity,
    /// A backend of `piscale-kernels`, its processes started one way.
    Local(Local),
    /// MPI ranks started by `mpirun` or `srun` (`piscale mpi-worker`).
    Mpi,
    /// An external program, by its name.
    Command(String),
}

/// A backend of `piscale-kernels` and how its workers start: `fork-pipe`
/// by `fork` and by `spawn` are two kernels, two series of a sweep (for a
/// backend of threads the start method is always `fork`, meaning nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Local {
    /// The backend.
    pub kind: BackendKind,
    /// How its processes start.
    pub start: StartMethod,
}

impl Kernel {
    /// `kind`, its processes (if any) forked: what `--backend` names.
    pub const fn local(kind: BackendKind) -> Kernel {
        Kernel::Local(Local {
            kind,
            start: StartMethod::Fork,
        })
    }

    /// The same kernel with its processes started by `start` — only a
    /// library process backend has a start method; the others are returned
    /// unchanged.
    pub fn started(self, start: StartMethod) -> Kernel {
        match self {
            Kernel::Local(l) if l.kind.uses_processes() => Kernel::Local(Local { start, ..l }),
            other => other,
        }
    }

    /// How its processes start, for the library's process backends.
    pub fn start(&self) -> Option<StartMethod> {
        match self {
            Kernel::Local(l) if l.kind.uses_processes() => Some(l.start),
            _ => None,
        }
    }

    /// The library backend it runs, if it is one.
    pub fn backend(&self) -> Option<BackendKind> {
        match self {
            Kernel::Local(l) => Some(l.kind),
            _ => None,
        }
    }

    /// How it is shown in tables, legends and messages: its name, and the
    /// start method when it is not `fork` (`fork-pipe (spawn)`).
    pub fn label(&self) -> String {
        match self.start() {
            Some(start) if start != StartMethod::Fork => format!("{} ({start})", self.name()),
            _ => self.name().to_owned(),
        }
    }

    /// The name of [`Kernel::Mpi`].
    pub const MPI: &'static str = "mpi";

    /// The name of [`Kernel::Capacity`].
    pub const CAPACITY: &'static str = "capacity";

    /// The built-in kernels, in display order: the library's backends, then mpi.
    pub fn builtins() -> impl Iterator<Item = Kernel> {
        BackendKind::VARIANTS
            .iter()
            .map(|&k| Kernel::local(k))
            .chain([Kernel::Mpi])
    }

    /// A built-in kernel by name (`--backend`, `backends = [...]`); the error
    /// lists them.
    pub fn parse_builtin(s: &str) -> Result<Kernel, String> {
        let wanted = s.trim();
        Kernel::builtins()
            .find(|k| k.name() == wanted)
            .ok_or_else(|| {
                let names: Vec<String> = Kernel::builtins().map(|k| k.name().to_owned()).collect();
                let (last, rest) = names.split_last().expect("there are built-in kernels");
                format!(
                    "unknown backend '{s}' (expected {} or {last})",
                    rest.join(", ")
                )
            })
    }

    /// The kernel a result file names: the capacity, a built-in one, or a
    /// command.
    pub fn from_name(name: &str) -> Kernel {
        if name == Kernel::CAPACITY {
            return Kernel::Capacity;
        }
        Kernel::parse_builtin(name).unwrap_or_else(|_| Kernel::Command(name.to_owned()))
    }

    /// Its name: the backend's, `mpi`, or the command's — the `backend`
    /// column of the result files (the start method has a column of its own).
    pub fn name(&self) -> &str {
        match self {
            Kernel::Capacity => Kernel::CAPACITY,
            Kernel::Local(l) => l.kind.name(),
            Kernel::Mpi => Kernel::MPI,
            Kernel::Command(name) => name,
        }
    }

    /// A one-line description for `piscale list` (built-in kernels).
    pub fn description(&self) -> &str {
        match self {
            Kernel::Capacity => "what the CPUs can give: P pinned threads, each computing its own blocks for a fixed time, sharing nothing (capacity_s)",
            Kernel::Local(l) => l.kind.description(),
            Kernel::Mpi => "P MPI ranks launched by mpirun or srun, a static share of blocks each, MPI_Reduce to rank 0 (build with --features mpi)",
            Kernel::Command(_) => "an external program",
        }
    }

    /// Whether its workers get equal shares fixed in advance (and so wait
    /// for the slowest CPU): the library's static backends and MPI ranks;
    /// not the dynamic ones, nor a command, whose scheme piscale cannot know.
    pub fn shares_statically(&self) -> bool {
        match self {
            Kernel::Local(l) => !l.kind.traits().dynamic,
            Kernel::Mpi => true,
            Kernel::Capacity | Kernel::Command(_) => false,
        }
    }

    /// Whether piscale runs it itself (not an external command).
    pub fn is_builtin(&self) -> bool {
        !matches!(self, Kernel::Command(_))
    }

    /// Whether its workers are processes that a timeout can kill mid-run:
    /// the library's process backends, MPI ranks and commands.
    pub fn uses_processes(&self) -> bool {
        match self {
            Kernel::Capacity => false,
            Kernel::Local(l) => l.kind.uses_processes(),
            Kernel::Mpi | Kernel::Command(_) => true,
        }
    }

    /// Whether it hands work over in chunks of `--chunksize` (`--flush`)
    /// blocks (see [`piscale_kernels::Traits::chunked`]).
    pub fn is_chunked(&self) -> bool {
        matches!(self, Kernel::Local(l) if l.kind.traits().chunked)
    }

    /// How a shared-counter backend updates its counter.
    pub fn update(&self) -> Option<Update> {
        self.backend().and_then(BackendKind::update)
    }

    /// The built-in kernels that are `such`, named for a message:
    /// `Kernel::names_of(Kernel::uses_processes)` is `fork-pipe, shm-reduce,
    /// pool-map, …, mpi`.
    pub fn names_of(such: impl Fn(&Kernel) -> bool) -> String {
        let names: Vec<String> = Kernel::builtins()
            .filter(|k| such(k))
            .map(|k| k.name().to_owned())
            .collect();
        names.join(", ")
    }
}

impl fmt::Display for Kernel {
    /// Its [`label`](Kernel::label).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl Serialize for Kernel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Kernel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Kernel, D::Error> {
        let name = String::deserialize(d)?;
        Ok(Kernel::from_name(&name))
    }
}

/// One measured point: what ran (method and kernel), how the work scaled,
/// on how many workers, with how much work in all.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PointId {
    /// The method.
    pub method: Method,
    /// What ran.
    pub kernel: Kernel,
    /// Strong or weak scaling.
    pub mode: Mode,
    /// Number of workers.
    pub workers: usize,
    /// Total work N of one run.
    pub samples: u64,
}

impl PointId {
    /// The amount of work its tables and plots group by: the total work N
    /// (strong scaling) or the work per worker (weak scaling).
    pub fn work(&self) -> u64 {
        match self.mode {
            Mode::Strong => self.samples,
            Mode::Weak => self.samples / self.workers.max(1) as u64,
        }
    }

    /// The point its speed-up is measured against on `kernel`: one worker,
    /// the same method and mode, and the same work (the same total in
    /// strong scaling, the same work per worker in weak scaling).
    pub fn baseline_on(&self, kernel: Kernel) -> PointId {
        PointId {
            method: self.method,
            kernel,
            mode: self.mode,
            workers: 1,
            samples: self.work(),
        }
    }

    /// The capacity point at `id`'s worker count, method, mode and work:
    /// its speed-up is C(p) for `id`.
    pub fn capacity_of(&self) -> PointId {
        PointId {
            kernel: Kernel::Capacity,
            ..self.clone()
        }
    }

    /// Its baseline on its own kernel (see [`baseline_on`](Self::baseline_on)).
    pub fn own_baseline(&self) -> PointId {
        self.baseline_on(self.kernel.clone())
    }
}

impl fmt::Display for PointId {
    /// `mc/threads/strong/2/1048576`: compact and unique.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}/{}",
            self.method, self.kernel, self.mode, self.workers, self.samples
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_are_named_and_ordered_for_display() {
        assert_eq!(
            Kernel::from_name("fork-pipe"),
            Kernel::local(BackendKind::ForkPipe)
        );
        assert_eq!(Kernel::from_name("mpi"), Kernel::Mpi);
        assert_eq!(Kernel::from_name("capacity"), Kernel::Capacity);
        assert!(Kernel::Capacity < Kernel::local(BackendKind::Serial));
        let spawned = Kernel::local(BackendKind::ForkPipe).started(StartMethod::Spawn);
        assert_eq!(spawned.to_string(), "fork-pipe (spawn)");
        assert_eq!(spawned.name(), "fork-pipe");
        assert!(Kernel::local(BackendKind::ForkPipe) < spawned);
        assert!(spawned < Kernel::local(BackendKind::ShmReduce));
        let threads = Kernel::local(BackendKind::Threads);
        assert_eq!(threads.clone().started(StartMethod::Spawn), threads);
        assert_eq!(threads.start(), None);
        assert!(!Kernel::Capacity.uses_processes());
        assert_eq!(
            Kernel::from_name("pi1.py"),
            Kernel::Command("pi1.py".into())
        );
        let mut all: Vec<Kernel> = vec![Kernel::Command("a".into())];
        all.extend(Kernel::builtins().collect::<Vec<_>>().into_iter().rev());
        all.push(Kernel::Command("Z".into()));
        all.sort();
        let names: Vec<&str> = all.iter().map(Kernel::name).collect();
        let mut expected: Vec<&str> = BackendKind::VARIANTS.iter().map(|k| k.name()).collect();
        expected.extend(["mpi", "Z", "a"]);
        assert_eq!(names, expected);
        assert_eq!(names[..3], ["serial", "threads", "rayon"]);
        assert!(Kernel::parse_builtin("gpu")
            .unwrap_err()
            .starts_with("unknown backend 'gpu' (expected serial, threads,"));
        let processes: Vec<String> = BackendKind::VARIANTS
            .iter()
            .filter(|k| k.uses_processes())
            .map(|k| k.to_string())
            .chain(["mpi".to_string()])
            .collect();
        assert_eq!(
            Kernel::names_of(Kernel::uses_processes),
            processes.join(", ")
        );
        assert!(
            Kernel::names_of(Kernel::uses_processes).starts_with("fork-pipe, shm-reduce, pool-map")
        );
    }

    #[test]
    fn baselines_keep_the_work_of_their_mode() {
        let strong = PointId {
            method: Method::Mc,
            kernel: Kernel::local(BackendKind::Threads),
            mode: Mode::Strong,
            workers: 4,
            samples: 1000,
        };
        assert_eq!(strong.own_baseline().samples, 1000);
        assert_eq!(strong.own_baseline().workers, 1);
        let weak = PointId {
            mode: Mode::Weak,
            ..strong.clone()
        };
        assert_eq!(weak.work(), 250);
        let serial = weak.baseline_on(Kernel::local(BackendKind::Serial));
        assert_eq!((serial.samples, serial.workers), (250, 1));
        assert_eq!(strong.to_string(), "mc/threads/strong/4/1000");
    }

    #[test]
    fn mode_names_match_serde() {
        for &mode in Mode::VARIANTS {
            let json = serde_json::to_string(&mode).unwrap();
            assert_eq!(json, format!("\"{}\"", mode.name()));
        }
        assert_eq!(
            Mode::parse("both").unwrap_err(),
            "unknown mode 'both' (expected strong or weak)"
        );
        assert_eq!(Mode::parse(" weak "), Ok(Mode::Weak));
    }
}
