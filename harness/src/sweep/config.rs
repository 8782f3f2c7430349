//! The settings of one sweep, declared once: [`SweepConfig`] is both the
//! TOML table of a config file and the flags of `piscale sweep`.
//!
//! Each setting is one field, with its doc (the flag's help), its clap
//! attributes, its serde attributes and its default (`#[default(…)]`,
//! [`SmartDefault`]). The layers merge in order: defaults, then the config
//! file (missing keys keep their defaults), then the flags actually given on
//! the command line ([`clap::FromArgMatches::update_from_arg_matches`] sets
//! only those), and [`SweepConfig::validate_for`] checks the whole once,
//! before any work starts. The default settings are `configs/default.toml`,
//! embedded in the binary; `Default` produces the same values (a test holds
//! them together).
//!
//! Whole-number settings accept TOML integers or strings in the syntax of
//! [`crate::numbers`]: `samples = "2^28"`, `samples = "1e9"`, `1_000_000`.

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use piscale_kernels::{
    BackendKind, CpuList, Method, Named, StartMethod, Update, DEFAULT_BLOCK, MAX_SAMPLES,
    MAX_WORKERS,
};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use smart_default::SmartDefault;
use strum::VariantArray;

use crate::cli::utf8;
use crate::error::UsageError;
use crate::measure::command::CommandKernel;
use crate::measure::mpi::MpiSettings;
use crate::measure::placement::PinPolicy;
use crate::measure::IsaChoice;
use crate::numbers::{flags, parse_in_range, parse_whole};
use crate::results::{Kernel, Mode};

/// The largest config file read: far more than any sweep needs, and a
/// bound on what `--config /dev/zero` costs.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The default study, as shipped in `configs/default.toml`.
pub const DEFAULT_TOML: &str = include_str!("../../../configs/default.toml");

/// The worker counts of a sweep.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Workers {
    /// 1, 2, 4, … (powers of two below the usable CPUs) and the usable CPUs.
    #[default]
    Auto,
    /// Exactly these counts, in this order.
    List(Vec<usize>),
}

impl FromStr for Workers {
    type Err = String;

    /// `auto`, a comma list `1,2,4`, an inclusive range `1..8` (or `1..=8`),
    /// or a mix of both: `1,2,4..6`.
    fn from_str(s: &str) -> Result<Workers, String> {
        let s = s.trim();
        if s == "auto" {
            return Ok(Workers::Auto);
        }
        if s.is_empty() {
            return Err("expected auto, a list like 1,2,4 or a range like 1..8".into());
        }
        let count = |t: &str| {
            parse_in_range(t, 1, MAX_WORKERS as u64)
                .map(|n| n as usize)
                .map_err(|e| format!("worker count {e}"))
        };
        let mut counts = Vec::new();
        for item in s.split(',') {
            match item.split_once("..") {
                Some((lo, hi)) => {
                    let (lo, hi) = (count(lo)?, count(hi.strip_prefix('=').unwrap_or(hi))?);
                    if lo > hi {
                        return Err(format!("range {} is reversed", item.trim()));
                    }
                    counts.extend(lo..=hi);
                }
                None => counts.push(count(item)?),
            }
        }
        Ok(Workers::List(counts))
    }
}

impl fmt::Display for Workers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Workers::Auto => f.write_str("auto"),
            Workers::List(counts) => {
                let items: Vec<String> = counts.iter().map(ToString::to_string).collect();
                f.write_str(&items.join(","))
            }
        }
    }
}

