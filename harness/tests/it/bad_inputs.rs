//! Hostile values for every number, list and name flag of `run` and
//! `sweep`: each is refused with exit code 2, nothing on stdout, one line on
//! stderr naming the flag, and (for a sweep) no output folder.
//!
//! Every value generated is invalid for every flag tested (no class holds a
//! valid worker count, CPU list, timeout or name), so a case that starts a
//! run is a bug, not a test artefact.

use std::cell::Cell;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::common::piscale;

/// Cases per flag: enough to touch every class of value, few enough that
/// both files of flags (about 1,200 runs of piscale) take seconds.
const CASES: u32 = 24;

const RUN_FLAGS: [&str; 13] = [
    "--start",
    "--sync",
    "--workers",
    "--samples",
    "--seed",
    "--block",
    "--chunksize",
    "--timeout",
    "--pin",
    "--method",
    "--backend",
    "--isa",
    "--format",
];

const SWEEP_FLAGS: [&str; 15] = [
    "--sync",
    "--workers",
    "--samples",
    "--samples-per-worker",
    "--seed",
    "--block",
    "--chunksize",
    "--timeout",
    "--reps",
    "--warmup",
    "--pin",
    "--methods",
    "--backends",
    "--modes",
    "--isa",
];

/// Flags that take any value after a space, even one starting with `-`
/// (clap hands it to the parser, which names the flag); to the others, `-1`
/// is a flag of its own.
const TAKE_NEGATIVE: [&str; 11] = [
    "--workers",
    "--samples",
    "--samples-per-worker",
    "--seed",
    "--block",
    "--chunksize",
    "--timeout",
    "--reps",
    "--warmup",
    "--pin",
    "--threshold",
];

fn text(s: impl Into<String>) -> OsString {
    OsString::from(s.into())
}

/// `-N` and `-N.M`, and negative numbers in the harness's other notations
/// (exponents included: clap would not read `-1e-3` as a number).
fn negative() -> impl Strategy<Value = OsString> {
    prop_oneof![
        any::<u64>().prop_map(|n| text(format!("-{n}"))),
        (0u32..1000, 1u32..1000).prop_map(|(a, b)| text(format!("-{a}.{b}"))),
        prop::sample::select(vec![
            "-0", "-1e9", "-1e-3", "-1e-999", "-0x10", "-2^3", "-1_000", "-inf"
        ])
        .prop_map(text),
    ]
}

/// Numbers beyond every range (u64, 2^53, seconds a `Duration` holds).
fn huge() -> impl Strategy<Value = OsString> {
    prop_oneof![
        prop::sample::select(vec![
            "1e40",
            "2^999",
            "1e999",
            "18446744073709551616",
            "340282366920938463463374607431768211456",
        ])
        .prop_map(text),
        (20usize..60).prop_map(|n| text("9".repeat(n))),
    ]
}

/// Notations no flag reads, and fractions too small for a timeout.
fn special() -> impl Strategy<Value = OsString> {
    prop::sample::select(vec![
        "", " ", "\t", "1e-999", "NaN", "nan", "0x10", "0b101", "2^999", "inf", "1,,2", "1..",
        "..", ",", "0.0001", "1e-12", "1.5.2", "1e", "e9",
    ])
    .prop_map(text)
}

/// ASCII letters and digits around one character no flag's value holds:
/// non-ASCII, not white space (which parsers trim away).
fn unicode() -> impl Strategy<Value = OsString> {
    let odd = prop::sample::select(vec![
        'π', '€', '三', 'é', '٣', '１', 'Ω', 'ß', '😀', '\u{202e}', '\u{200b}',
    ]);
    ("[a-z0-9]{0,4}", odd, "[a-z0-9]{0,4}").prop_map(|(a, c, b)| text(format!("{a}{c}{b}")))
}

/// A control character between two words (inside, so no trim removes it).
fn control() -> impl Strategy<Value = OsString> {
    let c = prop::sample::select(vec![
        '\x01', '\x07', '\x08', '\x1b', '\x7f', '\n', '\r', '\t', '\u{85}', '\u{9b}',
    ]);
    ("[a-z0-9]{1,4}", c, "[a-z0-9]{1,4}").prop_map(|(a, c, b)| text(format!("{a}{c}{b}")))
}

