//! `shm-lock`, `shm-atomic` and `shm-race`: P forked processes add each
//! finished block's partial into **one** shared counter in `MAP_SHARED`
//! memory, the way the course's example updates a `multiprocessing.Value` —
//! under a lock, with an atomic add, or with a plain read, add and write
//! (the race). One type, three kinds: they differ only in [`Update`].
//!
//! - `lock`: a process-shared, **robust** pthread mutex in the mapping. A
//!   worker killed while holding it does not deadlock the others: the next
//!   one to lock gets `EOWNERDEAD`, makes the mutex consistent and goes on,
//!   and the parent names the dead worker, as for every process backend.
//!   Chosen over a futex lock because the robust list is the kernel's own
//!   answer to an owner dying (it is what `multiprocessing.Lock`'s POSIX
//!   semaphore lacks), and it needs no code of ours to get right.
//! - `atomic`: `fetch_add` on the counter's two 64-bit halves, carrying
//!   from the low half into the high one (a sum is exact whatever the order
//!   of the adds; no reader looks before every worker has exited).
//! - `none`: a load, add and store of the counter and of the count of
//!   updates, with nothing between the processes — **the race**. Each worker also keeps its own total in a
//!   private padded slot, so the parent knows the exact sum and reports the
//!   updates lost ([`RunReport::race`]).
//!
//! A worker adds once per `--flush N` blocks (the job's chunk size, default
//! 1): the unit of work between two updates, the granularity lesson.
//!
//! With `lock` and `atomic` the hits are serial's at every worker count.

use std::sync::atomic::{AtomicU64, Ordering};

use super::process::{gather, Deadline};
use super::shared_mem::SharedMem;
use super::worker::{launch_team, Assignment, Starter, WorkerIo};
use super::{Backend, BackendKind, Team};
use crate::clock::mono_ns;
use crate::error::{Error, Result};
use crate::job::{BlockRange, Job};
use crate::named::Named;
use crate::pin::CpuList;
use crate::report::{Race, RunReport, WorkerOutcome};
use crate::robust_mutex;

/// How a worker adds its partial into the shared counter: `--sync
/// lock|atomic|none` (the backends `shm-lock`, `shm-atomic`, `shm-race`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    strum::Display,
    strum::IntoStaticStr,
    strum::VariantArray,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Update {
    /// Under a process-shared robust pthread mutex.
    Lock,
    /// With atomic adds.
    Atomic,
    /// A plain load, add and store: updates get lost.
    None,
}

impl Named for Update {
    const WHAT: &'static str = "sync";
}

/// Slot stride: two cache lines (see `shm-reduce`).
const SLOT: usize = 128;
/// Where the mutex lives (its own lines).
const MUTEX_AT: usize = 0;
/// Where the counter lives: low half, high half, count of updates.
const COUNTER_AT: usize = 128;
/// Where worker 0's slot begins.
const SLOTS_AT: usize = 256;

// The mutex fits before the counter.
const _: () = assert!(std::mem::size_of::<libc::pthread_mutex_t>() <= COUNTER_AT - MUTEX_AT);

/// Forks a fresh set of children for every run; they add into one shared
/// counter, reset before each run.
#[derive(Debug)]
pub struct ShmCounter {
    team: Team,
    update: Update,
    shared: Option<Shared>,
    starter: Starter,
}

impl ShmCounter {
    /// A backend for `team` whose workers update the counter by `update`.
    pub fn new(team: Team, update: Update) -> ShmCounter {
        ShmCounter {
            starter: Starter::new(team.start),
            team,
            update,
            shared: None,
        }
    }
}

/// The shared mapping: a mutex, the counter and one slot per worker. The
/// parent's [`Shared`] initialises the mutex and destroys it; a worker,
/// forked or spawned, reaches the same bytes through a [`SharedMem`].
#[derive(Debug)]
struct Shared {
    mem: SharedMem,
}

impl Shared {
    /// Maps it, zero-filled, and initialises the mutex once: process-shared
    /// and robust.
    fn new(workers: usize) -> Result<Shared> {
        let shared = Shared {
            mem: SharedMem::new(SLOTS_AT + workers * SLOT)?,
        };
        // SAFETY: the mutex lies in the fresh mapping (suitably aligned:
        // page-aligned base), which no process uses yet.
        unsafe { robust_mutex::init(mutex(&shared.mem)) }
            .map_err(|(context, errno)| Error::Os { context, errno })?;
        Ok(shared)
    }

