//! Helpers shared by the `piscale` binary's integration tests.

use std::ffi::OsStr;

use assert_cmd::Command;
use serde_json::Value;

/// A command for the `piscale` binary built by this test run.
pub fn piscale() -> Command {
    Command::cargo_bin("piscale").expect("the piscale binary is built for integration tests")
}

/// The same as a plain `std::process::Command`, for tests that spawn it.
pub fn piscale_process() -> std::process::Command {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("piscale"))
}

/// Runs `piscale run --format json ARGS`, checks it succeeded with nothing
/// on stderr, and returns the one JSON object it printed.
pub fn run_json(args: &[&str]) -> Value {
    let out = piscale()
        .arg("run")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("piscale runs");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 stdout");
    let stderr = String::from_utf8(out.stderr).expect("UTF-8 stderr");
    assert!(
        out.status.success(),
        "piscale run {args:?} failed ({}): {stderr}",
        out.status
    );
    assert_eq!(stderr, "", "piscale run {args:?} wrote to stderr");
    assert_eq!(
        stdout.lines().count(),
        1,
        "expected one JSON line, got {stdout:?}"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// Checks that `piscale ARGS` is refused as a usage error: exit code 2,
/// nothing on stdout, and one line on stderr that mentions `flag`.
/// Returns that line.
pub fn assert_usage_error(args: &[&str], flag: &str) -> String {
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    assert_usage_error_os(&args, flag)
}

/// [`assert_usage_error`] for arguments that need not be UTF-8.
pub fn assert_usage_error_os(args: &[&OsStr], flag: &str) -> String {
    let out = piscale().args(args).output().expect("piscale runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "piscale {args:?}: exit status {}, stderr {stderr:?}",
        out.status
    );
    assert_eq!(stdout, "", "piscale {args:?} printed on stdout");
    assert_eq!(
        stderr.lines().count(),
        1,
        "piscale {args:?}: stderr is not one line: {stderr:?}"
    );
    assert!(
        stderr.contains(flag),
        "piscale {args:?}: stderr does not name {flag}: {stderr:?}"
    );
    stderr
}

/// Pids whose parent is `parent`, from `/proc/*/stat` (zombies included).
pub fn children_of(parent: u32) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The command name is in parentheses and may hold spaces: skip past it.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        if rest.split_whitespace().nth(1) == Some(&parent.to_string()) {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    pids
}
