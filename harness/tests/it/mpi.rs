//! The `mpi` backend on a real Open MPI: `cargo test -p piscale --features mpi`.
//!
//! Every test starts `mpirun`; a unique seed per test marks its ranks in
//! `/proc`, so tests running side by side never touch each other's ranks.

#![cfg(feature = "mpi")]

use std::time::{Duration, Instant};

use crate::common::{piscale, run_json};
use serde_json::Value;

/// Pids of the ranks (`piscale mpi-worker` processes) of the run with
/// `seed`, with each one's rank when its environment says (Open MPI's
/// `OMPI_COMM_WORLD_RANK` under mpirun, Slurm's `SLURM_PROCID` under srun).
pub fn ranks_with_seed(seed: u64) -> Vec<(i32, Option<u32>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        // The launcher's own command line holds the same words further on.
        let is_rank = args.get(1).is_some_and(|a| a == "mpi-worker")
            && args
                .windows(2)
                .any(|w| w[0] == "--seed" && w[1] == seed.to_string());
        if !is_rank {
            continue;
        }
        // The launcher tells each rank its rank in the environment.
        let rank = std::fs::read(entry.path().join("environ"))
            .ok()
            .and_then(|env| {
                env.split(|&b| b == 0).find_map(|kv| {
                    let kv = String::from_utf8_lossy(kv);
                    ["OMPI_COMM_WORLD_RANK=", "SLURM_PROCID="]
                        .iter()
                        .find_map(|var| kv.strip_prefix(var).and_then(|r| r.parse().ok()))
                })
            });
        found.push((pid, rank));
    }
    found
}

