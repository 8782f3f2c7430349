//! External kernels: any program that prints an estimate of pi, measured as
//! a whole process (`[[command]]` tables of a sweep config, or `piscale
//! sweep --command`).
//!
//! The `run` string is split into arguments like a shell would
//! ([`shell_words::split`]) but no shell runs it: no pipes, redirections or
//! variables. The [`PLACEHOLDERS`] are replaced in every argument and in
//! every `env` value. The program gets no stdin, runs in `cwd` with the
//! point's CPUs as its affinity (so the threads and processes it starts
//! inherit them), and its wall time covers start-up, the computation and
//! exit. Its estimate is what the `estimate` pattern captures on its
//! stdout, else the last number with a decimal point ([`last_float`]) —
//! which must then be within [`SANE`] of pi, so that a time printed after
//! the estimate is refused rather than recorded as one. A `time` pattern
//! reads the program's own compute time: the rest of the wall time is its
//! start-up (the interpreter's, the pool's), recorded as the spawn phase.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use piscale_kernels::{CpuList, Method};
use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::child::{last_lines, run_to_end, Finished, Stop};
use super::{Detail, MeasureError, Measured};
use crate::results::starts_like_formula;
use crate::sweep::config::whole;

/// Lines of stderr quoted when a command fails.
const STDERR_TAIL_LINES: usize = 5;

/// Bytes kept of the end of a command's stdout and of its stderr: the
/// estimate is printed last, and a program printing megabytes would
/// otherwise cost as much memory, time and error text.
pub const OUTPUT_KEPT: usize = 64 * 1024;

/// Characters of one line of a command's output quoted in an error (which
/// ends up in a CSV cell).
const QUOTED_CHARS: usize = 200;

/// How far from pi a number found without an `estimate` pattern may be:
/// even 100 darts land within 0.7 of pi (4 standard errors) nearly always,
/// while a time, a count or a rate almost never does.
pub const SANE: f64 = 1.0;

/// An external kernel, as in
///
/// ```toml
/// [[command]]
/// name = "pi1.py"
/// run = "python3 scripts/pi1.py --workers {workers} --samples {samples} --seed {seed}"
/// method = "mc"                      # optional, mc by default
/// samples = "1e7"                    # optional: its N, instead of the sweep's
/// cwd = "."                          # optional: where it runs
/// env = { OMP_NUM_THREADS = "{workers}" }       # optional, placeholders allowed
/// estimate = 'pi = (?P<estimate>[-+0-9.eE]+)'   # optional: where its estimate is
/// time = 'compute time: (?P<seconds>[0-9.eE+-]+) s'  # optional: its own compute time
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandKernel {
    /// Its name in result files, in place of a backend name.
    pub name: String,
    /// The command line, with [`PLACEHOLDERS`].
    pub run: String,
    /// The method it computes.
    #[serde(default = "default_method")]
    pub method: Method,
    /// Its total work N in strong scaling, instead of the sweep's `samples`
    /// (an interpreter may need far fewer darts for the same time).
    #[serde(
        default,
        with = "whole::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub samples: Option<u64>,
    /// The folder it runs in; the sweep's by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    /// Environment variables it gets, beside piscale's own; values may hold
    /// [`PLACEHOLDERS`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Where its estimate is on stdout: a regular expression with a group
    /// named `estimate` (the last match counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Pattern>,
    /// Where its own compute time is on stdout, in seconds: a regular
    /// expression with a group named `seconds` (the last match counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Pattern>,
}

fn default_method() -> Method {
    Method::Mc
}

/// The placeholders a `run` string or an `env` value may hold: the point's
/// workers, work and seed, its CPUs as `0,1,2`, the same as OpenMP
/// places, `{0},{1},{2}`, and — for an MPI program across machines — the
/// `[mpi] hostfile` and its hosts as `a,b,c` ([`HOST_PLACEHOLDERS`]).
pub const PLACEHOLDERS: [&str; 7] = [
    "{workers}",
    "{samples}",
    "{seed}",
    "{cpus}",
    "{omp_places}",
    "{hostfile}",
    "{hosts}",
];