impl Serialize for Workers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Workers::Auto => s.serialize_str("auto"),
            Workers::List(counts) => {
                let mut seq = s.serialize_seq(Some(counts.len()))?;
                for c in counts {
                    seq.serialize_element(&(*c as u64))?;
                }
                seq.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Workers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Workers, D::Error> {
        struct WorkersVisitor;

        impl<'de> Visitor<'de> for WorkersVisitor {
            type Value = Workers;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#""auto", a list like [1, 2, 4] or a string like "1,2,4" or "1..8""#)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Workers, E> {
                v.parse().map_err(E::custom)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Workers, E> {
                Ok(Workers::List(vec![whole_from_i64(v)? as usize]))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Workers, E> {
                Ok(Workers::List(vec![v as usize]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Workers, A::Error> {
                let mut counts = Vec::new();
                while let Some(Whole(n)) = seq.next_element()? {
                    counts.push(n as usize);
                }
                Ok(Workers::List(counts))
            }
        }

        d.deserialize_any(WorkersVisitor)
    }
}

/// Everything one sweep does (see the module documentation). Missing TOML
/// keys keep their default; flags override the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clap::Args, SmartDefault)]
#[serde(deny_unknown_fields, default)]
pub struct SweepConfig {
    /// Methods, e.g. mc,midpoint.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = utf8(Method::parse))]
    #[default(Method::VARIANTS.to_vec())]
    pub methods: Vec<Method>,
    /// Backends, e.g. threads,rayon,fork-pipe (`serial` at 1 worker is always
    /// measured, as the baseline).
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = utf8(Kernel::parse_builtin))]
    #[serde(deserialize_with = "builtin_kernels", serialize_with = "kernel_names")]
    #[default(BackendKind::VARIANTS.iter().map(|&k| Kernel::local(k)).collect())]
    pub backends: Vec<Kernel>,
    /// Scaling modes: strong (fixed total work), weak (fixed work per worker), or both.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = utf8(Mode::parse))]
    #[default(vec![Mode::Strong])]
    pub modes: Vec<Mode>,
    /// Worker counts: auto, 1,2,3 or 1..8.
    #[arg(long, value_name = "LIST", value_parser = utf8(Workers::from_str), required = false, allow_negative_numbers = true)]
    pub workers: Workers,
    /// Total work for strong scaling.
    #[arg(long, value_name = "N", value_parser = utf8(flags::samples), required = false, allow_negative_numbers = true)]
    #[serde(with = "whole")]
    #[default(1 << 30)]
    pub samples: u64,
    /// Work per worker for weak scaling.
    #[arg(long, value_name = "N", value_parser = utf8(flags::samples), required = false, allow_negative_numbers = true)]
    #[serde(with = "whole")]
    #[default(1 << 27)]
    pub samples_per_worker: u64,
    /// Block size.
    #[arg(long, value_name = "B", value_parser = utf8(flags::positive), required = false, allow_negative_numbers = true)]
    #[serde(with = "whole")]
    #[default(DEFAULT_BLOCK)]
    pub block: u64,
    /// Blocks per pool-map task or fork-queue record [default: Pool.map's,
    /// ⌈blocks / (4·P)⌉], or per shared-counter update (`flush`) [default: 1].
    #[arg(long, visible_alias = "flush", value_name = "C", value_parser = utf8(flags::positive), allow_negative_numbers = true)]
    #[serde(
        with = "whole::option",
        skip_serializing_if = "Option::is_none",
        alias = "flush"
    )]
    pub chunksize: Option<u64>,
    /// How the shared-counter backends add into their counter: lock, atomic,
    /// none (the race). The shm-lock, shm-atomic or shm-race in `backends`
    /// become one backend per synchronisation listed, e.g. lock,atomic.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = utf8(Update::parse))]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sync: Vec<Update>,
    /// How the process backends' workers start: fork, spawn, forkserver. Each process
    /// backend in `backends` is swept once per start method listed, e.g.
    /// fork,spawn [default: fork].
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = utf8(StartMethod::parse))]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub start: Vec<StartMethod>,
    /// Recorded repetitions per point.
    #[arg(long, value_name = "R", value_parser = utf8(flags::reps), required = false, allow_negative_numbers = true)]
    #[serde(with = "whole")]
    #[default(5)]
    pub reps: u32,
    /// Times a disturbed repetition (stolen or stalled CPU time, a crowded
    /// start) is measured again before it is recorded as disturbed.
    #[arg(long, value_name = "N", value_parser = utf8(flags::warmup), required = false, allow_negative_numbers = true)]
    #[serde(with = "whole")]
    #[default(2)]
    pub retries: u32,
    /// Unrecorded warm-up runs before each point's first repetition.
    #[arg(long, value_name = "W", value_parser = utf8(flags::warmup), required = false, allow_negative_numbers = true)]
    #[serde(with = "whole")]
    #[default(1)]
    pub warmup: u32,
    /// none, compact, scatter or a CPU list like 0,2,4-7.
    #[arg(long, value_name = "POLICY", value_parser = utf8(PinPolicy::from_str), required = false, allow_negative_numbers = true)]
    #[default(PinPolicy::Compact)]
    pub pin: PinPolicy,
    /// Seed of the Monte Carlo streams and of the shuffled schedule.
    #[arg(long, value_name = "S", value_parser = utf8(flags::seed), required = false, allow_negative_numbers = true)]
    #[serde(with = "whole")]
    pub seed: u64,
    /// Allow more workers than usable CPUs.
    // A flag that sets `true` when given and leaves the file's value alone
    // when not: a plain `bool` flag would always read as given.
    #[arg(
        long,
        action = clap::ArgAction::Set,
        num_args = 0,
        default_missing_value = "true",
        value_parser = utf8(clap::builder::BoolValueParser::new()),
        required = false
    )]
    pub oversubscribe: bool,
    /// Per-run timeout in seconds (process backends, MPI and commands).
    #[arg(long = "timeout", value_name = "SECS", value_parser = utf8(flags::timeout_s), required = false, allow_negative_numbers = true)]
    #[default(300.0)]
    pub timeout_s: f64,
    /// Seconds each capacity run computes (what the CPUs can give at each
    /// worker count, measured beside the backends); 0 measures none.
    #[arg(long = "capacity", value_name = "SECS", value_parser = utf8(flags::capacity_s), required = false, allow_negative_numbers = true)]
    #[default(0.2)]
    pub capacity_s: f64,
    /// Kernel instruction set: auto, avx512, avx2 or scalar.
    #[arg(long, value_name = "ISA", value_parser = utf8(IsaChoice::from_str), required = false)]
    pub isa: IsaChoice,
    /// External kernels (`[[command]]` tables), run as whole processes.
    #[arg(skip)]
    pub command: Vec<CommandKernel>,
    /// How the `mpi` backend's ranks are started (the `[mpi]` table).
    #[arg(skip)]
    #[serde(skip_serializing_if = "is_default")]
    pub mpi: MpiSettings,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// `backends = [...]` as written: each backend's name once, in order — the
/// start methods are `start = [...]`.
fn kernel_names<S: Serializer>(kernels: &[Kernel], s: S) -> Result<S::Ok, S::Error> {
    let mut names: Vec<&str> = Vec::new();
    for k in kernels {
        if !names.contains(&k.name()) {
            names.push(k.name());
        }
    }
    names.serialize(s)
}

/// `backends = [...]`: built-in kernels only (a command is a `[[command]]`).
fn builtin_kernels<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Kernel>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|name| {
            Kernel::parse_builtin(name).map_err(|_| {
                let names: Vec<String> = Kernel::builtins().map(|k| format!("`{k}`")).collect();
                de::Error::custom(format!(
                    "unknown backend `{name}`, expected one of {}",
                    names.join(", ")
                ))
            })
        })
        .collect()
}

