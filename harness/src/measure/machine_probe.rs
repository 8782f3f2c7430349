//! `piscale machine`: what this machine can give, measured in a few seconds
//! before any sweep.
//!
//! Every figure is a capacity run ([`piscale_kernels::capacity`]): pinned
//! workers computing the method's blocks for a fixed time, sharing nothing.
//! The probe, in order:
//!
//! 1. a warm-up: the first compact CPU alone, a quarter of the duration
//!    (not kept), so that the first run does not pay for waking the core;
//! 2. each usable CPU **alone** (one worker pinned to it), in CPU id order;
//! 3. the **curve**: for each worker count p of a sweep's `workers = "auto"`
//!    ([`worker_counts`]: 1, 2, 4, … and all usable CPUs), a run on the
//!    first p CPUs of the compact order — `reps` rounds, each round once
//!    over every p, so that drift spreads over all of them.
//!
//! C(p) of one round is R(p)/R(1) of that round (the rounds' runs are
//! seconds apart, so a slow drift of the machine divides out); C(p) is the
//! median of the rounds' values, with its order-statistic interval
//! ([`stats::median_interval`]). C(1) is 1 in every round, so exactly 1.
//! Each CPU's rate **under load** is its median rate over the rounds' runs
//! on all usable CPUs.
//!
//! The load around it: `/proc/loadavg` before the probe, and the steal
//! time, CPU pressure stall and runnable tasks of the noise guard
//! ([`disturbance`](super::disturbance)) from its start to its end.
//!
//! [`Plan::run`] takes the capacity run as a function, so that the order and
//! the arithmetic are tested with made-up rates.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::Result;
use piscale_kernels::{capacity, CapacityRun, CpuList, Isa, Job, Method, Team};
use serde::Serialize;

use super::disturbance::{Counters, Disturbance};
use super::isa::IsaChoice;
use super::placement::Topology;
use crate::analyse::stats::{self, CI_CONFIDENCE};
use crate::results::machine::{CpuCore, LoadAverage, SpeedSource};
use crate::sweep::config::{SweepConfig, Workers};
use crate::sweep::plan::worker_counts;

/// Each CPU alone computes this fraction of the duration (1/4): its rate
/// needs a few blocks, not the curve's settling time.
pub const ALONE_SHARE: u32 = 4;
/// All the alone runs together take at most this many durations: past 40
/// CPUs each gets less than a quarter, so that 128 CPUs take 2 s, not 6 s.
pub const ALONE_BUDGET: u32 = 10;

/// What `piscale machine` was asked to do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// The kernel the workers compute.
    pub method: Method,
    /// Its instruction set.
    pub isa: IsaChoice,
    /// How long each run of the curve computes.
    pub duration: Duration,
    /// Rounds of the curve.
    pub reps: u32,
}

/// How long each CPU computes alone: [`ALONE_SHARE`] of `duration`, less on
/// a machine of many CPUs, so that all `cpus` take at most [`ALONE_BUDGET`]
/// durations (a run always computes at least one block).
pub fn alone_duration(duration: Duration, cpus: usize) -> Duration {
    let cpus = u32::try_from(cpus.max(1)).unwrap_or(u32::MAX);
    (duration / ALONE_SHARE).min(duration * ALONE_BUDGET / cpus)
}

/// The probe's runs, decided before any runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// What each worker computes.
    pub job: Job,
    /// Usable CPUs in id order, with their cores and kinds.
    pub cpus: Vec<CpuCore>,
    /// The source that told the cores apart, if any did.
    pub speed_source: Option<SpeedSource>,
    /// The usable CPUs in compact order.
    pub compact: Vec<usize>,
    /// The curve's worker counts.
    pub counts: Vec<usize>,
    /// How long each run of the curve computes.
    pub duration: Duration,
    /// How long each CPU computes alone.
    pub alone: Duration,
    /// Rounds of the curve.
    pub reps: u32,
}