/// The placeholders that need `[mpi] hostfile`.
pub const HOST_PLACEHOLDERS: [&str; 2] = ["{hostfile}", "{hosts}"];

/// A regular expression from a config, compared and written back as its
/// text; it must have the one named group its key asks for.
#[derive(Debug, Clone)]
pub struct Pattern(Regex);

impl Pattern {
    /// `text` compiled; the error says what is wrong.
    pub fn new(text: &str) -> Result<Pattern, String> {
        Regex::new(text)
            .map(Pattern)
            .map_err(|e| format!("'{text}' is not a regular expression: {e}"))
    }

    /// Its text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Checks that it has a group named `group`.
    fn check_group(&self, key: &str, group: &str) -> Result<(), String> {
        if self.0.capture_names().flatten().any(|n| n == group) {
            Ok(())
        } else {
            Err(format!(
                "{key}: '{}' has no group named {group}, as in `(?P<{group}>[0-9.eE+-]+)`",
                self.as_str()
            ))
        }
    }

    /// The number its group `group` captures in the last match in `text`.
    fn last_number(&self, text: &str, group: &str) -> Option<Result<f64, String>> {
        let caps = self.0.captures_iter(text).last()?;
        let found = caps.name(group)?.as_str();
        Some(
            found
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("'{}' is not a number", clip(found))),
        )
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Pattern, D::Error> {
        let text = String::deserialize(d)?;
        Pattern::new(&text).map_err(serde::de::Error::custom)
    }
}

/// What the placeholders stand for at one point.
#[derive(Debug, Clone, Copy)]
pub struct PointValues<'a> {
    /// Workers.
    pub workers: usize,
    /// Total work N.
    pub samples: u64,
    /// The seed.
    pub seed: u64,
    /// The CPUs the point's workers run on, if pinned.
    pub cpus: Option<&'a CpuList>,
    /// The `[mpi] hostfile`, if the sweep has one.
    pub hostfile: Option<&'a std::path::Path>,
}

impl PointValues<'_> {
    /// `text` with every placeholder replaced; without CPUs, `{cpus}` and
    /// `{omp_places}` stand for every CPU this process may use.
    fn fill(&self, text: &str) -> String {
        let cpus: Vec<usize> = match self.cpus {
            Some(list) => list.distinct(),
            None => CpuList::usable().map(|l| l.0).unwrap_or_default(),
        };
        let list: Vec<String> = cpus.iter().map(usize::to_string).collect();
        let places: Vec<String> = cpus.iter().map(|c| format!("{{{c}}}")).collect();
        let mut text = text
            .replace("{workers}", &self.workers.to_string())
            .replace("{samples}", &self.samples.to_string())
            .replace("{seed}", &self.seed.to_string())
            .replace("{cpus}", &list.join(","))
            .replace("{omp_places}", &places.join(","));
        if let Some(file) = self.hostfile {
            text = text
                .replace("{hostfile}", &file.display().to_string())
                .replace("{hosts}", &hosts_in(file).join(","));
        }
        text
    }
}

