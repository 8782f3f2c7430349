//! What the process backends share: forking a worker safely, waiting
//! on its pipe with a deadline, reaping it, and describing how it died.
//!
//! # Fork safety
//! The parent may have other threads (a test harness, a progress bar) that
//! hold the allocator's or stdio's locks at the moment of `fork`; in the child
//! those locks stay held forever. So a child only computes on the stack,
//! talks through `read(2)`/`write(2)` or shared memory, and leaves with
//! `_exit(2)`. A panic cannot unwind out of a child: [`ExitOnUnwind`] turns it
//! into `_exit(101)` before any parent code could run in the child.
//!
//! # No orphans
//! A child asks the kernel for SIGKILL when its parent dies
//! (`PR_SET_PDEATHSIG`), so a parent killed mid-run leaves no worker
//! computing on. The kernel sends it when the *thread* that forked the child
//! ends: a backend's children die with the thread that started them, so a
//! [`PoolMap`](super::PoolMap) must not outlive the thread that created it.
//!
//! # No zombies, no hangs
//! Every child has a pipe whose write end only that child holds: end-of-file
//! on it means the child has exited (like Python's `Process.sentinel`). The
//! parent polls those pipes with the job's deadline, then reaps with
//! `waitpid`, which returns at once for an exited child. A stopped child
//! would never reach end-of-file: while it waits, the parent looks for one
//! ([`Stops`]) and fails the run naming it. [`Children`] kills (SIGKILL ends
//! a stopped process too) and reaps whatever is left when it is dropped, on
//! every error path.
//!
//! # Start-up cost
//! Almost all of a short run is the kernel's: the fork, the child's first
//! page faults and its exit (see "Process start-up" in `docs/performance.md`).
//! The parent adds little on top: a child that writes one record and exits
//! wakes it once, at its exit ([`Wake::Exit`]), and it polls one `pollfd`
//! array built once ([`PollSet`]) rather than a new one at every wake-up.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::{getpid, pipe2, read, ForkResult, Pid};

use super::forkserver::ServerConn;
use crate::cancel;
use crate::child::{fork_bare, prologue, ExitOnUnwind};
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
    /// The fork server whose child it is (`--start forkserver`), which
    /// reaps it for us; `None`: our own child.
    server: Option<Arc<ServerConn>>,
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
    let parent = getpid();
    // SAFETY: the child branch below only makes raw system calls, closes
    // descriptors, runs `body` (async-signal-safe by this function's
    // contract) and calls `_exit`; it never returns into code that could
    // allocate or take a lock.
    match unsafe { fork_bare() }.os("fork")? {
        ForkResult::Child => {
            let _exit_on_unwind = ExitOnUnwind;
            prologue(parent);
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
            Ok(ChildProc::new(worker, child, from_child))
        }
    }
}

