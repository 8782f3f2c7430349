//! Why a speed-up is what it is, in words: what the machine can give at
//! that many workers (its capacity, and which CPU is slow), and what the
//! kernel lost of it — load imbalance, start-up and reduce, slower
//! computing. The figures are the summary's ([`crate::analyse::breakdown`]);
//! only the words are made here.

use piscale_kernels::{BackendKind, Method};

use super::format::{rate, share, times};
use crate::analyse::breakdown::static_ceiling;
use crate::analyse::capacity::CpuRates;
use crate::results::{Kernel, Mode, SummaryRow};

/// Below this a loss or a spread is noise, not worth a word.
const NOTICEABLE: f64 = 0.01;
/// CPUs within 3 % of each other compute alike (run-to-run noise on a VM).
pub(crate) const ALIKE: f64 = 0.97;

/// `this machine can give 1.86× [1.80–1.92] at 2 workers (CPU 1 computes
/// at 0.86× CPU 0's rate when both do); threads reached 92 % of that: 6 %
/// lost to load imbalance (…), 2 % to start-up and reduce` — `None`
/// without a capacity at the row's worker count.
pub(crate) fn why(row: &SummaryRow, rates: Option<&CpuRates>) -> Option<String> {
    let capacity = row.capacity?;
    let p = row.workers;
    let mut line = format!("this machine can give {}", times(capacity));
    if let Some((low, high)) = row.capacity_low.zip(row.capacity_high) {
        if low < high {
            line.push_str(&format!(" [{low:.2}–{high:.2}]"));
        }
    }
    line.push_str(&format!(" at {p} worker{}", if p == 1 { "" } else { "s" }));
    if let Some(machine) = machine_clause(capacity / p as f64, rates) {
        line.push_str(&format!(" ({machine})"));
    }
    if let Some(reached) = row.of_capacity {
        line.push_str(&format!(
            "; {} reached {} of that",
            row.backend,
            share(reached)
        ));
        let losses = losses(row, rates);
        if !losses.is_empty() {
            line.push_str(&format!(": {}", losses.join(", ")));
        }
    }
    Some(line)
}

/// Your own program against piscale's, in absolute terms: `pi1.py (mc):
/// 1.39× [1.22–1.40] at 2 workers; one worker computes 430× slower per dart
/// than piscale's serial kernel (0.0066 vs 2.84 darts/ns)` — for a command
/// kernel's point at the most workers of its largest work (strong scaling),
/// against `serial`'s 1-worker point of the same method with the most work.
/// `None` for a point that is not such one, or without a serial rate.
pub(crate) fn command_vs_serial(summary: &[SummaryRow], row: &SummaryRow) -> Option<String> {
    if !matches!(row.backend, Kernel::Command(_)) || row.mode != Mode::Strong {
        return None;
    }
    let speedup = row.speedup?;
    let own = summary.iter().find(|r| {
        r.backend == row.backend && r.mode == row.mode && r.samples == row.samples && r.workers == 1
    })?;
    let serial = summary
        .iter()
        .filter(|r| {
            r.backend == Kernel::local(BackendKind::Serial)
                && r.method == row.method
                && r.mode == Mode::Strong
        })
        .max_by_key(|r| r.samples)?;
    let (own_rate, serial_rate) = (
        own.samples_per_ns_per_core?,
        serial.samples_per_ns_per_core?,
    );
    let unit = match row.method {
        Method::Mc => ("dart", "darts"),
        Method::Midpoint => ("step", "steps"),
    };
    let p = row.workers;
    let mut line = format!("{} ({}): {}", row.backend, row.method, times(speedup));
    if let Some((low, high)) = row.speedup_low.zip(row.speedup_high).filter(|(l, h)| l < h) {
        line.push_str(&format!(" [{low:.2}–{high:.2}]"));
    }
    line.push_str(&format!(
        " at {p} worker{}; ",
        if p == 1 { "" } else { "s" }
    ));
    let ratio = serial_rate / own_rate;
    let relation = if ratio >= 1.0 {
        format!("{}× slower", rate(ratio))
    } else {
        format!("{}× faster", rate(1.0 / ratio))
    };
    line.push_str(&format!(
        "one worker computes {relation} per {} than piscale's serial kernel ({} vs {} {}/ns)",
        unit.0,
        rate(own_rate),
        rate(serial_rate),
        unit.1
    ));
    if let Some((capacity, reached)) = row.capacity.zip(row.of_capacity) {
        line.push_str(&format!(
            "; of the {} these CPUs can give, it reached {}",
            times(capacity),
            share(reached)
        ));
    }
    Some(line)
}

