//! What the three process backends share: forking a worker safely, reading
//! its pipe with a deadline, reaping it, and describing how it died.
//!
//! # Fork safety
//! The parent may have other threads (a test harness, a progress bar) that
//! hold the allocator's or stdio's locks at the moment of `fork`; in the child
//! those locks stay held forever. So a child only computes on the stack,
//! talks through `read(2)`/`write(2)` or shared memory, and leaves with
//! `_exit(2)`. A panic cannot unwind out of a child: [`ExitOnUnwind`] turns it
//! into `_exit(101)` before any parent code could run in the child.
//!
//! # No zombies, no hangs
//! Every child has a pipe whose write end only that child holds: end-of-file
//! on it means the child has exited (like Python's `Process.sentinel`). The
//! parent polls those pipes with the job's deadline, then reaps with
//! `waitpid`, which returns at once for an exited child. [`Children`] kills
//! and reaps whatever is left when it is dropped, on every error path.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe2, read, ForkResult, Pid};

use crate::cancel;
use crate::error::{Error, OsContext, Result};
use crate::report::{WorkerOutcome, OUTCOME_BYTES};

/// A forked worker and the read end of its pipe.
#[derive(Debug)]
pub(crate) struct ChildProc {
    /// Worker index.
    pub worker: usize,
    /// Process id.
    pub pid: Pid,
    /// Read end of the pipe the child writes to (EOF = the child exited).
    pub from_child: OwnedFd,
    /// Whether `waitpid` has collected it.
    reaped: bool,
}

/// Exits the child process if it ever unwinds (a bug): never return into
/// the parent's code on the child's side of a `fork`.
struct ExitOnUnwind;

impl Drop for ExitOnUnwind {
    fn drop(&mut self) {
        // SAFETY: `_exit` is async-signal-safe and never returns; it is only
        // reached while unwinding in a forked child.
        unsafe { libc::_exit(101) }
    }
}

/// Forks worker `worker`, which runs `body(pipe to the parent)` and exits
/// with the status it returns. `close_in_child` lists descriptors the child
/// must not keep (other workers' write ends, so their EOFs still happen).
///
/// `body` must be async-signal-safe: no allocation, no locks, no stdio,
/// no panics. It runs in a copy of this process that has only one thread.
pub(crate) fn spawn_child<F>(worker: usize, close_in_child: &[RawFd], body: F) -> Result<ChildProc>
where
    F: FnOnce(BorrowedFd<'_>) -> i32,
{
    // O_CLOEXEC: a program that another thread spawns meanwhile must not
    // inherit the write end, or our EOF would wait for that program.
    let (from_child, to_parent) = pipe2(OFlag::O_CLOEXEC).os("pipe2")?;
    // SAFETY: the child branch below only closes descriptors, runs `body`
    // (async-signal-safe by this function's contract) and calls `_exit`; it
    // never returns into code that could allocate or take a lock.
    match unsafe { fork() }.os("fork")? {
        ForkResult::Child => {
            let _exit_on_unwind = ExitOnUnwind;
            // The parent may catch SIGINT/SIGTERM to stop gracefully; a
            // worker should just die of them (Ctrl-C reaches the whole group).
            for sig in [libc::SIGINT, libc::SIGTERM] {
                // SAFETY: `signal` with SIG_DFL is async-signal-safe and
                // touches no Rust state.
                unsafe { libc::signal(sig, libc::SIG_DFL) };
            }
            drop(from_child);
            for &fd in close_in_child {
                // SAFETY: `close` is async-signal-safe; these descriptors are
                // copies this child must not hold and nothing here uses them.
                unsafe { libc::close(fd) };
            }
            let status = body(to_parent.as_fd());
            // SAFETY: `_exit` is async-signal-safe and skips atexit handlers
            // and stdio flushing, which belong to the parent.
            unsafe { libc::_exit(status) }
        }
        ForkResult::Parent { child } => {
            drop(to_parent);
            Ok(ChildProc {
                worker,
                pid: child,
                from_child,
                reaped: false,
            })
        }
    }
}

/// Writes all of `bytes`; async-signal-safe. Returns false on failure.
pub(crate) fn write_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        match nix::unistd::write(fd, bytes) {
            Ok(0) => return false,
            Ok(n) => bytes = &bytes[n.min(bytes.len())..],
            Err(Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
    true
}

/// Reads exactly `buf.len()` bytes; async-signal-safe. Returns how many
/// bytes arrived before end-of-file or an error.
pub(crate) fn read_full(fd: BorrowedFd<'_>, buf: &mut [u8]) -> usize {
    let mut got = 0;
    while got < buf.len() {
        match read(fd, &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::EINTR) => {}
            Err(_) => break,
        }
    }
    got
}

/// Says how a child ended, for error messages.
pub(crate) fn describe(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exited with status {code}"),
        WaitStatus::Signaled(_, sig, _) => format!("was killed by signal {}", sig.as_str()),
        other => format!("stopped unexpectedly ({other:?})"),
    }
}

