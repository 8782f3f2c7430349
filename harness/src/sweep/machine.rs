//! `machine.json`: what the sweep ran on, written once at its start next to
//! the raw rows, so a result directory explains itself (ripgrep's
//! benchsuite keeps the same record beside each run).
//!
//! Everything is best effort: a fact that cannot be found is `null`, never
//! an error — a missing `/sys` file must not stop a sweep.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use piscale_kernels::CpuList;
use serde::Serialize;
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

use super::rows::{now_rfc3339, write_atomic};

/// The machine, the build and the invocation behind one sweep.
#[derive(Serialize, Debug, Clone)]
pub struct Machine {
    /// When the description was taken (the sweep's start), RFC 3339.
    pub started_at: String,
    /// `piscale` version (`CARGO_PKG_VERSION`).
    pub piscale_version: String,
    /// `git rev-parse --short HEAD` of the piscale source tree, if it can be run.
    pub git_revision: Option<String>,
    /// The source tree has uncommitted changes to tracked files.
    pub git_dirty: Option<bool>,
    /// `rustc --version` at run time (see [`rustc_version`]).
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
    pub arch: String,
    /// CPU model name (`AMD EPYC 7B13`).
    pub cpu_model: Option<String>,
    /// CPU vendor id (`AuthenticAMD`, `GenuineIntel`).
    pub cpu_vendor: Option<String>,
    /// Physical cores, all sockets together.
    pub physical_cores: Option<usize>,
    /// Logical CPUs (hardware threads) the system has.
    pub logical_cpus: usize,
    /// CPUs this process may run on (`sched_getaffinity`), compact: `0-3,8`.
    pub usable_cpus: Option<String>,
    /// How many CPUs this process may run on.
    pub usable_cpu_count: usize,
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
    pub memory_total_bytes: u64,
    /// Target features this binary was compiled with.
    pub target_features_compiled: BTreeMap<&'static str, bool>,
    /// Features the CPU reports at run time (x86-64 only, else `null`).
    pub target_features_detected: Option<BTreeMap<&'static str, bool>>,
    /// The instruction set the kernels ran (`--isa`, or the best detected).
    pub isa: &'static str,
    /// Load average when the sweep started.
    pub load_average: Option<LoadAverage>,
    /// The command line, program name first.
    pub command_line: Vec<String>,
    /// The fully resolved sweep configuration.
    pub config: serde_json::Value,
}