/// What makes the capacity less than p: the CPUs slower together than one
/// alone, and the slowest against the fastest.
fn machine_clause(per_cpu: f64, rates: Option<&CpuRates>) -> Option<String> {
    let mut parts = Vec::new();
    if (per_cpu - 1.0).abs() >= 1.0 - ALIKE {
        parts.push(format!(
            "together its CPUs compute at {} the rate of one alone",
            times(per_cpu)
        ));
    }
    if let Some((fast, slow, ratio)) = rates.and_then(CpuRates::spread) {
        if ratio < ALIKE {
            let cpu =
                |c: Option<usize>| c.map_or_else(|| "one CPU".to_string(), |c| format!("CPU {c}"));
            parts.push(format!(
                "{} at {} {}'s rate",
                cpu(slow.cpu),
                times(ratio),
                cpu(fast.cpu)
            ));
        }
    }
    if parts.is_empty() && rates.is_some_and(|r| r.workers.len() > 1) {
        parts.push("its CPUs compute together as fast as one alone".into());
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// `6 % lost to load imbalance (…)`, `2 % to start-up and reduce`, …:
/// each factor's loss where it is noticeable; nothing for a kernel
/// without busy times (a command).
fn losses(row: &SummaryRow, rates: Option<&CpuRates>) -> Vec<String> {
    let mut out = Vec::new();
    if row.load_balance.is_none() {
        return out;
    }
    if let Some(lb) = row.load_balance.filter(|lb| 1.0 - lb >= NOTICEABLE) {
        let mut why = format!("{} lost to load imbalance", share(1.0 - lb));
        if row.backend.shares_statically() {
            let ceiling = rates
                .and_then(|r| static_ceiling(&r.medians()))
                .filter(|c| *c < 1.0 - NOTICEABLE);
            why.push_str(&match ceiling {
                Some(c) => format!(
                    " (equal static shares wait for the slowest CPU: at most {} of the capacity here)",
                    share(c)
                ),
                None => " (equal static shares wait for the slowest worker)".into(),
            });
        }
        out.push(why);
    }
    if let Some(oe) = row.overhead_efficiency.filter(|oe| 1.0 - oe >= NOTICEABLE) {
        let lost = share(1.0 - oe);
        out.push(if out.is_empty() {
            format!("{lost} lost to start-up and reduce")
        } else {
            format!("{lost} to start-up and reduce")
        });
    }
    if let Some(code) = row.code_scalability {
        if 1.0 - code >= NOTICEABLE {
            out.push(format!(
                "{} to computing slower than the capacity run did on the same CPUs",
                share(1.0 - code)
            ));
        } else if code - 1.0 >= NOTICEABLE {
            out.push(format!(
                "its workers computed {} faster than the capacity run did (the machine's drift)",
                share(code - 1.0)
            ));
        }
    }
    if out.is_empty() {
        out.push(match row.of_capacity.filter(|r| 1.0 - r >= NOTICEABLE) {
            Some(reached) => format!(
                "{} lost in small parts, none above {}",
                share(1.0 - reached),
                share(NOTICEABLE)
            ),
            None => "nothing noticeable lost".into(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyse::capacity::CpuRate;
    use crate::results::fixture::row;
    use crate::results::{Kernel, Mode, PointId};
    use piscale_kernels::{BackendKind, Method};

    fn summary_row(backend: &str) -> SummaryRow {
        let rows = crate::analyse::summary::summarize(&[row(backend, Mode::Strong, 2, 1000, 1.0)]);
        let mut r = rows[0].clone();
        r.speedup = Some(1.72);
        r.capacity = Some(1.86);
        r.capacity_low = Some(1.80);
        r.capacity_high = Some(1.92);
        r.of_capacity = Some(1.72 / 1.86);
        r.load_balance = Some(0.94);
        r.overhead_efficiency = Some(0.98);
        r.machine_scalability = Some(0.93);
        r.code_scalability = Some(1.0 / 0.94 / 0.98 * (1.72 / 1.86));
        r
    }

    fn rates() -> CpuRates {
        let rate = |cpu, median| CpuRate {
            cpu: Some(cpu),
            median,
            interval: None,
        };
        CpuRates {
            point: PointId {
                method: Method::Mc,
                kernel: Kernel::Capacity,
                mode: Mode::Strong,
                workers: 2,
                samples: 1000,
            },
            workers: vec![rate(0, 2.0), rate(1, 1.72)],
        }
    }

    #[test]
    fn a_command_is_compared_with_piscale_s_serial_kernel_per_dart() {
        let mut rows = crate::analyse::summary::summarize(&[
            row("serial", Mode::Strong, 1, 1 << 30, 0.378),
            row("pi1.py", Mode::Strong, 1, 8_000_000, 1.21),
            row("pi1.py", Mode::Strong, 2, 8_000_000, 0.70),
        ]);
        let at_two = rows.iter().find(|r| r.workers == 2).unwrap().clone();
        assert_eq!(
            command_vs_serial(&rows, &at_two).unwrap(),
            "pi1.py (mc): 1.73× at 2 workers; one worker computes 430× slower per dart than \
             piscale's serial kernel (0.00661 vs 2.84 darts/ns)"
        );
        assert_eq!(command_vs_serial(&rows, &rows[0].clone()), None);
        rows.retain(|r| r.backend.name() != "serial");
        assert_eq!(command_vs_serial(&rows, &at_two), None);
    }

    #[test]
    fn the_answer_is_explained_by_the_machine_and_the_losses() {
        let threads = summary_row("threads");
        assert_eq!(threads.backend, Kernel::local(BackendKind::Threads));
        assert_eq!(
            why(&threads, Some(&rates())).unwrap(),
            "this machine can give 1.86× [1.80–1.92] at 2 workers (together its CPUs compute at \
             0.93× the rate of one alone; CPU 1 at 0.86× CPU 0's rate); threads reached 92 % of that: 6 % lost to load imbalance (equal static shares wait \
             for the slowest CPU: at most 92 % of the capacity here), 2 % to start-up and reduce"
        );
        let mut rayon = summary_row("rayon");
        rayon.load_balance = Some(0.995);
        rayon.overhead_efficiency = Some(0.999);
        rayon.code_scalability = Some(1.0);
        rayon.of_capacity = Some(0.994);
        let mut small = rayon.clone();
        small.of_capacity = Some(0.985);
        assert!(why(&small, None)
            .unwrap()
            .ends_with("rayon reached 98 % of that: 2 % lost in small parts, none above 1 %"));
        assert_eq!(
            why(&rayon, None).unwrap(),
            "this machine can give 1.86× [1.80–1.92] at 2 workers (together its CPUs compute at \
             0.93× the rate of one alone); rayon reached 99 % of that: nothing noticeable lost"
        );
        let mut command = summary_row("pi1.py");
        command.load_balance = None;
        command.overhead_efficiency = None;
        command.code_scalability = None;
        assert!(why(&command, None)
            .unwrap()
            .ends_with("pi1.py reached 92 % of that"));
        command.capacity = None;
        assert_eq!(why(&command, None), None);
    }
}
