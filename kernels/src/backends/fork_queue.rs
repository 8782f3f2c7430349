//! `fork-queue`: `workers` forked producers and ONE shared pipe, the
//! parent its only consumer (the course's `multiprocessing.Queue`).
//!
//! The job's blocks are cut into chunks of `chunksize` blocks
//! ([`Job::effective_chunksize`]) and dealt round-robin in advance: chunk
//! `c` is producer `c mod P`'s. A producer writes one fixed-size record per
//! chunk as it finishes it. A record ([`RECORD_BYTES`]) is far smaller than
//! `PIPE_BUF`, so each `write` is atomic: the records of all producers
//! interleave in the pipe whole, never torn, and the producers need no lock.
//! The parent reads the pipe until every block is accounted for.
//!
//! A producer's records arrive in the order it wrote them, so the parent
//! checks each against the chunk that producer owes next. Deaths are seen as
//! in the other process backends: each producer also holds its own sentinel
//! pipe (see `process.rs`), whose end-of-file the parent polls beside the
//! shared pipe, reaping the producer and naming it if it did not exit
//! cleanly. End-of-file on the shared pipe means every producer has exited;
//! blocks still missing then name the producer that owed them.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::{pipe2, read};

use super::process::{raw, write_all, Children, Deadline, PollSet, Wake};
use super::worker::{launch_team, Assignment, Starter, WorkerIo};
use super::{Backend, BackendKind, Team};
use crate::clock::mono_ns;
use crate::error::{Error, OsContext, Result};
use crate::job::{BlockRange, Job};
use crate::named::Named;
use crate::pin::{current_cpu, pin_worker, CpuList};
use crate::report::{RunReport, WorkerOutcome, OUTCOME_BYTES};

/// One record: the producer's index and the chunk's first block (a
/// little-endian `u64` each), then the chunk's [`WorkerOutcome`] (its
/// partial, stamps, CPU, blocks as units, and the completion marker last).
const RECORD_BYTES: usize = 16 + OUTCOME_BYTES;

// A write of at most PIPE_BUF bytes to a pipe is atomic (POSIX): records of
// concurrent producers never interleave within one another.
const _: () = assert!(RECORD_BYTES <= libc::PIPE_BUF);

/// Records the parent takes from the pipe in one `read`.
const BATCH: usize = 64;

/// Forks a fresh set of producers and one shared pipe for every run.
#[derive(Debug)]
pub struct ForkQueue {
    team: Team,
    starter: Starter,
}

impl ForkQueue {
    /// A fork-queue backend for `team`.
    pub fn new(team: Team) -> ForkQueue {
        let starter = Starter::new(team.start);
        ForkQueue { team, starter }
    }
}

/// How the job's blocks are cut and dealt.
#[derive(Debug, Clone, Copy)]
struct Chunks {
    /// Blocks in the job.
    blocks: u64,
    /// Blocks per chunk (the last may be shorter).
    size: u64,
    /// Producers.
    workers: usize,
}

impl Chunks {
    fn new(job: &Job, workers: usize) -> Chunks {
        Chunks {
            blocks: job.blocks(),
            size: job.effective_chunksize(workers),
            workers,
        }
    }

    /// The blocks of chunk `c`, if there is such a chunk.
    fn range(&self, c: u64) -> Option<BlockRange> {
        (c < self.blocks.div_ceil(self.size)).then(|| {
            let first = c * self.size;
            BlockRange {
                first,
                count: self.size.min(self.blocks - first),
            }
        })
    }

    /// The `k`-th chunk of producer `w` (round-robin: chunk `w + k·P`).
    fn nth_of(&self, w: usize, k: u64) -> Option<BlockRange> {
        let c = (k as u128 * self.workers as u128 + w as u128)
            .try_into()
            .ok()?;
        self.range(c)
    }
}

/// The record of `outcome`, producer `worker`'s chunk starting at `first`.
/// Allocation-free: written by a forked producer.
fn encode(worker: usize, first: u64, outcome: &WorkerOutcome) -> [u8; RECORD_BYTES] {
    let mut out = [0u8; RECORD_BYTES];
    out[..8].copy_from_slice(&(worker as u64).to_le_bytes());
    out[8..16].copy_from_slice(&first.to_le_bytes());
    out[16..].copy_from_slice(&outcome.to_bytes());
    out
}

