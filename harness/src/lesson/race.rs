//! `piscale lesson race`: the course's bank account, run for real.
//!
//! A balance of 100 lives in one `MAP_SHARED` anonymous mapping. Two forked
//! processes start together: the depositor adds 1 to it `operations` times,
//! the withdrawer subtracts 1 as many times. Three ways ([`Update`], as `--sync` names them):
//!
//! - `none`: read the balance, then write it back changed — the course's
//!   `balance.value = balance.value - 1` with nothing around it;
//! - `lock`: the same read and write inside a process-shared, robust pthread
//!   mutex that lives in the mapping — the course's `with lock:`;
//! - `atomic`: one `AtomicI64::fetch_add`, a read-modify-write the CPU does
//!   as one indivisible instruction.
//!
//! Each process counts the operations it completed in a local variable and
//! publishes the count when it is done, so the balance the updates should
//! have left is known exactly: 100 + deposits − withdrawals. How far the
//! final balance is from it is [`Trial::lost`]. (A lost deposit and a lost
//! withdrawal cancel in the balance, so at least that many were lost.)
//!
//! # Fork safety and no zombies
//! The parent may have other threads (a test harness). After `fork` a child
//! only pins itself, spins on the mapping, updates the balance, takes the
//! shared mutex, reads the clock and leaves with `_exit`: no allocation, no
//! other lock, no stdio, no panic ([`ExitOnUnwind`] turns one into
//! `_exit(101)`). It asks for SIGKILL when its parent dies. The parent reaps
//! both with `waitpid` on their own pids; a child that fails, dies or stops
//! is an error naming it, and [`Pair`] kills and reaps whatever is left on
//! every path.

use std::cell::UnsafeCell;
use std::fmt;
use std::mem::size_of;
use std::num::NonZeroUsize;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{compiler_fence, AtomicI32, AtomicI64, AtomicU32, AtomicU64};
use std::time::Duration;

use nix::errno::Errno;
use nix::sched::sched_yield;
use nix::sys::mman::{mmap_anonymous, munmap, MapFlags, ProtFlags};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, getpid, ForkResult, Pid};
use piscale_kernels::child::{prologue, ExitOnUnwind};
use piscale_kernels::clock::{mono_ns, secs_between};
use piscale_kernels::pin::{current_cpu, pin_current_thread};
use piscale_kernels::robust_mutex::{self, Locked};
use piscale_kernels::Update;
use serde::Serialize;

use crate::measure::placement::{cpus_for, PinPolicy, Topology};

/// The balance every trial starts from, as in the course.
pub const START_BALANCE: i64 = 100;
/// `--operations`' default: deposits, and withdrawals, per trial.
pub const DEFAULT_OPERATIONS: u64 = 10_000;
/// The most `--operations` allows (a locked trial of it takes minutes).
pub const MAX_OPERATIONS: u64 = 1_000_000_000;
/// `--repeat`'s default.
pub const DEFAULT_REPEAT: u32 = 5;
/// The most `--repeat` allows.
pub const MAX_REPEAT: u32 = 1_000;

/// The lesson's order of the ways to update the balance ([`Update`], the
/// `--sync` of the shared-counter backends): the race first, then its fixes.
pub const WAYS: [Update; 3] = [Update::None, Update::Lock, Update::Atomic];

/// One of the two processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Adds 1, `operations` times.
    Depositor,
    /// Subtracts 1, `operations` times.
    Withdrawer,
}

impl Role {
    /// Both, in the order they are forked.
    pub const BOTH: [Role; 2] = [Role::Depositor, Role::Withdrawer];

    /// What one operation adds to the balance.
    fn delta(self) -> i64 {
        match self {
            Role::Depositor => 1,
            Role::Withdrawer => -1,
        }
    }

    /// Its slot in [`Shared::sides`].
    fn index(self) -> usize {
        match self {
            Role::Depositor => 0,
            Role::Withdrawer => 1,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Depositor => "the depositing process",
            Role::Withdrawer => "the withdrawing process",
        })
    }
}

