//! What else the machine did while a repetition ran: the noise guard.
//!
//! A shared VM's timings are disturbed by what piscale cannot see from its
//! own clock: the hypervisor running another guest on our vCPU (*steal*),
//! other tasks of this guest competing for the CPUs (*CPU pressure*), and
//! tasks already runnable when the repetition starts. Each is read from
//! `/proc` just before and just after a repetition — outside the timed run —
//! and recorded with it:
//!
//! - `steal_s`: the steal time of the CPUs the workers were pinned to (all
//!   CPUs when unpinned), from the `steal` column of `/proc/stat`, in the
//!   kernel's clock ticks (10 ms each), so only steal of that order shows;
//! - `stall_s`: the growth of `some total` in `/proc/pressure/cpu` (PSI,
//!   Linux 4.20+, empty where absent): time in which at least one runnable
//!   task of the machine waited for a CPU;
//! - `runnable`: runnable tasks other than piscale's own main thread at the
//!   start (`procs_running` of `/proc/stat`, minus one).
//!
//! A repetition is *disturbed* ([`Disturbance::is_disturbed`]) when stolen
//! time exceeds [`DISTURBED_SHARE`] of its wall time; or when its workers
//! fill the machine exactly and stalled time exceeds that share (PSI is
//! machine-wide: with CPUs to spare, another task's wait does not slow
//! ours — measured: such repetitions ran at their point's median — while
//! with every CPU ours, it does: 1.56× the median on average; with more
//! workers than CPUs, ours are the ones waiting, the run's own cost); or
//! when more tasks were runnable at its start than the CPUs its workers
//! left free.

use piscale_kernels::CpuList;

/// The share of a repetition's wall time that, stolen or stalled, marks it
/// disturbed. A tenth: below it, the median of a few repetitions still
/// holds (a disturbed one is at most ~10 % slow); the quick sweep on the
/// idle development VM stays well under it, while a competing `stress`
/// process pushes every repetition far above.
pub const DISTURBED_SHARE: f64 = 0.10;

/// Counters read at one instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    /// Steal ticks of each CPU, by CPU number (missing CPUs read 0).
    steal_ticks: Vec<u64>,
    /// PSI `some total` of CPU pressure, microseconds; `None` without PSI.
    stall_us: Option<u64>,
    /// `procs_running` of `/proc/stat`.
    running: u32,
}

impl Counters {
    /// Reads the counters now. A file that cannot be read gives zeros
    /// (or `None`): the guard then sees no disturbance, it never fails a run.
    pub fn now() -> Counters {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let pressure = std::fs::read_to_string("/proc/pressure/cpu").ok();
        Counters::parse(&stat, pressure.as_deref())
    }

    fn parse(stat: &str, pressure: Option<&str>) -> Counters {
        let mut steal_ticks = Vec::new();
        let mut running = 0;
        for line in stat.lines() {
            let mut fields = line.split_whitespace();
            let Some(name) = fields.next() else { continue };
            if let Some(cpu) = name
                .strip_prefix("cpu")
                .and_then(|n| n.parse::<usize>().ok())
            {
                // cpuN user nice system idle iowait irq softirq steal …
                let steal = fields.nth(7).and_then(|v| v.parse().ok()).unwrap_or(0);
                if steal_ticks.len() <= cpu {
                    steal_ticks.resize(cpu + 1, 0);
                }
                steal_ticks[cpu] = steal;
            } else if name == "procs_running" {
                running = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            }
        }
        let stall_us = pressure.and_then(|p| {
            p.lines()
                .find(|l| l.starts_with("some "))?
                .split_whitespace()
                .find_map(|f| f.strip_prefix("total="))?
                .parse()
                .ok()
        });
        Counters {
            steal_ticks,
            stall_us,
            running,
        }
    }
}

/// What disturbed one repetition (see the module documentation).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Disturbance {
    /// Steal time of the workers' CPUs, seconds.
    pub steal_s: f64,
    /// CPU pressure stall, seconds; `None` without PSI.
    pub stall_s: Option<f64>,
    /// Runnable tasks besides piscale's main thread at the start.
    pub runnable: u32,
}

