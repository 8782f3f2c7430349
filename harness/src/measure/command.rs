//! External kernels: any program that prints an estimate of pi, measured as
//! a whole process (`[[command]]` tables of a sweep config).
//!
//! The `run` string is split into arguments like a shell would
//! ([`shell_words::split`]) but no shell runs it: no pipes, redirections or
//! variables. `{workers}`, `{samples}` and `{seed}` are replaced in every
//! argument. The program gets no stdin; its wall time covers start-up,
//! the computation and exit. The estimate is the last number with a decimal
//! point on its stdout — see [`last_float`].

use std::process::Command;
use std::time::Duration;

use piscale_kernels::Method;
use serde::{Deserialize, Serialize};

use super::child::{last_lines, run_to_end, Finished, Stop};
use super::{MeasureError, Measured};
use crate::results::starts_like_formula;

/// Lines of stderr quoted when a command fails.
const STDERR_TAIL_LINES: usize = 5;

/// Bytes kept of the end of a command's stdout and of its stderr: the
/// estimate is printed last, and a program printing megabytes would
/// otherwise cost as much memory, time and error text.
pub const OUTPUT_KEPT: usize = 64 * 1024;

/// Characters of one line of a command's output quoted in an error (which
/// ends up in a CSV cell).
const QUOTED_CHARS: usize = 200;

/// An external kernel, as in
///
/// ```toml
/// [[command]]
/// name = "pi1.py"
/// run = "python3 scripts/pi1.py --workers {workers} --samples {samples} --seed {seed}"
/// method = "mc"   # optional, mc by default
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandKernel {
    /// Its name in result files, in place of a backend name.
    pub name: String,
    /// The command line, with `{workers}`, `{samples}` and `{seed}` placeholders.
    pub run: String,
    /// The method it computes.
    #[serde(default = "default_method")]
    pub method: Method,
}

fn default_method() -> Method {
    Method::Mc
}

/// The placeholders a `run` string may hold.
pub const PLACEHOLDERS: [&str; 3] = ["{workers}", "{samples}", "{seed}"];

impl CommandKernel {
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

    /// Checks the `run` string as [`command_line`] will use it, so that a
    /// mistake stops the sweep before it starts rather than failing every
    /// point: it splits into words, names a program, and holds no
    /// placeholder but [`PLACEHOLDERS`].
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
        let unknown = words
            .iter()
            .flat_map(|w| placeholders(w))
            .find(|p| !PLACEHOLDERS.contains(p));
        match unknown {
            Some(p) => Err(format!(
                "run: unknown placeholder {p} (known: {})",
                PLACEHOLDERS.join(", ")
            )),
            None => Ok(()),
        }
    }
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

/// The arguments `kernel` runs with for one point: its `run` string split
/// into words, the placeholders replaced.
pub fn command_line(
    kernel: &CommandKernel,
    workers: usize,
    samples: u64,
    seed: u64,
) -> Result<Vec<String>, String> {
    let words = shell_words::split(&kernel.run).map_err(|e| {
        format!(
            "{}: cannot split the command `{}`: {e}",
            kernel.name, kernel.run
        )
    })?;
    if words.is_empty() {
        return Err(format!("{}: the command is empty", kernel.name));
    }
    Ok(words
        .into_iter()
        .map(|w| {
            w.replace("{workers}", &workers.to_string())
                .replace("{samples}", &samples.to_string())
                .replace("{seed}", &seed.to_string())
        })
        .collect())
}

/// Runs `kernel` once and reads its estimate. The process (and everything
/// it starts, in its own process group) is killed once `timeout` has passed,
/// counting from the spawn until its output is closed.
///
/// Errors: the program cannot start, it exits unsuccessfully (the message
/// gives the status and the last lines of its stderr), it times out, or its
/// stdout holds no number with a decimal point.
///
/// The command runs in a process group of its own so that a timeout kills
/// its worker processes too; a Ctrl-C at the terminal therefore reaches
/// piscale but not the command.
pub fn run_command(
    kernel: &CommandKernel,
    workers: usize,
    samples: u64,
    seed: u64,
    timeout: Option<Duration>,
) -> Result<Measured, MeasureError> {
    let name = &kernel.name;
    let argv = command_line(kernel, workers, samples, seed).map_err(MeasureError::Invalid)?;
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
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
        let mut msg = format!("{name}: `{}` failed ({status})", argv.join(" "));
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
    let estimate = last_float(&stdout).ok_or_else(|| {
        let tail = last_lines(&stdout, 1);
        MeasureError::Failed(format!(
            "{name}: no number with a decimal point on stdout (print the estimate last, as in `pi = 3.14159`){}",
            tail.first()
                .map(|l| format!("; its last line was `{}`", clip(l)))
                .unwrap_or_default()
        ))
    })?;
    Ok(Measured {
        wall_s,
        estimate: Some(estimate),
        detail: super::Detail::Whole,
    })
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
        CommandKernel {
            name: "test".into(),
            run: run.into(),
            method: Method::Mc,
        }
    }

    fn run(cmd: &str) -> Result<Measured, String> {
        run_command(&kernel(cmd), 2, 1000, 7, Some(Duration::from_secs(20)))
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
            command_line(&k, 4, 1 << 20, 9).unwrap(),
            ["prog", "--workers=4", "-n", "1048576", "seed 9", "{other}"]
        );
        assert!(command_line(&kernel("a 'unclosed"), 1, 1, 1).is_err());
        assert!(command_line(&kernel("  "), 1, 1, 1).is_err());
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
            "run: unknown placeholder {procs} (known: {workers}, {samples}, {seed})"
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
            1,
            1,
            0,
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
            1,
            1,
            0,
            None,
        )
        .unwrap();
        assert_eq!(out.estimate, Some(3.5));
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn pi1_py_estimates_pi() {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pi1.py");
        let k = CommandKernel {
            name: "pi1.py".into(),
            run: format!(
                "python3 {} --workers {{workers}} --samples {{samples}} --seed {{seed}}",
                shell_words::quote(script)
            ),
            method: Method::Mc,
        };
        let out = run_command(&k, 2, 20_000, 1, Some(Duration::from_secs(60))).unwrap();
        let estimate = out.estimate.unwrap();
        assert!((estimate - std::f64::consts::PI).abs() < 0.1, "{estimate}");
        // Same seed, same answer.
        let again = run_command(&k, 2, 20_000, 1, Some(Duration::from_secs(60))).unwrap();
        assert_eq!(again.estimate, out.estimate);
    }
}
