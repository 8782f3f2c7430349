//! `shm-reduce`: `workers` forked children, each storing its partial in its
//! own padded slot of a `MAP_SHARED` anonymous mapping; the parent reaps them
//! all, then reduces the array (the course's `multiprocessing.Array`).
//!
//! The mapping is made by the first run and reused, cleared, by every later
//! one: mapping a fresh shared page, the fault that allocates it and the
//! unmapping cost about 45 µs per run on the reference VM, half a fork (see
//! "Process start-up" in `docs/performance.md`).

use std::num::NonZeroUsize;
use std::ptr::NonNull;

use nix::sys::mman::{mmap_anonymous, munmap, MapFlags, ProtFlags};

use super::process::{gather, spawn_child, Children, Deadline};
use super::{Backend, BackendKind, Team};
use crate::clock::mono_ns;
use crate::error::{OsContext, Result};
use crate::job::Job;
use crate::named::Named;
use crate::report::{RunReport, WorkerOutcome, OUTCOME_BYTES};

/// Slot stride: two cache lines, so that neither a neighbour's stores nor
/// the adjacent-line prefetcher make workers share a line.
const SLOT: usize = 128;

/// Forks a fresh set of children for every run; they store into one shared
/// array, cleared before each run.
#[derive(Debug)]
pub struct ShmReduce {
    team: Team,
    /// One slot per worker, mapped by the first run.
    slots: Option<SharedSlots>,
}

impl ShmReduce {
    /// A shm-reduce backend for `team`.
    pub fn new(team: Team) -> ShmReduce {
        ShmReduce { team, slots: None }
    }
}

/// An anonymous shared mapping of `slots` × [`SLOT`] bytes, zero-filled by
/// the kernel and unmapped on drop.
#[derive(Debug)]
struct SharedSlots {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping belongs to this value alone (no other handle to it
// exists in this process), so moving it to another thread is sound.
unsafe impl Send for SharedSlots {}

impl SharedSlots {
    fn new(slots: usize) -> Result<SharedSlots> {
        let len = slots * SLOT;
        let size = NonZeroUsize::new(len).unwrap_or(NonZeroUsize::MIN);
        // SAFETY: a fresh anonymous mapping aliases no Rust object; it stays
        // mapped until `drop` and is only accessed through `slot`/`store`.
        let base = unsafe {
            mmap_anonymous(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }
        .os("mmap")?;
        Ok(SharedSlots {
            base: base.cast(),
            len: size.get(),
        })
    }

    /// Zeroes every slot, so that a worker that stores nothing is noticed.
    /// Only called while no worker is alive.
    fn clear(&mut self) {
        // SAFETY: `base`/`len` describe the live mapping; `&mut self` and the
        // absence of live workers mean nothing else touches it meanwhile.
        unsafe { std::ptr::write_bytes(self.base.as_ptr(), 0, self.len) }
    }

    /// Stores `bytes` in slot `i`. Async-signal-safe: a plain memory copy.
    fn store(&self, i: usize, bytes: &[u8; OUTCOME_BYTES]) {
        debug_assert!((i + 1) * SLOT <= self.len);
        // SAFETY: slot `i` lies inside the mapping (one slot per worker), and
        // only worker `i` writes it, in its own process, while the parent
        // does not read it until that process has been reaped.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.base.as_ptr().add(i * SLOT),
                OUTCOME_BYTES,
            )
        }
    }

    /// Reads slot `i`.
    fn load(&self, i: usize) -> [u8; OUTCOME_BYTES] {
        let mut out = [0u8; OUTCOME_BYTES];
        // SAFETY: slot `i` lies inside the mapping; its writer has exited and
        // been reaped (`waitpid` orders its stores before this read).
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.base.as_ptr().add(i * SLOT),
                out.as_mut_ptr(),
                OUTCOME_BYTES,
            )
        }
        out
    }
}

impl Drop for SharedSlots {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` describe the mapping made in `new`, and no
        // reference into it outlives `self`.
        let _ = unsafe { munmap(self.base.cast(), self.len) };
    }
}

impl Backend for ShmReduce {
    fn kind(&self) -> BackendKind {
        BackendKind::ShmReduce
    }

    fn team(&self) -> &Team {
        &self.team
    }

    fn run(&mut self, job: &Job) -> Result<RunReport> {
        job.validate()?;
        let (p, cpus) = (self.team.workers, self.team.cpus.as_ref());
        let t0 = mono_ns();
        let slots = match &mut self.slots {
            Some(slots) => {
                slots.clear();
                slots
            }
            None => self.slots.insert(SharedSlots::new(p)?),
        };
        let slots = &*slots;
        let mut children = Children::with_capacity(p);
        for w in 0..p {
            let share = job.static_share(w, p);
            children.procs.push(spawn_child(w, &[], move |_sentinel| {
                slots.store(w, &WorkerOutcome::compute(job, share, cpus, w).to_bytes());
                0
            })?);
        }
        // The pipes carry no data here: their EOF says the child has exited.
        gather(&mut children, Deadline::after(job.timeout), false)?;
        let outcomes = (0..p)
            .map(|i| {
                WorkerOutcome::from_bytes(&slots.load(i))
                    .ok_or_else(|| children.died(i, "exited without storing its result".into()))
            })
            .collect::<Result<Vec<_>>>()?;
        let t_end = mono_ns();
        Ok(RunReport::assemble(
            job,
            BackendKind::ShmReduce.name(),
            t0,
            t_end,
            &outcomes,
        ))
    }
}