/// Parses [`encode`]: (producer, first block, outcome), or `None` without
/// the completion marker.
fn decode(bytes: &[u8]) -> Option<(u64, u64, WorkerOutcome)> {
    let word = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
        u64::from_le_bytes(b)
    };
    let mut outcome = [0u8; OUTCOME_BYTES];
    outcome.copy_from_slice(bytes.get(16..RECORD_BYTES)?);
    Some((word(0), word(1), WorkerOutcome::from_bytes(&outcome)?))
}

/// The body of producer `w`, in a forked child: pins, then computes its
/// chunks in order and writes one record per chunk to `queue`.
/// Async-signal-safe: stack buffers, clock reads, `write` and computation.
fn produce(job: &Job, chunks: Chunks, w: usize, cpus: Option<&CpuList>, queue: BorrowedFd) -> i32 {
    pin_worker(cpus, w);
    let mut k = 0;
    while let Some(range) = chunks.nth_of(w, k) {
        let start_ns = mono_ns();
        let partial = job.partial(range);
        let end_ns = mono_ns();
        let outcome = WorkerOutcome {
            partial,
            start_ns,
            end_ns,
            busy_ns: end_ns.saturating_sub(start_ns),
            cpu: current_cpu(),
            units: range.count,
        };
        if !write_all(queue, &encode(w, range.first, &outcome)) {
            return 1;
        }
        k += 1;
    }
    0
}

/// A producer's body (see [`produce`]), its queue the shared pipe.
pub(crate) fn work(a: &Assignment, cpus: Option<&CpuList>, io: &WorkerIo<'_>) -> i32 {
    let Some(queue) = io.extra else {
        return 2;
    };
    produce(
        &a.job,
        Chunks::new(&a.job, a.workers),
        a.worker,
        cpus,
        queue,
    )
}

/// What the consumer has received so far.
#[derive(Debug)]
struct Tally {
    chunks: Chunks,
    /// Each producer's totals: partial and units summed, busy summed,
    /// start of its first chunk, end of its last.
    per_worker: Vec<WorkerOutcome>,
    /// How many chunks each producer has delivered.
    delivered: Vec<u64>,
    /// Blocks not yet accounted for.
    left: u64,
}

impl Tally {
    fn new(chunks: Chunks) -> Tally {
        Tally {
            chunks,
            per_worker: vec![WorkerOutcome::default(); chunks.workers],
            delivered: vec![0; chunks.workers],
            left: chunks.blocks,
        }
    }

    /// Adds one record, which must be the next chunk its producer owes.
    fn add(&mut self, record: &[u8], children: &Children) -> Result<()> {
        let Some((w, first, o)) = decode(record) else {
            return Err(Error::Invalid(
                "fork-queue: a record without its completion marker in the shared pipe".into(),
            ));
        };
        let Some(i) = usize::try_from(w).ok().filter(|&i| i < self.chunks.workers) else {
            return Err(Error::Invalid(format!(
                "fork-queue: a record from producer {w}, of {}",
                self.chunks.workers
            )));
        };
        let owed = self.chunks.nth_of(i, self.delivered[i]);
        if owed
            != Some(BlockRange {
                first,
                count: o.units,
            })
        {
            let how = format!(
                "wrote a record for blocks {first}..{} where it owed {owed:?}",
                first.saturating_add(o.units)
            );
            return Err(children.died(i, how));
        }
        let acc = &mut self.per_worker[i];
        if self.delivered[i] == 0 {
            acc.start_ns = o.start_ns;
        }
        acc.partial = acc.partial.wrapping_add(o.partial);
        acc.end_ns = o.end_ns;
        acc.busy_ns += o.busy_ns;
        acc.units += o.units;
        acc.cpu = o.cpu;
        self.delivered[i] += 1;
        self.left -= o.units;
        Ok(())
    }

    /// The error for blocks still missing when every producer has exited
    /// cleanly: the first producer that owes a chunk.
    fn missing(&self, children: &Children) -> Error {
        let owing = (0..self.chunks.workers)
            .find_map(|i| Some(i).zip(self.chunks.nth_of(i, self.delivered[i])));
        match owing {
            Some((i, r)) => children.died(
                i,
                format!(
                    "exited without writing its record for blocks {}..{}",
                    r.first,
                    r.first + r.count
                ),
            ),
            None => Error::Invalid(format!(
                "fork-queue: {} blocks unaccounted for, yet no producer owes any",
                self.left
            )),
        }
    }
}

