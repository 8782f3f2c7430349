//! How fast each CPU's core is, read from sysfs: its [`CoreKind`] and a
//! speed *tier* (0 = fastest) that `compact` pinning fills first.
//!
//! The rule: the first source below that describes **every** usable CPU
//! decides (a source that covers only some CPUs cannot rank the others, so
//! it is passed over):
//!
//! 1. Intel hybrid: CPUs in `/sys/devices/cpu_core/cpus` are performance
//!    cores, those in `/sys/devices/cpu_atom/cpus` efficiency cores (the
//!    kernel's two perf PMUs, one per core type).
//! 2. `cpuN/cpu_capacity` (ARM big.LITTLE; higher is faster).
//! 3. `cpuN/acpi_cppc/highest_perf`.
//! 4. `cpuN/cpufreq/cpuinfo_max_freq`.
//!
//! The source's values fall into tiers, fastest first: a value starts a new
//! tier when it is more than 5 % below the top of the current one, so that
//! small differences — favoured cores of Turbo Boost Max 3.0, a few MHz of
//! binning — do not split a machine whose cores are alike. One tier means a
//! uniform machine; otherwise tier 0 is performance and the rest efficiency.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use piscale_kernels::CpuList;

use crate::results::machine::{CoreKind, SpeedSource};

/// A value this much below the top of a tier (in percent) starts a new one.
const SAME_TIER_PERCENT: u64 = 95;

/// One CPU's speed: what decided the order, and the facts read beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuSpeed {
    /// Performance, efficiency or uniform.
    pub kind: CoreKind,
    /// 0 for the fastest tier, 1 for the next, …
    pub tier: usize,
    /// `cpu_capacity`.
    pub capacity: Option<u64>,
    /// `acpi_cppc/highest_perf`.
    pub highest_perf: Option<u64>,
    /// `cpufreq/cpuinfo_max_freq`, MHz.
    pub max_frequency_mhz: Option<u64>,
}

/// The speed of every usable CPU and the source that ranked them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Speeds {
    /// `None` when no source describes every usable CPU.
    pub source: Option<SpeedSource>,
    /// By CPU id.
    pub cpus: BTreeMap<usize, CpuSpeed>,
}

impl Speeds {
    /// The tier of `cpu`; 0 (fastest) for a CPU not read, so that a
    /// topology built without sysfs keeps its plain order.
    pub fn tier(&self, cpu: usize) -> usize {
        self.cpus.get(&cpu).map_or(0, |s| s.tier)
    }

    /// The kind of `cpu`; uniform for a CPU not read.
    pub fn kind(&self, cpu: usize) -> CoreKind {
        self.cpus.get(&cpu).map_or(CoreKind::Uniform, |s| s.kind)
    }
}

/// Reads the speeds of `usable` from `devices` (`/sys/devices`, whose
/// `system/cpu` holds the per-CPU files).
pub fn read(devices: &Path, usable: &[usize]) -> Speeds {
    let cpu_dir = devices.join("system/cpu");
    let number = |cpu: usize, file: &str| -> Option<u64> {
        let text = fs::read_to_string(cpu_dir.join(format!("cpu{cpu}/{file}"))).ok()?;
        text.trim().parse().ok()
    };
    let facts: Vec<(usize, [Option<u64>; 3])> = usable
        .iter()
        .map(|&cpu| {
            (
                cpu,
                [
                    number(cpu, "cpu_capacity"),
                    number(cpu, "acpi_cppc/highest_perf"),
                    number(cpu, "cpufreq/cpuinfo_max_freq"),
                ],
            )
        })
        .collect();
    let from_file = |i: usize| -> Option<Vec<u64>> { facts.iter().map(|(_, f)| f[i]).collect() };
    let ranked = hybrid(devices, usable)
        .map(|v| (SpeedSource::HybridPmu, v))
        .or_else(|| from_file(0).map(|v| (SpeedSource::CpuCapacity, v)))
        .or_else(|| from_file(1).map(|v| (SpeedSource::HighestPerf, v)))
        .or_else(|| from_file(2).map(|v| (SpeedSource::MaxFrequency, v)));
    let (source, values) = match ranked {
        Some((source, values)) => (Some(source), values),
        None => (None, vec![0; usable.len()]),
    };
    let tiers = tiers(&values);
    let uniform = tiers.iter().all(|&t| t == 0);
    let cpus = facts
        .iter()
        .zip(tiers)
        .map(|(&(cpu, [capacity, highest_perf, max_khz]), tier)| {
            let kind = match tier {
                _ if uniform => CoreKind::Uniform,
                0 => CoreKind::Performance,
                _ => CoreKind::Efficiency,
            };
            let speed = CpuSpeed {
                kind,
                tier,
                capacity,
                highest_perf,
                max_frequency_mhz: max_khz.map(|k| k / 1000),
            };
            (cpu, speed)
        })
        .collect();
    Speeds { source, cpus }
}

