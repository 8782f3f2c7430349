//! The report's machine table, from a typed [`Machine`]: absent facts are
//! left out, keys this version does not know are listed under their own
//! name.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::present::format;
use crate::results::machine::CoreKind;
use crate::results::Machine;

/// The machine as `(what, value)` lines.
pub(super) fn rows(m: &Machine) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut push = |what: &str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            rows.push((what.to_string(), v));
        }
    };
    push("CPU", cpu(m));
    push("CPUs", cpus(m));
    push("Core kinds", core_kinds(m));
    push("Frequency", frequency(m));
    push("Caches", caches(m));
    push("Memory", m.memory_total_bytes.map(format::bytes));
    let os: Vec<&str> = [&m.os_name, &m.os_version]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    push("OS", (!os.is_empty()).then(|| os.join(" ")));
    push("Kernel", m.kernel_version.clone());
    push("Host", m.hostname.clone());
    push("Rust", m.rustc_version.clone());
    push("piscale", version(m));
    push("Started", m.started_at.clone());
    push(
        "Load average at start",
        m.load_average.map(|l| {
            format!(
                "{:.2}, {:.2}, {:.2} (1, 5, 15 min)",
                l.one, l.five, l.fifteen
            )
        }),
    );
    push("Target features", features(m));
    push("Kernel ISA", m.isa.map(|i| i.to_string()));
    for (key, value) in &m.other {
        let text = match value {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Bool(_) | Value::Number(_) => Some(value.to_string()),
            other => Some(other.to_string()).filter(|t| t.chars().count() <= 80),
        };
        push(key, text);
    }
    rows
}

/// `AMD EPYC 7B13 (AuthenticAMD, x86_64)`.
fn cpu(m: &Machine) -> Option<String> {
    let details: Vec<&str> = [&m.cpu_vendor, &m.arch]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    m.cpu_model.as_ref().map(|model| {
        if details.is_empty() {
            model.clone()
        } else {
            format!("{model} ({})", details.join(", "))
        }
    })
}

/// `4 usable (0-3), 4 logical, 2 physical cores`.
fn cpus(m: &Machine) -> Option<String> {
    let mut cpus = Vec::new();
    if let Some(u) = m.usable_cpu_count {
        cpus.push(match &m.usable_cpus {
            Some(list) => format!("{u} usable ({list})"),
            None => format!("{u} usable"),
        });
    }
    if let Some(l) = m.logical_cpus {
        cpus.push(format!("{l} logical"));
    }
    if let Some(c) = m.physical_cores {
        cpus.push(format!("{c} physical cores"));
    }
    (!cpus.is_empty()).then(|| cpus.join(", "))
}

/// `8 performance (16 threads), 16 efficiency (from cpu_core/cpu_atom)`;
/// nothing on a uniform machine, where every core is alike.
fn core_kinds(m: &Machine) -> Option<String> {
    let mut by_kind: BTreeMap<CoreKind, (BTreeSet<(usize, usize)>, usize)> = BTreeMap::new();
    for c in &m.cpu_cores {
        let (cores, threads) = by_kind.entry(c.kind).or_default();
        cores.insert((c.package, c.core));
        *threads += 1;
    }
    if by_kind.keys().all(|&k| k == CoreKind::Uniform) {
        return None;
    }
    let parts: Vec<String> = by_kind
        .iter()
        .map(|(kind, (cores, threads))| match cores.len() {
            n if n == *threads => format!("{n} {}", kind.name()),
            n => format!("{n} {} ({threads} threads)", kind.name()),
        })
        .collect();
    let source = m
        .core_speed_source
        .map(|s| format!(" (from {})", s.file()))
        .unwrap_or_default();
    Some(format!("{}{source}", parts.join(", ")))
}

