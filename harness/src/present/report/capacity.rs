//! The report's "Where the speed-up went" section: per group, what the
//! machine can give at each worker count (the capacity and each CPU's rate
//! under load), then every point's efficiency split into the machine's
//! part, load imbalance, overhead and the code's part
//! ([`crate::analyse::breakdown`]).

use super::doc::{code, text, Block, Table};
use super::document::NONE;
use crate::analyse::breakdown::static_ceiling;
use crate::analyse::capacity::CpuRates;
use crate::present::format::{percent, times};
use crate::present::table::Group;
use crate::results::{Kernel, SummaryRow};

/// The section; empty when no point has a capacity.
pub(super) fn section(groups: &[(Group, Vec<&SummaryRow>)], rates: &[CpuRates]) -> Vec<Block> {
    let explained: Vec<&(Group, Vec<&SummaryRow>)> = groups
        .iter()
        .filter(|(_, rows)| rows.iter().any(|r| r.capacity.is_some()))
        .collect();
    if explained.is_empty() {
        return Vec::new();
    }
    let mut blocks = vec![
        Block::Heading(2, "Where the speed-up went".into()),
        Block::Para(vec![
            text(
                "The capacity C(p) is the speed-up these CPUs can give at p workers: p pinned \
                 workers computing the method's kernel for a fixed time, sharing nothing, \
                 measured among the backends' runs. A speed-up S is split into factors that \
                 multiply back to its efficiency exactly: S/p = load balance × overhead × \
                 C(p)/p × code, and S/C(p) = load balance × overhead × code. Load balance is \
                 the time the work would take if every worker finished together (each at \
                 the rate it computed at) over the longest worker's busy time; overhead the \
                 longest worker's busy share of the run, relative to the 1-worker run's; \
                 code the workers' summed rate over the capacity's. Definitions and \
                 references: ",
            ),
            code("docs/reading-speedup-curves.md"),
            text("."),
        ]),
    ];
    for (group, rows) in explained {
        blocks.push(Block::Heading(3, group.label()));
        blocks.push(Block::Table(machine_table(rows, rates)));
        let points: Vec<&&SummaryRow> = rows
            .iter()
            .filter(|r| r.backend != Kernel::Capacity && r.workers > 1 && r.speedup.is_some())
            .collect();
        if !points.is_empty() {
            blocks.push(Block::Table(breakdown_table(&points)));
        }
    }
    blocks
}

/// One line per worker count: C(p), its interval, C(p)/p, each CPU's
/// median rate under load, and the most a static split can reach.
fn machine_table(rows: &[&SummaryRow], rates: &[CpuRates]) -> Table {
    let mut table = Table::labelled(
        [
            "P",
            "capacity C(p)",
            "C(p)/p",
            "each CPU's rate under load (samples/ns, interval)",
            "static split reaches at most",
        ]
        .map(String::from)
        .to_vec(),
    );
    for r in rows.iter().filter(|r| r.backend == Kernel::Capacity) {
        let cpus = rates.iter().find(|c| c.point == r.id());
        let capacity = r.capacity.map_or_else(
            || NONE.to_string(),
            |c| match (r.capacity_low, r.capacity_high) {
                (Some(lo), Some(hi)) if lo < hi => format!("{} [{lo:.2}–{hi:.2}]", times(c)),
                _ => times(c),
            },
        );
        table.rows.push(vec![
            r.workers.to_string(),
            capacity,
            r.capacity
                .map_or_else(|| NONE.to_string(), |c| percent(c / r.workers as f64)),
            cpus.map_or_else(|| NONE.to_string(), cpu_cells),
            cpus.and_then(|c| static_ceiling(&c.medians()))
                .map_or_else(|| NONE.to_string(), percent),
        ]);
    }
    table
}

/// `CPU 0 2.01 [1.98–2.05]; CPU 1 1.72 [1.70–1.80]`.
fn cpu_cells(rates: &CpuRates) -> String {
    let cells: Vec<String> = rates
        .workers
        .iter()
        .enumerate()
        .map(|(w, r)| {
            let who = r
                .cpu
                .map_or_else(|| format!("worker {w}"), |c| format!("CPU {c}"));
            match r.interval {
                Some(i) if i.low < i.high => {
                    format!("{who} {:.2} [{:.2}–{:.2}]", r.median, i.low, i.high)
                }
                _ => format!("{who} {:.2}", r.median),
            }
        })
        .collect();
    cells.join("; ")
}

/// One line per point beyond 1 worker: S, C(p), S/C(p) and the factors.
fn breakdown_table(points: &[&&SummaryRow]) -> Table {
    let mut table = Table::labelled(
        [
            "backend",
            "P",
            "speed-up S",
            "capacity C(p)",
            "S / C(p)",
            "load balance",
            "overhead",
            "code",
            "S/p",
        ]
        .map(String::from)
        .to_vec(),
    );
    let cell = |v: Option<f64>, f: fn(f64) -> String| v.map_or_else(|| NONE.to_string(), f);
    for r in points {
        table.rows.push(vec![
            r.backend.to_string(),
            r.workers.to_string(),
            cell(r.speedup, times),
            cell(r.capacity, times),
            cell(r.of_capacity, percent),
            cell(r.load_balance, percent),
            cell(r.overhead_efficiency, percent),
            cell(r.code_scalability, percent),
            cell(r.efficiency, percent),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyse::capacity::cpu_rates;
    use crate::analyse::summary::summarize;
    use crate::present::table::groups;
    use crate::results::fixture::{numbered, row};
    use crate::results::{Mode, PerWorker, RawRow};

    fn reps(
        backend: &str,
        workers: usize,
        wall_s: f64,
        busy: &[f64],
        rates: &[f64],
    ) -> Vec<RawRow> {
        (0..3)
            .map(|i| {
                let mut r = row(
                    backend,
                    Mode::Strong,
                    workers,
                    1000,
                    wall_s + 0.01 * i as f64,
                );
                r.busy_s = PerWorker(busy.to_vec());
                r.rates = PerWorker(rates.to_vec());
                r.cpus = (0..workers)
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(";");
                r
            })
            .collect()
    }

    #[test]
    fn the_section_shows_the_machine_and_every_point_s_factors() {
        let mut rows = Vec::new();
        rows.extend(reps("capacity", 1, 1.0, &[0.2], &[2.0]));
        rows.extend(reps("capacity", 2, 0.54, &[0.2, 0.2], &[2.0, 1.72]));
        rows.extend(reps("threads", 1, 2.1, &[2.0], &[]));
        rows.extend(reps("threads", 2, 1.2, &[1.0, 1.1], &[]));
        let rows = numbered(rows);
        let summary = summarize(&rows);
        let blocks = section(&groups(&summary), &cpu_rates(&rows));
        let tables: Vec<&Table> = blocks
            .iter()
            .filter_map(|b| match b {
                Block::Table(t) => Some(t),
                _ => None,
            })
            .collect();
        assert_eq!(tables.len(), 2);
        assert_eq!(tables[0].rows[1][0], "2");
        assert_eq!(tables[0].rows[1][3], "CPU 0 2.00; CPU 1 1.72");
        // 2 × 1.72 / 3.72.
        assert_eq!(tables[0].rows[1][4], "92%");
        assert_eq!(tables[1].rows.len(), 1);
        assert_eq!(tables[1].rows[0][..3], ["threads", "2", "1.74×"]);

        let plain = summarize(&numbered(reps("threads", 2, 1.2, &[1.0, 1.1], &[])));
        assert!(section(&groups(&plain), &[]).is_empty());
    }
}