/// What `piscale lesson race` is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Deposits, and withdrawals, per trial.
    pub operations: u64,
    /// Trials of each way.
    pub repeat: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            operations: DEFAULT_OPERATIONS,
            repeat: DEFAULT_REPEAT,
        }
    }
}

/// One trial: two processes, one way, from 100 to the final balance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trial {
    /// How they updated the balance.
    pub way: Update,
    /// Which repetition of the way, from 1.
    pub repetition: u32,
    /// The balance when both had finished.
    pub balance: i64,
    /// Deposits the depositor completed (its own count).
    pub deposits: u64,
    /// Withdrawals the withdrawer completed (its own count).
    pub withdrawals: u64,
    /// 100 + deposits − withdrawals: what the balance should be.
    pub expected: i64,
    /// |balance − expected|: the updates the balance shows lost.
    pub lost: u64,
    /// From the first process's first update to the last one's last, in seconds.
    pub seconds: f64,
    /// The CPU each process ran on (depositor, withdrawer), if known.
    pub cpus: [Option<usize>; 2],
    /// Times a process found the lock abandoned by a dead owner
    /// (`EOWNERDEAD`) and made it consistent; 0 unless a process died.
    pub lock_recovered: u32,
}

impl Trial {
    /// Deposits and withdrawals completed together.
    pub fn updates(&self) -> u64 {
        self.deposits + self.withdrawals
    }
}

/// Every trial of a `piscale lesson race`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Race {
    /// Deposits, and withdrawals, per trial.
    pub operations: u64,
    /// Trials of each way.
    pub repeat: u32,
    /// The balance each trial starts from.
    pub start_balance: i64,
    /// CPUs this process may use.
    pub usable_cpus: usize,
    /// The CPUs the depositor and the withdrawer were pinned to: two
    /// different ones when two are usable, else `None` (not pinned).
    pub pinned: Option<[usize; 2]>,
    /// The trials, way by way, repetition by repetition.
    pub trials: Vec<Trial>,
}

/// Why a race could not be run to its end.
#[derive(Debug, thiserror::Error)]
pub enum RaceError {
    /// A system call of the parent failed.
    #[error("{call} failed: {errno}")]
    Os {
        /// The call.
        call: &'static str,
        /// What it said.
        errno: Errno,
    },
    /// One of the two processes did not finish its updates.
    #[error(
        "`{way}`, repetition {repetition}: {role} (pid {pid}) {how}{}",
        recovered_note(*lock_recovered)
    )]
    Child {
        /// The way being run.
        way: Update,
        /// Its repetition, from 1.
        repetition: u32,
        /// Which process.
        role: Role,
        /// Its process id.
        pid: i32,
        /// How it ended: `exited with status 3 (…)`, `was killed by signal SIGKILL`.
        how: String,
        /// Times the other process recovered the lock it left behind.
        lock_recovered: u32,
    },
}

/// The end of a child error: whether the other process took over the lock.
fn recovered_note(recovered: u32) -> &'static str {
    if recovered > 0 {
        "; the other process found the lock abandoned (EOWNERDEAD) and made it consistent"
    } else {
        ""
    }
}

/// A failed call of the parent.
fn os(call: &'static str) -> impl Fn(Errno) -> RaceError {
    move |errno| RaceError::Os { call, errno }
}

/// Runs every way `settings.repeat` times.
pub fn run(settings: &Settings) -> Result<Race, RaceError> {
    run_ways(settings, &WAYS)
}

/// Runs `ways`, each `settings.repeat` times, way after way.
pub fn run_ways(settings: &Settings, ways: &[Update]) -> Result<Race, RaceError> {
    let (usable_cpus, pinned) = placement();
    let mut trials = Vec::with_capacity(ways.len() * settings.repeat as usize);
    for &way in ways {
        for repetition in 1..=settings.repeat {
            trials.push(trial(way, repetition, settings.operations, pinned)?);
        }
    }
    Ok(Race {
        operations: settings.operations,
        repeat: settings.repeat,
        start_balance: START_BALANCE,
        usable_cpus,
        pinned,
        trials,
    })
}