/// Intel hybrid: 2 for a CPU in `cpu_core/cpus`, 1 for one in
/// `cpu_atom/cpus`; `None` unless both lists exist and cover every usable CPU.
fn hybrid(devices: &Path, usable: &[usize]) -> Option<Vec<u64>> {
    let list = |pmu: &str| -> Option<CpuList> {
        fs::read_to_string(devices.join(pmu).join("cpus"))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    let (p, e) = (list("cpu_core")?, list("cpu_atom")?);
    usable
        .iter()
        .map(|cpu| {
            if p.0.contains(cpu) {
                Some(2)
            } else if e.0.contains(cpu) {
                Some(1)
            } else {
                None
            }
        })
        .collect()
}

/// The tier of each value (higher values are faster), by the 5 % rule of
/// the module documentation.
fn tiers(values: &[u64]) -> Vec<usize> {
    let mut distinct = values.to_vec();
    distinct.sort_unstable_by(|a, b| b.cmp(a));
    distinct.dedup();
    let mut tier_of = BTreeMap::new();
    let mut tier = 0;
    let mut top = distinct.first().copied().unwrap_or(0);
    for v in distinct {
        if u128::from(v) * 100 < u128::from(top) * u128::from(SAME_TIER_PERCENT) {
            tier += 1;
            top = v;
        }
        tier_of.insert(v, tier);
    }
    values.iter().map(|v| tier_of[v]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_within_five_percent_share_a_tier() {
        assert_eq!(tiers(&[1024, 446, 1024, 446]), [0, 1, 0, 1]);
        // Turbo Boost Max 3.0: favoured cores a little higher, one tier.
        assert_eq!(tiers(&[48, 46, 47, 48]), [0, 0, 0, 0]);
        // Prime, big and little cores: three tiers.
        assert_eq!(tiers(&[1024, 900, 400, 1000]), [0, 1, 2, 0]);
        assert!(tiers(&[]).is_empty());
    }

    #[test]
    fn a_source_that_misses_a_cpu_is_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        let cpu = dir.path().join("system/cpu");
        for (id, capacity, khz) in [(0, Some(1024), 3_000_000), (1, None, 2_000_000)] {
            let freq = cpu.join(format!("cpu{id}/cpufreq"));
            fs::create_dir_all(&freq).unwrap();
            fs::write(freq.join("cpuinfo_max_freq"), format!("{khz}\n")).unwrap();
            if let Some(c) = capacity {
                fs::write(cpu.join(format!("cpu{id}/cpu_capacity")), format!("{c}\n")).unwrap();
            }
        }
        let s = read(dir.path(), &[0, 1]);
        assert_eq!(s.source, Some(SpeedSource::MaxFrequency));
        assert_eq!(s.kind(0), CoreKind::Performance);
        assert_eq!((s.kind(1), s.tier(1)), (CoreKind::Efficiency, 1));
        assert_eq!(s.cpus[&0].capacity, Some(1024));
        assert_eq!(s.cpus[&1].max_frequency_mhz, Some(2000));
        // Nothing at all: uniform, no source.
        let s = read(&dir.path().join("none"), &[0, 1]);
        assert_eq!(
            (s.source, s.kind(1), s.tier(1)),
            (None, CoreKind::Uniform, 0)
        );
    }
}