/// A set of forked workers, killed and reaped on drop.
#[derive(Debug, Default)]
pub(crate) struct Children {
    pub procs: Vec<ChildProc>,
}

impl Children {
    pub(crate) fn with_capacity(n: usize) -> Children {
        Children {
            procs: Vec::with_capacity(n),
        }
    }

    /// Reaps child `i` (blocking: call it once its pipe reached EOF or after
    /// killing it) and returns how it ended.
    pub(crate) fn reap(&mut self, i: usize) -> Result<WaitStatus> {
        let child = &mut self.procs[i];
        loop {
            match waitpid(child.pid, None) {
                Err(Errno::EINTR) => continue,
                Ok(WaitStatus::StillAlive)
                | Ok(WaitStatus::Stopped(..))
                | Ok(WaitStatus::Continued(_)) => continue,
                other => {
                    child.reaped = true;
                    return other.os("waitpid");
                }
            }
        }
    }

    /// Kills (SIGKILL) and reaps every child not yet reaped.
    pub(crate) fn kill_all(&mut self) {
        for c in self.procs.iter().filter(|c| !c.reaped) {
            let _ = kill(c.pid, Signal::SIGKILL);
        }
        for i in 0..self.procs.len() {
            if !self.procs[i].reaped {
                let _ = self.reap(i);
                self.procs[i].reaped = true;
            }
        }
    }

    /// Reaps child `i` after its pipe reached EOF; an error naming the worker
    /// unless it exited with status 0.
    pub(crate) fn reap_clean(&mut self, i: usize) -> Result<()> {
        match self.reap(i)? {
            WaitStatus::Exited(_, 0) => Ok(()),
            status => Err(self.died(i, describe(status))),
        }
    }

    /// The error for child `i` having died `how`.
    pub(crate) fn died(&self, i: usize, how: String) -> Error {
        let c = &self.procs[i];
        Error::WorkerDied {
            worker: c.worker,
            pid: c.pid.as_raw(),
            how,
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// A deadline from an optional timeout.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    at: Option<Instant>,
    timeout: Duration,
}

impl Deadline {
    pub(crate) fn after(timeout: Option<Duration>) -> Deadline {
        Deadline {
            at: timeout.map(|t| Instant::now() + t),
            timeout: timeout.unwrap_or_default(),
        }
    }

    /// Time left for one `poll`, rounded up to whole milliseconds.
    fn poll_timeout(&self) -> PollTimeout {
        match self.at {
            None => PollTimeout::NONE,
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                let ms = left.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128);
                PollTimeout::try_from(ms as i32).unwrap_or(PollTimeout::MAX)
            }
        }
    }