/// How many CPUs are usable, and the two the processes pin to: the first
/// two of the compact order (two physical cores when there are two), so that
/// both really run at the same time.
fn placement() -> (usize, Option<[usize; 2]>) {
    let topology = Topology::read();
    let usable = topology.cpu_list().0.len();
    if usable < 2 {
        return (usable, None);
    }
    let pinned = match cpus_for(&PinPolicy::Compact, 2, &topology) {
        Ok(Some(list)) => match list.0[..] {
            [a, b] if a != b => Some([a, b]),
            _ => None,
        },
        _ => None,
    };
    (usable, pinned)
}

/// One trial of `way`.
fn trial(
    way: Update,
    repetition: u32,
    operations: u64,
    pinned: Option<[usize; 2]>,
) -> Result<Trial, RaceError> {
    // Declared before the pair, so dropped after it: the mutex and the
    // memory outlive every process that uses them.
    let mapping = Mapping::new()?;
    let shared = mapping.shared();
    shared.balance.0.store(START_BALANCE, Relaxed);
    let ended = {
        let mut pair = Pair::new(way, repetition);
        let ended = Role::BOTH
            .into_iter()
            .try_for_each(|role| {
                let cpu = pinned.map(|cpus| cpus[role.index()]);
                pair.spawn(role, || update(shared, way, role, cpu, operations))
            })
            .and_then(|()| pair.run_to_end(shared));
        drop(pair);
        ended
    };
    let [d, w] = &shared.sides;
    let lock_recovered = d.recovered.load(Relaxed) + w.recovered.load(Relaxed);
    if let Err(mut err) = ended {
        if let RaceError::Child {
            lock_recovered: ref mut r,
            ..
        } = err
        {
            *r = lock_recovered;
        }
        return Err(err);
    }
    let deposits = d.completed.load(Acquire);
    let withdrawals = w.completed.load(Acquire);
    let balance = shared.balance.0.load(Acquire);
    let expected = START_BALANCE + deposits as i64 - withdrawals as i64;
    let start = d.start_ns.load(Relaxed).min(w.start_ns.load(Relaxed));
    let end = d.end_ns.load(Relaxed).max(w.end_ns.load(Relaxed));
    let cpu = |side: &Side| usize::try_from(side.cpu.load(Relaxed)).ok();
    Ok(Trial {
        way,
        repetition,
        balance,
        deposits,
        withdrawals,
        expected,
        lost: balance.abs_diff(expected),
        seconds: secs_between(start, end),
        cpus: [cpu(d), cpu(w)],
        lock_recovered,
    })
}

/// A value alone on its cache line, so that nothing else the processes
/// write slows the balance's line down (or speeds it up).
#[derive(Debug, Default)]
#[repr(C, align(64))]
struct Line<T>(T);

/// What one process publishes.
#[derive(Debug, Default)]
#[repr(C, align(64))]
struct Side {
    /// Operations completed, counted privately, stored once at the end.
    completed: AtomicU64,
    /// `mono_ns` before the first update and after the last.
    start_ns: AtomicU64,
    end_ns: AtomicU64,
    /// The CPU it ran on, −1 if unknown.
    cpu: AtomicI64,
    /// Times it found the lock abandoned and made it consistent.
    recovered: AtomicU32,
    /// The error number of its failed pthread call.
    errno: AtomicI32,
}

/// The shared mapping's contents. All zeros is a valid value of every field
/// but `mutex`, which [`Mapping::new`] initialises before any process runs.
#[repr(C)]
struct Shared {
    /// The balance.
    balance: Line<AtomicI64>,
    /// The course's `multiprocessing.Lock`: process-shared and robust.
    mutex: UnsafeCell<libc::pthread_mutex_t>,
    /// Processes pinned and ready: both start when it reaches 2.
    ready: AtomicU32,
    /// Depositor, withdrawer.
    sides: [Side; 2],
}

/// A fresh anonymous `MAP_SHARED` mapping holding one [`Shared`]; its mutex
/// destroyed and the memory unmapped on drop.
struct Mapping {
    shared: NonNull<Shared>,
    len: usize,
    mutex_ready: bool,
}