/// `0.1.0, git abc1234 (uncommitted changes)`.
fn version(m: &Machine) -> Option<String> {
    let v = m.piscale_version.as_ref()?;
    Some(match &m.git_revision {
        Some(rev) if m.git_dirty == Some(true) => format!("{v}, git {rev} (uncommitted changes)"),
        Some(rev) => format!("{v}, git {rev}"),
        None => v.clone(),
    })
}

/// `2445 MHz now, range 400–3500 MHz, governor performance`.
fn frequency(m: &Machine) -> Option<String> {
    let now: Vec<u64> = m.frequency_mhz.iter().copied().filter(|&f| f > 0).collect();
    let mut parts = Vec::new();
    if let (Some(lo), Some(hi)) = (now.iter().min(), now.iter().max()) {
        parts.push(if lo == hi {
            format!("{lo} MHz now")
        } else {
            format!("{lo}–{hi} MHz now")
        });
    }
    if let (Some(lo), Some(hi)) = (m.min_frequency_mhz, m.max_frequency_mhz) {
        parts.push(format!("range {lo}–{hi} MHz"));
    }
    if let Some(g) = &m.governor {
        parts.push(format!("governor {g}"));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// `L1d 32 KiB, L1i 32 KiB, L2 512 KiB, L3 32 MiB`.
fn caches(m: &Machine) -> Option<String> {
    let list: Vec<String> = m
        .caches
        .iter()
        .filter_map(|c| {
            let level = c.level?;
            let kind = match c.kind.as_deref() {
                Some("Data") => "d",
                Some("Instruction") => "i",
                _ => "",
            };
            let size = c.size_bytes.map(format::bytes).or_else(|| c.size.clone())?;
            Some(format!("L{level}{kind} {size}"))
        })
        .collect();
    (!list.is_empty()).then(|| list.join(", "))
}

/// `compiled in: none; detected: avx2, bmi2, fma`.
fn features(m: &Machine) -> Option<String> {
    let on = |map: &Option<std::collections::BTreeMap<String, bool>>| -> Option<String> {
        let names: Vec<&str> = map
            .as_ref()?
            .iter()
            .filter(|(_, on)| **on)
            .map(|(k, _)| k.as_str())
            .collect();
        Some(if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        })
    };
    let parts: Vec<String> = [
        on(&m.target_features_compiled).map(|f| format!("compiled in: {f}")),
        on(&m.target_features_detected).map(|f| format!("detected: {f}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The sweep's command line, quoted for a shell.
pub(super) fn command_line(m: &Machine) -> Option<String> {
    (!m.command_line.is_empty()).then(|| shell_words::join(&m.command_line))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::machine::{CpuCore, SpeedSource};

    fn cpu(cpu: usize, core: usize, kind: CoreKind) -> CpuCore {
        CpuCore {
            cpu,
            package: 0,
            core,
            kind,
            capacity: None,
            highest_perf: None,
            max_frequency_mhz: None,
        }
    }

    #[test]
    fn core_kinds_count_cores_and_threads_and_stay_quiet_when_uniform() {
        // 8P+16E with SMT on the P-cores.
        let mut cpu_cores: Vec<CpuCore> = (0..16)
            .map(|id| cpu(id, id / 2, CoreKind::Performance))
            .collect();
        cpu_cores.extend((16..32).map(|id| cpu(id, id - 8, CoreKind::Efficiency)));
        let m = Machine {
            core_speed_source: Some(SpeedSource::HybridPmu),
            cpu_cores,
            ..Machine::default()
        };
        assert_eq!(
            core_kinds(&m).as_deref(),
            Some("8 performance (16 threads), 16 efficiency (from cpu_core/cpu_atom)")
        );
        assert!(rows(&m).iter().any(|(what, _)| what == "Core kinds"));
        let uniform = Machine {
            cpu_cores: vec![cpu(0, 0, CoreKind::Uniform), cpu(1, 1, CoreKind::Uniform)],
            ..Machine::default()
        };
        assert_eq!(core_kinds(&uniform), None);
        assert!(rows(&uniform).iter().all(|(what, _)| what != "Core kinds"));
    }
}
