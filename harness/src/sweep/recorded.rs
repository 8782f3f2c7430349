//! What a row records of the settings its point ran with, defined once: the
//! runner writes it into every row, and a resume checks the rows already in
//! `raw.csv` against it, so that an edited `config.toml` cannot mix two
//! studies in one point.

use piscale_kernels::Isa;

use super::config::SweepConfig;
use crate::results::{Kernel, PointId, RawRow};

/// The settings a row of a point records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Samples per block.
    pub block: u64,
    /// The seed.
    pub seed: u64,
    /// Where the workers were placed: the pin policy (a command's process
    /// gets the point's CPUs as its affinity), `bind-to X` for MPI ranks the
    /// launcher places.
    pub pin: String,
    /// The kernels' instruction set (built-in kernels only).
    pub isa: Option<Isa>,
}

impl Recorded {
    /// What `config` records for point `id`.
    pub fn of(config: &SweepConfig, id: &PointId) -> Recorded {
        let builtin = id.kernel.is_builtin();
        let pin = match (&id.kernel, &config.mpi.bind_to) {
            (Kernel::Mpi, Some(bind)) => format!("bind-to {bind}"),
            _ => config.pin_for(&id.kernel).to_string(),
        };
        Recorded {
            block: config.block,
            seed: config.seed,
            pin,
            isa: builtin.then(|| config.isa.resolve()),
        }
    }

    /// What `row` recorded.
    pub fn of_row(row: &RawRow) -> Recorded {
        Recorded {
            block: row.block,
            seed: row.seed,
            pin: row.pin.clone(),
            isa: row.isa,
        }
    }

    /// The first setting that differs: (key, this one's, `other`'s).
    pub fn difference(&self, other: &Recorded) -> Option<(&'static str, String, String)> {
        let show_isa = |i: Option<Isa>| i.map_or_else(|| "none".to_string(), |i| i.to_string());
        [
            ("seed", self.seed.to_string(), other.seed.to_string()),
            ("block", self.block.to_string(), other.block.to_string()),
            ("pin", self.pin.clone(), other.pin.clone()),
            ("isa", show_isa(self.isa), show_isa(other.isa)),
        ]
        .into_iter()
        .find(|(_, a, b)| a != b)
    }
}
