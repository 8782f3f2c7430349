//! What to compute: the method, the amount of work and how it is cut into
//! blocks. Every block-decomposed backend evaluates exactly these blocks.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::{mc, midpoint};

/// Default block size: 2^20 samples or steps.
pub const DEFAULT_BLOCK: u64 = 1 << 20;
/// Largest accepted amount of work (2^53: step indices stay exact in `f64`).
pub const MAX_SAMPLES: u64 = 1 << 53;

/// How pi is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Monte Carlo darts (the course's `pi1.py`).
    Mc,
    /// Midpoint rule for ∫₀¹ 4/(1+x²) dx (the course's `pi2.py`).
    Midpoint,
}

impl Method {
    /// Every method, in display order.
    pub const ALL: [Method; 2] = [Method::Mc, Method::Midpoint];

    /// The name used on the command line and in result files.
    pub const fn name(self) -> &'static str {
        match self {
            Method::Mc => "mc",
            Method::Midpoint => "midpoint",
        }
    }

    /// A one-line description for `piscale list`.
    pub const fn description(self) -> &'static str {
        match self {
            Method::Mc => "Monte Carlo darts in the unit square, xoshiro256++ in 8 interleaved lanes per block",
            Method::Midpoint => "midpoint rule for the integral of 4/(1+x^2) over [0,1], N steps",
        }
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

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Method::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                Error::Invalid(format!("unknown method '{s}' (expected mc or midpoint)"))
            })
    }
}

/// One run's work: method, total samples (or steps), seed and block size.
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
}

impl Job {
    /// A job with seed 0, the default block and no timeout.
    pub fn new(method: Method, samples: u64) -> Job {
        Job {
            method,
            samples,
            seed: 0,
            block: DEFAULT_BLOCK,
            chunksize: None,
            timeout: None,
        }
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
                Method::Mc => mc::block_hits(self.seed, b, len) as u128,
                Method::Midpoint => midpoint::block_sum(self.samples, start, len),
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
        for method in Method::ALL {
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
    fn validate_rejects_bad_ranges() {
        assert!(Job::new(Method::Mc, 0).validate().is_err());
        assert!(Job::new(Method::Mc, MAX_SAMPLES + 1).validate().is_err());
        assert!(Job::new(Method::Mc, 10).block(0).validate().is_err());
        assert!(Job::new(Method::Mc, 10).validate().is_ok());
    }
}
