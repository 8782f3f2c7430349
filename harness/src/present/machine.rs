//! `piscale machine`'s output: the probe ([`MachineProbe`]) as text or as
//! one JSON object. Only formats what it is given; never measures.
//!
//! The JSON object holds every figure, with these keys (rates are samples —
//! darts or steps — per nanosecond):
//!
//! - `method`, `isa`, `block`, `run_s` (each curve run), `alone_run_s`
//!   (each CPU alone), `reps` (rounds of the curve), `wall_s` (the probe);
//! - `layout`: `cpus`, `cores`, `threads_per_core`, `packages`;
//!   `speed_source` (`null` when nothing tells the cores apart) and
//!   `compact_order`;
//! - `cpus`: one object per usable CPU, in id order — `cpu`, `package`,
//!   `core`, `kind`, `capacity`, `highest_perf`, `max_frequency_mhz` (as in
//!   machine.json), `alone_samples_per_ns`, `load_samples_per_ns` (every
//!   usable CPU computing) and `load_over_alone`;
//! - `curve`: one object per worker count — `workers`, `cpus`,
//!   `rep_samples_per_ns` (R(p) of each round), `median_samples_per_ns`,
//!   `capacity` (C(p)), `capacity_low`, `capacity_high`, `coverage`;
//! - `load`: `load_average` (`one`, `five`, `fifteen`, or `null`),
//!   `steal_s`, `steal_share`, `stall_s` (`null` without PSI), `runnable`,
//!   `disturbed`;
//! - `verdict`: the last line of the text.

use std::io::{self, Write};

use piscale_kernels::{CpuList, Method, Named};
use serde::Serialize;

use super::explain::ALIKE;
use super::format::{share, sig3, time, times};
use super::run::Format;
use super::table::columns;
use crate::measure::machine_probe::{CurvePoint, MachineProbe};
use crate::results::machine::CoreKind;

/// Prints `probe` in `format`.
pub fn report(out: &mut impl Write, format: Format, probe: &MachineProbe) -> io::Result<()> {
    match format {
        Format::Text => write!(out, "{}", text(probe)),
        Format::Json => {
            let doc = Json {
                probe,
                verdict: verdict(probe),
            };
            let line = serde_json::to_string(&doc).map_err(io::Error::other)?;
            writeln!(out, "{line}")
        }
    }
}

/// The JSON object (see the module documentation).
#[derive(Serialize)]
struct Json<'a> {
    #[serde(flatten)]
    probe: &'a MachineProbe,
    verdict: String,
}

/// The whole text: the probe, the topology, each CPU, the curve, the load
/// and the verdict.
pub fn text(probe: &MachineProbe) -> String {
    let unit = format!("{}/ns", unit(probe.method));
    let n = probe.figures.cpus.len();
    let rounds = plural(probe.reps as usize, "round");
    let mut s = format!(
        "piscale machine: {} ({}), {rounds} of {} per worker count, {} per CPU alone; {} in all\n\n",
        probe.method,
        probe.isa.name(),
        time(probe.run_s),
        time(probe.alone_run_s),
        time(probe.wall_s),
    );
    s.push_str(&format!("Topology: {}\n\n", topology(probe)));

    s.push_str(&format!(
        "Each CPU's rate alone and under full load (all {n} CPUs computing), {unit}:\n"
    ));
    let rows = probe.figures.cpus.iter().map(|c| {
        vec![
            c.core.cpu.to_string(),
            c.core.package.to_string(),
            c.core.core.to_string(),
            c.core.kind.name().to_string(),
            sig3(c.alone_samples_per_ns),
            sig3(c.load_samples_per_ns),
            times(c.load_over_alone),
        ]
    });
    let header = [
        "CPU",
        "socket",
        "core",
        "kind",
        "alone",
        "under load",
        "load/alone",
    ];
    s.push_str(&columns(&header, rows.collect(), &[3]));

    let how = if probe.reps > 1 {
        let coverage = probe.figures.curve.first().map_or(0.0, |p| p.coverage);
        format!(
            "median of {rounds} [interval, {} coverage]",
            super::format::probability(coverage)
        )
    } else {
        "1 round".to_string()
    };
    s.push_str(&format!(
        "\nCapacity C(p) = R(p)/R(1) on the first p CPUs in compact order, {how}:\n"
    ));
    let rows = probe.figures.curve.iter().map(|p| {
        vec![
            p.workers.to_string(),
            CpuList(p.cpus.clone()).to_string(),
            sig3(p.median_samples_per_ns),
            capacity(p),
        ]
    });
    let rate = format!("R(p) {unit}");
    s.push_str(&columns(
        &["workers", "CPUs", &rate, "C(p)"],
        rows.collect(),
        &[1, 3],
    ));

    s.push_str(&format!("\nLoad: {}\n\n", load(probe).join("\n      ")));
    s.push_str(&verdict(probe));
    s.push('\n');
    s
}

