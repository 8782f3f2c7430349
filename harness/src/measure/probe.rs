//! Describing this machine for `machine.json` ([`describe`]).
//!
//! Everything is best effort: a fact that cannot be found is `null`, never
//! an error — a missing `/sys` file must not stop a sweep.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use piscale_kernels::{CpuList, Isa};
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

use super::placement::Topology;
use crate::results::machine::{Cache, LoadAverage};
use crate::results::{timestamp, Machine};

/// Describes this machine now, with the sweep's resolved `config`, its
/// `command_line` and the kernels' `isa`. Runs `rustc --version` and `git`,
/// reads `/proc` and `/sys`; takes a few milliseconds.
pub fn describe(config: serde_json::Value, command_line: Vec<String>, isa: Isa) -> Machine {
    let sys = System::new_with_specifics(
        RefreshKind::nothing()
            .with_cpu(CpuRefreshKind::nothing().with_frequency())
            .with_memory(MemoryRefreshKind::nothing().with_ram()),
    );
    let cpufreq = Path::new("/sys/devices/system/cpu/cpu0/cpufreq");
    let khz_to_mhz = |file: &str| {
        read_trimmed(&cpufreq.join(file))?
            .parse::<u64>()
            .ok()
            .map(|k| k / 1000)
    };
    let mut machine = Machine {
        started_at: Some(timestamp()),
        piscale_version: Some(env!("CARGO_PKG_VERSION").to_string()),
        git_revision: git(&["rev-parse", "--short", "HEAD"]),
        // No optional locks: never contend with a git command running beside us.
        git_dirty: git(&[
            "--no-optional-locks",
            "status",
            "--porcelain",
            "--untracked-files=no",
        ])
        .map(|s| !s.is_empty()),
        rustc_version: rustc_version(),
        hostname: System::host_name(),
        os_name: System::name(),
        os_version: System::os_version(),
        kernel_version: System::kernel_version(),
        arch: Some(System::cpu_arch()),
        physical_cores: System::physical_core_count(),
        frequency_mhz: sys.cpus().iter().map(|c| c.frequency()).collect(),
        min_frequency_mhz: khz_to_mhz("cpuinfo_min_freq"),
        max_frequency_mhz: khz_to_mhz("cpuinfo_max_freq"),
        governor: read_trimmed(&cpufreq.join("scaling_governor")),
        caches: caches(Path::new("/sys/devices/system/cpu/cpu0/cache")),
        memory_total_bytes: Some(sys.total_memory()),
        target_features_compiled: Some(compiled_features()),
        target_features_detected: detected_features(),
        isa: Some(isa),
        load_average: load_average(),
        command_line,
        config,
        ..Machine::default()
    };
    describe_cpus(&sys, &mut machine);
    let topology = Topology::read();
    machine.core_speed_source = topology.speed_source();
    machine.cpu_cores = topology.cpu_cores();
    machine
}

/// The CPU model and vendor, and how many CPUs there are and may be used.
fn describe_cpus(sys: &System, machine: &mut Machine) {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let first = sys.cpus().first();
    let non_empty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    machine.cpu_model = first
        .and_then(|c| non_empty(c.brand()))
        .or_else(|| cpuinfo_field(&cpuinfo, "model name"));
    machine.cpu_vendor = first
        .and_then(|c| non_empty(c.vendor_id()))
        .or_else(|| cpuinfo_field(&cpuinfo, "vendor_id"));
    let usable = CpuList::usable().ok();
    let usable_cpu_count = usable.as_ref().map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |u| u.0.len(),
    );
    let listed = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    machine.logical_cpus = Some(match (sys.cpus().len(), listed) {
        (0, 0) => usable_cpu_count,
        (0, n) | (n, _) => n,
    });
    machine.usable_cpus = usable.map(|u| u.to_string());
    machine.usable_cpu_count = Some(usable_cpu_count);
}

