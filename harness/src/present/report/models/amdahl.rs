//! A strong-scaling group's Amdahl fits and Karp–Flatt metrics.

use super::super::doc::{Block, Table};
use super::{coefficient_cell, flag, flags, not_fitted, residual_cell, Curve, NONE};
use crate::analyse::models::{amdahl_fit, karp_flatt, AmdahlFit, MaxSpeedup};
use crate::present::format;
use crate::present::table::Group;

/// The heading, the table and the flags of one strong-scaling group.
/// Without `fitted` (too few worker counts) only Karp–Flatt's e per point.
pub(super) fn blocks(
    group: &Group,
    curves: &[Curve],
    workers: &[usize],
    fitted: bool,
) -> Vec<Block> {
    let mut header = vec!["backend".to_string()];
    if fitted {
        header.extend([
            "Amdahl f (95 % interval)".into(),
            "residual (RMS)".into(),
            "max speed-up 1/f".into(),
        ]);
    }
    header.extend(workers.iter().map(|p| format!("e at p={p}")));
    let mut table = Table::labelled(header);
    let mut flagged = Vec::new();
    for curve in curves {
        let mut line = vec![curve.kernel.to_string()];
        if fitted {
            match amdahl_fit(&curve.points) {
                Ok(fit) => {
                    line.extend([
                        coefficient_cell(fit.serial_fraction, fit.physical()),
                        residual_cell(fit.residual),
                        limit(&fit),
                    ]);
                    flagged.extend(why_unphysical(curve, &fit));
                }
                Err(why) => line.extend([not_fitted(why, curve), NONE.into(), NONE.into()]),
            }
        }
        for p in workers {
            let e = curve
                .points
                .iter()
                .find(|(q, _)| q == p)
                .and_then(|&(q, s)| karp_flatt(s, q));
            line.push(e.map_or_else(|| NONE.into(), format::fraction));
        }
        table.rows.push(line);
    }
    let model = if fitted {
        "Amdahl and Karp–Flatt"
    } else {
        "Karp–Flatt"
    };
    let mut blocks = vec![
        Block::Heading(3, format!("{}: {model}", group.label())),
        Block::Table(table),
    ];
    blocks.extend(flags(flagged));
    blocks
}

/// The max speed-up cell: 1/f, marked as an extrapolation far beyond the
/// sweep, and as no more than a guess when f's interval reaches 0 (then
/// the data allow no limit at all); none for an f of 0 or an unphysical one.
fn limit(fit: &AmdahlFit) -> String {
    let cell = match fit.max_speedup() {
        Some(MaxSpeedup {
            value,
            extrapolated: false,
        }) => format::times(value),
        Some(MaxSpeedup {
            value,
            extrapolated: true,
        }) => format!(
            "≈ {value:.0}× — an extrapolation far beyond p = {}",
            fit.largest_p
        ),
        None if fit.physical() => return "none: f = 0".into(),
        None => return "none: f is unphysical".into(),
    };
    if fit.serial_fraction.covers(0.0) {
        format!("{cell} (or none: f may be 0)")
    } else {
        cell
    }
}

/// The sentence flagging an unphysical f, if it is.
fn why_unphysical(curve: &Curve, fit: &AmdahlFit) -> Option<Vec<super::Inline>> {
    let f = fit.serial_fraction;
    if fit.physical() {
        None
    } else if f.value < 0.0 {
        Some(flag(
            curve.kernel,
            "f",
            f,
            0.0,
            "the speed-up is above what Amdahl's law allows for any serial fraction; \
             noise or super-linear caching",
        ))
    } else {
        Some(flag(
            curve.kernel,
            "f",
            f,
            1.0,
            "the speed-up falls below 1: more workers made the run slower, which is \
             overhead or contention, not a serial fraction",
        ))
    }
}
