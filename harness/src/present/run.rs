//! `piscale list`, and a run's report as text or JSON. Only formats what it
//! is given; never runs anything.

use std::f64::consts::PI;
use std::io::{self, Write};

use piscale_kernels::{BackendKind, CpuList, Method, Named, RunReport, StartMethod};
use serde::Serialize;
use strum::VariantArray;

use super::format::precise_time as secs;
use crate::analyse::stats::{max, min};
use crate::measure::placement::PinPolicy;
use crate::results::Kernel;

/// How a run's result is printed (`--format`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::IntoStaticStr, strum::VariantArray,
)]
#[strum(serialize_all = "kebab-case")]
pub enum Format {
    /// An aligned, readable summary.
    Text,
    /// One JSON object.
    Json,
}

impl Named for Format {
    const WHAT: &'static str = "format";
}

/// Where and how a run's workers were asked to run: the `--pin` policy,
/// the CPU list it gave, and the launcher's command line.
#[derive(Debug, Clone, Copy)]
pub struct Placement<'a> {
    /// The `--pin` setting.
    pub pin: &'a PinPolicy,
    /// The CPUs it resolved to.
    pub cpus: Option<&'a CpuList>,
    /// The command line that started the workers, for `mpi` (whether
    /// `mpirun` or `srun`, with its binding and plugin).
    pub launch: Option<&'a str>,
}

/// `piscale list`: every method and backend with its one-line description.
pub fn list(out: &mut impl Write) -> io::Result<()> {
    let width = Kernel::builtins()
        .map(|k| k.name().len())
        .chain(Method::VARIANTS.iter().map(|m| m.name().len()))
        .max();
    let width = width.unwrap_or(0);
    writeln!(out, "Methods (--method):")?;
    for m in Method::VARIANTS {
        writeln!(out, "  {:width$}  {}", m.name(), m.description())?;
    }
    writeln!(out)?;
    writeln!(out, "Backends (--backend):")?;
    for k in Kernel::builtins() {
        writeln!(out, "  {:width$}  {}", k.name(), k.description())?;
    }
    writeln!(out)?;
    writeln!(out, "Every backend but per-core evaluates the same blocks, so for a given --samples, --seed and")?;
    writeln!(
        out,
        "--block its mc hits are bit-identical at every worker count; per-core's mc answer depends"
    )?;
    writeln!(
        out,
        "on the worker count (each worker draws from its own stream)."
    )
}

/// Prints a finished run in `format`.
pub fn report(
    out: &mut impl Write,
    format: Format,
    placement: Placement<'_>,
    run: &RunReport,
) -> io::Result<()> {
    match format {
        Format::Text => text(out, placement, run),
        Format::Json => json(out, placement, run),
    }
}

/// The JSON object: the library's report plus derived throughput figures.
#[derive(Debug, Serialize)]
struct JsonReport<'a> {
    #[serde(flatten)]
    run: &'a RunReport,
    /// Samples (or steps) per nanosecond of wall time.
    samples_per_ns: f64,
    /// `samples_per_ns` divided by the number of workers.
    samples_per_ns_per_core: f64,
    /// The `--pin` setting.
    pin: String,
    /// The launcher's command line (`mpi` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    launch: Option<&'a str>,
}

fn json(out: &mut impl Write, placement: Placement<'_>, run: &RunReport) -> io::Result<()> {
    let (per_ns, per_core) = throughput(run);
    let doc = JsonReport {
        run,
        samples_per_ns: per_ns,
        samples_per_ns_per_core: per_core,
        pin: placement.pin.to_string(),
        launch: placement.launch,
    };
    let line = serde_json::to_string(&doc).map_err(io::Error::other)?;
    writeln!(out, "{line}")
}

/// Samples per ns, in all and per worker.
fn throughput(run: &RunReport) -> (f64, f64) {
    let per_ns = run.samples_per_s / 1e9;
    (per_ns, per_ns / run.workers.max(1) as f64)
}

fn text(out: &mut impl Write, placement: Placement<'_>, run: &RunReport) -> io::Result<()> {
    writeln!(out, "{}", headline(run))?;
    for (label, value) in text_rows(placement, run) {
        writeln!(out, "  {label:<12} {value}")?;
    }
    Ok(())
}

/// `mc on threads, 2 workers: N = 100000000 darts, seed 7, block 1048576`.
fn headline(run: &RunReport) -> String {
    let workers = if run.workers == 1 {
        "1 worker".to_owned()
    } else {
        format!("{} workers", run.workers)
    };
    let mut head = format!(
        "{} on {}, {workers}: N = {} {}",
        run.method,
        run.backend,
        run.samples,
        unit(run.method)
    );
    if run.method == Method::Mc {
        head.push_str(&format!(", seed {}", run.seed));
    }
    head.push_str(&format!(", block {}", run.block));
    if let Some(start) = run.start.filter(|&s| s != StartMethod::Fork) {
        head.push_str(&format!(", start {start}"));
    }
    if let Some(c) = run.chunksize {
        // A shared counter's chunk is the blocks between two updates.
        match backend_kind(run).and_then(BackendKind::update) {
            Some(_) => head.push_str(&format!(", flush {c}")),
            None => head.push_str(&format!(", chunksize {c}")),
        }
    }
    head
}