impl Plan {
    /// The runs of `settings` on `topology`; the job is a default sweep's
    /// (N, block and seed), so its blocks are the ones a sweep times.
    pub fn new(settings: &Settings, topology: &Topology) -> Plan {
        let sweep = SweepConfig {
            workers: Workers::Auto,
            ..SweepConfig::default()
        };
        let cpus = topology.cpu_cores();
        let job = Job::new(settings.method, sweep.samples)
            .seed(sweep.seed)
            .block(sweep.block)
            .isa(settings.isa.resolve());
        Plan {
            job,
            counts: worker_counts(&sweep, cpus.len()),
            alone: alone_duration(settings.duration, cpus.len()),
            speed_source: topology.speed_source(),
            compact: topology.compact_order(),
            cpus,
            duration: settings.duration,
            reps: settings.reps.max(1),
        }
    }

    /// Runs the probe with `measure` (a capacity run of one worker pinned
    /// to each CPU given, for a duration) and works out its figures.
    pub fn run<F>(&self, mut measure: F) -> Result<Figures>
    where
        F: FnMut(&[usize], Duration) -> Result<CapacityRun>,
    {
        if let Some(&first) = self.compact.first() {
            measure(&[first], self.alone)?;
        }
        let mut alone = Vec::with_capacity(self.cpus.len());
        for c in &self.cpus {
            alone.push(measure(&[c.cpu], self.alone)?.rate());
        }
        // rounds[r][i]: round r's run at self.counts[i].
        let mut rounds = Vec::with_capacity(self.reps as usize);
        for _ in 0..self.reps {
            let mut round = Vec::with_capacity(self.counts.len());
            for &p in &self.counts {
                round.push(measure(&self.compact[..p], self.duration)?);
            }
            rounds.push(round);
        }
        Ok(self.figures(&alone, &rounds))
    }

    /// The figures of the rates measured: `alone` by CPU (in `cpus`
    /// order), `rounds[r][i]` round r's run at `counts[i]`.
    fn figures(&self, alone: &[f64], rounds: &[Vec<CapacityRun>]) -> Figures {
        let curve = self
            .counts
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let rates: Vec<f64> = rounds.iter().map(|r| r[i].rate()).collect();
                let ratios: Vec<f64> = rounds.iter().map(|r| r[i].rate() / r[0].rate()).collect();
                // Exactly 1, not a rate over itself rounded.
                let ratios = if p == 1 {
                    vec![1.0; ratios.len()]
                } else {
                    ratios
                };
                let interval = stats::median_interval(&ratios, CI_CONFIDENCE);
                CurvePoint {
                    workers: p,
                    cpus: self.compact[..p].to_vec(),
                    median_samples_per_ns: stats::median(&rates).unwrap_or(0.0),
                    rep_samples_per_ns: rates,
                    capacity: stats::median(&ratios).unwrap_or(0.0),
                    capacity_low: interval.map_or(0.0, |i| i.low),
                    capacity_high: interval.map_or(0.0, |i| i.high),
                    coverage: interval.map_or(0.0, |i| i.coverage),
                }
            })
            .collect();
        let full = self.counts.len() - 1;
        let cpus = self
            .cpus
            .iter()
            .zip(alone)
            .map(|(core, &alone)| {
                // Worker w of the full runs was pinned to compact[w].
                let w = self.compact.iter().position(|&c| c == core.cpu);
                let under: Vec<f64> = rounds
                    .iter()
                    .filter_map(|r| Some(r[full].workers.get(w?)?.rate()))
                    .collect();
                let load = stats::median(&under).unwrap_or(0.0);
                CpuFigures {
                    core: *core,
                    alone_samples_per_ns: alone,
                    load_samples_per_ns: load,
                    load_over_alone: if alone > 0.0 { load / alone } else { 0.0 },
                }
            })
            .collect();
        Figures { cpus, curve }
    }
}

/// What the runs found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// Each usable CPU, in id order.
    pub cpus: Vec<CpuFigures>,
    /// C(p) at each worker count, in increasing order.
    pub curve: Vec<CurvePoint>,
}