/// Starts worker `worker` as a fresh execution of `program` (`--start
/// spawn`): forks, moves the child's end of its pipe to the parent to
/// descriptor 3 and `pass` to 4 and 5 (closed where `None`), and `execv`s
/// `argv`. The child is the parent's like a forked one: same pipe, same
/// reaping, same death with its parent. Between `fork` and `execv` the
/// child only makes async-signal-safe system calls; `argv` is built before.
pub(crate) fn spawn_exec(
    worker: usize,
    program: &CStr,
    argv: &[CString],
    pass: [Option<BorrowedFd<'_>>; 2],
) -> Result<ChildProc> {
    let mut pointers: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    pointers.push(std::ptr::null());
    let (from_child, to_parent) = pipe2(OFlag::O_CLOEXEC).os("pipe2")?;
    let sources = [
        Some(to_parent.as_raw_fd()),
        pass[0].map(|fd| fd.as_raw_fd()),
        pass[1].map(|fd| fd.as_raw_fd()),
    ];
    let parent = getpid();
    // SAFETY: the child branch below only makes raw system calls (prctl,
    // signal, fcntl, dup2, close, execv, _exit) on data prepared before the
    // fork; it never returns into code that could allocate or take a lock.
    match unsafe { fork_bare() }.os("fork")? {
        ForkResult::Child => {
            let _exit_on_unwind = ExitOnUnwind;
            prologue(parent);
            // First copy every source above the targets (close-on-exec
            // copies), so that placing one cannot overwrite another.
            let mut high = [-1; 3];
            for (h, src) in high.iter_mut().zip(sources) {
                if let Some(fd) = src {
                    // SAFETY: `fcntl(F_DUPFD_CLOEXEC)` duplicates an open
                    // descriptor; async-signal-safe.
                    *h = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10) };
                    if *h < 0 {
                        // SAFETY: `_exit` is async-signal-safe.
                        unsafe { libc::_exit(126) }
                    }
                }
            }
            for (target, h) in super::worker::SPAWNED_FDS.into_iter().zip(high) {
                // SAFETY: `dup2` and `close` are async-signal-safe; `dup2`
                // clears close-on-exec on the target, which the program keeps.
                let ok = unsafe {
                    if h >= 0 {
                        libc::dup2(h, target) == target
                    } else {
                        libc::close(target);
                        true
                    }
                };
                if !ok {
                    // SAFETY: `_exit` is async-signal-safe.
                    unsafe { libc::_exit(126) }
                }
            }
            // SAFETY: `program` and the NULL-terminated `pointers` were built
            // before the fork and live in this copy of the parent's memory.
            unsafe { libc::execv(program.as_ptr(), pointers.as_ptr()) };
            // SAFETY: `_exit` is async-signal-safe; 127: the program could
            // not be executed, as a shell says.
            unsafe { libc::_exit(127) }
        }
        ForkResult::Parent { child } => {
            drop(to_parent);
            Ok(ChildProc::new(worker, child, from_child))
        }
    }
}

impl ChildProc {
    fn new(worker: usize, pid: Pid, from_child: OwnedFd) -> ChildProc {
        ChildProc {
            worker,
            pid,
            from_child,
            reaped: false,
            server: None,
        }
    }

    /// A worker a fork server forked for us.
    pub(crate) fn served(
        worker: usize,
        pid: Pid,
        from_child: OwnedFd,
        server: Arc<ServerConn>,
    ) -> ChildProc {
        ChildProc {
            server: Some(server),
            ..ChildProc::new(worker, pid, from_child)
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
        if let Some(server) = &child.server {
            let status = server.wait(child.pid);
            child.reaped = true;
            return status;
        }
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

    /// The first child not yet reaped that is stopped (SIGSTOP, SIGTSTP…),
    /// and the signal that stopped it. `WNOWAIT` leaves its state to be
    /// collected again; a reaped child's pid may belong to someone else now.
    fn first_stopped(&self) -> Option<(usize, Signal)> {
        let flags = WaitPidFlag::WSTOPPED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        self.procs
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.reaped)
            .find_map(|(i, c)| match &c.server {
                Some(server) => server.stopped(c.pid).map(|signal| (i, signal)),
                None => match waitid(Id::Pid(c.pid), flags) {
                    Ok(WaitStatus::Stopped(_, signal)) => Some((i, signal)),
                    _ => None,
                },
            })
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

    fn passed(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() >= at)
    }

    /// Milliseconds for one `poll`: the time left, rounded up, but at most
    /// [`cancel::CHECK_EVERY`], so a cancellation request is seen in time.
    fn poll_slice_ms(&self) -> libc::c_int {
        let check = cancel::CHECK_EVERY;
        let left = self.at.map_or(check, |at| {
            at.saturating_duration_since(Instant::now()).min(check)
        });
        left.as_nanos().div_ceil(1_000_000) as libc::c_int
    }
}

/// What wakes a [`PollSet`] for a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Data to read, or the child's exit: for pool workers, which answer
    /// many tasks and stay alive.
    Data,
    /// Only the child's exit, when the last write end of its pipe closes
    /// (`POLLHUP`; `poll` reports it even with no events requested). For
    /// children that write at most one record — far less than a pipe holds,
    /// so their write never blocks — and then exit.
    Exit,
}