impl SweepConfig {
    /// The default study, parsed from the embedded `configs/default.toml`.
    pub fn embedded_default() -> SweepConfig {
        // A test parses the embedded file, so this cannot fail in a build
        // whose tests pass.
        SweepConfig::from_toml_str(DEFAULT_TOML, "configs/default.toml")
            .unwrap_or_else(|e| panic!("the embedded default config is broken: {e}"))
    }

    /// Parses TOML; `origin` (usually the file name) starts every error
    /// message, followed by the line and column: `x.toml:3:1: unknown field ...`.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<SweepConfig, UsageError> {
        toml::from_str(text).map_err(|e| UsageError(describe_toml_error(text, origin, &e)))
    }

    /// Reads and parses a TOML file of at most [`MAX_CONFIG_BYTES`].
    pub fn load(path: &Path) -> Result<SweepConfig, UsageError> {
        let origin = path.display().to_string();
        let cannot = |e: io::Error| match e.kind() {
            io::ErrorKind::NotFound => UsageError(format!("{origin}: no such config file")),
            _ => UsageError(format!("{origin}: cannot read the config file: {e}")),
        };
        // Read one byte past the limit to tell "at the limit" from "beyond";
        // `/dev/zero` or a huge file must not be read until memory runs out.
        let mut bytes = Vec::new();
        fs::File::open(path)
            .and_then(|f| f.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
            .map_err(cannot)?;
        if bytes.len() as u64 > MAX_CONFIG_BYTES {
            return Err(UsageError(format!(
                "{origin}: the config file is larger than 1 MiB"
            )));
        }
        let text = String::from_utf8(bytes).map_err(|_| {
            cannot(io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ))
        })?;
        SweepConfig::from_toml_str(&text, &origin)
    }

    /// The settings as TOML, for the record of a sweep (`config.toml`).
    /// Parsing it back gives the same settings.
    pub fn resolved_toml(&self) -> String {
        // Every field is a string, a bool, an f64, an integer up to i64::MAX
        // (larger ones are written as strings) or a list or table of those,
        // all of which TOML can hold.
        toml::to_string(self)
            .unwrap_or_else(|e| panic!("sweep config is not TOML-serialisable: {e}"))
    }

    /// The per-run timeout.
    pub fn timeout(&self) -> Duration {
        Duration::try_from_secs_f64(self.timeout_s).unwrap_or(Duration::MAX)
    }

    /// The pin policy `kernel`'s workers use: `pin`, except that the
    /// capacity's are pinned compactly when `pin = "none"` — unpinned, two
    /// of its workers can start on one CPU, and a fixed-time run would
    /// measure the scheduler instead of the CPUs.
    pub fn pin_for(&self, kernel: &Kernel) -> PinPolicy {
        match (kernel, &self.pin) {
            (Kernel::Capacity, PinPolicy::None) => PinPolicy::Compact,
            (_, pin) => pin.clone(),
        }
    }

    /// How long each capacity run computes; `None`: no capacity points.
    pub fn capacity(&self) -> Option<Duration> {
        (self.capacity_s > 0.0)
            .then(|| Duration::try_from_secs_f64(self.capacity_s).unwrap_or(Duration::MAX))
    }

    /// Whether the sweep runs the `mpi` backend.
    pub fn has_mpi(&self) -> bool {
        self.backends.contains(&Kernel::Mpi)
    }

    /// Checks the settings as a whole, for a process that may use the CPUs
    /// `usable` (`CpuList::usable()`; a parameter so that tests do not depend
    /// on the machine). Each error starts with the setting it is about.
    pub fn validate_for(mut self, usable: &CpuList) -> Result<SweepConfig, UsageError> {
        non_empty_and_unique("methods", &self.methods)?;
        if self.backends.is_empty() && !self.command.is_empty() {
            // Only the commands, beside serial: said so by `backends = []`.
        } else if self.backends.is_empty() {
            return Err(UsageError::flag(
                "backends",
                "the list is empty (to sweep only your own program, give a [[command]] table \
                 or --command, and no backends)",
            ));
        } else {
            non_empty_and_unique("backends", &self.backends)?;
        }
        self.apply_sync()?;
        self.apply_start()?;
        non_empty_and_unique("modes", &self.modes)?;
        self.check_ranges()?;
        if self.has_mpi() {
            self.mpi.validate().map_err(UsageError)?;
        }
        let most = self.check_workers(usable)?;
        self.check_pin(usable, most)?;
        self.check_commands()?;
        Ok(self)
    }

    /// `sync = [...]`: the shared-counter backends in `backends` become one
    /// per synchronisation, where the first of them stood. Applying it twice
    /// changes nothing, so a resolved `config.toml` reads back the same.
    fn apply_sync(&mut self) -> Result<(), UsageError> {
        if self.sync.is_empty() {
            return Ok(());
        }
        non_empty_and_unique("sync", &self.sync)?;
        let Some(at) = self.backends.iter().position(|k| k.update().is_some()) else {
            return Err(UsageError::flag(
                "sync",
                format!(
                    "only the shared-counter backends ({}) take a synchronisation, and backends \
                     has none of them",
                    Kernel::names_of(|k| k.update().is_some())
                ),
            ));
        };
        let chosen = self
            .sync
            .iter()
            .map(|&u| Kernel::local(BackendKind::shared_counter(u)));
        let mut backends: Vec<Kernel> = self.backends[..at].to_vec();
        backends.extend(chosen);
        backends.extend(
            self.backends[at..]
                .iter()
                .filter(|k| k.update().is_none())
                .cloned(),
        );
        self.backends = backends;
        Ok(())
    }

    /// `start = [...]`: every library process backend in `backends` becomes
    /// one kernel per start method, in that order, where it stood.
    /// Idempotent, like [`apply_sync`](Self::apply_sync).
    fn apply_start(&mut self) -> Result<(), UsageError> {
        if self.start.is_empty() {
            return Ok(());
        }
        non_empty_and_unique("start", &self.start)?;
        let processes = |k: &Kernel| k.start().is_some();
        if !self.backends.iter().any(processes) {
            return Err(UsageError::flag(
                "start",
                format!(
                    "only the library's process backends ({}) have a start method, and \
                     backends has none of them",
                    Kernel::names_of(processes)
                ),
            ));
        }
        let mut backends: Vec<Kernel> = Vec::new();
        for k in &self.backends {
            let each: Vec<Kernel> = if processes(k) {
                self.start.iter().map(|&s| k.clone().started(s)).collect()
            } else {
                vec![k.clone()]
            };
            for k in each {
                if !backends.contains(&k) {
                    backends.push(k);
                }
            }
        }
        self.backends = backends;
        Ok(())
    }

    /// Work sizes, repetitions and the timeout.
    fn check_ranges(&self) -> Result<(), UsageError> {
        let range = |key: &str, v: u64| {
            parse_in_range(&v.to_string(), 1, MAX_SAMPLES).map_err(|e| UsageError::flag(key, e))
        };
        range("samples", self.samples)?;
        range("samples_per_worker", self.samples_per_worker)?;
        range("block", self.block)?;
        if let Some(c) = self.chunksize {
            range("chunksize", c)?;
        }
        if self.reps == 0 {
            return Err(UsageError::flag("reps", "must be at least 1, got 0"));
        }
        if !(self.timeout_s > 0.0 && self.timeout_s.is_finite()) {
            return Err(UsageError::flag(
                "timeout_s",
                format!(
                    "must be a positive number of seconds, got {}",
                    self.timeout_s
                ),
            ));
        }
        if self.timeout_s < flags::MIN_TIMEOUT_S {
            return Err(UsageError::flag(
                "timeout_s",
                // Below a millisecond, `{:e}` reads better: 1e-12, not 0.000000000001.
                format!(
                    "must be at least {} seconds, got {:e}",
                    flags::MIN_TIMEOUT_S,
                    self.timeout_s
                ),
            ));
        }
        flags::capacity_s(&self.capacity_s.to_string())
            .map_err(|e| UsageError::flag("capacity_s", e))?;
        Ok(())
    }

    /// The worker counts against the CPUs; returns the largest count.
    fn check_workers(&self, usable: &CpuList) -> Result<usize, UsageError> {
        // MPI ranks spread over a hostfile or a Slurm allocation are not
        // limited by this machine's CPUs; everything else is.
        let only_remote = self.command.is_empty()
            && self.backends.iter().all(|b| *b == Kernel::Mpi)
            && self.mpi.spans_hosts();
        let cpus = if only_remote {
            MAX_WORKERS
        } else {
            usable.0.len()
        };
        let most = match &self.workers {
            Workers::Auto => usable.0.len().max(1),
            Workers::List(counts) => {
                non_empty_and_unique("workers", counts)?;
                if let Some(bad) = counts.iter().find(|&&w| w == 0 || w > MAX_WORKERS) {
                    return Err(UsageError::flag(
                        "workers",
                        format!("must be between 1 and {MAX_WORKERS}, got {bad}"),
                    ));
                }
                let most = counts.iter().copied().max().unwrap_or(1);
                if most > cpus && !self.oversubscribe {
                    return Err(UsageError::flag(
                        "workers",
                        format!(
                            "{most} workers is more than the {cpus} usable CPUs; \
                             pass --oversubscribe (or set oversubscribe = true) to run it anyway"
                        ),
                    ));
                }
                most
            }
        };
        if self.modes.contains(&Mode::Weak)
            && u128::from(self.samples_per_worker) * most as u128 > u128::from(MAX_SAMPLES)
        {
            return Err(UsageError::flag(
                "samples_per_worker",
                format!(
                    "{} × {most} workers is more than 2^53 samples in weak mode",
                    self.samples_per_worker
                ),
            ));
        }
        Ok(most)
    }

    /// An explicit CPU list: usable, and enough CPUs for `most` workers.
    fn check_pin(&self, usable: &CpuList, most: usize) -> Result<(), UsageError> {
        let PinPolicy::List(list) = &self.pin else {
            return Ok(());
        };
        if list.0.is_empty() {
            return Err(UsageError::flag("pin", "the CPU list is empty"));
        }
        if let Some(c) = list.0.iter().find(|c| !usable.0.contains(c)) {
            return Err(UsageError::flag(
                "pin",
                format!("CPU {c} is not usable by this process (usable: {usable})"),
            ));
        }
        if most > list.0.len() && !self.oversubscribe {
            return Err(UsageError::flag(
                "workers",
                format!(
                    "{most} workers would share the {} CPUs of pin = \"{}\"; \
                     pass --oversubscribe (or set oversubscribe = true) to run it anyway",
                    list.0.len(),
                    self.pin
                ),
            ));
        }
        Ok(())
    }

    /// Command kernels: a name of their own, safe to write anywhere, and a
    /// command line that splits into words with known placeholders.
    fn check_commands(&self) -> Result<(), UsageError> {
        let mut names: Vec<&str> = Vec::new();
        for (i, kernel) in self.command.iter().enumerate() {
            let name = kernel.name.trim();
            let key = format!("command #{}", i + 1);
            if name.is_empty() {
                return Err(UsageError::flag(&key, "name must not be empty"));
            }
            kernel.check_name().map_err(|e| UsageError::flag(&key, e))?;
            let what = format!("command '{name}'");
            if kernel.run.trim().is_empty() {
                return Err(UsageError::flag(&what, "run must not be empty"));
            }
            if Kernel::from_name(name).is_builtin() {
                return Err(UsageError::flag(
                    &what,
                    "the name is taken by a built-in backend; choose another",
                ));
            }
            kernel.check().map_err(|e| UsageError::flag(&what, e))?;
            if let Some(p) = kernel.host_placeholder() {
                if self.mpi.hostfile.is_none() {
                    return Err(UsageError::flag(
                        &what,
                        format!("{p} needs the machines in [mpi] hostfile"),
                    ));
                }
            }
            if names.contains(&name) {
                return Err(UsageError::flag(&what, "the name appears twice"));
            }
            names.push(name);
        }
        Ok(())
    }
}

