//! `piscale machine`: the probe runs, prints its sections (or one JSON
//! object), refuses bad flags and stops on Ctrl-C.

use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

use crate::common::{assert_usage_error, piscale, piscale_process};

/// A short probe: 10 ms per curve run, one round.
const SHORT: [&str; 5] = ["machine", "--duration", "0.01", "--reps", "1"];

fn usable() -> Vec<u64> {
    piscale_kernels::CpuList::usable()
        .unwrap()
        .0
        .into_iter()
        .map(|c| c as u64)
        .collect()
}

#[test]
fn a_short_probe_prints_every_section() {
    let out = piscale().args(SHORT).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for section in [
        "piscale machine: mc",
        "Topology: ",
        "usable CPU",
        "Each CPU's rate alone and under full load",
        "Capacity C(p)",
        "Load: ",
        "during the probe: steal",
    ] {
        assert!(stdout.contains(section), "no {section:?} in:\n{stdout}");
    }
    let last = stdout.lines().last().unwrap();
    assert!(last.starts_with("this machine "), "{last}");
    // One row per usable CPU in the CPU table.
    let n = usable().len();
    let rows = stdout
        .lines()
        .skip_while(|l| !l.starts_with("Each CPU"))
        .skip(2)
        .take_while(|l| !l.is_empty())
        .count();
    assert_eq!(rows, n, "{stdout}");
}

#[test]
fn json_has_c1_of_one_and_an_alone_rate_per_usable_cpu() {
    let out = piscale()
        .args(SHORT)
        .args(["--format", "json", "--method", "midpoint"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", out.status);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["method"], "midpoint");
    assert_eq!(v["reps"], 1);
    let curve = v["curve"].as_array().unwrap();
    assert_eq!(curve[0]["workers"], 1);
    assert_eq!(curve[0]["capacity"], 1.0);
    let usable = usable();
    assert_eq!(
        curve.last().unwrap()["workers"].as_u64(),
        Some(usable.len() as u64)
    );
    let cpus = v["cpus"].as_array().unwrap();
    let ids: Vec<u64> = cpus.iter().map(|c| c["cpu"].as_u64().unwrap()).collect();
    assert_eq!(ids, usable);
    for c in cpus {
        assert!(c["alone_samples_per_ns"].as_f64().unwrap() > 0.0, "{c}");
        assert!(c["load_samples_per_ns"].as_f64().unwrap() > 0.0, "{c}");
    }
    assert_eq!(v["layout"]["cpus"].as_u64(), Some(usable.len() as u64));
    assert!(v["load"]["steal_s"].as_f64().unwrap() >= 0.0);
    assert!(v["verdict"].as_str().unwrap().starts_with("this machine "));
}

#[test]
fn bad_flags_are_one_line_naming_the_flag() {
    for (args, flag) in [
        (&["machine", "--duration", "0"][..], "--duration"),
        (&["machine", "--duration", "-1"], "--duration"),
        (&["machine", "--duration", "1e9"], "--duration"),
        (&["machine", "--reps", "0"], "--reps"),
        (&["machine", "--reps", "x"], "--reps"),
        (&["machine", "--method", "pi"], "--method"),
        (&["machine", "--format", "xml"], "--format"),
        (&["machine", "--isa", "sse9"], "--isa"),
        (&["machine", "--workers", "2"], "--workers"),
    ] {
        assert_usage_error(args, flag);
    }
}

#[test]
fn ctrl_c_stops_the_probe_with_status_130() {
    let child = piscale_process()
        .args(["machine", "--duration", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{out:?}");
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "{:?}",
        sent.elapsed()
    );
    assert!(out.stdout.is_empty());
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), "interrupted");
}