impl Mapping {
    fn new() -> Result<Mapping, RaceError> {
        let len = NonZeroUsize::new(size_of::<Shared>()).unwrap_or(NonZeroUsize::MIN);
        // SAFETY: a fresh anonymous mapping aliases no Rust object; the
        // kernel zero-fills it and aligns it to a page, more than `Shared`
        // needs. It stays mapped until `drop`.
        let ptr = unsafe {
            mmap_anonymous(
                None,
                len,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }
        .map_err(os("mmap"))?;
        let mut mapping = Mapping {
            shared: ptr.cast(),
            len: len.get(),
            mutex_ready: false,
        };
        init_mutex(mapping.shared().mutex.get())?;
        mapping.mutex_ready = true;
        Ok(mapping)
    }

    fn shared(&self) -> &Shared {
        // SAFETY: the mapping is live while `self` is; zeros are a valid
        // `Shared` (the mutex is only used once initialised), and every
        // field another process writes is an atomic or behind the mutex's
        // `UnsafeCell`, so a shared reference to it is sound.
        unsafe { self.shared.as_ref() }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if self.mutex_ready {
            // SAFETY: the mutex was initialised; every process that used it
            // has been reaped (a `Pair` is dropped before its mapping). A
            // mutex left locked by a killed process makes this fail with
            // EBUSY, which is harmless: the memory is unmapped next.
            unsafe { robust_mutex::destroy(self.shared().mutex.get()) };
        }
        // SAFETY: `shared`/`len` are the live mapping made in `new`; no
        // reference into it outlives `self` (`shared()` borrows `self`).
        let _ = unsafe { munmap(self.shared.cast(), self.len) };
    }
}

/// Initialises `mutex` as a process-shared, robust mutex
/// ([`robust_mutex::init`]).
fn init_mutex(mutex: *mut libc::pthread_mutex_t) -> Result<(), RaceError> {
    // SAFETY: `mutex` points into the fresh shared mapping (see
    // `Mapping::new`), not yet initialised, and no process uses it yet.
    unsafe { robust_mutex::init(mutex) }.map_err(|(call, errno)| RaceError::Os { call, errno })
}

/// Takes the shared mutex; on `EOWNERDEAD` makes it consistent again.
fn lock(shared: &Shared) -> Result<Locked, Errno> {
    // SAFETY: the mutex was initialised by `Mapping::new` (process-shared,
    // robust) and stays so until the mapping is dropped, after every
    // process using it has been reaped.
    unsafe { robust_mutex::lock(shared.mutex.get()) }
}

/// Releases the shared mutex, held by this thread.
fn unlock(shared: &Shared) -> Result<(), Errno> {
    // SAFETY: the mutex is initialised (see `lock`) and held by the caller.
    unsafe { robust_mutex::unlock(shared.mutex.get()) }
}

/// A child's exit status when it could not take the lock.
const EXIT_LOCK: i32 = 3;
/// … could not release it.
const EXIT_UNLOCK: i32 = 4;
/// … panicked (a bug).
const EXIT_PANIC: i32 = 101;

/// `balance.value = balance.value + delta`: one read, then one write.
///
/// Between this load and this store the other process may store its own
/// update, which this store then overwrites: a lost update. The load and
/// the store are each whole — a relaxed atomic load and a relaxed atomic
/// store, plain `mov`s on x86-64 — which is precisely the course's
/// `multiprocessing.Value`: its own lock guards the read of `balance.value`
/// and the write separately, but nothing guards the pair.
///
/// The compiler fence keeps them three instructions (load, add, store).
/// Without it LLVM fuses the pair into one `add [mem], reg`: still a read
/// and a write that another CPU can come between (no `lock` prefix), but
/// so close together that this machine lost no update in 10 000.
/// Atomics rather than `read_volatile`/`write_volatile`, which would keep
/// the accesses apart too: a volatile access that races with a write is
/// undefined behaviour in Rust memory (the `read_volatile` docs), and
/// these need no `unsafe`.
fn read_then_write(balance: &AtomicI64, delta: i64) {
    let seen = balance.load(Relaxed);
    compiler_fence(SeqCst);
    balance.store(seen.wrapping_add(delta), Relaxed);
}

/// What one forked process does: pin itself, wait for the start, update
/// the balance `operations` times `way`'s way, publish what it did; returns
/// its exit status. Async-signal-safe: no allocation, no stdio, no lock but
/// the shared mutex, no panic.
fn update(shared: &Shared, way: Update, role: Role, cpu: Option<usize>, operations: u64) -> i32 {
    let me = &shared.sides[role.index()];
    if let Some(cpu) = cpu {
        let _ = pin_current_thread(cpu);
    }
    me.cpu
        .store(current_cpu().map_or(-1, |c| c as i64), Relaxed);
    // Both start at once, each as soon as it sees the other ready, so that
    // their updates overlap: a fork takes far longer than 10 000 unlocked
    // updates (a few microseconds on their own).
    shared.ready.fetch_add(1, Release);
    while shared.ready.load(Acquire) < 2 {
        if cpu.is_some() {
            // No `spin_loop()` (`pause`): in a virtual machine a pause loop
            // makes the hypervisor deschedule the CPU for microseconds,
            // longer than 10 000 updates take.
        } else {
            // Perhaps one CPU: let the other process and the parent run.
            let _ = sched_yield();
        }
    }
    let balance = &shared.balance.0;
    let delta = role.delta();
    let mut completed: u64 = 0;
    let start = mono_ns();
    let mut status = 0;
    match way {
        Update::None => {
            for _ in 0..operations {
                read_then_write(balance, delta);
                completed += 1;
            }
        }
        Update::Lock => {
            for _ in 0..operations {
                match lock(shared) {
                    Ok(Locked::Clean) => {}
                    Ok(Locked::Recovered) => {
                        me.recovered.fetch_add(1, Relaxed);
                    }
                    Err(errno) => {
                        me.errno.store(errno as i32, Relaxed);
                        status = EXIT_LOCK;
                        break;
                    }
                }
                read_then_write(balance, delta);
                if let Err(errno) = unlock(shared) {
                    me.errno.store(errno as i32, Relaxed);
                    status = EXIT_UNLOCK;
                    break;
                }
                completed += 1;
            }
        }
        Update::Atomic => {
            for _ in 0..operations {
                balance.fetch_add(delta, Relaxed);
                completed += 1;
            }
        }
    }
    let end = mono_ns();
    me.start_ns.store(start, Relaxed);
    me.end_ns.store(end, Relaxed);
    me.completed.store(completed, Release);
    status
}

/// A forked process of a [`Pair`].
#[derive(Debug)]
struct Kid {
    role: Role,
    pid: Pid,
    reaped: bool,
}

/// The processes of one trial; those not yet reaped are killed and reaped
/// when it is dropped, so no error leaves a process or a zombie behind.
#[derive(Debug)]
struct Pair {
    way: Update,
    repetition: u32,
    kids: Vec<Kid>,
}

/// How often the parent looks at its children while they run.
const POLL: Duration = Duration::from_micros(100);

impl Pair {
    fn new(way: Update, repetition: u32) -> Pair {
        Pair {
            way,
            repetition,
            kids: Vec::with_capacity(Role::BOTH.len()),
        }
    }