/// `2 usable CPUs (0-1): 2 cores of 1 thread, 1 socket; cores alike
/// (nothing in sysfs tells them apart)`.
fn topology(probe: &MachineProbe) -> String {
    let l = probe.layout;
    let usable = CpuList(probe.figures.cpus.iter().map(|c| c.core.cpu).collect());
    let mut s = format!(
        "{} ({usable}): {} of {}, {}; ",
        plural(l.cpus, "usable CPU"),
        plural(l.cores, "core"),
        plural(l.threads_per_core, "thread"),
        plural(l.packages, "socket"),
    );
    let kinds: Vec<String> = [CoreKind::Performance, CoreKind::Efficiency]
        .into_iter()
        .filter_map(|kind| {
            let cpus: Vec<usize> = probe
                .figures
                .cpus
                .iter()
                .filter(|c| c.core.kind == kind)
                .map(|c| c.core.cpu)
                .collect();
            (!cpus.is_empty()).then(|| format!("{} {}", kind.name(), CpuList(cpus)))
        })
        .collect();
    match (probe.speed_source, kinds.is_empty()) {
        (Some(source), false) => s.push_str(&format!(
            "core kinds by {}: {}",
            source.file(),
            kinds.join(", ")
        )),
        (Some(source), true) => s.push_str(&format!("cores alike by {}", source.file())),
        (None, _) => s.push_str("cores alike (nothing in sysfs tells them apart)"),
    }
    s
}

/// `1.86× [1.80–1.92]`; the interval only where it has a width.
fn capacity(p: &CurvePoint) -> String {
    let mut s = times(p.capacity);
    if p.capacity_low < p.capacity_high {
        s.push_str(&format!(" [{:.2}–{:.2}]", p.capacity_low, p.capacity_high));
    }
    s
}

/// `load average 0.88, 1.27, 1.68 (1, 5, 15 min) on 2 CPUs` and `during
/// the probe: steal 0 s (0 % of the CPUs' time), CPU stall 20.0 ms, 0
/// other tasks runnable at its start`.
fn load(probe: &MachineProbe) -> [String; 2] {
    let l = probe.load;
    let before = match l.load_average {
        Some(a) => format!(
            "load average {}, {}, {} (1, 5, 15 min) on {}",
            sig3(a.one),
            sig3(a.five),
            sig3(a.fifteen),
            plural(probe.layout.cpus, "CPU")
        ),
        None => "load average unknown".to_string(),
    };
    let mut s = format!(
        "during the probe: steal {} ({} of the CPUs' time)",
        time(l.steal_s),
        share(l.steal_share)
    );
    if let Some(stall) = l.stall_s {
        s.push_str(&format!(", CPU stall {}", time(stall)));
    }
    s.push_str(&format!(
        ", {} other task{} runnable at its start",
        l.runnable,
        if l.runnable == 1 { "" } else { "s" }
    ));
    [before, s]
}

