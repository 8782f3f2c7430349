//! `machine.json`: what a sweep ran on, written once at its start next to
//! the raw rows, so a result folder explains itself (ripgrep's benchsuite
//! keeps the same record beside each run).
//!
//! [`Machine`] is the file's schema, written and read back typed. Every
//! field may be absent in a file (older versions, a fact that could not be
//! found): it then reads as `None` or empty, and keys this version does not
//! know are kept in [`Machine::other`] so that a report can still show them.
//! The description itself is taken by `measure::probe`.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use piscale_kernels::Isa;
use serde::{Deserialize, Serialize};

use super::out_dir::write_atomic;

/// The machine, the build and the invocation behind one sweep.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct Machine {
    /// When the description was taken (the sweep's start), RFC 3339.
    pub started_at: Option<String>,
    /// `piscale` version (`CARGO_PKG_VERSION`).
    pub piscale_version: Option<String>,
    /// `git rev-parse --short HEAD` of the piscale source tree, if it can be run.
    pub git_revision: Option<String>,
    /// The source tree has uncommitted changes to tracked files.
    pub git_dirty: Option<bool>,
    /// `rustc --version` at run time.
    pub rustc_version: Option<String>,
    /// Host name.
    pub hostname: Option<String>,
    /// Operating system name (`Ubuntu`, `Darwin`, …).
    pub os_name: Option<String>,
    /// Operating system version.
    pub os_version: Option<String>,
    /// Kernel version.
    pub kernel_version: Option<String>,
    /// CPU architecture (`x86_64`, `aarch64`, …).
    pub arch: Option<String>,
    /// CPU model name (`AMD EPYC 7B13`).
    pub cpu_model: Option<String>,
    /// CPU vendor id (`AuthenticAMD`, `GenuineIntel`).
    pub cpu_vendor: Option<String>,
    /// Physical cores, all sockets together.
    pub physical_cores: Option<usize>,
    /// Logical CPUs (hardware threads) the system has.
    pub logical_cpus: Option<usize>,
    /// CPUs this process may run on (`sched_getaffinity`), compact: `0-3,8`.
    pub usable_cpus: Option<String>,
    /// How many CPUs this process may run on.
    pub usable_cpu_count: Option<usize>,
    /// Which sysfs source told the cores' kinds apart (`null`: none described
    /// every usable CPU, so all count as uniform).
    pub core_speed_source: Option<SpeedSource>,
    /// Each usable CPU: its core, package, kind and the speed facts read.
    pub cpu_cores: Vec<CpuCore>,
    /// Current frequency of each logical CPU, MHz.
    pub frequency_mhz: Vec<u64>,
    /// Lowest frequency of CPU 0 (`cpufreq/cpuinfo_min_freq`), MHz.
    pub min_frequency_mhz: Option<u64>,
    /// Highest frequency of CPU 0 (`cpufreq/cpuinfo_max_freq`), MHz.
    pub max_frequency_mhz: Option<u64>,
    /// Frequency governor of CPU 0 (`performance`, `powersave`, …).
    pub governor: Option<String>,
    /// Caches of CPU 0, innermost first.
    pub caches: Vec<Cache>,
    /// Total memory, bytes.
    pub memory_total_bytes: Option<u64>,
    /// Target features this binary was compiled with.
    pub target_features_compiled: Option<BTreeMap<String, bool>>,
    /// Features the CPU reports at run time (x86-64 only, else `null`).
    pub target_features_detected: Option<BTreeMap<String, bool>>,
    /// The instruction set the kernels ran (`--isa`, or the best detected).
    pub isa: Option<Isa>,
    /// Load average when the sweep started.
    pub load_average: Option<LoadAverage>,
    /// The command line, program name first.
    pub command_line: Vec<String>,
    /// The fully resolved sweep configuration.
    pub config: serde_json::Value,
    /// Keys of the file this version does not know, kept as they are.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// One cache level of CPU 0, from `/sys/devices/system/cpu/cpu0/cache/index*`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(default)]
pub struct Cache {
    /// 1, 2, 3…
    pub level: Option<u32>,
    /// `Data`, `Instruction` or `Unified`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Size as the kernel writes it (`32K`).
    pub size: Option<String>,
    /// Size in bytes.
    pub size_bytes: Option<u64>,
    /// CPUs sharing this cache (`0-1`).
    pub shared_cpu_list: Option<String>,
}