fn non_empty_and_unique<T: PartialEq + fmt::Display>(
    key: &str,
    items: &[T],
) -> Result<(), UsageError> {
    if items.is_empty() {
        return Err(UsageError::flag(key, "the list is empty"));
    }
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            return Err(UsageError::flag(key, format!("{item} appears twice")));
        }
    }
    Ok(())
}

/// `path:line:col: [key: ]message` for a TOML error. toml's messages name
/// an unknown key themselves; for any other error on a `key = value` line
/// (a bad value, a duplicate key) the key is read from that line and
/// prefixed with its `[table]`; on a `[table]` line, the table is named.
fn describe_toml_error(text: &str, origin: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end();
    let Some(span) = e.span() else {
        return format!("{origin}: {message}");
    };
    let at = span.start.min(text.len());
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_no = text[..line_start].matches('\n').count() + 1;
    let col = text[line_start..at].chars().count() + 1;
    let line = text[line_start..].lines().next().unwrap_or("");
    let path = match line.find('=') {
        Some(eq) => {
            let key = line[..eq].trim().trim_matches('"');
            match text[..line_start].lines().rev().find_map(table_name) {
                Some(table) => format!("{table}.{key}"),
                None => key.to_owned(),
            }
        }
        None => table_name(line).unwrap_or_default(),
    };
    let last = path.rsplit('.').next().unwrap_or_default();
    if path.is_empty() || message.contains(&format!("`{last}`")) {
        return format!("{origin}:{line_no}:{col}: {message}");
    }
    format!("{origin}:{line_no}:{col}: {path}: {message}")
}