/// The hosts a hostfile names: the first word of each line that is not a
/// comment (`node1 slots=4` → `node1`); none if it cannot be read.
pub fn hosts_in(file: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

impl CommandKernel {
    /// A kernel named `name` running `run`, computing `method`, with every
    /// other setting at its default.
    pub fn new(name: impl Into<String>, run: impl Into<String>, method: Method) -> CommandKernel {
        CommandKernel {
            name: name.into(),
            run: run.into(),
            method,
            samples: None,
            cwd: None,
            env: BTreeMap::new(),
            estimate: None,
            time: None,
        }
    }

    /// Checks the name: it is written into CSV cells and onto the terminal
    /// as it is, so it must hold no control characters (terminal escapes)
    /// and must not start like a spreadsheet formula.
    pub fn check_name(&self) -> Result<(), String> {
        let name = &self.name;
        if name.chars().any(char::is_control) {
            return Err(format!("name {name:?} must not hold control characters"));
        }
        if starts_like_formula(name) {
            return Err(format!(
                "name '{name}' must not start with =, +, - or @ (a spreadsheet would read it as a formula)"
            ));
        }
        Ok(())
    }

    /// Checks the settings themselves, so that a mistake stops the sweep
    /// before it starts rather than failing every point: the `run` string
    /// ([`check_run`](Self::check_run)), the placeholders of `env`, the
    /// patterns' groups and its `samples`. What depends on this machine —
    /// the folder and the program — is [`check_runnable`](Self::check_runnable).
    pub fn check(&self) -> Result<(), String> {
        self.check_run()?;
        for (key, value) in &self.env {
            if key.is_empty() || key.contains(['=', '\0']) {
                return Err(format!("env: '{key}' is not a variable name"));
            }
            if let Some(p) = unknown_placeholder(value) {
                return Err(format!(
                    "env {key}: unknown placeholder {p} (known: {})",
                    PLACEHOLDERS.join(", ")
                ));
            }
        }
        if let Some(p) = &self.estimate {
            p.check_group("estimate", "estimate")?;
        }
        if let Some(p) = &self.time {
            p.check_group("time", "seconds")?;
        }
        if self.samples == Some(0) {
            return Err("samples: must be at least 1".into());
        }
        Ok(())
    }

    /// The first of [`HOST_PLACEHOLDERS`] it uses, in `run` or `env`.
    pub fn host_placeholder(&self) -> Option<&'static str> {
        let texts = std::iter::once(&self.run).chain(self.env.values());
        for text in texts {
            if let Some(p) = HOST_PLACEHOLDERS.iter().find(|p| text.contains(**p)) {
                return Some(p);
            }
        }
        None
    }

    /// Checks that it can run here: `cwd` is a folder, and the program is
    /// found as `Command` will look for it — a name on `PATH`, or a path
    /// (relative ones from `cwd`).
    pub fn check_runnable(&self) -> Result<(), String> {
        if let Some(cwd) = &self.cwd {
            if !cwd.is_dir() {
                return Err(format!("cwd: {} is not a folder", cwd.display()));
            }
        }
        let words = shell_words::split(&self.run).map_err(|e| e.to_string())?;
        let Some(program) = words.first() else {
            return Ok(());
        };
        let here = match &self.cwd {
            Some(cwd) => cwd.clone(),
            None => std::env::current_dir()
                .map_err(|e| format!("cannot read the current folder: {e}"))?,
        };
        let path = std::env::var_os("PATH");
        which::which_in(program, path, &here)
            .map(|_| ())
            .map_err(|_| {
                if program.contains('/') {
                    format!(
                        "run: {program} is not an executable file (from {})",
                        here.display()
                    )
                } else {
                    format!("run: {program} is not a program on PATH")
                }
            })
    }

    /// Checks the `run` string as [`command_line`] will use it: it splits
    /// into words, names a program, and holds no placeholder but
    /// [`PLACEHOLDERS`].
    pub fn check_run(&self) -> Result<(), String> {
        let run = &self.run;
        let words =
            shell_words::split(run).map_err(|e| format!("run: cannot split `{run}`: {e}"))?;
        match words.first() {
            None => return Err("run must not be empty".into()),
            Some(program) if program.is_empty() => {
                return Err(format!("run: `{run}` names no program"))
            }
            Some(_) => {}
        }
        match words.iter().find_map(|w| unknown_placeholder(w)) {
            Some(p) => Err(format!(
                "run: unknown placeholder {p} (known: {})",
                PLACEHOLDERS.join(", ")
            )),
            None => Ok(()),
        }
    }

    /// Its work N at a point whose sweep-wide work is `samples`: its own
    /// `samples` in strong scaling, when it sets one.
    pub fn samples_for(&self, strong: bool, samples: u64) -> u64 {
        match self.samples {
            Some(own) if strong => own,
            _ => samples,
        }
    }
}

/// The first `{name}` in `text` that is not one of [`PLACEHOLDERS`].
fn unknown_placeholder(text: &str) -> Option<&str> {
    placeholders(text).find(|p| !PLACEHOLDERS.contains(p))
}

