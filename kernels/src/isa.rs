//! Which instruction set the kernels' inner loops use, chosen at run time.
//!
//! The release build targets plain x86-64 (SSE2), so the vector paths are
//! compiled with `#[target_feature]` and entered only after the CPU reports the
//! feature. A [`Job`](crate::Job) carries the path its kernels run on
//! ([`Isa::detect`], the widest supported, unless the caller chose another);
//! there is no process-wide setting. Every path gives the same answer bit for
//! bit (see [`crate::mc`] and [`crate::midpoint`]), so the choice only changes
//! the speed.
//!
//! ```
//! use piscale_kernels::{mc, Isa};
//!
//! let hits = mc::block_hits_with(Isa::Scalar, 7, 0, 1000);
//! for isa in Isa::all_supported() {
//!     assert_eq!(mc::block_hits_with(isa, 7, 0, 1000), hits);
//! }
//! ```

use serde::{Deserialize, Serialize};
use strum::VariantArray;

use crate::named::Named;

/// An instruction set for the kernels' inner loops.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Isa {
    /// Portable Rust, compiled for the build's baseline target.
    Scalar,
    /// 256-bit AVX2 vectors (x86-64 only).
    Avx2,
    /// 512-bit AVX-512F vectors (x86-64 only).
    Avx512,
}

impl Named for Isa {
    const WHAT: &'static str = "isa";
}

impl Isa {
    /// A number for the wire (a pool task), [`from_code`](Self::from_code)'s inverse.
    pub(crate) const fn code(self) -> u64 {
        match self {
            Isa::Scalar => 0,
            Isa::Avx2 => 1,
            Isa::Avx512 => 2,
        }
    }

    /// The ISA of [`code`](Self::code); scalar for an unknown number.
    pub(crate) const fn from_code(code: u64) -> Isa {
        match code {
            1 => Isa::Avx2,
            2 => Isa::Avx512,
            _ => Isa::Scalar,
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
        Isa::VARIANTS
            .iter()
            .rev()
            .copied()
            .find(|isa| isa.supported())
            .unwrap_or(Isa::Scalar)
    }

    /// `self` if this CPU supports it, otherwise the widest supported ISA
    /// narrower than `self`: what the `*_with` kernels actually run.
    #[inline]
    pub fn usable(self) -> Isa {
        match self {
            Isa::Avx512 if Isa::Avx512.supported() => Isa::Avx512,
            Isa::Avx512 | Isa::Avx2 if Isa::Avx2.supported() => Isa::Avx2,
            _ => Isa::Scalar,
        }
    }

    /// Every ISA this CPU supports, from the most portable to the widest.
    pub fn all_supported() -> Vec<Isa> {
        Isa::VARIANTS
            .iter()
            .copied()
            .filter(|isa| isa.supported())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        crate::named::assert_serde_names::<Isa>();
        assert_eq!(
            Isa::VARIANTS.iter().map(|i| i.name()).collect::<Vec<_>>(),
            ["scalar", "avx2", "avx512"]
        );
        for &isa in Isa::VARIANTS {
            assert_eq!(Isa::from_code(isa.code()), isa);
        }
        assert!(Isa::parse("auto").is_err());
        assert!(Isa::parse("AVX2").is_err());
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