/// One usable CPU: where it is and how fast it computes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CpuFigures {
    /// `cpu`, `package`, `core`, `kind` and the sysfs speed facts.
    #[serde(flatten)]
    pub core: CpuCore,
    /// Its rate computing alone, samples (darts or steps) per ns.
    pub alone_samples_per_ns: f64,
    /// Its median rate while every usable CPU computes, samples per ns.
    pub load_samples_per_ns: f64,
    /// `load_samples_per_ns / alone_samples_per_ns`.
    pub load_over_alone: f64,
}

/// The capacity at one worker count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurvePoint {
    /// p.
    pub workers: usize,
    /// The CPUs its workers were pinned to (the first p in compact order).
    pub cpus: Vec<usize>,
    /// R(p) of each round, samples per ns.
    pub rep_samples_per_ns: Vec<f64>,
    /// Their median.
    pub median_samples_per_ns: f64,
    /// C(p): the median over the rounds of R(p)/R(1).
    pub capacity: f64,
    /// The low end of C(p)'s interval.
    pub capacity_low: f64,
    /// The high end of C(p)'s interval.
    pub capacity_high: f64,
    /// The probability that the interval holds the true median (0 for a
    /// single round; 75 % for 3).
    pub coverage: f64,
}

/// The load on the machine around the probe.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Load {
    /// `/proc/loadavg` just before the probe; `None` where unreadable.
    pub load_average: Option<LoadAverage>,
    /// Steal time of the usable CPUs during the probe, seconds.
    pub steal_s: f64,
    /// `steal_s` over the usable CPUs' time during the probe.
    pub steal_share: f64,
    /// CPU pressure stall (PSI `some`) during the probe, seconds; `None`
    /// without PSI.
    pub stall_s: Option<f64>,
    /// Runnable tasks besides piscale's main thread at the start.
    pub runnable: u32,
    /// Whether steal or CPU stall took more than a tenth of the probe's
    /// time (the noise guard's rule for a run on every CPU).
    pub disturbed: bool,
}

/// How the usable CPUs are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Layout {
    /// Usable logical CPUs.
    pub cpus: usize,
    /// Physical cores they belong to.
    pub cores: usize,
    /// Hardware threads of the core with the most (2 with SMT).
    pub threads_per_core: usize,
    /// Packages (sockets); 1 where sysfs does not say.
    pub packages: usize,
}

impl Layout {
    /// The layout of `cpus`.
    pub fn of(cpus: &[CpuCore]) -> Layout {
        let mut cores: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        for c in cpus {
            *cores.entry((c.package, c.core)).or_default() += 1;
        }
        let packages: BTreeSet<usize> = cpus.iter().map(|c| c.package).collect();
        Layout {
            cpus: cpus.len(),
            cores: cores.len(),
            threads_per_core: cores.values().copied().max().unwrap_or(0),
            packages: packages.len(),
        }
    }
}

/// Everything `piscale machine` measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MachineProbe {
    /// The kernel the workers computed.
    pub method: Method,
    /// Its instruction set.
    pub isa: Isa,
    /// Samples per block.
    pub block: u64,
    /// How long each run of the curve computed, seconds.
    pub run_s: f64,
    /// How long each CPU computed alone, seconds.
    pub alone_run_s: f64,
    /// Rounds of the curve.
    pub reps: u32,
    /// Usable CPUs, physical cores and packages (sockets).
    pub layout: Layout,
    /// The source that told the cores apart (`null` when nothing did).
    pub speed_source: Option<SpeedSource>,
    /// The usable CPUs in compact order.
    pub compact_order: Vec<usize>,
    /// The CPUs and the curve.
    #[serde(flatten)]
    pub figures: Figures,
    /// The load around the probe.
    pub load: Load,
    /// The whole probe's wall time, seconds.
    pub wall_s: f64,
}