/// The `{name}` placeholders in `word`: braces around a name that starts
/// with a letter or `_` and holds only letters, digits and `_`. Other braces
/// (`{1}`, `{print $1}`) are left alone, as [`command_line`] leaves them.
fn placeholders(word: &str) -> impl Iterator<Item = &str> {
    word.match_indices('{').filter_map(move |(i, _)| {
        let name = word[i + 1..].split('}').next()?;
        let closed = word[i + 1 + name.len()..].starts_with('}');
        let mut chars = name.chars();
        let first = chars.next()?;
        let is_name = (first.is_ascii_alphabetic() || first == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        (closed && is_name).then(|| &word[i..i + name.len() + 2])
    })
}

/// The arguments `kernel` runs with at one point: its `run` string split
/// into words, the placeholders replaced.
pub fn command_line(kernel: &CommandKernel, at: &PointValues<'_>) -> Result<Vec<String>, String> {
    let words = shell_words::split(&kernel.run).map_err(|e| {
        format!(
            "{}: cannot split the command `{}`: {e}",
            kernel.name, kernel.run
        )
    })?;
    if words.is_empty() {
        return Err(format!("{}: the command is empty", kernel.name));
    }
    Ok(words.into_iter().map(|w| at.fill(&w)).collect())
}

/// Runs `kernel` once at a point and reads its estimate (and its own
/// compute time, with a `time` pattern). The process (and everything it
/// starts, in its own process group) is killed once `timeout` has passed,
/// counting from the spawn until its output is closed.
///
/// Errors: the program cannot start, it exits unsuccessfully (the message
/// gives the status and the last lines of its stderr), it times out, or its
/// stdout holds no estimate (or, without a pattern, a number too far from
/// pi to be one; or a `time` pattern that does not match).
///
/// The command runs in a process group of its own so that a timeout kills
/// its worker processes too; a Ctrl-C at the terminal therefore reaches
/// piscale but not the command.
pub fn run_command(
    kernel: &CommandKernel,
    at: &PointValues<'_>,
    timeout: Option<Duration>,
) -> Result<Measured, MeasureError> {
    let name = &kernel.name;
    let argv = command_line(kernel, at).map_err(MeasureError::Invalid)?;
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    for (key, value) in &kernel.env {
        cmd.env(key, at.fill(value));
    }
    if let Some(cwd) = &kernel.cwd {
        cmd.current_dir(cwd);
    }
    if let Some(cpus) = at.cpus {
        pin_to(&mut cmd, cpus);
    }
    let stop = Stop {
        timeout,
        grace: Duration::ZERO,
        keep: OUTPUT_KEPT,
    };
    let Finished {
        status,
        wall_s,
        stdout,
        stderr,
    } = run_to_end(name, &mut cmd, stop)?;

    if !status.success() {
        let mut msg = format!("{name}: `{}` failed ({status})", shell_words::join(&argv));
        let tail = last_lines(&stderr, STDERR_TAIL_LINES);
        if !tail.is_empty() {
            msg.push_str("; stderr ends with:");
            for line in tail {
                msg.push_str("\n    ");
                msg.push_str(&clip(line));
            }
        }
        return Err(MeasureError::Failed(msg));
    }
    let estimate = read_estimate(kernel, &stdout).map_err(MeasureError::Failed)?;
    let compute_s = match &kernel.time {
        None => None,
        Some(pattern) => Some(read_time(name, pattern, &stdout, wall_s)?),
    };
    Ok(Measured {
        wall_s,
        estimate: Some(estimate),
        detail: match compute_s {
            Some(compute_s) => Detail::SelfTimed { compute_s },
            None => Detail::Whole,
        },
        launch: Some(shell_words::join(&argv)),
    })
}

/// The program's estimate on `stdout`: its `estimate` pattern's, or the
/// last number with a decimal point if that is within [`SANE`] of pi.
fn read_estimate(kernel: &CommandKernel, stdout: &str) -> Result<f64, String> {
    let name = &kernel.name;
    if let Some(pattern) = &kernel.estimate {
        return match pattern.last_number(stdout, "estimate") {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(format!("{name}: its estimate pattern matched, but {e}")),
            None => Err(format!(
                "{name}: its estimate pattern '{pattern}' matches nothing on stdout{}",
                last_line_note(stdout)
            )),
        };
    }
    let found = last_float(stdout).ok_or_else(|| {
        format!(
            "{name}: no number with a decimal point on stdout (print the estimate last, as in `pi = 3.14159`, or give an estimate pattern){}",
            last_line_note(stdout)
        )
    })?;
    if (found - std::f64::consts::PI).abs() > SANE {
        return Err(format!(
            "{name}: the last number on stdout, {found}, is no estimate of pi (a time? a count?); \
             print the estimate last, or give a pattern: estimate = 'pi = (?P<estimate>[-+0-9.eE]+)'{}",
            last_line_note(stdout)
        ));
    }
    Ok(found)
}

/// The program's own compute time, seconds: at least 0 and at most its
/// wall time.
fn read_time(
    name: &str,
    pattern: &Pattern,
    stdout: &str,
    wall_s: f64,
) -> Result<f64, MeasureError> {
    match pattern.last_number(stdout, "seconds") {
        Some(Ok(t)) if (0.0..=wall_s).contains(&t) => Ok(t),
        Some(Ok(t)) => Err(MeasureError::Failed(format!(
            "{name}: it reports a compute time of {t} s, outside its whole run of {wall_s:.6} s"
        ))),
        Some(Err(e)) => Err(MeasureError::Failed(format!(
            "{name}: its time pattern matched, but {e}"
        ))),
        None => Err(MeasureError::Failed(format!(
            "{name}: its time pattern '{pattern}' matches nothing on stdout{}",
            last_line_note(stdout)
        ))),
    }
}

/// `; its last line was `…``, or nothing for empty output.
fn last_line_note(stdout: &str) -> String {
    last_lines(stdout, 1)
        .first()
        .map(|l| format!("; its last line was `{}`", clip(l)))
        .unwrap_or_default()
}

/// Gives the program the CPUs in `cpus` as its affinity, before it runs,
/// so that every thread and process it starts inherits them.
fn pin_to(cmd: &mut Command, cpus: &CpuList) {
    use nix::sched::{sched_setaffinity, CpuSet};
    use nix::unistd::Pid;
    let mut set = CpuSet::new();
    for &cpu in &cpus.0 {
        // A CPU beyond the set's size was refused when the pin was parsed.
        let _ = set.set(cpu);
    }
    // SAFETY: the closure runs in the child between fork and exec, where
    // only async-signal-safe calls are allowed: `sched_setaffinity` is a
    // plain system call on a set built before the fork; the closure
    // allocates nothing and takes no lock. A refusal is not fatal: the
    // program runs where the system lets it.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, move || {
            let _ = sched_setaffinity(Pid::from_raw(0), &set);
            Ok(())
        });
    }
}

