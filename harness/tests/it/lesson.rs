//! `piscale lesson race`: the course's bank account runs, prints its three
//! ways, and its JSON parses.

use serde_json::Value;

use crate::common::{assert_usage_error, piscale};

const SMALL: [&str; 6] = ["lesson", "race", "--operations", "1000", "--repeat", "2"];

#[test]
fn race_prints_the_three_ways_and_what_happened() {
    let out = piscale().args(SMALL).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", out.status);
    assert_eq!(stderr, "");
    for way in ["none", "lock", "atomic"] {
        let runs = stdout
            .lines()
            .filter(|l| l.trim_start().starts_with(&format!("{way} ")))
            .filter(|l| l.contains(" of 2000"))
            .count();
        assert_eq!(runs, 2, "{way}: {stdout}");
    }
    for said in [
        "balance.value = balance.value - 1",
        "with lock:",
        "What happened:",
    ] {
        assert!(stdout.contains(said), "no {said:?} in:\n{stdout}");
    }
}

#[test]
fn race_json_parses_and_lock_and_atomic_keep_the_balance() {
    let out = piscale()
        .args(SMALL)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (v["operations"].as_u64(), v["repeat"].as_u64()),
        (Some(1000), Some(2))
    );
    let trials = v["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 6);
    for t in trials {
        assert_eq!(t["deposits"], 1000, "{t}");
        assert_eq!(t["withdrawals"], 1000, "{t}");
        assert_eq!(t["expected"], 100, "{t}");
        let lost = t["lost"].as_u64().unwrap();
        assert_eq!(lost, t["balance"].as_i64().unwrap().abs_diff(100), "{t}");
        if t["way"] != "none" {
            assert_eq!((t["balance"].as_i64(), lost), (Some(100), 0), "{t}");
        }
    }
    assert!(v["explanation"]
        .as_str()
        .unwrap()
        .starts_with("What happened"));
}

#[test]
fn race_refuses_bad_flags_naming_them() {
    assert_usage_error(&["lesson", "race", "--operations", "0"], "--operations");
    assert_usage_error(&["lesson", "race", "--repeat", "-2"], "--repeat");
    assert_usage_error(&["lesson", "race", "--format", "csv"], "--format");
}
