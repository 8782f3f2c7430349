//! Names users type: one rule to print, parse and list the variants of the
//! small enums on the command line and in files ([`Method`](crate::Method),
//! [`BackendKind`](crate::BackendKind), [`Isa`](crate::Isa), and the
//! harness's own).
//!
//! An enum derives its names once, with strum (`IntoStaticStr`, `Display`,
//! `VariantArray`, all `kebab-case`), serde uses the same case rule, and
//! [`Named`] adds parsing with a message that lists the choices:
//!
//! ```
//! use piscale_kernels::{Method, Named};
//!
//! assert_eq!(Method::parse("midpoint"), Ok(Method::Midpoint));
//! assert_eq!(Method::Mc.name(), "mc");
//! assert_eq!(
//!     Method::parse("pi").unwrap_err(),
//!     "unknown method 'pi' (expected mc or midpoint)"
//! );
//! ```

use strum::VariantArray;

/// An enum whose variants have names (see the module documentation).
pub trait Named: Copy + PartialEq + 'static + VariantArray + Into<&'static str> {
    /// What a variant is, for messages: `method`, `backend`.
    const WHAT: &'static str;

    /// The name used on the command line and in result files.
    fn name(self) -> &'static str {
        self.into()
    }

    /// The variant named `s` (surrounding white space ignored); the error
    /// names the choices: `unknown method 'pi' (expected mc or midpoint)`.
    fn parse(s: &str) -> Result<Self, String> {
        let wanted = s.trim();
        Self::VARIANTS
            .iter()
            .copied()
            .find(|v| v.name() == wanted)
            .ok_or_else(|| {
                format!(
                    "unknown {} '{s}' (expected {})",
                    Self::WHAT,
                    Self::choices()
                )
            })
    }

    /// Every name, as a sentence lists them: `a, b or c`.
    fn choices() -> String {
        let names: Vec<&str> = Self::VARIANTS.iter().map(|v| v.name()).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            Some((last, _)) => (*last).to_string(),
            None => String::new(),
        }
    }
}

/// Checks that serde spells every variant of `T` as [`Named::name`] does
/// (both derive their names; this keeps the two derivations in step).
#[cfg(test)]
pub(crate) fn assert_serde_names<T>()
where
    T: Named + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    for &v in T::VARIANTS {
        let json = serde_json::to_string(&v).expect("serialises");
        assert_eq!(json, format!("\"{}\"", v.name()), "{v:?}");
        let back: T = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, v);
        assert_eq!(T::parse(v.name()), Ok(v));
    }
}