impl Disturbance {
    /// Between `before` and `after`, for workers pinned to `cpus` (all CPUs
    /// when `None`).
    pub fn between(before: &Counters, after: &Counters, cpus: Option<&CpuList>) -> Disturbance {
        let steal = |c: usize| {
            let at = |counters: &Counters| counters.steal_ticks.get(c).copied().unwrap_or(0);
            at(after).saturating_sub(at(before))
        };
        let ticks: u64 = match cpus {
            Some(list) => list.distinct().into_iter().map(steal).sum(),
            None => (0..after.steal_ticks.len()).map(steal).sum(),
        };
        Disturbance {
            steal_s: ticks as f64 / clock_ticks_per_second(),
            stall_s: before
                .stall_us
                .zip(after.stall_us)
                .map(|(b, a)| a.saturating_sub(b) as f64 / 1e6),
            runnable: before.running.saturating_sub(1),
        }
    }

    /// Whether the repetition was disturbed: its `wall_s`, with `workers`
    /// workers on a machine of `usable` CPUs.
    pub fn is_disturbed(&self, wall_s: f64, workers: usize, usable: usize) -> bool {
        let limit = DISTURBED_SHARE * wall_s;
        let full = workers == usable;
        let stalled = full && self.stall_s.is_some_and(|s| s > limit);
        let crowded = self.runnable as usize > usable.saturating_sub(workers);
        self.steal_s > limit || stalled || crowded
    }
}

/// The kernel's clock ticks per second (`USER_HZ`, almost always 100).
fn clock_ticks_per_second() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|&t| t > 0)
        .map_or(100.0, |t| t as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  10 0 10 100 0 0 0 7 0 0\n\
        cpu0 5 0 5 50 0 0 0 3 0 0\n\
        cpu1 5 0 5 50 0 0 0 4 0 0\n\
        intr 1\nprocs_running 3\nprocs_blocked 0\n";
    const PRESSURE: &str = "some avg10=0.00 avg60=0.00 avg300=0.00 total=1000\n\
        full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";

    #[test]
    fn counters_are_read_from_proc_stat_and_psi() {
        let c = Counters::parse(STAT, Some(PRESSURE));
        assert_eq!(c.steal_ticks, [3, 4]);
        assert_eq!(c.stall_us, Some(1000));
        assert_eq!(c.running, 3);
        assert_eq!(Counters::parse(STAT, None).stall_us, None);
        // The live files parse too.
        let live = Counters::now();
        assert!(
            !live.steal_ticks.is_empty() && live.running >= 1,
            "{live:?}"
        );
    }

    #[test]
    fn steal_counts_only_the_workers_cpus() {
        let before = Counters::parse(STAT, Some(PRESSURE));
        let after = Counters {
            steal_ticks: vec![3, 14],
            stall_us: Some(51_000),
            running: 1,
        };
        let hz = clock_ticks_per_second();
        let on_cpu0 = Disturbance::between(&before, &after, Some(&CpuList(vec![0])));
        assert_eq!(on_cpu0.steal_s, 0.0);
        let anywhere = Disturbance::between(&before, &after, None);
        assert_eq!(anywhere.steal_s, 10.0 / hz);
        assert_eq!(anywhere.stall_s, Some(0.05));
        assert_eq!(anywhere.runnable, 2);
    }

    #[test]
    fn disturbed_means_a_tenth_stolen_or_stalled_or_a_crowded_start() {
        let quiet = Disturbance::default();
        assert!(!quiet.is_disturbed(1.0, 2, 4));
        let stolen = Disturbance {
            steal_s: 0.2,
            ..quiet
        };
        assert!(stolen.is_disturbed(1.0, 2, 4));
        let stalled = Disturbance {
            stall_s: Some(0.2),
            ..quiet
        };
        // Every CPU the run's: someone else's wait took ours.
        assert!(stalled.is_disturbed(1.0, 4, 4));
        // CPUs to spare: the waiting task was not ours.
        assert!(!stalled.is_disturbed(1.0, 2, 4));
        // Oversubscribed: the stall is the run's own workers waiting.
        assert!(!stalled.is_disturbed(1.0, 8, 4));
        // Two other tasks runnable, two CPUs left free: fits; three do not.
        let two = Disturbance {
            runnable: 2,
            ..quiet
        };
        assert!(!two.is_disturbed(1.0, 2, 4));
        assert!(Disturbance {
            runnable: 3,
            ..quiet
        }
        .is_disturbed(1.0, 2, 4));
    }
}