/// `rustc --version`, run now. The compiler that built this binary cannot
/// be captured at build time without a build script, which this crate does
/// not have, so this records the toolchain on the PATH at run time (usually
/// the same one); `null` when there is none.
fn rustc_version() -> Option<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    run(Command::new(rustc).arg("--version"))
}

/// Runs `git` in the piscale source tree this binary was built from
/// (`CARGO_MANIFEST_DIR`), not the current directory: a sweep started
/// elsewhere — inside some other repository — must not record that
/// repository's revision. `null` if git or the tree is gone.
fn git(args: &[&str]) -> Option<String> {
    run(Command::new("git")
        .arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .args(args))
}

/// Trimmed stdout of a command that succeeded.
fn run(command: &mut Command) -> Option<String> {
    let out = command.stdin(std::process::Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn read_trimmed(path: &Path) -> Option<String> {
    let s = fs::read_to_string(path).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// The value of the first `key : value` line of `/proc/cpuinfo`.
fn cpuinfo_field(cpuinfo: &str, key: &str) -> Option<String> {
    cpuinfo.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == key && !v.trim().is_empty()).then(|| v.trim().to_string())
    })
}

/// The caches under `dir` (`.../cpu0/cache`), sorted by level then type.
fn caches(dir: &Path) -> Vec<Cache> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut caches: Vec<Cache> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("index"))
        .map(|e| {
            let dir = e.path();
            let size = read_trimmed(&dir.join("size"));
            Cache {
                level: read_trimmed(&dir.join("level")).and_then(|l| l.parse().ok()),
                kind: read_trimmed(&dir.join("type")),
                size_bytes: size.as_deref().and_then(parse_size),
                size,
                shared_cpu_list: read_trimmed(&dir.join("shared_cpu_list")),
            }
        })
        .collect();
    caches.sort_by(|a, b| (a.level, &a.kind).cmp(&(b.level, &b.kind)));
    caches
}

/// A sysfs cache size, `32K`, `1024K`, `32M` or plain bytes.
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, ""),
    };
    let n: u64 = digits.parse().ok()?;
    let scale = match unit.trim() {
        "" => 1,
        "K" | "KB" | "KiB" => 1 << 10,
        "M" | "MB" | "MiB" => 1 << 20,
        "G" | "GB" | "GiB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(scale)
}

/// The load averages now (`/proc/loadavg`); `None` where unreadable.
pub fn load_average() -> Option<LoadAverage> {
    parse_loadavg(&fs::read_to_string("/proc/loadavg").ok()?)
}

/// `0.41 0.84 1.46 1/83 22524` → 0.41, 0.84, 1.46.
fn parse_loadavg(s: &str) -> Option<LoadAverage> {
    let mut it = s.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some(LoadAverage {
        one: it.next()??,
        five: it.next()??,
        fifteen: it.next()??,
    })
}

/// Features enabled at compile time (`-C target-cpu=native` turns them on).
fn compiled_features() -> BTreeMap<String, bool> {
    [
        ("avx2", cfg!(target_feature = "avx2")),
        ("avx512f", cfg!(target_feature = "avx512f")),
        ("fma", cfg!(target_feature = "fma")),
        ("sse4.2", cfg!(target_feature = "sse4.2")),
    ]
    .into_iter()
    .map(|(name, on)| (name.to_owned(), on))
    .collect()
}

/// Features the CPU has, whatever the binary was compiled for.
#[cfg(target_arch = "x86_64")]
fn detected_features() -> Option<BTreeMap<String, bool>> {
    let features = [
        ("avx2", std::arch::is_x86_feature_detected!("avx2")),
        ("avx512dq", std::arch::is_x86_feature_detected!("avx512dq")),
        ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
        ("bmi2", std::arch::is_x86_feature_detected!("bmi2")),
        ("fma", std::arch::is_x86_feature_detected!("fma")),
    ];
    Some(
        features
            .into_iter()
            .map(|(name, on)| (name.to_owned(), on))
            .collect(),
    )
}

