//! Where a point's time went: the medians of its repetitions' spawn,
//! compute and reduce phases — one definition for the reports' tables and
//! the phases plots.

use std::collections::BTreeMap;

use super::stats;
use crate::results::{PointId, RawRow};

/// Median phase times of one point, seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PhaseMedians {
    /// Start until every worker computes.
    pub spawn_s: f64,
    /// The critical path of the computation.
    pub compute_s: f64,
    /// Last worker done until the result is assembled.
    pub reduce_s: f64,
    /// Repetitions behind the medians.
    pub reps: usize,
}

impl PhaseMedians {
    /// The three phases together (the median wall time, near enough).
    pub fn total_s(&self) -> f64 {
        self.spawn_s + self.compute_s + self.reduce_s
    }
}

/// The phase medians of every point that has any: successful repetitions
/// with all three phases recorded, finite and not negative (command kernels
/// record none).
pub fn phase_medians(raw: &[RawRow]) -> BTreeMap<PointId, PhaseMedians> {
    let mut phases: BTreeMap<PointId, [Vec<f64>; 3]> = BTreeMap::new();
    for row in raw.iter().filter(|r| r.is_ok()) {
        let (Some(spawn), Some(compute), Some(reduce)) = (row.spawn_s, row.compute_s, row.reduce_s)
        else {
            continue;
        };
        if ![spawn, compute, reduce]
            .iter()
            .all(|x| x.is_finite() && *x >= 0.0)
        {
            continue;
        }
        let lists = phases.entry(row.id()).or_default();
        for (list, x) in lists.iter_mut().zip([spawn, compute, reduce]) {
            list.push(x);
        }
    }
    phases
        .into_iter()
        .map(|(id, [spawn, compute, reduce])| {
            let median = |xs: &[f64]| stats::median(xs).unwrap_or(0.0);
            let medians = PhaseMedians {
                spawn_s: median(&spawn),
                compute_s: median(&compute),
                reduce_s: median(&reduce),
                reps: spawn.len(),
            };
            (id, medians)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::fixture::{fixture, N};
    use crate::results::{Kernel, Mode};
    use piscale_kernels::{BackendKind, Method};

    #[test]
    fn medians_of_successful_repetitions_per_point() {
        let phases = phase_medians(&fixture());
        let threads2 = PointId {
            method: Method::Mc,
            kernel: Kernel::local(BackendKind::Threads),
            mode: Mode::Strong,
            workers: 2,
            samples: N,
        };
        // 1.0, 1.05, 1.1 s: phases wall/4, wall/2, wall/4; the failure is out.
        let p = phases[&threads2];
        assert_eq!(p.reps, 3);
        assert!((p.compute_s - 1.05 / 2.0).abs() < 1e-12);
        assert!((p.total_s() - 1.05).abs() < 1e-12);
        assert!(
            phases.keys().all(|id| id.kernel.is_builtin()),
            "command kernels have no phases"
        );
    }
}