/// One `pollfd` per child, built once and polled until the children are
/// done. `poll` skips negative descriptors, so an entry that is switched
/// off holds the bitwise complement of its descriptor.
#[derive(Debug)]
pub(crate) struct PollSet {
    fds: Vec<libc::pollfd>,
}

impl PollSet {
    /// Every child's pipe, switched on.
    pub(crate) fn new(children: &Children, wake: Wake) -> PollSet {
        let events = match wake {
            Wake::Data => libc::POLLIN,
            Wake::Exit => 0,
        };
        PollSet {
            fds: children
                .procs
                .iter()
                .map(|c| libc::pollfd {
                    fd: c.from_child.as_raw_fd(),
                    events,
                    revents: 0,
                })
                .collect(),
        }
    }

    /// Also waits for data on `fd`, a pipe the children share (`fork-queue`),
    /// which must stay open while this set is polled. Returns its index for
    /// [`set`](Self::set) and [`is_ready`](Self::is_ready), after the children's.
    pub(crate) fn watch(&mut self, fd: BorrowedFd<'_>) -> usize {
        self.fds.push(libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        self.fds.len() - 1
    }

    /// Starts or stops waiting for child `i`.
    pub(crate) fn set(&mut self, i: usize, on: bool) {
        let entry = &mut self.fds[i];
        if (entry.fd >= 0) != on {
            entry.fd = !entry.fd;
        }
        entry.revents = 0;
    }

    /// Whether any child is waited for.
    pub(crate) fn any_on(&self) -> bool {
        self.fds.iter().any(|e| e.fd >= 0)
    }

    /// Whether child `i` woke the last [`wait`](Self::wait).
    pub(crate) fn is_ready(&self, i: usize) -> bool {
        let entry = &self.fds[i];
        entry.fd >= 0 && entry.revents != 0
    }

    /// Blocks until a child that is waited for is ready (see
    /// [`is_ready`](Self::is_ready)). `Err(Timeout)` when the deadline passes
    /// first, naming the first child still waited for; `Err(Cancelled)` when
    /// cancellation was requested; `Err(WorkerDied)` when a child stays
    /// stopped (see [`Stops`]).
    pub(crate) fn wait(&mut self, children: &Children, deadline: Deadline) -> Result<()> {
        let mut stops = Stops::default();
        loop {
            // SAFETY: `fds` is an exclusively borrowed, initialised array of
            // `len` pollfds; `poll` only writes their `revents`.
            let ready = unsafe {
                libc::poll(
                    self.fds.as_mut_ptr(),
                    self.fds.len() as libc::nfds_t,
                    deadline.poll_slice_ms(),
                )
            };
            if cancel::requested() {
                return Err(Error::Cancelled);
            }
            match ready {
                0 if deadline.passed() => {
                    let first = self.fds[..children.procs.len()]
                        .iter()
                        .position(|e| e.fd >= 0)
                        .unwrap_or(0);
                    return Err(Error::Timeout {
                        worker: children.procs[first].worker,
                        timeout: deadline.timeout,
                    });
                }
                0 => stops.check(children)?,
                n if n > 0 => return Ok(()),
                _ => match Errno::last() {
                    Errno::EINTR => {}
                    e => {
                        return Err(Error::Os {
                            context: "poll",
                            errno: e,
                        })
                    }
                },
            }
        }
    }
}

/// Finds a stopped child, which would otherwise hang a run without a
/// timeout: its pipe never reaches end-of-file.
///
/// Looked for only when a poll slice passed with nothing ready — never in a
/// run shorter than a slice ([`cancel::CHECK_EVERY`]) — as it costs a
/// system call per child. A child counts as
/// stopped when it is seen stopped at two such wake-ups in a row: after
/// Ctrl-Z and `fg`, the whole process group is continued, and the parent
/// may run a moment before its children are continued too.
#[derive(Debug, Default)]
struct Stops {
    /// The child seen stopped at the previous check.
    suspect: Option<usize>,
}

impl Stops {
    fn check(&mut self, children: &Children) -> Result<()> {
        let stopped = children.first_stopped();
        match stopped {
            Some((i, signal)) if self.suspect == Some(i) => {
                Err(children.died(i, format!("was stopped by {}", signal.as_str())))
            }
            _ => {
                self.suspect = stopped.map(|(i, _)| i);
                Ok(())
            }
        }
    }
}

/// Waits for every child to exit, then returns what each wrote to its pipe:
/// a [`WorkerOutcome`] when `from_pipe`, otherwise nothing (the outcome
/// travels another way; only the clean exit is checked). Fails fast, naming
/// the worker, on the first child that dies, writes a short record or
/// outlives the deadline; every child is killed and reaped.
pub(crate) fn gather(
    children: &mut Children,
    deadline: Deadline,
    from_pipe: bool,
) -> Result<Vec<Option<WorkerOutcome>>> {
    let result = collect_exits(children, deadline, from_pipe);
    if result.is_err() {
        children.kill_all();
    }
    result
}

fn collect_exits(
    children: &mut Children,
    deadline: Deadline,
    from_pipe: bool,
) -> Result<Vec<Option<WorkerOutcome>>> {
    let n = children.procs.len();
    let expected = if from_pipe { OUTCOME_BYTES } else { 0 };
    let mut outcomes = vec![None; n];
    let mut exits = PollSet::new(children, Wake::Exit);
    let mut left = n;
    while left > 0 {
        exits.wait(children, deadline)?;
        for (i, outcome) in outcomes.iter_mut().enumerate() {
            if !exits.is_ready(i) {
                continue;
            }
            exits.set(i, false);
            left -= 1;
            // Its write end is closed: all it wrote is in the pipe, and
            // reading returns at once. One byte more than a record tells an
            // overlong one apart.
            let mut rec = [0u8; OUTCOME_BYTES + 1];
            let got = read_full(children.procs[i].from_child.as_fd(), &mut rec);
            children.reap_clean(i)?;
            if got != expected {
                let wrote = if got > OUTCOME_BYTES {
                    format!("more than {OUTCOME_BYTES}")
                } else {
                    got.to_string()
                };
                let how = format!("exited after writing {wrote} of {expected} result bytes");
                return Err(children.died(i, how));
            }
            if from_pipe {
                let mut record = [0u8; OUTCOME_BYTES];
                record.copy_from_slice(&rec[..OUTCOME_BYTES]);
                *outcome = WorkerOutcome::from_bytes(&record);
            }
        }
    }
    Ok(outcomes)
}

/// The raw descriptor of a child's pipe, for `close_in_child` lists.
pub(crate) fn raw(fd: &OwnedFd) -> RawFd {
    fd.as_raw_fd()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One child that sleeps until it is killed.
    fn sleeper() -> Children {
        let mut children = Children::with_capacity(1);
        let child = spawn_child(0, &[], |_| loop {
            // SAFETY: `pause` is async-signal-safe and touches no memory.
            unsafe { libc::pause() };
        });
        children.procs.push(child.unwrap());
        children
    }

    /// Waits (5 s at most) until the child is seen stopped, or not.
    fn until_stopped(children: &Children, stopped: bool) {
        let end = Instant::now() + Duration::from_secs(5);
        while children.first_stopped().is_some() != stopped {
            assert!(
                Instant::now() < end,
                "the child never became stopped: {stopped}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn a_child_counts_as_stopped_once_seen_stopped_twice_in_a_row() {
        let children = sleeper();
        let pid = children.procs[0].pid;
        let mut stops = Stops::default();
        stops.check(&children).unwrap();
        kill(pid, Signal::SIGSTOP).unwrap();
        until_stopped(&children, true);
        // Seen once: perhaps the moment after `fg` before it is continued.
        stops.check(&children).unwrap();
        kill(pid, Signal::SIGCONT).unwrap();
        until_stopped(&children, false);
        stops.check(&children).unwrap();
        kill(pid, Signal::SIGSTOP).unwrap();
        until_stopped(&children, true);
        stops.check(&children).unwrap();
        let err = stops.check(&children).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("worker 0 (pid {pid}) was stopped by SIGSTOP")
        );
    }
}