/// Run-time detection is only wired up for x86-64.
#[cfg(not(target_arch = "x86_64"))]
fn detected_features() -> Option<BTreeMap<String, bool>> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key `machine.json` must carry, `null` or not.
    const KEYS: [&str; 32] = [
        "started_at",
        "piscale_version",
        "git_revision",
        "git_dirty",
        "rustc_version",
        "hostname",
        "os_name",
        "os_version",
        "kernel_version",
        "arch",
        "cpu_model",
        "cpu_vendor",
        "physical_cores",
        "logical_cpus",
        "usable_cpus",
        "usable_cpu_count",
        "core_speed_source",
        "cpu_cores",
        "frequency_mhz",
        "min_frequency_mhz",
        "max_frequency_mhz",
        "governor",
        "caches",
        "memory_total_bytes",
        "target_features_compiled",
        "target_features_detected",
        "isa",
        "load_average",
        "command_line",
        "config",
        // Nested ones, checked below.
        "load_average.one",
        "target_features_compiled.sse4.2",
    ];

    fn describe() -> Machine {
        super::describe(
            serde_json::json!({ "reps": 5, "methods": ["mc"] }),
            vec!["piscale".into(), "sweep".into()],
            Isa::detect(),
        )
    }

    #[test]
    fn describe_fills_the_basics() {
        let m = describe();
        let model = m.cpu_model.as_deref().unwrap_or_default();
        assert!(!model.is_empty(), "no CPU model: {m:?}");
        let (logical, usable_count) = (m.logical_cpus.unwrap(), m.usable_cpu_count.unwrap());
        assert!(logical >= 1);
        assert!(usable_count >= 1);
        assert!(usable_count <= logical);
        let usable: CpuList = m.usable_cpus.as_deref().unwrap().parse().unwrap();
        assert_eq!(usable.0.len(), usable_count);
        assert!(m.memory_total_bytes.unwrap() > 0);
        assert_eq!(
            m.piscale_version.as_deref(),
            Some(env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(m.isa, Some(Isa::detect()));
        assert_eq!(m.command_line, ["piscale", "sweep"]);
        assert!(m.caches.iter().all(|c| c.level.is_some()));
        assert!(m.load_average.is_some());
        let cores: Vec<usize> = m.cpu_cores.iter().map(|c| c.cpu).collect();
        assert_eq!(cores, usable.0);
        if let Some(rustc) = &m.rustc_version {
            assert!(rustc.starts_with("rustc "), "{rustc}");
        }
    }

    #[test]
    fn json_has_every_key() {
        let json = serde_json::to_value(describe()).unwrap();
        let object = json.as_object().unwrap();
        for key in KEYS {
            let found = match key.split_once('.') {
                Some((outer, inner)) => object[outer].get(inner).is_some(),
                None => object.contains_key(key),
            };
            assert!(found, "machine.json lacks {key}");
        }
        assert_eq!(object.len(), KEYS.len() - 2, "a key is missing from KEYS");
        assert_eq!(json["config"]["reps"], 5);
        if let Some(cache) = json["caches"].get(0) {
            for key in ["level", "type", "size", "size_bytes", "shared_cpu_list"] {
                assert!(cache.get(key).is_some(), "cache lacks {key}");
            }
        }
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            json["target_features_detected"].as_object().unwrap().len(),
            5
        );
    }

    #[test]
    fn parses_sysfs_and_proc_text() {
        assert_eq!(parse_size("32K"), Some(32 * 1024));
        assert_eq!(parse_size("32768K"), Some(32 << 20));
        assert_eq!(parse_size("2M"), Some(2 << 20));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(
            parse_loadavg("0.41 0.84 1.46 1/83 22524\n"),
            Some(LoadAverage {
                one: 0.41,
                five: 0.84,
                fifteen: 1.46
            })
        );
        assert_eq!(parse_loadavg("0.41"), None);
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\n";
        assert_eq!(
            cpuinfo_field(cpuinfo, "model name").as_deref(),
            Some("AMD EPYC")
        );
        assert_eq!(cpuinfo_field(cpuinfo, "flags"), None);
    }
}
