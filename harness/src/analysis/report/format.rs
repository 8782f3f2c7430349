//! Numbers as the reports print them: times with a unit, speed-ups with a
//! `×`, percentages, amounts of work (`2^24`, `2e9`), byte sizes. Shared by
//! the report and `piscale compare`, so the same figure reads the same in
//! both.

/// `2e9`, `1.5e6`, `2^30`: the one spelling of an amount of work, shared
/// with the sweep's table and the plots.
pub(crate) use crate::sweep::table::work;

/// A unit for a time: the largest of s, ms, µs, ns that keeps it ≥ 1.
pub(crate) fn time_unit(seconds: f64) -> (&'static str, f64) {
    let s = seconds.abs();
    if s >= 1.0 || s == 0.0 || !s.is_finite() {
        ("s", 1.0)
    } else if s >= 1e-3 {
        ("ms", 1e3)
    } else if s >= 1e-6 {
        ("µs", 1e6)
    } else {
        ("ns", 1e9)
    }
}

/// Three significant figures (more for values of 1000 and above).
pub(crate) fn sig3(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        format!("{v}")
    } else if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A time in its own unit: `4.67 ms`, `1.23 s`, `850 µs`.
pub(crate) fn time(seconds: f64) -> String {
    let (unit, scale) = time_unit(seconds);
    format!("{} {unit}", sig3(seconds * scale))
}

/// An interval in the unit of `reference` (usually the median it brackets):
/// `4.66–4.83 ms`.
pub(crate) fn time_range(low: f64, high: f64, reference: f64) -> String {
    let (unit, scale) = time_unit(reference);
    format!("{}–{} {unit}", sig3(low * scale), sig3(high * scale))
}

/// `1.88×`; `∞` for an unbounded one.
pub(crate) fn times(x: f64) -> String {
    if x.is_infinite() && x > 0.0 {
        "∞".to_string()
    } else {
        format!("{x:.2}×")
    }
}

/// `94%`.
pub(crate) fn percent(fraction: f64) -> String {
    format!("{:.0}%", fraction * 100.0)
}

/// A serial fraction: `0.031`, `-0.050` (a negative one means super-linear).
pub(crate) fn fraction(f: f64) -> String {
    if f == 0.0 {
        // Never print `-0.000`.
        "0.000".to_string()
    } else {
        format!("{f:.3}")
    }
}

/// A byte count in binary units: `32 KiB`, `23.5 GiB`.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 || v.fract() == 0.0 {
        format!("{v:.0} {}", UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_pick_a_unit_and_three_figures() {
        assert_eq!(time(0.004666383), "4.67 ms");
        assert_eq!(time(1.234), "1.23 s");
        assert_eq!(time(123.4), "123 s");
        assert_eq!(time(0.000_85), "850 µs");
        assert_eq!(time(0.000_012_34), "12.3 µs");
        assert_eq!(time(5e-8), "50.0 ns");
        assert_eq!(time_range(0.00466, 0.00483, 0.0047), "4.66–4.83 ms");
        assert_eq!(time_range(0.0009, 0.0011, 0.001), "0.90–1.10 ms");
    }

    #[test]
    fn ratios_fractions_and_sizes() {
        assert_eq!(times(1.8765), "1.88×");
        assert_eq!(times(f64::INFINITY), "∞");
        assert_eq!(percent(0.9351), "94%");
        assert_eq!(fraction(0.03149), "0.031");
        assert_eq!(fraction(-0.0502), "-0.050");
        assert_eq!(fraction(-0.0), "0.000");
        assert_eq!(bytes(32768), "32 KiB");
        assert_eq!(bytes(33_554_432), "32 MiB");
        assert_eq!(bytes(25_276_063_744), "23.5 GiB");
        assert_eq!(bytes(512), "512 B");
    }
}
