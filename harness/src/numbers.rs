//! Whole numbers as people write them on a command line: `1000`,
//! `1_000_000`, `1e9`, `2.5e9`, `2^30`.
//!
//! Scientific notation is evaluated exactly — `2.5e9` is 25 × 10^8, never a
//! rounded `f64` — and anything that is not a whole number (`1.5`, `1e-3`)
//! is rejected rather than truncated.

/// Parses a whole number in `min..=max`; the error says what is wrong with it.
pub fn parse_in_range(text: &str, min: u64, max: u64) -> Result<u64, String> {
    let value = parse_whole(text)?;
    if value < u128::from(min) || value > u128::from(max) {
        return Err(format!(
            "must be between {} and {}, got {}",
            show(min),
            show(max),
            text.trim()
        ));
    }
    Ok(value as u64)
}

/// The value parsers of the flags that take a number, shared by `run` and
/// `sweep`: each error says what is wrong, clap adds the flag.
pub mod flags {
    use std::time::Duration;

    use piscale_kernels::{MAX_SAMPLES, MAX_WORKERS};

    use super::parse_in_range;

    /// `--workers P`: 1 to 4096.
    pub fn workers(s: &str) -> Result<usize, String> {
        parse_in_range(s, 1, MAX_WORKERS as u64).map(|w| w as usize)
    }

    /// `--samples N`: 1 to 2^53.
    pub fn samples(s: &str) -> Result<u64, String> {
        parse_in_range(s, 1, MAX_SAMPLES)
    }

    /// `--reps R`: at least 1.
    pub fn reps(s: &str) -> Result<u32, String> {
        parse_in_range(s, 1, u32::MAX as u64).map(|r| r as u32)
    }

    /// `--warmup W`: 0 or more.
    pub fn warmup(s: &str) -> Result<u32, String> {
        parse_in_range(s, 0, u32::MAX as u64).map(|r| r as u32)
    }

    /// `--seed S`: any 64-bit value.
    pub fn seed(s: &str) -> Result<u64, String> {
        parse_in_range(s, 0, u64::MAX)
    }

    /// Block and chunk sizes: at least 1, at most the largest job.
    pub fn positive(s: &str) -> Result<u64, String> {
        parse_in_range(s, 1, MAX_SAMPLES)
    }

    /// The shortest timeout: below a millisecond a run is killed before its
    /// program has even started, which only ever reads as a failure.
    pub const MIN_TIMEOUT_S: f64 = 0.001;

    /// `--timeout SECS`: at least [`MIN_TIMEOUT_S`] seconds, as a duration.
    pub fn timeout(s: &str) -> Result<Duration, String> {
        let secs: f64 = s
            .trim()
            .parse()
            .map_err(|_| format!("'{s}' is not a number of seconds"))?;
        if secs.is_nan() || secs <= 0.0 {
            return Err(format!("must be more than 0 seconds, got {s}"));
        }
        if secs < MIN_TIMEOUT_S {
            return Err(format!(
                "must be at least {MIN_TIMEOUT_S} seconds, got {}",
                s.trim()
            ));
        }
        Duration::try_from_secs_f64(secs).map_err(|_| format!("{s} seconds is too long"))
    }

    /// `--timeout SECS` of a sweep, kept in seconds like its `timeout_s` key.
    pub fn timeout_s(s: &str) -> Result<f64, String> {
        timeout(s).map(|t| t.as_secs_f64())
    }

    /// The longest capacity run: past this it costs more than it tells.
    pub const MAX_CAPACITY_S: f64 = 60.0;

    /// `--capacity SECS`: 0 (no capacity points), or from [`MIN_TIMEOUT_S`]
    /// to [`MAX_CAPACITY_S`] seconds.
    pub fn capacity_s(s: &str) -> Result<f64, String> {
        let secs: f64 = s
            .trim()
            .parse()
            .map_err(|_| format!("'{s}' is not a number of seconds"))?;
        if secs == 0.0 {
            return Ok(0.0);
        }
        if !(MIN_TIMEOUT_S..=MAX_CAPACITY_S).contains(&secs) {
            return Err(format!(
                "must be 0 (none) or from {MIN_TIMEOUT_S} to {MAX_CAPACITY_S} seconds, got {}",
                s.trim()
            ));
        }
        Ok(secs)
    }

