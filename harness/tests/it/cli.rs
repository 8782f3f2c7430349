//! The `piscale` command line: what `list` shows, what `run` prints, that
//! every block backend gives the same answer, and that bad input is refused
//! with exit code 2 and a one-line message naming the flag.

use std::f64::consts::PI;
use std::process::Stdio;

use crate::common::{assert_usage_error, piscale, run_json};
use piscale_kernels::{BackendKind, Named, Update};
use predicates::prelude::*;
use strum::VariantArray;

/// Every backend `piscale list` names: the library's, from its one list
/// (`BackendKind::VARIANTS`, so a new backend is tested here without a
/// word changed), then `mpi`.
fn all_backends() -> Vec<&'static str> {
    BackendKind::VARIANTS
        .iter()
        .map(|k| k.name())
        .chain(["mpi"])
        .collect()
}

/// The backends whose answer is `serial`'s, bit for bit, at any worker
/// count: the block-decomposed ones but `shm-race`, which loses updates on
/// purpose. `serial` first.
fn block_backends() -> Vec<&'static str> {
    BackendKind::VARIANTS
        .iter()
        .filter(|k| k.is_block_decomposed() && k.update() != Some(Update::None))
        .map(|k| k.name())
        .collect()
}
/// Small enough to keep the suite fast, large enough for 46 blocks.
const SMALL_JOB: [&str; 6] = ["--samples", "3e6", "--block", "2^16", "--seed", "7"];

#[test]
fn list_names_both_methods_and_every_backend() {
    let out = piscale()
        .arg("list")
        .assert()
        .success()
        .stderr("")
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    for name in ["mc", "midpoint"].into_iter().chain(all_backends()) {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name));
        let line = line.unwrap_or_else(|| panic!("no line for {name} in:\n{text}"));
        assert!(
            line.split_whitespace().count() > 2,
            "{name} has no description: {line:?}"
        );
    }
    assert!(text.contains("per-core's mc answer depends"), "{text}");
}