/// Reads the shared pipe `queue` until every block is accounted for and
/// every producer has exited cleanly; each producer's totals. Fails naming
/// the producer that dies, stops, writes a record out of turn or exits
/// owing blocks; `Timeout` and `Cancelled` as every process backend.
fn consume(
    children: &mut Children,
    queue: &OwnedFd,
    chunks: Chunks,
    deadline: Deadline,
) -> Result<Vec<WorkerOutcome>> {
    let p = children.procs.len();
    let mut tally = Tally::new(chunks);
    let mut polls = PollSet::new(children, Wake::Exit);
    let q = polls.watch(queue.as_fd());
    polls.set(q, tally.left > 0);
    let mut buf = [0u8; BATCH * RECORD_BYTES];
    let mut have = 0;
    while polls.any_on() {
        polls.wait(children, deadline)?;
        for i in 0..p {
            if polls.is_ready(i) {
                // Exited: everything it wrote is in the pipe already.
                polls.set(i, false);
                children.reap_clean(i)?;
            }
        }
        if !polls.is_ready(q) {
            continue;
        }
        let got = match read(queue.as_fd(), &mut buf[have..]) {
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(errno) => {
                return Err(Error::Os {
                    context: "read",
                    errno,
                })
            }
        };
        if got == 0 {
            // End-of-file: every producer has exited; their sentinels say how.
            polls.set(q, false);
            continue;
        }
        have += got;
        let whole = have - have % RECORD_BYTES;
        for record in buf[..whole].chunks_exact(RECORD_BYTES) {
            tally.add(record, children)?;
        }
        buf.copy_within(whole..have, 0);
        have -= whole;
        polls.set(q, tally.left > 0);
    }
    if tally.left > 0 {
        return Err(tally.missing(children));
    }
    if have > 0 {
        return Err(Error::Invalid(format!(
            "fork-queue: {have} stray bytes after the last record"
        )));
    }
    Ok(tally.per_worker)
}