/// `mpi` for a `[mpi]` or `[[mpi]]` header line; `None` for any other line.
fn table_name(line: &str) -> Option<String> {
    let line = line.trim();
    line.starts_with('[').then(|| {
        line.trim_matches(|c| c == '[' || c == ']')
            .trim()
            .to_owned()
    })
}

fn whole_from_i64<E: de::Error>(v: i64) -> Result<u64, E> {
    u64::try_from(v).map_err(|_| E::custom(format!("must not be negative, got {v}")))
}

/// A whole number written as a TOML integer, a whole float (`1e9`) or a
/// string in [`crate::numbers`] syntax (`"2^30"`, `"2.5e9"`, `"1_000"`).
struct Whole(u64);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Whole, D::Error> {
        struct WholeVisitor;

        impl Visitor<'_> for WholeVisitor {
            type Value = Whole;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a whole number such as 1000, "1e9" or "2^30""#)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Whole, E> {
                whole_from_i64(v).map(Whole)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Whole, E> {
                Ok(Whole(v))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Whole, E> {
                // Exact below 2^53; beyond that, write a string.
                if v >= 0.0 && v.fract() == 0.0 && v <= MAX_SAMPLES as f64 {
                    Ok(Whole(v as u64))
                } else {
                    Err(E::custom(format!(
                        "{v} is not a whole number up to 2^53 (write a string such as \"2^60\" for larger ones)"
                    )))
                }
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Whole, E> {
                let n = parse_whole(v).map_err(E::custom)?;
                u64::try_from(n)
                    .map(Whole)
                    .map_err(|_| E::custom(format!("{} is too large", v.trim())))
            }
        }

        d.deserialize_any(WholeVisitor)
    }
}

/// `#[serde(with = "whole")]`: whole numbers in any [`Whole`] form; written
/// back as integers, or as strings above `i64::MAX` (TOML's limit).
pub(crate) mod whole {
    use super::*;