/// One cache level of CPU 0, from `/sys/devices/system/cpu/cpu0/cache/index*`.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
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

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`).
#[derive(Serialize, Debug, Clone, Copy, PartialEq)]
pub struct LoadAverage {
    /// Over the last minute.
    pub one: f64,
    /// Over the last 5 minutes.
    pub five: f64,
    /// Over the last 15 minutes.
    pub fifteen: f64,
}

impl Machine {
    /// Describes this machine now, with the sweep's resolved `config` and
    /// its `command_line`. Runs `rustc --version` and `git`, reads `/proc`
    /// and `/sys`; takes a few milliseconds.
    pub fn describe(config: serde_json::Value, command_line: Vec<String>) -> Machine {
        let sys = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing().with_frequency())
                .with_memory(MemoryRefreshKind::nothing().with_ram()),
        );
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let first = sys.cpus().first();
        let non_empty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        let cpu_model = first
            .and_then(|c| non_empty(c.brand()))
            .or_else(|| cpuinfo_field(&cpuinfo, "model name"));
        let cpu_vendor = first
            .and_then(|c| non_empty(c.vendor_id()))
            .or_else(|| cpuinfo_field(&cpuinfo, "vendor_id"));

        let usable = CpuList::usable().ok();
        let usable_cpu_count = usable.as_ref().map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get()),
            |u| u.0.len(),
        );
        let logical_cpus = match sys.cpus().len() {
            0 => match cpuinfo
                .lines()
                .filter(|l| l.starts_with("processor"))
                .count()
            {
                0 => usable_cpu_count,
                n => n,
            },
            n => n,
        };

        let cpufreq = Path::new("/sys/devices/system/cpu/cpu0/cpufreq");
        let khz_to_mhz = |file: &str| {
            read_trimmed(&cpufreq.join(file))?
                .parse::<u64>()
                .ok()
                .map(|k| k / 1000)
        };

        Machine {
            started_at: now_rfc3339(),
            piscale_version: env!("CARGO_PKG_VERSION").to_string(),
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
            arch: System::cpu_arch(),
            cpu_model,
            cpu_vendor,
            physical_cores: System::physical_core_count(),
            logical_cpus,
            usable_cpus: usable.map(|u| u.to_string()),
            usable_cpu_count,
            frequency_mhz: sys.cpus().iter().map(|c| c.frequency()).collect(),
            min_frequency_mhz: khz_to_mhz("cpuinfo_min_freq"),
            max_frequency_mhz: khz_to_mhz("cpuinfo_max_freq"),
            governor: read_trimmed(&cpufreq.join("scaling_governor")),
            caches: caches(Path::new("/sys/devices/system/cpu/cpu0/cache")),
            memory_total_bytes: sys.total_memory(),
            target_features_compiled: compiled_features(),
            target_features_detected: detected_features(),
            isa: piscale_kernels::Isa::active().name(),
            load_average: fs::read_to_string("/proc/loadavg")
                .ok()
                .and_then(|s| parse_loadavg(&s)),
            command_line,
            config,
        }
    }

    /// A caption for tables and plots: `AMD EPYC (2 usable CPUs)`.
    #[allow(dead_code)] // for the reports and plots
    pub fn short_caption(&self) -> String {
        let model = self.cpu_model.as_deref().unwrap_or("unknown CPU");
        let n = self.usable_cpu_count;
        format!("{model} ({n} usable CPU{})", if n == 1 { "" } else { "s" })
    }

    /// Writes `machine.json` (pretty-printed) atomically.
    pub fn write_json(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let mut text = serde_json::to_string_pretty(self)
            .with_context(|| format!("cannot describe the machine for {}", path.display()))?;
        text.push('\n');
        write_atomic(path, text.as_bytes())
    }
}

/// Reads a `machine.json` back, as plain JSON (for reports: older files
/// may lack newer keys).
#[allow(dead_code)] // for the reports and plots
pub fn read_machine(path: impl AsRef<Path>) -> Result<serde_json::Value> {
    let path = path.as_ref();
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
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
fn compiled_features() -> BTreeMap<&'static str, bool> {
    BTreeMap::from([
        ("avx2", cfg!(target_feature = "avx2")),
        ("avx512f", cfg!(target_feature = "avx512f")),
        ("fma", cfg!(target_feature = "fma")),
        ("sse4.2", cfg!(target_feature = "sse4.2")),
    ])
}

/// Features the CPU has, whatever the binary was compiled for.
#[cfg(target_arch = "x86_64")]
fn detected_features() -> Option<BTreeMap<&'static str, bool>> {
    Some(BTreeMap::from([
        ("avx2", std::arch::is_x86_feature_detected!("avx2")),
        ("avx512dq", std::arch::is_x86_feature_detected!("avx512dq")),
        ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
        ("bmi2", std::arch::is_x86_feature_detected!("bmi2")),
        ("fma", std::arch::is_x86_feature_detected!("fma")),
    ]))
}

/// Run-time detection is only wired up for x86-64.
#[cfg(not(target_arch = "x86_64"))]
fn detected_features() -> Option<BTreeMap<&'static str, bool>> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key `machine.json` must carry, `null` or not.
    const KEYS: [&str; 30] = [
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
        Machine::describe(
            serde_json::json!({ "reps": 5, "methods": ["mc"] }),
            vec!["piscale".into(), "sweep".into()],
        )
    }

    #[test]
    fn describe_fills_the_basics() {
        let m = describe();
        let model = m.cpu_model.as_deref().unwrap_or_default();
        assert!(!model.is_empty(), "no CPU model: {m:?}");
        assert!(m.logical_cpus >= 1);
        assert!(m.usable_cpu_count >= 1);
        assert!(m.usable_cpu_count <= m.logical_cpus);
        let usable: CpuList = m.usable_cpus.as_deref().unwrap().parse().unwrap();
        assert_eq!(usable.0.len(), m.usable_cpu_count);
        assert!(m.memory_total_bytes > 0);
        assert_eq!(m.piscale_version, env!("CARGO_PKG_VERSION"));
        assert_eq!(m.command_line, ["piscale", "sweep"]);
        assert!(m.caches.iter().all(|c| c.level.is_some()));
        assert!(m.load_average.is_some());
        if let Some(rustc) = &m.rustc_version {
            assert!(rustc.starts_with("rustc "), "{rustc}");
        }
        assert!(m.short_caption().starts_with(model));
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
    fn write_json_then_read_machine() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("machine.json");
        let m = describe();
        m.write_json(&path).unwrap();
        let back = read_machine(&path).unwrap();
        assert_eq!(back, serde_json::to_value(&m).unwrap());
        let err = format!(
            "{:#}",
            read_machine(dir.path().join("none.json")).unwrap_err()
        );
        assert!(err.contains("none.json"), "{err}");
    }

    #[test]
    fn caption_counts_cpus() {
        let mut m = describe();
        m.cpu_model = Some("AMD EPYC".into());
        m.usable_cpu_count = 2;
        assert_eq!(m.short_caption(), "AMD EPYC (2 usable CPUs)");
        m.cpu_model = None;
        m.usable_cpu_count = 1;
        assert_eq!(m.short_caption(), "unknown CPU (1 usable CPU)");
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