/// Kilobytes of one value.
fn long() -> impl Strategy<Value = OsString> {
    (
        1000usize..5000,
        prop::sample::select(vec!["9", "a", "1,", "π"]),
    )
        .prop_map(|(n, unit)| text(unit.repeat(n)))
}

/// Bytes that are not UTF-8 in an otherwise plain value.
fn not_utf8() -> impl Strategy<Value = OsString> {
    (
        "[a-z0-9]{0,3}",
        prop::sample::select(vec![0xffu8, 0x80, 0xc3]),
    )
        .prop_map(|(a, b)| {
            let mut bytes = a.into_bytes();
            bytes.push(b);
            OsString::from_vec(bytes)
        })
}

fn hostile() -> impl Strategy<Value = OsString> {
    prop_oneof![
        negative(),
        huge(),
        special(),
        unicode(),
        control(),
        long(),
        not_utf8(),
    ]
}

/// `piscale ARGS` is refused: exit 2, nothing on stdout, one stderr line
/// naming `flag`, and `out` (if given) not created.
fn refused(args: &[&OsStr], flag: &str, out: Option<&Path>) -> Result<(), TestCaseError> {
    let result = piscale().args(args).output().expect("piscale runs");
    let stderr = String::from_utf8_lossy(&result.stderr);
    prop_assert_eq!(result.status.code(), Some(2), "{:?}: {}", args, stderr);
    prop_assert!(result.stdout.is_empty(), "{:?} printed on stdout", args);
    prop_assert_eq!(stderr.lines().count(), 1, "{:?}: {:?}", args, stderr);
    prop_assert!(stderr.ends_with('\n'), "{:?}: {:?}", args, stderr);
    prop_assert!(stderr.contains(flag), "{:?}: {:?}", args, stderr);
    if let Some(out) = out {
        prop_assert!(!out.exists(), "{:?} created {}", args, out.display());
    }
    Ok(())
}

/// Gives `value` to `flag` of `command` as `--flag=VALUE` and, where clap
/// would not take the value for a flag of its own, as `--flag VALUE`.
/// Returns how many command lines were tried.
fn check_flag(command: &str, flag: &str) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut base: Vec<OsString> = vec![command.into()];
    if command == "sweep" {
        base.extend(["--out".into(), out.clone().into_os_string()]);
    }
    let out = (command == "sweep").then_some(out.as_path());
    let config = Config {
        failure_persistence: None,
        ..Config::with_cases(CASES)
    };
    let mut runner = TestRunner::new(config);
    let tried = Cell::new(0);
    let result = runner.run(&hostile(), |value| {
        let mut joined = OsString::from(format!("{flag}="));
        joined.push(&value);
        let mut args: Vec<&OsStr> = base.iter().map(OsString::as_os_str).collect();
        args.push(&joined);
        tried.set(tried.get() + 1);
        refused(&args, flag, out)?;
        let spaced = !value.as_bytes().starts_with(b"-") || TAKE_NEGATIVE.contains(&flag);
        if spaced {
            args.pop();
            args.extend([OsStr::new(flag), value.as_os_str()]);
            tried.set(tried.get() + 1);
            refused(&args, flag, out)?;
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("piscale {command} {flag}: {e}");
    }
    tried.get()
}

#[test]
fn hostile_run_flag_values_are_refused_naming_the_flag() {
    let tried: usize = RUN_FLAGS.iter().map(|flag| check_flag("run", flag)).sum();
    eprintln!("bad inputs to `run`: {tried} tried, {tried} refused cleanly");
}

#[test]
fn hostile_sweep_flag_values_are_refused_naming_the_flag_and_write_nothing() {
    let tried: usize = SWEEP_FLAGS
        .iter()
        .map(|flag| check_flag("sweep", flag))
        .sum();
    eprintln!("bad inputs to `sweep`: {tried} tried, {tried} refused cleanly");
}