    /// Zeroes the counter and the slots (not the mutex). Only called while
    /// no worker is alive.
    fn clear(&mut self) {
        self.mem.clear_from(COUNTER_AT);
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: no process uses the mutex any more (every worker was
        // reaped); the mapping is unmapped after, by `SharedMem`.
        unsafe { robust_mutex::destroy(mutex(&self.mem)) };
    }
}

fn mutex(mem: &SharedMem) -> *mut libc::pthread_mutex_t {
    // SAFETY: MUTEX_AT lies inside the mapping (at least SLOTS_AT long).
    unsafe { mem.base().as_ptr().add(MUTEX_AT).cast() }
}

/// The counter's three words: low half, high half, updates.
fn words(mem: &SharedMem) -> [&AtomicU64; 3] {
    assert!(mem.len() >= SLOTS_AT, "not a shared counter's mapping");
    // SAFETY: the three words lie inside the mapping (checked above),
    // 8-byte aligned; every process reads and writes them only through
    // these atomics.
    let word = |i: usize| unsafe {
        &*mem
            .base()
            .as_ptr()
            .add(COUNTER_AT + 8 * i)
            .cast::<AtomicU64>()
    };
    [word(0), word(1), word(2)]
}

/// Adds `partial` to the counter, by `update`. Async-signal-safe: atomics,
/// or the shared mutex (which lives in this mapping, not in a lock a parent
/// thread could have held at the fork). Returns false if the mutex cannot
/// be taken (not recoverable). `worker` is the adder's index (for the
/// tests' lock-holder death).
fn add(mem: &SharedMem, update: Update, partial: u128, worker: usize) -> bool {
    let [lo, hi, count] = words(mem);
    let (add_lo, add_hi) = (partial as u64, (partial >> 64) as u64);
    match update {
        Update::Atomic => {
            let old = lo.fetch_add(add_lo, Ordering::Relaxed);
            let carry = u64::from(old.checked_add(add_lo).is_none());
            hi.fetch_add(add_hi.wrapping_add(carry), Ordering::Relaxed);
            count.fetch_add(1, Ordering::Relaxed);
            true
        }
        Update::None => {
            racy_add(lo, hi, count, add_lo, add_hi);
            true
        }
        Update::Lock => {
            // An owner that died holding it is named by the parent; this
            // worker gets it back consistent and goes on.
            // SAFETY: the parent initialised the mutex before starting any
            // worker, and it lives as long as the mapping.
            if unsafe { robust_mutex::lock(mutex(mem)) }.is_err() {
                return false;
            }
            racy_add(lo, hi, count, add_lo, add_hi);
            #[cfg(test)]
            tests::die_here_if_chosen(mem, worker);
            let _ = worker;
            // SAFETY: this thread holds the mutex.
            unsafe { robust_mutex::unlock(mutex(mem)) }.is_ok()
        }
    }
}

/// The counter (value, updates), once every worker has exited.
fn total(mem: &SharedMem) -> (u128, u64) {
    let [lo, hi, count] = words(mem);
    let value =
        u128::from(lo.load(Ordering::Acquire)) | u128::from(hi.load(Ordering::Acquire)) << 64;
    (value, count.load(Ordering::Acquire))
}

/// A plain read, add and write of the counter: separate relaxed loads and
/// stores with a compiler fence between them, so that the compiler cannot
/// merge them into one read-modify-write instruction (it did: LLVM made an
/// `add [mem], reg` of a load and store, and nothing was lost). Another
/// process's update between the load and the store is overwritten —
/// `balance.value = balance.value - 1`. Atomics, not volatile accesses: the
/// lost update is the lesson, undefined behaviour is not.
fn racy_add(lo: &AtomicU64, hi: &AtomicU64, count: &AtomicU64, add_lo: u64, add_hi: u64) {
    let (l, h, c) = (
        lo.load(Ordering::Relaxed),
        hi.load(Ordering::Relaxed),
        count.load(Ordering::Relaxed),
    );
    std::sync::atomic::compiler_fence(Ordering::SeqCst);
    let (sum, carry) = l.overflowing_add(add_lo);
    lo.store(sum, Ordering::Relaxed);
    hi.store(
        h.wrapping_add(add_hi).wrapping_add(u64::from(carry)),
        Ordering::Relaxed,
    );
    count.store(c.wrapping_add(1), Ordering::Relaxed);
}

/// A worker's body: its static share, added into the counter every
/// `flush` blocks; its own outcome (the exact partial) stored in its slot.
pub(crate) fn work(a: &Assignment, cpus: Option<&CpuList>, io: &WorkerIo<'_>) -> i32 {
    let (Some(mem), Some(update)) = (io.shared, a.backend.update()) else {
        return 2;
    };
    let (job, w) = (&a.job, a.worker);
    let share = job.static_share(w, a.workers);
    let flush = job.chunksize.unwrap_or(1);
    let mut ok = true;
    let outcome = WorkerOutcome::timed(cpus, w, share.count, || {
        let mut own = 0u128;
        let (mut first, end) = (share.first, share.first + share.count);
        while first < end {
            let count = flush.min(end - first);
            let partial = job.partial(BlockRange { first, count });
            own = own.wrapping_add(partial);
            ok &= add(mem, update, partial, w);
            first += count;
        }
        own
    });
    mem.store(SLOTS_AT + w * SLOT, &outcome.to_bytes());
    if ok {
        0
    } else {
        3
    }
}

impl Backend for ShmCounter {
    fn kind(&self) -> BackendKind {
        BackendKind::shared_counter(self.update)
    }