    /// Forks `role`'s process, which runs `body` and exits with the status
    /// it returns. `body` must be async-signal-safe (see [`update`]).
    fn spawn(&mut self, role: Role, body: impl FnOnce() -> i32) -> Result<(), RaceError> {
        let parent = getpid();
        // SAFETY: the child branch only runs async-signal-safe code —
        // `prologue`, `body` (by this function's contract) — and leaves by
        // `_exit`; it never returns into code that could allocate or take a
        // lock.
        match unsafe { fork() }.map_err(os("fork"))? {
            ForkResult::Child => {
                let _exit_on_unwind = ExitOnUnwind;
                prologue(parent);
                let status = body();
                // SAFETY: `_exit` is async-signal-safe and skips the
                // parent's atexit handlers and stdio buffers.
                unsafe { libc::_exit(status) }
            }
            ForkResult::Parent { child } => {
                self.kids.push(Kid {
                    role,
                    pid: child,
                    reaped: false,
                });
                Ok(())
            }
        }
    }

    /// Reaps the processes as they end. A process that exits with a
    /// failure, is killed or stops is an error naming it (and the other,
    /// perhaps waiting for it to be ready, is killed when `self` drops).
    fn run_to_end(&mut self, shared: &Shared) -> Result<(), RaceError> {
        while self.kids.iter().any(|k| !k.reaped) {
            for i in 0..self.kids.len() {
                if !self.kids[i].reaped {
                    self.look_at(i, shared)?;
                }
            }
            std::thread::sleep(POLL);
        }
        Ok(())
    }

