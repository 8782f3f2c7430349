//! Which instruction set the kernels' inner loops use, chosen at run time.
//!
//! The release build targets plain x86-64 (SSE2), so the vector paths are
//! compiled with `#[target_feature]` and entered only after the CPU reports the
//! feature. [`Isa::active`] is the process-wide choice: the best supported ISA
//! unless [`Isa::set_active`] picked another. Every path gives the same answer
//! bit for bit (see [`crate::mc`] and [`crate::midpoint`]), so the choice only
//! changes the speed.
//!
//! ```
//! use piscale_kernels::{mc, Isa};
//!
//! let hits = mc::block_hits_with(Isa::Scalar, 7, 0, 1000);
//! for isa in Isa::all_supported() {
//!     assert_eq!(mc::block_hits_with(isa, 7, 0, 1000), hits);
//! }
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// An instruction set for the kernels' inner loops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Isa {
    /// Portable Rust, compiled for the build's baseline target.
    Scalar,
    /// 256-bit AVX2 vectors (x86-64 only).
    Avx2,
    /// 512-bit AVX-512F vectors (x86-64 only).
    Avx512,
}

/// `ACTIVE` before the first [`Isa::active`] or [`Isa::set_active`].
const UNSET: u8 = 0;

/// The process-wide selection, as [`Isa::code`]; [`UNSET`] until first use.
static ACTIVE: AtomicU8 = AtomicU8::new(UNSET);

impl Isa {
    /// Every ISA, from the most portable to the widest.
    pub const ALL: [Isa; 3] = [Isa::Scalar, Isa::Avx2, Isa::Avx512];

    /// The name used on the command line and in result files.
    pub const fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    const fn code(self) -> u8 {
        match self {
            Isa::Scalar => 1,
            Isa::Avx2 => 2,
            Isa::Avx512 => 3,
        }
    }

    const fn from_code(code: u8) -> Option<Isa> {
        match code {
            1 => Some(Isa::Scalar),
            2 => Some(Isa::Avx2),
            3 => Some(Isa::Avx512),
            _ => None,
        }
    }

    /// Whether this CPU can run the ISA's path.
    ///
    /// `avx2` needs AVX2; `avx512` needs AVX-512F (the kernels use nothing
    /// beyond the foundation instructions) and AVX2 (every AVX-512 CPU has
    /// it; the AVX-512 paths share AVX2 helpers). Always `false` for the
    /// vector paths on other architectures than x86-64.
    pub fn supported(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx2")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx2 | Isa::Avx512 => false,
        }
    }

    /// The widest ISA this CPU supports.
    pub fn detect() -> Isa {
        Isa::ALL
            .into_iter()
            .rev()
            .find(|isa| isa.supported())
            .unwrap_or(Isa::Scalar)
    }

    /// `self` if this CPU supports it, otherwise the widest supported ISA
    /// narrower than `self`: what the `*_with` kernels actually run.
    #[inline]
    pub(crate) fn usable(self) -> Isa {
        match self {
            Isa::Avx512 if Isa::Avx512.supported() => Isa::Avx512,
            Isa::Avx512 | Isa::Avx2 if Isa::Avx2.supported() => Isa::Avx2,
            _ => Isa::Scalar,
        }
    }

    /// Every ISA this CPU supports, from the most portable to the widest.
    pub fn all_supported() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|isa| isa.supported()).collect()
    }

    /// The ISA the dispatching kernels ([`crate::mc::block_hits`],
    /// [`crate::midpoint::block_sum`]) use: [`Isa::detect`] unless
    /// [`Isa::set_active`] chose another.
    ///
    /// Allocation-free and panic-free: safe to call in a forked child.
    #[inline]
    pub fn active() -> Isa {
        match Isa::from_code(ACTIVE.load(Ordering::Relaxed)) {
            Some(isa) => isa,
            None => {
                let isa = Isa::detect();
                // A concurrent `set_active` wins over the default.
                let _ = ACTIVE.compare_exchange(
                    UNSET,
                    isa.code(),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                Isa::from_code(ACTIVE.load(Ordering::Relaxed)).unwrap_or(isa)
            }
        }
    }

    /// Makes `isa` the process-wide choice of the dispatching kernels.
    ///
    /// Fails, naming the supported ISAs, if this CPU cannot run it. Set it
    /// before starting workers: threads and forked children read it when they
    /// evaluate a block.
    pub fn set_active(isa: Isa) -> Result<()> {
        if !isa.supported() {
            let names: Vec<&str> = Isa::all_supported().into_iter().map(Isa::name).collect();
            return Err(Error::Invalid(format!(
                "isa {isa} is not supported by this CPU (supported: {})",
                names.join(", ")
            )));
        }
        ACTIVE.store(isa.code(), Ordering::Relaxed);
        Ok(())
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Isa {
    type Err = Error;

    /// Parses `scalar`, `avx2` or `avx512`; callers handle `auto`
    /// ([`Isa::detect`]) themselves.
    fn from_str(s: &str) -> Result<Self> {
        Isa::ALL
            .into_iter()
            .find(|isa| isa.name() == s)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown isa '{s}' (expected scalar, avx2 or avx512)"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for isa in Isa::ALL {
            assert_eq!(isa.name().parse::<Isa>().unwrap(), isa);
            assert_eq!(Isa::from_code(isa.code()), Some(isa));
        }
        assert!("auto".parse::<Isa>().is_err());
        assert!("AVX2".parse::<Isa>().is_err());
    }

    #[test]
    fn detect_is_supported_and_scalar_always_is() {
        assert!(Isa::Scalar.supported());
        assert!(Isa::detect().supported());
        let all = Isa::all_supported();
        assert_eq!(all.first(), Some(&Isa::Scalar));
        assert_eq!(all.last(), Some(&Isa::detect()));
    }
}
