//! Synthetic rows with known times, shared by the tests of the summary,
//! the tables, the reports and the plots.

use piscale_kernels::{Isa, Method};

use super::{format_cpus, Kernel, Mode, PerWorker, RawRow, Status};

/// A successful repetition of `backend` (a kernel's name) at `workers`
/// workers taking `wall_s`, for mc; its phases are wall/4, wall/2, wall/4
/// (none for a command kernel).
pub(crate) fn row(backend: &str, mode: Mode, workers: usize, samples: u64, wall_s: f64) -> RawRow {
    let kernel = Kernel::from_name(backend);
    let command = !kernel.is_builtin();
    let phase = (!command).then_some(wall_s / 4.0);
    RawRow {
        run_id: "20250101-120000".into(),
        timestamp: "2025-01-01T12:00:00.000+00:00".into(),
        method: Method::Mc,
        backend: kernel,
        mode,
        workers,
        samples,
        samples_per_worker: samples / workers as u64,
        block: 1 << 20,
        chunksize: None,
        pin: "none".into(),
        seed: 1,
        rep: 0,
        wall_s: Some(wall_s),
        spawn_s: phase,
        compute_s: phase.map(|p| 2.0 * p),
        reduce_s: phase,
        estimate: Some(3.14163),
        abs_error: Some(3.73e-5),
        std_error: Some(1.6e-5),
        cpus: format_cpus(&vec![Some(0); workers]),
        placement_ok: true,
        oversubscribed: false,
        status: Status::Ok,
        error: String::new(),
        isa: (!command).then_some(Isa::Avx2),
        hosts: String::new(),
        steal_s: None,
        stall_s: None,
        runnable: None,
        disturbed: false,
        attempts: Some(1),
        core_kinds: String::new(),
        busy_s: PerWorker::default(),
        work: PerWorker::default(),
        rates: PerWorker::default(),
        start: None,
        launch: String::new(),
    }
}

/// `r`, failed.
pub(crate) fn failed(mut r: RawRow) -> RawRow {
    r.status = Status::Failed;
    r.error = "worker 1 exited with status 9".into();
    r.wall_s = None;
    r.spawn_s = None;
    r.compute_s = None;
    r.reduce_s = None;
    r.estimate = None;
    r.abs_error = None;
    r.std_error = None;
    r
}

/// `r` for `method`.
pub(crate) fn with_method(method: Method, mut r: RawRow) -> RawRow {
    r.method = method;
    r
}

/// `rows` with their repetitions numbered per point in order of
/// appearance, as a sweep numbers them (a repetition counts once).
pub(crate) fn numbered(mut rows: Vec<RawRow>) -> Vec<RawRow> {
    let mut next: std::collections::HashMap<crate::results::PointId, u32> =
        std::collections::HashMap::new();
    for r in &mut rows {
        let n = next.entry(r.id()).or_default();
        r.rep = *n;
        *n += 1;
    }
    rows
}

pub(crate) const N: u64 = 2_000_000_000;
pub(crate) const PER_WORKER: u64 = 100_000_000;

/// Shuffled like a real schedule: threads 1 worker 2.0 s ×3, 2 workers
/// 1.0/1.1/1.05 s and one failure, serial 2.2 s ×3, rayon failing at 2
/// workers, a command kernel, and a weak sweep of threads and serial.
pub(crate) fn fixture() -> Vec<RawRow> {
    let s = Mode::Strong;
    let w = Mode::Weak;
    numbered(vec![
        row("threads", s, 2, N, 1.1),
        row("python-pi1", s, 1, N, 40.0),
        row("threads", s, 1, N, 2.0),
        failed(row("rayon", s, 2, N, 0.3)),
        row("serial", s, 1, N, 2.2),
        row("threads", w, 2, 2 * PER_WORKER, 0.55),
        row("threads", s, 2, N, 1.0),
        row("python-pi1", s, 2, N, 24.0),
        row("rayon", s, 1, N, 2.1),
        row("serial", w, 1, PER_WORKER, 0.6),
        failed(row("threads", s, 2, N, 0.2)),
        row("threads", s, 1, N, 2.0),
        row("serial", s, 1, N, 2.2),
        row("threads", w, 1, PER_WORKER, 0.5),
        row("threads", s, 2, N, 1.05),
        failed(row("rayon", s, 2, N, 0.4)),
        row("threads", s, 1, N, 2.0),
        row("serial", s, 1, N, 2.2),
    ])
}