    fn passed(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() >= at)
    }

    /// Like [`poll_timeout`](Self::poll_timeout), but waking at least every
    /// [`cancel::CHECK_EVERY`] to look for a cancellation request.
    fn poll_slice(&self) -> PollTimeout {
        let check = PollTimeout::try_from(cancel::CHECK_EVERY).unwrap_or(PollTimeout::MAX);
        let left = self.poll_timeout();
        if left.is_none() || left > check {
            check
        } else {
            left
        }
    }
}

/// Polls the pipes of the children whose `open[i]` is true; returns the
/// indices that are readable (data or EOF). `Err(Timeout)` when the deadline
/// passes first, naming the first child still open.
pub(crate) fn wait_readable(
    children: &Children,
    open: &[bool],
    deadline: Deadline,
) -> Result<Vec<usize>> {
    loop {
        let idx: Vec<usize> = (0..open.len()).filter(|&i| open[i]).collect();
        let mut fds: Vec<PollFd<'_>> = idx
            .iter()
            .map(|&i| PollFd::new(children.procs[i].from_child.as_fd(), PollFlags::POLLIN))
            .collect();
        let polled = poll(&mut fds, deadline.poll_slice());
        if cancel::requested() {
            return Err(Error::Cancelled);
        }
        match polled {
            Err(Errno::EINTR) => continue,
            Err(e) => {
                return Err(Error::Os {
                    context: "poll",
                    source: e,
                })
            }
            Ok(0) if !deadline.passed() => {}
            Ok(0) => {
                let worker = children.procs[idx[0]].worker;
                return Err(Error::Timeout {
                    worker,
                    timeout: deadline.timeout,
                });
            }
            Ok(_) => {
                let ready: Vec<usize> = fds
                    .iter()
                    .zip(&idx)
                    .filter(|(fd, _)| fd.revents().is_some_and(|r| !r.is_empty()))
                    .map(|(_, &i)| i)
                    .collect();
                if !ready.is_empty() {
                    return Ok(ready);
                }
            }
        }
    }
}

/// Collects one [`WorkerOutcome`] per child: from its pipe (`from_pipe`) or,
/// when the outcome travels another way, only the child's clean exit.
/// Fails fast, naming the worker, on the first child that dies, writes a
/// short record or outlives the deadline; every child is killed and reaped.
pub(crate) fn gather(
    children: &mut Children,
    deadline: Deadline,
    from_pipe: bool,
) -> Result<Vec<Option<WorkerOutcome>>> {
    let n = children.procs.len();
    let mut bufs = vec![[0u8; OUTCOME_BYTES]; n];
    let mut got = vec![0usize; n];
    let mut open = vec![true; n];
    let mut left = n;
    let result = (|| {
        while left > 0 {
            for i in wait_readable(children, &open, deadline)? {
                let fd = children.procs[i].from_child.as_fd();
                let mut extra = [0u8; 1];
                let dst = if got[i] < OUTCOME_BYTES {
                    &mut bufs[i][got[i]..]
                } else {
                    &mut extra[..]
                };
                match read(fd, dst) {
                    Err(Errno::EINTR) | Err(Errno::EAGAIN) => {}
                    Err(e) => {
                        return Err(Error::Os {
                            context: "read from worker",
                            source: e,
                        })
                    }
                    Ok(0) => {
                        open[i] = false;
                        left -= 1;
                        children.reap_clean(i)?;
                        let expected = if from_pipe { OUTCOME_BYTES } else { 0 };
                        if got[i] != expected {
                            let how = format!(
                                "exited after writing {} of {expected} result bytes",
                                got[i]
                            );
                            return Err(children.died(i, how));
                        }
                    }
                    Ok(k) => got[i] += k,
                }
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        children.kill_all();
        return Err(e);
    }
    Ok(bufs
        .iter()
        .map(|b| {
            if from_pipe {
                WorkerOutcome::from_bytes(b)
            } else {
                None
            }
        })
        .collect())
}

/// The raw descriptor of a child's pipe, for `close_in_child` lists.
pub(crate) fn raw(fd: &OwnedFd) -> RawFd {
    fd.as_raw_fd()
}
