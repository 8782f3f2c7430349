//! Which CPUs share a core and a package, and where workers are pinned: one
//! policy for `piscale run` and `piscale sweep`.
//!
//! [`Topology`] is read from `/sys/devices/system/cpu/cpu*/topology/` for
//! the CPUs this process may use, with how fast each core is
//! ([`cores`](super::cores)), or built from a fixed description in tests.
//! [`PinPolicy`] is the `pin` setting of a sweep; [`cpus_for`] turns it into
//! the CPU list a team of workers pins to (worker `i` on `list[i % len]`),
//! and [`placement_ok`] checks afterwards that the workers ran there.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::Path;
use std::str::FromStr;

use piscale_kernels::CpuList;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::cores::{self, Speeds};
use crate::results::machine::{CoreKind, CpuCore, SpeedSource};

/// Where Linux describes devices: the CPUs under `system/cpu`, the hybrid
/// core types' PMUs (`cpu_core`, `cpu_atom`) beside it.
pub const SYSFS_DEVICES: &str = "/sys/devices";

/// One logical CPU and the physical core and package it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cpu {
    /// The logical CPU id (as in `taskset`, `sched_setaffinity`).
    pub id: usize,
    /// `physical_package_id`: the socket.
    pub package: usize,
    /// `core_id`: the physical core, unique only within its package.
    pub core: usize,
}

/// The usable CPUs, with their cores, packages and speeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    cpus: Vec<Cpu>,
    /// Empty (all uniform) unless read from sysfs.
    speeds: Speeds,
}

impl Topology {
    /// The topology of the CPUs this process may use, read from sysfs. If
    /// the usable CPUs cannot be read, CPUs 0..n (n = the available
    /// parallelism) stand in for them.
    pub fn read() -> Topology {
        let usable = CpuList::usable().unwrap_or_else(|_| {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            CpuList((0..n).collect())
        });
        Topology::from_sysfs(Path::new(SYSFS_DEVICES), &usable)
    }

    /// Reads `devices/system/cpu/cpuN/topology/{physical_package_id,core_id}`
    /// and the speed files ([`cores::read`]) for each CPU of `usable`. A CPU whose files are missing or unreadable counts as its
    /// own core (core id = CPU id) in package 0 — meant for systems without
    /// the files at all, where no real core ids can clash with it.
    pub fn from_sysfs(devices: &Path, usable: &CpuList) -> Topology {
        let root = devices.join("system/cpu");
        let read = |cpu: usize, file: &str| -> Option<usize> {
            let path = root.join(format!("cpu{cpu}/topology/{file}"));
            fs::read_to_string(path).ok()?.trim().parse().ok()
        };
        let cpus = usable
            .0
            .iter()
            .map(
                |&id| match (read(id, "physical_package_id"), read(id, "core_id")) {
                    (Some(package), Some(core)) => Cpu { id, package, core },
                    _ => Cpu {
                        id,
                        package: 0,
                        core: id,
                    },
                },
            )
            .collect();
        Topology {
            cpus,
            speeds: cores::read(devices, &usable.0),
        }
    }

    /// The source that told the cores apart, if any did.
    pub fn speed_source(&self) -> Option<SpeedSource> {
        self.speeds.source
    }

    /// The kind of core `cpu` is (uniform for an unknown CPU).
    pub fn kind(&self, cpu: usize) -> CoreKind {
        self.speeds.kind(cpu)
    }

    /// Every usable CPU as `machine.json` records it, in CPU id order.
    pub fn cpu_cores(&self) -> Vec<CpuCore> {
        let mut cpus: Vec<CpuCore> = self
            .cpus
            .iter()
            .map(|c| {
                let speed = self.speeds.cpus.get(&c.id);
                CpuCore {
                    cpu: c.id,
                    package: c.package,
                    core: c.core,
                    kind: self.kind(c.id),
                    capacity: speed.and_then(|s| s.capacity),
                    highest_perf: speed.and_then(|s| s.highest_perf),
                    max_frequency_mhz: speed.and_then(|s| s.max_frequency_mhz),
                }
            })
            .collect();
        cpus.sort_unstable_by_key(|c| c.cpu);
        cpus
    }

