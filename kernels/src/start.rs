//! How a process backend's workers start: Python's `multiprocessing` start
//! methods ([`StartMethod`]), measured as an axis of every process backend.
//!
//! - `fork`: the worker is a copy of the parent, and runs its work at once
//!   (the Linux default until Python 3.14).
//! - `spawn`: the worker is a fresh execution of the program — `fork`, then
//!   `execv` of `/proc/self/exe` — told its work on the command line and
//!   handed its descriptors at fixed numbers (its pipe to the parent as 3,
//!   shared memory as a memfd at 4, a task or queue pipe at 5). Everything it
//!   needs crosses the `exec` explicitly, as with Python's spawn (the default
//!   on macOS and Windows). The program must call [`serve_if_worker`] first
//!   thing in `main`; `piscale` does.
//!
//! - `forkserver`: a fork server — the program run again, so it has one
//!   thread and a clean memory — is started with the backend's first
//!   workers and forks each worker on request over a Unix socket, the
//!   descriptors passed with `SCM_RIGHTS` (Python's design; its default on
//!   Linux since 3.14). See `backends/forkserver.rs`.
//!
//! A spawned worker is still the parent's child: it is reaped, killed,
//! timed out and named exactly like a forked one, and it dies with its
//! parent (`PR_SET_PDEATHSIG` survives `execve`). A fork server's workers
//! are the server's children: the parent reaps them through it.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::named::Named;

/// How a process backend's workers start (`--start`).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::Display,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum StartMethod {
    /// A copy of the parent (`fork`).
    #[default]
    Fork,
    /// A fresh execution of the program (`fork` + `execv`).
    Spawn,
    /// Forked by a fork server: a fresh execution of the program started
    /// with the backend, which forks every worker on request.
    Forkserver,
}

impl Named for StartMethod {
    const WHAT: &'static str = "start method";
}

/// The first argument of a spawned worker's command line.
pub const WORKER_ARG: &str = "__piscale-worker";

/// The first argument of a fork server's command line.
pub const SERVER_ARG: &str = "__piscale-forkserver";

static PROGRAM: OnceLock<PathBuf> = OnceLock::new();

/// Makes spawned workers run `program` instead of this process's own
/// executable: for a program that cannot serve as a worker itself (a test
/// binary), pass one that calls [`serve_if_worker`]. Only the first call
/// counts; returns whether it did.
pub fn set_worker_program(program: PathBuf) -> bool {
    PROGRAM.set(program).is_ok()
}

/// What a spawned worker executes: [`set_worker_program`]'s, else this
/// process's own executable (through `/proc/self/exe`, which still works
/// after the file was replaced, by a rebuild for instance).
pub(crate) fn worker_program() -> PathBuf {
    PROGRAM
        .get()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("/proc/self/exe"))
}

/// When this process was started as a spawned worker (its first argument is
/// [`WORKER_ARG`]), does the work it was given and exits; otherwise returns
/// at once. Call it first thing in `main`, before anything else starts.
pub fn serve_if_worker() {
    let mut args = std::env::args_os();
    let first = args.nth(1);
    let rest: Vec<OsString> = args.collect();
    let served = if first.as_deref() == Some(WORKER_ARG.as_ref()) {
        crate::backends::serve_spawned(&rest)
    } else if first.as_deref() == Some(SERVER_ARG.as_ref()) {
        crate::backends::serve_forks()
    } else {
        return;
    };
    let code = match served {
        Ok(code) => code,
        Err(why) => {
            eprintln!("piscale worker: {why}");
            2
        }
    };
    std::process::exit(code)
}
