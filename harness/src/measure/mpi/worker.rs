//! `piscale mpi-worker`: what every rank runs (cargo feature `mpi`).
//!
//! 1. Initialise MPI; pin to `cpus[local rank % len]` when asked (the local
//!    rank is the rank among those on the same host, `MPI_COMM_TYPE_SHARED`).
//! 2. Barrier: every rank is initialised. Rank 0 stamps the end of the
//!    launch (the spawn phase) and starts `MPI_Wtime`.
//! 3. Compute the rank's static share of blocks — the same decomposition
//!    as the `threads` backend — then `MPI_Reduce` the exact partial to
//!    rank 0 as four 32-bit limbs ([`super::wire`]); rank 0 stops the clock.
//! 4. Outside the timed region, gather every rank's compute time, CPU and
//!    host to rank 0, which prints the result line.
//!
//! A rank that cannot start (bad arguments, an ISA its CPU lacks) prints
//! `piscale mpi-worker: rank R on HOST: why` and aborts the whole job, so no
//! rank waits for ever in a collective.

use anyhow::{anyhow, Result};
use mpi::collective::SystemOperation;
use mpi::traits::*;
use piscale_kernels::clock::{mono_ns, secs_between};
use piscale_kernels::pin::pin_worker;
use piscale_kernels::{CpuList, Job, Named, WorkerOutcome};

use super::launch::{host_name, realtime_ns};
use super::wire::{
    join_limbs, split_limbs, MpiResult, RankInfo, RankRecord, SpawnClock, RECORD_WORDS,
};
use crate::cli::MpiWorkerArgs;
use crate::measure::IsaChoice;

/// Exit code passed to `MPI_Abort` when a rank cannot run.
const ABORT_CODE: i32 = 3;

/// Runs this rank's part of the job.
pub fn run(args: MpiWorkerArgs) -> Result<()> {
    let universe = mpi::initialize().ok_or_else(|| anyhow!("MPI is already initialised"))?;
    let world = universe.world();
    let rank = world.rank();
    let host = host_name();
    let (job, cpus) = match prepare(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("piscale mpi-worker: rank {rank} on {host}: {e:#}");
            world.abort(ABORT_CODE)
        }
    };
    let local = world.split_shared(rank);
    let local_rank = usize::try_from(local.rank()).unwrap_or_default();
    if let Some(list) = &cpus {
        pin_worker(Some(list), local_rank);
    }

    world.barrier();
    let ready = Ready {
        mono_ns: mono_ns(),
        real_ns: realtime_ns(),
    };
    let t_start = mpi::time();
    let (outcome, total) = compute_and_reduce(&world, &job, local_rank);
    let timed = (mpi::time() - t_start).max(0.0);

    let record = RankRecord {
        busy_ns: outcome.busy_ns,
        cpu: outcome.cpu,
        host: host.clone(),
    }
    .to_words();
    let root = world.process_at_rank(0);
    if rank != 0 {
        root.gather_into(&record[..]);
        return Ok(());
    }
    let ranks = usize::try_from(world.size()).unwrap_or(1);
    let mut all = vec![0u64; RECORD_WORDS * ranks];
    root.gather_into_root(&record[..], &mut all[..]);
    let records: Vec<RankRecord> = all
        .chunks(RECORD_WORDS)
        .map(RankRecord::from_words)
        .collect();
    let result = rank0_result(&args, &host, &ready, timed, total, records, &job);
    println!("{}", result.to_line());
    Ok(())
}

/// When every rank had passed the first barrier, on both clocks.
struct Ready {
    mono_ns: u64,
    real_ns: u64,
}

/// Computes this rank's static share of blocks and sums the exact partials
/// into rank 0 (as limbs; `total` is meaningful on rank 0 only).
fn compute_and_reduce(
    world: &mpi::topology::SimpleCommunicator,
    job: &Job,
    local_rank: usize,
) -> (WorkerOutcome, [u64; 4]) {
    let me = usize::try_from(world.rank()).unwrap_or_default();
    let ranks = usize::try_from(world.size()).unwrap_or(1);
    let range = job.static_share(me, ranks);
    let outcome = WorkerOutcome::timed(None, local_rank, range.count, || job.partial(range));
    let limbs = split_limbs(outcome.partial);
    let root = world.process_at_rank(0);
    let mut total = [0u64; 4];
    if me == 0 {
        root.reduce_into_root(&limbs[..], &mut total[..], SystemOperation::sum());
    } else {
        root.reduce_into(&limbs[..], SystemOperation::sum());
    }
    (outcome, total)
}

/// Rank 0's result line: the phases (spawn on the launcher's clock when
/// on its host), the exact total and every rank's record.
fn rank0_result(
    args: &MpiWorkerArgs,
    host: &str,
    ready: &Ready,
    timed: f64,
    total: [u64; 4],
    records: Vec<RankRecord>,
    job: &Job,
) -> MpiResult {
    let (spawn_s, spawn_clock) = if host == args.launch_host {
        (
            secs_between(args.t0_mono_ns, ready.mono_ns),
            SpawnClock::Monotonic,
        )
    } else {
        (
            secs_between(args.t0_real_ns, ready.real_ns),
            SpawnClock::Realtime,
        )
    };
    let slowest = records.iter().map(|r| r.busy_ns).max().unwrap_or_default() as f64 * 1e-9;
    let compute_s = slowest.min(timed);
    MpiResult {
        partial: join_limbs(total).to_string(),
        isa: job.isa.usable().name().into(),
        spawn_s,
        compute_s,
        reduce_s: timed - compute_s,
        spawn_clock,
        ranks: records
            .into_iter()
            .enumerate()
            .map(|(rank, r)| RankInfo {
                rank,
                host: r.host,
                cpu: r.cpu,
                compute_s: r.busy_ns as f64 * 1e-9,
            })
            .collect(),
    }
}

/// The job (on the ISA asked for, resolved on this rank's CPU) and the CPU
/// list from the arguments.
fn prepare(args: &MpiWorkerArgs) -> Result<(Job, Option<CpuList>)> {
    let isa: IsaChoice = args.isa.parse().map_err(|e| anyhow!("--isa: {e}"))?;
    let job = Job::new(args.method, args.samples)
        .seed(args.seed)
        .block(args.block)
        .isa(isa.resolve());
    job.validate()?;
    if let Some(list) = &args.cpus {
        list.check_usable().map_err(|e| anyhow!("--cpus: {e}"))?;
    }
    Ok((job, args.cpus.clone()))
}