/// `this machine can give 1.86× [1.80–1.92] at 2 workers (CPU 1 at 0.86×
/// CPU 0's rate under load)`: the largest C(p), what holds the whole
/// machine back, and whether the machine was busy meanwhile.
pub fn verdict(probe: &MachineProbe) -> String {
    let curve = &probe.figures.curve;
    let (Some(best), Some(full)) = (
        curve
            .iter()
            .max_by(|a, b| a.capacity.total_cmp(&b.capacity)),
        curve.last(),
    ) else {
        return "nothing was measured".to_string();
    };
    let mut s = if full.workers == 1 {
        format!(
            "this machine has 1 usable CPU: no parallel speed-up to give ({} {}/ns)",
            sig3(full.median_samples_per_ns),
            unit(probe.method)
        )
    } else {
        let mut s = format!(
            "this machine can give {} at {}",
            capacity(best),
            plural(best.workers, "worker")
        );
        if best.workers != full.workers {
            s.push_str(&format!(
                "; all {} give {}",
                full.workers,
                times(full.capacity)
            ));
        }
        s.push_str(&format!(" ({})", holds_back(probe, full)));
        s
    };
    if probe.load.disturbed {
        s.push_str("; the machine was busy during the probe (see Load): quiet, it may give more");
    }
    s
}

/// What makes C(n) less than n: one CPU slower than another under load,
/// or all of them slower together than one alone.
fn holds_back(probe: &MachineProbe, full: &CurvePoint) -> String {
    let cpus = &probe.figures.cpus;
    let by_load = |a: &&_, b: &&_| {
        let rate = |c: &&crate::measure::machine_probe::CpuFigures| c.load_samples_per_ns;
        rate(a).total_cmp(&rate(b))
    };
    if let (Some(fast), Some(slow)) = (cpus.iter().max_by(by_load), cpus.iter().min_by(by_load)) {
        let ratio = slow.load_samples_per_ns / fast.load_samples_per_ns;
        if ratio < ALIKE {
            return format!(
                "CPU {} at {} CPU {}'s rate under load",
                slow.core.cpu,
                times(ratio),
                fast.core.cpu
            );
        }
    }
    let per_cpu = full.capacity / full.workers as f64;
    if per_cpu < ALIKE {
        format!(
            "together its CPUs compute at {} the rate of one alone",
            times(per_cpu)
        )
    } else {
        "its CPUs compute alike under load".to_string()
    }
}

/// What the method's work is counted in.
fn unit(method: Method) -> &'static str {
    match method {
        Method::Mc => "darts",
        Method::Midpoint => "steps",
    }
}