/// `line`, cut to its first [`QUOTED_CHARS`] characters (marked with `…`).
fn clip(line: &str) -> String {
    match line.char_indices().nth(QUOTED_CHARS) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line.to_owned(),
    }
}

/// The last floating-point number in `text`: the last word that is a
/// finite decimal number written with a decimal point (`3.14159`, `-2.5`,
/// `3.1e0`). Words are separated by white space and by `= , ; : ( ) [ ] { }
/// < > ~ | " '`; a full stop ending a sentence is ignored.
///
/// Numbers without a decimal point (`1000`, `1e-4`) are skipped: they are
/// sample counts, worker counts and error bounds, never an estimate of pi —
/// so `pi ~ 3.14159 (err 1e-4) with 1000000 samples` reads 3.14159. A
/// program should still print its estimate last.
pub fn last_float(text: &str) -> Option<f64> {
    let is_separator = |c: char| c.is_whitespace() || "=,;:()[]{}<>~|\"'".contains(c);
    text.split(is_separator).rev().find_map(|word| {
        let word = word
            .strip_suffix('.')
            .filter(|w| w.contains('.'))
            .unwrap_or(word);
        let numeric = word
            .chars()
            .all(|c| c.is_ascii_digit() || "+-.eE".contains(c));
        if !numeric || !word.contains('.') || !word.chars().any(|c| c.is_ascii_digit()) {
            return None;
        }
        word.parse::<f64>().ok().filter(|v| v.is_finite())
    })
}