    pub fn serialize<S: Serializer, T: Copy + Into<u64>>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        let v: u64 = (*v).into();
        match i64::try_from(v) {
            Ok(i) => s.serialize_i64(i),
            Err(_) => s.collect_str(&v),
        }
    }

    pub fn deserialize<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: TryFrom<u64>,
    {
        let Whole(v) = Whole::deserialize(d)?;
        T::try_from(v).map_err(|_| de::Error::custom(format!("{v} is too large")))
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => super::serialize(v, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
            super::deserialize(d).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SweepConfig, String> {
        SweepConfig::from_toml_str(text, "x.toml").map_err(|e| e.0)
    }

    fn cpus(n: usize) -> CpuList {
        CpuList((0..n).collect())
    }

    #[test]
    fn mpi_ranks_on_other_hosts_are_not_limited_by_local_cpus() {
        let text = "backends = [\"mpi\"]\nworkers = [1, 64]\n[mpi]\nlauncher = \"srun\"";
        let config = parse(text).unwrap();
        assert!(config.clone().validate_for(&cpus(2)).is_ok());
        // mpirun without a hostfile runs every rank here.
        let local = parse(&text.replace("srun", "mpirun")).unwrap();
        let err = local.validate_for(&cpus(2)).unwrap_err().0;
        assert!(err.starts_with("workers: 64 workers is more than"), "{err}");
        // Next to a local backend, the local limit holds.
        let mixed = parse(&text.replace("[\"mpi\"]", "[\"threads\", \"mpi\"]")).unwrap();
        assert!(mixed.validate_for(&cpus(2)).is_err());
        let bad =
            parse("backends = [\"mpi\"]\n[mpi]\nlauncher = \"srun\"\nhostfile = \"h\"").unwrap();
        let err = bad.validate_for(&cpus(2)).unwrap_err().0;
        assert!(err.starts_with("mpi.hostfile: "), "{err}");
        assert!(parse("[mpi]\nlauncher = \"pbs\"")
            .unwrap_err()
            .contains("launcher"));
    }

    #[test]
    fn default_impl_matches_default_toml() {
        assert_eq!(SweepConfig::embedded_default(), SweepConfig::default());
    }

    #[test]
    fn every_shipped_config_parses_and_validates_on_two_cpus() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
        let mut seen = 0;
        for entry in fs::read_dir(&root).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let config = SweepConfig::load(&path).unwrap();
                config.validate_for(&cpus(2)).unwrap();
                seen += 1;
            }
        }
        assert!(seen >= 4, "only {seen} configs in {}", root.display());
    }

    #[test]
    fn missing_keys_keep_their_defaults() {
        let config = parse("reps = 2").unwrap();
        assert_eq!(config.reps, 2);
        assert_eq!(SweepConfig { reps: 5, ..config }, SweepConfig::default());
    }

    #[test]
    fn whole_numbers_accept_integers_strings_and_whole_floats() {
        let config = parse(
            r#"
            samples = "2^30"
            samples_per_worker = 1_000_000
            block = 65536.0
            chunksize = "4"
            seed = "18446744073709551615"
            reps = "1e1"
            warmup = 0
            "#,
        )
        .unwrap();
        assert_eq!(config.samples, 1 << 30);
        assert_eq!(config.samples_per_worker, 1_000_000);
        assert_eq!(config.block, 65536);
        assert_eq!(config.chunksize, Some(4));
        assert_eq!(config.seed, u64::MAX);
        assert_eq!(config.reps, 10);
        assert_eq!(config.warmup, 0);
    }

    #[test]
    fn bad_whole_numbers_name_line_and_key() {
        let err = parse("reps = 3\nsamples = \"2^x\"\n").unwrap_err();
        assert!(err.starts_with("x.toml:2:11: samples: "), "{err}");
        assert!(err.contains("not a whole number"), "{err}");
        let err = parse("warmup = -1").unwrap_err();
        assert!(err.starts_with("x.toml:1:10: warmup: "), "{err}");
        assert!(err.contains("negative"), "{err}");
        let err = parse("reps = \"2^40\"").unwrap_err();
        assert!(err.contains("too large"), "{err}");
        let err = parse("samples = 1.5").unwrap_err();
        assert!(err.contains("not a whole number"), "{err}");
    }

    #[test]
    fn unknown_key_names_the_file_line_and_key() {
        let err = parse("reps = 3\n\nbakends = [\"serial\"]\n").unwrap_err();
        assert!(
            err.starts_with("x.toml:3:1: unknown field `bakends`, expected one of"),
            "{err}"
        );
    }

    #[test]
    fn unknown_backend_names_the_key() {
        let err = parse("backends = [\"serial\", \"gpu\"]").unwrap_err();
        assert!(err.starts_with("x.toml:1:"), "{err}");
        assert!(err.contains("backends: "), "{err}");
        assert!(err.contains("`gpu`"), "{err}");
    }

    #[test]
    fn errors_in_command_tables_name_the_table() {
        let err = parse("[[command]]\nname = \"a\"\nrun = \"x\"\nmethod = \"pi\"\n").unwrap_err();
        assert!(err.starts_with("x.toml:4:10: command.method: "), "{err}");
        let err = parse("[[command]]\nname = \"a\"\n").unwrap_err();
        assert!(err.contains("missing field `run`"), "{err}");
    }

    #[test]
    fn config_files_over_a_mebibyte_are_refused_unread() {
        let dir = std::env::temp_dir().join(format!("piscale-big-config-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let at_limit = dir.join("at.toml");
        let mut text = "reps = 2\n".to_owned();
        text.push_str(&"#".repeat(MAX_CONFIG_BYTES as usize - text.len()));
        fs::write(&at_limit, &text).unwrap();
        assert_eq!(SweepConfig::load(&at_limit).unwrap().reps, 2);
        let over = dir.join("over.toml");
        fs::write(&over, text + "#").unwrap();
        let err = SweepConfig::load(&over).unwrap_err().0;
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            err,
            format!("{}: the config file is larger than 1 MiB", over.display())
        );
        let err = SweepConfig::load(Path::new("/dev/zero")).unwrap_err().0;
        assert_eq!(err, "/dev/zero: the config file is larger than 1 MiB");
    }

    #[test]
    fn missing_file_names_the_file() {
        let err = SweepConfig::load(Path::new("configs/nope.toml")).unwrap_err();
        assert_eq!(err.0, "configs/nope.toml: no such config file");
    }

    #[test]
    fn duplicate_keys_and_tables_are_named() {
        let err = parse("samples = 1\nsamples = 2\n").unwrap_err();
        assert_eq!(err, "x.toml:2:1: samples: duplicate key");
        let err = parse("[[command]]\nname = \"a\"\nrun = \"x\"\nname = \"b\"\n").unwrap_err();
        assert!(err.starts_with("x.toml:4:1: command.name: "), "{err}");
        let err = parse("[mpi]\nargs = []\n[mpi]\n").unwrap_err();
        assert!(err.starts_with("x.toml:3:2: mpi: "), "{err}");
    }

    #[test]
    fn workers_accept_auto_lists_and_ranges() {
        let w = |text: &str| parse(text).unwrap().workers;
        assert_eq!(w("workers = \"auto\""), Workers::Auto);
        assert_eq!(w("workers = [1, 2, \"4\"]"), Workers::List(vec![1, 2, 4]));
        assert_eq!(w("workers = \"1,2,3\""), Workers::List(vec![1, 2, 3]));
        assert_eq!(w("workers = \"1..4\""), Workers::List(vec![1, 2, 3, 4]));
        assert_eq!(w("workers = \"1..=3,8\""), Workers::List(vec![1, 2, 3, 8]));
        assert_eq!(w("workers = 3"), Workers::List(vec![3]));
        assert!(parse("workers = \"4..1\"")
            .unwrap_err()
            .contains("reversed"));
        assert!(parse("workers = \"0\"")
            .unwrap_err()
            .contains("between 1 and 4096"));
        assert!(parse("workers = \"many\"").is_err());
        assert!("".parse::<Workers>().is_err());
        assert_eq!(Workers::List(vec![1, 2, 4]).to_string(), "1,2,4");
    }

    #[test]
    fn resolved_toml_parses_back_to_the_same_config() {
        let mut config = parse(
            r#"
            modes = ["strong", "weak"]
            workers = [1, 3]
            pin = "0,2-3"
            chunksize = 8
            timeout_s = 2.5
            "#,
        )
        .unwrap();
        config.seed = u64::MAX;
        config.command.push(CommandKernel::new(
            "pi1.py",
            "python3 scripts/pi1.py --workers {workers}",
            Method::Mc,
        ));
        let text = config.resolved_toml();
        assert_eq!(parse(&text).unwrap(), config, "{text}");
        for default in [SweepConfig::default(), parse("workers = [2]").unwrap()] {
            assert_eq!(parse(&default.resolved_toml()).unwrap(), default);
        }
    }

    #[test]
    fn validation_names_the_setting() {
        let check = |text: &str, usable: usize| {
            parse(text)
                .unwrap()
                .validate_for(&cpus(usable))
                .map(drop)
                .map_err(|e| e.0)
        };
        assert!(check("", 1).is_ok());
        assert!(check("methods = []", 2)
            .unwrap_err()
            .starts_with("methods: "));
        assert!(check("backends = [\"rayon\", \"rayon\"]", 2)
            .unwrap_err()
            .starts_with("backends: rayon appears twice"));
        assert!(check("modes = []", 2).unwrap_err().starts_with("modes: "));
        assert!(check("reps = 0", 2).unwrap_err().starts_with("reps: "));
        assert!(check("samples = 0", 2)
            .unwrap_err()
            .starts_with("samples: "));
        assert!(check("samples = 9007199254740993", 2)
            .unwrap_err()
            .starts_with("samples: must be between 1 and 2^53"));
        assert!(check("block = 0", 2).unwrap_err().starts_with("block: "));
        assert!(check("chunksize = 0", 2)
            .unwrap_err()
            .starts_with("chunksize: "));
        assert!(check("timeout_s = 0", 2)
            .unwrap_err()
            .starts_with("timeout_s: "));
        assert_eq!(
            check("timeout_s = 1e-12", 2).unwrap_err(),
            "timeout_s: must be at least 0.001 seconds, got 1e-12"
        );
        assert!(check("timeout_s = 0.001", 2).is_ok());
        assert_eq!(
            parse("pin = \"1,1\"").unwrap_err(),
            "x.toml:1:7: pin: CPU 1 appears twice in the list"
        );
        assert!(check("workers = [1, 2, 1]", 2)
            .unwrap_err()
            .starts_with("workers: 1 appears twice"));
        assert!(check("workers = [4097]", 8192)
            .unwrap_err()
            .starts_with("workers: must be between 1 and 4096"));
        assert!(check("pin = \"5\"", 2)
            .unwrap_err()
            .starts_with("pin: CPU 5"));
        assert!(check("pin = \"1\"\nworkers = [2]", 2)
            .unwrap_err()
            .contains("--oversubscribe"));
        assert!(check(
            "modes = [\"weak\"]\nsamples_per_worker = \"2^52\"\nworkers = [1, 4]\noversubscribe = true",
            2
        )
        .unwrap_err()
        .starts_with("samples_per_worker: "));
    }

    #[test]
    fn too_many_workers_need_oversubscribe() {
        let config = parse("workers = [1, 2, 4]").unwrap();
        let err = config.clone().validate_for(&cpus(2)).unwrap_err().0;
        assert!(
            err.starts_with("workers: 4 workers is more than the 2 usable CPUs"),
            "{err}"
        );
        assert!(err.contains("--oversubscribe"), "{err}");
        assert!(config.clone().validate_for(&cpus(4)).is_ok());
        let allowed = SweepConfig {
            oversubscribe: true,
            ..config
        };
        assert!(allowed.validate_for(&cpus(2)).is_ok());
        // auto never asks for more than the usable CPUs.
        assert!(SweepConfig::default().validate_for(&cpus(1)).is_ok());
    }

    #[test]
    fn the_capacity_is_pinned_even_when_the_backends_are_not() {
        let mut c = SweepConfig {
            pin: PinPolicy::None,
            ..SweepConfig::default()
        };
        assert_eq!(c.pin_for(&Kernel::Capacity), PinPolicy::Compact);
        assert_eq!(c.pin_for(&Kernel::Mpi), PinPolicy::None);
        c.pin = PinPolicy::Scatter;
        assert_eq!(c.pin_for(&Kernel::Capacity), PinPolicy::Scatter);
    }

    #[test]
    fn command_kernels_need_a_free_name_and_a_command() {
        let check = |name: &str, run: &str| {
            let text = format!("[[command]]\nname = \"{name}\"\nrun = \"{run}\"\n");
            parse(&text)
                .unwrap()
                .validate_for(&cpus(2))
                .map_err(|e| e.0)
        };
        let ok = check("pi1.py", "python3 pi1.py").unwrap();
        assert_eq!(ok.command[0].method, Method::Mc);
        assert!(check("", "x").unwrap_err().starts_with("command #1: "));
        assert!(check("a", " ")
            .unwrap_err()
            .contains("run must not be empty"));
        assert!(check("threads", "x")
            .unwrap_err()
            .contains("built-in backend"));
        let err = check("a", "python3 -c 'print(1)").unwrap_err();
        assert!(err.starts_with("command 'a': run: cannot split"), "{err}");
        let err = check("a", "mpirun -n {procs} x").unwrap_err();
        assert!(
            err.starts_with("command 'a': run: unknown placeholder {procs}"),
            "{err}"
        );
        let err = check("=cmd|' /C calc'!A0", "x").unwrap_err();
        assert!(err.starts_with("command #1: name '=cmd|"), "{err}");
        let err = check("\\u001b]0;x\\u0007", "x").unwrap_err();
        assert!(
            err.starts_with("command #1: name \"\\u{1b}]0;x\\u{7}\" must not hold control"),
            "{err}"
        );
        let twice =
            "[[command]]\nname = \"a\"\nrun = \"x\"\n[[command]]\nname = \"a\"\nrun = \"y\"\n";
        let err = parse(twice).unwrap().validate_for(&cpus(2)).unwrap_err();
        assert!(err.0.contains("appears twice"), "{err}");
    }

    #[test]
    fn sync_turns_the_shared_counter_backends_into_one_per_synchronisation() {
        let check = |text: &str| {
            parse(text)
                .and_then(|c| c.validate_for(&cpus(2)).map_err(|e| e.0))
                .map(|c| c.backends.iter().map(Kernel::to_string).collect::<Vec<_>>())
        };
        let swept = "backends = [\"serial\", \"shm-race\", \"rayon\", \"shm-lock\"]\n\
                     sync = [\"lock\", \"atomic\", \"none\"]\nflush = 4";
        let expected = ["serial", "shm-lock", "shm-atomic", "shm-race", "rayon"];
        assert_eq!(check(swept).unwrap(), expected);
        let config = parse(swept).unwrap().validate_for(&cpus(2)).unwrap();
        assert_eq!(config.chunksize, Some(4));
        // The record of a sweep reads back to the same backends.
        let again = parse(&config.resolved_toml()).unwrap();
        assert_eq!(
            again.clone().validate_for(&cpus(2)).unwrap().backends,
            config.backends
        );
        let err = check("backends = [\"rayon\"]\nsync = [\"atomic\"]").unwrap_err();
        assert!(
            err.starts_with("sync: only the shared-counter backends (shm-lock"),
            "{err}"
        );
        let err = check("backends = [\"shm-lock\"]\nsync = [\"lock\", \"lock\"]").unwrap_err();
        assert_eq!(err, "sync: lock appears twice");
        let err = check("sync = [\"mutex\"]").unwrap_err();
        assert!(
            err.starts_with("x.toml:1:") && err.contains("sync"),
            "{err}"
        );
    }

    #[test]
    fn start_sweeps_each_process_backend_once_per_start_method() {
        let text = "backends = [\"threads\", \"fork-pipe\", \"shm-lock\"]\n\
                    sync = [\"lock\", \"atomic\"]\nstart = [\"fork\", \"spawn\"]";
        let config = parse(text).unwrap().validate_for(&cpus(2)).unwrap();
        let labels: Vec<String> = config.backends.iter().map(Kernel::to_string).collect();
        assert_eq!(
            labels,
            [
                "threads",
                "fork-pipe",
                "fork-pipe (spawn)",
                "shm-lock",
                "shm-lock (spawn)",
                "shm-atomic",
                "shm-atomic (spawn)"
            ]
        );
        // Written as names and start methods, it reads back the same.
        let toml = config.resolved_toml();
        assert!(
            toml.contains("backends = [\"threads\", \"fork-pipe\", \"shm-lock\", \"shm-atomic\"]")
        );
        let again = parse(&toml).unwrap().validate_for(&cpus(2)).unwrap();
        assert_eq!(again.backends, config.backends);
        let err = parse("backends = [\"rayon\"]\nstart = [\"spawn\"]")
            .unwrap()
            .validate_for(&cpus(2))
            .unwrap_err();
        assert!(
            err.0
                .starts_with("start: only the library's process backends"),
            "{err}"
        );
    }
}