/// `1 core`, `2 cores`.
fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::machine_probe::{CpuFigures, Figures, Layout, Load};
    use crate::results::machine::{CpuCore, LoadAverage, SpeedSource};
    use piscale_kernels::Isa;

    fn cpu(cpu: usize, kind: CoreKind, alone: f64, load: f64) -> CpuFigures {
        CpuFigures {
            core: CpuCore {
                cpu,
                package: 0,
                core: cpu,
                kind,
                capacity: None,
                highest_perf: None,
                max_frequency_mhz: Some(3000),
            },
            alone_samples_per_ns: alone,
            load_samples_per_ns: load,
            load_over_alone: load / alone,
        }
    }

    fn point(workers: usize, rates: [f64; 3], c: f64, low: f64, high: f64) -> CurvePoint {
        CurvePoint {
            workers,
            cpus: (0..workers).collect(),
            rep_samples_per_ns: rates.to_vec(),
            median_samples_per_ns: rates[1],
            capacity: c,
            capacity_low: low,
            capacity_high: high,
            coverage: 0.75,
        }
    }

    /// A two-CPU VM whose second vCPU computes at 0.86× the first's under
    /// load.
    fn probe() -> MachineProbe {
        MachineProbe {
            method: Method::Mc,
            isa: Isa::Avx2,
            block: 1 << 20,
            run_s: 0.2,
            alone_run_s: 0.05,
            reps: 3,
            layout: Layout {
                cpus: 2,
                cores: 2,
                threads_per_core: 1,
                packages: 1,
            },
            speed_source: None,
            compact_order: vec![0, 1],
            figures: Figures {
                cpus: vec![
                    cpu(0, CoreKind::Uniform, 1.25, 1.2),
                    cpu(1, CoreKind::Uniform, 1.22, 1.032),
                ],
                curve: vec![
                    point(1, [1.22, 1.24, 1.25], 1.0, 1.0, 1.0),
                    point(2, [2.2, 2.31, 2.35], 1.86, 1.8, 1.92),
                ],
            },
            load: Load {
                load_average: Some(LoadAverage {
                    one: 0.88,
                    five: 1.27,
                    fifteen: 1.68,
                }),
                steal_s: 0.0,
                steal_share: 0.0,
                stall_s: Some(0.02),
                runnable: 0,
                disturbed: false,
            },
            wall_s: 1.52,
        }
    }

    #[test]
    fn text_snapshot() {
        insta::assert_snapshot!(text(&probe()));
    }

    #[test]
    fn the_verdict_names_the_slow_cpu_or_says_they_are_alike() {
        let mut p = probe();
        assert_eq!(
            verdict(&p),
            "this machine can give 1.86× [1.80–1.92] at 2 workers (CPU 1 at 0.86× CPU 0's rate under load)"
        );
        p.figures.cpus[1].load_samples_per_ns = 1.19;
        p.figures.curve[1].capacity = 1.80;
        assert!(verdict(&p).ends_with("(together its CPUs compute at 0.90× the rate of one alone)"));
        p.figures.curve[1].capacity = 1.98;
        p.load.disturbed = true;
        let v = verdict(&p);
        assert!(
            v.contains("(its CPUs compute alike under load); the machine was busy"),
            "{v}"
        );
        p.figures.curve.truncate(1);
        assert!(verdict(&p).starts_with("this machine has 1 usable CPU"));
    }

    #[test]
    fn the_verdict_gives_the_best_worker_count_and_all_cpus() {
        let mut p = probe();
        p.figures
            .curve
            .push(point(4, [2.0, 2.1, 2.2], 1.7, 1.6, 1.8));
        let v = verdict(&p);
        assert!(
            v.starts_with(
                "this machine can give 1.86× [1.80–1.92] at 2 workers; all 4 give 1.70× ("
            ),
            "{v}"
        );
    }

    #[test]
    fn hybrid_machines_name_their_core_kinds() {
        let mut p = probe();
        p.speed_source = Some(SpeedSource::HybridPmu);
        p.figures.cpus[0].core.kind = CoreKind::Performance;
        p.figures.cpus[1].core.kind = CoreKind::Efficiency;
        assert!(
            topology(&p).ends_with("core kinds by cpu_core/cpu_atom: performance 0, efficiency 1")
        );
        p.figures
            .cpus
            .iter_mut()
            .for_each(|c| c.core.kind = CoreKind::Uniform);
        p.speed_source = Some(SpeedSource::MaxFrequency);
        assert!(topology(&p).ends_with("cores alike by cpuinfo_max_freq"));
    }

    #[test]
    fn json_is_one_object_with_every_figure() {
        let mut out = Vec::new();
        report(&mut out, Format::Json, &probe()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut want = [
            "method",
            "isa",
            "block",
            "run_s",
            "alone_run_s",
            "reps",
            "layout",
            "speed_source",
            "compact_order",
            "cpus",
            "curve",
            "load",
            "wall_s",
            "verdict",
        ];
        want.sort_unstable();
        assert_eq!(keys, want);
        let cpu = &v["cpus"][1];
        for key in [
            "cpu",
            "package",
            "core",
            "kind",
            "max_frequency_mhz",
            "alone_samples_per_ns",
            "load_samples_per_ns",
            "load_over_alone",
        ] {
            assert!(!cpu[key].is_null(), "{key}: {cpu}");
        }
        assert_eq!(v["cpus"][1]["kind"], "uniform");
        let point = &v["curve"][1];
        assert_eq!(point["workers"], 2);
        assert_eq!(point["capacity"], 1.86);
        assert_eq!(point["capacity_low"], 1.8);
        assert_eq!(point["coverage"], 0.75);
        assert_eq!(point["rep_samples_per_ns"].as_array().unwrap().len(), 3);
        assert_eq!(v["layout"]["threads_per_core"], 1);
        assert_eq!(v["load"]["load_average"]["five"], 1.27);
        assert_eq!(v["load"]["stall_s"], 0.02);
        assert_eq!(v["load"]["disturbed"], false);
        assert_eq!(v["method"], "mc");
        assert_eq!(v["isa"], "avx2");
        assert!(v["verdict"]
            .as_str()
            .unwrap()
            .starts_with("this machine can give"));
    }
}
