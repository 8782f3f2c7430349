//! Numbers as piscale prints them, in one place: times with a unit,
//! speed-ups with a `×`, percentages, amounts of work (`2^24`, `2e9`), byte
//! sizes, axis ticks. The terminal, the reports, the plots and `piscale
//! compare` all spell a figure the same way.

/// `2e9`, `1.5e6`, `2^30` or the plain number, whichever reads best: the
/// one spelling of an amount of work in tables, plots and reports.
pub(crate) fn work(n: u64) -> String {
    let digits = n.to_string();
    let significant = digits.trim_end_matches('0');
    if n >= 10_000 && digits.len() - significant.len() >= 3 {
        let (first, rest) = significant.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        return format!("{first}{dot}{rest}e{}", digits.len() - 1);
    }
    if n >= 10_000 && n.is_power_of_two() {
        return format!("2^{}", n.trailing_zeros());
    }
    digits
}

/// A unit for a time: the largest of s, ms, µs, ns that keeps it ≥ 1
/// (seconds for zero and for what is not a number), and the factor from
/// seconds.
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

/// A rate to three significant figures at any size: `2.84`, `0.00662`,
/// `1130`.
pub(crate) fn rate(v: f64) -> String {
    if !v.is_finite() || v == 0.0 || v.abs() >= 100.0 {
        return sig3(v);
    }
    let decimals = (2.0 - v.abs().log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
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

/// `1.88×`; below 0.1, two significant digits (`0.0023×`: an interpreted
/// script against piscale's serial kernel, never `0.00×`); `∞` for an
/// unbounded one.
pub(crate) fn times(x: f64) -> String {
    if x.is_infinite() && x > 0.0 {
        "∞".to_string()
    } else if x > 0.0 && x < 0.1 {
        let decimals = (1.0 - x.log10().floor()) as usize;
        format!("{x:.decimals$}×")
    } else {
        format!("{x:.2}×")
    }
}

/// `94%`.
pub(crate) fn percent(fraction: f64) -> String {
    format!("{:.0}%", fraction * 100.0)
}

/// A share of a whole in words, to the nearest per cent: `6 %`, `92 %`.
pub(crate) fn share(fraction: f64) -> String {
    format!("{:.0} %", fraction * 100.0)
}

/// A probability or a share in words: `56 %`, `95 %` (rounded down, so
/// never more than it is), one decimal below 10 % (`7.8 %`).
pub(crate) fn probability(fraction: f64) -> String {
    let pct = fraction * 100.0;
    if pct < 10.0 {
        format!("{pct:.1} %")
    } else {
        format!("{} %", pct.floor() as u64)
    }
}

/// A serial fraction: `0.031`, `-0.050` (a negative one means super-linear).
pub(crate) fn fraction(f: f64) -> String {
    let s = format!("{f:.3}");
    if s == "-0.000" {
        // A tiny negative one is no sign of anything.
        "0.000".to_string()
    } else {
        s
    }
}

/// A fitted coefficient with its 95 % interval: the half-width to two
/// significant figures, the value to the same decimals (at least three,
/// as [`fraction`]): `0.058 ± 0.080`, `-0.0037 ± 0.0065`,
/// `0.000200 ± 0.000011`. An interval too narrow to show (exact synthetic
/// data) leaves the value three significant figures.
pub(crate) fn estimate(value: f64, half_width: f64) -> String {
    // Below this a coefficient is rounding error of an exact fit.
    const NIL: f64 = 1e-12;
    let value = if value.abs() < NIL { 0.0 } else { value };
    let first_digit = |x: f64| x.abs().log10().floor() as i32;
    let d = if half_width > NIL.max(1e-6 * value.abs()) {
        1 - first_digit(half_width)
    } else if value != 0.0 {
        2 - first_digit(value)
    } else {
        3
    };
    let d = d.clamp(3, 9) as usize;
    let value = if value == 0.0 { 0.0 } else { value }; // never `-0.000`
    format!("{value:.d$} ± {:.d$}", half_width.max(0.0))
}

/// A relative error (a fit's RMS residual) as a percentage, two
/// significant figures: `1.2%`, `0.42%`, `35%`; `< 0.01%` below that.
pub(crate) fn relative_error(x: f64) -> String {
    let pct = 100.0 * x.abs();
    if pct < 0.01 {
        "< 0.01%".to_string()
    } else {
        let d = (1 - pct.log10().floor() as i32).clamp(0, 2) as usize;
        format!("{pct:.d$}%")
    }
}

/// A run's phase time as `piscale run` prints it, with three decimals:
/// `2.500 s`, `12.500 ms`, `42.0 µs` (never ns).
pub(crate) fn precise_time(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 1e-3 {
        format!("{:.3} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}

/// An axis tick label: three significant digits at most, no trailing zeros
/// (`0.25`, `1`, `12.5`, `300`).
pub(crate) fn tick(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    let decimals = (2 - v.abs().log10().floor() as i32).clamp(0, 9) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
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
    fn coefficients_show_their_interval_to_two_figures() {
        assert_eq!(estimate(0.05812, 0.0803), "0.058 ± 0.080");
        assert_eq!(estimate(-0.0037, 0.00651), "-0.0037 ± 0.0065");
        assert_eq!(estimate(2.0e-4, 1.14e-5), "0.000200 ± 0.000011");
        assert_eq!(estimate(1.036, 0.2), "1.036 ± 0.200");
        assert_eq!(estimate(0.01, 1e-15), "0.0100 ± 0.0000", "exact fit");
        assert_eq!(estimate(-1e-19, 1e-20), "0.000 ± 0.000");
        assert_eq!(relative_error(0.01234), "1.2%");
        assert_eq!(relative_error(0.0042), "0.42%");
        assert_eq!(relative_error(0.35), "35%");
        assert_eq!(relative_error(0.0), "< 0.01%");
    }

    #[test]
    fn run_times_keep_three_decimals() {
        assert_eq!(precise_time(2.5), "2.500 s");
        assert_eq!(precise_time(0.0125), "12.500 ms");
        assert_eq!(precise_time(42e-6), "42.0 µs");
        assert_eq!(precise_time(0.0), "0.0 µs");
    }

    #[test]
    fn work_reads_as_people_write_it() {
        assert_eq!(work(2_000_000_000), "2e9");
        assert_eq!(work(1_500_000), "1.5e6");
        assert_eq!(work(100_000_000), "1e8");
        assert_eq!(work(1 << 30), "2^30");
        assert_eq!(work(123_456), "123456");
        assert_eq!(work(1000), "1000");
    }

    #[test]
    fn ticks_read_as_people_write_them() {
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(1.0), "1");
        assert_eq!(tick(1.5), "1.5");
        assert_eq!(tick(12.5), "12.5");
        assert_eq!(tick(300.0), "300");
        assert_eq!(tick(0.002), "0.002");
        assert_eq!(tick(2.0000000001), "2");
    }

    #[test]
    fn time_units_follow_the_size() {
        assert_eq!(time_unit(2.0).0, "s");
        assert_eq!(time_unit(0.02).0, "ms");
        assert_eq!(time_unit(2e-5).0, "µs");
        assert_eq!(time_unit(2e-8).0, "ns");
        assert_eq!(time_unit(0.0).0, "s");
        assert_eq!(time_unit(f64::NAN).0, "s");
    }

    #[test]
    fn ratios_fractions_and_sizes() {
        assert_eq!(times(1.8765), "1.88×");
        assert_eq!(times(f64::INFINITY), "∞");
        // Python against piscale's serial kernel: never 0.00×.
        assert_eq!(times(0.002317), "0.0023×");
        assert_eq!(times(0.05), "0.050×");
        assert_eq!(times(0.1), "0.10×");
        assert_eq!(times(0.0), "0.00×");
        assert_eq!(rate(2.8412), "2.84");
        assert_eq!(rate(0.0066213), "0.00662");
        assert_eq!(rate(12.345), "12.3");
        assert_eq!(rate(1234.0), "1234");
        assert_eq!(percent(0.9351), "94%");
        assert_eq!(fraction(0.03149), "0.031");
        assert_eq!(fraction(-0.0502), "-0.050");
        assert_eq!(fraction(-0.0), "0.000");
        assert_eq!(fraction(-0.0002), "0.000");
        assert_eq!(bytes(32768), "32 KiB");
        assert_eq!(bytes(33_554_432), "32 MiB");
        assert_eq!(bytes(25_276_063_744), "23.5 GiB");
        assert_eq!(bytes(512), "512 B");
    }
}