impl Backend for ForkQueue {
    fn kind(&self) -> BackendKind {
        BackendKind::ForkQueue
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
        let chunks = Chunks::new(job, p);
        let t0 = mono_ns();
        // O_CLOEXEC: a program another thread spawns must not hold a write
        // end, or end-of-file would wait for it.
        let (from_producers, to_consumer) = pipe2(OFlag::O_CLOEXEC).os("pipe2")?;
        // Producers keep no read end: only the parent consumes.
        let (close, queue) = ([raw(&from_producers)], Some(to_consumer.as_fd()));
        let backend = BackendKind::ForkQueue;
        let mut children =
            launch_team(&self.team, &self.starter, backend, job, None, queue, &close)?;
        // Now only the producers hold write ends: end-of-file means all exited.
        drop(to_consumer);
        let mut per_worker = consume(
            &mut children,
            &from_producers,
            chunks,
            Deadline::after(job.timeout),
        )
        .inspect_err(|_| children.kill_all())?;
        let t_end = mono_ns();
        for o in per_worker.iter_mut().filter(|o| o.units == 0) {
            // A producer dealt no chunk never started: it does not delay the
            // spawn phase.
            o.start_ns = t0;
        }
        let mut report =
            RunReport::assemble(job, BackendKind::ForkQueue.name(), t0, t_end, &per_worker);
        report.chunksize = Some(chunks.size);
        report.start = Some(self.starter.method());
        report.setup_s = self.starter.setup_s();
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::super::process::spawn_child;
    use super::*;
    use crate::job::Method;

    fn backend(p: usize) -> ForkQueue {
        ForkQueue::new(Team::unpinned(p).unwrap())
    }

    fn whole(job: &Job) -> u128 {
        job.partial(BlockRange {
            first: 0,
            count: job.blocks(),
        })
    }

    #[test]
    fn records_round_trip_and_fit_in_pipe_buf() {
        let o = WorkerOutcome {
            partial: (5u128 << 64) | 77,
            start_ns: 10,
            end_ns: 20,
            busy_ns: 10,
            cpu: Some(2),
            units: 3,
        };
        assert_eq!(decode(&encode(4, 99, &o)), Some((4, 99, o)));
        assert_eq!(decode(&[0; RECORD_BYTES]), None);
        assert_eq!(RECORD_BYTES, 80);
    }

    #[test]
    fn chunks_are_dealt_round_robin_and_cover_every_block_once() {
        let job = Job::new(Method::Mc, 1000).block(10).chunksize(Some(7));
        let chunks = Chunks::new(&job, 3);
        let mut seen = vec![0; 100];
        for w in 0..3 {
            let mut k = 0;
            while let Some(r) = chunks.nth_of(w, k) {
                assert_eq!(r.first / 7 % 3, w as u64);
                (r.first..r.first + r.count).for_each(|b| seen[b as usize] += 1);
                k += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1), "{seen:?}");
    }

    /// Forks `p` producers that take turns — a token passed round a ring of
    /// pipes — so that their records alternate in the shared pipe: producer
    /// 0's first chunk, producer 1's first, …, producer 0's second. `quit`
    /// names a producer that exits cleanly before its last record.
    fn interleaved(job: &Job, p: usize, quit: Option<usize>) -> Result<Vec<WorkerOutcome>> {
        let chunks = Chunks::new(job, p);
        let (from_producers, to_consumer) = pipe2(OFlag::O_CLOEXEC).unwrap();
        let ring: Vec<(OwnedFd, OwnedFd)> =
            (0..p).map(|_| pipe2(OFlag::O_CLOEXEC).unwrap()).collect();
        let mut children = Children::with_capacity(p);
        for w in 0..p {
            let queue = to_consumer.as_fd();
            let (my_turn, next_turn) = (ring[w].0.as_fd(), ring[(w + 1) % p].1.as_fd());
            let child = spawn_child(w, &[raw(&from_producers)], move |_| {
                let mut token = [0u8; 1];
                let mut k = 0;
                while let Some(range) = chunks.nth_of(w, k) {
                    if super::super::process::read_full(my_turn, &mut token) != 1 {
                        return 2;
                    }
                    let last = chunks.nth_of(w, k + 1).is_none();
                    if last && quit == Some(w) {
                        let _ = write_all(next_turn, &token);
                        return 0;
                    }
                    let o = WorkerOutcome::compute(job, range, None, w);
                    if !write_all(queue, &encode(w, range.first, &o)) {
                        return 1;
                    }
                    // The last turn round the ring finds producer 0 gone.
                    let _ = write_all(next_turn, &token);
                    k += 1;
                }
                0
            })?;
            children.procs.push(child);
        }
        drop(to_consumer);
        assert!(write_all(ring[0].1.as_fd(), &[1]));
        drop(ring);
        consume(
            &mut children,
            &from_producers,
            chunks,
            Deadline::after(None),
        )
    }

    #[test]
    fn records_of_several_producers_interleave_in_one_pipe_and_all_are_read() {
        // 50 blocks in chunks of 2: 25 records, in turn from 4 producers.
        let job = Job::new(Method::Mc, 50_000)
            .seed(3)
            .block(1000)
            .chunksize(Some(2));
        let per_worker = interleaved(&job, 4, None).unwrap();
        let units: Vec<u64> = per_worker.iter().map(|o| o.units).collect();
        assert_eq!(units, [14, 12, 12, 12]);
        let total = per_worker
            .iter()
            .fold(0u128, |a, o| a.wrapping_add(o.partial));
        assert_eq!(total, whole(&job));
        // They took turns: each producer's first chunk started before the
        // next one's, and all before producer 0's last chunk ended.
        assert!(per_worker.windows(2).all(|w| w[0].start_ns < w[1].start_ns));
        assert!(per_worker.iter().all(|o| o.start_ns < per_worker[0].end_ns));
    }

    #[test]
    fn a_producer_that_exits_owing_a_chunk_is_named() {
        let job = Job::new(Method::Midpoint, 9_000)
            .block(1000)
            .chunksize(Some(1));
        let err = interleaved(&job, 3, Some(1)).unwrap_err();
        assert!(
            matches!(&err, Error::WorkerDied { worker: 1, how, .. }
                if how == "exited without writing its record for blocks 7..8"),
            "{err}"
        );
    }

    #[test]
    fn a_chunk_of_one_block_and_a_chunk_of_every_block_both_work() {
        let job = Job::new(Method::Mc, 200_003).seed(8).block(10_000);
        let expected = whole(&job);
        for size in [1, job.blocks(), 10 * job.blocks()] {
            let run = job.clone().chunksize(Some(size));
            let r = backend(3).run(&run).unwrap();
            assert_eq!(r.partial, expected, "chunksize {size}");
            assert_eq!(r.chunksize, Some(size));
            assert_eq!(r.worker_units.iter().sum::<u64>(), job.blocks());
            if size >= job.blocks() {
                // One chunk: producer 0 alone computes.
                assert_eq!(r.worker_units, [job.blocks(), 0, 0]);
            } else {
                assert_eq!(r.worker_units, [7, 7, 7]);
            }
        }
        let mid = Job::new(Method::Midpoint, 77_777).block(1_000);
        assert_eq!(
            backend(2)
                .run(&mid.clone().chunksize(Some(1)))
                .unwrap()
                .partial,
            whole(&mid)
        );
    }
}
