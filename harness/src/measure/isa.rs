//! The `--isa` setting: `auto` or one instruction-set path.

use std::str::FromStr;

use piscale_kernels::{Isa, Named};

/// The instruction set the kernels use, as asked with `--isa`: `auto` (the
/// best this CPU supports) or one path, which must be supported here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IsaChoice(pub Option<Isa>);

impl IsaChoice {
    /// The path to run: the chosen one, or the best detected.
    pub fn resolve(self) -> Isa {
        self.0.unwrap_or_else(Isa::detect)
    }
}

impl FromStr for IsaChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<IsaChoice, String> {
        if s.trim() == "auto" {
            return Ok(IsaChoice(None));
        }
        let isa = Isa::parse(s)?;
        if !isa.supported() {
            let supported: Vec<&str> = Isa::all_supported().iter().map(|i| i.name()).collect();
            return Err(format!(
                "{isa} is not supported by this CPU (supported: auto, {})",
                supported.join(", ")
            ));
        }
        Ok(IsaChoice(Some(isa)))
    }
}

impl TryFrom<String> for IsaChoice {
    type Error = String;

    fn try_from(s: String) -> Result<IsaChoice, String> {
        s.parse()
    }
}

impl From<IsaChoice> for String {
    fn from(choice: IsaChoice) -> String {
        choice
            .0
            .map_or_else(|| "auto".to_string(), |isa| isa.name().to_string())
    }
}

impl std::fmt::Display for IsaChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from(*self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isa_choices_parse_and_unsupported_ones_are_refused() {
        assert_eq!("auto".parse::<IsaChoice>(), Ok(IsaChoice(None)));
        assert_eq!(
            "scalar".parse::<IsaChoice>(),
            Ok(IsaChoice(Some(Isa::Scalar)))
        );
        assert!("sse9".parse::<IsaChoice>().is_err());
        for isa in [Isa::Avx2, Isa::Avx512] {
            assert_eq!(
                isa.name().parse::<IsaChoice>().is_ok(),
                isa.supported(),
                "{isa}"
            );
        }
        assert_eq!(IsaChoice(None).resolve(), Isa::detect());
        assert_eq!(String::from(IsaChoice(Some(Isa::Scalar))), "scalar");
    }
}
