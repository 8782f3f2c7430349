//! A weak-scaling group's Gustafson fits and the serial fraction each
//! measured point implies.

use super::super::doc::{Block, Inline, Table};
use super::{coefficient_cell, flag, flags, not_fitted, residual_cell, Curve, NONE};
use crate::analyse::models::{gustafson_fit, gustafson_serial_fraction, GustafsonFit};
use crate::present::format;
use crate::present::table::Group;

/// The heading, the table and the flags of one weak-scaling group. Without
/// `fitted` (too few worker counts) only each point's `S (f)`.
pub(super) fn blocks(
    group: &Group,
    curves: &[Curve],
    workers: &[usize],
    fitted: bool,
) -> Vec<Block> {
    // Twice the largest p: within the reach the extrapolation rule allows.
    let ahead = 2 * workers.iter().max().copied().unwrap_or(1);
    let mut header = vec!["backend".to_string()];
    if fitted {
        header.extend([
            "Gustafson f (95 % interval)".into(),
            "residual (RMS)".into(),
            format!("predicted S at p={ahead}"),
        ]);
    }
    header.extend(workers.iter().map(|p| format!("p={p}: S (f)")));
    let mut table = Table::labelled(header);
    let mut flagged = Vec::new();
    for curve in curves {
        let mut line = vec![curve.kernel.to_string()];
        if fitted {
            match gustafson_fit(&curve.points) {
                Ok(fit) => {
                    line.extend([
                        coefficient_cell(fit.serial_fraction, fit.physical()),
                        residual_cell(fit.residual),
                        if fit.physical() {
                            format::times(fit.predict(ahead))
                        } else {
                            NONE.into()
                        },
                    ]);
                    flagged.extend(why_unphysical(curve, &fit));
                }
                Err(why) => line.extend([not_fitted(why, curve), NONE.into(), NONE.into()]),
            }
        }
        for p in workers {
            let cell = curve.points.iter().find(|(q, _)| q == p).map(|&(q, s)| {
                let f =
                    gustafson_serial_fraction(s, q).map_or_else(|| NONE.into(), format::fraction);
                format!("{} ({f})", format::times(s))
            });
            line.push(cell.unwrap_or_else(|| NONE.into()));
        }
        table.rows.push(line);
    }
    let mut blocks = vec![
        Block::Heading(3, format!("{}: Gustafson", group.label())),
        Block::Table(table),
    ];
    blocks.extend(flags(flagged));
    blocks
}

/// The sentence flagging an unphysical f, if it is.
fn why_unphysical(curve: &Curve, fit: &GustafsonFit) -> Option<Vec<Inline>> {
    let f = fit.serial_fraction;
    if fit.physical() {
        None
    } else if f.value > 1.0 {
        Some(flag(
            curve.kernel,
            "f",
            f,
            1.0,
            "the scaled speed-up is below 1: p workers did less work in the time than one; \
             contention or oversubscription, not a serial fraction",
        ))
    } else {
        Some(flag(
            curve.kernel,
            "f",
            f,
            0.0,
            "the scaled speed-up is above p; noise or super-linear caching",
        ))
    }
}
