//! The `mpi` backend across two hosts on one machine: two network
//! namespaces, each with its own address and host name, made by
//! `scripts/two-hosts.sh`, with `mpirun` in the root namespace starting its
//! daemons in them through the script's `rsh-agent` (in place of ssh).
//!
//! These need root; `.ci/run` runs them with `cargo test -p piscale
//! --features mpi -- --ignored cluster::`. Where namespaces cannot be made
//! (`two-hosts.sh up` exits 3) each test says "skipped: why" and passes.
//!
//! Every test makes its own pair of hosts, tagged with this process's pid
//! and a letter of its own, so the tests run side by side without sharing
//! names or subnets (the script picks a free /24 under a lock).

#![cfg(feature = "mpi")]

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::run_json;
use crate::mpi::{assert_no_rank_left, rank_once_all_run, KillOnDrop};

/// Two namespace "hosts" made by `two-hosts.sh up`; dropping it runs `down`,
/// which also kills anything still running in them.
struct TwoHosts {
    dir: tempfile::TempDir,
    /// The hosts' names, as in the hostfile: also their namespaces' names
    /// and the host names their processes see.
    hosts: [String; 2],
    /// The launcher arguments that use them (`--mca plm_rsh_agent …`).
    mpi_args: Vec<String>,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/two-hosts.sh")
}

impl TwoHosts {
    /// Makes the hosts for the test marked `letter`, or says why it is
    /// skipped and returns `None` when this machine cannot make them.
    fn up(letter: char) -> Option<TwoHosts> {
        let dir = tempfile::tempdir().unwrap();
        // Unique among the tests of this run and runs side by side.
        let tag = format!("{:x}{letter}", std::process::id());
        let out = Command::new("bash")
            .arg(script())
            .args(["up".as_ref(), dir.path().as_os_str(), tag.as_ref()])
            .output()
            .expect("bash runs two-hosts.sh");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() == Some(3) {
            eprintln!("skipped: {}", stderr.trim());
            return None;
        }
        // From here on, drop takes down whatever `up` made, even half of it.
        let mut guard = TwoHosts {
            dir,
            hosts: Default::default(),
            mpi_args: Vec::new(),
        };
        assert!(out.status.success(), "two-hosts.sh up: {stderr}");
        let read = |name: &str| std::fs::read_to_string(guard.dir.path().join(name)).unwrap();
        let hosts: Vec<String> = read("hostfile")
            .lines()
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect();
        let mpi_args = read("mpi-args").lines().map(String::from).collect();
        guard.hosts = hosts.try_into().expect("two hosts in the hostfile");
        guard.mpi_args = mpi_args;
        Some(guard)
    }