/// Probes this machine (see the module documentation). Ctrl-C stops it
/// between blocks with [`piscale_kernels::Error::Cancelled`].
pub fn probe(settings: &Settings) -> Result<MachineProbe> {
    let plan = Plan::new(settings, &Topology::read());
    let load_average = super::probe::load_average();
    let before = Counters::now();
    let t0 = Instant::now();
    let figures = plan.run(|cpus, d| {
        let team = Team::new(cpus.len(), Some(CpuList(cpus.to_vec())))?;
        let run = capacity::measure(&plan.job, &team, d)?;
        // A rate of 0 would make every ratio infinite.
        anyhow::ensure!(run.rate() > 0.0, "no computing was measured ({run:?})");
        Ok(run)
    })?;
    let wall_s = t0.elapsed().as_secs_f64();
    let usable = CpuList(plan.cpus.iter().map(|c| c.cpu).collect());
    let d = Disturbance::between(&before, &Counters::now(), Some(&usable));
    let n = usable.0.len();
    Ok(MachineProbe {
        method: plan.job.method,
        isa: plan.job.isa,
        block: plan.job.block,
        run_s: plan.duration.as_secs_f64(),
        alone_run_s: plan.alone.as_secs_f64(),
        reps: plan.reps,
        layout: Layout::of(&plan.cpus),
        speed_source: plan.speed_source,
        compact_order: plan.compact.clone(),
        figures,
        load: Load {
            load_average,
            steal_s: d.steal_s,
            steal_share: d.steal_s / (wall_s * n.max(1) as f64),
            stall_s: d.stall_s,
            runnable: d.runnable,
            // The noise guard's rule for a run on every CPU, over the
            // whole probe: steal or stall past a tenth of its time. A task
            // runnable at its start does not count: the probe lasts
            // seconds, not one repetition.
            disturbed: Disturbance { runnable: 0, ..d }.is_disturbed(wall_s, n, n),
        },
        wall_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::machine::CoreKind;
    use piscale_kernels::{CapacityWorker, Phases};

    fn core(cpu: usize) -> CpuCore {
        CpuCore {
            cpu,
            package: 0,
            core: cpu % 2,
            kind: CoreKind::Uniform,
            capacity: None,
            highest_perf: None,
            max_frequency_mhz: None,
        }
    }

    /// Four CPUs, two cores with two threads each: compact 0, 1, 2, 3 is
    /// CPU 0, 2 (first threads), then 1, 3.
    fn plan(reps: u32) -> Plan {
        Plan {
            job: Job::new(Method::Mc, 1 << 20),
            cpus: (0..4).map(core).collect(),
            speed_source: None,
            compact: vec![0, 2, 1, 3],
            counts: vec![1, 2, 4],
            duration: Duration::from_millis(200),
            alone: Duration::from_millis(50),
            reps,
        }
    }

    /// A run at `rate(cpu, workers in the team, call number)` per worker.
    fn fake(
        rate: impl Fn(usize, usize, usize) -> f64,
    ) -> impl FnMut(&[usize], Duration) -> Result<CapacityRun> {
        let mut calls = 0;
        move |cpus, _| {
            calls += 1;
            let workers = cpus
                .iter()
                .map(|&cpu| CapacityWorker {
                    cpu: Some(cpu),
                    busy_s: 1.0,
                    samples: (rate(cpu, cpus.len(), calls) * 1e9) as u64,
                })
                .collect();
            Ok(CapacityRun {
                wall_s: 1.0,
                phases: Phases::default(),
                workers,
            })
        }
    }

    #[test]
    fn the_curve_is_measured_in_rounds_over_every_worker_count() {
        let plan = plan(3);
        let mut seen = Vec::new();
        plan.run(|cpus, d| {
            seen.push((cpus.to_vec(), d));
            fake(|_, _, _| 1.0)(cpus, d)
        })
        .unwrap();
        let (short, long) = (plan.alone, plan.duration);
        let mut want = vec![(vec![0], short)];
        want.extend((0..4).map(|c| (vec![c], short)));
        for _ in 0..3 {
            want.push((vec![0], long));
            want.push((vec![0, 2], long));
            want.push((vec![0, 2, 1, 3], long));
        }
        assert_eq!(seen, want);
    }

    #[test]
    fn capacity_is_the_median_ratio_of_each_round() {
        // Alone every CPU computes at 2/ns; with 2 workers each at 1.8; with
        // 4 the SMT siblings (1 and 3) at 1.0 and the others at 1.5; round
        // 2 runs everything 10 % slower (drift), which divides out.
        let rate = |cpu: usize, workers: usize, call: usize| {
            let base = match workers {
                1 => 2.0,
                2 => 1.8,
                _ if cpu % 2 == 1 => 1.0,
                _ => 1.5,
            };
            let drift = if (9..12).contains(&call) { 0.9 } else { 1.0 };
            base * drift
        };
        let figures = plan(3).run(fake(rate)).unwrap();
        let c: Vec<f64> = figures.curve.iter().map(|p| p.capacity).collect();
        assert_eq!(c[0], 1.0);
        assert!((c[1] - 1.8).abs() < 1e-6, "{c:?}");
        assert!((c[2] - 2.5).abs() < 1e-6, "{c:?}");
        let two = &figures.curve[1];
        assert_eq!(two.cpus, [0, 2]);
        assert!((two.median_samples_per_ns - 3.6).abs() < 1e-6);
        assert_eq!(two.rep_samples_per_ns.len(), 3);
        assert!((two.capacity_low - 1.8).abs() < 1e-6 && (two.capacity_high - 1.8).abs() < 1e-6);
        assert_eq!(two.coverage, 0.75);
        let loads: Vec<f64> = figures.cpus.iter().map(|c| c.load_samples_per_ns).collect();
        let want = [1.5, 1.0, 1.5, 1.0];
        assert!(
            loads.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6),
            "{loads:?}"
        );
        assert!((figures.cpus[1].load_over_alone - 0.5).abs() < 1e-6);
    }

    #[test]
    fn one_cpu_is_alone_and_under_load_at_once() {
        let mut plan = plan(1);
        plan.cpus.truncate(1);
        plan.compact = vec![0];
        plan.counts = vec![1];
        let figures = plan.run(fake(|_, _, _| 2.0)).unwrap();
        assert_eq!(figures.curve.len(), 1);
        assert_eq!(figures.curve[0].capacity, 1.0);
        assert_eq!(figures.cpus[0].load_over_alone, 1.0);
    }

    #[test]
    fn the_layout_counts_cores_threads_and_packages() {
        let mut cpus: Vec<CpuCore> = (0..4).map(core).collect();
        let layout = Layout::of(&cpus);
        assert_eq!(
            (
                layout.cpus,
                layout.cores,
                layout.threads_per_core,
                layout.packages
            ),
            (4, 2, 2, 1)
        );
        cpus[3].package = 1;
        let layout = Layout::of(&cpus);
        assert_eq!(
            (layout.cores, layout.threads_per_core, layout.packages),
            (3, 2, 2)
        );
    }

    #[test]
    fn alone_runs_are_a_quarter_and_at_most_ten_durations_together() {
        let d = Duration::from_millis(200);
        assert_eq!(alone_duration(d, 2), Duration::from_millis(50));
        assert_eq!(alone_duration(d, 40), Duration::from_millis(50));
        assert_eq!(alone_duration(d, 128) * 128, Duration::from_secs(2));
        assert_eq!(alone_duration(d, 0), Duration::from_millis(50));
    }

    #[test]
    fn a_real_probe_measures_every_usable_cpu() {
        let settings = Settings {
            method: Method::Midpoint,
            isa: IsaChoice::default(),
            duration: Duration::from_millis(4),
            reps: 1,
        };
        let probe = probe(&settings).unwrap();
        let usable = CpuList::usable().unwrap().0;
        let cpus: Vec<usize> = probe.figures.cpus.iter().map(|c| c.core.cpu).collect();
        assert_eq!(cpus, usable);
        assert!(probe
            .figures
            .cpus
            .iter()
            .all(|c| c.alone_samples_per_ns > 0.0));
        assert_eq!(probe.figures.curve[0].capacity, 1.0);
        assert_eq!(probe.figures.curve.last().unwrap().workers, usable.len());
    }
}