/// The library backend a report names (`None` for mpi).
fn backend_kind(run: &RunReport) -> Option<BackendKind> {
    BackendKind::parse(run.backend).ok()
}

/// What the method's work is counted in.
fn unit(method: Method) -> &'static str {
    match method {
        Method::Mc => "darts",
        Method::Midpoint => "steps",
    }
}

/// The labelled lines under the headline.
fn text_rows(placement: Placement<'_>, run: &RunReport) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("estimate", format!("{:.15}", run.estimate)),
        ("error", error(run)),
    ];
    if let Some(hits) = run.hits {
        rows.push(("hits", format!("{hits} of {}", run.samples)));
    }
    if let Some(race) = &run.race {
        // shm-race: the answer above is the racy counter's, on purpose.
        rows.push(("WRONG", race.to_string()));
    }
    rows.push((
        "wall time",
        format!(
            "{} = spawn {} + compute {} + reduce {}",
            secs(run.wall_s),
            secs(run.spawn_s),
            secs(run.compute_s),
            secs(run.reduce_s)
        ),
    ));
    if let Some(setup) = run.setup_s {
        // A pool starts its workers once; a fork server starts once and
        // forks the workers of every run.
        let persistent = backend_kind(run).is_some_and(|k| k.traits().persistent);
        let what = match run.start {
            Some(StartMethod::Forkserver) if !persistent => "the fork server",
            _ => "the persistent workers",
        };
        rows.push((
            "setup",
            format!("{} (starting {what}, not in wall time)", secs(setup)),
        ));
    }
    if let (Some(lo), Some(hi), true) = (
        min(&run.worker_compute_s),
        max(&run.worker_compute_s),
        run.workers > 1,
    ) {
        rows.push(("worker busy", format!("{} to {}", secs(lo), secs(hi))));
    }
    let (per_ns, per_core) = throughput(run);
    let unit = unit(run.method);
    rows.push((
        "throughput",
        format!("{per_ns:.3} {unit}/ns, {per_core:.3} per worker"),
    ));
    let pinned = match placement.pin {
        PinPolicy::None => "unpinned".to_owned(),
        PinPolicy::List(list) => format!("pinned to {list}"),
        policy => format!(
            "pinned {policy} to {}",
            placement.cpus.map(ToString::to_string).unwrap_or_default()
        ),
    };
    rows.push((
        "cpus",
        format!("{} (worker order; {pinned})", cpus(&run.cpus)),
    ));
    if !run.hosts.is_empty() {
        rows.push(("hosts", hosts(&run.hosts)));
    }
    if let Some(line) = placement.launch {
        rows.push(("launched by", line.to_owned()));
    }
    rows
}

/// `+8.151e-5 vs pi (std error 1.642e-4, 0.50 sigma)`.
fn error(run: &RunReport) -> String {
    let diff = run.estimate - PI;
    match (run.std_error, run.error_bound) {
        (Some(se), _) if se > 0.0 => format!(
            "{diff:+.3e} vs pi (std error {se:.3e}, {:.2} sigma)",
            diff.abs() / se
        ),
        (Some(se), _) => format!("{diff:+.3e} vs pi (std error {se:.3e})"),
        (None, Some(bound)) => format!("{diff:+.3e} vs pi (discretisation bound {bound:.3e})"),
        (None, None) => format!("{diff:+.3e} vs pi"),
    }
}

/// Hosts with their number of workers, in order of first appearance:
/// `n1 ×2, n2 ×2`.
fn hosts(hosts: &[String]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for h in hosts {
        match counts.iter_mut().find(|(name, _)| name == h) {
            Some((_, n)) => *n += 1,
            None => counts.push((h, 1)),
        }
    }
    counts
        .iter()
        .map(|(h, n)| format!("{h} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The CPUs workers ran on, compactly: `0-3`, or `0,?,2` when some are unknown.
fn cpus(cpus: &[Option<usize>]) -> String {
    match cpus.iter().copied().collect::<Option<Vec<_>>>() {
        Some(known) => CpuList(known).to_string(),
        None => cpus
            .iter()
            .map(|c| c.map_or("?".to_owned(), |c| c.to_string()))
            .collect::<Vec<_>>()
            .join(","),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_counted_in_order() {
        let names = ["n2", "n1", "n2"].map(String::from);
        assert_eq!(hosts(&names), "n2 ×2, n1 ×1");
    }

    #[test]
    fn list_names_every_method_and_backend() {
        let mut buf = Vec::new();
        list(&mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let names: Vec<String> = Method::VARIANTS
            .iter()
            .map(|m| m.name().to_owned())
            .chain(Kernel::builtins().map(|k| k.name().to_owned()))
            .collect();
        for name in names {
            assert!(
                text.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{name} "))),
                "{name}"
            );
        }
    }

    #[test]
    fn cpus_are_shown_compactly() {
        assert_eq!(cpus(&[Some(0), Some(1), Some(2)]), "0-2");
        assert_eq!(cpus(&[Some(1), Some(0), Some(1)]), "1,0-1");
        assert_eq!(cpus(&[Some(0), None]), "0,?");
    }
}