    /// `--threshold PCT`: a percentage of at least 0.
    pub fn threshold(s: &str) -> Result<f64, String> {
        match s.trim().parse::<f64>() {
            Ok(t) if t.is_finite() && t >= 0.0 => Ok(t),
            _ => Err(format!("must be a percentage of at least 0, got {s}")),
        }
    }
}

/// `2^53` reads better than 9007199254740992 in an error message.
fn show(n: u64) -> String {
    if n > 1 << 20 && n.is_power_of_two() {
        format!("2^{}", n.trailing_zeros())
    } else {
        n.to_string()
    }
}

/// Parses a non-negative whole number (exact, up to `u128::MAX`).
pub fn parse_whole(text: &str) -> Result<u128, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("expected a whole number, got an empty value".into());
    }
    if s.starts_with('-') {
        return Err(signed(s));
    }
    let unreadable = || not_whole(s);
    let too_large = || format!("{s} is too large");
    let body = s.strip_prefix('+').unwrap_or(s);

    if let Some((base, exp)) = body.split_once('^') {
        let base = digits(base).ok_or_else(unreadable)?;
        let exp = digits(exp).ok_or_else(unreadable)?;
        let exp = u32::try_from(exp).map_err(|_| too_large())?;
        return base.checked_pow(exp).ok_or_else(too_large);
    }

    let (mantissa, exp) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, exponent(e).ok_or_else(unreadable)?),
        None => (body, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(unreadable());
    }
    // All the mantissa's digits as one integer M, so value = M × 10^(exp − f).
    let mut m: u128 = 0;
    for part in [int_part, frac_part] {
        if !part.is_empty() {
            let d = digits(part).ok_or_else(unreadable)?;
            let width = part.bytes().filter(u8::is_ascii_digit).count() as u32;
            m = 10u128
                .checked_pow(width)
                .and_then(|p| m.checked_mul(p))
                .and_then(|v| v.checked_add(d))
                .ok_or_else(too_large)?;
        }
    }
    let frac_digits = frac_part.bytes().filter(u8::is_ascii_digit).count() as i64;
    let shift = exp - frac_digits;
    if shift >= 0 {
        if m == 0 {
            return Ok(0);
        }
        let scale = u32::try_from(shift)
            .ok()
            .and_then(|k| 10u128.checked_pow(k))
            .ok_or_else(too_large)?;
        m.checked_mul(scale).ok_or_else(too_large)
    } else {
        // Dividing by 10^k with k ≥ 39 leaves a whole number only for M = 0.
        let divisor = u32::try_from(-shift)
            .ok()
            .and_then(|k| 10u128.checked_pow(k));
        match divisor {
            Some(d) if m.is_multiple_of(d) => Ok(m / d),
            None if m == 0 => Ok(0),
            _ => Err(format!("must be a whole number, got {s}")),
        }
    }
}

/// Why `s` is not a whole number at all.
fn not_whole(s: &str) -> String {
    format!("'{s}' is not a whole number (write e.g. 1000, 1_000_000, 1e9, 2.5e9 or 2^30)")
}

/// Why `s`, which starts with `-`, is refused: `-5` is a negative number;
/// `--samples` (a flag given where a value was due) is no number at all.
fn signed(s: &str) -> String {
    if s[1..].starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        format!("must not be negative, got {s}")
    } else {
        not_whole(s)
    }
}

/// Digits with optional `_` separators between them (`1_000`), as an integer.
fn digits(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.is_empty() || b[0] == b'_' || b[b.len() - 1] == b'_' || s.contains("__") {
        return None;
    }
    let mut v: u128 = 0;
    for &c in b.iter().filter(|&&c| c != b'_') {
        if !c.is_ascii_digit() {
            return None;
        }
        // Saturate: callers turn an absurd value into "too large" anyway.
        v = v.saturating_mul(10).saturating_add(u128::from(c - b'0'));
    }
    Some(v)
}

