//! A worker killed in the middle of a real `piscale run`: the binary exits
//! non-zero within 5 s, names the worker, and leaves no process behind.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::common::children_of;

fn alive(pid: i32) -> bool {
    // A zombie still has a /proc entry; only a reaped process has none.
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Kills the piscale process and its workers if a test fails half-way.
struct Reaper(Child, Vec<i32>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for &pid in &self.1 {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kill_a_worker_of(backend: &str) {
    let child = Command::new(env!("CARGO_BIN_EXE_piscale"))
        .args([
            "run",
            "--backend",
            backend,
            "--workers",
            "2",
            "--samples",
            "2^50",
            "--block",
            "2^16",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut guard = Reaper(child, Vec::new());
    let pid = guard.0.id();
    let start = Instant::now();
    while children_of(pid).len() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{backend}: workers did not start"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    let workers = children_of(pid);
    guard.1 = workers.clone();
    let (victim, survivor) = (workers[1], workers[0]);
    kill(Pid::from_raw(victim), Signal::SIGKILL).unwrap();
    let killed = Instant::now();
    let status = loop {
        if let Some(status) = guard.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(5),
            "{backend}: piscale still running 5 s after the kill"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(guard.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{backend}: {stderr}");
    assert!(
        stderr.contains(&format!("(pid {victim}) was killed by signal SIGKILL"))
            && stderr.contains("worker "),
        "{backend}: {stderr}"
    );
    assert!(
        !alive(victim) && !alive(survivor),
        "{backend}: a worker outlived piscale"
    );
}

#[test]
fn killing_a_fork_pipe_worker_fails_the_run_cleanly() {
    kill_a_worker_of("fork-pipe");
}

#[test]
fn killing_a_shm_reduce_worker_fails_the_run_cleanly() {
    kill_a_worker_of("shm-reduce");
}

#[test]
fn killing_a_pool_map_worker_fails_the_run_cleanly() {
    kill_a_worker_of("pool-map");
}