/// What kind of core a CPU is: the fastest tier of a hybrid machine, a
/// slower one, or a machine whose cores do not differ.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum CoreKind {
    /// The fastest tier (Intel P-core, ARM big core).
    Performance,
    /// A slower tier (Intel E-core, ARM LITTLE core).
    Efficiency,
    /// All usable cores are alike, or nothing tells them apart.
    Uniform,
}

impl CoreKind {
    /// `performance`, `efficiency`, `uniform`.
    pub fn name(self) -> &'static str {
        match self {
            CoreKind::Performance => "performance",
            CoreKind::Efficiency => "efficiency",
            CoreKind::Uniform => "uniform",
        }
    }
}

/// The sysfs facts that ranked the cores, in the order they are tried.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SpeedSource {
    /// Intel hybrid: `/sys/devices/cpu_core/cpus` and `cpu_atom/cpus`.
    HybridPmu,
    /// `cpuN/cpu_capacity` (ARM; 1024 = the fastest core).
    CpuCapacity,
    /// `cpuN/acpi_cppc/highest_perf`.
    HighestPerf,
    /// `cpuN/cpufreq/cpuinfo_max_freq`.
    MaxFrequency,
}

impl SpeedSource {
    /// The sysfs file (or files) it comes from, for the report.
    pub fn file(self) -> &'static str {
        match self {
            SpeedSource::HybridPmu => "cpu_core/cpu_atom",
            SpeedSource::CpuCapacity => "cpu_capacity",
            SpeedSource::HighestPerf => "acpi_cppc/highest_perf",
            SpeedSource::MaxFrequency => "cpuinfo_max_freq",
        }
    }
}

/// One usable logical CPU in `machine.json`; the speed facts are `null`
/// where sysfs does not have them.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuCore {
    /// The logical CPU id.
    pub cpu: usize,
    /// `physical_package_id`.
    pub package: usize,
    /// `core_id`; CPUs with the same package and core are SMT siblings.
    pub core: usize,
    /// Performance, efficiency or uniform.
    pub kind: CoreKind,
    /// `cpu_capacity`.
    #[serde(default)]
    pub capacity: Option<u64>,
    /// `acpi_cppc/highest_perf`.
    #[serde(default)]
    pub highest_perf: Option<u64>,
    /// `cpufreq/cpuinfo_max_freq`, MHz.
    #[serde(default)]
    pub max_frequency_mhz: Option<u64>,
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub struct LoadAverage {
    /// Over the last minute.
    pub one: f64,
    /// Over the last 5 minutes.
    pub five: f64,
    /// Over the last 15 minutes.
    pub fifteen: f64,
}

impl Machine {
    /// Writes `machine.json` (pretty-printed) atomically.
    pub fn write_json(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self)
            .with_context(|| format!("cannot describe the machine for {}", path.display()))?;
        text.push('\n');
        write_atomic(path, text.as_bytes())
    }

    /// Reads a `machine.json` back.
    pub fn read_json(path: &Path) -> Result<Machine> {
        let text =
            fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid machine description", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_file_reads_and_unknown_keys_are_kept() {
        let m: Machine = serde_json::from_str(
            r#"{"cpu_model": "AMD EPYC", "usable_cpu_count": 2, "isa": "avx2",
                "virtualization": "kvm", "caches": [{"level": 1, "type": "Data"}]}"#,
        )
        .unwrap();
        assert_eq!(m.cpu_model.as_deref(), Some("AMD EPYC"));
        assert_eq!(m.usable_cpu_count, Some(2));
        assert_eq!(m.isa, Some(Isa::Avx2));
        assert_eq!(m.logical_cpus, None);
        assert_eq!(m.caches[0].kind.as_deref(), Some("Data"));
        assert_eq!(m.other["virtualization"], "kvm");
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Machine>(&text).unwrap(), m);
    }

    #[test]
    fn write_then_read_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("machine.json");
        let m = Machine {
            cpu_model: Some("x".into()),
            command_line: vec!["piscale".into()],
            ..Machine::default()
        };
        m.write_json(&path).unwrap();
        assert_eq!(Machine::read_json(&path).unwrap(), m);
        let err = format!(
            "{:#}",
            Machine::read_json(&dir.path().join("none.json")).unwrap_err()
        );
        assert!(err.contains("none.json"), "{err}");
    }
}
