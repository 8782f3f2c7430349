//! The watchdog: a small process that outlives a SIGKILLed piscale just
//! long enough to end what piscale's commands and MPI launchers started.
//!
//! `PR_SET_PDEATHSIG` makes a program piscale started die with it, but only
//! that program: the processes *it* started (the workers of a Python
//! `multiprocessing.Pool`, a child that called `setsid`) would compute on,
//! holding the caller's terminal. Nothing of piscale runs after a SIGKILL,
//! so the first command piscale runs starts `piscale watchdog` beside it
//! (not between piscale and the command: it costs the timings nothing). It
//! blocks reading a pipe whose only writer is piscale; when piscale dies,
//! however it dies, the kernel closes that pipe, the read returns, and the
//! watchdog kills every process carrying one of piscale's run tags
//! ([`Tag::kill_every_run_of`]). It runs in a process group of its own, so
//! that Ctrl-C at the terminal, which piscale handles, does not reach it.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use super::tree::Tag;

/// The running watchdog, kept (never written to) for as long as piscale
/// lives: its stdin is the pipe it waits on.
static WATCHDOG: Mutex<Option<Child>> = Mutex::new(None);

/// Starts the watchdog if it is not running yet. A watchdog that cannot
/// start costs only the protection it gives: the run goes on.
pub fn ensure_started() {
    // A unit test's binary is not piscale: it has no watchdog subcommand.
    if cfg!(test) {
        return;
    }
    let Ok(mut slot) = WATCHDOG.lock() else {
        return;
    };
    if slot.is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let started = Command::new(exe)
        .args(["watchdog", "--parent", &std::process::id().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
    if let Ok(child) = started {
        *slot = Some(child);
    }
}

/// The `piscale watchdog --parent PID` subcommand: waits for end-of-file on
/// stdin (piscale gone), then kills every process of `parent`'s runs.
pub fn watch(parent: u32) {
    let mut stdin = std::io::stdin();
    let mut byte = [0u8; 64];
    loop {
        match stdin.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    Tag::kill_every_run_of(parent);
}