#[test]
fn list_into_a_closed_pipe_is_not_an_error() {
    // The reader is gone before piscale writes: its write fails with EPIPE.
    let (read_end, write_end) = nix::unistd::pipe().unwrap();
    drop(read_end);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_piscale"));
    let out = cmd
        .arg("list")
        .stdout(Stdio::from(write_end))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn json_report_has_every_documented_field() {
    let v = run_json(&["--backend", "threads", "--workers", "2", "--samples", "1e6"]);
    let keys = [
        "method",
        "backend",
        "workers",
        "samples",
        "seed",
        "block",
        "chunksize",
        "estimate",
        "abs_error",
        "std_error",
        "error_bound",
        "hits",
        "wall_s",
        "spawn_s",
        "compute_s",
        "reduce_s",
        "setup_s",
        "samples_per_s",
        "samples_per_ns",
        "samples_per_ns_per_core",
        "cpus",
        "worker_compute_s",
    ];
    for key in keys {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert_eq!(v["method"], "mc");
    assert_eq!(v["backend"], "threads");
    assert_eq!(v["workers"], 2);
    assert_eq!(v["samples"], 1_000_000);
    assert_eq!(v["block"], 1 << 20);
    assert_eq!(v["cpus"].as_array().unwrap().len(), 2);
    assert_eq!(v["worker_compute_s"].as_array().unwrap().len(), 2);
    let per_s = v["samples_per_s"].as_f64().unwrap();
    let per_ns = v["samples_per_ns"].as_f64().unwrap();
    let per_core = v["samples_per_ns_per_core"].as_f64().unwrap();
    assert!(per_s > 0.0);
    assert!((per_ns - per_s / 1e9).abs() <= 1e-12 * per_ns);
    assert!((per_core - per_ns / 2.0).abs() <= 1e-12 * per_ns);
    let hits = v["hits"].as_u64().unwrap();
    assert_eq!(v["estimate"].as_f64().unwrap(), 4.0 * hits as f64 / 1e6);
}

#[test]
fn numbers_accept_scientific_and_power_notation() {
    let v = run_json(&["--samples", "2.5e5", "--block", "2^12", "--seed", "1_000"]);
    assert_eq!(v["samples"], 250_000);
    assert_eq!(v["block"], 4096);
    assert_eq!(v["seed"], 1000);
}

#[test]
fn mc_hits_are_identical_for_every_block_backend_and_worker_count() {
    let serial = run_json(&[&["--backend", "serial"][..], &SMALL_JOB].concat());
    let expected = serial["hits"].as_u64().unwrap();
    assert!(
        (serial["estimate"].as_f64().unwrap() - PI).abs()
            < 5.0 * serial["std_error"].as_f64().unwrap()
    );
    let backends = block_backends();
    assert_eq!(backends[0], "serial");
    for backend in &backends[1..] {
        for workers in ["1", "2", "3", "5"] {
            let v = run_json(
                &[
                    &["--backend", backend, "--workers", workers][..],
                    &SMALL_JOB,
                ]
                .concat(),
            );
            assert_eq!(
                v["hits"].as_u64(),
                Some(expected),
                "{backend} with {workers} workers"
            );
            assert_eq!(v["workers"].to_string(), workers);
        }
    }
}

#[test]
fn per_core_is_reproducible_for_a_fixed_worker_count() {
    let args = [&["--backend", "per-core", "--workers", "3"][..], &SMALL_JOB].concat();
    let (a, b) = (run_json(&args), run_json(&args));
    assert_eq!(a["hits"], b["hits"]);
    assert!((a["estimate"].as_f64().unwrap() - PI).abs() < 5.0 * a["std_error"].as_f64().unwrap());
}

#[test]
fn midpoint_is_within_1e_9_of_pi_on_every_backend() {
    // Every backend but the race (whose sum may lose updates on purpose).
    let built = all_backends()
        .into_iter()
        .filter(|&b| b != "shm-race")
        .filter(|b| cfg!(feature = "mpi") || *b != "mpi");
    for backend in built {
        let workers = if backend == "serial" { "1" } else { "3" };
        let v = run_json(&[
            "--method",
            "midpoint",
            "--backend",
            backend,
            "--workers",
            workers,
            "--samples",
            "1e6",
        ]);
        let estimate = v["estimate"].as_f64().unwrap();
        assert!((estimate - PI).abs() < 1e-9, "{backend}: {estimate}");
        assert!(v["hits"].is_null(), "{backend}: midpoint has no hits");
        assert!(v["std_error"].is_null());
        assert!(v["error_bound"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn pinned_runs_report_the_cpus_they_ran_on() {
    let v = run_json(
        &[
            &["--backend", "threads", "--workers", "2", "--pin", "compact"][..],
            &SMALL_JOB,
        ]
        .concat(),
    );
    let usable = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).unwrap();
    let first = (0..nix::sched::CpuSet::count())
        .find(|&c| usable.is_set(c).unwrap())
        .unwrap();
    assert_eq!(
        v["cpus"][0].as_u64(),
        Some(first as u64),
        "worker 0 runs on the first usable CPU: {v}"
    );
    assert_eq!(v["pin"], "compact");
}

#[test]
fn text_report_shows_estimate_error_timings_and_cpus() {
    let args = [
        &[
            "run",
            "--backend",
            "pool-map",
            "--workers",
            "2",
            "--chunksize",
            "3",
        ][..],
        &SMALL_JOB,
    ]
    .concat();
    let assert = piscale().args(&args).assert().success().stderr("");
    let text = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    for label in [
        "estimate",
        "error",
        "hits",
        "wall time",
        "setup",
        "throughput",
        "cpus",
    ] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(label)),
            "no {label} line in:\n{text}"
        );
    }
    assert!(text.contains("chunksize 3"), "{text}");
    assert!(text.contains("std error"), "{text}");
    assert!(
        text.contains("spawn") && text.contains("compute") && text.contains("reduce"),
        "{text}"
    );
}

#[test]
fn help_and_version_succeed() {
    piscale()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("run"));
    piscale()
        .args(["run", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--chunksize"));
    piscale()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn workers_out_of_range_is_a_usage_error() {
    let line = assert_usage_error(&["run", "--workers", "0"], "--workers");
    assert_eq!(
        line,
        "error: --workers: must be between 1 and 4096, got 0\n"
    );
    for bad in ["4097", "two", "1.5", "--workers=-1", "1e4"] {
        let args = if bad.starts_with("--") {
            vec!["run", bad]
        } else {
            vec!["run", "--workers", bad]
        };
        assert_usage_error(&args, "--workers");
    }
}

#[test]
fn bad_samples_are_usage_errors() {
    for bad in ["0", "abc", "2^54", "1e16", "1.5", "1e-3", "", "1e400"] {
        let line = assert_usage_error(&["run", "--samples", bad], "--samples");
        assert!(!line.contains("Usage"), "{line}");
    }
    assert_usage_error(&["run", "--samples=-5"], "negative");
}

#[test]
fn unknown_method_or_backend_is_a_usage_error() {
    assert_usage_error(&["run", "--method", "pi3"], "--method");
    assert_usage_error(&["run", "--backend", "gpu"], "--backend");
    assert_usage_error(&["run", "--format", "xml"], "--format");
}

#[test]
fn bad_cpu_lists_are_usage_errors() {
    for bad in ["", "1-", "a", "3-1", "0,,1", "99999"] {
        assert_usage_error(
            &[
                "run",
                "--backend",
                "threads",
                "--workers",
                "2",
                "--pin",
                bad,
            ],
            "--pin",
        );
    }
    // A well-formed list naming a CPU this process may not use.
    let usable = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).unwrap();
    let unusable = (0..nix::sched::CpuSet::count())
        .find(|&c| !usable.is_set(c).unwrap())
        .unwrap();
    let line = assert_usage_error(&["run", "--pin", &unusable.to_string()], "--pin");
    assert!(line.contains("not usable"), "{line}");
}

#[test]
fn zero_block_or_chunksize_is_a_usage_error() {
    assert_usage_error(&["run", "--block", "0"], "--block");
    assert_usage_error(
        &[
            "run",
            "--backend",
            "pool-map",
            "--workers",
            "2",
            "--chunksize",
            "0",
        ],
        "--chunksize",
    );
    // The alias is named as typed.
    let line = assert_usage_error(&["run", "--backend", "shm-lock", "--flush=0"], "--flush");
    assert!(line.starts_with("error: --flush: "), "{line}");
}

#[test]
fn sync_picks_a_shared_counter_backend_and_flush_its_updates() {
    let run = run_json(&[
        "--backend",
        "shm-race",
        "--sync",
        "atomic",
        "--workers",
        "2",
        "--flush",
        "3",
        "--samples",
        "3e6",
        "--block",
        "2^16",
    ]);
    assert_eq!(run["backend"], "shm-atomic");
    assert_eq!(run["chunksize"], 3);
    assert!(run["race"].is_null());
    let line = assert_usage_error(&["run", "--backend", "threads", "--sync", "lock"], "--sync");
    assert!(line.contains("not threads"), "{line}");
    assert_usage_error(&["sweep", "--backends", "rayon", "--sync", "none"], "sync");
}

#[test]
fn spawned_and_forkserver_workers_give_the_forked_ones_answer() {
    for backend in [
        "fork-pipe",
        "shm-reduce",
        "pool-map",
        "fork-queue",
        "shm-lock",
    ] {
        let args = |start| {
            [
                "--backend",
                backend,
                "--workers",
                "2",
                "--start",
                start,
                "--samples",
                "3e6",
                "--block",
                "2^16",
            ]
        };
        let forked = run_json(&args("fork"));
        assert_eq!(forked["start"], "fork", "{backend}");
        for start in ["spawn", "forkserver"] {
            let started = run_json(&args(start));
            assert_eq!(started["hits"], forked["hits"], "{backend} ({start})");
            assert_eq!(started["start"], start, "{backend}");
        }
        assert!(run_json(&args("forkserver"))["setup_s"].as_f64().unwrap() > 0.0);
    }
    let line = assert_usage_error(
        &["run", "--backend", "rayon", "--start", "spawn"],
        "--start",
    );
    assert!(line.contains("not rayon"), "{line}");
    assert_usage_error(
        &["run", "--backend", "fork-pipe", "--start", "vfork"],
        "--start",
    );
}

#[test]
fn serial_with_two_workers_is_a_usage_error() {
    let line = assert_usage_error(
        &["run", "--backend", "serial", "--workers", "2"],
        "--workers",
    );
    assert!(line.contains("serial"), "{line}");
}

#[test]
fn flags_a_backend_ignores_are_usage_errors() {
    assert_usage_error(
        &[
            "run",
            "--backend",
            "threads",
            "--workers",
            "2",
            "--chunksize",
            "4",
        ],
        "--chunksize",
    );
    assert_usage_error(
        &[
            "run",
            "--backend",
            "rayon",
            "--workers",
            "2",
            "--timeout",
            "5",
        ],
        "--timeout",
    );
    assert_usage_error(
        &[
            "run",
            "--backend",
            "fork-pipe",
            "--workers",
            "2",
            "--timeout",
            "0",
        ],
        "--timeout",
    );
    assert_usage_error(
        &["run", "--backend", "threads", "--hostfile", "hosts"],
        "--hostfile",
    );
    assert_usage_error(
        &["run", "--backend", "rayon", "--mpi-arg=--mca"],
        "--mpi-arg",
    );
}

#[cfg(not(feature = "mpi"))]
#[test]
fn mpi_without_the_feature_says_how_to_build_it() {
    let line = assert_usage_error(&["run", "--backend", "mpi", "--workers", "2"], "--backend");
    assert!(line.contains("--features mpi"), "{line}");
    let line = assert_usage_error(&["sweep", "--backends", "mpi"], "backends");
    assert!(line.contains("--features mpi"), "{line}");
}

#[test]
fn unknown_flags_are_one_line_usage_errors() {
    let line = assert_usage_error(&["run", "--worker", "2"], "--worker");
    assert!(
        line.contains("--workers"),
        "suggests the right flag: {line}"
    );
    assert_usage_error(&["run", "--workers"], "--workers");
}

#[test]
fn every_isa_path_gives_the_same_hits_and_is_reported() {
    let args = [
        "--method",
        "mc",
        "--backend",
        "threads",
        "--workers",
        "2",
        "--samples",
        "1e6",
        "--seed",
        "3",
    ];
    let auto = crate::common::run_json(&args);
    for isa in ["scalar", "avx2", "avx512"] {
        let out = crate::common::piscale()
            .arg("run")
            .args(args)
            .args(["--isa", isa, "--format", "json"])
            .output()
            .unwrap();
        if out.status.success() {
            let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(run["hits"], auto["hits"], "{isa}");
            assert_eq!(run["isa"], isa);
        } else {
            // A path this CPU lacks is bad input naming the flag.
            crate::common::assert_usage_error(&["run", "--isa", isa], "--isa");
        }
    }
}

#[test]
fn negative_numbers_after_a_space_name_their_flag() {
    let line = assert_usage_error(&["run", "--workers", "-1"], "--workers");
    assert_eq!(line, "error: --workers: must not be negative, got -1\n");
    for (flag, value) in [
        ("--samples", "-5"),
        ("--seed", "-3"),
        ("--timeout", "-1"),
        ("--block", "-2"),
        ("--chunksize", "-1"),
    ] {
        assert_usage_error(&["run", flag, value], flag);
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for (flag, value) in [
        ("--workers", "-1"),
        ("--samples", "-5"),
        ("--samples-per-worker", "-5"),
        ("--reps", "-1"),
        ("--warmup", "-1"),
        ("--seed", "-3"),
        ("--timeout", "-1"),
        ("--block", "-2"),
        ("--chunksize", "-2.5"),
    ] {
        let line = assert_usage_error(
            &["sweep", flag, value, "--out", out.to_str().unwrap()],
            flag,
        );
        assert!(
            line.contains("negative") || line.contains("more than 0"),
            "{line}"
        );
        assert!(!out.exists());
    }
}

#[test]
fn values_that_are_not_utf8_name_their_flag() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let bad = OsStr::from_bytes(b"\xff");
    for (command, flag) in [
        ("run", "--method"),
        ("run", "--backend"),
        ("run", "--workers"),
        ("run", "--pin"),
        ("run", "--bind-to"),
        ("sweep", "--methods"),
        ("sweep", "--workers"),
        ("sweep", "--timeout"),
    ] {
        let args = [OsStr::new(command), OsStr::new(flag), bad];
        let line = crate::common::assert_usage_error_os(&args, flag);
        assert_eq!(
            line,
            format!("error: {flag}: the value is not valid UTF-8\n")
        );
    }
}

#[test]
fn control_characters_in_a_value_are_shown_escaped_on_one_line() {
    let line = assert_usage_error(&["run", "--method", "a\nb\x1b[31m"], "--method");
    assert!(
        line.starts_with("error: --method: unknown method 'a\\nb\\u{1b}[31m'"),
        "{line:?}"
    );
}

/// Runs `piscale sweep --config FILE` on a config holding `text` and checks
/// it is refused naming `key`, with no output folder made.
fn assert_bad_config(text: &str, key: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.toml");
    std::fs::write(&file, text).unwrap();
    let out = dir.path().join("out");
    let line = assert_usage_error(
        &[
            "sweep",
            "--config",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        key,
    );
    assert!(line.contains("x.toml"), "{line}");
    assert!(!out.exists(), "the out dir was created");
    line
}

#[test]
fn a_duplicate_config_key_is_named() {
    let line = assert_bad_config("samples = 1\nsamples = 2\n", "samples");
    assert!(
        line.ends_with("x.toml:2:1: samples: duplicate key\n"),
        "{line}"
    );
}

#[test]
fn a_cpu_listed_twice_is_refused() {
    let line = assert_usage_error(
        &[
            "run",
            "--backend",
            "threads",
            "--workers",
            "2",
            "--pin",
            "0,0",
        ],
        "--pin",
    );
    assert_eq!(line, "error: --pin: CPU 0 appears twice in the list\n");
    assert_usage_error(&["sweep", "--pin", "0-1,1"], "--pin");
    let line = assert_bad_config("pin = \"0,0\"\n", "pin");
    assert!(line.contains("CPU 0 appears twice in the list"), "{line}");
}

#[test]
fn timeouts_under_a_millisecond_are_refused() {
    let line = assert_usage_error(
        &[
            "run",
            "--backend",
            "fork-pipe",
            "--workers",
            "2",
            "--timeout",
            "1e-12",
        ],
        "--timeout",
    );
    assert_eq!(
        line,
        "error: --timeout: must be at least 0.001 seconds, got 1e-12\n"
    );
    assert_usage_error(&["sweep", "--timeout", "0.0009"], "--timeout");
    let line = assert_bad_config("timeout_s = 1e-12\n", "timeout_s");
    assert!(
        line.contains("must be at least 0.001 seconds, got 1e-12"),
        "{line}"
    );
}

#[test]
fn a_sweep_says_how_many_runs_it_planned() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let assert = piscale()
        .args([
            "sweep",
            "--methods",
            "mc",
            "--backends",
            "threads",
            "--workers",
            "1,2",
            "--samples",
            "2^16",
            "--block",
            "2^12",
            "--reps",
            "2",
            "--warmup",
            "1",
            "--pin",
            "none",
            "--capacity",
            "0.01",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    // serial@1, capacity@1 and @2, threads@1 and threads@2.
    assert_eq!(
        stderr.lines().next(),
        Some("planned 5 points × 2 repetitions (+ 1 warm-up runs each) = 15 runs"),
        "{stderr}"
    );
}

#[test]
fn command_kernels_are_checked_before_anything_is_written() {
    let command = |name: &str, run: &str| {
        format!("backends = [\"serial\"]\n[[command]]\nname = \"{name}\"\nrun = '''{run}'''\n")
    };
    let line = assert_bad_config(&command("a", "python3 -c 'print(1)"), "command 'a'");
    assert!(line.contains("run: cannot split"), "{line}");
    let line = assert_bad_config(&command("a", "mpirun -n {procs} x"), "{procs}");
    assert!(
        line.contains("command 'a': run: unknown placeholder {procs}"),
        "{line}"
    );
    let line = assert_bad_config(&command("=cmd|' /C calc'!A0", "x"), "command #1: name");
    assert!(line.contains("must not start with"), "{line}");
    let text = "[[command]]\nname = \"\\u001b]0;x\\u0007\"\nrun = \"x\"\n";
    let line = assert_bad_config(text, "command #1: name");
    assert!(line.contains("control characters"), "{line:?}");
}

#[test]
fn config_files_are_read_only_up_to_a_mebibyte() {
    let line = assert_usage_error(&["sweep", "--config", "/dev/zero"], "/dev/zero");
    assert_eq!(
        line,
        "error: /dev/zero: the config file is larger than 1 MiB\n"
    );
}

#[test]
fn unknown_mpi_bindings_are_refused_before_the_launcher_runs() {
    let line = assert_usage_error(
        &[
            "run",
            "--backend",
            "mpi",
            "--workers",
            "2",
            "--bind-to",
            "banana",
        ],
        "--bind-to",
    );
    assert!(
        line.starts_with("error: --bind-to: unknown binding 'banana' (expected "),
        "{line}"
    );
    let line = assert_bad_config(
        "backends = [\"mpi\"]\nworkers = [1]\n[mpi]\nbind_to = \"banana\"\n",
        "mpi.bind_to",
    );
    assert!(line.contains("unknown binding 'banana'"), "{line}");
}