    /// The usable CPU ids.
    pub fn cpu_list(&self) -> CpuList {
        CpuList(self.cpus.iter().map(|c| c.id).collect())
    }

    /// Packages in id order; in each, its cores ordered by their lowest CPU
    /// id; in each core, its CPU ids in increasing order.
    fn by_package(&self) -> BTreeMap<usize, Vec<Vec<usize>>> {
        let mut cores: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
        for c in &self.cpus {
            cores.entry((c.package, c.core)).or_default().push(c.id);
        }
        let mut packages: BTreeMap<usize, Vec<Vec<usize>>> = BTreeMap::new();
        for ((package, _), mut ids) in cores {
            ids.sort_unstable();
            packages.entry(package).or_default().push(ids);
        }
        for cores in packages.values_mut() {
            cores.sort_unstable_by_key(|ids| ids[0]);
        }
        packages
    }

    /// Compact order: the fastest cores first — speed tier by tier
    /// (performance cores, then efficiency cores), and within a tier package
    /// by package, cores by lowest CPU id — their first hardware threads,
    /// then the second threads of the same cores, and so on. Every core's
    /// own thread comes before any SMT sibling, because a sibling shares its
    /// core's execution units and so is slower than even an efficiency core.
    pub fn compact_order(&self) -> Vec<usize> {
        let mut cores: Vec<Vec<usize>> = self.by_package().into_values().flatten().collect();
        // Stable: within a tier the package order above stays.
        cores.sort_by_key(|ids| ids.iter().map(|&id| self.speeds.tier(id)).min());
        let depth = cores.iter().map(Vec::len).max().unwrap_or(0);
        (0..depth)
            .flat_map(|t| cores.iter().filter_map(move |ids| ids.get(t).copied()))
            .collect()
    }

    /// Scatter order: round-robin over packages, then over the cores within a
    /// package, then over the hardware threads of a core — consecutive
    /// workers land as far apart as the machine allows.
    pub fn scatter_order(&self) -> Vec<usize> {
        let packages: Vec<Vec<Vec<usize>>> = self.by_package().into_values().collect();
        let cores = packages.iter().map(Vec::len).max().unwrap_or(0);
        let threads = packages.iter().flatten().map(Vec::len).max().unwrap_or(0);
        let mut order = Vec::with_capacity(self.cpus.len());
        for t in 0..threads {
            for k in 0..cores {
                for package in &packages {
                    if let Some(&id) = package.get(k).and_then(|ids| ids.get(t)) {
                        order.push(id);
                    }
                }
            }
        }
        order
    }
}

/// Where workers run: the `pin` setting of a sweep and `--pin` of a run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PinPolicy {
    /// Leave placement to the OS.
    #[default]
    None,
    /// Fill physical cores first, then their SMT siblings, package by package.
    Compact,
    /// Spread over packages, then cores, then siblings.
    Scatter,
    /// Worker `i` on `list[i % len]`.
    List(CpuList),
}

/// The CPU list a team of `workers` pins to under `policy`: the first
/// `workers` CPUs of the policy's order (all of them when there are more
/// workers than CPUs — worker `i` then shares `list[i % len]`), an explicit
/// list as given, or `None` for no pinning.
///
/// Errors: an explicit list that is empty, names a CPU twice or names a CPU
/// outside `topo`.
pub fn cpus_for(
    policy: &PinPolicy,
    workers: usize,
    topo: &Topology,
) -> Result<Option<CpuList>, String> {
    let take = |order: Vec<usize>| {
        Some(CpuList(order.into_iter().take(workers.max(1)).collect()))
            .filter(|list| !list.0.is_empty())
    };
    match policy {
        PinPolicy::None => Ok(None),
        PinPolicy::Compact => Ok(take(topo.compact_order())),
        PinPolicy::Scatter => Ok(take(topo.scatter_order())),
        PinPolicy::List(list) => {
            if list.0.is_empty() {
                return Err("the CPU list is empty".into());
            }
            check_no_repeats(list)?;
            match list
                .0
                .iter()
                .find(|&&c| topo.cpus.iter().all(|u| u.id != c))
            {
                Some(c) => Err(format!(
                    "CPU {c} is not usable by this process (usable: {})",
                    topo.cpu_list()
                )),
                None => Ok(Some(list.clone())),
            }
        }
    }
}

