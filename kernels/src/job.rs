//! What to compute: the method, the amount of work and how it is cut into
//! blocks. Every block-decomposed backend evaluates exactly these blocks.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use strum::EnumMessage;

use crate::error::{Error, Result};
use crate::isa::Isa;
use crate::named::Named;
use crate::{mc, midpoint};

/// Default block size: 2^20 samples or steps.
pub const DEFAULT_BLOCK: u64 = 1 << 20;
/// Largest accepted amount of work (2^53: step indices stay exact in `f64`).
pub const MAX_SAMPLES: u64 = 1 << 53;

/// How pi is computed.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::Display,
    strum::IntoStaticStr,
    strum::VariantArray,
    strum::EnumMessage,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Method {
    /// Monte Carlo darts (the course's `pi1.py`).
    #[strum(
        message = "Monte Carlo darts in the unit square, xoshiro256++ in 8 interleaved lanes per block"
    )]
    Mc,
    /// Midpoint rule for ∫₀¹ 4/(1+x²) dx (the course's `pi2.py`).
    #[strum(message = "midpoint rule for the integral of 4/(1+x^2) over [0,1], N steps")]
    Midpoint,
}

impl Named for Method {
    const WHAT: &'static str = "method";
}

impl Method {
    /// A one-line description for `piscale list`.
    pub fn description(self) -> &'static str {
        self.get_message().unwrap_or_default()
    }

    pub(crate) const fn code(self) -> u64 {
        match self {
            Method::Mc => 0,
            Method::Midpoint => 1,
        }
    }

    pub(crate) const fn from_code(code: u64) -> Method {
        if code == 1 {
            Method::Midpoint
        } else {
            Method::Mc
        }
    }
}

/// One run's work: method, total samples (or steps), seed and block size,
/// and the instruction set its kernels run on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The method.
    pub method: Method,
    /// Total work N: darts for `mc`, steps for `midpoint`.
    pub samples: u64,
    /// Seed of the Monte Carlo streams (ignored by `midpoint`).
    pub seed: u64,
    /// Block size; the last block may be shorter.
    pub block: u64,
    /// Blocks per task for `pool-map`; `None` picks Pool.map's default,
    /// ⌈blocks / (4·workers)⌉.
    pub chunksize: Option<u64>,
    /// Process backends kill their workers and fail after this long.
    pub timeout: Option<Duration>,
    /// The instruction set of the kernels' inner loops. Every path gives
    /// the same answer; a path this CPU lacks falls back to the widest
    /// narrower one it has ([`Isa::usable`]).
    pub isa: Isa,
}

impl Job {
    /// A job with seed 0, the default block, no timeout, on the widest
    /// instruction set this CPU supports.
    pub fn new(method: Method, samples: u64) -> Job {
        Job {
            method,
            samples,
            seed: 0,
            block: DEFAULT_BLOCK,
            chunksize: None,
            timeout: None,
            isa: Isa::detect(),
        }
    }

    /// Sets the instruction set of the kernels.
    pub fn isa(mut self, isa: Isa) -> Job {
        self.isa = isa;
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Job {
        self.seed = seed;
        self
    }

    /// Sets the chunk size of `pool-map` tasks.
    pub fn chunksize(mut self, chunksize: Option<u64>) -> Job {
        self.chunksize = chunksize;
        self
    }

    /// Sets the timeout after which process backends kill their workers.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Job {
        self.timeout = timeout;
        self
    }

    /// Sets the block size.
    pub fn block(mut self, block: u64) -> Job {
        self.block = block;
        self
    }

    /// Checks the ranges every backend relies on.
    pub fn validate(&self) -> Result<()> {
        if self.samples == 0 || self.samples > MAX_SAMPLES {
            return Err(Error::Invalid(format!(
                "samples must be between 1 and 2^53, got {}",
                self.samples
            )));
        }
        if self.block == 0 {
            return Err(Error::Invalid("block must be at least 1".into()));
        }
        if self.chunksize == Some(0) {
            return Err(Error::Invalid("chunksize must be at least 1".into()));
        }
        Ok(())
    }

    /// Number of blocks, ⌈samples / block⌉.
    pub fn blocks(&self) -> u64 {
        self.samples.div_ceil(self.block)
    }

    /// The contiguous range of blocks worker `worker` of `workers` owns in a
    /// static partition (as even as possible, in worker order).
    pub fn static_share(&self, worker: usize, workers: usize) -> BlockRange {
        let nb = self.blocks() as u128;
        let lo = nb * worker as u128 / workers as u128;
        let hi = nb * (worker as u128 + 1) / workers as u128;
        BlockRange {
            first: lo as u64,
            count: (hi - lo) as u64,
        }
    }

    /// The exact partial of `range`: hits for `mc`, the 64.64 fixed-point sum
    /// for `midpoint`. Partials of disjoint ranges add up (as `u128`) to the
    /// partial of their union, whatever the grouping.
    ///
    /// Allocation-free and panic-free: safe to call in a forked child.
    pub fn partial(&self, range: BlockRange) -> u128 {
        let mut total = 0u128;
        let end = range.first.saturating_add(range.count).min(self.blocks());
        for b in range.first..end {
            let start = b * self.block;
            let len = self.block.min(self.samples - start);
            total = total.wrapping_add(match self.method {
                Method::Mc => mc::block_hits_with(self.isa, self.seed, b, len) as u128,
                Method::Midpoint => midpoint::block_sum_with(self.isa, self.samples, start, len),
            });
        }
        total
    }

    /// The chunk size `pool-map` uses for `workers` workers.
    pub fn effective_chunksize(&self, workers: usize) -> u64 {
        self.chunksize
            .unwrap_or_else(|| self.blocks().div_ceil(4 * workers as u64).max(1))
    }
}

/// A contiguous range of blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockRange {
    /// The first block.
    pub first: u64,
    /// How many blocks.
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    #[test]
    fn static_shares_cover_every_block_once() {
        let job = Job::new(Method::Mc, 1000).block(7);
        for workers in 1..=9 {
            let mut next = 0;
            for w in 0..workers {
                let r = job.static_share(w, workers);
                assert_eq!(r.first, next);
                next += r.count;
            }
            assert_eq!(next, job.blocks());
        }
    }

    #[test]
    fn partials_add_up_for_both_methods() {
        for &method in Method::VARIANTS {
            let job = Job::new(method, 100_003).block(1000).seed(9);
            let whole = job.partial(BlockRange {
                first: 0,
                count: job.blocks(),
            });
            let parts: u128 = (0..5).map(|w| job.partial(job.static_share(w, 5))).sum();
            assert_eq!(whole, parts, "{method}");
        }
    }

    #[test]
    fn method_names_match_serde() {
        crate::named::assert_serde_names::<Method>();
    }

    #[test]
    fn validate_rejects_bad_ranges() {
        assert!(Job::new(Method::Mc, 0).validate().is_err());
        assert!(Job::new(Method::Mc, MAX_SAMPLES + 1).validate().is_err());
        assert!(Job::new(Method::Mc, 10).block(0).validate().is_err());
        assert!(Job::new(Method::Mc, 10).validate().is_ok());
    }
}