/// A decimal exponent with an optional sign, clamped to ±10^6 (beyond that
/// the value is either zero-or-fractional or far out of range anyway).
fn exponent(s: &str) -> Option<i64> {
    let (neg, d) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = digits(d)?.min(1_000_000) as i64;
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_documented_form() {
        let cases: [(&str, u128); 14] = [
            ("1000", 1000),
            ("1_000_000", 1_000_000),
            ("1e9", 1_000_000_000),
            ("1E9", 1_000_000_000),
            ("2.5e9", 2_500_000_000),
            ("2^30", 1 << 30),
            ("2^53", 1 << 53),
            ("0", 0),
            (" 42 ", 42),
            ("+7", 7),
            ("2.0", 2),
            ("1.25e2", 125),
            ("1000e-3", 1),
            ("12345678901234567e0", 12_345_678_901_234_567),
        ];
        for (text, want) in cases {
            assert_eq!(parse_whole(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn scientific_notation_is_exact_not_rounded_through_f64() {
        // 9007199254740993 = 2^53 + 1 is not representable as an f64.
        assert_eq!(parse_whole("9.007199254740993e15"), Ok((1 << 53) + 1));
        assert_eq!(parse_whole("2.5e9"), Ok(25 * 10u128.pow(8)));
    }

    #[test]
    fn rejects_fractions() {
        for text in ["1.5", "1500e-3", "1e-3", "0.5e0", "2.25e1", "1e-1000000000"] {
            let err = parse_whole(text).unwrap_err();
            assert!(err.contains("whole number"), "{text}: {err}");
        }
    }

    #[test]
    fn rejects_negative_and_unreadable_values() {
        assert!(parse_whole("-5").unwrap_err().contains("negative"));
        assert_eq!(
            parse_whole("-1e-999").unwrap_err(),
            "must not be negative, got -1e-999"
        );
        let err = parse_whole("--samples").unwrap_err();
        assert!(
            err.starts_with("'--samples' is not a whole number"),
            "{err}"
        );
        for text in [
            "", "abc", "1e", "e9", "1.2.3", "2^", "^3", "1__0", "_1", "1_", "0x10", "1e9.5", ".",
        ] {
            assert!(parse_whole(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn rejects_values_too_large_to_hold() {
        for text in [
            "1e40",
            "2^200",
            "99999999999999999999999999999999999999999",
            "1e1000000000",
        ] {
            assert!(
                parse_whole(text).unwrap_err().contains("too large"),
                "{text}"
            );
        }
    }

    #[test]
    fn timeouts_below_a_millisecond_are_refused() {
        assert_eq!(
            flags::timeout("1e-12").unwrap_err(),
            "must be at least 0.001 seconds, got 1e-12"
        );
        assert_eq!(
            flags::timeout("0").unwrap_err(),
            "must be more than 0 seconds, got 0"
        );
        assert_eq!(
            flags::timeout("0.001"),
            Ok(std::time::Duration::from_millis(1))
        );
        assert!(flags::timeout("NaN").is_err());
        assert!(flags::timeout("inf").unwrap_err().contains("too long"));
    }

    #[test]
    fn range_checks_name_the_bounds() {
        assert_eq!(parse_in_range("2^53", 1, 1 << 53), Ok(1 << 53));
        let err = parse_in_range("2^53+1", 1, 1 << 53).unwrap_err();
        assert!(err.contains("not a whole number"), "{err}");
        let err = parse_in_range("1e16", 1, 1 << 53).unwrap_err();
        assert_eq!(err, "must be between 1 and 2^53, got 1e16");
        let err = parse_in_range("0", 1, 4096).unwrap_err();
        assert_eq!(err, "must be between 1 and 4096, got 0");
        assert_eq!(
            parse_in_range("18446744073709551615", 0, u64::MAX),
            Ok(u64::MAX)
        );
        assert!(parse_in_range("18446744073709551616", 0, u64::MAX).is_err());
    }
}