/// Whether the workers ran where they were asked to: always true when
/// unpinned; otherwise worker `i` (for every `i < workers`) must have
/// reported `asked[i % len]` as its CPU.
pub fn placement_ok(asked: Option<&CpuList>, workers: usize, actual: &[Option<usize>]) -> bool {
    match asked {
        None => true,
        Some(list) if list.0.is_empty() => true,
        Some(list) => {
            actual.len() >= workers && (0..workers).all(|i| actual[i] == list.for_worker(i))
        }
    }
}

/// Whether every MPI rank ran where it was asked to: ranks pin by their
/// rank among those on the same host (`hosts`, one per rank).
pub fn mpi_placement_ok(
    asked: Option<&CpuList>,
    hosts: &[String],
    actual: &[Option<usize>],
) -> bool {
    let Some(list) = asked else { return true };
    hosts.iter().enumerate().all(|(i, host)| {
        let local = hosts[..i].iter().filter(|h| *h == host).count();
        actual.get(i).copied().flatten() == list.for_worker(local)
    })
}

impl FromStr for PinPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<PinPolicy, String> {
        match s.trim() {
            "none" => Ok(PinPolicy::None),
            "compact" => Ok(PinPolicy::Compact),
            "scatter" => Ok(PinPolicy::Scatter),
            list if !list.contains(|c: char| c.is_ascii_digit()) => Err(format!(
                "unknown pin '{list}' (expected none, compact, scatter or a CPU list like 0,2,4-7)"
            )),
            list => {
                let list: CpuList = list.parse().map_err(|e| {
                    format!("{e} (expected none, compact, scatter or a CPU list like 0,2,4-7)")
                })?;
                check_no_repeats(&list)?;
                Ok(PinPolicy::List(list))
            }
        }
    }
}

/// Refuses a CPU list that names a CPU twice: two workers would share it
/// while the run recorded itself as neither oversubscribed nor misplaced.
fn check_no_repeats(list: &CpuList) -> Result<(), String> {
    match list
        .0
        .iter()
        .enumerate()
        .find(|(i, c)| list.0[..*i].contains(c))
    {
        Some((_, c)) => Err(format!("CPU {c} appears twice in the list")),
        None => Ok(()),
    }
}

impl fmt::Display for PinPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinPolicy::None => f.write_str("none"),
            PinPolicy::Compact => f.write_str("compact"),
            PinPolicy::Scatter => f.write_str("scatter"),
            PinPolicy::List(list) => write!(f, "{list}"),
        }
    }
}