#[cfg(test)]
// The tests parse printed estimates of pi, written as such.
#[allow(clippy::approx_constant)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn kernel(run: &str) -> CommandKernel {
        CommandKernel::new("test", run, Method::Mc)
    }

    /// A point of `workers` workers, `samples` and `seed`, unpinned.
    fn at(workers: usize, samples: u64, seed: u64) -> PointValues<'static> {
        PointValues {
            workers,
            samples,
            seed,
            cpus: None,
            hostfile: None,
        }
    }

    fn run(cmd: &str) -> Result<Measured, String> {
        run_command(&kernel(cmd), &at(2, 1000, 7), Some(Duration::from_secs(20)))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn last_float_finds_the_estimate() {
        let cases: [(&str, Option<f64>); 12] = [
            ("3.14159\n", Some(3.14159)),
            ("pi = 3.14159", Some(3.14159)),
            ("pi=3.14159", Some(3.14159)),
            ("pi ~ 3.14159 (err 1e-4)", Some(3.14159)),
            ("samples=1000 workers=2\npi = 3.1416\n", Some(3.1416)),
            ("pi is 3.14.", Some(3.14)),
            ("estimate: -2.5e0, done", Some(-2.5)),
            ("(3.1,2.9)", Some(2.9)),
            ("Python 3.11.7\nno estimate", None),
            ("1000 samples", None),
            ("inf nan NaN", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(last_float(text), want, "{text:?}");
        }
    }

    #[test]
    fn placeholders_are_replaced_in_every_argument() {
        let k = kernel("prog --workers={workers} -n {samples} 'seed {seed}' {other}");
        assert_eq!(
            command_line(&k, &at(4, 1 << 20, 9)).unwrap(),
            ["prog", "--workers=4", "-n", "1048576", "seed 9", "{other}"]
        );
        assert!(command_line(&kernel("a 'unclosed"), &at(1, 1, 1)).is_err());
        assert!(command_line(&kernel("  "), &at(1, 1, 1)).is_err());
    }

    #[test]
    fn run_strings_are_checked_before_they_run() {
        assert!(kernel("prog -n {samples} --seed={seed} -p{workers}")
            .check_run()
            .is_ok());
        // Braces that are not a placeholder are an argument like any other.
        assert!(kernel("awk '{print $1}' {1} x{").check_run().is_ok());
        let err = kernel("a 'unclosed").check_run().unwrap_err();
        assert!(err.starts_with("run: cannot split `a 'unclosed`"), "{err}");
        assert_eq!(
            kernel("mpirun -n {procs} prog").check_run().unwrap_err(),
            "run: unknown placeholder {procs} (known: {workers}, {samples}, {seed}, {cpus}, {omp_places}, {hostfile}, {hosts})"
        );
        assert!(kernel("''").check_run().unwrap_err().contains("no program"));
        assert!(kernel(" ").check_run().unwrap_err().contains("empty"));
    }

    #[test]
    fn names_that_a_spreadsheet_or_terminal_would_run_are_refused() {
        let named = |name: &str| CommandKernel {
            name: name.into(),
            ..kernel("x")
        };
        for good in ["pi1.py", "my_pi", "omp-c", "a=b", "x@y"] {
            assert!(named(good).check_name().is_ok(), "{good}");
        }
        for bad in ["=cmd|' /C calc'!A0", "+1", "-x", "@SUM(A1)", " =1"] {
            let err = named(bad).check_name().unwrap_err();
            assert!(err.contains("must not start with"), "{bad}: {err}");
        }
        for bad in ["\x1b]0;x\x07", "a\tb", "a\nb", "\u{9b}31m"] {
            let err = named(bad).check_name().unwrap_err();
            assert!(err.contains("control characters"), "{bad:?}: {err}");
            assert!(!err.contains(char::is_control), "{err:?}");
        }
    }

    #[test]
    fn reads_the_estimate_from_stdout() {
        let out = run("echo 3.14159").unwrap();
        assert_eq!(out.estimate, Some(3.14159));
        assert!(out.wall_s > 0.0 && out.wall_s < 10.0, "{}", out.wall_s);
        // No shell: the quoted words reach echo as one argument.
        assert_eq!(run("echo 'pi = 3.25'").unwrap().estimate, Some(3.25));
        assert_eq!(run("echo {workers}.5").unwrap().estimate, Some(2.5));
    }

    #[test]
    fn no_number_on_stdout_is_an_error() {
        let err = run("echo done").unwrap_err();
        assert!(err.contains("no number with a decimal point"), "{err}");
        assert!(err.contains("`done`"), "{err}");
    }

    #[test]
    fn failure_reports_status_and_stderr_tail() {
        let err = run("false").unwrap_err();
        assert!(err.contains("exit status: 1"), "{err}");
        let err = run(
            "python3 -c 'import sys\nfor i in range(10): print(\"line\", i, file=sys.stderr)\nsys.exit(3)'",
        )
        .unwrap_err();
        assert!(err.contains("exit status: 3"), "{err}");
        assert!(err.contains("line 5") && err.ends_with("line 9"), "{err}");
        assert!(!err.contains("line 4"), "{err}");
    }

    #[test]
    fn megabytes_of_output_are_read_fast_and_not_kept() {
        let start = Instant::now();
        let out = run("python3 -c \"print('x'*5_000_000); print(3.14)\"").unwrap();
        assert_eq!(out.estimate, Some(3.14));
        assert!(start.elapsed() < Duration::from_secs(10));
        let err = run("python3 -c \"print('y'*5_000_000)\"").unwrap_err();
        assert!(err.len() < 1000, "{} bytes of error", err.len());
        assert!(err.contains("no number with a decimal point"), "{err}");
    }

    #[test]
    fn missing_program_is_an_error() {
        let err = run("piscale-no-such-program-here 1").unwrap_err();
        assert!(
            err.contains("cannot start `piscale-no-such-program-here`"),
            "{err}"
        );
    }

    #[test]
    fn a_run_past_its_timeout_is_killed() {
        let start = Instant::now();
        let err = run_command(
            &kernel("sleep 10"),
            &at(1, 1, 0),
            Some(Duration::from_millis(200)),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("timed out"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_child_left_holding_stdout_open_is_killed_when_the_program_ends() {
        // The parent prints and exits at once; its child would keep the pipe
        // open for 10 s. No timeout: the run must not wait for the child.
        let start = Instant::now();
        let out = run_command(
            &kernel("python3 -c 'import os, time\nif os.fork() == 0: time.sleep(10)\nprint(3.5)'"),
            &at(1, 1, 0),
            None,
        )
        .unwrap();
        assert_eq!(out.estimate, Some(3.5));
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_time_printed_after_the_estimate_is_refused_or_read_with_a_pattern() {
        let late = "printf 'Estimated pi = 3.1416\\nTime: 0.212 seconds\\n'";
        let err = run(late).unwrap_err();
        assert!(
            err.contains("the last number on stdout, 0.212, is no estimate of pi")
                && err.contains("estimate = 'pi = (?P<estimate>"),
            "{err}"
        );
        let mut k = kernel(late);
        k.estimate = Some(Pattern::new(r"pi = (?P<estimate>[0-9.]+)").unwrap());
        k.time = Some(Pattern::new(r"Time: (?P<seconds>[0-9.]+)").unwrap());
        let long = Some(Duration::from_secs(20));
        // The whole run took less than its "0.212 s": refused, not clamped.
        let err = run_command(&k, &at(1, 1, 0), long).unwrap_err().to_string();
        assert!(err.contains("outside its whole run"), "{err}");
        k.run = "sh -c 'sleep 0.3; echo Estimated pi = 3.1416; echo Time: 0.212 seconds'".into();
        let out = run_command(&k, &at(1, 1, 0), long).unwrap();
        assert_eq!(out.estimate, Some(3.1416));
        assert!(matches!(out.detail, Detail::SelfTimed { compute_s } if compute_s == 0.212));
        // A pattern that matches nothing says so.
        k.estimate = Some(Pattern::new(r"PI: (?P<estimate>[0-9.]+)").unwrap());
        let err = run_command(&k, &at(1, 1, 0), long).unwrap_err().to_string();
        assert!(err.contains("matches nothing on stdout"), "{err}");
    }

    #[test]
    fn an_mpi_program_gets_the_hostfile_and_its_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hosts");
        std::fs::write(
            &file,
            "# the cluster\nnode1 slots=4\n\nnode2 slots=4 # spare\n",
        )
        .unwrap();
        let k = kernel("mpirun --hostfile {hostfile} -H {hosts} -n {workers} prog");
        assert_eq!(k.host_placeholder(), Some("{hostfile}"));
        assert_eq!(kernel("prog").host_placeholder(), None);
        let point = PointValues {
            hostfile: Some(&file),
            ..at(8, 1, 0)
        };
        let argv = command_line(&k, &point).unwrap();
        assert_eq!(argv[2], file.display().to_string());
        assert_eq!(argv[4], "node1,node2");
    }

    #[test]
    fn patterns_need_their_group_and_env_its_placeholders() {
        let mut k = kernel("prog");
        k.estimate = Some(Pattern::new(r"pi = ([0-9.]+)").unwrap());
        assert!(k.check().unwrap_err().contains("no group named estimate"));
        k.estimate = None;
        k.time = Some(Pattern::new(r"(?P<secs>[0-9.]+) s").unwrap());
        assert!(k.check().unwrap_err().contains("no group named seconds"));
        k.time = None;
        k.env.insert("OMP_NUM_THREADS".into(), "{threads}".into());
        assert!(k
            .check()
            .unwrap_err()
            .starts_with("env OMP_NUM_THREADS: unknown placeholder {threads}"));
        k.env.insert("OMP_NUM_THREADS".into(), "{workers}".into());
        assert!(k.check().is_ok());
        assert!(Pattern::new("(unclosed")
            .unwrap_err()
            .contains("not a regular expression"));
        // What depends on the machine is checked apart.
        assert!(kernel("piscale-no-such-program-here")
            .check_runnable()
            .unwrap_err()
            .contains("not a program on PATH"));
        assert!(kernel("./no/such/script.py")
            .check_runnable()
            .unwrap_err()
            .contains("is not an executable file"));
        let mut elsewhere = kernel("echo 3.14");
        elsewhere.cwd = Some("/no/such/folder".into());
        assert!(elsewhere.check_runnable().unwrap_err().starts_with("cwd: "));
        assert!(kernel("echo 3.14").check_runnable().is_ok());
    }

    #[test]
    fn the_program_runs_on_the_point_s_cpus_with_its_environment_and_folder() {
        let usable = CpuList::usable().unwrap();
        let c = usable.0[usable.0.len() - 1];
        let only = CpuList(vec![c]);
        // It prints pi only if everything is as it should be, else 0.0.
        let check = format!(
            "import os; ok = sorted(os.sched_getaffinity(0)) == [{c}] and os.environ['PLACES'] == '{{{c}}}' \
             and os.environ['N'] == '3x{c}' and os.getcwd() == '/'; print('pi =', 3.14 if ok else 0.0)"
        );
        let mut k = kernel(&format!("python3 -c {}", shell_words::quote(&check)));
        k.env.insert("PLACES".into(), "{omp_places}".into());
        k.env.insert("N".into(), "{workers}x{cpus}".into());
        k.cwd = Some("/".into());
        k.estimate = Some(Pattern::new(r"pi = (?P<estimate>\S+)").unwrap());
        let point = PointValues {
            workers: 3,
            samples: 1,
            seed: 0,
            cpus: Some(&only),
            hostfile: None,
        };
        let out = run_command(&k, &point, Some(Duration::from_secs(20))).unwrap();
        assert_eq!(out.estimate, Some(3.14));
    }

    #[test]
    fn pi1_py_estimates_pi() {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pi1.py");
        let run = format!(
            "python3 {} --workers {{workers}} --samples {{samples}} --seed {{seed}}",
            shell_words::quote(script)
        );
        let k = CommandKernel::new("pi1.py", run, Method::Mc);
        let out = run_command(&k, &at(2, 20_000, 1), Some(Duration::from_secs(60))).unwrap();
        let estimate = out.estimate.unwrap();
        assert!((estimate - std::f64::consts::PI).abs() < 0.1, "{estimate}");
        // Same seed, same answer.
        let again = run_command(&k, &at(2, 20_000, 1), Some(Duration::from_secs(60))).unwrap();
        assert_eq!(again.estimate, out.estimate);
    }
}