/// Waits until no rank of the run with `seed` is left (zombies count as
/// gone only once reaped), at most 10 s.
pub fn assert_no_rank_left(seed: u64) {
    let start = Instant::now();
    while !ranks_with_seed(seed).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "ranks left running: {:?}",
            ranks_with_seed(seed)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The pid of rank `rank` of the run with `seed`, once all its `ranks`
/// ranks run; fails the test after `within`.
pub fn rank_once_all_run(seed: u64, ranks: usize, rank: u32, within: Duration) -> i32 {
    let start = Instant::now();
    loop {
        let found = ranks_with_seed(seed);
        if let Some(&(pid, _)) = found.iter().find(|(_, r)| *r == Some(rank)) {
            if found.len() == ranks {
                return pid;
            }
        }
        assert!(
            start.elapsed() < within,
            "the ranks never started: {found:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills (SIGTERM: piscale then stops mpirun and its ranks; salloc revokes
/// its allocation) and reaps a launch left behind by a failed assertion.
pub struct KillOnDrop(pub Option<std::process::Child>);

impl KillOnDrop {
    /// Waits for the process to end, with what it printed.
    pub fn wait_with_output(mut self) -> std::process::Output {
        let child = self.0.take().expect("a child to wait for");
        child.wait_with_output().expect("the child is waited for")
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let _ = child.wait();
        }
    }
}

fn hits(v: &Value) -> u64 {
    v["hits"].as_u64().expect("an mc run reports hits")
}

#[test]
fn mpi_at_1_2_and_3_ranks_returns_serials_hits() {
    let job = ["--method", "mc", "--samples", "1e8", "--seed", "3"];
    let serial = run_json(&[&job[..], &["--backend", "serial"]].concat());
    assert_eq!(hits(&serial), 78_540_512);
    for ranks in ["1", "2", "3"] {
        let mpi = run_json(&[&job[..], &["--backend", "mpi", "--workers", ranks]].concat());
        assert_eq!(hits(&mpi), hits(&serial), "{ranks} ranks");
        assert_eq!(mpi["backend"], "mpi");
        assert_eq!(mpi["workers"].as_u64(), Some(ranks.parse().unwrap()));
        let phases = ["spawn_s", "compute_s", "reduce_s"].map(|k| mpi[k].as_f64().unwrap());
        let wall = mpi["wall_s"].as_f64().unwrap();
        assert!(phases.iter().all(|&p| p >= 0.0), "{mpi}");
        assert!((phases.iter().sum::<f64>() - wall).abs() < 1e-9, "{mpi}");
    }
}

#[test]
fn mpi_midpoint_is_bit_identical_to_serial() {
    let job = ["--method", "midpoint", "--samples", "3e7", "--block", "1e5"];
    let serial = run_json(&[&job[..], &["--backend", "serial"]].concat());
    let mpi = run_json(&[&job[..], &["--backend", "mpi", "--workers", "3"]].concat());
    assert_eq!(mpi["estimate"], serial["estimate"]);
}

#[test]
fn ranks_report_their_cpu_and_host() {
    let v = run_json(&[
        "--backend",
        "mpi",
        "--workers",
        "2",
        "--pin",
        "compact",
        "--samples",
        "2^22",
        "--seed",
        "11",
    ]);
    let usable: Vec<u64> = piscale_kernels::CpuList::usable()
        .unwrap()
        .0
        .iter()
        .map(|&c| c as u64)
        .collect();
    let cpus: Vec<u64> = v["cpus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    // Rank r pins itself to the r-th usable CPU (wrapping on a 1-CPU machine).
    let want: Vec<u64> = (0..2).map(|r| usable[r % usable.len()]).collect();
    assert_eq!(cpus, want, "{v}");
    let hosts = v["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 2);
    assert!(hosts.iter().all(|h| !h.as_str().unwrap().is_empty()), "{v}");
}

#[test]
fn a_sweep_with_mpi_writes_mpi_rows_with_the_ranks_cpus_and_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let result = piscale()
        .args([
            "sweep",
            "--backends",
            "mpi",
            "--methods",
            "mc",
            "--workers",
            "1,2",
        ])
        .args([
            "--samples",
            "2^22",
            "--reps",
            "2",
            "--warmup",
            "0",
            "--seed",
            "12",
        ])
        .args(["--pin", "compact", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let mut reader = csv::Reader::from_path(out.join("raw.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let mpi: Vec<&csv::StringRecord> = rows
        .iter()
        .filter(|r| &r[col("backend")] == "mpi")
        .collect();
    assert_eq!(mpi.len(), 4, "2 worker counts × 2 reps");
    let serial_estimate = rows
        .iter()
        .find(|r| &r[col("backend")] == "serial")
        .map(|r| r[col("estimate")].to_string())
        .unwrap();
    for r in mpi {
        let workers: usize = r[col("workers")].parse().unwrap();
        assert_eq!(&r[col("status")], "ok");
        assert_eq!(&r[col("placement_ok")], "true");
        assert_eq!(r[col("cpus")].split(';').count(), workers);
        assert_eq!(r[col("hosts")].split(';').count(), workers);
        assert_eq!(r[col("estimate")], serial_estimate);
    }
}

/// Starts `piscale run --backend mpi` on 2 ranks with `seed` (and `extra`
/// flags), waits until both ranks compute, and returns the run and rank
/// 1's pid.
fn two_ranks_computing(seed: u64, extra: &[&str]) -> (KillOnDrop, i32) {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_piscale"))
        .args([
            "run",
            "--backend",
            "mpi",
            "--workers",
            "2",
            "--samples",
            "2^42",
        ])
        .args(["--seed", &seed.to_string()])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // If an assertion fails before the end, the run must not outlive the test.
    let child = KillOnDrop(Some(child));
    let victim = rank_once_all_run(seed, 2, 1, Duration::from_secs(30));
    // Let the ranks get into their compute loops.
    std::thread::sleep(Duration::from_millis(300));
    (child, victim)
}

fn signal(pid: i32, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).unwrap();
}

#[test]
fn killing_a_rank_fails_the_run_naming_the_rank_and_leaves_no_rank() {
    const SEED: u64 = 424_242;
    let (mut child, victim) = two_ranks_computing(SEED, &["--timeout", "60"]);
    let start = Instant::now();
    signal(victim, nix::sys::signal::Signal::SIGKILL);
    let out = child.0.take().unwrap().wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rank 1") && stderr.contains("signal 9"),
        "{stderr}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "took {:?}",
        start.elapsed()
    );
    assert_no_rank_left(SEED);
}

#[test]
fn a_stopped_rank_fails_a_run_without_a_timeout_naming_the_rank() {
    const SEED: u64 = 434_343;
    let (mut child, victim) = two_ranks_computing(SEED, &[]);
    let start = Instant::now();
    signal(victim, nix::sys::signal::Signal::SIGSTOP);
    let out = child.0.take().unwrap().wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("rank 1 (pid {victim}")) && stderr.contains("was stopped"),
        "{stderr}"
    );
    // Found at the second of two looks at most 2 s apart.
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
    assert_no_rank_left(SEED);
}

#[test]
fn killing_piscale_ends_mpirun_and_every_rank() {
    const SEED: u64 = 444_545;
    let (mut child, _) = two_ranks_computing(SEED, &[]);
    let mut run = child.0.take().unwrap();
    signal(run.id() as i32, nix::sys::signal::Signal::SIGKILL);
    let _ = run.wait();
    // mpirun gets SIGTERM when piscale dies, and stops its ranks.
    assert_no_rank_left(SEED);
    let launcher_left = || {
        std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            text.contains("mpirun") && text.contains(&format!("--seed {SEED} "))
        })
    };
    let start = Instant::now();
    while launcher_left() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "mpirun left running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_run_past_its_timeout_is_killed_with_all_its_ranks() {
    const SEED: u64 = 515_151;
    let start = Instant::now();
    let out = piscale()
        .args([
            "run",
            "--backend",
            "mpi",
            "--workers",
            "2",
            "--samples",
            "2^42",
        ])
        .args(["--seed", &SEED.to_string(), "--timeout", "2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("timed out after 2 s"), "{stderr}");
    assert!(start.elapsed() < Duration::from_secs(20));
    assert_no_rank_left(SEED);
}

#[test]
fn a_sweep_point_past_its_timeout_is_a_failed_row() {
    // mpirun alone takes longer than 0.1 s to start the ranks; serial, the
    // baseline every sweep measures, takes a few ms (and has no timeout).
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let result = piscale()
        .args([
            "sweep",
            "--backends",
            "mpi",
            "--methods",
            "mc",
            "--workers",
            "2",
        ])
        .args([
            "--samples",
            "2^22",
            "--reps",
            "1",
            "--warmup",
            "0",
            "--seed",
            "616161",
        ])
        .args(["--timeout", "0.1", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(1));
    let raw = std::fs::read_to_string(out.join("raw.csv")).unwrap();
    let mpi_row = raw.lines().find(|l| l.contains(",mpi,")).unwrap();
    assert!(
        mpi_row.contains("failed") && mpi_row.contains("timed out"),
        "{mpi_row}"
    );
    assert_no_rank_left(616_161);
}

#[test]
fn no_mpirun_on_path_is_a_usage_error_naming_the_packages() {
    let empty = tempfile::tempdir().unwrap();
    let out = piscale()
        .args(["run", "--backend", "mpi", "--workers", "2"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--backend") && stderr.contains("mpirun") && stderr.contains("openmpi-bin"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    let sweep_out = empty.path().join("never");
    let out = piscale()
        .args(["sweep", "--backends", "mpi", "--out"])
        .arg(&sweep_out)
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("backends: mpi: `mpirun` is not on PATH"));
    assert!(!sweep_out.exists(), "a refused sweep wrote its folder");
}