    fn team(&self) -> &Team {
        &self.team
    }

    fn run(&mut self, job: &Job) -> Result<RunReport> {
        job.validate()?;
        // A fork server starts with the first run, before its clock: its
        // start-up is `setup_s`, not part of any run.
        self.starter.ready()?;
        let p = self.team.workers;
        let kind = self.kind();
        let t0 = mono_ns();
        let shared = match &mut self.shared {
            Some(shared) => {
                shared.clear();
                shared
            }
            None => self.shared.insert(Shared::new(p)?),
        };
        let mem = &shared.mem;
        let flush = job.chunksize.unwrap_or(1);
        let updates: u64 = (0..p)
            .map(|w| job.static_share(w, p).count.div_ceil(flush))
            .sum();
        let mut children = launch_team(&self.team, &self.starter, kind, job, Some(mem), None, &[])?;
        gather(&mut children, Deadline::after(job.timeout), false)?;
        let outcomes = (0..p)
            .map(|i| {
                WorkerOutcome::from_bytes(&mem.load(SLOTS_AT + i * SLOT))
                    .ok_or_else(|| children.died(i, "exited without storing its result".into()))
            })
            .collect::<Result<Vec<_>>>()?;
        let t_end = mono_ns();
        let mut report = RunReport::assemble(job, kind.name(), t0, t_end, &outcomes);
        // The answer is the shared counter's; the slots hold the exact one.
        let (counted, made) = total(mem);
        let exact = report.partial;
        report.set_partial(job, counted);
        report.chunksize = Some(flush);
        report.start = Some(self.starter.method());
        report.setup_s = self.starter.setup_s();
        if counted != exact {
            report.race = Some(Race {
                updates,
                // The count of updates races too, and can keep an update
                // whose partial was overwritten: a wrong sum lost at least one.
                lost: updates.saturating_sub(made).max(1),
                counted,
                exact,
            });
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::Method;
    use std::sync::atomic::AtomicUsize;
    use std::time::{Duration, Instant};

    /// The mapping (its address) and the worker that kills itself while
    /// holding the lock; 0: none. Children inherit them at the fork.
    static DIE_IN_MAPPING: AtomicUsize = AtomicUsize::new(0);
    static DIE_AS_WORKER: AtomicUsize = AtomicUsize::new(0);

    /// Called by every locked update in test builds, inside the lock: the
    /// chosen worker of the chosen mapping SIGKILLs itself there.
    pub(super) fn die_here_if_chosen(mem: &SharedMem, worker: usize) {
        if DIE_IN_MAPPING.load(Ordering::Relaxed) == mem.base().as_ptr() as usize
            && DIE_AS_WORKER.load(Ordering::Relaxed) == worker
        {
            // SAFETY: raising a signal is async-signal-safe.
            unsafe { libc::raise(libc::SIGKILL) };
        }
    }

    #[test]
    fn a_worker_killed_holding_the_lock_fails_the_run_naming_it_and_nothing_hangs() {
        let job = Job::new(Method::Mc, 1 << 16)
            .block(1 << 8)
            .timeout(Some(Duration::from_secs(20)));
        let serial = job.partial(BlockRange {
            first: 0,
            count: job.blocks(),
        });
        let mut b = ShmCounter::new(Team::unpinned(2).unwrap(), Update::Lock);
        assert_eq!(b.run(&job).unwrap().partial, serial);
        let base = b.shared.as_ref().unwrap().mem.base().as_ptr() as usize;
        DIE_AS_WORKER.store(1, Ordering::Relaxed);
        DIE_IN_MAPPING.store(base, Ordering::Relaxed);
        let started = Instant::now();
        let err = b.run(&job).unwrap_err().to_string();
        DIE_IN_MAPPING.store(0, Ordering::Relaxed);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "it took {:?}",
            started.elapsed()
        );
        assert!(err.contains("worker 1") && err.contains("SIGKILL"), "{err}");
        // The robust mutex was recovered: the next run is right.
        assert_eq!(b.run(&job).unwrap().partial, serial);
    }

    #[test]
    fn lock_and_atomic_give_serial_s_answer_and_one_worker_never_races() {
        let job = Job::new(Method::Midpoint, 1 << 20).block(1 << 10);
        let serial = job.partial(BlockRange {
            first: 0,
            count: job.blocks(),
        });
        for update in [Update::Lock, Update::Atomic] {
            for p in [1, 3] {
                let mut b = ShmCounter::new(Team::unpinned(p).unwrap(), update);
                for flush in [None, Some(3), Some(5000)] {
                    let r = b.run(&job.clone().chunksize(flush)).unwrap();
                    assert_eq!(r.partial, serial, "{update:?} {p} {flush:?}");
                    assert!(r.race.is_none());
                    assert_eq!(r.chunksize, Some(flush.unwrap_or(1)));
                }
            }
        }
        let mut race = ShmCounter::new(Team::unpinned(1).unwrap(), Update::None);
        let r = race.run(&job).unwrap();
        assert_eq!((r.partial, r.race), (serial, None));
    }

    #[test]
    fn two_workers_on_two_cpus_lose_updates_without_a_lock() {
        let usable = crate::pin::CpuList::usable().unwrap();
        if usable.distinct().len() < 2 {
            eprintln!("skipped: the race needs two usable CPUs, this process has one");
            return;
        }
        let cpus = crate::pin::CpuList(usable.0[..2].to_vec());
        let team = Team::new(2, Some(cpus)).unwrap();
        // Tiny blocks: an update every few nanoseconds from each CPU.
        let job = Job::new(Method::Mc, 1 << 20).block(4);
        let mut race = ShmCounter::new(team, Update::None);
        let lost = (0..20).find_map(|_| race.run(&job).unwrap().race);
        let race = lost.expect("20 runs of 262144 racing updates lost none");
        assert!(race.lost > 0 && race.counted != race.exact, "{race}");
        assert_eq!(race.updates, 1 << 18);
        assert!(race.to_string().starts_with("race: "), "{race}");
    }

    #[test]
    fn a_worker_dead_while_holding_the_lock_does_not_block_the_next() {
        let shared = Shared::new(1).unwrap();
        // A child takes the lock and dies holding it.
        // SAFETY: the child only locks the shared mutex and `_exit`s.
        match unsafe { nix::unistd::fork() }.unwrap() {
            // SAFETY: a mutex in the shared mapping, then `_exit`: no
            // allocation and no lock of the parent's after the fork.
            nix::unistd::ForkResult::Child => unsafe {
                let _ = robust_mutex::lock(mutex(&shared.mem));
                libc::_exit(0)
            },
            nix::unistd::ForkResult::Parent { child } => {
                nix::sys::wait::waitpid(child, None).unwrap();
            }
        }
        // The next locker is told, recovers it, and adds.
        assert!(add(&shared.mem, Update::Lock, 5, 0));
        assert!(add(&shared.mem, Update::Lock, 7, 0));
        assert_eq!(total(&shared.mem), (12, 2));
    }

    #[test]
    fn atomic_adds_carry_into_the_high_half() {
        let shared = Shared::new(1).unwrap();
        add(&shared.mem, Update::Atomic, u128::from(u64::MAX), 0);
        add(&shared.mem, Update::Atomic, 1 | 1u128 << 64, 0);
        assert_eq!(total(&shared.mem), (2u128 << 64, 2));
        add(&shared.mem, Update::None, u128::from(u64::MAX), 0);
        assert_eq!(total(&shared.mem).0, (3u128 << 64) - 1);
    }
}