    /// Reaps child `i` if it has ended; an error if it ended badly.
    fn look_at(&mut self, i: usize, shared: &Shared) -> Result<(), RaceError> {
        let Kid { role, pid, .. } = self.kids[i];
        let flags = WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED;
        let how = match waitpid(pid, Some(flags)) {
            Ok(WaitStatus::Exited(_, 0)) => {
                self.kids[i].reaped = true;
                return Ok(());
            }
            Ok(WaitStatus::Exited(_, code)) => {
                self.kids[i].reaped = true;
                let errno = Errno::from_raw(shared.sides[role.index()].errno.load(Relaxed));
                match code {
                    EXIT_LOCK => format!("could not take the lock (pthread_mutex_lock: {errno})"),
                    EXIT_UNLOCK => {
                        format!("could not release the lock (pthread_mutex_unlock: {errno})")
                    }
                    EXIT_PANIC => "panicked".to_string(),
                    code => format!("exited with status {code}"),
                }
            }
            Ok(WaitStatus::Signaled(_, signal, _)) => {
                self.kids[i].reaped = true;
                format!("was killed by signal {}", signal.as_str())
            }
            Ok(WaitStatus::Stopped(_, signal)) => {
                // Left stopped, it would hold the lock (or the other's
                // start) forever: end it here; `drop` reaps it.
                let _ = kill(pid, Signal::SIGKILL);
                format!("was stopped by {} and has been killed", signal.as_str())
            }
            Ok(_) | Err(Errno::EINTR) => return Ok(()),
            Err(errno) => return Err(os("waitpid")(errno)),
        };
        Err(RaceError::Child {
            way: self.way,
            repetition: self.repetition,
            role,
            pid: pid.as_raw(),
            how,
            lock_recovered: 0,
        })
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for kid in self.kids.iter_mut().filter(|k| !k.reaped) {
            let _ = kill(kid.pid, Signal::SIGKILL);
            while let Err(Errno::EINTR) = waitpid(kid.pid, None) {}
            kid.reaped = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Mutex, MutexGuard};

    use super::*;

    /// One forking test at a time (as nix's own tests do), so that no child
    /// inherits another test's descriptors or competes for its CPUs.
    static FORKS: Mutex<()> = Mutex::new(());

    fn fork_lock() -> MutexGuard<'static, ()> {
        FORKS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether `pid` is gone entirely: neither running nor a zombie of ours.
    fn gone(pid: Pid) -> bool {
        waitpid(pid, Some(WaitPidFlag::WNOHANG)) == Err(Errno::ECHILD)
    }

    #[test]
    fn lock_and_atomic_always_end_at_100_with_none_lost() {
        let _forks = fork_lock();
        let settings = Settings {
            operations: 20_000,
            repeat: 5,
        };
        let race = run_ways(&settings, &[Update::Lock, Update::Atomic]).unwrap();
        assert_eq!(race.trials.len(), 10);
        for t in &race.trials {
            assert_eq!((t.balance, t.expected, t.lost), (100, 100, 0), "{t:?}");
            assert_eq!((t.deposits, t.withdrawals), (20_000, 20_000), "{t:?}");
            assert_eq!(t.lock_recovered, 0, "{t:?}");
        }
    }

    #[test]
    fn none_with_one_operation_each_loses_at_most_that_one() {
        let _forks = fork_lock();
        let settings = Settings {
            operations: 1,
            repeat: 5,
        };
        let race = run_ways(&settings, &[Update::None]).unwrap();
        for t in &race.trials {
            assert_eq!((t.deposits, t.withdrawals, t.expected), (1, 1, 100));
            assert!(t.lost <= 1, "{t:?}");
        }
    }

    #[test]
    fn none_with_a_million_operations_loses_some_on_two_cpus() {
        let _forks = fork_lock();
        let settings = Settings {
            operations: 1_000_000,
            repeat: 5,
        };
        let race = run_ways(&settings, &[Update::None]).unwrap();
        let Some(cpus) = race.pinned else {
            eprintln!(
                "skipped: {} usable CPU(s); the race needs two to show for sure",
                race.usable_cpus
            );
            return;
        };
        assert!(
            race.trials.iter().any(|t| t.lost > 0),
            "no update lost in 5 tries on CPUs {cpus:?}: {:?}",
            race.trials
        );
        for t in &race.trials {
            assert_eq!(t.updates(), 2_000_000);
            assert_eq!(t.lost, t.balance.abs_diff(100));
        }
    }

    #[test]
    fn pinned_processes_run_on_two_different_cpus() {
        let _forks = fork_lock();
        let race = run_ways(
            &Settings {
                operations: 10,
                repeat: 1,
            },
            &[Update::Atomic],
        )
        .unwrap();
        match race.pinned {
            Some(cpus) => assert_eq!(race.trials[0].cpus, cpus.map(Some)),
            None => assert!(race.usable_cpus < 2, "{race:?}"),
        }
    }

    #[test]
    fn a_lock_whose_owner_died_is_recovered() {
        let _forks = fork_lock();
        let mapping = Mapping::new().unwrap();
        let shared = mapping.shared();
        let mut pair = Pair::new(Update::Lock, 1);
        // Takes the lock and exits holding it.
        pair.spawn(Role::Depositor, || match lock(shared) {
            Ok(_) => 0,
            Err(_) => EXIT_LOCK,
        })
        .unwrap();
        pair.run_to_end(shared).unwrap();
        assert_eq!(lock(shared), Ok(Locked::Recovered));
        assert_eq!(unlock(shared), Ok(()));
        assert_eq!(lock(shared), Ok(Locked::Clean));
        assert_eq!(unlock(shared), Ok(()));
    }

    #[test]
    fn a_child_that_fails_is_an_error_naming_it_and_none_is_left() {
        let _forks = fork_lock();
        let mapping = Mapping::new().unwrap();
        let shared = mapping.shared();
        let mut pair = Pair::new(Update::None, 2);
        // Ready, then waits for a start that never comes: killed at the end.
        pair.spawn(Role::Depositor, || {
            update(shared, Update::None, Role::Depositor, None, 1)
        })
        .unwrap();
        pair.spawn(Role::Withdrawer, || 7).unwrap();
        let pids: Vec<Pid> = pair.kids.iter().map(|k| k.pid).collect();
        let err = pair.run_to_end(shared).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("`none`, repetition 2: the withdrawing process (pid ")
                && msg.ends_with(") exited with status 7"),
            "{msg}"
        );
        drop(pair);
        assert!(pids.into_iter().all(gone));
    }

    #[test]
    fn a_killed_child_is_named_with_its_signal() {
        let _forks = fork_lock();
        let mapping = Mapping::new().unwrap();
        let shared = mapping.shared();
        let mut pair = Pair::new(Update::Atomic, 1);
        pair.spawn(Role::Depositor, || {
            let _ = kill(getpid(), Signal::SIGKILL);
            0
        })
        .unwrap();
        let pid = pair.kids[0].pid;
        let err = pair.run_to_end(shared).unwrap_err();
        assert!(
            matches!(
                err,
                RaceError::Child {
                    role: Role::Depositor,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("was killed by signal SIGKILL"),
            "{err}"
        );
        drop(pair);
        assert!(gone(pid));
    }

    #[test]
    fn the_recovery_is_said_in_a_childs_error() {
        let err = RaceError::Child {
            way: Update::Lock,
            repetition: 3,
            role: Role::Depositor,
            pid: 42,
            how: "was killed by signal SIGKILL".into(),
            lock_recovered: 1,
        };
        assert_eq!(
            err.to_string(),
            "`lock`, repetition 3: the depositing process (pid 42) was killed by signal \
             SIGKILL; the other process found the lock abandoned (EOWNERDEAD) and made it \
             consistent"
        );
    }
}
