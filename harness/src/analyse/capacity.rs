//! Each CPU's rate while all of a capacity point's CPUs compute: which CPU
//! is slow, and by how much. The capacity C(p) itself is the capacity
//! point's speed-up ([`super::summary`]); this is what it is made of.

use std::collections::BTreeMap;

use super::stats::{self, MedianInterval, CI_CONFIDENCE};
use crate::results::{Kernel, PointId, RawRow};

/// The CPUs of one capacity point, in worker order.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuRates {
    /// The capacity point.
    pub point: PointId,
    /// One per worker.
    pub workers: Vec<CpuRate>,
}

/// One worker of a capacity point, over its repetitions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuRate {
    /// The CPU it ran on in every repetition; `None` when unknown or when
    /// it moved (unpinned).
    pub cpu: Option<usize>,
    /// Median rate, samples per nanosecond.
    pub median: f64,
    /// The median's interval, with two repetitions or more.
    pub interval: Option<MedianInterval>,
}

impl CpuRates {
    /// The fastest and the slowest worker (by median rate), and the
    /// slowest's rate over the fastest's; `None` with fewer than two.
    pub fn spread(&self) -> Option<(CpuRate, CpuRate, f64)> {
        if self.workers.len() < 2 {
            return None;
        }
        let by_rate = |a: &&CpuRate, b: &&CpuRate| a.median.total_cmp(&b.median);
        let fast = *self.workers.iter().max_by(by_rate)?;
        let slow = *self.workers.iter().min_by(by_rate)?;
        (fast.median > 0.0).then(|| (fast, slow, slow.median / fast.median))
    }

    /// The medians, in worker order.
    pub fn medians(&self) -> Vec<f64> {
        self.workers.iter().map(|w| w.median).collect()
    }
}

/// The per-CPU rates of every capacity point of `rows` that has them, in
/// point order. A repetition counts once (its first successful row).
pub fn cpu_rates(rows: &[RawRow]) -> Vec<CpuRates> {
    let mut points: BTreeMap<PointId, Vec<&RawRow>> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for row in rows {
        let id = row.id();
        if id.kernel != Kernel::Capacity || !row.is_ok() || row.rates.0.len() != id.workers {
            continue;
        }
        if seen.insert((id.clone(), row.rep)) {
            points.entry(id).or_default().push(row);
        }
    }
    points
        .into_iter()
        .map(|(point, reps)| {
            let workers = (0..point.workers)
                .map(|w| {
                    let rates: Vec<f64> = reps.iter().map(|r| r.rates.0[w]).collect();
                    let cpus: Vec<Option<usize>> = reps.iter().map(|r| cpu_of(r, w)).collect();
                    CpuRate {
                        cpu: cpus[0].filter(|_| cpus.iter().all(|c| *c == cpus[0])),
                        median: stats::median(&rates).unwrap_or(0.0),
                        interval: (rates.len() > 1)
                            .then(|| stats::median_interval(&rates, CI_CONFIDENCE))
                            .flatten(),
                    }
                })
                .collect();
            CpuRates { point, workers }
        })
        .collect()
}

/// Worker `w`'s CPU in `row`'s `cpus` column.
fn cpu_of(row: &RawRow, w: usize) -> Option<usize> {
    row.cpus.split(';').nth(w)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::fixture::{numbered, row};
    use crate::results::{Mode, PerWorker};

    fn capacity(workers: usize, cpus: &str, rates: &[f64]) -> RawRow {
        let mut r = row("capacity", Mode::Strong, workers, 1000, 1.0);
        r.cpus = cpus.into();
        r.rates = PerWorker(rates.to_vec());
        r
    }

    #[test]
    fn each_cpu_gets_its_median_rate_and_the_spread_names_the_slow_one() {
        let rows = numbered(vec![
            capacity(2, "0;1", &[2.0, 1.7]),
            capacity(2, "0;1", &[2.1, 1.8]),
            capacity(2, "0;1", &[1.9, 1.75]),
            capacity(1, "0", &[2.0]),
            // Unpinned: worker 1 moved.
            capacity(2, "0;1", &[2.0, 1.9]),
        ]);
        let rates = cpu_rates(&rows[..4]);
        assert_eq!(rates.len(), 2);
        let two = &rates[1];
        assert_eq!(two.point.workers, 2);
        assert_eq!(two.medians(), [2.0, 1.75]);
        assert_eq!(two.workers[1].cpu, Some(1));
        let interval = two.workers[0].interval.unwrap();
        assert_eq!((interval.low, interval.high), (1.9, 2.1));
        let (fast, slow, ratio) = two.spread().unwrap();
        assert_eq!((fast.cpu, slow.cpu), (Some(0), Some(1)));
        assert!((ratio - 0.875).abs() < 1e-12);
        assert_eq!(rates[0].spread(), None);

        let mut moved = rows.clone();
        moved[4].cpus = "1;0".into();
        let rates = cpu_rates(&moved);
        assert_eq!(rates[1].workers[0].cpu, None);
    }
}
