//! A strong-scaling group's Universal Scalability Law fits, shown only when
//! the group has enough worker counts.

use super::super::doc::{Block, Inline, Table};
use super::{coefficient_cell, flag, flags, not_fitted, residual_cell, Curve, NONE};
use crate::analyse::models::{usl_fit, Peak, UslFit};
use crate::present::format;
use crate::present::table::Group;

/// The heading, the table and the flags of one strong-scaling group.
pub(super) fn blocks(group: &Group, curves: &[Curve]) -> Vec<Block> {
    let mut table = Table::labelled(
        [
            "backend",
            "σ contention (95 %)",
            "κ coherency (95 %)",
            "residual (RMS)",
            "peak p* = √((1 − σ)/κ)",
        ]
        .map(String::from)
        .to_vec(),
    );
    let mut flagged = Vec::new();
    for curve in curves {
        let mut line = vec![curve.kernel.to_string()];
        match usl_fit(&curve.points) {
            Ok(fit) => {
                line.extend([
                    coefficient_cell(fit.sigma, fit.sigma_physical()),
                    coefficient_cell(fit.kappa, fit.kappa_physical()),
                    residual_cell(fit.residual),
                    peak(&fit),
                ]);
                flagged.extend(why_unphysical(curve, &fit));
            }
            Err(why) => line.extend([
                not_fitted(why, curve),
                NONE.into(),
                NONE.into(),
                NONE.into(),
            ]),
        }
        table.rows.push(line);
    }
    let mut blocks = vec![
        Block::Heading(3, format!("{}: Universal Scalability Law", group.label())),
        Block::Table(table),
    ];
    blocks.extend(flags(flagged));
    blocks
}

/// The peak cell: where adding workers starts to slow the run. A κ whose
/// interval reaches 0 establishes no peak: the data are as consistent
/// with a curve that never turns down.
fn peak(fit: &UslFit) -> String {
    if fit.peak().is_some() && fit.kappa.covers(0.0) {
        return "none within noise: κ's interval reaches 0".into();
    }
    match fit.peak() {
        Some(Peak {
            workers,
            speedup,
            extrapolated: false,
        }) => format!("p ≈ {workers:.0} (S ≈ {})", format::times(speedup)),
        Some(Peak {
            workers,
            extrapolated: true,
            ..
        }) => format!(
            "p ≈ {workers:.0} — an extrapolation far beyond p = {}",
            fit.largest_p
        ),
        None if fit.physical() => "none: κ = 0, no retrograde scaling".into(),
        None => "none: unphysical".into(),
    }
}

/// The sentences flagging an unphysical σ or κ.
fn why_unphysical(curve: &Curve, fit: &UslFit) -> Vec<Vec<Inline>> {
    let mut out = Vec::new();
    if fit.sigma.value < 0.0 {
        out.push(flag(
            curve.kernel,
            "σ",
            fit.sigma,
            0.0,
            "the speed-up rises faster than linear at small p; noise or super-linear caching",
        ));
    } else if !fit.sigma_physical() {
        out.push(flag(
            curve.kernel,
            "σ",
            fit.sigma,
            1.0,
            "the speed-up is below 1 before any coherency cost",
        ));
    }
    if !fit.kappa_physical() {
        out.push(flag(
            curve.kernel,
            "κ",
            fit.kappa,
            0.0,
            "the curve bends upwards at large p, which a coherency cost cannot; no sign of \
             retrograde scaling",
        ));
    }
    out
}