impl Serialize for PinPolicy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PinPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PinPolicy, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Constructors and counts for tests that must not depend on the
    /// machine they run on.
    impl Topology {
        /// A topology from an explicit list of CPUs (kept in the given order),
        /// for tests that must not depend on the machine they run on.
        pub fn from_cpus(cpus: Vec<Cpu>) -> Topology {
            Topology {
                cpus,
                speeds: Speeds::default(),
            }
        }

        /// A regular machine numbered the way Linux usually numbers one:
        /// the first hardware thread of every core (package by package) first,
        /// then the second threads in the same order, and so on. CPU id =
        /// `thread · packages · cores + package · cores + core`.
        pub fn uniform(
            packages: usize,
            cores_per_package: usize,
            threads_per_core: usize,
        ) -> Topology {
            let mut cpus = Vec::new();
            for thread in 0..threads_per_core {
                for package in 0..packages {
                    for core in 0..cores_per_package {
                        cpus.push(Cpu {
                            id: (thread * packages + package) * cores_per_package + core,
                            package,
                            core,
                        });
                    }
                }
            }
            Topology::from_cpus(cpus)
        }

        /// The usable CPUs, in the order they were read.
        pub fn cpus(&self) -> &[Cpu] {
            &self.cpus
        }

        /// Number of packages with at least one usable CPU.
        pub fn packages(&self) -> usize {
            self.by_package().len()
        }

        /// Number of physical cores with at least one usable CPU.
        pub fn physical_cores(&self) -> usize {
            self.by_package().values().map(Vec::len).sum()
        }

        /// Number of usable logical CPUs.
        pub fn logical_cpus(&self) -> usize {
            self.cpus.len()
        }
    }

    fn list(ids: &[usize]) -> CpuList {
        CpuList(ids.to_vec())
    }

    /// 2 packages × 2 cores × 2 threads, with siblings numbered next to each
    /// other (cpu 0 and 1 share core 0 of package 0), as some BIOSes do.
    fn adjacent_siblings() -> Topology {
        let mut cpus = Vec::new();
        for package in 0..2 {
            for core in 0..2 {
                for thread in 0..2 {
                    cpus.push(Cpu {
                        id: package * 4 + core * 2 + thread,
                        package,
                        core,
                    });
                }
            }
        }
        Topology::from_cpus(cpus)
    }

    #[test]
    fn uniform_topology_counts_packages_cores_and_threads() {
        let t = Topology::uniform(2, 2, 2);
        assert_eq!(
            (t.packages(), t.physical_cores(), t.logical_cpus()),
            (2, 4, 8)
        );
        assert_eq!(t.cpu_list(), list(&[0, 1, 2, 3, 4, 5, 6, 7]));
        // cpu 5 is the second thread of core 1 of package 0.
        assert_eq!(
            t.cpus()[5],
            Cpu {
                id: 5,
                package: 0,
                core: 1
            }
        );
    }

    #[test]
    fn compact_fills_cores_before_siblings_and_packages_in_turn() {
        assert_eq!(
            Topology::uniform(2, 2, 2).compact_order(),
            [0, 1, 2, 3, 4, 5, 6, 7]
        );
        assert_eq!(
            adjacent_siblings().compact_order(),
            [0, 2, 4, 6, 1, 3, 5, 7]
        );
    }

    #[test]
    fn scatter_alternates_packages_then_cores_then_siblings() {
        assert_eq!(
            Topology::uniform(2, 2, 2).scatter_order(),
            [0, 2, 1, 3, 4, 6, 5, 7]
        );
        assert_eq!(
            adjacent_siblings().scatter_order(),
            [0, 4, 2, 6, 1, 5, 3, 7]
        );
    }

    #[test]
    fn cpus_for_takes_the_first_workers_of_the_order() {
        let t = adjacent_siblings();
        let cpus = |policy: &PinPolicy, workers| cpus_for(policy, workers, &t).unwrap();
        assert_eq!(cpus(&PinPolicy::None, 3), None);
        assert_eq!(cpus(&PinPolicy::Compact, 3), Some(list(&[0, 2, 4])));
        assert_eq!(cpus(&PinPolicy::Scatter, 2), Some(list(&[0, 4])));
        // More workers than CPUs: all of them, shared round-robin.
        assert_eq!(
            cpus(&PinPolicy::Compact, 20).unwrap().0.len(),
            t.logical_cpus()
        );
        let explicit = PinPolicy::List(list(&[7, 1]));
        assert_eq!(cpus(&explicit, 4), Some(list(&[7, 1])));
    }

    #[test]
    fn cpus_for_rejects_an_explicit_cpu_outside_the_topology() {
        let t = Topology::uniform(1, 2, 1);
        let err = cpus_for(&PinPolicy::List(list(&[1, 8])), 2, &t).unwrap_err();
        assert_eq!(err, "CPU 8 is not usable by this process (usable: 0-1)");
        assert!(cpus_for(&PinPolicy::List(list(&[])), 2, &t).is_err());
    }

    #[test]
    fn uneven_packages_are_skipped_when_they_run_out() {
        let t = Topology::from_cpus(vec![
            Cpu {
                id: 0,
                package: 0,
                core: 0,
            },
            Cpu {
                id: 1,
                package: 0,
                core: 1,
            },
            Cpu {
                id: 2,
                package: 1,
                core: 0,
            },
        ]);
        assert_eq!(t.scatter_order(), [0, 2, 1]);
        assert_eq!(t.compact_order(), [0, 1, 2]);
    }

    #[test]
    fn sysfs_is_read_and_missing_files_fall_back_to_one_core_per_cpu() {
        let dir = std::env::temp_dir().join(format!("piscale-topology-{}", std::process::id()));
        for (cpu, package, core) in [(0, 0, 0), (1, 0, 0)] {
            let t = dir.join(format!("system/cpu/cpu{cpu}/topology"));
            fs::create_dir_all(&t).unwrap();
            fs::write(t.join("physical_package_id"), format!("{package}\n")).unwrap();
            fs::write(t.join("core_id"), format!("{core}\n")).unwrap();
        }
        let t = Topology::from_sysfs(&dir, &list(&[0, 1, 3]));
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(t.physical_cores(), 2);
        assert_eq!(
            t.cpus()[2],
            Cpu {
                id: 3,
                package: 0,
                core: 3
            }
        );
        assert_eq!(t.compact_order(), [0, 3, 1]);
    }

    /// A sysfs tree under a temp dir: `(cpu, package, core)` for each CPU,
    /// then `(path under the devices dir, content)` files.
    fn sysfs(cpus: &[(usize, usize, usize)], files: &[(String, String)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = dir.path().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, format!("{text}\n")).unwrap();
        };
        for &(cpu, package, core) in cpus {
            let t = format!("system/cpu/cpu{cpu}/topology");
            write(&format!("{t}/physical_package_id"), &package.to_string());
            write(&format!("{t}/core_id"), &core.to_string());
        }
        for (path, text) in files {
            write(path, text);
        }
        dir
    }

    /// `(system/cpu/cpuN/FILE, value)` for each CPU of `ids`.
    fn per_cpu(ids: impl Iterator<Item = usize>, file: &str, value: u64) -> Vec<(String, String)> {
        ids.map(|id| (format!("system/cpu/cpu{id}/{file}"), value.to_string()))
            .collect()
    }

    fn kinds(t: &Topology) -> Vec<CoreKind> {
        t.cpu_cores().iter().map(|c| c.kind).collect()
    }

    #[test]
    fn compact_takes_intel_performance_cores_then_efficiency_then_siblings() {
        // Alder Lake 8P+16E: P-core threads 0-15, siblings (0,1), (2,3)…;
        // E-cores 16-31, one thread each.
        let cpus: Vec<_> = (0..32)
            .map(|id| (id, 0, if id < 16 { id / 2 } else { id - 8 }))
            .collect();
        let mut files = vec![
            ("cpu_core/cpus".to_string(), "0-15".to_string()),
            ("cpu_atom/cpus".to_string(), "16-31".to_string()),
        ];
        files.extend(per_cpu(0..16, "cpufreq/cpuinfo_max_freq", 4_900_000));
        files.extend(per_cpu(16..32, "cpufreq/cpuinfo_max_freq", 3_800_000));
        let dir = sysfs(&cpus, &files);
        let t = Topology::from_sysfs(dir.path(), &CpuList((0..32).collect()));
        let mut expected: Vec<usize> = (0..16).step_by(2).collect();
        expected.extend(16..32);
        expected.extend((1..16).step_by(2));
        assert_eq!(t.compact_order(), expected);
        assert_eq!(t.speed_source(), Some(SpeedSource::HybridPmu));
        assert_eq!(t.kind(1), CoreKind::Performance);
        assert_eq!(t.kind(16), CoreKind::Efficiency);
        assert_eq!(t.cpu_cores()[20].max_frequency_mhz, Some(3800));
        // Four workers: the first four P-cores, no sibling, no E-core.
        assert_eq!(
            cpus_for(&PinPolicy::Compact, 4, &t).unwrap(),
            Some(list(&[0, 2, 4, 6]))
        );
    }

    #[test]
    fn compact_takes_arm_big_cores_first() {
        // big.LITTLE 4+4: the LITTLE cores come first in CPU numbering.
        let cpus: Vec<_> = (0..8).map(|id| (id, 0, id)).collect();
        let mut files = per_cpu(0..4, "cpu_capacity", 446);
        files.extend(per_cpu(4..8, "cpu_capacity", 1024));
        let dir = sysfs(&cpus, &files);
        let t = Topology::from_sysfs(dir.path(), &CpuList((0..8).collect()));
        assert_eq!(t.compact_order(), [4, 5, 6, 7, 0, 1, 2, 3]);
        assert_eq!(t.speed_source(), Some(SpeedSource::CpuCapacity));
        use CoreKind::{Efficiency as E, Performance as P};
        assert_eq!(kinds(&t), [E, E, E, E, P, P, P, P]);
        assert_eq!(t.cpu_cores()[0].capacity, Some(446));
        // Scatter does not rank by speed.
        assert_eq!(t.scatter_order(), [0, 1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn compact_on_a_uniform_two_socket_server_is_unchanged() {
        // 2 sockets × 4 cores × 2 threads, numbered the way Linux does; two
        // favoured cores (Turbo Boost Max 3.0) report a highest_perf 4 %
        // higher, which must not make them a tier of their own.
        let reference = Topology::uniform(2, 4, 2);
        let cpus: Vec<_> = reference
            .cpus()
            .iter()
            .map(|c| (c.id, c.package, c.core))
            .collect();
        let mut files = per_cpu(0..16, "acpi_cppc/highest_perf", 46);
        files.extend(per_cpu(
            [3, 5, 11, 13].into_iter(),
            "acpi_cppc/highest_perf",
            48,
        ));
        files.extend(per_cpu(0..16, "cpufreq/cpuinfo_max_freq", 3_500_000));
        let dir = sysfs(&cpus, &files);
        let t = Topology::from_sysfs(dir.path(), &CpuList((0..16).collect()));
        assert_eq!(t.compact_order(), (0..16).collect::<Vec<_>>());
        assert_eq!(t.compact_order(), reference.compact_order());
        assert_eq!(t.scatter_order(), reference.scatter_order());
        assert_eq!(t.speed_source(), Some(SpeedSource::HighestPerf));
        assert_eq!(kinds(&t), [CoreKind::Uniform; 16]);
        assert_eq!(t.cpu_cores()[5].highest_perf, Some(48));
    }

    #[test]
    fn read_covers_exactly_the_usable_cpus() {
        let t = Topology::read();
        assert_eq!(t.cpu_list(), CpuList::usable().unwrap());
        let mut order = t.compact_order();
        order.sort_unstable();
        assert_eq!(order, CpuList::usable().unwrap().0);
    }

    #[test]
    fn pin_policy_parses_and_displays() {
        for text in ["none", "compact", "scatter", "0,2,4-7"] {
            let p: PinPolicy = text.parse().unwrap();
            assert_eq!(p.to_string(), text);
        }
        assert_eq!(
            " 1-2 ".parse::<PinPolicy>(),
            Ok(PinPolicy::List(list(&[1, 2])))
        );
        let err = "spread".parse::<PinPolicy>().unwrap_err();
        assert!(
            err.starts_with("unknown pin 'spread' (expected none, compact, scatter"),
            "{err}"
        );
        let err = "0,x".parse::<PinPolicy>().unwrap_err();
        assert!(err.contains("malformed CPU list"), "{err}");
    }

    #[test]
    fn a_cpu_listed_twice_is_refused() {
        for text in ["1,1", "0-3,2", "2,0-2"] {
            let err = text.parse::<PinPolicy>().unwrap_err();
            assert!(err.ends_with("appears twice in the list"), "{text}: {err}");
        }
        assert_eq!(
            "1,1".parse::<PinPolicy>().unwrap_err(),
            "CPU 1 appears twice in the list"
        );
        let t = Topology::uniform(1, 2, 1);
        let err = cpus_for(&PinPolicy::List(list(&[1, 1])), 2, &t).unwrap_err();
        assert_eq!(err, "CPU 1 appears twice in the list");
    }

    #[test]
    fn placement_ok_checks_worker_i_on_asked_i_mod_len() {
        assert!(placement_ok(None, 2, &[None, Some(5)]));
        let asked = list(&[3, 1]);
        assert!(placement_ok(Some(&asked), 3, &[Some(3), Some(1), Some(3)]));
        assert!(!placement_ok(Some(&asked), 3, &[Some(3), Some(1), Some(1)]));
        assert!(!placement_ok(Some(&asked), 2, &[Some(3), None]));
        assert!(!placement_ok(Some(&asked), 2, &[Some(3)]));
    }
}