    /// A hostfile with `slots` slots on each host (Open MPI fills a host's
    /// slots before the next's).
    fn hostfile(&self, slots: usize) -> PathBuf {
        let path = self.dir.path().join(format!("hostfile-{slots}"));
        let text: String = self
            .hosts
            .iter()
            .map(|h| format!("{h} slots={slots}\n"))
            .collect();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `piscale run` arguments for `ranks` ranks on the hosts, `slots`
    /// each.
    fn run_args(&self, ranks: usize, slots: usize) -> Vec<String> {
        let mut args = vec![
            "--backend".to_string(),
            "mpi".into(),
            "--workers".into(),
            ranks.to_string(),
            "--hostfile".into(),
            self.hostfile(slots).display().to_string(),
        ];
        args.extend(self.mpi_args.iter().map(|a| format!("--mpi-arg={a}")));
        args
    }

    /// The inode of host `i`'s network namespace, as `/proc/PID/ns/net`
    /// of a process inside it shows.
    fn netns_inode(&self, i: usize) -> u64 {
        std::fs::metadata(Path::new("/run/netns").join(&self.hosts[i]))
            .unwrap()
            .ino()
    }
}

impl Drop for TwoHosts {
    fn drop(&mut self) {
        let out = Command::new("bash")
            .arg(script())
            .arg("down")
            .arg(self.dir.path())
            .output();
        match out {
            Ok(out) if out.status.success() => {}
            // No panic in a drop, which may run while a test is failing.
            other => eprintln!("two-hosts.sh down {}: {other:?}", self.dir.path().display()),
        }
    }
}

fn run_on(hosts: &TwoHosts, ranks: usize, slots: usize, job: &[&str]) -> Value {
    let mut args: Vec<&str> = job.to_vec();
    let mpi = hosts.run_args(ranks, slots);
    args.extend(mpi.iter().map(String::as_str));
    let v = run_json(&args);
    assert_eq!(v["backend"], "mpi", "{v}");
    assert_eq!(v["workers"].as_u64(), Some(ranks as u64), "{v}");
    v
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn numbers(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect()
}

/// The CPUs ranks pin themselves to with `--pin compact`: local rank r (the
/// r-th rank on its host) to the r-th usable CPU, wrapping.
fn compact_cpu(local_rank: usize) -> u64 {
    let usable = piscale_kernels::CpuList::usable().unwrap().0;
    usable[local_rank % usable.len()] as u64
}

const MC: [&str; 6] = ["--method", "mc", "--samples", "1e8", "--seed", "3"];

fn serial_hits() -> u64 {
    let serial = run_json(&[&MC[..], &["--backend", "serial"]].concat());
    serial["hits"].as_u64().unwrap()
}

#[test]
#[ignore = "needs root and network namespaces: run by .ci/run (cargo test --features mpi -- --ignored cluster::)"]
fn two_ranks_one_per_host_return_serials_hits() {
    let Some(hosts) = TwoHosts::up('a') else {
        return;
    };
    let v = run_on(&hosts, 2, 1, &[&MC[..], &["--pin", "compact"]].concat());
    assert_eq!(v["hits"].as_u64(), Some(78_540_512), "{v}");
    assert_eq!(v["hits"].as_u64(), Some(serial_hits()));
    assert_eq!(strings(&v["hosts"]), hosts.hosts, "{v}");
    // Each rank is alone on its host: local rank 0 on both.
    assert_eq!(numbers(&v["cpus"]), [compact_cpu(0), compact_cpu(0)], "{v}");
}

#[test]
#[ignore = "needs root and network namespaces: run by .ci/run (cargo test --features mpi -- --ignored cluster::)"]
fn four_ranks_two_per_host_fill_the_first_host_first() {
    let Some(hosts) = TwoHosts::up('b') else {
        return;
    };
    let v = run_on(&hosts, 4, 2, &[&MC[..], &["--pin", "compact"]].concat());
    assert_eq!(v["hits"].as_u64(), Some(78_540_512), "{v}");
    assert_eq!(v["hits"].as_u64(), Some(serial_hits()));
    // Open MPI maps by slot: ranks 0 and 1 on the first host, 2 and 3 on
    // the second.
    let [a, b] = [hosts.hosts[0].as_str(), hosts.hosts[1].as_str()];
    assert_eq!(strings(&v["hosts"]), [a, a, b, b], "{v}");
    let (c0, c1) = (compact_cpu(0), compact_cpu(1));
    assert_eq!(numbers(&v["cpus"]), [c0, c1, c0, c1], "{v}");
}

#[test]
#[ignore = "needs root and network namespaces: run by .ci/run (cargo test --features mpi -- --ignored cluster::)"]
fn midpoint_on_three_ranks_across_hosts_is_bit_identical_to_serial() {
    let Some(hosts) = TwoHosts::up('c') else {
        return;
    };
    let job = ["--method", "midpoint", "--samples", "3e7", "--block", "1e5"];
    let serial = run_json(&[&job[..], &["--backend", "serial"]].concat());
    let v = run_on(&hosts, 3, 2, &job);
    assert_eq!(v["estimate"], serial["estimate"], "{v}");
    let [a, b] = [hosts.hosts[0].as_str(), hosts.hosts[1].as_str()];
    assert_eq!(strings(&v["hosts"]), [a, a, b], "{v}");
}

#[test]
#[ignore = "needs root and network namespaces: run by .ci/run (cargo test --features mpi -- --ignored cluster::)"]
fn a_rank_killed_on_the_second_host_fails_the_run_naming_it_and_its_host() {
    const SEED: u64 = 535_353;
    let Some(hosts) = TwoHosts::up('d') else {
        return;
    };
    // Declared after the hosts, so dropped before them: the run ends first.
    let run = KillOnDrop(Some(
        Command::new(env!("CARGO_BIN_EXE_piscale"))
            .args(["run", "--samples", "2^42", "--seed", &SEED.to_string()])
            .args(["--timeout", "60"])
            .args(hosts.run_args(2, 1))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    let victim = rank_once_all_run(SEED, 2, 1, Duration::from_secs(30));
    // One rank a host: rank 1 is on the second.
    let netns = std::fs::metadata(format!("/proc/{victim}/ns/net"))
        .unwrap()
        .ino();
    assert_eq!(
        netns,
        hosts.netns_inode(1),
        "rank 1 is not in {}",
        hosts.hosts[1]
    );
    assert_ne!(netns, hosts.netns_inode(0));
    // Let the ranks get into their compute loops.
    std::thread::sleep(Duration::from_millis(300));
    let killed = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(victim),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let out = run.wait_with_output();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let want = format!(
        "rank 1 (pid {victim} on {}) was killed by signal 9",
        hosts.hosts[1]
    );
    assert!(stderr.contains(&want), "wanted {want:?} in {stderr}");
    assert!(
        killed.elapsed() < Duration::from_secs(30),
        "took {:?}",
        killed.elapsed()
    );
    // mpirun takes the other rank down, on the other host.
    assert_no_rank_left(SEED);
}
